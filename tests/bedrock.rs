//! The Bedrock component in the real host against a local upstream that
//! answers in AWS's binary event stream (`application/vnd.amazon.eventstream`):
//! each recorded ConverseStream response served byte for byte, its text,
//! reasoning, tool calls, usage and finish computed here independently from
//! the recording's readable view; corrupted checksums, `exception` messages and
//! HTTP error answers mapped to the contract's error kinds; a tool the provider
//! runs itself reported, never handed to the host; and the request checked as
//! the upstream received it: the Converse shape, signed by the host with SigV4.

use bytes::Bytes;
use cordon::replay::{RecordedRequest, Reply, ReplyBody, ReplayServer};
use cordon::{ErrorKind, Event, FinishReason, Provider, ProviderOptions, Request};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{errors_in, run_turn, runtime, shared_fixtures, text_of};

/// The access key id and secret key of the test's throwaway AWS credentials.
const ACCESS_KEY_ID: &str = "AKIDCORDONBEDROCKTEST";
const SECRET_ACCESS_KEY: &str = "cordon/bedrock+test-secret-access-key-0123";

/// The region the credentials sign for (the local upstream's name says none).
const REGION: &str = "us-east-1";

/// The media type of an AWS event stream.
const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

/// A 200 answer streaming `chunks` as an AWS event stream.
fn event_stream(chunks: Vec<Bytes>) -> Reply {
    Reply {
        status: 200,
        headers: vec![("content-type".into(), EVENT_STREAM.into())],
        body: ReplyBody::Chunks(chunks),
        chunk_delay: std::time::Duration::ZERO,
    }
}

/// Load `bedrock` against an upstream answering `replies`, the `aws` secret
/// given in code. Its manifest's own host (AWS's us-east-1) is not granted:
/// only the local upstream, which its base URL grants with the secret.
async fn bedrock_against(replies: Vec<Reply>) -> (ReplayServer, Provider) {
    let upstream = ReplayServer::start(replies).await.expect("upstream starts");
    let credentials = cordon::signing::aws_credentials_json(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None, Some(REGION));
    let options = ProviderOptions {
        base_url: Some(upstream.url()),
        secrets: [("aws".to_owned(), credentials)].into(),
        deny_unapproved: true,
        ..ProviderOptions::default()
    };
    let provider = runtime().load_provider("bedrock", options).await.expect("bedrock loads");
    (upstream, provider)
}

/// One message of an AWS event stream with string headers, framed as AWS
/// frames it (lengths, prelude CRC-32, headers, payload, message CRC-32).
fn frame(headers: &[(&str, &str)], payload: &str) -> Vec<u8> {
    let crc = |bytes: &[u8]| {
        let mut crc = flate2::Crc::new();
        crc.update(bytes);
        crc.sum()
    };
    let mut section = Vec::new();
    for (name, value) in headers {
        section.push(u8::try_from(name.len()).expect("a short name"));
        section.extend_from_slice(name.as_bytes());
        section.push(7);
        section.extend_from_slice(&u16::try_from(value.len()).expect("a short value").to_be_bytes());
        section.extend_from_slice(value.as_bytes());
    }
    let total = u32::try_from(16 + section.len() + payload.len()).expect("a small message");
    let mut message = total.to_be_bytes().to_vec();
    message.extend_from_slice(&u32::try_from(section.len()).expect("small").to_be_bytes());
    message.extend_from_slice(&crc(&message).to_be_bytes());
    message.extend_from_slice(&section);
    message.extend_from_slice(payload.as_bytes());
    message.extend_from_slice(&crc(&message).to_be_bytes());
    message
}

/// An `event` message of `kind` with a JSON `payload` (and Bedrock's padding).
fn event(kind: &str, payload: Value) -> Bytes {
    let mut payload = payload;
    payload["p"] = "abcdefghijklmnop".into();
    let headers = [(":event-type", kind), (":content-type", "application/json"), (":message-type", "event")];
    Bytes::from(frame(&headers, &payload.to_string()))
}

/// An `exception` message of `kind` with a JSON `payload`.
fn exception(kind: &str, payload: Value) -> Bytes {
    let headers = [(":exception-type", kind), (":content-type", "application/json"), (":message-type", "exception")];
    Bytes::from(frame(&headers, &payload.to_string()))
}

