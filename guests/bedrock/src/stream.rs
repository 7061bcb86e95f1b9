//! Parsing ConverseStream's messages (AWS's binary event stream, decoded by the
//! SDK) into normalized events.
//!
//! `event` messages are named by `:event-type`: `messageStart`,
//! `contentBlockStart` / `contentBlockDelta` / `contentBlockStop` (blocks by
//! `contentBlockIndex`; a text block may come without a start, as Nova sends
//! it), `messageStop` with the `stopReason`, and `metadata` with the usage,
//! which comes after `messageStop`. A `toolUse` block's `input` is streamed as
//! JSON text and the call is complete at its `contentBlockStop`. Reasoning
//! comes as `reasoningContent` text, a `signature`, or `redactedContent`
//! (kept opaque). Every payload carries a random-length padding field `p`,
//! which is ignored.
//!
//! A tool the provider runs itself (a `toolUse` of type `server_tool_use`, then
//! the `toolResult` the provider got) is not the host's to run: it is never
//! emitted as a tool call. The contract has no event for such a call, so it is
//! reported in the result's provider metadata, under
//! `{"bedrock": {"serverToolUses": [...]}}`, with its input and a bounded
//! excerpt of its result.
//!
//! `exception` messages (`:exception-type`) and generic `error` messages end
//! the turn with a classified error ([`crate::errors`]).

use std::borrow::Cow;

