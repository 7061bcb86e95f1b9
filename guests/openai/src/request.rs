//! Translating a normalized request into a Chat Completions request body.
//! Settings the API does not take become warnings, never silent drops.

use cordon_sdk::openai_shapes::{self, text_of};
use cordon_sdk::settings;
use cordon_sdk::{Message, Part, ReasoningEffort, Request, ResponseFormat, Role, ToolChoice, Warning, WarningKind};
use serde_json::{json, Map, Value};

use crate::quirks::Quirks;

/// Which field carries the output token limit: OpenAI's newer models refuse
/// `max_tokens`, many compatible servers only know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxTokensField {
    /// `max_tokens` (most OpenAI-compatible servers).
    MaxTokens,
    /// `max_completion_tokens` (api.openai.com).
    MaxCompletionTokens,
}

/// Build the JSON body, shaped for the service by `quirks` (the request's own
/// provider options are merged last, untouched). Returns the body and the warnings.
pub fn build_body(
    request: Request,
    model: &str,
    max_tokens_field: MaxTokensField,
    quirks: &Quirks,
) -> (Value, Vec<Warning>) {
    let mut warnings = Vec::new();
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert("messages".into(), messages(request.messages, quirks.tool_result_name).into());
    body.insert("stream".into(), true.into());
    body.insert("stream_options".into(), json!({ "include_usage": true }));

    let s = request.sampling;
    if let Some(max) = s.max_output_tokens {
        let field = match max_tokens_field {
            MaxTokensField::MaxTokens => "max_tokens",
            MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
        };
        body.insert(field.into(), max.into());
    }
    let floats = [
        ("temperature", s.temperature),
        ("top_p", s.top_p),
        ("presence_penalty", s.presence_penalty),
        ("frequency_penalty", s.frequency_penalty),
    ];
    for (name, value) in floats {
        if let Some(value) = value {
            body.insert(name.into(), json!(value));
        }
    }
    if s.top_k.is_some() {
        warnings.push(unsupported("top-k", "the Chat Completions API has no top-k; it was not sent"));
    }
    if !s.stop_sequences.is_empty() {
        body.insert("stop".into(), s.stop_sequences.into());
    }
    if let Some(seed) = s.seed {
        body.insert("seed".into(), seed.into());
    }

    if let Some(reasoning) = request.reasoning {
        if let Some(effort) = reasoning.effort {
            let effort = match effort {
                ReasoningEffort::Minimal => "minimal",
                ReasoningEffort::Low => "low",
                ReasoningEffort::Medium => "medium",
                ReasoningEffort::High => "high",
            };
            body.insert("reasoning_effort".into(), effort.into());
        }
        if reasoning.budget_tokens.is_some() {
            warnings.push(unsupported(
                "reasoning.budget-tokens",
                "Chat Completions takes a reasoning effort, not a token budget; use reasoning.effort",
            ));
        }
    }

    match request.response_format {
        Some(ResponseFormat::Json(format)) => {
            let value = match format.schema.as_deref().map(serde_json::from_str::<Value>) {
                Some(Ok(schema)) => json!({
                    "type": "json_schema",
                    "json_schema": {
                        "name": format.name.unwrap_or_else(|| "response".into()),
                        "description": format.description,
                        "schema": schema,
                        "strict": true,
                    }
                }),
                Some(Err(err)) => {
                    warnings.push(Warning {
                        kind: WarningKind::Compatibility,
                        setting: Some("response-format.schema".into()),
                        message: format!("the schema is not valid JSON ({err}); asked for any JSON object instead"),
                    });
                    json!({ "type": "json_object" })
                }
                None => json!({ "type": "json_object" }),
            };
            body.insert("response_format".into(), value);
        }
        Some(ResponseFormat::Text) | None => {}
    }

    if !request.tools.is_empty() {
        let tools: Vec<Value> =
            request.tools.into_iter().map(|tool| openai_shapes::function_tool(tool, &mut warnings)).collect();
        body.insert("tools".into(), tools.into());
    }
    if let Some(choice) = request.tool_choice {
        let value = match choice {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Named(name) => json!({ "type": "function", "function": { "name": name } }),
        };
        body.insert("tool_choice".into(), value);
    }
    if let Some(parallel) = request.parallel_tool_calls {
        body.insert("parallel_tool_calls".into(), parallel.into());
    }

    quirks.apply(&mut body, &mut warnings);

    // Provider options: `{"openai": {...}}` is merged into the body as is.
    body.extend(settings::provider_options(request.provider_options.as_deref(), "openai", &mut warnings));
    (Value::Object(body), warnings)
}

fn unsupported(setting: &str, message: &str) -> Warning {
    Warning {
        kind: WarningKind::UnsupportedSetting,
        setting: Some(setting.into()),
        message: message.into(),
    }
}

fn messages(messages: Vec<Message>, tool_result_name: bool) -> Vec<Value> {
    let mut out = Vec::with_capacity(messages.len());
    for message in messages {
        match message.role {
            Role::System => out.push(json!({ "role": "system", "content": text_of(&message.parts) })),
            Role::User => out.push(json!({ "role": "user", "content": user_content(message.parts) })),
            Role::Assistant => out.push(assistant(message.parts)),
            Role::Tool => {
                for part in message.parts {
                    if let Part::ToolResult(result) = part {
                        let name = tool_result_name.then(|| result.name.clone());
                        let mut message = openai_shapes::tool_message(result);
                        if let Some(name) = name {
                            message["name"] = name.into();
                        }
                        out.push(message);
                    }
                }
            }
        }
    }
    out
}

fn user_content(parts: Vec<Part>) -> Value {
    if parts.iter().all(|p| matches!(p, Part::Text(_))) {
        return text_of(&parts).into();
    }
    let items: Vec<Value> = parts
        .into_iter()
        .filter_map(|part| match part {
            Part::Text(text) => Some(openai_shapes::text_part(text)),
            Part::File(file) => Some(openai_shapes::image_url_part(file)),
            _ => None,
        })
        .collect();
    items.into()
}

fn assistant(parts: Vec<Part>) -> Value {
    let text = text_of(&parts);
    let calls: Vec<Value> = parts
        .into_iter()
        .filter_map(|part| match part {
            Part::ToolCall(call) => Some(openai_shapes::function_call(call)),
            _ => None,
        })
        .collect();
    let mut message = json!({ "role": "assistant", "content": if text.is_empty() { Value::Null } else { text.into() } });
    if !calls.is_empty() {
        message["tool_calls"] = calls.into();
    }
    message
}
