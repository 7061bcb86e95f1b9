//! Cost and spend in `cordon serve` add up to the price table (issue 15):
//! over 100 mixed turns (Chat Completions streamed and whole, Anthropic
//! Messages streamed and whole, the Responses API streamed and whole; two
//! keys; a plain model, a model whose upstream fails once with a 429 before
//! each answer, and a model whose first route always fails with a 500 so every
//! turn is retried and then falls back to a second, differently priced route),
//! every turn's `cost_usd` is what the price table makes of the usage the
//! upstream served (input, cached input, output and reasoning each at its own
//! price), and each key's spend on the admin endpoint and its
//! `cordon_cost_usd_total` are exactly the sum of what its clients were
//! charged: the failed attempts cost nothing and no turn is charged twice.

use std::collections::BTreeMap;
use std::collections::HashMap;

use bytes::Bytes;
use cordon::replay::{Framing, Reply, ReplayServer, frame};
use cordon::serve::keys;
use serde_json::{Value, json};

use crate::support::{Exposition, ServeProcess, json as body_json, metric_total, root, scrape};

/// The two client keys, by name.
const KEYS: [(&str, &str); 2] = [("team", "sk-cordon-costs-team-51c2"), ("ops", "sk-cordon-costs-ops-7d09")];
/// The admin endpoint's bearer token.
const ADMIN_TOKEN: &str = "cordon-costs-admin";
/// How many turns the mixed run takes.
const TURNS: usize = 100;

/// One upstream model's prices, in US dollars per million tokens.
#[derive(Debug, Clone, Copy)]
struct Price {
    /// The upstream model name, as routes name it.
    model: &'static str,
    /// Input tokens not read from the cache.
    input: f64,
    /// Input tokens read from the cache.
    cached_input: f64,
    /// Output tokens other than reasoning.
    output: f64,
    /// Reasoning tokens.
    reasoning: f64,
}

/// The plain model's upstream model: dear, reasoning dearer than output.
const ALPHA: Price = Price { model: "alpha-model", input: 2.5, cached_input: 0.5, output: 10.0, reasoning: 15.0 };
/// The flaky model's upstream model.
const BETA: Price = Price { model: "beta-model", input: 1.0, cached_input: 0.25, output: 2.0, reasoning: 4.0 };
/// The fallback model's second route: cheap, so a turn charged at the first
/// route's price (or twice) shows.
const GAMMA: Price = Price { model: "gamma-model", input: 0.4, cached_input: 0.1, output: 1.6, reasoning: 2.0 };

impl Price {
    /// The `[prices."MODEL"]` table of the gateway's config.
    fn toml(&self) -> String {
        format!(
            "[prices.\"{}\"]\ninput = {:?}\ncached-input = {:?}\noutput = {:?}\nreasoning = {:?}\n",
            self.model, self.input, self.cached_input, self.output, self.reasoning
        )
    }

    /// What `served` costs at these prices, in US dollars, worked out here from
    /// the documented semantics (not the gateway's code): `prompt_tokens`
    /// includes the cached ones and `completion_tokens` the reasoning ones,
    /// and each kind is charged at its own price per million.
    fn cost_usd(&self, served: &Served) -> f64 {
        let uncached_input = served.prompt_tokens - served.cached_tokens;
        let visible_output = served.completion_tokens - served.reasoning_tokens;
        let micro_usd = uncached_input as f64 * self.input
            + served.cached_tokens as f64 * self.cached_input
            + visible_output as f64 * self.output
            + served.reasoning_tokens as f64 * self.reasoning;
        micro_usd / 1_000_000.0
    }
}

/// The usage an upstream's answer reports in its last chunk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Served {
    prompt_tokens: u64,
    cached_tokens: u64,
    completion_tokens: u64,
    reasoning_tokens: u64,
}

/// An upstream's recorded answer: the SSE text it sends, and the usage read
/// back from that text.
struct Answer {
    sse: String,
    served: Served,
}

