//! The JavaScript provider (`guests/anthropic-js`, built with jco) against the
//! Rust one (`guests/anthropic`): for the same upstream stream both must give
//! the same events and the same result, for the same request both must send the
//! same bytes, and HTTP and mid-stream errors must be classified the same. Then
//! the sandbox: what StarlingMonkey offers a guest (environment, `fetch`,
//! module loading) gives it nothing, and the host carries on.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cordon::replay::{Framing, RecordedRequest, Reply, ReplayServer, frame};
use cordon::{
    ErrorKind, Event, FilePart, FileSource, FinishReason, Message, Part, Provider, ProviderOptions,
    ReasoningEffort, ReasoningPart, ReasoningSettings, Request, ResponseFormat, Role, Sampling, ToolCall,
    ToolChoice, ToolDefinition, ToolResult, TurnError, TurnResult, WarningKind,
};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::support::{normalized, normalized_result, run_turn, runtime, shared_fixtures, text_of};

const RUST: &str = "anthropic";
const JS: &str = "anthropic-js";
const KEY: &str = "sk-ant-js-guest-test-key";

/// What one provider did with one request and one upstream.
struct Run {
    events: Vec<Event>,
    result: Result<TurnResult, TurnError>,
    requests: Vec<RecordedRequest>,
}

/// Compile the JavaScript component once (about 10 s), before the tests that
/// load it run in parallel; later loads read the compiled cache.
async fn warm() {
    static WARM: OnceCell<()> = OnceCell::const_new();
    WARM.get_or_init(|| async {
        runtime().inspect(JS).await.unwrap_or_else(|err| panic!("{JS} compiles: {err}"));
    })
    .await;
}

/// `provider` against a fresh upstream answering `replies`, with the API key set.
async fn load(provider: &str, replies: Vec<Reply>) -> (ReplayServer, Provider) {
    warm().await;
    let server = ReplayServer::start(replies).await.expect("replay server starts");
    let options = ProviderOptions {
        base_url: Some(server.url()),
        default_model: Some("claude-default-x".into()),
        secrets: [("api-key".to_owned(), KEY.to_owned())].into(),
        ..ProviderOptions::default()
    };
    let loaded = runtime().load_provider(provider, options).await.unwrap_or_else(|err| panic!("{provider} loads: {err}"));
    (server, loaded)
}

async fn run(provider: &str, replies: Vec<Reply>, request: Request) -> Run {
    let (server, loaded) = load(provider, replies).await;
    let (events, result) = run_turn(&loaded, request).await;
    Run { events, result, requests: server.requests() }
}

/// Run both providers on the same replies and request and assert they agree
/// exactly: events, result, and the request the upstream received. Returns the
/// JavaScript run.
async fn same_in_both(what: &str, replies: Vec<Reply>, request: Request) -> Run {
    let rust = run(RUST, replies.clone(), request.clone()).await;
    let js = run(JS, replies, request).await;
    assert!(
        matches!(rust.events.first(), Some(Event::StreamStart { served_by, .. }) if served_by.starts_with("anthropic@")),
        "{what}: the Rust provider served the turn"
    );
    assert!(
        matches!(js.events.first(), Some(Event::StreamStart { served_by, .. }) if served_by.starts_with("anthropic-js@")),
        "{what}: the JavaScript provider served the turn: {:?}",
        js.events.first()
    );
    let (rust_events, js_events) = (normalized(&rust.events), normalized(&js.events));
    for (at, (j, r)) in js_events.iter().zip(&rust_events).enumerate() {
        assert_eq!(j, r, "{what}: event {at} differs (left: JavaScript, right: Rust)");
    }
    assert_eq!(js_events.len(), rust_events.len(), "{what}: number of events");
    assert_eq!(normalized_result(&js.result), normalized_result(&rust.result), "{what}: results (left: JavaScript)");
    assert_same_requests(what, &js.requests, &rust.requests);
    js
}

/// The upstream received the same requests, byte for byte (headers but `host`).
fn assert_same_requests(what: &str, js: &[RecordedRequest], rust: &[RecordedRequest]) {
    assert_eq!(js.len(), rust.len(), "{what}: number of upstream requests");
    for (j, r) in js.iter().zip(rust) {
        assert_eq!((&j.method, &j.path), (&r.method, &r.path), "{what}: method and path");
        assert_eq!(String::from_utf8_lossy(&j.body), String::from_utf8_lossy(&r.body), "{what}: body bytes (left: JavaScript)");
        let headers = |request: &RecordedRequest| {
            let mut headers: Vec<_> = request.headers.iter().filter(|(name, _)| name != "host").cloned().collect();
            headers.sort();
            headers
        };
        assert_eq!(headers(j), headers(r), "{what}: headers (left: JavaScript)");
        assert_eq!(j.header("x-api-key"), Some(KEY), "{what}: the host added the API key");
        assert_eq!(j.header("anthropic-version"), Some("2023-06-01"), "{what}: API version header");
    }
}

