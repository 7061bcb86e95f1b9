//! Translating a normalized request into a Converse API body: `system` text
//! blocks, alternating `user`/`assistant` messages of content blocks (text,
//! images and documents inline or from S3, earlier reasoning with its signature
//! or redacted data, `toolUse` and `toolResult`), `inferenceConfig`,
//! `toolConfig`, and reasoning in `additionalModelRequestFields` in the form
//! the model's family takes (Claude: `thinking`; Nova: `reasoningConfig`;
//! OpenAI's open models: `reasoning_effort`). Settings the API does not take
//! become warnings. A request's provider options under `"bedrock"` are merged
//! into the body (their `additionalModelRequestFields` into the provider's).

use base64::Engine as _;
use cordon_anthropic::request::{DEFAULT_MAX_TOKENS, thinking_budget};
use cordon_sdk::{
    FilePart, FileSource, Message, Part, ReasoningEffort, ReasoningSettings, Request, ResponseFormat, Role, Sampling,
    ToolChoice, ToolDefinition, Warning, WarningKind,
};
use serde_json::{Map, Value, json};

/// The smallest thinking budget Claude takes.
const MIN_THINKING_BUDGET: u32 = 1024;

/// The model families whose reasoning switch differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Anthropic's Claude (`anthropic.claude-*`, `us.anthropic.claude-*`, their ARNs).
    Claude,
    /// Amazon Nova.
    Nova,
    /// OpenAI's open-weight models (`openai.gpt-oss-*`).
    OpenAi,
    /// Any other model, or an ARN that does not say.
    Other,
}

/// The family a model id (or an ARN naming one) belongs to.
pub fn family(model: &str) -> Family {
    let model = model.to_ascii_lowercase();
    if model.contains("anthropic.") {
        Family::Claude
    } else if model.contains("amazon.nova") {
        Family::Nova
    } else if model.contains("openai.") {
        Family::OpenAi
    } else {
        Family::Other
    }
}

fn warn(warnings: &mut Vec<Warning>, kind: WarningKind, setting: &str, message: &str) {
    warnings.push(Warning { kind, setting: Some(setting.into()), message: message.into() });
}

/// Build the JSON body for `model`. Returns the body and the warnings.
pub fn build_body(request: Request, model: &str) -> (Value, Vec<Warning>) {
    let mut warnings = Vec::new();
    let family = family(model);
    let mut body = Map::new();
    let mut fields = Map::new();

    let tool_config = tool_config(&request.tools, request.tool_choice.as_ref(), &mut warnings);
    if request.parallel_tool_calls == Some(false) {
        let message = "the Converse API has no switch for parallel tool calls; it was not sent";
        warn(&mut warnings, WarningKind::UnsupportedSetting, "parallel-tool-calls", message);
    }
    let (system, messages) = messages(request.messages, tool_config.is_some(), &mut warnings);
    if !system.is_empty() {
        body.insert("system".into(), system.into());
    }
    body.insert("messages".into(), messages.into());

    let mut inference = inference_config(&request.sampling, family, &mut fields, &mut warnings);
    reasoning(request.reasoning, family, &mut inference, &mut fields, &mut warnings);
    if !inference.is_empty() {
        body.insert("inferenceConfig".into(), inference.into());
    }
    if let Some(tool_config) = tool_config {
        body.insert("toolConfig".into(), tool_config);
    }
    if let Some(ResponseFormat::Json(_)) = request.response_format {
        let message = "the Converse API has no JSON mode; ask for JSON in the prompt or use a tool";
        warn(&mut warnings, WarningKind::UnsupportedSetting, "response-format", message);
    }
    merge_provider_options(request.provider_options.as_deref(), &mut body, &mut fields, &mut warnings);
    if !fields.is_empty() {
        body.insert("additionalModelRequestFields".into(), fields.into());
    }
    (Value::Object(body), warnings)
}

