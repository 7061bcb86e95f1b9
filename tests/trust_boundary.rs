//! The trust boundary against a hostile component and its manifest: what it
//! may ask for and what it gets (only what the operator grants), what reaches
//! it from a reflecting upstream (never a secret, in no encoding), how long it
//! may take to load or swap, what its numbers and results may do to the host,
//! and the contract's rules it may not break. Each case is a hostile guest or
//! upstream of the project's own (`guests/hostile*`, `tests/reflector.rs`).

use std::time::{Duration, Instant};

use cordon::limits::LimitOverrides;
use cordon::replay::{Framing, Reply, ReplayServer, frame};
use cordon::trust::{Approval, SecretGrant, SecretSource};
use cordon::{
    Error, ErrorKind, Event, HostGrant, LoopEvent, Provider, ProviderOptions, Registry, Request, ToolLoop, ToolOptions,
    Toolbox, TurnError,
};
use serde_json::json;

use crate::reflector::{Reflection, Reflector};
use crate::support::{
    NAT64_NAME, REBOUND_NAME, RESERVED_NAME, SECRET, SIX_TO_FOUR_NAME, components_dir, errors_in, hostile_request,
    load_hostile, run_turn, runtime, text_of,
};

fn three_events() -> Reply {
    Reply::stream(vec!["data: first\n\n".into(), "data: second\n\n".into(), "data: third\n\n".into()])
}

async fn serves_a_normal_turn(provider: &Provider) {
    let (_, next) = run_turn(provider, hostile_request("normal", None)).await;
    assert_eq!(next.expect("the next turn succeeds").text(), "firstsecondthird");
}

fn limits(overrides: LimitOverrides) -> ProviderOptions {
    ProviderOptions { limits: Some(overrides), ..ProviderOptions::default() }
}

/// The hostile provider with `extra` options against `server`.
async fn hostile_with(server: &ReplayServer, extra: ProviderOptions) -> Provider {
    let origin: cordon::Origin = server.url().parse().expect("origin");
    let options = ProviderOptions {
        options: Some(json!({ "upstream": server.url() })),
        grants: vec![HostGrant { origin, with_secrets: true }],
        secrets: [("api-key".to_owned(), SECRET.to_owned())].into(),
        ..extra
    };
    runtime().load_provider("hostile", options).await.expect("hostile loads")
}

// ----- 1. Secrets and origins are granted by the operator, never claimed -----

#[tokio::test]
async fn a_manifest_asking_for_the_hosts_credentials_is_refused_at_load() {
    let err = runtime().load_provider("hostile-greedy", ProviderOptions::default()).await.err().expect("refused");
    let Error::NotApproved(refusal) = &err else { panic!("expected NotApproved, got {err}") };
    let text = err.to_string();
    assert_eq!(refusal.asks.len(), 4, "{text}");
    for needle in [
        "to reach http://169.254.169.254:80",
        "to reach https://collector.example:443",
        "secret `aws`",
        "secret `openai`",
        "cordon trust hostile-greedy --secret aws=env:VARIABLE --secret openai=env:VARIABLE",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from: {text}");
    }
    assert!(!text.contains("env:AWS_SECRET_ACCESS_KEY") && !text.contains("env:OPENAI_API_KEY"), "flagged suggestions are not offered: {text}");
}

#[tokio::test]
async fn the_secret_comes_from_the_operators_binding() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, "sk-bound-by-the-operator-0001\n").expect("write the key");
    let echo = ReplayServer::start(vec![Reply { body: cordon::replay::ReplyBody::EchoHeaders, ..Reply::error(200, "") }])
        .await
        .expect("server");
    let origin: cordon::Origin = echo.url().parse().expect("origin");
    let approval = Approval {
        hosts: vec![origin.clone()],
        secrets: [("api-key".to_owned(), SecretGrant { source: SecretSource::File(key_file), hosts: vec![origin] })].into(),
        ..Approval::default()
    };
    let options = ProviderOptions {
        options: Some(json!({ "upstream": echo.url() })),
        approval: Some(approval),
        ..ProviderOptions::default()
    };
    let provider = runtime().load_provider("hostile", options).await.expect("approved in code");
    let (events, result) = run_turn(&provider, hostile_request("echo", None)).await;
    result.expect("the echo turn completes");
    let received = echo.requests();
    assert_eq!(received[0].header("authorization"), Some("Bearer sk-bound-by-the-operator-0001"));
    assert!(text_of(&events).contains("Bearer [REDACTED]"), "{}", text_of(&events));
}

