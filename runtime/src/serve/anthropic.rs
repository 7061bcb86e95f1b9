//! `POST /v1/messages`: the Anthropic Messages API over the same providers, so
//! an Anthropic client can reach any model. A request body becomes the
//! contract's [`Request`]; a turn's events become the Messages stream grammar
//! ([`MessageEncoder`]): `message_start`, then content blocks (`text`,
//! `thinking`, `tool_use`) each opened by `content_block_start`, filled by
//! deltas and closed by `content_block_stop`, one open at a time, then
//! `message_delta` (stop reason, usage) and `message_stop`. A tool call that
//! streams while another block is open is held and written whole when it
//! completes, since the grammar has no interleaved blocks.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::serve::openai_request::BadRequest;
use crate::serve::openai_response::{self, ErrorReply};
use crate::types::{
    ErrorKind, Event, FilePart, FileSource, FinishReason, Message, Part, ReasoningPart, ReasoningSettings, Request, Role, Sampling,
    ToolCall, ToolChoice, ToolDefinition, ToolResult, TurnError, Usage,
};

/// A parsed Messages request.
#[derive(Debug)]
pub struct MessagesRequest {
    /// The contract's request; `model` is the public name the client sent.
    pub request: Request,
    /// `stream: true`.
    pub stream: bool,
}

fn bad(param: impl Into<String>, message: impl Into<String>) -> BadRequest {
    BadRequest { param: Some(param.into()), message: message.into() }
}

/// Parse a Messages request body.
pub fn parse(body: &[u8]) -> Result<MessagesRequest, BadRequest> {
    let body: Value =
        serde_json::from_slice(body).map_err(|err| BadRequest { param: None, message: format!("the body is not JSON: {err}") })?;
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    let model = text("model").filter(|m| !m.is_empty()).ok_or_else(|| bad("model", "`model` is required"))?.to_owned();
    let max_tokens = body.get("max_tokens").and_then(Value::as_u64).ok_or_else(|| bad("max_tokens", "`max_tokens` is required"))?;
    let max_tokens = u32::try_from(max_tokens).map_err(|_| bad("max_tokens", "`max_tokens` is too large"))?;
    let mut messages = Vec::new();
    match body.get("system") {
        None | Some(Value::Null) => {}
        Some(Value::String(system)) => messages.push(Message::system(system.clone())),
        Some(Value::Array(blocks)) => {
            let joined: Vec<&str> = blocks.iter().filter_map(|b| b.get("text").and_then(Value::as_str)).collect();
            messages.push(Message::system(joined.join("\n")));
        }
        Some(_) => return Err(bad("system", "`system` is a string or an array of text blocks")),
    }
    let raw_messages = body.get("messages").and_then(Value::as_array).ok_or_else(|| bad("messages", "`messages` is required"))?;
    if raw_messages.is_empty() {
        return Err(bad("messages", "`messages` must hold at least one message"));
    }
    for (index, message) in raw_messages.iter().enumerate() {
        messages.extend(message_of(message, index)?);
    }
    let stop_sequences = match body.get("stop_sequences") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            items.iter().map(|s| s.as_str().map(str::to_owned).ok_or_else(|| bad("stop_sequences", "strings only"))).collect::<Result<_, _>>()?
        }
        Some(_) => return Err(bad("stop_sequences", "`stop_sequences` is an array of strings")),
    };
    let float = |key: &str| body.get(key).and_then(Value::as_f64).map(|v| v as f32);
    let mut tools = Vec::new();
    for (index, tool) in body.get("tools").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let name = tool.get("name").and_then(Value::as_str).ok_or_else(|| bad(format!("tools[{index}].name"), "a tool has a `name`"))?;
        let schema = tool.get("input_schema").cloned().ok_or_else(|| bad(format!("tools[{index}].input_schema"), "a tool has an `input_schema`"))?;
        let description = tool.get("description").and_then(Value::as_str).unwrap_or_default();
        tools.push(ToolDefinition { name: name.to_owned(), description: description.to_owned(), parameters: schema });
    }
    let (tool_choice, parallel_tool_calls) = match body.get("tool_choice") {
        None | Some(Value::Null) => (None, None),
        Some(choice) => {
            let parallel = choice.get("disable_parallel_tool_use").and_then(Value::as_bool).map(|disabled| !disabled);
            let choice = match choice.get("type").and_then(Value::as_str) {
                Some("auto") => ToolChoice::Auto,
                Some("any") => ToolChoice::Required,
                Some("none") => ToolChoice::None,
                Some("tool") => ToolChoice::Named(
                    choice.get("name").and_then(Value::as_str).ok_or_else(|| bad("tool_choice.name", "name the tool"))?.to_owned(),
                ),
                _ => return Err(bad("tool_choice.type", "`tool_choice.type` is auto, any, tool or none")),
            };
            (Some(choice), parallel)
        }
    };
    let reasoning = match body.get("thinking") {
        Some(thinking) if thinking.get("type").and_then(Value::as_str) == Some("enabled") => {
            let budget = thinking.get("budget_tokens").and_then(Value::as_u64).and_then(|b| u32::try_from(b).ok());
            Some(ReasoningSettings { budget_tokens: budget, include_thoughts: Some(true), ..ReasoningSettings::default() })
        }
        _ => None,
    };
    let request = Request {
        model,
        messages,
        sampling: Sampling {
            max_output_tokens: Some(max_tokens),
            temperature: float("temperature"),
            top_p: float("top_p"),
            top_k: body.get("top_k").and_then(Value::as_u64).and_then(|k| u32::try_from(k).ok()),
            presence_penalty: None,
            frequency_penalty: None,
            stop_sequences,
            seed: None,
        },
        reasoning,
        response_format: None,
        tools,
        tool_choice,
        parallel_tool_calls,
        provider_options: None,
    };
    Ok(MessagesRequest { request, stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false) })
}

