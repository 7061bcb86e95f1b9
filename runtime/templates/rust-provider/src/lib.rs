//! {{name}}: a Cordon provider for an OpenAI-compatible chat API, made by
//! `cordon new provider --lang rust`. It sends the conversation's text, streams
//! text deltas back, and reports usage and the finish reason; grow it from here
//! (tools, reasoning, images: see `guests/openai` in the Cordon repository).

use cordon_sdk::settings::{self, Upstream};
use cordon_sdk::{
    Capability, Emitter, FinishReason, Frame, Framing, NativeRequest, Part, Provider, ProviderConfig, ProviderError,
    ProviderInfo, Request, Role, State, StreamHandler, Usage, Warning, WarningKind, empty_usage,
};
use serde_json::{Value, json};

/// Where requests go unless the configuration names another base URL.
const DEFAULT_BASE_URL: &str = "https://api.example.com/v1";

/// The provider.
pub struct Chat;

impl Provider for Chat {
    type Stream = ChatStream;

    fn info() -> ProviderInfo {
        ProviderInfo {
            name: "{{name}}".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            models: vec![],
            default_model: None,
            capabilities: vec![Capability::Streaming],
            supported_settings: ["max-output-tokens", "temperature"].map(String::from).to_vec(),
        }
    }

    fn init(config: ProviderConfig) -> Result<State, ProviderError> {
        let base_url = settings::base_url(config.base_url, DEFAULT_BASE_URL)?;
        settings::save(&Upstream { base_url, default_model: config.default_model }, env!("CARGO_PKG_VERSION"))
    }

    fn to_native(state: &State, request: Request) -> Result<NativeRequest, ProviderError> {
        let upstream: Upstream = settings::load(state)?;
        let model = settings::model(&request.model, upstream.default_model.as_deref())?;
        let mut warnings = Vec::new();
        let mut messages = Vec::new();
        for message in request.messages {
            let role = match message.role {
                Role::System => "system",
                Role::User => "user",
                Role::Assistant => "assistant",
                Role::Tool => "tool",
            };
            let mut text = String::new();
            for part in message.parts {
                match part {
                    Part::Text(t) => text.push_str(&t),
                    _ => warnings.push(Warning {
                        kind: WarningKind::Other,
                        setting: None,
                        message: "this provider sends text only; a non-text part was left out".into(),
                    }),
                }
            }
            messages.push(json!({ "role": role, "content": text }));
        }
        let mut body = json!({ "model": model, "messages": messages, "stream": true,
                               "stream_options": { "include_usage": true } });
        if let Some(max) = request.sampling.max_output_tokens {
            body["max_tokens"] = max.into();
        }
        if let Some(temperature) = request.sampling.temperature {
            body["temperature"] = temperature.into();
        }
        settings::post_json(format!("{}/chat/completions", upstream.base_url), &body, Framing::Sse, warnings)
    }

    fn stream(_state: &State, _request: &NativeRequest) -> ChatStream {
        ChatStream::default()
    }
}

/// One turn's stream: `data:` chunks until `data: [DONE]`.
#[derive(Default)]
pub struct ChatStream {
    done: bool,
}

impl StreamHandler for ChatStream {
    fn on_frame(&mut self, frame: Frame<'_>, out: &mut Emitter) -> Result<(), ProviderError> {
        let Frame::Sse(event) = frame else { return Ok(()) };
        if event.data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let chunk: Value =
            serde_json::from_str(event.data).map_err(|err| ProviderError::invalid_json("chunk", &err, event.data))?;
        out.metadata(chunk["id"].as_str(), chunk["model"].as_str(), chunk["created"].as_u64());
        if let Some(choice) = chunk["choices"].get(0) {
            if let Some(text) = choice["delta"]["content"].as_str().filter(|t| !t.is_empty()) {
                out.text(text.to_owned());
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                let unified = match reason {
                    "stop" => FinishReason::Stop,
                    "length" => FinishReason::Length,
                    "content_filter" => FinishReason::ContentFilter,
                    "tool_calls" => FinishReason::ToolCalls,
                    _ => FinishReason::Other,
                };
                out.finish(unified, Some(reason.to_owned()));
            }
        }
        if let Some(usage) = chunk["usage"].as_object() {
            let count = |key: &str| usage.get(key).and_then(Value::as_u64);
            out.usage(Usage {
                input_tokens: count("prompt_tokens"),
                output_tokens: count("completion_tokens"),
                ..empty_usage()
            });
        }
        Ok(())
    }

    fn on_end(&mut self, _out: &mut Emitter) -> Result<(), ProviderError> {
        if self.done {
            Ok(())
        } else {
            Err(ProviderError::protocol("the stream ended before `data: [DONE]`"))
        }
    }
}

#[cfg(target_arch = "wasm32")]
cordon_sdk::export_provider!(Chat);
