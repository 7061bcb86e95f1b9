//! Who may call `cordon serve` (issue 15): client keys from the config,
//! checked on every `/v1` route with the official clients' own headers; a
//! key limited to some models; the health probes, which need no key; and
//! the log, which names a request's key but never holds the key itself.

use bytes::Bytes;
use cordon::replay::{Reply, ReplayServer};
use cordon::serve::keys;
use serde_json::Value;

use crate::support::{ServeProcess, json, root, run_python, serve_config_head};

/// The team's key: `fast` and `claude` only, configured by its digest.
const TEAM_KEY: &str = "sk-cordon-team-3f9a";
/// The operators' key: every model, read from the environment at start.
const OPS_KEY: &str = "sk-cordon-ops-77c1";
const OPS_VARIABLE: &str = "CORDON_KEYS_TEST_OPS_KEY";

fn recorded() -> String {
    std::fs::read_to_string(root().join("runtime/demo/turn2.sse")).expect("the demo's recorded answer")
}

/// The demo's recorded text answer, one chunk per event.
fn answer() -> Reply {
    Reply::stream(recorded().split_inclusive("\n\n").map(|event| Bytes::copy_from_slice(event.as_bytes())).collect())
}

/// The text of [`answer`]: what a client that streams it must receive.
fn answer_text() -> String {
    recorded()
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str().map(str::to_owned))
        .collect()
}

/// Three models on one `openai` provider in front of `upstream` (`claude`
/// too: the Messages API is served over any provider), and two keys.
fn keyed(upstream: &ReplayServer) -> String {
    format!(
        "[providers.main]\ncomponent = \"openai\"\nbase-url = \"{}/v1\"\nsecrets = {{ api-key = \"env:{OPS_VARIABLE}\" }}\n\
         [models.fast]\nroutes = [\"main:m\"]\n[models.smart]\nroutes = [\"main:m\"]\n[models.claude]\nroutes = [\"main:m\"]\n\
         [keys.team]\nsha256 = \"{}\"\nmodels = [\"fast\", \"claude\"]\n\
         [keys.ops]\nkey = \"env:{OPS_VARIABLE}\"\n",
        upstream.url(),
        keys::hex(&keys::digest(TEAM_KEY)),
    )
}

fn case(name: &str, model: &str, key: &str) -> Value {
    serde_json::json!({"name": name, "model": model, "retries": 2, "stream": true, "key": key})
}

/// The OpenAI Python client: no key or a wrong one raises
/// `AuthenticationError` (401, `invalid_api_key`) and is not retried; a key
/// asking for a model it may not use gets `NotFoundError` (404,
/// `model_not_found`), as OpenAI answers; a key streams the models it may
/// use; `GET /v1/models` lists only those. Only the admitted turns reach the upstream.
#[tokio::test]
async fn the_openai_client_needs_a_key_that_may_use_the_model() {
    let upstream = ReplayServer::start(vec![answer()]).await.expect("replay upstream");
    let served = ServeProcess::start(&keyed(&upstream), &[(OPS_VARIABLE, OPS_KEY)]);
    let cases = serde_json::json!([
        case("empty", "fast", ""),
        case("wrong", "fast", "sk-cordon-team-3f9b"),
        case("other-model", "smart", TEAM_KEY),
        case("team", "fast", TEAM_KEY),
        case("ops", "smart", OPS_KEY),
    ]);
    let seen = run_python("errors.py", &["openai", &served.base, &cases.to_string()]).await;
    for refused in ["empty", "wrong"] {
        let got = &seen[refused];
        assert_eq!(got["class"][0], "AuthenticationError", "{refused}: {seen}");
        assert_eq!((got["status"].as_u64(), got["code"].as_str()), (Some(401), Some("invalid_api_key")), "{refused}: {seen}");
        assert_eq!(got["waits"], serde_json::json!([]), "{refused}: not retried");
    }
    assert_eq!(seen["other-model"]["class"][0], "NotFoundError", "{seen}");
    assert_eq!((seen["other-model"]["status"].as_u64(), seen["other-model"]["code"].as_str()), (Some(404), Some("model_not_found")));
    for admitted in ["team", "ops"] {
        assert_eq!(seen[admitted]["class"], Value::Null, "{admitted}: {seen}");
        assert_eq!(seen[admitted]["received"].as_str(), Some(answer_text().as_str()), "{admitted}: {seen}");
    }
    assert_eq!(upstream.requests().len(), 2, "only the admitted turns reached the upstream");

    let client = cordon::tls::client_builder().build().expect("client");
    let listed = |key: &'static str| {
        let request = client.get(format!("{}/models", served.base)).bearer_auth(key);
        async move {
            let body = json(request.send().await.expect("an answer")).await;
            body["data"].as_array().map(|models| models.iter().filter_map(|m| m["id"].as_str().map(str::to_owned)).collect::<Vec<_>>())
        }
    };
    assert_eq!(listed(TEAM_KEY).await, Some(vec!["claude".to_owned(), "fast".to_owned()]));
    assert_eq!(listed(OPS_KEY).await, Some(vec!["claude".to_owned(), "fast".to_owned(), "smart".to_owned()]));
    let bare = client.get(format!("{}/models", served.base)).send().await.expect("an answer");
    assert_eq!(bare.status(), 401);
    assert_eq!(bare.headers().get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));
    let body = json(bare).await;
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("Authorization: Bearer KEY")), "{body}");
}

