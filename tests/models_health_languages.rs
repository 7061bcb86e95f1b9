//! `list-models` and `health` (contract 0.2.0) of the providers written in
//! Python (`openai-py`, componentize-py) and JavaScript (`anthropic-js`, jco),
//! through the real host against local servers answering in the provider's
//! real models-endpoint shape: the request each makes (method, path, query,
//! headers, the key the host adds), the models it reads (Anthropic's pages
//! included), and health mapped from the answer as the Rust SDK maps it
//! (429, overload and 5xx degraded; a refused key or an unreachable upstream down).

use cordon::models::HealthStatus;
use cordon::replay::{Reply, ReplayServer};
use cordon::{Error, ErrorKind, HostGrant, Provider, ProviderOptions};
use serde_json::{Value, json};

use crate::support::runtime;

const KEY: &str = "sk-models-languages";

fn answer(body: Value) -> Reply {
    Reply::error(200, &body.to_string())
}

/// `provider` loaded with `options` against a server answering `replies` in
/// turn, the test key bound to its `api-key` secret.
async fn against(provider: &str, options: Option<Value>, replies: Vec<Reply>) -> (ReplayServer, Provider) {
    crate::support::keyed_provider_against(provider, options, replies, KEY).await
}

fn ids(models: &[cordon::models::ModelInfo]) -> Vec<&str> {
    models.iter().map(|model| model.id.as_str()).collect()
}

