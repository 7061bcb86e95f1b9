//! Parsing the v2 Chat stream into normalized events. Each server-sent event
//! carries one JSON object whose `type` names it; Cohere names it in an
//! `event:` line too, and either is enough (the JSON's wins).
//!
//! - `message-start`: the response id.
//! - `content-start` / `content-delta` / `content-end`: a content block, by
//!   `index`, of `text` (answer text) or `thinking` (reasoning).
//! - `tool-plan-delta`: the model's words before it calls tools; reasoning,
//!   not answer text.
//! - `tool-call-start` / `tool-call-delta` / `tool-call-end`: a call, by
//!   `index`, its arguments streamed as JSON text; complete at its end (empty
//!   or `null` arguments are `{}`).
//! - `citation-start` / `citation-end`: the spans of the answer a source backs.
//!   The contract has no event for them: they are kept, as Cohere sends them,
//!   in the result's provider metadata under `{"cohere": {"citations": [...]}}`
//!   (up to [`CITATION_BYTES`]; the number left out beyond it is
//!   `citationsLeftOut`).
//! - `message-end`: the finish reason and the usage: input tokens are
//!   `usage.tokens.input_tokens` (all input, cached included; `billed_units`
//!   counts only what is billed), output `usage.tokens.output_tokens`, cache
//!   reads `usage.cached_tokens`. An `error` text beside an `ERROR` finish is
//!   kept in the provider metadata as `{"cohere": {"error": ...}}`.
//!
//! Events of other types (`debug`, new ones) are skipped. A stream that ends
//! before `message-end` was cut short: a stream-protocol error.

use std::borrow::Cow;

use cordon_sdk::errors::excerpt;
use cordon_sdk::openai_shapes::FunctionDelta;
use cordon_sdk::{Emitter, FinishReason, Frame, Header, ProviderError, StreamHandler, ToolCall, Usage};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Number, Value, json};

use crate::errors::classify_http_error;

/// The most citation JSON kept for the provider metadata, in bytes (the host
/// keeps at most one event's size of metadata, 1 MiB by default).
pub const CITATION_BYTES: usize = 256 * 1024;

/// The per-turn stream state.
#[derive(Debug, Default)]
pub struct ChatStream {
    /// Calls started and not yet complete, by `index`.
    calls: Vec<(u64, PendingCall)>,
    /// A `message-end` came.
    ended: bool,
    /// Citations as Cohere sent them, up to [`CITATION_BYTES`].
    citations: Vec<Box<RawValue>>,
    citation_bytes: usize,
    citations_left_out: usize,
    /// The `error` text of a `message-end`.
    error: Option<String>,
}

#[derive(Debug)]
struct PendingCall {
    id: String,
    name: String,
    arguments: String,
}

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow, default, rename = "type", deserialize_with = "cordon_sdk::json::borrowed")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    id: Option<Cow<'a, str>>,
    #[serde(default)]
    index: Option<u64>,
    #[serde(borrow, default)]
    delta: Option<Delta<'a>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow, default)]
    message: Option<MessageDelta<'a>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    finish_reason: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    usage: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    error: Option<Cow<'a, str>>,
}

/// `delta.message`. `content` and `tool_calls` are lists in `message-start`
/// and objects in the events of one block, so each is read by the event that
/// knows which.
#[derive(Deserialize)]
struct MessageDelta<'a> {
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    tool_plan: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_calls: Option<&'a RawValue>,
    #[serde(borrow, default)]
    citations: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ContentDelta<'a> {
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    thinking: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct CallDelta<'a> {
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    function: Option<FunctionDelta<'a>>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    tokens: Option<Tokens>,
    #[serde(default)]
    cached_tokens: Option<Number>,
}

/// Token counts. Cohere's SDKs type them as floats: `12.0` is read as 12.
#[derive(Deserialize)]
struct Tokens {
    #[serde(default)]
    input_tokens: Option<Number>,
    #[serde(default)]
    output_tokens: Option<Number>,
}

/// A count as a whole number; a fraction or a negative number is no count.
fn count(number: Option<Number>) -> Option<u64> {
    let number = number?;
    number.as_u64().or_else(|| {
        let float = number.as_f64()?;
        (float >= 0.0 && float.fract() == 0.0 && float <= u64::MAX as f64).then_some(float as u64)
    })
}

