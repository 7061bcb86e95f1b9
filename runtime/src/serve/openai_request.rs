//! `POST /v1/chat/completions` requests: the OpenAI Chat Completions body, as
//! the official clients send it, into the contract's [`Request`]. A body the
//! gateway cannot honour is refused with a message naming the field (an
//! OpenAI-shaped 400 upstream of here); fields it does not know are not dropped
//! silently but returned as warnings for the response's header.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::types::{
    FilePart, FileSource, Message, Part, ReasoningEffort, ReasoningSettings, Request, ResponseFormat, Role, Sampling, ToolCall,
    ToolChoice, ToolDefinition, ToolResult,
};

/// A parsed request and how the client wants its answer.
#[derive(Debug)]
pub struct ChatRequest {
    /// The contract's request; `model` is the public name the client sent.
    pub request: Request,
    /// `stream: true`.
    pub stream: bool,
    /// `stream_options.include_usage: true`.
    pub include_usage: bool,
    /// Fields the gateway ignored, by name.
    pub ignored: Vec<String>,
}

/// Why a body was refused: the field, and what is wrong with it.
#[derive(Debug, PartialEq, Eq)]
pub struct BadRequest {
    /// The JSON path of the field (`messages[2].content`), if one is to blame.
    pub param: Option<String>,
    /// What is wrong, and how to fix it.
    pub message: String,
}

fn bad(param: impl Into<String>, message: impl Into<String>) -> BadRequest {
    BadRequest { param: Some(param.into()), message: message.into() }
}

#[derive(Deserialize)]
struct RawRequest {
    model: Option<String>,
    messages: Option<Vec<Value>>,
    temperature: Option<f32>,
    top_p: Option<f32>,
    max_tokens: Option<u32>,
    max_completion_tokens: Option<u32>,
    stop: Option<Value>,
    seed: Option<i64>,
    presence_penalty: Option<f32>,
    frequency_penalty: Option<f32>,
    reasoning_effort: Option<ReasoningEffort>,
    response_format: Option<Value>,
    tools: Option<Vec<Value>>,
    tool_choice: Option<Value>,
    parallel_tool_calls: Option<bool>,
    stream: Option<bool>,
    stream_options: Option<Value>,
    n: Option<u32>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// Fields the gateway accepts without acting on them: they only describe the
/// caller, and no provider's answer depends on them.
const DESCRIPTIVE: [&str; 3] = ["user", "metadata", "store"];

/// Parse a request body.
pub fn parse(body: &[u8]) -> Result<ChatRequest, BadRequest> {
    let raw: RawRequest = serde_json::from_slice(body)
        .map_err(|err| BadRequest { param: None, message: format!("the body is not a chat completions request: {err}") })?;
    let model = raw.model.filter(|m| !m.is_empty()).ok_or_else(|| bad("model", "`model` is required: name one of GET /v1/models"))?;
    let raw_messages = raw.messages.ok_or_else(|| bad("messages", "`messages` is required"))?;
    if raw_messages.is_empty() {
        return Err(bad("messages", "`messages` must hold at least one message"));
    }
    if raw.n.is_some_and(|n| n != 1) {
        return Err(bad("n", "only one choice per request (`n: 1`) is served"));
    }
    let mut messages = Vec::with_capacity(raw_messages.len());
    for (index, message) in raw_messages.iter().enumerate() {
        messages.push(message_of(message, index)?);
    }
    let stop_sequences = match raw.stop {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(stop)) => vec![stop],
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(stop) => Ok(stop),
                _ => Err(bad("stop", "`stop` holds strings")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("stop", "`stop` is a string or an array of strings")),
    };
    let tool_list = raw.tools.as_deref().unwrap_or_default();
    let tools = tool_list.iter().enumerate().map(|(i, tool)| tool_of(tool, i)).collect::<Result<_, _>>()?;
    let include_usage = match &raw.stream_options {
        None | Some(Value::Null) => false,
        Some(options) => options.get("include_usage").and_then(Value::as_bool).unwrap_or(false),
    };
    let mut ignored: Vec<String> = raw.rest.into_iter().filter(|(key, _)| !DESCRIPTIVE.contains(&key.as_str())).map(|(key, _)| key).collect();
    // The contract has no per-tool strictness: say so rather than drop it.
    ignored.extend(
        tool_list
            .iter()
            .enumerate()
            .filter(|(_, tool)| tool.pointer("/function/strict").is_some_and(|strict| strict == &Value::Bool(true)))
            .map(|(index, _)| format!("tools[{index}].function.strict")),
    );
    let request = Request {
        model,
        messages,
        sampling: Sampling {
            max_output_tokens: raw.max_completion_tokens.or(raw.max_tokens),
            temperature: raw.temperature,
            top_p: raw.top_p,
            top_k: None,
            presence_penalty: raw.presence_penalty,
            frequency_penalty: raw.frequency_penalty,
            stop_sequences,
            seed: raw.seed,
        },
        reasoning: raw.reasoning_effort.map(|effort| ReasoningSettings { effort: Some(effort), ..ReasoningSettings::default() }),
        response_format: raw.response_format.as_ref().map(response_format_of).transpose()?,
        tools,
        tool_choice: raw.tool_choice.as_ref().map(tool_choice_of).transpose()?,
        parallel_tool_calls: raw.parallel_tool_calls,
        provider_options: None,
    };
    Ok(ChatRequest { request, stream: raw.stream.unwrap_or(false), include_usage, ignored })
}

