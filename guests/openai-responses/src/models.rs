//! `list-models` and `health` (contract 0.2.0): `GET {base}/models`, OpenAI's
//! list (`{"data": [{"id": ...}]}`); the health probe is the same request.

use cordon_sdk::models::{self, ModelPage};
use cordon_sdk::settings::{self, API_KEY_SECRET, Upstream};
use cordon_sdk::{NativeRequest, ProviderError, State};

/// The models request.
pub fn request(state: &State) -> Result<Option<NativeRequest>, ProviderError> {
    let kept: Upstream = settings::load(state)?;
    Ok(Some(models::get_json(format!("{}/models", kept.base_url), API_KEY_SECRET)))
}

/// One page of the answer (OpenAI's list has one).
pub fn parse(body: &[u8]) -> Result<ModelPage, ProviderError> {
    models::parse_openai_models(body)
}
