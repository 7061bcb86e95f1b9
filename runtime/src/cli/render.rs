//! Showing a turn: on a terminal as it streams (`chat`, `demo`), or as one JSON
//! object per line (`replay`).

use std::io::Write as _;
use std::process::ExitCode;

use cordon::{Event, FinishReason, ToolOutcome, TurnResult, Usage};
use serde::Serialize;
use serde_json::json;

/// Writes events for a person: text to stdout as it arrives, the rest to stderr.
#[derive(Default)]
pub struct Terminal {
    in_reasoning: bool,
    failed: bool,
}

impl Terminal {
    /// Show one event.
    pub fn show(&mut self, event: &Event) {
        let mut out = std::io::stdout().lock();
        match event {
            Event::ReasoningDelta { text, .. } if !text.is_empty() => {
                if !self.in_reasoning {
                    self.in_reasoning = true;
                    let _ = write!(out, "\x1b[2m[thinking] ");
                }
                let _ = write!(out, "{text}");
            }
            Event::TextDelta { text } => {
                self.end_reasoning(&mut out);
                let _ = write!(out, "{text}");
            }
            Event::ToolCall(call) => {
                self.end_reasoning(&mut out);
                let _ = writeln!(out, "\n\x1b[36m→ tool call {}({}) [id {}]\x1b[0m", call.name, call.arguments, call.id);
            }
            Event::StreamStart { warnings, .. } => {
                for warning in warnings {
                    eprintln!("warning: {}", warning.message);
                }
            }
            Event::Usage(usage) => eprintln!("\n{}", describe_usage(usage)),
            Event::Finish(finish) => {
                self.end_reasoning(&mut out);
                let raw = finish.raw.as_deref().map(|r| format!(" (provider said `{r}`)")).unwrap_or_default();
                let reason = json!(finish.reason);
                eprintln!("finish: {}{raw}", reason.as_str().unwrap_or("other"));
                if finish.reason == FinishReason::Error {
                    self.failed = true;
                }
            }
            Event::Error(error) => {
                self.end_reasoning(&mut out);
                eprintln!("\nerror: {error}");
                self.failed = true;
            }
            _ => {}
        }
        let _ = out.flush();
    }

    /// Show a tool's result in the loop.
    pub fn show_tool_result(&mut self, outcome: &ToolOutcome) {
        const SHOWN: usize = 300;
        let mut shown = outcome.output.replace('\n', " ");
        if shown.len() > SHOWN {
            let mut end = SHOWN;
            while !shown.is_char_boundary(end) {
                end -= 1;
            }
            shown.truncate(end);
            shown.push('…');
        }
        let colour = if outcome.error.is_some() { "31" } else { "32" };
        eprintln!("\x1b[{colour}m← {} [id {}, {} ms]: {shown}\x1b[0m", outcome.name, outcome.call_id, outcome.duration_ms);
    }

    fn end_reasoning(&mut self, out: &mut impl std::io::Write) {
        if self.in_reasoning {
            self.in_reasoning = false;
            let _ = writeln!(out, "\x1b[0m");
        }
    }

    /// The exit code for what was shown.
    pub fn finish(self) -> ExitCode {
        if self.failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
    }
}

fn describe_usage(usage: &Usage) -> String {
    let n = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "?".into());
    format!(
        "usage: {} input tokens ({} cached), {} output tokens ({} reasoning)",
        n(usage.input_tokens),
        n(usage.cache_read_tokens),
        n(usage.output_tokens),
        n(usage.reasoning_tokens)
    )
}

/// One event (of a turn or of a tool loop) as a JSON line; a usage event
/// leaves out the provider's raw usage object.
pub fn json_line(event: &impl Serialize) -> String {
    let mut value = json!(event);
    if value["type"] == "usage"
        && let Some(map) = value.as_object_mut()
    {
        map.remove("raw");
    }
    value.to_string()
}

/// The final `{"type":"result", ...}` line of a successful turn.
pub fn result_line(result: &TurnResult) -> String {
    let mut usage = json!(result.usage);
    if let Some(map) = usage.as_object_mut() {
        map.remove("raw");
    }
    json!({
        "type": "result",
        "text": result.text(),
        "reasoning": result.reasoning(),
        "tool_calls": result.tool_calls(),
        "usage": usage,
        "finish": result.finish,
        "warnings": result.warnings,
        "response_id": result.response_id,
        "model": result.model,
        "served_by": result.served_by,
    })
    .to_string()
}
