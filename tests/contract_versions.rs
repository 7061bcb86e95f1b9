//! Contract versions side by side: a provider built against the old contract
//! (`cordon:provider@0.1.0`, the hostile guest's `contract-0-1` build from
//! `wit/0.1.0/`) and one built against the current one (0.2.0) serve turns in
//! the same host; a 0.1.0 provider swaps with a 0.2.0 one and rolls back; asking
//! a 0.1.0 provider for models or health is a clear "not supported" error; a
//! manifest that names another version than the component's is refused.

use std::path::PathBuf;

use cordon::contract::ContractVersion;
use cordon::models::HealthStatus;
use cordon::replay::{Reply, ReplayServer};
use cordon::{Error, HostGrant, ProviderOptions, Registry};
use serde_json::json;

use crate::support::{components_dir, hostile_request, runtime, text_of};

fn component(name: &str) -> PathBuf {
    components_dir().join(format!("{name}.wasm"))
}

fn options(server: &ReplayServer) -> ProviderOptions {
    ProviderOptions {
        options: Some(json!({ "upstream": server.url() })),
        grants: vec![HostGrant { origin: server.url().parse().expect("origin"), with_secrets: true }],
        ..ProviderOptions::default()
    }
}

/// An upstream answering every request with a three-event stream.
async fn upstream() -> ReplayServer {
    let reply = Reply::stream((0..3).map(|i| format!("data: e{i}\n\n").into()).collect());
    ReplayServer::start(vec![reply]).await.expect("server")
}

/// One `tagged` turn of the provider loaded as `name`: its text.
async fn turn_text(registry: &Registry, name: &str) -> String {
    let mut turn = registry.stream(name, hostile_request("tagged", None)).expect("loaded");
    let mut events = Vec::new();
    while let Some(event) = turn.next().await {
        events.push(event);
    }
    turn.into_result().await.expect("the turn succeeds");
    text_of(&events)
}

fn assert_not_supported(err: Error, call: &str) {
    let message = err.to_string();
    assert!(matches!(err, Error::NotSupported { .. }), "{message}");
    assert!(message.contains(&format!("`{call}`")), "{message}");
    assert!(message.contains("not supported by this component's contract version (0.1.0)"), "{message}");
}

#[tokio::test]
async fn a_0_1_and_a_0_2_component_serve_turns_in_one_host() {
    let server = upstream().await;
    let registry = Registry::new(runtime().clone());
    registry.load("old", &component("hostile-v0-1").to_string_lossy(), options(&server)).await.expect("0.1.0 loads");
    registry.load("new", &component("hostile").to_string_lossy(), options(&server)).await.expect("0.2.0 loads");
    let (old, new) = (registry.get("old").expect("old"), registry.get("new").expect("new"));
    assert_eq!(old.contract(), ContractVersion::V0_1);
    assert_eq!(new.contract(), ContractVersion::V0_2);

    // Turns on both, at once.
    let (old_text, new_text) = tokio::join!(turn_text(&registry, "old"), turn_text(&registry, "new"));
    for text in [&old_text, &new_text] {
        assert_eq!(text.split_whitespace().count(), 3, "every upstream event arrived: {text}");
    }

    // What 0.2.0 added: a clear refusal from the 0.1.0 component, never a trap,
    // and the 0.2.0 component's own answers (the hostile guest has no models
    // endpoint and no probe).
    assert_not_supported(old.list_models().await.expect_err("0.1.0 has no list-models"), "list-models");
    assert_not_supported(old.health().await.expect_err("0.1.0 has no health"), "health");
    let listed = new.list_models().await.expect_err("the hostile guest lists no models");
    assert!(listed.to_string().contains("cannot list models"), "{listed}");
    let health = new.health().await.expect("0.2.0 answers health");
    assert_eq!(health.status, HealthStatus::Down);
    assert!(health.reason.as_deref().is_some_and(|reason| reason.contains("no health probe")), "{health:?}");
    assert_eq!(turn_text(&registry, "old").await.split_whitespace().count(), 3, "the refusal left it serving");

    // 0.1.0 -> 0.2.0 -> rollback to 0.1.0, turns served by each.
    registry.reload("old", Some(&component("hostile-v2"))).await.expect("swap to 0.2.0");
    assert_eq!(registry.get("old").expect("old").contract(), ContractVersion::V0_2);
    assert!(turn_text(&registry, "old").await.contains("v2:"), "served by version two");
    registry.rollback("old").expect("rollback");
    let back = registry.get("old").expect("old");
    assert_eq!(back.contract(), ContractVersion::V0_1);
    assert!(turn_text(&registry, "old").await.contains("v1:"), "served by the 0.1.0 build again");
    assert_not_supported(back.list_models().await.expect_err("0.1.0 again"), "list-models");

    // 0.2.0 -> 0.1.0 is a swap like any other.
    registry.reload("new", Some(&component("hostile-v0-1"))).await.expect("swap to 0.1.0");
    assert_eq!(registry.get("new").expect("new").contract(), ContractVersion::V0_1);
    assert_eq!(turn_text(&registry, "new").await.split_whitespace().count(), 3);
}

#[tokio::test]
async fn inspect_names_the_contract_version() {
    let old = runtime().inspect("hostile-v0-1").await.expect("0.1.0 loads");
    assert_eq!(old.contract, ContractVersion::V0_1);
    assert!(old.exports.iter().any(|name| name == "cordon:provider/provider@0.1.0"), "{:?}", old.exports);
    let new = runtime().inspect("hostile").await.expect("0.2.0 loads");
    assert_eq!(new.contract, ContractVersion::V0_2);
    assert!(new.imports.iter().any(|name| name == "cordon:provider/http@0.2.0"), "{:?}", new.imports);
}

#[tokio::test]
async fn a_manifest_naming_another_contract_than_the_component_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let wasm = dir.path().join("mislabelled.wasm");
    std::fs::copy(component("hostile-v0-1"), &wasm).expect("copy");
    // hostile.toml names 0.2.0; the component is built against 0.1.0.
    std::fs::copy(components_dir().join("hostile.toml"), dir.path().join("mislabelled.toml")).expect("manifest");
    let err = runtime().inspect(&wasm.to_string_lossy()).await.err().expect("refused");
    let message = err.to_string();
    assert!(matches!(err, Error::Manifest { .. }), "{message}");
    assert!(message.contains("does not match the component"), "{message}");
    assert!(message.contains("contract = \"cordon:provider@0.1.0\""), "names the fix: {message}");
}
