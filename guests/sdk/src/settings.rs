//! What every provider does with its configuration and its host-owned state:
//! check the base URL, keep settings as JSON in the [`State`], pick the model.
//! Also `Default` for the request types, so tests and callers can fill in only
//! what they need.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{ProviderError, Request, Sampling, State};

/// The settings most providers keep in their state: where requests go and the
/// model used when a request names none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upstream {
    /// Base URL, checked, without a trailing `/`.
    pub base_url: String,
    /// Model for requests that name none.
    pub default_model: Option<String>,
}

/// The configured base URL (or `default`), checked to be http(s), without a trailing `/`.
pub fn base_url(configured: Option<String>, default: &str) -> Result<String, ProviderError> {
    let url = configured.unwrap_or_else(|| default.to_owned());
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(ProviderError::config(format!("base URL `{url}` must start with http:// or https://")));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Keep `settings` in a [`State`] written by `producer_version`.
pub fn save<T: Serialize>(settings: &T, producer_version: &str) -> Result<State, ProviderError> {
    let data = serde_json::to_vec(settings)
        .map_err(|err| ProviderError::config(format!("cannot store settings: {err}")))?;
    Ok(State { producer_version: producer_version.to_owned(), data })
}

/// Read settings kept by [`save`].
pub fn load<T: DeserializeOwned>(state: &State) -> Result<T, ProviderError> {
    serde_json::from_slice(&state.data).map_err(|err| {
        ProviderError::config(format!(
            "the provider state (written by version {}) is unreadable ({err}); re-run init",
            state.producer_version
        ))
    })
}

/// The request's model, else the configured default; an error naming the fix otherwise.
pub fn model(requested: &str, default: Option<&str>) -> Result<String, ProviderError> {
    match (requested, default) {
        ("", Some(default)) => Ok(default.to_owned()),
        ("", None) => Err(ProviderError::config(
            "the request names no model and the provider has no default model: pass a model",
        )),
        (model, _) => Ok(model.to_owned()),
    }
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            max_output_tokens: None,
            temperature: None,
            top_p: None,
            top_k: None,
            presence_penalty: None,
            frequency_penalty: None,
            stop_sequences: Vec::new(),
            seed: None,
        }
    }
}

impl Default for Request {
    fn default() -> Self {
        Request {
            model: String::new(),
            messages: Vec::new(),
            sampling: Sampling::default(),
            reasoning: None,
            response_format: None,
            tools: Vec::new(),
            tool_choice: None,
            parallel_tool_calls: None,
            provider_options: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_and_models() {
        assert_eq!(base_url(Some("http://x:1/v1/".into()), "https://d").expect("ok"), "http://x:1/v1");
        assert_eq!(base_url(None, "https://d").expect("ok"), "https://d");
        assert!(base_url(Some("ftp://x".into()), "https://d").is_err());
        assert_eq!(model("", Some("m")).expect("ok"), "m");
        assert_eq!(model("x", Some("m")).expect("ok"), "x");
        assert!(model("", None).is_err());
    }

    #[test]
    fn state_round_trip() {
        let state = save(&vec![1, 2, 3], "1.2.3").expect("saved");
        assert_eq!(state.producer_version, "1.2.3");
        assert_eq!(load::<Vec<u8>>(&state).expect("loaded"), [1, 2, 3]);
        let err = load::<String>(&state).expect_err("wrong shape");
        assert!(err.message.contains("1.2.3"), "{}", err.message);
    }
}