/// One Messages message; tool results become their own `tool` message, as
/// the contract keeps them.
fn message_of(message: &Value, index: usize) -> Result<Vec<Message>, BadRequest> {
    let at = |field: &str| format!("messages[{index}].{field}");
    let role = match message.get("role").and_then(Value::as_str) {
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        _ => return Err(bad(at("role"), "each message's `role` is user or assistant")),
    };
    let blocks = match message.get("content") {
        Some(Value::String(text)) => return Ok(vec![Message::text(role, text.clone())]),
        Some(Value::Array(blocks)) => blocks,
        _ => return Err(bad(at("content"), "`content` is a string or an array of blocks")),
    };
    let (mut parts, mut results) = (Vec::new(), Vec::new());
    for (i, block) in blocks.iter().enumerate() {
        let param = at(&format!("content[{i}]"));
        let field = |key: &str| block.get(key).and_then(Value::as_str).map(str::to_owned);
        match block.get("type").and_then(Value::as_str) {
            Some("text") => parts.push(Part::Text { text: field("text").ok_or_else(|| bad(&param, "a text block has `text`"))? }),
            Some("image") => parts.push(Part::File(image_of(block, &param)?)),
            Some("tool_use") => {
                let (Some(id), Some(name)) = (field("id"), field("name")) else {
                    return Err(bad(&param, "a tool_use block has `id` and `name`"));
                };
                let arguments = block.get("input").map_or_else(|| "{}".to_owned(), Value::to_string);
                parts.push(Part::ToolCall(ToolCall { id, name, arguments }));
            }
            Some("tool_result") => {
                let call_id = field("tool_use_id").ok_or_else(|| bad(&param, "a tool_result block has `tool_use_id`"))?;
                let output = match block.get("content") {
                    Some(Value::String(text)) => text.clone(),
                    Some(Value::Array(items)) => items.iter().filter_map(|item| item.get("text").and_then(Value::as_str)).collect(),
                    _ => String::new(),
                };
                let is_error = block.get("is_error").and_then(Value::as_bool).unwrap_or(false);
                results.push(Part::ToolResult(ToolResult { call_id, name: String::new(), output, is_error }));
            }
            Some("thinking") => parts.push(Part::Reasoning(ReasoningPart {
                text: field("thinking").unwrap_or_default(),
                signature: field("signature"),
                redacted: None,
            })),
            Some("redacted_thinking") => {
                parts.push(Part::Reasoning(ReasoningPart { text: String::new(), signature: None, redacted: field("data") }));
            }
            Some(other) => return Err(bad(&param, format!("blocks of type `{other}` are not served"))),
            None => return Err(bad(&param, "each block has a `type`")),
        }
    }
    let mut out = Vec::new();
    if !results.is_empty() {
        out.push(Message { role: Role::Tool, parts: results });
    }
    if !parts.is_empty() {
        out.push(Message { role, parts });
    }
    Ok(out)
}

