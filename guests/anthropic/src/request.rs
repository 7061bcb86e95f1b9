//! Translating a normalized request into a Messages API body: system prompts in
//! `system`, tool results as `tool_result` blocks in a user turn, images as
//! `image` blocks, earlier reasoning sent back with its signature (or redacted
//! data), reasoning effort as a thinking budget. Settings the API does not take
//! become warnings.

use base64::Engine as _;
use cordon_sdk::{
    FileSource, Message, Part, ReasoningEffort, Request, ResponseFormat, Role, ToolChoice, Warning, WarningKind,
};
use serde_json::{Map, Value, json};

/// Output tokens asked for when the request sets no limit (the API requires one).
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// Thinking budget for a reasoning effort (the API's minimum budget is 1024).
pub fn thinking_budget(effort: ReasoningEffort) -> u32 {
    match effort {
        ReasoningEffort::Minimal => 1024,
        ReasoningEffort::Low => 2048,
        ReasoningEffort::Medium => 8192,
        ReasoningEffort::High => 24576,
    }
}

fn warn(warnings: &mut Vec<Warning>, kind: WarningKind, setting: &str, message: &str) {
    warnings.push(Warning { kind, setting: Some(setting.into()), message: message.into() });
}

/// Build the JSON body. Returns the body and the warnings.
pub fn build_body(request: Request, model: &str) -> (Value, Vec<Warning>) {
    let mut warnings = Vec::new();
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    let (system, messages) = messages(request.messages);
    if !system.is_empty() {
        body.insert("system".into(), system.into());
    }
    body.insert("messages".into(), messages.into());
    body.insert("stream".into(), true.into());

    let s = request.sampling;
    let mut max_tokens = s.max_output_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
    for (name, value) in [("temperature", s.temperature), ("top_p", s.top_p)] {
        if let Some(value) = value {
            body.insert(name.into(), json!(value));
        }
    }
    if let Some(top_k) = s.top_k {
        body.insert("top_k".into(), top_k.into());
    }
    if !s.stop_sequences.is_empty() {
        body.insert("stop_sequences".into(), s.stop_sequences.into());
    }
    let unsupported = "the Messages API does not take it; it was not sent";
    if s.seed.is_some() {
        warn(&mut warnings, WarningKind::UnsupportedSetting, "seed", unsupported);
    }
    if s.presence_penalty.is_some() {
        warn(&mut warnings, WarningKind::UnsupportedSetting, "presence-penalty", unsupported);
    }
    if s.frequency_penalty.is_some() {
        warn(&mut warnings, WarningKind::UnsupportedSetting, "frequency-penalty", unsupported);
    }

    if let Some(reasoning) = request.reasoning {
        let budget = reasoning.budget_tokens.or(reasoning.effort.map(thinking_budget));
        if let Some(budget) = budget {
            let budget = budget.max(1024);
            if max_tokens <= budget {
                max_tokens = budget + DEFAULT_MAX_TOKENS;
                warn(
                    &mut warnings,
                    WarningKind::Compatibility,
                    "max-output-tokens",
                    &format!("raised to {max_tokens}: it must exceed the thinking budget of {budget} tokens"),
                );
            }
            body.insert("thinking".into(), json!({ "type": "enabled", "budget_tokens": budget }));
        }
    }
    body.insert("max_tokens".into(), max_tokens.into());

    if let Some(ResponseFormat::Json(_)) = request.response_format {
        warn(
            &mut warnings,
            WarningKind::UnsupportedSetting,
            "response-format",
            "the Messages API has no JSON mode; ask for JSON in the prompt or use a tool",
        );
    }
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .into_iter()
            .map(|tool| {
                let schema = serde_json::from_str::<Value>(&tool.parameters).unwrap_or_else(|_| json!({ "type": "object" }));
                json!({ "name": tool.name, "description": tool.description, "input_schema": schema })
            })
            .collect();
        body.insert("tools".into(), tools.into());
    }
    let mut choice = match request.tool_choice {
        Some(ToolChoice::Auto) => Some(json!({ "type": "auto" })),
        Some(ToolChoice::None) => Some(json!({ "type": "none" })),
        Some(ToolChoice::Required) => Some(json!({ "type": "any" })),
        Some(ToolChoice::Named(name)) => Some(json!({ "type": "tool", "name": name })),
        None => None,
    };
    if request.parallel_tool_calls == Some(false) {
        let choice = choice.get_or_insert_with(|| json!({ "type": "auto" }));
        choice["disable_parallel_tool_use"] = true.into();
    }
    if let Some(choice) = choice {
        body.insert("tool_choice".into(), choice);
    }
    if let Some(options) = request.provider_options.as_deref() {
        match serde_json::from_str::<Value>(options) {
            Ok(Value::Object(mut all)) => {
                if let Some(Value::Object(ours)) = all.remove("anthropic") {
                    body.extend(ours);
                }
            }
            _ => warn(
                &mut warnings,
                WarningKind::Other,
                "provider-options",
                "provider options must be a JSON object keyed by provider name; ignored",
            ),
        }
    }
    (Value::Object(body), warnings)
}

