//! Rate limits of `cordon serve` (issue 15): requests and tokens per minute
//! and concurrent streams, per key and per model. A request over a limit gets
//! 429 with `retry-after` / `retry-after-ms`, which the official clients wait
//! out by themselves before they retry.

use std::time::Duration;

use bytes::Bytes;
use cordon::replay::{Reply, ReplayServer};
use cordon::serve::keys;
use serde_json::{Value, json};

use crate::support::{ServeProcess, json as body_json, root, run_python};

const KEY: &str = "sk-cordon-limits-51d0";

fn recorded() -> String {
    std::fs::read_to_string(root().join("runtime/demo/turn2.sse")).expect("the demo's recorded answer")
}

/// The demo's recorded text answer (its usage: 171 + 44 tokens), one chunk
/// per event, `delay` apart.
fn answer(delay: Duration) -> Reply {
    let mut reply = Reply::stream(recorded().split_inclusive("\n\n").map(|event| Bytes::copy_from_slice(event.as_bytes())).collect());
    reply.chunk_delay = delay;
    reply
}

/// The model `fast` (with `model_limits`) on an `openai` provider in front
/// of `upstream`, and the key `team` (with `key_limits`).
fn limited(upstream: &ReplayServer, key_limits: &str, model_limits: &str) -> ServeProcess {
    let config = format!(
        "[providers.main]\ncomponent = \"openai\"\nbase-url = \"{}/v1\"\nsecrets = {{ api-key = \"env:CORDON_LIMITS_TEST_KEY\" }}\n\
         [models.fast]\nroutes = [\"main:m\"]\nretry = {{ attempts = 1 }}\nlimits = {{ {model_limits} }}\n\
         [keys.team]\nsha256 = \"{}\"\nlimits = {{ {key_limits} }}\n",
        upstream.url(),
        keys::hex(&keys::digest(KEY)),
    );
    ServeProcess::start(&config, &[("CORDON_LIMITS_TEST_KEY", "sk-upstream")])
}

async fn ask(client: &reqwest::Client, base: &str, stream: bool) -> reqwest::Response {
    let body = json!({"model": "fast", "stream": stream, "messages": [{"role": "user", "content": "hi"}]});
    client.post(format!("{base}/chat/completions")).bearer_auth(KEY).body(body.to_string()).send().await.expect("an answer")
}

fn header(response: &reqwest::Response, name: &str) -> Option<u64> {
    response.headers().get(name).and_then(|value| value.to_str().ok()).and_then(|value| value.parse().ok())
}

/// The OpenAI Python client asks until the key's 60 requests a minute are
/// used up; then, allowed two retries, it gets a 429 whose `retry-after-ms`
/// (the time until one request has refilled, at most a second) it waits out
/// by itself, and its retry streams the answer.
#[tokio::test]
async fn a_client_over_its_rate_limit_waits_for_retry_after_and_then_succeeds() {
    let upstream = ReplayServer::start(vec![answer(Duration::ZERO)]).await.expect("replay upstream");
    let served = limited(&upstream, "requests-per-minute = 60", "");
    let case = json!([{"name": "limited", "model": "fast", "retries": 2, "stream": true, "key": KEY, "fill": true, "sleep": true}]);
    let seen = run_python("errors.py", &["openai", &served.base, &case.to_string()]).await;
    let limited = &seen["limited"];
    assert_eq!(limited["class"], Value::Null, "the retry succeeded: {seen}");
    let filled = limited["filled"].as_u64().expect("requests admitted before the first 429");
    assert!((60..=90).contains(&filled), "a minute's allowance, and what refilled meanwhile: {filled}");
    let waits = limited["waits"].as_array().expect("waits");
    assert_eq!(waits.len(), 1, "one retry: {seen}");
    let waited = waits[0].as_f64().expect("seconds");
    assert!(waited > 0.0 && waited <= 1.0, "retry-after-ms, at most the second one request takes to refill: {waited}");
    let text: String = recorded()
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(limited["received"].as_str(), Some(text.as_str()));
    assert_eq!(upstream.requests().len() as u64, filled + 1, "no refused request reached the upstream");
}

