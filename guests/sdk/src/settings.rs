//! What every provider does with its configuration and its host-owned state:
//! check the base URL, keep settings as JSON in the [`State`], pick the model,
//! and build the usual native request (a JSON POST naming the `api-key` secret),
//! with the request's own provider options, settings as JSON numbers and
//! warnings for what was not sent as asked. Also `Default` for the request
//! types, so tests and callers can fill in only what they need.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{
    Capability, Framing, Header, NativeRequest, OutgoingRequest, Part, ProviderError, ProviderInfo, Request, Role,
    Sampling, State, Warning, WarningKind,
};

/// The secret name every shipped provider's manifest declares for its API key.
pub const API_KEY_SECRET: &str = "api-key";

/// The settings most providers keep in their state: where requests go and the
/// model used when a request names none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upstream {
    /// Base URL, checked, without a trailing `/`.
    pub base_url: String,
    /// Model for requests that name none.
    pub default_model: Option<String>,
}

/// `text` percent-encoded for one URL path segment or query value: every
/// byte but RFC 3986's unreserved ones (`A-Z a-z 0-9 - . _ ~`) as `%XX`.
/// For what the upstream or the user writes (page tokens, model ids).
pub fn percent_encoded(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
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

/// A POST of `body` as JSON to `url`, answered in `framing`, with the
/// [`API_KEY_SECRET`] named for the host to add. Push extra headers on
/// `http.headers` where a provider needs them.
pub fn post_json(
    url: String,
    body: &serde_json::Value,
    framing: Framing,
    warnings: Vec<Warning>,
) -> Result<NativeRequest, ProviderError> {
    let body = serde_json::to_vec(body)
        .map_err(|err| ProviderError::config(format!("cannot encode the request: {err}")))?;
    let accept = match framing {
        Framing::Sse => "text/event-stream",
        Framing::Ndjson => "application/x-ndjson",
        Framing::Json => "application/json",
    };
    let header = |name: &str, value: &str| Header { name: name.into(), value: value.into() };
    Ok(NativeRequest {
        http: OutgoingRequest {
            method: "POST".into(),
            url,
            headers: vec![header("content-type", "application/json"), header("accept", accept)],
            body,
            secrets: vec![API_KEY_SECRET.into()],
        },
        framing,
        warnings,
    })
}

/// The usual `to-native` of a provider that keeps an [`Upstream`]: the
/// request's model (else the configured default, else `fallback_model`), the
/// body `build` makes for it, POSTed as JSON to the base URL and `path`,
/// answered in `framing`.
pub fn post_upstream(
    state: &State,
    request: Request,
    fallback_model: Option<&str>,
    path: &str,
    framing: Framing,
    build: impl FnOnce(Request, &str) -> (Value, Vec<Warning>),
) -> Result<NativeRequest, ProviderError> {
    let kept: Upstream = load(state)?;
    let model = model(&request.model, kept.default_model.as_deref().or(fallback_model))?;
    let (body, warnings) = build(request, &model);
    post_json(format!("{}{path}", kept.base_url), &body, framing, warnings)
}

impl ProviderInfo {
    /// A provider's description from lists: the models it knows of, the
    /// capabilities it has and the settings it honours, by the contract's names.
    pub fn new(
        name: &str,
        version: &str,
        models: &[&str],
        default_model: Option<&str>,
        capabilities: &[Capability],
        supported_settings: &[&str],
    ) -> Self {
        ProviderInfo {
            name: name.into(),
            version: version.into(),
            models: models.iter().map(|model| (*model).to_owned()).collect(),
            default_model: default_model.map(str::to_owned),
            capabilities: capabilities.to_vec(),
            supported_settings: supported_settings.iter().map(|setting| (*setting).to_owned()).collect(),
        }
    }
}

/// The options a request gives `provider`: the object under its name in the
/// request's provider options (`{"cohere": {...}}`), to be merged into the body.
/// Options that are not a JSON object keyed by provider name, or a provider's
/// entry that is not an object, are ignored with a warning.
pub fn provider_options(text: Option<&str>, provider: &str, warnings: &mut Vec<Warning>) -> Map<String, Value> {
    let Some(text) = text else { return Map::new() };
    let mut ignored = |message: String| {
        warnings.push(Warning { kind: WarningKind::Other, setting: Some("provider-options".into()), message });
        Map::new()
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(mut all)) => match all.remove(provider) {
            None => Map::new(),
            Some(Value::Object(ours)) => ours,
            Some(_) => ignored(format!("provider options `{provider}` must be a JSON object; ignored")),
        },
        _ => ignored("provider options must be a JSON object keyed by provider name; ignored".into()),
    }
}

/// Check that a provider which takes no options (`init`'s `options`) got
/// none: an empty object or nothing. `hint` says where such settings go instead.
pub fn no_options(options: Option<&str>, provider: &str, hint: &str) -> Result<(), ProviderError> {
    let Some(text) = options else { return Ok(()) };
    let object: Map<String, Value> = serde_json::from_str(text)
        .map_err(|err| ProviderError::config(format!("invalid {provider} options (a JSON object is expected): {err}")))?;
    match object.keys().next() {
        None => Ok(()),
        Some(key) => Err(ProviderError::config(format!("the {provider} provider takes no options (got `{key}`): {hint}"))),
    }
}

