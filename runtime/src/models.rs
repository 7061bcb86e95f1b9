//! What a provider says of its upstream (contract 0.2.0): the models it lists
//! and its health, in the host's types (serialisable for the CLI and the
//! gateway), converted from what the guest returned.

use serde::Serialize;

use crate::bindings::v0_2::exports::cordon::provider::provider as guest;

/// A kind of content a model takes or produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    /// Text.
    Text,
    /// Images.
    Image,
    /// Audio.
    Audio,
    /// Video.
    Video,
    /// Documents (PDF and other files).
    Document,
}

/// What the upstream says of one model; `None` is unknown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInfo {
    /// The id a request names it by.
    pub id: String,
    /// A human-readable name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Input tokens it takes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u32>,
    /// Tokens it writes in one answer at most.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// What it takes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub input_modalities: Vec<Modality>,
    /// What it produces.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub output_modalities: Vec<Modality>,
    /// Whether it takes tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<bool>,
    /// Whether it reasons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<bool>,
}

/// How the upstream is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// It answered as expected.
    Ok,
    /// It answers, but limits or fails some requests.
    Degraded,
    /// It cannot serve turns.
    Down,
}

impl HealthStatus {
    /// `ok`, `degraded` or `down`.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Ok => "ok",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Down => "down",
        }
    }
}

/// A provider's answer to `health`, and how long it took.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    /// The verdict.
    pub status: HealthStatus,
    /// Why, in the provider's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How long the probe took, in milliseconds.
    pub took_ms: u64,
}

impl From<guest::ModelInfo> for ModelInfo {
    fn from(model: guest::ModelInfo) -> Self {
        let modalities = |list: Vec<guest::Modality>| list.into_iter().map(Modality::from).collect();
        ModelInfo {
            id: model.id,
            display_name: model.display_name,
            context_window: model.context_window,
            max_output_tokens: model.max_output_tokens,
            input_modalities: modalities(model.input_modalities),
            output_modalities: modalities(model.output_modalities),
            tools: model.tools,
            reasoning: model.reasoning,
        }
    }
}

impl From<guest::Modality> for Modality {
    fn from(modality: guest::Modality) -> Self {
        match modality {
            guest::Modality::Text => Modality::Text,
            guest::Modality::Image => Modality::Image,
            guest::Modality::Audio => Modality::Audio,
            guest::Modality::Video => Modality::Video,
            guest::Modality::Document => Modality::Document,
        }
    }
}

impl From<guest::HealthStatus> for HealthStatus {
    fn from(status: guest::HealthStatus) -> Self {
        match status {
            guest::HealthStatus::Ok => HealthStatus::Ok,
            guest::HealthStatus::Degraded => HealthStatus::Degraded,
            guest::HealthStatus::Down => HealthStatus::Down,
        }
    }
}