impl Answer {
    /// An OpenAI Chat Completions stream from a server reporting `model`: a
    /// few words, the finish, then a usage chunk of `served` (cached input and
    /// reasoning in their `*_details`).
    fn openai(model: &str, words: &[&str], served: Served) -> Answer {
        let chunk = |choices: Value| json!({"id": "chatcmpl-costs", "object": "chat.completion.chunk", "created": 1_763_700_000, "model": model, "choices": choices});
        let mut lines = vec![chunk(json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]))];
        lines.extend(words.iter().map(|word| chunk(json!([{"index": 0, "delta": {"content": word}, "finish_reason": null}]))));
        lines.push(chunk(json!([{"index": 0, "delta": {}, "finish_reason": "stop"}])));
        let mut usage = chunk(json!([]));
        usage["usage"] = json!({
            "prompt_tokens": served.prompt_tokens,
            "completion_tokens": served.completion_tokens,
            "total_tokens": served.prompt_tokens + served.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": served.cached_tokens},
            "completion_tokens_details": {"reasoning_tokens": served.reasoning_tokens},
        });
        lines.push(usage);
        let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
        let sse = frame(&text, Framing::OpenAiSse).expect("JSON lines frame").iter().map(|chunk| String::from_utf8_lossy(chunk).into_owned()).collect();
        Answer::from_sse(sse)
    }

    /// The demo's recorded answer (`runtime/demo/turn2.sse`), from a server
    /// reporting the model `demo-model`, which no price table names.
    fn demo() -> Answer {
        Answer::from_sse(std::fs::read_to_string(root().join("runtime/demo/turn2.sse")).expect("the demo's recorded answer"))
    }

    /// `sse` and the usage its last `usage` chunk reports.
    fn from_sse(sse: String) -> Answer {
        let usage = data_payloads(&sse).into_iter().filter_map(|chunk| chunk.get("usage").filter(|usage| usage.is_object()).cloned()).next_back();
        let usage = usage.expect("the answer ends with a usage chunk");
        let count = |value: &Value| value.as_u64().unwrap_or(0);
        let served = Served {
            prompt_tokens: count(&usage["prompt_tokens"]),
            cached_tokens: count(&usage["prompt_tokens_details"]["cached_tokens"]),
            completion_tokens: count(&usage["completion_tokens"]),
            reasoning_tokens: count(&usage["completion_tokens_details"]["reasoning_tokens"]),
        };
        Answer { sse, served }
    }

    /// The answer as an upstream sends it: one write per event.
    fn reply(&self) -> Reply {
        Reply::stream(self.sse.split_inclusive("\n\n").map(|event| Bytes::copy_from_slice(event.as_bytes())).collect())
    }
}

/// An upstream's rate-limit refusal, before any output: retryable.
fn rate_limited() -> Reply {
    Reply::error(429, r#"{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#)
        .header("retry-after-ms", "1")
}

/// An upstream's internal error, before any output: retryable.
fn server_error() -> Reply {
    Reply::error(500, r#"{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}"#)
}

/// The JSON of every `data:` line of an SSE text (`[DONE]` left out).
fn data_payloads(sse: &str) -> Vec<Value> {
    sse.lines().filter_map(|line| line.strip_prefix("data:")).filter_map(|data| serde_json::from_str::<Value>(data.trim()).ok()).collect()
}

/// US dollars as whole millionths, to compare sums exactly.
fn micro(usd: f64) -> i64 {
    (usd * 1_000_000.0).round() as i64
}

/// The public models of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Model {
    /// One route, no retry.
    Plain,
    /// One route whose upstream answers each turn's first attempt with a 429.
    Flaky,
    /// A first route whose upstream always answers 500 (tried twice), then a second route.
    Fallback,
}

impl Model {
    const ALL: [Model; 3] = [Model::Plain, Model::Flaky, Model::Fallback];

    /// Its name in the gateway's config.
    fn name(self) -> &'static str {
        match self {
            Model::Plain => "plain",
            Model::Flaky => "flaky",
            Model::Fallback => "fallback",
        }
    }
}

