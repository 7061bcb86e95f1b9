//! `cordon serve` as the official clients use it (issue 14): a real `cordon
//! serve` process on a real port of 127.0.0.1, in front of local replay
//! upstreams serving recorded streams through the shipped provider
//! components, driven by the pinned official clients (the OpenAI Node client
//! from `tools/package.json`, the OpenAI and Anthropic Python clients from
//! `tools/requirements.txt`; `cargo xtask test` installs both into `.tools/`).
//!
//! Covered here: the Node client's stream helper and whole answers; a
//! tool-call round trip with each client, checked on the wire the upstream
//! receives; JSON-schema output; each error status raising the client's own
//! exception class, with the retry headers the clients read and obey; 100
//! concurrent streams, each byte-correct; and a bad config file stopping the
//! start with the file, line, key and fix named.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use bytes::Bytes;
use cordon::replay::{Framing, RecordedRequest, Reply, ReplayServer};
use serde_json::{Value, json};

use crate::support::{ServeProcess, components_dir, root, run_client, run_python, shared_fixtures};

/// The key every provider here is given (through the environment, as an
/// operator would); the replay upstreams accept any.
const KEY_VARIABLE: &str = "CORDON_SERVE_CLIENTS_TEST_KEY";

/// `cordon serve` with `body` (providers, models), the key in its environment.
fn served(body: &str) -> ServeProcess {
    ServeProcess::start(&format!("drain-seconds = 5\n{body}"), &[(KEY_VARIABLE, "sk-test")])
}

/// A provider of the `openai` component in front of `upstream`.
fn openai_provider(name: &str, upstream: &ReplayServer) -> String {
    format!(
        "[providers.{name}]\ncomponent = \"openai\"\nbase-url = \"{}/v1\"\nsecrets = {{ api-key = \"env:{KEY_VARIABLE}\" }}\n",
        upstream.url()
    )
}

/// A provider of the `anthropic` component in front of `upstream`.
fn anthropic_provider(name: &str, upstream: &ReplayServer) -> String {
    format!(
        "[providers.{name}]\ncomponent = \"anthropic\"\nbase-url = \"{}\"\nsecrets = {{ api-key = \"env:{KEY_VARIABLE}\" }}\n",
        upstream.url()
    )
}

/// A public model served by one route, tried once: the gateway itself does
/// not retry, so every retry the upstream sees is the client's.
fn model(name: &str, provider: &str) -> String {
    format!("[models.{name}]\nroutes = [\"{provider}:upstream-model\"]\nretry = {{ attempts = 1 }}\n")
}

/// A recorded SSE answer (already framed), one chunk per event.
fn sse(text: &str) -> Reply {
    Reply::stream(text.split_inclusive("\n\n").map(|event| Bytes::copy_from_slice(event.as_bytes())).collect())
}

/// One of the demo's recorded answers (`turn1.sse`: text then a calculator
/// call; `turn2.sse`: the final text).
fn demo_answer(name: &str) -> String {
    std::fs::read_to_string(root().join("runtime/demo").join(name)).expect("the demo's recorded answer")
}

/// A recorded stream of `../shared/fixtures/wire/`, framed as its provider sends it.
fn fixture(fixtures: &std::path::Path, path: &str, framing: Framing) -> (String, Reply) {
    let text = std::fs::read_to_string(fixtures.join("wire").join(path)).expect("fixture");
    let chunks = cordon::replay::frame(&text, framing).expect("frames");
    (text, Reply::stream(chunks))
}

/// The request bodies an upstream received, as JSON.
fn bodies(requests: &[RecordedRequest]) -> Vec<Value> {
    requests.iter().map(|request| serde_json::from_slice(&request.body).expect("a JSON request body")).collect()
}

/// Run `tests/clients/openai_chat.mjs` with node and the pinned OpenAI Node client.
async fn run_node(base: &str, model: &str, mode: &str) -> Value {
    let modules = root().join(".tools/node/node_modules");
    assert!(
        modules.join("openai/package.json").exists(),
        "the OpenAI Node client is not in {}: run `cargo xtask test` (building the JavaScript guest installs tools/package.json)",
        modules.display()
    );
    let script = root().join("tests/clients/openai_chat.mjs").display().to_string();
    let args = vec![script, modules.display().to_string(), base.to_owned(), model.to_owned(), mode.to_owned()];
    run_client(PathBuf::from("node"), args).await
}

