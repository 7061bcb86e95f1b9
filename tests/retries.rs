//! Retries and fallback in the host: retryable failures before any output are
//! retried (the caller sees one clean attempt), a failure after output is the
//! caller's, and a failing route hands over to the next.

use std::time::Duration;

use cordon::replay::{Framing, Reply, frame};
use cordon::{ErrorKind, Event, Request, Resilient, RetryPolicy, Route};

use crate::support::{errors_in, own_fixture, provider_against, text_of};

fn quick() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_secs(1),
    }
}

fn good_answer() -> Reply {
    Reply::stream(frame(&own_fixture("openai/parallel-tool-calls.sse"), Framing::Raw).expect("framed"))
}

async fn run(chain: &Resilient) -> (Vec<Event>, Result<cordon::TurnResult, cordon::Error>) {
    let mut turn = chain.stream(Request::user("m", "hi"));
    let mut events = Vec::new();
    while let Some(event) = turn.next().await {
        events.push(event);
    }
    (events, turn.into_result().await)
}

#[tokio::test]
async fn retryable_failures_are_retried_and_the_caller_sees_one_attempt() {
    let (server, provider) = provider_against(
        "openai",
        vec![Reply::error(500, &own_fixture("openai/500.json")), Reply::error(429, "{}").header("retry-after-ms", "5"), good_answer()],
    )
    .await;
    let chain = Resilient::new(vec![Route { provider, model: String::new() }], quick()).expect("chain");
    let (events, result) = run(&chain).await;
    let result = result.expect("the third attempt succeeds");
    assert_eq!(result.tool_calls().len(), 2);
    assert_eq!(server.requests().len(), 3, "two failures, one success");
    assert!(errors_in(&events).is_empty(), "failed attempts do not leak into the stream");
    let starts = events.iter().filter(|e| matches!(e, Event::StreamStart { .. })).count();
    assert_eq!(starts, 1, "one stream-start: the serving attempt's");
}

#[tokio::test]
async fn a_failure_after_output_is_not_retried() {
    let partial = Reply::stream(frame(&own_fixture("openai/mid-stream-error.sse"), Framing::Raw).expect("framed"));
    let (server, provider) = provider_against("openai", vec![partial, good_answer()]).await;
    let chain = Resilient::new(vec![Route { provider, model: String::new() }], quick()).expect("chain");
    let (events, result) = run(&chain).await;
    let cordon::Error::Turn(error) = result.expect_err("the error is surfaced") else { panic!("a turn error") };
    assert_eq!(error.kind, ErrorKind::Server);
    assert!(error.output_streamed);
    assert_eq!(text_of(&events), "Partial answer", "the output the caller saw");
    assert_eq!(errors_in(&events).len(), 1);
    assert_eq!(server.requests().len(), 1, "no second request after output");
}

#[tokio::test]
async fn a_failing_route_falls_back_to_the_next() {
    let (first_server, first) = provider_against("openai", vec![Reply::error(503, &own_fixture("openai/500.json"))]).await;
    let anthropic_answer = Reply::stream(
        frame(
            r#"{"type":"message_start","message":{"id":"m","model":"claude","usage":{"input_tokens":3}}}
{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}
{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"from the fallback"}}
{"type":"content_block_stop","index":0}
{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}
{"type":"message_stop"}"#,
            Framing::AnthropicSse,
        )
        .expect("framed"),
    );
    let (second_server, second) = provider_against("anthropic", vec![anthropic_answer]).await;
    let chain = Resilient::new(
        vec![Route { provider: first, model: "gpt-x".into() }, Route { provider: second, model: "claude-x".into() }],
        RetryPolicy { attempts: 2, ..quick() },
    )
    .expect("chain");
    let (events, result) = run(&chain).await;
    let result = result.expect("the fallback serves");
    assert_eq!(result.text(), "from the fallback");
    assert_eq!(result.served_by, "anthropic@0.1.0", "the result names who served");
    let Some(Event::StreamStart { served_by, .. }) = events.first() else { panic!("stream-start first") };
    assert_eq!(served_by, "anthropic@0.1.0");
    assert_eq!(first_server.requests().len(), 2, "the first route was retried once, then given up");
    let body: serde_json::Value = serde_json::from_slice(&second_server.requests()[0].body).expect("JSON");
    assert_eq!(body["model"], "claude-x", "each route asks for its own model");
}

#[tokio::test]
async fn a_non_retryable_failure_moves_on_at_once() {
    let (first_server, first) = provider_against("openai", vec![Reply::error(401, &own_fixture("openai/401.json"))]).await;
    let (_second_server, second) = provider_against("openai", vec![good_answer()]).await;
    let chain = Resilient::new(
        vec![Route { provider: first, model: String::new() }, Route { provider: second, model: String::new() }],
        quick(),
    )
    .expect("chain");
    let (_, result) = run(&chain).await;
    assert_eq!(result.expect("the second route serves").tool_calls().len(), 2);
    assert_eq!(first_server.requests().len(), 1, "auth errors are not retried");
}

#[tokio::test]
async fn a_chain_from_provider_model_references() {
    let (first_server, _) = provider_against("openai", vec![Reply::error(500, &own_fixture("openai/500.json"))]).await;
    let (second_server, _) = provider_against("openai", vec![good_answer()]).await;
    let registry = cordon::Registry::new(crate::support::runtime().clone());
    for (name, server) in [("primary", &first_server), ("backup", &second_server)] {
        let options = cordon::ProviderOptions { base_url: Some(server.url()), ..Default::default() };
        registry.load(name, "openai", options).await.expect("loads");
    }
    let chain = Resilient::from_refs(&registry, &["primary:gpt-a", "backup:gpt-b"], RetryPolicy { attempts: 1, ..quick() })
        .expect("chain");
    let (_, result) = run(&chain).await;
    assert_eq!(result.expect("the backup serves").tool_calls().len(), 2);
    let body: serde_json::Value = serde_json::from_slice(&second_server.requests()[0].body).expect("JSON");
    assert_eq!(body["model"], "gpt-b");
    let err = Resilient::from_refs(&registry, &["missing:x"], quick()).err().expect("unknown name");
    assert!(err.to_string().contains("no provider named `missing`"), "{err}");
}
