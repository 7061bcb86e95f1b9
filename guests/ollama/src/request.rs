//! Translating a normalized request into an Ollama `/api/chat` request body.
//! Settings Ollama does not take become warnings, never silent drops.
//!
//! Sampling settings go in `options` (`num_predict` is the output token limit);
//! images go in a message's `images` as base64; an assistant's tool calls carry
//! their arguments as a JSON object; tool results are `tool` messages naming the
//! tool (`tool_name`), since Ollama has no call ids to answer.

use base64::Engine as _;
use cordon_sdk::settings::{self, SamplingFields};
use cordon_sdk::openai_shapes;
use cordon_sdk::{
    FilePart, FileSource, Message, Part, ReasoningEffort, ReasoningSettings, Request,
    ResponseFormat, Role, Sampling, ToolChoice, ToolDefinition, ToolResult, Warning, WarningKind,
};
use serde_json::{json, Map, Value};

/// Build the JSON body. Returns the body and the warnings.
pub fn build_body(request: Request, model: &str) -> (Value, Vec<Warning>) {
    let mut warnings = Vec::new();
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert("messages".into(), messages(request.messages, &mut warnings).into());
    body.insert("stream".into(), true.into());
    if let Some(think) = request.reasoning.and_then(|r| think(r, &mut warnings)) {
        body.insert("think".into(), think);
    }
    if let Some(format) = request.response_format.and_then(|f| format(f, &mut warnings)) {
        body.insert("format".into(), format);
    }
    if let Some(tools) = tools(request.tools, request.tool_choice, &mut warnings) {
        body.insert("tools".into(), tools);
    }
    if request.parallel_tool_calls == Some(false) {
        warnings.push(unsupported(
            "parallel-tool-calls",
            "Ollama cannot be told to make one tool call at a time; the model may still make several",
        ));
    }
    let mut options = sampling_options(request.sampling, &mut warnings);
    if let Some(text) = request.provider_options.as_deref() {
        merge_provider_options(text, &mut body, &mut options, &mut warnings);
    }
    if !options.is_empty() {
        body.insert("options".into(), options.into());
    }
    (Value::Object(body), warnings)
}

fn unsupported(setting: &str, message: &str) -> Warning {
    Warning {
        kind: WarningKind::UnsupportedSetting,
        setting: Some(setting.into()),
        message: message.into(),
    }
}

fn changed(setting: &str, message: String) -> Warning {
    Warning { kind: WarningKind::Compatibility, setting: Some(setting.into()), message }
}

/// The `options` object: Ollama's names for the sampling settings.
fn sampling_options(s: Sampling, warnings: &mut Vec<Warning>) -> Map<String, Value> {
    let fields = SamplingFields {
        max_output_tokens: Some("num_predict"),
        temperature: Some("temperature"),
        top_p: Some("top_p"),
        top_k: Some("top_k"),
        presence_penalty: Some("presence_penalty"),
        frequency_penalty: Some("frequency_penalty"),
        stop_sequences: Some("stop"),
        seed: Some("seed"),
    };
    let mut options = Map::new();
    settings::insert_sampling(&mut options, s, &fields, "Ollama", warnings);
    options
}

/// `think`: a level for an effort, `true` to ask for reasoning, `false` when no
/// reasoning is wanted back (Ollama cannot think without returning the thinking).
fn think(reasoning: ReasoningSettings, warnings: &mut Vec<Warning>) -> Option<Value> {
    let hide = reasoning.include_thoughts == Some(false);
    let Some(effort) = reasoning.effort else {
        if hide {
            warnings.push(changed(
                "reasoning.include-thoughts",
                "Ollama cannot think without returning the thinking; thinking was turned off".into(),
            ));
            return Some(false.into());
        }
        if reasoning.budget_tokens == Some(0) {
            warnings.push(changed(
                "reasoning.budget-tokens",
                "Ollama takes no thinking budget; a budget of 0 turned thinking off".into(),
            ));
            return Some(false.into());
        }
        if reasoning.budget_tokens.is_some() {
            warnings.push(no_budget());
        }
        return Some(true.into());
    };
    if reasoning.budget_tokens.is_some() {
        warnings.push(no_budget());
    }
    if hide {
        warnings.push(unsupported(
            "reasoning.include-thoughts",
            "Ollama returns the thinking of a model asked to think; it will be in the answer",
        ));
    }
    let level = match effort {
        ReasoningEffort::Minimal => {
            warnings.push(changed(
                "reasoning.effort",
                "Ollama's lowest thinking level is `low`; `minimal` was sent as `low`".into(),
            ));
            "low"
        }
        ReasoningEffort::Low => "low",
        ReasoningEffort::Medium => "medium",
        ReasoningEffort::High => "high",
    };
    Some(level.into())
}

