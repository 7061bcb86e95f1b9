//! What a service that speaks Chat Completions does differently, as data: the
//! provider options a preset (or the operator) gives, checked once at `init`
//! and applied to every request. No service gets code of its own here; each
//! difference is one of these settings.
//!
//! ```json
//! {"max_tokens_field": "max_tokens", "stream_usage": false,
//!  "rename": {"seed": "random_seed"}, "unsupported": ["stop"],
//!  "headers": {"x-github-api-version": "2022-11-28"},
//!  "tool_result_name": true,
//!  "api_version": "2024-10-21", "deployment_urls": true}
//! ```

use std::collections::BTreeMap;

use cordon_sdk::{ProviderError, Warning};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Fields no option may rename or leave out: without them there is no request.
const ESSENTIAL: [&str; 3] = ["model", "messages", "stream"];

/// The options, as the operator (or a preset) writes them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOptions {
    /// `max_tokens` or `max_completion_tokens`; by default the latter for api.openai.com.
    max_tokens_field: Option<String>,
    /// Whether to ask for usage with `stream_options.include_usage` (default: yes).
    stream_usage: Option<bool>,
    /// Body fields the service names otherwise, e.g. `{"seed": "random_seed"}`.
    #[serde(default)]
    rename: BTreeMap<String, String>,
    /// Body fields the service refuses: left out, with a warning.
    #[serde(default)]
    unsupported: Vec<String>,
    /// Headers the service wants on every request (never a secret's).
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// Whether a tool result carries the tool's `name` (Mistral requires it).
    #[serde(default)]
    tool_result_name: bool,
    /// The `api-version` query parameter (Azure OpenAI).
    api_version: Option<String>,
    /// Azure's deployment URLs: `{base}/deployments/{model}/chat/completions`.
    #[serde(default)]
    deployment_urls: bool,
}

/// The checked options but `max_tokens_field`, kept in the provider's state
/// (a state written before they existed reads as the defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Quirks {
    /// Whether to send `stream_options.include_usage`.
    pub stream_usage: bool,
    /// Body fields renamed, from -> to.
    pub rename: BTreeMap<String, String>,
    /// Body fields left out.
    pub unsupported: Vec<String>,
    /// Extra headers, by lower-case name.
    pub headers: BTreeMap<String, String>,
    /// Whether tool results carry the tool's name.
    pub tool_result_name: bool,
    /// The `api-version` query parameter.
    pub api_version: Option<String>,
    /// Whether the URL names the deployment (the request's model).
    pub deployment_urls: bool,
}

impl Default for Quirks {
    fn default() -> Self {
        Quirks {
            stream_usage: true,
            rename: BTreeMap::new(),
            unsupported: Vec::new(),
            headers: BTreeMap::new(),
            tool_result_name: false,
            api_version: None,
            deployment_urls: false,
        }
    }
}

impl Quirks {
    /// Parse and check the options' JSON text (`None`: no options): the
    /// `max_tokens_field` (`max_tokens` or `max_completion_tokens`) if given, and the rest.
    pub fn parse(text: Option<&str>) -> Result<(Option<String>, Quirks), ProviderError> {
        let raw: RawOptions = match text {
            // Worded as the Python twin (guests/openai-py) words it.
            Some(text) => serde_json::from_str(text)
                .map_err(|err| ProviderError::config(format!("invalid openai options: {err}")))?,
            None => RawOptions::default(),
        };
        if let Some(field) = raw.max_tokens_field.as_deref()
            && field != "max_tokens"
            && field != "max_completion_tokens"
        {
            return Err(ProviderError::config(format!(
                "max_tokens_field must be `max_tokens` or `max_completion_tokens`, not `{field}`"
            )));
        }
        for (from, to) in &raw.rename {
            check_field("rename", from)?;
            check_field("rename", to)?;
        }
        for field in &raw.unsupported {
            check_field("unsupported", field)?;
        }
        let mut headers = BTreeMap::new();
        for (name, value) in raw.headers {
            let valid_name = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !valid_name {
                return Err(ProviderError::config(format!(
                    "headers: `{name}` is not a header name (letters, digits and `-`)"
                )));
            }
            if value.bytes().any(|b| b.is_ascii_control() || !b.is_ascii()) {
                return Err(ProviderError::config(format!(
                    "headers: the value of `{name}` must be printable ASCII on one line"
                )));
            }
            headers.insert(name.to_ascii_lowercase(), value);
        }
        if let Some(version) = &raw.api_version {
            let valid = !version.is_empty() && version.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            if !valid {
                return Err(ProviderError::config(format!(
                    "api_version `{version}` is not an API version (letters, digits, `-` and `.`, e.g. `2024-10-21`)"
                )));
            }
        }
        let quirks = Quirks {
            stream_usage: raw.stream_usage.unwrap_or(true),
            rename: raw.rename,
            unsupported: raw.unsupported,
            headers,
            tool_result_name: raw.tool_result_name,
            api_version: raw.api_version,
            deployment_urls: raw.deployment_urls,
        };
        Ok((raw.max_tokens_field, quirks))
    }

    /// Leave out the fields the service refuses (each with a warning), then
    /// rename the ones it names otherwise.
    pub fn apply(&self, body: &mut Map<String, Value>, warnings: &mut Vec<Warning>) {
        if !self.stream_usage {
            body.remove("stream_options");
        }
        for field in &self.unsupported {
            if body.remove(field).is_some() {
                warnings.push(Warning::unsupported(setting_of(field), format!("this service does not take `{field}`; it was not sent")));
            }
        }
        for (from, to) in &self.rename {
            if let Some(value) = body.remove(from) {
                body.insert(to.clone(), value);
            }
        }
    }

