//! The result of a turn, folded by the host from the turn's events. A guest's
//! `finalize` returns the result it assembled too, but the caller gets this
//! one: it says exactly what the events said (a guest cannot report content it
//! never streamed, nor lose content it did), and it is bounded by the limits
//! the events were held to. The fold:
//!
//! - text deltas join the text part before them, or start one;
//! - a reasoning delta joins the reasoning part before it while that part has
//!   no signature and no redacted data (a signature closes a block); one with
//!   redacted data is a part of its own;
//! - each `tool-call` is a part (starts and deltas are progress, not content);
//! - the last `usage` is the turn's usage, the `finish` its finish;
//! - the first id and the first model any `response-metadata` gives are the
//!   response's.
//!
//! Where the guest's own result differs (other than in how it splits reasoning
//! into parts), the host logs the difference for the component's author.

use crate::types::{ContentPart, Event, Finish, FinishReason, ReasoningPart, TurnResult, Usage, Warning};

/// A turn's result as its events build it.
#[derive(Debug, Default)]
pub struct Fold {
    content: Vec<ContentPart>,
    usage: Usage,
    finish: Option<Finish>,
    response_id: Option<String>,
    model: Option<String>,
}

impl Fold {
    /// Nothing folded yet.
    pub fn new() -> Fold {
        Fold::default()
    }

    /// Fold in one event (already checked against the grammar).
    pub fn push(&mut self, event: &Event) {
        match event {
            Event::TextDelta { text } if !text.is_empty() => match self.content.last_mut() {
                Some(ContentPart::Text { text: last }) => last.push_str(text),
                _ => self.content.push(ContentPart::Text { text: text.clone() }),
            },
            Event::ReasoningDelta { text, signature, redacted } => self.reasoning(text, signature, redacted),
            Event::ToolCall(call) => self.content.push(ContentPart::ToolCall(call.clone())),
            Event::Usage(usage) => self.usage = usage.clone(),
            Event::Finish(finish) => self.finish = Some(finish.clone()),
            Event::ResponseMetadata { id, model, .. } => {
                if self.response_id.is_none() {
                    self.response_id.clone_from(id);
                }
                if self.model.is_none() {
                    self.model.clone_from(model);
                }
            }
            _ => {}
        }
    }

    fn reasoning(&mut self, text: &str, signature: &Option<String>, redacted: &Option<String>) {
        if redacted.is_none()
            && let Some(ContentPart::Reasoning(open)) = self.content.last_mut()
            && open.signature.is_none()
            && open.redacted.is_none()
        {
            open.text.push_str(text);
            open.signature.clone_from(signature);
            return;
        }
        if text.is_empty() && signature.is_none() && redacted.is_none() {
            return;
        }
        self.content.push(ContentPart::Reasoning(ReasoningPart {
            text: text.to_owned(),
            signature: signature.clone(),
            redacted: redacted.clone(),
        }));
    }

    /// The result, with what the events do not carry.
    pub fn into_result(
        self,
        warnings: Vec<Warning>,
        served_by: String,
        provider_metadata: Option<serde_json::Value>,
    ) -> TurnResult {
        TurnResult {
            content: self.content,
            usage: self.usage,
            finish: self.finish.unwrap_or(Finish { reason: FinishReason::Other, raw: None }),
            warnings,
            response_id: self.response_id,
            model: self.model,
            provider_metadata,
            served_by,
        }
    }

    /// Where a guest's own result differs from the fold, if it does. How
    /// reasoning is split into parts is not compared (the events cannot say
    /// where an unsigned block ends), nor are empty reasoning parts.
    pub fn difference(&self, content: &[ContentPart], usage: &Usage, finish: &Finish) -> Option<String> {
        let (ours, theirs) = (normalized(&self.content), normalized(content));
        if ours != theirs {
            let at = ours.iter().zip(&theirs).position(|(a, b)| a != b).unwrap_or(ours.len().min(theirs.len()));
            return Some(format!(
                "its content differs from its events from part {at} on ({} parts folded from the events, {} in its result)",
                ours.len(),
                theirs.len()
            ));
        }
        let numbers = |u: &Usage| (u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_tokens, u.reasoning_tokens);
        if numbers(&self.usage) != numbers(usage) {
            return Some("its usage differs from the last `usage` event".to_owned());
        }
        if self.finish.as_ref().is_some_and(|f| f != finish) {
            return Some("its finish differs from the `finish` event".to_owned());
        }
        None
    }
}

