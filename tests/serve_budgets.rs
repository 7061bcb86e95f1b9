//! Cost and budgets in `cordon serve` (issue 15): the price table turns each
//! turn's usage into US dollars, which every API's usage object carries as
//! `cost_usd`; a key's budget is charged each turn's actual cost once, and
//! when it is spent the key gets 429 `insufficient_quota` with
//! `x-should-retry: false`, naming the budget and when it resets; a turn
//! whose client went away before the usage came is charged an estimate; the
//! admin endpoint's `GET /keys` shows the spend.

use std::time::Duration;

use bytes::Bytes;
use cordon::replay::{Reply, ReplayServer};
use cordon::serve::keys;
use serde_json::{Value, json};

use crate::support::{ServeProcess, json as body_json, root, run_python};

const KEY: &str = "sk-cordon-budget-0e42";
const ADMIN_TOKEN: &str = "cordon-budget-admin";

/// The demo's recorded answer: 171 input and 44 output tokens.
fn answer(delay: Duration) -> Reply {
    let text = std::fs::read_to_string(root().join("runtime/demo/turn2.sse")).expect("the demo's recorded answer");
    let mut reply = Reply::stream(text.split_inclusive("\n\n").map(|event| Bytes::copy_from_slice(event.as_bytes())).collect());
    reply.chunk_delay = delay;
    reply
}

/// At $1 per million input tokens and $2 per million output tokens, the
/// recorded answer costs 171 + 88 millionths of a dollar.
const TURN_COST_USD: f64 = 0.000_259;

/// The model `fast` on an `openai` provider in front of `upstream` (its
/// upstream model `m` priced in the file), the key `team` with a budget of
/// `budget_usd` a day, and an admin endpoint (its token in a file of the
/// folder returned, which must outlive the process).
fn budgeted(upstream: &ReplayServer, budget_usd: f64) -> (ServeProcess, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let token = dir.path().join("admin-token");
    std::fs::write(&token, ADMIN_TOKEN).expect("token");
    let config = format!(
        "[admin]\nlisten = \"127.0.0.1:0\"\ntoken = \"file:{}\"\n\
         [providers.main]\ncomponent = \"openai\"\nbase-url = \"{}/v1\"\nsecrets = {{ api-key = \"env:CORDON_BUDGET_TEST_KEY\" }}\n\
         [models.fast]\nroutes = [\"main:m\"]\nretry = {{ attempts = 1 }}\n\
         [prices.m]\ninput = 1.0\noutput = 2.0\n\
         [keys.team]\nsha256 = \"{}\"\nbudget = {{ usd = {budget_usd}, period = \"day\" }}\n",
        token.display(),
        upstream.url(),
        keys::hex(&keys::digest(KEY)),
    );
    let served = ServeProcess::start(&config, &[("CORDON_BUDGET_TEST_KEY", "sk-upstream")]);
    let admin = served.admin_url();
    (served, admin, dir)
}

