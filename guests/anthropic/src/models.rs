//! `list-models` and `health` (contract 0.2.0): `GET {base}/v1/models`,
//! Anthropic's pages (`{"data": [{"id", "display_name", ...}], "has_more",
//! "last_id"}`, the next one asked for with `after_id`); the health probe asks
//! for a one-model page.

use cordon_sdk::models::{self, ModelInfo, ModelPage};
use cordon_sdk::settings::{self, API_KEY_SECRET, Upstream};
use cordon_sdk::{Header, NativeRequest, ProviderError, State};
use serde::Deserialize;

/// The API version header every Anthropic request carries.
const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Models per page (Anthropic's maximum).
const PAGE_SIZE: u32 = 1000;

#[derive(Deserialize)]
struct Page {
    data: Vec<Model>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    last_id: Option<String>,
}

#[derive(Deserialize)]
struct Model {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
}

/// The request for the page of `limit` models after `after`.
fn page_request(state: &State, limit: u32, after: Option<&str>) -> Result<NativeRequest, ProviderError> {
    let kept: Upstream = settings::load(state)?;
    let after = after.map(|id| format!("&after_id={}", settings::percent_encoded(id))).unwrap_or_default();
    let mut native = models::get_json(format!("{}/v1/models?limit={limit}{after}", kept.base_url), API_KEY_SECRET);
    native.http.headers.push(Header { name: "anthropic-version".into(), value: ANTHROPIC_VERSION.into() });
    Ok(native)
}

/// The first models request.
pub fn request(state: &State) -> Result<Option<NativeRequest>, ProviderError> {
    page_request(state, PAGE_SIZE, None).map(Some)
}

/// The health probe: one model's page.
pub fn probe(state: &State) -> Result<Option<NativeRequest>, ProviderError> {
    page_request(state, 1, None).map(Some)
}

/// One page of the answer, and the request for the next while `has_more`.
pub fn parse(state: &State, body: &[u8]) -> Result<ModelPage, ProviderError> {
    let page: Page = models::parse_json(body, "models")?;
    let next = match (page.has_more, page.last_id.as_deref()) {
        (true, Some(last)) => Some(page_request(state, PAGE_SIZE, Some(last))?),
        _ => None,
    };
    let models = page
        .data
        .into_iter()
        .map(|model| ModelInfo { display_name: model.display_name, ..ModelInfo::with_id(model.id) })
        .collect();
    Ok(ModelPage { models, next })
}

