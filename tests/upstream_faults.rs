//! An upstream that misbehaves (too slow, endless, compressed into a bomb, too
//! big) and a host under load (too many turns, fuel budgets) meet their limits,
//! each with its own error kind.

use std::io::Write as _;
use std::time::Duration;

use bytes::Bytes;
use cordon::limits::LimitOverrides;
use cordon::replay::{Reply, ReplayServer, ReplyBody};
use cordon::{ErrorKind, Provider, ProviderOptions, Request, Runtime, RuntimeConfig, TurnError};
use serde_json::json;

use crate::support::{components_dir, errors_in, run_turn, runtime};

/// The OpenAI provider against `reply`, with the operator's `limits`.
async fn openai_with_limits(reply: Reply, limits: LimitOverrides) -> (ReplayServer, Provider) {
    let server = ReplayServer::start(vec![reply]).await.expect("server");
    let options = ProviderOptions { base_url: Some(server.url()), limits: Some(limits), ..ProviderOptions::default() };
    let provider = runtime().load_provider("openai", options).await.expect("loads");
    (server, provider)
}

async fn failed_turn(provider: &Provider) -> TurnError {
    let (events, result) = run_turn(provider, Request::user("m", "hi")).await;
    let error = result.expect_err("the turn fails");
    assert_eq!(errors_in(&events), vec![&error]);
    error
}

#[tokio::test]
async fn slow_loris_upstream_hits_the_turn_time_limit() {
    let drip: Vec<Bytes> = (0..10_000).map(|_| Bytes::from_static(b":")).collect();
    let mut reply = Reply::stream(drip);
    reply.chunk_delay = Duration::from_millis(20); // a byte at a time: never idle, never done
    let limits = LimitOverrides { turn_ms: Some(400), ..Default::default() };
    let (_server, provider) = openai_with_limits(reply, limits).await;
    let error = failed_turn(&provider).await;
    assert_eq!(error.kind, ErrorKind::Timeout);
    assert!(error.message.contains("limits.turn-ms"), "{}", error.message);
}

#[tokio::test]
async fn stalled_upstream_hits_the_read_timeout() {
    let mut reply = Reply::stream(vec![Bytes::from_static(b"data: {}\n\n")]);
    reply.chunk_delay = Duration::from_secs(30); // headers at once, then nothing
    let limits = LimitOverrides { read_timeout_ms: Some(200), ..Default::default() };
    let (_server, provider) = openai_with_limits(reply, limits).await;
    let error = failed_turn(&provider).await;
    assert_eq!(error.kind, ErrorKind::Timeout);
    assert!(error.message.contains("limits.read-timeout-ms"), "{}", error.message);
}

#[tokio::test]
async fn endless_body_hits_the_response_size_limit() {
    let reply = Reply { body: ReplyBody::Endless(Bytes::from(": keep-alive\n\n".repeat(512))), ..Reply::stream(vec![]) };
    let limits = LimitOverrides { response_mib: Some(1), ..Default::default() };
    let (_server, provider) = openai_with_limits(reply, limits).await;
    let error = failed_turn(&provider).await;
    assert_eq!(error.kind, ErrorKind::LimitExceeded);
    assert!(error.message.contains("limits.response-mib"), "{}", error.message);
}

#[tokio::test]
async fn body_over_the_cap_is_cut_off() {
    let big = Bytes::from(format!("data: {}\n\n", "x".repeat(3 * 1024 * 1024)));
    let limits = LimitOverrides { response_mib: Some(1), ..Default::default() };
    let (_server, provider) = openai_with_limits(Reply::stream(vec![big]), limits).await;
    let error = failed_turn(&provider).await;
    assert_eq!(error.kind, ErrorKind::LimitExceeded);
    assert!(error.message.contains("limits.response-mib"), "{}", error.message);
}

#[tokio::test]
async fn gzip_bomb_is_never_inflated_by_the_host() {
    // 256 MiB of zeros, compressed to a few hundred KiB.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..256 {
        encoder.write_all(&zeros).expect("compress");
    }
    let bomb = encoder.finish().expect("compress");
    assert!(bomb.len() < 1024 * 1024);
    let reply = Reply::stream(vec![Bytes::from(bomb)]).header("content-encoding", "gzip");
    let limits = LimitOverrides { response_mib: Some(2), ..Default::default() };
    let (_server, provider) = openai_with_limits(reply, limits).await;
    let error = failed_turn(&provider).await;
    // The host asked for identity and refuses a compressed body: nothing is
    // inflated, and no compressed bytes reach the guest past the scrubber.
    assert!(error.message.contains("content-encoding `gzip`") && error.message.contains("does not decode"), "{}", error.message);
}

/// A provider allowed one turn at a time, with `queued` waiting turns.
async fn one_at_a_time(queued: u64, wait_ms: u64) -> (ReplayServer, Provider) {
    let mut reply = Reply::stream((0..40).map(|_| Bytes::from_static(b": slow\n\n")).collect());
    reply.chunk_delay = Duration::from_millis(25);
    let limits = LimitOverrides {
        concurrent_turns: Some(1),
        queued_turns: Some(queued),
        queue_wait_ms: Some(wait_ms),
        ..Default::default()
    };
    openai_with_limits(reply, limits).await
}