/// The messages of a recorded body, one chunk each, cut where each prelude's
/// total length says.
fn messages_of(body: &[u8]) -> Vec<Bytes> {
    let mut chunks = Vec::new();
    let mut rest = body;
    while let Some(total) = rest.first_chunk::<4>().map(|length| u32::from_be_bytes(*length) as usize) {
        let (message, after) = rest.split_at(total.clamp(1, rest.len()));
        chunks.push(Bytes::copy_from_slice(message));
        rest = after;
    }
    chunks
}

/// What a recording says the turn's result is, computed from its readable view.
#[derive(Debug, Default)]
struct Expected {
    text: String,
    reasoning: String,
    signature: Option<String>,
    calls: Vec<(String, String, String)>,
    stop_reason: String,
    input: Option<u64>,
    output: Option<u64>,
    cache_read: Option<u64>,
}

fn expected_from(view: &str) -> Expected {
    let mut want = Expected::default();
    let mut open_call: Option<(String, String, String)> = None;
    for line in view.lines().filter(|l| !l.trim().is_empty()) {
        let frame: Value = serde_json::from_str(line).expect("a JSON line");
        let payload = &frame["payload"];
        match frame["headers"][":event-type"].as_str().unwrap_or_default() {
            "contentBlockStart" => {
                let tool = &payload["start"]["toolUse"];
                if tool.is_object() {
                    open_call = Some((tool["toolUseId"].as_str().unwrap_or("").into(), tool["name"].as_str().unwrap_or("").into(), String::new()));
                }
            }
            "contentBlockDelta" => {
                let delta = &payload["delta"];
                want.text.push_str(delta["text"].as_str().unwrap_or(""));
                want.reasoning.push_str(delta["reasoningContent"]["text"].as_str().unwrap_or(""));
                if let Some(signature) = delta["reasoningContent"]["signature"].as_str() {
                    want.signature = Some(signature.to_owned());
                }
                if let (Some(call), Some(input)) = (open_call.as_mut(), delta["toolUse"]["input"].as_str()) {
                    call.2.push_str(input);
                }
            }
            "contentBlockStop" => {
                if let Some((id, name, input)) = open_call.take() {
                    want.calls.push((id, name, if input.is_empty() { "{}".into() } else { input }));
                }
            }
            "messageStop" => want.stop_reason = payload["stopReason"].as_str().unwrap_or("").to_owned(),
            "metadata" => {
                let usage = &payload["usage"];
                let cache_read = usage["cacheReadInputTokens"].as_u64();
                let cache_write = usage["cacheWriteInputTokens"].as_u64();
                want.input = usage["inputTokens"].as_u64().map(|n| n + cache_read.unwrap_or(0) + cache_write.unwrap_or(0));
                want.output = usage["outputTokens"].as_u64();
                want.cache_read = cache_read;
            }
            _ => {}
        }
    }
    want
}

fn unified(raw: &str) -> FinishReason {
    match raw {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        other => panic!("a stop reason this test does not know: {other}"),
    }
}

/// The recordings: (name, the body as recorded, its readable view).
fn recordings() -> Option<Vec<(String, Vec<u8>, String)>> {
    let dir = shared_fixtures()?.join("wire/bedrock");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("wire/bedrock").flatten().map(|e| e.path()).collect();
    files.retain(|path| path.to_string_lossy().ends_with(".eventstream.bin"));
    files.sort();
    assert!(files.len() >= 3, "the Bedrock recordings are in {}", dir.display());
    Some(
        files
            .into_iter()
            .map(|path| {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
                let view = path.to_string_lossy().replace(".eventstream.bin", ".decoded.jsonl");
                (name, std::fs::read(&path).expect("recording"), std::fs::read_to_string(view).expect("readable view"))
            })
            .collect(),
    )
}

/// The upstream's one request, checked to be a signed ConverseStream call of `model`.
fn the_signed_request(upstream: &ReplayServer, model_path: &str) -> RecordedRequest {
    let requests = upstream.requests();
    assert_eq!(requests.len(), 1, "one request upstream");
    let sent = requests.into_iter().next().expect("a request");
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("POST", format!("/model/{model_path}/converse-stream").as_str()));
    assert_eq!(sent.header("accept"), Some(EVENT_STREAM));
    let authorization = sent.header("authorization").expect("the host signed the request");
    let date = sent.header("x-amz-date").expect("x-amz-date");
    let scope = format!("Credential={ACCESS_KEY_ID}/{}/{REGION}/bedrock/aws4_request", &date[..8]);
    assert!(authorization.starts_with("AWS4-HMAC-SHA256 ") && authorization.contains(&scope), "{authorization}");
    let body_hash: String = Sha256::digest(&sent.body).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(sent.header("x-amz-content-sha256"), Some(body_hash.as_str()), "the signature covers the body received");
    let everything = format!("{:?}", sent.headers);
    assert!(!everything.contains(SECRET_ACCESS_KEY), "the secret key itself never travels");
    sent
}

