//! Translating a normalized request into a `generateContent` request body:
//! `contents`, `systemInstruction`, `generationConfig`, `tools`, `toolConfig`.
//! Settings the API does not take become warnings, never silent drops.
//!
//! Messages: system text goes to `systemInstruction`; user and tool messages are
//! `user` contents, assistant messages `model` contents, and consecutive contents
//! of the same role are merged. Tool results are `functionResponse` parts whose
//! `response` is `{"result": output}` (`{"error": output}` when the result is an
//! error), the output parsed as JSON when it is JSON. Tool schemas and JSON
//! output schemas are sent as `parametersJsonSchema` and `responseJsonSchema`,
//! which take JSON Schema as the contract carries it (the older `parameters` and
//! `responseSchema` take an OpenAPI subset and refuse keys such as `$schema`).
//!
//! Thought signatures go back on the part they came with: a reasoning part with
//! text is a `thought` part carrying its own signature; a reasoning part that is
//! only a signature (how the stream parser records the signature of a text or
//! function-call part) is attached to the part that follows it, or to the one
//! before it when it comes last.

use std::collections::HashMap;

use base64::Engine as _;
use cordon_sdk::{
    FileSource, FilePart, Message, Part, ProviderError, ReasoningEffort, ReasoningSettings,
    Request, ResponseFormat, Role, Sampling, ToolCall, ToolChoice, ToolDefinition, ToolResult,
    Warning, WarningKind,
};
use serde_json::{json, Map, Value};

/// The most stop sequences the API takes.
pub const MAX_STOP_SEQUENCES: usize = 5;

/// The thinking budget (tokens) a reasoning effort asks for.
///
/// `minimal` turns thinking off (budget 0) where the model allows it; the Pro
/// models cannot stop thinking and refuse 0, so for a model whose name contains
/// `pro` it is 128, the smallest budget they take. `low` is 1024, `medium` 8192,
/// `high` 24576 (the Flash models' maximum).
pub fn effort_budget(effort: ReasoningEffort, model: &str) -> u32 {
    match effort {
        ReasoningEffort::Minimal if model.contains("pro") => 128,
        ReasoningEffort::Minimal => 0,
        ReasoningEffort::Low => 1024,
        ReasoningEffort::Medium => 8192,
        ReasoningEffort::High => 24576,
    }
}

/// Build the JSON body for `model`. Returns the body and the warnings; fails
/// when nothing would be left to send.
pub fn build_body(request: Request, model: &str) -> Result<(Value, Vec<Warning>), ProviderError> {
    let mut warnings = Vec::new();
    let mut body = Map::new();
    let (contents, system) = conversation(request.messages, &mut warnings);
    if contents.is_empty() {
        return Err(ProviderError::new(
            cordon_sdk::ErrorKind::InvalidRequest,
            "the request has no user, assistant or tool message with content: Gemini needs at least one",
        ));
    }
    body.insert("contents".into(), contents.into());
    if !system.is_empty() {
        body.insert("systemInstruction".into(), json!({ "parts": system }));
    }

    let mut config = generation_config(request.sampling, &mut warnings);
    if let Some(reasoning) = request.reasoning
        && let Some(thinking) = thinking_config(reasoning, model, &mut warnings)
    {
        config.insert("thinkingConfig".into(), thinking);
    }
    if let Some(ResponseFormat::Json(format)) = request.response_format {
        config.insert("responseMimeType".into(), "application/json".into());
        match format.schema.as_deref().map(serde_json::from_str::<Value>) {
            Some(Ok(mut schema)) => {
                // The schema's name is only a label (OpenAI requires one); Gemini has no field for it.
                if let (Some(description), Some(object)) = (format.description, schema.as_object_mut()) {
                    object.entry("description").or_insert(description.into());
                }
                config.insert("responseJsonSchema".into(), schema);
            }
            Some(Err(err)) => warnings.push(Warning {
                kind: WarningKind::Compatibility,
                setting: Some("response-format.schema".into()),
                message: format!("the schema is not valid JSON ({err}); asked for any JSON instead"),
            }),
            None => {}
        }
    }
    if !config.is_empty() {
        body.insert("generationConfig".into(), config.into());
    }

    tools(request.tools, request.tool_choice, &mut body, &mut warnings);
    if request.parallel_tool_calls == Some(false) {
        warnings.push(unsupported(
            "parallel-tool-calls",
            "Gemini has no switch for parallel function calls; the model may still call several tools in one step",
        ));
    }

    if let Some(options) = request.provider_options.as_deref() {
        provider_options(options, &mut body, &mut warnings);
    }
    Ok((Value::Object(body), warnings))
}