fn message_of(message: &Value, index: usize) -> Result<Message, BadRequest> {
    let at = |field: &str| format!("messages[{index}].{field}");
    let role = match message.get("role").and_then(Value::as_str) {
        Some("system" | "developer") => Role::System,
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some("tool") => Role::Tool,
        Some(other) => return Err(bad(at("role"), format!("unknown role `{other}`: system, developer, user, assistant or tool"))),
        None => return Err(bad(at("role"), "each message needs a `role`")),
    };
    let mut parts = Vec::new();
    if role == Role::Tool {
        let call_id = message.get("tool_call_id").and_then(Value::as_str).ok_or_else(|| bad(at("tool_call_id"), "a tool message names the call it answers"))?;
        let output = text_of(message.get("content"), &at("content"))?;
        let name = message.get("name").and_then(Value::as_str).unwrap_or_default();
        parts.push(Part::ToolResult(ToolResult { call_id: call_id.to_owned(), name: name.to_owned(), output, is_error: false }));
        return Ok(Message { role, parts });
    }
    match message.get("content") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => parts.push(Part::Text { text: text.clone() }),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                parts.push(content_part(item, &at(&format!("content[{i}]")))?);
            }
        }
        Some(_) => return Err(bad(at("content"), "`content` is a string or an array of parts")),
    }
    if let Some(calls) = message.get("tool_calls").filter(|calls| !calls.is_null()) {
        let calls = calls.as_array().ok_or_else(|| bad(at("tool_calls"), "`tool_calls` is an array"))?;
        for (i, call) in calls.iter().enumerate() {
            let field = |f: &str| call.pointer(f).and_then(Value::as_str).map(str::to_owned);
            let (Some(id), Some(name)) = (field("/id"), field("/function/name")) else {
                return Err(bad(at(&format!("tool_calls[{i}]")), "a tool call has an `id` and a `function.name`"));
            };
            let arguments = field("/function/arguments").unwrap_or_else(|| "{}".to_owned());
            parts.push(Part::ToolCall(ToolCall { id, name, arguments }));
        }
    }
    Ok(Message { role, parts })
}

/// The text of a tool message's content: a string, or text parts joined.
fn text_of(content: Option<&Value>, param: &str) -> Result<String, BadRequest> {
    match content {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.get("text").and_then(Value::as_str).ok_or_else(|| bad(param, "a tool result's parts are text parts")))
            .collect::<Result<Vec<_>, _>>()
            .map(|texts| texts.concat()),
        _ => Err(bad(param, "a tool message's `content` is its result, as text")),
    }
}