#[tokio::test]
async fn every_recorded_bedrock_stream_matches_its_recording() {
    let Some(recordings) = recordings() else { return };
    for (name, body, view) in recordings {
        let want = expected_from(&view);
        // As Bedrock sends it (a message a write), and cut at odd places.
        let odd_cuts: Vec<Bytes> = body.chunks(97).map(Bytes::copy_from_slice).collect();
        for (how, chunks) in [("a message a chunk", messages_of(&body)), ("97-byte chunks", odd_cuts)] {
            let (upstream, provider) = bedrock_against(vec![event_stream(chunks)]).await;
            let (events, result) = run_turn(&provider, Request::user("amazon.nova-micro-v1:0", "hi")).await;
            let result = result.unwrap_or_else(|err| panic!("{name} ({how}): the turn failed: {err}"));
            assert_eq!(result.text(), want.text, "{name} ({how}): text");
            assert_eq!(result.reasoning(), want.reasoning, "{name}: reasoning");
            let signature = result.content.iter().find_map(|p| match p {
                cordon::ContentPart::Reasoning(r) => r.signature.clone(),
                _ => None,
            });
            assert_eq!(signature, want.signature, "{name}: signature");
            let calls: Vec<_> = result.tool_calls().iter().map(|c| (c.id.clone(), c.name.clone(), c.arguments.clone())).collect();
            assert_eq!(calls, want.calls, "{name}: tool calls");
            assert_eq!(result.finish.raw.as_deref(), Some(want.stop_reason.as_str()), "{name}: raw stop reason");
            assert_eq!(result.finish.reason, unified(&want.stop_reason), "{name}: finish");
            assert!(matches!(events.last(), Some(Event::Finish(_))), "{name}: finish is last");
            assert_eq!(result.usage.input_tokens, want.input, "{name}: input tokens");
            assert_eq!(result.usage.output_tokens, want.output, "{name}: output tokens");
            assert_eq!(result.usage.cache_read_tokens, want.cache_read, "{name}: cache read");
            assert!(result.provider_metadata.is_none(), "{name}: no provider-run tools to report");
            the_signed_request(&upstream, "amazon.nova-micro-v1%3A0");
        }
    }
}

#[tokio::test]
async fn a_corrupted_checksum_ends_the_turn_with_a_clear_error() {
    let Some(recordings) = recordings() else { return };
    let (_, body, _) = recordings.into_iter().find(|(name, ..)| name.starts_with("nova-micro-text.")).expect("the Nova text recording");
    let messages = messages_of(&body);
    // The fourth message's payload (a text delta), and the fourth message's prelude.
    let at = messages[..3].iter().map(Bytes::len).sum::<usize>();
    for (what, offset, needle) in [("payload", messages[3].len() - 10, "ends with CRC-32"), ("prelude", 2, "prelude carries CRC-32")] {
        let mut corrupted = body.clone();
        corrupted[at + offset] ^= 0x20;
        let chunks = corrupted.chunks(97).map(Bytes::copy_from_slice).collect();
        let (_upstream, provider) = bedrock_against(vec![event_stream(chunks)]).await;
        let (events, result) = run_turn(&provider, Request::user("amazon.nova-micro-v1:0", "hi")).await;
        let error = result.expect_err(what);
        assert_eq!(error.kind, ErrorKind::StreamProtocol, "{what}");
        assert!(error.message.contains(needle) && error.message.contains("event stream"), "{what}: {}", error.message);
        assert!(error.output_streamed, "{what}: the text before the bad message was streamed");
        assert_eq!(errors_in(&events).len(), 1, "{what}: one error event");
        assert!(matches!(events.last(), Some(Event::Error(_))), "{what}: the error ends the turn");
        assert!(!text_of(&events).is_empty(), "{what}: the messages before it were delivered");
    }
}

/// A stream that starts, says `Par`, then carries `last`.
fn interrupted_by(last: Bytes) -> Vec<Bytes> {
    vec![
        event("messageStart", json!({ "role": "assistant" })),
        event("contentBlockDelta", json!({ "contentBlockIndex": 0, "delta": { "text": "Par" } })),
        last,
    ]
}