/// The unified finish reason for a Cohere `finish_reason`. A generation that
/// timed out did not end as the model meant it to: an error, as `ERROR` is.
pub fn map_finish_reason(raw: &str) -> FinishReason {
    match raw {
        "COMPLETE" | "STOP_SEQUENCE" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "TOOL_CALL" => FinishReason::ToolCalls,
        "ERROR" | "TIMEOUT" => FinishReason::Error,
        _ => FinishReason::Other,
    }
}

/// Read a part of an event the event's type says must be there.
fn part<'a, T: Deserialize<'a>>(raw: Option<&'a RawValue>, kind: &str, what: &str) -> Result<T, ProviderError> {
    let raw = raw.ok_or_else(|| ProviderError::protocol(format!("a `{kind}` event without {what}")))?;
    serde_json::from_str(raw.get())
        .map_err(|err| ProviderError::protocol(format!("the {what} of a `{kind}` event is malformed ({err})")))
}

impl StreamHandler for ChatStream {
    fn on_frame(&mut self, frame: Frame<'_>, out: &mut Emitter) -> Result<(), ProviderError> {
        let (named, data) = match frame {
            Frame::Sse(event) => (event.event, event.data),
            Frame::Line(line) | Frame::Json(line) => ("", line),
        };
        if data.trim().is_empty() {
            return Ok(());
        }
        let chunk: Chunk<'_> = serde_json::from_str(data).map_err(|err| ProviderError::invalid_json("event", &err, data))?;
        let kind = chunk.kind.as_deref().filter(|kind| !kind.is_empty()).unwrap_or(named);
        let message = chunk.delta.as_ref().and_then(|delta| delta.message.as_ref());
        match kind {
            "message-start" => {
                if let Some(id) = chunk.id.as_deref() {
                    out.metadata(Some(id), None, None);
                }
            }
            "content-start" | "content-delta" => {
                let content: ContentDelta<'_> = part(message.and_then(|m| m.content), kind, "content")?;
                out.reasoning(content.thinking.unwrap_or_default().into_owned());
                out.text(content.text.unwrap_or_default().into_owned());
            }
            "tool-plan-delta" => {
                if let Some(plan) = message.and_then(|m| m.tool_plan.as_deref()) {
                    out.reasoning(plan.to_owned());
                }
            }
            "tool-call-start" => {
                let call: CallDelta<'_> = part(message.and_then(|m| m.tool_calls), kind, "tool call")?;
                self.start_call(chunk.index.unwrap_or(self.calls.len() as u64), call, out);
            }
            "tool-call-delta" => {
                let call: CallDelta<'_> = part(message.and_then(|m| m.tool_calls), kind, "tool call")?;
                self.continue_call(chunk.index, call, out)?;
            }
            "tool-call-end" => self.end_call(chunk.index, out)?,
            "citation-start" => {
                if let Some(citation) = message.and_then(|m| m.citations) {
                    self.keep_citation(citation);
                }
            }
            "message-end" => {
                let delta = chunk.delta.ok_or_else(|| ProviderError::protocol("a `message-end` event without its delta"))?;
                self.end_message(delta, out)?;
            }
            "" => {
                return Err(ProviderError::protocol(format!(
                    "an event that names no type (no `type` field and no `event:` line): {}",
                    excerpt(data.as_bytes())
                )));
            }
            // `content-end`, `citation-end`, `debug` and types this provider does not know.
            _ => {}
        }
        Ok(())
    }

    fn on_end(&mut self, out: &mut Emitter) -> Result<(), ProviderError> {
        if !self.ended {
            return Err(ProviderError::protocol(
                "the stream ended before `message-end`: the upstream connection was cut mid-answer",
            ));
        }
        if let Some(metadata) = self.metadata() {
            out.provider_metadata(metadata.to_string());
        }
        Ok(())
    }

    fn on_http_error(&mut self, status: u16, headers: &[Header], body: &[u8]) -> ProviderError {
        classify_http_error(status, headers, body)
    }
}