fn no_budget() -> Warning {
    unsupported(
        "reasoning.budget-tokens",
        "Ollama takes no thinking budget; thinking was turned on without one (reasoning.effort \
         sets a level, for models such as gpt-oss)",
    )
}

/// `format`: `"json"`, or the schema itself.
fn format(format: ResponseFormat, warnings: &mut Vec<Warning>) -> Option<Value> {
    let ResponseFormat::Json(format) = format else {
        return None;
    };
    if format.description.is_some() {
        warnings.push(unsupported(
            "response-format.description",
            "Ollama takes only the schema; put the description in the prompt or the schema",
        ));
    }
    match format.schema.as_deref().map(serde_json::from_str::<Value>) {
        Some(Ok(schema)) => Some(schema),
        Some(Err(err)) => {
            warnings.push(changed(
                "response-format.schema",
                format!("the schema is not valid JSON ({err}); asked for any JSON instead"),
            ));
            Some("json".into())
        }
        None => Some("json".into()),
    }
}

/// `tools`, honouring the tool choice Ollama can express: `auto` (its only
/// behaviour) and `none` (the tools are not sent).
fn tools(
    tools: Vec<ToolDefinition>,
    choice: Option<ToolChoice>,
    warnings: &mut Vec<Warning>,
) -> Option<Value> {
    match choice {
        Some(ToolChoice::None) => return None,
        Some(ToolChoice::Required) => warnings.push(unsupported(
            "tool-choice",
            "Ollama cannot require a tool call (tool choice `required`); the model decides",
        )),
        Some(ToolChoice::Named(name)) => warnings.push(Warning {
            kind: WarningKind::UnsupportedSetting,
            setting: Some("tool-choice".into()),
            message: format!("Ollama cannot force a call to `{name}`; the model decides"),
        }),
        Some(ToolChoice::Auto) | None => {}
    }
    if tools.is_empty() {
        return None;
    }
    let tools: Vec<Value> = tools.into_iter().map(|tool| openai_shapes::function_tool(tool, warnings)).collect();
    Some(tools.into())
}

fn messages(messages: Vec<Message>, warnings: &mut Vec<Warning>) -> Vec<Value> {
    let mut out = Vec::with_capacity(messages.len());
    for message in messages {
        match message.role {
            Role::Tool => tool_results(message.parts, &mut out, warnings),
            role => out.push(message_value(role, message.parts, warnings)),
        }
    }
    out
}

fn dropped(role: Role, part: &Part) -> Warning {
    Warning::dropped_part("Ollama", role, part)
}

