//! `POST /v1/responses`: the OpenAI Responses API over the same providers, so a
//! client written for it reaches any model.
//!
//! [`parse`] turns a request body into the contract's [`Request`]: `input` as a
//! string or as items (messages with `input_text`, `input_image` and
//! `input_file` parts; the assistant's own `message`, `reasoning` and
//! `function_call` items; the client's `function_call_output`s), then
//! `instructions`, flat function `tools`, `tool_choice`, `parallel_tool_calls`,
//! `temperature`, `top_p`, `max_output_tokens`, `reasoning.effort` and
//! `text.format`. The gateway keeps no state, so what needs it
//! (`previous_response_id`, `conversation`, stored `prompt`s, `background`,
//! `item_reference`s) is refused, naming the field and the fix; what the
//! contract cannot carry comes back as warnings for the answer's header.
//!
//! [`ResponseEncoder`] writes a turn's events in the Responses stream grammar:
//! `response.created` and `response.in_progress`; then output items, each
//! opened by `response.output_item.added` and closed by
//! `response.output_item.done`: a `message` (one `output_text` part, its
//! `content_part.added`, `output_text.delta`s, `output_text.done` and
//! `content_part.done`), a `reasoning` item (one summary part, with
//! `reasoning_summary_part.added`, `reasoning_summary_text.delta`s and their
//! `.done`s) or a `function_call` (`function_call_arguments.delta`s and
//! `.done`); finally `response.completed`, or `response.incomplete` when the
//! output was cut by the token limit or a filter, with the whole output and
//! the usage. Every event carries `type` and `sequence_number`. Calls may
//! interleave (each event names its `output_index`); text and reasoning close
//! when something else begins. An error after the stream began is an `error`
//! event, its fields both flat (as the API reference documents) and under
//! `error` (as the live API sends them, which is what the official clients
//! raise on), then `response.failed`.
//!
//! Redacted reasoning becomes a reasoning item's `encrypted_content` (and goes
//! back to the provider when the client returns the item); reasoning
//! signatures have no place in this grammar and are not sent.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::serve::openai_request::{BadRequest, image_of, tool_choice_mode};
use crate::serve::openai_response;
use crate::types::{
    ContentPart, Event, FinishReason, Message, Part, ReasoningEffort, ReasoningPart, ReasoningSettings, Request, ResponseFormat, Role,
    Sampling, ToolCall, ToolChoice, ToolDefinition, ToolResult, TurnError, TurnResult, Usage,
};

/// A parsed Responses request.
#[derive(Debug)]
pub struct ResponsesRequest {
    /// The contract's request; `model` is the public name the client sent.
    pub request: Request,
    /// `stream: true`.
    pub stream: bool,
    /// What the gateway did not honour, one sentence each (`field: why`).
    pub warnings: Vec<String>,
    /// The request's settings as a response object repeats them
    /// (`instructions`, `tools`, `temperature`, `metadata`, ...).
    pub echo: Map<String, Value>,
}

fn bad(param: impl Into<String>, message: impl Into<String>) -> BadRequest {
    BadRequest { param: Some(param.into()), message: message.into() }
}

/// Fields that need state this gateway does not keep, and what to send instead.
const STATEFUL: [(&str, &str); 3] = [
    (
        "previous_response_id",
        "this gateway keeps no state: send the whole conversation in `input` (your earlier input, the previous response's `output` items and your `function_call_output` items)",
    ),
    ("conversation", "this gateway keeps no conversations: send the whole conversation in `input`"),
    ("prompt", "stored prompts live with OpenAI, not here: send `instructions` and `input` instead"),
];

/// Fields accepted without acting on them: they only describe the caller
/// (`metadata` and `user` are repeated in the response).
const DESCRIPTIVE: [&str; 3] = ["user", "safety_identifier", "metadata"];

/// Parse a Responses request body.
pub fn parse(body: &[u8]) -> Result<ResponsesRequest, BadRequest> {
    let body: Value =
        serde_json::from_slice(body).map_err(|err| BadRequest { param: None, message: format!("the body is not JSON: {err}") })?;
    let Value::Object(mut body) = body else {
        return Err(BadRequest { param: None, message: "the body is a JSON object: a Responses request".into() });
    };
    // `null` means "not given", as the clients that send it mean it.
    body.retain(|_, value| !value.is_null());
    for (key, why) in STATEFUL {
        if body.contains_key(key) {
            return Err(bad(key, why));
        }
    }
    let mut warnings = Vec::new();
    let model = match body.remove("model") {
        Some(Value::String(model)) if !model.is_empty() => model,
        _ => return Err(bad("model", "`model` is required: name one of GET /v1/models")),
    };
    let stream = flag(&mut body, "stream")?.unwrap_or(false);
    if flag(&mut body, "background")? == Some(true) {
        return Err(bad("background", "background responses need stored state, which this gateway does not keep: use `stream: true` instead"));
    }
    if flag(&mut body, "store")? == Some(true) {
        warnings.push("store: this gateway keeps no state, the response is not stored".to_owned());
    }
    let instructions = match body.remove("instructions") {
        None => None,
        Some(Value::String(text)) => Some(text),
        Some(_) => return Err(bad("instructions", "`instructions` is a string: the system message")),
    };
    let mut messages = Vec::new();
    if let Some(text) = &instructions {
        messages.push(Message::system(text.clone()));
    }
    let input = body.remove("input").ok_or_else(|| bad("input", "`input` is required: a string, or an array of items"))?;
    input_of(&input, &mut messages, &mut warnings)?;

    let max_output_tokens = body.remove("max_output_tokens");
    let max_tokens = max_output_tokens
        .as_ref()
        .map(|value| {
            value.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| bad("max_output_tokens", "`max_output_tokens` is a whole number of tokens"))
        })
        .transpose()?;
    let temperature = body.remove("temperature");
    let top_p = body.remove("top_p");
    let parallel_tool_calls = flag(&mut body, "parallel_tool_calls")?;
    let tools_given = match body.remove("tools") {
        None => Vec::new(),
        Some(Value::Array(tools)) => tools,
        Some(_) => return Err(bad("tools", "`tools` is an array of function tools")),
    };
    let tools = tools_given.iter().enumerate().map(|(index, tool)| tool_of(tool, index, &mut warnings)).collect::<Result<_, _>>()?;
    let tool_choice = body.remove("tool_choice");
    let reasoning = body.remove("reasoning");
    let (reasoning_settings, reasoning_echo) = match &reasoning {
        None => (None, json!({"effort": null, "summary": null})),
        Some(value) => reasoning_of(value, &mut warnings)?,
    };
    let text = body.remove("text");
    let (response_format, format_echo) = match &text {
        None => (None, json!({"type": "text"})),
        Some(value) => text_of(value, &mut warnings)?,
    };
    match body.remove("truncation") {
        None => {}
        Some(Value::String(mode)) if mode == "disabled" => {}
        Some(_) => warnings.push("truncation: only `disabled` is served; an input over the context window fails".to_owned()),
    }
    if let Some(include) = body.remove("include") {
        // Encrypted reasoning is always returned when the provider gives it.
        let items = include.as_array().map(Vec::as_slice).unwrap_or_default();
        if !include.is_array() || items.iter().any(|item| item.as_str() != Some("reasoning.encrypted_content")) {
            warnings.push("include: only `reasoning.encrypted_content` is served, the rest is ignored".to_owned());
        }
    }
    let metadata = body.remove("metadata").unwrap_or_else(|| json!({}));
    let user = body.remove("user").unwrap_or(Value::Null);
    warnings.extend(
        body.keys().filter(|key| !DESCRIPTIVE.contains(&key.as_str())).map(|key| format!("{key}: not supported by this gateway, ignored")),
    );

    let request = Request {
        model,
        messages,
        sampling: Sampling {
            max_output_tokens: max_tokens,
            temperature: temperature.as_ref().map(|value| number(value, "temperature")).transpose()?,
            top_p: top_p.as_ref().map(|value| number(value, "top_p")).transpose()?,
            ..Sampling::default()
        },
        reasoning: reasoning_settings,
        response_format,
        tools,
        tool_choice: tool_choice.as_ref().map(tool_choice_of).transpose()?,
        parallel_tool_calls,
        provider_options: None,
    };
    let mut echo = Map::new();
    echo.insert("instructions".into(), instructions.map_or(Value::Null, Value::String));
    echo.insert("max_output_tokens".into(), max_output_tokens.unwrap_or(Value::Null));
    echo.insert("metadata".into(), metadata);
    echo.insert("parallel_tool_calls".into(), Value::Bool(parallel_tool_calls.unwrap_or(true)));
    echo.insert("previous_response_id".into(), Value::Null);
    echo.insert("reasoning".into(), reasoning_echo);
    echo.insert("store".into(), Value::Bool(false));
    echo.insert("temperature".into(), temperature.unwrap_or(Value::Null));
    echo.insert("text".into(), json!({"format": format_echo}));
    echo.insert("tool_choice".into(), tool_choice.unwrap_or_else(|| json!("auto")));
    echo.insert("tools".into(), Value::Array(tools_given));
    echo.insert("top_p".into(), top_p.unwrap_or(Value::Null));
    echo.insert("truncation".into(), json!("disabled"));
    echo.insert("user".into(), user);
    Ok(ResponsesRequest { request, stream, warnings, echo })
}