#[tokio::test]
async fn an_approval_does_not_cover_a_version_that_asks_for_more() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let err = load_hostile("hostile-asks-more", &server, true, json!({})).await.err().expect("refused");
    let text = err.to_string();
    assert!(matches!(err, Error::NotApproved(_)), "{text}");
    assert!(text.contains("to reach https://collector.example:443") && text.contains("asks for more"), "{text}");

    // A swap to it is refused too, and the approved version keeps serving.
    let registry = Registry::new(runtime().clone());
    let origin: cordon::Origin = server.url().parse().expect("origin");
    let options = ProviderOptions {
        options: Some(json!({ "upstream": server.url() })),
        grants: vec![HostGrant { origin, with_secrets: true }],
        ..ProviderOptions::default()
    };
    registry.load("hostile", "hostile", options).await.expect("v1 loads");
    let greedier = components_dir().join("hostile-asks-more.wasm");
    let refused = registry.reload("hostile", Some(&greedier)).await.expect_err("refused");
    assert!(refused.to_string().contains("collector.example"), "{refused}");
    serves_a_normal_turn(&registry.get("hostile").expect("loaded")).await;
}

// ----- 2. What comes back is scrubbed; the host owns content coding -----

async fn echo_through(reflection: Reflection, mode: &str) -> (Vec<Event>, Result<cordon::TurnResult, TurnError>, Reflector) {
    let reflector = Reflector::start(reflection).await;
    let origin: cordon::Origin = reflector.url().parse().expect("origin");
    let options = ProviderOptions {
        options: Some(json!({ "upstream": reflector.url() })),
        grants: vec![HostGrant { origin, with_secrets: true }],
        secrets: [("api-key".to_owned(), SECRET.to_owned())].into(),
        ..ProviderOptions::default()
    };
    let provider = runtime().load_provider("hostile", options).await.expect("loads");
    let (events, result) = run_turn(&provider, hostile_request(mode, None)).await;
    (events, result, reflector)
}

/// Everything the guest saw: its text and its errors' messages.
fn seen(events: &[Event]) -> String {
    let errors: Vec<&str> = errors_in(events).iter().map(|e| e.message.as_str()).collect();
    format!("{} {}", text_of(events), errors.join(" "))
}

fn assert_no_secret_in(seen: &str) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(SECRET);
    for form in [SECRET, &b64[1..b64.len() - 1]] {
        assert!(!seen.contains(form), "the guest saw `{form}` in: {seen}");
    }
}

#[tokio::test]
async fn a_guest_cannot_ask_for_a_compressed_or_partial_answer() {
    for (mode, header) in [("set-accept-encoding", "accept-encoding"), ("set-range", "range")] {
        let (_, result, reflector) = echo_through(Reflection::Base64, mode).await;
        let error = result.expect_err("refused");
        assert!(error.message.contains(&format!("header `{header}` is the host's to set")), "{mode}: {}", error.message);
        assert!(reflector.requests().is_empty(), "{mode}: nothing was sent");
    }
}

#[tokio::test]
async fn a_compressed_echo_never_reaches_the_guest() {
    let (events, result, reflector) = echo_through(Reflection::Deflate, "echo").await;
    let error = result.expect_err("a compressed body is refused");
    assert!(error.message.contains("content-encoding `deflate`"), "{}", error.message);
    assert_eq!(text_of(&events), "", "not one byte of the body reached the guest");
    let sent = &reflector.requests()[0];
    assert!(sent.contains(&("accept-encoding".to_owned(), "identity".to_owned())), "the host asked for identity: {sent:?}");
}

#[tokio::test]
async fn encoded_and_split_echoes_are_scrubbed() {
    for reflection in [Reflection::Base64, Reflection::Base64Url, Reflection::Percent, Reflection::ByteByByte] {
        let (events, result, reflector) = echo_through(reflection.clone(), "echo").await;
        result.unwrap_or_else(|e| panic!("{reflection:?}: {e}"));
        assert_eq!(reflector.requests().len(), 1, "{reflection:?}: the secret was sent upstream");
        let seen = seen(&events);
        assert!(seen.contains("[REDACTED]"), "{reflection:?}: {seen}");
        assert_no_secret_in(&seen);
    }
}