fn unsupported(setting: &str, message: &str) -> Warning {
    Warning {
        kind: WarningKind::UnsupportedSetting,
        setting: Some(setting.into()),
        message: message.into(),
    }
}

fn compatibility(setting: &str, message: String) -> Warning {
    Warning { kind: WarningKind::Compatibility, setting: Some(setting.into()), message }
}

fn generation_config(s: Sampling, warnings: &mut Vec<Warning>) -> Map<String, Value> {
    let mut config = Map::new();
    if let Some(max) = s.max_output_tokens {
        config.insert("maxOutputTokens".into(), max.into());
    }
    let floats = [
        ("temperature", s.temperature),
        ("topP", s.top_p),
        ("presencePenalty", s.presence_penalty),
        ("frequencyPenalty", s.frequency_penalty),
    ];
    for (name, value) in floats {
        if let Some(value) = value {
            config.insert(name.into(), json!(value));
        }
    }
    if let Some(top_k) = s.top_k {
        config.insert("topK".into(), top_k.into());
    }
    let mut stops = s.stop_sequences;
    if stops.len() > MAX_STOP_SEQUENCES {
        warnings.push(compatibility(
            "stop-sequences",
            format!(
                "Gemini takes at most {MAX_STOP_SEQUENCES} stop sequences; only the first {MAX_STOP_SEQUENCES} of {} were sent",
                stops.len()
            ),
        ));
        stops.truncate(MAX_STOP_SEQUENCES);
    }
    if !stops.is_empty() {
        config.insert("stopSequences".into(), stops.into());
    }
    if let Some(seed) = s.seed {
        match i32::try_from(seed) {
            Ok(seed) => {
                config.insert("seed".into(), seed.into());
            }
            Err(_) => warnings.push(compatibility(
                "seed",
                format!("Gemini's seed is a 32-bit integer and {seed} does not fit; no seed was sent"),
            )),
        }
    }
    config
}

fn thinking_config(
    reasoning: ReasoningSettings,
    model: &str,
    warnings: &mut Vec<Warning>,
) -> Option<Value> {
    let mut thinking = Map::new();
    match (reasoning.budget_tokens, reasoning.effort) {
        (Some(budget), effort) => {
            thinking.insert("thinkingBudget".into(), budget.into());
            if effort.is_some() {
                warnings.push(compatibility(
                    "reasoning.effort",
                    "both a reasoning effort and a token budget were given; Gemini takes one budget, so the budget was used".into(),
                ));
            }
        }
        (None, Some(effort)) => {
            thinking.insert("thinkingBudget".into(), effort_budget(effort, model).into());
        }
        (None, None) => {}
    }
    if let Some(include) = reasoning.include_thoughts {
        thinking.insert("includeThoughts".into(), include.into());
    }
    (!thinking.is_empty()).then_some(Value::Object(thinking))
}

fn tools(
    tools: Vec<ToolDefinition>,
    choice: Option<ToolChoice>,
    body: &mut Map<String, Value>,
    warnings: &mut Vec<Warning>,
) {
    if tools.is_empty() {
        if matches!(choice, Some(ToolChoice::Required | ToolChoice::Named(_))) {
            warnings.push(compatibility(
                "tool-choice",
                "a tool call was required but no tools were given; the tool choice was not sent".into(),
            ));
        }
        return;
    }
    let declarations: Vec<Value> = tools
        .into_iter()
        .map(|tool| {
            let parameters = match serde_json::from_str::<Value>(&tool.parameters) {
                Ok(schema) => schema,
                Err(err) => {
                    warnings.push(compatibility(
                        "tools",
                        format!(
                            "the parameters of tool `{}` are not valid JSON ({err}); it was declared without parameters",
                            tool.name
                        ),
                    ));
                    json!({ "type": "object", "properties": {} })
                }
            };
            let mut declaration = json!({ "name": tool.name, "parametersJsonSchema": parameters });
            if !tool.description.is_empty() {
                declaration["description"] = tool.description.into();
            }
            declaration
        })
        .collect();
    body.insert("tools".into(), json!([{ "functionDeclarations": declarations }]));
    if let Some(choice) = choice {
        let config = match choice {
            ToolChoice::Auto => json!({ "mode": "AUTO" }),
            ToolChoice::None => json!({ "mode": "NONE" }),
            ToolChoice::Required => json!({ "mode": "ANY" }),
            ToolChoice::Named(name) => json!({ "mode": "ANY", "allowedFunctionNames": [name] }),
        };
        body.insert("toolConfig".into(), json!({ "functionCallingConfig": config }));
    }
}

