//! Parsing the `streamGenerateContent?alt=sse` stream: each SSE `data:` line is a
//! whole `GenerateContentResponse`; there is no terminator, so the stream is
//! complete only if a candidate carried a `finishReason`.
//!
//! Parts of `candidates[0].content.parts[]` become events: `text`, `thought: true`
//! text as reasoning, `thoughtSignature` as a reasoning signature, `functionCall`
//! as tool calls. A call that arrives whole (`name` + `args`) is complete at once
//! and gets a generated id (`call_0`, `call_1`, ... in order; the Gemini API sends
//! none). A Gemini 3 streamed call (`functionCall{name, willContinue: true}`, then
//! `functionCall{partialArgs: [...]}` parts) is built from its JSON paths and is
//! complete at its first part without `willContinue` (typically an empty
//! `functionCall{}`), at the next named call, at `finishReason` or at the end of
//! the stream. Other part kinds (inline data, executable code) are skipped.
//!
//! Vertex AI sends the same chunks with a few more fields: `createTime` (read
//! past), and a `usageMetadata` holding only `trafficType` on the chunks before
//! the last, which is not a usage report (the counts come on the last chunk).
//!
//! Signatures are placed so they can go back where they came from: a signature
//! on a thought part joins that reasoning block; one on any other part becomes a
//! reasoning block of its own, emitted just before that part's content, so the
//! request builder can re-attach it to the part that follows it.

use std::borrow::Cow;

use cordon_sdk::{Emitter, FinishReason, Frame, ProviderError, StreamHandler, ToolCall, Usage};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::Number;

use crate::errors::{classify_error_object, ErrorObject};
use crate::partial::{PartialArgs, PartialValue};

/// The per-turn stream state.
#[derive(Debug, Default)]
pub struct GeminiStream {
    /// Calls started so far: the next generated id is `call_{calls}`.
    calls: usize,
    /// A streamed call whose arguments are still arriving.
    open: Option<OpenCall>,
    /// The emitter's last content is a reasoning block fed by thought text and
    /// not yet signed: more thought text or its signature may join it.
    reasoning_open: bool,
}

#[derive(Debug)]
struct OpenCall {
    id: String,
    name: String,
    args: PartialArgs,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Chunk<'a> {
    #[serde(borrow, default)]
    candidates: Vec<Candidate<'a>>,
    #[serde(borrow, default)]
    usage_metadata: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    model_version: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    response_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    prompt_feedback: Option<PromptFeedback<'a>>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback<'a> {
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    block_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate<'a> {
    #[serde(default)]
    index: u64,
    #[serde(borrow, default)]
    content: Option<Content<'a>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Content<'a> {
    #[serde(borrow, default)]
    parts: Vec<WirePart<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePart<'a> {
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    text: Option<Cow<'a, str>>,
    #[serde(default)]
    thought: bool,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    thought_signature: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    function_call: Option<FunctionCall<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FunctionCall<'a> {
    /// Sent by some Google endpoints (Vertex AI, Live); the Gemini API sends none.
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    args: Option<&'a RawValue>,
    #[serde(borrow, default)]
    partial_args: Vec<PartialArg<'a>>,
    #[serde(default)]
    will_continue: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PartialArg<'a> {
    #[serde(borrow)]
    json_path: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "cordon_sdk::json::borrowed")]
    string_value: Option<Cow<'a, str>>,
    #[serde(default)]
    number_value: Option<Number>,
    #[serde(default)]
    bool_value: Option<bool>,
    /// `nullValue` is present (its value, `null` or `"NULL_VALUE"`, says nothing more).
    #[serde(default, deserialize_with = "present")]
    null_value: bool,
}

/// `true` whenever the field is present, whatever its value (`null` included).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer).map(|_| true)
}