/// The OpenAI Node client's stream helper reads a stream with its usage
/// (`stream_options.include_usage`) and assembles the final completion,
/// which throws on any grammar error (a choice without `finish_reason`, a
/// tool call without its name); a whole answer; `NotFoundError` for an
/// unknown model.
#[tokio::test]
async fn the_openai_node_client_streams_and_answers_whole() {
    let upstream = ReplayServer::start(vec![sse(&demo_answer("turn1.sse"))]).await.expect("replay upstream");
    let served = served(&format!("{}{}", openai_provider("main", &upstream), model("fast", "main")));
    let seen = run_node(&served.base, "fast", "stream").await;

    let stream = &seen["stream"];
    assert_eq!(stream["text"], "I'll work it out exactly with the calculator.", "{seen}");
    assert_eq!(stream["finalText"], stream["text"], "the helper's final message holds the streamed text");
    assert_eq!(stream["calls"], json!([{"name": "calculator__evaluate", "arguments": "{\"expression\": \"187.40 * 1.15 / 3\"}"}]));
    assert_eq!(stream["finish"], "tool_calls");
    assert_eq!(stream["ids"], 1, "every chunk carries the same id");
    assert!(stream["usage"].as_u64().is_some_and(|total| total > 0), "the usage chunk was read: {seen}");
    assert_eq!(seen["whole"], json!({"text": "I'll work it out exactly with the calculator.", "calls": ["calculator__evaluate"], "finish": "tool_calls"}));
    assert_eq!(seen["missing"], json!({"class": "NotFoundError", "status": 404, "code": "model_not_found", "isNotFound": true}));

    let sent = bodies(&upstream.requests());
    assert_eq!(sent.len(), 2, "the unknown model never reached the upstream");
    assert_eq!(sent[0]["model"], "upstream-model", "the route's model is asked for");
    assert_eq!(sent[0]["stream"], true);
}

/// The tool the recorded call asks for, and what it answers.
const EXPRESSION: &str = "187.40 * 1.15 / 3";
const TOOL_RESULT: &str = "71.84";

/// The second upstream request of a Chat Completions tool round trip carries
/// the call the client got and the result it sent back, in OpenAI's wire format.
fn assert_openai_round_trip_on_the_wire(requests: &[RecordedRequest]) {
    let sent = bodies(requests);
    assert_eq!(sent.len(), 2, "two turns reached the upstream: {sent:#?}");
    assert_eq!(sent[0]["tools"][0]["function"]["name"], "calculator__evaluate", "the tool is offered: {}", sent[0]);
    let messages = sent[1]["messages"].as_array().expect("messages");
    let assistant = messages.iter().find(|m| m["role"] == "assistant").expect("the assistant's turn is sent back");
    assert_eq!(assistant["tool_calls"][0]["id"], "call_demo_1", "{}", sent[1]);
    assert_eq!(assistant["tool_calls"][0]["function"]["name"], "calculator__evaluate");
    let arguments: Value = serde_json::from_str(assistant["tool_calls"][0]["function"]["arguments"].as_str().unwrap_or_default())
        .expect("the call's arguments are JSON");
    assert_eq!(arguments, json!({"expression": EXPRESSION}));
    let tool = messages.iter().find(|m| m["role"] == "tool").expect("the tool's result is sent");
    assert_eq!((tool["tool_call_id"].as_str(), tool["content"].as_str()), (Some("call_demo_1"), Some(TOOL_RESULT)), "{}", sent[1]);
}

/// The OpenAI Python client: a streamed call to `calculator__evaluate`, run by
/// the client, its result sent back, and the second answer's text.
#[tokio::test]
async fn the_openai_python_client_does_a_tool_round_trip() {
    let upstream = ReplayServer::start(vec![sse(&demo_answer("turn1.sse")), sse(&demo_answer("turn2.sse"))]).await.expect("replay upstream");
    let served = served(&format!("{}{}", openai_provider("main", &upstream), model("fast", "main")));
    let seen = run_python("openai_roundtrip.py", &[&served.base, "fast", "tools"]).await;

    assert_eq!(seen["first"]["text"], "I'll work it out exactly with the calculator.");
    assert_eq!(seen["first"]["call"]["id"], "call_demo_1");
    assert_eq!(seen["first"]["call"]["name"], "calculator__evaluate");
    assert_eq!(seen["first"]["finish"], "tool_calls");
    assert_eq!(seen["result"], TOOL_RESULT);
    let second = seen["second"]["text"].as_str().unwrap_or_default();
    assert!(second.starts_with("Each of you pays €71.84"), "{seen}");
    assert_eq!((seen["second"]["calls"].as_u64(), seen["second"]["finish"].as_str()), (Some(0), Some("stop")));
    assert_openai_round_trip_on_the_wire(&upstream.requests());
}