fn flag(body: &mut Map<String, Value>, key: &str) -> Result<Option<bool>, BadRequest> {
    match body.remove(key) {
        None => Ok(None),
        Some(Value::Bool(value)) => Ok(Some(value)),
        Some(_) => Err(bad(key, format!("`{key}` is true or false"))),
    }
}

fn number(value: &Value, key: &str) -> Result<f32, BadRequest> {
    value.as_f64().map(|n| n as f32).ok_or_else(|| bad(key, format!("`{key}` is a number")))
}

/// Append the conversation `input` holds to `messages`. The assistant's items
/// (its messages, reasoning and calls) in a row make one assistant message, and
/// `function_call_output`s in a row one tool message, as the contract keeps them.
fn input_of(input: &Value, messages: &mut Vec<Message>, warnings: &mut Vec<String>) -> Result<(), BadRequest> {
    let items = match input {
        Value::String(text) => {
            messages.push(Message::user(text.clone()));
            return Ok(());
        }
        Value::Array(items) if !items.is_empty() => items,
        Value::Array(_) => return Err(bad("input", "`input` must hold at least one item")),
        _ => return Err(bad("input", "`input` is a string or an array of items")),
    };
    for (index, item) in items.iter().enumerate() {
        let param = format!("input[{index}]");
        let field = |key: &str| item.get(key).and_then(Value::as_str);
        let kind = match field("type") {
            Some(kind) => kind,
            None if item.get("role").is_some() => "message",
            None => return Err(bad(param, "each item has a `type` (message, function_call, function_call_output or reasoning)")),
        };
        match kind {
            "message" => {
                let role = match field("role") {
                    Some("user") => Role::User,
                    Some("system" | "developer") => Role::System,
                    Some("assistant") => Role::Assistant,
                    _ => return Err(bad(format!("{param}.role"), "a message's `role` is user, system, developer or assistant")),
                };
                let parts = content_of(item.get("content"), &format!("{param}.content"), warnings)?;
                if role == Role::Assistant {
                    for part in parts {
                        push_assistant(messages, part);
                    }
                } else {
                    messages.push(Message { role, parts });
                }
            }
            "function_call" => {
                let (Some(call_id), Some(name)) = (field("call_id"), field("name")) else {
                    return Err(bad(param, "a function_call item has a `call_id` and a `name`"));
                };
                let arguments = field("arguments").unwrap_or("{}");
                push_assistant(messages, Part::ToolCall(ToolCall { id: call_id.to_owned(), name: name.to_owned(), arguments: arguments.to_owned() }));
            }
            "function_call_output" => {
                let call_id = field("call_id").ok_or_else(|| bad(format!("{param}.call_id"), "a function_call_output names the call it answers: `call_id`"))?;
                let output = match item.get("output") {
                    Some(Value::String(text)) => text.clone(),
                    Some(Value::Array(parts)) => parts
                        .iter()
                        .map(|part| match (part.get("type").and_then(Value::as_str), part.get("text").and_then(Value::as_str)) {
                            (Some("input_text"), Some(text)) => Ok(text),
                            _ => Err(bad(format!("{param}.output"), "a function's output is text: a string, or input_text parts")),
                        })
                        .collect::<Result<Vec<_>, _>>()?
                        .concat(),
                    _ => return Err(bad(format!("{param}.output"), "a function_call_output has an `output`: the function's result, as text")),
                };
                // Some providers want the function's name with its result.
                let name = messages
                    .iter()
                    .rev()
                    .flat_map(|message| &message.parts)
                    .find_map(|part| match part {
                        Part::ToolCall(call) if call.id == call_id => Some(call.name.clone()),
                        _ => None,
                    })
                    .unwrap_or_default();
                let result = Part::ToolResult(ToolResult { call_id: call_id.to_owned(), name, output, is_error: false });
                match messages.last_mut() {
                    Some(last) if last.role == Role::Tool => last.parts.push(result),
                    _ => messages.push(Message { role: Role::Tool, parts: vec![result] }),
                }
            }
            "reasoning" => {
                let summary: Vec<&str> =
                    item.get("summary").and_then(Value::as_array).into_iter().flatten().filter_map(|part| part.get("text").and_then(Value::as_str)).collect();
                let redacted = field("encrypted_content").map(str::to_owned);
                push_assistant(messages, Part::Reasoning(ReasoningPart { text: summary.join("\n\n"), signature: None, redacted }));
            }
            "item_reference" => return Err(bad(param, "this gateway keeps no state, so it cannot look items up by id: send the item itself")),
            other => {
                return Err(bad(
                    format!("{param}.type"),
                    format!("`{other}` items are not served: send message, function_call, function_call_output or reasoning items"),
                ));
            }
        }
    }
    Ok(())
}

fn push_assistant(messages: &mut Vec<Message>, part: Part) {
    match messages.last_mut() {
        Some(last) if last.role == Role::Assistant => last.parts.push(part),
        _ => messages.push(Message { role: Role::Assistant, parts: vec![part] }),
    }
}

