//! Parsing the Responses API stream: SSE events whose `data:` is a JSON object
//! with a `type` (`response.created`, `response.output_item.added`,
//! `response.output_text.delta`, `response.function_call_arguments.delta`,
//! `response.reasoning_summary_text.delta`, `response.completed`, ...) into
//! normalized events. There is no `[DONE]`: `response.completed`,
//! `response.incomplete`, `response.failed` or `error` ends the answer, and a
//! body that ends before one of them was cut short.
//!
//! Function calls are keyed by their item id (`fc_...`) and reported with their
//! `call_id` (`call_...`), which is what a tool result must name. A call starts at
//! `response.output_item.added`, streams its argument fragments, and is emitted
//! complete once: at `response.function_call_arguments.done` or
//! `response.output_item.done`, whichever comes first (the `done` arguments are
//! authoritative), else when the response ends.
//!
//! Each event is parsed once into a flat struct of the fields this provider
//! reads; an event of a type it does not handle whose fields have other shapes
//! is skipped, not refused.

use std::borrow::Cow;

use cordon_sdk::{Emitter, FinishReason, Frame, Header, ProviderError, StreamHandler, ToolCall, Usage};
use serde::Deserialize;
use serde_json::value::RawValue;

use cordon_sdk::openai_errors::{ErrorObject, classify_error_object, classify_http_error};

/// The per-turn stream state.
#[derive(Debug, Default)]
pub struct ResponsesStream {
    calls: Vec<PendingCall>,
    /// Item id and summary index of the reasoning text emitted last: reasoning
    /// from another item or summary part starts a new reasoning block.
    reasoning_at: Option<(String, u64)>,
    /// The model refused (`response.refusal.delta`).
    refused: bool,
    /// The finish recorded by the terminal event, as the stream saw it.
    finish: Option<(FinishReason, String)>,
    /// A terminal event arrived.
    ended: bool,
}

#[derive(Debug)]
struct PendingCall {
    item_id: String,
    output_index: Option<u64>,
    call_id: String,
    name: String,
    arguments: String,
    emitted: bool,
}

/// One stream event: the fields of every event type this provider handles.
#[derive(Deserialize)]
struct WireEvent<'a> {
    #[serde(borrow, default, rename = "type", deserialize_with = "cordon_sdk::json::borrowed")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    delta: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    item_id: Option<Cow<'a, str>>,
    #[serde(default)]
    output_index: Option<u64>,
    #[serde(default)]
    summary_index: Option<u64>,
    #[serde(default)]
    content_index: Option<u64>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    arguments: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    item: Option<Item<'a>>,
    #[serde(borrow, default)]
    response: Option<ResponseObject<'a>>,
    /// `error` events: the fields at the top level...
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
    /// ...or, in some versions, nested.
    #[serde(default)]
    error: Option<ErrorObject>,
}

/// Just the type, for events the flat struct cannot read.
#[derive(Deserialize)]
struct TypeOnly<'a> {
    #[serde(borrow, default, rename = "type", deserialize_with = "cordon_sdk::json::borrowed")]
    kind: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Item<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    call_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    arguments: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ResponseObject<'a> {
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    created_at: Option<serde_json::Number>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    status: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    usage: Option<&'a RawValue>,
    #[serde(borrow, default)]
    incomplete_details: Option<IncompleteDetails<'a>>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

#[derive(Deserialize)]
struct IncompleteDetails<'a> {
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    input_tokens_details: Option<InputDetails>,
    #[serde(default)]
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Deserialize)]
struct InputDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct OutputDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

/// The unified finish reason for a `response.incomplete` reason.
pub fn map_incomplete_reason(raw: &str) -> FinishReason {
    match raw {
        "max_output_tokens" => FinishReason::Length,
        "content_filter" => FinishReason::ContentFilter,
        _ => FinishReason::Other,
    }
}

