//! Parsing Ollama's `/api/chat` stream: one JSON object a line (NDJSON), ended
//! by a line with `done: true` that carries the done reason and the counts.
//!
//! Each line's `message` may hold answer text (`content`), reasoning
//! (`thinking`) and whole tool calls whose `arguments` are a JSON object, not
//! text. A call is complete when it arrives, so it is emitted at once as a start,
//! one delta with all its arguments and the finished call. The wire has no call
//! ids (newer servers may send one, which is kept): calls are named `call_0`,
//! `call_1`, ... in order. An `{"error": "..."}` line ends the turn; a body that
//! ends before `done: true` was cut.

use std::borrow::Cow;

use cordon_sdk::{
    Emitter, Finish, FinishReason, Frame, ProviderError, StreamHandler, ToolCall, Usage,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::errors::{classify_http_error, stream_error};

/// The per-turn stream state.
#[derive(Debug, Default)]
pub struct ChatStream {
    /// Tool calls emitted so far (the next generated id is `call_{calls}`).
    calls: usize,
    /// Whether the `done: true` line arrived.
    done: bool,
    /// The finish the `done: true` line reported.
    finish: Option<Finish>,
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    model: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    created_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<WireMessage<'a>>,
    #[serde(default)]
    done: bool,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    done_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    total_duration: Option<u64>,
    #[serde(default)]
    load_duration: Option<u64>,
    #[serde(default)]
    prompt_eval_count: Option<u64>,
    #[serde(default)]
    prompt_eval_duration: Option<u64>,
    #[serde(default)]
    eval_count: Option<u64>,
    #[serde(default)]
    eval_duration: Option<u64>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct WireMessage<'a> {
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    content: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    thinking: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_calls: Option<Vec<WireToolCall<'a>>>,
}

#[derive(Deserialize)]
struct WireToolCall<'a> {
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    function: Option<WireFunction<'a>>,
}

#[derive(Deserialize)]
struct WireFunction<'a> {
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
}

/// The unified finish reason for an Ollama `done_reason` (`stop`, `length`;
/// `load`, `unload` and anything else are `other`). A `done: true` line without
/// a reason (older servers) ended normally.
pub fn map_done_reason(raw: Option<&str>) -> FinishReason {
    match raw {
        None | Some("stop") => FinishReason::Stop,
        Some("length") => FinishReason::Length,
        Some(_) => FinishReason::Other,
    }
}

impl StreamHandler for ChatStream {
    fn on_frame(&mut self, frame: Frame<'_>, out: &mut Emitter) -> Result<(), ProviderError> {
        let data = match frame {
            Frame::Line(line) | Frame::Json(line) => line,
            Frame::Sse(event) => event.data,
        };
        if self.done {
            // Nothing follows `done: true`; a server that sends more is ignored.
            return Ok(());
        }
        let mut line: Line<'_> =
            serde_json::from_str(data).map_err(|err| ProviderError::invalid_json("line", &err, data))?;
        if let Some(error) = &line.error {
            return Err(stream_error(error));
        }
        if let Some(model) = line.model.as_deref() {
            let timestamp = line.created_at.as_deref().and_then(unix_seconds);
            out.metadata(None, Some(model), timestamp);
        }
        if let Some(message) = line.message.take() {
            self.on_message(message, out)?;
        }
        if line.done {
            self.done = true;
            if let Some(usage) = usage(&line) {
                out.usage(usage);
            }
            let raw = line.done_reason.map(Cow::into_owned);
            let finish = Finish { reason: map_done_reason(raw.as_deref()), raw };
            out.finish(finish.reason, finish.raw.clone());
            self.finish = Some(finish);
        }
        Ok(())
    }