/// A message's content: a string, or parts.
fn content_of(content: Option<&Value>, param: &str, warnings: &mut Vec<String>) -> Result<Vec<Part>, BadRequest> {
    let parts = match content {
        Some(Value::String(text)) => return Ok(vec![Part::Text { text: text.clone() }]),
        Some(Value::Array(parts)) => parts,
        _ => return Err(bad(param, "`content` is a string or an array of parts")),
    };
    let mut out = Vec::with_capacity(parts.len());
    for (index, part) in parts.iter().enumerate() {
        let param = format!("{param}[{index}]");
        let field = |key: &str| part.get(key).and_then(Value::as_str);
        let text = |key: &str| field(key).map(|text| Part::Text { text: text.to_owned() }).ok_or_else(|| bad(&param, format!("this part has `{key}`")));
        out.push(match field("type") {
            Some("input_text" | "output_text") => text("text")?,
            Some("refusal") => text("refusal")?,
            Some("input_image") => {
                if let Some(detail) = field("detail").filter(|detail| *detail != "auto") {
                    warnings.push(format!("{param}.detail: `{detail}` is not carried, the provider's default detail is used"));
                }
                match field("image_url") {
                    Some(url) => Part::File(image_of(url, &param)?),
                    None if part.get("file_id").is_some() => {
                        return Err(bad(param, "files uploaded to OpenAI are not reachable from here: send the image in `image_url` (a URL or a base64 data URL)"));
                    }
                    None => return Err(bad(param, "an input_image has an `image_url`")),
                }
            }
            Some("input_file") => match field("file_data") {
                Some(data) if data.starts_with("data:") => {
                    let mut file = image_of(data, &param)?;
                    file.filename = field("filename").map(str::to_owned);
                    Part::File(file)
                }
                _ => return Err(bad(param, "send a file inline: `file_data` as a base64 data URL (data:application/pdf;base64,...); file ids and file URLs are not served")),
            },
            Some(other) => return Err(bad(param, format!("parts of type `{other}` are not served: use input_text, input_image or input_file"))),
            None => return Err(bad(param, "each part has a `type`")),
        });
    }
    Ok(out)
}

fn tool_of(tool: &Value, index: usize, warnings: &mut Vec<String>) -> Result<ToolDefinition, BadRequest> {
    let param = format!("tools[{index}]");
    match tool.get("type").and_then(Value::as_str) {
        Some("function") => {}
        Some(other) => {
            return Err(bad(
                format!("{param}.type"),
                format!("only `function` tools are served: `{other}` is a tool OpenAI runs itself, and this gateway runs none"),
            ));
        }
        None => return Err(bad(format!("{param}.type"), "each tool has a `type`: function")),
    }
    let name = match tool.get("name").and_then(Value::as_str) {
        Some(name) if !name.is_empty() => name,
        _ if tool.get("function").is_some() => {
            return Err(bad(
                format!("{param}.name"),
                "Responses tools are flat: {\"type\": \"function\", \"name\": ..., \"parameters\": ...}, not nested under `function` as in Chat Completions",
            ));
        }
        _ => return Err(bad(format!("{param}.name"), "a function tool has a `name`")),
    };
    let parameters = match tool.get("parameters") {
        None | Some(Value::Null) => json!({"type": "object", "properties": {}}),
        Some(schema @ Value::Object(_)) => schema.clone(),
        Some(_) => return Err(bad(format!("{param}.parameters"), "`parameters` is a JSON schema object")),
    };
    if tool.get("strict").and_then(Value::as_bool) == Some(true) {
        warnings.push(format!("{param}.strict: not carried to the provider, the arguments are not guaranteed to follow the schema"));
    }
    let description = tool.get("description").and_then(Value::as_str).unwrap_or_default();
    Ok(ToolDefinition { name: name.to_owned(), description: description.to_owned(), parameters })
}

fn tool_choice_of(choice: &Value) -> Result<ToolChoice, BadRequest> {
    match choice {
        Value::String(mode) => tool_choice_mode(mode, "{\"type\": \"function\", \"name\": ...}"),
        Value::Object(choice) => match choice.get("type").and_then(Value::as_str) {
            Some("function") => choice
                .get("name")
                .and_then(Value::as_str)
                .map(|name| ToolChoice::Named(name.to_owned()))
                .ok_or_else(|| bad("tool_choice.name", "name the function: {\"type\": \"function\", \"name\": ...}")),
            Some("allowed_tools") => Err(bad("tool_choice.type", "`allowed_tools` is not served: send only the allowed tools in `tools`")),
            _ => Err(bad("tool_choice.type", "only function tools are served: {\"type\": \"function\", \"name\": ...}")),
        },
        _ => Err(bad("tool_choice", "`tool_choice` is auto, none, required, or {\"type\": \"function\", \"name\": ...}")),
    }
}

/// The reasoning settings, and the `reasoning` a response repeats.
fn reasoning_of(reasoning: &Value, warnings: &mut Vec<String>) -> Result<(Option<ReasoningSettings>, Value), BadRequest> {
    let Value::Object(fields) = reasoning else {
        return Err(bad("reasoning", "`reasoning` is an object: {\"effort\": \"low\"}"));
    };
    let mut settings = ReasoningSettings::default();
    let mut echo = json!({"effort": null, "summary": null});
    for (key, value) in fields {
        match (key.as_str(), value) {
            (_, Value::Null) => {}
            ("effort", Value::String(effort)) => {
                settings.effort = Some(match effort.as_str() {
                    "minimal" => ReasoningEffort::Minimal,
                    "low" => ReasoningEffort::Low,
                    "medium" => ReasoningEffort::Medium,
                    "high" => ReasoningEffort::High,
                    other => {
                        return Err(bad("reasoning.effort", format!("`{other}` cannot be carried: minimal, low, medium or high (or leave `reasoning` out)")));
                    }
                });
                echo["effort"] = value.clone();
            }
            ("summary" | "generate_summary", Value::String(summary)) => {
                if !["auto", "concise", "detailed"].contains(&summary.as_str()) {
                    return Err(bad(format!("reasoning.{key}"), "a reasoning summary is auto, concise or detailed"));
                }
                if summary != "auto" {
                    warnings.push(format!("reasoning.{key}: `{summary}` is not carried, reasoning comes as the provider gives it"));
                }
                settings.include_thoughts = Some(true);
                echo["summary"] = value.clone();
            }
            ("effort" | "summary" | "generate_summary", _) => return Err(bad(format!("reasoning.{key}"), format!("`reasoning.{key}` is a string"))),
            (other, _) => warnings.push(format!("reasoning.{other}: not supported by this gateway, ignored")),
        }
    }
    let settings = (settings != ReasoningSettings::default()).then_some(settings);
    Ok((settings, echo))
}

/// The output format, and the `text.format` a response repeats.
fn text_of(text: &Value, warnings: &mut Vec<String>) -> Result<(Option<ResponseFormat>, Value), BadRequest> {
    let Value::Object(fields) = text else {
        return Err(bad("text", "`text` is an object: {\"format\": {...}}"));
    };
    let mut format = (None, json!({"type": "text"}));
    for (key, value) in fields {
        match key.as_str() {
            "format" if !value.is_null() => format = (Some(format_of(value, warnings)?), value.clone()),
            "format" => {}
            other => warnings.push(format!("text.{other}: not supported by this gateway, ignored")),
        }
    }
    Ok(format)
}

