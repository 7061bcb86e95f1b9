//! Every recorded OpenAI-compatible stream through the OpenAI component: text,
//! reasoning, tool calls, usage and finish reason match what the recording says,
//! computed here independently from the raw chunks.

use std::collections::BTreeMap;

use cordon::replay::{Framing, Reply, frame};
use cordon::{Event, FinishReason, Request};
use serde_json::Value;

use crate::support::{provider_against, run_turn, shared_fixtures};

/// What a recording says, read straight from its chunks.
#[derive(Debug, Default)]
struct Expected {
    text: String,
    reasoning: String,
    /// index -> (name, arguments), in index order.
    calls: BTreeMap<u64, (String, String)>,
    finish: Option<String>,
    usage: Option<Value>,
}

fn expected_from(chunks: &[Value]) -> Expected {
    let mut want = Expected::default();
    for chunk in chunks {
        if let Some(usage) = chunk.get("usage").filter(|u| !u.is_null()) {
            want.usage = Some(usage.clone());
        }
        let Some(choice) = chunk["choices"].get(0) else { continue };
        let delta = &choice["delta"];
        if let Some(text) = delta["content"].as_str() {
            want.text.push_str(text);
        }
        for key in ["reasoning_content", "reasoning"] {
            if let Some(text) = delta[key].as_str() {
                want.reasoning.push_str(text);
            }
        }
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            let index = call["index"].as_u64().unwrap_or(0);
            let entry = want.calls.entry(index).or_default();
            if let Some(name) = call["function"]["name"].as_str().filter(|n| !n.is_empty()) {
                entry.0 = name.to_owned();
            }
            entry.1.push_str(call["function"]["arguments"].as_str().unwrap_or(""));
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            want.finish = Some(reason.to_owned());
        }
    }
    want
}

fn unified(raw: &str) -> FinishReason {
    match raw {
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "tool_calls" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        other => panic!("fixture has an unexpected finish reason {other}"),
    }
}

#[tokio::test]
async fn every_recorded_openai_stream_matches_its_recording() {
    let Some(fixtures) = shared_fixtures() else { return };
    let dir = fixtures.join("wire/openai-chat");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("fixture folder").flatten().map(|e| e.path()).collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let text = std::fs::read_to_string(&path).expect("fixture readable");
        let (framing, json_lines): (Framing, Vec<&str>) = if name.ends_with(".sse") {
            let lines = text.lines().filter_map(|l| l.strip_prefix("data: ")).filter(|l| *l != "[DONE]").collect();
            (Framing::Raw, lines)
        } else {
            (Framing::OpenAiSse, text.lines().filter(|l| !l.trim().is_empty()).collect())
        };
        let chunks: Vec<Value> = json_lines.iter().map(|l| serde_json::from_str(l).expect("fixture JSON")).collect();
        let want = expected_from(&chunks);

        let (_server, provider) = provider_against("openai", vec![Reply::stream(frame(&text, framing).expect("framed"))]).await;
        let (events, result) = run_turn(&provider, Request::user("fixture-model", "hi")).await;
        let result = result.unwrap_or_else(|err| panic!("{name}: turn failed: {err}"));

        assert_eq!(result.text(), want.text, "{name}: text");
        assert_eq!(result.reasoning(), want.reasoning, "{name}: reasoning");
        let calls: Vec<(String, String)> = result.tool_calls().iter().map(|c| (c.name.clone(), c.arguments.clone())).collect();
        let want_calls: Vec<(String, String)> = want.calls.values().cloned().collect();
        assert_eq!(calls, want_calls, "{name}: tool calls");
        let call_events = events.iter().filter(|e| matches!(e, Event::ToolCall(_))).count();
        assert_eq!(call_events, want_calls.len(), "{name}: one tool-call event per call");

        let raw = want.finish.as_deref().expect("fixture has a finish reason");
        assert_eq!(result.finish.raw.as_deref(), Some(raw), "{name}: raw finish");
        let reason = if want_calls.is_empty() { unified(raw) } else { FinishReason::ToolCalls };
        assert_eq!(result.finish.reason, reason, "{name}: finish");
        assert!(matches!(events.last(), Some(Event::Finish(_))), "{name}: finish is the last event");

        match &want.usage {
            Some(usage) => {
                assert_eq!(result.usage.input_tokens, usage["prompt_tokens"].as_u64(), "{name}: input tokens");
                assert_eq!(result.usage.output_tokens, usage["completion_tokens"].as_u64(), "{name}: output tokens");
                assert_eq!(
                    result.usage.cache_read_tokens,
                    usage["prompt_tokens_details"]["cached_tokens"].as_u64(),
                    "{name}: cached tokens"
                );
                assert_eq!(
                    result.usage.reasoning_tokens,
                    usage["completion_tokens_details"]["reasoning_tokens"].as_u64(),
                    "{name}: reasoning tokens"
                );
            }
            None => assert_eq!(result.usage.input_tokens, None, "{name}: no usage in the recording"),
        }
    }
}

#[tokio::test]
async fn parallel_tool_calls_are_routed_by_index() {
    let text = crate::support::own_fixture("openai/parallel-tool-calls.sse");
    let (server, provider) = provider_against("openai", vec![Reply::stream(frame(&text, Framing::Raw).expect("framed"))]).await;
    let (events, result) = run_turn(&provider, Request::user("m", "weather and time")).await;
    let result = result.expect("turn succeeds");
    let calls: Vec<_> = result.tool_calls().into_iter().cloned().collect();
    assert_eq!(calls.len(), 2);
    assert_eq!((calls[0].id.as_str(), calls[0].name.as_str(), calls[0].arguments.as_str()), ("call_a", "get_weather", r#"{"city":"Oslo"}"#));
    assert_eq!((calls[1].id.as_str(), calls[1].name.as_str(), calls[1].arguments.as_str()), ("call_b", "get_time", r#"{"tz":"CET"}"#));
    assert_eq!(result.usage.reasoning_tokens, Some(8));
    let starts = events.iter().filter(|e| matches!(e, Event::ToolCallStart { .. })).count();
    assert_eq!(starts, 2);

    // The request the upstream saw is a streaming Chat Completions request.
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/chat/completions");
    let body: Value = serde_json::from_slice(&sent.body).expect("JSON body");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["messages"][0]["content"], "weather and time");
}

#[tokio::test]
async fn unsupported_settings_become_warnings() {
    let text = crate::support::own_fixture("openai/parallel-tool-calls.sse");
    let (server, provider) = provider_against("openai", vec![Reply::stream(frame(&text, Framing::Raw).expect("framed"))]).await;
    let mut request = Request::user("m", "hi");
    request.sampling.top_k = Some(40);
    request.sampling.temperature = Some(0.5);
    let (events, result) = run_turn(&provider, request).await;
    let Some(Event::StreamStart { warnings, .. }) = events.first() else { panic!("stream-start comes first") };
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].setting.as_deref(), Some("top-k"));
    assert_eq!(result.expect("turn succeeds").warnings, *warnings);
    let body: Value = serde_json::from_slice(&server.requests()[0].body).expect("JSON body");
    assert_eq!(body["temperature"], 0.5);
    assert!(body.get("top_k").is_none(), "top-k is not sent");
}