use cordon_sdk::eventstream::Message;
use cordon_sdk::{
    BodyFraming, Emitter, FinishReason, Frame, Framing, Header, ProviderError, StreamHandler, ToolCall, Usage,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::errors::{classify_exception, classify_http_error, classify_stream_error};

/// The most of a provider-run tool's input or result kept in the metadata, in bytes.
pub const SERVER_TOOL_EXCERPT_BYTES: usize = 8 * 1024;

/// The most provider-run tool uses reported in one turn's metadata.
pub const MAX_SERVER_TOOL_USES: usize = 16;

/// The per-turn stream state.
#[derive(Debug, Default)]
pub struct ConverseStream {
    /// Open content blocks by `contentBlockIndex`.
    blocks: Vec<(u64, Block)>,
    /// A `messageStart` came.
    started: bool,
    /// A `messageStop` came.
    stopped: bool,
    /// Tools the provider ran, for the metadata.
    server_tools: Vec<ServerToolUse>,
    /// Provider-run tool uses beyond [`MAX_SERVER_TOOL_USES`], counted only.
    server_tools_left_out: usize,
}

/// An open content block.
#[derive(Debug)]
enum Block {
    /// Text.
    Text,
    /// Reasoning (its reasoning part is open in the emitter).
    Reasoning,
    /// A call for the host's tool loop.
    ToolUse { id: String, name: String, input: String },
    /// Redacted reasoning (a part of its own: reasoning after it starts another).
    Redacted,
    /// A call the provider runs itself.
    ServerToolUse { id: String, name: String, input: Excerpt },
    /// The result of a call the provider ran.
    ToolResult { tool_use_id: String, status: Option<String>, content: Excerpt },
    /// A started block of a kind this provider does not read.
    Other,
}

/// A tool the provider ran, as reported in the metadata.
#[derive(Debug)]
struct ServerToolUse {
    id: String,
    name: String,
    input: Excerpt,
    result: Option<(Option<String>, Excerpt)>,
}

/// Text kept up to [`SERVER_TOOL_EXCERPT_BYTES`], cut at a character boundary
/// and marked with `…` when there was more.
#[derive(Debug, Default)]
struct Excerpt {
    text: String,
    cut: bool,
}

impl Excerpt {
    fn push(&mut self, more: &str) {
        if self.cut {
            return;
        }
        let room = SERVER_TOOL_EXCERPT_BYTES.saturating_sub(self.text.len());
        if more.len() <= room {
            self.text.push_str(more);
            return;
        }
        let mut end = room;
        while !more.is_char_boundary(end) {
            end = end.saturating_sub(1);
        }
        self.text.push_str(more.get(..end).unwrap_or_default());
        self.text.push('…');
        self.cut = true;
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStart<'a> {
    content_block_index: u64,
    #[serde(borrow, default)]
    start: Start<'a>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Start<'a> {
    #[serde(borrow, default)]
    tool_use: Option<ToolUseStart<'a>>,
    #[serde(borrow, default)]
    tool_result: Option<ToolResultStart<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolUseStart<'a> {
    #[serde(borrow)]
    tool_use_id: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default, rename = "type", deserialize_with = "cordon_sdk::json::borrowed")]
    kind: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolResultStart<'a> {
    #[serde(borrow)]
    tool_use_id: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    status: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockDelta<'a> {
    content_block_index: u64,
    #[serde(borrow)]
    delta: Delta<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delta<'a> {
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_use: Option<ToolUseDelta<'a>>,
    #[serde(borrow, default)]
    reasoning_content: Option<ReasoningDelta<'a>>,
    #[serde(default)]
    tool_result: Option<Vec<ToolResultDelta>>,
}

#[derive(Deserialize)]
struct ToolUseDelta<'a> {
    #[serde(borrow, default)]
    input: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReasoningDelta<'a> {
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    signature: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    redacted_content: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ToolResultDelta {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    json: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStop {
    content_block_index: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageStop<'a> {
    #[serde(borrow)]
    stop_reason: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    usage: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_write_input_tokens: Option<u64>,
}

/// The unified finish reason for a Converse `stopReason`.
pub fn map_stop_reason(raw: &str) -> FinishReason {
    match raw {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "guardrail_intervened" | "content_filtered" => FinishReason::ContentFilter,
        "malformed_model_output" | "malformed_tool_use" => FinishReason::Error,
        _ => FinishReason::Other,
    }
}

/// Parse an event's JSON payload as `T`.
fn parse<'a, T: Deserialize<'a>>(event: &str, payload: &'a [u8]) -> Result<T, ProviderError> {
    serde_json::from_slice(payload)
        .map_err(|err| ProviderError::invalid_json(&format!("`{event}` event"), &err, &String::from_utf8_lossy(payload)))
}

impl StreamHandler for ConverseStream {
    fn body_framing(&self, _declared: Framing) -> BodyFraming {
        BodyFraming::EventStream
    }

    fn on_frame(&mut self, _frame: Frame<'_>, _out: &mut Emitter) -> Result<(), ProviderError> {
        Err(ProviderError::protocol("Bedrock's answer is an AWS event stream, not text frames"))
    }

    fn on_event_message(&mut self, message: Message<'_>, out: &mut Emitter) -> Result<(), ProviderError> {
        match message.string_header(":message-type") {
            Some("event") => {}
            Some("exception") => {
                let name = message.string_header(":exception-type").unwrap_or("unknownException");
                return Err(classify_exception(name, message.payload));
            }
            Some("error") => {
                return Err(classify_stream_error(
                    message.string_header(":error-code"),
                    message.string_header(":error-message"),
                ));
            }
            other => {
                return Err(ProviderError::protocol(format!(
                    "a message of the event stream has `:message-type` {}, not `event`, `exception` or `error`",
                    other.map_or("missing".to_owned(), |t| format!("`{t}`"))
                )));
            }
        }
        let event = message.string_header(":event-type").unwrap_or_default();
        let payload = message.payload;
        match event {
            "messageStart" => {
                // One stream carries one message: a second start means two were
                // spliced together, and their blocks would be mixed.
                if self.started {
                    return Err(ProviderError::protocol(
                        "a second `messageStart` arrived in the stream: the upstream spliced two messages into one \
                         stream, so the turn stops here",
                    ));
                }
                self.started = true;
            }
            "contentBlockStart" => self.start_block(parse(event, payload)?, out),
            "contentBlockDelta" => self.delta(parse(event, payload)?, out)?,
            "contentBlockStop" => self.stop_block(parse::<BlockStop>(event, payload)?.content_block_index, out),
            "messageStop" => {
                let stop: MessageStop<'_> = parse(event, payload)?;
                self.complete_open_calls(out);
                out.finish(map_stop_reason(&stop.stop_reason), Some(stop.stop_reason.into_owned()));
                self.stopped = true;
            }
            "metadata" => {
                if let Some(raw) = parse::<Metadata>(event, payload)?.usage {
                    usage(&raw, out)?;
                }
            }
            // Newer event types (and an empty name) say nothing this provider reads.
            _ => {}
        }
        Ok(())
    }

    fn on_end(&mut self, out: &mut Emitter) -> Result<(), ProviderError> {
        if !self.stopped {
            return Err(ProviderError::protocol(
                "the stream ended before `messageStop`: the upstream connection was cut mid-answer",
            ));
        }
        if !self.server_tools.is_empty() {
            out.provider_metadata(self.server_tool_report());
        }
        Ok(())
    }

    fn on_http_error(&mut self, status: u16, headers: &[Header], body: &[u8]) -> ProviderError {
        classify_http_error(status, headers, body)
    }
}

impl ConverseStream {
    fn block(&mut self, index: u64) -> Option<&mut Block> {
        self.blocks.iter_mut().find(|(i, _)| *i == index).map(|(_, block)| block)
    }

    fn open(&mut self, index: u64, block: Block) {
        self.blocks.retain(|(i, _)| *i != index);
        self.blocks.push((index, block));
    }

    fn start_block(&mut self, start: BlockStart<'_>, out: &mut Emitter) {
        let block = match (start.start.tool_use, start.start.tool_result) {
            (Some(tool), _) if tool.kind.as_deref() == Some("server_tool_use") => Block::ServerToolUse {
                id: tool.tool_use_id.into_owned(),
                name: tool.name.into_owned(),
                input: Excerpt::default(),
            },
            (Some(tool), _) => {
                out.tool_call_start(tool.tool_use_id.to_string(), tool.name.to_string());
                Block::ToolUse { id: tool.tool_use_id.into_owned(), name: tool.name.into_owned(), input: String::new() }
            }
            (None, Some(result)) => Block::ToolResult {
                tool_use_id: result.tool_use_id.into_owned(),
                status: result.status.map(Cow::into_owned),
                content: Excerpt::default(),
            },
            (None, None) => Block::Other,
        };
        self.open(start.content_block_index, block);
    }

    fn delta(&mut self, delta: BlockDelta<'_>, out: &mut Emitter) -> Result<(), ProviderError> {
        let index = delta.content_block_index;
        let delta = delta.delta;
        if let Some(text) = delta.text {
            if self.block(index).is_none() {
                self.open(index, Block::Text);
            }
            out.text(text.into_owned());
        }
        if let Some(reasoning) = delta.reasoning_content {
            self.reasoning(index, reasoning, out);
        }
        if let Some(fragment) = delta.tool_use {
            match self.block(index) {
                Some(Block::ToolUse { id, input, .. }) => {
                    if !fragment.input.is_empty() {
                        input.push_str(&fragment.input);
                        out.tool_call_delta(id.clone(), fragment.input.into_owned());
                    }
                }
                Some(Block::ServerToolUse { input, .. }) => input.push(&fragment.input),
                _ => {
                    return Err(ProviderError::protocol(format!(
                        "a `toolUse` delta for content block {index} came without the block's `contentBlockStart` \
                         (which names the tool)"
                    )));
                }
            }
        }
        if let (Some(parts), Some(Block::ToolResult { content, .. })) = (delta.tool_result, self.block(index)) {
            for part in parts {
                match (part.text, part.json) {
                    (Some(text), _) => content.push(&text),
                    (None, Some(value)) => content.push(&value.to_string()),
                    (None, None) => {}
                }
            }
        }
        Ok(())
    }

    /// Reasoning text, a signature or redacted data for block `index`; the
    /// first of a block opens a reasoning part of its own.
    fn reasoning(&mut self, index: u64, reasoning: ReasoningDelta<'_>, out: &mut Emitter) {
        if let Some(data) = reasoning.redacted_content {
            // Redacted data is a part of its own.
            out.reasoning_redacted(data.into_owned());
            self.open(index, Block::Redacted);
        }
        let text = reasoning.text.filter(|text| !text.is_empty());
        if text.is_none() && reasoning.signature.is_none() {
            return;
        }
        if !matches!(self.block(index), Some(Block::Reasoning)) {
            out.reasoning_block();
            self.open(index, Block::Reasoning);
        }
        if let Some(text) = text {
            out.reasoning(text.into_owned());
        }
        if let Some(signature) = reasoning.signature {
            out.reasoning_signature(signature.into_owned());
        }
    }

    fn stop_block(&mut self, index: u64, out: &mut Emitter) {
        let Some(at) = self.blocks.iter().position(|(i, _)| *i == index) else { return };
        let (_, block) = self.blocks.remove(at);
        self.close(block, out);
    }

    /// The calls still open when the message stops are complete: the stop says so.
    fn complete_open_calls(&mut self, out: &mut Emitter) {
        for (_, block) in std::mem::take(&mut self.blocks) {
            self.close(block, out);
        }
    }

    fn close(&mut self, block: Block, out: &mut Emitter) {
        match block {
            Block::ToolUse { id, name, input } => {
                let arguments = if input.trim().is_empty() { "{}".to_owned() } else { input };
                out.tool_call(ToolCall { id, name, arguments });
            }
            Block::ServerToolUse { id, name, input } => {
                if self.server_tools.len() < MAX_SERVER_TOOL_USES {
                    self.server_tools.push(ServerToolUse { id, name, input, result: None });
                } else {
                    self.server_tools_left_out = self.server_tools_left_out.saturating_add(1);
                }
            }
            Block::ToolResult { tool_use_id, status, content } => {
                if let Some(tool) = self.server_tools.iter_mut().find(|tool| tool.id == tool_use_id) {
                    tool.result = Some((status, content));
                }
            }
            Block::Text | Block::Reasoning | Block::Redacted | Block::Other => {}
        }
    }

    /// The provider metadata reporting the tools the provider ran.
    fn server_tool_report(&self) -> String {
        let uses: Vec<Value> = self
            .server_tools
            .iter()
            .map(|tool| {
                let input = serde_json::from_str::<Value>(&tool.input.text).unwrap_or_else(|_| tool.input.text.clone().into());
                let mut entry = json!({ "id": tool.id, "name": tool.name, "input": input });
                if let Some((status, content)) = &tool.result {
                    entry["result"] = json!({ "status": status, "content": content.text });
                }
                entry
            })
            .collect();
        let mut report = json!({ "serverToolUses": uses });
        if self.server_tools_left_out > 0 {
            report["serverToolUsesLeftOut"] = self.server_tools_left_out.into();
        }
        json!({ "bedrock": report }).to_string()
    }
}

/// A `metadata` event's usage: total input = `inputTokens` + cache reads + cache writes.
fn usage(raw: &Value, out: &mut Emitter) -> Result<(), ProviderError> {
    let wire = TokenUsage::deserialize(raw)
        .map_err(|err| ProviderError::protocol(format!("invalid usage object in the stream: {err}")))?;
    let cached = wire.cache_read_input_tokens.unwrap_or(0).saturating_add(wire.cache_write_input_tokens.unwrap_or(0));
    out.usage(Usage {
        input_tokens: wire.input_tokens.map(|n| n.saturating_add(cached)),
        output_tokens: wire.output_tokens,
        cache_read_tokens: wire.cache_read_input_tokens,
        cache_write_tokens: wire.cache_write_input_tokens,
        reasoning_tokens: None,
        raw: Some(raw.to_string()),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::eventstream::EventStreamDecoder;
    use cordon_sdk::{ErrorKind, Event};
    use std::path::PathBuf;

    /// A message with string headers and `payload`, with real checksums.
    fn frame(headers: &[(&str, &str)], payload: &str) -> Vec<u8> {
        let mut section = Vec::new();
        for (name, value) in headers {
            section.push(u8::try_from(name.len()).expect("short name"));
            section.extend_from_slice(name.as_bytes());
            section.push(7);
            section.extend_from_slice(&u16::try_from(value.len()).expect("short value").to_be_bytes());
            section.extend_from_slice(value.as_bytes());
        }
        let total = u32::try_from(16 + section.len() + payload.len()).expect("small");
        let mut message = total.to_be_bytes().to_vec();
        message.extend_from_slice(&u32::try_from(section.len()).expect("small").to_be_bytes());
        message.extend_from_slice(&crc32fast::hash(&message).to_be_bytes());
        message.extend_from_slice(&section);
        message.extend_from_slice(payload.as_bytes());
        message.extend_from_slice(&crc32fast::hash(&message).to_be_bytes());
        message
    }

    fn event(kind: &str, payload: &str) -> Vec<u8> {
        frame(&[(":event-type", kind), (":content-type", "application/json"), (":message-type", "event")], payload)
    }

    fn exception(kind: &str, payload: &str) -> Vec<u8> {
        frame(&[(":exception-type", kind), (":content-type", "application/json"), (":message-type", "exception")], payload)
    }

    /// Run the handler over `body`; the events, how it ended, and the handler.
    fn run(body: &[u8]) -> (Vec<Event>, Result<(), ProviderError>, ConverseStream) {
        let mut stream = ConverseStream::default();
        let mut out = Emitter::default();
        let mut decoder = EventStreamDecoder::new();
        let result = decoder
            .feed(body, |message| stream.on_event_message(message, &mut out))
            .and_then(|()| decoder.finish().map_err(ProviderError::from))
            .and_then(|()| stream.on_end(&mut out));
        (out.take_batch(), result, stream)
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
    fn the_recorded_tool_use_stream() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/wire/bedrock/nova-micro-text-then-tooluse.eventstream.bin");
        let Ok(body) = std::fs::read(&path) else {
            eprintln!("skipping: {} is absent (the recorded fixtures live outside the repository)", path.display());
            return;
        };
        let (events, result, _) = run(&body);
        result.expect("the recording is a whole answer");
        assert_eq!(tool_calls(&events), [("tooluse_lAG_zP8QRHmSYOwZzzaCqA".to_owned(), "get_temperature".to_owned(), r#"{"city":"Paris"}"#.to_owned())]);
        assert!(events.iter().any(|e| matches!(e, Event::ToolCallStart(s) if s.name == "get_temperature")));
        let Some(Event::Usage(usage)) = events.iter().rfind(|e| matches!(e, Event::Usage(_))) else { panic!("usage") };
        assert_eq!((usage.input_tokens, usage.output_tokens), (Some(471), Some(91)));
    }

    #[test]
    fn text_without_a_block_start_reasoning_with_a_signature_and_cache_usage() {
        let body = [
            event("messageStart", r#"{"p":"abc","role":"assistant"}"#),
            event("contentBlockDelta", r#"{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"Hmm"}},"p":"ab"}"#),
            event("contentBlockDelta", r#"{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"c2ln"}},"p":"a"}"#),
            event("contentBlockStop", r#"{"contentBlockIndex":0,"p":"abcd"}"#),
            event("contentBlockDelta", r#"{"contentBlockIndex":1,"delta":{"reasoningContent":{"redactedContent":"cmVk"}},"p":"a"}"#),
            event("contentBlockStop", r#"{"contentBlockIndex":1,"p":"abcd"}"#),
            event("contentBlockDelta", r#"{"contentBlockIndex":2,"delta":{"text":"Hi"},"p":"abcdef"}"#),
            event("contentBlockDelta", r#"{"contentBlockIndex":2,"delta":{"text":" there"},"p":"a"}"#),
            event("contentBlockStop", r#"{"contentBlockIndex":2,"p":"abcd"}"#),
            event("messageStop", r#"{"stopReason":"max_tokens","p":"ab"}"#),
            event("metadata", r#"{"usage":{"inputTokens":10,"outputTokens":5,"cacheReadInputTokens":100,"cacheWriteInputTokens":7,"totalTokens":122},"metrics":{"latencyMs":9},"p":"a"}"#),
        ]
        .concat();
        let (events, result, _) = run(&body);
        result.expect("whole");
        let text: String = events.iter().filter_map(|e| if let Event::TextDelta(t) = e { Some(t.as_str()) } else { None }).collect();
        assert_eq!(text, "Hi there");
        let reasoning: Vec<_> = events.iter().filter_map(|e| if let Event::ReasoningDelta(r) = e { Some(r) } else { None }).collect();
        assert_eq!(reasoning.len(), 3);
        assert_eq!((reasoning[0].text.as_str(), reasoning[1].signature.as_deref(), reasoning[2].redacted.as_deref()), ("Hmm", Some("c2ln"), Some("cmVk")));
        let Some(Event::Usage(usage)) = events.iter().rfind(|e| matches!(e, Event::Usage(_))) else { panic!("usage") };
        assert_eq!(usage.input_tokens, Some(117), "input + cache read + cache write");
        assert_eq!((usage.cache_read_tokens, usage.cache_write_tokens, usage.output_tokens), (Some(100), Some(7), Some(5)));
        assert!(usage.raw.as_deref().is_some_and(|raw| raw.contains("totalTokens")));
    }

    #[test]
    fn a_provider_run_tool_is_reported_not_handed_to_the_host() {
        let body = [
            event("messageStart", r#"{"role":"assistant","p":"a"}"#),
            event("contentBlockStart", r#"{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"srv_1","name":"nova_grounding","type":"server_tool_use"}},"p":"a"}"#),
            event("contentBlockDelta", r#"{"contentBlockIndex":0,"delta":{"toolUse":{"input":"{\"query\":"}},"p":"a"}"#),
            event("contentBlockDelta", r#"{"contentBlockIndex":0,"delta":{"toolUse":{"input":"\"weather\"}"}},"p":"a"}"#),
            event("contentBlockStop", r#"{"contentBlockIndex":0,"p":"a"}"#),
            event("contentBlockStart", r#"{"contentBlockIndex":1,"start":{"toolResult":{"toolUseId":"srv_1","type":"server_tool_use","status":"success"}},"p":"a"}"#),
            event("contentBlockDelta", r#"{"contentBlockIndex":1,"delta":{"toolResult":[{"text":"Sunny, "},{"json":{"c":21}}]},"p":"a"}"#),
            event("contentBlockStop", r#"{"contentBlockIndex":1,"p":"a"}"#),
            event("contentBlockDelta", r#"{"contentBlockIndex":2,"delta":{"text":"It is sunny."},"p":"a"}"#),
            event("contentBlockStop", r#"{"contentBlockIndex":2,"p":"a"}"#),
            event("messageStop", r#"{"stopReason":"end_turn","p":"a"}"#),
        ]
        .concat();
        let (events, result, stream) = run(&body);
        result.expect("whole");
        assert!(tool_calls(&events).is_empty(), "the provider ran it: no call for the host");
        assert!(!events.iter().any(|e| matches!(e, Event::ToolCallStart(_) | Event::ToolCallDelta(_))));
        let report: Value = serde_json::from_str(&stream.server_tool_report()).expect("JSON");
        assert_eq!(
            report,
            json!({ "bedrock": { "serverToolUses": [{
                "id": "srv_1", "name": "nova_grounding", "input": { "query": "weather" },
                "result": { "status": "success", "content": "Sunny, {\"c\":21}" }
            }] } })
        );
    }

    #[test]
    fn excerpts_are_bounded_at_a_character_boundary() {
        let mut excerpt = Excerpt::default();
        excerpt.push(&"é".repeat(SERVER_TOOL_EXCERPT_BYTES));
        excerpt.push("more");
        assert!(excerpt.cut && excerpt.text.ends_with('…'));
        assert!(excerpt.text.len() <= SERVER_TOOL_EXCERPT_BYTES + '…'.len_utf8());
        assert!(!excerpt.text.contains("more"));
    }

    #[test]
    fn exceptions_in_the_stream_are_classified_errors() {
        let start = event("messageStart", r#"{"role":"assistant","p":"a"}"#);
        let text = event("contentBlockDelta", r#"{"contentBlockIndex":0,"delta":{"text":"Par"},"p":"a"}"#);
        let cases = [
            ("throttlingException", r#"{"message":"Too many requests, please wait before trying again."}"#, ErrorKind::RateLimited),
            ("validationException", r#"{"message":"Input is too long for requested model."}"#, ErrorKind::ContextLengthExceeded),
            ("modelStreamErrorException", r#"{"message":"Model Stream Error","originalStatusCode":500,"originalMessage":"The model stream failed."}"#, ErrorKind::Server),
            ("serviceUnavailableException", r#"{"message":"Bedrock is unable to process your request."}"#, ErrorKind::Server),
            ("internalServerException", r#"{"message":"The server encountered an error."}"#, ErrorKind::Server),
        ];
        for (name, payload, kind) in cases {
            let body = [start.clone(), text.clone(), exception(name, payload)].concat();
            let (events, result, _) = run(&body);
            let error = result.expect_err(name);
            assert_eq!(error.kind, kind, "{name}");
            assert_eq!(error.provider_code.as_deref(), Some(name));
            assert!(events.iter().any(|e| matches!(e, Event::TextDelta(t) if t == "Par")), "output before the exception stays");
        }
        let body = frame(&[(":message-type", "error"), (":error-code", "InternalFailure"), (":error-message", "boom")], "");
        let error = run(&body).1.expect_err("error message");
        assert!(error.message.contains("boom") && error.message.contains("InternalFailure"), "{}", error.message);
    }

    #[test]
    fn broken_streams_are_protocol_errors() {
        let start = event("messageStart", r#"{"role":"assistant"}"#);
        let cases: [(Vec<u8>, &str); 6] = [
            (start.clone(), "before `messageStop`"),
            ([start.clone(), start.clone()].concat(), "second `messageStart`"),
            ([start.clone(), event("contentBlockDelta", r#"{"contentBlockIndex":3,"delta":{"toolUse":{"input":"{}"}}}"#)].concat(), "without the block's `contentBlockStart`"),
            ([start.clone(), event("messageStop", r#"{"stopReason":"#)].concat(), "invalid JSON"),
            (frame(&[(":message-type", "surprise")], "{}"), "`surprise`"),
            ([start.clone(), event("messageStop", r#"{"stopReason":"end_turn"}"#)[..20].to_vec()].concat(), "ended inside a message"),
        ];
        for (body, want) in cases {
            let error = run(&body).1.expect_err(want);
            assert_eq!(error.kind, ErrorKind::StreamProtocol, "{want}");
            assert!(error.message.contains(want), "{want}: {}", error.message);
        }
        let mut corrupt = [start, event("messageStop", r#"{"stopReason":"end_turn"}"#)].concat();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 1;
        let error = run(&corrupt).1.expect_err("bad CRC");
        assert_eq!(error.kind, ErrorKind::StreamProtocol);
        assert!(error.message.contains("CRC-32"), "{}", error.message);
    }

    #[test]
    fn a_call_still_open_at_message_stop_is_completed_and_unknown_events_are_skipped() {
        let body = [
            event("messageStart", r#"{"role":"assistant"}"#),
            event("contentBlockStart", r#"{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"t1","name":"noop"}}}"#),
            event("somethingNew", r#"{"x":1}"#),
            event("messageStop", r#"{"stopReason":"tool_use"}"#),
        ]
        .concat();
        let (events, result, _) = run(&body);
        result.expect("whole");
        assert_eq!(tool_calls(&events), [("t1".to_owned(), "noop".to_owned(), "{}".to_owned())]);
    }

    #[test]
    fn stop_reasons() {
        assert_eq!(map_stop_reason("end_turn"), FinishReason::Stop);
        assert_eq!(map_stop_reason("stop_sequence"), FinishReason::Stop);
        assert_eq!(map_stop_reason("tool_use"), FinishReason::ToolCalls);
        assert_eq!(map_stop_reason("max_tokens"), FinishReason::Length);
        assert_eq!(map_stop_reason("model_context_window_exceeded"), FinishReason::Length);
        assert_eq!(map_stop_reason("guardrail_intervened"), FinishReason::ContentFilter);
        assert_eq!(map_stop_reason("content_filtered"), FinishReason::ContentFilter);
        assert_eq!(map_stop_reason("malformed_tool_use"), FinishReason::Error);
        assert_eq!(map_stop_reason("brand_new"), FinishReason::Other);
    }
}