fn format_of(format: &Value, warnings: &mut Vec<String>) -> Result<ResponseFormat, BadRequest> {
    let text = |key: &str| format.get(key).and_then(Value::as_str).map(str::to_owned);
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok(ResponseFormat::Text),
        Some("json_object") => Ok(ResponseFormat::Json { schema: None, name: None, description: None }),
        Some("json_schema") => {
            let schema = format.get("schema").filter(|schema| schema.is_object()).ok_or_else(|| {
                bad("text.format.schema", "a json_schema format has a `schema`: {\"type\": \"json_schema\", \"name\": ..., \"schema\": {...}}")
            })?;
            if format.get("strict").and_then(Value::as_bool) == Some(false) {
                warnings.push("text.format.strict: `false` is not carried, the provider may hold the answer to the schema strictly".to_owned());
            }
            Ok(ResponseFormat::Json { schema: Some(schema.clone()), name: text("name"), description: text("description") })
        }
        _ => Err(bad("text.format.type", "`text.format.type` is text, json_object or json_schema")),
    }
}

/// Where an output item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    InProgress,
    Completed,
    Incomplete,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Incomplete => "incomplete",
        }
    }
}

/// One output item, as far as it has been written.
#[derive(Debug)]
enum Item {
    Message { id: String, text: String, status: Status },
    Reasoning { id: String, text: String, encrypted: Option<String> },
    Call { id: String, call_id: String, name: String, arguments: String, status: Status },
}

fn text_part(text: &str) -> Value {
    json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text})
}

/// An item as `response.output_item.done` and the response's `output` show it.
fn item_json(item: &Item) -> Value {
    match item {
        Item::Message { id, text, status } => {
            json!({"id": id, "type": "message", "status": status.as_str(), "role": "assistant", "content": [text_part(text)]})
        }
        Item::Reasoning { id, text, encrypted } => {
            let summary = if text.is_empty() { json!([]) } else { json!([{"type": "summary_text", "text": text}]) };
            let mut item = json!({"id": id, "type": "reasoning", "summary": summary});
            if let (Some(data), Value::Object(fields)) = (encrypted, &mut item) {
                fields.insert("encrypted_content".into(), Value::String(data.clone()));
            }
            item
        }
        Item::Call { id, call_id, name, arguments, status } => {
            json!({"id": id, "type": "function_call", "status": status.as_str(), "call_id": call_id, "name": name, "arguments": arguments})
        }
    }
}

/// An item's id: its kind, the response's id and its place (`msg_<hex>_0`).
fn item_id(prefix: &str, response_id: &str, index: usize) -> String {
    format!("{prefix}_{}_{index}", response_id.strip_prefix("resp_").unwrap_or(response_id))
}

fn usage_json(usage: &Usage) -> Value {
    let input = usage.input_tokens.unwrap_or(0);
    let output = usage.output_tokens.unwrap_or(0);
    let mut object = json!({
        "input_tokens": input,
        "input_tokens_details": {"cached_tokens": usage.cache_read_tokens.unwrap_or(0), "cache_write_tokens": usage.cache_write_tokens.unwrap_or(0)},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens.unwrap_or(0)},
        "total_tokens": input.saturating_add(output),
    });
    crate::serve::prices::insert_cost(&mut object, usage);
    object
}

/// A response object: its own fields, then the request's settings it repeats.
fn response_json(id: &str, created_at: u64, model: &str, status: &str, output: Vec<Value>, echo: &Map<String, Value>) -> Map<String, Value> {
    let mut response = echo.clone();
    response.insert("id".into(), json!(id));
    response.insert("object".into(), json!("response"));
    response.insert("created_at".into(), json!(created_at));
    response.insert("status".into(), json!(status));
    response.insert("error".into(), Value::Null);
    response.insert("incomplete_details".into(), Value::Null);
    response.insert("model".into(), json!(model));
    response.insert("output".into(), Value::Array(output));
    response.insert("usage".into(), Value::Null);
    response
}

/// How a response ends, by the turn's finish: its status, and why it is
/// incomplete if it is.
fn ending(reason: FinishReason) -> (Status, Option<&'static str>) {
    match reason {
        FinishReason::Length => (Status::Incomplete, Some("max_output_tokens")),
        FinishReason::ContentFilter => (Status::Incomplete, Some("content_filter")),
        FinishReason::Stop | FinishReason::ToolCalls | FinishReason::Error | FinishReason::Other => (Status::Completed, None),
    }
}

/// One event: `event: <type>` and `data: <json>`. Serializing these cannot fail.
fn frame(kind: &str, data: &impl Serialize, out: &mut Vec<u8>) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    let _ = serde_json::to_writer(&mut *out, data);
    out.extend_from_slice(b"\n\n");
}

/// Write the event `kind` with `fields` (an object) and the next sequence number.
fn emit(sequence: &mut u64, kind: &str, mut fields: Value, out: &mut Vec<u8>) {
    if let Value::Object(fields) = &mut fields {
        fields.insert("type".into(), json!(kind));
        fields.insert("sequence_number".into(), json!(*sequence));
    }
    *sequence = sequence.saturating_add(1);
    frame(kind, &fields, out);
}

/// The events written per token: borrowed, not built as JSON values.
#[derive(Serialize)]
struct Delta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    sequence_number: u64,
    item_id: &'a str,
    output_index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_index: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary_index: Option<u8>,
    delta: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    logprobs: Option<[u8; 0]>,
}

fn delta(sequence: &mut u64, mut event: Delta<'_>, out: &mut Vec<u8>) {
    event.sequence_number = *sequence;
    *sequence = sequence.saturating_add(1);
    frame(event.kind, &event, out);
}

/// Writes one turn's events in the Responses stream grammar.
#[derive(Debug)]
pub struct ResponseEncoder {
    id: String,
    created_at: u64,
    model: String,
    echo: Map<String, Value>,
    sequence: u64,
    started: bool,
    items: Vec<Item>,
    /// The message or reasoning item open now.
    open: Option<usize>,
    usage: Option<Usage>,
    finish: FinishReason,
}

impl ResponseEncoder {
    /// An encoder for the response `id`, made at `created_at` (Unix seconds),
    /// for the public `model` name asked for; `echo` is what
    /// [`ResponsesRequest::echo`] says.
    pub fn new(id: String, created_at: u64, model: String, echo: Map<String, Value>) -> ResponseEncoder {
        ResponseEncoder {
            id,
            created_at,
            model,
            echo,
            sequence: 0,
            started: false,
            items: Vec::new(),
            open: None,
            usage: None,
            finish: FinishReason::Stop,
        }
    }

