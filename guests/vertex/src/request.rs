//! The request bodies: Gemini's `generateContent` body as the Gemini provider
//! builds it, and Anthropic's Messages body as the Anthropic provider builds it,
//! changed the way Vertex AI wants it for `streamRawPredict`: the model is in
//! the URL, not the body, and `anthropic_version` names Vertex's API version.

use cordon_sdk::{ProviderError, Request, Warning};
use serde_json::Value;

use crate::publisher::Publisher;

/// The `anthropic_version` Vertex AI takes in a Claude request body.
pub const ANTHROPIC_VERSION: &str = "vertex-2023-10-16";

/// The body of a request for `model` of `publisher`, and its warnings.
pub fn build_body(publisher: Publisher, request: Request, model: &str) -> Result<(Value, Vec<Warning>), ProviderError> {
    match publisher {
        Publisher::Google => cordon_gemini::request::build_body(request, model),
        Publisher::Anthropic => Ok(anthropic_body(request, model)),
    }
}

/// The Messages body without `model` and with `anthropic_version` (set after
/// the request's provider options are merged, so they cannot undo either).
fn anthropic_body(request: Request, model: &str) -> (Value, Vec<Warning>) {
    let (mut body, warnings) = cordon_anthropic::request::build_body(request, model);
    if let Some(fields) = body.as_object_mut() {
        fields.remove("model");
        fields.insert("anthropic_version".into(), ANTHROPIC_VERSION.into());
    }
    (body, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::{Message, Part, Role};

    fn hello(provider_options: Option<&str>) -> Request {
        Request {
            model: "claude-sonnet-4-5@20250929".into(),
            messages: vec![
                Message { role: Role::System, parts: vec![Part::Text("Be brief.".into())] },
                Message { role: Role::User, parts: vec![Part::Text("Hi".into())] },
            ],
            provider_options: provider_options.map(Into::into),
            ..Request::default()
        }
    }

    #[test]
    fn claude_bodies_name_the_vertex_version_and_no_model() {
        let options = r#"{"anthropic":{"model":"other","anthropic_version":"2023-06-01","top_k":3}}"#;
        let (body, _) = build_body(Publisher::Anthropic, hello(Some(options)), "claude-sonnet-4-5@20250929").expect("body");
        assert!(body.get("model").is_none(), "{body}");
        assert_eq!(body["anthropic_version"], ANTHROPIC_VERSION);
        assert_eq!(body["top_k"], 3, "other provider options still apply");
        assert_eq!(body["stream"], true);
        assert_eq!(body["system"], "Be brief.");
        assert_eq!(body["messages"][0]["role"], "user");
    }

    #[test]
    fn gemini_bodies_are_the_gemini_providers() {
        let (body, _) = build_body(Publisher::Google, hello(None), "gemini-2.5-flash").expect("body");
        let (direct, _) = cordon_gemini::request::build_body(hello(None), "gemini-2.5-flash").expect("body");
        assert_eq!(body, direct);
        assert_eq!(body["systemInstruction"]["parts"][0]["text"], "Be brief.");
    }
}
