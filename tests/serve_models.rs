//! The gateway's `GET /v1/models` and `GET /health/ready` over contract
//! 0.2.0's `list-models` and `health`: a real `cordon serve` process in front
//! of local upstreams answering in the OpenAI API's real shapes, read by the
//! official OpenAI and Anthropic Python clients (pinned in
//! `tools/requirements.txt`) and by plain HTTP for readiness.
//!
//! Covered: upstream models listed after the public ones as `PROVIDER/MODEL`
//! (only for providers with `list-models = true`), in OpenAI's and Anthropic's
//! list shapes, cached (one upstream listing serves both clients), a failing
//! upstream leaving the endpoint answering, an upstream model called by its
//! listed id; readiness that is ready with a degraded upstream, not ready with
//! one down, and skips a 0.1.0 component and providers without `health-check`.

use bytes::Bytes;
use cordon::replay::{Reply, ReplayServer};
use serde_json::{Value, json};

use crate::support::{ServeProcess, root, run_python};

/// The variable the providers' key is read from.
const KEY_VARIABLE: &str = "CORDON_SERVE_MODELS_TEST_KEY";

/// An `openai` provider in front of `upstream`, with `extra` lines.
fn openai_provider(name: &str, upstream: &ReplayServer, extra: &str) -> String {
    format!(
        "[providers.{name}]\ncomponent = \"openai\"\nbase-url = \"{}/v1\"\nsecrets = {{ api-key = \"env:{KEY_VARIABLE}\" }}\n{extra}\n",
        upstream.url()
    )
}

fn served(body: &str) -> ServeProcess {
    ServeProcess::start(&format!("drain-seconds = 5\n{body}[models.fast]\nroutes = [\"main:upstream-model\"]\n"), &[(KEY_VARIABLE, "sk-test")])
}

/// OpenAI's models answer.
fn openai_models() -> Reply {
    let list = json!({"object": "list", "data": [
        {"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"},
        {"id": "o3", "object": "model", "created": 1744225308, "owned_by": "system"}]});
    Reply::error(200, &list.to_string())
}

/// OpenAI's refusal of a bad key.
fn refused() -> Reply {
    Reply::error(401, r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#)
}

/// The demo's recorded final answer, as the upstream streams it.
fn recorded_answer() -> Reply {
    let text = std::fs::read_to_string(root().join("runtime/demo/turn2.sse")).expect("the demo's recorded answer");
    Reply::stream(text.split_inclusive("\n\n").map(|event| Bytes::copy_from_slice(event.as_bytes())).collect())
}

/// `GET path` of `gateway`'s origin.
async fn get(gateway: &ServeProcess, path: &str) -> reqwest::Response {
    let client = cordon::tls::client_builder().build().expect("client");
    client.get(format!("{}{path}", gateway.base.trim_end_matches("/v1"))).send().await.expect("an answer")
}

#[tokio::test]
async fn the_official_clients_list_public_and_upstream_models_and_call_one() {
    let main = ReplayServer::start(vec![openai_models(), recorded_answer()]).await.expect("upstream");
    let broken = ReplayServer::start(vec![refused()]).await.expect("upstream");
    let quiet = ReplayServer::start(vec![refused()]).await.expect("upstream");
    let gateway = served(&format!(
        "{}{}{}",
        openai_provider("main", &main, "list-models = true"),
        openai_provider("broken", &broken, "list-models = true"),
        openai_provider("quiet", &quiet, ""),
    ));

    let seen = run_python("openai_models.py", &[&gateway.base, "main/gpt-4o-mini"]).await;
    let expected = json!([
        {"id": "fast", "owned_by": "cordon", "object": "model"},
        {"id": "main/gpt-4o-mini", "owned_by": "main", "object": "model"},
        {"id": "main/o3", "owned_by": "main", "object": "model"},
    ]);
    assert_eq!(seen["models"], expected, "public first, then each listing upstream's; the refusing one adds none: {seen}");
    assert!(seen["text"].as_str().is_some_and(|text| text.starts_with("Each of you pays")), "the upstream model answered: {seen}");

    let seen = run_python("anthropic_models.py", &[gateway.base.trim_end_matches("/v1")]).await;
    let ids: Vec<&str> = seen["models"].as_array().expect("models").iter().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(ids, ["fast", "main/gpt-4o-mini", "main/o3"], "{seen}");
    assert_eq!(seen["models"][1], json!({"id": "main/gpt-4o-mini", "display_name": "main/gpt-4o-mini", "type": "model"}));

    let requests = main.requests();
    let paths: Vec<(&str, &str)> = requests.iter().map(|r| (r.method.as_str(), r.path.as_str())).collect();
    assert_eq!(paths, [("GET", "/v1/models"), ("POST", "/v1/chat/completions")], "one listing served both clients (cached)");
    let sent: Value = serde_json::from_slice(&requests[1].body).expect("JSON");
    assert_eq!(sent["model"], "gpt-4o-mini", "the listed id names the upstream's model");
    assert!(!broken.requests().is_empty(), "the refusing upstream was asked");
    assert!(quiet.requests().is_empty(), "a provider without list-models is never asked");
}

#[tokio::test]
async fn readiness_is_kept_when_degraded_and_lost_when_down() {
    let ok = ReplayServer::start(vec![openai_models()]).await.expect("upstream");
    let limited = ReplayServer::start(vec![Reply::error(429, r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#)])
        .await
        .expect("upstream");
    let unchecked = ReplayServer::start(vec![refused()]).await.expect("upstream");
    let old = ReplayServer::start(vec![refused()]).await.expect("upstream");
    let old_provider = format!(
        "[providers.old]\ncomponent = \"hostile-v0-1\"\nbase-url = \"{}\"\nsecrets = {{ api-key = \"env:{KEY_VARIABLE}\" }}\nhealth-check = true\n",
        old.url()
    );
    let gateway = served(&format!(
        "{}{}{}{old_provider}",
        openai_provider("main", &ok, "health-check = true"),
        openai_provider("busy", &limited, "health-check = true"),
        openai_provider("unchecked", &unchecked, ""),
    ));
    let ready = get(&gateway, "/health/ready").await;
    assert_eq!(ready.status(), 200, "degraded is still ready");
    let body: Value = serde_json::from_str(&ready.text().await.expect("a body")).expect("JSON");
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["providers"]["main"]["status"], "ok", "{body}");
    assert_eq!(body["providers"]["busy"]["status"], "degraded", "{body}");
    assert!(body["providers"]["busy"]["reason"].as_str().is_some_and(|r| r.contains("429")), "{body}");
    let checked: Vec<&String> = body["providers"].as_object().expect("providers").keys().collect();
    assert_eq!(checked, ["busy", "main"], "the 0.1.0 component and the unchecked provider are not in it: {body}");
    assert_eq!(ok.requests()[0].path, "/v1/models", "the probe is the provider's own");
    assert!(unchecked.requests().is_empty() && old.requests().is_empty());

    let down = ReplayServer::start(vec![refused()]).await.expect("upstream");
    let gateway = served(&openai_provider("main", &down, "health-check = true"));
    let ready = get(&gateway, "/health/ready").await;
    assert_eq!(ready.status(), 503, "a provider down is not ready");
    let body: Value = serde_json::from_str(&ready.text().await.expect("a body")).expect("JSON");
    assert_eq!(body["status"], "down", "{body}");
    assert!(body["providers"]["main"]["reason"].as_str().is_some_and(|r| r.contains("401")), "{body}");
    let live = get(&gateway, "/health/live").await;
    assert_eq!(live.status(), 200, "still live");
}