#[tokio::test]
async fn openai_py_reads_the_models_list_and_probes_health() {
    let list = json!({"object": "list", "data": [
        {"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"},
        {"id": "llama-3.3-70b-versatile", "object": "model", "owned_by": "Meta", "context_window": 131072},
        {"id": "meta-llama/llama-3.1-8b", "name": "Llama 3.1 8B", "context_length": 32768}]});
    let limited = Reply::error(429, r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#);
    let busy = Reply::error(503, r#"{"error":{"message":"The server is overloaded","type":"server_error"}}"#);
    let refused = Reply::error(401, r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#);
    let replies = vec![answer(list.clone()), answer(list), limited, busy, refused.clone(), refused, answer(json!({"models": []}))];
    // A preset's extra header goes with the models request too, as with a turn.
    let options = json!({"headers": {"HTTP-Referer": "https://cordon.example"}});
    let (server, provider) = against("openai-py", Some(options), replies).await;

    let models = provider.list_models().await.expect("lists");
    assert_eq!(ids(&models), ["gpt-4o-mini", "llama-3.3-70b-versatile", "meta-llama/llama-3.1-8b"]);
    let windows: Vec<Option<u32>> = models.iter().map(|model| model.context_window).collect();
    assert_eq!(windows, [None, Some(131072), Some(32768)], "what compatible servers add is read");
    assert_eq!(models[2].display_name.as_deref(), Some("Llama 3.1 8B"));

    let health = provider.health().await.expect("health");
    assert_eq!((health.status, health.reason), (HealthStatus::Ok, None));
    for (status, code) in [(HealthStatus::Degraded, "429"), (HealthStatus::Degraded, "503"), (HealthStatus::Down, "401")] {
        let health = provider.health().await.expect("health answers");
        assert_eq!(health.status, status, "{code}: {health:?}");
        assert!(health.reason.as_deref().is_some_and(|r| r.contains(code)), "{code}: {health:?}");
    }
    let err = provider.list_models().await.expect_err("refused");
    assert!(matches!(&err, Error::Turn(e) if e.kind == ErrorKind::Auth), "{err}");
    let err = provider.list_models().await.expect_err("not OpenAI's shape");
    assert!(matches!(&err, Error::Turn(e) if e.kind == ErrorKind::StreamProtocol && e.message.contains("models answer")), "{err}");

    let requests = server.requests();
    assert_eq!(requests.len(), 7, "one request each");
    for request in &requests {
        assert_eq!((request.method.as_str(), request.path.as_str()), ("GET", "/models"));
        assert_eq!(request.header("authorization"), Some(format!("Bearer {KEY}").as_str()), "the host's key");
        assert_eq!(request.header("http-referer"), Some("https://cordon.example"), "the preset's header");
    }
}

#[tokio::test]
async fn anthropic_js_follows_pages_and_probes_health() {
    let first = json!({"data": [{"type": "model", "id": "claude-sonnet-4-5-20250929", "display_name": "Claude Sonnet 4.5", "created_at": "2025-09-29T00:00:00Z"}],
        "has_more": true, "first_id": "claude-sonnet-4-5-20250929", "last_id": "claude-sonnet-4-5-20250929"});
    let second = json!({"data": [{"type": "model", "id": "claude-haiku-4-5-20251001", "display_name": "Claude Haiku 4.5", "created_at": "2025-10-01T00:00:00Z"}],
        "has_more": false, "first_id": "claude-haiku-4-5-20251001", "last_id": "claude-haiku-4-5-20251001"});
    let overloaded = Reply::error(529, r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#);
    let refused = Reply::error(401, r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#);
    let replies = vec![answer(first.clone()), answer(second), answer(first), overloaded, refused.clone(), refused];
    let (server, provider) = against("anthropic-js", None, replies).await;

    let models = provider.list_models().await.expect("lists");
    assert_eq!(ids(&models), ["claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"]);
    assert_eq!(models[1].display_name.as_deref(), Some("Claude Haiku 4.5"));
    assert_eq!(models[0].context_window, None, "Anthropic does not say: unknown");

    let health = provider.health().await.expect("health");
    assert_eq!((health.status, health.reason), (HealthStatus::Ok, None));
    let health = provider.health().await.expect("health answers");
    assert_eq!(health.status, HealthStatus::Degraded, "{health:?}");
    assert!(health.reason.as_deref().is_some_and(|r| r.contains("529") && r.contains("Overloaded")), "{health:?}");
    let health = provider.health().await.expect("health answers");
    assert_eq!(health.status, HealthStatus::Down, "{health:?}");
    assert!(health.reason.as_deref().is_some_and(|r| r.contains("401")), "{health:?}");
    let err = provider.list_models().await.expect_err("refused");
    assert!(matches!(&err, Error::Turn(e) if e.kind == ErrorKind::Auth), "{err}");

    let requests = server.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/v1/models?limit=1000",
            "/v1/models?limit=1000&after_id=claude-sonnet-4-5-20250929",
            "/v1/models?limit=1",
            "/v1/models?limit=1",
            "/v1/models?limit=1",
            "/v1/models?limit=1000",
        ]
    );
    for request in &requests {
        assert_eq!(request.method, "GET");
        assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));
        assert_eq!(request.header("x-api-key"), Some(KEY), "the host's key");
    }
}

/// An upstream nobody answers at: `down`, saying why; `list-models` a network error.
#[tokio::test]
async fn an_unreachable_upstream_is_down_in_both_languages() {
    for name in ["openai-py", "anthropic-js"] {
        // A port just freed: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let url = format!("http://127.0.0.1:{port}");
        let options = ProviderOptions {
            base_url: Some(url.clone()),
            grants: vec![HostGrant { origin: url.parse().expect("origin"), with_secrets: true }],
            secrets: [("api-key".to_owned(), KEY.to_owned())].into(),
            deny_unapproved: true,
            ..ProviderOptions::default()
        };
        let provider = runtime().load_provider(name, options).await.expect("loads");
        let health = provider.health().await.expect("health answers");
        assert_eq!(health.status, HealthStatus::Down, "{name}: {health:?}");
        assert!(health.reason.as_deref().is_some_and(|r| !r.is_empty()), "{name}: {health:?}");
        let err = provider.list_models().await.expect_err("unreachable");
        assert!(matches!(&err, Error::Turn(e) if e.kind == ErrorKind::Network), "{name}: {err}");
    }
}

/// `cordon new provider NAME --lang LANG` into `dir`, built with `cargo xtask
/// build-guest` into `dir/components`; the component's path.
fn new_provider(dir: &std::path::Path, name: &str, lang: &str) -> String {
    let made = std::process::Command::new(env!("CARGO_BIN_EXE_cordon"))
        .args(["new", "provider", name, "--lang", lang, "--dir"])
        .arg(dir)
        .env("CORDON_LOG", "off")
        .output()
        .expect("cordon runs");
    assert!(made.status.success(), "{name}: {}", String::from_utf8_lossy(&made.stderr));
    let built = std::process::Command::new(option_env!("CARGO").unwrap_or("cargo"))
        .args(["xtask", "build-guest"])
        .arg(dir.join(name))
        .arg("--out")
        .arg(dir.join("components"))
        .current_dir(crate::support::root())
        .output()
        .expect("cargo runs");
    assert!(built.status.success(), "{name}: {}", String::from_utf8_lossy(&built.stderr));
    dir.join("components").join(format!("{name}.wasm")).to_string_lossy().into_owned()
}

/// The providers `cordon new` writes in Python, JavaScript, C and Go answer
/// `list-models` and `health` at once: `GET {base}/models` with the key the
/// host adds, OpenAI's list read, health mapped from the answer.
#[tokio::test]
async fn new_providers_in_every_language_list_models_and_probe_health() {
    let dir = tempfile::tempdir().expect("temp dir");
    let list = json!({"object": "list", "data": [{"id": "local-7b", "object": "model"}, {"id": "local-70b", "object": "model"}]});
    for lang in ["python", "js", "c", "go"] {
        let name = format!("models-{lang}");
        let (folder, named) = (dir.path().to_owned(), name.clone());
        let wasm = tokio::task::spawn_blocking(move || new_provider(&folder, &named, lang)).await.expect("built");
        let limited = Reply::error(429, r#"{"error":{"message":"Rate limit reached","type":"requests"}}"#);
        let refused = Reply::error(401, r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#);
        let replies = vec![answer(list.clone()), answer(list.clone()), limited, refused, answer(json!({"models": []}))];
        let (server, provider) = against(&wasm, None, replies).await;
        let models = provider.list_models().await.expect("lists");
        assert_eq!(ids(&models), ["local-7b", "local-70b"], "{lang}");
        let health = provider.health().await.expect("health");
        assert_eq!(health.status, HealthStatus::Ok, "{lang}: {health:?}");
        let health = provider.health().await.expect("health answers");
        assert_eq!(health.status, HealthStatus::Degraded, "{lang}: {health:?}");
        assert!(health.reason.as_deref().is_some_and(|r| r.contains("429")), "{lang}: {health:?}");
        let health = provider.health().await.expect("health answers");
        assert_eq!(health.status, HealthStatus::Down, "{lang}: {health:?}");
        assert!(health.reason.as_deref().is_some_and(|r| r.contains("401")), "{lang}: {health:?}");
        let err = provider.list_models().await.expect_err("not OpenAI's shape");
        assert!(matches!(&err, Error::Turn(e) if e.kind == ErrorKind::StreamProtocol), "{lang}: {err}");
        let requests = server.requests();
        assert_eq!(requests.len(), 5, "{lang}: one request each");
        for request in &requests {
            assert_eq!((request.method.as_str(), request.path.as_str()), ("GET", "/models"), "{lang}");
            assert_eq!(request.header("authorization"), Some(format!("Bearer {KEY}").as_str()), "{lang}: the host's key");
        }
    }
}
