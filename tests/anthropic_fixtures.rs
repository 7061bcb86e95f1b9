//! Every recorded Anthropic stream through the Anthropic component: text,
//! reasoning, signatures, tool calls, usage and finish reason match what the
//! recording says, computed here independently from the raw events. The check
//! is shared with `vertex.rs`, which serves the same recordings through Vertex
//! AI's `:streamRawPredict`.

use cordon::replay::{Framing, Reply, frame};
use cordon::{Event, FinishReason, Request, TurnResult};
use serde_json::Value;

use crate::support::{provider_against, recordings, run_turn, shared_fixtures};

#[derive(Debug, Default)]
struct Expected {
    text: String,
    reasoning: String,
    signature: Option<String>,
    calls: Vec<(String, String, String)>,
    stop_reason: Option<String>,
    input: u64,
    cache_write: u64,
    cache_read: Option<u64>,
    output: Option<u64>,
}

fn expected_from(events: &[Value]) -> Expected {
    let mut want = Expected::default();
    let mut open_call: Option<(String, String, String)> = None;
    let usage = |u: &Value, want: &mut Expected| {
        if let Some(n) = u["input_tokens"].as_u64() {
            want.input = n;
        }
        if let Some(n) = u["cache_creation_input_tokens"].as_u64() {
            want.cache_write = n;
        }
        if let Some(n) = u["cache_read_input_tokens"].as_u64() {
            want.cache_read = Some(n);
        }
        if let Some(n) = u["output_tokens"].as_u64() {
            want.output = Some(n);
        }
    };
    for event in events {
        match event["type"].as_str().unwrap_or("") {
            "message_start" => usage(&event["message"]["usage"], &mut want),
            "content_block_start" if event["content_block"]["type"] == "tool_use" => {
                let block = &event["content_block"];
                open_call = Some((block["id"].as_str().unwrap_or("").into(), block["name"].as_str().unwrap_or("").into(), String::new()));
            }
            "content_block_delta" => {
                let delta = &event["delta"];
                match delta["type"].as_str().unwrap_or("") {
                    "text_delta" => want.text.push_str(delta["text"].as_str().unwrap_or("")),
                    "thinking_delta" => want.reasoning.push_str(delta["thinking"].as_str().unwrap_or("")),
                    "signature_delta" => want.signature = delta["signature"].as_str().map(str::to_owned),
                    "input_json_delta" => {
                        if let Some(call) = open_call.as_mut() {
                            call.2.push_str(delta["partial_json"].as_str().unwrap_or(""));
                        }
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                if let Some((id, name, args)) = open_call.take() {
                    want.calls.push((id, name, if args.is_empty() { "{}".into() } else { args }));
                }
            }
            "message_delta" => {
                usage(&event["usage"], &mut want);
                want.stop_reason = event["delta"]["stop_reason"].as_str().map(str::to_owned);
            }
            _ => {}
        }
    }
    want
}

fn unified(raw: &str) -> FinishReason {
    match raw {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => panic!("unexpected stop reason {other}"),
    }
}

/// Check a turn's events `out` and `result` against the recorded Anthropic
/// events `text` (`name` in messages).
pub(crate) fn assert_matches_anthropic_recording(name: &str, text: &str, out: &[Event], result: &TurnResult) {
    let events: Vec<Value> = text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("JSON")).collect();
    let want = expected_from(&events);
    assert_eq!(result.text(), want.text, "{name}: text");
    assert_eq!(result.reasoning(), want.reasoning, "{name}: reasoning");
    let signature = result.content.iter().find_map(|p| match p {
        cordon::ContentPart::Reasoning(r) => r.signature.clone(),
        _ => None,
    });
    assert_eq!(signature, want.signature, "{name}: signature");
    let calls: Vec<_> = result.tool_calls().iter().map(|c| (c.id.clone(), c.name.clone(), c.arguments.clone())).collect();
    assert_eq!(calls, want.calls, "{name}: tool calls");
    let raw = want.stop_reason.as_deref().expect("a stop reason");
    assert_eq!(result.finish.raw.as_deref(), Some(raw), "{name}: raw stop reason");
    assert_eq!(result.finish.reason, unified(raw), "{name}: finish");
    assert!(matches!(out.last(), Some(Event::Finish(_))), "{name}: finish is last");
    assert_eq!(result.usage.input_tokens, Some(want.input + want.cache_write + want.cache_read.unwrap_or(0)), "{name}: input tokens");
    assert_eq!(result.usage.output_tokens, want.output, "{name}: output tokens");
    assert_eq!(result.usage.cache_read_tokens, want.cache_read, "{name}: cache read");
}

#[tokio::test]
async fn every_recorded_anthropic_stream_matches_its_recording() {
    let Some(fixtures) = shared_fixtures() else { return };
    for (name, text) in recordings(&fixtures, "anthropic") {
        let (_server, provider) = provider_against("anthropic", vec![Reply::stream(frame(&text, Framing::AnthropicSse).expect("framed"))]).await;
        let (out, result) = run_turn(&provider, Request::user("claude-x", "hi")).await;
        let result = result.unwrap_or_else(|err| panic!("{name}: turn failed: {err}"));
        assert_matches_anthropic_recording(&name, &text, &out, &result);
    }
}

#[tokio::test]
async fn anthropic_request_has_the_messages_api_shape() {
    let reply = Reply::stream(frame(
        r#"{"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":3}}}
{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1}}
{"type":"message_stop"}"#,
        Framing::AnthropicSse,
    ).expect("framed"));
    let (server, provider) = provider_against("anthropic", vec![reply]).await;
    let mut request = Request::user("claude-x", "hi");
    request.messages.insert(0, cordon::Message::system("Be brief."));
    request.sampling.seed = Some(1);
    let (events, result) = run_turn(&provider, request).await;
    result.expect("turn succeeds");
    let Some(Event::StreamStart { warnings, .. }) = events.first() else { panic!("stream-start first") };
    assert_eq!(warnings[0].setting.as_deref(), Some("seed"), "seed is not silently dropped");
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    let body: Value = serde_json::from_slice(&sent.body).expect("JSON");
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(body["stream"], true);
    assert!(body["max_tokens"].as_u64().is_some(), "max_tokens is required by the API");
}
