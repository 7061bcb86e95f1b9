//! The contract's event grammar, checked by the host for every guest, in one
//! place. A guest's events reach the caller only if they follow it:
//!
//! - `next` returns at least one event per batch (`none` ends the turn);
//! - a turn ends with exactly one `finish`, or with an `error`;
//! - nothing follows an `error`, and nothing but `usage` and `raw` follows `finish`;
//! - a tool call has a non-empty id and starts at most once; its deltas come
//!   after its start and before its `tool-call`; its `tool-call` comes once,
//!   with the name it started with; every started call is completed before
//!   `finish`.
//!
//! A violation ends the turn with a `contract-violation` error naming the rule.

use std::collections::HashMap;

use crate::types::Event;

/// Where a tool call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// Started (`tool-call-start`), arguments may still come.
    Open,
    /// Completed (`tool-call`).
    Done,
}

/// The grammar's state for one turn.
#[derive(Debug, Default)]
pub struct Grammar {
    finished: bool,
    failed: bool,
    /// Tool calls by id: the name each started with, and where it is.
    calls: HashMap<String, (String, Call)>,
    open_calls: usize,
}

impl Grammar {
    /// A turn that has seen no event yet.
    pub fn new() -> Grammar {
        Grammar::default()
    }

    /// Check a batch, as one call of `next` returned it. On error, nothing of
    /// the batch counts.
    pub fn check_batch(&mut self, batch: &[Event]) -> Result<(), String> {
        if batch.is_empty() {
            return Err(
                "`next` returned an empty batch; the contract asks for at least one event, or `none` when the turn is over"
                    .to_owned(),
            );
        }
        batch.iter().try_for_each(|event| self.check(event))
    }

    /// Check one event against what came before it.
    pub fn check(&mut self, event: &Event) -> Result<(), String> {
        if self.failed {
            return Err(format!("a {} event came after an `error` event; nothing may follow an error", name(event)));
        }
        if self.finished && !matches!(event, Event::Usage(_) | Event::Raw { .. }) {
            return Err(format!(
                "a {} event came after `finish`; only `usage` and `raw` may follow the finish",
                name(event)
            ));
        }
        match event {
            Event::Error(_) => self.failed = true,
            Event::Finish(_) => {
                if let Some((id, _)) = self.calls.iter().find(|(_, (_, state))| *state == Call::Open) {
                    return Err(format!("`finish` came while tool call `{id}` was still open (started, never completed)"));
                }
                self.finished = true;
            }
            Event::ToolCallStart { id, name } => {
                if id.is_empty() {
                    return Err(format!("a tool-call-start for `{name}` has an empty id"));
                }
                if self.calls.contains_key(id) {
                    return Err(format!("tool call `{id}` was started twice"));
                }
                self.calls.insert(id.clone(), (name.clone(), Call::Open));
                self.open_calls = self.open_calls.saturating_add(1);
            }
            Event::ToolCallDelta { id, .. } => match self.calls.get(id) {
                None => return Err(format!("a tool-call-delta for call `{id}`, which was never started")),
                Some((_, Call::Done)) => {
                    return Err(format!("a tool-call-delta for call `{id}`, which was already complete"));
                }
                Some((_, Call::Open)) => {}
            },
            Event::ToolCall(call) => {
                if call.id.is_empty() {
                    return Err(format!("a tool-call of `{}` has an empty id", call.name));
                }
                match self.calls.get_mut(&call.id) {
                    Some((_, Call::Done)) => return Err(format!("tool call `{}` was completed twice", call.id)),
                    Some((started, state)) => {
                        if *started != call.name {
                            return Err(format!(
                                "tool call `{}` started as `{started}` but completed as `{}`",
                                call.id, call.name
                            ));
                        }
                        *state = Call::Done;
                        self.open_calls = self.open_calls.saturating_sub(1);
                    }
                    None => {
                        self.calls.insert(call.id.clone(), (call.name.clone(), Call::Done));
                    }
                }
            }
            Event::StreamStart { .. } => {
                return Err("a guest sent `stream-start`, which only the host sends".to_owned());
            }
            Event::ResponseMetadata { .. }
            | Event::TextDelta { .. }
            | Event::ReasoningDelta { .. }
            | Event::Usage(_)
            | Event::Raw { .. } => {}
        }
        Ok(())
    }