fn image_of(block: &Value, param: &str) -> Result<FilePart, BadRequest> {
    let source = block.get("source").ok_or_else(|| bad(param, "an image block has a `source`"))?;
    let text = |key: &str| source.get(key).and_then(Value::as_str);
    match text("type") {
        Some("base64") => {
            let media_type = text("media_type").ok_or_else(|| bad(param, "a base64 image has a `media_type`"))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text("data").unwrap_or_default())
                .map_err(|err| bad(param, format!("the image is not valid base64: {err}")))?;
            Ok(FilePart { media_type: media_type.to_owned(), source: FileSource::Bytes(bytes), filename: None })
        }
        Some("url") => {
            let url = text("url").ok_or_else(|| bad(param, "a url image has a `url`"))?;
            Ok(FilePart { media_type: "image/*".to_owned(), source: FileSource::Url(url.to_owned()), filename: None })
        }
        _ => Err(bad(param, "an image's source is base64 or url")),
    }
}

/// The kind of the content block open now.
#[derive(PartialEq)]
enum Open {
    None,
    Text,
    Thinking,
    Tool(String),
}

/// A tool call held back while another block was open.
struct Held {
    id: String,
    arguments: String,
}

/// Writes one turn's events in the Messages stream grammar.
pub struct MessageEncoder {
    id: String,
    model: String,
    started: bool,
    open: Open,
    index: usize,
    held: Vec<Held>,
    usage: Usage,
}

fn frame(event: &str, data: &Value, out: &mut Vec<u8>) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(event.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    let _ = serde_json::to_writer(&mut *out, data);
    out.extend_from_slice(b"\n\n");
}

impl MessageEncoder {
    /// An encoder for the message `id`, for the public `model` name asked for.
    pub fn new(id: String, model: String) -> MessageEncoder {
        MessageEncoder { id, model, started: false, open: Open::None, index: 0, held: Vec::new(), usage: Usage::default() }
    }

