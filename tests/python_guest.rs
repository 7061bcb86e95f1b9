//! The Python provider (`guests/openai-py`, built with componentize-py) against
//! the Rust one (`guests/openai`): for the same upstream stream both must give
//! the same events and the same result, and for the same request both must send
//! the same bytes. Then the sandbox: Python's own file, environment and socket
//! APIs give a guest nothing, and the host carries on.

use std::path::Path;
use std::time::Duration;

use cordon::replay::{Framing, RecordedRequest, Reply, ReplayServer, frame};
use cordon::{
    ErrorKind, Event, FilePart, FileSource, FinishReason, Message, Part, Provider, ProviderOptions,
    ReasoningEffort, ReasoningSettings, Request, ResponseFormat, Role, ToolCall, ToolChoice,
    ToolDefinition, ToolResult, TurnError, TurnResult,
};
use serde_json::{Value, json};

use crate::support::{normalized, normalized_result, own_fixture, run_turn, runtime, shared_fixtures, text_of};

const RUST: &str = "openai";
const PYTHON: &str = "openai-py";
const KEY: &str = "sk-python-guest-test";

/// What one provider did with one request and one upstream.
struct Run {
    events: Vec<Event>,
    result: Result<TurnResult, TurnError>,
    requests: Vec<RecordedRequest>,
}

/// The operator's options for `provider` against `server`, with the API key set.
fn options(server: &ReplayServer) -> ProviderOptions {
    ProviderOptions {
        base_url: Some(server.url()),
        secrets: [("api-key".to_owned(), KEY.to_owned())].into(),
        ..ProviderOptions::default()
    }
}

/// `provider` loaded against a fresh upstream answering `replies`, with the API key set.
async fn load(provider: &str, replies: Vec<Reply>) -> (ReplayServer, Provider) {
    let server = ReplayServer::start(replies).await.expect("replay server starts");
    let loaded = runtime().load_provider(provider, options(&server)).await.unwrap_or_else(|err| panic!("{provider} loads: {err}"));
    (server, loaded)
}

async fn run(provider: &str, replies: Vec<Reply>, request: Request) -> Run {
    let (server, loaded) = load(provider, replies).await;
    let (events, result) = run_turn(&loaded, request).await;
    Run { events, result, requests: server.requests() }
}

/// Run both providers on the same replies and request; assert they agree
/// exactly. Returns the Python run for further checks.
async fn same_in_both(what: &str, replies: Vec<Reply>, request: Request) -> Run {
    let rust = run(RUST, replies.clone(), request.clone()).await;
    let python = run(PYTHON, replies, request).await;
    assert!(
        matches!(rust.events.first(), Some(Event::StreamStart { served_by, .. }) if served_by.starts_with("openai@")),
        "{what}: the Rust provider served the turn"
    );
    assert!(
        matches!(python.events.first(), Some(Event::StreamStart { served_by, .. }) if served_by.starts_with("openai-py@")),
        "{what}: the Python provider served the turn: {:?}",
        python.events.first()
    );
    let (rust_events, python_events) = (normalized(&rust.events), normalized(&python.events));
    assert_eq!(python_events.len(), rust_events.len(), "{what}: number of events");
    for (at, (p, r)) in python_events.iter().zip(&rust_events).enumerate() {
        assert_eq!(p, r, "{what}: event {at} differs (left: Python, right: Rust)");
    }
    assert_eq!(normalized_result(&python.result), normalized_result(&rust.result), "{what}: results (left: Python)");
    assert_eq!(python.requests.len(), rust.requests.len(), "{what}: number of upstream requests");
    for (p, r) in python.requests.iter().zip(&rust.requests) {
        assert_eq!(p.method, r.method, "{what}: method");
        assert_eq!(p.path, r.path, "{what}: path");
        assert_eq!(
            String::from_utf8_lossy(&p.body),
            String::from_utf8_lossy(&r.body),
            "{what}: request body bytes (left: Python)"
        );
        for header in ["content-type", "accept", "authorization"] {
            assert_eq!(p.header(header), r.header(header), "{what}: header {header}");
        }
    }
    python
}