#[tokio::test]
async fn a_redirect_quoting_the_secret_is_scrubbed_from_the_error() {
    let (events, result, _) = echo_through(Reflection::RedirectTo("http://{secret}.example/steal".into()), "echo").await;
    let error = result.expect_err("the redirect target is not granted");
    assert_eq!(error.kind, ErrorKind::Denied, "{}", error.message);
    assert!(error.message.contains("may not reach http://[REDACTED].example:80"), "{}", error.message);
    assert_no_secret_in(&seen(&events));
}

#[tokio::test]
async fn user_info_in_a_url_is_refused() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let provider = hostile_with(&server, ProviderOptions::default()).await;
    let url = server.url().replace("http://", "http://user:guest-made@");
    let (_, result) = run_turn(&provider, hostile_request("fetch", Some(&format!("{url}/x")))).await;
    let error = result.expect_err("refused");
    assert_eq!(error.kind, ErrorKind::Denied, "{}", error.message);
    assert!(error.message.contains("user name or password"), "{}", error.message);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn names_resolving_to_nat64_6to4_or_reserved_addresses_are_internal() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let port = server.url().rsplit(':').next().unwrap_or_default().to_owned();
    for name in [NAT64_NAME, SIX_TO_FOUR_NAME, RESERVED_NAME, REBOUND_NAME] {
        let upstream = format!("http://{name}:{port}");
        let options = ProviderOptions {
            options: Some(json!({ "upstream": upstream })),
            grants: vec![HostGrant { origin: upstream.parse().expect("origin"), with_secrets: true }],
            secrets: [("api-key".to_owned(), SECRET.to_owned())].into(),
            ..ProviderOptions::default()
        };
        let provider = runtime().load_provider("hostile", options).await.expect("loads");
        let (_, result) = run_turn(&provider, hostile_request("normal", None)).await;
        let error = result.expect_err("refused");
        assert_eq!(error.kind, ErrorKind::Denied, "{name}: {}", error.message);
        assert!(error.message.contains("internal"), "{name}: {}", error.message);
    }
    assert!(server.requests().is_empty());
}

// ----- 3 and 4. Loading and swapping are bounded in time -----

fn quick_load() -> ProviderOptions {
    limits(LimitOverrides { init_ms: Some(300), ..LimitOverrides::default() })
}

#[tokio::test]
async fn sleeping_at_load_hits_the_load_time_limit() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    for (component, init) in [("hostile-sleep-info", None), ("hostile", Some("sleep"))] {
        let origin: cordon::Origin = server.url().parse().expect("origin");
        let mut config = json!({ "upstream": server.url() });
        if let Some(init) = init {
            config["init"] = init.into();
        }
        let options = ProviderOptions {
            options: Some(config),
            grants: vec![HostGrant { origin, with_secrets: true }],
            secrets: [("api-key".to_owned(), SECRET.to_owned())].into(),
            ..quick_load()
        };
        match runtime().load_provider(component, options).await {
            Err(Error::Init { error, .. }) => {
                assert_eq!(error.kind, ErrorKind::Timeout, "{component}: {}", error.message);
                assert!(error.message.contains("limits.init-ms"), "{component}: {}", error.message);
            }
            Err(other) => panic!("{component}: expected a load timeout, got {other}"),
            Ok(_) => panic!("{component}: loaded"),
        }
    }
}

#[tokio::test]
async fn a_version_that_sleeps_cannot_wedge_a_swap() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let origin: cordon::Origin = server.url().parse().expect("origin");
    let options = ProviderOptions {
        options: Some(json!({ "upstream": server.url() })),
        grants: vec![HostGrant { origin, with_secrets: true }],
        ..quick_load()
    };
    let registry = Registry::new(runtime().clone());
    registry.load("hostile", "hostile", options).await.expect("v1 loads");
    let sleeper = components_dir().join("hostile-sleep-info.wasm");
    let refused = registry.reload("hostile", Some(&sleeper)).await.expect_err("the sleeping version is refused");
    assert!(refused.to_string().contains("limits.init-ms") && refused.to_string().contains("keeps serving"), "{refused}");
    assert!(registry.status()[0].last_error.is_some(), "the failure is reported");
    serves_a_normal_turn(&registry.get("hostile").expect("loaded")).await;
    // The lock was released: the next good version is picked up.
    let v2 = components_dir().join("hostile-v2.wasm");
    let swapped = registry.reload("hostile", Some(&v2)).await.expect("the next good version swaps in");
    assert_eq!(swapped.served_by, "hostile@0.2.0");

    // However long a version's own limit, the registry's swap timeout bounds the swap.
    let patient = Registry::new(runtime().clone()).with_swap_timeout(Duration::from_millis(300));
    let origin: cordon::Origin = server.url().parse().expect("origin");
    let options = ProviderOptions {
        options: Some(json!({ "upstream": server.url() })),
        grants: vec![HostGrant { origin, with_secrets: true }],
        ..ProviderOptions::default()
    };
    patient.load("hostile", "hostile", options).await.expect("v1 loads");
    let refused = patient.reload("hostile", Some(&sleeper)).await.expect_err("given up");
    assert!(refused.to_string().contains("swap timeout"), "{refused}");
    serves_a_normal_turn(&patient.get("hostile").expect("loaded")).await;
}

