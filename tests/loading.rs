//! Loading refuses bad components and manifests with errors that name the file
//! and the fix; good components are compiled once into the on-disk cache.

use std::path::Path;

use cordon::{Error, Runtime, RuntimeConfig};

use crate::support::{components_dir, runtime};

const MANIFEST: &str = "name = \"broken\"\nversion = \"0.1.0\"\ncontract = \"cordon:provider@0.1.0\"\n";

fn write_component(dir: &Path, bytes: &[u8], manifest: Option<&str>) -> String {
    let wasm = dir.join("broken.wasm");
    std::fs::write(&wasm, bytes).expect("write wasm");
    if let Some(manifest) = manifest {
        std::fs::write(dir.join("broken.toml"), manifest).expect("write manifest");
    }
    wasm.to_string_lossy().into_owned()
}

async fn load_error(bytes: &[u8], manifest: Option<&str>) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_component(dir.path(), bytes, manifest);
    let err = runtime().load_provider(&path, Default::default()).await.err().expect("load fails");
    let message = err.to_string();
    assert!(message.contains("broken"), "the error names the file: {message}");
    message
}

#[tokio::test]
async fn a_file_that_is_not_wasm_is_refused() {
    let message = load_error(b"#!/bin/sh\necho hi\n", Some(MANIFEST)).await;
    assert!(message.contains("not a WebAssembly file"), "{message}");
}

#[tokio::test]
async fn a_core_module_is_refused() {
    let message = load_error(b"\0asm\x01\0\0\0", Some(MANIFEST)).await;
    assert!(message.contains("core WebAssembly module"), "{message}");
}

#[tokio::test]
async fn a_component_without_a_manifest_is_refused() {
    let openai = std::fs::read(components_dir().join("openai.wasm")).expect("built component");
    let message = load_error(&openai, None).await;
    assert!(message.contains("manifest") && message.contains("broken.toml"), "{message}");
}

#[tokio::test]
async fn a_manifest_for_another_contract_is_refused() {
    let openai = std::fs::read(components_dir().join("openai.wasm")).expect("built component");
    let message = load_error(&openai, Some(&MANIFEST.replace("@0.1.0", "@0.9.0"))).await;
    assert!(message.contains("cordon:provider@0.9.0") && message.contains("not served"), "{message}");
}

#[tokio::test]
async fn a_truncated_component_is_refused() {
    let openai = std::fs::read(components_dir().join("openai.wasm")).expect("built component");
    let message = load_error(&openai[..openai.len() / 2], Some(MANIFEST)).await;
    assert!(message.contains("does not compile"), "{message}");
}

#[tokio::test]
async fn an_unknown_provider_name_says_how_to_build_it() {
    let err = runtime().load_provider("no-such-provider", Default::default()).await.err().expect("fails");
    assert!(matches!(err, Error::NotFound { .. }));
    assert!(err.to_string().contains("cargo xtask build"), "{err}");
}

#[tokio::test]
async fn compiled_components_are_cached_on_disk() {
    let cache = tempfile::tempdir().expect("temp dir");
    let config = RuntimeConfig { cache_dir: Some(cache.path().to_owned()), ..RuntimeConfig::new(components_dir()) };
    let first = Runtime::new(config.clone()).expect("runtime");
    first.inspect("openai").await.expect("loads");
    let entries: Vec<_> = std::fs::read_dir(cache.path()).expect("cache dir").flatten().map(|e| e.path()).collect();
    assert_eq!(entries.len(), 1, "one compiled entry: {entries:?}");
    assert_eq!(entries[0].extension().and_then(|e| e.to_str()), Some("cwasm"));
    let written = std::fs::metadata(&entries[0]).expect("metadata");

    let second = Runtime::new(config).expect("runtime");
    let loaded = second.inspect("openai").await.expect("loads from the cache");
    assert!(loaded.exports.iter().any(|e| e.starts_with("cordon:provider/provider@0.2")));
    let again = std::fs::metadata(&entries[0]).expect("metadata");
    // A rewrite renames a new file into place; a read only marks the entry used.
    use std::os::unix::fs::MetadataExt as _;
    assert_eq!(written.ino(), again.ino(), "the cached entry was read, not rewritten");
    assert!(again.modified().expect("mtime") >= written.modified().expect("mtime"), "a read marks the entry as used");
}
