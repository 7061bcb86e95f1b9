//! Translation between the public types (`types`) and the generated WIT types
//! (`bindings::wit`): requests go in, events, results and errors come out.
//! Strings are moved, not copied.

use crate::bindings::wit;
use crate::types::*;

fn json_text(value: serde_json::Value) -> String {
    value.to_string()
}

/// A public request as the contract's request.
pub fn request(request: Request) -> wit::Request {
    wit::Request {
        model: request.model,
        messages: request.messages.into_iter().map(message).collect(),
        sampling: wit::Sampling {
            max_output_tokens: request.sampling.max_output_tokens,
            temperature: request.sampling.temperature,
            top_p: request.sampling.top_p,
            top_k: request.sampling.top_k,
            presence_penalty: request.sampling.presence_penalty,
            frequency_penalty: request.sampling.frequency_penalty,
            stop_sequences: request.sampling.stop_sequences,
            seed: request.sampling.seed,
        },
        reasoning: request.reasoning.map(|r| wit::ReasoningSettings {
            effort: r.effort.map(|e| match e {
                ReasoningEffort::Minimal => wit::ReasoningEffort::Minimal,
                ReasoningEffort::Low => wit::ReasoningEffort::Low,
                ReasoningEffort::Medium => wit::ReasoningEffort::Medium,
                ReasoningEffort::High => wit::ReasoningEffort::High,
            }),
            budget_tokens: r.budget_tokens,
            include_thoughts: r.include_thoughts,
        }),
        response_format: request.response_format.map(|f| match f {
            ResponseFormat::Text => wit::ResponseFormat::Text,
            ResponseFormat::Json { schema, name, description } => {
                wit::ResponseFormat::Json(wit::JsonFormat { schema: schema.map(json_text), name, description })
            }
        }),
        tools: request
            .tools
            .into_iter()
            .map(|t| wit::ToolDefinition { name: t.name, description: t.description, parameters: json_text(t.parameters) })
            .collect(),
        tool_choice: request.tool_choice.map(|c| match c {
            ToolChoice::Auto => wit::ToolChoice::Auto,
            ToolChoice::None => wit::ToolChoice::None,
            ToolChoice::Required => wit::ToolChoice::Required,
            ToolChoice::Named(name) => wit::ToolChoice::Named(name),
        }),
        parallel_tool_calls: request.parallel_tool_calls,
        provider_options: request.provider_options.map(json_text),
    }
}

fn message(message: Message) -> wit::Message {
    wit::Message {
        role: match message.role {
            Role::System => wit::Role::System,
            Role::User => wit::Role::User,
            Role::Assistant => wit::Role::Assistant,
            Role::Tool => wit::Role::Tool,
        },
        parts: message.parts.into_iter().map(part).collect(),
    }
}

fn part(part: Part) -> wit::Part {
    match part {
        Part::Text { text } => wit::Part::Text(text),
        Part::File(f) => wit::Part::File(wit::FilePart {
            media_type: f.media_type,
            source: match f.source {
                FileSource::Bytes(b) => wit::FileSource::Bytes(b),
                FileSource::Url(u) => wit::FileSource::Url(u),
            },
            filename: f.filename,
        }),
        Part::Reasoning(r) => wit::Part::Reasoning(wit::ReasoningPart { text: r.text, signature: r.signature, redacted: r.redacted }),
        Part::ToolCall(c) => wit::Part::ToolCall(wit::ToolCall { id: c.id, name: c.name, arguments: c.arguments }),
        Part::ToolResult(r) => wit::Part::ToolResult(wit::ToolResult {
            call_id: r.call_id,
            name: r.name,
            output: r.output,
            is_error: r.is_error,
        }),
    }
}

/// A contract warning as a public one.
pub fn warning(w: wit::Warning) -> Warning {
    Warning {
        kind: match w.kind {
            wit::WarningKind::UnsupportedSetting => WarningKind::UnsupportedSetting,
            wit::WarningKind::UnsupportedTool => WarningKind::UnsupportedTool,
            wit::WarningKind::Compatibility => WarningKind::Compatibility,
            wit::WarningKind::Other => WarningKind::Other,
        },
        setting: w.setting,
        message: w.message,
    }
}

/// Contract usage as public usage.
pub fn usage(u: wit::Usage) -> Usage {
    Usage {
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        cache_read_tokens: u.cache_read_tokens,
        cache_write_tokens: u.cache_write_tokens,
        reasoning_tokens: u.reasoning_tokens,
        raw: u.raw.and_then(|text| serde_json::from_str(&text).ok()),
        cost_micro_usd: None,
    }
}