    /// Append the events `event` makes to `out`.
    pub fn event(&mut self, event: &Event, out: &mut Vec<u8>) {
        self.start(out);
        match event {
            Event::TextDelta { text } if !text.is_empty() => {
                self.open_block(Open::Text, json!({"type": "text", "text": ""}), out);
                self.delta(json!({"type": "text_delta", "text": text}), out);
            }
            Event::ReasoningDelta { text, signature, redacted } => {
                if let Some(data) = redacted {
                    self.close(out);
                    self.open_block(Open::Thinking, json!({"type": "redacted_thinking", "data": data}), out);
                    self.close(out);
                    return;
                }
                self.open_block(Open::Thinking, json!({"type": "thinking", "thinking": "", "signature": ""}), out);
                if !text.is_empty() {
                    self.delta(json!({"type": "thinking_delta", "thinking": text}), out);
                }
                if let Some(signature) = signature {
                    self.delta(json!({"type": "signature_delta", "signature": signature}), out);
                }
            }
            Event::ToolCallStart { id, name } => {
                if matches!(self.open, Open::Tool(_)) {
                    self.held.push(Held { id: id.clone(), arguments: String::new() });
                } else {
                    self.open_block(Open::Tool(id.clone()), json!({"type": "tool_use", "id": id, "name": name, "input": {}}), out);
                }
            }
            Event::ToolCallDelta { id, arguments } => {
                if self.open == Open::Tool(id.clone()) {
                    self.delta(json!({"type": "input_json_delta", "partial_json": arguments}), out);
                } else if let Some(held) = self.held.iter_mut().find(|held| &held.id == id) {
                    held.arguments.push_str(arguments);
                }
            }
            Event::ToolCall(call) => {
                if self.open == Open::Tool(call.id.clone()) {
                    self.close(out);
                } else {
                    let streamed = self.held.iter().position(|held| held.id == call.id);
                    let arguments = streamed.map_or_else(|| call.arguments.clone(), |at| self.held.remove(at).arguments);
                    self.close(out);
                    let block = json!({"type": "tool_use", "id": call.id, "name": call.name, "input": {}});
                    self.open_block(Open::Tool(call.id.clone()), block, out);
                    self.delta(json!({"type": "input_json_delta", "partial_json": arguments}), out);
                    self.close(out);
                }
            }
            Event::Usage(usage) => self.usage = usage.clone(),
            Event::Finish(finish) => {
                self.close(out);
                let stop_reason = match finish.reason {
                    FinishReason::Length => "max_tokens",
                    FinishReason::ToolCalls => "tool_use",
                    FinishReason::ContentFilter => "refusal",
                    FinishReason::Stop | FinishReason::Error | FinishReason::Other => "end_turn",
                };
                let usage = usage_json(&self.usage);
                frame("message_delta", &json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null}, "usage": usage}), out);
                frame("message_stop", &json!({"type": "message_stop"}), out);
            }
            _ => {}
        }
    }

    /// End the stream with an error the clients raise.
    pub fn error(&mut self, error: &TurnError, out: &mut Vec<u8>) {
        frame("error", &error_body(error), out);
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let message = json!({
            "id": self.id, "type": "message", "role": "assistant", "model": self.model, "content": [],
            "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 0, "output_tokens": 0},
        });
        frame("message_start", &json!({"type": "message_start", "message": message}), out);
    }

    fn open_block(&mut self, kind: Open, block: Value, out: &mut Vec<u8>) {
        if self.open == kind {
            return;
        }
        self.close(out);
        frame("content_block_start", &json!({"type": "content_block_start", "index": self.index, "content_block": block}), out);
        self.open = kind;
    }

    fn delta(&mut self, delta: Value, out: &mut Vec<u8>) {
        frame("content_block_delta", &json!({"type": "content_block_delta", "index": self.index, "delta": delta}), out);
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if self.open == Open::None {
            return;
        }
        frame("content_block_stop", &json!({"type": "content_block_stop", "index": self.index}), out);
        self.open = Open::None;
        self.index = self.index.saturating_add(1);
    }
}

/// A whole `message` for `result`.
pub fn message(result: &crate::types::TurnResult, id: &str, model: &str) -> Value {
    use crate::types::ContentPart;
    let content: Vec<Value> = result
        .content
        .iter()
        .map(|part| match part {
            ContentPart::Text { text } => json!({"type": "text", "text": text}),
            ContentPart::Reasoning(reasoning) => match &reasoning.redacted {
                Some(data) => json!({"type": "redacted_thinking", "data": data}),
                None => json!({"type": "thinking", "thinking": reasoning.text, "signature": reasoning.signature.clone().unwrap_or_default()}),
            },
            ContentPart::ToolCall(call) => {
                let input: Value = serde_json::from_str(&call.arguments).unwrap_or_else(|_| json!({}));
                json!({"type": "tool_use", "id": call.id, "name": call.name, "input": input})
            }
        })
        .collect();
    let stop_reason = match result.finish.reason {
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "refusal",
        FinishReason::Stop | FinishReason::Error | FinishReason::Other => "end_turn",
    };
    json!({
        "id": id, "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": stop_reason, "stop_sequence": null, "usage": usage_json(&result.usage),
    })
}

/// A usage as the Messages API counts it: `input_tokens` are the input tokens
/// neither read from nor written to the cache (the contract's count includes
/// both), beside `cache_read_input_tokens` and `cache_creation_input_tokens`,
/// so a client adding the three counts each token once; and the cost.
fn usage_json(usage: &Usage) -> Value {
    let read = usage.cache_read_tokens.unwrap_or(0);
    let written = usage.cache_write_tokens.unwrap_or(0);
    let mut object = json!({
        "input_tokens": usage.input_tokens.unwrap_or(0).saturating_sub(read).saturating_sub(written),
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": written,
        "output_tokens": usage.output_tokens.unwrap_or(0),
    });
    crate::serve::prices::insert_cost(&mut object, usage);
    object
}

