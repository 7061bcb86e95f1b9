//! Chat Completions answers in the grammar the official OpenAI clients parse:
//! a stream of `chat.completion.chunk` server-sent events written as the
//! guest's events arrive ([`ChunkEncoder`]), a whole `chat.completion`
//! ([`completion`]), and errors in OpenAI's shape with the status and headers
//! that make the clients raise the right exception and retry only when it can
//! help ([`error_reply`]).
//!
//! Stream rules kept here (see `design/gateway.md`): the same `id`, `created`
//! and `model` on every chunk; `role: "assistant"` on the first delta; each
//! tool call's `index` (0-based, in order of start) on every fragment, with
//! `id`, `type` and `name` on its first; a `finish_reason` before the end; with
//! `include_usage`, `usage: null` on every chunk and one last chunk with
//! `choices: []` and the totals; then `data: [DONE]`. An error after the stream
//! began is a `data: {"error": ...}` event the clients raise.

use serde::Serialize;
use serde_json::{Value, json};

use crate::types::{ContentPart, ErrorKind, Event, FinishReason, TurnError, TurnResult, Usage};

/// Writes one turn's events as `chat.completion.chunk` events.
///
/// Every chunk of a stream shares its envelope (`id`, `object`, `created`,
/// `model`, the choice's `index`), so that part is serialized once, in
/// [`ChunkEncoder::new`]; each event then serializes only its delta. The bytes
/// are those serde would write for the whole chunk.
pub struct ChunkEncoder {
    id: String,
    created: u64,
    model: String,
    include_usage: bool,
    role_sent: bool,
    call_ids: Vec<String>,
    usage: Option<Usage>,
    /// `data: {"id":…,"object":"chat.completion.chunk","created":…,"model":…,"choices":[{"index":0,"delta":`
    head: Vec<u8>,
}

/// The start of every chunk of a stream, up to its delta.
#[derive(Serialize)]
struct Envelope<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
}

#[derive(Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[CallDelta<'a>; 1]>,
}

#[derive(Serialize)]
struct CallDelta<'a> {
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    function: FunctionDelta<'a>,
}

#[derive(Serialize)]
struct FunctionDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
}