impl StreamHandler for ResponsesStream {
    fn on_frame(&mut self, frame: Frame<'_>, out: &mut Emitter) -> Result<(), ProviderError> {
        let (name, data) = match frame {
            Frame::Sse(event) => (event.event, event.data),
            Frame::Line(line) | Frame::Json(line) => ("", line),
        };
        if data.trim().is_empty() {
            return Ok(());
        }
        let event: WireEvent<'_> = match serde_json::from_str(data) {
            Ok(event) => event,
            Err(err) => return skip_unhandled(name, data, &err),
        };
        let kind = event.kind.clone().unwrap_or(Cow::Borrowed(name));
        self.on_event(&kind, event, out)
    }

    fn on_end(&mut self, _out: &mut Emitter) -> Result<(), ProviderError> {
        if !self.ended {
            return Err(ProviderError::protocol(
                "the stream ended before `response.completed`, `response.incomplete` or `response.failed`: \
                 the upstream connection was cut mid-answer",
            ));
        }
        Ok(())
    }

    fn on_http_error(&mut self, status: u16, headers: &[Header], body: &[u8]) -> ProviderError {
        classify_http_error(status, headers, body)
    }
}

/// An event the flat struct cannot read is fine if this provider does not
/// handle its type; otherwise the stream is malformed.
fn skip_unhandled(name: &str, data: &str, err: &serde_json::Error) -> Result<(), ProviderError> {
    let head: TypeOnly<'_> =
        serde_json::from_str(data).map_err(|err| ProviderError::invalid_json("event", &err, data))?;
    let kind = head.kind.unwrap_or(Cow::Borrowed(name));
    if is_handled(&kind) {
        return Err(ProviderError::invalid_json("event", err, data));
    }
    Ok(())
}

fn is_handled(kind: &str) -> bool {
    matches!(
        kind,
        "response.created"
            | "response.in_progress"
            | "response.queued"
            | "response.output_item.added"
            | "response.output_item.done"
            | "response.output_text.delta"
            | "response.refusal.delta"
            | "response.reasoning_summary_text.delta"
            | "response.reasoning_text.delta"
            | "response.function_call_arguments.delta"
            | "response.function_call_arguments.done"
            | "response.completed"
            | "response.incomplete"
            | "response.failed"
            | "error"
    )
}

impl ResponsesStream {
    /// The finish the terminal event gave (before `stop` becomes `tool-calls`),
    /// with the raw reason.
    pub fn finish(&self) -> Option<(FinishReason, &str)> {
        self.finish.as_ref().map(|(reason, raw)| (*reason, raw.as_str()))
    }

    fn on_event(&mut self, kind: &str, event: WireEvent<'_>, out: &mut Emitter) -> Result<(), ProviderError> {
        match kind {
            "response.created" | "response.in_progress" | "response.queued" => {
                if let Some(response) = &event.response {
                    metadata(response, out);
                }
            }
            "response.output_item.added" => {
                if let Some(item) = event.item {
                    self.item_added(item, event.output_index, out);
                }
            }
            "response.output_text.delta" => out.text(event.delta.unwrap_or_default().into_owned()),
            "response.refusal.delta" => {
                self.refused = true;
                out.text(event.delta.unwrap_or_default().into_owned());
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                let part = event.summary_index.or(event.content_index).unwrap_or(0);
                self.reasoning(event.item_id.as_deref(), part, event.delta.unwrap_or_default(), out);
            }
            "response.function_call_arguments.delta" => {
                self.arguments_delta(event.item_id.as_deref(), event.output_index, event.delta, out);
            }
            "response.function_call_arguments.done" => {
                if let Some(at) = self.find_call(event.item_id.as_deref(), event.output_index) {
                    if let Some(arguments) = event.arguments {
                        self.calls[at].arguments = arguments.into_owned();
                    }
                    self.emit_call(at, out);
                }
            }
            "response.output_item.done" => {
                if let Some(item) = event.item {
                    self.item_done(item, event.output_index, out);
                }
            }
            "response.completed" | "response.incomplete" => self.complete(kind, event.response, out)?,
            "response.failed" => return Err(failed(event.response)),
            "error" => return Err(error_event(event)),
            _ => {}
        }
        Ok(())
    }