    /// The turn's stream ended (`next` returned `none`): check it ended properly.
    pub fn check_end(&self) -> Result<(), String> {
        if self.failed || self.finished {
            return Ok(());
        }
        if self.open_calls > 0 {
            let open: Vec<&str> =
                self.calls.iter().filter(|(_, (_, s))| *s == Call::Open).map(|(id, _)| id.as_str()).collect();
            return Err(format!("the turn ended with tool calls still open ({}) and without `finish`", open.join(", ")));
        }
        Err("the turn ended without a `finish` or an `error` event".to_owned())
    }
}

/// The event's type, as the contract names it.
fn name(event: &Event) -> &'static str {
    match event {
        Event::StreamStart { .. } => "`stream-start`",
        Event::ResponseMetadata { .. } => "`response-metadata`",
        Event::TextDelta { .. } => "`text-delta`",
        Event::ReasoningDelta { .. } => "`reasoning-delta`",
        Event::ToolCallStart { .. } => "`tool-call-start`",
        Event::ToolCallDelta { .. } => "`tool-call-delta`",
        Event::ToolCall(_) => "`tool-call`",
        Event::Usage(_) => "`usage`",
        Event::Finish(_) => "`finish`",
        Event::Error(_) => "`error`",
        Event::Raw { .. } => "`raw`",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ErrorKind, Finish, FinishReason, ToolCall, TurnError, Usage};

    fn text(t: &str) -> Event {
        Event::TextDelta { text: t.into() }
    }
    fn finish() -> Event {
        Event::Finish(Finish { reason: FinishReason::Stop, raw: None })
    }
    fn start(id: &str, name: &str) -> Event {
        Event::ToolCallStart { id: id.into(), name: name.into() }
    }
    fn delta(id: &str) -> Event {
        Event::ToolCallDelta { id: id.into(), arguments: "{".into() }
    }
    fn call(id: &str, name: &str) -> Event {
        Event::ToolCall(ToolCall { id: id.into(), name: name.into(), arguments: "{}".into() })
    }
    fn error() -> Event {
        Event::Error(TurnError::new(ErrorKind::Server, "boom"))
    }

    /// The rule a sequence breaks, or `None` if it is a well-formed turn.
    fn broken(events: &[Event]) -> Option<String> {
        let mut grammar = Grammar::new();
        for event in events {
            if let Err(why) = grammar.check(event) {
                return Some(why);
            }
        }
        grammar.check_end().err()
    }

    #[test]
    fn well_formed_turns_pass() {
        assert_eq!(broken(&[text("a"), text("b"), finish()]), None);
        assert_eq!(broken(&[text("a"), finish(), Event::Usage(Usage::default())]), None);
        assert_eq!(broken(&[start("1", "f"), delta("1"), call("1", "f"), finish()]), None);
        assert_eq!(broken(&[call("1", "f"), call("2", "f"), finish()]), None, "whole calls need no start");
        assert_eq!(broken(&[text("a"), start("1", "f"), error()]), None, "an error may cut a call short");
        assert_eq!(broken(&[error()]), None);
    }

    #[test]
    fn each_rule_is_named() {
        let cases: [(&[Event], &str); 13] = [
            (&[text("a"), finish(), text("late")], "after `finish`"),
            (&[finish(), error()], "after `finish`"),
            (&[error(), text("late")], "after an `error`"),
            (&[error(), error()], "after an `error`"),
            (&[finish(), finish()], "after `finish`"),
            (&[text("a")], "without a `finish`"),
            (&[start("1", "f"), start("1", "f")], "started twice"),
            (&[delta("9")], "never started"),
            (&[start("1", "f"), call("1", "f"), delta("1")], "already complete"),
            (&[call("1", "f"), call("1", "f")], "completed twice"),
            (&[start("1", "f"), call("1", "g")], "completed as `g`"),
            (&[start("1", "f"), finish()], "still open"),
            (&[start("", "f")], "empty id"),
        ];
        for (events, needle) in cases {
            let why = broken(events).unwrap_or_default();
            assert!(why.contains(needle), "{events:?}: expected `{needle}` in `{why}`");
        }
        assert!(Grammar::new().check_batch(&[]).expect_err("an empty batch").contains("empty batch"));
    }
}
