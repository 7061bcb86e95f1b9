//! Hot-swap: a provider is replaced while turns keep flowing; every turn is
//! served by exactly one version; bad files never replace a good version;
//! rollback returns; old versions are freed; state survives; a watched folder
//! swaps on rename.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cordon::replay::{Reply, ReplayServer};
use cordon::{Error, Event, HostGrant, ProviderOptions, Registry};
use serde_json::json;

use crate::support::{components_dir, hostile_request, runtime, text_of};

const V1: &str = "hostile@0.1.0";
const V2: &str = "hostile@0.2.0";

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

async fn upstream(events: usize, delay_ms: u64) -> ReplayServer {
    let mut reply = Reply::stream((0..events).map(|i| format!("data: e{i}\n\n").into()).collect());
    reply.chunk_delay = Duration::from_millis(delay_ms);
    ReplayServer::start(vec![reply]).await.expect("server")
}

/// One `tagged` turn: (served_by from stream-start, the tags in its text, the result's served_by).
async fn tagged_turn(registry: &Registry) -> (String, Vec<String>, String) {
    let mut turn = registry.stream("hostile", hostile_request("tagged", None)).expect("loaded");
    let mut events = Vec::new();
    while let Some(event) = turn.next().await {
        events.push(event);
    }
    let result = turn.into_result().await.expect("the turn succeeds");
    let started_by = match events.first() {
        Some(Event::StreamStart { served_by, .. }) => served_by.clone(),
        other => panic!("expected stream-start first, got {other:?}"),
    };
    let tags = text_of(&events).split_whitespace().map(|t| t.split(':').next().unwrap_or("").to_owned()).collect();
    (started_by, tags, result.served_by)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_turns_through_a_hundred_swaps() {
    let server = upstream(8, 3).await;
    let registry = Arc::new(Registry::new(runtime().clone()));
    registry.load("hostile", &component("hostile").to_string_lossy(), options(&server)).await.expect("v1 loads");

    let swapper = {
        let registry = Arc::clone(&registry);
        tokio::spawn(async move {
            for i in 0..100 {
                let next = if i % 2 == 0 { "hostile-v2" } else { "hostile" };
                registry.reload("hostile", Some(&component(next))).await.expect("a valid swap");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let turns: Vec<_> = (0..200u64)
        .map(|i| {
            let registry = Arc::clone(&registry);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(i * 2)).await;
                tagged_turn(&registry).await
            })
        })
        .collect();
    swapper.await.expect("swapper");
    let mut served = std::collections::HashMap::<String, usize>::new();
    for turn in turns {
        let (started_by, tags, result_by) = turn.await.expect("no turn failed");
        assert_eq!(started_by, result_by, "one version from start to result");
        assert_eq!(tags.len(), 8, "every event arrived");
        let tag = if started_by == V1 { "v1" } else { "v2" };
        assert!(tags.iter().all(|t| t == tag), "{started_by} served events tagged {tags:?}");
        *served.entry(started_by).or_default() += 1;
    }
    assert_eq!(served.values().sum::<usize>(), 200);
    assert!(served.len() == 2, "both versions served turns: {served:?}");
}

fn scratch_copy(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let wasm = dir.join(format!("{name}.wasm"));
    std::fs::write(&wasm, bytes).expect("write");
    std::fs::copy(components_dir().join("hostile.toml"), dir.join(format!("{name}.toml"))).expect("manifest");
    wasm
}

#[tokio::test]
async fn bad_files_never_replace_a_good_version() {
    let server = upstream(2, 0).await;
    let registry = Registry::new(runtime().clone());
    registry.load("hostile", &component("hostile").to_string_lossy(), options(&server)).await.expect("v1 loads");
    let dir = tempfile::tempdir().expect("temp dir");
    let v2 = std::fs::read(component("hostile-v2")).expect("v2 built");
    let newer = std::fs::read(component("hostile-newer-contract")).expect("built");
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("broken", b"this is not a component".to_vec(), "not a WebAssembly file"),
        ("half-written", v2[..v2.len() / 3].to_vec(), "does not compile"),
        ("newer-contract", newer, "cordon:provider/provider@0.3.0"),
    ];
    for (name, bytes, cause) in cases {
        let file = scratch_copy(dir.path(), name, &bytes);
        let err = registry.reload("hostile", Some(&file)).await.expect_err("refused");
        assert!(matches!(err, Error::Reload { .. }), "{err}");
        let message = err.to_string();
        assert!(message.contains(&file.display().to_string()), "names the file: {message}");
        assert!(message.contains(cause), "names the cause `{cause}`: {message}");
        assert!(message.contains(&format!("`{V1}` keeps serving")), "{message}");
        assert_eq!(registry.status()[0].last_error.as_deref(), Some(message.as_str()));
        let (started_by, _, _) = tagged_turn(&registry).await;
        assert_eq!(started_by, V1, "after the {name} file, the old version still serves");
    }
}

#[tokio::test]
async fn rollback_returns_to_the_previous_version() {
    let server = upstream(2, 0).await;
    let registry = Registry::new(runtime().clone());
    registry.load("hostile", &component("hostile").to_string_lossy(), options(&server)).await.expect("v1 loads");
    assert!(registry.rollback("hostile").is_err(), "nothing to roll back to yet");
    registry.reload("hostile", Some(&component("hostile-v2"))).await.expect("v2");
    assert_eq!(tagged_turn(&registry).await.0, V2);
    let back = registry.rollback("hostile").expect("rollback");
    assert_eq!(back.served_by, V1);
    assert_eq!(tagged_turn(&registry).await.0, V1);
    let status = &registry.status()[0];
    assert_eq!(status.current.served_by, V1);
    assert_eq!(status.previous.as_ref().map(|p| p.served_by.as_str()), Some(V2));
}

#[tokio::test]
async fn state_is_handed_to_the_new_version() {
    // Only v1's `init` learns the upstream's address; v2 never runs `init`.
    let server = upstream(3, 0).await;
    let registry = Registry::new(runtime().clone());
    registry.load("hostile", &component("hostile").to_string_lossy(), options(&server)).await.expect("v1 loads");
    registry.reload("hostile", Some(&component("hostile-v2"))).await.expect("v2");
    let (started_by, tags, _) = tagged_turn(&registry).await;
    assert_eq!(started_by, V2);
    assert_eq!(tags, ["v2", "v2", "v2"], "v2 reached the upstream with v1's state");
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()).unwrap_or(0) * 4096
}