/// One event JSON a line, framed as Anthropic sends it (`event:` + `data:`).
fn sse(lines: &[&str]) -> Vec<Bytes> {
    frame(&lines.join("\n"), Framing::AnthropicSse).expect("framed")
}

fn stream(lines: &[&str]) -> Reply {
    Reply::stream(sse(lines))
}

const START: &str = r#"{"type":"message_start","message":{"id":"msg_js","type":"message","role":"assistant","model":"claude-x-1","content":[],"stop_reason":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":100,"output_tokens":1}}}"#;
const END_TURN: &str = r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9}}"#;
const STOP: &str = r#"{"type":"message_stop"}"#;

fn hi() -> Request {
    Request::user("claude-x", "hi")
}

// ----- (a) the recorded streams ------------------------------------------------------

/// `chunks` joined and cut again into pieces of `size` bytes.
fn recut(chunks: &[Bytes], size: usize) -> Vec<Bytes> {
    let whole: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
    whole.chunks(size).map(Bytes::copy_from_slice).collect()
}

#[tokio::test]
async fn recorded_streams_give_the_same_events_in_javascript_and_rust() {
    let Some(fixtures) = shared_fixtures() else { return };
    let dir = fixtures.join("wire/anthropic");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("fixture folder").flatten().map(|e| e.path()).collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let text = std::fs::read_to_string(&path).expect("fixture readable");
        let chunks = frame(&text, Framing::AnthropicSse).expect("framed");
        let js = same_in_both(&name, vec![Reply::stream(chunks.clone())], hi()).await;
        // Not vacuous: the turn worked, produced output, and ended with a finish.
        let result = js.result.as_ref().unwrap_or_else(|err| panic!("{name}: turn failed: {err}"));
        assert!(result.finish.raw.is_some() && result.response_id.is_some(), "{name}: a stop reason and a response id");
        assert!(matches!(js.events.last(), Some(Event::Finish(_))), "{name}: finish is the last event");
        assert!(js.events.iter().any(|e| matches!(e, Event::Usage(u) if u.raw.is_some())), "{name}: usage with its raw object");

        // The same stream in 7-byte pieces, arriving one by one: every event and
        // UTF-8 character is split somewhere, and the events do not change.
        let mut dripped = Reply::stream(recut(&chunks, 7));
        dripped.chunk_delay = Duration::from_micros(300);
        let split = run(JS, vec![dripped], hi()).await;
        assert_eq!(normalized(&split.events), normalized(&js.events), "{name}: the same events from a stream cut in 7-byte pieces");
    }
}