#[tokio::test]
async fn exceptions_in_the_stream_map_to_error_kinds() {
    let cases = [
        ("throttlingException", json!({ "message": "Too many requests, please wait before trying again." }), ErrorKind::RateLimited, true),
        ("validationException", json!({ "message": "Input is too long for requested model." }), ErrorKind::ContextLengthExceeded, false),
        ("validationException", json!({ "message": "Malformed input request" }), ErrorKind::InvalidRequest, false),
        (
            "modelStreamErrorException",
            json!({ "message": "Model Stream Error", "originalStatusCode": 500, "originalMessage": "The model stream failed." }),
            ErrorKind::Server,
            true,
        ),
        ("serviceUnavailableException", json!({ "message": "Bedrock is unable to process your request." }), ErrorKind::Server, true),
        ("internalServerException", json!({ "message": "The server encountered an internal error." }), ErrorKind::Server, true),
    ];
    for (name, payload, kind, retryable) in cases {
        let message = payload["message"].as_str().unwrap_or_default().to_owned();
        let (_upstream, provider) = bedrock_against(vec![event_stream(interrupted_by(exception(name, payload)))]).await;
        let (events, result) = run_turn(&provider, Request::user("amazon.nova-micro-v1:0", "hi")).await;
        let error = result.expect_err(name);
        assert_eq!((error.kind, error.retryable), (kind, retryable), "{name}: {message}");
        assert_eq!(error.provider_code.as_deref(), Some(name));
        assert!(error.message.contains(&message), "{name}: {}", error.message);
        assert!(error.output_streamed, "{name}: `Par` was already streamed");
        assert_eq!(text_of(&events), "Par");
    }
}

#[tokio::test]
async fn http_errors_before_the_stream_map_to_error_kinds() {
    let cases = [
        (429, "ThrottlingException", "Too many tokens, please wait before trying again.", ErrorKind::RateLimited),
        (400, "ValidationException", "Input is too long for requested model.", ErrorKind::ContextLengthExceeded),
        (400, "ValidationException", "The provided model identifier is invalid.", ErrorKind::InvalidRequest),
        (403, "UnrecognizedClientException", "The security token included in the request is invalid.", ErrorKind::Auth),
        (403, "AccessDeniedException", "You don't have access to the model with the specified model ID.", ErrorKind::Permission),
        (404, "ResourceNotFoundException", "Could not resolve the foundation model.", ErrorKind::ModelNotFound),
        (503, "ServiceUnavailableException", "Service is unavailable.", ErrorKind::Server),
    ];
    for (status, name, message, kind) in cases {
        let reply = Reply::error(status, &json!({ "message": message }).to_string())
            .header("x-amzn-ErrorType", &format!("{name}:http://internal.amazon.com/coral/com.amazon.bedrock/"))
            .header("retry-after", "2");
        let (_upstream, provider) = bedrock_against(vec![reply]).await;
        let (events, result) = run_turn(&provider, Request::user("amazon.nova-micro-v1:0", "hi")).await;
        let error = result.expect_err(name);
        assert_eq!((error.kind, error.status), (kind, Some(status)), "{name}: {message}");
        assert_eq!(error.provider_code.as_deref(), Some(name));
        assert!(error.message.contains(message), "{}", error.message);
        assert_eq!(error.retry_after_ms, Some(2000), "{name}: the SDK read retry-after");
        assert!(!error.output_streamed);
        assert_eq!(errors_in(&events).len(), 1);
    }
}