/// The OpenAI Node client's `runTools` helper runs the requested tool itself,
/// sends the result back and streams the final answer.
#[tokio::test]
async fn the_openai_node_client_does_a_tool_round_trip() {
    let upstream = ReplayServer::start(vec![sse(&demo_answer("turn1.sse")), sse(&demo_answer("turn2.sse"))]).await.expect("replay upstream");
    let served = served(&format!("{}{}", openai_provider("main", &upstream), model("fast", "main")));
    let seen = run_node(&served.base, "fast", "tools").await;

    assert_eq!(seen["ran"], json!([{"expression": EXPRESSION, "result": TOOL_RESULT}]), "the helper ran the tool once: {seen}");
    let answer = seen["finalContent"].as_str().unwrap_or_default();
    assert!(answer.starts_with("Each of you pays €71.84"), "{seen}");
    let roles: Vec<&str> = seen["messages"].as_array().expect("messages").iter().filter_map(|m| m["role"].as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "tool", "assistant"], "{seen}");
    assert_openai_round_trip_on_the_wire(&upstream.requests());
}

/// The Anthropic Python client against the `anthropic` provider replaying
/// recorded Messages streams: a `tool_use` block, the client's `tool_result`
/// sent back (in Anthropic's wire format upstream), then the second answer.
#[tokio::test]
async fn the_anthropic_python_client_does_a_tool_round_trip() {
    let Some(fixtures) = shared_fixtures() else { return };
    let (_, tool_use) = fixture(&fixtures, "anthropic/anthropic-tool-no-args.chunks.txt", Framing::AnthropicSse);
    let (text, answer) = fixture(&fixtures, "anthropic/anthropic-text.chunks.txt", Framing::AnthropicSse);
    let expected: String = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|event| event["delta"]["text"].as_str().map(str::to_owned))
        .collect();
    let upstream = ReplayServer::start(vec![tool_use, answer]).await.expect("replay upstream");
    let served = served(&format!("{}{}", anthropic_provider("claude", &upstream), model("sonnet", "claude")));
    let seen = run_python("anthropic_roundtrip.py", &[served.base.trim_end_matches("/v1"), "sonnet", "updateIssueList"]).await;

    let id = "toolu_01QE1WLsSVp5hy5Q3GmGTmjP";
    assert_eq!(seen["first"]["text"], "I'll update the issue list for you.", "{seen}");
    assert_eq!(seen["first"]["tool"], json!({"id": id, "name": "updateIssueList", "input": {}}));
    assert_eq!((seen["first"]["uses"].as_u64(), seen["first"]["stop"].as_str()), (Some(1), Some("tool_use")));
    assert_eq!(seen["second"]["text"], expected.as_str(), "{seen}");
    assert_eq!(seen["second"]["stop"], "end_turn");

    let sent = bodies(&upstream.requests());
    assert_eq!(sent.len(), 2, "two turns reached the upstream");
    assert_eq!(sent[0]["tools"][0]["name"], "updateIssueList", "the tool is offered: {}", sent[0]);
    let messages = sent[1]["messages"].as_array().expect("messages");
    let blocks = |role: &str| -> Vec<Value> {
        messages.iter().filter(|m| m["role"] == role).flat_map(|m| m["content"].as_array().cloned().unwrap_or_default()).collect()
    };
    let tool_use = blocks("assistant").into_iter().find(|b| b["type"] == "tool_use").expect("the tool_use block is sent back");
    assert_eq!((tool_use["id"].as_str(), tool_use["name"].as_str()), (Some(id), Some("updateIssueList")), "{}", sent[1]);
    let result = blocks("user").into_iter().find(|b| b["type"] == "tool_result").expect("the tool_result block is sent");
    assert_eq!(result["tool_use_id"], id, "{}", sent[1]);
    assert!(result["content"].to_string().contains("3 issues updated"), "the result's text is carried: {result}");
}