#[tokio::test]
async fn line_endings_and_split_points_do_not_change_the_events() {
    // A stream with CRLF line ends, a comment, an `id:` field, multi-byte text,
    // and pieces that end between CR and LF and inside a character.
    let lines = [START, r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Grüße, 世界 🌍!"}}"#,
        r#"{"type":"content_block_stop","index":0}"#, END_TURN, STOP];
    let lf: Vec<u8> = sse(&lines).iter().flat_map(|c| c.iter().copied()).collect();
    let crlf = String::from_utf8(lf.clone()).expect("utf-8").replace('\n', "\r\n");
    let crlf = format!(": a comment\r\nid: 7\r\n{crlf}");
    let bytes = crlf.as_bytes();
    let cr_at = bytes.iter().position(|&b| b == b'\r').expect("a CR") + 1;
    let emoji_at = crlf.find('🌍').expect("emoji") + 2;
    let pieces = vec![
        Bytes::copy_from_slice(&bytes[..cr_at]),
        Bytes::copy_from_slice(&bytes[cr_at..emoji_at]),
        Bytes::copy_from_slice(&bytes[emoji_at..]),
    ];
    let mut reply = Reply::stream(pieces);
    reply.chunk_delay = Duration::from_millis(30);
    let js = same_in_both("CRLF, split inside CRLF and inside a character", vec![reply], hi()).await;
    assert_eq!(text_of(&js.events), "Grüße, 世界 🌍!");
    let cr_only = String::from_utf8(lf).expect("utf-8").replace('\n', "\r");
    let js = same_in_both("CR line ends", vec![Reply::stream(vec![Bytes::from(cr_only)])], hi()).await;
    assert_eq!(text_of(&js.events), "Grüße, 世界 🌍!");
}

// ----- (b) hand-written streams and errors --------------------------------------------

#[tokio::test]
async fn tool_use_thinking_and_usage_are_the_same_in_javascript_and_rust() {
    let reply = stream(&[
        START,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me "}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"check."}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM"}}"#,
        r#"{"type":"content_block_stop","index":0}"#,
        r#"{"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"EnCrYpTeD"}}"#,
        r#"{"type":"content_block_stop","index":1}"#,
        r#"{"type":"ping"}"#,
        r#"{"type":"content_block_start","index":2,"content_block":{"type":"text","text":"Checking "}}"#,
        r#"{"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"the weather."}}"#,
        r#"{"type":"content_block_delta","index":2,"delta":{"type":"citations_delta","citation":{"type":"x"}}}"#,
        r#"{"type":"content_block_stop","index":2}"#,
        r#"{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{}}}"#,
        r#"{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":""}}"#,
        r#"{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Os"}}"#,
        r#"{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"lo\", \"days\": [1, 2.50]}"}}"#,
        r#"{"type":"content_block_stop","index":3}"#,
        r#"{"type":"content_block_start","index":4,"content_block":{"type":"tool_use","id":"toolu_02","name":"prefilled","input":{"z":1.0,"a":[1e2,-0,{"y":null,"b":"\u00e9"}]}}}"#,
        r#"{"type":"content_block_stop","index":4}"#,
        r#"{"type":"content_block_start","index":5,"content_block":{"type":"tool_use","id":"toolu_03","name":"no_args","input":{}}}"#,
        r#"{"type":"content_block_delta","index":5,"delta":{"type":"input_json_delta","partial_json":"  "}}"#,
        r#"{"type":"content_block_stop","index":5}"#,
        r#"{"type":"content_block_start","index":6,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}"#,
        r#"{"type":"content_block_stop","index":6}"#,
        r#"{"type":"some_future_event","anything":[1,2,3]}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":12,"output_tokens":87,"server_tool_use":{"web_search_requests":1}}}"#,
        STOP,
    ]);
    let js = same_in_both("tool use, thinking, redacted thinking", vec![reply], hi()).await;
    let result = js.result.expect("the turn succeeds");
    let calls: Vec<_> = result.tool_calls().iter().map(|c| (c.id.as_str(), c.arguments.as_str())).collect();
    assert_eq!(
        calls,
        [
            ("toolu_01", r#"{"city": "Oslo", "days": [1, 2.50]}"#),
            ("toolu_02", r#"{"a":[100.0,-0.0,{"b":"é","y":null}],"z":1.0}"#),
            ("toolu_03", "{}"),
        ],
        "fragments joined as sent; a prefilled input rewritten as serde_json writes it; blank input is {{}}"
    );
    let deltas: Vec<_> = js.events.iter().filter(|e| matches!(e, Event::ToolCallDelta { .. })).collect();
    assert_eq!(deltas.len(), 3, "empty fragments are not events");
    assert_eq!(result.finish.reason, FinishReason::ToolCalls);
    assert_eq!(result.reasoning(), "Let me check.");
    assert_eq!(result.usage.input_tokens, Some(12 + 5 + 100), "a revised input count replaces the first, cache tokens added");
    assert_eq!(result.usage.output_tokens, Some(87));
    assert_eq!(result.usage.raw.as_ref().and_then(|raw| raw.get("server_tool_use")), Some(&json!({"web_search_requests": 1})));
    assert!(js.events.iter().any(|e| matches!(e, Event::ReasoningDelta { redacted: Some(data), .. } if data == "EnCrYpTeD")));
    assert!(js.events.iter().any(|e| matches!(e, Event::ReasoningDelta { signature: Some(s), .. } if s == "EqQBCgIYAhIM")));
}

#[tokio::test]
async fn mid_stream_errors_and_cut_streams_are_the_same_in_javascript_and_rust() {
    let text_block = r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Partial"}}"#;
    let overloaded = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let cases: [(&str, Vec<&str>, ErrorKind, bool); 5] = [
        ("overloaded mid-stream", vec![START, text_block, overloaded], ErrorKind::Overloaded, true),
        (
            "api error mid-stream",
            vec![START, text_block, r#"{"type":"error","error":{"type":"api_error","message":"Internal server error"}}"#],
            ErrorKind::Server,
            true,
        ),
        ("error without a type", vec![START, r#"{"type":"error","error":{}}"#], ErrorKind::Server, true),
        ("cut before message_stop", vec![START, text_block], ErrorKind::StreamProtocol, false),
        ("empty body", vec![], ErrorKind::StreamProtocol, false),
    ];
    for (what, lines, kind, retryable) in cases {
        let js = same_in_both(what, vec![stream(&lines)], hi()).await;
        let error = js.result.expect_err("the turn fails");
        assert_eq!((error.kind, error.retryable), (kind, retryable), "{what}: {error:?}");
        assert_eq!(crate::support::errors_in(&js.events).len(), 1, "{what}: one error event");
        assert_eq!(error.output_streamed, lines.contains(&text_block), "{what}: whether text came before the error");
        if lines.contains(&text_block) {
            assert_eq!(text_of(&js.events), "Partial", "{what}");
        }
    }
    let js = same_in_both("overloaded message", vec![stream(&[START, overloaded])], hi()).await;
    let error = js.result.expect_err("fails");
    assert_eq!(error.message, "Anthropic reported mid-stream: Overloaded");
    assert_eq!(error.provider_code.as_deref(), Some("overloaded_error"));

    // A stream that has its stop reason but lacks `message_stop` is complete.
    let lines = [START, text_block, r#"{"type":"content_block_stop","index":0}"#, END_TURN];
    let js = same_in_both("cut after the stop reason", vec![stream(&lines)], hi()).await;
    assert_eq!(js.result.expect("complete").finish.reason, FinishReason::Stop);
}

/// Usage objects the API never sends, read the way serde reads the Rust
/// provider's `WireUsage` (same outcome, same error message).
#[tokio::test]
async fn odd_usage_objects_are_read_the_same_way() {
    let usage = |raw: &str| format!(r#"{{"type":"message_delta","delta":{{"stop_reason":"end_turn"}},"usage":{raw}}}"#);
    let cases = [
        ("a negative count", usage(r#"{"output_tokens":-1}"#), true),
        ("a fractional count", usage(r#"{"output_tokens":1.5e300}"#), true),
        ("a count as text", usage(r#"{"input_tokens":"12\n\"x\""}"#), true),
        ("a boolean count", usage(r#"{"input_tokens":true}"#), true),
        ("a nested count", usage(r#"{"input_tokens":{"n":1}}"#), true),
        ("usage that is a number", usage("5"), true),
        ("usage that is text", usage(r#""lots""#), true),
        ("usage as a long array", usage("[1,2,3,4,5]"), true),
        ("usage as a short array", usage("[7,8,null]"), false),
        ("null counts", usage(r#"{"input_tokens":null,"output_tokens":3}"#), false),
        ("huge counts", usage(r#"{"input_tokens":18446744073709551615,"cache_read_input_tokens":2}"#), false),
        ("null usage", usage("null"), false),
    ];
    for (what, delta, fails) in cases {
        let js = same_in_both(what, vec![stream(&[START, &delta, STOP])], hi()).await;
        match js.result {
            Err(error) => {
                assert!(fails, "{what}: {error:?}");
                assert_eq!(error.kind, ErrorKind::StreamProtocol, "{what}");
                assert!(error.message.starts_with("invalid usage object in the stream: invalid "), "{what}: {}", error.message);
            }
            Ok(result) => assert!(!fails, "{what}: {:?}", result.usage),
        }
    }
}

#[tokio::test]
async fn malformed_events_are_protocol_errors_in_both() {
    // serde_json's and the JavaScript parser's words differ, so the messages are
    // compared up to the reason; kinds, events before the error and the rest must match.
    let cases: [(&str, &str); 8] = [
        ("not JSON", "{not json"),
        ("no type", r#"{"index":0}"#),
        ("block start without index", r#"{"type":"content_block_start","content_block":{"type":"text","text":""}}"#),
        ("negative index", r#"{"type":"content_block_stop","index":-1}"#),
        ("fractional index", r#"{"type":"content_block_stop","index":1.5}"#),
        ("text delta without text", r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta"}}"#),
        ("tool use without id", r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","name":"x"}}"#),
        ("lone surrogate", r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\ud800"}}"#),
    ];
    let text_block = r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Before"}}"#;
    for (what, bad) in cases {
        let mut wire: Vec<u8> = sse(&[START, text_block]).iter().flat_map(|c| c.iter().copied()).collect();
        wire.extend_from_slice(format!("event: x\ndata: {bad}\n\n").as_bytes());
        let replies = vec![Reply::stream(vec![Bytes::from(wire)])];
        let rust = run(RUST, replies.clone(), hi()).await;
        let js = run(JS, replies, hi()).await;
        let strip = |events: &[Event]| -> Vec<Event> {
            normalized(events)
                .into_iter()
                .map(|event| match event {
                    Event::Error(mut error) => {
                        error.message = error.message.split(" (").next().unwrap_or_default().to_owned();
                        Event::Error(error)
                    }
                    other => other,
                })
                .collect()
        };
        assert_eq!(strip(&js.events), strip(&rust.events), "{what}: events (left: JavaScript)");
        let error = js.result.expect_err("the turn fails");
        assert_eq!(error.kind, ErrorKind::StreamProtocol, "{what}");
        assert!(error.message.starts_with("invalid JSON in a stream event ("), "{what}: {}", error.message);
        assert!(error.output_streamed, "{what}");
        assert_eq!(text_of(&js.events), "Before", "{what}");
    }
}

#[tokio::test]
async fn http_errors_are_classified_the_same_in_javascript_and_rust() {
    let body = |kind: &str, message: &str| format!(r#"{{"type":"error","error":{{"type":"{kind}","message":"{message}"}}}}"#);
    let cases = [
        ("529 overloaded", Reply::error(529, &body("overloaded_error", "Overloaded")), ErrorKind::Overloaded, true),
        ("401 bad key", Reply::error(401, &body("authentication_error", "invalid x-api-key")), ErrorKind::Auth, false),
        ("403", Reply::error(403, &body("permission_error", "no access")), ErrorKind::Permission, false),
        ("404 model", Reply::error(404, &body("not_found_error", "model: claude-x")), ErrorKind::ModelNotFound, false),
        (
            "400 prompt too long",
            Reply::error(400, &body("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum")),
            ErrorKind::ContextLengthExceeded,
            false,
        ),
        ("413", Reply::error(413, &body("request_too_large", "too big")), ErrorKind::InvalidRequest, false),
        (
            "429 retry-after",
            Reply::error(429, &body("rate_limit_error", "slow down")).header("retry-after", "20"),
            ErrorKind::RateLimited,
            true,
        ),
        (
            "429 retry-after-ms",
            Reply::error(429, &body("rate_limit_error", "slow down")).header("retry-after-ms", "1500.5").header("retry-after", "9"),
            ErrorKind::RateLimited,
            true,
        ),
        ("402 billing", Reply::error(402, &body("billing_error", "credit balance too low")), ErrorKind::Quota, false),
        ("500 api error", Reply::error(500, &body("api_error", "Internal server error")), ErrorKind::Server, true),
        ("503 not JSON", Reply::error(503, "<html>upstream unavailable</html>"), ErrorKind::Server, true),
        ("529 unknown type", Reply::error(529, &body("new_kind_of_error", "?")), ErrorKind::Overloaded, true),
        ("418 extra fields", Reply::error(418, r#"{"error":{"message":"teapot","details":[1e999,"\udc00"]},"request_id":"r"}"#), ErrorKind::Other, false),
        ("400 long body", Reply::error(400, &format!("{{\"error\":{{\"message\":\"{}\"}}}}", "é".repeat(400))), ErrorKind::InvalidRequest, false),
        ("400 error is not an object", Reply::error(400, r#"{"error":"bad"}"#), ErrorKind::InvalidRequest, false),
    ];
    for (what, reply, kind, retryable) in cases {
        let js = same_in_both(what, vec![reply], hi()).await;
        let error = js.result.expect_err("the turn fails");
        assert_eq!((error.kind, error.retryable), (kind, retryable), "{what}: {error:?}");
        assert!(error.status.is_some() && error.body_excerpt.is_some(), "{what}: status and excerpt kept");
        assert!(!error.output_streamed, "{what}");
    }
    let js = same_in_both("retry-after", vec![Reply::error(429, &body("rate_limit_error", "x")).header("retry-after", "20")], hi()).await;
    assert_eq!(js.result.expect_err("fails").retry_after_ms, Some(20_000));
    let js = same_in_both("529 message", vec![Reply::error(529, &body("overloaded_error", "Overloaded"))], hi()).await;
    let error = js.result.expect_err("fails");
    assert_eq!(error.message, "Anthropic answered HTTP 529: Overloaded");
    assert_eq!((error.status, error.provider_code.as_deref()), (Some(529), Some("overloaded_error")));
}

/// `time` as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).expect("after 1970").as_secs() as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{weekday}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        months[month as usize - 1],
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[tokio::test]
async fn retry_after_dates_are_read_with_the_real_clock() {
    // Without a real clock (`Date.now()` frozen at build time) the wait would be off by the build's age.
    let date = http_date(SystemTime::now() + Duration::from_secs(120));
    let reply = Reply::error(429, r#"{"type":"error","error":{"type":"rate_limit_error","message":"x"}}"#).header("retry-after", &date);
    let rust = run(RUST, vec![reply.clone()], hi()).await.result.expect_err("fails").retry_after_ms.expect("a wait");
    let js = run(JS, vec![reply], hi()).await.result.expect_err("fails").retry_after_ms.expect("a wait");
    assert!((100_000..=120_000).contains(&rust), "Rust waits {rust} ms for {date}");
    assert!(js.abs_diff(rust) < 10_000, "JavaScript waits {js} ms, Rust {rust} ms, for {date}");
    for bad in ["Sun, 06 Nov 1994 08:49:37 GMT", "Mon, 30 Feb 2099 08:49:37 GMT", "tomorrow"] {
        let reply = Reply::error(429, "{}").header("retry-after", bad);
        let rust = run(RUST, vec![reply.clone()], hi()).await.result.expect_err("fails").retry_after_ms;
        let js = run(JS, vec![reply], hi()).await.result.expect_err("fails").retry_after_ms;
        assert_eq!(js, rust, "retry-after: {bad}");
    }
}

/// A long answer (about 1 MiB of events, a large tool input) streams through
/// both within the manifests' memory limits and gives the same events.
#[tokio::test]
async fn long_streams_are_the_same_and_stay_within_the_limits() {
    let mut lines = vec![START.to_owned(), r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#.to_owned()];
    for i in 0..4000 {
        let text = format!(r#"Line {i}: {} \"quoted\" ünïcödé 🚀\n"#, "lorem ipsum ".repeat(12));
        lines.push(format!(r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":"{text}"}}}}"#));
    }
    lines.push(r#"{"type":"content_block_stop","index":0}"#.to_owned());
    lines.push(r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_big","name":"store","input":{}}}"#.to_owned());
    for i in 0..2000 {
        let fragment = if i == 0 { r#"{\"items\": ["#.to_owned() } else { format!(r#"{{\"n\": {i}, \"s\": \"{}\"}}, "#, "x".repeat(40)) };
        lines.push(format!(r#"{{"type":"content_block_delta","index":1,"delta":{{"type":"input_json_delta","partial_json":"{fragment}"}}}}"#));
    }
    lines.push(r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"0]}"}}"#.to_owned());
    lines.push(r#"{"type":"content_block_stop","index":1}"#.to_owned());
    lines.push(r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":40000}}"#.to_owned());
    lines.push(STOP.to_owned());
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let chunks = sse(&lines);
    let size: usize = chunks.iter().map(Bytes::len).sum();
    assert!(size > 1 << 20, "the stream is {size} bytes");
    let started = std::time::Instant::now();
    let js = same_in_both("a 1 MiB stream", vec![Reply::stream(chunks)], hi()).await;
    eprintln!("a {size}-byte stream through both providers took {:?}", started.elapsed());
    let result = js.result.expect("the turn succeeds");
    assert_eq!(text_of(&js.events).matches("ünïcödé 🚀").count(), 4000);
    let input: Value = serde_json::from_str(&result.tool_calls()[0].arguments).expect("the tool input is JSON");
    assert_eq!(input["items"].as_array().map(Vec::len), Some(2000));
}

// ----- (c) the request -------------------------------------------------------------

fn rich_request() -> Request {
    let user = |parts| Message { role: Role::User, parts };
    Request {
        model: "claude-x".into(),
        messages: vec![
            Message::system("Be brief."),
            Message { role: Role::System, parts: vec![Part::Text { text: "Use metric units.".into() }, Part::Reasoning(ReasoningPart::default())] },
            user(vec![
                Part::Text { text: "Look: \"quoted\" \\ tab\t nl\n bell\u{7} del\u{7f} ü 😀 \u{2028}".into() },
                Part::File(FilePart { media_type: "image/png".into(), source: FileSource::Bytes(vec![0, 1, 2, 250, 251, 255, 7]), filename: None }),
                Part::File(FilePart {
                    media_type: "application/pdf".into(),
                    source: FileSource::Url("https://example.com/a.pdf".into()),
                    filename: Some("a.pdf".into()),
                }),
            ]),
            Message {
                role: Role::Assistant,
                parts: vec![
                    Part::Reasoning(ReasoningPart { text: "Think.".into(), signature: Some("sig-1".into()), redacted: None }),
                    Part::Reasoning(ReasoningPart { text: String::new(), signature: None, redacted: Some("opaque".into()) }),
                    Part::Text { text: "Checking.".into() },
                    Part::ToolCall(ToolCall {
                        id: "toolu_1".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"zone":"CET","city":"Oslo","days":[1,2.5,1e3,-0,12345678901234567890],"x":null}"#.into(),
                    }),
                    Part::ToolCall(ToolCall { id: "toolu_2".into(), name: "broken".into(), arguments: "not json".into() }),
                ],
            },
            Message {
                role: Role::Tool,
                parts: vec![
                    Part::ToolResult(ToolResult { call_id: "toolu_1".into(), name: "get_weather".into(), output: "3C".into(), is_error: false }),
                    Part::ToolResult(ToolResult { call_id: "toolu_2".into(), name: "broken".into(), output: "bad input".into(), is_error: true }),
                ],
            },
            Message::user("And tomorrow?"),
        ],
        sampling: Sampling {
            max_output_tokens: Some(1000),
            temperature: Some(0.7),
            top_p: Some(0.9),
            top_k: Some(40),
            presence_penalty: Some(0.5),
            frequency_penalty: Some(0.25),
            stop_sequences: vec!["END".into(), "\u{1}".into()],
            seed: Some(42),
        },
        reasoning: Some(ReasoningSettings { effort: Some(ReasoningEffort::High), budget_tokens: None, include_thoughts: Some(true) }),
        response_format: Some(ResponseFormat::Json { schema: Some(json!({"type": "object"})), name: None, description: None }),
        tools: vec![
            ToolDefinition {
                name: "get_weather".into(),
                description: "Weather for a city".into(),
                parameters: json!({
                    "type": "object",
                    "properties": {"city": {"type": "string"}, "days": {"type": "array", "items": {"type": "number", "minimum": 0.5, "maximum": 1e16}}},
                    "required": ["city"],
                }),
            },
            ToolDefinition { name: "broken".into(), description: String::new(), parameters: json!("not an object") },
        ],
        tool_choice: Some(ToolChoice::Named("get_weather".into())),
        parallel_tool_calls: Some(false),
        provider_options: Some(json!({
            "anthropic": {"metadata": {"user_id": "u-1"}, "top_k": 5},
            "anthropic-js": {"metadata": {"user_id": "u-1"}, "top_k": 5},
            "openai": {"user": "x"},
        })),
    }
}

#[tokio::test]
async fn both_send_the_same_request_body() {
    let ok = || stream(&[START, END_TURN, STOP]);
    let js = same_in_both("system, tools, sampling, reasoning", vec![ok()], rich_request()).await;
    let sent: Value = serde_json::from_slice(&js.requests[0].body).expect("a JSON body");
    // Not vacuous: the body is what the Messages API wants.
    assert_eq!(sent["system"], "Be brief.\n\nUse metric units.");
    assert_eq!(sent["thinking"], json!({"type": "enabled", "budget_tokens": 24576}));
    assert_eq!(sent["max_tokens"], 24576 + 4096, "raised above the thinking budget");
    assert_eq!(sent["top_k"], 5, "provider options override");
    assert_eq!(sent["metadata"]["user_id"], "u-1");
    assert_eq!(sent["tool_choice"], json!({"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true}));
    assert_eq!(sent["tools"][1]["input_schema"], "not an object", "a schema is passed on as given");
    assert_eq!(sent["messages"][0]["content"][1]["source"]["data"], "AAEC+vv/Bw==");
    assert_eq!(sent["messages"][0]["content"][2]["type"], "document");
    assert_eq!(sent["messages"][1]["content"][3]["input"]["city"], "Oslo");
    assert_eq!(sent["messages"][1]["content"][4]["input"], json!({}), "arguments that are not JSON");
    assert_eq!(sent["messages"][2]["content"][1]["is_error"], true);
    assert_eq!(sent["messages"][2]["content"].as_array().map(Vec::len), Some(3), "tool results and the next user turn joined");
    let text = String::from_utf8_lossy(&js.requests[0].body).into_owned();
    assert!(text.contains(r#""temperature":0.699999988079071"#), "f32 settings written as serde_json writes them: {text}");
    assert!(text.contains(r#""maximum":1e+16"#) && text.contains("12345678901234567890"), "{text}");
    let Some(Event::StreamStart { warnings, .. }) = js.events.first() else { panic!("stream-start first") };
    let settings: Vec<_> = warnings.iter().map(|w| (w.kind, w.setting.as_deref().unwrap_or(""))).collect();
    assert_eq!(
        settings,
        [
            (WarningKind::UnsupportedSetting, "seed"),
            (WarningKind::UnsupportedSetting, "presence-penalty"),
            (WarningKind::UnsupportedSetting, "frequency-penalty"),
            (WarningKind::Compatibility, "max-output-tokens"),
            (WarningKind::UnsupportedSetting, "response-format"),
        ]
    );

    // Smaller variations: defaults, a budget under the minimum, options that are
    // not an object, tool choices, the configured default model.
    let mut plain = Request::user("", "hi");
    plain.sampling.temperature = Some(1.0);
    let js = same_in_both("defaults", vec![ok()], plain).await;
    let sent: Value = serde_json::from_slice(&js.requests[0].body).expect("JSON");
    assert_eq!((sent["model"].as_str(), sent["max_tokens"].as_u64()), (Some("claude-default-x"), Some(4096)));
    assert!(String::from_utf8_lossy(&js.requests[0].body).contains(r#""temperature":1.0"#));
    let mut small_budget = hi();
    small_budget.reasoning = Some(ReasoningSettings { effort: None, budget_tokens: Some(10), include_thoughts: None });
    small_budget.sampling.max_output_tokens = Some(5000);
    same_in_both("budget under the minimum", vec![ok()], small_budget).await;
    for (what, choice, parallel) in [
        ("auto", Some(ToolChoice::Auto), None),
        ("none", Some(ToolChoice::None), Some(true)),
        ("required", Some(ToolChoice::Required), None),
        ("no choice, no parallel calls", None, Some(false)),
    ] {
        let mut request = hi();
        request.tool_choice = choice;
        request.parallel_tool_calls = parallel;
        same_in_both(what, vec![ok()], request).await;
    }
    let mut bad_options = hi();
    bad_options.provider_options = Some(json!(["not", "an", "object"]));
    let js = same_in_both("options that are not an object", vec![ok()], bad_options).await;
    assert!(matches!(js.events.first(), Some(Event::StreamStart { warnings, .. }) if warnings[0].setting.as_deref() == Some("provider-options")));
}

// ----- (d) the sandbox -------------------------------------------------------------

fn probe(mode: Value) -> Request {
    let mut request = hi();
    request.provider_options = Some(json!({ "anthropic-js": { "probe": mode } }));
    request
}

/// A normal turn on `provider` still works (the host and the provider are fine).
async fn still_works(provider: &Provider, server: &ReplayServer, what: &str) {
    let before = server.requests().len();
    let (events, result) = run_turn(provider, hi()).await;
    let result = result.unwrap_or_else(|err| panic!("{what}: the next turn fails: {err}"));
    assert_eq!(result.text(), "fine", "{what}: the next turn's text");
    assert!(matches!(events.last(), Some(Event::Finish(_))), "{what}");
    assert_eq!(server.requests().len(), before + 1, "{what}: the next turn reached the upstream");
}

fn fine() -> Reply {
    stream(&[
        START,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"fine"}}"#,
        r#"{"type":"content_block_stop","index":0}"#,
        END_TURN,
        STOP,
    ])
}

#[tokio::test]
async fn the_javascript_guest_imports_no_files_sockets_environment_or_http() {
    warm().await;
    let component = runtime().inspect(JS).await.expect("inspect");
    let allowed = ["cordon:provider/", "wasi:clocks/wall-clock@", "wasi:clocks/monotonic-clock@", "wasi:io/", "wasi:cli/stderr@"];
    for import in &component.imports {
        assert!(allowed.iter().any(|prefix| import.starts_with(prefix)), "unexpected import {import}");
    }
    assert!(component.imports.iter().any(|i| i.starts_with("cordon:provider/http@")), "imports: {:?}", component.imports);
}

#[tokio::test]
async fn the_javascript_guest_sees_no_environment_files_or_network() {
    let (server, provider) = load(JS, vec![fine()]).await;
    let (events, result) = run_turn(&provider, probe(json!("report"))).await;
    let result = result.unwrap_or_else(|err| panic!("the probe turn fails: {err}"));
    assert!(server.requests().is_empty(), "the probe turn sent nothing");
    let report: Value = serde_json::from_str(&result.text()).unwrap_or_else(|err| panic!("a JSON report ({err}): {}", result.text()));
    assert_eq!(report["process"], "absent", "{report}");
    assert_eq!(report["env"], "absent", "{report}");
    for name in ["require", "deno", "bun", "fs", "readFile", "xmlHttpRequest", "webSocket"] {
        assert_eq!(report[name], "absent", "{name}: {report}");
    }
    assert_eq!(report["fetch"], "function", "StarlingMonkey has fetch (it traps without wasi:http): {report}");
    let text = text_of(&events);
    assert!(!text.contains(KEY), "the secret is not visible");
    for (name, value) in std::env::vars() {
        if value.len() >= 8 && ["PATH", "HOME", "CARGO_MANIFEST_DIR", "PWD"].contains(&name.as_str()) {
            assert!(!text.contains(&value), "the host's {name} is not visible");
        }
    }
    assert!(!text.contains("root:x:0:0"), "no file content");
    still_works(&provider, &server, "after the report").await;
}

#[tokio::test]
async fn fetch_and_module_loading_fail_without_reaching_anything() {
    for mode in ["fetch", "import"] {
        let (server, provider) = load(JS, vec![fine()]).await;
        let (events, result) = run_turn(&provider, probe(json!(mode))).await;
        match &result {
            // What StarlingMonkey does without the WASI feature: a trap, caught by the host.
            Err(error) => assert_eq!(error.kind, ErrorKind::Trap, "{mode}: {error:?}"),
            // An engine that throws instead must say so.
            Ok(result) => assert!(result.text().starts_with(&format!("{mode} failed:")), "{mode}: {}", result.text()),
        }
        assert!(!events.iter().any(|e| matches!(e, Event::TextDelta { text } if text.contains("without failing"))), "{mode}");
        assert!(server.requests().is_empty(), "{mode}: nothing reached the upstream");
        still_works(&provider, &server, mode).await;
    }
}
