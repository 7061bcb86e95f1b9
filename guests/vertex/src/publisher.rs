//! Which model family a request goes to, and the Vertex AI URL for it:
//! `{base}/v1/projects/{project}/locations/{location}/publishers/{publisher}/models/{model}:{method}`.
//!
//! Google's models (`publishers/google`) stream with
//! `:streamGenerateContent?alt=sse`; Anthropic's (`publishers/anthropic`) with
//! `:streamRawPredict`. Without a `publisher` option, a model whose name starts
//! with `claude-` is Anthropic's and any other is Google's.

use cordon_sdk::{ErrorKind, ProviderError};
use serde::{Deserialize, Serialize};

use crate::options::Options;

/// The API version added to a base URL that does not end in one.
pub const API_VERSION: &str = "v1";

/// A model publisher on Vertex AI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Publisher {
    /// Gemini: the Gemini API's request and stream.
    Google,
    /// Claude: the Messages API's request and stream.
    Anthropic,
}

impl Publisher {
    /// The publisher an option names.
    pub fn named(name: &str) -> Result<Publisher, ProviderError> {
        match name {
            "google" => Ok(Publisher::Google),
            "anthropic" => Ok(Publisher::Anthropic),
            other => Err(ProviderError::config(format!(
                "`publisher` `{other}` is not one this provider speaks: use `google` (Gemini) or `anthropic` \
                 (Claude), or leave it out to pick it from the model name"
            ))),
        }
    }

    /// The publisher of `model`: Anthropic's for `claude-*`, Google's otherwise.
    pub fn for_model(model: &str) -> Publisher {
        if model.starts_with("claude-") { Publisher::Anthropic } else { Publisher::Google }
    }

    /// The publisher of a URL built by [`endpoint`], by its method.
    pub fn of_endpoint(url: &str) -> Publisher {
        if url.ends_with(Publisher::Anthropic.stream_method()) { Publisher::Anthropic } else { Publisher::Google }
    }

    /// The path segment after `publishers/`.
    pub fn path_name(self) -> &'static str {
        match self {
            Publisher::Google => "google",
            Publisher::Anthropic => "anthropic",
        }
    }

    /// The streaming method and its query.
    pub fn stream_method(self) -> &'static str {
        match self {
            Publisher::Google => "streamGenerateContent?alt=sse",
            Publisher::Anthropic => "streamRawPredict",
        }
    }
}

/// The Vertex AI host for `location`: `aiplatform.googleapis.com` for `global`,
/// `aiplatform.{us|eu}.rep.googleapis.com` for the multi-regions, and
/// `{location}-aiplatform.googleapis.com` for a region.
pub fn default_base_url(location: &str) -> String {
    match location {
        "global" => "https://aiplatform.googleapis.com".to_owned(),
        "us" | "eu" => format!("https://aiplatform.{location}.rep.googleapis.com"),
        region => format!("https://{region}-aiplatform.googleapis.com"),
    }
}

/// The model id as it goes in the URL path: a letter or digit, then letters,
/// digits, `.`, `-`, `_` and `@` (Claude's ids carry a version, e.g.
/// `claude-sonnet-4-5@20250929`).
pub fn model_id(model: &str) -> Result<&str, ProviderError> {
    let valid = model.starts_with(|c: char| c.is_ascii_alphanumeric())
        && model.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
    if valid {
        Ok(model)
    } else {
        Err(ProviderError::new(
            ErrorKind::InvalidRequest,
            format!(
                "model `{model}` is not a Vertex AI model id: use letters, digits, `.`, `-`, `_` and `@`, \
                 e.g. `gemini-2.5-flash` or `claude-sonnet-4-5@20250929`"
            ),
        ))
    }
}

/// The streaming URL for `model` of `publisher`. A base URL that already ends
/// in an API version (`.../v1beta1`) is used as is.
pub fn endpoint(base_url: &str, options: &Options, publisher: Publisher, model: &str) -> String {
    let versioned = if cordon_gemini::ends_in_api_version(base_url) {
        base_url.to_owned()
    } else {
        format!("{base_url}/{API_VERSION}")
    };
    format!(
        "{versioned}/projects/{}/locations/{}/publishers/{}/models/{model}:{}",
        options.project,
        options.location,
        publisher.path_name(),
        publisher.stream_method()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(location: &str) -> Options {
        Options { project: "p-1".into(), location: location.into(), publisher: None }
    }

    #[test]
    fn hosts_by_location() {
        assert_eq!(default_base_url("us-central1"), "https://us-central1-aiplatform.googleapis.com");
        assert_eq!(default_base_url("global"), "https://aiplatform.googleapis.com");
        assert_eq!(default_base_url("eu"), "https://aiplatform.eu.rep.googleapis.com");
    }

    #[test]
    fn urls_of_both_publishers() {
        assert_eq!(
            endpoint("https://us-central1-aiplatform.googleapis.com", &options("us-central1"), Publisher::Google, "gemini-2.5-flash"),
            "https://us-central1-aiplatform.googleapis.com/v1/projects/p-1/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            endpoint("https://aiplatform.googleapis.com/v1beta1", &options("global"), Publisher::Anthropic, "claude-sonnet-4-5@20250929"),
            "https://aiplatform.googleapis.com/v1beta1/projects/p-1/locations/global/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict"
        );
    }

    #[test]
    fn publisher_from_model_and_model_ids() {
        assert_eq!(Publisher::for_model("claude-opus-4-1@20250805"), Publisher::Anthropic);
        assert_eq!(Publisher::for_model("gemini-2.5-pro"), Publisher::Google);
        assert_eq!(Publisher::for_model("claude"), Publisher::Google, "only the `claude-` prefix");
        for publisher in [Publisher::Google, Publisher::Anthropic] {
            assert_eq!(Publisher::of_endpoint(&endpoint("http://h", &options("global"), publisher, "m")), publisher);
        }
        assert_eq!(model_id("claude-sonnet-4-5@20250929").ok(), Some("claude-sonnet-4-5@20250929"));
        for bad in ["", "a/b", "m:streamRawPredict", "m?alt=json", "../x", "..", "@x"] {
            assert!(model_id(bad).is_err(), "{bad}");
        }
    }
}