/// `inferenceConfig` (maxTokens, temperature, topP, stopSequences); top-k goes
/// to Claude's own fields, other settings become warnings.
fn inference_config(
    sampling: &Sampling,
    family: Family,
    fields: &mut Map<String, Value>,
    warnings: &mut Vec<Warning>,
) -> Map<String, Value> {
    let mut inference = Map::new();
    if let Some(max) = sampling.max_output_tokens {
        inference.insert("maxTokens".into(), max.into());
    }
    if let Some(temperature) = sampling.temperature {
        inference.insert("temperature".into(), json!(temperature));
    }
    if let Some(top_p) = sampling.top_p {
        inference.insert("topP".into(), json!(top_p));
    }
    if !sampling.stop_sequences.is_empty() {
        inference.insert("stopSequences".into(), sampling.stop_sequences.clone().into());
    }
    if let Some(top_k) = sampling.top_k {
        if family == Family::Claude {
            fields.insert("top_k".into(), top_k.into());
        } else {
            let message = "the Converse API takes top-k only for Claude models; it was not sent";
            warn(warnings, WarningKind::UnsupportedSetting, "top-k", message);
        }
    }
    let unsupported = "the Converse API does not take it; it was not sent";
    for (setting, given) in [
        ("seed", sampling.seed.is_some()),
        ("presence-penalty", sampling.presence_penalty.is_some()),
        ("frequency-penalty", sampling.frequency_penalty.is_some()),
    ] {
        if given {
            warn(warnings, WarningKind::UnsupportedSetting, setting, unsupported);
        }
    }
    inference
}

/// The reasoning switch for the model's family, in `fields`.
fn reasoning(
    settings: Option<ReasoningSettings>,
    family: Family,
    inference: &mut Map<String, Value>,
    fields: &mut Map<String, Value>,
    warnings: &mut Vec<Warning>,
) {
    let Some(settings) = settings else { return };
    if settings.effort.is_none() && settings.budget_tokens.is_none() {
        return;
    }
    let effort_name = |effort: ReasoningEffort| match effort {
        ReasoningEffort::Minimal | ReasoningEffort::Low => "low",
        ReasoningEffort::Medium => "medium",
        ReasoningEffort::High => "high",
    };
    match family {
        Family::Claude => {
            let budget = settings.budget_tokens.or(settings.effort.map(thinking_budget)).unwrap_or(MIN_THINKING_BUDGET);
            let budget = budget.max(MIN_THINKING_BUDGET);
            let asked = inference.get("maxTokens").and_then(Value::as_u64);
            if asked.is_none_or(|max| max <= u64::from(budget)) {
                let raised = budget.saturating_add(DEFAULT_MAX_TOKENS);
                if asked.is_some() {
                    let message = format!("raised to {raised}: it must exceed the thinking budget of {budget} tokens");
                    warn(warnings, WarningKind::Compatibility, "max-output-tokens", &message);
                }
                inference.insert("maxTokens".into(), raised.into());
            }
            fields.insert("thinking".into(), json!({ "type": "enabled", "budget_tokens": budget }));
            for (key, setting) in [("temperature", "temperature"), ("topP", "top-p")] {
                if inference.remove(key).is_some() {
                    let message = "Claude takes no sampling setting while it thinks; it was not sent";
                    warn(warnings, WarningKind::Compatibility, setting, message);
                }
            }
            if fields.remove("top_k").is_some() {
                let message = "Claude takes no sampling setting while it thinks; it was not sent";
                warn(warnings, WarningKind::Compatibility, "top-k", message);
            }
        }
        Family::Nova | Family::OpenAi => {
            let effort = settings.effort.map(effort_name).unwrap_or_else(|| {
                let message = "this model takes an effort level, not a token budget: medium effort was asked for";
                warn(warnings, WarningKind::Compatibility, "reasoning.budget-tokens", message);
                "medium"
            });
            if family == Family::Nova {
                fields.insert("reasoningConfig".into(), json!({ "type": "enabled", "maxReasoningEffort": effort }));
            } else {
                fields.insert("reasoning_effort".into(), effort.into());
            }
        }
        Family::Other => {
            let message = "this model's reasoning has no switch this provider knows; set it in the provider options' \
                           `additionalModelRequestFields` (under \"bedrock\")";
            warn(warnings, WarningKind::UnsupportedSetting, "reasoning", message);
        }
    }
}

