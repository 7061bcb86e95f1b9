//! `GET /metrics` of `cordon serve` (issue 15), read back with an OpenMetrics
//! parser as a scraper would, while and after 1,000 turns: the requests,
//! tokens and cost it counts are exactly what the clients received; every
//! turn's instantiation is timed; hot-swaps are counted by outcome.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use cordon::replay::{Reply, ReplayServer};
use cordon::serve::keys;
use serde_json::{Value, json};

use crate::support::{ServeProcess, json as body_json, metric_total as total, root, scrape};

const KEYS: [(&str, &str); 2] = [("team", "sk-cordon-metrics-team"), ("ops", "sk-cordon-metrics-ops")];

/// What the clients received.
#[derive(Default, Debug)]
struct Received {
    answers: u64,
    input: u64,
    output: u64,
    cost: f64,
}

impl Received {
    fn add(&mut self, usage: &Value) {
        self.answers += 1;
        self.input += usage["prompt_tokens"].as_u64().expect("prompt_tokens");
        self.output += usage["completion_tokens"].as_u64().expect("completion_tokens");
        self.cost += usage["cost_usd"].as_f64().expect("cost_usd");
    }
}

/// One turn with `key`, streamed or whole; the usage the client received.
async fn turn(client: &reqwest::Client, base: &str, key: &str, stream: bool) -> Value {
    let body = json!({"model": "fast", "stream": stream, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "hi"}]});
    let response = client.post(format!("{base}/chat/completions")).bearer_auth(key).body(body.to_string()).send().await.expect("an answer");
    assert_eq!(response.status(), 200);
    if !stream {
        return body_json(response).await["usage"].clone();
    }
    let text = response.text().await.expect("a body");
    text.lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .filter_map(|chunk| chunk.get("usage").filter(|usage| !usage.is_null()).cloned())
        .next_back()
        .expect("the usage chunk")
}

