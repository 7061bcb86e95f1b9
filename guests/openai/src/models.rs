//! `list-models` and `health` (contract 0.2.0): `GET {base}/models` (with
//! Azure's `api-version` when the options give one), OpenAI's list
//! (`{"data": [{"id": ...}]}`), with the preset's extra headers; the health
//! probe is the same request.

use cordon_sdk::models::{self, ModelPage};
use cordon_sdk::settings::{self, API_KEY_SECRET};
use cordon_sdk::{Header, NativeRequest, ProviderError, State};

use crate::Settings;

/// The models request.
pub fn request(state: &State) -> Result<Option<NativeRequest>, ProviderError> {
    let kept: Settings = settings::load(state)?;
    let mut native = models::get_json(kept.quirks.models_url(&kept.base_url), API_KEY_SECRET);
    native.http.headers.extend(kept.quirks.headers.iter().map(|(name, value)| Header { name: name.clone(), value: value.clone() }));
    Ok(Some(native))
}

/// One page of the answer (OpenAI's list has one).
pub fn parse(body: &[u8]) -> Result<ModelPage, ProviderError> {
    models::parse_openai_models(body)
}
