//! Translating a normalized request into a Responses API body: system messages
//! become `instructions`, the conversation becomes `input` items (messages with
//! `input_text` / `input_image` / `input_file` parts, assistant text as
//! `output_text`, earlier calls as `function_call` items, tool results as
//! `function_call_output` items), reasoning effort becomes `reasoning`, JSON
//! output becomes `text.format`. Settings the API does not take become
//! warnings, never silent drops.
//!
//! Earlier reasoning is not sent back: the API only accepts reasoning items it
//! produced itself (with their ids or encrypted content), which a normalized
//! reasoning part does not carry.

use base64::Engine as _;
use cordon_sdk::{
    FileSource, FilePart, Message, Part, ReasoningEffort, ReasoningSettings, Request, ResponseFormat, Role,
    Sampling, ToolChoice, ToolDefinition, Warning, WarningKind,
};
use serde_json::{Map, Value, json};

/// The key of this provider's entry in `provider-options`, merged into the body as is.
pub const OPTIONS_KEY: &str = "openai-responses";

/// Build the JSON body. Returns the body and the warnings.
pub fn build_body(request: Request, model: &str) -> (Value, Vec<Warning>) {
    let mut warnings = Vec::new();
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    let (instructions, input) = input(request.messages);
    if !instructions.is_empty() {
        body.insert("instructions".into(), instructions.into());
    }
    body.insert("input".into(), input.into());
    body.insert("stream".into(), true.into());
    sampling(request.sampling, &mut body, &mut warnings);
    if let Some(reasoning) = request.reasoning {
        reasoning_settings(reasoning, &mut body, &mut warnings);
    }
    if let Some(ResponseFormat::Json(format)) = request.response_format {
        let format = json_format(format, &mut warnings);
        body.insert("text".into(), json!({ "format": format }));
    }
    if !request.tools.is_empty() {
        body.insert("tools".into(), request.tools.into_iter().map(tool).collect::<Vec<_>>().into());
    }
    if let Some(choice) = request.tool_choice {
        body.insert("tool_choice".into(), tool_choice(choice));
    }
    if let Some(parallel) = request.parallel_tool_calls {
        body.insert("parallel_tool_calls".into(), parallel.into());
    }
    if let Some(options) = request.provider_options.as_deref() {
        merge_options(options, &mut body, &mut warnings);
    }
    (Value::Object(body), warnings)
}

fn unsupported(warnings: &mut Vec<Warning>, setting: &str, message: &str) {
    warnings.push(Warning {
        kind: WarningKind::UnsupportedSetting,
        setting: Some(setting.into()),
        message: message.into(),
    });
}

fn sampling(s: Sampling, body: &mut Map<String, Value>, warnings: &mut Vec<Warning>) {
    if let Some(max) = s.max_output_tokens {
        body.insert("max_output_tokens".into(), max.into());
    }
    for (name, value) in [("temperature", s.temperature), ("top_p", s.top_p)] {
        if let Some(value) = value {
            body.insert(name.into(), json!(value));
        }
    }
    let not_sent = "the Responses API does not take it; it was not sent";
    if s.top_k.is_some() {
        unsupported(warnings, "top-k", not_sent);
    }
    if s.seed.is_some() {
        unsupported(warnings, "seed", not_sent);
    }
    if s.presence_penalty.is_some() {
        unsupported(warnings, "presence-penalty", not_sent);
    }
    if s.frequency_penalty.is_some() {
        unsupported(warnings, "frequency-penalty", not_sent);
    }
    if !s.stop_sequences.is_empty() {
        unsupported(warnings, "stop-sequences", not_sent);
    }
}