async fn start_a_long_turn(provider: &Provider, server: &ReplayServer) -> tokio::task::JoinHandle<()> {
    let running = provider.clone();
    let handle = tokio::spawn(async move {
        let _ = running.complete(Request::user("m", "hi")).await;
    });
    for _ in 0..200 {
        if !server.requests().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(server.requests().len(), 1, "the first turn is running");
    handle
}

#[tokio::test]
async fn excess_turns_are_refused_as_busy() {
    let (server, provider) = one_at_a_time(0, 1000).await;
    let first = start_a_long_turn(&provider, &server).await;
    let error = failed_turn(&provider).await;
    assert_eq!(error.kind, ErrorKind::Busy);
    assert!(error.retryable);
    assert!(error.message.contains("limits.concurrent-turns"), "{}", error.message);
    first.abort();
}

#[tokio::test]
async fn queued_turns_give_up_after_the_queue_wait() {
    let (server, provider) = one_at_a_time(4, 100).await;
    let first = start_a_long_turn(&provider, &server).await;
    let error = failed_turn(&provider).await;
    assert_eq!(error.kind, ErrorKind::Busy);
    assert!(error.message.contains("limits.queue-wait-ms"), "{}", error.message);
    assert_eq!(server.requests().len(), 1, "the queued turn never reached the upstream");
    first.abort();
}

#[tokio::test]
async fn a_full_instance_pool_refuses_a_turn_as_overloaded_and_recovers() {
    // A pool of two instances: two long turns take both (the provider's
    // spare, then one made for the second), so a third finds none.
    let mut config = RuntimeConfig::new(components_dir());
    config.pool.instances = 2;
    config.trust = cordon::TrustStore::load(&crate::support::trust_file()).expect("trust file");
    let small = Runtime::new(config).expect("a runtime with a small pool");
    const ANSWER: &[u8] = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    let slow = || {
        let mut reply = Reply::stream((0..40).map(|_| Bytes::from_static(b": slow\n\n")).chain([Bytes::from_static(ANSWER)]).collect());
        reply.chunk_delay = Duration::from_millis(25);
        reply
    };
    let server = ReplayServer::start(vec![slow(), slow(), Reply::stream(vec![Bytes::from_static(ANSWER)])]).await.expect("server");
    let options = ProviderOptions { base_url: Some(server.url()), ..ProviderOptions::default() };
    let provider = small.load_provider("openai", options).await.expect("loads");
    let mut running = Vec::new();
    for started in 1..=2 {
        let turn = provider.clone();
        running.push(tokio::spawn(async move { turn.complete(Request::user("m", "hi")).await.map(|r| r.text()) }));
        for _ in 0..400 {
            if server.requests().len() == started {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(server.requests().len(), started, "turn {started} is running");
    }
    let error = failed_turn(&provider).await;
    assert_eq!((error.kind, error.retryable, error.retry_after_ms), (ErrorKind::Overloaded, true, Some(1000)), "{error:?}");
    assert!(error.message.contains("pool") && error.message.contains("limits.concurrent-turns"), "{}", error.message);
    assert_eq!(server.requests().len(), 2, "the refused turn never reached the upstream");
    for turn in running {
        turn.await.expect("the long turn's task").expect("the long turn ends well");
    }
    // Their instances are freed just after their ends are sent: the next
    // turn runs, once it retries as the error asks.
    let mut tries = 0;
    let result = loop {
        let (_, result) = run_turn(&provider, Request::user("m", "hi")).await;
        match result {
            Err(error) if error.kind == ErrorKind::Overloaded && tries < 100 => tries += 1,
            other => break other,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(result.expect("a turn once the pool has room").text(), "ok");
}

#[tokio::test]
async fn fuel_gives_a_deterministic_budget() {
    let mut config = RuntimeConfig::new(components_dir());
    config.fuel = true;
    config.pool.instances = 8;
    config.cache_dir = None;
    config.trust = cordon::TrustStore::load(&crate::support::trust_file()).expect("trust file");
    let metered = Runtime::new(config).expect("a fuel-metered runtime");
    let server = ReplayServer::start(vec![Reply::stream(vec!["data: ok\n\n".into()])]).await.expect("server");
    let options = ProviderOptions {
        options: Some(json!({ "upstream": server.url() })),
        grants: vec![cordon::HostGrant { origin: server.url().parse().expect("origin"), with_secrets: true }],
        limits: Some(LimitOverrides { fuel_per_call: Some(5_000_000), call_cpu_ms: Some(30_000), ..Default::default() }),
        ..ProviderOptions::default()
    };
    let provider = metered.load_provider("hostile", options).await.expect("loads");
    let (_, result) = run_turn(&provider, crate::support::hostile_request("spin-in-to-native", None)).await;
    let error = result.expect_err("out of fuel");
    assert_eq!(error.kind, ErrorKind::LimitExceeded);
    assert!(error.message.contains("limits.fuel-per-call"), "{}", error.message);

    // A normal turn fits the same budget.
    let (_, result) = run_turn(&provider, crate::support::hostile_request("normal", None)).await;
    assert_eq!(result.expect("a normal turn fits").text(), "ok");

    // A host without fuel metering refuses a manifest that asks for it.
    let options = ProviderOptions {
        limits: Some(LimitOverrides { fuel_per_call: Some(1000), ..Default::default() }),
        ..ProviderOptions::default()
    };
    let err = runtime().load_provider("hostile", options).await.err().expect("refused");
    assert!(err.to_string().contains("does not meter fuel"), "{err}");
}
