//! The Cohere component in the real host against a local upstream speaking
//! Cohere's v2 Chat stream: every recorded stream served in three SSE forms
//! (`data:` lines alone, with an `event:` line naming the type, and with the
//! type in the `event:` line only), its text, reasoning (the tool plan and
//! `thinking` content), tool calls, usage (`usage.tokens`, not
//! `billed_units`) and finish computed here independently from the
//! recording; a thinking stream with citations, which reach the result's
//! provider metadata; HTTP 429 and 400 answers mapped to the contract's error
//! kinds; a stream cut short; and the request as the upstream received it: the
//! v2 Chat shape at `/v2/chat`, the host's bearer key in `authorization`.

use bytes::Bytes;
use cordon::replay::{Framing, RecordedRequest, ReplayServer, Reply, frame};
use cordon::{ErrorKind, Event, FinishReason, Message, Part, Provider, ProviderOptions, Request, ToolCall, ToolDefinition, ToolResult};
use serde_json::{Value, json};

use crate::support::{errors_in, recordings, run_turn, runtime, shared_fixtures};

/// The API key the test binds to the manifest's `api-key` secret.
const KEY: &str = "co-test-key-0123456789";

/// Load `cohere` against an upstream answering `replies`, its key given in
/// code. Its manifest's own host (api.cohere.com) is not granted: only the
/// local upstream, which its base URL grants with the key.
async fn cohere_against(replies: Vec<Reply>) -> (ReplayServer, Provider) {
    let upstream = ReplayServer::start(replies).await.expect("upstream starts");
    let options = ProviderOptions {
        base_url: Some(upstream.url()),
        secrets: [("api-key".to_owned(), KEY.to_owned())].into(),
        deny_unapproved: true,
        ..ProviderOptions::default()
    };
    let provider = runtime().load_provider("cohere", options).await.expect("cohere loads");
    (upstream, provider)
}

/// The upstream's one request, checked to be a streamed v2 Chat call carrying the key.
fn the_request(upstream: &ReplayServer) -> (RecordedRequest, Value) {
    let requests = upstream.requests();
    assert_eq!(requests.len(), 1, "one request upstream");
    let sent = requests.into_iter().next().expect("a request");
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("POST", "/v2/chat"));
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {KEY}").as_str()), "the host added the key");
    assert_eq!(sent.header("accept"), Some("text/event-stream"));
    let body: Value = serde_json::from_slice(&sent.body).expect("a JSON body");
    assert_eq!(body["stream"], true);
    (sent, body)
}

/// What a recording says the turn's result is, computed from its events.
#[derive(Debug, Default)]
struct Expected {
    id: Option<String>,
    text: String,
    reasoning: String,
    calls: Vec<(String, String, String)>,
    finish_reason: String,
    input: Option<u64>,
    output: Option<u64>,
    cached: Option<u64>,
}

fn expected_from(events: &[Value]) -> Expected {
    let mut want = Expected::default();
    let mut open: Vec<(u64, (String, String, String))> = Vec::new();
    for event in events {
        let message = &event["delta"]["message"];
        let index = event["index"].as_u64().unwrap_or_default();
        match event["type"].as_str().expect("every recorded event has a type") {
            "message-start" => want.id = event["id"].as_str().map(str::to_owned),
            "content-delta" => {
                want.text.push_str(message["content"]["text"].as_str().unwrap_or(""));
                want.reasoning.push_str(message["content"]["thinking"].as_str().unwrap_or(""));
            }
            "tool-plan-delta" => want.reasoning.push_str(message["tool_plan"].as_str().unwrap_or("")),
            "tool-call-start" => {
                let call = &message["tool_calls"];
                let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
                open.push((index, (text(&call["id"]), text(&call["function"]["name"]), text(&call["function"]["arguments"]))));
            }
            "tool-call-delta" => {
                let (_, call) = open.iter_mut().find(|(at, _)| *at == index).expect("a started call");
                call.2.push_str(message["tool_calls"]["function"]["arguments"].as_str().unwrap_or(""));
            }
            "tool-call-end" => {
                let at = open.iter().position(|(at, _)| *at == index).expect("a started call");
                want.calls.push(open.remove(at).1);
            }
            "message-end" => {
                let delta = &event["delta"];
                want.finish_reason = delta["finish_reason"].as_str().expect("a finish reason").to_owned();
                want.input = delta["usage"]["tokens"]["input_tokens"].as_u64();
                want.output = delta["usage"]["tokens"]["output_tokens"].as_u64();
                want.cached = delta["usage"]["cached_tokens"].as_u64();
            }
            _ => {}
        }
    }
    want
}

