//! Translating a normalized request into a Cohere v2 Chat request body.
//! Settings Cohere does not take become warnings, never silent drops.
//!
//! Messages keep their roles: `system` and `user` text (a user's images as
//! `image_url` parts beside its text), an `assistant`'s text as `content`, its
//! calls as `tool_calls` in OpenAI's function shape and, beside them, its
//! reasoning as the `tool_plan` it wrote before calling (reasoning without
//! calls is not sent back), and one `tool` message per result. Sampling uses
//! Cohere's names (`max_tokens`, `p`, `k`, `stop_sequences`); reasoning is
//! `thinking` with a `token_budget`; JSON output is a `json_object` with an
//! optional `json_schema`; the tool choice is `REQUIRED` or `NONE` (a named
//! choice sends that tool alone, required). A request's provider options under
//! `"cohere"` (e.g. `documents`, `citation_options`, `safety_mode`) are merged
//! into the body as they are.

use cordon_sdk::openai_shapes::{self, text_of};
use cordon_sdk::settings::{self, SamplingFields};
use cordon_sdk::{
    FilePart, JsonFormat, Message, Part, ReasoningSettings, Request, ResponseFormat, Role, ToolChoice,
    ToolDefinition, Warning,
};
use serde_json::{Map, Value, json};

/// The provider's name in warnings and in a request's provider options.
const COHERE: &str = "Cohere";

/// Build the JSON body. Returns the body and the warnings.
pub fn build_body(request: Request, model: &str) -> (Value, Vec<Warning>) {
    let mut warnings = Vec::new();
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert("messages".into(), messages(request.messages, &mut warnings).into());
    body.insert("stream".into(), true.into());
    settings::insert_sampling(&mut body, request.sampling, &SAMPLING, COHERE, &mut warnings);
    if let Some(reasoning) = request.reasoning {
        body.insert("thinking".into(), thinking(reasoning, &mut warnings));
    }
    if let Some(ResponseFormat::Json(format)) = request.response_format {
        body.insert("response_format".into(), json_format(format, &mut warnings));
    }
    tools(request.tools, request.tool_choice, &mut body, &mut warnings);
    if request.parallel_tool_calls == Some(false) {
        warnings.push(Warning::unsupported(
            "parallel-tool-calls",
            "Cohere cannot be limited to one tool call at a time; the model may still make several",
        ));
    }
    body.extend(settings::provider_options(request.provider_options.as_deref(), "cohere", &mut warnings));
    (Value::Object(body), warnings)
}

/// Cohere's names for the sampling settings: it takes them all.
const SAMPLING: SamplingFields = SamplingFields {
    max_output_tokens: Some("max_tokens"),
    temperature: Some("temperature"),
    top_p: Some("p"),
    top_k: Some("k"),
    presence_penalty: Some("presence_penalty"),
    frequency_penalty: Some("frequency_penalty"),
    stop_sequences: Some("stop_sequences"),
    seed: Some("seed"),
};

/// `thinking`: enabled with the budget, if one is given; a budget of 0 turns it off.
fn thinking(reasoning: ReasoningSettings, warnings: &mut Vec<Warning>) -> Value {
    if reasoning.budget_tokens == Some(0) {
        return json!({ "type": "disabled" });
    }
    if reasoning.include_thoughts == Some(false) {
        warnings.push(Warning::unsupported(
            "reasoning.include-thoughts",
            "Cohere returns the thinking of a model asked to think; it will be in the answer",
        ));
    }
    match (reasoning.effort, reasoning.budget_tokens) {
        (Some(_), None) => warnings.push(Warning::compatibility(
            "reasoning.effort",
            "Cohere takes a thinking token budget, not an effort: thinking was turned on without a budget \
             (set reasoning.budget-tokens to bound it)",
        )),
        (Some(_), Some(_)) => warnings.push(Warning::unsupported(
            "reasoning.effort",
            "Cohere takes a thinking token budget, not an effort: the budget was sent, the effort not",
        )),
        (None, _) => {}
    }
    let mut thinking = json!({ "type": "enabled" });
    if let Some(budget) = reasoning.budget_tokens {
        thinking["token_budget"] = budget.into();
    }
    thinking
}

/// `response_format`: a `json_object`, following `json_schema` when one is given.
fn json_format(format: JsonFormat, warnings: &mut Vec<Warning>) -> Value {
    for (setting, given) in [("response-format.name", &format.name), ("response-format.description", &format.description)] {
        if given.is_some() {
            warnings.push(Warning::unsupported(setting, "Cohere takes only the schema; not sent"));
        }
    }
    let mut value = json!({ "type": "json_object" });
    match format.schema.as_deref().map(serde_json::from_str::<Value>) {
        Some(Ok(schema)) => value["json_schema"] = schema,
        Some(Err(err)) => warnings.push(Warning::compatibility(
            "response-format.schema",
            format!("the schema is not valid JSON ({err}); asked for any JSON object instead"),
        )),
        None => {}
    }
    value
}