/// The Anthropic Python client sends its key as `x-api-key`: a wrong one
/// raises `AuthenticationError` (401, `authentication_error`), a key asking
/// for a model it may not use `PermissionDeniedError` (403), and a key
/// streams the models it may use.
#[tokio::test]
async fn the_anthropic_client_needs_a_key_too() {
    let upstream = ReplayServer::start(vec![answer()]).await.expect("replay upstream");
    let served = ServeProcess::start(&keyed(&upstream), &[(OPS_VARIABLE, OPS_KEY)]);
    let base = served.base.trim_end_matches("/v1").to_owned();
    let cases = serde_json::json!([case("wrong", "claude", "sk-nope"), case("other-model", "smart", TEAM_KEY), case("team", "claude", TEAM_KEY)]);
    let seen = run_python("errors.py", &["anthropic", &base, &cases.to_string()]).await;
    assert_eq!(seen["wrong"]["class"][0], "AuthenticationError", "{seen}");
    assert_eq!((seen["wrong"]["status"].as_u64(), seen["wrong"]["type"].as_str()), (Some(401), Some("authentication_error")));
    assert_eq!(seen["wrong"]["waits"], serde_json::json!([]));
    assert_eq!(seen["other-model"]["class"][0], "PermissionDeniedError", "{seen}");
    assert_eq!((seen["other-model"]["status"].as_u64(), seen["other-model"]["type"].as_str()), (Some(403), Some("permission_error")));
    assert_eq!(seen["team"]["class"], Value::Null, "{seen}");
    assert_eq!(seen["team"]["received"].as_str(), Some(answer_text().as_str()), "{seen}");
    assert_eq!(upstream.requests().len(), 1, "only the admitted turn reached the upstream");
}

/// `/health/live` and `/health/ready` answer without a key and are not
/// logged at `info`, where every API request is, with its key's name and
/// never the key.
#[tokio::test]
async fn health_probes_need_no_key_and_the_log_never_holds_a_key() {
    let upstream = ReplayServer::start(vec![answer()]).await.expect("replay upstream");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("serve.toml");
    std::fs::write(&file, format!("{}{}", serve_config_head(), keyed(&upstream))).expect("config");
    let served = ServeProcess::start_file(&file, &[(OPS_VARIABLE, OPS_KEY)], "info");
    let origin = served.base.trim_end_matches("/v1").to_owned();
    let client = cordon::tls::client_builder().build().expect("client");
    for (path, status) in [("live", "live"), ("ready", "ready")] {
        let response = client.get(format!("{origin}/health/{path}")).send().await.expect("an answer");
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(json(response).await["status"], status);
    }
    let body = serde_json::json!({"model": "fast", "messages": [{"role": "user", "content": "hi"}]}).to_string();
    let answered = client.post(format!("{}/chat/completions", served.base)).bearer_auth(TEAM_KEY).body(body).send().await.expect("an answer");
    assert_eq!(answered.status(), 200);
    let refused = client.get(format!("{}/models", served.base)).bearer_auth("sk-a-guess").send().await.expect("an answer");
    assert_eq!(refused.status(), 401);
    let logged = served.lines_to("status=401");
    assert!(logged.contains("key=team}") && logged.contains("turn ended"), "the answered request is logged with its key's name:\n{logged}");
    for secret in [TEAM_KEY, OPS_KEY, "sk-a-guess"] {
        assert!(!logged.contains(secret), "`{secret}` in the log:\n{logged}");
    }
    assert!(!logged.contains("/health"), "health probes are not logged at info:\n{logged}");
}