/// Provider options: `{"gemini": {...}}` is merged into the body, objects key by
/// key (so `{"gemini": {"generationConfig": {"candidateCount": 1}}}` adds to the
/// generation config instead of replacing it).
fn provider_options(options: &str, body: &mut Map<String, Value>, warnings: &mut Vec<Warning>) {
    match serde_json::from_str::<Value>(options) {
        Ok(Value::Object(mut all)) => {
            if let Some(Value::Object(ours)) = all.remove("gemini") {
                merge(body, ours);
            }
        }
        _ => warnings.push(Warning {
            kind: WarningKind::Other,
            setting: Some("provider-options".into()),
            message: "provider options must be a JSON object keyed by provider name; ignored".into(),
        }),
    }
}

fn merge(target: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (key, value) in patch {
        match (target.get_mut(&key), value) {
            (Some(Value::Object(inner)), Value::Object(patch)) => merge(inner, patch),
            (_, value) => {
                target.insert(key, value);
            }
        }
    }
}

/// One `contents` entry.
struct Content {
    role: &'static str,
    parts: Vec<Value>,
}

/// The `contents` and the `systemInstruction` parts.
fn conversation(messages: Vec<Message>, warnings: &mut Vec<Warning>) -> (Vec<Value>, Vec<Value>) {
    let mut contents: Vec<Content> = Vec::new();
    let mut system = Vec::new();
    // Call id -> tool name, for tool results that do not repeat the name.
    let mut names: HashMap<String, String> = HashMap::new();
    for message in messages {
        let (role, parts) = match message.role {
            Role::System => {
                if !contents.is_empty() {
                    warnings.push(compatibility(
                        "messages",
                        "a system message came after the conversation started; Gemini takes one system \
                         instruction, so it was added to it"
                            .into(),
                    ));
                }
                system.extend(system_parts(message.parts, warnings));
                continue;
            }
            Role::User | Role::Tool => ("user", user_parts(message.parts, &names)),
            Role::Assistant => {
                for part in &message.parts {
                    if let Part::ToolCall(call) = part {
                        names.insert(call.id.clone(), call.name.clone());
                    }
                }
                ("model", model_parts(message.parts, warnings))
            }
        };
        if parts.is_empty() {
            continue;
        }
        match contents.last_mut() {
            Some(last) if last.role == role => last.parts.extend(parts),
            _ => contents.push(Content { role, parts }),
        }
    }
    let contents = contents
        .into_iter()
        .map(|c| json!({ "role": c.role, "parts": c.parts }))
        .collect();
    (contents, system)
}

fn system_parts(parts: Vec<Part>, warnings: &mut Vec<Warning>) -> Vec<Value> {
    let mut out = Vec::new();
    for part in parts {
        match part {
            Part::Text(text) if text.is_empty() => {}
            Part::Text(text) => out.push(json!({ "text": text })),
            _ => warnings.push(compatibility(
                "messages",
                "a system message part that is not text was dropped: the system instruction takes only text".into(),
            )),
        }
    }
    out
}

/// Parts of a user or tool message: text, files and tool results.
fn user_parts(parts: Vec<Part>, names: &HashMap<String, String>) -> Vec<Value> {
    parts
        .into_iter()
        .filter_map(|part| match part {
            Part::Text(text) if !text.is_empty() => Some(json!({ "text": text })),
            Part::File(file) => Some(file_part(file)),
            Part::ToolResult(result) => Some(function_response(result, names)),
            _ => None,
        })
        .collect()
}

