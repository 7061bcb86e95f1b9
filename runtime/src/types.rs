//! The library's public data types: requests, stream events, results and turn
//! errors. They mirror the WIT contract but are plain Rust with serde, builders
//! and defaults; `convert` translates at the boundary. Events serialize as the
//! one-JSON-object-per-line format `cordon replay` prints.

use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Instructions to the model.
    System,
    /// The end user.
    User,
    /// The model.
    Assistant,
    /// Tool results.
    Tool,
}

/// Where a file's content is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileSource {
    /// Inline bytes.
    Bytes(Vec<u8>),
    /// A URL the upstream fetches.
    Url(String),
}

/// An image or other file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilePart {
    /// IANA media type.
    pub media_type: String,
    /// The content.
    pub source: FileSource,
    /// Optional file name.
    pub filename: Option<String>,
}

/// Reasoning, as produced by a model and sent back to it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReasoningPart {
    /// The reasoning text.
    pub text: String,
    /// The provider's signature over it.
    pub signature: Option<String>,
    /// Opaque redacted reasoning.
    pub redacted: Option<String>,
}

/// A complete tool call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Call id.
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments as JSON text.
    pub arguments: String,
}

/// A tool's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolResult {
    /// The call this answers.
    pub call_id: String,
    /// The tool's name.
    pub name: String,
    /// The output text.
    pub output: String,
    /// Whether it describes a failure.
    pub is_error: bool,
}

/// A piece of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Part {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// A file or image.
    File(FilePart),
    /// Reasoning.
    Reasoning(ReasoningPart),
    /// A tool call.
    ToolCall(ToolCall),
    /// A tool result.
    ToolResult(ToolResult),
}

/// A chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Author.
    pub role: Role,
    /// Content in order.
    pub parts: Vec<Part>,
}

impl Message {
    /// A message of one text part.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Message { role, parts: vec![Part::Text { text: text.into() }] }
    }

    /// A system message.
    pub fn system(text: impl Into<String>) -> Self {
        Self::text(Role::System, text)
    }

    /// A user message.
    pub fn user(text: impl Into<String>) -> Self {
        Self::text(Role::User, text)
    }

    /// An assistant message.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::text(Role::Assistant, text)
    }
}

/// Reasoning effort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReasoningEffort {
    /// Minimal.
    Minimal,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

/// Reasoning controls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReasoningSettings {
    /// Effort.
    pub effort: Option<ReasoningEffort>,
    /// Token budget.
    pub budget_tokens: Option<u32>,
    /// Whether to return reasoning text.
    pub include_thoughts: Option<bool>,
}

/// Output format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ResponseFormat {
    /// Free text.
    Text,
    /// JSON, optionally following a schema.
    Json {
        /// JSON schema.
        schema: Option<serde_json::Value>,
        /// Schema name.
        name: Option<String>,
        /// Schema description.
        description: Option<String>,
    },
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDefinition {
    /// Name.
    pub name: String,
    /// Description for the model.
    pub description: String,
    /// JSON schema of the arguments.
    pub parameters: serde_json::Value,
}

/// Tool choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tools.
    None,
    /// Some tool must be called.
    Required,
    /// This tool must be called.
    Named(String),
}

/// Sampling settings; `None` keeps the provider's default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// Maximum output tokens.
    pub max_output_tokens: Option<u32>,
    /// Temperature.
    pub temperature: Option<f32>,
    /// Nucleus sampling.
    pub top_p: Option<f32>,
    /// Top-k sampling.
    pub top_k: Option<u32>,
    /// Presence penalty.
    pub presence_penalty: Option<f32>,
    /// Frequency penalty.
    pub frequency_penalty: Option<f32>,
    /// Stop sequences.
    pub stop_sequences: Vec<String>,
    /// Seed.
    pub seed: Option<i64>,
}

/// A chat request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Model id; empty for the provider's default.
    pub model: String,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Sampling.
    pub sampling: Sampling,
    /// Reasoning controls.
    pub reasoning: Option<ReasoningSettings>,
    /// Output format.
    pub response_format: Option<ResponseFormat>,
    /// Tools.
    pub tools: Vec<ToolDefinition>,
    /// Tool choice.
    pub tool_choice: Option<ToolChoice>,
    /// Parallel tool calls.
    pub parallel_tool_calls: Option<bool>,
    /// Provider options keyed by provider name, e.g. `{"openai": {"user": "x"}}`.
    pub provider_options: Option<serde_json::Value>,
}