fn unified(raw: &str) -> FinishReason {
    match raw {
        "COMPLETE" | "STOP_SEQUENCE" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "TOOL_CALL" => FinishReason::ToolCalls,
        other => panic!("a finish reason this test does not know: {other}"),
    }
}

/// The three ways a recording is served: `data:` lines alone (as the fixtures
/// say), an `event:` line naming the JSON's type before each, and the type in
/// the `event:` line only (taken out of the JSON), cut into 13-byte chunks.
fn served_forms(text: &str, events: &[Value]) -> Vec<(&'static str, Vec<Bytes>)> {
    let data_only = frame(text, Framing::GeminiSse).expect("framed");
    let with_event_lines = frame(text, Framing::AnthropicSse).expect("framed");
    let mut event_line_only = String::new();
    for event in events {
        let mut untyped = event.clone();
        let kind = untyped.as_object_mut().and_then(|o| o.remove("type")).expect("a type");
        event_line_only.push_str(&format!("event: {}\ndata: {untyped}\n\n", kind.as_str().expect("a string")));
    }
    let cut = event_line_only.as_bytes().chunks(13).map(Bytes::copy_from_slice).collect();
    vec![("data lines", data_only), ("event and data lines", with_event_lines), ("event lines only, 13-byte cuts", cut)]
}

#[tokio::test]
async fn every_recorded_cohere_stream_matches_its_recording() {
    let Some(fixtures) = shared_fixtures() else { return };
    for (name, text) in recordings(&fixtures, "cohere") {
        let events: Vec<Value> = text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("JSON")).collect();
        let want = expected_from(&events);
        for (how, chunks) in served_forms(&text, &events) {
            let (upstream, provider) = cohere_against(vec![Reply::stream(chunks)]).await;
            let (streamed, result) = run_turn(&provider, Request::user("command-a-03-2025", "hi")).await;
            let result = result.unwrap_or_else(|err| panic!("{name} ({how}): the turn failed: {err}"));
            assert_eq!(result.text(), want.text, "{name} ({how}): text");
            assert_eq!(result.reasoning(), want.reasoning, "{name} ({how}): reasoning is the tool plan and thinking");
            let calls: Vec<_> = result.tool_calls().iter().map(|c| (c.id.clone(), c.name.clone(), c.arguments.clone())).collect();
            assert_eq!(calls, want.calls, "{name} ({how}): tool calls");
            assert_eq!(result.response_id, want.id, "{name} ({how}): response id");
            assert_eq!(result.finish.raw.as_deref(), Some(want.finish_reason.as_str()), "{name} ({how}): raw finish");
            assert_eq!(result.finish.reason, unified(&want.finish_reason), "{name} ({how}): finish");
            assert!(matches!(streamed.last(), Some(Event::Finish(_))), "{name} ({how}): finish is last");
            assert_eq!(result.usage.input_tokens, want.input, "{name} ({how}): input is usage.tokens, not billed_units");
            assert_eq!(result.usage.output_tokens, want.output, "{name} ({how}): output tokens");
            assert_eq!(result.usage.cache_read_tokens, want.cached, "{name} ({how}): cached tokens");
            assert!(result.provider_metadata.is_none(), "{name} ({how}): no citations to report");
            let (_, body) = the_request(&upstream);
            assert_eq!(body["model"], "command-a-03-2025");
            assert_eq!(body["messages"], json!([{ "role": "user", "content": "hi" }]));
        }
    }
}