    /// Append the events `event` makes to `out`.
    pub fn event(&mut self, event: &Event, out: &mut Vec<u8>) {
        self.start(out);
        match event {
            Event::TextDelta { text } if !text.is_empty() => self.text(text, out),
            Event::ReasoningDelta { text, redacted, .. } => {
                if let Some(data) = redacted {
                    self.redacted(data, out);
                }
                if !text.is_empty() {
                    self.reasoning(text, out);
                }
            }
            Event::ToolCallStart { id, name } if self.call(id).is_none() => {
                self.start_call(id, name, out);
            }
            Event::ToolCallDelta { id, arguments } => {
                if let Some(index) = self.call(id) {
                    self.arguments(index, arguments, out);
                }
            }
            Event::ToolCall(call) => {
                let index = match self.call(&call.id) {
                    Some(index) => index,
                    // A call that was not streamed in fragments arrives whole.
                    None => {
                        let index = self.start_call(&call.id, &call.name, out);
                        self.arguments(index, &call.arguments, out);
                        index
                    }
                };
                self.finish_call(index, Some(&call.arguments), Status::Completed, out);
            }
            Event::Usage(usage) => self.usage = Some(usage.clone()),
            Event::Finish(finish) => self.finish = finish.reason,
            _ => {}
        }
    }

    /// End the stream: close what is open, then `response.completed` (or
    /// `response.incomplete`) with the whole output and the usage.
    pub fn end(&mut self, out: &mut Vec<u8>) {
        self.start(out);
        let (status, incomplete) = ending(self.finish);
        self.close(status, out);
        for index in 0..self.items.len() {
            if matches!(self.items.get(index), Some(Item::Call { status: Status::InProgress, .. })) {
                self.finish_call(index, None, status, out);
            }
        }
        let mut response = self.response(status.as_str());
        response.insert("usage".into(), usage_json(self.usage.as_ref().unwrap_or(&Usage::default())));
        let kind = match incomplete {
            Some(reason) => {
                response.insert("incomplete_details".into(), json!({"reason": reason}));
                "response.incomplete"
            }
            None => "response.completed",
        };
        emit(&mut self.sequence, kind, json!({"response": response}), out);
    }

    /// End the stream with an error the clients raise: an `error` event, then
    /// `response.failed` with the output so far.
    pub fn error(&mut self, error: &TurnError, out: &mut Vec<u8>) {
        self.start(out);
        let detail = openai_response::error_reply(error).body.get("error").cloned().unwrap_or_default();
        let code = detail.get("code").filter(|code| !code.is_null()).or_else(|| detail.get("type")).cloned().unwrap_or_default();
        let event = json!({"code": code, "message": error.message, "param": null, "error": detail});
        emit(&mut self.sequence, "error", event, out);
        let mut response = self.response("failed");
        response.insert("error".into(), json!({"code": code, "message": error.message}));
        if let Some(usage) = &self.usage {
            response.insert("usage".into(), usage_json(usage));
        }
        emit(&mut self.sequence, "response.failed", json!({"response": response}), out);
    }

    fn response(&self, status: &str) -> Map<String, Value> {
        response_json(&self.id, self.created_at, &self.model, status, self.items.iter().map(item_json).collect(), &self.echo)
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        for kind in ["response.created", "response.in_progress"] {
            let response = self.response(Status::InProgress.as_str());
            emit(&mut self.sequence, kind, json!({"response": response}), out);
        }
    }

    /// The function call `call_id` still streaming, by index.
    fn call(&self, call_id: &str) -> Option<usize> {
        self.items.iter().position(|item| matches!(item, Item::Call { call_id: id, status: Status::InProgress, .. } if id == call_id))
    }

    fn text(&mut self, text: &str, out: &mut Vec<u8>) {
        let index = match self.open {
            Some(index) if matches!(self.items.get(index), Some(Item::Message { .. })) => index,
            _ => {
                self.close(Status::Completed, out);
                let index = self.items.len();
                let id = item_id("msg", &self.id, index);
                let item = json!({"id": id, "type": "message", "status": "in_progress", "role": "assistant", "content": []});
                emit(&mut self.sequence, "response.output_item.added", json!({"output_index": index, "item": item}), out);
                let part = json!({"item_id": id, "output_index": index, "content_index": 0, "part": text_part("")});
                emit(&mut self.sequence, "response.content_part.added", part, out);
                self.items.push(Item::Message { id, text: String::new(), status: Status::InProgress });
                self.open = Some(index);
                index
            }
        };
        if let Some(Item::Message { id, text: all, .. }) = self.items.get_mut(index) {
            let event = Delta {
                kind: "response.output_text.delta",
                sequence_number: 0,
                item_id: id,
                output_index: index,
                content_index: Some(0),
                summary_index: None,
                delta: text,
                logprobs: Some([]),
            };
            delta(&mut self.sequence, event, out);
            all.push_str(text);
        }
    }

    fn reasoning(&mut self, text: &str, out: &mut Vec<u8>) {
        let index = match self.open {
            Some(index) if matches!(self.items.get(index), Some(Item::Reasoning { .. })) => index,
            _ => {
                self.close(Status::Completed, out);
                let index = self.open_reasoning(None, out);
                self.open = Some(index);
                index
            }
        };
        if let Some(Item::Reasoning { id, text: all, .. }) = self.items.get_mut(index) {
            if all.is_empty() {
                let part = json!({"item_id": id, "output_index": index, "summary_index": 0, "part": {"type": "summary_text", "text": ""}});
                emit(&mut self.sequence, "response.reasoning_summary_part.added", part, out);
            }
            let event = Delta {
                kind: "response.reasoning_summary_text.delta",
                sequence_number: 0,
                item_id: id,
                output_index: index,
                content_index: None,
                summary_index: Some(0),
                delta: text,
                logprobs: None,
            };
            delta(&mut self.sequence, event, out);
            all.push_str(text);
        }
    }

    /// Redacted reasoning: an item of its own, its data as `encrypted_content`.
    fn redacted(&mut self, data: &str, out: &mut Vec<u8>) {
        self.close(Status::Completed, out);
        let index = self.open_reasoning(Some(data), out);
        if let Some(item) = self.items.get(index) {
            emit(&mut self.sequence, "response.output_item.done", json!({"output_index": index, "item": item_json(item)}), out);
        }
    }

    fn open_reasoning(&mut self, encrypted: Option<&str>, out: &mut Vec<u8>) -> usize {
        let index = self.items.len();
        let id = item_id("rs", &self.id, index);
        emit(&mut self.sequence, "response.output_item.added", json!({"output_index": index, "item": {"id": id, "type": "reasoning", "summary": []}}), out);
        self.items.push(Item::Reasoning { id, text: String::new(), encrypted: encrypted.map(str::to_owned) });
        index
    }

    fn start_call(&mut self, call_id: &str, name: &str, out: &mut Vec<u8>) -> usize {
        self.close(Status::Completed, out);
        let index = self.items.len();
        let item = Item::Call {
            id: item_id("fc", &self.id, index),
            call_id: call_id.to_owned(),
            name: name.to_owned(),
            arguments: String::new(),
            status: Status::InProgress,
        };
        emit(&mut self.sequence, "response.output_item.added", json!({"output_index": index, "item": item_json(&item)}), out);
        self.items.push(item);
        index
    }

    fn arguments(&mut self, index: usize, fragment: &str, out: &mut Vec<u8>) {
        if fragment.is_empty() {
            return;
        }
        if let Some(Item::Call { id, arguments, .. }) = self.items.get_mut(index) {
            let event = Delta {
                kind: "response.function_call_arguments.delta",
                sequence_number: 0,
                item_id: id,
                output_index: index,
                content_index: None,
                summary_index: None,
                delta: fragment,
                logprobs: None,
            };
            delta(&mut self.sequence, event, out);
            arguments.push_str(fragment);
        }
    }