/// The fixture file as the replay server's chunks, framed as `openai_fixtures.rs` does.
fn framed(path: &Path) -> Vec<bytes::Bytes> {
    let text = std::fs::read_to_string(path).expect("fixture readable");
    let framing = if path.extension().is_some_and(|e| e == "sse") { Framing::Raw } else { Framing::OpenAiSse };
    frame(&text, framing).expect("framed")
}

// ----- (a) the recorded streams ------------------------------------------------------

#[tokio::test]
async fn recorded_streams_give_the_same_events_in_python_and_rust() {
    let Some(fixtures) = shared_fixtures() else { return };
    let dir = fixtures.join("wire/openai-chat");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("fixture folder").flatten().map(|e| e.path()).collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let python = same_in_both(&name, vec![Reply::stream(framed(&path))], Request::user("fixture-model", "hi")).await;
        // Not vacuous: the turn worked and produced output.
        let result = python.result.unwrap_or_else(|err| panic!("{name}: turn failed: {err}"));
        assert!(
            !result.text().is_empty() || !result.tool_calls().is_empty(),
            "{name}: the recording yields text or tool calls"
        );
        assert!(matches!(python.events.last(), Some(Event::Finish(_))), "{name}: finish is the last event");
        let recorded_usage = std::fs::read_to_string(&path).expect("fixture readable").contains("\"usage\":{");
        let reported_usage = python.events.iter().any(|e| matches!(e, Event::Usage(_)));
        assert_eq!(reported_usage, recorded_usage, "{name}: usage is reported when the recording has it");
    }
}

// ----- (b) the project's own fixtures and error answers ------------------------------

#[tokio::test]
async fn own_fixtures_give_the_same_events_in_python_and_rust() {
    let dir = crate::support::root().join("tests/fixtures/openai");
    let cases = [
        ("parallel-tool-calls.sse", None),
        ("mid-stream-error.sse", Some(ErrorKind::Server)),
        ("cut-before-done.sse", Some(ErrorKind::StreamProtocol)),
        ("invalid-json.sse", Some(ErrorKind::StreamProtocol)),
    ];
    for (name, error) in cases {
        let python = same_in_both(name, vec![Reply::stream(framed(&dir.join(name)))], Request::user("m", "hi")).await;
        match (error, &python.result) {
            (None, Ok(result)) => assert_eq!(result.tool_calls().len(), 2, "{name}: two parallel calls"),
            (Some(kind), Err(error)) => {
                assert_eq!(error.kind, kind, "{name}: error kind");
                assert!(error.output_streamed, "{name}: output came before the error");
                assert!(!text_of(&python.events).is_empty(), "{name}: the text before the error arrived");
            }
            (want, got) => panic!("{name}: expected {want:?}, got {got:?}"),
        }
    }
}

