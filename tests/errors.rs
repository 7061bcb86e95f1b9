//! HTTP errors and broken streams from the upstream each give the right error
//! kind, as an `error` event and as the turn's error.

use cordon::replay::{Framing, Reply, frame};
use cordon::{ErrorKind, Event, Request};

use crate::support::{errors_in, own_fixture, provider_against, run_turn, text_of};

async fn failing_turn(reply: Reply) -> (Vec<Event>, cordon::TurnError) {
    let (_server, provider) = provider_against("openai", vec![reply]).await;
    let (events, result) = run_turn(&provider, Request::user("m", "hi")).await;
    let error = result.expect_err("the turn fails");
    let reported = errors_in(&events);
    assert_eq!(reported.len(), 1, "exactly one error event");
    assert_eq!(*reported[0], error, "the event and the result carry the same error");
    assert!(matches!(events.last(), Some(Event::Error(_))), "nothing follows the error event");
    (events, error)
}

#[tokio::test]
async fn status_401_is_auth() {
    let (_, error) = failing_turn(Reply::error(401, &own_fixture("openai/401.json"))).await;
    assert_eq!(error.kind, ErrorKind::Auth);
    assert_eq!(error.status, Some(401));
    assert!(!error.retryable);
    assert_eq!(error.provider_code.as_deref(), Some("invalid_api_key"));
    assert!(error.message.contains("Incorrect API key"), "{}", error.message);
}

#[tokio::test]
async fn status_429_is_rate_limited_with_retry_after() {
    let reply = Reply::error(429, &own_fixture("openai/429.json")).header("retry-after", "20");
    let (_, error) = failing_turn(reply).await;
    assert_eq!(error.kind, ErrorKind::RateLimited);
    assert!(error.retryable);
    assert_eq!(error.retry_after_ms, Some(20_000));
}

#[tokio::test]
async fn status_500_is_server_and_retryable() {
    let (_, error) = failing_turn(Reply::error(500, &own_fixture("openai/500.json"))).await;
    assert_eq!(error.kind, ErrorKind::Server);
    assert!(error.retryable);
    assert!(error.body_excerpt.as_deref().unwrap_or("").contains("server_error"));
}

#[tokio::test]
async fn other_statuses_map_to_their_kinds() {
    for (status, kind) in [(403, ErrorKind::Permission), (404, ErrorKind::ModelNotFound), (400, ErrorKind::InvalidRequest), (503, ErrorKind::Server)] {
        let (_, error) = failing_turn(Reply::error(status, "not json at all")).await;
        assert_eq!(error.kind, kind, "status {status}");
        assert_eq!(error.status, Some(status));
    }
}

#[tokio::test]
async fn mid_stream_error_object_is_reported_after_the_output() {
    let chunks = frame(&own_fixture("openai/mid-stream-error.sse"), Framing::Raw).expect("framed");
    let (events, error) = failing_turn(Reply::stream(chunks)).await;
    assert_eq!(text_of(&events), "Partial answer", "the output before the error still arrives");
    assert_eq!(error.kind, ErrorKind::Server);
    assert!(error.output_streamed, "the consumer already saw output: not blindly retryable");
    assert_eq!(error.provider_code.as_deref(), Some("server_error"));
}

#[tokio::test]
async fn stream_cut_before_done_is_a_protocol_error() {
    let chunks = frame(&own_fixture("openai/cut-before-done.sse"), Framing::Raw).expect("framed");
    let (events, error) = failing_turn(Reply::stream(chunks)).await;
    assert_eq!(text_of(&events), "This answer stops mid");
    assert_eq!(error.kind, ErrorKind::StreamProtocol);
    assert!(error.message.contains("[DONE]"), "{}", error.message);
}

#[tokio::test]
async fn invalid_json_chunk_is_a_protocol_error() {
    let chunks = frame(&own_fixture("openai/invalid-json.sse"), Framing::Raw).expect("framed");
    let (events, error) = failing_turn(Reply::stream(chunks)).await;
    assert_eq!(text_of(&events), "Fine so far");
    assert_eq!(error.kind, ErrorKind::StreamProtocol);
    assert!(error.message.contains("invalid JSON"), "{}", error.message);
}

#[tokio::test]
async fn unreachable_upstream_is_a_network_error() {
    // Bind a port, then free it: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let options = cordon::ProviderOptions { base_url: Some(format!("http://127.0.0.1:{port}")), ..Default::default() };
    let provider = crate::support::runtime().load_provider("openai", options).await.expect("loads");
    let (_, result) = run_turn(&provider, Request::user("m", "hi")).await;
    let error = result.expect_err("fails");
    assert_eq!(error.kind, ErrorKind::Network);
    assert!(error.retryable);
}