fn content_part(item: &Value, param: &str) -> Result<Part, BadRequest> {
    match item.get("type").and_then(Value::as_str) {
        Some("text") => {
            let text = item.get("text").and_then(Value::as_str).ok_or_else(|| bad(param, "a text part has `text`"))?;
            Ok(Part::Text { text: text.to_owned() })
        }
        Some("image_url") => {
            let url = item.pointer("/image_url/url").and_then(Value::as_str).ok_or_else(|| bad(param, "an image part has `image_url.url`"))?;
            Ok(Part::File(image_of(url, param)?))
        }
        Some(other) => Err(bad(param, format!("content parts of type `{other}` are not served: use text or image_url"))),
        None => Err(bad(param, "each content part has a `type`")),
    }
}

/// An image by URL, or inline as a `data:` URL.
pub(crate) fn image_of(url: &str, param: &str) -> Result<FilePart, BadRequest> {
    let Some(data) = url.strip_prefix("data:") else {
        return Ok(FilePart { media_type: "image/*".to_owned(), source: FileSource::Url(url.to_owned()), filename: None });
    };
    let (media_type, payload) = data
        .split_once(";base64,")
        .ok_or_else(|| bad(param, "an inline image is a base64 data URL: data:image/png;base64,..."))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .map_err(|err| bad(param, format!("the inline image is not valid base64: {err}")))?;
    Ok(FilePart { media_type: media_type.to_owned(), source: FileSource::Bytes(bytes), filename: None })
}

fn tool_of(tool: &Value, index: usize) -> Result<ToolDefinition, BadRequest> {
    let param = format!("tools[{index}]");
    if tool.get("type").and_then(Value::as_str) != Some("function") {
        return Err(bad(param, "only `type: \"function\"` tools are served"));
    }
    let name = tool.pointer("/function/name").and_then(Value::as_str).ok_or_else(|| bad(&param, "a tool has `function.name`"))?;
    let description = tool.pointer("/function/description").and_then(Value::as_str).unwrap_or_default();
    let parameters = tool.pointer("/function/parameters").cloned().unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}}));
    Ok(ToolDefinition { name: name.to_owned(), description: description.to_owned(), parameters })
}

/// A `tool_choice` given as a string (both OpenAI APIs); `named` shows how
/// this API names one function instead.
pub(crate) fn tool_choice_mode(mode: &str, named: &str) -> Result<ToolChoice, BadRequest> {
    match mode {
        "auto" => Ok(ToolChoice::Auto),
        "none" => Ok(ToolChoice::None),
        "required" => Ok(ToolChoice::Required),
        other => Err(bad("tool_choice", format!("`{other}` is not a tool choice: auto, none, required, or {named}"))),
    }
}

fn tool_choice_of(choice: &Value) -> Result<ToolChoice, BadRequest> {
    match choice {
        Value::String(mode) => tool_choice_mode(mode, "{\"type\": \"function\", \"function\": {\"name\": ...}}"),
        _ => choice
            .pointer("/function/name")
            .and_then(Value::as_str)
            .map(|name| ToolChoice::Named(name.to_owned()))
            .ok_or_else(|| bad("tool_choice", "name the function: {\"type\": \"function\", \"function\": {\"name\": ...}}")),
    }
}