/// A contract finish as a public one.
pub fn finish(f: wit::Finish) -> Finish {
    Finish {
        reason: match f.reason {
            wit::FinishReason::Stop => FinishReason::Stop,
            wit::FinishReason::Length => FinishReason::Length,
            wit::FinishReason::ContentFilter => FinishReason::ContentFilter,
            wit::FinishReason::ToolCalls => FinishReason::ToolCalls,
            wit::FinishReason::Error => FinishReason::Error,
            wit::FinishReason::Other => FinishReason::Other,
        },
        raw: f.raw,
    }
}

/// A contract error as a public one.
pub fn error(e: wit::ProviderError) -> TurnError {
    use wit::ErrorKind as K;
    TurnError {
        kind: match e.kind {
            K::Auth => ErrorKind::Auth,
            K::Permission => ErrorKind::Permission,
            K::ModelNotFound => ErrorKind::ModelNotFound,
            K::InvalidRequest => ErrorKind::InvalidRequest,
            K::ContextLengthExceeded => ErrorKind::ContextLengthExceeded,
            K::ContentFilter => ErrorKind::ContentFilter,
            K::RateLimited => ErrorKind::RateLimited,
            K::Quota => ErrorKind::Quota,
            K::Overloaded => ErrorKind::Overloaded,
            K::Server => ErrorKind::Server,
            K::Timeout => ErrorKind::Timeout,
            K::Network => ErrorKind::Network,
            K::StreamProtocol => ErrorKind::StreamProtocol,
            K::Config => ErrorKind::Config,
            K::Denied => ErrorKind::Denied,
            K::LimitExceeded => ErrorKind::LimitExceeded,
            K::Other => ErrorKind::Other,
        },
        message: e.message,
        status: e.status,
        retryable: e.retryable,
        retry_after_ms: e.retry_after_ms,
        provider_code: e.provider_code,
        body_excerpt: e.body_excerpt,
        output_streamed: e.output_streamed,
    }
}

/// A contract event as a public one.
pub fn event(e: wit::Event) -> Event {
    match e {
        wit::Event::ResponseMetadata(m) => Event::ResponseMetadata { id: m.id, model: m.model, timestamp: m.timestamp },
        wit::Event::TextDelta(text) => Event::TextDelta { text },
        wit::Event::ReasoningDelta(r) => Event::ReasoningDelta { text: r.text, signature: r.signature, redacted: r.redacted },
        wit::Event::ToolCallStart(s) => Event::ToolCallStart { id: s.id, name: s.name },
        wit::Event::ToolCallDelta(d) => Event::ToolCallDelta { id: d.id, arguments: d.arguments },
        wit::Event::ToolCall(c) => Event::ToolCall(ToolCall { id: c.id, name: c.name, arguments: c.arguments }),
        wit::Event::Usage(u) => Event::Usage(usage(u)),
        wit::Event::Finish(f) => Event::Finish(finish(f)),
        wit::Event::Error(err) => Event::Error(error(err)),
        wit::Event::Raw(data) => Event::Raw { data },
    }
}

/// A guest's assembled content as public content parts.
pub fn content(parts: Vec<wit::ContentPart>) -> Vec<ContentPart> {
    parts
        .into_iter()
        .map(|p| match p {
            wit::ContentPart::Text(text) => ContentPart::Text { text },
            wit::ContentPart::Reasoning(r) => {
                ContentPart::Reasoning(ReasoningPart { text: r.text, signature: r.signature, redacted: r.redacted })
            }
            wit::ContentPart::ToolCall(c) => ContentPart::ToolCall(ToolCall { id: c.id, name: c.name, arguments: c.arguments }),
        })
        .collect()
}

/// The bytes an event carries (its text fields), for the output limits.
pub fn event_size(event: &wit::Event) -> u64 {
    let len = |s: &str| s.len() as u64;
    let opt = |s: &Option<String>| s.as_deref().map_or(0, len);
    let sum = |sizes: &[u64]| sizes.iter().fold(0u64, |total, size| total.saturating_add(*size));
    match event {
        wit::Event::ResponseMetadata(m) => sum(&[opt(&m.id), opt(&m.model)]),
        wit::Event::TextDelta(text) | wit::Event::Raw(text) => len(text),
        wit::Event::ReasoningDelta(r) => sum(&[len(&r.text), opt(&r.signature), opt(&r.redacted)]),
        wit::Event::ToolCallStart(s) => sum(&[len(&s.id), len(&s.name)]),
        wit::Event::ToolCallDelta(d) => sum(&[len(&d.id), len(&d.arguments)]),
        wit::Event::ToolCall(c) => sum(&[len(&c.id), len(&c.name), len(&c.arguments)]),
        wit::Event::Usage(u) => opt(&u.raw),
        wit::Event::Finish(f) => opt(&f.raw),
        wit::Event::Error(e) => sum(&[len(&e.message), opt(&e.body_excerpt), opt(&e.provider_code)]),
    }
}