    /// The request URL for `model` under `base_url`.
    pub fn url(&self, base_url: &str, model: &str) -> Result<String, ProviderError> {
        let mut url = if self.deployment_urls {
            let valid = !model.is_empty()
                && model.len() <= 64
                && model.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                && model != "."
                && model != "..";
            if !valid {
                return Err(ProviderError::config(format!(
                    "`{model}` is not an Azure deployment name (1-64 letters, digits, `-`, `_` and `.`): \
                     name the deployment as the model"
                )));
            }
            format!("{base_url}/deployments/{model}/chat/completions")
        } else {
            format!("{base_url}/chat/completions")
        };
        self.add_api_version(&mut url);
        Ok(url)
    }

    /// The models list's URL under `base_url` (Azure's is beside its
    /// deployments, `{endpoint}/openai/models`, with the same `api-version`).
    pub fn models_url(&self, base_url: &str) -> String {
        let mut url = format!("{base_url}/models");
        self.add_api_version(&mut url);
        url
    }

    fn add_api_version(&self, url: &mut String) {
        if let Some(version) = &self.api_version {
            url.push_str("?api-version=");
            url.push_str(version);
        }
    }
}

/// A body field an option may name: not one the request cannot do without.
fn check_field(option: &str, field: &str) -> Result<(), ProviderError> {
    if field.is_empty() || ESSENTIAL.contains(&field) {
        return Err(ProviderError::config(format!(
            "{option}: `{field}` cannot be {}; every request needs `model`, `messages` and `stream`",
            if option == "rename" { "renamed" } else { "left out" }
        )));
    }
    Ok(())
}

/// The contract's name of the setting a body field carries, for warnings.
fn setting_of(field: &str) -> &str {
    match field {
        "max_tokens" | "max_completion_tokens" => "max-output-tokens",
        "top_p" => "top-p",
        "presence_penalty" => "presence-penalty",
        "frequency_penalty" => "frequency-penalty",
        "stop" => "stop-sequences",
        "reasoning_effort" => "reasoning.effort",
        "response_format" => "response-format",
        "tool_choice" => "tool-choice",
        "parallel_tool_calls" => "parallel-tool-calls",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_models_list_takes_the_api_version() {
        let (_, azure) = Quirks::parse(Some(r#"{"deployment_urls":true,"api_version":"2024-10-21"}"#)).expect("valid");
        assert_eq!(azure.models_url("https://r.openai.azure.com/openai"), "https://r.openai.azure.com/openai/models?api-version=2024-10-21");
        let (_, plain) = Quirks::parse(None).expect("valid");
        assert_eq!(plain.models_url("https://api.openai.com/v1"), "https://api.openai.com/v1/models");
    }

    #[test]
    fn options_are_checked() {
        assert_eq!(Quirks::parse(None).expect("none"), (None, Quirks::default()));
        assert!(Quirks::default().stream_usage, "usage is asked for unless a service refuses it");
        for (text, needle) in [
            (r#"{"colour":"blue"}"#, "unknown field"),
            (r#"{"max_tokens_field":"tokens"}"#, "max_tokens_field must be"),
            (r#"{"rename":{"model":"engine"}}"#, "`model` cannot be renamed"),
            (r#"{"unsupported":["messages"]}"#, "`messages` cannot be left out"),
            (r#"{"headers":{"x y":"1"}}"#, "not a header name"),
            (r#"{"headers":{"x-a":"1\r\nx-b: 2"}}"#, "printable ASCII"),
            (r#"{"api_version":"2024&x=1"}"#, "not an API version"),
        ] {
            let err = Quirks::parse(Some(text)).expect_err(needle);
            assert!(err.message.contains(needle), "`{needle}` in {}", err.message);
        }
    }

    #[test]
    fn fields_are_left_out_and_renamed() {
        let (_, quirks) = Quirks::parse(Some(
            r#"{"stream_usage":false,"rename":{"seed":"random_seed"},"unsupported":["stop","top_p"]}"#,
        ))
        .expect("valid");
        let Value::Object(mut body) = json!({"model":"m","stream":true,"stream_options":{"include_usage":true},"seed":7,"stop":["x"]}) else {
            unreachable!("an object")
        };
        let mut warnings = Vec::new();
        quirks.apply(&mut body, &mut warnings);
        assert_eq!(Value::Object(body), json!({"model":"m","stream":true,"random_seed":7}));
        assert_eq!(warnings.len(), 1, "top_p was not set, so nothing was left out for it");
        assert_eq!(warnings[0].setting.as_deref(), Some("stop-sequences"));
    }

    #[test]
    fn azure_urls() {
        let plain = Quirks::default();
        assert_eq!(plain.url("https://r.openai.azure.com/openai/v1", "gpt-4o").expect("url"), "https://r.openai.azure.com/openai/v1/chat/completions");
        let (_, deployments) = Quirks::parse(Some(r#"{"deployment_urls":true,"api_version":"2024-10-21"}"#)).expect("valid");
        assert_eq!(
            deployments.url("https://r.openai.azure.com/openai", "my-gpt4o").expect("url"),
            "https://r.openai.azure.com/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21"
        );
        for bad in ["", "..", "a/b", "a?x", "a b"] {
            assert!(deployments.url("https://r", bad).is_err(), "`{bad}` must not reach the path");
        }
    }
}
