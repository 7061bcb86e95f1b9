//! `list-models` and `health` (contract 0.2.0): `GET {base}/v1/models?endpoint=chat`,
//! Cohere's pages (`{"models": [{"name", "context_length", "features",
//! "endpoints"}], "next_page_token"}`); the health probe asks for one model.

use cordon_sdk::models::{self, ModelInfo, ModelPage};
use cordon_sdk::settings::{self, API_KEY_SECRET, Upstream};
use cordon_sdk::{NativeRequest, ProviderError, State};
use serde::Deserialize;

/// Models per page (Cohere's maximum).
const PAGE_SIZE: u32 = 1000;

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    models: Vec<Model>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct Model {
    name: String,
    #[serde(default)]
    context_length: Option<f64>,
    #[serde(default)]
    features: Option<Vec<String>>,
}

fn page_request(state: &State, size: u32, token: Option<&str>) -> Result<NativeRequest, ProviderError> {
    let kept: Upstream = settings::load(state)?;
    let token = token.map(|token| format!("&page_token={}", cordon_sdk::settings::percent_encoded(token))).unwrap_or_default();
    Ok(models::get_json(format!("{}/v1/models?endpoint=chat&page_size={size}{token}", kept.base_url), API_KEY_SECRET))
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
        .map(|model| ModelInfo {
            context_window: model.context_length.filter(|tokens| tokens.is_finite() && *tokens >= 0.0 && *tokens <= f64::from(u32::MAX)).map(|tokens| tokens as u32),
            tools: model.features.as_ref().map(|features| features.iter().any(|f| f == "tools" || f == "strict_tools")),
            ..ModelInfo::with_id(model.name)
        })
        .collect();
    Ok(ModelPage { models, next })
}
