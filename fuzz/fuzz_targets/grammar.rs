//! The host's handling of what a guest returns: batches of events with any
//! content (numbers at their extremes, duplicate and dangling tool calls,
//! events after the end) through the event grammar, the result fold, usage
//! sums and retry delays. Nothing may panic, and what the grammar lets through
//! must fold to what the events said.
#![no_main]

use arbitrary::Arbitrary;
use cordon::fold::Fold;
use cordon::grammar::Grammar;
use cordon::{ContentPart, ErrorKind, Event, Finish, FinishReason, RetryPolicy, ToolCall, TurnError, Usage};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Step {
    Meta { id: Option<String>, model: Option<String>, timestamp: Option<u64> },
    Text(String),
    Reasoning { text: String, signature: Option<String>, redacted: Option<String> },
    Start { id: u8, name: u8 },
    Delta { id: u8, arguments: String },
    Call { id: u8, name: u8, arguments: String },
    Usage { input: Option<u64>, output: Option<u64>, cached: Option<u64>, written: Option<u64>, reasoning: Option<u64> },
    Finish(u8),
    Error { message: String, retry_after_ms: Option<u64> },
    Raw(String),
    /// Ends the current batch (one `next` call).
    EndBatch,
}

/// A small id space, so duplicates and dangling references are common.
fn id(n: u8) -> String {
    if n % 8 == 7 { String::new() } else { format!("call_{}", n % 4) }
}

fn event(step: Step) -> Option<Event> {
    Some(match step {
        Step::Meta { id, model, timestamp } => Event::ResponseMetadata { id, model, timestamp },
        Step::Text(text) => Event::TextDelta { text },
        Step::Reasoning { text, signature, redacted } => Event::ReasoningDelta { text, signature, redacted },
        Step::Start { id: n, name } => Event::ToolCallStart { id: id(n), name: format!("f{}", name % 3) },
        Step::Delta { id: n, arguments } => Event::ToolCallDelta { id: id(n), arguments },
        Step::Call { id: n, name, arguments } => Event::ToolCall(ToolCall { id: id(n), name: format!("f{}", name % 3), arguments }),
        Step::Usage { input, output, cached, written, reasoning } => Event::Usage(Usage {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: cached,
            cache_write_tokens: written,
            reasoning_tokens: reasoning,
            raw: None,
        }),
        Step::Finish(n) => Event::Finish(Finish {
            reason: [FinishReason::Stop, FinishReason::Length, FinishReason::ToolCalls, FinishReason::Other][usize::from(n % 4)],
            raw: None,
        }),
        Step::Error { message, retry_after_ms } => {
            let mut error = TurnError::new(ErrorKind::Server, message);
            error.retry_after_ms = retry_after_ms;
            Event::Error(error)
        }
        Step::Raw(data) => Event::Raw { data },
        Step::EndBatch => return None,
    })
}

fuzz_target!(|steps: Vec<Step>| {
    let mut batches: Vec<Vec<Event>> = vec![Vec::new()];
    for step in steps {
        match event(step) {
            Some(event) => batches.last_mut().expect("a batch").push(event),
            None => batches.push(Vec::new()),
        }
    }
    let mut grammar = Grammar::new();
    let mut fold = Fold::new();
    let mut accepted: Vec<Event> = Vec::new();
    let mut total = Usage::default();
    let mut broken = false;
    for batch in batches {
        if grammar.check_batch(&batch).is_err() {
            broken = true;
            break;
        }
        for event in &batch {
            fold.push(event);
            if let Event::Usage(usage) = event {
                total.add(usage);
            }
            if let Event::Error(error) = event {
                let _ = RetryPolicy::default().delay(3, error.retry_after_ms);
            }
        }
        accepted.extend(batch);
    }
    let ended = !broken && grammar.check_end().is_ok();
    let result = fold.into_result(Vec::new(), "fuzz@0".into(), None);
    let _ = serde_json::to_string(&result);

    // What passed the grammar is exactly what the result holds.
    let texts: String = accepted.iter().filter_map(|e| if let Event::TextDelta { text } = e { Some(text.as_str()) } else { None }).collect();
    assert_eq!(result.text(), texts);
    let calls: Vec<&ToolCall> = accepted.iter().filter_map(|e| if let Event::ToolCall(c) = e { Some(c) } else { None }).collect();
    let folded: Vec<&ToolCall> = result.content.iter().filter_map(|p| if let ContentPart::ToolCall(c) = p { Some(c) } else { None }).collect();
    assert_eq!(calls, folded);
    if ended {
        let finished = accepted.iter().any(|e| matches!(e, Event::Finish(_) | Event::Error(_)));
        assert!(finished, "a turn the grammar lets end has a finish or an error");
        let mut ids: Vec<&str> = calls.iter().map(|c| c.id.as_str()).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "no tool call completes twice");
    }
});
