//! `list-models` and `health` (contract 0.2.0): `GET {base}/v1beta/models`,
//! Google's pages (`{"models": [{"name": "models/...", "inputTokenLimit",
//! "outputTokenLimit", "supportedGenerationMethods", "thinking"}],
//! "nextPageToken"}`); only models that generate content are listed. The
//! health probe asks for a one-model page.

use cordon_sdk::models::{self, Modality, ModelInfo, ModelPage};
use cordon_sdk::settings::{self, API_KEY_SECRET, Upstream};
use cordon_sdk::{NativeRequest, ProviderError, State};
use serde::Deserialize;

use crate::{API_VERSION, ends_in_api_version};

/// Models per page (Google's maximum).
const PAGE_SIZE: u32 = 1000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    #[serde(default)]
    models: Vec<Model>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Model {
    name: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    input_token_limit: Option<u32>,
    #[serde(default)]
    output_token_limit: Option<u32>,
    #[serde(default)]
    supported_generation_methods: Vec<String>,
    #[serde(default)]
    thinking: Option<bool>,
}

fn page_request(state: &State, size: u32, token: Option<&str>) -> Result<NativeRequest, ProviderError> {
    let kept: Upstream = settings::load(state)?;
    let root = if ends_in_api_version(&kept.base_url) { kept.base_url } else { format!("{}/{API_VERSION}", kept.base_url) };
    let token = token.map(|token| format!("&pageToken={}", cordon_sdk::settings::percent_encoded(token))).unwrap_or_default();
    Ok(models::get_json(format!("{root}/models?pageSize={size}{token}"), API_KEY_SECRET))
}

/// The first models request.
pub fn request(state: &State) -> Result<Option<NativeRequest>, ProviderError> {
    page_request(state, PAGE_SIZE, None).map(Some)
}

/// The health probe: one model's page.
pub fn probe(state: &State) -> Result<Option<NativeRequest>, ProviderError> {
    page_request(state, 1, None).map(Some)
}

/// One page of the answer, and the request for the next page.
pub fn parse(state: &State, body: &[u8]) -> Result<ModelPage, ProviderError> {
    let page: Page = models::parse_json(body, "models")?;
    let next = match page.next_page_token.as_deref() {
        Some(token) if !token.is_empty() => Some(page_request(state, PAGE_SIZE, Some(token))?),
        _ => None,
    };
    let models = page
        .models
        .into_iter()
        .filter(|model| model.supported_generation_methods.iter().any(|method| method == "generateContent"))
        .map(|model| ModelInfo {
            display_name: model.display_name,
            context_window: model.input_token_limit,
            max_output_tokens: model.output_token_limit,
            input_modalities: vec![Modality::Text, Modality::Image, Modality::Audio, Modality::Video, Modality::Document],
            output_modalities: vec![Modality::Text],
            reasoning: model.thinking,
            ..ModelInfo::with_id(model.name.strip_prefix("models/").unwrap_or(&model.name))
        })
        .collect();
    Ok(ModelPage { models, next })
}