/// The Anthropic error type and status of an error kind.
pub fn classify(kind: ErrorKind) -> (u16, &'static str) {
    match kind {
        ErrorKind::Auth => (401, "authentication_error"),
        ErrorKind::Permission | ErrorKind::Denied => (403, "permission_error"),
        ErrorKind::ModelNotFound => (404, "not_found_error"),
        ErrorKind::InvalidRequest | ErrorKind::ContextLengthExceeded | ErrorKind::ContentFilter => (400, "invalid_request_error"),
        ErrorKind::RateLimited | ErrorKind::Quota | ErrorKind::Busy => (429, "rate_limit_error"),
        ErrorKind::Overloaded => (529, "overloaded_error"),
        ErrorKind::Timeout => (504, "timeout_error"),
        _ => (500, "api_error"),
    }
}

/// `{"type": "error", "error": {"type", "message"}}`.
pub fn error_body(error: &TurnError) -> Value {
    json!({"type": "error", "error": {"type": classify(error.kind).1, "message": error.message}})
}

/// The whole answer for a turn that failed before anything was streamed: the
/// status the Anthropic clients map to their exception classes (an upstream's
/// 413, 422 or exact 5xx kept, 413 as `request_too_large`), the retry headers
/// they read (`retry-after-ms`, `retry-after`, and `x-should-retry: false`
/// where a retry cannot help, as for an exhausted quota's 429), and the body.
pub fn error_reply(error: &TurnError) -> ErrorReply {
    let (status, kind) = classify(error.kind);
    let status = openai_response::status_of(error, status);
    let kind = if status == 413 { "request_too_large" } else { kind };
    let body = json!({"type": "error", "error": {"type": kind, "message": error.message}});
    ErrorReply { status, headers: openai_response::retry_headers(error), body }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Finish;

    fn frames(out: &[u8]) -> Vec<(String, Value)> {
        String::from_utf8_lossy(out)
            .split("\n\n")
            .filter(|f| !f.is_empty())
            .map(|f| {
                let (event, data) = f.split_once('\n').expect("two lines");
                let event = event.strip_prefix("event: ").expect("event line").to_owned();
                (event, serde_json::from_str(data.strip_prefix("data: ").expect("data line")).expect("JSON"))
            })
            .collect()
    }

    #[test]
    fn a_request_maps_onto_the_contract() {
        let body = json!({
            "model": "fast", "max_tokens": 100, "stream": true, "system": "be brief", "top_k": 5,
            "stop_sequences": ["END"], "thinking": {"type": "enabled", "budget_tokens": 2048},
            "tools": [{"name": "weather", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
            "messages": [
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": [{"type": "thinking", "thinking": "hm", "signature": "s"}, {"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "Oslo"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}, {"type": "text", "text": "and tomorrow?"}]}
            ]
        });
        let parsed = parse(body.to_string().as_bytes()).expect("valid");
        assert!(parsed.stream);
        let r = parsed.request;
        assert_eq!((r.sampling.max_output_tokens, r.sampling.top_k), (Some(100), Some(5)));
        assert_eq!(r.tool_choice, Some(ToolChoice::Required));
        assert_eq!(r.parallel_tool_calls, Some(false));
        assert_eq!(r.reasoning.as_ref().and_then(|s| s.budget_tokens), Some(2048));
        let roles: Vec<Role> = r.messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, [Role::System, Role::User, Role::Assistant, Role::Tool, Role::User]);
        assert!(matches!(&r.messages[2].parts[1], Part::ToolCall(call) if call.arguments == r#"{"city":"Oslo"}"#));
        assert!(matches!(&r.messages[3].parts[0], Part::ToolResult(result) if result.call_id == "t1" && result.output == "sunny"));

        for (body, param) in [
            (json!({"max_tokens": 1, "messages": [{"role": "user", "content": "x"}]}), "model"),
            (json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}), "max_tokens"),
            (json!({"model": "m", "max_tokens": 1, "messages": [{"role": "system", "content": "x"}]}), "messages[0].role"),
            (json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "audio"}]}]}), "messages[0].content[0]"),
        ] {
            assert_eq!(parse(body.to_string().as_bytes()).expect_err("refused").param.as_deref(), Some(param), "{body}");
        }
    }

    #[test]
    fn a_stream_follows_the_messages_grammar() {
        let mut encoder = MessageEncoder::new("msg_1".into(), "fast".into());
        let mut out = Vec::new();
        for event in [
            Event::ReasoningDelta { text: "think".into(), signature: None, redacted: None },
            Event::ReasoningDelta { text: String::new(), signature: Some("sig".into()), redacted: None },
            Event::TextDelta { text: "Hi".into() },
            Event::ToolCallStart { id: "a".into(), name: "w".into() },
            Event::ToolCallStart { id: "b".into(), name: "t".into() },
            Event::ToolCallDelta { id: "b".into(), arguments: "{}".into() },
            Event::ToolCallDelta { id: "a".into(), arguments: "{\"c\":1}".into() },
            Event::ToolCall(ToolCall { id: "a".into(), name: "w".into(), arguments: "{\"c\":1}".into() }),
            Event::ToolCall(ToolCall { id: "b".into(), name: "t".into(), arguments: "{}".into() }),
            Event::Usage(Usage { input_tokens: Some(3), output_tokens: Some(4), ..Usage::default() }),
            Event::Finish(Finish { reason: FinishReason::ToolCalls, raw: None }),
        ] {
            encoder.event(&event, &mut out);
        }
        let written = frames(&out);
        let names: Vec<&str> = written.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
                "content_block_start", "content_block_delta", "content_block_stop",
                "content_block_start", "content_block_delta", "content_block_stop",
                "content_block_start", "content_block_delta", "content_block_stop",
                "message_delta", "message_stop",
            ]
        );
        assert_eq!(written[1].1["content_block"]["type"], "thinking");
        assert_eq!(written[3].1["delta"], json!({"type": "signature_delta", "signature": "sig"}));
        assert_eq!(written[6].1["delta"], json!({"type": "text_delta", "text": "Hi"}));
        assert_eq!(written[8].1["content_block"], json!({"type": "tool_use", "id": "a", "name": "w", "input": {}}));
        assert_eq!(written[9].1["delta"]["partial_json"], "{\"c\":1}");
        assert_eq!(written[11].1["index"], 3);
        assert_eq!(written[11].1["content_block"]["id"], "b");
        assert_eq!(written[12].1["delta"]["partial_json"], "{}", "the held call is written whole");
        assert_eq!(written[14].1["delta"]["stop_reason"], "tool_use");
        assert_eq!(written[14].1["usage"]["output_tokens"], 4);

        let mut out = Vec::new();
        MessageEncoder::new("m".into(), "x".into()).error(&TurnError::new(ErrorKind::Overloaded, "busy"), &mut out);
        assert_eq!(self::tests::frames(&out)[0].1, json!({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}));
        assert_eq!(classify(ErrorKind::Overloaded).0, 529);
    }

    #[test]
    fn error_replies_carry_the_status_type_and_retry_headers_the_clients_read() {
        let mut overloaded = TurnError::new(ErrorKind::Overloaded, "Overloaded");
        overloaded.retryable = true;
        overloaded.status = Some(529);
        let reply = error_reply(&overloaded);
        assert_eq!((reply.status, reply.headers.is_empty()), (529, true), "the client retries a 529 by itself");
        assert_eq!(reply.body, json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}));

        let mut limited = TurnError::new(ErrorKind::RateLimited, "slow down");
        limited.retryable = true;
        limited.retry_after_ms = Some(1500);
        let reply = error_reply(&limited);
        assert_eq!(reply.status, 429);
        assert_eq!(reply.headers, [("retry-after-ms", "1500".to_owned()), ("retry-after", "2".to_owned())]);

        let quota = error_reply(&TurnError::new(ErrorKind::Quota, "credit balance too low"));
        assert_eq!((quota.status, quota.headers), (429, vec![("x-should-retry", "false".to_owned())]));

        let mut too_large = TurnError::new(ErrorKind::InvalidRequest, "too big");
        too_large.status = Some(413);
        let reply = error_reply(&too_large);
        assert_eq!((reply.status, &reply.body["error"]["type"]), (413, &json!("request_too_large")));
        let mut unavailable = TurnError::new(ErrorKind::Server, "down");
        unavailable.status = Some(503);
        assert_eq!((error_reply(&unavailable).status, error_reply(&unavailable).body["error"]["type"].clone()), (503, json!("api_error")));
        assert_eq!(error_reply(&TurnError::new(ErrorKind::Auth, "bad key")).headers, [("x-should-retry", "false".to_owned())]);
    }
}