/// A turn's tokens are counted when it ends: after one turn of 215 tokens,
/// a key allowed 100 a minute is refused until its debt has refilled, and the
/// 429 says so, with the wait.
#[tokio::test]
async fn tokens_per_minute_count_what_each_turn_used() {
    let upstream = ReplayServer::start(vec![answer(Duration::ZERO)]).await.expect("replay upstream");
    let served = limited(&upstream, "tokens-per-minute = 100", "");
    let client = cordon::tls::client_builder().build().expect("client");
    let first = ask(&client, &served.base, false).await;
    assert_eq!(first.status(), 200);
    assert_eq!(body_json(first).await["usage"]["total_tokens"], 215);
    let refused = ask(&client, &served.base, true).await;
    assert_eq!(refused.status(), 429);
    // 116 tokens (past zero by one) at 100 a minute.
    let wait_ms = header(&refused, "retry-after-ms").expect("retry-after-ms");
    assert!((69_000..=69_600).contains(&wait_ms), "{wait_ms} ms");
    assert_eq!(header(&refused, "retry-after"), Some(wait_ms.div_ceil(1000)));
    let error = body_json(refused).await;
    assert_eq!(error["error"]["code"], "rate_limit_exceeded", "{error}");
    let message = error["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("the key `team` is over its limit of 100 tokens a minute (`tokens-per-minute`"), "{message}");
    assert_eq!(upstream.requests().len(), 1);
}

/// A model's concurrent streams: while one streams, the next request gets
/// 429 (`retry-after: 1`) naming the model; once it has ended, or its client
/// has gone away, the next is let in. The Anthropic client is refused the
/// same way, as `RateLimitError`.
#[tokio::test]
async fn a_models_concurrent_streams_are_limited() {
    // About 14 s in all: the other clients ask meanwhile, the official one
    // from a Python process that can take seconds to start on a loaded machine.
    let upstream = ReplayServer::start(vec![answer(Duration::from_millis(400))]).await.expect("replay upstream");
    let served = limited(&upstream, "", "concurrent-streams = 1");
    let client = cordon::tls::client_builder().build().expect("client");
    let mut streaming = ask(&client, &served.base, true).await;
    assert_eq!(streaming.status(), 200);
    streaming.chunk().await.expect("reads").expect("a first chunk");

    let refused = ask(&client, &served.base, false).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "retry-after"), Some(1));
    let message = body_json(refused).await["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.starts_with("the model `fast` is over its limit of 1 streams at once (`concurrent-streams`"), "{message}");
    let origin = served.base.trim_end_matches("/v1").to_owned();
    let case = json!([{"name": "busy", "model": "fast", "retries": 0, "stream": true, "key": KEY}]);
    let seen = run_python("errors.py", &["anthropic", &origin, &case.to_string()]).await;
    assert_eq!(seen["busy"]["class"][0], "RateLimitError", "{seen}");
    assert_eq!((seen["busy"]["status"].as_u64(), seen["busy"]["type"].as_str()), (Some(429), Some("rate_limit_error")));

    while streaming.chunk().await.expect("the stream goes on").is_some() {}
    let mut after = ask(&client, &served.base, true).await;
    assert_eq!(after.status(), 200, "the ended stream freed its place");

    // A client that goes away frees its place too, once the gateway sees it gone.
    after.chunk().await.expect("reads").expect("a first chunk");
    drop(after);
    let fresh = cordon::tls::client_builder().build().expect("client");
    let mut refused = 0;
    while ask(&fresh, &served.base, false).await.status() == 429 {
        refused += 1;
        assert!(refused < 100, "the abandoned stream still holds the model's place after 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(upstream.requests().len(), 3, "the refused requests never reached the upstream");
}