#[tokio::test]
async fn http_errors_are_classified_the_same_in_python_and_rust() {
    let cases = [
        ("401", Reply::error(401, &own_fixture("openai/401.json")), ErrorKind::Auth),
        ("429", Reply::error(429, &own_fixture("openai/429.json")).header("retry-after", "20"), ErrorKind::RateLimited),
        ("429 retry-after-ms", Reply::error(429, &own_fixture("openai/429.json")).header("retry-after-ms", "1500.5"), ErrorKind::RateLimited),
        ("500", Reply::error(500, &own_fixture("openai/500.json")), ErrorKind::Server),
        ("503 not JSON", Reply::error(503, "<html>upstream unavailable</html>"), ErrorKind::Server),
        (
            "429 quota",
            Reply::error(429, r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#),
            ErrorKind::Quota,
        ),
        ("404 numeric code", Reply::error(404, r#"{"error":{"message":"no such model","code":404}}"#), ErrorKind::ModelNotFound),
        ("413 long body", Reply::error(413, &format!("{{\"detail\":\"{}\"}}", "é".repeat(400))), ErrorKind::InvalidRequest),
    ];
    for (what, reply, kind) in cases {
        let python = same_in_both(what, vec![reply], Request::user("m", "hi")).await;
        let error = python.result.expect_err("the turn fails");
        assert_eq!(error.kind, kind, "{what}");
        assert!(error.status.is_some(), "{what}: the status is kept");
        assert!(error.body_excerpt.is_some(), "{what}: an excerpt of the body is kept");
        assert!(!error.output_streamed, "{what}");
    }
}

/// Odd but valid streams from OpenAI-compatible servers: Groq's usage, DeepSeek's
/// cache field, Mistral's content parts, tool-call variants, a second choice, a
/// stream that ends after its finish reason without `[DONE]`, and chunks that are
/// valid JSON of the wrong shape.
#[tokio::test]
async fn odd_streams_give_the_same_events_in_python_and_rust() {
    let streams: [(&str, &[&str], Option<ErrorKind>); 7] = [
        (
            "groq usage, content parts, reasoning field",
            &[
                r#"{"id":"a","model":"m","created":1,"choices":[{"index":0,"delta":{"reasoning":"think "}}]}"#,
                r#"{"id":"b","choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":[{"text":"more"},{}]},{"type":"text","text":"Hi"},{"type":"image","url":"x"}]}}]}"#,
                r#"{"choices":[{"index":1,"delta":{"content":"second choice, ignored"}},{"index":0,"delta":{"content":" there","reasoning_content":""},"finish_reason":"length"}]}"#,
                r#"{"choices":[],"usage":null,"x_groq":{"usage":{"prompt_tokens":3,"completion_tokens":4,"prompt_cache_hit_tokens":2}}}"#,
            ],
            None,
        ),
        (
            "tool-call variants",
            &[
                r#"{"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"id":"x1","function":{"name":"whole","arguments":"{\"a\":1}"}},{"function":{"name":"second"}}]}}]}"#,
                r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"x2","function":{"name":"again","arguments":"{}"}},{"index":1,"function":{"name":"","arguments":" "}}]}}]}"#,
                r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":7,"function":{"arguments":"{\"late\":true}"}}]}}]}"#,
                r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":7,"function":{"name":"named_late"}}]},"finish_reason":"stop"}]}"#,
                r#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"completion_tokens_details":{"reasoning_tokens":null}}}"#,
                "[DONE]",
            ],
            None,
        ),
        (
            "finish without [DONE], unknown finish reason",
            &[r#"{"id":"f","choices":[{"delta":{"content":"done"},"finish_reason":"something_new"}]}"#],
            None,
        ),
        (
            "wrong type in a chunk",
            &[r#"{"id":"w","choices":[{"index":0,"delta":{"content":"ok"}}]}"#, r#"{"id":"w","created":"yesterday","choices":[]}"#],
            Some(ErrorKind::StreamProtocol),
        ),
        ("content that is neither text nor parts", &[r#"{"choices":[{"index":0,"delta":{"content":42}}]}"#], Some(ErrorKind::StreamProtocol)),
        (
            "a usage object of the wrong shape",
            &[r#"{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}],"usage":{"prompt_tokens":-1}}"#],
            Some(ErrorKind::StreamProtocol),
        ),
        (
            "mid-stream error without a code",
            &[r#"{"choices":[{"index":0,"delta":{"content":"x"}}]}"#, r#"{"error":{"message":"context too long","type":"context_length_exceeded"}}"#],
            Some(ErrorKind::ContextLengthExceeded),
        ),
    ];
    for (what, chunks, error) in streams {
        let body: String = chunks.iter().map(|chunk| format!("data: {chunk}\n\n")).collect();
        let replies = vec![Reply::stream(frame(&body, Framing::Raw).expect("framed"))];
        match error {
            None => {
                let python = same_in_both(what, replies, Request::user("m", "hi")).await;
                assert!(python.result.is_ok(), "{what}: {:?}", python.result);
            }
            Some(kind) => {
                // Only the position in serde's wording of a wrongly typed chunk
                // (`at line 1 column N`) may differ: compare the rest exactly.
                let rust = run(RUST, replies.clone(), Request::user("m", "hi")).await;
                let python = run(PYTHON, replies, Request::user("m", "hi")).await;
                let (p, r) = (without_positions(&python.events), without_positions(&rust.events));
                assert_eq!(p, r, "{what}: events (left: Python)");
                let Some(Event::Error(error)) = python.events.last() else { panic!("{what}: ends in an error: {:?}", python.events) };
                assert_eq!(error.kind, kind, "{what}");
                assert_eq!(python.result.as_ref().err(), Some(error), "{what}: the result carries the same error");
            }
        }
    }
}

/// The events, normalized, with serde's `at line L column C` cut out of error messages.
fn without_positions(events: &[Event]) -> Vec<Event> {
    normalized(events)
        .into_iter()
        .map(|event| match event {
            Event::Error(mut error) => {
                let mut message = String::new();
                let mut rest = error.message.as_str();
                while let Some(at) = rest.find(" at line ") {
                    message.push_str(&rest[..at]);
                    let tail = &rest[at + " at line ".len()..];
                    let tail = tail.trim_start_matches(|c: char| c.is_ascii_digit());
                    let tail = tail.strip_prefix(" column ").unwrap_or(tail);
                    rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
                }
                message.push_str(rest);
                error.message = message;
                Event::Error(error)
            }
            other => other,
        })
        .collect()
}

/// The SSE decoder handles every split point: the stream arrives a few bytes at
/// a time, with CRLF and CR line ends, comments, a multi-line `data:` field,
/// multi-byte characters cut in half and an invalid UTF-8 byte.
#[tokio::test]
async fn a_stream_cut_into_tiny_pieces_gives_the_same_events() {
    let mut body: Vec<u8> = Vec::new();
    body.extend_from_slice(b": keep-alive\r\n\r\n");
    body.extend_from_slice("data: {\"id\":\"s\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"caf\u{e9} \u{1F600} \"}}]}\r\n\r\n".as_bytes());
    body.extend_from_slice(b"event: message\rdata: {\"choices\":[{\"index\":0,\r");
    body.extend_from_slice(b"data: \"delta\":{\"content\":\"two lines\"}}]}\r\r");
    body.extend_from_slice(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" bad \xff byte\"},\"finish_reason\":\"stop\"}]}\n\n");
    body.extend_from_slice(b"data: [DONE]");
    let pieces: Vec<bytes::Bytes> = body.chunks(3).map(bytes::Bytes::copy_from_slice).collect();
    let mut reply = Reply::stream(pieces);
    reply.chunk_delay = Duration::from_millis(1);
    let python = same_in_both("tiny pieces", vec![reply], Request::user("m", "hi")).await;
    let result = python.result.expect("the turn works");
    assert_eq!(result.text(), "caf\u{e9} \u{1F600} two lines bad \u{FFFD} byte");
}

// ----- (c) the request the upstream receives -------------------------------------------

fn rich_request() -> Request {
    let mut request = Request::user("gpt-test", "ignored");
    request.messages = vec![
        Message::system("You are terse. \"Quotes\", tabs\t, newlines\n, unicode \u{e9}\u{1F600} and \u{1} control."),
        Message {
            role: Role::User,
            parts: vec![
                Part::Text { text: "What is in these?".into() },
                Part::File(FilePart { media_type: "image/png".into(), source: FileSource::Bytes(vec![0, 1, 2, 250, 251, 252, 253]), filename: None }),
                Part::File(FilePart { media_type: "image/jpeg".into(), source: FileSource::Url("https://example.com/a.jpg".into()), filename: Some("a.jpg".into()) }),
            ],
        },
        Message {
            role: Role::Assistant,
            parts: vec![
                Part::Text { text: "Let me look.".into() },
                Part::ToolCall(ToolCall { id: "call_1".into(), name: "lookup".into(), arguments: r#"{"q":"x"}"#.into() }),
            ],
        },
        Message {
            role: Role::Assistant,
            parts: vec![Part::ToolCall(ToolCall { id: "call_2".into(), name: "lookup".into(), arguments: "{}".into() })],
        },
        Message {
            role: Role::Tool,
            parts: vec![
                Part::ToolResult(ToolResult { call_id: "call_1".into(), name: "lookup".into(), output: "{\"found\":1.5e-7}".into(), is_error: false }),
                Part::ToolResult(ToolResult { call_id: "call_2".into(), name: "lookup".into(), output: "nothing".into(), is_error: true }),
            ],
        },
        Message::user("thanks"),
    ];
    request.sampling.max_output_tokens = Some(321);
    request.sampling.temperature = Some(0.7);
    request.sampling.top_p = Some(0.9);
    request.sampling.top_k = Some(40);
    request.sampling.presence_penalty = Some(-0.25);
    request.sampling.frequency_penalty = Some(1e-6);
    request.sampling.stop_sequences = vec!["STOP".into(), "\n\n".into()];
    request.sampling.seed = Some(-42);
    request.reasoning = Some(ReasoningSettings { effort: Some(ReasoningEffort::High), budget_tokens: Some(1000), include_thoughts: None });
    request.response_format = Some(ResponseFormat::Json {
        schema: Some(json!({"type": "object", "properties": {"n": {"type": "number", "minimum": 0.5, "maximum": 1e20}}, "required": ["n"]})),
        name: None,
        description: Some("a number".into()),
    });
    request.tools = vec![
        ToolDefinition {
            name: "lookup".into(),
            description: "Look something up".into(),
            parameters: json!({"type": "object", "properties": {"q": {"type": "string", "maxLength": 100}, "big": {"default": 18446744073709551615u64}}}),
        },
        ToolDefinition { name: "noop".into(), description: String::new(), parameters: json!({}) },
    ];
    request.tool_choice = Some(ToolChoice::Named("lookup".into()));
    request.parallel_tool_calls = Some(false);
    // Each provider merges its own entry into the body.
    request.provider_options = Some(json!({
        "openai": {"user": "u-1", "metadata": {"k": "v"}},
        "openai-py": {"user": "u-1", "metadata": {"k": "v"}},
        "other": {"ignored": true},
    }));
    request
}

#[tokio::test]
async fn both_providers_send_the_same_request_body() {
    let stream = || vec![Reply::stream(framed(&crate::support::root().join("tests/fixtures/openai/parallel-tool-calls.sse")))];
    let python = same_in_both("rich request", stream(), rich_request()).await;
    // Not vacuous: the body carries what the request asked for.
    let sent = &python.requests[0];
    assert_eq!(sent.path, "/chat/completions");
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {KEY}").as_str()), "the host added the named secret");
    let body: Value = serde_json::from_slice(&sent.body).expect("JSON body");
    assert_eq!(body["messages"].as_array().map(Vec::len), Some(7), "system, user, 2 assistant, 2 tool results, user");
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["content"][1]["image_url"]["url"], "data:image/png;base64,AAEC+vv8/Q==");
    assert_eq!(body["messages"][3]["content"], Value::Null);
    assert_eq!(body["messages"][4]["tool_call_id"], "call_1");
    assert_eq!(body["max_tokens"], 321, "a local base URL takes max_tokens");
    assert_eq!(body["seed"], -42);
    assert_eq!(body["reasoning_effort"], "high");
    assert_eq!(body["response_format"]["json_schema"]["name"], "response");
    assert_eq!(body["tool_choice"]["function"]["name"], "lookup");
    assert_eq!(body["parallel_tool_calls"], false);
    assert_eq!(body["user"], "u-1");
    assert!(body.get("top_k").is_none() && body.get("ignored").is_none());
    assert_eq!(body["stream_options"]["include_usage"], true);
    let Some(Event::StreamStart { warnings, .. }) = python.events.first() else { panic!("stream-start first") };
    let settings: Vec<_> = warnings.iter().map(|w| w.setting.as_deref().unwrap_or("")).collect();
    assert_eq!(settings, ["top-k", "reasoning.budget-tokens"]);

    // Provider options that are not an object: a warning from both, same wording.
    let mut odd = Request::user("m", "hi");
    odd.provider_options = Some(json!(["not", "an", "object"]));
    odd.response_format = Some(ResponseFormat::Json { schema: None, name: None, description: None });
    odd.tool_choice = Some(ToolChoice::Required);
    let python = same_in_both("odd options", stream(), odd).await;
    let Some(Event::StreamStart { warnings, .. }) = python.events.first() else { panic!("stream-start first") };
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].setting.as_deref(), Some("provider-options"));
}

/// Configuration is checked and kept the same way: the same `info` (but the
/// name), the same refusals, the same effect of `max_tokens_field` and of the
/// default model.
#[tokio::test]
async fn configuration_is_handled_the_same_in_python_and_rust() {
    let server = ReplayServer::start(vec![Reply::error(500, "unused")]).await.expect("replay server starts");
    let (rust, python) = (
        runtime().load_provider(RUST, options(&server)).await.expect("loads"),
        runtime().load_provider(PYTHON, options(&server)).await.expect("loads"),
    );
    let (r, p) = (rust.info(), python.info());
    assert_eq!((r.name.as_str(), p.name.as_str()), ("openai", "openai-py"));
    assert_eq!((&p.version, &p.models, &p.default_model, &p.supported_settings), (&r.version, &r.models, &r.default_model, &r.supported_settings));
    assert_eq!(format!("{:?}", p.capabilities), format!("{:?}", r.capabilities));

    let refused = |provider: &'static str, base_url: &str, options: Value| {
        let mut config = ProviderOptions { base_url: Some(base_url.to_owned()), ..ProviderOptions::default() };
        config.options = Some(options);
        async move {
            match runtime().load_provider(provider, config).await {
                Err(cordon::Error::Init { error, .. }) => error,
                Err(other) => panic!("{provider}: expected an init error, got {other}"),
                Ok(_) => panic!("{provider}: the configuration was accepted"),
            }
        }
    };
    let url = server.url();
    // (A base URL that is not http(s) is refused by the host before either guest sees it.)
    let cases = [
        (url.as_str(), json!({ "max_tokens_field": "tokens" })),
        (url.as_str(), json!({ "max_tokens_field": 7 })),
        (url.as_str(), json!({ "unknown": true })),
    ];
    for (base_url, config) in cases {
        let (r, p) = (refused(RUST, base_url, config.clone()).await, refused(PYTHON, base_url, config.clone()).await);
        assert_eq!(p.kind, ErrorKind::Config, "{config}");
        assert_eq!(p.kind, r.kind, "{config}");
        // The Python provider names itself in "invalid openai-py options"; serde adds a position.
        let p_message = without_positions(&[Event::Error(p)]);
        let r_message = without_positions(&[Event::Error(r)]);
        let as_text = |events: &[Event]| match events.first() {
            Some(Event::Error(e)) => e.message.replace("openai-py options", "openai options"),
            _ => String::new(),
        };
        assert_eq!(as_text(&p_message), as_text(&r_message), "{config}");
    }

    // `max_tokens_field` and the default model reach the body the same way.
    let stream = || vec![Reply::stream(framed(&crate::support::root().join("tests/fixtures/openai/parallel-tool-calls.sse")))];
    let mut bodies = Vec::new();
    for provider in [RUST, PYTHON] {
        let server = ReplayServer::start(stream()).await.expect("replay server starts");
        let mut config = options(&server);
        config.default_model = Some("configured-model".into());
        config.options = Some(json!({ "max_tokens_field": "max_completion_tokens" }));
        let loaded = runtime().load_provider(provider, config).await.expect("loads");
        let mut request = Request::user("", "hi");
        request.sampling.max_output_tokens = Some(5);
        let (_, result) = run_turn(&loaded, request).await;
        result.unwrap_or_else(|err| panic!("{provider}: {err}"));
        bodies.push(server.requests()[0].body.clone());
    }
    assert_eq!(String::from_utf8_lossy(&bodies[1]), String::from_utf8_lossy(&bodies[0]), "left: Python");
    let body: Value = serde_json::from_slice(&bodies[1]).expect("JSON");
    assert_eq!((&body["model"], &body["max_completion_tokens"]), (&json!("configured-model"), &json!(5)));

    // No model anywhere: the same refusal, before anything is sent.
    let (rust, python) = (run(RUST, stream(), Request::user("", "hi")).await, run(PYTHON, stream(), Request::user("", "hi")).await);
    let (r, p) = (rust.result.expect_err("refused"), python.result.expect_err("refused"));
    assert_eq!((p.kind, &p.message), (ErrorKind::Config, &r.message));
    assert!(python.requests.is_empty() && rust.requests.is_empty());
}

// ----- (d) the sandbox ----------------------------------------------------------------------

#[tokio::test]
async fn python_standard_library_reaches_nothing_and_the_host_carries_on() {
    // The host itself has an environment and an /etc/passwd, so "nothing" below
    // is the sandbox's doing.
    assert!(std::env::vars_os().next().is_some(), "the test process has environment variables");
    let passwd_on_host = Path::new("/etc/passwd").exists();
    let marker = std::env::temp_dir().join("openai-py-probe.txt");
    let _ = std::fs::remove_file(&marker);

    let parallel = framed(&crate::support::root().join("tests/fixtures/openai/parallel-tool-calls.sse"));
    let (server, provider) = load(PYTHON, vec![Reply::stream(parallel)]).await;
    let mut request = Request::user("m", "probe the sandbox");
    request.provider_options = Some(json!({ "openai-py": { "probe": true } }));
    let (events, result) = run_turn(&provider, request).await;
    let result = result.unwrap_or_else(|err| panic!("the probe turn works: {err}"));
    assert!(server.requests().is_empty(), "the probe called no upstream");
    eprintln!("probe report: {}", result.text());
    let report: Value = serde_json::from_str(&result.text()).unwrap_or_else(|err| panic!("probe report is JSON ({err}): {}", result.text()));
    assert_eq!(text_of(&events), result.text());

    assert_eq!(report["environ"], json!({}), "no environment variables: {report}");
    assert_eq!(report["argv"], json!([]), "no arguments: {report}");
    let failed = |what: &str| {
        let finding = &report[what];
        assert_eq!(finding["ok"], false, "{what} must fail in the sandbox: {finding}");
        assert!(finding["detail"].as_str().is_some_and(|d| !d.is_empty()), "{what}: a reason: {finding}");
    };
    failed("read_etc_passwd");
    failed("list_root");
    failed("write_tmp");
    // Python's socket module is there (imported at build time): the failures
    // below are the host refusing, not a module missing from the snapshot.
    assert_eq!(report["socket_module"], "imported", "{report}");
    for what in ["socket_create", "socket_connect_upstream", "resolve_localhost"] {
        failed(what);
        let detail = report[what]["detail"].as_str().unwrap_or("");
        assert!(
            !["ImportError", "ModuleNotFoundError", "LookupError", "AttributeError"].iter().any(|e| detail.starts_with(e)),
            "{what} must be refused by the host, not fail inside Python: {detail}"
        );
    }
    assert!(report["upstream"].as_str().is_some_and(|u| server.url().ends_with(u)), "the probe aimed at the live upstream: {report}");
    if passwd_on_host {
        assert!(Path::new("/etc/passwd").exists());
    }
    assert!(!marker.exists(), "the guest wrote no file on the host");

    // The host is unharmed: the same provider serves a normal turn next.
    let (events, result) = run_turn(&provider, Request::user("m", "weather and time")).await;
    let result = result.expect("a normal turn after the probe works");
    assert_eq!(result.tool_calls().len(), 2);
    assert_eq!(result.finish.reason, FinishReason::ToolCalls);
    assert!(matches!(events.last(), Some(Event::Finish(_))));
    assert_eq!(server.requests().len(), 1, "the normal turn called the upstream");
}
