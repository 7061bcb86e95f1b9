//! `POST /v1/responses` on the real `cordon serve --config` process, in front
//! of a local upstream replaying recorded Chat Completions streams through the
//! shipped `openai` component, read by the official OpenAI Python client
//! (pinned in `tools/requirements.txt`): its stream helper assembles and
//! checks every event. What the client sees is compared with what the
//! recording says, computed here from the raw chunks.

use std::process::Command;

use bytes::Bytes;
use cordon::replay::{Framing, Reply, ReplayServer, frame};
use serde_json::{Value, json};

use crate::support::{ServeProcess, fast_model, own_fixture, root, shared_fixtures};

/// `cordon serve --config` as its own process, serving the model `fast`
/// through the `openai` component pointed at `upstream`; killed when dropped.
struct Serve {
    process: ServeProcess,
    _dir: tempfile::TempDir,
}

impl Serve {
    fn start(upstream: &ReplayServer) -> Serve {
        let dir = tempfile::tempdir().expect("temp dir");
        Serve { process: ServeProcess::start(&fast_model(upstream, dir.path()), &[]), _dir: dir }
    }

    /// Run `tests/clients/openai_responses.py` in `scenario` against this
    /// gateway, and return what it printed.
    async fn client(&self, scenario: &str) -> Value {
        let python = root().join(".tools/venv/bin/python");
        assert!(python.exists(), "{} is missing: run `cargo xtask test`, which installs the pinned clients", python.display());
        let (base, scenario) = (self.process.base.clone(), scenario.to_owned());
        // The client blocks; the replay upstream keeps serving on this test's runtime.
        let output = tokio::task::spawn_blocking(move || {
            Command::new(&python).arg(root().join("tests/clients/openai_responses.py")).arg(base).arg("fast").arg(scenario).output()
        })
        .await
        .expect("joins")
        .expect("python runs");
        let printed = String::from_utf8_lossy(&output.stdout);
        let stderr = self.process.printed();
        assert!(output.status.success(), "{printed}{}\ngateway: {stderr}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_str(printed.trim()).unwrap_or_else(|err| panic!("one JSON line ({err}): {printed}"))
    }
}

/// What a recorded Chat Completions stream says.
#[derive(Debug, Default)]
struct Recorded {
    text: String,
    reasoning: String,
    usage: Value,
}

/// Read what `chunks` (`data:` payloads or JSON lines) say, independently of
/// the component: the text, the reasoning and the last usage.
fn recorded<'a>(chunks: impl Iterator<Item = &'a str>) -> Recorded {
    let mut seen = Recorded::default();
    for chunk in chunks.filter_map(|line| serde_json::from_str::<Value>(line).ok()) {
        if chunk.get("usage").is_some_and(|usage| !usage.is_null()) {
            seen.usage = chunk["usage"].clone();
        }
        let delta = &chunk["choices"][0]["delta"];
        seen.text.push_str(delta["content"].as_str().unwrap_or_default());
        seen.reasoning.push_str(delta["reasoning_content"].as_str().unwrap_or_default());
    }
    seen
}

/// The `data:` payloads of an SSE file.
fn data_lines(sse: &str) -> impl Iterator<Item = &str> {
    sse.lines().filter_map(|line| line.strip_prefix("data: "))
}

/// The usage the client should report for a recording's usage object.
fn usage_seen(usage: &Value) -> Value {
    json!({
        "input_tokens": usage["prompt_tokens"],
        "output_tokens": usage["completion_tokens"],
        "total_tokens": usage["total_tokens"],
        "cached_tokens": usage["prompt_tokens_details"]["cached_tokens"].as_u64().unwrap_or(0),
        "reasoning_tokens": usage["completion_tokens_details"]["reasoning_tokens"].as_u64().unwrap_or(0),
    })
}

fn sse_reply(sse: &str) -> Reply {
    Reply::stream(sse.split_inclusive("\n\n").map(|event| Bytes::copy_from_slice(event.as_bytes())).collect())
}