/// Parts of an assistant message, with thought signatures back in place.
fn model_parts(parts: Vec<Part>, warnings: &mut Vec<Warning>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut pending_signature: Option<String> = None;
    for part in parts {
        let mut value = match part {
            Part::Text(text) if text.is_empty() => continue,
            Part::Text(text) => json!({ "text": text }),
            Part::File(file) => file_part(file),
            Part::ToolCall(call) => function_call(call, warnings),
            Part::Reasoning(reasoning) if reasoning.text.is_empty() => {
                // Only a signature (or redacted data from another provider, which Gemini cannot use).
                if reasoning.signature.is_some() {
                    pending_signature = reasoning.signature;
                }
                continue;
            }
            Part::Reasoning(reasoning) => {
                let mut thought = json!({ "text": reasoning.text, "thought": true });
                if let Some(signature) = reasoning.signature {
                    thought["thoughtSignature"] = signature.into();
                }
                thought
            }
            Part::ToolResult(_) => continue,
        };
        if let Some(signature) = pending_signature.take() {
            sign(&mut value, signature);
        }
        out.push(value);
    }
    if let (Some(signature), Some(last)) = (pending_signature, out.last_mut()) {
        sign(last, signature);
    }
    out
}

/// Attach a signature to a part that has none.
fn sign(part: &mut Value, signature: String) {
    if let Some(object) = part.as_object_mut() {
        object.entry("thoughtSignature").or_insert(signature.into());
    }
}

fn function_call(call: ToolCall, warnings: &mut Vec<Warning>) -> Value {
    let args = match serde_json::from_str::<Value>(&call.arguments) {
        Ok(Value::Object(args)) => Value::Object(args),
        _ if call.arguments.trim().is_empty() => json!({}),
        _ => {
            warnings.push(compatibility(
                "messages",
                format!(
                    "the arguments of the earlier call to `{}` are not a JSON object; they were sent as {{}}",
                    call.name
                ),
            ));
            json!({})
        }
    };
    json!({ "functionCall": { "name": call.name, "args": args } })
}

fn function_response(result: ToolResult, names: &HashMap<String, String>) -> Value {
    let name = if result.name.is_empty() {
        names.get(&result.call_id).cloned().unwrap_or_default()
    } else {
        result.name
    };
    let output = serde_json::from_str::<Value>(&result.output)
        .unwrap_or(Value::String(result.output));
    let key = if result.is_error { "error" } else { "result" };
    json!({ "functionResponse": { "name": name, "response": { key: output } } })
}

/// A file: bytes (or a `data:` URL) inline, any other URL by reference.
fn file_part(file: FilePart) -> Value {
    let url = match file.source {
        FileSource::Bytes(bytes) => {
            let data = base64::engine::general_purpose::STANDARD.encode(bytes);
            return json!({ "inlineData": { "mimeType": file.media_type, "data": data } });
        }
        FileSource::Url(url) => url,
    };
    if let Some((media_type, data)) = data_url(&url) {
        let media_type = if media_type.is_empty() { file.media_type.as_str() } else { media_type };
        return json!({ "inlineData": { "mimeType": media_type, "data": data } });
    }
    json!({ "fileData": { "mimeType": file.media_type, "fileUri": url } })
}