/// A system, user or assistant message: its text, images and (for the
/// assistant) earlier thinking and tool calls.
fn message_value(role: Role, parts: Vec<Part>, warnings: &mut Vec<Warning>) -> Value {
    let mut content = String::new();
    let mut thinking = String::new();
    let mut images = Vec::new();
    let mut calls = Vec::new();
    for part in parts {
        match part {
            Part::Text(text) => content.push_str(&text),
            Part::File(file) => images.extend(image(file, warnings)),
            Part::Reasoning(reasoning) if role == Role::Assistant => {
                if reasoning.text.is_empty() && reasoning.redacted.is_some() {
                    warnings.push(changed(
                        "messages",
                        "redacted reasoning from another provider cannot be sent to Ollama; not sent".into(),
                    ));
                }
                thinking.push_str(&reasoning.text);
            }
            Part::ToolCall(call) if role == Role::Assistant => {
                let arguments = call_arguments(&call.name, &call.arguments, warnings);
                calls.push(json!({ "function": { "name": call.name, "arguments": arguments } }));
            }
            other => warnings.push(dropped(role, &other)),
        }
    }
    let mut message = Map::new();
    message.insert("role".into(), settings::role_name(role).into());
    message.insert("content".into(), content.into());
    if !thinking.is_empty() {
        message.insert("thinking".into(), thinking.into());
    }
    if !images.is_empty() {
        message.insert("images".into(), images.into());
    }
    if !calls.is_empty() {
        message.insert("tool_calls".into(), calls.into());
    }
    Value::Object(message)
}

/// One `tool` message per result, naming the tool that produced it.
fn tool_results(parts: Vec<Part>, out: &mut Vec<Value>, warnings: &mut Vec<Warning>) {
    for part in parts {
        match part {
            Part::ToolResult(ToolResult { name, output, .. }) => {
                out.push(json!({ "role": "tool", "content": output, "tool_name": name }));
            }
            other => warnings.push(dropped(Role::Tool, &other)),
        }
    }
}

/// An earlier call's arguments as the JSON object Ollama wants.
fn call_arguments(tool: &str, arguments: &str, warnings: &mut Vec<Warning>) -> Value {
    if arguments.trim().is_empty() {
        return json!({});
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(object @ Value::Object(_)) => object,
        _ => {
            warnings.push(changed(
                "messages",
                format!(
                    "the arguments of an earlier call to `{tool}` are not a JSON object, which \
                     Ollama requires; sent as {{}}"
                ),
            ));
            json!({})
        }
    }
}

/// An image's base64 text. Ollama takes only images, and only their bytes: a
/// `data:` URL is unpacked, any other URL is not fetched.
fn image(file: FilePart, warnings: &mut Vec<Warning>) -> Option<String> {
    if !file.media_type.starts_with("image/") {
        warnings.push(unsupported(
            "messages",
            &format!("Ollama takes only images; a `{}` file was not sent", file.media_type),
        ));
        return None;
    }
    match file.source {
        FileSource::Bytes(bytes) => Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        FileSource::Url(url) => match data_url_base64(&url) {
            Some(data) => Some(data.to_owned()),
            None => {
                warnings.push(unsupported(
                    "messages",
                    &format!(
                        "Ollama takes images as bytes, not URLs; the image at {} was not sent \
                         (pass its bytes instead)",
                        cordon_sdk::errors::excerpt(url.as_bytes())
                    ),
                ));
                None
            }
        },
    }
}

/// The base64 payload of a `data:<type>;base64,<payload>` URL.
fn data_url_base64(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("data:")?;
    let (header, payload) = rest.split_once(',')?;
    header.ends_with(";base64").then_some(payload)
}

