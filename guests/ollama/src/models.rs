//! `list-models` and `health` (contract 0.2.0): `GET {base}/api/tags`, the
//! models pulled into the Ollama server (`{"models": [{"name", "model",
//! "details": {...}}]}`); the health probe is the same request.

use cordon_sdk::models::{self, ModelInfo, ModelPage};
use cordon_sdk::settings::{self, API_KEY_SECRET, Upstream};
use cordon_sdk::{NativeRequest, ProviderError, State};
use serde::Deserialize;

#[derive(Deserialize)]
struct Tags {
    models: Vec<Tag>,
}

#[derive(Deserialize)]
struct Tag {
    name: String,
}

/// The models request.
pub fn request(state: &State) -> Result<Option<NativeRequest>, ProviderError> {
    let kept: Upstream = settings::load(state)?;
    Ok(Some(models::get_json(format!("{}/api/tags", kept.base_url), API_KEY_SECRET)))
}

/// The answer (one page: the local server lists everything).
pub fn parse(body: &[u8]) -> Result<ModelPage, ProviderError> {
    let tags: Tags = models::parse_json(body, "tags")?;
    Ok(ModelPage { models: tags.models.into_iter().map(|tag| ModelInfo::with_id(tag.name)).collect(), next: None })
}