/// A provider's field names for the sampling settings; `None` for one it does
/// not take, which [`insert_sampling`] then leaves out with a warning.
#[derive(Debug, Clone, Copy)]
pub struct SamplingFields {
    /// `max-output-tokens`.
    pub max_output_tokens: Option<&'static str>,
    /// `temperature`.
    pub temperature: Option<&'static str>,
    /// `top-p`.
    pub top_p: Option<&'static str>,
    /// `top-k`.
    pub top_k: Option<&'static str>,
    /// `presence-penalty`.
    pub presence_penalty: Option<&'static str>,
    /// `frequency-penalty`.
    pub frequency_penalty: Option<&'static str>,
    /// `stop-sequences` (sent when there are any).
    pub stop_sequences: Option<&'static str>,
    /// `seed`.
    pub seed: Option<&'static str>,
}

/// Insert the sampling settings a request gives into `target` under
/// `provider`'s field names: floats as JSON numbers in their shortest decimal
/// form (`0.7`, not `0.699999988...`). A setting the provider does not take, or
/// a float that is not finite, is not sent, with a warning.
pub fn insert_sampling(
    target: &mut Map<String, Value>,
    sampling: Sampling,
    fields: &SamplingFields,
    provider: &str,
    warnings: &mut Vec<Warning>,
) {
    let Sampling { max_output_tokens, temperature, top_p, top_k, presence_penalty, frequency_penalty, stop_sequences, seed } =
        sampling;
    let mut given: Vec<(&str, Option<&str>, Value)> = Vec::new();
    let floats = [
        ("temperature", fields.temperature, temperature),
        ("top-p", fields.top_p, top_p),
        ("presence-penalty", fields.presence_penalty, presence_penalty),
        ("frequency-penalty", fields.frequency_penalty, frequency_penalty),
    ];
    for (setting, field, value) in floats {
        let Some(value) = value else { continue };
        match shortest_number(value) {
            Some(number) => given.push((setting, field, number)),
            None => warnings.push(Warning::compatibility(setting, format!("{value} is not a finite number; not sent"))),
        }
    }
    given.extend(max_output_tokens.map(|max| ("max-output-tokens", fields.max_output_tokens, max.into())));
    given.extend(top_k.map(|k| ("top-k", fields.top_k, k.into())));
    given.extend(seed.map(|seed| ("seed", fields.seed, seed.into())));
    if !stop_sequences.is_empty() {
        given.push(("stop-sequences", fields.stop_sequences, stop_sequences.into()));
    }
    for (setting, field, value) in given {
        match field {
            Some(field) => {
                target.insert(field.into(), value);
            }
            None => warnings.push(Warning::unsupported(setting, format!("{provider} takes no {setting}; not sent"))),
        }
    }
}

fn shortest_number(value: f32) -> Option<Value> {
    if !value.is_finite() {
        return None;
    }
    let shortest: f64 = value.to_string().parse().ok()?;
    serde_json::Number::from_f64(shortest).map(Value::Number)
}

/// A role's name as chat APIs write it: `system`, `user`, `assistant`, `tool`.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

impl Warning {
    /// A setting the provider does not take, not sent.
    pub fn unsupported(setting: &str, message: impl Into<String>) -> Self {
        Warning { kind: WarningKind::UnsupportedSetting, setting: Some(setting.into()), message: message.into() }
    }

    /// A setting changed to fit the provider.
    pub fn compatibility(setting: &str, message: impl Into<String>) -> Self {
        Warning { kind: WarningKind::Compatibility, setting: Some(setting.into()), message: message.into() }
    }

    /// A part of a `role` message that has no place in `provider`'s format, not sent.
    pub fn dropped_part(provider: &str, role: Role, part: &Part) -> Self {
        let role = role_name(role);
        let part = match part {
            Part::Text(_) => "text",
            Part::File(_) => "file",
            Part::Reasoning(_) => "reasoning",
            Part::ToolCall(_) => "tool call",
            Part::ToolResult(_) => "tool result",
        };
        Self::unsupported("messages", format!("a {part} part in a {role} message has no place in {provider}'s format; not sent"))
    }
}

// The type is generated by wit-bindgen, which cannot derive `Default` for it.
#[allow(clippy::derivable_impls)]
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