/// The key's budget as `GET /keys` reports it.
async fn spend(client: &reqwest::Client, admin: &str) -> Value {
    let report = body_json(client.get(format!("{admin}/keys")).bearer_auth(ADMIN_TOKEN).send().await.expect("an answer")).await;
    let team = report.as_array().and_then(|keys| keys.iter().find(|key| key["name"] == "team")).cloned();
    team.unwrap_or_else(|| panic!("the key `team` in {report}"))["budget"].clone()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// Each API's usage carries the turn's cost; four turns spend $0.001036 of a
/// $0.001 budget (the last one let in while $0.000777 was spent: a budget
/// is overshot by at most one turn); the fifth is refused with 429
/// `insufficient_quota`, `x-should-retry: false`, and a message naming the
/// budget and the UTC midnight it resets at, and the OpenAI client does not
/// retry; `GET /keys` shows the spend.
#[tokio::test]
async fn cost_is_in_every_usage_and_a_spent_budget_refuses_until_it_resets() {
    let upstream = ReplayServer::start(vec![answer(Duration::ZERO)]).await.expect("replay upstream");
    let (served, admin, _dir) = budgeted(&upstream, 0.001);
    let client = cordon::tls::client_builder().build().expect("client");
    let chat = |stream: bool| {
        let body = json!({"model": "fast", "stream": stream, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "hi"}]});
        client.post(format!("{}/chat/completions", served.base)).bearer_auth(KEY).body(body.to_string()).send()
    };
    let whole = body_json(chat(false).await.expect("an answer")).await;
    assert!(close(whole["usage"]["cost_usd"].as_f64().unwrap_or_default(), TURN_COST_USD), "{whole}");

    let streamed = chat(true).await.expect("an answer").text().await.expect("a body");
    let last_usage = streamed
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .filter_map(|chunk| chunk["usage"].as_object().cloned())
        .next_back()
        .expect("a usage chunk");
    assert!(close(last_usage["cost_usd"].as_f64().unwrap_or_default(), TURN_COST_USD), "{last_usage:?}");

    let body = json!({"model": "fast", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]});
    let message = client.post(format!("{}/messages", served.base)).header("x-api-key", KEY).body(body.to_string()).send().await.expect("an answer");
    let message = body_json(message).await;
    assert!(close(message["usage"]["cost_usd"].as_f64().unwrap_or_default(), TURN_COST_USD), "{message}");
    assert!(close(spend(&client, &admin).await["spent_usd"].as_f64().unwrap_or_default(), 3.0 * TURN_COST_USD));

    let cases = json!([
        {"name": "fourth", "model": "fast", "retries": 2, "stream": true, "key": KEY},
        {"name": "fifth", "model": "fast", "retries": 2, "stream": true, "key": KEY},
    ]);
    let seen = run_python("errors.py", &["openai", &served.base, &cases.to_string()]).await;
    assert_eq!(seen["fourth"]["class"], Value::Null, "{seen}");
    let fifth = &seen["fifth"];
    assert_eq!(fifth["class"][0], "RateLimitError", "{seen}");
    assert_eq!((fifth["status"].as_u64(), fifth["code"].as_str()), (Some(429), Some("insufficient_quota")), "{seen}");
    assert_eq!((fifth["should_retry"].as_str(), &fifth["waits"]), (Some("false"), &json!([])), "not retried in vain: {seen}");

    let refused = chat(false).await.expect("an answer");
    assert_eq!(refused.status(), 429);
    let message = body_json(refused).await["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.starts_with("the key `team` has spent its budget of $0.001 a day (`budget` in the gateway's config): $0.001036 spent"), "{message}");
    assert!(message.contains("it resets at ") && message.ends_with(" 00:00 UTC"), "{message}");

    let budget = spend(&client, &admin).await;
    assert!(close(budget["spent_usd"].as_f64().unwrap_or_default(), 4.0 * TURN_COST_USD), "{budget}");
    assert_eq!((budget["usd"].as_f64(), budget["period"].as_str(), budget["reserved_usd"].as_f64()), (Some(0.001), Some("day"), Some(0.0)));
    assert_eq!(upstream.requests().len(), 4, "the refused turns never reached the upstream");
}

/// A client that goes away before the usage comes (it comes last) is still
/// charged: an estimate from its request and the output it was sent.
#[tokio::test]
async fn a_turn_abandoned_before_its_usage_is_charged_an_estimate() {
    let upstream = ReplayServer::start(vec![answer(Duration::from_millis(40))]).await.expect("replay upstream");
    let (served, admin, _dir) = budgeted(&upstream, 1.0);
    let client = cordon::tls::client_builder().build().expect("client");
    let body = json!({"model": "fast", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let mut stream = client.post(format!("{}/chat/completions", served.base)).bearer_auth(KEY).body(body.to_string()).send().await.expect("a stream");
    let mut received = 0;
    while received < 3 {
        stream.chunk().await.expect("reads").expect("a chunk");
        received += 1;
    }
    drop(stream);
    let mut charged = 0.0;
    for _ in 0..100 {
        charged = spend(&client, &admin).await["spent_usd"].as_f64().unwrap_or_default();
        if charged > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(charged > 0.0, "the abandoned turn was charged");
    assert!(charged < TURN_COST_USD, "an estimate of part of the answer, not more than the whole: {charged}");
    assert_eq!(spend(&client, &admin).await["reserved_usd"].as_f64(), Some(0.0), "its reservation was released");
}