    fn item_added(&mut self, item: Item<'_>, output_index: Option<u64>, out: &mut Emitter) {
        if item.kind != "function_call" {
            return;
        }
        let item_id = item.id.unwrap_or_default().into_owned();
        let call_id = call_id(item.call_id.as_deref(), &item_id, self.calls.len());
        let name = item.name.unwrap_or_default().into_owned();
        let arguments = item.arguments.unwrap_or_default().into_owned();
        out.tool_call_start(call_id.clone(), name.clone());
        if !arguments.is_empty() {
            out.tool_call_delta(call_id.clone(), arguments.clone());
        }
        self.calls.push(PendingCall { item_id, output_index, call_id, name, arguments, emitted: false });
    }

    fn item_done(&mut self, item: Item<'_>, output_index: Option<u64>, out: &mut Emitter) {
        if item.kind != "function_call" {
            return;
        }
        let at = match self.find_call(item.id.as_deref(), output_index) {
            Some(at) => at,
            None => {
                // Never announced: take the complete item as it is.
                let item_id = item.id.as_deref().unwrap_or_default().to_owned();
                let call_id = call_id(item.call_id.as_deref(), &item_id, self.calls.len());
                self.calls.push(PendingCall {
                    item_id,
                    output_index,
                    call_id,
                    name: String::new(),
                    arguments: String::new(),
                    emitted: false,
                });
                self.calls.len() - 1
            }
        };
        let call = &mut self.calls[at];
        if let Some(name) = item.name.filter(|name| !name.is_empty()) {
            call.name = name.into_owned();
        }
        if let Some(arguments) = item.arguments {
            call.arguments = arguments.into_owned();
        }
        self.emit_call(at, out);
    }

    fn arguments_delta(
        &mut self,
        item_id: Option<&str>,
        output_index: Option<u64>,
        delta: Option<Cow<'_, str>>,
        out: &mut Emitter,
    ) {
        let Some(delta) = delta.filter(|delta| !delta.is_empty()) else { return };
        let Some(at) = self.find_call(item_id, output_index) else { return };
        let call = &mut self.calls[at];
        if call.emitted {
            return;
        }
        call.arguments.push_str(&delta);
        out.tool_call_delta(call.call_id.clone(), delta.into_owned());
    }

    /// The call with this item id, else the one at this output index.
    fn find_call(&self, item_id: Option<&str>, output_index: Option<u64>) -> Option<usize> {
        let by_id = item_id
            .filter(|id| !id.is_empty())
            .and_then(|id| self.calls.iter().position(|call| call.item_id == id));
        by_id.or_else(|| {
            let index = output_index?;
            self.calls.iter().position(|call| call.output_index == Some(index))
        })
    }

    /// Emit the call at `at` as complete, once.
    fn emit_call(&mut self, at: usize, out: &mut Emitter) {
        let Some(call) = self.calls.get_mut(at) else { return };
        if call.emitted {
            return;
        }
        call.emitted = true;
        let arguments = if call.arguments.trim().is_empty() { "{}".to_owned() } else { call.arguments.clone() };
        out.tool_call(ToolCall { id: call.call_id.clone(), name: call.name.clone(), arguments });
    }

    fn reasoning(&mut self, item_id: Option<&str>, part: u64, delta: Cow<'_, str>, out: &mut Emitter) {
        if delta.is_empty() {
            return;
        }
        let item_id = item_id.unwrap_or_default();
        let same = matches!(&self.reasoning_at, Some((id, at)) if id == item_id && *at == part);
        if !same {
            out.reasoning_block();
            self.reasoning_at = Some((item_id.to_owned(), part));
        }
        out.reasoning(delta.into_owned());
    }