#[tokio::test]
async fn thinking_is_reasoning_and_citations_reach_the_provider_metadata() {
    let citation = json!({
        "start": 4, "end": 9, "text": "Paris",
        "sources": [{ "type": "document", "id": "doc:0", "document": { "id": "doc:0", "text": "Paris is the capital of France.", "title": "facts.txt" } }],
        "type": "TEXT_CONTENT",
    });
    let content = |kind: &str, delta: bool, text: &str| {
        let inner = if delta { json!({ kind: text }) } else { json!({ "type": kind, kind: text }) };
        json!({ "type": if delta { "content-delta" } else { "content-start" }, "index": 0, "delta": { "message": { "content": inner } } })
    };
    let events = [
        json!({ "id": "c9117d7f", "type": "message-start", "delta": { "message": { "role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": [] } } }),
        content("thinking", false, ""),
        content("thinking", true, "The documents say"),
        content("thinking", true, " Paris."),
        json!({ "type": "content-end", "index": 0 }),
        content("text", false, ""),
        content("text", true, "See: Paris"),
        content("text", true, "."),
        json!({ "type": "content-end", "index": 0 }),
        json!({ "type": "citation-start", "index": 0, "delta": { "message": { "citations": citation } } }),
        json!({ "type": "citation-end", "index": 0 }),
        json!({ "type": "message-end", "delta": { "finish_reason": "MAX_TOKENS", "usage": {
            "billed_units": { "input_tokens": 8, "output_tokens": 50 }, "tokens": { "input_tokens": 1394, "output_tokens": 54 }, "cached_tokens": 1360 } } }),
    ];
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    let (upstream, provider) = cohere_against(vec![Reply::stream(frame(&text, Framing::AnthropicSse).expect("framed"))]).await;
    let mut request = Request::user("command-a-reasoning-08-2025", "Capital of France?");
    request.reasoning = Some(cordon::ReasoningSettings { effort: None, budget_tokens: Some(1024), include_thoughts: None });
    request.provider_options = Some(json!({ "cohere": { "documents": [{ "id": "doc:0", "data": { "text": "Paris is the capital of France.", "title": "facts.txt" } }] } }));
    let (_, result) = run_turn(&provider, request).await;
    let result = result.expect("the turn succeeds");
    assert_eq!(result.reasoning(), "The documents say Paris.");
    assert_eq!(result.text(), "See: Paris.", "thinking is not answer text");
    assert_eq!((result.finish.reason, result.finish.raw.as_deref()), (FinishReason::Length, Some("MAX_TOKENS")));
    assert_eq!((result.usage.input_tokens, result.usage.output_tokens, result.usage.cache_read_tokens), (Some(1394), Some(54), Some(1360)));
    assert_eq!(result.provider_metadata, Some(json!({ "cohere": { "citations": [citation] } })));
    let (_, body) = the_request(&upstream);
    assert_eq!(body["thinking"], json!({ "type": "enabled", "token_budget": 1024 }));
    assert_eq!(body["documents"][0]["id"], "doc:0", "the request's own Cohere options reach the body");
}

#[tokio::test]
async fn http_errors_map_to_error_kinds() {
    let cases = [
        (429, "You are using a Trial key, which is limited to 20 API calls / minute.", ErrorKind::RateLimited, true),
        (400, "too many tokens: total number of tokens in the prompt cannot exceed 128000 - received 131202", ErrorKind::ContextLengthExceeded, false),
        (400, "invalid request: message must be at least 1 token long or tool results must be specified.", ErrorKind::InvalidRequest, false),
        (401, "invalid api token", ErrorKind::Auth, false),
        (404, "model 'command-x' not found, make sure the correct model ID was used", ErrorKind::ModelNotFound, false),
        (500, "internal server error, this has been reported to our developers", ErrorKind::Server, true),
    ];
    for (status, message, kind, retryable) in cases {
        let body = json!({ "id": "7c1f1f4e-0b5e-4b9e-9f3a-0d2b7c1d2e3f", "message": message }).to_string();
        let (upstream, provider) = cohere_against(vec![Reply::error(status, &body).header("retry-after", "3")]).await;
        let (events, result) = run_turn(&provider, Request::user("command-a-03-2025", "hi")).await;
        let error = result.expect_err(message);
        assert_eq!((error.kind, error.status, error.retryable), (kind, Some(status), retryable), "{status}: {message}");
        assert!(error.message.contains(message), "{status}: {}", error.message);
        assert_eq!(error.retry_after_ms, Some(3000), "{status}: the SDK read retry-after");
        assert!(!error.output_streamed);
        assert_eq!(errors_in(&events).len(), 1, "{status}: one error event");
        the_request(&upstream);
    }
}