fn response_format_of(format: &Value) -> Result<ResponseFormat, BadRequest> {
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok(ResponseFormat::Text),
        Some("json_object") => Ok(ResponseFormat::Json { schema: None, name: None, description: None }),
        Some("json_schema") => {
            let spec = format.get("json_schema").ok_or_else(|| bad("response_format.json_schema", "a json_schema format has `json_schema`"))?;
            let text = |key: &str| spec.get(key).and_then(Value::as_str).map(str::to_owned);
            Ok(ResponseFormat::Json { schema: spec.get("schema").cloned(), name: text("name"), description: text("description") })
        }
        _ => Err(bad("response_format.type", "`response_format.type` is text, json_object or json_schema")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(body: Value) -> Result<ChatRequest, BadRequest> {
        parse(body.to_string().as_bytes())
    }

    #[test]
    fn a_full_request_maps_onto_the_contract() {
        let body = json!({
            "model": "fast", "stream": true, "stream_options": {"include_usage": true},
            "temperature": 0.2, "top_p": 0.9, "max_tokens": 10, "max_completion_tokens": 20, "stop": "END", "seed": 7,
            "presence_penalty": 0.1, "frequency_penalty": 0.3, "reasoning_effort": "low", "parallel_tool_calls": false,
            "response_format": {"type": "json_schema", "json_schema": {"name": "city", "schema": {"type": "object"}}},
            "tools": [{"type": "function", "function": {"name": "weather", "description": "d", "parameters": {"type": "object"}, "strict": true}}],
            "tool_choice": {"type": "function", "function": {"name": "weather"}},
            "user": "u-1", "logprobs": true,
            "messages": [
                {"role": "developer", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "what is"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,aGk="}}]},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "sunny"}
            ]
        });
        let chat = parsed(body).expect("valid");
        assert!(chat.stream && chat.include_usage);
        assert_eq!(chat.ignored, ["logprobs", "tools[0].function.strict"], "described fields pass, unknown ones are reported");
        let r = &chat.request;
        assert_eq!((r.model.as_str(), r.sampling.max_output_tokens, r.sampling.seed), ("fast", Some(20), Some(7)));
        assert_eq!(r.sampling.stop_sequences, ["END"]);
        assert_eq!(r.reasoning.as_ref().and_then(|s| s.effort), Some(ReasoningEffort::Low));
        assert_eq!(r.tool_choice, Some(ToolChoice::Named("weather".into())));
        assert_eq!(r.parallel_tool_calls, Some(false));
        assert!(matches!(&r.response_format, Some(ResponseFormat::Json { name: Some(n), schema: Some(_), .. }) if n == "city"));
        assert_eq!(r.messages[0].role, Role::System);
        assert_eq!(
            r.messages[1].parts[1],
            Part::File(FilePart { media_type: "image/png".into(), source: FileSource::Bytes(b"hi".to_vec()), filename: None })
        );
        assert_eq!(r.messages[2].parts, [Part::ToolCall(ToolCall { id: "c1".into(), name: "weather".into(), arguments: "{\"city\":\"Oslo\"}".into() })]);
        assert!(matches!(&r.messages[3].parts[0], Part::ToolResult(result) if result.call_id == "c1" && result.output == "sunny"));
    }

    #[test]
    fn bad_bodies_name_the_field() {
        let cases = [
            (json!({"messages": [{"role": "user", "content": "hi"}]}), "model"),
            (json!({"model": "m"}), "messages"),
            (json!({"model": "m", "messages": []}), "messages"),
            (json!({"model": "m", "n": 2, "messages": [{"role": "user", "content": "hi"}]}), "n"),
            (json!({"model": "m", "messages": [{"role": "robot", "content": "hi"}]}), "messages[0].role"),
            (json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]}), "messages[0].tool_call_id"),
            (json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "audio"}]}]}), "messages[0].content[0]"),
            (json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@"}}]}]}), "messages[0].content[0]"),
            (json!({"model": "m", "stop": 3, "messages": [{"role": "user", "content": "hi"}]}), "stop"),
            (json!({"model": "m", "tools": [{"type": "retrieval"}], "messages": [{"role": "user", "content": "hi"}]}), "tools[0]"),
            (json!({"model": "m", "tool_choice": "always", "messages": [{"role": "user", "content": "hi"}]}), "tool_choice"),
            (json!({"model": "m", "response_format": {"type": "yaml"}, "messages": [{"role": "user", "content": "hi"}]}), "response_format.type"),
        ];
        for (body, param) in cases {
            let err = parsed(body.clone()).expect_err("refused");
            assert_eq!(err.param.as_deref(), Some(param), "{body}: {}", err.message);
        }
        let err = parse(b"{not json").expect_err("refused");
        assert_eq!(err.param, None);
        assert!(err.message.contains("not a chat completions request"), "{}", err.message);
    }
}
