//! `list-models` and `health` (contract 0.2.0): `ListFoundationModels`,
//! `GET {control plane}/foundation-models?byOutputModality=TEXT`, answered
//! `{"modelSummaries": [{"modelId", "modelName", "providerName",
//! "inputModalities", "outputModalities", "responseStreamingSupported",
//! "inferenceTypesSupported"}]}` in one page (the API has no paging).
//!
//! Turns go to the runtime host (`bedrock-runtime.{region}.amazonaws.com`),
//! the catalogue is on the control-plane host (`bedrock.{region}.amazonaws.com`),
//! signed with the same `aws` secret (SigV4 service `bedrock` on both). The
//! control plane is derived from the base URL: an AWS runtime host becomes its
//! region's control-plane host (FIPS kept); any other base URL (a proxy, a
//! gateway, a local server) is asked at its own origin, the one naming it grants.
//! The manifest asks for us-east-1's control plane; another region's must be
//! granted by the operator (`hosts` in a serve config), like its runtime host.
//!
//! Health sends the same request (there is no smaller page to ask for).

use cordon_sdk::models::{self, Modality, ModelInfo, ModelPage};
use cordon_sdk::settings::{self, Upstream};
use cordon_sdk::{NativeRequest, ProviderError, State};
use serde::Deserialize;

use crate::AWS_SECRET;

/// Runtime host-name prefixes and the control-plane prefix each maps to.
const RUNTIME_TO_CONTROL: [(&str, &str); 2] = [("bedrock-runtime-fips.", "bedrock-fips."), ("bedrock-runtime.", "bedrock.")];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    model_summaries: Vec<Summary>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    model_id: String,
    #[serde(default)]
    model_name: Option<String>,
    #[serde(default)]
    input_modalities: Vec<String>,
    #[serde(default)]
    output_modalities: Vec<String>,
    #[serde(default)]
    response_streaming_supported: Option<bool>,
}

/// The control plane's base URL for the runtime base URL `base_url` (checked, no trailing `/`).
pub fn control_plane_url(base_url: &str) -> String {
    let Some(rest) = base_url.strip_prefix("https://") else {
        return base_url.to_owned();
    };
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let is_aws = [".amazonaws.com", ".amazonaws.com.cn"].iter().any(|suffix| host.ends_with(suffix));
    RUNTIME_TO_CONTROL
        .iter()
        .find_map(|(runtime, control)| host.strip_prefix(runtime).filter(|_| is_aws).map(|region| format!("https://{control}{region}{path}")))
        .unwrap_or_else(|| base_url.to_owned())
}

/// The `ListFoundationModels` request: models that answer in text (chat models).
pub fn request(state: &State) -> Result<Option<NativeRequest>, ProviderError> {
    let kept: Upstream = settings::load(state)?;
    let url = format!("{}/foundation-models?byOutputModality=TEXT", control_plane_url(&kept.base_url));
    Ok(Some(models::get_json(url, AWS_SECRET)))
}

/// The listed models Converse can stream from.
pub fn parse(body: &[u8]) -> Result<ModelPage, ProviderError> {
    let answer: Answer = models::parse_json(body, "ListFoundationModels")?;
    let models = answer
        .model_summaries
        .into_iter()
        .filter(|model| model.response_streaming_supported != Some(false))
        .map(|model| ModelInfo {
            display_name: model.model_name,
            input_modalities: modalities(&model.input_modalities),
            output_modalities: modalities(&model.output_modalities),
            ..ModelInfo::with_id(model.model_id)
        })
        .collect();
    Ok(ModelPage { models, next: None })
}

/// Bedrock's modality names as the contract's (`EMBEDDING` has no counterpart).
fn modalities(names: &[String]) -> Vec<Modality> {
    let mut known = Vec::new();
    for name in names {
        let modality = match name.as_str() {
            "TEXT" => Modality::Text,
            "IMAGE" => Modality::Image,
            "VIDEO" => Modality::Video,
            "AUDIO" | "SPEECH" => Modality::Audio,
            _ => continue,
        };
        if !known.contains(&modality) {
            known.push(modality);
        }
    }
    known
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_control_plane_is_the_runtime_host_s_region() {
        assert_eq!(control_plane_url("https://bedrock-runtime.eu-west-3.amazonaws.com"), "https://bedrock.eu-west-3.amazonaws.com");
        assert_eq!(control_plane_url("https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com"), "https://bedrock-fips.us-gov-west-1.amazonaws.com");
        assert_eq!(control_plane_url("https://bedrock-runtime.cn-north-1.amazonaws.com.cn"), "https://bedrock.cn-north-1.amazonaws.com.cn");
        for other in ["http://127.0.0.1:9", "https://bedrock-proxy.example/aws", "https://bedrock-runtime.evil.example", "http://bedrock-runtime.us-east-1.amazonaws.com"] {
            assert_eq!(control_plane_url(other), other, "kept at its own origin");
        }
    }

    #[test]
    fn summaries_become_models_and_non_streaming_ones_are_dropped() {
        let body = br#"{"modelSummaries":[
            {"modelArn":"arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0","modelId":"amazon.nova-pro-v1:0","modelName":"Nova Pro",
             "providerName":"Amazon","inputModalities":["TEXT","IMAGE","VIDEO"],"outputModalities":["TEXT"],"responseStreamingSupported":true,
             "customizationsSupported":[],"inferenceTypesSupported":["ON_DEMAND","INFERENCE_PROFILE"],"modelLifecycle":{"status":"ACTIVE"}},
            {"modelId":"cohere.rerank-v3-5:0","modelName":"Rerank 3.5","inputModalities":["TEXT"],"outputModalities":["TEXT"],"responseStreamingSupported":false}]}"#;
        let page = parse(body).expect("parses");
        assert_eq!(page.models.len(), 1);
        let nova = &page.models[0];
        assert_eq!((nova.id.as_str(), nova.display_name.as_deref()), ("amazon.nova-pro-v1:0", Some("Nova Pro")));
        assert_eq!(nova.input_modalities, [Modality::Text, Modality::Image, Modality::Video]);
        assert!(parse(br#"{"models":[]}"#).expect_err("not the shape").message.contains("ListFoundationModels"));
    }
}