    /// `response.completed` or `response.incomplete`: usage, pending calls, finish.
    fn complete(
        &mut self,
        kind: &str,
        response: Option<ResponseObject<'_>>,
        out: &mut Emitter,
    ) -> Result<(), ProviderError> {
        self.ended = true;
        let mut raw = if kind == "response.completed" { "completed" } else { "incomplete" }.to_owned();
        let mut reason = FinishReason::Stop;
        if let Some(response) = response {
            metadata(&response, out);
            if let Some(usage) = response.usage.filter(|raw| raw.get() != "null") {
                out.usage(parse_usage(usage)?);
            }
            if let Some(status) = response.status {
                raw = status.into_owned();
            }
            if kind == "response.incomplete" {
                let detail = response.incomplete_details.and_then(|d| d.reason);
                reason = detail.as_deref().map_or(FinishReason::Other, map_incomplete_reason);
                if let Some(detail) = detail {
                    raw = detail.into_owned();
                }
            }
        } else if kind == "response.incomplete" {
            reason = FinishReason::Other;
        }
        if reason == FinishReason::Stop && self.refused {
            reason = FinishReason::ContentFilter;
            raw = "refusal".to_owned();
        }
        for at in 0..self.calls.len() {
            self.emit_call(at, out);
        }
        out.finish(reason, Some(raw.clone()));
        self.finish = Some((reason, raw));
        Ok(())
    }
}

/// The tool call id: the `call_id`, else the item id, else a made-up one.
fn call_id(call_id: Option<&str>, item_id: &str, position: usize) -> String {
    match call_id {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ if !item_id.is_empty() => item_id.to_owned(),
        _ => format!("call_{position}"),
    }
}

fn metadata(response: &ResponseObject<'_>, out: &mut Emitter) {
    if response.id.is_none() && response.model.is_none() {
        return;
    }
    let timestamp = response
        .created_at
        .as_ref()
        .and_then(|n| n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)));
    out.metadata(response.id.as_deref(), response.model.as_deref(), timestamp);
}

/// The error of a `response.failed` event.
fn failed(response: Option<ResponseObject<'_>>) -> ProviderError {
    let error = response.and_then(|r| r.error).unwrap_or_default();
    let mut error = classify_error_object(error, None);
    error.message = format!("OpenAI reported the response failed: {}", error.message);
    error
}

/// The error of an `error` event: its fields at the top level, or a nested `error` object.
fn error_event(event: WireEvent<'_>) -> ProviderError {
    let object = match event.error {
        Some(nested) => nested,
        None => ErrorObject { message: event.message, kind: None, code: event.code },
    };
    let mut error = classify_error_object(object, None);
    error.message = format!("OpenAI reported mid-stream: {}", error.message);
    error
}