// ----- 5. Guest numbers never overflow in the host -----

#[tokio::test]
async fn usage_numbers_at_their_maximum_saturate_in_the_tool_loop() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let provider = hostile_with(&server, ProviderOptions::default()).await;
    let calculator = runtime().load_tool("calculator", ToolOptions::default()).await.expect("calculator");
    let agent = ToolLoop::new(provider, Toolbox::with([calculator]).expect("toolbox")).max_steps(3);
    let result = agent.complete(hostile_request("huge-usage", None)).await.expect("the loop ends normally");
    assert_eq!(result.steps.len(), 3);
    assert_eq!(result.usage.input_tokens, Some(u64::MAX), "three times u64::MAX saturates");
    assert_eq!(result.usage.reasoning_tokens, Some(u64::MAX));
}

// ----- Results: bounded, and what the events said -----

#[tokio::test]
async fn a_result_past_the_output_limit_is_refused_before_it_is_copied() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let tight = LimitOverrides { output_mib_per_turn: Some(1), request_mib: Some(1), memory_mib: Some(64), ..LimitOverrides::default() };
    let provider = hostile_with(&server, limits(tight)).await;
    let (events, result) = run_turn(&provider, hostile_request("huge-result", None)).await;
    let error = result.expect_err("sixteen MiB of result past a one-MiB limit");
    assert_eq!(error.kind, ErrorKind::LimitExceeded, "{}", error.message);
    assert!(error.message.contains("in one call"), "{}", error.message);
    assert_eq!(errors_in(&events), vec![&error]);
    serves_a_normal_turn(&provider).await;
}

#[tokio::test]
async fn the_result_is_the_fold_of_the_events() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let provider = hostile_with(&server, ProviderOptions::default()).await;
    let (events, result) = run_turn(&provider, hostile_request("lying-result", None)).await;
    let result = result.expect("the turn completes");
    assert_eq!(result.text(), text_of(&events), "content never streamed is not in the result");
    assert!(!result.text().contains("never streamed"));
}

#[tokio::test]
async fn a_spliced_anthropic_stream_stops_at_the_second_message() {
    let fixture = crate::support::own_fixture("anthropic/spliced.jsonl");
    let chunks = frame(&fixture, Framing::AnthropicSse).expect("frames");
    for provider in ["anthropic", "anthropic-js"] {
        let (_server, loaded) = crate::support::provider_against(provider, vec![Reply::stream(chunks.clone())]).await;
        let (events, result) = run_turn(&loaded, Request::user("m", "hi")).await;
        let error = result.expect_err("a spliced stream is an error");
        assert_eq!(error.kind, ErrorKind::StreamProtocol, "{provider}: {}", error.message);
        assert!(error.message.contains("spliced") && error.message.contains("msg_first"), "{provider}: {}", error.message);
        assert!(error.output_streamed, "{provider}: the first message's output had been streamed");
        let reasoning: String = events
            .iter()
            .filter_map(|e| if let Event::ReasoningDelta { text, .. } = e { Some(text.as_str()) } else { None })
            .collect();
        assert_eq!(reasoning, "First message thinking.", "{provider}: nothing of the second message");
    }
}

// ----- The event grammar -----