/// The JSON body of the `index`th request the upstream received.
fn upstream_body(upstream: &ReplayServer, index: usize) -> Value {
    let requests = upstream.requests();
    let request = requests.get(index).unwrap_or_else(|| panic!("the upstream saw {} requests, not {}", requests.len(), index + 1));
    serde_json::from_slice(&request.body).expect("a JSON body")
}

fn assert_sequence_counts_from_zero(seen: &Value) {
    let sequence = seen["sequence"].as_array().expect("sequence numbers");
    let expected: Vec<Value> = (0..sequence.len()).map(|n| json!(n)).collect();
    assert_eq!(sequence, &expected, "every event's sequence_number, in order");
}

#[tokio::test]
async fn a_streamed_response_carries_the_recorded_text_and_usage() {
    let Some(fixtures) = shared_fixtures() else { return };
    let chunks = std::fs::read_to_string(fixtures.join("wire/openai-chat/openai-text.chunks.txt")).expect("the recording");
    let want = recorded(chunks.lines());
    assert!(want.text.len() > 200 && want.usage.is_object(), "the recording has text and usage: {want:?}");
    let upstream = ReplayServer::start(vec![Reply::stream(frame(&chunks, Framing::OpenAiSse).expect("framed"))]).await.expect("replay upstream");
    let serve = Serve::start(&upstream);

    let seen = serve.client("stream").await;
    assert_eq!(seen["output_text"], want.text.as_str(), "the helper's final response");
    assert_eq!(seen["text"], want.text.as_str(), "the deltas, joined");
    assert_eq!(seen["items"], json!([{"type": "message", "status": "completed", "text": want.text}]));
    assert_eq!(seen["usage"], usage_seen(&want.usage));
    assert_eq!((&seen["status"], &seen["same_id"], &seen["model"]), (&json!("completed"), &json!(true), &json!("fast")));
    let kinds: Vec<&str> = seen["kinds"].as_array().expect("kinds").iter().filter_map(Value::as_str).collect();
    assert_eq!(kinds[..4], ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]);
    assert_eq!(
        kinds[kinds.len() - 4..],
        ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]
    );
    assert_sequence_counts_from_zero(&seen);

    let sent = upstream_body(&upstream, 0);
    assert_eq!(sent["messages"][0], json!({"role": "system", "content": "Answer briefly."}), "instructions: {sent}");
    assert_eq!(sent["messages"][1]["role"], "user");
    assert!(sent["temperature"].as_f64().is_some_and(|t| (t - 0.3).abs() < 1e-6), "{sent}");
    assert_eq!(sent.get("max_tokens").or(sent.get("max_completion_tokens")), Some(&json!(500)), "max_output_tokens: {sent}");
}

#[tokio::test]
async fn reasoning_streams_as_summary_deltas_and_comes_whole_as_a_reasoning_item() {
    let Some(fixtures) = shared_fixtures() else { return };
    let chunks = std::fs::read_to_string(fixtures.join("wire/openai-chat/deepseek-reasoning.chunks.txt")).expect("the recording");
    let want = recorded(chunks.lines());
    assert!(!want.reasoning.is_empty() && !want.text.is_empty(), "{want:?}");
    let reply = || Reply::stream(frame(&chunks, Framing::OpenAiSse).expect("framed"));
    let upstream = ReplayServer::start(vec![reply(), reply()]).await.expect("replay upstream");
    let serve = Serve::start(&upstream);

    let seen = serve.client("whole").await;
    let stream = &seen["stream"];
    assert_eq!(stream["summary"], want.reasoning.as_str(), "the summary deltas, joined");
    assert_eq!(stream["output_text"], want.text.as_str());
    let items = json!([
        {"type": "reasoning", "summary": want.reasoning},
        {"type": "message", "status": "completed", "text": want.text},
    ]);
    assert_eq!(stream["items"], items);
    assert_eq!(stream["usage"], usage_seen(&want.usage));
    assert!(stream["usage"]["reasoning_tokens"].as_u64().is_some_and(|n| n > 0), "{stream}");
    let kinds: Vec<&str> = stream["kinds"].as_array().expect("kinds").iter().filter_map(Value::as_str).collect();
    for kind in ["response.reasoning_summary_part.added", "response.reasoning_summary_text.done", "response.reasoning_summary_part.done"] {
        assert_eq!(kinds.iter().filter(|k| **k == kind).count(), 1, "{kind} once: {kinds:?}");
    }
    assert_sequence_counts_from_zero(stream);
    assert_eq!(upstream_body(&upstream, 0)["reasoning_effort"], "low", "reasoning.effort reaches the provider");

    let whole = &seen["whole"];
    assert_eq!((&whole["object"], &whole["status"], &whole["model"]), (&json!("response"), &json!("completed"), &json!("fast")));
    assert_eq!(whole["output_text"], want.text.as_str());
    assert_eq!(whole["items"], items);
    assert_eq!(whole["usage"], usage_seen(&want.usage));
}