/// `tools` and `tool_choice`. Cohere's choices are `REQUIRED` and `NONE` (no
/// choice is its `auto`); a named tool is sent alone, and required.
fn tools(
    mut tools: Vec<ToolDefinition>,
    choice: Option<ToolChoice>,
    body: &mut Map<String, Value>,
    warnings: &mut Vec<Warning>,
) {
    let choice = match choice {
        Some(ToolChoice::Required) => Some("REQUIRED"),
        Some(ToolChoice::None) => Some("NONE"),
        Some(ToolChoice::Named(name)) if tools.iter().any(|tool| tool.name == name) => {
            tools.retain(|tool| tool.name == name);
            warnings.push(Warning::compatibility(
                "tool-choice",
                format!("Cohere cannot name the tool to call: `{name}` was sent as the only tool, and a call required"),
            ));
            Some("REQUIRED")
        }
        Some(ToolChoice::Named(name)) => {
            warnings.push(Warning::unsupported(
                "tool-choice",
                format!("the tool choice names `{name}`, which is not among the request's tools; the model decides"),
            ));
            None
        }
        Some(ToolChoice::Auto) | None => None,
    };
    if tools.is_empty() {
        return;
    }
    let tools: Vec<Value> = tools.into_iter().map(|tool| openai_shapes::function_tool(tool, warnings)).collect();
    body.insert("tools".into(), tools.into());
    if let Some(choice) = choice {
        body.insert("tool_choice".into(), choice.into());
    }
}

fn messages(messages: Vec<Message>, warnings: &mut Vec<Warning>) -> Vec<Value> {
    let mut out = Vec::with_capacity(messages.len());
    for Message { role, parts } in messages {
        match role {
            Role::System => out.push(json!({ "role": "system", "content": text_only(role, parts, warnings) })),
            Role::User => out.push(json!({ "role": "user", "content": user_content(parts, warnings) })),
            Role::Assistant => out.push(assistant(parts, warnings)),
            Role::Tool => {
                for part in parts {
                    match part {
                        Part::ToolResult(result) => out.push(openai_shapes::tool_message(result)),
                        other => warnings.push(Warning::dropped_part(COHERE, role, &other)),
                    }
                }
            }
        }
    }
    out
}

/// A message's text; its other parts are not sent, with a warning each.
fn text_only(role: Role, parts: Vec<Part>, warnings: &mut Vec<Warning>) -> String {
    for part in parts.iter().filter(|part| !matches!(part, Part::Text(_))) {
        warnings.push(Warning::dropped_part(COHERE, role, part));
    }
    text_of(&parts)
}

/// A user's text, or (with images) a list of text and `image_url` parts.
fn user_content(parts: Vec<Part>, warnings: &mut Vec<Warning>) -> Value {
    if !parts.iter().any(|part| matches!(part, Part::File(_))) {
        return text_only(Role::User, parts, warnings).into();
    }
    let mut items = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            Part::Text(text) => items.push(openai_shapes::text_part(text)),
            Part::File(file) if file.media_type.starts_with("image/") => items.push(openai_shapes::image_url_part(file)),
            Part::File(file) => warnings.push(not_an_image(&file)),
            other => warnings.push(Warning::dropped_part(COHERE, Role::User, &other)),
        }
    }
    items.into()
}

fn not_an_image(file: &FilePart) -> Warning {
    Warning::unsupported(
        "messages",
        format!(
            "Cohere's chat takes images only; a `{}` file was not sent (pass documents for retrieval in the \
             provider options under \"cohere\" as `documents`)",
            file.media_type
        ),
    )
}