    /// Close the call at `index`; `arguments` are the complete ones, which
    /// stand over the fragments if they differ.
    fn finish_call(&mut self, index: usize, complete: Option<&str>, status: Status, out: &mut Vec<u8>) {
        let Some(Item::Call { id, arguments, status: now, .. }) = self.items.get_mut(index) else { return };
        if let Some(complete) = complete.filter(|complete| *complete != arguments.as_str()) {
            complete.clone_into(arguments);
        }
        *now = status;
        let done = json!({"item_id": id, "output_index": index, "arguments": arguments});
        emit(&mut self.sequence, "response.function_call_arguments.done", done, out);
        if let Some(item) = self.items.get(index) {
            emit(&mut self.sequence, "response.output_item.done", json!({"output_index": index, "item": item_json(item)}), out);
        }
    }

    /// Close the message or reasoning item open now, if one is.
    fn close(&mut self, status: Status, out: &mut Vec<u8>) {
        let Some(index) = self.open.take() else { return };
        let sequence = &mut self.sequence;
        match self.items.get_mut(index) {
            Some(Item::Message { id, text, status: now }) => {
                *now = status;
                let done = json!({"item_id": id, "output_index": index, "content_index": 0, "text": text, "logprobs": []});
                emit(sequence, "response.output_text.done", done, out);
                let part = json!({"item_id": id, "output_index": index, "content_index": 0, "part": text_part(text)});
                emit(sequence, "response.content_part.done", part, out);
            }
            Some(Item::Reasoning { id, text, .. }) if !text.is_empty() => {
                let done = json!({"item_id": id, "output_index": index, "summary_index": 0, "text": text});
                emit(sequence, "response.reasoning_summary_text.done", done, out);
                let part = json!({"item_id": id, "output_index": index, "summary_index": 0, "part": {"type": "summary_text", "text": text}});
                emit(sequence, "response.reasoning_summary_part.done", part, out);
            }
            _ => {}
        }
        if let Some(item) = self.items.get(index) {
            emit(&mut self.sequence, "response.output_item.done", json!({"output_index": index, "item": item_json(item)}), out);
        }
    }
}