impl ChunkEncoder {
    /// An encoder for the answer `id`, made at `created` (Unix seconds), for the
    /// public `model` name the client asked for.
    pub fn new(id: String, created: u64, model: String, include_usage: bool) -> ChunkEncoder {
        let envelope = Envelope { id: &id, object: "chat.completion.chunk", created, model: &model };
        let mut head = b"data: ".to_vec();
        // Serializing these types cannot fail.
        let _ = serde_json::to_writer(&mut head, &envelope);
        head.pop(); // the envelope's closing brace: the choices follow
        head.extend_from_slice(br#","choices":[{"index":0,"delta":"#);
        ChunkEncoder { id, created, model, include_usage, role_sent: false, call_ids: Vec::new(), usage: None, head }
    }

    /// Append the server-sent events `event` makes (often none) to `out`.
    pub fn event(&mut self, event: &Event, out: &mut Vec<u8>) {
        match event {
            Event::TextDelta { text } if !text.is_empty() => self.chunk(Delta { content: Some(text), ..Delta::default() }, None, out),
            Event::ReasoningDelta { text, .. } if !text.is_empty() => {
                self.chunk(Delta { reasoning_content: Some(text), ..Delta::default() }, None, out);
            }
            Event::ToolCallStart { id, name } => self.start_call(id, name, "", out),
            Event::ToolCallDelta { id, arguments } => {
                if let Some(index) = self.call_ids.iter().position(|known| known == id) {
                    let call = CallDelta { index, id: None, kind: None, function: FunctionDelta { name: None, arguments } };
                    self.chunk(Delta { tool_calls: Some([call]), ..Delta::default() }, None, out);
                }
            }
            // A call that was not streamed in fragments arrives whole.
            Event::ToolCall(call) if !self.call_ids.contains(&call.id) => self.start_call(&call.id, &call.name, &call.arguments, out),
            Event::Usage(usage) => self.usage = Some(usage.clone()),
            Event::Finish(finish) => self.chunk(Delta::default(), Some(finish_reason(finish.reason)), out),
            _ => {}
        }
    }

    /// End the stream: the usage chunk if asked for, then `[DONE]`.
    pub fn end(&mut self, out: &mut Vec<u8>) {
        if self.include_usage {
            let usage = usage_json(self.usage.as_ref().unwrap_or(&Usage::default()));
            let chunk = json!({
                "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [], "usage": usage,
            });
            frame(&chunk, out);
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
    }

    /// End the stream with an error the clients raise.
    pub fn error(&mut self, error: &TurnError, out: &mut Vec<u8>) {
        frame(&error_body(error), out);
    }

    fn start_call(&mut self, id: &str, name: &str, arguments: &str, out: &mut Vec<u8>) {
        let index = self.call_ids.len();
        self.call_ids.push(id.to_owned());
        let call = CallDelta { index, id: Some(id), kind: Some("function"), function: FunctionDelta { name: Some(name), arguments } };
        self.chunk(Delta { tool_calls: Some([call]), ..Delta::default() }, None, out);
    }

    fn chunk(&mut self, mut delta: Delta<'_>, finish_reason: Option<&'static str>, out: &mut Vec<u8>) {
        if !self.role_sent {
            delta.role = Some("assistant");
            self.role_sent = true;
        }
        out.extend_from_slice(&self.head);
        let _ = serde_json::to_writer(&mut *out, &delta);
        out.extend_from_slice(br#","logprobs":null,"finish_reason":"#);
        match finish_reason {
            Some(reason) => {
                out.push(b'"');
                out.extend_from_slice(reason.as_bytes());
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
        // `usage: null` on every chunk of a stream that asked for usage.
        out.extend_from_slice(if self.include_usage { br#"}],"usage":null}"# } else { b"}]}" });
        out.extend_from_slice(b"\n\n");
    }
}

/// One `data:` event. Serializing these types cannot fail.
fn frame(value: &impl Serialize, out: &mut Vec<u8>) {
    out.extend_from_slice(b"data: ");
    let _ = serde_json::to_writer(&mut *out, value);
    out.extend_from_slice(b"\n\n");
}

fn finish_reason(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Length => "length",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::Stop | FinishReason::Error | FinishReason::Other => "stop",
    }
}

fn usage_json(usage: &Usage) -> Value {
    let input = usage.input_tokens.unwrap_or(0);
    let output = usage.output_tokens.unwrap_or(0);
    let mut object = json!({
        "prompt_tokens": input,
        "completion_tokens": output,
        "total_tokens": input.saturating_add(output),
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens.unwrap_or(0)},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens.unwrap_or(0)},
    });
    crate::serve::prices::insert_cost(&mut object, usage);
    object
}

/// A whole `chat.completion` for `result`.
pub fn completion(result: &TurnResult, id: &str, created: u64, model: &str) -> Value {
    let text = result.text();
    let reasoning: String = result
        .content
        .iter()
        .filter_map(|part| match part {
            ContentPart::Reasoning(reasoning) => Some(reasoning.text.as_str()),
            _ => None,
        })
        .collect();
    let calls: Vec<Value> = result
        .content
        .iter()
        .filter_map(|part| match part {
            ContentPart::ToolCall(call) => {
                Some(json!({"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}))
            }
            _ => None,
        })
        .collect();
    let mut message = json!({"role": "assistant", "content": if text.is_empty() && !calls.is_empty() { Value::Null } else { Value::String(text) }});
    if !reasoning.is_empty() {
        message["reasoning_content"] = Value::String(reasoning);
    }
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    json!({
        "id": id, "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason(result.finish.reason)}],
        "usage": usage_json(&result.usage),
    })
}

/// An error answer: its status, headers and OpenAI-shaped body.
#[derive(Debug)]
pub struct ErrorReply {
    /// The HTTP status.
    pub status: u16,
    /// Extra headers (`retry-after`, `retry-after-ms`, `x-should-retry`).
    pub headers: Vec<(&'static str, String)>,
    /// `{"error": {"message", "type", "param", "code"}}`.
    pub body: Value,
}

/// The OpenAI `type` and `code` of an error kind, and its status.
fn classify(kind: ErrorKind) -> (u16, &'static str, Option<&'static str>) {
    match kind {
        ErrorKind::Auth => (401, "authentication_error", Some("invalid_api_key")),
        ErrorKind::Permission | ErrorKind::Denied => (403, "permission_error", None),
        ErrorKind::ModelNotFound => (404, "not_found_error", Some("model_not_found")),
        ErrorKind::InvalidRequest => (400, "invalid_request_error", None),
        ErrorKind::ContextLengthExceeded => (400, "invalid_request_error", Some("context_length_exceeded")),
        ErrorKind::ContentFilter => (400, "invalid_request_error", Some("content_filter")),
        ErrorKind::RateLimited | ErrorKind::Busy => (429, "rate_limit_error", Some("rate_limit_exceeded")),
        ErrorKind::Quota => (429, "insufficient_quota", Some("insufficient_quota")),
        ErrorKind::Overloaded => (503, "overloaded_error", None),
        ErrorKind::Timeout => (504, "timeout_error", None),
        ErrorKind::Network => (502, "api_error", Some("upstream_unreachable")),
        ErrorKind::Config => (500, "server_error", Some("provider_configuration")),
        ErrorKind::LimitExceeded | ErrorKind::Trap | ErrorKind::ContractViolation | ErrorKind::StreamProtocol => {
            (502, "api_error", Some("provider_failed"))
        }
        ErrorKind::Server | ErrorKind::Other => (500, "server_error", None),
    }
}

fn error_body(error: &TurnError) -> Value {
    let (_, kind, code) = classify(error.kind);
    let code = error.provider_code.as_deref().or(code);
    json!({"error": {"message": error.message, "type": kind, "param": null, "code": code}})
}

/// The status for `error`: its kind's, except that an upstream's 413 or 422
/// (a request too large, or unprocessable) and its exact 5xx pass through, so
/// the clients raise the class that status names (`UnprocessableEntityError`,
/// `ContentTooLargeError`, `ServiceUnavailableError`).
pub(crate) fn status_of(error: &TurnError, kind_status: u16) -> u16 {
    match (error.kind, error.status) {
        (ErrorKind::InvalidRequest, Some(upstream @ (413 | 422))) => upstream,
        (ErrorKind::Server, Some(upstream @ 500..=599)) => upstream,
        _ => kind_status,
    }
}

/// The headers that tell a client when and whether to retry: the wait the
/// upstream asked for (`retry-after-ms`, and `retry-after` in whole seconds
/// for clients that read only that), and `x-should-retry: false` where a retry
/// cannot help (the clients would otherwise retry a 429 or a 5xx).
pub(crate) fn retry_headers(error: &TurnError) -> Vec<(&'static str, String)> {
    let mut headers = Vec::new();
    if let Some(ms) = error.retry_after_ms {
        headers.push(("retry-after-ms", ms.to_string()));
        headers.push(("retry-after", ms.div_ceil(1000).to_string()));
    }
    if !error.retryable {
        headers.push(("x-should-retry", "false".to_owned()));
    }
    headers
}

/// The reply for a turn that failed before anything was streamed.
pub fn error_reply(error: &TurnError) -> ErrorReply {
    let (status, _, _) = classify(error.kind);
    ErrorReply { status: status_of(error, status), headers: retry_headers(error), body: error_body(error) }
}

/// A refusal of the gateway's own (bad body, unknown model): status 400 or 404.
pub fn refusal(status: u16, kind: &str, param: Option<&str>, code: Option<&str>, message: &str) -> ErrorReply {
    let body = json!({"error": {"message": message, "type": kind, "param": param, "code": code}});
    ErrorReply { status, headers: vec![("x-should-retry", "false".to_owned())], body }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Finish, ToolCall};

    fn events(encoder: &mut ChunkEncoder, events: &[Event]) -> Vec<Value> {
        let mut out = Vec::new();
        for event in events {
            encoder.event(event, &mut out);
        }
        encoder.end(&mut out);
        let text = String::from_utf8(out).expect("UTF-8");
        assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
        text.split("\n\n")
            .filter(|frame| !frame.is_empty() && *frame != "data: [DONE]")
            .map(|frame| serde_json::from_str(frame.strip_prefix("data: ").expect("a data line")).expect("JSON"))
            .collect()
    }

    #[test]
    fn a_stream_follows_the_chunk_grammar() {
        let mut encoder = ChunkEncoder::new("chatcmpl-1".into(), 1700, "fast".into(), true);
        let chunks = events(
            &mut encoder,
            &[
                Event::StreamStart { warnings: vec![], served_by: "openai@1".into() },
                Event::TextDelta { text: "Hi".into() },
                Event::ToolCallStart { id: "a".into(), name: "weather".into() },
                Event::ToolCallDelta { id: "a".into(), arguments: "{\"c\":".into() },
                Event::ToolCall(ToolCall { id: "b".into(), name: "time".into(), arguments: "{}".into() }),
                Event::ToolCallDelta { id: "a".into(), arguments: "1}".into() },
                Event::ToolCall(ToolCall { id: "a".into(), name: "weather".into(), arguments: "{\"c\":1}".into() }),
                Event::Usage(Usage { input_tokens: Some(5), output_tokens: Some(7), cache_read_tokens: Some(2), ..Usage::default() }),
                Event::Finish(Finish { reason: FinishReason::ToolCalls, raw: None }),
            ],
        );
        assert_eq!(chunks.len(), 7, "{chunks:#?}");
        for chunk in &chunks {
            assert_eq!((&chunk["id"], &chunk["created"], &chunk["model"]), (&json!("chatcmpl-1"), &json!(1700), &json!("fast")));
        }
        assert_eq!(chunks[0]["choices"][0]["delta"], json!({"role": "assistant", "content": "Hi"}));
        assert_eq!(chunks[0]["usage"], Value::Null);
        assert!(chunks[0].as_object().is_some_and(|o| o.contains_key("usage")), "usage: null is written");
        let call = |i: usize| chunks[i]["choices"][0]["delta"]["tool_calls"][0].clone();
        assert_eq!(call(1), json!({"index": 0, "id": "a", "type": "function", "function": {"name": "weather", "arguments": ""}}));
        assert_eq!(call(2), json!({"index": 0, "function": {"arguments": "{\"c\":"}}));
        assert_eq!(call(3), json!({"index": 1, "id": "b", "type": "function", "function": {"name": "time", "arguments": "{}"}}));
        assert_eq!(call(4), json!({"index": 0, "function": {"arguments": "1}"}}));
        assert_eq!(chunks[5]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(chunks[6]["choices"], json!([]));
        assert_eq!(chunks[6]["usage"]["total_tokens"], 12);
        assert_eq!(chunks[6]["usage"]["prompt_tokens_details"]["cached_tokens"], 2);
    }

    #[test]
    fn without_usage_no_usage_key_and_the_role_comes_first_even_on_finish() {
        let mut encoder = ChunkEncoder::new("x".into(), 1, "m".into(), false);
        let chunks = events(&mut encoder, &[Event::Finish(Finish { reason: FinishReason::Length, raw: None })]);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0]["choices"][0]["delta"], json!({"role": "assistant"}));
        assert_eq!(chunks[0]["choices"][0]["finish_reason"], "length");
        assert!(chunks[0].get("usage").is_none());
    }

    #[test]
    fn errors_get_the_status_the_clients_expect() {
        let mut limited = TurnError::new(ErrorKind::RateLimited, "slow down");
        limited.retryable = true;
        limited.retry_after_ms = Some(1500);
        let reply = error_reply(&limited);
        assert_eq!(reply.status, 429);
        assert_eq!(reply.headers, [("retry-after-ms", "1500".to_owned()), ("retry-after", "2".to_owned())]);
        assert_eq!(reply.body["error"]["type"], "rate_limit_error");
        let auth = error_reply(&TurnError::new(ErrorKind::Auth, "bad key"));
        assert_eq!((auth.status, auth.headers.clone()), (401, vec![("x-should-retry", "false".to_owned())]));
        assert_eq!(auth.body, json!({"error": {"message": "bad key", "type": "authentication_error", "param": null, "code": "invalid_api_key"}}));
        assert_eq!(error_reply(&TurnError::new(ErrorKind::ContextLengthExceeded, "long")).body["error"]["code"], "context_length_exceeded");
        assert_eq!(error_reply(&TurnError::new(ErrorKind::Overloaded, "busy")).status, 503);

        let mut encoder = ChunkEncoder::new("x".into(), 1, "m".into(), false);
        let mut out = Vec::new();
        encoder.error(&TurnError::new(ErrorKind::StreamProtocol, "cut"), &mut out);
        let text = String::from_utf8(out).expect("UTF-8");
        assert!(text.starts_with("data: {\"error\":") && text.ends_with("\n\n"), "{text}");
    }

    #[test]
    fn an_upstream_413_422_or_5xx_keeps_its_status() {
        let upstream = |kind: ErrorKind, status: u16| {
            let mut error = TurnError::new(kind, "upstream answered");
            error.status = Some(status);
            error.retryable = status >= 500;
            error_reply(&error)
        };
        for (kind, status, expected) in [
            (ErrorKind::InvalidRequest, 413, 413),
            (ErrorKind::InvalidRequest, 422, 422),
            (ErrorKind::InvalidRequest, 400, 400),
            (ErrorKind::Server, 503, 503),
            (ErrorKind::Server, 500, 500),
            (ErrorKind::Overloaded, 529, 503),
            (ErrorKind::ContextLengthExceeded, 413, 400),
            (ErrorKind::RateLimited, 503, 429),
        ] {
            let reply = upstream(kind, status);
            assert_eq!(reply.status, expected, "{kind:?} from an upstream {status}");
        }
        let too_large = upstream(ErrorKind::InvalidRequest, 413);
        assert_eq!(too_large.body["error"]["type"], "invalid_request_error");
        assert_eq!(too_large.headers, [("x-should-retry", "false".to_owned())], "a retry cannot help");
        assert!(upstream(ErrorKind::Server, 503).headers.is_empty(), "the client decides how to retry a 503");
    }

    #[test]
    fn a_refused_quota_says_no_retry_although_it_is_a_429() {
        let mut quota = TurnError::new(ErrorKind::Quota, "You exceeded your current quota");
        quota.provider_code = Some("insufficient_quota".into());
        let reply = error_reply(&quota);
        assert_eq!(reply.status, 429);
        assert_eq!(reply.headers, [("x-should-retry", "false".to_owned())]);
        assert_eq!(reply.body["error"]["code"], "insufficient_quota");
    }

    #[test]
    fn a_whole_answer_is_a_chat_completion() {
        let result = TurnResult {
            content: vec![
                ContentPart::Text { text: "Sunny".into() },
                ContentPart::ToolCall(ToolCall { id: "c".into(), name: "w".into(), arguments: "{}".into() }),
            ],
            usage: Usage { input_tokens: Some(1), output_tokens: Some(2), ..Usage::default() },
            finish: Finish { reason: FinishReason::Stop, raw: None },
            warnings: vec![],
            response_id: None,
            model: None,
            provider_metadata: None,
            served_by: "openai@1".into(),
        };
        let body = completion(&result, "chatcmpl-2", 9, "fast");
        assert_eq!(body["object"], "chat.completion");
        assert_eq!(body["choices"][0]["message"]["content"], "Sunny");
        assert_eq!(body["choices"][0]["message"]["tool_calls"][0]["function"]["name"], "w");
        assert_eq!(body["choices"][0]["finish_reason"], "stop");
        assert_eq!(body["usage"]["total_tokens"], 3);
    }
}
