//! The hostile-guest suite: a third-party component that loops, crashes,
//! hoards memory, floods output, breaks the contract, probes its sandbox or
//! reaches for what it may not. Each case asserts the exact error kind, and that
//! the host then serves a normal turn.

use std::time::Duration;

use cordon::replay::{Reply, ReplayServer};
use cordon::{Error, ErrorKind, Event, Provider, TurnError};
use serde_json::json;

use crate::support::{errors_in, hostile_request, load_hostile, run_turn, runtime, text_of, REBOUND_NAME};

fn three_events() -> Reply {
    let mut reply = Reply::stream(vec!["data: first\n\n".into(), "data: second\n\n".into(), "data: third\n\n".into()]);
    reply.chunk_delay = Duration::from_millis(20); // so the first event crosses before a mid-stream misdeed
    reply
}

/// The host is unharmed: the same provider serves a normal turn.
async fn serves_a_normal_turn(provider: &Provider) {
    let (events, next) = run_turn(provider, hostile_request("normal", None)).await;
    assert_eq!(next.expect("the next turn succeeds").text(), "firstsecondthird");
    assert!(matches!(events.last(), Some(Event::Finish(_))));
}

/// Run `mode`; expect `kind` with `needle` in the message, as one error event
/// and as the result; then a normal turn.
async fn contained(mode: &str, url: Option<&str>, kind: ErrorKind, needle: &str) -> (Vec<Event>, TurnError, ReplayServer) {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let provider = load_hostile("hostile", &server, true, json!({})).await.expect("loads");
    let (events, result) = run_turn(&provider, hostile_request(mode, url)).await;
    let error = result.expect_err("the misbehaving turn fails");
    assert_eq!(error.kind, kind, "{mode}: {}", error.message);
    assert!(error.message.contains(needle), "{mode}: expected `{needle}` in: {}", error.message);
    assert_eq!(errors_in(&events), vec![&error], "{mode}: one error event, the same as the result's");
    serves_a_normal_turn(&provider).await;
    (events, error, server)
}

/// Loading `component` (or starting it with `init_mode`) fails with `kind`; the
/// plain hostile guest then serves a normal turn.
async fn refused_at_load(component: &str, init_mode: Option<&str>, kind: ErrorKind, needle: &str) {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let extra = init_mode.map(|m| json!({ "init": m })).unwrap_or(json!({}));
    match load_hostile(component, &server, true, extra).await {
        Err(Error::Init { error, .. }) => {
            assert_eq!(error.kind, kind, "{component}: {}", error.message);
            assert!(error.message.contains(needle), "{component}: expected `{needle}` in: {}", error.message);
        }
        Err(other) => panic!("{component}: expected an init error, got {other}"),
        Ok(_) => panic!("{component}: loaded"),
    }
    let provider = load_hostile("hostile", &server, true, json!({})).await.expect("loads");
    serves_a_normal_turn(&provider).await;
}

macro_rules! case {
    ($name:ident: $mode:literal => $kind:ident, $needle:literal) => {
        #[tokio::test]
        async fn $name() {
            contained($mode, None, ErrorKind::$kind, $needle).await;
        }
    };
}

// CPU: an endless loop in every export is stopped by the per-call CPU limit.
case!(spin_in_to_native: "spin-in-to-native" => LimitExceeded, "limits.call-cpu-ms");
case!(spin_in_turn_constructor: "spin-in-ctor" => LimitExceeded, "limits.call-cpu-ms");
case!(spin_in_next: "spin-in-next" => LimitExceeded, "limits.call-cpu-ms");
case!(spin_in_finalize: "spin-in-finalize" => LimitExceeded, "limits.call-cpu-ms");

#[tokio::test]
async fn spin_in_info() {
    refused_at_load("hostile-spin-info", None, ErrorKind::LimitExceeded, "limits.call-cpu-ms").await;
}

#[tokio::test]
async fn spin_in_init() {
    refused_at_load("hostile", Some("spin"), ErrorKind::LimitExceeded, "limits.call-cpu-ms").await;
}

// Traps in every export: the guest's panic message is kept.
case!(trap_in_to_native: "trap-in-to-native" => Trap, "deliberate panic in to-native");
case!(trap_in_turn_constructor: "trap-in-ctor" => Trap, "deliberate panic in ctor");
case!(trap_in_finalize: "trap-in-finalize" => Trap, "deliberate panic in finalize");