/// `toolConfig` for the request's tools, or `None` when no tool may be called
/// (the Converse API has no `none` choice: the tools are left out).
fn tool_config(tools: &[ToolDefinition], choice: Option<&ToolChoice>, warnings: &mut Vec<Warning>) -> Option<Value> {
    if tools.is_empty() || matches!(choice, Some(ToolChoice::None)) {
        return None;
    }
    let specs: Vec<Value> = tools
        .iter()
        .map(|tool| {
            let schema = serde_json::from_str::<Value>(&tool.parameters).unwrap_or_else(|err| {
                let message = format!("tool `{}`'s parameters are not a JSON schema ({err}); an empty object was sent", tool.name);
                warn(warnings, WarningKind::Other, "tools", &message);
                json!({ "type": "object" })
            });
            let mut spec = json!({ "name": tool.name, "inputSchema": { "json": schema } });
            // The API refuses an empty description.
            if !tool.description.is_empty() {
                spec["description"] = tool.description.clone().into();
            }
            json!({ "toolSpec": spec })
        })
        .collect();
    let mut config = json!({ "tools": specs });
    // `auto` is the default: sent only when asked for something else, as some
    // models (Llama, ...) refuse any `toolChoice`.
    match choice {
        Some(ToolChoice::Required) => config["toolChoice"] = json!({ "any": {} }),
        Some(ToolChoice::Named(name)) => config["toolChoice"] = json!({ "tool": { "name": name } }),
        Some(ToolChoice::Auto | ToolChoice::None) | None => {}
    }
    Some(config)
}