/// A whole `response` object for `result`, with `output_text` (all the
/// answer's text) as the official clients compute it.
pub fn response(result: &TurnResult, id: &str, created_at: u64, model: &str, echo: &Map<String, Value>) -> Value {
    let (status, incomplete) = ending(result.finish.reason);
    let mut items: Vec<Item> = Vec::new();
    for part in &result.content {
        let index = items.len();
        match part {
            ContentPart::Text { text } => match items.last_mut() {
                Some(Item::Message { text: all, .. }) => all.push_str(text),
                _ => items.push(Item::Message { id: item_id("msg", id, index), text: text.clone(), status }),
            },
            ContentPart::Reasoning(reasoning) => items.push(Item::Reasoning {
                id: item_id("rs", id, index),
                text: reasoning.text.clone(),
                encrypted: reasoning.redacted.clone(),
            }),
            ContentPart::ToolCall(call) => items.push(Item::Call {
                id: item_id("fc", id, index),
                call_id: call.id.clone(),
                name: call.name.clone(),
                arguments: call.arguments.clone(),
                status: Status::Completed,
            }),
        }
    }
    let mut response = response_json(id, created_at, model, status.as_str(), items.iter().map(item_json).collect(), echo);
    if let Some(reason) = incomplete {
        response.insert("incomplete_details".into(), json!({"reason": reason}));
    }
    response.insert("usage".into(), usage_json(&result.usage));
    response.insert("output_text".into(), Value::String(result.text()));
    Value::Object(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ErrorKind, FilePart, FileSource, Finish};

    fn parsed(body: Value) -> Result<ResponsesRequest, BadRequest> {
        parse(body.to_string().as_bytes())
    }

    /// The events written, as (type, data), checking the framing on the way.
    fn events(out: &[u8]) -> Vec<(String, Value)> {
        let text = String::from_utf8(out.to_vec()).expect("UTF-8");
        assert!(text.ends_with("\n\n"), "{text}");
        text.split("\n\n")
            .filter(|frame| !frame.is_empty())
            .map(|frame| {
                let (event, data) = frame.split_once('\n').expect("two lines");
                let kind = event.strip_prefix("event: ").expect("an event line").to_owned();
                let data: Value = serde_json::from_str(data.strip_prefix("data: ").expect("a data line")).expect("JSON");
                assert_eq!(data["type"], kind.as_str(), "the event line names the data's type");
                (kind, data)
            })
            .collect()
    }

    #[test]
    fn a_full_request_maps_onto_the_contract() {
        let body = json!({
            "model": "fast", "stream": true, "instructions": "be brief", "store": false, "metadata": {"team": "a"},
            "temperature": 0.2, "top_p": 0.9, "max_output_tokens": 300, "parallel_tool_calls": false,
            "reasoning": {"effort": "low", "summary": "auto"},
            "text": {"format": {"type": "json_schema", "name": "city", "schema": {"type": "object"}, "strict": true}, "verbosity": "low"},
            "tools": [{"type": "function", "name": "weather", "description": "d", "parameters": {"type": "object"}, "strict": true}],
            "tool_choice": {"type": "function", "name": "weather"},
            "user": "u-1", "service_tier": "flex", "previous_response_id": null,
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "what is"}, {"type": "input_image", "image_url": "data:image/png;base64,aGk=", "detail": "auto"}]},
                {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "think"}], "encrypted_content": "opaque"},
                {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed", "content": [{"type": "output_text", "text": "Let me see.", "annotations": []}]},
                {"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "weather", "arguments": "{\"city\":\"Oslo\"}"},
                {"type": "function_call", "call_id": "c2", "name": "weather", "arguments": "{\"city\":\"Bergen\"}"},
                {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
                {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "rain"}]},
                {"role": "developer", "content": "answer in French"}
            ]
        });
        let parsed = parsed(body).expect("valid");
        assert!(parsed.stream);
        assert_eq!(
            parsed.warnings,
            [
                "tools[0].strict: not carried to the provider, the arguments are not guaranteed to follow the schema",
                "text.verbosity: not supported by this gateway, ignored",
                "service_tier: not supported by this gateway, ignored",
            ],
            "described fields pass, the rest is reported"
        );
        let r = &parsed.request;
        assert_eq!((r.model.as_str(), r.sampling.max_output_tokens, r.sampling.temperature, r.sampling.top_p), ("fast", Some(300), Some(0.2), Some(0.9)));
        assert_eq!(r.reasoning, Some(ReasoningSettings { effort: Some(ReasoningEffort::Low), budget_tokens: None, include_thoughts: Some(true) }));
        assert_eq!(r.tool_choice, Some(ToolChoice::Named("weather".into())));
        assert_eq!(r.parallel_tool_calls, Some(false));
        assert_eq!(r.tools, [ToolDefinition { name: "weather".into(), description: "d".into(), parameters: json!({"type": "object"}) }]);
        assert!(matches!(&r.response_format, Some(ResponseFormat::Json { name: Some(n), schema: Some(_), .. }) if n == "city"));
        let roles: Vec<Role> = r.messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, [Role::System, Role::User, Role::Assistant, Role::Tool, Role::System]);
        assert_eq!(r.messages[0], Message::system("be brief"));
        assert_eq!(
            r.messages[1].parts[1],
            Part::File(FilePart { media_type: "image/png".into(), source: FileSource::Bytes(b"hi".to_vec()), filename: None })
        );
        assert_eq!(
            r.messages[2].parts,
            [
                Part::Reasoning(ReasoningPart { text: "think".into(), signature: None, redacted: Some("opaque".into()) }),
                Part::Text { text: "Let me see.".into() },
                Part::ToolCall(ToolCall { id: "c1".into(), name: "weather".into(), arguments: "{\"city\":\"Oslo\"}".into() }),
                Part::ToolCall(ToolCall { id: "c2".into(), name: "weather".into(), arguments: "{\"city\":\"Bergen\"}".into() }),
            ],
            "the assistant's items in a row are one message, calls named by call_id"
        );
        assert_eq!(
            r.messages[3].parts,
            [
                Part::ToolResult(ToolResult { call_id: "c1".into(), name: "weather".into(), output: "sunny".into(), is_error: false }),
                Part::ToolResult(ToolResult { call_id: "c2".into(), name: "weather".into(), output: "rain".into(), is_error: false }),
            ]
        );
        let echo = &parsed.echo;
        assert_eq!((&echo["instructions"], &echo["temperature"], &echo["metadata"]), (&json!("be brief"), &json!(0.2), &json!({"team": "a"})));
        assert_eq!((&echo["parallel_tool_calls"], &echo["store"], &echo["user"]), (&json!(false), &json!(false), &json!("u-1")));
        assert_eq!(echo["text"]["format"]["name"], "city");
        assert_eq!(echo["tools"][0]["name"], "weather");
        assert_eq!(echo["reasoning"], json!({"effort": "low", "summary": "auto"}));

        let plain = parsed_ok(json!({"model": "m", "input": "hi"}));
        assert_eq!(plain.request.messages, [Message::user("hi")]);
        assert!(!plain.stream && plain.warnings.is_empty());
        assert_eq!((&plain.echo["tool_choice"], &plain.echo["text"]), (&json!("auto"), &json!({"format": {"type": "text"}})));
    }

    fn parsed_ok(body: Value) -> ResponsesRequest {
        parsed(body).expect("valid")
    }

    #[test]
    fn what_needs_state_or_hosted_tools_is_refused_naming_the_field() {
        let input = json!("hi");
        let cases = [
            (json!({"input": input}), "model"),
            (json!({"model": "m"}), "input"),
            (json!({"model": "m", "input": []}), "input"),
            (json!({"model": "m", "input": input, "previous_response_id": "resp_1"}), "previous_response_id"),
            (json!({"model": "m", "input": input, "conversation": "conv_1"}), "conversation"),
            (json!({"model": "m", "input": input, "prompt": {"id": "p"}}), "prompt"),
            (json!({"model": "m", "input": input, "background": true}), "background"),
            (json!({"model": "m", "input": input, "max_output_tokens": -1}), "max_output_tokens"),
            (json!({"model": "m", "input": input, "temperature": "hot"}), "temperature"),
            (json!({"model": "m", "input": input, "stream": "yes"}), "stream"),
            (json!({"model": "m", "input": input, "tools": [{"type": "web_search"}]}), "tools[0].type"),
            (json!({"model": "m", "input": input, "tools": [{"type": "function", "function": {"name": "f"}}]}), "tools[0].name"),
            (json!({"model": "m", "input": input, "tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": []}}), "tool_choice.type"),
            (json!({"model": "m", "input": input, "tool_choice": "sometimes"}), "tool_choice"),
            (json!({"model": "m", "input": input, "reasoning": {"effort": "none"}}), "reasoning.effort"),
            (json!({"model": "m", "input": input, "text": {"format": {"type": "json_schema", "name": "x"}}}), "text.format.schema"),
            (json!({"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]}), "input[0]"),
            (json!({"model": "m", "input": [{"type": "web_search_call", "id": "ws_1"}]}), "input[0].type"),
            (json!({"model": "m", "input": [{"role": "tool", "content": "x"}]}), "input[0].role"),
            (json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1", "detail": "auto"}]}]}), "input[0].content[0]"),
            (json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_audio"}]}]}), "input[0].content[0]"),
            (json!({"model": "m", "input": [{"type": "function_call_output", "output": "x"}]}), "input[0].call_id"),
            (json!({"model": "m", "input": [{"type": "function_call", "call_id": "c"}]}), "input[0]"),
        ];
        for (body, param) in cases {
            let refused = parsed(body.clone()).expect_err("refused");
            assert_eq!(refused.param.as_deref(), Some(param), "{body}: {}", refused.message);
        }
        let stateless = parsed(json!({"model": "m", "input": "x", "previous_response_id": "resp_1"})).expect_err("refused");
        assert!(stateless.message.contains("send the whole conversation in `input`"), "the fix is named: {}", stateless.message);
        let stored = parsed_ok(json!({"model": "m", "input": "x", "store": true, "truncation": "auto", "include": ["file_search_call.results"]}));
        assert_eq!(stored.warnings.len(), 3, "{:?}", stored.warnings);
        assert!(stored.warnings[0].starts_with("store: "), "{:?}", stored.warnings);
    }

    fn stream_of(events_in: &[Event]) -> Vec<(String, Value)> {
        let mut encoder = ResponseEncoder::new("resp_ab12".into(), 1700, "fast".into(), parsed_ok(json!({"model": "fast", "input": "hi"})).echo);
        let mut out = Vec::new();
        for event in events_in {
            encoder.event(event, &mut out);
        }
        encoder.end(&mut out);
        events(&out)
    }

    #[test]
    fn a_stream_follows_the_responses_grammar() {
        let written = stream_of(&[
            Event::StreamStart { warnings: vec![], served_by: "openai@1".into() },
            Event::ReasoningDelta { text: "Think".into(), signature: None, redacted: None },
            Event::ReasoningDelta { text: "ing".into(), signature: Some("sig".into()), redacted: None },
            Event::TextDelta { text: "Hi".into() },
            Event::TextDelta { text: " there".into() },
            Event::ToolCallStart { id: "a".into(), name: "weather".into() },
            Event::ToolCallDelta { id: "a".into(), arguments: "{\"c\":".into() },
            Event::ToolCall(ToolCall { id: "b".into(), name: "time".into(), arguments: "{}".into() }),
            Event::ToolCallDelta { id: "a".into(), arguments: "1}".into() },
            Event::ToolCall(ToolCall { id: "a".into(), name: "weather".into(), arguments: "{\"c\":1}".into() }),
            Event::Usage(Usage { input_tokens: Some(5), output_tokens: Some(7), cache_read_tokens: Some(2), reasoning_tokens: Some(3), ..Usage::default() }),
            Event::Finish(Finish { reason: FinishReason::ToolCalls, raw: None }),
        ]);
        let kinds: Vec<&str> = written.iter().map(|(kind, _)| kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.done",
                "response.reasoning_summary_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        let sequence: Vec<u64> = written.iter().map(|(_, data)| data["sequence_number"].as_u64().expect("a number")).collect();
        assert_eq!(sequence, (0..written.len() as u64).collect::<Vec<_>>(), "sequence numbers count from 0");
        let created = &written[0].1["response"];
        assert_eq!((&created["id"], &created["object"], &created["status"], &created["model"]), (&json!("resp_ab12"), &json!("response"), &json!("in_progress"), &json!("fast")));
        assert_eq!(created["output"], json!([]));
        assert_eq!(written[2].1["item"], json!({"id": "rs_ab12_0", "type": "reasoning", "summary": []}));
        assert_eq!(written[4].1["delta"], "Think");
        assert_eq!(written[8].1["item"]["summary"], json!([{"type": "summary_text", "text": "Thinking"}]));
        assert_eq!(written[9].1["item"], json!({"id": "msg_ab12_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}));
        assert_eq!(
            written[11].1,
            json!({"type": "response.output_text.delta", "sequence_number": 11, "item_id": "msg_ab12_1", "output_index": 1, "content_index": 0, "delta": "Hi", "logprobs": []})
        );
        assert_eq!((&written[13].1["text"], &written[13].1["logprobs"]), (&json!("Hi there"), &json!([])));
        assert_eq!(written[15].1["item"]["content"][0]["text"], "Hi there");
        assert_eq!(written[15].1["item"]["status"], "completed");
        assert_eq!(
            written[16].1["item"],
            json!({"id": "fc_ab12_2", "type": "function_call", "status": "in_progress", "call_id": "a", "name": "weather", "arguments": ""})
        );
        assert_eq!((&written[17].1["output_index"], &written[17].1["item_id"]), (&json!(2), &json!("fc_ab12_2")));
        assert_eq!((&written[18].1["output_index"], &written[18].1["item"]["call_id"]), (&json!(3), &json!("b")), "a whole call is its own item");
        assert_eq!(written[19].1["delta"], "{}");
        assert_eq!((&written[22].1["output_index"], &written[22].1["delta"]), (&json!(2), &json!("1}")), "the first call goes on at its index");
        assert_eq!(written[23].1["arguments"], "{\"c\":1}");
        let done = &written[25].1["response"];
        assert_eq!(done["status"], "completed");
        let output: Vec<&str> = done["output"].as_array().expect("output").iter().map(|item| item["type"].as_str().unwrap_or_default()).collect();
        assert_eq!(output, ["reasoning", "message", "function_call", "function_call"]);
        assert_eq!(done["output"][2]["arguments"], "{\"c\":1}");
        assert_eq!(
            done["usage"],
            json!({"input_tokens": 5, "input_tokens_details": {"cached_tokens": 2, "cache_write_tokens": 0}, "output_tokens": 7,
                   "output_tokens_details": {"reasoning_tokens": 3}, "total_tokens": 12})
        );
    }

    #[test]
    fn a_cut_answer_is_incomplete_and_an_empty_one_still_completes() {
        let written = stream_of(&[Event::TextDelta { text: "Once upon".into() }, Event::Finish(Finish { reason: FinishReason::Length, raw: None })]);
        let (kind, last) = written.last().expect("events");
        assert_eq!(kind, "response.incomplete");
        assert_eq!((&last["response"]["status"], &last["response"]["incomplete_details"]), (&json!("incomplete"), &json!({"reason": "max_output_tokens"})));
        assert_eq!(last["response"]["output"][0]["status"], "incomplete");

        let empty = stream_of(&[]);
        let kinds: Vec<&str> = empty.iter().map(|(kind, _)| kind.as_str()).collect();
        assert_eq!(kinds, ["response.created", "response.in_progress", "response.completed"]);

        // A call never completed by the provider is closed at the end with what streamed.
        let open = stream_of(&[Event::ToolCallStart { id: "a".into(), name: "f".into() }, Event::ToolCallDelta { id: "a".into(), arguments: "{}".into() }]);
        assert_eq!(open[open.len() - 3].1["arguments"], "{}");
        assert_eq!(open[open.len() - 2].1["item"]["status"], "completed");

        let redacted = stream_of(&[Event::ReasoningDelta { text: String::new(), signature: None, redacted: Some("blob".into()) }]);
        assert_eq!(redacted[3].0, "response.output_item.done");
        assert_eq!(redacted[3].1["item"], json!({"id": "rs_ab12_0", "type": "reasoning", "summary": [], "encrypted_content": "blob"}));
    }

    #[test]
    fn an_error_after_the_start_is_an_error_event_then_a_failed_response() {
        let mut encoder = ResponseEncoder::new("resp_1".into(), 1, "m".into(), Map::new());
        let mut out = Vec::new();
        encoder.event(&Event::TextDelta { text: "Partial".into() }, &mut out);
        let mut failure = TurnError::new(ErrorKind::Server, "the upstream broke");
        failure.provider_code = Some("server_error".into());
        encoder.error(&failure, &mut out);
        let written = events(&out);
        let (kind, error) = &written[written.len() - 2];
        assert_eq!(kind, "error");
        assert_eq!((&error["code"], &error["message"], &error["param"]), (&json!("server_error"), &json!("the upstream broke"), &Value::Null));
        assert_eq!(
            error["error"],
            json!({"type": "server_error", "code": "server_error", "message": "the upstream broke", "param": null}),
            "nested as the live API sends it, which the clients raise on"
        );
        let (kind, failed) = written.last().expect("events");
        assert_eq!(kind, "response.failed");
        assert_eq!(failed["response"]["status"], "failed");
        assert_eq!(failed["response"]["error"], json!({"code": "server_error", "message": "the upstream broke"}));
        assert_eq!(failed["response"]["output"][0]["content"][0]["text"], "Partial");
    }

    #[test]
    fn a_whole_answer_is_a_response() {
        let result = TurnResult {
            content: vec![
                ContentPart::Reasoning(ReasoningPart { text: "hm".into(), signature: None, redacted: None }),
                ContentPart::Text { text: "Sun".into() },
                ContentPart::Text { text: "ny".into() },
                ContentPart::ToolCall(ToolCall { id: "c".into(), name: "w".into(), arguments: "{}".into() }),
            ],
            usage: Usage { input_tokens: Some(1), output_tokens: Some(2), ..Usage::default() },
            finish: Finish { reason: FinishReason::ToolCalls, raw: None },
            warnings: vec![],
            response_id: None,
            model: None,
            provider_metadata: None,
            served_by: "openai@1".into(),
        };
        let echo = parsed_ok(json!({"model": "fast", "input": "hi", "instructions": "x"})).echo;
        let body = response(&result, "resp_9", 9, "fast", &echo);
        assert_eq!((&body["object"], &body["status"], &body["created_at"], &body["instructions"]), (&json!("response"), &json!("completed"), &json!(9), &json!("x")));
        assert_eq!(body["output_text"], "Sunny");
        assert_eq!(body["output"][0], json!({"id": "rs_9_0", "type": "reasoning", "summary": [{"type": "summary_text", "text": "hm"}]}));
        assert_eq!(body["output"][1]["content"][0]["text"], "Sunny", "text parts in a row are one message");
        assert_eq!(body["output"][2]["call_id"], "c");
        assert_eq!(body["usage"]["total_tokens"], 3);
        assert_eq!(body["incomplete_details"], Value::Null);
    }
}