/// 1,000 turns from 10 clients (two keys, streamed and whole) while a
/// scraper reads `/metrics` every 50 ms: every scrape parses, and at the end
/// the requests, turns, tokens and cost counted equal what the clients
/// received; each histogram counted every turn; no turn is left running; a
/// refused request is counted with its status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_scraped_during_a_thousand_turns_add_up() {
    const CLIENTS: usize = 10;
    const TURNS: usize = 100;
    let text = std::fs::read_to_string(root().join("runtime/demo/turn2.sse")).expect("the demo's recorded answer");
    let reply = Reply::stream(text.split_inclusive("\n\n").map(|event| Bytes::copy_from_slice(event.as_bytes())).collect());
    let upstream = ReplayServer::start(vec![reply]).await.expect("replay upstream");
    let dir = tempfile::tempdir().expect("temp dir");
    let token = dir.path().join("admin-token");
    std::fs::write(&token, "metrics-admin").expect("token");
    let mut config = format!(
        "[admin]\nlisten = \"127.0.0.1:0\"\ntoken = \"file:{}\"\n[providers.main]\ncomponent = \"openai\"\nbase-url = \"{}/v1\"\nsecrets = {{ api-key = \"env:CORDON_METRICS_TEST_KEY\" }}\n\
         [models.fast]\nroutes = [\"main:m\"]\n[prices.m]\ninput = 1.0\noutput = 2.0\n",
        token.display(),
        upstream.url()
    );
    for (name, key) in KEYS {
        config.push_str(&format!("[keys.{name}]\nsha256 = \"{}\"\n", keys::hex(&keys::digest(key))));
    }
    let served = ServeProcess::start(&config, &[("CORDON_METRICS_TEST_KEY", "sk-upstream")]);
    let origin = served.base.trim_end_matches("/v1").to_owned();
    let client = cordon::tls::client_builder().build().expect("client");
    let before = scrape(&client, &origin).await;
    assert_eq!(total(&before, "cordon_requests", &[]), 0.0, "a scrape before any request parses, and counts none");

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let scraper = {
        let (client, origin, stopped) = (client.clone(), origin.clone(), stopped.clone());
        tokio::spawn(async move {
            let mut scrapes = 0;
            while !*stopped.borrow() {
                scrape(&client, &origin).await;
                scrapes += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            scrapes
        })
    };
    let mut clients = Vec::new();
    for index in 0..CLIENTS {
        let (client, base) = (client.clone(), served.base.clone());
        clients.push(tokio::spawn(async move {
            let mut received = HashMap::<&str, Received>::new();
            for turn_index in 0..TURNS {
                let (name, key) = KEYS[(index + turn_index) % KEYS.len()];
                let usage = turn(&client, &base, key, (index + turn_index) % 3 != 0).await;
                received.entry(name).or_default().add(&usage);
            }
            received
        }));
    }
    let mut received = HashMap::<&str, Received>::new();
    for task in clients {
        for (name, seen) in task.await.expect("a client") {
            let all = received.entry(name).or_default();
            all.answers += seen.answers;
            all.input += seen.input;
            all.output += seen.output;
            all.cost += seen.cost;
        }
    }
    stop.send_replace(true);
    let scrapes = scraper.await.expect("the scraper");
    assert!(scrapes > 1, "scraped during the load: {scrapes}");
    let refused = client.get(format!("{}/models", served.base)).send().await.expect("an answer");
    assert_eq!(refused.status(), 401);

    // A swap, a failed one and a rollback, through the admin endpoint.
    let admin = served.admin_url();
    for (path, body, status) in [("reload/main", "", 200), ("reload/main", "/nonexistent/openai.wasm", 409), ("rollback/main", "", 200)] {
        let answer = client.post(format!("{admin}/{path}")).bearer_auth("metrics-admin").body(body).send().await.expect("an answer");
        assert_eq!(answer.status(), status, "{path} {body}");
    }

    let metrics = scrape(&client, &origin).await;
    for outcome in ["swapped", "failed", "rolled-back"] {
        assert_eq!(total(&metrics, "cordon_swaps", &[("provider", "main"), ("outcome", outcome)]), 1.0, "{outcome}");
    }
    let instantiations = total(&metrics, "cordon_instantiation_seconds", &[]);
    assert!(instantiations >= (CLIENTS * TURNS) as f64, "every turn's instance was timed: {instantiations}");
    assert_eq!(metrics.families.get("cordon_build").map(|family| family.iter_samples().count()), Some(1), "cordon_build_info");
    let turns = (CLIENTS * TURNS) as f64;
    assert_eq!(total(&metrics, "cordon_requests", &[("route", "/v1/chat/completions"), ("status", "200")]), turns);
    assert_eq!(total(&metrics, "cordon_requests", &[("route", "/v1/models"), ("status", "401")]), 1.0);
    assert_eq!(total(&metrics, "cordon_turns", &[("model", "fast"), ("provider", "openai"), ("outcome", "ok")]), turns);
    for (name, seen) in &received {
        let key = [("key", *name)];
        assert_eq!(total(&metrics, "cordon_tokens", &[key[0], ("direction", "input")]), seen.input as f64, "{name}");
        assert_eq!(total(&metrics, "cordon_tokens", &[key[0], ("direction", "output")]), seen.output as f64, "{name}");
        let cost = total(&metrics, "cordon_cost_usd", &key);
        assert!((cost - seen.cost).abs() < 1e-6, "{name}: ${cost} counted, ${} received", seen.cost);
    }
    assert_eq!(received.values().map(|seen| seen.answers).sum::<u64>() as f64, turns);
    assert_eq!(total(&metrics, "cordon_time_to_first_output_seconds", &[("model", "fast")]), turns);
    assert_eq!(total(&metrics, "cordon_turn_duration_seconds", &[("model", "fast")]), turns);
    assert_eq!(total(&metrics, "cordon_active_turns", &[("model", "fast")]), 0.0);
    assert_eq!(total(&metrics, "cordon_turn_errors", &[]), 0.0);
}
