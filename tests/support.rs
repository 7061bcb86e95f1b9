//! Shared set-up: where the built components and fixtures are, one runtime for
//! all tests, and a provider pointed at a local replay upstream.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cordon::replay::{Reply, ReplayServer};
use cordon::{Event, HostGrant, Origin, Provider, ProviderOptions, Request, Runtime, RuntimeConfig, TrustStore, TurnError, TurnResult};
use serde_json::json;

/// A public-looking host name the tests' DNS points at 127.0.0.1.
pub const REBOUND_NAME: &str = "api.public-looking.test";
/// One the tests' DNS points at 127.0.0.1 in NAT64 form (`64:ff9b::7f00:1`).
pub const NAT64_NAME: &str = "nat64.public-looking.test";
/// One the tests' DNS points at 127.0.0.1 in 6to4 form (`2002:7f00:1::1`).
pub const SIX_TO_FOUR_NAME: &str = "6to4.public-looking.test";
/// One the tests' DNS points at a reserved address (`240.0.0.1`).
pub const RESERVED_NAME: &str = "reserved.public-looking.test";

/// The secret value the tests hand the hostile guest's manifest entry.
pub const SECRET: &str = "sk-cordon-test-5ecret-value";

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("runtime/ has a parent").to_owned()
}

/// `dist/components`, where `cargo xtask build` puts the guests.
pub fn components_dir() -> PathBuf {
    let dir = std::env::var_os("CORDON_COMPONENTS").map(PathBuf::from).unwrap_or_else(|| root().join("dist/components"));
    assert!(
        dir.join("openai.wasm").exists() && dir.join("hostile.wasm").exists(),
        "the guest components are not built in {}: run `cargo xtask test` (or `cargo xtask build` first)",
        dir.display()
    );
    dir
}

/// The recorded provider streams in `../shared/fixtures`, if that folder exists.
pub fn shared_fixtures() -> Option<PathBuf> {
    let dir = root().join("../shared/fixtures");
    if dir.is_dir() {
        Some(dir)
    } else {
        // Written past the test harness's capture, so the skip shows in every log.
        let note = format!("skipping: {} is absent (the recorded fixtures live outside the repository)\n", dir.display());
        let _ = std::io::Write::write_all(&mut std::io::stderr(), note.as_bytes());
        None
    }
}

/// The project's own hand-written fixtures.
pub fn own_fixture(name: &str) -> String {
    let path = root().join("tests/fixtures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

/// `tests/trust.toml`: the operator's approvals of the project's own components.
pub fn trust_file() -> PathBuf {
    root().join("tests/trust.toml")
}

/// One runtime (engine, pool, cache) shared by every test, with the
/// approvals of `tests/trust.toml`.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let mut config = RuntimeConfig::new(components_dir());
        let answers: [(&str, &str); 4] =
            [(REBOUND_NAME, "127.0.0.1"), (NAT64_NAME, "64:ff9b::7f00:1"), (SIX_TO_FOUR_NAME, "2002:7f00:1::1"), (RESERVED_NAME, "240.0.0.1")];
        for (name, address) in answers {
            config.dns_overrides.insert(name.to_owned(), vec![address.parse().expect("an address")]);
        }
        config.trust = TrustStore::load(&trust_file()).expect("tests/trust.toml is valid");
        Runtime::new(config).expect("the runtime starts")
    })
}

/// A local upstream answering with `replies`, and `provider` loaded against it.
pub async fn provider_against(provider: &str, replies: Vec<Reply>) -> (ReplayServer, Provider) {
    let server = ReplayServer::start(replies).await.expect("replay server starts");
    let options = ProviderOptions { base_url: Some(server.url()), ..ProviderOptions::default() };
    let provider = runtime().load_provider(provider, options).await.expect("provider loads");
    (server, provider)
}

/// Run a turn to its end: all events, then the result.
pub async fn run_turn(provider: &Provider, request: cordon::Request) -> (Vec<Event>, Result<TurnResult, TurnError>) {
    let mut turn = provider.stream(request);
    let mut events = Vec::new();
    while let Some(event) = turn.next().await {
        events.push(event);
    }
    let result = turn.into_result().await.map_err(|err| match err {
        cordon::Error::Turn(error) => error,
        other => panic!("expected a turn error, got {other}"),
    });
    (events, result)
}

/// The error events of a turn.
pub fn errors_in(events: &[Event]) -> Vec<&TurnError> {
    events.iter().filter_map(|e| if let Event::Error(err) = e { Some(err) } else { None }).collect()
}

/// All text deltas of a turn, concatenated.
pub fn text_of(events: &[Event]) -> String {
    events.iter().filter_map(|e| if let Event::TextDelta { text } = e { Some(text.as_str()) } else { None }).collect()
}

/// The hostile guest, loaded with `component` (a variant name or `hostile`),
/// its upstream and secret granted as the options say.
pub async fn load_hostile(component: &str, server: &ReplayServer, with_secrets: bool, extra: serde_json::Value) -> cordon::Result<Provider> {
    let origin: Origin = server.url().parse().expect("origin");
    let mut config = json!({ "upstream": server.url() });
    if let (Some(config), Some(extra)) = (config.as_object_mut(), extra.as_object()) {
        config.extend(extra.clone());
    }
    let options = ProviderOptions {
        options: Some(config),
        grants: vec![HostGrant { origin, with_secrets }],
        secrets: [("api-key".to_owned(), SECRET.to_owned())].into(),
        ..ProviderOptions::default()
    };
    runtime().load_provider(component, options).await
}

/// A request asking the hostile guest for `mode` (and `url`, for `fetch`).
pub fn hostile_request(mode: &str, url: Option<&str>) -> Request {
    let mut request = Request::user("m", "hi");
    request.provider_options = Some(json!({ "hostile": { "mode": mode, "url": url } }));
    request
}

/// The events with the one field that must differ (`served_by`) blanked.
pub fn normalized(events: &[Event]) -> Vec<Event> {
    events
        .iter()
        .cloned()
        .map(|event| match event {
            Event::StreamStart { warnings, .. } => Event::StreamStart { warnings, served_by: String::new() },
            other => other,
        })
        .collect()
}

/// A turn's result with `served_by` blanked, to compare two providers.
pub fn normalized_result(result: &Result<TurnResult, TurnError>) -> Result<TurnResult, TurnError> {
    result.clone().map(|mut ok| {
        ok.served_by.clear();
        ok
    })
}