#[tokio::test]
async fn a_function_call_round_trips_with_its_output() {
    let first = std::fs::read_to_string(root().join("runtime/demo/turn1.sse")).expect("the demo's first answer");
    let second = std::fs::read_to_string(root().join("runtime/demo/turn2.sse")).expect("the demo's second answer");
    let (want_first, want_second) = (recorded(data_lines(&first)), recorded(data_lines(&second)));
    let upstream = ReplayServer::start(vec![sse_reply(&first), sse_reply(&second)]).await.expect("replay upstream");
    let serve = Serve::start(&upstream);

    let seen = serve.client("tools").await;
    let arguments = r#"{"expression": "187.40 * 1.15 / 3"}"#;
    assert_eq!(
        seen["first"]["items"],
        json!([
            {"type": "message", "status": "completed", "text": want_first.text},
            {"type": "function_call", "call_id": "call_demo_1", "name": "calculator__evaluate", "arguments": arguments, "status": "completed"},
        ])
    );
    assert_eq!(seen["first"]["arguments"], arguments, "the argument deltas, joined");
    assert_eq!(seen["first"]["usage"], usage_seen(&want_first.usage));
    assert_sequence_counts_from_zero(&seen["first"]);
    assert_eq!(seen["second"]["output_text"], want_second.text.as_str());
    assert!(want_second.text.starts_with("Each of you pays"), "{want_second:?}");

    let asked = upstream_body(&upstream, 0);
    assert_eq!(asked["tools"][0]["function"]["name"], "calculator__evaluate", "{asked}");
    assert_eq!(asked["tools"][0]["function"]["parameters"]["required"], json!(["expression"]));
    let answered = upstream_body(&upstream, 1);
    let messages = answered["messages"].as_array().expect("messages");
    let roles: Vec<&str> = messages.iter().filter_map(|m| m["role"].as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "tool"], "{answered}");
    assert_eq!(messages[1]["content"], want_first.text.as_str());
    assert_eq!(messages[1]["tool_calls"][0]["id"], "call_demo_1");
    assert_eq!(messages[1]["tool_calls"][0]["function"], json!({"name": "calculator__evaluate", "arguments": arguments}));
    assert_eq!((&messages[2]["tool_call_id"], &messages[2]["content"]), (&json!("call_demo_1"), &json!("71.84")));
}

