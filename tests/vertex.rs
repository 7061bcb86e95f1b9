//! The Vertex AI component in the real host against a local upstream that
//! speaks Vertex's URL shapes: the recorded Vertex Gemini stream (CRLF-framed,
//! as Vertex sends it, with streamed function-call arguments and
//! `trafficType`-only usage), the recorded Gemini API streams through
//! `publishers/google/...:streamGenerateContent?alt=sse`, and the recorded
//! Anthropic streams through `publishers/anthropic/...:streamRawPredict`. The
//! results are checked against the recordings with the Gemini and Anthropic
//! fixture tests' own checks; the upstream's record of each request is checked
//! for the path, the Claude body's Vertex fields and the host-minted token.

use bytes::Bytes;
use cordon::replay::{Framing, RecordedRequest, Reply, ReplyBody, ReplayServer, frame};
use cordon::{ErrorKind, Provider, ProviderOptions, Request};
use serde_json::{Value, json};

use crate::anthropic_fixtures::assert_matches_anthropic_recording;
use crate::gemini_fixtures::assert_matches_gemini_recording;
use crate::support::{google_service_account, recordings, run_turn, runtime, shared_fixtures};

/// The project and location the provider is configured with.
const PROJECT: &str = "cordon-test-1";
const LOCATION: &str = "us-central1";

/// The access token the local token endpoint issues.
const TOKEN: &str = "ya29.cordon-vertex-test-token";

/// The Vertex component loaded against a local upstream, with the `google`
/// secret bound to a service account whose token endpoint is local too.
struct Vertex {
    upstream: ReplayServer,
    token_endpoint: ReplayServer,
    provider: Provider,
}

/// A token endpoint issuing [`TOKEN`] (the signing tests check the assertion
/// itself; here it is the token's way to Vertex that is checked).
async fn token_endpoint() -> ReplayServer {
    let answer = json!({ "access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer" }).to_string();
    let reply = Reply {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: ReplyBody::Chunks(vec![Bytes::from(answer)]),
        chunk_delay: std::time::Duration::ZERO,
    };
    ReplayServer::start(vec![reply]).await.expect("token endpoint starts")
}

/// Load `vertex` with `options` (merged over the project and location) against an upstream answering `replies`.
async fn vertex_against(replies: Vec<Reply>, options: Value) -> Vertex {
    let upstream = ReplayServer::start(replies).await.expect("upstream starts");
    let token_endpoint = token_endpoint().await;
    let mut all = json!({ "project": PROJECT, "location": LOCATION });
    if let (Some(all), Some(extra)) = (all.as_object_mut(), options.as_object()) {
        all.extend(extra.clone());
    }
    let key = google_service_account(&format!("{}/token", token_endpoint.url()));
    let options = ProviderOptions {
        base_url: Some(upstream.url()),
        options: Some(all),
        secrets: [("google".to_owned(), key)].into(),
        ..ProviderOptions::default()
    };
    let provider = runtime().load_provider("vertex", options).await.expect("vertex loads");
    Vertex { upstream, token_endpoint, provider }
}

/// The one request the upstream received, checked to be a Vertex streaming
/// call of `model` from `publisher` that carries the host-minted token.
fn the_vertex_request(vertex: &Vertex, publisher: &str, model: &str) -> RecordedRequest {
    let requests = vertex.upstream.requests();
    assert_eq!(requests.len(), 1, "one request upstream");
    let sent = requests.into_iter().next().expect("a request");
    let method = if publisher == "anthropic" { "streamRawPredict" } else { "streamGenerateContent?alt=sse" };
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, format!("/v1/projects/{PROJECT}/locations/{LOCATION}/publishers/{publisher}/models/{model}:{method}"));
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()), "the token the host minted");
    let exchanges = vertex.token_endpoint.requests();
    assert_eq!(exchanges.len(), 1, "one token exchange");
    let grant = String::from_utf8_lossy(&exchanges[0].body);
    assert_eq!(exchanges[0].path, "/token");
    assert!(grant.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"), "a JWT bearer grant: {grant}");
    sent
}

/// Each recording's chunks as `data: ...` events ending in CRLF CRLF, as Vertex frames them.
fn crlf_sse(text: &str) -> Vec<Bytes> {
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| Bytes::from(format!("data: {l}\r\n\r\n"))).collect()
}