#[tokio::test]
async fn a_tool_the_provider_runs_is_reported_not_handed_to_the_host() {
    let chunks = vec![
        event("messageStart", json!({ "role": "assistant" })),
        event(
            "contentBlockStart",
            json!({ "contentBlockIndex": 0, "start": { "toolUse": { "toolUseId": "srv_1", "name": "nova_grounding", "type": "server_tool_use" } } }),
        ),
        event("contentBlockDelta", json!({ "contentBlockIndex": 0, "delta": { "toolUse": { "input": "{\"query\":\"Paris weather\"}" } } })),
        event("contentBlockStop", json!({ "contentBlockIndex": 0 })),
        event(
            "contentBlockStart",
            json!({ "contentBlockIndex": 1, "start": { "toolResult": { "toolUseId": "srv_1", "type": "server_tool_use", "status": "success" } } }),
        ),
        event("contentBlockDelta", json!({ "contentBlockIndex": 1, "delta": { "toolResult": [{ "text": "Sunny, 21C" }] } })),
        event("contentBlockStop", json!({ "contentBlockIndex": 1 })),
        event("contentBlockDelta", json!({ "contentBlockIndex": 2, "delta": { "text": "It is sunny in Paris." } })),
        event("contentBlockStop", json!({ "contentBlockIndex": 2 })),
        event("messageStop", json!({ "stopReason": "end_turn" })),
        event("metadata", json!({ "usage": { "inputTokens": 20, "outputTokens": 9, "totalTokens": 29 } })),
    ];
    let (_upstream, provider) = bedrock_against(vec![event_stream(chunks)]).await;
    let mut request = Request::user("us.amazon.nova-premier-v1:0", "Weather in Paris?");
    request.tools.push(cordon::ToolDefinition {
        name: "get_weather".into(),
        description: "The host's own weather tool".into(),
        parameters: json!({ "type": "object" }),
    });
    let (events, result) = run_turn(&provider, request).await;
    let result = result.expect("the turn succeeds");
    assert!(result.tool_calls().is_empty(), "no call for the host's tool loop");
    assert!(!events.iter().any(|e| matches!(e, Event::ToolCallStart { .. } | Event::ToolCall(_))));
    assert_eq!(result.finish.reason, FinishReason::Stop);
    assert_eq!(result.text(), "It is sunny in Paris.");
    assert_eq!(
        result.provider_metadata,
        Some(json!({ "bedrock": { "serverToolUses": [{
            "id": "srv_1", "name": "nova_grounding", "input": { "query": "Paris weather" },
            "result": { "status": "success", "content": "Sunny, 21C" }
        }] } }))
    );
}

#[tokio::test]
async fn the_request_has_the_converse_shape_and_claude_thinks() {
    let chunks = vec![
        event("messageStart", json!({ "role": "assistant" })),
        event("contentBlockDelta", json!({ "contentBlockIndex": 0, "delta": { "text": "ok" } })),
        event("messageStop", json!({ "stopReason": "end_turn" })),
    ];
    let (upstream, provider) = bedrock_against(vec![event_stream(chunks)]).await;
    let model = "us.anthropic.claude-sonnet-4-20250514-v1:0";
    let mut request = Request::user(model, "Weather in Oslo?");
    request.messages.insert(0, cordon::Message::system("Be brief."));
    request.sampling.temperature = Some(0.3);
    request.sampling.stop_sequences = vec!["END".into()];
    request.reasoning = Some(cordon::ReasoningSettings { effort: None, budget_tokens: Some(2048), include_thoughts: None });
    request.tools.push(cordon::ToolDefinition {
        name: "get_weather".into(),
        description: "Weather in a city".into(),
        parameters: json!({ "type": "object", "properties": { "city": { "type": "string" } } }),
    });
    request.tool_choice = Some(cordon::ToolChoice::Required);
    let (events, result) = run_turn(&provider, request).await;
    assert_eq!(result.expect("the turn succeeds").text(), "ok");
    let Some(Event::StreamStart { warnings, .. }) = events.first() else { panic!("stream-start first") };
    assert!(warnings.iter().any(|w| w.setting.as_deref() == Some("temperature")), "temperature is not silently dropped: {warnings:?}");
    let sent = the_signed_request(&upstream, "us.anthropic.claude-sonnet-4-20250514-v1%3A0");
    let body: Value = serde_json::from_slice(&sent.body).expect("a JSON body");
    assert_eq!(body["system"], json!([{ "text": "Be brief." }]));
    assert_eq!(body["messages"], json!([{ "role": "user", "content": [{ "text": "Weather in Oslo?" }] }]));
    assert_eq!(body["inferenceConfig"]["stopSequences"], json!(["END"]));
    assert!(body["inferenceConfig"]["maxTokens"].as_u64().is_some_and(|max| max > 2048), "max tokens exceed the thinking budget");
    assert!(body["inferenceConfig"].get("temperature").is_none(), "Claude takes no temperature while it thinks");
    assert_eq!(body["additionalModelRequestFields"], json!({ "thinking": { "type": "enabled", "budget_tokens": 2048 } }));
    assert_eq!(body["toolConfig"]["toolChoice"], json!({ "any": {} }));
    assert_eq!(body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]["properties"]["city"]["type"], "string");
}