/// Both OpenAI clients leaving a stream early (Node's `break` aborts the
/// request, Python's `close()` drops the connection) end the turn: the
/// gateway closes the upstream, which sees its never-ending reply abandoned.
#[tokio::test]
async fn a_client_leaving_a_stream_early_closes_the_upstream() {
    let delta = r#"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"la "},"finish_reason":null}]}"#;
    let mut endless = Reply { body: cordon::replay::ReplyBody::Endless(Bytes::from(format!("{delta}\n\n"))), ..Reply::stream(vec![]) };
    endless.chunk_delay = std::time::Duration::from_millis(5);
    let upstream = ReplayServer::start(vec![endless]).await.expect("replay upstream");
    let served = served(&format!("{}{}", openai_provider("main", &upstream), model("fast", "main")));

    let node = run_node(&served.base, "fast", "disconnect").await;
    let python = run_python("openai_roundtrip.py", &[&served.base, "fast", "disconnect"]).await;
    for seen in [&node, &python] {
        assert_eq!(seen["chunks"], 3, "{seen}");
        assert!(seen["received"].as_str().is_some_and(|text| text.starts_with("la la")), "{seen}");
    }
    // The clients have exited; the gateway notices each closed connection.
    for _ in 0..400 {
        if upstream.abandoned() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!((upstream.requests().len(), upstream.abandoned()), (2, 2), "both upstream replies were abandoned");
}

/// A recorded-looking answer whose text is a JSON object.
fn json_answer() -> Reply {
    let pieces = ["{\"city\":", "\"Oslo\",\"coun", "try\":\"Norway\",", "\"population\":709037}"];
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-j", "object": "chat.completion.chunk", "created": 1763700000, "model": "upstream-model",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let mut events = vec![chunk(json!({"role": "assistant", "content": ""}), Value::Null)];
    events.extend(pieces.iter().map(|piece| chunk(json!({"content": piece}), Value::Null)));
    events.push(chunk(json!({}), json!("stop")));
    let mut chunks: Vec<Bytes> = events.iter().map(|event| Bytes::from(format!("data: {event}\n\n"))).collect();
    chunks.push(Bytes::from_static(b"data: [DONE]\n\n"));
    Reply::stream(chunks)
}

/// JSON-schema output: both OpenAI clients' `parse` helpers send a
/// `json_schema` response format, it reaches the upstream as one, and the
/// answer parses into the schema's object.
#[tokio::test]
async fn json_schema_output_reaches_the_upstream_and_parses() {
    let upstream = ReplayServer::start(vec![json_answer()]).await.expect("replay upstream");
    let served = served(&format!("{}{}", openai_provider("main", &upstream), model("fast", "main")));
    let city = json!({"city": "Oslo", "country": "Norway", "population": 709037});

    let python = run_python("openai_roundtrip.py", &[&served.base, "fast", "json"]).await;
    assert_eq!((&python["parsed"], python["finish"].as_str()), (&city, Some("stop")), "{python}");
    let node = run_node(&served.base, "fast", "json").await;
    assert_eq!((&node["parsed"], node["finish"].as_str()), (&city, Some("stop")), "{node}");

    let sent = bodies(&upstream.requests());
    assert_eq!(sent.len(), 2);
    for body in &sent {
        let format = &body["response_format"];
        assert_eq!(format["type"], "json_schema", "{body}");
        assert_eq!(format["json_schema"]["name"], "City", "{body}");
        assert_eq!(format["json_schema"]["strict"], true);
        let required = format["json_schema"]["schema"]["required"].as_array().cloned().unwrap_or_default();
        assert_eq!(required.len(), 3, "the client's schema arrives whole: {body}");
        assert_eq!(format["json_schema"]["schema"]["properties"]["population"]["type"], "integer");
    }
}

/// One error case: the upstream's reply, the client's `max_retries`, whether
/// the request streams.
struct Case {
    name: &'static str,
    reply: Reply,
    retries: u32,
    stream: bool,
}

impl Case {
    fn new(name: &'static str, reply: Reply, retries: u32) -> Case {
        Case { name, reply, retries, stream: false }
    }

    fn streamed(mut self) -> Case {
        self.stream = true;
        self
    }
}

/// An OpenAI error body.
fn openai_error(status: u16, kind: &str, code: Option<&str>, message: &str) -> Reply {
    Reply::error(status, &json!({"error": {"message": message, "type": kind, "param": null, "code": code}}).to_string())
}

/// An Anthropic error body.
fn anthropic_error(status: u16, kind: &str, message: &str) -> Reply {
    Reply::error(status, &json!({"type": "error", "error": {"type": kind, "message": message}}).to_string())
}

/// An Anthropic stream that breaks off with an `overloaded_error` event after
/// its first text.
fn anthropic_cut_stream() -> Reply {
    let events = [
        json!({"type": "message_start", "message": {"id": "msg_cut", "type": "message", "role": "assistant", "model": "upstream-model",
            "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 3, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Partial"}}),
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ];
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    Reply::stream(cordon::replay::frame(&lines.join("\n"), Framing::AnthropicSse).expect("frames"))
}

/// Serve each case's reply from its own upstream, behind its own provider
/// (`component`) and model (named after the case), in one gateway; drive the
/// gateway with `client`'s errors script; return what the client saw and the
/// upstreams, by case name.
async fn error_cases(component: &str, client: &str, cases: Vec<Case>, extra: &[Value]) -> (Value, Vec<(&'static str, ReplayServer)>) {
    let mut config = String::new();
    let mut upstreams = Vec::new();
    let mut asked = extra.to_vec();
    for case in cases {
        let upstream = ReplayServer::start(vec![case.reply]).await.expect("replay upstream");
        let provider = format!("p-{}", case.name);
        config.push_str(&match component {
            "anthropic" => anthropic_provider(&provider, &upstream),
            _ => openai_provider(&provider, &upstream),
        });
        config.push_str(&model(case.name, &provider));
        asked.push(json!({"name": case.name, "model": case.name, "retries": case.retries, "stream": case.stream}));
        upstreams.push((case.name, upstream));
    }
    let served = served(&config);
    let base = if client == "anthropic" { served.base.trim_end_matches("/v1").to_owned() } else { served.base.clone() };
    let seen = run_python("errors.py", &[client, &base, &Value::Array(asked).to_string()]).await;
    drop(served);
    (seen, upstreams)
}

/// How many requests the upstream of `case` received.
fn attempts(upstreams: &[(&'static str, ReplayServer)], case: &str) -> usize {
    upstreams.iter().find(|(name, _)| *name == case).map_or(0, |(_, upstream)| upstream.requests().len())
}

/// Each upstream error reaches the OpenAI Python client as the gateway's
/// status, in OpenAI's error shape, and raises the client's own exception
/// class; `retry-after-ms` / `retry-after` set the client's wait; where a
/// retry cannot help the gateway says `x-should-retry: false` and the client
/// does not retry, even for a 429 (exhausted quota).
#[tokio::test]
async fn upstream_errors_raise_the_openai_clients_exception_classes() {
    let mid_stream = Reply::stream(vec![
        Bytes::from(r#"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Partial"},"finish_reason":null}]}"#.to_owned() + "\n\n"),
        Bytes::from(r#"data: {"error":{"message":"The server had an error while processing your request","type":"server_error","param":null,"code":null}}"#.to_owned() + "\n\n"),
    ]);
    let cases = vec![
        Case::new("bad-request", openai_error(400, "invalid_request_error", None, "Invalid value for 'temperature'"), 2),
        Case::new("context", openai_error(400, "invalid_request_error", Some("context_length_exceeded"), "This model's maximum context length is 128000 tokens"), 2),
        Case::new("auth", openai_error(401, "invalid_request_error", Some("invalid_api_key"), "Incorrect API key provided"), 2),
        Case::new("forbidden", openai_error(403, "permission_error", None, "Your key may not use this model"), 2),
        Case::new("gone", openai_error(404, "invalid_request_error", Some("model_not_found"), "The model 'upstream-model' does not exist"), 2),
        Case::new("too-large", openai_error(413, "invalid_request_error", None, "Request exceeds the maximum size"), 2),
        Case::new("unprocessable", openai_error(422, "invalid_request_error", None, "Unprocessable request"), 2),
        Case::new("limited", openai_error(429, "requests", Some("rate_limit_exceeded"), "Rate limit reached").header("retry-after-ms", "1500").header("retry-after", "2"), 1),
        Case::new("limited-seconds", openai_error(429, "requests", Some("rate_limit_exceeded"), "Rate limit reached").header("retry-after", "3"), 1),
        Case::new("quota", openai_error(429, "insufficient_quota", Some("insufficient_quota"), "You exceeded your current quota"), 2),
        Case::new("server", openai_error(500, "server_error", None, "The server had an error"), 1),
        Case::new("unavailable", openai_error(503, "server_error", None, "The service is temporarily unavailable"), 1),
        Case::new("overloaded", openai_error(529, "overloaded_error", None, "The model is overloaded"), 0),
        Case::new("limited-stream", openai_error(429, "requests", Some("rate_limit_exceeded"), "Rate limit reached").header("retry-after", "1"), 0).streamed(),
        Case::new("mid-stream", mid_stream, 0).streamed(),
    ];
    let unknown = json!({"name": "unknown-model", "model": "no-such-model", "retries": 2, "stream": false});
    let (seen, upstreams) = error_cases("openai", "openai", cases, &[unknown]).await;
    let case = |name: &str| seen[name].clone();
    let class = |name: &str| seen[name]["class"][0].as_str().unwrap_or("no exception").to_owned();

    for (name, expected, status) in [
        ("bad-request", "BadRequestError", 400),
        ("context", "BadRequestError", 400),
        ("auth", "AuthenticationError", 401),
        ("forbidden", "PermissionDeniedError", 403),
        ("gone", "NotFoundError", 404),
        ("unknown-model", "NotFoundError", 404),
        ("too-large", "APIStatusError", 413),
        ("unprocessable", "UnprocessableEntityError", 422),
        ("limited", "RateLimitError", 429),
        ("limited-seconds", "RateLimitError", 429),
        ("quota", "RateLimitError", 429),
        ("limited-stream", "RateLimitError", 429),
        ("server", "InternalServerError", 500),
        ("unavailable", "InternalServerError", 503),
        ("overloaded", "InternalServerError", 503),
    ] {
        assert_eq!((class(name), case(name)["status"].as_u64()), (expected.to_owned(), Some(status)), "{name}: {}", case(name));
        assert!(case(name)["request_id"].as_str().is_some_and(|id| id.starts_with("req_")), "{name}: x-request-id is read: {}", case(name));
    }
    assert_eq!(case("context")["code"], "context_length_exceeded");
    assert_eq!(case("gone")["code"], "model_not_found");
    assert_eq!(case("quota")["code"], "insufficient_quota");
    assert_eq!(case("overloaded")["type"], "overloaded_error");

    // Where a retry cannot help, the gateway says so and the client obeys:
    // one upstream request although the client may retry twice.
    for name in ["bad-request", "context", "auth", "forbidden", "gone", "too-large", "unprocessable", "quota"] {
        assert_eq!(case(name)["should_retry"], "false", "{name}: {}", case(name));
        assert_eq!((attempts(&upstreams, name), case(name)["waits"].clone()), (1, json!([])), "{name}: not retried");
    }
    // A 429 is retried after exactly the wait the gateway passed on:
    // `retry-after-ms` first, else `retry-after` (seconds).
    assert_eq!((case("limited")["retry_after_ms"].as_str(), case("limited")["retry_after"].as_str()), (Some("1500"), Some("2")));
    assert_eq!(case("limited")["waits"], json!([1.5]), "the client waited what retry-after-ms said");
    assert_eq!(case("limited-seconds")["retry_after"], "3");
    assert_eq!(case("limited-seconds")["waits"], json!([3.0]));
    assert_eq!(case("limited")["should_retry"], Value::Null, "a retry can help a rate limit");
    assert_eq!((attempts(&upstreams, "limited"), attempts(&upstreams, "limited-seconds")), (2, 2));
    // A server error is retried with the client's own backoff.
    for name in ["server", "unavailable"] {
        assert_eq!(case(name)["waits"].as_array().map(Vec::len), Some(1), "{name}: {}", case(name));
        assert_eq!(attempts(&upstreams, name), 2, "{name}");
    }
    // A streamed request that fails before its first event gets a real status;
    // one that fails after raises the error the stream carried.
    assert_eq!(case("limited-stream")["retry_after"], "1");
    assert_eq!(class("mid-stream"), "APIError", "{}", case("mid-stream"));
    assert_eq!(case("mid-stream")["received"], "Partial");
    assert!(case("mid-stream")["message"].as_str().is_some_and(|m| m.contains("The server had an error")), "{}", case("mid-stream"));
}

/// The same through `/v1/messages` with the Anthropic Python client, against
/// the `anthropic` provider answering in Anthropic's error shape: each status
/// raises the client's class, 529 its `OverloadedError`, and the client reads
/// `retry-after`.
#[tokio::test]
async fn upstream_errors_raise_the_anthropic_clients_exception_classes() {
    let cases = vec![
        Case::new("bad-request", anthropic_error(400, "invalid_request_error", "max_tokens: must be positive"), 2),
        Case::new("auth", anthropic_error(401, "authentication_error", "invalid x-api-key"), 2),
        Case::new("forbidden", anthropic_error(403, "permission_error", "Your key may not use this model"), 2),
        Case::new("gone", anthropic_error(404, "not_found_error", "model: upstream-model"), 2),
        Case::new("limited", anthropic_error(429, "rate_limit_error", "Number of requests has exceeded your rate limit").header("retry-after", "4"), 1),
        Case::new("too-large", anthropic_error(413, "request_too_large", "Request exceeds the maximum allowed number of bytes"), 2),
        Case::new("server", anthropic_error(500, "api_error", "Internal server error"), 1),
        Case::new("unavailable", anthropic_error(503, "api_error", "Service unavailable"), 1),
        Case::new("overloaded", anthropic_error(529, "overloaded_error", "Overloaded"), 1),
        Case::new("overloaded-stream", anthropic_error(529, "overloaded_error", "Overloaded"), 0).streamed(),
        Case::new("mid-stream", anthropic_cut_stream(), 0).streamed(),
    ];
    let unknown = json!({"name": "unknown-model", "model": "no-such-model", "retries": 2, "stream": false});
    let (seen, upstreams) = error_cases("anthropic", "anthropic", cases, &[unknown]).await;
    let case = |name: &str| seen[name].clone();
    let class = |name: &str| seen[name]["class"][0].as_str().unwrap_or("no exception").to_owned();

    for (name, expected, status, kind) in [
        ("bad-request", "BadRequestError", 400, "invalid_request_error"),
        ("auth", "AuthenticationError", 401, "authentication_error"),
        ("forbidden", "PermissionDeniedError", 403, "permission_error"),
        ("gone", "NotFoundError", 404, "not_found_error"),
        ("unknown-model", "NotFoundError", 404, "not_found_error"),
        ("limited", "RateLimitError", 429, "rate_limit_error"),
        ("too-large", "ContentTooLargeError", 413, "request_too_large"),
        ("server", "InternalServerError", 500, "api_error"),
        ("unavailable", "ServiceUnavailableError", 503, "api_error"),
        ("overloaded", "OverloadedError", 529, "overloaded_error"),
        ("overloaded-stream", "OverloadedError", 529, "overloaded_error"),
    ] {
        let seen = case(name);
        assert_eq!((class(name), seen["status"].as_u64(), seen["type"].as_str()), (expected.to_owned(), Some(status), Some(kind)), "{name}: {seen}");
    }
    assert!(seen["overloaded"]["class"].as_array().is_some_and(|bases| bases.contains(&json!("InternalServerError"))));
    assert!(case("auth")["request_id"].as_str().is_some_and(|id| id.starts_with("req_")), "the client reads request-id: {}", case("auth"));
    for name in ["bad-request", "auth", "forbidden", "gone", "too-large"] {
        assert_eq!((attempts(&upstreams, name), case(name)["waits"].clone()), (1, json!([])), "{name}: not retried");
    }
    // An error after the stream began is the stream's `error` event: the
    // client raises it (as a status error of the 200 answer) after the text.
    let cut = case("mid-stream");
    assert_eq!((class("mid-stream"), cut["type"].as_str(), cut["received"].as_str()), ("APIStatusError".to_owned(), Some("overloaded_error"), Some("Partial")), "{cut}");
    assert_eq!(case("limited")["retry_after"], "4");
    assert_eq!(case("limited")["waits"], json!([4.0]), "the client waited what retry-after said");
    assert_eq!((attempts(&upstreams, "limited"), attempts(&upstreams, "server"), attempts(&upstreams, "overloaded")), (2, 2, 2));
}

/// The gateway's own 413: a body over its default limit is refused before any turn,
/// as a status the client raises (not a cut connection), and not retried.
#[tokio::test]
async fn a_body_over_the_limit_is_a_413_the_client_raises() {
    let upstream = ReplayServer::start(vec![sse(&demo_answer("turn2.sse"))]).await.expect("replay upstream");
    let served = served(&format!("{}{}", openai_provider("main", &upstream), model("fast", "main")));
    // A message of the default limit's size alone puts the body over it.
    let size = cordon::serve::limits::DEFAULT_BODY_MIB << 20;
    let big = json!([{"name": "big", "model": "fast", "retries": 2, "stream": false, "big": size}]);
    let seen = run_python("errors.py", &["openai", &served.base, &big.to_string()]).await;
    assert_eq!((seen["big"]["class"][0].as_str(), seen["big"]["status"].as_u64()), (Some("APIStatusError"), Some(413)), "{seen}");
    assert_eq!(seen["big"]["should_retry"], "false");
    assert_eq!(seen["big"]["waits"], json!([]));
    assert!(upstream.requests().is_empty(), "nothing reached the upstream");
}

/// Replace the per-answer `id` and `created` of a Chat Completions stream.
fn normalize(stream: &str) -> String {
    let mut out = String::with_capacity(stream.len());
    for event in stream.split_inclusive("\n\n") {
        match event.strip_prefix("data: ").map(|data| data.trim_end()).and_then(|data| serde_json::from_str::<Value>(data).ok()) {
            Some(mut chunk) if chunk.get("id").is_some() => {
                chunk["id"] = json!("ID");
                chunk["created"] = json!(0);
                out.push_str(&format!("data: {chunk}\n\n"));
            }
            _ => out.push_str(event),
        }
    }
    out
}

/// 100 clients stream at once through one gateway; each body is byte for byte
/// the stream one client alone gets (but for each answer's `id` and
/// `created`), so no event is lost, doubled, reordered or mixed between streams.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_streams_are_each_byte_correct() {
    const CLIENTS: usize = 100;
    let mut reply = sse(&demo_answer("turn1.sse"));
    // Spread each answer out so the streams overlap.
    reply.chunk_delay = std::time::Duration::from_millis(5);
    let upstream = ReplayServer::start(vec![reply]).await.expect("replay upstream");
    let provider = openai_provider("main", &upstream) + "limits = { concurrent-turns = 128 }\n";
    let served = served(&format!("{provider}{}", model("fast", "main")));
    let client = cordon::tls::client_builder().build().expect("client");
    let url = format!("{}/chat/completions", served.base);
    let body = json!({"model": "fast", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "Split the bill three ways"}]})
    .to_string();
    let fetch = |client: reqwest::Client| {
        let (url, body) = (url.clone(), body.clone());
        async move {
            let response = client.post(url).header("content-type", "application/json").body(body).send().await.expect("a stream");
            assert_eq!(response.status(), 200);
            response.text().await.expect("the whole stream")
        }
    };

    let alone = fetch(client.clone()).await;
    assert!(alone.ends_with("data: [DONE]\n\n") && alone.contains("calculator__evaluate"), "{alone}");
    let expected = normalize(&alone);
    assert_ne!(expected, alone, "the id and created were normalized");

    let streams: Vec<_> = (0..CLIENTS).map(|_| tokio::spawn(fetch(client.clone()))).collect();
    let mut ids = std::collections::HashSet::new();
    for (number, stream) in streams.into_iter().enumerate() {
        let got = stream.await.expect("joins");
        assert_eq!(normalize(&got), expected, "stream {number} differs");
        let first: Value = serde_json::from_str(got.lines().next().and_then(|l| l.strip_prefix("data: ")).unwrap_or_default()).expect("JSON");
        ids.insert(first["id"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(ids.len(), CLIENTS, "each answer has its own id");
    assert_eq!(upstream.requests().len(), CLIENTS + 1);
    assert_eq!(upstream.abandoned(), 0, "every upstream reply was read to its end");
    let log = served.printed();
    assert!(!log.contains("panic"), "{log}");
}

/// Run `cordon serve --config` on `text` as a real process and return its
/// exit status and stderr, with the file's path.
fn refused_start(text: &str) -> (std::process::ExitStatus, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("gateway.toml");
    let head = format!("components = {:?}\n", components_dir().display().to_string());
    std::fs::write(&file, format!("{head}{text}")).expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cordon"))
        .arg("serve")
        .arg("--config")
        .arg(&file)
        .env("CORDON_LOG", "off")
        .env_remove("CORDON_SERVE_CLIENTS_SURELY_UNSET")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cordon serve runs");
    let mut stderr = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("reads stderr");
    let status = child.wait().expect("exits");
    (status, stderr, file.display().to_string())
}

/// A bad config file stops `cordon serve` before it listens: a non-zero exit,
/// and stderr names the file, the line, the key and how to fix it; every
/// problem of the file at once.
#[test]
fn a_bad_config_file_stops_the_start_with_file_line_key_and_fix() {
    let provider = "[providers.main]\ncomponent = \"openai\"\nbase-url = \"http://127.0.0.1:9/v1\"\n";
    // Line 1 is the `components` head.
    let unknown_key = format!("{provider}secret = {{ api-key = \"env:HOME\" }}\n");
    let (status, stderr, file) = refused_start(&unknown_key);
    assert!(!status.success(), "{stderr}");
    assert!(!stderr.contains("serves"), "it never listened: {stderr}");
    assert!(stderr.contains(&file) && stderr.contains("line 5"), "file and line: {stderr}");
    assert!(stderr.contains("unknown field `secret`") && stderr.contains("`secrets`"), "the key and the one meant: {stderr}");

    let several = format!(
        "listen = \"localhost-ish:80\"\n{provider}secrets = {{ api-key = \"env:CORDON_SERVE_CLIENTS_SURELY_UNSET\" }}\n\
         [models.fast]\nroutes = [\"nowhere:gpt-4.1\"]\n"
    );
    let (status, stderr, file) = refused_start(&several);
    assert!(!status.success(), "{stderr}");
    assert!(!stderr.contains("serves"), "it never listened: {stderr}");
    for (line, key, fix) in [
        (2, "listen", "write an address and port, such as \"127.0.0.1:8080\""),
        (6, "providers.main.secrets.api-key", "$CORDON_SERVE_CLIENTS_SURELY_UNSET is not set in the gateway's environment: set it"),
        (8, "models.fast.routes", "no provider `nowhere` in [providers] (there are: main)"),
    ] {
        let at = format!("{file}:{line}: `{key}`: ");
        assert!(stderr.lines().any(|l| l.contains(&at) && l.contains(fix)), "{at}… {fix} in:\n{stderr}");
    }
}