    fn on_end(&mut self, _out: &mut Emitter) -> Result<(), ProviderError> {
        if !self.done {
            return Err(ProviderError::protocol(
                "the stream ended before `done: true`: the upstream connection was cut mid-answer",
            ));
        }
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
    /// The finish the `done: true` line reported, as it was reported: the
    /// [`Emitter`] turns `stop` into `tool-calls` when calls were emitted.
    pub fn reported_finish(&self) -> Option<&Finish> {
        self.finish.as_ref()
    }

    fn on_message(&mut self, message: WireMessage<'_>, out: &mut Emitter) -> Result<(), ProviderError> {
        if let Some(thinking) = message.thinking {
            out.reasoning(thinking.into_owned());
        }
        if let Some(content) = message.content {
            out.text(content.into_owned());
        }
        for call in message.tool_calls.into_iter().flatten() {
            self.on_tool_call(call, out)?;
        }
        Ok(())
    }

    /// Emit a whole tool call: start, all its arguments as one delta, the call.
    fn on_tool_call(&mut self, call: WireToolCall<'_>, out: &mut Emitter) -> Result<(), ProviderError> {
        let function = call
            .function
            .ok_or_else(|| ProviderError::protocol("a tool call without a `function` object"))?;
        let name = match function.name {
            Some(name) if !name.is_empty() => name.into_owned(),
            _ => return Err(ProviderError::protocol("a tool call without a function name")),
        };
        let arguments = arguments_text(function.arguments, &name)?;
        let id = match call.id {
            Some(id) if !id.is_empty() => id.into_owned(),
            _ => format!("call_{}", self.calls),
        };
        self.calls += 1;
        out.tool_call_start(id.clone(), name.clone());
        out.tool_call_delta(id.clone(), arguments.clone());
        out.tool_call(ToolCall { id, name, arguments });
        Ok(())
    }
}

/// The JSON text of a call's arguments. Ollama sends an object, whose text is
/// kept exactly as it came; missing or `null` arguments are `{}`; a string
/// holding JSON text (as OpenAI-style servers send) is unwrapped.
fn arguments_text(raw: Option<&RawValue>, tool: &str) -> Result<String, ProviderError> {
    let Some(raw) = raw else {
        return Ok("{}".to_owned());
    };
    let text = raw.get();
    if text == "null" {
        return Ok("{}".to_owned());
    }
    if !text.starts_with('"') {
        return Ok(text.to_owned());
    }
    let inner: String = serde_json::from_str(text).map_err(|err| {
        ProviderError::protocol(format!("the arguments of tool call `{tool}` are not a valid string: {err}"))
    })?;
    if inner.trim().is_empty() {
        return Ok("{}".to_owned());
    }
    match serde_json::from_str::<serde::de::IgnoredAny>(&inner) {
        Ok(_) => Ok(inner),
        Err(err) => Err(ProviderError::protocol(format!(
            "the arguments of tool call `{tool}` are a string that is not JSON ({err}): {}",
            cordon_sdk::errors::excerpt(inner.as_bytes())
        ))),
    }
}

/// The usage of a `done: true` line: `prompt_eval_count` tokens in,
/// `eval_count` out (thinking included), and the counts and durations (in
/// nanoseconds) as the raw usage. `None` when the line has none of them.
fn usage(line: &Line<'_>) -> Option<Usage> {
    let fields = [
        ("prompt_eval_count", line.prompt_eval_count),
        ("eval_count", line.eval_count),
        ("total_duration", line.total_duration),
        ("load_duration", line.load_duration),
        ("prompt_eval_duration", line.prompt_eval_duration),
        ("eval_duration", line.eval_duration),
    ];
    let raw: Map<String, Value> = fields
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_owned(), Value::from(value?))))
        .collect();
    if raw.is_empty() {
        return None;
    }
    Some(Usage {
        input_tokens: line.prompt_eval_count,
        output_tokens: line.eval_count,
        cache_read_tokens: None,
        cache_write_tokens: None,
        reasoning_tokens: None,
        raw: Some(Value::Object(raw).to_string()),
    })
}

/// Seconds since the Unix epoch of an RFC 3339 time such as
/// `2025-06-12T09:41:07.104512Z` or `2023-08-04T08:52:19.385406455-07:00`
/// (the fraction is dropped). `None` for anything else.
fn unix_seconds(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() >= 20
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && matches!(bytes[10], b'T' | b't' | b' ')
        && bytes[13] == b':'
        && bytes[16] == b':';
    if !shape_ok {
        return None;
    }
    let number = |from, to| digits_at(text, from, to);
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = text.get(19..)?;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        rest = fraction.get(digits..)?;
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes().get(3) != Some(&b':') {
                return None;
            }
            let (hours, minutes) = (digits_at(rest, 1, 3)?, digits_at(rest, 4, 6)?);
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(seconds).ok()
}

