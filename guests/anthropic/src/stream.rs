//! Parsing the Messages API stream: `event:`/`data:` SSE events (`message_start`,
//! `content_block_start|delta|stop`, `message_delta`, `message_stop`, `ping`,
//! `error`) into normalized events.
//!
//! Content blocks are tracked by `index`: text, thinking (with its signature),
//! redacted thinking (kept as opaque data), and tool use, whose `input_json_delta`
//! fragments are joined and emitted as a complete call at `content_block_stop`
//! (an empty input is `{}`). Usage: total input = `input_tokens` +
//! `cache_creation_input_tokens` + `cache_read_input_tokens`; `message_delta`
//! carries the cumulative output and sometimes a revised input, which replaces
//! the earlier one.

use std::borrow::Cow;

use cordon_sdk::{Emitter, FinishReason, Frame, Header, ProviderError, StreamHandler, ToolCall, Usage};
use serde::Deserialize;

use crate::errors::{ErrorObject, classify_error_object, classify_http_error};

/// The per-turn stream state.
#[derive(Debug, Default)]
pub struct MessagesStream {
    blocks: Vec<(u64, Block)>,
    input: InputTokens,
    stopped: bool,
    /// The id of the message this stream carries, once `message_start` came.
    message: Option<String>,
}

#[derive(Debug, Default, Clone, Copy)]
struct InputTokens {
    uncached: Option<u64>,
    cache_write: Option<u64>,
    cache_read: Option<u64>,
}