/// The media type and base64 data of a `data:<type>;base64,<data>` URL.
fn data_url(url: &str) -> Option<(&str, &str)> {
    let (header, data) = url.strip_prefix("data:")?.split_once(',')?;
    let media_type = header.strip_suffix(";base64")?;
    Some((media_type, data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::{JsonFormat, ReasoningPart};

    fn request(messages: Vec<Message>) -> Request {
        Request { messages, ..Request::default() }
    }

    fn message(role: Role, parts: Vec<Part>) -> Message {
        Message { role, parts }
    }

    fn user(text: &str) -> Message {
        message(Role::User, vec![Part::Text(text.into())])
    }

    fn build(request: Request) -> (Value, Vec<Warning>) {
        build_body(request, "gemini-2.5-flash").expect("a body")
    }

    fn signature_only(signature: &str) -> Part {
        Part::Reasoning(ReasoningPart { text: String::new(), signature: Some(signature.into()), redacted: None })
    }

    #[test]
    fn system_user_and_sampling() {
        let mut req = request(vec![message(Role::System, vec![Part::Text("Be brief.".into())]), user("Hi")]);
        req.sampling.max_output_tokens = Some(100);
        req.sampling.temperature = Some(0.5);
        req.sampling.top_k = Some(40);
        req.sampling.seed = Some(7);
        req.sampling.stop_sequences = vec!["END".into()];
        let (body, warnings) = build(req);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(body["systemInstruction"], json!({ "parts": [{ "text": "Be brief." }] }));
        assert_eq!(body["contents"], json!([{ "role": "user", "parts": [{ "text": "Hi" }] }]));
        let config = &body["generationConfig"];
        assert_eq!(config["maxOutputTokens"], 100);
        assert_eq!(config["temperature"], 0.5);
        assert_eq!(config["topK"], 40);
        assert_eq!(config["seed"], 7);
        assert_eq!(config["stopSequences"], json!(["END"]));
    }

    #[test]
    fn tool_round_trip_with_signatures_in_place() {
        let call = ToolCall { id: "call_0".into(), name: "weather".into(), arguments: r#"{"city":"Paris"}"#.into() };
        let req = request(vec![
            user("Weather?"),
            message(Role::Assistant, vec![signature_only("c2ln"), Part::ToolCall(call)]),
            message(
                Role::Tool,
                vec![Part::ToolResult(ToolResult {
                    call_id: "call_0".into(),
                    name: String::new(),
                    output: r#"{"temp":21}"#.into(),
                    is_error: false,
                })],
            ),
            user("Thanks"),
        ]);
        let (body, _) = build(req);
        assert_eq!(
            body["contents"],
            json!([
                { "role": "user", "parts": [{ "text": "Weather?" }] },
                { "role": "model", "parts": [
                    { "functionCall": { "name": "weather", "args": { "city": "Paris" } }, "thoughtSignature": "c2ln" }
                ] },
                { "role": "user", "parts": [
                    { "functionResponse": { "name": "weather", "response": { "result": { "temp": 21 } } } },
                    { "text": "Thanks" }
                ] },
            ])
        );
    }

    #[test]
    fn trailing_signature_joins_the_text_and_thoughts_keep_theirs() {
        let thought = Part::Reasoning(ReasoningPart { text: "hmm".into(), signature: Some("t".into()), redacted: None });
        let req = request(vec![
            user("Q"),
            message(Role::Assistant, vec![thought, Part::Text("A".into()), signature_only("s")]),
        ]);
        let (body, _) = build(req);
        assert_eq!(
            body["contents"][1]["parts"],
            json!([
                { "text": "hmm", "thought": true, "thoughtSignature": "t" },
                { "text": "A", "thoughtSignature": "s" },
            ])
        );
    }

    #[test]
    fn error_results_and_plain_text_outputs() {
        let result = |output: &str, is_error| {
            Part::ToolResult(ToolResult { call_id: "c".into(), name: "f".into(), output: output.into(), is_error })
        };
        let req = request(vec![message(Role::Tool, vec![result("not json", false), result("boom", true)])]);
        let (body, _) = build(req);
        assert_eq!(
            body["contents"][0]["parts"],
            json!([
                { "functionResponse": { "name": "f", "response": { "result": "not json" } } },
                { "functionResponse": { "name": "f", "response": { "error": "boom" } } },
            ])
        );
    }

    #[test]
    fn tools_choice_and_warnings() {
        let mut req = request(vec![user("Hi")]);
        req.tools = vec![ToolDefinition {
            name: "weather".into(),
            description: "Weather in a city".into(),
            parameters: r#"{"type":"object","properties":{"city":{"type":"string"}},"additionalProperties":false}"#.into(),
        }];
        req.tool_choice = Some(ToolChoice::Named("weather".into()));
        req.parallel_tool_calls = Some(false);
        let (body, warnings) = build(req);
        let declaration = &body["tools"][0]["functionDeclarations"][0];
        assert_eq!(declaration["name"], "weather");
        assert_eq!(declaration["parametersJsonSchema"]["additionalProperties"], false);
        assert_eq!(
            body["toolConfig"],
            json!({ "functionCallingConfig": { "mode": "ANY", "allowedFunctionNames": ["weather"] } })
        );
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].kind, WarningKind::UnsupportedSetting);
        assert_eq!(warnings[0].setting.as_deref(), Some("parallel-tool-calls"));
    }

    #[test]
    fn reasoning_effort_becomes_a_budget() {
        let settings = |effort, budget| ReasoningSettings { effort, budget_tokens: budget, include_thoughts: Some(true) };
        let mut req = request(vec![user("Hi")]);
        req.reasoning = Some(settings(Some(ReasoningEffort::Low), None));
        let (body, warnings) = build(req);
        assert!(warnings.is_empty());
        assert_eq!(
            body["generationConfig"]["thinkingConfig"],
            json!({ "thinkingBudget": 1024, "includeThoughts": true })
        );

        let mut req = request(vec![user("Hi")]);
        req.reasoning = Some(settings(Some(ReasoningEffort::High), Some(500)));
        let (body, warnings) = build(req);
        assert_eq!(body["generationConfig"]["thinkingConfig"]["thinkingBudget"], 500);
        assert_eq!(warnings[0].setting.as_deref(), Some("reasoning.effort"));

        assert_eq!(effort_budget(ReasoningEffort::Minimal, "gemini-2.5-flash"), 0);
        assert_eq!(effort_budget(ReasoningEffort::Minimal, "gemini-2.5-pro"), 128);
    }

    #[test]
    fn json_output_with_schema() {
        let mut req = request(vec![user("Hi")]);
        req.response_format = Some(ResponseFormat::Json(JsonFormat {
            schema: Some(r#"{"type":"object"}"#.into()),
            name: Some("answer".into()),
            description: Some("The answer".into()),
        }));
        let (body, warnings) = build(req);
        assert!(warnings.is_empty());
        assert_eq!(body["generationConfig"]["responseMimeType"], "application/json");
        assert_eq!(
            body["generationConfig"]["responseJsonSchema"],
            json!({ "type": "object", "description": "The answer" })
        );
    }

    #[test]
    fn settings_changed_to_fit_are_warned_about() {
        let mut req = request(vec![user("Hi")]);
        req.sampling.stop_sequences = (0..7).map(|i| i.to_string()).collect();
        req.sampling.seed = Some(1 << 40);
        let (body, warnings) = build(req);
        assert_eq!(body["generationConfig"]["stopSequences"].as_array().map(Vec::len), Some(5));
        assert!(body["generationConfig"].get("seed").is_none());
        let settings: Vec<_> = warnings.iter().filter_map(|w| w.setting.as_deref()).collect();
        assert_eq!(settings, ["stop-sequences", "seed"]);
    }

    #[test]
    fn files_inline_and_by_reference() {
        let file = |source| Part::File(FilePart { media_type: "image/png".into(), source, filename: None });
        let req = request(vec![message(
            Role::User,
            vec![
                file(FileSource::Bytes(vec![1, 2, 3])),
                file(FileSource::Url("data:image/jpeg;base64,AAAA".into())),
                file(FileSource::Url("https://generativelanguage.googleapis.com/v1beta/files/abc".into())),
            ],
        )]);
        let (body, _) = build(req);
        assert_eq!(
            body["contents"][0]["parts"],
            json!([
                { "inlineData": { "mimeType": "image/png", "data": "AQID" } },
                { "inlineData": { "mimeType": "image/jpeg", "data": "AAAA" } },
                { "fileData": { "mimeType": "image/png", "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc" } },
            ])
        );
    }

    #[test]
    fn provider_options_merge_deeply() {
        let mut req = request(vec![user("Hi")]);
        req.sampling.temperature = Some(1.0);
        req.provider_options =
            Some(r#"{"gemini":{"generationConfig":{"candidateCount":1},"safetySettings":[]},"openai":{"x":1}}"#.into());
        let (body, warnings) = build(req);
        assert!(warnings.is_empty());
        assert_eq!(body["generationConfig"]["temperature"], 1.0);
        assert_eq!(body["generationConfig"]["candidateCount"], 1);
        assert_eq!(body["safetySettings"], json!([]));
        assert!(body.get("x").is_none());
    }

    #[test]
    fn a_request_with_nothing_to_send_is_refused() {
        let req = request(vec![message(Role::System, vec![Part::Text("Be brief.".into())])]);
        let error = build_body(req, "gemini-2.5-flash").expect_err("no contents");
        assert_eq!(error.kind, cordon_sdk::ErrorKind::InvalidRequest);
    }
}