/// Every recording in `wire/{folder}` served by `serve` through the Google
/// publisher's URL, checked against the recording.
async fn gemini_recordings_through_vertex(folder: &str, serve: fn(&str) -> Vec<Bytes>) {
    let Some(fixtures) = shared_fixtures() else { return };
    for (name, text) in recordings(&fixtures, folder) {
        let vertex = vertex_against(vec![Reply::stream(serve(&text))], json!({})).await;
        let (_, result) = run_turn(&vertex.provider, Request::user("gemini-2.5-flash", "hi")).await;
        let result = result.unwrap_or_else(|err| panic!("{name}: turn failed: {err}"));
        assert_matches_gemini_recording(&name, &text, &result);
        let sent = the_vertex_request(&vertex, "google", "gemini-2.5-flash");
        let body: Value = serde_json::from_slice(&sent.body).expect("JSON body");
        assert_eq!(body["contents"][0]["parts"][0]["text"], "hi", "{name}: the Gemini body");
    }
}

#[tokio::test]
async fn recorded_vertex_streams_crlf_framed_match_their_recordings() {
    gemini_recordings_through_vertex("vertex", crlf_sse).await;
}

#[tokio::test]
async fn recorded_gemini_streams_through_vertex_match_their_recordings() {
    gemini_recordings_through_vertex("gemini", |text| frame(text, Framing::GeminiSse).expect("framed")).await;
}

#[tokio::test]
async fn recorded_anthropic_streams_through_stream_raw_predict_match_their_recordings() {
    let Some(fixtures) = shared_fixtures() else { return };
    let model = "claude-sonnet-4-5@20250929";
    for (name, text) in recordings(&fixtures, "anthropic") {
        let reply = Reply::stream(frame(&text, Framing::AnthropicSse).expect("framed"));
        let vertex = vertex_against(vec![reply], json!({})).await;
        let (out, result) = run_turn(&vertex.provider, Request::user(model, "hi")).await;
        let result = result.unwrap_or_else(|err| panic!("{name}: turn failed: {err}"));
        assert_matches_anthropic_recording(&name, &text, &out, &result);
        let sent = the_vertex_request(&vertex, "anthropic", model);
        let body: Value = serde_json::from_slice(&sent.body).expect("JSON body");
        assert_eq!(body["anthropic_version"], "vertex-2023-10-16", "{name}: Vertex's Anthropic version");
        assert!(body.get("model").is_none(), "{name}: the model is in the URL, not the body: {body}");
        assert_eq!(body["stream"], true);
        assert_eq!(body["messages"][0]["content"][0]["text"], "hi");
        assert_eq!(sent.header("anthropic-version"), None, "the version is in the body on Vertex");
    }
}

#[tokio::test]
async fn the_publisher_option_sends_any_model_to_anthropic() {
    let events = r#"{"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":3}}}
{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1}}
{"type":"message_stop"}"#;
    let reply = Reply::stream(frame(events, Framing::AnthropicSse).expect("framed"));
    let vertex = vertex_against(vec![reply], json!({ "publisher": "anthropic" })).await;
    let (_, result) = run_turn(&vertex.provider, Request::user("my-claude-deployment", "hi")).await;
    result.expect("turn succeeds");
    the_vertex_request(&vertex, "anthropic", "my-claude-deployment");
}

#[tokio::test]
async fn google_429_with_retry_info_is_a_rate_limit_for_both_publishers() {
    let Some(fixtures) = shared_fixtures() else { return };
    let body = std::fs::read_to_string(fixtures.join("errors/google-429-retry-info.json")).expect("fixture");
    for model in ["gemini-2.5-flash", "claude-sonnet-4-5@20250929"] {
        let vertex = vertex_against(vec![Reply::error(429, &body)], json!({})).await;
        let (_, result) = run_turn(&vertex.provider, Request::user(model, "hi")).await;
        let error = result.expect_err("429");
        assert_eq!(error.kind, ErrorKind::RateLimited, "{model}");
        assert!(error.retryable, "{model}");
        assert_eq!(error.retry_after_ms, Some(34_400), "{model}: RetryInfo's delay");
    }
}

#[tokio::test]
async fn a_missing_project_or_location_is_named() {
    for (options, missing) in [(json!({ "location": LOCATION }), "`project`"), (json!({ "project": PROJECT }), "`location`")] {
        let options = ProviderOptions {
            base_url: Some("http://127.0.0.1:9".into()),
            options: Some(options),
            secrets: [("google".to_owned(), google_service_account("http://127.0.0.1:9/token"))].into(),
            ..ProviderOptions::default()
        };
        let Err(error) = runtime().load_provider("vertex", options).await else { panic!("loaded without {missing}") };
        assert!(error.to_string().contains(missing), "{error}");
    }
}