/// The system prompt and the alternating user/assistant turns.
fn messages(messages: Vec<Message>) -> (String, Vec<Value>) {
    let mut system = String::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for message in messages {
        let role = match message.role {
            Role::System => {
                for part in message.parts {
                    if let Part::Text(text) = part {
                        if !system.is_empty() {
                            system.push_str("\n\n");
                        }
                        system.push_str(&text);
                    }
                }
                continue;
            }
            Role::User | Role::Tool => "user",
            Role::Assistant => "assistant",
        };
        let blocks: Vec<Value> = message.parts.into_iter().filter_map(block).collect();
        match turns.last_mut() {
            // The API wants turns to alternate: consecutive ones of a role are joined.
            Some((last, content)) if *last == role => content.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    let turns = turns.into_iter().map(|(role, content)| json!({ "role": role, "content": content })).collect();
    (system, turns)
}

fn block(part: Part) -> Option<Value> {
    Some(match part {
        Part::Text(text) => json!({ "type": "text", "text": text }),
        Part::File(file) => {
            let source = match file.source {
                FileSource::Url(url) => json!({ "type": "url", "url": url }),
                FileSource::Bytes(bytes) => json!({
                    "type": "base64",
                    "media_type": file.media_type,
                    "data": base64::engine::general_purpose::STANDARD.encode(bytes),
                }),
            };
            let kind = if file.media_type == "application/pdf" { "document" } else { "image" };
            json!({ "type": kind, "source": source })
        }
        Part::Reasoning(reasoning) => match reasoning.redacted {
            Some(data) => json!({ "type": "redacted_thinking", "data": data }),
            None => json!({ "type": "thinking", "thinking": reasoning.text, "signature": reasoning.signature.unwrap_or_default() }),
        },
        Part::ToolCall(call) => {
            let input = serde_json::from_str::<Value>(&call.arguments).unwrap_or_else(|_| json!({}));
            json!({ "type": "tool_use", "id": call.id, "name": call.name, "input": input })
        }
        Part::ToolResult(result) => json!({
            "type": "tool_result",
            "tool_use_id": result.call_id,
            "content": result.output,
            "is_error": result.is_error,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::{ReasoningSettings, Sampling, ToolCall, ToolResult};

    fn request(messages: Vec<Message>) -> Request {
        Request {
            messages,
            sampling: Sampling { seed: Some(7), ..Sampling::default() },
            reasoning: Some(ReasoningSettings { effort: Some(ReasoningEffort::High), budget_tokens: None, include_thoughts: None }),
            ..Request::default()
        }
    }

    #[test]
    fn system_tool_results_and_thinking() {
        let messages = vec![
            Message { role: Role::System, parts: vec![Part::Text("Be brief.".into())] },
            Message { role: Role::User, parts: vec![Part::Text("Weather?".into())] },
            Message {
                role: Role::Assistant,
                parts: vec![Part::ToolCall(ToolCall { id: "toolu_1".into(), name: "get".into(), arguments: r#"{"city":"Oslo"}"#.into() })],
            },
            Message {
                role: Role::Tool,
                parts: vec![Part::ToolResult(ToolResult { call_id: "toolu_1".into(), name: "get".into(), output: "3C".into(), is_error: false })],
            },
        ];
        let (body, warnings) = build_body(request(messages), "claude-x");
        assert_eq!(body["system"], "Be brief.");
        assert_eq!(body["messages"][1]["content"][0]["input"]["city"], "Oslo");
        assert_eq!(body["messages"][2]["role"], "user");
        assert_eq!(body["messages"][2]["content"][0]["type"], "tool_result");
        assert_eq!(body["thinking"]["budget_tokens"], 24576);
        assert!(body["max_tokens"].as_u64().unwrap_or(0) > 24576, "max_tokens exceeds the budget");
        let settings: Vec<_> = warnings.iter().filter_map(|w| w.setting.as_deref()).collect();
        assert!(settings.contains(&"seed") && settings.contains(&"max-output-tokens"), "{settings:?}");
    }
}