impl Request {
    /// A one-message request.
    pub fn user(model: impl Into<String>, text: impl Into<String>) -> Self {
        Request { model: model.into(), messages: vec![Message::user(text)], ..Request::default() }
    }
}

/// Kinds of warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WarningKind {
    /// A setting was ignored.
    UnsupportedSetting,
    /// A tool was ignored.
    UnsupportedTool,
    /// A setting was adapted.
    Compatibility,
    /// Other.
    Other,
}

/// A setting that was not honoured as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// What happened.
    pub kind: WarningKind,
    /// The setting.
    pub setting: Option<String>,
    /// Explanation.
    pub message: String,
}

/// Token usage; `None` where the provider did not say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// All input tokens, cached ones included.
    pub input_tokens: Option<u64>,
    /// All output tokens, reasoning included.
    pub output_tokens: Option<u64>,
    /// Input tokens read from cache.
    pub cache_read_tokens: Option<u64>,
    /// Input tokens written to cache.
    pub cache_write_tokens: Option<u64>,
    /// Output tokens spent reasoning.
    pub reasoning_tokens: Option<u64>,
    /// The provider's own usage object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<serde_json::Value>,
    /// What these tokens cost, in millionths of a US dollar, where a price is
    /// known (the gateway's price table); providers never set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_micro_usd: Option<u64>,
}

impl Usage {
    /// Add `other`'s counts to these, as a conversation's total over its turns.
    /// Counts only one side knows are kept; the numbers come from guests, so the
    /// sums saturate at `u64::MAX` rather than overflow.
    pub fn add(&mut self, other: &Usage) {
        let add = |total: &mut Option<u64>, more: Option<u64>| {
            if let Some(more) = more {
                *total = Some(total.unwrap_or(0).saturating_add(more));
            }
        };
        add(&mut self.input_tokens, other.input_tokens);
        add(&mut self.output_tokens, other.output_tokens);
        add(&mut self.cache_read_tokens, other.cache_read_tokens);
        add(&mut self.cache_write_tokens, other.cache_write_tokens);
        add(&mut self.reasoning_tokens, other.reasoning_tokens);
        add(&mut self.cost_micro_usd, other.cost_micro_usd);
    }
}

/// Unified finish reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FinishReason {
    /// Natural end.
    Stop,
    /// Token limit.
    Length,
    /// Filtered or refused.
    ContentFilter,
    /// Tool calls.
    ToolCalls,
    /// Failure.
    Error,
    /// Other.
    Other,
}

/// How generation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finish {
    /// Unified reason.
    pub reason: FinishReason,
    /// Provider's reason.
    pub raw: Option<String>,
}

/// Error classes: the contract's, plus the host's own (`trap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// 401.
    Auth,
    /// 403.
    Permission,
    /// 404.
    ModelNotFound,
    /// 400/413/422.
    InvalidRequest,
    /// Prompt too long.
    ContextLengthExceeded,
    /// Refused content.
    ContentFilter,
    /// 429.
    RateLimited,
    /// Quota exhausted.
    Quota,
    /// Overloaded.
    Overloaded,
    /// 5xx.
    Server,
    /// Timed out (upstream, or the turn's time limit).
    Timeout,
    /// Connection failure.
    Network,
    /// Malformed or cut stream.
    StreamProtocol,
    /// Bad provider configuration.
    Config,
    /// The host's policy refused a request.
    Denied,
    /// A sandbox limit was reached (memory, CPU, sizes).
    LimitExceeded,
    /// The guest trapped (crashed). The host is unharmed.
    Trap,
    /// Too many turns of this provider are running and queued; try again later.
    Busy,
    /// The guest broke the contract (e.g. tool-call arguments that are not JSON).
    ContractViolation,
    /// Other.
    Other,
}