/// `content` with adjacent unsigned reasoning joined and empty reasoning dropped.
fn normalized(content: &[ContentPart]) -> Vec<ContentPart> {
    let mut out: Vec<ContentPart> = Vec::with_capacity(content.len());
    for part in content {
        match (out.last_mut(), part) {
            (_, ContentPart::Reasoning(r)) if r.text.is_empty() && r.signature.is_none() && r.redacted.is_none() => {}
            (Some(ContentPart::Reasoning(open)), ContentPart::Reasoning(next))
                if open.signature.is_none() && open.redacted.is_none() && next.redacted.is_none() =>
            {
                open.text.push_str(&next.text);
                open.signature.clone_from(&next.signature);
            }
            (Some(ContentPart::Text { text: open }), ContentPart::Text { text }) => open.push_str(text),
            _ => out.push(part.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ToolCall;

    fn reasoning(text: &str, signature: Option<&str>, redacted: Option<&str>) -> Event {
        Event::ReasoningDelta { text: text.into(), signature: signature.map(Into::into), redacted: redacted.map(Into::into) }
    }

    fn fold(events: &[Event]) -> TurnResult {
        let mut fold = Fold::new();
        events.iter().for_each(|e| fold.push(e));
        fold.into_result(Vec::new(), "x@1".into(), None)
    }

    #[test]
    fn parts_are_built_as_the_contract_says() {
        let call = ToolCall { id: "c".into(), name: "f".into(), arguments: "{}".into() };
        let result = fold(&[
            Event::ResponseMetadata { id: None, model: Some("m1".into()), timestamp: None },
            reasoning("think ", None, None),
            reasoning("more", None, None),
            reasoning("", Some("sig1"), None),
            reasoning("second block", None, None),
            reasoning("", None, Some("opaque")),
            Event::TextDelta { text: "Hel".into() },
            Event::TextDelta { text: "".into() },
            Event::TextDelta { text: "lo".into() },
            Event::ToolCallStart { id: "c".into(), name: "f".into() },
            Event::ToolCall(call.clone()),
            Event::ResponseMetadata { id: Some("r1".into()), model: Some("m2".into()), timestamp: None },
            Event::Usage(Usage { input_tokens: Some(1), ..Usage::default() }),
            Event::Usage(Usage { input_tokens: Some(2), output_tokens: Some(u64::MAX), ..Usage::default() }),
            Event::Finish(Finish { reason: FinishReason::ToolCalls, raw: None }),
        ]);
        assert_eq!(
            result.content,
            vec![
                ContentPart::Reasoning(ReasoningPart { text: "think more".into(), signature: Some("sig1".into()), redacted: None }),
                ContentPart::Reasoning(ReasoningPart { text: "second block".into(), signature: None, redacted: None }),
                ContentPart::Reasoning(ReasoningPart { text: "".into(), signature: None, redacted: Some("opaque".into()) }),
                ContentPart::Text { text: "Hello".into() },
                ContentPart::ToolCall(call),
            ]
        );
        assert_eq!((result.response_id.as_deref(), result.model.as_deref()), (Some("r1"), Some("m1")));
        assert_eq!((result.usage.input_tokens, result.usage.output_tokens), (Some(2), Some(u64::MAX)));
        assert_eq!(result.finish.reason, FinishReason::ToolCalls);
    }

    #[test]
    fn differences_are_found_but_reasoning_splits_are_not_one() {
        let events = [reasoning("a", None, None), reasoning("b", None, None), Event::TextDelta { text: "t".into() }];
        let mut fold = Fold::new();
        events.iter().for_each(|e| fold.push(e));
        let finish = Finish { reason: FinishReason::Stop, raw: None };
        let split = [
            ContentPart::Reasoning(ReasoningPart { text: "".into(), signature: None, redacted: None }),
            ContentPart::Reasoning(ReasoningPart { text: "a".into(), signature: None, redacted: None }),
            ContentPart::Reasoning(ReasoningPart { text: "b".into(), signature: None, redacted: None }),
            ContentPart::Text { text: "t".into() },
        ];
        assert_eq!(fold.difference(&split, &Usage::default(), &finish), None);
        let more = [ContentPart::Text { text: "t and text never streamed".into() }];
        assert!(fold.difference(&more, &Usage::default(), &finish).is_some());
    }
}