impl ChatStream {
    fn start_call(&mut self, index: u64, call: CallDelta<'_>, out: &mut Emitter) {
        // A new call at an index still open: the open one is complete.
        if self.calls.iter().any(|(at, _)| *at == index) {
            self.complete(index, out);
        }
        let id = match call.id.as_deref() {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => format!("cohere_call_{index}"),
        };
        let (name, arguments) = match call.function {
            Some(function) => (function.name.unwrap_or_default(), function.arguments.unwrap_or_default()),
            None => (Cow::Borrowed(""), Cow::Borrowed("")),
        };
        out.tool_call_start(id.clone(), name.clone().into_owned());
        if !arguments.is_empty() {
            out.tool_call_delta(id.clone(), arguments.clone().into_owned());
        }
        let pending = PendingCall { id, name: name.into_owned(), arguments: arguments.into_owned() };
        self.calls.push((index, pending));
    }

    fn continue_call(&mut self, index: Option<u64>, call: CallDelta<'_>, out: &mut Emitter) -> Result<(), ProviderError> {
        let at = self.open_call(index, "tool-call-delta")?;
        let fragment = call.function.and_then(|f| f.arguments).unwrap_or_default();
        if let (Some((_, pending)), false) = (self.calls.get_mut(at), fragment.is_empty()) {
            pending.arguments.push_str(&fragment);
            out.tool_call_delta(pending.id.clone(), fragment.into_owned());
        }
        Ok(())
    }

    fn end_call(&mut self, index: Option<u64>, out: &mut Emitter) -> Result<(), ProviderError> {
        let at = self.open_call(index, "tool-call-end")?;
        if let Some((index, _)) = self.calls.get(at) {
            self.complete(*index, out);
        }
        Ok(())
    }

    /// Where in `calls` the open call at `index` is (without an index, the last one started).
    fn open_call(&self, index: Option<u64>, kind: &str) -> Result<usize, ProviderError> {
        let found = match index {
            Some(index) => self.calls.iter().position(|(at, _)| *at == index),
            None => self.calls.len().checked_sub(1),
        };
        found.ok_or_else(|| {
            let index = index.map_or_else(|| "without an index".to_owned(), |index| format!("for index {index}"));
            ProviderError::protocol(format!("a `{kind}` event {index} came before its `tool-call-start`"))
        })
    }

    /// Emit the call at `index` as complete.
    fn complete(&mut self, index: u64, out: &mut Emitter) {
        let Some(at) = self.calls.iter().position(|(open, _)| *open == index) else { return };
        let (_, call) = self.calls.remove(at);
        let arguments = match call.arguments.trim() {
            "" | "null" => "{}".to_owned(),
            _ => call.arguments,
        };
        out.tool_call(ToolCall { id: call.id, name: call.name, arguments });
    }

    fn keep_citation(&mut self, citation: &RawValue) {
        let size = citation.get().len();
        if self.citation_bytes.saturating_add(size) > CITATION_BYTES {
            self.citations_left_out = self.citations_left_out.saturating_add(1);
            return;
        }
        self.citation_bytes += size;
        self.citations.push(citation.to_owned());
    }

    fn end_message(&mut self, delta: Delta<'_>, out: &mut Emitter) -> Result<(), ProviderError> {
        // The message is over: a call Cohere did not close is as complete as it will be.
        while let Some(&(index, _)) = self.calls.first() {
            self.complete(index, out);
        }
        if let Some(raw) = delta.usage {
            out.usage(parse_usage(raw)?);
        }
        let reason = delta.finish_reason.map(Cow::into_owned);
        out.finish(reason.as_deref().map_or(FinishReason::Other, map_finish_reason), reason);
        self.error = delta.error.map(Cow::into_owned).filter(|error| !error.is_empty());
        self.ended = true;
        Ok(())
    }

    /// The provider metadata: citations and a `message-end`'s error, if any came.
    fn metadata(&self) -> Option<Value> {
        let mut cohere = serde_json::Map::new();
        if !self.citations.is_empty() {
            cohere.insert("citations".into(), json!(self.citations));
        }
        if self.citations_left_out > 0 {
            cohere.insert("citationsLeftOut".into(), self.citations_left_out.into());
        }
        if let Some(error) = &self.error {
            cohere.insert("error".into(), error.as_str().into());
        }
        (!cohere.is_empty()).then(|| json!({ "cohere": cohere }))
    }
}