/// `reasoning: {effort, summary}`. Summaries are asked for (`auto`) unless the
/// request says not to return the reasoning.
fn reasoning_settings(reasoning: ReasoningSettings, body: &mut Map<String, Value>, warnings: &mut Vec<Warning>) {
    let mut value = Map::new();
    if let Some(effort) = reasoning.effort {
        let effort = match effort {
            ReasoningEffort::Minimal => "minimal",
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
        };
        value.insert("effort".into(), effort.into());
    }
    if reasoning.include_thoughts != Some(false) {
        value.insert("summary".into(), "auto".into());
    }
    if reasoning.budget_tokens.is_some() {
        unsupported(
            warnings,
            "reasoning.budget-tokens",
            "the Responses API takes a reasoning effort, not a token budget; use reasoning.effort",
        );
    }
    if !value.is_empty() {
        body.insert("reasoning".into(), value.into());
    }
}

fn json_format(format: cordon_sdk::JsonFormat, warnings: &mut Vec<Warning>) -> Value {
    match format.schema.as_deref().map(serde_json::from_str::<Value>) {
        Some(Ok(schema)) => {
            let mut value = json!({
                "type": "json_schema",
                "name": format.name.unwrap_or_else(|| "response".into()),
                "schema": schema,
                "strict": true,
            });
            if let Some(description) = format.description {
                value["description"] = description.into();
            }
            value
        }
        Some(Err(err)) => {
            warnings.push(Warning {
                kind: WarningKind::Compatibility,
                setting: Some("response-format.schema".into()),
                message: format!("the schema is not valid JSON ({err}); asked for any JSON object instead"),
            });
            json!({ "type": "json_object" })
        }
        None => json!({ "type": "json_object" }),
    }
}

/// A function tool. `strict` is sent as `false`: the Responses API defaults it
/// to `true`, which refuses schemas that are not written for strict mode.
fn tool(tool: ToolDefinition) -> Value {
    let parameters =
        serde_json::from_str::<Value>(&tool.parameters).unwrap_or_else(|_| json!({ "type": "object" }));
    json!({
        "type": "function",
        "name": tool.name,
        "description": tool.description,
        "parameters": parameters,
        "strict": false,
    })
}

fn tool_choice(choice: ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Named(name) => json!({ "type": "function", "name": name }),
    }
}

/// `provider-options`: `{"openai-responses": {...}}` is merged into the body as is.
fn merge_options(options: &str, body: &mut Map<String, Value>, warnings: &mut Vec<Warning>) {
    match serde_json::from_str::<Value>(options) {
        Ok(Value::Object(mut all)) => {
            if let Some(Value::Object(ours)) = all.remove(OPTIONS_KEY) {
                body.extend(ours);
            }
        }
        _ => warnings.push(Warning {
            kind: WarningKind::Other,
            setting: Some("provider-options".into()),
            message: "provider options must be a JSON object keyed by provider name; ignored".into(),
        }),
    }
}

/// The instructions (every system message's text, joined by blank lines) and the input items.
fn input(messages: Vec<Message>) -> (String, Vec<Value>) {
    let mut instructions = String::new();
    let mut items = Vec::with_capacity(messages.len());
    for message in messages {
        match message.role {
            Role::System => {
                for part in message.parts {
                    if let Part::Text(text) = part {
                        if !instructions.is_empty() {
                            instructions.push_str("\n\n");
                        }
                        instructions.push_str(&text);
                    }
                }
            }
            Role::User => user(message.parts, &mut items),
            Role::Assistant => assistant(message.parts, &mut items),
            Role::Tool => {
                for part in message.parts {
                    if let Part::ToolResult(result) = part {
                        items.push(function_call_output(result.call_id, result.output));
                    }
                }
            }
        }
    }
    (instructions, items)
}

fn function_call_output(call_id: String, output: String) -> Value {
    json!({ "type": "function_call_output", "call_id": call_id, "output": output })
}

/// User text and files as one `user` message; a tool result found in a user
/// message still goes out as a `function_call_output` item, before the message
/// (it answers the call that came just before).
fn user(parts: Vec<Part>, items: &mut Vec<Value>) {
    let mut content = Vec::with_capacity(parts.len());
    let mut results = Vec::new();
    for part in parts {
        match part {
            Part::Text(text) => content.push(json!({ "type": "input_text", "text": text })),
            Part::File(file) => content.push(file_part(file)),
            Part::ToolResult(result) => results.push(function_call_output(result.call_id, result.output)),
            Part::Reasoning(_) | Part::ToolCall(_) => {}
        }
    }
    items.extend(results);
    if !content.is_empty() {
        items.push(json!({ "role": "user", "content": content }));
    }
}