/// An assistant message: its text, its calls and, beside the calls, its reasoning as the `tool_plan`.
fn assistant(parts: Vec<Part>, warnings: &mut Vec<Warning>) -> Value {
    let mut text = String::new();
    let mut plan = String::new();
    let mut calls = Vec::new();
    for part in parts {
        match part {
            Part::Text(more) => text.push_str(&more),
            Part::Reasoning(reasoning) => plan.push_str(&reasoning.text),
            Part::ToolCall(call) => calls.push(openai_shapes::function_call(call)),
            other => warnings.push(Warning::dropped_part(COHERE, Role::Assistant, &other)),
        }
    }
    let mut message = Map::new();
    message.insert("role".into(), "assistant".into());
    if !text.is_empty() || calls.is_empty() {
        message.insert("content".into(), text.into());
    }
    if !calls.is_empty() {
        if !plan.is_empty() {
            message.insert("tool_plan".into(), plan.into());
        }
        message.insert("tool_calls".into(), calls.into());
    }
    Value::Object(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::{FileSource, ReasoningEffort, ReasoningPart, Sampling, ToolCall, ToolResult, WarningKind};

    fn tool(name: &str) -> ToolDefinition {
        ToolDefinition { name: name.into(), description: format!("the {name} tool"), parameters: r#"{"type":"object"}"#.into() }
    }

    fn settings_named(warnings: &[Warning]) -> Vec<&str> {
        warnings.iter().filter_map(|w| w.setting.as_deref()).collect()
    }

    #[test]
    fn sampling_uses_cohere_s_names() {
        let request = Request {
            sampling: Sampling {
                max_output_tokens: Some(300), temperature: Some(0.3), top_p: Some(0.9), top_k: Some(40),
                presence_penalty: Some(0.1), frequency_penalty: Some(0.2), stop_sequences: vec!["END".into()], seed: Some(7),
            },
            ..Request::default()
        };
        let (body, warnings) = build_body(request, "command-a-03-2025");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            body,
            json!({
                "model": "command-a-03-2025", "messages": [], "stream": true,
                "max_tokens": 300, "temperature": 0.3, "p": 0.9, "k": 40,
                "presence_penalty": 0.1, "frequency_penalty": 0.2, "stop_sequences": ["END"], "seed": 7,
            })
        );
    }

    #[test]
    fn a_conversation_with_tool_calls_and_results() {
        let messages = vec![
            Message { role: Role::System, parts: vec![Part::Text("Be brief.".into())] },
            Message { role: Role::User, parts: vec![Part::Text("Weather in Paris?".into())] },
            Message {
                role: Role::Assistant,
                parts: vec![
                    Part::Reasoning(ReasoningPart { text: "I will look it up.".into(), signature: None, redacted: None }),
                    Part::ToolCall(ToolCall { id: "weather_1".into(), name: "weather".into(), arguments: r#"{"city":"Paris"}"#.into() }),
                ],
            },
            Message {
                role: Role::Tool,
                parts: vec![Part::ToolResult(ToolResult {
                    call_id: "weather_1".into(),
                    name: "weather".into(),
                    output: "21C".into(),
                    is_error: false,
                })],
            },
            Message { role: Role::Assistant, parts: vec![Part::Text("It is 21C.".into())] },
        ];
        let (body, warnings) = build_body(Request { messages, ..Request::default() }, "m");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            body["messages"],
            json!([
                { "role": "system", "content": "Be brief." },
                { "role": "user", "content": "Weather in Paris?" },
                {
                    "role": "assistant",
                    "tool_plan": "I will look it up.",
                    "tool_calls": [{ "id": "weather_1", "type": "function", "function": { "name": "weather", "arguments": "{\"city\":\"Paris\"}" } }],
                },
                { "role": "tool", "tool_call_id": "weather_1", "content": "21C" },
                { "role": "assistant", "content": "It is 21C." },
            ])
        );
    }

    #[test]
    fn images_beside_text_and_other_files_are_warned_about() {
        let parts = vec![
            Part::Text("What is this?".into()),
            Part::File(FilePart { media_type: "image/png".into(), source: FileSource::Bytes(vec![0xff]), filename: None }),
            Part::File(FilePart { media_type: "application/pdf".into(), source: FileSource::Bytes(vec![1]), filename: None }),
        ];
        let (body, warnings) = build_body(Request { messages: vec![Message { role: Role::User, parts }], ..Request::default() }, "m");
        assert_eq!(
            body["messages"][0]["content"],
            json!([{ "type": "text", "text": "What is this?" }, { "type": "image_url", "image_url": { "url": "data:image/png;base64,/w==" } }])
        );
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].message.contains("application/pdf"), "{}", warnings[0].message);
    }

    #[test]
    fn parts_a_role_cannot_carry_are_named() {
        let messages = vec![
            Message { role: Role::System, parts: vec![Part::Text("x".into()), Part::Reasoning(ReasoningPart { text: "r".into(), signature: None, redacted: None })] },
            Message { role: Role::Tool, parts: vec![Part::Text("stray".into())] },
        ];
        let (body, warnings) = build_body(Request { messages, ..Request::default() }, "m");
        assert_eq!(body["messages"], json!([{ "role": "system", "content": "x" }]));
        let texts: Vec<&str> = warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(
            texts,
            [
                "a reasoning part in a system message has no place in Cohere's format; not sent",
                "a text part in a tool message has no place in Cohere's format; not sent",
            ]
        );
    }

    #[test]
    fn tools_and_their_choice() {
        let request = |choice| Request { tools: vec![tool("weather"), tool("time")], tool_choice: choice, ..Request::default() };
        let (body, warnings) = build_body(request(Some(ToolChoice::Required)), "m");
        assert_eq!(body["tool_choice"], "REQUIRED");
        assert_eq!(body["tools"][1], json!({ "type": "function", "function": { "name": "time", "description": "the time tool", "parameters": { "type": "object" } } }));
        assert!(warnings.is_empty());
        let (body, _) = build_body(request(Some(ToolChoice::None)), "m");
        assert_eq!(body["tool_choice"], "NONE");
        let (body, _) = build_body(request(Some(ToolChoice::Auto)), "m");
        assert!(body.get("tool_choice").is_none());
        assert_eq!(body["tools"].as_array().map(Vec::len), Some(2));

        let (body, warnings) = build_body(request(Some(ToolChoice::Named("time".into()))), "m");
        assert_eq!(body["tool_choice"], "REQUIRED");
        assert_eq!(body["tools"].as_array().map(Vec::len), Some(1));
        assert_eq!(body["tools"][0]["function"]["name"], "time");
        assert_eq!(warnings[0].kind, WarningKind::Compatibility);

        let (body, warnings) = build_body(request(Some(ToolChoice::Named("nope".into()))), "m");
        assert!(body.get("tool_choice").is_none());
        assert_eq!(body["tools"].as_array().map(Vec::len), Some(2));
        assert!(warnings[0].message.contains("`nope`"), "{}", warnings[0].message);

        let (body, _) = build_body(Request { tool_choice: Some(ToolChoice::Required), ..Request::default() }, "m");
        assert!(body.get("tool_choice").is_none() && body.get("tools").is_none(), "no choice without tools");
    }

    #[test]
    fn thinking_takes_a_budget() {
        let reasoning = |effort, budget, include| Request {
            reasoning: Some(ReasoningSettings { effort, budget_tokens: budget, include_thoughts: include }),
            ..Request::default()
        };
        let (body, warnings) = build_body(reasoning(None, Some(2048), None), "m");
        assert_eq!(body["thinking"], json!({ "type": "enabled", "token_budget": 2048 }));
        assert!(warnings.is_empty());
        let (body, _) = build_body(reasoning(None, Some(0), None), "m");
        assert_eq!(body["thinking"], json!({ "type": "disabled" }));
        let (body, warnings) = build_body(reasoning(Some(ReasoningEffort::High), None, Some(false)), "m");
        assert_eq!(body["thinking"], json!({ "type": "enabled" }));
        assert_eq!(settings_named(&warnings), ["reasoning.include-thoughts", "reasoning.effort"]);
        let (body, warnings) = build_body(reasoning(Some(ReasoningEffort::Low), Some(512), None), "m");
        assert_eq!(body["thinking"]["token_budget"], 512);
        assert_eq!(settings_named(&warnings), ["reasoning.effort"]);
        let (body, _) = build_body(Request::default(), "m");
        assert!(body.get("thinking").is_none());
    }

    #[test]
    fn json_output_with_and_without_a_schema() {
        let format = |schema: Option<&str>, name: Option<&str>| Request {
            response_format: Some(ResponseFormat::Json(JsonFormat { schema: schema.map(Into::into), name: name.map(Into::into), description: None })),
            ..Request::default()
        };
        let (body, warnings) = build_body(format(Some(r#"{"type":"object","properties":{"a":{"type":"string"}}}"#), None), "m");
        assert_eq!(body["response_format"], json!({ "type": "json_object", "json_schema": { "type": "object", "properties": { "a": { "type": "string" } } } }));
        assert!(warnings.is_empty());
        let (body, warnings) = build_body(format(Some("{"), Some("answer")), "m");
        assert_eq!(body["response_format"], json!({ "type": "json_object" }));
        assert_eq!(settings_named(&warnings), ["response-format.name", "response-format.schema"]);
        let text = Request { response_format: Some(ResponseFormat::Text), ..Request::default() };
        assert!(build_body(text, "m").0.get("response_format").is_none());
    }

    #[test]
    fn provider_options_are_merged_and_unsupported_settings_warned() {
        let request = Request {
            provider_options: Some(r#"{"cohere":{"safety_mode":"STRICT","documents":[{"id":"d1","data":{"text":"x"}}]},"openai":{"user":"u"}}"#.into()),
            parallel_tool_calls: Some(false),
            ..Request::default()
        };
        let (body, warnings) = build_body(request, "m");
        assert_eq!(body["safety_mode"], "STRICT");
        assert_eq!(body["documents"][0]["id"], "d1");
        assert!(body.get("user").is_none());
        assert_eq!(settings_named(&warnings), ["parallel-tool-calls"]);
    }
}