#[tokio::test]
async fn a_json_schema_format_reaches_the_upstream_and_the_client_parses_the_answer() {
    let answer = ["{\"each\": ", "71.84, ", "\"currency\": \"EUR\"}"];
    let mut chunks: Vec<Value> = answer
        .iter()
        .map(|piece| json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]}))
        .collect();
    chunks.push(json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}));
    chunks.push(json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21}}));
    let lines: Vec<String> = chunks.iter().map(Value::to_string).collect();
    let upstream = ReplayServer::start(vec![Reply::stream(frame(&lines.join("\n"), Framing::OpenAiSse).expect("framed"))]).await.expect("replay upstream");
    let serve = Serve::start(&upstream);

    let seen = serve.client("schema").await;
    assert_eq!(seen["parsed"], json!({"each": 71.84, "currency": "EUR"}), "{seen}");
    assert_eq!(seen["output_text"], answer.concat());
    let format = &upstream_body(&upstream, 0)["response_format"];
    assert_eq!((&format["type"], &format["json_schema"]["name"]), (&json!("json_schema"), &json!("Split")), "{format}");
    let schema = &format["json_schema"]["schema"];
    assert_eq!(schema["required"], json!(["each", "currency"]), "the Pydantic model's schema: {schema}");
    assert_eq!(schema["properties"]["each"]["type"], "number");
}

#[tokio::test]
async fn what_the_gateway_cannot_serve_is_refused_or_reported() {
    let second = std::fs::read_to_string(root().join("runtime/demo/turn2.sse")).expect("the demo's second answer");
    let upstream = ReplayServer::start(vec![sse_reply(&second)]).await.expect("replay upstream");
    let serve = Serve::start(&upstream);

    let seen = serve.client("refusals").await;
    assert_eq!(seen["missing"], json!({"class": "NotFoundError", "status": 404, "code": "model_not_found", "param": "model"}));
    assert_eq!((&seen["stateful"]["class"], &seen["stateful"]["status"]), (&json!("BadRequestError"), &json!(400)));
    assert_eq!(seen["stateful"]["param"], "previous_response_id");
    let message = seen["stateful"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("send the whole conversation in `input`"), "the fix is named: {message}");
    assert_eq!(seen["hosted"], json!({"class": "BadRequestError", "status": 400, "param": "tools[0].type"}));
    let warnings = seen["warnings"].as_str().unwrap_or_default();
    assert!(warnings.contains("truncation: only `disabled` is served"), "{seen}");
    assert!(warnings.contains("text.verbosity: not supported by this gateway, ignored"), "{seen}");
    assert_eq!(seen["answered"], recorded(data_lines(&second)).text.as_str(), "an answer despite what was ignored");
    assert_eq!(upstream.requests().len(), 1, "what was refused never reached the upstream");
}

#[tokio::test]
async fn an_error_mid_stream_is_raised_by_the_client_and_fails_the_response() {
    let broken = own_fixture("openai/mid-stream-error.sse");
    let upstream = ReplayServer::start(vec![sse_reply(&broken), sse_reply(&broken)]).await.expect("replay upstream");
    let serve = Serve::start(&upstream);

    let seen = serve.client("broken").await;
    assert_eq!(seen["text"], "Partial answer", "the text before the failure arrived: {seen}");
    assert_eq!(seen["failure"]["class"], "APIError", "{seen}");
    let message = seen["failure"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("The server had an error"), "{seen}");

    // On the wire: the `error` event, then `response.failed` with the output so far.
    let body = json!({"model": "fast", "stream": true, "input": "hi"});
    let client = cordon::tls::client_builder().build().expect("client");
    let response =
        client.post(format!("{}/responses", serve.process.base)).header("content-type", "application/json").body(body.to_string()).send().await.expect("a stream");
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = response.text().await.expect("the whole stream");
    let events: Vec<Value> = data_lines(&text).map(|data| serde_json::from_str(data).expect("JSON")).collect();
    let [.., error, failed] = events.as_slice() else { panic!("too few events: {text}") };
    assert_eq!((&error["type"], &error["error"]["type"]), (&json!("error"), &json!("server_error")), "{text}");
    assert_eq!(error["message"], error["error"]["message"], "flat and nested say the same");
    assert_eq!((&failed["type"], &failed["response"]["status"]), (&json!("response.failed"), &json!("failed")), "{text}");
    assert_eq!(failed["response"]["output"][0]["content"][0]["text"], "Partial answer");
}
