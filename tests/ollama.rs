//! The Ollama component against the project's hand-written NDJSON fixtures
//! (no recorded Ollama streams exist here): text, thinking, whole tool calls,
//! usage from the `done` line, and its errors.

use cordon::replay::{Framing, Reply, frame};
use cordon::{ErrorKind, FinishReason, Request};
use serde_json::Value;

use crate::support::{own_fixture, provider_against, run_turn};

fn lines(name: &str) -> (String, Vec<Value>) {
    let text = own_fixture(&format!("ollama/{name}"));
    let parsed = text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("JSON")).collect();
    (text, parsed)
}

async fn turn(name: &str) -> (Vec<Value>, Result<cordon::TurnResult, cordon::TurnError>) {
    let (text, parsed) = lines(name);
    let (_server, provider) = provider_against("ollama", vec![Reply::stream(frame(&text, Framing::Ndjson).expect("framed"))]).await;
    let (_, result) = run_turn(&provider, Request::user("llama3.2", "hi")).await;
    (parsed, result)
}

#[tokio::test]
async fn text_and_thinking_match_the_lines() {
    for name in ["text.ndjson", "thinking.ndjson"] {
        let (lines, result) = turn(name).await;
        let result = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        let field = |key: &str| -> String { lines.iter().filter_map(|l| l["message"][key].as_str()).collect() };
        assert_eq!(result.text(), field("content"), "{name}: text");
        assert_eq!(result.reasoning(), field("thinking"), "{name}: reasoning");
        let done = lines.iter().find(|l| l["done"] == true).expect("done line");
        assert_eq!(result.usage.input_tokens, done["prompt_eval_count"].as_u64(), "{name}");
        assert_eq!(result.usage.output_tokens, done["eval_count"].as_u64(), "{name}");
        assert_eq!(result.finish.reason, FinishReason::Stop);
        assert_eq!(result.finish.raw.as_deref(), done["done_reason"].as_str());
    }
}

#[tokio::test]
async fn whole_tool_calls_with_object_arguments() {
    let (lines, result) = turn("tool-call.ndjson").await;
    let result = result.expect("turn succeeds");
    let wire: Vec<&Value> = lines.iter().flat_map(|l| l["message"]["tool_calls"].as_array().into_iter().flatten()).collect();
    let calls = result.tool_calls();
    assert_eq!(calls.len(), wire.len());
    for (call, wire) in calls.iter().zip(wire) {
        assert_eq!(call.name, wire["function"]["name"].as_str().unwrap_or_default());
        let args: Value = serde_json::from_str(&call.arguments).expect("arguments are JSON text");
        assert_eq!(args, wire["function"]["arguments"], "arguments serialized from the object");
    }
    assert_eq!(result.finish.reason, FinishReason::ToolCalls, "stop becomes tool-calls when calls were made");
}

#[tokio::test]
async fn errors_are_classified() {
    let (_, result) = turn("mid-stream-error.ndjson").await;
    assert_eq!(result.expect_err("fails").kind, ErrorKind::Server);
    let (_, result) = turn("cut.ndjson").await;
    assert_eq!(result.expect_err("fails").kind, ErrorKind::StreamProtocol);
    let (_server, provider) = provider_against("ollama", vec![Reply::error(404, &own_fixture("ollama/404.json"))]).await;
    let (_, result) = run_turn(&provider, Request::user("no-such-model", "hi")).await;
    let error = result.expect_err("fails");
    assert_eq!(error.kind, ErrorKind::ModelNotFound);
    assert_eq!(error.status, Some(404));
}