// The type is generated by wit-bindgen, which cannot derive `Default` for it.
#[allow(clippy::derivable_impls)]
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
    fn percent_encoding_keeps_only_unreserved_bytes() {
        assert_eq!(percent_encoded("Cg5hYi9j/ZA==&x=1"), "Cg5hYi9j%2FZA%3D%3D%26x%3D1");
        assert_eq!(percent_encoded("us.anthropic.claude:0 é"), "us.anthropic.claude%3A0%20%C3%A9");
        assert_eq!(percent_encoded("a-b_c.d~e"), "a-b_c.d~e");
    }

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
    fn a_provider_s_own_options_and_warnings_for_the_rest() {
        let mut warnings = Vec::new();
        let ours = provider_options(Some(r#"{"cohere":{"safety_mode":"OFF"},"openai":{"user":"x"}}"#), "cohere", &mut warnings);
        assert_eq!(Value::Object(ours), serde_json::json!({ "safety_mode": "OFF" }));
        assert!(provider_options(Some(r#"{"openai":{}}"#), "cohere", &mut warnings).is_empty());
        assert!(provider_options(None, "cohere", &mut warnings).is_empty());
        assert!(warnings.is_empty());
        assert!(provider_options(Some("[1]"), "cohere", &mut warnings).is_empty());
        assert!(provider_options(Some(r#"{"cohere":3}"#), "cohere", &mut warnings).is_empty());
        assert_eq!(warnings.len(), 2);
        assert!(warnings[1].message.contains("`cohere`"), "{}", warnings[1].message);
    }

    #[test]
    fn floats_in_their_shortest_form_and_warnings_for_the_rest() {
        let fields = SamplingFields {
            max_output_tokens: Some("max"),
            temperature: Some("t"),
            top_p: Some("p"),
            top_k: None,
            presence_penalty: Some("pp"),
            frequency_penalty: Some("fp"),
            stop_sequences: Some("stop"),
            seed: None,
        };
        let mut body = Map::new();
        let mut warnings = Vec::new();
        let sampling = Sampling {
            max_output_tokens: Some(9),
            temperature: Some(f32::NAN),
            top_p: Some(0.7),
            top_k: Some(3),
            frequency_penalty: Some(0.25),
            stop_sequences: vec!["END".into()],
            ..Sampling::default()
        };
        insert_sampling(&mut body, sampling, &fields, "P", &mut warnings);
        assert_eq!(Value::Object(body), serde_json::json!({ "max": 9, "p": 0.7, "fp": 0.25, "stop": ["END"] }));
        let named: Vec<_> = warnings.iter().map(|w| (w.setting.as_deref(), w.kind)).collect();
        assert_eq!(named, [(Some("temperature"), WarningKind::Compatibility), (Some("top-k"), WarningKind::UnsupportedSetting)]);
        assert_eq!(warnings[1].message, "P takes no top-k; not sent");
        let mut body = Map::new();
        insert_sampling(&mut body, Sampling::default(), &fields, "P", &mut warnings);
        assert!(body.is_empty() && warnings.len() == 2, "nothing given, nothing sent");
    }

    #[test]
    fn the_usual_native_request_takes_the_kept_upstream() {
        let state = save(&Upstream { base_url: "http://h:1".into(), default_model: None }, "1").expect("saved");
        let build = |request: Request, model: &str| (serde_json::json!({ "model": model, "n": request.messages.len() }), Vec::new());
        let native = post_upstream(&state, Request::default(), Some("fallback"), "/v2/chat", Framing::Sse, build).expect("native");
        assert_eq!(native.http.url, "http://h:1/v2/chat");
        assert_eq!(serde_json::from_slice::<Value>(&native.http.body).expect("JSON"), serde_json::json!({ "model": "fallback", "n": 0 }));
        let request = Request { model: "asked".into(), ..Request::default() };
        let native = post_upstream(&state, request, Some("fallback"), "/x", Framing::Sse, build).expect("native");
        assert_eq!(serde_json::from_slice::<Value>(&native.http.body).expect("JSON")["model"], "asked");
        assert!(post_upstream(&state, Request::default(), None, "/x", Framing::Sse, build).is_err(), "no model at all");
    }

    #[test]
    fn provider_info_from_lists() {
        let info = ProviderInfo::new("p", "1.0.0", &["a", "b"], Some("a"), &[Capability::Streaming], &["seed"]);
        assert_eq!((info.name.as_str(), info.version.as_str(), info.default_model.as_deref()), ("p", "1.0.0", Some("a")));
        assert_eq!((info.models, info.supported_settings), (vec!["a".to_owned(), "b".to_owned()], vec!["seed".to_owned()]));
        assert!(matches!(info.capabilities[..], [Capability::Streaming]));
    }

    #[test]
    fn no_options_means_none_or_an_empty_object() {
        assert!(no_options(None, "x", "hint").is_ok());
        assert!(no_options(Some("{}"), "x", "hint").is_ok());
        let error = no_options(Some(r#"{"region":"eu"}"#), "x", "put it in the base URL").expect_err("an option");
        assert!(error.message.contains("`region`") && error.message.contains("put it in the base URL"), "{}", error.message);
        assert!(no_options(Some("[]"), "x", "hint").expect_err("not an object").message.contains("invalid x options"));
    }

    #[test]
    fn dropped_parts_are_named() {
        let warning = Warning::dropped_part("Cohere", Role::Tool, &crate::Part::Text("t".into()));
        assert_eq!(warning.message, "a text part in a tool message has no place in Cohere's format; not sent");
        assert_eq!(warning.kind, WarningKind::UnsupportedSetting);
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
