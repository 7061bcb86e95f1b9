//! Parsing the Chat Completions stream: `chat.completion.chunk` objects in SSE
//! `data:` lines, ended by `data: [DONE]`, into normalized events.
//!
//! Chunks may carry no choice at all (Azure's prompt filter results, a usage
//! chunk) or a choice without a delta (Azure's content filter verdicts).
//! Tool-call deltas are routed by `index` (whatever number it starts at); a
//! continuation may repeat `name: ""`; a whole call may come in one delta; a
//! delta with a new `id` at an index already in use starts a new call. Finished
//! `tool-call` events are emitted only on `finish_reason`, `[DONE]` or the end of
//! the stream, never because partial arguments happen to parse.

use std::borrow::Cow;

use cordon_sdk::{Emitter, FinishReason, Frame, ProviderError, StreamHandler, ToolCall, Usage};
use serde::Deserialize;
use serde_json::value::RawValue;

use cordon_sdk::openai_errors::{ErrorObject, classify_error_object, classify_http_error};
use cordon_sdk::openai_shapes::FunctionDelta;

/// The per-turn stream state.
#[derive(Debug, Default)]
pub struct ChatStream {
    calls: Vec<PendingCall>,
    /// `index` -> position in `calls` of the call currently at that index.
    slots: Vec<(u64, usize)>,
    flushed: bool,
    done: bool,
}

#[derive(Debug)]
struct PendingCall {
    id: String,
    name: String,
    arguments: String,
    started: bool,
}

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    created: Option<u64>,
    #[serde(default)]
    choices: Vec<Choice<'a>>,
    #[serde(borrow, default)]
    usage: Option<&'a RawValue>,
    #[serde(borrow, default)]
    x_groq: Option<XGroq<'a>>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

#[derive(Deserialize)]
struct XGroq<'a> {
    #[serde(borrow, default)]
    usage: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default)]
    index: u64,
    #[serde(borrow, default)]
    delta: Option<Delta<'a>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow, default)]
    content: Option<Content<'a>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    reasoning: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_calls: Option<Vec<ToolCallDelta<'a>>>,
}

/// `content` is text, or (Mistral reasoning models) a list of typed parts.
enum Content<'a> {
    Text(Cow<'a, str>),
    Parts(Vec<ContentPart<'a>>),
}

/// By hand rather than `#[serde(untagged)]`, which buffers every value and
/// copies every string before it tries the variants: `content` is in almost
/// every chunk.
impl<'de: 'a, 'a> Deserialize<'de> for Content<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ContentVisitor)
    }
}

struct ContentVisitor;

impl<'de> serde::de::Visitor<'de> for ContentVisitor {
    type Value = Content<'de>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("text or a list of content parts")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Content::Text(Cow::Borrowed(text)))
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Content::Text(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(Content::Text(Cow::Owned(text)))
    }

