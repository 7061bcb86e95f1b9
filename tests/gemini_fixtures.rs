//! Every recorded Gemini stream through the Gemini component: text, thoughts,
//! function calls, cumulative usage (the last wins) and finish reason match the
//! recording, computed here independently from the raw chunks.

use cordon::replay::{Framing, Reply, frame};
use cordon::{ErrorKind, FinishReason, Request};
use serde_json::Value;

use crate::support::{provider_against, run_turn, shared_fixtures};

#[tokio::test]
async fn every_recorded_gemini_stream_matches_its_recording() {
    let Some(fixtures) = shared_fixtures() else { return };
    let dir = fixtures.join("wire/gemini");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("fixture folder").flatten().map(|e| e.path()).collect();
    files.sort();
    assert!(!files.is_empty());
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let text = std::fs::read_to_string(&path).expect("fixture");
        let chunks: Vec<Value> = text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("JSON")).collect();
        let parts: Vec<&Value> = chunks
            .iter()
            .flat_map(|c| c["candidates"][0]["content"]["parts"].as_array().into_iter().flatten())
            .collect();
        let text_of = |thought: bool| -> String {
            parts.iter().filter(|p| p["thought"].as_bool().unwrap_or(false) == thought).filter_map(|p| p["text"].as_str()).collect()
        };
        let calls: Vec<(&str, &Value)> =
            parts.iter().filter_map(|p| p.get("functionCall")).map(|c| (c["name"].as_str().unwrap_or(""), &c["args"])).collect();
        let usage = chunks.iter().rev().find_map(|c| c.get("usageMetadata")).expect("usage in the recording");
        let raw_finish = chunks.iter().rev().find_map(|c| c["candidates"][0]["finishReason"].as_str()).expect("a finish reason");

        let (_server, provider) = provider_against("gemini", vec![Reply::stream(frame(&text, Framing::GeminiSse).expect("framed"))]).await;
        let (_, result) = run_turn(&provider, Request::user("gemini-2.5-flash", "hi")).await;
        let result = result.unwrap_or_else(|err| panic!("{name}: turn failed: {err}"));

        assert_eq!(result.text(), text_of(false), "{name}: text");
        assert_eq!(result.reasoning(), text_of(true), "{name}: reasoning");
        let got: Vec<(String, Value)> = result
            .tool_calls()
            .iter()
            .map(|c| (c.name.clone(), serde_json::from_str(&c.arguments).expect("arguments are JSON")))
            .collect();
        let want: Vec<(String, Value)> = calls.iter().map(|(n, a)| ((*n).to_owned(), (*a).clone())).collect();
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