#[tokio::test]
async fn a_stream_cut_before_message_end_is_a_protocol_error() {
    let text = [
        json!({ "id": "r1", "type": "message-start", "delta": { "message": { "role": "assistant" } } }),
        json!({ "type": "content-delta", "index": 0, "delta": { "message": { "content": { "text": "Par" } } } }),
    ]
    .iter()
    .map(|e| format!("{e}\n"))
    .collect::<String>();
    let (_upstream, provider) = cohere_against(vec![Reply::stream(frame(&text, Framing::GeminiSse).expect("framed"))]).await;
    let (events, result) = run_turn(&provider, Request::user("command-a-03-2025", "hi")).await;
    let error = result.expect_err("cut short");
    assert_eq!(error.kind, ErrorKind::StreamProtocol);
    assert!(error.message.contains("message-end"), "{}", error.message);
    assert!(error.output_streamed, "`Par` was streamed before the cut");
    assert!(matches!(events.last(), Some(Event::Error(_))));
}

#[tokio::test]
async fn the_request_has_the_v2_chat_shape() {
    let end = json!({ "type": "message-end", "delta": { "finish_reason": "COMPLETE", "usage": { "tokens": { "input_tokens": 1, "output_tokens": 1 } } } });
    let (upstream, provider) = cohere_against(vec![Reply::stream(frame(&format!("{end}\n"), Framing::GeminiSse).expect("framed"))]).await;
    let call = ToolCall { id: "weather_e8p4pn45zt0t".into(), name: "weather".into(), arguments: r#"{"location":"San Francisco"}"#.into() };
    let mut request = Request::user("command-r-plus-08-2024", "Weather in San Francisco?");
    request.messages.insert(0, Message::system("Be brief."));
    request.messages.push(Message {
        role: cordon::Role::Assistant,
        parts: vec![
            Part::Reasoning(cordon::ReasoningPart { text: "I will use the weather tool.".into(), ..Default::default() }),
            Part::ToolCall(call),
        ],
    });
    request.messages.push(Message {
        role: cordon::Role::Tool,
        parts: vec![Part::ToolResult(ToolResult { call_id: "weather_e8p4pn45zt0t".into(), name: "weather".into(), output: "18C, fog".into(), is_error: false })],
    });
    request.sampling = cordon::Sampling {
        max_output_tokens: Some(200),
        temperature: Some(0.3),
        top_p: Some(0.75),
        top_k: Some(40),
        presence_penalty: Some(0.5),
        frequency_penalty: Some(0.25),
        stop_sequences: vec!["END".into()],
        seed: Some(42),
    };
    request.tools.push(ToolDefinition {
        name: "weather".into(),
        description: "Weather in a place".into(),
        parameters: json!({ "type": "object", "properties": { "location": { "type": "string" } } }),
    });
    request.tool_choice = Some(cordon::ToolChoice::Required);
    request.parallel_tool_calls = Some(false);
    let (events, result) = run_turn(&provider, request).await;
    assert_eq!(result.expect("the turn succeeds").finish.reason, FinishReason::Stop);
    let Some(Event::StreamStart { warnings, .. }) = events.first() else { panic!("stream-start first") };
    assert_eq!(warnings.iter().filter_map(|w| w.setting.as_deref()).collect::<Vec<_>>(), ["parallel-tool-calls"], "{warnings:?}");
    let (_, body) = the_request(&upstream);
    assert_eq!(
        body,
        json!({
            "model": "command-r-plus-08-2024",
            "stream": true,
            "messages": [
                { "role": "system", "content": "Be brief." },
                { "role": "user", "content": "Weather in San Francisco?" },
                {
                    "role": "assistant",
                    "tool_plan": "I will use the weather tool.",
                    "tool_calls": [{ "id": "weather_e8p4pn45zt0t", "type": "function", "function": { "name": "weather", "arguments": "{\"location\":\"San Francisco\"}" } }],
                },
                { "role": "tool", "tool_call_id": "weather_e8p4pn45zt0t", "content": "18C, fog" },
            ],
            "max_tokens": 200, "temperature": 0.3, "p": 0.75, "k": 40,
            "presence_penalty": 0.5, "frequency_penalty": 0.25, "stop_sequences": ["END"], "seed": 42,
            "tools": [{ "type": "function", "function": { "name": "weather", "description": "Weather in a place", "parameters": { "type": "object", "properties": { "location": { "type": "string" } } } } }],
            "tool_choice": "REQUIRED",
        })
    );
}