/// Provider options: `{"ollama": {...}}` is merged into the body as is, except
/// `options`, whose keys join the sampling options (e.g. `num_ctx`).
fn merge_provider_options(
    text: &str,
    body: &mut Map<String, Value>,
    options: &mut Map<String, Value>,
    warnings: &mut Vec<Warning>,
) {
    let ours = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(mut all)) => all.remove("ollama"),
        _ => {
            warnings.push(Warning {
                kind: WarningKind::Other,
                setting: Some("provider-options".into()),
                message: "provider options must be a JSON object keyed by provider name; ignored".into(),
            });
            return;
        }
    };
    match ours {
        None => {}
        Some(Value::Object(ours)) => {
            for (key, value) in ours {
                match (key.as_str(), value) {
                    ("options", Value::Object(extra)) => options.extend(extra),
                    ("options", _) => warnings.push(Warning {
                        kind: WarningKind::Other,
                        setting: Some("provider-options".into()),
                        message: "provider options `ollama.options` must be a JSON object; ignored".into(),
                    }),
                    (_, value) => {
                        body.insert(key, value);
                    }
                }
            }
        }
        Some(_) => warnings.push(Warning {
            kind: WarningKind::Other,
            setting: Some("provider-options".into()),
            message: "provider options under \"ollama\" must be a JSON object; ignored".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::{JsonFormat, ReasoningPart, ToolCall};

    fn request(messages: Vec<Message>) -> Request {
        Request { messages, ..Request::default() }
    }

    fn user(text: &str) -> Message {
        Message { role: Role::User, parts: vec![Part::Text(text.into())] }
    }

    fn settings(warnings: &[Warning]) -> Vec<&str> {
        warnings.iter().filter_map(|w| w.setting.as_deref()).collect()
    }

    fn reasoning(
        effort: Option<ReasoningEffort>,
        budget_tokens: Option<u32>,
        include_thoughts: Option<bool>,
    ) -> ReasoningSettings {
        ReasoningSettings { effort, budget_tokens, include_thoughts }
    }

    #[test]
    fn plain_chat() {
        let (body, warnings) = build_body(request(vec![user("Why is the sky blue?")]), "llama3.2");
        assert_eq!(
            body,
            json!({
                "model": "llama3.2",
                "messages": [{ "role": "user", "content": "Why is the sky blue?" }],
                "stream": true,
            })
        );
        assert!(warnings.is_empty());
    }

    #[test]
    fn conversation_with_system_prompt_tool_calls_and_results() {
        let messages = vec![
            Message { role: Role::System, parts: vec![Part::Text("Be brief.".into())] },
            user("Weather in Paris and Tokyo?"),
            Message {
                role: Role::Assistant,
                parts: vec![
                    Part::Reasoning(ReasoningPart {
                        text: "Two cities, two calls.".into(),
                        signature: None,
                        redacted: None,
                    }),
                    Part::ToolCall(ToolCall {
                        id: "call_0".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"city":"Paris"}"#.into(),
                    }),
                    Part::ToolCall(ToolCall {
                        id: "call_1".into(),
                        name: "get_weather".into(),
                        arguments: String::new(),
                    }),
                ],
            },
            Message {
                role: Role::Tool,
                parts: vec![
                    Part::ToolResult(ToolResult {
                        call_id: "call_0".into(),
                        name: "get_weather".into(),
                        output: r#"{"temp":21}"#.into(),
                        is_error: false,
                    }),
                    Part::ToolResult(ToolResult {
                        call_id: "call_1".into(),
                        name: "get_weather".into(),
                        output: "city missing".into(),
                        is_error: true,
                    }),
                ],
            },
        ];
        let (body, warnings) = build_body(request(messages), "qwen3:8b");
        assert_eq!(
            body["messages"],
            json!([
                { "role": "system", "content": "Be brief." },
                { "role": "user", "content": "Weather in Paris and Tokyo?" },
                {
                    "role": "assistant",
                    "content": "",
                    "thinking": "Two cities, two calls.",
                    "tool_calls": [
                        { "function": { "name": "get_weather", "arguments": { "city": "Paris" } } },
                        { "function": { "name": "get_weather", "arguments": {} } },
                    ],
                },
                { "role": "tool", "content": "{\"temp\":21}", "tool_name": "get_weather" },
                { "role": "tool", "content": "city missing", "tool_name": "get_weather" },
            ])
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn images_are_base64_and_urls_are_warned() {
        let messages = vec![Message {
            role: Role::User,
            parts: vec![
                Part::Text("What is in these?".into()),
                Part::File(FilePart {
                    media_type: "image/png".into(),
                    source: FileSource::Bytes(b"\x89PNG".to_vec()),
                    filename: None,
                }),
                Part::File(FilePart {
                    media_type: "image/jpeg".into(),
                    source: FileSource::Url("data:image/jpeg;base64,/9j/4AAQ".into()),
                    filename: None,
                }),
                Part::File(FilePart {
                    media_type: "image/png".into(),
                    source: FileSource::Url("https://example.com/cat.png".into()),
                    filename: None,
                }),
                Part::File(FilePart {
                    media_type: "application/pdf".into(),
                    source: FileSource::Bytes(b"%PDF".to_vec()),
                    filename: Some("report.pdf".into()),
                }),
            ],
        }];
        let (body, warnings) = build_body(request(messages), "gemma3");
        assert_eq!(
            body["messages"],
            json!([{ "role": "user", "content": "What is in these?", "images": ["iVBORw==", "/9j/4AAQ"] }])
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings.iter().all(|w| w.kind == WarningKind::UnsupportedSetting));
        assert!(warnings[0].message.contains("https://example.com/cat.png"));
        assert!(warnings[1].message.contains("application/pdf"));
    }

    #[test]
    fn sampling_goes_in_options() {
        let mut r = request(vec![user("Hi")]);
        r.sampling = Sampling {
            max_output_tokens: Some(256),
            temperature: Some(0.7),
            top_p: Some(0.9),
            top_k: Some(40),
            presence_penalty: Some(0.5),
            frequency_penalty: Some(-0.25),
            stop_sequences: vec!["\n\n".into(), "User:".into()],
            seed: Some(101),
        };
        let (body, warnings) = build_body(r, "llama3.2");
        assert_eq!(
            body["options"],
            json!({
                "num_predict": 256,
                "temperature": 0.7,
                "top_p": 0.9,
                "top_k": 40,
                "presence_penalty": 0.5,
                "frequency_penalty": -0.25,
                "stop": ["\n\n", "User:"],
                "seed": 101,
            })
        );
        assert!(warnings.is_empty());
        let mut r = request(vec![user("Hi")]);
        r.sampling.temperature = Some(f32::NAN);
        let (body, warnings) = build_body(r, "llama3.2");
        assert!(body.get("options").is_none());
        assert_eq!(settings(&warnings), ["temperature"]);
    }

    #[test]
    fn think_levels_and_switches() {
        let cases = [
            (reasoning(None, None, None), json!(true), vec![]),
            (reasoning(Some(ReasoningEffort::High), None, None), json!("high"), vec![]),
            (reasoning(Some(ReasoningEffort::Minimal), None, None), json!("low"), vec!["reasoning.effort"]),
            (reasoning(None, Some(2048), None), json!(true), vec!["reasoning.budget-tokens"]),
            (reasoning(None, Some(0), None), json!(false), vec!["reasoning.budget-tokens"]),
            (reasoning(None, None, Some(false)), json!(false), vec!["reasoning.include-thoughts"]),
            (
                reasoning(Some(ReasoningEffort::Medium), None, Some(false)),
                json!("medium"),
                vec!["reasoning.include-thoughts"],
            ),
        ];
        for (settings_in, think, expected) in cases {
            let mut r = request(vec![user("Hi")]);
            r.reasoning = Some(settings_in);
            let (body, warnings) = build_body(r, "gpt-oss:20b");
            assert_eq!(body["think"], think);
            assert_eq!(settings(&warnings), expected, "{think}");
        }
        let (body, _) = build_body(request(vec![user("Hi")]), "qwen3");
        assert!(body.get("think").is_none(), "no reasoning settings, the model's default");
    }

    #[test]
    fn response_formats() {
        let json_format = |schema: Option<&str>, description: Option<&str>| {
            let mut r = request(vec![user("Age?")]);
            r.response_format = Some(ResponseFormat::Json(JsonFormat {
                schema: schema.map(str::to_owned),
                name: Some("person".into()),
                description: description.map(str::to_owned),
            }));
            build_body(r, "llama3.1")
        };
        let (body, warnings) = json_format(None, None);
        assert_eq!(body["format"], "json");
        assert!(warnings.is_empty());
        let (body, warnings) = json_format(Some(r#"{"type":"object","properties":{"age":{"type":"integer"}}}"#), None);
        assert_eq!(body["format"], json!({ "type": "object", "properties": { "age": { "type": "integer" } } }));
        assert!(warnings.is_empty());
        let (body, warnings) = json_format(Some("{not json"), Some("a person"));
        assert_eq!(body["format"], "json");
        assert_eq!(settings(&warnings), ["response-format.description", "response-format.schema"]);
        let mut r = request(vec![user("Hi")]);
        r.response_format = Some(ResponseFormat::Text);
        assert!(build_body(r, "llama3.1").0.get("format").is_none());
    }

    #[test]
    fn tools_and_the_choices_ollama_cannot_express() {
        let tool = ToolDefinition {
            name: "get_weather".into(),
            description: "Weather for a city".into(),
            parameters: r#"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#.into(),
        };
        let mut r = request(vec![user("Weather?")]);
        r.tools = vec![tool.clone()];
        r.tool_choice = Some(ToolChoice::Auto);
        let (body, warnings) = build_body(r, "qwen3");
        assert_eq!(
            body["tools"],
            json!([{
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Weather for a city",
                    "parameters": {
                        "type": "object",
                        "properties": { "city": { "type": "string" } },
                        "required": ["city"],
                    },
                },
            }])
        );
        assert!(warnings.is_empty());

        let mut r = request(vec![user("Weather?")]);
        r.tools = vec![tool.clone()];
        r.tool_choice = Some(ToolChoice::None);
        let (body, warnings) = build_body(r, "qwen3");
        assert!(body.get("tools").is_none(), "`none` is honoured by not sending the tools");
        assert!(warnings.is_empty());

        for choice in [ToolChoice::Required, ToolChoice::Named("get_weather".into())] {
            let mut r = request(vec![user("Weather?")]);
            r.tools = vec![tool.clone()];
            r.tool_choice = Some(choice);
            r.parallel_tool_calls = Some(false);
            let (body, warnings) = build_body(r, "qwen3");
            assert!(body.get("tools").is_some());
            assert_eq!(settings(&warnings), ["tool-choice", "parallel-tool-calls"]);
            assert!(warnings.iter().all(|w| w.kind == WarningKind::UnsupportedSetting));
        }
    }

    #[test]
    fn misplaced_parts_and_bad_arguments_are_warned() {
        let messages = vec![
            Message {
                role: Role::User,
                parts: vec![
                    Part::Text("Hi".into()),
                    Part::ToolCall(ToolCall { id: "x".into(), name: "f".into(), arguments: "{}".into() }),
                ],
            },
            Message {
                role: Role::Assistant,
                parts: vec![Part::ToolCall(ToolCall {
                    id: "y".into(),
                    name: "g".into(),
                    arguments: "[1,2]".into(),
                })],
            },
            Message { role: Role::Tool, parts: vec![Part::Text("stray".into())] },
        ];
        let (body, warnings) = build_body(request(messages), "llama3.2");
        assert_eq!(
            body["messages"],
            json!([
                { "role": "user", "content": "Hi" },
                { "role": "assistant", "content": "", "tool_calls": [{ "function": { "name": "g", "arguments": {} } }] },
            ])
        );
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].message.contains("tool call part in a user message"));
        assert_eq!(warnings[1].kind, WarningKind::Compatibility);
        assert!(warnings[2].message.contains("text part in a tool message"));
    }

    #[test]
    fn provider_options_merge_into_body_and_options() {
        let mut r = request(vec![user("Hi")]);
        r.sampling.temperature = Some(0.2);
        r.provider_options = Some(
            r#"{"ollama":{"keep_alive":"10m","options":{"num_ctx":8192}},"openai":{"store":true}}"#.into(),
        );
        let (body, warnings) = build_body(r, "llama3.2");
        assert_eq!(body["keep_alive"], "10m");
        assert_eq!(body["options"], json!({ "temperature": 0.2, "num_ctx": 8192 }));
        assert!(body.get("store").is_none());
        assert!(warnings.is_empty());

        let mut r = request(vec![user("Hi")]);
        r.provider_options = Some("[1]".into());
        let (_, warnings) = build_body(r, "llama3.2");
        assert_eq!(settings(&warnings), ["provider-options"]);
    }
}