#[tokio::test]
async fn trap_mid_stream_keeps_the_output_before_it() {
    let (events, error, _) = contained("trap-in-next", None, ErrorKind::Trap, "deliberate panic in next").await;
    assert_eq!(text_of(&events), "first", "output before the trap is delivered");
    assert!(error.output_streamed, "the caller had seen output");
}

#[tokio::test]
async fn trap_in_info() {
    refused_at_load("hostile-trap-info", None, ErrorKind::Trap, "deliberate panic in info").await;
}

#[tokio::test]
async fn trap_in_init() {
    refused_at_load("hostile", Some("trap"), ErrorKind::Trap, "deliberate panic in init").await;
}

// Stack and memory.
case!(deep_recursion: "recursion" => Trap, "stack");
case!(one_huge_allocation: "memory-bomb" => LimitExceeded, "limits.memory-mib");
case!(many_small_allocations: "memory-creep" => LimitExceeded, "limits.memory-mib");

// Output.
case!(flood_of_events: "event-flood" => LimitExceeded, "limits.events-per-turn");
case!(huge_single_event: "huge-event" => LimitExceeded, "limits.event-kib");

#[tokio::test]
async fn too_much_output_in_one_turn() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let origin: cordon::Origin = server.url().parse().expect("origin");
    let options = cordon::ProviderOptions {
        options: Some(json!({ "upstream": server.url() })),
        grants: vec![cordon::HostGrant { origin, with_secrets: true }],
        limits: Some(cordon::limits::LimitOverrides { output_mib_per_turn: Some(1), ..Default::default() }),
        ..Default::default()
    };
    let provider = runtime().load_provider("hostile", options).await.expect("loads");
    let (_, result) = run_turn(&provider, hostile_request("bulky-output", None)).await;
    let error = result.expect_err("stopped");
    assert_eq!(error.kind, ErrorKind::LimitExceeded);
    assert!(error.message.contains("limits.output-mib-per-turn"), "{}", error.message);
    serves_a_normal_turn(&provider).await;
}

// HTTP limits.
case!(request_body_over_the_cap: "huge-request" => LimitExceeded, "limits.request-mib");
case!(too_many_requests_in_one_turn: "request-storm" => LimitExceeded, "limits.requests-per-turn");
case!(too_many_open_responses: "open-many" => LimitExceeded, "limits.concurrent-requests");

#[tokio::test]
async fn huge_log_lines_are_capped_not_fatal() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let provider = load_hostile("hostile", &server, true, json!({})).await.expect("loads");
    let (_, result) = run_turn(&provider, hostile_request("huge-log", None)).await;
    assert_eq!(result.expect("log lines past the budget are dropped, the turn goes on").text(), "firstsecondthird");
}

#[tokio::test]
async fn printing_without_end_is_capped_not_fatal() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let provider = load_hostile("hostile", &server, true, json!({})).await.expect("loads");
    let (_, result) = run_turn(&provider, hostile_request("print-flood", None)).await;
    assert_eq!(result.expect("stdout and stderr past the cap are dropped, the turn goes on").text(), "firstsecondthird");
}

// Malformed output breaks the contract.
case!(tool_call_delta_for_a_call_never_started: "orphan-tool-delta" => ContractViolation, "never started");

/// Malformed tool-call arguments are the model's words, passed on unchanged:
/// the tool loop, not the turn, deals with them.
#[tokio::test]
async fn tool_call_arguments_that_are_not_json_pass_through() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let provider = load_hostile("hostile", &server, true, json!({})).await.expect("loads");
    let (_, result) = run_turn(&provider, hostile_request("bad-tool-args", None)).await;
    let result = result.expect("the turn completes");
    assert_eq!(result.tool_calls()[0].arguments, "{not json");
}

// The network: nothing outside the allowlist, nothing internal by a side door.
#[tokio::test]
async fn cloud_metadata_address() {
    contained("fetch", Some("http://169.254.169.254/latest/meta-data/"), ErrorKind::Denied, "may not reach").await;
}

#[tokio::test]
async fn loopback_not_granted() {
    let other = ReplayServer::start(vec![three_events()]).await.expect("server");
    let url = format!("{}/admin", other.url());
    contained("fetch", Some(&url), ErrorKind::Denied, "may not reach").await;
    assert!(other.requests().is_empty(), "nothing reached the other local server");
}