#[derive(Debug)]
enum Block {
    Text,
    Thinking,
    ToolUse { id: String, name: String, input: String },
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event<'a> {
    MessageStart {
        #[serde(borrow)]
        message: Message<'a>,
    },
    ContentBlockStart {
        index: u64,
        #[serde(borrow)]
        content_block: ContentBlock<'a>,
    },
    ContentBlockDelta {
        index: u64,
        #[serde(borrow)]
        delta: Fragment<'a>,
    },
    ContentBlockStop {
        index: u64,
    },
    MessageDelta {
        #[serde(borrow)]
        delta: MessageDeltaBody<'a>,
        #[serde(default)]
        usage: Option<serde_json::Value>,
    },
    MessageStop,
    Ping,
    Error {
        error: ErrorObject,
    },
    #[serde(other)]
    Unknown,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ContentBlock<'a> {
    Text {
        #[serde(borrow, default)]
        text: Cow<'a, str>,
    },
    Thinking {
        #[serde(borrow, default)]
        thinking: Cow<'a, str>,
    },
    RedactedThinking {
        #[serde(borrow, default)]
        data: Cow<'a, str>,
    },
    ToolUse {
        #[serde(borrow)]
        id: Cow<'a, str>,
        #[serde(borrow)]
        name: Cow<'a, str>,
        #[serde(default)]
        input: Option<serde_json::Value>,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Fragment<'a> {
    TextDelta {
        #[serde(borrow)]
        text: Cow<'a, str>,
    },
    ThinkingDelta {
        #[serde(borrow)]
        thinking: Cow<'a, str>,
    },
    SignatureDelta {
        #[serde(borrow)]
        signature: Cow<'a, str>,
    },
    InputJsonDelta {
        #[serde(borrow)]
        partial_json: Cow<'a, str>,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct MessageDeltaBody<'a> {
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    stop_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

/// The unified finish reason for an Anthropic `stop_reason`.
pub fn map_stop_reason(raw: &str) -> FinishReason {
    match raw {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        _ => FinishReason::Other,
    }
}

impl StreamHandler for MessagesStream {
    fn on_frame(&mut self, frame: Frame<'_>, out: &mut Emitter) -> Result<(), ProviderError> {
        let data = match frame {
            Frame::Sse(event) => event.data,
            Frame::Line(line) | Frame::Json(line) => line,
        };
        let event: Event<'_> =
            serde_json::from_str(data).map_err(|err| ProviderError::invalid_json("event", &err, data))?;
        match event {
            Event::MessageStart { message } => {
                // One stream carries one message. A second `message_start` means
                // two streams were spliced together (a proxy, a retry gone
                // wrong): mixing them would tie the second message's blocks to
                // the first's, so the turn stops with what was already streamed.
                if let Some(first) = &self.message {
                    return Err(ProviderError::protocol(format!(
                        "a second `message_start` ({}) arrived in the stream of message `{first}`: the upstream \
                         spliced two messages into one stream, so the turn stops here",
                        message.id.as_deref().unwrap_or("without an id")
                    )));
                }
                self.message = Some(message.id.as_deref().unwrap_or("without an id").to_owned());
                out.metadata(message.id.as_deref(), message.model.as_deref(), None);
                if let Some(raw) = message.usage {
                    self.usage(&raw, out)?;
                }
            }
            Event::ContentBlockStart { index, content_block } => self.start_block(index, content_block, out),
            Event::ContentBlockDelta { index, delta } => self.delta(index, delta, out),
            Event::ContentBlockStop { index } => self.stop_block(index, out),
            Event::MessageDelta { delta, usage } => {
                if let Some(raw) = usage {
                    self.usage(&raw, out)?;
                }
                if let Some(reason) = delta.stop_reason {
                    out.finish(map_stop_reason(&reason), Some(reason.into_owned()));
                }
            }
            Event::MessageStop => self.stopped = true,
            Event::Ping | Event::Unknown => {}
            Event::Error { error } => {
                let mut error = classify_error_object(error, None);
                error.message = format!("Anthropic reported mid-stream: {}", error.message);
                return Err(error);
            }
        }
        Ok(())
    }

    fn on_end(&mut self, out: &mut Emitter) -> Result<(), ProviderError> {
        if !self.stopped && !out.has_finish() {
            return Err(ProviderError::protocol(
                "the stream ended before `message_stop` and before a stop_reason: the upstream connection was cut mid-answer",
            ));
        }
        Ok(())
    }

    fn on_http_error(&mut self, status: u16, headers: &[Header], body: &[u8]) -> ProviderError {
        classify_http_error(status, headers, body)
    }
}

impl MessagesStream {
    fn block(&mut self, index: u64) -> Option<&mut Block> {
        self.blocks.iter_mut().find(|(i, _)| *i == index).map(|(_, block)| block)
    }

    fn start_block(&mut self, index: u64, block: ContentBlock<'_>, out: &mut Emitter) {
        let block = match block {
            ContentBlock::Text { text } => {
                out.text(text.into_owned());
                Block::Text
            }
            ContentBlock::Thinking { thinking } => {
                out.reasoning_block();
                out.reasoning(thinking.into_owned());
                Block::Thinking
            }
            ContentBlock::RedactedThinking { data } => {
                out.reasoning_redacted(data.into_owned());
                Block::Other
            }
            ContentBlock::ToolUse { id, name, input } => {
                out.tool_call_start(id.to_string(), name.to_string());
                // The start carries `{}`; the arguments come as input_json_delta fragments.
                let prefilled = match input {
                    Some(serde_json::Value::Object(map)) if !map.is_empty() => serde_json::Value::Object(map).to_string(),
                    _ => String::new(),
                };
                Block::ToolUse { id: id.into_owned(), name: name.into_owned(), input: prefilled }
            }
            ContentBlock::Other => Block::Other,
        };
        self.blocks.retain(|(i, _)| *i != index);
        self.blocks.push((index, block));
    }

    fn delta(&mut self, index: u64, delta: Fragment<'_>, out: &mut Emitter) {
        match (self.block(index), delta) {
            (Some(Block::Text), Fragment::TextDelta { text }) => out.text(text.into_owned()),
            (Some(Block::Thinking), Fragment::ThinkingDelta { thinking }) => out.reasoning(thinking.into_owned()),
            (Some(Block::Thinking), Fragment::SignatureDelta { signature }) => {
                out.reasoning_signature(signature.into_owned());
            }
            (Some(Block::ToolUse { id, input, .. }), Fragment::InputJsonDelta { partial_json })
                if !partial_json.is_empty() =>
            {
                input.push_str(&partial_json);
                out.tool_call_delta(id.clone(), partial_json.into_owned());
            }
            _ => {}
        }
    }

    fn stop_block(&mut self, index: u64, out: &mut Emitter) {
        let Some(at) = self.blocks.iter().position(|(i, _)| *i == index) else { return };
        let (_, block) = self.blocks.remove(at);
        if let Block::ToolUse { id, name, input } = block {
            let arguments = if input.trim().is_empty() { "{}".to_owned() } else { input };
            out.tool_call(ToolCall { id, name, arguments });
        }
    }

    fn usage(&mut self, raw: &serde_json::Value, out: &mut Emitter) -> Result<(), ProviderError> {
        let wire = WireUsage::deserialize(raw)
            .map_err(|err| ProviderError::protocol(format!("invalid usage object in the stream: {err}")))?;
        let input = &mut self.input;
        input.uncached = wire.input_tokens.or(input.uncached);
        input.cache_write = wire.cache_creation_input_tokens.or(input.cache_write);
        input.cache_read = wire.cache_read_input_tokens.or(input.cache_read);
        let total = input
            .uncached
            .map(|n| n + input.cache_write.unwrap_or(0) + input.cache_read.unwrap_or(0));
        out.usage(Usage {
            input_tokens: total,
            output_tokens: wire.output_tokens,
            cache_read_tokens: input.cache_read,
            cache_write_tokens: input.cache_write,
            reasoning_tokens: None,
            raw: Some(raw.to_string()),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::sse::SseEvent;
    use cordon_sdk::{ErrorKind, Event as Out};

    fn run(lines: &[&str]) -> (Vec<Out>, Result<(), ProviderError>) {
        let mut stream = MessagesStream::default();
        let mut out = Emitter::default();
        for line in lines {
            if let Err(e) = stream.on_frame(Frame::Sse(SseEvent { event: "", data: line, id: None }), &mut out) {
                return (out.take_batch(), Err(e));
            }
        }
        let end = stream.on_end(&mut out);
        (out.take_batch(), end)
    }

    #[test]
    fn tool_use_with_fragments_and_cache_usage() {
        let (events, end) = run(&[
            r#"{"type":"message_start","message":{"id":"msg_1","model":"claude","usage":{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":100,"output_tokens":1}}}"#,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"get","input":{}}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"1}"}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":20}}"#,
            r#"{"type":"message_stop"}"#,
        ]);
        assert!(end.is_ok());
        let calls: Vec<_> = events.iter().filter_map(|e| if let Out::ToolCall(c) = e { Some(c) } else { None }).collect();
        assert_eq!(calls.len(), 1);
        assert_eq!((calls[0].id.as_str(), calls[0].arguments.as_str()), ("toolu_1", r#"{"a":1}"#));
        let Some(Out::Usage(usage)) = events.iter().rfind(|e| matches!(e, Out::Usage(_))) else { panic!("usage") };
        assert_eq!(usage.input_tokens, Some(115), "input + cache write + cache read");
        assert_eq!(usage.output_tokens, Some(20));
        assert_eq!(usage.cache_read_tokens, Some(100));
        assert_eq!(usage.cache_write_tokens, Some(5));
    }

    #[test]
    fn overloaded_error_event_is_retryable() {
        let (_, end) = run(&[
            r#"{"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":1}}}"#,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        ]);
        let error = end.expect_err("error");
        assert_eq!(error.kind, ErrorKind::Overloaded);
        assert!(error.retryable);
    }

    #[test]
    fn redacted_thinking_is_kept_opaque() {
        let (events, end) = run(&[
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"redacted_thinking","data":"EnCrYpTeD"}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"}}"#,
        ]);
        assert!(end.is_ok());
        assert!(events.iter().any(|e| matches!(e, Out::ReasoningDelta(r) if r.redacted.as_deref() == Some("EnCrYpTeD"))));
    }

    #[test]
    fn cut_stream_is_a_protocol_error() {
        let (_, end) = run(&[r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#]);
        assert_eq!(end.expect_err("cut").kind, ErrorKind::StreamProtocol);
    }
}