/// The system blocks and the alternating user/assistant messages. Without a
/// `toolConfig` the API refuses tool blocks, so they are left out (with a warning).
fn messages(messages: Vec<Message>, with_tools: bool, warnings: &mut Vec<Warning>) -> (Vec<Value>, Vec<Value>) {
    let mut system = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let mut dropped_tool_blocks = false;
    for message in messages {
        let role = match message.role {
            Role::System => {
                system.extend(message.parts.into_iter().filter_map(|part| match part {
                    Part::Text(text) if !text.is_empty() => Some(json!({ "text": text })),
                    _ => None,
                }));
                continue;
            }
            Role::User | Role::Tool => "user",
            Role::Assistant => "assistant",
        };
        let mut blocks = Vec::new();
        for part in message.parts {
            if !with_tools && matches!(part, Part::ToolCall(_) | Part::ToolResult(_)) {
                dropped_tool_blocks = true;
                continue;
            }
            blocks.extend(block(part, role, warnings));
        }
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            // The API wants turns to alternate: consecutive ones of a role are joined.
            Some((last, content)) if *last == role => content.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    if dropped_tool_blocks {
        let message = "the conversation's tool calls and results were left out: the Converse API refuses them \
                       when the request offers no tools";
        warn(warnings, WarningKind::Compatibility, "tools", message);
    }
    let turns = turns.into_iter().map(|(role, content)| json!({ "role": role, "content": content })).collect();
    (system, turns)
}

/// The content block for one part of a `role` message, if it has one.
fn block(part: Part, role: &str, warnings: &mut Vec<Warning>) -> Option<Value> {
    Some(match part {
        // The API refuses blank text blocks.
        Part::Text(text) if text.is_empty() => return None,
        Part::Text(text) => json!({ "text": text }),
        Part::File(file) => return file_block(file, warnings),
        // Reasoning goes back only as the assistant's own, unchanged.
        Part::Reasoning(_) if role != "assistant" => return None,
        Part::Reasoning(reasoning) => match (reasoning.redacted, reasoning.text.is_empty()) {
            (Some(data), _) => json!({ "reasoningContent": { "redactedContent": data } }),
            (None, true) => return None,
            (None, false) => {
                let mut text = json!({ "text": reasoning.text });
                if let Some(signature) = reasoning.signature {
                    text["signature"] = signature.into();
                }
                json!({ "reasoningContent": { "reasoningText": text } })
            }
        },
        Part::ToolCall(call) => {
            let input = serde_json::from_str::<Value>(&call.arguments).unwrap_or_else(|_| json!({}));
            json!({ "toolUse": { "toolUseId": call.id, "name": call.name, "input": input } })
        }
        Part::ToolResult(result) => {
            let mut block = json!({ "toolUseId": result.call_id, "content": [{ "text": result.output }] });
            if result.is_error {
                block["status"] = "error".into();
            }
            json!({ "toolResult": block })
        }
    })
}

/// The Converse image formats by media type.
const IMAGE_FORMATS: [(&str, &str); 5] =
    [("image/png", "png"), ("image/jpeg", "jpeg"), ("image/jpg", "jpeg"), ("image/gif", "gif"), ("image/webp", "webp")];

/// The Converse document formats by media type.
const DOCUMENT_FORMATS: [(&str, &str); 9] = [
    ("application/pdf", "pdf"),
    ("text/csv", "csv"),
    ("application/msword", "doc"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    ("application/vnd.ms-excel", "xls"),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ("text/html", "html"),
    ("text/plain", "txt"),
    ("text/markdown", "md"),
];

/// An `image` or `document` block: bytes inline (base64), a `data:` URL's
/// base64 as it is, an `s3://` URL as an S3 location. Other URLs cannot be
/// sent (the API does not fetch them): a warning.
fn file_block(file: FilePart, warnings: &mut Vec<Warning>) -> Option<Value> {
    let media_type = file.media_type.to_ascii_lowercase();
    let find = |table: &[(&str, &'static str)]| table.iter().find(|(t, _)| *t == media_type).map(|(_, f)| *f);
    let (kind, format) = match (find(&IMAGE_FORMATS), find(&DOCUMENT_FORMATS)) {
        (Some(format), _) => ("image", format),
        (None, Some(format)) => ("document", format),
        (None, None) => {
            let message = format!("a file of type {media_type} was left out: the Converse API takes images (png, jpeg, gif, webp) and documents (pdf, csv, doc(x), xls(x), html, txt, md)");
            warn(warnings, WarningKind::UnsupportedSetting, "messages", &message);
            return None;
        }
    };
    let source = match file.source {
        FileSource::Bytes(bytes) => json!({ "bytes": base64::engine::general_purpose::STANDARD.encode(bytes) }),
        FileSource::Url(url) if url.starts_with("s3://") => json!({ "s3Location": { "uri": url } }),
        FileSource::Url(url) => match data_url_base64(&url) {
            Some(data) => json!({ "bytes": data }),
            None => {
                let message = "a file given by URL was left out: the Converse API takes files inline or from S3 (s3://)";
                warn(warnings, WarningKind::UnsupportedSetting, "messages", message);
                return None;
            }
        },
    };
    let mut block = json!({ "format": format, "source": source });
    if kind == "document" {
        block["name"] = document_name(file.filename.as_deref()).into();
    }
    Some(json!({ kind: block }))
}

/// The base64 payload of a `data:<type>;base64,<payload>` URL.
fn data_url_base64(url: &str) -> Option<&str> {
    let (head, payload) = url.strip_prefix("data:")?.split_once(',')?;
    head.ends_with(";base64").then_some(payload)
}

/// A document's name as the API takes it (letters, digits, single spaces,
/// hyphens, parentheses, brackets): the file name without its extension.
fn document_name(filename: Option<&str>) -> String {
    let stem = filename.map(|name| name.rsplit_once('.').map_or(name, |(stem, _)| stem)).unwrap_or_default();
    let mut name = String::new();
    for c in stem.chars() {
        let c = if c.is_alphanumeric() || matches!(c, '-' | '(' | ')' | '[' | ']') { c } else { ' ' };
        if !(c == ' ' && (name.is_empty() || name.ends_with(' '))) {
            name.push(c);
        }
    }
    let name = name.trim_end();
    if name.is_empty() { "document".to_owned() } else { name.to_owned() }
}

/// Merge the request's options under `"bedrock"` into the body; their
/// `additionalModelRequestFields` join (and override) the provider's own.
fn merge_provider_options(
    options: Option<&str>,
    body: &mut Map<String, Value>,
    fields: &mut Map<String, Value>,
    warnings: &mut Vec<Warning>,
) {
    let Some(options) = options else { return };
    let ours = match serde_json::from_str::<Value>(options) {
        Ok(Value::Object(mut all)) => all.remove("bedrock"),
        _ => {
            let message = "provider options must be a JSON object keyed by provider name; ignored";
            warn(warnings, WarningKind::Other, "provider-options", message);
            return;
        }
    };
    let Some(Value::Object(mut ours)) = ours else { return };
    if let Some(Value::Object(extra)) = ours.remove("additionalModelRequestFields") {
        fields.extend(extra);
    }
    body.extend(ours);
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::{ToolCall, ToolResult};

    fn text(role: Role, text: &str) -> Message {
        Message { role, parts: vec![Part::Text(text.into())] }
    }

    fn settings(warnings: &[Warning]) -> Vec<&str> {
        warnings.iter().filter_map(|w| w.setting.as_deref()).collect()
    }

    fn weather_tool() -> ToolDefinition {
        ToolDefinition {
            name: "get_weather".into(),
            description: "Weather in a city".into(),
            parameters: r#"{"type":"object","properties":{"city":{"type":"string"}}}"#.into(),
        }
    }

    fn tool_round_trip() -> Vec<Message> {
        vec![
            text(Role::System, "Be brief."),
            text(Role::User, "Weather in Oslo?"),
            Message {
                role: Role::Assistant,
                parts: vec![
                    Part::Reasoning(cordon_sdk::ReasoningPart { text: "Use the tool.".into(), signature: Some("sig".into()), redacted: None }),
                    Part::ToolCall(ToolCall { id: "tooluse_1".into(), name: "get_weather".into(), arguments: r#"{"city":"Oslo"}"#.into() }),
                ],
            },
            Message {
                role: Role::Tool,
                parts: vec![Part::ToolResult(ToolResult { call_id: "tooluse_1".into(), name: "get_weather".into(), output: "3C".into(), is_error: true })],
            },
            text(Role::User, "And tomorrow?"),
        ]
    }

    #[test]
    fn converse_shape_with_tools_and_a_tool_round_trip() {
        let request = Request {
            messages: tool_round_trip(),
            sampling: Sampling { max_output_tokens: Some(300), temperature: Some(0.2), top_p: Some(0.9), stop_sequences: vec!["END".into()], seed: Some(1), ..Sampling::default() },
            tools: vec![weather_tool()],
            tool_choice: Some(ToolChoice::Named("get_weather".into())),
            ..Request::default()
        };
        let (body, warnings) = build_body(request, "amazon.nova-micro-v1:0");
        assert_eq!(body["system"], json!([{ "text": "Be brief." }]));
        let messages = body["messages"].as_array().expect("messages");
        assert_eq!(messages.iter().map(|m| m["role"].as_str().unwrap_or("")).collect::<Vec<_>>(), ["user", "assistant", "user"]);
        assert_eq!(messages[1]["content"][0]["reasoningContent"]["reasoningText"], json!({ "text": "Use the tool.", "signature": "sig" }));
        assert_eq!(messages[1]["content"][1]["toolUse"], json!({ "toolUseId": "tooluse_1", "name": "get_weather", "input": { "city": "Oslo" } }));
        assert_eq!(
            messages[2]["content"][0]["toolResult"],
            json!({ "toolUseId": "tooluse_1", "content": [{ "text": "3C" }], "status": "error" }),
            "the tool's answer and the next question share the user turn"
        );
        assert_eq!(messages[2]["content"][1]["text"], "And tomorrow?");
        assert_eq!(body["inferenceConfig"], json!({ "maxTokens": 300, "temperature": 0.2f32, "topP": 0.9f32, "stopSequences": ["END"] }));
        assert_eq!(body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]["properties"]["city"]["type"], "string");
        assert_eq!(body["toolConfig"]["tools"][0]["toolSpec"]["description"], "Weather in a city");
        assert_eq!(body["toolConfig"]["toolChoice"], json!({ "tool": { "name": "get_weather" } }));
        assert_eq!(settings(&warnings), ["seed"]);
        assert!(body.get("additionalModelRequestFields").is_none());
    }

    #[test]
    fn tool_choices() {
        let with = |choice| {
            let request = Request { messages: vec![text(Role::User, "hi")], tools: vec![weather_tool()], tool_choice: choice, ..Request::default() };
            build_body(request, "m").0
        };
        assert_eq!(with(Some(ToolChoice::Required))["toolConfig"]["toolChoice"], json!({ "any": {} }));
        assert!(with(Some(ToolChoice::Auto))["toolConfig"].get("toolChoice").is_none(), "auto is the default, left out");
        assert!(with(None)["toolConfig"]["tools"].is_array());
        assert!(with(Some(ToolChoice::None)).get("toolConfig").is_none(), "no tool may be called: none offered");
    }

    #[test]
    fn without_tools_the_conversation_s_tool_blocks_are_left_out_with_a_warning() {
        let (body, warnings) = build_body(Request { messages: tool_round_trip(), ..Request::default() }, "m");
        let text = body.to_string();
        assert!(!text.contains("toolUse") && !text.contains("toolResult"), "{text}");
        assert_eq!(settings(&warnings), ["tools"]);
        let roles: Vec<_> = body["messages"].as_array().expect("messages").iter().map(|m| m["role"].clone()).collect();
        assert_eq!(roles, [json!("user"), json!("assistant"), json!("user")]);
    }

    #[test]
    fn claude_thinks_with_a_budget_and_no_sampling() {
        let request = Request {
            messages: vec![text(Role::User, "hi")],
            sampling: Sampling { max_output_tokens: Some(1000), temperature: Some(0.5), top_k: Some(5), ..Sampling::default() },
            reasoning: Some(ReasoningSettings { effort: Some(ReasoningEffort::Medium), budget_tokens: None, include_thoughts: None }),
            ..Request::default()
        };
        let (body, warnings) = build_body(request, "us.anthropic.claude-sonnet-4-20250514-v1:0");
        let budget = thinking_budget(ReasoningEffort::Medium);
        assert_eq!(body["additionalModelRequestFields"], json!({ "thinking": { "type": "enabled", "budget_tokens": budget } }));
        assert_eq!(body["inferenceConfig"], json!({ "maxTokens": budget + DEFAULT_MAX_TOKENS }));
        let mut named = settings(&warnings);
        named.sort_unstable();
        assert_eq!(named, ["max-output-tokens", "temperature", "top-k"]);
    }

    #[test]
    fn claude_budget_is_kept_when_max_tokens_exceeds_it_and_top_k_goes_to_claude() {
        let request = Request {
            messages: vec![text(Role::User, "hi")],
            sampling: Sampling { max_output_tokens: Some(9000), top_k: Some(5), ..Sampling::default() },
            reasoning: Some(ReasoningSettings { effort: None, budget_tokens: Some(2000), include_thoughts: None }),
            ..Request::default()
        };
        let (body, _) = build_body(request, "arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-x");
        assert_eq!(body["inferenceConfig"]["maxTokens"], 9000);
        assert_eq!(body["additionalModelRequestFields"]["thinking"]["budget_tokens"], 2000);
        let (body, warnings) = build_body(
            Request { messages: vec![text(Role::User, "hi")], sampling: Sampling { top_k: Some(5), ..Sampling::default() }, ..Request::default() },
            "anthropic.claude-3-haiku",
        );
        assert_eq!(body["additionalModelRequestFields"], json!({ "top_k": 5 }));
        assert!(warnings.is_empty());
    }

    #[test]
    fn nova_openai_and_other_models_reason_their_own_way() {
        let ask = |model: &str, effort, budget| {
            let reasoning = Some(ReasoningSettings { effort, budget_tokens: budget, include_thoughts: None });
            build_body(Request { messages: vec![text(Role::User, "hi")], reasoning, ..Request::default() }, model)
        };
        let (body, warnings) = ask("us.amazon.nova-2-lite-v1:0", Some(ReasoningEffort::High), None);
        assert_eq!(body["additionalModelRequestFields"], json!({ "reasoningConfig": { "type": "enabled", "maxReasoningEffort": "high" } }));
        assert!(warnings.is_empty());
        let (body, warnings) = ask("amazon.nova-pro-v1:0", None, Some(5000));
        assert_eq!(body["additionalModelRequestFields"]["reasoningConfig"]["maxReasoningEffort"], "medium");
        assert_eq!(settings(&warnings), ["reasoning.budget-tokens"]);
        let (body, _) = ask("openai.gpt-oss-120b-1:0", Some(ReasoningEffort::Minimal), None);
        assert_eq!(body["additionalModelRequestFields"], json!({ "reasoning_effort": "low" }));
        let (body, warnings) = ask("meta.llama3-70b", Some(ReasoningEffort::Low), None);
        assert!(body.get("additionalModelRequestFields").is_none());
        assert_eq!(settings(&warnings), ["reasoning"]);
        let (body, warnings) = ask("anthropic.claude-x", None, None);
        assert!(body.get("additionalModelRequestFields").is_none() && warnings.is_empty(), "no effort, no budget: no thinking");
    }

    #[test]
    fn files_inline_from_data_urls_or_s3_and_others_are_warned() {
        let file = |media_type: &str, source, filename: Option<&str>| {
            Part::File(FilePart { media_type: media_type.into(), source, filename: filename.map(Into::into) })
        };
        let message = Message {
            role: Role::User,
            parts: vec![
                file("image/png", FileSource::Bytes(vec![1, 2, 3]), None),
                file("image/jpeg", FileSource::Url("data:image/jpeg;base64,/9j/4A==".into()), None),
                file("application/pdf", FileSource::Url("s3://bucket/report.pdf".into()), Some("Q3 report, final.pdf")),
                file("image/png", FileSource::Url("https://example.com/cat.png".into()), None),
                file("video/mp4", FileSource::Bytes(vec![0]), None),
            ],
        };
        let (body, warnings) = build_body(Request { messages: vec![message], ..Request::default() }, "m");
        let content = body["messages"][0]["content"].as_array().expect("content");
        assert_eq!(content.len(), 3);
        assert_eq!(content[0], json!({ "image": { "format": "png", "source": { "bytes": "AQID" } } }));
        assert_eq!(content[1]["image"]["source"]["bytes"], "/9j/4A==");
        assert_eq!(content[2], json!({ "document": { "format": "pdf", "name": "Q3 report final", "source": { "s3Location": { "uri": "s3://bucket/report.pdf" } } } }));
        assert_eq!(settings(&warnings), ["messages", "messages"]);
    }

    #[test]
    fn reasoning_goes_back_unchanged_and_only_from_the_assistant() {
        let reasoning = |text: &str, redacted: Option<&str>| {
            Part::Reasoning(cordon_sdk::ReasoningPart { text: text.into(), signature: None, redacted: redacted.map(Into::into) })
        };
        let messages = vec![
            Message { role: Role::User, parts: vec![reasoning("not mine", None), Part::Text("hi".into())] },
            Message { role: Role::Assistant, parts: vec![reasoning("", Some("b3BhcXVl")), reasoning("", None), Part::Text(String::new()), Part::Text("ok".into())] },
        ];
        let (body, _) = build_body(Request { messages, ..Request::default() }, "m");
        assert_eq!(body["messages"][0]["content"], json!([{ "text": "hi" }]));
        assert_eq!(body["messages"][1]["content"], json!([{ "reasoningContent": { "redactedContent": "b3BhcXVl" } }, { "text": "ok" }]));
    }

    #[test]
    fn provider_options_merge_into_the_body_and_the_model_fields() {
        let request = Request {
            messages: vec![text(Role::User, "hi")],
            sampling: Sampling { top_k: Some(3), ..Sampling::default() },
            provider_options: Some(
                json!({ "bedrock": { "guardrailConfig": { "guardrailIdentifier": "g" }, "additionalModelRequestFields": { "anthropic_beta": ["x"] } }, "openai": { "n": 2 } })
                    .to_string(),
            ),
            ..Request::default()
        };
        let (body, warnings) = build_body(request, "anthropic.claude-x");
        assert_eq!(body["guardrailConfig"]["guardrailIdentifier"], "g");
        assert_eq!(body["additionalModelRequestFields"], json!({ "top_k": 3, "anthropic_beta": ["x"] }));
        assert!(body.get("n").is_none());
        assert!(warnings.is_empty());
        let (_, warnings) = build_body(Request { provider_options: Some("[1]".into()), ..Request::default() }, "m");
        assert_eq!(settings(&warnings), ["provider-options"]);
    }

    #[test]
    fn families() {
        assert_eq!(family("us.anthropic.claude-sonnet-4-5-20250929-v1:0"), Family::Claude);
        assert_eq!(family("amazon.nova-micro-v1:0"), Family::Nova);
        assert_eq!(family("openai.gpt-oss-20b-1:0"), Family::OpenAi);
        assert_eq!(family("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2"), Family::Other);
    }
}