    fn visit_seq<S: serde::de::SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let mut parts = Vec::new();
        while let Some(part) = seq.next_element()? {
            parts.push(part);
        }
        Ok(Content::Parts(parts))
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ContentPart<'a> {
    Text {
        #[serde(borrow)]
        text: Cow<'a, str>,
    },
    Thinking {
        #[serde(borrow)]
        thinking: Vec<ThinkingPart<'a>>,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct ThinkingPart<'a> {
    #[serde(borrow, default)]
    text: Cow<'a, str>,
}

#[derive(Deserialize)]
struct ToolCallDelta<'a> {
    #[serde(default)]
    index: Option<u64>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    function: Option<FunctionDelta<'a>>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
    /// DeepSeek's name for cached input.
    #[serde(default)]
    prompt_cache_hit_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

/// The unified finish reason for an OpenAI `finish_reason`.
pub fn map_finish_reason(raw: &str) -> FinishReason {
    match raw {
        "stop" | "eos" | "end_turn" => FinishReason::Stop,
        "length" | "max_tokens" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        "error" => FinishReason::Error,
        _ => FinishReason::Other,
    }
}

impl StreamHandler for ChatStream {
    fn on_frame(&mut self, frame: Frame<'_>, out: &mut Emitter) -> Result<(), ProviderError> {
        let data = match frame {
            Frame::Sse(event) => event.data,
            Frame::Line(line) | Frame::Json(line) => line,
        };
        if data == "[DONE]" {
            self.done = true;
            self.flush_calls(out);
            return Ok(());
        }
        let chunk: Chunk<'_> =
            serde_json::from_str(data).map_err(|err| ProviderError::invalid_json("chunk", &err, data))?;
        if let Some(error) = chunk.error {
            return Err(classify_error_object(error, None));
        }
        // Azure's first chunk (its prompt filter's verdict) has `"id": ""` and
        // `"model": ""`: not the response's, which come with the next chunk.
        let id = chunk.id.as_deref().filter(|id| !id.is_empty());
        let model = chunk.model.as_deref().filter(|model| !model.is_empty());
        if id.is_some() || model.is_some() {
            out.metadata(id, model, chunk.created);
        }
        for choice in chunk.choices {
            // Only the first choice is a turn's answer; `n > 1` is not supported.
            if choice.index != 0 {
                continue;
            }
            if let Some(delta) = choice.delta {
                self.on_delta(delta, out);
            }
            if let Some(reason) = choice.finish_reason {
                self.flush_calls(out);
                out.finish(map_finish_reason(&reason), Some(reason.into_owned()));
            }
        }
        let usage = chunk.usage.or(chunk.x_groq.and_then(|x| x.usage));
        if let Some(raw) = usage.filter(|raw| raw.get() != "null") {
            out.usage(parse_usage(raw)?);
        }
        Ok(())
    }

    fn on_end(&mut self, out: &mut Emitter) -> Result<(), ProviderError> {
        if !self.done && !out.has_finish() {
            return Err(ProviderError::protocol(
                "the stream ended before `[DONE]` and before any finish_reason: \
                 the upstream connection was cut mid-answer",
            ));
        }
        self.flush_calls(out);
        Ok(())
    }

    fn on_http_error(
        &mut self,
        status: u16,
        headers: &[cordon_sdk::Header],
        body: &[u8],
    ) -> ProviderError {
        classify_http_error(status, headers, body)
    }
}

impl ChatStream {
    fn on_delta(&mut self, delta: Delta<'_>, out: &mut Emitter) {
        if let Some(text) = delta.reasoning_content.or(delta.reasoning) {
            out.reasoning(text.into_owned());
        }
        match delta.content {
            Some(Content::Text(text)) => out.text(text.into_owned()),
            Some(Content::Parts(parts)) => {
                for part in parts {
                    match part {
                        ContentPart::Text { text } => out.text(text.into_owned()),
                        ContentPart::Thinking { thinking } => {
                            for piece in thinking {
                                out.reasoning(piece.text.into_owned());
                            }
                        }
                        ContentPart::Other => {}
                    }
                }
            }
            None => {}
        }
        for (position, call) in delta.tool_calls.into_iter().flatten().enumerate() {
            self.on_tool_call_delta(call, position as u64, out);
        }
    }

    fn on_tool_call_delta(&mut self, delta: ToolCallDelta<'_>, position: u64, out: &mut Emitter) {
        let index = delta.index.unwrap_or(position);
        let (name, fragment) = match delta.function {
            Some(f) => (f.name.unwrap_or_default(), f.arguments.unwrap_or_default()),
            None => (Cow::Borrowed(""), Cow::Borrowed("")),
        };
        let slot = self.slots.iter().find(|(i, _)| *i == index).map(|&(_, at)| at);
        let new_call = match (slot, delta.id.as_deref()) {
            (None, _) => true,
            (Some(at), Some(id)) => !id.is_empty() && self.calls[at].id != id && self.calls[at].started,
            (Some(_), None) => false,
        };
        let at = if new_call {
            let id = match delta.id.as_deref() {
                Some(id) if !id.is_empty() => id.to_owned(),
                _ => format!("call_{}", self.calls.len()),
            };
            self.calls.push(PendingCall {
                id,
                name: String::new(),
                arguments: String::new(),
                started: false,
            });
            let at = self.calls.len() - 1;
            self.slots.retain(|(i, _)| *i != index);
            self.slots.push((index, at));
            at
        } else {
            slot.unwrap_or_default()
        };
        let call = &mut self.calls[at];
        if call.name.is_empty() && !name.is_empty() {
            call.name = name.into_owned();
        }
        call.arguments.push_str(&fragment);
        if !call.started && !call.name.is_empty() {
            call.started = true;
            out.tool_call_start(call.id.clone(), call.name.clone());
            if !call.arguments.is_empty() {
                out.tool_call_delta(call.id.clone(), call.arguments.clone());
            }
        } else if call.started && !fragment.is_empty() {
            out.tool_call_delta(call.id.clone(), fragment.into_owned());
        }
    }

    /// Emit every pending call as complete (once).
    fn flush_calls(&mut self, out: &mut Emitter) {
        if self.flushed {
            return;
        }
        self.flushed = true;
        for call in self.calls.drain(..) {
            let arguments = if call.arguments.trim().is_empty() {
                "{}".to_owned()
            } else {
                call.arguments
            };
            out.tool_call(ToolCall { id: call.id, name: call.name, arguments });
        }
        self.slots.clear();
    }
}

fn parse_usage(raw: &RawValue) -> Result<Usage, ProviderError> {
    let wire: WireUsage = serde_json::from_str(raw.get())
        .map_err(|err| ProviderError::protocol(format!("invalid usage object in the stream: {err}")))?;
    Ok(Usage {
        input_tokens: wire.prompt_tokens,
        output_tokens: wire.completion_tokens,
        cache_read_tokens: wire
            .prompt_tokens_details
            .and_then(|d| d.cached_tokens)
            .or(wire.prompt_cache_hit_tokens),
        cache_write_tokens: None,
        reasoning_tokens: wire.completion_tokens_details.and_then(|d| d.reasoning_tokens),
        raw: Some(raw.get().to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::sse::SseEvent;
    use cordon_sdk::Event;

    fn run(lines: &[&str]) -> (Vec<Event>, Result<(), ProviderError>) {
        let mut stream = ChatStream::default();
        let mut out = Emitter::default();
        for line in lines {
            let frame = Frame::Sse(SseEvent { event: "", data: line, id: None });
            if let Err(e) = stream.on_frame(frame, &mut out) {
                return (out.take_batch(), Err(e));
            }
        }
        let end = stream.on_end(&mut out);
        (out.take_batch(), end)
    }

    fn tool_calls(events: &[Event]) -> Vec<(String, String, String)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::ToolCall(c) => Some((c.id.clone(), c.name.clone(), c.arguments.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_call_at_index_zero_is_split_by_id() {
        let (events, end) = run(&[
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{\"x\":1}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"b","function":{"name":"g","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            "[DONE]",
        ]);
        assert!(end.is_ok());
        assert_eq!(
            tool_calls(&events),
            [("a".into(), "f".into(), "{\"x\":1}".into()), ("b".into(), "g".into(), "{}".into())]
        );
    }

    #[test]
    fn no_tool_call_before_the_provider_says_complete() {
        let (events, end) = run(&[
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{}"}}]}}]}"#,
        ]);
        assert!(tool_calls(&events).is_empty(), "arguments parse, but the call is not complete");
        assert!(end.is_err(), "cut before [DONE]");
    }

    #[test]
    fn azure_filter_chunks_lose_no_text_and_report_the_real_id() {
        let (events, end) = run(&[
            r#"{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}"#,
            r#"{"choices":[{"content_filter_results":{},"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0}],"created":7,"id":"chatcmpl-1","model":"gpt-4o"}"#,
            r#"{"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"delta":{"content":"Hi"},"finish_reason":null,"index":0}],"id":"chatcmpl-1","model":"gpt-4o"}"#,
            r#"{"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"stop","index":0}],"id":"chatcmpl-1","model":"gpt-4o"}"#,
            r#"{"choices":[{"content_filter_offsets":{"check_offset":0,"start_offset":0,"end_offset":2},"content_filter_results":{},"finish_reason":null,"index":0}],"id":"chatcmpl-1","model":"gpt-4o"}"#,
            "[DONE]",
        ]);
        assert!(end.is_ok());
        let metadata: Vec<_> = events.iter().filter_map(|e| if let Event::ResponseMetadata(m) = e { Some(m) } else { None }).collect();
        assert_eq!(metadata.len(), 1);
        assert_eq!((metadata[0].id.as_deref(), metadata[0].model.as_deref()), (Some("chatcmpl-1"), Some("gpt-4o")));
        let text: String = events.iter().filter_map(|e| if let Event::TextDelta(t) = e { Some(t.as_str()) } else { None }).collect();
        assert_eq!(text, "Hi");
    }

    #[test]
    fn mid_stream_error_object_is_classified() {
        let (_, end) = run(&[
            r#"{"choices":[{"index":0,"delta":{"content":"Hi"}}]}"#,
            r#"{"error":{"message":"Rate limit reached","type":"rate_limit_error","code":"rate_limit_exceeded"}}"#,
        ]);
        let error = end.expect_err("an error");
        assert_eq!(error.kind, cordon_sdk::ErrorKind::RateLimited);
        assert!(error.message.contains("Rate limit reached"));
    }
}