impl PartialArg<'_> {
    fn value(&self) -> Option<PartialValue> {
        if let Some(text) = &self.string_value {
            Some(PartialValue::Str(text.clone().into_owned()))
        } else if let Some(number) = &self.number_value {
            Some(PartialValue::Number(number.clone()))
        } else if let Some(flag) = self.bool_value {
            Some(PartialValue::Bool(flag))
        } else if self.null_value {
            Some(PartialValue::Null)
        } else {
            None
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireUsage {
    #[serde(default)]
    prompt_token_count: Option<u64>,
    #[serde(default)]
    tool_use_prompt_token_count: Option<u64>,
    #[serde(default)]
    candidates_token_count: Option<u64>,
    #[serde(default)]
    thoughts_token_count: Option<u64>,
    #[serde(default)]
    cached_content_token_count: Option<u64>,
}

/// The unified finish reason for a Gemini `finishReason`.
///
/// The safety family (`SAFETY`, `RECITATION`, `BLOCKLIST`, `PROHIBITED_CONTENT`,
/// `SPII`, `IMAGE_SAFETY`, ...) is `content-filter`. A function call the model
/// could not produce (`MALFORMED_FUNCTION_CALL`, `UNEXPECTED_TOOL_CALL`,
/// `TOO_MANY_TOOL_CALLS`) is `error`: the turn has no usable answer, and the raw
/// reason says why. `OTHER`, `LANGUAGE` and unknown reasons are `other`.
pub fn map_finish_reason(raw: &str) -> FinishReason {
    match raw {
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII"
        | "IMAGE_SAFETY" | "IMAGE_PROHIBITED_CONTENT" | "IMAGE_RECITATION" => {
            FinishReason::ContentFilter
        }
        "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" | "TOO_MANY_TOOL_CALLS" => {
            FinishReason::Error
        }
        _ => FinishReason::Other,
    }
}

impl StreamHandler for GeminiStream {
    fn on_frame(&mut self, frame: Frame<'_>, out: &mut Emitter) -> Result<(), ProviderError> {
        let data = match frame {
            Frame::Sse(event) => event.data,
            Frame::Line(line) | Frame::Json(line) => line,
        };
        if data.trim().is_empty() {
            return Ok(());
        }
        let chunk: Chunk<'_> =
            serde_json::from_str(data).map_err(|err| ProviderError::invalid_json("chunk", &err, data))?;
        if let Some(error) = chunk.error {
            return Err(classify_error_object(error, None));
        }
        if chunk.response_id.is_some() || chunk.model_version.is_some() {
            out.metadata(chunk.response_id.as_deref(), chunk.model_version.as_deref(), None);
        }
        for candidate in chunk.candidates {
            // Only the first candidate is a turn's answer; `candidateCount > 1` is not supported.
            if candidate.index != 0 {
                continue;
            }
            for part in candidate.content.into_iter().flat_map(|c| c.parts) {
                self.on_part(part, out)?;
            }
            if let Some(reason) = candidate.finish_reason {
                self.complete_call(out);
                out.finish(map_finish_reason(&reason), Some(reason.into_owned()));
            }
        }
        // A blocked prompt: no candidate at all, only the reason it was refused.
        if let Some(reason) = chunk.prompt_feedback.and_then(|f| f.block_reason) {
            out.finish(FinishReason::ContentFilter, Some(reason.into_owned()));
        }
        if let Some(usage) = chunk.usage_metadata.map(parse_usage).transpose()?.flatten() {
            out.usage(usage);
        }
        Ok(())
    }

    fn on_end(&mut self, out: &mut Emitter) -> Result<(), ProviderError> {
        if !out.has_finish() {
            return Err(ProviderError::protocol(
                "the stream ended before the model finished: no candidate carried a \
                 finishReason (the upstream connection was cut mid-answer)",
            ));
        }
        self.complete_call(out);
        Ok(())
    }

    fn on_http_error(
        &mut self,
        status: u16,
        headers: &[cordon_sdk::Header],
        body: &[u8],
    ) -> ProviderError {
        crate::errors::classify_http_error(status, headers, body)
    }
}

impl GeminiStream {
    fn on_part(&mut self, part: WirePart<'_>, out: &mut Emitter) -> Result<(), ProviderError> {
        if part.thought {
            self.on_thought(part.text, part.thought_signature, out);
            return Ok(());
        }
        if let Some(signature) = part.thought_signature {
            self.signature_block(signature.into_owned(), out);
        }
        if let Some(call) = part.function_call {
            return self.on_function_call(call, out);
        }
        if let Some(text) = part.text.filter(|t| !t.is_empty()) {
            self.reasoning_open = false;
            out.text(text.into_owned());
        }
        Ok(())
    }

    /// Thought text (and its signature, if it carries one) joins the open reasoning block.
    fn on_thought(
        &mut self,
        text: Option<Cow<'_, str>>,
        signature: Option<Cow<'_, str>>,
        out: &mut Emitter,
    ) {
        if let Some(text) = text.filter(|t| !t.is_empty()) {
            if !self.reasoning_open {
                out.reasoning_block();
                self.reasoning_open = true;
            }
            out.reasoning(text.into_owned());
        }
        if let Some(signature) = signature {
            if !self.reasoning_open {
                out.reasoning_block();
            }
            out.reasoning_signature(signature.into_owned());
            self.reasoning_open = false;
        }
    }

    /// The signature of a non-thought part, as a reasoning block of its own.
    fn signature_block(&mut self, signature: String, out: &mut Emitter) {
        out.reasoning_block();
        out.reasoning_signature(signature);
        self.reasoning_open = false;
    }

    fn on_function_call(
        &mut self,
        call: FunctionCall<'_>,
        out: &mut Emitter,
    ) -> Result<(), ProviderError> {
        self.reasoning_open = false;
        let name = call.name.as_deref().filter(|n| !n.is_empty()).map(str::to_owned);
        let Some(name) = name else {
            return self.continue_call(call, out);
        };
        self.complete_call(out);
        let id = match call.id.as_deref() {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => format!("call_{}", self.calls),
        };
        self.calls += 1;
        out.tool_call_start(id.clone(), name.clone());
        if !call.will_continue && call.partial_args.is_empty() {
            // Whole: the arguments are complete as they came.
            let arguments = match call.args {
                Some(args) => args.get().to_owned(),
                None => "{}".to_owned(),
            };
            out.tool_call_delta(id.clone(), arguments.clone());
            out.tool_call(ToolCall { id, name, arguments });
            return Ok(());
        }
        self.open = Some(OpenCall { id, name, args: PartialArgs::default() });
        self.continue_call(call, out)
    }

    /// Apply a part of the open streamed call; complete it unless more will follow.
    fn continue_call(
        &mut self,
        call: FunctionCall<'_>,
        out: &mut Emitter,
    ) -> Result<(), ProviderError> {
        let Some(open) = self.open.as_mut() else {
            if call.args.is_some() || !call.partial_args.is_empty() {
                return Err(ProviderError::protocol(
                    "function-call arguments arrived without a function name and with no call in progress",
                ));
            }
            return Ok(());
        };
        if let Some(args) = call.args {
            let object: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(args.get()).map_err(|err| {
                    ProviderError::protocol(format!(
                        "the arguments of function call `{}` are not a JSON object ({err})",
                        open.name
                    ))
                })?;
            open.args.merge(object);
        }
        for arg in &call.partial_args {
            let Some(value) = arg.value() else { continue };
            open.args.apply(&arg.json_path, value).map_err(|err| {
                ProviderError::protocol(format!("streamed call `{}`: {err}", open.name))
            })?;
        }
        if !call.will_continue {
            self.complete_call(out);
        }
        Ok(())
    }

    /// Emit the open streamed call as complete (its arguments as one delta, then the call).
    fn complete_call(&mut self, out: &mut Emitter) {
        let Some(call) = self.open.take() else { return };
        let arguments = call.args.into_json();
        out.tool_call_delta(call.id.clone(), arguments.clone());
        out.tool_call(ToolCall { id: call.id, name: call.name, arguments });
    }
}

/// Sum of the counts that are known; `None` if none is.
fn sum_known(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    }
}

/// Usage from a cumulative `usageMetadata`. Input is the prompt (cached tokens
/// included) plus any tool-use prompt; output is every generated token, the
/// thoughts included. `None` when it counts no tokens at all: Vertex AI sends
/// `{"trafficType": "ON_DEMAND"}` alone on the chunks before the last, which
/// must not replace the usage reported so far.
fn parse_usage(raw: &RawValue) -> Result<Option<Usage>, ProviderError> {
    let wire: WireUsage = serde_json::from_str(raw.get()).map_err(|err| {
        ProviderError::protocol(format!("invalid usageMetadata object in the stream: {err}"))
    })?;
    let counted = [
        wire.prompt_token_count,
        wire.tool_use_prompt_token_count,
        wire.candidates_token_count,
        wire.thoughts_token_count,
        wire.cached_content_token_count,
    ];
    if counted.iter().all(Option::is_none) {
        return Ok(None);
    }
    Ok(Some(Usage {
        input_tokens: sum_known(wire.prompt_token_count, wire.tool_use_prompt_token_count),
        output_tokens: sum_known(wire.candidates_token_count, wire.thoughts_token_count),
        cache_read_tokens: wire.cached_content_token_count,
        cache_write_tokens: None,
        reasoning_tokens: wire.thoughts_token_count,
        raw: Some(raw.get().to_owned()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sdk::sse::SseEvent;
    use cordon_sdk::{ErrorKind, Event};

    fn run(lines: &[&str]) -> (Vec<Event>, Result<(), ProviderError>, Emitter) {
        let mut stream = GeminiStream::default();
        let mut out = Emitter::default();
        for line in lines {
            let frame = Frame::Sse(SseEvent { event: "", data: line, id: None });
            if let Err(e) = stream.on_frame(frame, &mut out) {
                return (out.take_batch(), Err(e), out);
            }
        }
        let end = stream.on_end(&mut out);
        (out.take_batch(), end, out)
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

    fn tool_calls(events: &[Event]) -> Vec<(String, String, serde_json::Value)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::ToolCall(c) => Some((
                    c.id.clone(),
                    c.name.clone(),
                    serde_json::from_str(&c.arguments).expect("arguments are JSON"),
                )),
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

    #[test]
    fn text_metadata_and_finish() {
        let (events, end, out) = run(&[
            r#"{"candidates":[{"content":{"parts":[{"text":"Hel"}],"role":"model"},"index":0}],"modelVersion":"gemini-2.5-flash","responseId":"r1"}"#,
            r#"{"candidates":[{"content":{"parts":[{"text":"lo"}],"role":"model"},"finishReason":"STOP","index":0}],"modelVersion":"gemini-2.5-flash","responseId":"r1"}"#,
        ]);
        assert!(end.is_ok());
        assert!(out.has_finish());
        assert_eq!(text(&events), "Hello");
        let metadata: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::ResponseMetadata(m) => Some((m.id.clone(), m.model.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(metadata, [(Some("r1".into()), Some("gemini-2.5-flash".into()))]);
    }

    #[test]
    fn thoughts_are_reasoning_with_their_signature() {
        let (events, end, _) = run(&[
            r#"{"candidates":[{"content":{"parts":[{"text":"Let me think","thought":true}]}}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"text":" harder.","thought":true,"thoughtSignature":"c2ln"}]}}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"text":"Answer."}]},"finishReason":"STOP"}]}"#,
        ]);
        assert!(end.is_ok());
        let reasoning: String = events
            .iter()
            .filter_map(|e| match e {
                Event::ReasoningDelta(d) => Some(d.text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(reasoning, "Let me think harder.");
        let signatures: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::ReasoningDelta(d) => d.signature.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(signatures, ["c2ln"]);
        assert_eq!(text(&events), "Answer.", "thought text is not answer text");
    }

    #[test]
    fn whole_function_calls_get_ids_in_order_and_are_complete_at_once() {
        let (events, end, _) = run(&[
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"weather","args":{"city":"Paris"}},"thoughtSignature":"c2ln"},{"functionCall":{"name":"time","args":{}}}]}}]}"#,
        ]);
        assert_eq!(
            tool_calls(&events),
            [
                ("call_0".into(), "weather".into(), serde_json::json!({ "city": "Paris" })),
                ("call_1".into(), "time".into(), serde_json::json!({})),
            ],
            "complete before any finishReason"
        );
        assert!(end.is_err(), "but the stream itself was cut before finishing");
        let signature_first = events.iter().position(|e| matches!(e, Event::ReasoningDelta(d) if d.signature.is_some()));
        let call_first = events.iter().position(|e| matches!(e, Event::ToolCallStart(_)));
        assert!(signature_first < call_first, "the call's signature comes just before it");
    }

    #[test]
    fn function_call_then_stop_finishes_with_the_raw_reason() {
        let (events, end, out) = run(&[
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"weather","args":{"city":"Paris"}}}]}}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"text":""}]},"finishReason":"STOP"}]}"#,
        ]);
        assert!(end.is_ok());
        assert!(out.has_finish(), "the emitter turns this stop into tool-calls");
        assert_eq!(tool_calls(&events).len(), 1);
        assert_eq!(map_finish_reason("STOP"), FinishReason::Stop);
    }

    #[test]
    fn streamed_partial_args_build_the_call() {
        let (events, end, _) = run(&[
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"book","willContinue":true}}]}}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{"partialArgs":[{"jsonPath":"$.city","stringValue":"San ","willContinue":true}],"willContinue":true}}]}}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{"partialArgs":[{"jsonPath":"$.city","stringValue":"Francisco"},{"jsonPath":"$.nights","numberValue":3},{"jsonPath":"$.guests[0].vip","boolValue":true},{"jsonPath":"$.note","nullValue":null}],"willContinue":true}}]}}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{}}]}}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"text":""}]},"finishReason":"STOP"}]}"#,
        ]);
        assert!(end.is_ok());
        let want = serde_json::json!({
            "city": "San Francisco", "nights": 3, "guests": [{ "vip": true }], "note": null,
        });
        assert_eq!(tool_calls(&events), [("call_0".into(), "book".into(), want)]);
        let complete = events.iter().position(|e| matches!(e, Event::ToolCall(_)));
        assert!(complete.is_some());
        let starts = events.iter().filter(|e| matches!(e, Event::ToolCallStart(_))).count();
        assert_eq!(starts, 1);
    }

    #[test]
    fn streamed_call_is_not_complete_before_its_end() {
        let (events, end, _) = run(&[
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"book","willContinue":true}}]}}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{"partialArgs":[{"jsonPath":"$.city","stringValue":"Par"}],"willContinue":true}}]}}]}"#,
        ]);
        assert!(tool_calls(&events).is_empty());
        assert!(end.is_err());
    }

    #[test]
    fn streamed_call_is_completed_by_finish_reason() {
        let (events, end, _) = run(&[
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"book","willContinue":true}}]}}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{"partialArgs":[{"jsonPath":"$.city","stringValue":"Paris"}],"willContinue":true}}]},"finishReason":"STOP"}]}"#,
        ]);
        assert!(end.is_ok());
        assert_eq!(tool_calls(&events), [("call_0".into(), "book".into(), serde_json::json!({ "city": "Paris" }))]);
    }

    #[test]
    fn usage_is_cumulative_and_the_last_wins() {
        let (events, end, _) = run(&[
            r#"{"candidates":[{"content":{"parts":[{"text":"a"}]}}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":1,"thoughtsTokenCount":50,"totalTokenCount":61}}"#,
            r#"{"candidates":[{"content":{"parts":[{"text":"b"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":7,"thoughtsTokenCount":50,"cachedContentTokenCount":4,"totalTokenCount":67}}"#,
        ]);
        assert!(end.is_ok());
        let usage = last_usage(&events).expect("usage");
        assert_eq!(usage.input_tokens, Some(10));
        assert_eq!(usage.output_tokens, Some(57));
        assert_eq!(usage.reasoning_tokens, Some(50));
        assert_eq!(usage.cache_read_tokens, Some(4));
        assert!(usage.raw.as_deref().is_some_and(|r| r.contains("\"totalTokenCount\":67")));
    }

    #[test]
    fn usage_without_token_counts_keeps_the_usage_so_far() {
        let (events, end, _) = run(&[
            r#"{"candidates":[{"content":{"parts":[{"text":"a"}]}}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":1,"totalTokenCount":11}}"#,
            r#"{"candidates":[{"content":{"parts":[{"text":"b"}]},"finishReason":"STOP"}],"usageMetadata":{"trafficType":"ON_DEMAND"},"createTime":"2026-04-07T16:49:58.333958Z"}"#,
        ]);
        assert!(end.is_ok());
        let reports: Vec<&Usage> = events.iter().filter_map(|e| if let Event::Usage(u) = e { Some(u) } else { None }).collect();
        assert_eq!(reports.len(), 1, "a usageMetadata holding only trafficType reports nothing");
        let usage = last_usage(&events).expect("usage");
        assert_eq!((usage.input_tokens, usage.output_tokens), (Some(10), Some(1)));
        assert!(usage.raw.as_deref().is_some_and(|r| r.contains("\"totalTokenCount\":11")));
    }

    #[test]
    fn safety_is_content_filter() {
        let (_, end, out) = run(&[
            r#"{"candidates":[{"content":{"parts":[{"text":"Sure"}]},"finishReason":"SAFETY","index":0}]}"#,
        ]);
        assert!(end.is_ok());
        assert!(out.has_finish());
        for raw in ["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"] {
            assert_eq!(map_finish_reason(raw), FinishReason::ContentFilter, "{raw}");
        }
        assert_eq!(map_finish_reason("MAX_TOKENS"), FinishReason::Length);
        assert_eq!(map_finish_reason("MALFORMED_FUNCTION_CALL"), FinishReason::Error);
        assert_eq!(map_finish_reason("OTHER"), FinishReason::Other);
    }

    #[test]
    fn blocked_prompt_finishes_the_turn() {
        let (events, end, out) = run(&[r#"{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":8}}"#]);
        assert!(end.is_ok());
        assert!(out.has_finish());
        assert!(text(&events).is_empty());
    }

    #[test]
    fn stream_cut_before_finish_is_an_error() {
        let (events, end, _) = run(&[r#"{"candidates":[{"content":{"parts":[{"text":"Half an ans"}]}}]}"#]);
        assert_eq!(text(&events), "Half an ans");
        let error = end.expect_err("cut");
        assert_eq!(error.kind, ErrorKind::StreamProtocol);
        assert!(error.message.contains("ended before the model finished"));
    }

    #[test]
    fn mid_stream_error_object_is_classified() {
        let (_, end, _) = run(&[
            r#"{"candidates":[{"content":{"parts":[{"text":"Hi"}]}}]}"#,
            r#"{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}"#,
        ]);
        let error = end.expect_err("an error");
        assert_eq!(error.kind, ErrorKind::Overloaded);
        assert!(error.retryable);
        assert!(error.message.contains("overloaded"));
    }

    #[test]
    fn bad_json_is_a_protocol_error() {
        let (_, end, _) = run(&["{not json"]);
        assert_eq!(end.expect_err("error").kind, ErrorKind::StreamProtocol);
    }

    /// What a recording says, read straight from its chunks.
    #[derive(Debug, Default)]
    struct Expected {
        text: String,
        calls: Vec<(String, serde_json::Value)>,
        usage: Option<serde_json::Value>,
        finish: Option<String>,
    }

    fn expected_from(file: &str) -> Expected {
        let mut want = Expected::default();
        for line in file.lines().filter(|l| !l.trim().is_empty()) {
            let chunk: serde_json::Value = serde_json::from_str(line).expect("fixture line is JSON");
            if let Some(usage) = chunk.get("usageMetadata") {
                want.usage = Some(usage.clone());
            }
            let candidate = &chunk["candidates"][0];
            for part in candidate["content"]["parts"].as_array().into_iter().flatten() {
                if let Some(call) = part.get("functionCall") {
                    let name = call["name"].as_str().unwrap_or_default().to_owned();
                    want.calls.push((name, call["args"].clone()));
                } else if part["thought"].as_bool() != Some(true)
                    && let Some(text) = part["text"].as_str()
                {
                    want.text.push_str(text);
                }
            }
            if let Some(reason) = candidate["finishReason"].as_str() {
                want.finish = Some(reason.to_owned());
            }
        }
        want
    }

    #[test]
    fn recorded_streams_match_their_chunks() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/wire/gemini");
        if !dir.is_dir() {
            eprintln!("SKIPPED: no recorded Gemini streams at {}", dir.display());
            return;
        }
        for name in ["google-text.chunks.txt", "google-tool-call.chunks.txt", "google-reasoning.chunks.txt"] {
            let file = std::fs::read_to_string(dir.join(name)).expect("fixture readable");
            let want = expected_from(&file);
            let lines: Vec<&str> = file.lines().filter(|l| !l.trim().is_empty()).collect();
            let (events, end, out) = run(&lines);
            assert!(end.is_ok(), "{name}: {end:?}");
            assert!(out.has_finish() && want.finish.is_some(), "{name}: finished");
            assert_eq!(text(&events), want.text, "{name}: text");
            let calls: Vec<_> = tool_calls(&events).into_iter().map(|(_, name, args)| (name, args)).collect();
            assert_eq!(calls, want.calls, "{name}: tool calls");
            let usage = last_usage(&events).expect("usage");
            let wire = want.usage.expect("the fixture has usage");
            let count = |key: &str| wire[key].as_u64();
            assert_eq!(usage.input_tokens, count("promptTokenCount"), "{name}: input");
            assert_eq!(
                usage.output_tokens,
                Some(count("candidatesTokenCount").unwrap_or(0) + count("thoughtsTokenCount").unwrap_or(0)),
                "{name}: output"
            );
            assert_eq!(usage.reasoning_tokens, count("thoughtsTokenCount"), "{name}: reasoning");
            let raw: serde_json::Value = serde_json::from_str(usage.raw.as_deref().unwrap_or("null")).expect("raw");
            assert_eq!(raw, wire, "{name}: raw usage");
        }
    }
}