fn parse_usage(raw: &RawValue) -> Result<Usage, ProviderError> {
    let wire: WireUsage = serde_json::from_str(raw.get())
        .map_err(|err| ProviderError::protocol(format!("invalid usage object in `message-end` ({err})")))?;
    let (input, output) = match wire.tokens {
        Some(tokens) => (count(tokens.input_tokens), count(tokens.output_tokens)),
        None => (None, None),
    };
    Ok(Usage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: count(wire.cached_tokens),
        cache_write_tokens: None,
        reasoning_tokens: None,
        raw: Some(raw.get().to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::sse::SseEvent;
    use cordon_sdk::{Event, joined_reasoning as reasoning, joined_text as text, tool_calls};

    /// Feed `events` (`(event: line, data)`) and end the stream.
    fn run_named(events: &[(&str, &str)]) -> (Vec<Event>, Result<(), ProviderError>, Emitter) {
        let mut stream = ChatStream::default();
        let mut out = Emitter::default();
        for (name, data) in events {
            let frame = Frame::Sse(SseEvent { event: name, data, id: None });
            if let Err(error) = stream.on_frame(frame, &mut out) {
                return (out.take_batch(), Err(error), out);
            }
        }
        let end = stream.on_end(&mut out);
        (out.take_batch(), end, out)
    }

    fn run(lines: &[&str]) -> (Vec<Event>, Result<(), ProviderError>, Emitter) {
        let named: Vec<(&str, &str)> = lines.iter().map(|line| ("", *line)).collect();
        run_named(&named)
    }

    fn calls(events: &[Event]) -> Vec<(String, String, String)> {
        tool_calls(events).into_iter().map(|c| (c.id.clone(), c.name.clone(), c.arguments.clone())).collect()
    }

    fn finish_and_usage(out: Emitter) -> (cordon_sdk::Finish, Usage, Option<String>) {
        let result = out.into_result().expect("no failure");
        (result.finish, result.usage, result.provider_metadata)
    }

    const START: &str = r#"{"id":"resp-1","type":"message-start","delta":{"message":{"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}}"#;

    fn message_end(reason: &str) -> String {
        format!(
            r#"{{"type":"message-end","delta":{{"finish_reason":"{reason}","usage":{{"billed_units":{{"input_tokens":3,"output_tokens":2}},"tokens":{{"input_tokens":40,"output_tokens":5}},"cached_tokens":32}}}}}}"#
        )
    }

    /// A `content-start` (`delta` false) or `content-delta` of a `kind` block (`text` or `thinking`).
    fn content(delta: bool, index: u64, kind: &str, text: &str) -> String {
        match delta {
            false => json!({ "type": "content-start", "index": index, "delta": { "message": { "content": { "type": kind, kind: text } } } }),
            true => json!({ "type": "content-delta", "index": index, "delta": { "message": { "content": { kind: text } } } }),
        }
        .to_string()
    }

    #[test]
    fn text_usage_from_tokens_not_billed_units_and_the_finish() {
        let lines = [
            START.to_owned(),
            content(false, 0, "text", ""),
            content(true, 0, "text", "Hello"),
            content(true, 0, "text", ", \"world\""),
            r#"{"type":"content-end","index":0}"#.to_owned(),
            message_end("COMPLETE"),
        ];
        let (events, result, out) = run(&lines.iter().map(String::as_str).collect::<Vec<_>>());
        result.expect("a whole stream");
        assert_eq!(text(&events), "Hello, \"world\"");
        assert!(reasoning(&events).is_empty());
        assert!(events.iter().any(|e| matches!(e, Event::ResponseMetadata(m) if m.id.as_deref() == Some("resp-1"))));
        let (finish, usage, metadata) = finish_and_usage(out);
        assert_eq!((finish.reason, finish.raw.as_deref()), (FinishReason::Stop, Some("COMPLETE")));
        assert_eq!((usage.input_tokens, usage.output_tokens, usage.cache_read_tokens), (Some(40), Some(5), Some(32)));
        assert!(usage.raw.is_some_and(|raw| raw.contains("billed_units")));
        assert_eq!(metadata, None, "no citations, no error");
    }

    #[test]
    fn thinking_and_the_tool_plan_are_reasoning() {
        let thinking = [content(false, 0, "thinking", ""), content(true, 0, "thinking", "The user wants"), content(true, 0, "thinking", " the weather.")];
        let end = message_end("TOOL_CALL");
        let (events, result, out) = run(&[
            START,
            &thinking[0],
            &thinking[1],
            &thinking[2],
            r#"{"type":"content-end","index":0}"#,
            r#"{"type":"tool-plan-delta","delta":{"message":{"tool_plan":" I will call"}}}"#,
            r#"{"type":"tool-plan-delta","delta":{"message":{"tool_plan":" the tool."}}}"#,
            r#"{"type":"tool-call-start","index":0,"delta":{"message":{"tool_calls":{"id":"weather_1","type":"function","function":{"name":"weather","arguments":""}}}}}"#,
            r#"{"type":"tool-call-delta","index":0,"delta":{"message":{"tool_calls":{"function":{"arguments":"{\"city\":"}}}}}"#,
            r#"{"type":"tool-call-delta","index":0,"delta":{"message":{"tool_calls":{"function":{"arguments":" \"Paris\"}"}}}}}"#,
            r#"{"type":"tool-call-end","index":0}"#,
            &end,
        ]);
        result.expect("a whole stream");
        assert_eq!(reasoning(&events), "The user wants the weather. I will call the tool.");
        assert!(text(&events).is_empty(), "neither the thinking nor the plan is answer text");
        assert_eq!(calls(&events), [("weather_1".to_owned(), "weather".to_owned(), r#"{"city": "Paris"}"#.to_owned())]);
        let position = |wanted: fn(&Event) -> bool| events.iter().position(wanted).expect("the event");
        let start = position(|e| matches!(e, Event::ToolCallStart(_)));
        let delta = position(|e| matches!(e, Event::ToolCallDelta(_)));
        let call = position(|e| matches!(e, Event::ToolCall(_)));
        assert!(start < delta && delta < call, "start, deltas, then the call");
        assert_eq!(finish_and_usage(out).0.reason, FinishReason::ToolCalls);
    }

    #[test]
    fn a_call_is_complete_only_at_its_end_and_empty_arguments_are_an_object() {
        let start = r#"{"type":"tool-call-start","index":0,"delta":{"message":{"tool_calls":{"id":"now_1","type":"function","function":{"name":"now","arguments":"{}"}}}}}"#;
        let (events, result, _) = run(&[START, start]);
        assert!(calls(&events).is_empty(), "the arguments parse, but the call has not ended");
        assert_eq!(result.expect_err("cut").kind, cordon_sdk::ErrorKind::StreamProtocol);

        let end = message_end("TOOL_CALL");
        for arguments in ["", "null"] {
            let start = format!(
                r#"{{"type":"tool-call-start","index":0,"delta":{{"message":{{"tool_calls":{{"id":"now_1","type":"function","function":{{"name":"now","arguments":"{arguments}"}}}}}}}}}}"#
            );
            let (events, result, _) = run(&[START, &start, r#"{"type":"tool-call-end","index":0}"#, &end]);
            result.expect("a whole stream");
            assert_eq!(calls(&events), [("now_1".to_owned(), "now".to_owned(), "{}".to_owned())], "{arguments:?}");
        }
        let (events, result, _) = run(&[START, &start_without_id(), &end]);
        result.expect("message-end completes an open call");
        assert_eq!(calls(&events), [("cohere_call_3".to_owned(), "f".to_owned(), "{\"a\":1}".to_owned())]);
    }

    fn start_without_id() -> String {
        r#"{"type":"tool-call-start","index":3,"delta":{"message":{"tool_calls":{"type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}}}}"#.to_owned()
    }

    #[test]
    fn the_type_may_come_from_the_event_line_alone() {
        let (events, result, out) = run_named(&[
            ("message-start", r#"{"id":"r2","delta":{"message":{"role":"assistant"}}}"#),
            ("content-delta", r#"{"index":0,"delta":{"message":{"content":{"text":"Hi"}}}}"#),
            ("tool-plan-delta", r#"{"type":"content-delta","index":0,"delta":{"message":{"content":{"text":" there"}}}}"#),
            ("message-end", r#"{"delta":{"finish_reason":"MAX_TOKENS","usage":{"tokens":{"input_tokens":12.0,"output_tokens":4}}}}"#),
        ]);
        result.expect("a whole stream");
        assert_eq!(text(&events), "Hi there", "the JSON's type wins over the event line");
        let (finish, usage, _) = finish_and_usage(out);
        assert_eq!(finish.reason, FinishReason::Length);
        assert_eq!((usage.input_tokens, usage.output_tokens, usage.cache_read_tokens), (Some(12), Some(4), None));
    }

    #[test]
    fn citations_and_an_error_text_go_to_the_provider_metadata() {
        let citation = r#"{"start":21,"end":40,"text":"automation of tasks","sources":[{"type":"document","id":"doc:0","document":{"id":"doc:0","text":"AI provides automation of tasks","title":"benefits.txt"}}],"type":"TEXT_CONTENT"}"#;
        let citation_start = format!(r#"{{"type":"citation-start","index":0,"delta":{{"message":{{"citations":{citation}}}}}}}"#);
        let end = r#"{"type":"message-end","delta":{"finish_reason":"ERROR","error":"the model failed mid-answer","usage":{"tokens":{"input_tokens":9,"output_tokens":1}}}}"#;
        let (_, result, out) = run(&[START, &citation_start, r#"{"type":"citation-end","index":0}"#, end]);
        result.expect("a whole stream");
        let (finish, _, metadata) = finish_and_usage(out);
        assert_eq!((finish.reason, finish.raw.as_deref()), (FinishReason::Error, Some("ERROR")));
        let metadata: Value = serde_json::from_str(&metadata.expect("metadata")).expect("JSON");
        let want: Value = serde_json::from_str(citation).expect("JSON");
        assert_eq!(metadata, json!({ "cohere": { "citations": [want], "error": "the model failed mid-answer" } }));
    }

    #[test]
    fn citations_beyond_the_budget_are_counted() {
        let big = format!(r#"{{"start":0,"end":1,"text":"x","sources":[{{"type":"document","document":{{"text":"{}"}}}}]}}"#, "a".repeat(100 * 1024));
        let citation_start = format!(r#"{{"type":"citation-start","index":0,"delta":{{"message":{{"citations":{big}}}}}}}"#);
        let end = message_end("COMPLETE");
        let (_, result, out) = run(&[START, &citation_start, &citation_start, &citation_start, &end]);
        result.expect("a whole stream");
        let metadata: Value = serde_json::from_str(&finish_and_usage(out).2.expect("metadata")).expect("JSON");
        assert_eq!(metadata["cohere"]["citations"].as_array().map(Vec::len), Some(2));
        assert_eq!(metadata["cohere"]["citationsLeftOut"], 1);
    }

    #[test]
    fn malformed_streams_are_protocol_errors() {
        let delta = r#"{"type":"tool-call-delta","index":1,"delta":{"message":{"tool_calls":{"function":{"arguments":"{"}}}}}"#;
        let cases = [
            (vec![START, delta], "before its `tool-call-start`"),
            (vec![START, r#"{"type":"tool-call-end"}"#], "without an index"),
            (vec![START, r#"{"type":"content-delta","index":0,"delta":{"message":{}}}"#], "without content"),
            (vec![START, r#"{"type":"content-delta","index":0,"delta":{"message":{"content":[1]}}}"#], "malformed"),
            (vec![START, r#"{"index":0}"#], "names no type"),
            (vec![START, "{not json"], "invalid JSON"),
            (vec![START, r#"{"type":"message-end"}"#], "without its delta"),
            (vec![START, r#"{"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"tokens":"x"}}}"#], "usage"),
            (vec![START], "before `message-end`"),
        ];
        for (lines, needle) in cases {
            let (_, result, _) = run(&lines);
            let error = result.expect_err(needle);
            assert_eq!(error.kind, cordon_sdk::ErrorKind::StreamProtocol, "{needle}");
            assert!(error.message.contains(needle), "{needle}: {}", error.message);
        }
    }

    #[test]
    fn unknown_events_are_skipped_and_finish_reasons_mapped() {
        let end = message_end("STOP_SEQUENCE");
        let (events, result, _) = run(&[START, r#"{"type":"debug","delta":{"prompt":"..."}}"#, "", &end]);
        result.expect("a whole stream");
        assert!(text(&events).is_empty());
        let cases = [
            ("COMPLETE", FinishReason::Stop),
            ("STOP_SEQUENCE", FinishReason::Stop),
            ("MAX_TOKENS", FinishReason::Length),
            ("TOOL_CALL", FinishReason::ToolCalls),
            ("ERROR", FinishReason::Error),
            ("TIMEOUT", FinishReason::Error),
            ("SOMETHING_NEW", FinishReason::Other),
        ];
        for (raw, reason) in cases {
            assert_eq!(map_finish_reason(raw), reason, "{raw}");
        }
        assert_eq!(count(Some(Number::from(7))), Some(7));
        assert_eq!(count(serde_json::from_str("7.5").ok()), None);
        assert_eq!(count(serde_json::from_str("-1").ok()), None);
    }
}