#[tokio::test]
async fn each_grammar_breach_ends_the_turn_naming_its_rule() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let provider = hostile_with(&server, ProviderOptions::default()).await;
    for (mode, rule) in [
        ("after-finish", "after `finish`"),
        ("after-error", "after an `error`"),
        ("no-finish", "without a `finish`"),
        ("duplicate-start", "started twice"),
        ("delta-after-complete", "already complete"),
        ("orphan-tool-delta", "never started"),
        ("renamed-call", "completed as `g`"),
        ("open-call-at-finish", "still open"),
        ("empty-batches", "empty batch"),
    ] {
        let (events, result) = run_turn(&provider, hostile_request(mode, None)).await;
        let error = result.expect_err(mode);
        assert_eq!(error.kind, ErrorKind::ContractViolation, "{mode}: {}", error.message);
        assert!(error.message.contains(rule), "{mode}: expected `{rule}` in {}", error.message);
        assert_eq!(errors_in(&events).last(), Some(&&error), "{mode}: the violation is the stream's last event");
        assert!(!text_of(&events).contains("late"), "{mode}: nothing past the breach reached the caller");
    }
    serves_a_normal_turn(&provider).await;
}

// ----- CPU per turn, the host's work included -----

#[tokio::test]
async fn cpu_adds_up_over_a_turn_and_counts_the_hosts_work() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let budget = LimitOverrides { turn_cpu_ms: Some(1000), ..LimitOverrides::default() };
    let provider = hostile_with(&server, limits(budget)).await;
    for mode in ["cpu-per-call", "host-work"] {
        let (events, result) = run_turn(&provider, hostile_request(mode, None)).await;
        let error = result.expect_err(mode);
        assert_eq!(error.kind, ErrorKind::LimitExceeded, "{mode}: {}", error.message);
        assert!(error.message.contains("limits.turn-cpu-ms"), "{mode}: {}", error.message);
        assert!(text_of(&events).len() > 1, "{mode}: several calls ran before the budget was spent");
    }
    serves_a_normal_turn(&provider).await;
}

// ----- Tool calls: capped per step, in all, and in flight -----

fn storm(calls: usize, tool: &str, arguments: &str) -> Request {
    let mut request = Request::user("m", "hi");
    request.provider_options =
        Some(json!({ "hostile": { "mode": "tool-storm", "calls": calls, "tool": tool, "arguments": arguments } }));
    request
}

#[tokio::test]
async fn a_storm_of_tool_calls_ends_the_loop_before_any_runs() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let provider = hostile_with(&server, ProviderOptions::default()).await;
    let calculator = runtime().load_tool("calculator", ToolOptions::default()).await.expect("calculator");
    let agent = ToolLoop::new(provider, Toolbox::with([calculator]).expect("toolbox"));
    let mut run = agent.run(storm(2_000, "calculator__evaluate", "{\"expression\": \"1+1\"}"));
    let mut tool_results = 0;
    while let Some(event) = run.next().await {
        if matches!(event.event, LoopEvent::ToolResult(_)) {
            tool_results += 1;
        }
    }
    let err = run.into_result().await.expect_err("the loop ends with an error");
    assert!(err.to_string().contains("2000 tool calls") && err.to_string().contains("max_calls_per_step"), "{err}");
    assert_eq!(tool_results, 0, "none of the calls ran");
}

#[tokio::test]
async fn tool_calls_in_all_and_at_once_are_capped() {
    let server = ReplayServer::start(vec![three_events()]).await.expect("server");
    let provider = hostile_with(&server, ProviderOptions::default()).await;
    let tool = runtime().load_tool("hostile-tool", ToolOptions::default()).await.expect("hostile tool");
    let toolbox = Toolbox::with([tool]).expect("toolbox");

    // One at a time: three calls of 300 ms take at least 900 ms.
    let agent = ToolLoop::new(provider.clone(), toolbox.clone()).max_steps(1).max_concurrent_calls(1);
    let started = Instant::now();
    let result = agent.complete(storm(3, "hostile-tool__sleep", "{\"ms\": 300}")).await.expect("the step runs");
    assert!(started.elapsed() >= Duration::from_millis(900), "the calls ran one at a time: {:?}", started.elapsed());
    assert_eq!(result.messages.len(), 2, "the assistant's calls and their three results");

    // Three calls a step, four in all: the second step is refused.
    let agent = ToolLoop::new(provider, toolbox.clone()).max_steps(3).max_calls(4);
    let err = agent.complete(storm(3, "hostile-tool__echo", "{\"text\": \"x\"}")).await.expect_err("refused");
    assert!(err.to_string().contains("6 tool calls in 2 steps") && err.to_string().contains("max_calls"), "{err}");
}