/// The number written with the ASCII digits `text[from..to]`, if they all are.
fn digits_at(text: &str, from: usize, to: usize) -> Option<i64> {
    let digits = text.get(from..to)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::ndjson::NdjsonDecoder;
    use cordon_sdk::{ErrorKind, Event};

    /// The events, the outcome and the finish the `done` line reported.
    type Run = (Vec<Event>, Result<(), ProviderError>, Option<Finish>);

    /// Feed `lines` one by one, then end the stream.
    fn run(lines: &[&str]) -> Run {
        let mut stream = ChatStream::default();
        let mut out = Emitter::default();
        for line in lines {
            if let Err(e) = stream.on_frame(Frame::Line(line), &mut out) {
                return (out.take_batch(), Err(e), stream.reported_finish().cloned());
            }
        }
        let end = stream.on_end(&mut out);
        (out.take_batch(), end, stream.reported_finish().cloned())
    }

    /// Decode a fixture with the SDK's NDJSON decoder, fed in small uneven
    /// chunks as a socket would, and run it through the handler.
    fn run_fixture(name: &str) -> Run {
        let bytes = fixture(name);
        let mut stream = ChatStream::default();
        let mut out = Emitter::default();
        let mut decoder = NdjsonDecoder::new();
        let mut outcome = Ok(());
        for chunk in bytes.chunks(37) {
            outcome = decoder.feed(chunk, |line| stream.on_frame(Frame::Line(line), &mut out));
            if outcome.is_err() {
                break;
            }
        }
        if outcome.is_ok() {
            outcome = decoder.finish(|line| stream.on_frame(Frame::Line(line), &mut out));
        }
        let end = outcome.and_then(|()| stream.on_end(&mut out));
        (out.take_batch(), end, stream.reported_finish().cloned())
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../../tests/fixtures/ollama/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|err| panic!("cannot read {path}: {err}"))
    }

    fn text(events: &[Event]) -> String {
        events
            .iter()
            .filter_map(|e| match e {
                Event::TextDelta(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    fn reasoning(events: &[Event]) -> String {
        events
            .iter()
            .filter_map(|e| match e {
                Event::ReasoningDelta(r) => Some(r.text.as_str()),
                _ => None,
            })
            .collect()
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

    fn last_usage(events: &[Event]) -> Option<Usage> {
        events.iter().rev().find_map(|e| match e {
            Event::Usage(u) => Some(u.clone()),
            _ => None,
        })
    }

    fn raw_usage(usage: &Usage) -> Value {
        serde_json::from_str(usage.raw.as_deref().expect("raw usage")).expect("raw usage is JSON")
    }

    fn assert_finish(finish: Option<Finish>, reason: FinishReason, raw: Option<&str>) {
        let finish = finish.expect("a finish");
        assert_eq!(finish.reason, reason);
        assert_eq!(finish.raw.as_deref(), raw);
    }

    fn line(message: &str) -> String {
        format!(
            r#"{{"model":"llama3.2","created_at":"2025-06-12T09:41:07.104512Z","message":{message},"done":false}}"#
        )
    }

    const DONE: &str = r#"{"model":"llama3.2","created_at":"2025-06-12T09:41:08Z","message":{"role":"assistant","content":""},"done_reason":"stop","done":true,"prompt_eval_count":9,"eval_count":4}"#;

    #[test]
    fn text_fixture() {
        let (events, end, finish) = run_fixture("text.ndjson");
        assert!(end.is_ok(), "{end:?}");
        assert_eq!(
            text(&events),
            "The sky looks blue because air scatters short blue wavelengths more than red."
        );
        assert_eq!(events.iter().filter(|e| matches!(e, Event::TextDelta(_))).count(), 14);
        assert!(reasoning(&events).is_empty());
        assert!(tool_calls(&events).is_empty());
        let Some(Event::ResponseMetadata(meta)) = events.first() else {
            panic!("metadata comes first: {:?}", events.first());
        };
        assert_eq!(meta.id, None);
        assert_eq!(meta.model.as_deref(), Some("llama3.2"));
        assert_eq!(meta.timestamp, Some(1_749_721_267), "2025-06-12T09:41:07Z");
        let usage = last_usage(&events).expect("usage");
        assert_eq!((usage.input_tokens, usage.output_tokens), (Some(31), Some(15)));
        assert_eq!((usage.cache_read_tokens, usage.reasoning_tokens), (None, None));
        assert_eq!(
            raw_usage(&usage),
            serde_json::json!({
                "prompt_eval_count": 31,
                "eval_count": 15,
                "total_duration": 452_837_416u64,
                "load_duration": 21_873_125u64,
                "prompt_eval_duration": 38_112_000u64,
                "eval_duration": 301_945_000u64,
            })
        );
        assert_finish(finish, FinishReason::Stop, Some("stop"));
    }

    #[test]
    fn thinking_fixture() {
        let (events, end, finish) = run_fixture("thinking.ndjson");
        assert!(end.is_ok(), "{end:?}");
        assert_eq!(reasoning(&events), "Okay, 17 times 23: 17×20 is 340 and 17×3 is 51, so 391.");
        assert_eq!(text(&events), "17 × 23 = **391**.");
        let first_text = events.iter().position(|e| matches!(e, Event::TextDelta(_)));
        let last_reasoning = events.iter().rposition(|e| matches!(e, Event::ReasoningDelta(_)));
        assert!(last_reasoning < first_text, "the reasoning comes before the answer");
        let usage = last_usage(&events).expect("usage");
        assert_eq!((usage.input_tokens, usage.output_tokens), (Some(18), Some(31)));
        assert_eq!(usage.reasoning_tokens, None, "Ollama does not count thinking apart");
        assert_finish(finish, FinishReason::Stop, Some("stop"));
    }

    #[test]
    fn tool_call_fixture() {
        let (events, end, finish) = run_fixture("tool-call.ndjson");
        assert!(end.is_ok(), "{end:?}");
        assert_eq!(
            tool_calls(&events),
            [
                ("call_0".into(), "get_weather".into(), r#"{"city":"Paris","unit":"celsius"}"#.into()),
                (
                    "call_1".into(),
                    "get_forecast".into(),
                    r#"{"city":"Tokyo","days":3,"include":["rain","wind"]}"#.into()
                ),
            ]
        );
        // Each call: a start, one delta with all the arguments, the call.
        let sequence: Vec<String> = events
            .iter()
            .filter_map(|e| match e {
                Event::ToolCallStart(s) => Some(format!("start {} {}", s.id, s.name)),
                Event::ToolCallDelta(d) => Some(format!("delta {} {}", d.id, d.arguments)),
                Event::ToolCall(c) => Some(format!("call {}", c.id)),
                _ => None,
            })
            .collect();
        assert_eq!(
            sequence,
            [
                "start call_0 get_weather",
                r#"delta call_0 {"city":"Paris","unit":"celsius"}"#,
                "call call_0",
                "start call_1 get_forecast",
                r#"delta call_1 {"city":"Tokyo","days":3,"include":["rain","wind"]}"#,
                "call call_1",
            ]
        );
        assert!(text(&events).is_empty(), "empty content is no text");
        let usage = last_usage(&events).expect("usage");
        assert_eq!((usage.input_tokens, usage.output_tokens), (Some(212), Some(58)));
        // Reported as `stop`; the Emitter makes it `tool-calls` since calls were emitted.
        assert_finish(finish, FinishReason::Stop, Some("stop"));
    }

    #[test]
    fn mid_stream_error_fixture() {
        let (events, end, finish) = run_fixture("mid-stream-error.ndjson");
        assert_eq!(text(&events), "Here is a short summary of");
        let error = end.expect_err("an error");
        assert_eq!(error.kind, ErrorKind::Server);
        assert!(error.retryable);
        assert!(error.message.contains("unexpected EOF"), "{}", error.message);
        assert!(finish.is_none());
    }

    #[test]
    fn cut_fixture() {
        let (events, end, finish) = run_fixture("cut.ndjson");
        assert_eq!(text(&events), "Rust guarantees memory safety through ownership and");
        let error = end.expect_err("cut before done");
        assert_eq!(error.kind, ErrorKind::StreamProtocol);
        assert!(error.message.contains("done: true"), "{}", error.message);
        assert!(finish.is_none());
    }

    #[test]
    fn http_404_fixture() {
        let error = ChatStream::default().on_http_error(404, &[], &fixture("404.json"));
        assert_eq!(error.kind, ErrorKind::ModelNotFound);
        assert_eq!(error.status, Some(404));
        assert!(!error.retryable);
        assert!(error.message.contains("model 'llama3.3:70b' not found"), "{}", error.message);
    }

    #[test]
    fn length_and_other_done_reasons() {
        let length = DONE.replace(r#""done_reason":"stop""#, r#""done_reason":"length""#);
        let (_, end, finish) = run(&[&line(r#"{"role":"assistant","content":"Hi"}"#), &length]);
        assert!(end.is_ok());
        assert_finish(finish, FinishReason::Length, Some("length"));

        let load = r#"{"model":"llama3.2","created_at":"2024-09-12T21:17:29.110811Z","message":{"role":"assistant","content":""},"done_reason":"load","done":true}"#;
        let (events, end, finish) = run(&[load]);
        assert!(end.is_ok());
        assert_finish(finish, FinishReason::Other, Some("load"));
        assert!(last_usage(&events).is_none(), "no counts, no usage event");

        // Older servers end without a reason.
        let (_, end, finish) = run(&[r#"{"model":"llama3.2","done":true,"eval_count":1}"#]);
        assert!(end.is_ok());
        assert_finish(finish, FinishReason::Stop, None);
    }

    #[test]
    fn context_overflow_mid_stream_is_classified() {
        let (_, end, _) = run(&[
            &line(r#"{"role":"assistant","content":"Hi"}"#),
            r#"{"error":"the input length exceeds the context length"}"#,
        ]);
        let error = end.expect_err("an error");
        assert_eq!(error.kind, ErrorKind::ContextLengthExceeded);
        assert!(!error.retryable);
        assert!(error.message.contains("exceeds the context length"));
    }

    #[test]
    fn invalid_json_is_a_protocol_error() {
        let (_, end, _) = run(&[r#"{"model":"llama3.2","message":{"content":"Hi""#]);
        let error = end.expect_err("an error");
        assert_eq!(error.kind, ErrorKind::StreamProtocol);
        assert!(error.message.contains("invalid JSON"), "{}", error.message);
    }

    #[test]
    fn wire_ids_are_kept_and_generated_ids_count_every_call() {
        let (events, end, _) = run(&[
            &line(r#"{"role":"assistant","content":"","tool_calls":[{"id":"call_x7","function":{"name":"a","arguments":{}}}]}"#),
            &line(r#"{"role":"assistant","content":"","tool_calls":[{"function":{"name":"b","arguments":{"n":1}}}]}"#),
            DONE,
        ]);
        assert!(end.is_ok());
        assert_eq!(
            tool_calls(&events),
            [
                ("call_x7".into(), "a".into(), "{}".into()),
                ("call_1".into(), "b".into(), r#"{"n":1}"#.into()),
            ]
        );
    }

    #[test]
    fn argument_shapes() {
        let (events, end, _) = run(&[
            &line(r#"{"role":"assistant","content":"","tool_calls":[{"function":{"name":"a"}},{"function":{"name":"b","arguments":null}},{"function":{"name":"c","arguments":"{\"q\":\"x\"}"}}]}"#),
            DONE,
        ]);
        assert!(end.is_ok(), "{end:?}");
        let arguments: Vec<String> = tool_calls(&events).into_iter().map(|(_, _, a)| a).collect();
        assert_eq!(arguments, ["{}", "{}", r#"{"q":"x"}"#]);

        let (_, end, _) = run(&[&line(
            r#"{"role":"assistant","content":"","tool_calls":[{"function":{"name":"a","arguments":"not json"}}]}"#,
        )]);
        assert_eq!(end.expect_err("bad arguments").kind, ErrorKind::StreamProtocol);
        let (_, end, _) = run(&[&line(
            r#"{"role":"assistant","content":"","tool_calls":[{"function":{"arguments":{}}}]}"#,
        )]);
        assert!(end.expect_err("no name").message.contains("function name"));
    }

    #[test]
    fn lines_after_done_are_ignored() {
        let (events, end, _) = run(&[
            &line(r#"{"role":"assistant","content":"Hi"}"#),
            DONE,
            &line(r#"{"role":"assistant","content":" again"}"#),
        ]);
        assert!(end.is_ok());
        assert_eq!(text(&events), "Hi");
    }

    #[test]
    fn timestamps() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2025-06-12T09:41:07.104512Z"), Some(1_749_721_267));
        assert_eq!(unix_seconds("2023-08-04T08:52:19.385406455-07:00"), Some(1_691_164_339));
        assert_eq!(unix_seconds("2024-02-29T23:59:59+01:00"), Some(1_709_247_599));
        assert_eq!(unix_seconds("2025-13-01T00:00:00Z"), None);
        assert_eq!(unix_seconds("yesterday"), None);
        assert_eq!(unix_seconds("2025-06-12T09:41:07"), None, "no zone");
    }
}