fn parse_usage(raw: &RawValue) -> Result<Usage, ProviderError> {
    let wire: WireUsage = serde_json::from_str(raw.get())
        .map_err(|err| ProviderError::protocol(format!("invalid usage object in the stream: {err}")))?;
    Ok(Usage {
        input_tokens: wire.input_tokens,
        output_tokens: wire.output_tokens,
        cache_read_tokens: wire.input_tokens_details.and_then(|d| d.cached_tokens),
        cache_write_tokens: None,
        reasoning_tokens: wire.output_tokens_details.and_then(|d| d.reasoning_tokens),
        raw: Some(raw.get().to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::sse::SseEvent;
    use cordon_sdk::{ErrorKind, Event as Out};

    struct Run {
        events: Vec<Out>,
        end: Result<(), ProviderError>,
        finish: Option<(FinishReason, String)>,
    }

    /// Feed `(event name, data)` pairs, then end the stream.
    fn run_named(frames: &[(&str, &str)]) -> Run {
        let mut stream = ResponsesStream::default();
        let mut out = Emitter::default();
        let mut end = Ok(());
        for (event, data) in frames {
            if let Err(e) = stream.on_frame(Frame::Sse(SseEvent { event, data, id: None }), &mut out) {
                end = Err(e);
                break;
            }
        }
        if end.is_ok() {
            end = stream.on_end(&mut out);
        }
        let finish = stream.finish().map(|(reason, raw)| (reason, raw.to_owned()));
        Run { events: out.take_batch(), end, finish }
    }

    fn feed(lines: &[&str]) -> Run {
        run_named(&lines.iter().map(|line| ("", *line)).collect::<Vec<_>>())
    }

    /// A fixture file: one event's data per line, sent as `event: <type>` + `data: <line>`.
    fn fixture(name: &str) -> Run {
        let path = format!("{}/../../tests/fixtures/openai-responses/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let names: Vec<String> = lines
            .iter()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}"));
                v["type"].as_str().unwrap_or_default().to_owned()
            })
            .collect();
        let frames: Vec<(&str, &str)> = names.iter().map(String::as_str).zip(lines.iter().copied()).collect();
        run_named(&frames)
    }

    fn text(events: &[Out]) -> String {
        events.iter().filter_map(|e| if let Out::TextDelta(t) = e { Some(t.as_str()) } else { None }).collect()
    }

    fn reasoning(events: &[Out]) -> String {
        events.iter().filter_map(|e| if let Out::ReasoningDelta(r) = e { Some(r.text.as_str()) } else { None }).collect()
    }

    fn calls(events: &[Out]) -> Vec<(String, String, String)> {
        events
            .iter()
            .filter_map(|e| match e {
                Out::ToolCall(c) => Some((c.id.clone(), c.name.clone(), c.arguments.clone())),
                _ => None,
            })
            .collect()
    }

    fn starts(events: &[Out]) -> Vec<(String, String)> {
        events
            .iter()
            .filter_map(|e| if let Out::ToolCallStart(s) = e { Some((s.id.clone(), s.name.clone())) } else { None })
            .collect()
    }

    fn deltas_of(events: &[Out], id: &str) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                Out::ToolCallDelta(d) if d.id == id => Some(d.arguments.clone()),
                _ => None,
            })
            .collect()
    }

    fn last_usage(events: &[Out]) -> Usage {
        match events.iter().rfind(|e| matches!(e, Out::Usage(_))) {
            Some(Out::Usage(usage)) => usage.clone(),
            _ => panic!("no usage event"),
        }
    }

    fn metadata(events: &[Out]) -> Vec<cordon_sdk::ResponseMetadata> {
        events.iter().filter_map(|e| if let Out::ResponseMetadata(m) = e { Some(m.clone()) } else { None }).collect()
    }

    fn finish(run: &Run) -> (FinishReason, &str) {
        let (reason, raw) = run.finish.as_ref().expect("a finish");
        (*reason, raw.as_str())
    }

    #[test]
    fn text_fixture() {
        let run = fixture("text.chunks.txt");
        assert!(run.end.is_ok(), "{:?}", run.end);
        assert_eq!(text(&run.events), "The capital of France is Paris. It sits on the Seine in the north of the country.");
        assert_eq!(reasoning(&run.events), "", "a reasoning item without summary emits nothing");
        assert!(calls(&run.events).is_empty());
        let usage = last_usage(&run.events);
        assert_eq!(usage.input_tokens, Some(1342));
        assert_eq!(usage.output_tokens, Some(23));
        assert_eq!(usage.cache_read_tokens, Some(1152));
        assert_eq!(usage.cache_write_tokens, None);
        assert_eq!(usage.reasoning_tokens, Some(0));
        let raw: serde_json::Value = serde_json::from_str(usage.raw.as_deref().expect("raw usage")).expect("JSON");
        assert_eq!(raw["total_tokens"], 1365);
        let meta = metadata(&run.events);
        assert_eq!(meta.len(), 1, "first report wins");
        assert_eq!(meta[0].id.as_deref(), Some("resp_68c1f0a2b7e481909d3c4e5f6a7b8c9d0e1f2a3b4c5d6e7f"));
        assert_eq!(meta[0].model.as_deref(), Some("gpt-5-mini-2025-08-07"));
        assert_eq!(meta[0].timestamp, Some(1757540002));
        assert_eq!(finish(&run), (FinishReason::Stop, "completed"));
    }

    #[test]
    fn reasoning_fixture() {
        let run = fixture("reasoning.chunks.txt");
        assert!(run.end.is_ok(), "{:?}", run.end);
        assert_eq!(
            reasoning(&run.events),
            "**Checking the arithmetic**\n\nThe user wants 17 × 24. I split it as 17 × 20 + 17 × 4 = 340 + 68 = 408, \
             and confirm with 24 × 17 = 240 + 168 = 408."
        );
        assert_eq!(text(&run.events), "17 × 24 = **408**.");
        let first_text = run.events.iter().position(|e| matches!(e, Out::TextDelta(_)));
        let last_reasoning = run.events.iter().rposition(|e| matches!(e, Out::ReasoningDelta(_)));
        assert!(last_reasoning < first_text, "reasoning comes before the answer");
        let usage = last_usage(&run.events);
        assert_eq!((usage.input_tokens, usage.output_tokens), (Some(31), Some(214)));
        assert_eq!(usage.reasoning_tokens, Some(192));
        assert_eq!(usage.cache_read_tokens, Some(0));
        assert_eq!(finish(&run), (FinishReason::Stop, "completed"));
    }

    #[test]
    fn tool_calls_fixture() {
        let run = fixture("tool-calls.chunks.txt");
        assert!(run.end.is_ok(), "{:?}", run.end);
        let weather = "call_Xq3nT8vY1bK4mR7wP2sL9dFh";
        let time = "call_Jm5pW2zQ8cN1vT6yH4kR3gBd";
        assert_eq!(
            calls(&run.events),
            [
                (weather.into(), "get_weather".into(), r#"{"city":"Paris","unit":"celsius"}"#.into()),
                (time.into(), "get_time".into(), r#"{"timezone":"Europe/Paris"}"#.into()),
            ],
            "each call once, with its call_id"
        );
        assert_eq!(starts(&run.events), [(weather.into(), "get_weather".into()), (time.into(), "get_time".into())]);
        assert_eq!(deltas_of(&run.events, weather), [r#"{"ci"#, r#"ty":"Par"#, r#"is","un"#, r#"it":"cel"#, r#"sius"}"#]);
        assert_eq!(deltas_of(&run.events, time).concat(), r#"{"timezone":"Europe/Paris"}"#);
        let usage = last_usage(&run.events);
        assert_eq!((usage.input_tokens, usage.output_tokens), (Some(412), Some(51)));
        // The emitter turns `stop` into `tool-calls` because calls were emitted.
        assert_eq!(finish(&run), (FinishReason::Stop, "completed"));
    }

    #[test]
    fn incomplete_fixture() {
        let run = fixture("incomplete.chunks.txt");
        assert!(run.end.is_ok(), "{:?}", run.end);
        assert_eq!(text(&run.events), "Once upon a time, in a harbour town at the edge of the map,");
        let usage = last_usage(&run.events);
        assert_eq!((usage.input_tokens, usage.output_tokens), (Some(22), Some(16)));
        assert_eq!(finish(&run), (FinishReason::Length, "max_output_tokens"));
    }

    #[test]
    fn failed_fixture() {
        let run = fixture("failed.chunks.txt");
        let error = run.end.expect_err("failed");
        assert_eq!(error.kind, ErrorKind::Server);
        assert!(error.retryable);
        assert_eq!(error.provider_code.as_deref(), Some("server_error"));
        assert!(error.message.contains("The server had an error"), "{}", error.message);
        assert!(run.finish.is_none());
    }

    #[test]
    fn error_event_fixture() {
        let run = fixture("error-event.chunks.txt");
        let error = run.end.expect_err("error event");
        assert_eq!(error.kind, ErrorKind::RateLimited);
        assert!(error.retryable);
        assert_eq!(error.provider_code.as_deref(), Some("rate_limit_exceeded"));
        assert!(error.message.contains("Rate limit reached for gpt-5-mini"), "{}", error.message);
    }

    #[test]
    fn cut_stream_is_a_protocol_error() {
        let run = feed(&[
            r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","model":"gpt-5","created_at":1}}"#,
            r#"{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":""}}"#,
            r#"{"type":"response.function_call_arguments.delta","sequence_number":2,"item_id":"fc_1","output_index":0,"delta":"{}"}"#,
        ]);
        assert_eq!(run.end.expect_err("cut").kind, ErrorKind::StreamProtocol);
        assert!(calls(&run.events).is_empty(), "a call is not complete until the upstream says so");
    }

    #[test]
    fn invalid_json_is_a_protocol_error() {
        let run = feed(&[r#"{"type":"response.output_text.delta","delta":"#]);
        assert_eq!(run.end.expect_err("bad JSON").kind, ErrorKind::StreamProtocol);
        let run = feed(&[r#"{"type":"response.output_text.delta","delta":7}"#]);
        assert_eq!(run.end.expect_err("wrong shape of a handled event").kind, ErrorKind::StreamProtocol);
    }

    #[test]
    fn unknown_events_are_skipped_whatever_their_shape() {
        let run = feed(&[
            r#"{"type":"response.audio.transcript.delta","delta":{"odd":true},"item":[1,2]}"#,
            r#"{"type":"response.web_search_call.searching","item_id":"ws_1","output_index":0}"#,
            r#"{"type":"response.output_text.annotation.added","annotation":{"type":"url_citation"}}"#,
            r#"{"type":"response.output_text.delta","item_id":"m","output_index":1,"delta":"ok"}"#,
            r#"{"type":"response.completed","response":{"id":"r","status":"completed","usage":null}}"#,
        ]);
        assert!(run.end.is_ok(), "{:?}", run.end);
        assert_eq!(text(&run.events), "ok");
        assert!(!run.events.iter().any(|e| matches!(e, Out::Usage(_))), "null usage is no usage");
    }

    #[test]
    fn calls_complete_at_the_first_done_and_only_once() {
        let run = feed(&[
            r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"function_call","id":"fc_a","call_id":"call_a","name":"lookup","arguments":""}}"#,
            r#"{"type":"response.function_call_arguments.delta","item_id":"fc_a","output_index":0,"delta":"{\"q\":"}"#,
            r#"{"type":"response.function_call_arguments.delta","item_id":"fc_a","output_index":0,"delta":"\"x\"}"}"#,
            r#"{"type":"response.function_call_arguments.done","item_id":"fc_a","output_index":0,"arguments":"{\"q\":\"x\"}"}"#,
            r#"{"type":"response.output_item.done","output_index":0,"item":{"type":"function_call","id":"fc_a","call_id":"call_a","name":"lookup","arguments":"{\"q\":\"x\"}"}}"#,
            // Announced, no argument events: completed by its item.done.
            r#"{"type":"response.output_item.added","output_index":1,"item":{"type":"function_call","id":"fc_b","call_id":"call_b","name":"now","arguments":""}}"#,
            r#"{"type":"response.output_item.done","output_index":1,"item":{"type":"function_call","id":"fc_b","call_id":"call_b","name":"now","arguments":""}}"#,
            // Never announced: taken from its item.done.
            r#"{"type":"response.output_item.done","output_index":2,"item":{"type":"function_call","id":"fc_c","call_id":"call_c","name":"late","arguments":"{\"n\":1}"}}"#,
            // Announced and streamed, but no done event: completed with the response.
            r#"{"type":"response.output_item.added","output_index":3,"item":{"type":"function_call","id":"fc_d","call_id":"call_d","name":"tail","arguments":""}}"#,
            r#"{"type":"response.function_call_arguments.delta","item_id":"fc_d","output_index":3,"delta":"{\"k\":2}"}"#,
            r#"{"type":"response.completed","response":{"status":"completed"}}"#,
        ]);
        assert!(run.end.is_ok(), "{:?}", run.end);
        assert_eq!(
            calls(&run.events),
            [
                ("call_a".into(), "lookup".into(), r#"{"q":"x"}"#.into()),
                ("call_b".into(), "now".into(), "{}".into()),
                ("call_c".into(), "late".into(), r#"{"n":1}"#.into()),
                ("call_d".into(), "tail".into(), r#"{"k":2}"#.into()),
            ]
        );
        assert_eq!(deltas_of(&run.events, "call_a").concat(), r#"{"q":"x"}"#);
    }

    #[test]
    fn done_arguments_are_authoritative_and_deltas_route_by_output_index() {
        let run = feed(&[
            r#"{"type":"response.output_item.added","output_index":4,"item":{"type":"function_call","id":"fc_z","call_id":"call_z","name":"f"}}"#,
            r#"{"type":"response.function_call_arguments.delta","output_index":4,"delta":"{\"a\":1"}"#,
            r#"{"type":"response.function_call_arguments.done","output_index":4,"arguments":"{\"a\":1}"}"#,
            r#"{"type":"response.completed","response":{}}"#,
        ]);
        assert!(run.end.is_ok(), "{:?}", run.end);
        assert_eq!(calls(&run.events), [("call_z".into(), "f".into(), r#"{"a":1}"#.into())]);
        assert_eq!(deltas_of(&run.events, "call_z"), [r#"{"a":1"#]);
    }

    #[test]
    fn incomplete_reasons_map() {
        let ended = |reason: &str| {
            let line = format!(
                r#"{{"type":"response.incomplete","response":{{"status":"incomplete","incomplete_details":{{"reason":"{reason}"}}}}}}"#
            );
            let run = feed(&[r#"{"type":"response.output_text.delta","delta":"x"}"#, &line]);
            assert!(run.end.is_ok(), "{:?}", run.end);
            run.finish.expect("a finish")
        };
        assert_eq!(ended("max_output_tokens"), (FinishReason::Length, "max_output_tokens".into()));
        assert_eq!(ended("content_filter"), (FinishReason::ContentFilter, "content_filter".into()));
        assert_eq!(ended("something_new"), (FinishReason::Other, "something_new".into()));
        let run = feed(&[r#"{"type":"response.incomplete","response":{"status":"incomplete","incomplete_details":null}}"#]);
        assert_eq!(run.finish, Some((FinishReason::Other, "incomplete".into())));
    }

    #[test]
    fn refusal_is_text_with_a_content_filter_finish() {
        let run = feed(&[
            r#"{"type":"response.refusal.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"I can't help with that."}"#,
            r#"{"type":"response.completed","response":{"status":"completed"}}"#,
        ]);
        assert_eq!(text(&run.events), "I can't help with that.");
        assert_eq!(run.finish, Some((FinishReason::ContentFilter, "refusal".into())));
    }

    #[test]
    fn nested_error_objects_and_sse_event_names() {
        let run = feed(&[
            r#"{"type":"error","error":{"type":"invalid_request_error","code":"context_length_exceeded","message":"Your input exceeds the context window of this model."}}"#,
        ]);
        let error = run.end.expect_err("error");
        assert_eq!(error.kind, ErrorKind::ContextLengthExceeded);
        assert!(!error.retryable);
        // A payload without `type` is read by its SSE event name.
        let run = run_named(&[
            ("response.output_text.delta", r#"{"delta":"named"}"#),
            ("response.completed", r#"{"response":{"status":"completed"}}"#),
        ]);
        assert!(run.end.is_ok(), "{:?}", run.end);
        assert_eq!(text(&run.events), "named");
        // A failed response without an error object is still an error.
        let run = feed(&[r#"{"type":"response.failed","response":{"status":"failed","error":null}}"#]);
        assert_eq!(run.end.expect_err("failed").kind, ErrorKind::Server);
    }

    #[test]
    fn raw_reasoning_text_and_separate_summary_parts() {
        let run = feed(&[
            r#"{"type":"response.reasoning_summary_text.delta","item_id":"rs_1","summary_index":0,"delta":"First."}"#,
            r#"{"type":"response.reasoning_summary_text.delta","item_id":"rs_1","summary_index":1,"delta":"Second."}"#,
            r#"{"type":"response.reasoning_text.delta","item_id":"rs_2","content_index":0,"delta":" Raw."}"#,
            r#"{"type":"response.completed","response":{"status":"completed"}}"#,
        ]);
        assert!(run.end.is_ok(), "{:?}", run.end);
        assert_eq!(reasoning(&run.events), "First.Second. Raw.");
    }
}
