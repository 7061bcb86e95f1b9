//! A guest that crashes, spins or hoards memory cannot take the host with it:
//! the turn ends with one `error` event naming the cause, and the same provider
//! serves the next turn.

use std::time::Duration;

use cordon::replay::{Reply, ReplayServer};
use cordon::{ErrorKind, Event, HostGrant, Origin, Provider, ProviderOptions, Request, TurnError, TurnResult};
use serde_json::json;

use crate::support::{errors_in, run_turn, runtime, text_of};

/// The hostile guest, pointed at a local upstream answering with `reply`.
async fn hostile_against(reply: Reply) -> (ReplayServer, Provider) {
    let server = ReplayServer::start(vec![reply]).await.expect("server");
    let origin: Origin = server.url().parse().expect("origin");
    let options = ProviderOptions {
        options: Some(json!({ "upstream": server.url() })),
        grants: vec![HostGrant { origin, with_secrets: true }],
        ..ProviderOptions::default()
    };
    let provider = runtime().load_provider("hostile", options).await.expect("loads");
    (server, provider)
}

async fn turn_in_mode(provider: &Provider, mode: &str) -> (Vec<Event>, Result<TurnResult, TurnError>) {
    let mut request = Request::user("m", "hi");
    request.provider_options = Some(json!({ "hostile": { "mode": mode } }));
    run_turn(provider, request).await
}

fn three_events(delay: Duration) -> Reply {
    let mut reply = Reply::stream(vec!["data: first\n\n".into(), "data: second\n\n".into(), "data: third\n\n".into()]);
    reply.chunk_delay = delay;
    reply
}

/// Run `mode`, expect it to fail with `kind` and a message holding `needle`,
/// then check the same provider serves a normal turn.
async fn assert_contained(mode: &str, kind: ErrorKind, needle: &str) -> (Vec<Event>, TurnError) {
    let (_server, provider) = hostile_against(three_events(Duration::from_millis(30))).await;
    let (events, result) = turn_in_mode(&provider, mode).await;
    let error = result.expect_err("the misbehaving turn fails");
    assert_eq!(error.kind, kind, "{mode}: {}", error.message);
    assert!(error.message.contains(needle), "{mode}: expected `{needle}` in: {}", error.message);
    assert_eq!(errors_in(&events), vec![&error], "{mode}: one error event, the same as the result's");

    let (events, next) = turn_in_mode(&provider, "normal").await;
    assert_eq!(next.expect("the next turn on the same provider succeeds").text(), "firstsecondthird");
    assert!(matches!(events.last(), Some(Event::Finish(_))));
    (events, error)
}

#[tokio::test]
async fn guest_trap_mid_stream_becomes_an_error_event_and_the_host_serves_on() {
    let (_server, provider) = hostile_against(three_events(Duration::from_millis(30))).await;
    let (events, _) = turn_in_mode(&provider, "trap-mid-stream").await;
    assert_eq!(text_of(&events), "first", "output before the trap is delivered");
    let (_, error) = assert_contained("trap-mid-stream", ErrorKind::Trap, "deliberate panic").await;
    assert!(error.output_streamed, "the caller had seen output before the trap");
}

#[tokio::test]
async fn a_guest_that_spins_forever_is_stopped_by_its_cpu_limit() {
    assert_contained("spin", ErrorKind::LimitExceeded, "limits.call-cpu-ms").await;
}

#[tokio::test]
async fn a_guest_that_allocates_past_its_memory_limit_is_stopped() {
    assert_contained("memory-bomb", ErrorKind::LimitExceeded, "limits.memory-mib").await;
}
