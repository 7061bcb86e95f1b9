//! `list-models` and `health` (contract 0.2.0): the Model Garden's publisher
//! models, `GET {base}/v1beta1/publishers/{publisher}/models?pageSize=N`
//! (`ListPublisherModels`), answered in pages
//! `{"publisherModels": [{"name": "publishers/google/models/gemini-2.5-flash",
//! "versionId", "launchStage", ...}], "nextPageToken"}`. The catalogue is on the
//! same regional host as turns, read with the same `google` secret (it needs
//! the Model Garden's `aiplatform.publisherModels.list`, which the Vertex AI
//! User role has).
//!
//! The publisher listed is the `publisher` option's, Google's without one; only
//! the models this provider can stream from are kept (Gemini of Google's,
//! Claude of Anthropic's, not embeddings, Imagen or open models). The health
//! probe asks for a one-model page.

use cordon_sdk::models::{self, ModelInfo, ModelPage};
use cordon_sdk::{NativeRequest, ProviderError, State};
use serde::Deserialize;

use crate::publisher::Publisher;
use crate::{GOOGLE_SECRET, Settings};

/// The API version the Model Garden's catalogue is in.
const CATALOGUE_VERSION: &str = "v1beta1";

/// Models per page asked for.
const PAGE_SIZE: u32 = 1000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    #[serde(default)]
    publisher_models: Vec<PublisherModel>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct PublisherModel {
    name: String,
}

/// The publisher whose catalogue is read.
fn publisher(kept: &Settings) -> Publisher {
    kept.options.publisher.unwrap_or(Publisher::Google)
}

/// The family prefix of the models `publisher` serves that this provider streams from.
fn family(publisher: Publisher) -> &'static str {
    match publisher {
        Publisher::Google => "gemini-",
        Publisher::Anthropic => "claude-",
    }
}

/// The base URL without an API version it may end in.
fn unversioned(base_url: &str) -> &str {
    if cordon_gemini::ends_in_api_version(base_url) {
        base_url.rsplit_once('/').map_or(base_url, |(root, _)| root)
    } else {
        base_url
    }
}

fn page_request(state: &State, size: u32, token: Option<&str>) -> Result<NativeRequest, ProviderError> {
    let kept: Settings = cordon_sdk::settings::load(state)?;
    let token = token
        .map(|token| format!("&pageToken={}", cordon_sdk::settings::percent_encoded(token)))
        .unwrap_or_default();
    let url = format!(
        "{}/{CATALOGUE_VERSION}/publishers/{}/models?pageSize={size}{token}",
        unversioned(&kept.base_url),
        publisher(&kept).path_name()
    );
    Ok(models::get_json(url, GOOGLE_SECRET))
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
    let kept: Settings = cordon_sdk::settings::load(state)?;
    let page: Page = models::parse_json(body, "publisher models")?;
    let next = match page.next_page_token.as_deref() {
        Some(token) if !token.is_empty() => Some(page_request(state, PAGE_SIZE, Some(token))?),
        _ => None,
    };
    let family = family(publisher(&kept));
    let models = page
        .publisher_models
        .iter()
        .filter_map(|model| model.name.rsplit('/').next())
        .filter(|id| id.starts_with(family))
        .map(ModelInfo::with_id)
        .collect();
    Ok(ModelPage { models, next })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Vertex;
    use cordon_sdk::{Provider, ProviderConfig};

    fn state(base_url: &str, options: &str) -> State {
        Vertex::init(ProviderConfig { base_url: Some(base_url.into()), default_model: None, options: Some(options.into()) }).expect("init")
    }

    #[test]
    fn the_catalogue_is_read_at_v1beta1_of_the_publisher() {
        let google = state("https://us-central1-aiplatform.googleapis.com/v1", r#"{"project":"p","location":"us-central1"}"#);
        let request = request(&google).expect("request").expect("some");
        assert_eq!(request.http.url, "https://us-central1-aiplatform.googleapis.com/v1beta1/publishers/google/models?pageSize=1000");
        assert_eq!(request.http.secrets, [GOOGLE_SECRET]);
        let claude = state("http://127.0.0.1:9", r#"{"project":"p","location":"us-east5","publisher":"anthropic"}"#);
        let probe = probe(&claude).expect("probe").expect("some");
        assert_eq!(probe.http.url, "http://127.0.0.1:9/v1beta1/publishers/anthropic/models?pageSize=1");
    }

    #[test]
    fn only_the_publisher_s_streamable_family_is_kept_and_pages_followed() {
        let google = state("http://127.0.0.1:9", r#"{"project":"p","location":"global"}"#);
        let body = br#"{"publisherModels":[
            {"name":"publishers/google/models/gemini-2.5-flash","versionId":"001","launchStage":"GA"},
            {"name":"publishers/google/models/imagen-4.0-generate-001","versionId":"001"},
            {"name":"publishers/google/models/text-embedding-005"}],"nextPageToken":"CgZnZW1tYS0y"}"#;
        let page = parse(&google, body).expect("parses");
        let ids: Vec<_> = page.models.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["gemini-2.5-flash"]);
        assert_eq!(page.next.expect("a next page").http.url, "http://127.0.0.1:9/v1beta1/publishers/google/models?pageSize=1000&pageToken=CgZnZW1tYS0y");
        assert!(parse(&google, br#"{"publisherModels":"none"}"#).is_err());
    }
}
