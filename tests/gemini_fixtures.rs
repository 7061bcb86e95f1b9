//! Every recorded Gemini stream through the Gemini component: text, thoughts,
//! function calls, cumulative usage (the last wins) and finish reason match the
//! recording, computed here independently from the raw chunks. The check is
//! shared with `vertex.rs`, which serves the same recordings (and Vertex's own,
//! with streamed function-call arguments) through the Vertex AI URL shape.

use cordon::replay::{Framing, Reply, frame};
use cordon::{ErrorKind, FinishReason, Request, TurnResult};
use serde_json::Value;

use crate::support::{provider_against, recordings, run_turn, shared_fixtures};

/// Set `value` at a streamed argument's JSON path (`$.a.b[0].c`) in `args`,
/// creating objects and arrays on the way; a string at a path that holds one
/// is appended to it.
fn set_at_path(args: &mut Value, path: &str, value: &Value) {
    let steps: Vec<&str> = path.trim_start_matches('$').split(['.', '[', ']']).filter(|s| !s.is_empty()).collect();
    let mut slot = args;
    for step in steps {
        slot = match step.parse::<usize>() {
            Ok(index) => {
                if !slot.is_array() {
                    *slot = Value::Array(Vec::new());
                }
                let items = slot.as_array_mut().expect("an array");
                if items.len() <= index {
                    items.resize(index + 1, Value::Null);
                }
                &mut items[index]
            }
            Err(_) => {
                if !slot.is_object() {
                    *slot = Value::Object(serde_json::Map::new());
                }
                slot.as_object_mut().expect("an object").entry(step).or_insert(Value::Null)
            }
        };
    }
    match (slot.as_str(), value.as_str()) {
        (Some(before), Some(more)) => *slot = Value::String(format!("{before}{more}")),
        _ => *slot = value.clone(),
    }
}

/// The function calls of a recording's parts: a named call with whole `args`,
/// or a named call whose later nameless parts carry `partialArgs` (each path's
/// `stringValue`s joined, or its `numberValue`/`boolValue`).
fn recorded_calls(parts: &[&Value]) -> Vec<(String, Value)> {
    let mut calls: Vec<(String, Value)> = Vec::new();
    for call in parts.iter().filter_map(|p| p.get("functionCall")) {
        match call["name"].as_str() {
            Some(name) => calls.push((name.to_owned(), call.get("args").cloned().unwrap_or_else(|| serde_json::json!({})))),
            None => {
                let Some((_, args)) = calls.last_mut() else { continue };
                for partial in call["partialArgs"].as_array().into_iter().flatten() {
                    let path = partial["jsonPath"].as_str().expect("a jsonPath");
                    let value = ["stringValue", "numberValue", "boolValue"].iter().find_map(|key| partial.get(*key));
                    if let Some(value) = value {
                        set_at_path(args, path, value);
                    }
                }
            }
        }
    }
    calls
}

/// Check `result` against the recorded Gemini chunks `text` (`name` in messages).
pub(crate) fn assert_matches_gemini_recording(name: &str, text: &str, result: &TurnResult) {
    let chunks: Vec<Value> = text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("JSON")).collect();
    let parts: Vec<&Value> =
        chunks.iter().flat_map(|c| c["candidates"][0]["content"]["parts"].as_array().into_iter().flatten()).collect();
    let text_of = |thought: bool| -> String {
        parts.iter().filter(|p| p["thought"].as_bool().unwrap_or(false) == thought).filter_map(|p| p["text"].as_str()).collect()
    };
    let usage = chunks
        .iter()
        .rev()
        .filter_map(|c| c.get("usageMetadata"))
        .find(|u| u.get("promptTokenCount").is_some())
        .expect("token counts in the recording");
    let raw_finish = chunks.iter().rev().find_map(|c| c["candidates"][0]["finishReason"].as_str()).expect("a finish reason");

    assert_eq!(result.text(), text_of(false), "{name}: text");
    assert_eq!(result.reasoning(), text_of(true), "{name}: reasoning");
    let got: Vec<(String, Value)> = result
        .tool_calls()
        .iter()
        .map(|c| (c.name.clone(), serde_json::from_str(&c.arguments).expect("arguments are JSON")))
        .collect();
    let want = recorded_calls(&parts);
    assert_eq!(got, want, "{name}: function calls");
    let ids: std::collections::HashSet<_> = result.tool_calls().iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids.len(), want.len(), "{name}: each call has its own id");

    let n = |key: &str| usage[key].as_u64();
    assert_eq!(result.usage.input_tokens, n("promptTokenCount"), "{name}: input");
    assert_eq!(
        result.usage.output_tokens,
        Some(n("candidatesTokenCount").unwrap_or(0) + n("thoughtsTokenCount").unwrap_or(0)),
        "{name}: output includes thoughts"
    );
    assert_eq!(result.usage.reasoning_tokens, n("thoughtsTokenCount"), "{name}: reasoning tokens");
    assert_eq!(result.finish.raw.as_deref(), Some(raw_finish), "{name}: raw finish");
    let reason = if !want.is_empty() { FinishReason::ToolCalls } else { FinishReason::Stop };
    assert_eq!(result.finish.reason, reason, "{name}: finish");
}

#[tokio::test]
async fn every_recorded_gemini_stream_matches_its_recording() {
    let Some(fixtures) = shared_fixtures() else { return };
    for (name, text) in recordings(&fixtures, "gemini") {
        let (_server, provider) = provider_against("gemini", vec![Reply::stream(frame(&text, Framing::GeminiSse).expect("framed"))]).await;
        let (_, result) = run_turn(&provider, Request::user("gemini-2.5-flash", "hi")).await;
        let result = result.unwrap_or_else(|err| panic!("{name}: turn failed: {err}"));
        assert_matches_gemini_recording(&name, &text, &result);
    }
}

#[tokio::test]
async fn gemini_429_retry_info_becomes_retry_after() {
    let Some(fixtures) = shared_fixtures() else { return };
    let body = std::fs::read_to_string(fixtures.join("errors/google-429-retry-info.json")).expect("fixture");
    let (_server, provider) = provider_against("gemini", vec![Reply::error(429, &body)]).await;
    let (_, result) = run_turn(&provider, Request::user("gemini-2.5-flash", "hi")).await;
    let error = result.expect_err("429");
    assert_eq!(error.kind, ErrorKind::RateLimited);
    assert!(error.retryable);
    assert_eq!(error.retry_after_ms, Some(34_400));
}