#[tokio::test]
async fn old_versions_are_freed_across_a_thousand_swaps() {
    let server = upstream(1, 0).await;
    let registry = Registry::new(runtime().clone());
    registry.load("hostile", &component("hostile").to_string_lossy(), options(&server)).await.expect("v1 loads");
    let files = [component("hostile-v2"), component("hostile")];
    for file in files.iter().cycle().take(50) {
        registry.reload("hostile", Some(file)).await.expect("swap");
    }
    let before = resident_bytes();
    let mut replaced = Vec::new();
    for file in files.iter().cycle().take(1000) {
        replaced.push(registry.get("hostile").expect("loaded").downgrade());
        registry.reload("hostile", Some(file)).await.expect("swap");
    }
    tagged_turn(&registry).await;
    let alive = replaced.iter().filter(|weak| weak.strong_count() > 0).count();
    assert_eq!(alive, 1, "only the previous version (kept for rollback) is still alive");
    let grown = resident_bytes().saturating_sub(before);
    assert!(grown < 128 * 1024 * 1024, "resident memory grew by {} MiB over 1000 swaps", grown >> 20);
}

#[tokio::test]
async fn a_watched_folder_swaps_on_rename() {
    let server = upstream(2, 0).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let live = dir.path().join("hostile.wasm");
    std::fs::copy(component("hostile"), &live).expect("copy");
    std::fs::copy(components_dir().join("hostile.toml"), dir.path().join("hostile.toml")).expect("copy");
    let registry = Arc::new(Registry::new(runtime().clone()));
    registry.load("hostile", &live.to_string_lossy(), options(&server)).await.expect("v1 loads");
    let _watch = cordon::watch::watch(Arc::clone(&registry), dir.path(), cordon::watch::DEFAULT_QUIET).expect("watch");

    // The documented way: write beside, then rename over (manifest, then component).
    let install = |name: &str| {
        for ext in ["toml", "wasm"] {
            let staged = dir.path().join(format!(".staged.{ext}"));
            std::fs::copy(components_dir().join(format!("{name}.{ext}")), &staged).expect("stage");
            std::fs::rename(&staged, dir.path().join(format!("hostile.{ext}"))).expect("rename");
        }
    };
    install("hostile-v2");
    assert!(serves_within(&registry, V2, "v2").await, "the watcher swapped to v2");

    // A half-written file in place is refused; v2 keeps serving.
    let v1 = std::fs::read(component("hostile")).expect("v1");
    std::fs::write(&live, &v1[..v1.len() / 2]).expect("partial write");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(tagged_turn(&registry).await.0, V2);
    assert!(registry.status()[0].last_error.as_deref().unwrap_or("").contains("does not compile"));

    install("hostile");
    assert!(serves_within(&registry, V1, "v1").await, "the watcher swapped back to v1");
}

/// Whether turns come from `served_by` with `tag`ged output within 10 s.
async fn serves_within(registry: &Registry, served_by: &str, tag: &str) -> bool {
    for _ in 0..200 {
        let (started_by, tags, _) = tagged_turn(registry).await;
        if started_by == served_by && tags.iter().all(|t| t == tag) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