/// Why a turn failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnError {
    /// Class.
    pub kind: ErrorKind,
    /// What happened, and the fix where there is one.
    pub message: String,
    /// HTTP status.
    pub status: Option<u16>,
    /// Whether a retry may succeed.
    pub retryable: bool,
    /// Wait before retrying, in milliseconds.
    pub retry_after_ms: Option<u64>,
    /// The provider's code.
    pub provider_code: Option<String>,
    /// Bounded excerpt of the raw body.
    pub body_excerpt: Option<String>,
    /// Whether output had already been streamed.
    pub output_streamed: bool,
}

impl TurnError {
    /// A host-made error.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        TurnError {
            kind,
            message: message.into(),
            status: None,
            retryable: false,
            retry_after_ms: None,
            provider_code: None,
            body_excerpt: None,
            output_streamed: false,
        }
    }
}

impl std::fmt::Display for TurnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = serde_json::to_value(self.kind).ok();
        let kind = kind.as_ref().and_then(|k| k.as_str()).unwrap_or("error");
        write!(f, "{kind}: {}", self.message)
    }
}

impl std::error::Error for TurnError {}

/// One stream event. Serializes as `{"type": "text-delta", "text": ...}` and so on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Event {
    /// The turn started; settings that were not honoured.
    StreamStart {
        /// Warnings from translating the request.
        warnings: Vec<Warning>,
        /// The component version serving the turn, as `name@version`.
        served_by: String,
    },
    /// Response metadata.
    ResponseMetadata {
        /// Response id.
        id: Option<String>,
        /// Model.
        model: Option<String>,
        /// Unix time.
        timestamp: Option<u64>,
    },
    /// Answer text.
    TextDelta {
        /// Fragment.
        text: String,
    },
    /// Reasoning text or signature.
    ReasoningDelta {
        /// Fragment.
        text: String,
        /// Signature.
        #[serde(skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
        /// Redacted data.
        #[serde(skip_serializing_if = "Option::is_none")]
        redacted: Option<String>,
    },
    /// A tool call starts.
    ToolCallStart {
        /// Id.
        id: String,
        /// Name.
        name: String,
    },
    /// A tool call's argument fragment.
    ToolCallDelta {
        /// Id.
        id: String,
        /// Fragment.
        arguments: String,
    },
    /// A complete tool call.
    ToolCall(ToolCall),
    /// Usage so far (the last one is the turn's).
    Usage(Usage),
    /// Generation ended.
    Finish(Finish),
    /// The turn failed; nothing follows.
    Error(TurnError),
    /// A raw chunk, for debugging.
    Raw {
        /// The chunk.
        data: String,
    },
}

impl Event {
    /// Whether the event is output the caller sees (text, reasoning, a tool
    /// call), as opposed to the turn's start, metadata, usage or end.
    pub fn is_output(&self) -> bool {
        matches!(self, Event::TextDelta { .. } | Event::ReasoningDelta { .. } | Event::ToolCallStart { .. } | Event::ToolCall(_))
    }
}

/// A piece of the assembled answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ContentPart {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// Reasoning.
    Reasoning(ReasoningPart),
    /// A tool call.
    ToolCall(ToolCall),
}

/// The assembled result of a turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnResult {
    /// Content in order.
    pub content: Vec<ContentPart>,
    /// Usage.
    pub usage: Usage,
    /// Finish.
    pub finish: Finish,
    /// Settings that were not honoured.
    pub warnings: Vec<Warning>,
    /// Response id.
    pub response_id: Option<String>,
    /// Model that answered.
    pub model: Option<String>,
    /// Provider metadata.
    pub provider_metadata: Option<serde_json::Value>,
    /// The component that served the turn, as `name@version`.
    pub served_by: String,
}

impl TurnResult {
    /// All answer text, concatenated.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|p| match p {
                ContentPart::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// All reasoning text, concatenated.
    pub fn reasoning(&self) -> String {
        self.content
            .iter()
            .filter_map(|p| match p {
                ContentPart::Reasoning(r) => Some(r.text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The tool calls, in order.
    pub fn tool_calls(&self) -> Vec<&ToolCall> {
        self.content
            .iter()
            .filter_map(|p| match p {
                ContentPart::ToolCall(c) => Some(c),
                _ => None,
            })
            .collect()
    }
}