/// An image as `input_image`; any other file as `input_file`.
fn file_part(file: FilePart) -> Value {
    let url = match file.source {
        FileSource::Url(url) => url,
        FileSource::Bytes(bytes) => format!(
            "data:{};base64,{}",
            file.media_type,
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ),
    };
    if file.media_type.starts_with("image/") {
        return json!({ "type": "input_image", "image_url": url });
    }
    let mut value = if url.starts_with("data:") {
        json!({ "type": "input_file", "file_data": url })
    } else {
        json!({ "type": "input_file", "file_url": url })
    };
    value["filename"] = file.filename.unwrap_or_else(|| "file".into()).into();
    value
}

/// Assistant text as `output_text` messages and calls as `function_call`
/// items, in the order they were made.
fn assistant(parts: Vec<Part>, items: &mut Vec<Value>) {
    let mut text = String::new();
    let flush = |text: &mut String, items: &mut Vec<Value>| {
        if !text.is_empty() {
            let content = json!([{ "type": "output_text", "text": std::mem::take(text) }]);
            items.push(json!({ "role": "assistant", "content": content }));
        }
    };
    for part in parts {
        match part {
            Part::Text(t) => text.push_str(&t),
            Part::ToolCall(call) => {
                flush(&mut text, items);
                items.push(json!({
                    "type": "function_call",
                    "call_id": call.id,
                    "name": call.name,
                    "arguments": call.arguments,
                }));
            }
            Part::File(_) | Part::Reasoning(_) | Part::ToolResult(_) => {}
        }
    }
    flush(&mut text, items);
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::{JsonFormat, ToolCall, ToolResult};

    fn text(role: Role, text: &str) -> Message {
        Message { role, parts: vec![Part::Text(text.into())] }
    }

    fn settings(warnings: &[Warning]) -> Vec<&str> {
        warnings.iter().filter_map(|w| w.setting.as_deref()).collect()
    }

    #[test]
    fn system_messages_become_instructions_and_turns_become_items() {
        let messages = vec![
            text(Role::System, "Be brief."),
            text(Role::User, "Weather in Paris?"),
            Message {
                role: Role::Assistant,
                parts: vec![
                    Part::Reasoning(cordon_sdk::ReasoningPart { text: "think".into(), signature: None, redacted: None }),
                    Part::Text("Let me check.".into()),
                    Part::ToolCall(ToolCall {
                        id: "call_1".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"city":"Paris"}"#.into(),
                    }),
                ],
            },
            Message {
                role: Role::Tool,
                parts: vec![Part::ToolResult(ToolResult {
                    call_id: "call_1".into(),
                    name: "get_weather".into(),
                    output: "18C, sunny".into(),
                    is_error: false,
                })],
            },
            text(Role::Assistant, "18C and sunny."),
            text(Role::System, "Answer in French."),
            text(Role::User, "Thanks"),
        ];
        let (body, warnings) = build_body(Request { messages, ..Request::default() }, "gpt-5");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(body["model"], "gpt-5");
        assert_eq!(body["stream"], true);
        assert_eq!(body["instructions"], "Be brief.\n\nAnswer in French.");
        assert_eq!(
            body["input"],
            json!([
                { "role": "user", "content": [{ "type": "input_text", "text": "Weather in Paris?" }] },
                { "role": "assistant", "content": [{ "type": "output_text", "text": "Let me check." }] },
                { "type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}" },
                { "type": "function_call_output", "call_id": "call_1", "output": "18C, sunny" },
                { "role": "assistant", "content": [{ "type": "output_text", "text": "18C and sunny." }] },
                { "role": "user", "content": [{ "type": "input_text", "text": "Thanks" }] },
            ])
        );
        for absent in ["tools", "tool_choice", "reasoning", "text", "max_output_tokens", "temperature"] {
            assert!(body.get(absent).is_none(), "{absent} is not sent unless asked for");
        }
    }

    #[test]
    fn no_system_message_means_no_instructions() {
        let (body, _) = build_body(Request { messages: vec![text(Role::User, "hi")], ..Request::default() }, "m");
        assert!(body.get("instructions").is_none());
    }

    #[test]
    fn images_and_files_in_user_content() {
        let file = |media_type: &str, source: FileSource, filename: Option<&str>| {
            Part::File(FilePart { media_type: media_type.into(), source, filename: filename.map(String::from) })
        };
        let messages = vec![Message {
            role: Role::User,
            parts: vec![
                Part::Text("What is this?".into()),
                file("image/png", FileSource::Bytes(vec![1, 2, 3]), None),
                file("image/jpeg", FileSource::Url("https://example.com/cat.jpg".into()), None),
                file("application/pdf", FileSource::Bytes(b"%PDF".to_vec()), Some("doc.pdf")),
            ],
        }];
        let (body, _) = build_body(Request { messages, ..Request::default() }, "m");
        let content = &body["input"][0]["content"];
        assert_eq!(content[1], json!({ "type": "input_image", "image_url": "data:image/png;base64,AQID" }));
        assert_eq!(content[2], json!({ "type": "input_image", "image_url": "https://example.com/cat.jpg" }));
        assert_eq!(
            content[3],
            json!({ "type": "input_file", "file_data": "data:application/pdf;base64,JVBERg==", "filename": "doc.pdf" })
        );
    }

    #[test]
    fn tool_results_in_a_user_message_come_first() {
        let messages = vec![Message {
            role: Role::User,
            parts: vec![
                Part::Text("and now?".into()),
                Part::ToolResult(ToolResult { call_id: "call_9".into(), name: "f".into(), output: "{}".into(), is_error: true }),
            ],
        }];
        let (body, _) = build_body(Request { messages, ..Request::default() }, "m");
        assert_eq!(body["input"][0], json!({ "type": "function_call_output", "call_id": "call_9", "output": "{}" }));
        assert_eq!(body["input"][1]["role"], "user");
    }

    #[test]
    fn tools_choice_and_parallel_calls() {
        let request = Request {
            tools: vec![
                ToolDefinition {
                    name: "get_weather".into(),
                    description: "Weather in a city".into(),
                    parameters: r#"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#.into(),
                },
                ToolDefinition { name: "broken".into(), description: String::new(), parameters: "not json".into() },
            ],
            tool_choice: Some(ToolChoice::Named("get_weather".into())),
            parallel_tool_calls: Some(false),
            ..Request::default()
        };
        let (body, warnings) = build_body(request, "m");
        assert!(warnings.is_empty());
        assert_eq!(
            body["tools"][0],
            json!({
                "type": "function",
                "name": "get_weather",
                "description": "Weather in a city",
                "parameters": { "type": "object", "properties": { "city": { "type": "string" } }, "required": ["city"] },
                "strict": false,
            })
        );
        assert_eq!(body["tools"][1]["parameters"], json!({ "type": "object" }));
        assert_eq!(body["tool_choice"], json!({ "type": "function", "name": "get_weather" }));
        assert_eq!(body["parallel_tool_calls"], false);
        for (choice, want) in [(ToolChoice::Auto, "auto"), (ToolChoice::None, "none"), (ToolChoice::Required, "required")] {
            let (body, _) = build_body(Request { tool_choice: Some(choice), ..Request::default() }, "m");
            assert_eq!(body["tool_choice"], want);
        }
    }

    #[test]
    fn sampling_and_unsupported_settings() {
        let request = Request {
            sampling: Sampling {
                max_output_tokens: Some(256),
                temperature: Some(0.5),
                top_p: Some(0.25),
                top_k: Some(40),
                presence_penalty: Some(0.1),
                frequency_penalty: Some(0.2),
                stop_sequences: vec!["END".into()],
                seed: Some(7),
            },
            ..Request::default()
        };
        let (body, warnings) = build_body(request, "m");
        assert_eq!(body["max_output_tokens"], 256);
        assert_eq!(body["temperature"], 0.5);
        assert_eq!(body["top_p"], 0.25);
        for absent in ["top_k", "seed", "presence_penalty", "frequency_penalty", "stop", "max_tokens"] {
            assert!(body.get(absent).is_none(), "{absent}");
        }
        assert_eq!(settings(&warnings), ["top-k", "seed", "presence-penalty", "frequency-penalty", "stop-sequences"]);
        assert!(warnings.iter().all(|w| w.kind == WarningKind::UnsupportedSetting));
    }

    #[test]
    fn reasoning_effort_summary_and_budget() {
        let reasoning = |effort, budget_tokens, include_thoughts| Request {
            reasoning: Some(ReasoningSettings { effort, budget_tokens, include_thoughts }),
            ..Request::default()
        };
        let (body, warnings) = build_body(reasoning(Some(ReasoningEffort::High), None, None), "m");
        assert_eq!(body["reasoning"], json!({ "effort": "high", "summary": "auto" }));
        assert!(warnings.is_empty());
        let (body, _) = build_body(reasoning(Some(ReasoningEffort::Minimal), None, Some(false)), "m");
        assert_eq!(body["reasoning"], json!({ "effort": "minimal" }));
        let (body, warnings) = build_body(reasoning(None, Some(2048), Some(false)), "m");
        assert!(body.get("reasoning").is_none());
        assert_eq!(settings(&warnings), ["reasoning.budget-tokens"]);
        assert_eq!(warnings[0].kind, WarningKind::UnsupportedSetting);
    }

    #[test]
    fn json_formats() {
        let json_request = |schema: Option<&str>| Request {
            response_format: Some(ResponseFormat::Json(JsonFormat {
                schema: schema.map(String::from),
                name: Some("person".into()),
                description: Some("A person".into()),
            })),
            ..Request::default()
        };
        let (body, warnings) = build_body(json_request(Some(r#"{"type":"object","properties":{"name":{"type":"string"}}}"#)), "m");
        assert!(warnings.is_empty());
        assert_eq!(
            body["text"],
            json!({ "format": {
                "type": "json_schema",
                "name": "person",
                "description": "A person",
                "schema": { "type": "object", "properties": { "name": { "type": "string" } } },
                "strict": true,
            }})
        );
        let (body, warnings) = build_body(json_request(None), "m");
        assert_eq!(body["text"], json!({ "format": { "type": "json_object" } }));
        assert!(warnings.is_empty());
        let (body, warnings) = build_body(json_request(Some("{not json")), "m");
        assert_eq!(body["text"], json!({ "format": { "type": "json_object" } }));
        assert_eq!(settings(&warnings), ["response-format.schema"]);
        assert_eq!(warnings[0].kind, WarningKind::Compatibility);
        let (body, _) = build_body(Request { response_format: Some(ResponseFormat::Text), ..Request::default() }, "m");
        assert!(body.get("text").is_none());
    }

    #[test]
    fn provider_options_are_merged() {
        let request = Request {
            provider_options: Some(r#"{"openai-responses":{"store":false,"service_tier":"flex"},"openai":{"x":1}}"#.into()),
            ..Request::default()
        };
        let (body, warnings) = build_body(request, "m");
        assert!(warnings.is_empty());
        assert_eq!(body["store"], false);
        assert_eq!(body["service_tier"], "flex");
        assert!(body.get("x").is_none(), "other providers' options are not ours");
        let (_, warnings) = build_body(Request { provider_options: Some("[1]".into()), ..Request::default() }, "m");
        assert_eq!(settings(&warnings), ["provider-options"]);
    }
}
