//! Showing a turn: on a terminal as it streams (`chat`, `demo`), or as one JSON
//! object per line (`replay`).

use std::io::Write as _;
use std::process::ExitCode;

use cordon::{Event, FinishReason, TurnResult, Usage};
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

/// One event as a JSON line.
pub fn json_line(event: &Event) -> String {
    let mut value = json!(event);
    if let Event::Usage(_) = event
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