/// The client API and mode of a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    ChatStreamed,
    ChatWhole,
    MessagesStreamed,
    MessagesWhole,
    ResponsesStreamed,
    ResponsesWhole,
}

impl Kind {
    const ALL: [Kind; 6] = [Kind::ChatStreamed, Kind::ChatWhole, Kind::MessagesStreamed, Kind::MessagesWhole, Kind::ResponsesStreamed, Kind::ResponsesWhole];
}

/// One planned turn.
#[derive(Debug, Clone, Copy)]
struct Turn {
    kind: Kind,
    model: Model,
    key: usize,
}

/// 100 turns cycling through every combination of API, model and key.
fn plan() -> Vec<Turn> {
    let mut combinations = Vec::new();
    for key in 0..KEYS.len() {
        for model in Model::ALL {
            for kind in Kind::ALL {
                combinations.push(Turn { kind, model, key });
            }
        }
    }
    (0..TURNS).map(|index| combinations[index % combinations.len()]).collect()
}

/// What a client received for one turn: the usage's tokens and cost.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Received {
    input_tokens: u64,
    output_tokens: u64,
    /// Cached input and reasoning tokens, where the API reports them.
    details: Option<(u64, u64)>,
    cost_usd: f64,
}

impl Received {
    /// From a usage object with the fields `input`/`output` and, when the API
    /// has them, cached and reasoning details at the pointers given.
    fn from_usage(usage: &Value, input: &str, output: &str, details: Option<(&str, &str)>) -> Received {
        let count = |field: &str| usage[field].as_u64().unwrap_or_else(|| panic!("`{field}` in {usage}"));
        Received {
            input_tokens: count(input),
            output_tokens: count(output),
            details: details.map(|(cached, reasoning)| {
                let at = |pointer: &str| usage.pointer(pointer).and_then(Value::as_u64).unwrap_or_else(|| panic!("`{pointer}` in {usage}"));
                (at(cached), at(reasoning))
            }),
            cost_usd: usage["cost_usd"].as_f64().unwrap_or_else(|| panic!("`cost_usd` in {usage}")),
        }
    }
}

/// A Messages API usage: its input is `input_tokens` (uncached) plus
/// `cache_read_input_tokens` and `cache_creation_input_tokens`, as Anthropic counts.
fn messages_usage(usage: &Value) -> Received {
    let mut received = Received::from_usage(usage, "input_tokens", "output_tokens", None);
    let count = |field: &str| usage[field].as_u64().unwrap_or_else(|| panic!("`{field}` in {usage}"));
    received.input_tokens += count("cache_read_input_tokens") + count("cache_creation_input_tokens");
    received
}

/// The one element of `found`, failing with `what` and `context` otherwise.
fn only_one(found: Vec<Value>, what: &str, context: &str) -> Value {
    assert_eq!(found.len(), 1, "exactly one {what} (a usage counted once), in:\n{context}");
    found.into_iter().next().expect("one")
}

