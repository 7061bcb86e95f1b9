//! The OpenAI Responses component against the project's hand-written fixtures
//! (no recorded Responses streams exist here): text, reasoning summaries,
//! function calls, usage, incomplete and failed responses, error events.

use cordon::replay::{Framing, Reply, frame};
use cordon::{ErrorKind, FinishReason, Request, TurnError, TurnResult};
use serde_json::Value;

use crate::support::{own_fixture, provider_against, run_turn};

async fn turn(name: &str) -> (Vec<Value>, Result<TurnResult, TurnError>) {
    let text = own_fixture(&format!("openai-responses/{name}"));
    let events = text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("JSON")).collect();
    // Each line goes out as `event: <its type>` + `data: <line>`: the Responses wire shape.
    let (_server, provider) = provider_against("openai-responses", vec![Reply::stream(frame(&text, Framing::AnthropicSse).expect("framed"))]).await;
    let (_, result) = run_turn(&provider, Request::user("gpt-5-mini", "hi")).await;
    (events, result)
}

fn deltas(events: &[Value], kind: &str) -> String {
    events.iter().filter(|e| e["type"] == kind).filter_map(|e| e["delta"].as_str()).collect()
}

fn final_response(events: &[Value]) -> &Value {
    events
        .iter()
        .rev()
        .find(|e| matches!(e["type"].as_str(), Some("response.completed" | "response.incomplete")))
        .map(|e| &e["response"])
        .expect("a completed or incomplete event")
}

#[tokio::test]
async fn text_reasoning_and_usage_match_the_events() {
    for name in ["text.chunks.txt", "reasoning.chunks.txt"] {
        let (events, result) = turn(name).await;
        let result = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(result.text(), deltas(&events, "response.output_text.delta"), "{name}: text");
        assert_eq!(result.reasoning(), deltas(&events, "response.reasoning_summary_text.delta"), "{name}: reasoning");
        let usage = &final_response(&events)["usage"];
        assert_eq!(result.usage.input_tokens, usage["input_tokens"].as_u64(), "{name}");
        assert_eq!(result.usage.output_tokens, usage["output_tokens"].as_u64(), "{name}");
        assert_eq!(result.usage.cache_read_tokens, usage["input_tokens_details"]["cached_tokens"].as_u64(), "{name}");
        assert_eq!(result.usage.reasoning_tokens, usage["output_tokens_details"]["reasoning_tokens"].as_u64(), "{name}");
        assert_eq!(result.finish.reason, FinishReason::Stop, "{name}");
    }
}

#[tokio::test]
async fn function_calls_use_the_call_id() {
    let (events, result) = turn("tool-calls.chunks.txt").await;
    let result = result.expect("turn succeeds");
    let want: Vec<(String, String, String)> = events
        .iter()
        .filter(|e| e["type"] == "response.output_item.done" && e["item"]["type"] == "function_call")
        .map(|e| {
            let item = &e["item"];
            let field = |k: &str| item[k].as_str().unwrap_or_default().to_owned();
            (field("call_id"), field("name"), field("arguments"))
        })
        .collect();
    assert_eq!(want.len(), 2, "the fixture has two calls");
    let got: Vec<_> = result.tool_calls().iter().map(|c| (c.id.clone(), c.name.clone(), c.arguments.clone())).collect();
    assert_eq!(got, want);
    assert_eq!(result.finish.reason, FinishReason::ToolCalls);
}

#[tokio::test]
async fn incomplete_failed_and_error_events() {
    let (_, result) = turn("incomplete.chunks.txt").await;
    let result = result.expect("an incomplete response still ends normally");
    assert_eq!(result.finish.reason, FinishReason::Length);
    let (_, result) = turn("failed.chunks.txt").await;
    assert_eq!(result.expect_err("failed").kind, ErrorKind::Server);
    let (_, result) = turn("error-event.chunks.txt").await;
    assert_eq!(result.expect_err("error event").kind, ErrorKind::RateLimited);
}