#[tokio::test]
async fn public_looking_name_that_resolves_to_loopback() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let port = server.url().rsplit(':').next().unwrap_or_default().to_owned();
    let rebound = format!("http://{REBOUND_NAME}:{port}");
    let options = cordon::ProviderOptions {
        options: Some(json!({ "upstream": rebound })),
        grants: vec![cordon::HostGrant { origin: rebound.parse().expect("origin"), with_secrets: true }],
        ..Default::default()
    };
    let provider = runtime().load_provider("hostile", options).await.expect("loads");
    let (_, result) = run_turn(&provider, hostile_request("normal", None)).await;
    let error = result.expect_err("refused");
    assert_eq!(error.kind, ErrorKind::Denied, "{}", error.message);
    assert!(error.message.contains("internal") && error.message.contains("127.0.0.1"), "{}", error.message);
    assert!(server.requests().is_empty(), "the rebound name reached nothing");
}

#[tokio::test]
async fn port_outside_the_allowed_entry() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let provider = load_hostile("hostile", &server, true, json!({})).await.expect("loads");
    let port: u16 = server.url().rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
    let url = format!("http://127.0.0.1:{}/x", port.wrapping_add(1));
    let (_, result) = run_turn(&provider, hostile_request("fetch", Some(&url))).await;
    assert_eq!(result.expect_err("refused").kind, ErrorKind::Denied);
    serves_a_normal_turn(&provider).await;
}

#[tokio::test]
async fn scheme_other_than_http() {
    contained("fetch", Some("ftp://127.0.0.1/etc/passwd"), ErrorKind::Denied, "scheme `ftp` is not allowed").await;
}

#[tokio::test]
async fn file_url() {
    contained("fetch", Some("file:///etc/passwd"), ErrorKind::Denied, "scheme `file` is not allowed").await;
}

case!(header_injection_with_cr_lf: "bad-header" => InvalidRequest, "CR or LF");
case!(guest_sets_authorization_itself: "set-auth" => Denied, "reserved for secret");
case!(secret_the_manifest_does_not_declare: "unknown-secret" => Denied, "no secret named `someone-elses-key`");

#[tokio::test]
async fn the_sandbox_shows_nothing_of_the_host() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let provider = load_hostile("hostile", &server, true, json!({})).await.expect("loads");
    let (events, result) = run_turn(&provider, hostile_request("probe", None)).await;
    result.expect("probing is not an error; it just finds nothing");
    let seen = text_of(&events);
    assert!(
        seen.starts_with("env=0 args=0 file=denied dir=denied tcp=denied udp=denied dns=denied"),
        "the guest saw: {seen}"
    );
}

/// Every turn runs in an instance no earlier turn ran in (the provider makes
/// its next one ahead of time, but never reuses one): nothing a turn left in
/// guest memory reaches the next, on one provider or across turns at once.
#[tokio::test]
async fn no_turn_meets_an_earlier_turns_instance() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let provider = load_hostile("hostile", &server, true, json!({})).await.expect("loads");
    let at_once = futures_util::future::join_all((0..3).map(|_| run_turn(&provider, hostile_request("remember", None))));
    let mut turns = Vec::new();
    for _ in 0..3 {
        turns.push(run_turn(&provider, hostile_request("remember", None)).await);
    }
    turns.extend(at_once.await);
    for (events, result) in turns {
        result.expect("the turn ends normally");
        let seen = text_of(&events);
        assert!(seen.starts_with("turns in this instance: 1 "), "the guest saw: {seen}");
    }
}

// Components the host refuses to load.
#[tokio::test]
async fn component_built_against_a_newer_contract() {
    let err = runtime().inspect("hostile-newer-contract").await.err().expect("refused");
    assert!(matches!(err, Error::ContractVersion { .. }), "{err}");
    assert!(err.to_string().contains("cordon:provider/provider@0.3.0"), "{err}");
    host_still_serves().await;
}

#[tokio::test]
async fn component_importing_what_the_host_does_not_offer() {
    let err = runtime().inspect("hostile-unknown-import").await.err().expect("refused");
    assert!(matches!(err, Error::InvalidComponent { .. }), "{err}");
    assert!(err.to_string().contains("evil:backdoor/steal@1.0.0") && err.to_string().contains("does not offer"), "{err}");
    host_still_serves().await;
}

async fn host_still_serves() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let provider = load_hostile("hostile", &server, true, json!({})).await.expect("loads");
    serves_a_normal_turn(&provider).await;
}