/// Run one turn of `model` with `key` in `kind`, to its end; what the client received.
async fn run(client: &reqwest::Client, base: &str, kind: Kind, model: &str, key: &str, index: usize) -> Received {
    let prompt = format!("turn {index}: what does it cost?");
    let (path, body) = match kind {
        Kind::ChatStreamed | Kind::ChatWhole => {
            let stream = kind == Kind::ChatStreamed;
            ("chat/completions", json!({"model": model, "stream": stream, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": prompt}]}))
        }
        Kind::MessagesStreamed | Kind::MessagesWhole => {
            let stream = kind == Kind::MessagesStreamed;
            ("messages", json!({"model": model, "max_tokens": 1024, "stream": stream, "messages": [{"role": "user", "content": prompt}]}))
        }
        Kind::ResponsesStreamed | Kind::ResponsesWhole => {
            let stream = kind == Kind::ResponsesStreamed;
            ("responses", json!({"model": model, "stream": stream, "input": prompt}))
        }
    };
    let request = client.post(format!("{base}/{path}")).body(body.to_string()).header("content-type", "application/json");
    let request = if path == "messages" { request.header("x-api-key", key).header("anthropic-version", "2023-06-01") } else { request.bearer_auth(key) };
    let response = request.send().await.expect("an answer");
    let status = response.status();
    let text = response.text().await.expect("a body");
    assert_eq!(status, 200, "turn {index} ({kind:?} of `{model}`): {text}");
    let chat_details = Some(("/prompt_tokens_details/cached_tokens", "/completion_tokens_details/reasoning_tokens"));
    let responses_details = Some(("/input_tokens_details/cached_tokens", "/output_tokens_details/reasoning_tokens"));
    match kind {
        Kind::ChatStreamed => {
            let usages = data_payloads(&text).into_iter().filter_map(|chunk| chunk.get("usage").filter(|usage| !usage.is_null()).cloned()).collect();
            Received::from_usage(&only_one(usages, "usage chunk", &text), "prompt_tokens", "completion_tokens", chat_details)
        }
        Kind::ChatWhole => {
            let body: Value = serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"));
            Received::from_usage(&body["usage"], "prompt_tokens", "completion_tokens", chat_details)
        }
        Kind::MessagesStreamed => {
            let deltas = data_payloads(&text).into_iter().filter(|event| event["type"] == "message_delta").map(|event| event["usage"].clone()).collect();
            messages_usage(&only_one(deltas, "message_delta", &text))
        }
        Kind::MessagesWhole => {
            let body: Value = serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"));
            messages_usage(&body["usage"])
        }
        Kind::ResponsesStreamed => {
            let done = data_payloads(&text).into_iter().filter(|event| event["type"] == "response.completed").map(|event| event["response"]["usage"].clone()).collect();
            Received::from_usage(&only_one(done, "response.completed", &text), "input_tokens", "output_tokens", responses_details)
        }
        Kind::ResponsesWhole => {
            let body: Value = serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"));
            Received::from_usage(&body["usage"], "input_tokens", "output_tokens", responses_details)
        }
    }
}

/// A running gateway with an admin endpoint; its temp folder (the admin token)
/// lives as long as it does.
struct Gateway {
    process: ServeProcess,
    admin: String,
    _dir: tempfile::TempDir,
}

impl Gateway {
    /// `cordon serve` with `body` after an `[admin]` table, its providers'
    /// upstream key in `CORDON_COSTS_TEST_KEY`.
    fn start(body: &str) -> Gateway {
        let dir = tempfile::tempdir().expect("temp dir");
        let token = dir.path().join("admin-token");
        std::fs::write(&token, ADMIN_TOKEN).expect("token file");
        let config = format!("[admin]\nlisten = \"127.0.0.1:0\"\ntoken = \"file:{}\"\n{body}", token.display());
        let process = ServeProcess::start(&config, &[("CORDON_COSTS_TEST_KEY", "sk-upstream")]);
        let admin = process.admin_url();
        Gateway { process, admin, _dir: dir }
    }

    /// `[providers.NAME]`: the `openai` component in front of `upstream`.
    fn provider(name: &str, upstream: &ReplayServer) -> String {
        format!(
            "[providers.{name}]\ncomponent = \"openai\"\nbase-url = \"{}/v1\"\nsecrets = {{ api-key = \"env:CORDON_COSTS_TEST_KEY\" }}\n",
            upstream.url()
        )
    }

    /// `[keys.NAME]` for each of [`KEYS`], with a budget no run comes near.
    fn keys() -> String {
        KEYS.iter()
            .map(|(name, key)| format!("[keys.{name}]\nsha256 = \"{}\"\nbudget = {{ usd = 100.0, period = \"month\" }}\n", keys::hex(&keys::digest(key))))
            .collect()
    }

    /// Each key's budget as `GET /keys` reports it, by name.
    async fn budgets(&self, client: &reqwest::Client) -> HashMap<String, Value> {
        let response = client.get(format!("{}/keys", self.admin)).bearer_auth(ADMIN_TOKEN).send().await.expect("an answer");
        assert_eq!(response.status(), 200);
        let report = body_json(response).await;
        let keys = report.as_array().unwrap_or_else(|| panic!("a list of keys: {report}"));
        keys.iter().map(|key| (key["name"].as_str().unwrap_or_default().to_owned(), key["budget"].clone())).collect()
    }

    /// `GET /metrics`, parsed as a scraper would.
    async fn metrics(&self, client: &reqwest::Client) -> Exposition {
        scrape(client, self.process.base.trim_end_matches("/v1")).await
    }
}

/// 100 mixed turns (6 APIs and modes × 3 models × 2 keys, in turn): each
/// client is charged exactly what the price table makes of the usage the
/// upstream served; the upstreams saw every retry and fallback; each key's
/// spend on `GET /keys` and its `cordon_cost_usd_total` equal, to the
/// millionth of a dollar, the sum its clients were charged, with nothing left
/// reserved; each model's counted cost is its turns' costs, once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_mixed_turns_cost_the_price_table_once_each_retries_and_fallbacks_included() {
    let plan = plan();
    let turns_of = |model: Model| plan.iter().filter(|turn| turn.model == model).count();

    // The plain model's upstream answers every request.
    let alpha_answer = Answer::openai(
        "alpha-model-2025-04-14",
        &["The", " bill", " is", " $71.84."],
        Served { prompt_tokens: 1_200, cached_tokens: 800, completion_tokens: 300, reasoning_tokens: 120 },
    );
    let alpha = ReplayServer::start(vec![alpha_answer.reply()]).await.expect("alpha upstream");
    // The flaky model's upstream refuses each turn's first attempt, then answers (the demo's recording).
    let beta_answer = Answer::demo();
    let flaky_replies = (0..turns_of(Model::Flaky)).flat_map(|_| [rate_limited(), beta_answer.reply()]).collect();
    let beta = ReplayServer::start(flaky_replies).await.expect("beta upstream");
    // The fallback model's first route is down; its second answers.
    let down = ReplayServer::start(vec![server_error()]).await.expect("the upstream that is down");
    let gamma_answer = Answer::openai(
        "gamma-model",
        &["Each", " of", " you", " pays", " a", " third."],
        Served { prompt_tokens: 2_000, cached_tokens: 1_500, completion_tokens: 500, reasoning_tokens: 400 },
    );
    let gamma = ReplayServer::start(vec![gamma_answer.reply()]).await.expect("gamma upstream");

    let config = [
        Gateway::provider("alpha", &alpha),
        Gateway::provider("beta", &beta),
        Gateway::provider("down", &down),
        Gateway::provider("gamma", &gamma),
        "[models.plain]\nroutes = [\"alpha:alpha-model\"]\nretry = { attempts = 1 }\n".to_owned(),
        "[models.flaky]\nroutes = [\"beta:beta-model\"]\nretry = { attempts = 2, base-delay-ms = 1 }\n".to_owned(),
        "[models.fallback]\nroutes = [\"down:alpha-model\", \"gamma:gamma-model\"]\nretry = { attempts = 2, base-delay-ms = 1 }\n".to_owned(),
        ALPHA.toml(),
        BETA.toml(),
        GAMMA.toml(),
        Gateway::keys(),
    ]
    .concat();
    let gateway = Gateway::start(&config);
    let client = cordon::tls::client_builder().build().expect("client");

    // What each model's turns are served, and what that costs by the price table.
    let expected = |model: Model| match model {
        Model::Plain => (alpha_answer.served, ALPHA.cost_usd(&alpha_answer.served)),
        Model::Flaky => (beta_answer.served, BETA.cost_usd(&beta_answer.served)),
        Model::Fallback => (gamma_answer.served, GAMMA.cost_usd(&gamma_answer.served)),
    };
    for model in Model::ALL {
        let (served, cost) = expected(model);
        assert!(cost > 0.0 && served.prompt_tokens > 0 && served.completion_tokens > 0, "{model:?} is served a priced answer: {served:?}");
    }
    assert!(alpha_answer.served.cached_tokens > 0 && gamma_answer.served.reasoning_tokens > 0, "every kind of token is priced");

    let mut charged_micro = BTreeMap::<&str, i64>::new();
    let mut expected_usd = BTreeMap::<&str, f64>::new();
    let mut charged_by_model_micro = BTreeMap::<Model, i64>::new();
    let mut turns_by_kind = BTreeMap::<Kind, usize>::new();
    for (index, turn) in plan.iter().enumerate() {
        let (key_name, key) = KEYS[turn.key];
        let received = run(&client, &gateway.process.base, turn.kind, turn.model.name(), key, index).await;
        let (served, cost) = expected(turn.model);
        let what = format!("turn {index}: {:?} of `{}` with `{key_name}`", turn.kind, turn.model.name());
        assert_eq!((received.input_tokens, received.output_tokens), (served.prompt_tokens, served.completion_tokens), "{what}: the tokens served");
        if let Some(details) = received.details {
            assert_eq!(details, (served.cached_tokens, served.reasoning_tokens), "{what}: the cached and reasoning tokens served");
        }
        assert!((received.cost_usd - cost).abs() < 1e-6, "{what}: charged ${}, the price table says ${cost}", received.cost_usd);
        *charged_micro.entry(key_name).or_default() += micro(received.cost_usd);
        *expected_usd.entry(key_name).or_default() += cost;
        *charged_by_model_micro.entry(turn.model).or_default() += micro(received.cost_usd);
        *turns_by_kind.entry(turn.kind).or_default() += 1;
    }

    // Every attempt reached its upstream: one per plain turn, a refused one and
    // an answered one per flaky turn, two failed ones on the first route and
    // one answered on the second per fallback turn.
    let (plain, flaky, fallback) = (turns_of(Model::Plain), turns_of(Model::Flaky), turns_of(Model::Fallback));
    assert_eq!(requests_to(&alpha), plain, "one request per plain turn");
    assert_eq!(requests_to(&beta), 2 * flaky, "each flaky turn retried once");
    assert_eq!(requests_to(&down), 2 * fallback, "each fallback turn tried twice on its first route");
    assert_eq!(requests_to(&gamma), fallback, "each fallback turn served by its second route");
    assert!(alpha.requests().iter().chain(beta.requests().iter()).chain(down.requests().iter()).chain(gamma.requests().iter()).all(|request| request.path == "/v1/chat/completions"));

    let budgets = gateway.budgets(&client).await;
    let metrics = gateway.metrics(&client).await;
    let mut report = format!(
        "cost run: {TURNS} turns {turns_by_kind:?}; models plain {plain}, flaky {flaky}, fallback {fallback}; \
         upstream requests alpha {}, beta {} ({flaky} refused with 429), down {} (all 500), gamma {}\n",
        requests_to(&alpha),
        requests_to(&beta),
        requests_to(&down),
        requests_to(&gamma)
    );
    for (name, _) in KEYS {
        let budget = budgets.get(name).unwrap_or_else(|| panic!("the key `{name}` on GET /keys: {budgets:?}"));
        let spent = micro(budget["spent_usd"].as_f64().unwrap_or_else(|| panic!("`spent_usd` of `{name}`: {budget}")));
        let reserved = budget["reserved_usd"].as_f64();
        let counted_cost = micro(metric_total(&metrics, "cordon_cost_usd", &[("key", name)]));
        let received = charged_micro.get(name).copied().unwrap_or_default();
        let expected = expected_usd.get(name).copied().unwrap_or_default();
        report.push_str(&format!(
            "key {name}: received ${:.6}, admin spent ${:.6}, metrics ${:.6}, price table ${expected:.6}\n",
            received as f64 / 1e6,
            spent as f64 / 1e6,
            counted_cost as f64 / 1e6
        ));
        assert!(received > 0, "{name} was charged");
        assert_eq!(spent, received, "{name}: GET /keys spent_usd vs the sum of the costs its clients received (millionths of a dollar)");
        assert_eq!(counted_cost, received, "{name}: cordon_cost_usd_total vs the sum of the costs its clients received (millionths of a dollar)");
        assert_eq!(received, micro(expected), "{name}: the sum charged vs the price table's (millionths of a dollar)");
        assert_eq!(reserved, Some(0.0), "{name}: no reservation is left once every turn ended: {budget}");
    }
    for model in Model::ALL {
        let (served, cost) = expected(model);
        let turns = turns_of(model);
        let counted_cost = micro(metric_total(&metrics, "cordon_cost_usd", &[("model", model.name())]));
        assert_eq!(counted_cost, charged_by_model_micro.get(&model).copied().unwrap_or_default(), "{model:?}: counted cost vs charged");
        assert_eq!(counted_cost, turns as i64 * micro(cost), "{model:?}: {turns} turns of {served:?} at ${cost} each, once each");
        let ended = metric_total(&metrics, "cordon_turns", &[("model", model.name())]);
        assert_eq!(ended, turns as f64, "{model:?}: one turn counted per turn, however many attempts it took");
    }
    let _ = std::io::Write::write_all(&mut std::io::stderr(), report.as_bytes());
}

/// A fallback turn is charged at the price of the route that served it, also
/// when its upstream reports a model name the price table does not know (the
/// demo's recording says `demo-model`): here the second route's
/// `gamma-model`, not the first route's dearer `alpha-model` ($0.000139,
/// not $0.000868, which it was charged before the chain reported its route).
#[tokio::test]
async fn a_fallback_turn_is_charged_at_the_serving_routes_price_when_the_upstream_reports_an_unpriced_model() {
    let answer = Answer::demo();
    let down = ReplayServer::start(vec![server_error()]).await.expect("the upstream that is down");
    let backup = ReplayServer::start(vec![answer.reply()]).await.expect("the second route's upstream");
    let config = [
        Gateway::provider("down", &down),
        Gateway::provider("backup", &backup),
        "[models.fallback]\nroutes = [\"down:alpha-model\", \"backup:gamma-model\"]\nretry = { attempts = 1 }\n".to_owned(),
        ALPHA.toml(),
        GAMMA.toml(),
        Gateway::keys(),
    ]
    .concat();
    let gateway = Gateway::start(&config);
    let client = cordon::tls::client_builder().build().expect("client");
    let (name, key) = KEYS[0];
    let received = run(&client, &gateway.process.base, Kind::ChatWhole, "fallback", key, 0).await;
    assert_eq!((requests_to(&down), requests_to(&backup)), (1, 1), "the turn fell back");
    let (at_second, at_first) = (GAMMA.cost_usd(&answer.served), ALPHA.cost_usd(&answer.served));
    assert!(
        (received.cost_usd - at_second).abs() < 1e-6,
        "charged ${} for the answer of `gamma-model`: its price is ${at_second} (the first route's `alpha-model` would be ${at_first})",
        received.cost_usd
    );
    let spent = gateway.budgets(&client).await[name]["spent_usd"].as_f64();
    assert_eq!(spent.map(micro), Some(micro(received.cost_usd)), "the key is charged what the client was told");
}

/// How many requests `upstream` received.
fn requests_to(upstream: &ReplayServer) -> usize {
    upstream.requests().len()
}
