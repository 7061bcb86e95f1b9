//! `cordon call TOOL ACTION [ARGUMENTS]`: run one action of a tool component in
//! the host and print its output; with `--expect FILE`, run each call listed in
//! `FILE` and check its answer (what generated tools' tests use).

use std::path::PathBuf;
use std::process::ExitCode;

use cordon::{Error, Runtime, Tool, ToolOptions};
use serde_json::Value;

#[derive(clap::Args)]
pub struct Args {
    /// Tool component name (or path to a .wasm file).
    tool: String,
    /// The action (its own name, e.g. `evaluate`).
    #[arg(required_unless_present = "expect")]
    action: Option<String>,
    /// The arguments, a JSON object.
    #[arg(default_value = "{}")]
    arguments: String,
    /// JSON lines of `{"action", "arguments", "output"}` or `{"action",
    /// "arguments", "error": "<kind>"}`: run each, exit non-zero at the first
    /// answer that differs.
    #[arg(long, conflicts_with = "action")]
    expect: Option<PathBuf>,
}

pub async fn run(runtime: &Runtime, args: Args) -> cordon::Result<ExitCode> {
    let tool = runtime.load_tool(&args.tool, ToolOptions::default()).await?;
    if let Some(file) = &args.expect {
        return check(&tool, file).await;
    }
    let action = args.action.unwrap_or_default();
    match tool.call(&action, &args.arguments).await {
        Ok(output) => {
            println!("{output}");
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("error ({}): {}", serde_json::json!(error.kind).as_str().unwrap_or("failed"), error.message);
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn check(tool: &Tool, file: &std::path::Path) -> cordon::Result<ExitCode> {
    let text = std::fs::read_to_string(file).map_err(|source| Error::Io { path: file.to_owned(), source })?;
    let mut calls = 0;
    for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let bad = |why: String| Error::Config(format!("{} line {}: {why}", file.display(), number + 1));
        let case: Value = serde_json::from_str(line).map_err(|err| bad(format!("not JSON: {err}")))?;
        let action = case["action"].as_str().ok_or_else(|| bad("no \"action\"".into()))?;
        let answer = tool.call(action, &case["arguments"].to_string()).await;
        let verdict = match (&answer, case.get("output"), case["error"].as_str()) {
            (Ok(output), Some(expected), _) => {
                let got = serde_json::from_str::<Value>(output).unwrap_or_else(|_| Value::String(output.clone()));
                (got == *expected).then_some(()).ok_or(format!("expected output {expected}, got {output}"))
            }
            (Err(error), _, Some(kind)) => {
                let got = serde_json::json!(error.kind);
                (got == kind).then_some(()).ok_or(format!("expected a `{kind}` error, got {got}: {}", error.message))
            }
            (Ok(output), None, _) => Err(format!("expected an error, got output {output}")),
            (Err(error), _, None) => Err(format!("expected output, got an error: {}", error.message)),
        };
        if let Err(why) = verdict {
            eprintln!("call: {} line {} ({action}): {why}", file.display(), number + 1);
            return Ok(ExitCode::FAILURE);
        }
        calls += 1;
    }
    eprintln!("call: all {calls} calls in {} answered as expected", file.display());
    Ok(ExitCode::SUCCESS)
}
