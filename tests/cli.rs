//! The `cordon` binary: `replay` prints one JSON object per line and exits 0 on
//! a normal turn, non-zero on an error; `inspect` describes a component.

use std::process::Command;

use serde_json::Value;

use crate::support::{components_dir, root, trust_file};

fn cordon(args: &[&str]) -> (bool, Vec<Value>, String) {
    cordon_with(args, &[])
}

/// [`cordon`] with `env` set (and no admin token unless `env` gives one).
fn cordon_with(args: &[&str], env: &[(&str, &str)]) -> (bool, Vec<Value>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_cordon"))
        .args(args)
        .env("CORDON_COMPONENTS", components_dir())
        .env("CORDON_TRUST", trust_file())
        .env("CORDON_LOG", "off")
        .env_remove("CORDON_ADMIN_TOKEN")
        .envs(env.iter().copied())
        .output()
        .expect("cordon runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let lines = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (output.status.success(), lines, format!("{stdout}{}", String::from_utf8_lossy(&output.stderr)))
}

#[test]
fn replay_prints_events_then_the_result() {
    let fixture = root().join("tests/fixtures/openai/parallel-tool-calls.sse");
    let (ok, lines, output) = cordon(&["replay", "--provider", "openai", "--fixture", fixture.to_str().unwrap_or_default(), "--framing", "raw"]);
    assert!(ok, "{output}");
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap_or("")).collect();
    assert_eq!(types.first(), Some(&"stream-start"));
    assert_eq!(types.last(), Some(&"result"));
    let calls: Vec<&Value> = lines.iter().filter(|l| l["type"] == "tool-call").collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["name"], "get_weather");
    assert_eq!(calls[0]["arguments"], r#"{"city":"Oslo"}"#);
    let usage = lines.iter().rfind(|l| l["type"] == "usage").expect("a usage line");
    assert_eq!(usage["input_tokens"], 52);
    assert_eq!(usage["cache_write_tokens"], Value::Null, "unknown numbers are null");
    let finish = lines.iter().find(|l| l["type"] == "finish").expect("a finish line");
    assert_eq!(finish["reason"], "tool-calls");
    assert_eq!(finish["raw"], "tool_calls");
    let result = lines.last().expect("result");
    assert_eq!(result["tool_calls"][1]["name"], "get_time");
    assert_eq!(result["finish"]["reason"], "tool-calls");
}

/// Into a pipe, log lines gather in memory and are written ten times a
/// second: the last ones, logged just before the command exits, are written
/// at its exit, in plain `name=value` text.
#[test]
fn log_lines_gathered_for_a_pipe_are_written_at_exit() {
    let fixture = root().join("tests/fixtures/openai/parallel-tool-calls.sse");
    let args = ["replay", "--provider", "openai", "--fixture", fixture.to_str().unwrap_or_default(), "--framing", "raw"];
    let (ok, _, output) = cordon_with(&args, &[("CORDON_LOG", "cordon::provider=debug")]);
    assert!(ok, "{output}");
    // The turn's last line, logged as it ends, moments before the exit.
    let done = output.lines().find(|line| line.contains("turn done")).unwrap_or_else(|| panic!("the turn's last log line:\n{output}"));
    assert!(done.contains("DEBUG") && done.contains("component=openai") && !done.contains('\u{1b}'), "plain text: {done}");
}

#[test]
fn replay_of_an_error_exits_non_zero() {
    let fixture = root().join("tests/fixtures/openai/429.json");
    let (ok, lines, output) = cordon(&[
        "replay", "--provider", "openai", "--fixture", fixture.to_str().unwrap_or_default(),
        "--framing", "raw", "--status", "429", "--header", "retry-after: 3",
    ]);
    assert!(!ok, "{output}");
    let error = lines.iter().find(|l| l["type"] == "error").expect("an error line");
    assert_eq!(error["kind"], "rate-limited");
    assert_eq!(error["retry_after_ms"], 3000);
}

#[test]
fn inspect_describes_a_component() {
    let (ok, _, output) = cordon(&["inspect", "openai"]);
    assert!(ok, "{output}");
    for needle in [
        "name       openai",
        "contract   cordon:provider@0.2.0 (current; turns, list-models, health)",
        "asks       to reach https://api.openai.com:443",
        "asks       secret `api-key` (OpenAI API key), sent as header `authorization` to https://api.openai.com:443 (suggests $OPENAI_API_KEY)",
        "approval   approved in",
        "`api-key` from $OPENAI_API_KEY",
        "memory-mib = 64",
    ] {
        assert!(output.contains(needle), "`{needle}` missing from:\n{output}");
    }
}

#[test]
fn inspect_of_a_missing_file_fails_clearly() {
    let (ok, _, output) = cordon(&["inspect", "/nonexistent/thing.wasm"]);
    assert!(!ok);
    assert!(output.contains("cannot read /nonexistent/thing.wasm"), "{output}");
}

/// The admin token of [`serve_answers_the_admin_commands`].
const ADMIN_TOKEN: &str = "cordon-admin-test-token";

/// `cordon serve` with `[admin]` in its config answers `status`, `reload` and
/// `rollback` given its token (`CORDON_ADMIN_TOKEN`), refuses them without it
/// or with another, and serves on through them.
#[test]
fn serve_answers_the_admin_commands() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = tempfile::tempdir().expect("temp dir");
    for ext in ["wasm", "toml"] {
        std::fs::copy(components_dir().join(format!("openai.{ext}")), dir.path().join(format!("openai.{ext}"))).expect("copy");
    }
    std::fs::write(dir.path().join("key"), "sk-test").expect("key");
    std::fs::write(dir.path().join("admin-token"), format!("{ADMIN_TOKEN}\n")).expect("token");
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ncomponents = \".\"\ncache = {:?}\n\
             [admin]\nlisten = \"127.0.0.1:0\"\ntoken = \"file:admin-token\"\n\
             [providers.openai]\ncomponent = \"openai\"\nbase-url = \"http://127.0.0.1:9/v1\"\nsecrets = {{ api-key = \"file:key\" }}\n\
             [models.fast]\nroutes = [\"openai:m\"]\n",
            components_dir().parent().map(|dist| dist.join("cache")).unwrap_or_default().display().to_string()
        ),
    )
    .expect("config");
    let mut host = Command::new(env!("CARGO_BIN_EXE_cordon"))
        .current_dir(dir.path())
        .args(["serve", "--config"])
        .arg(&config)
        .env("CORDON_LOG", "off")
        .stderr(Stdio::piped())
        .spawn()
        .expect("cordon serve starts");
    let mut stderr = BufReader::new(host.stderr.take().expect("stderr"));
    let mut admin = None;
    let mut printed = String::new();
    for _ in 0..10 {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        printed.push_str(&line);
        if let Some(rest) = line.strip_prefix("cordon serve: admin endpoint ") {
            admin = rest.split_whitespace().next().map(str::to_owned);
            break;
        }
    }
    let admin = admin.unwrap_or_else(|| panic!("expected the admin address, got:\n{printed}"));

    let (ok, _, output) = cordon(&["status", "--admin", &admin]);
    assert!(!ok && output.contains("$CORDON_ADMIN_TOKEN is not set"), "no token, no status: {output}");
    let (ok, _, output) = cordon_with(&["rollback", "openai", "--admin", &admin], &[("CORDON_ADMIN_TOKEN", "guess")]);
    assert!(!ok && output.contains("$CORDON_ADMIN_TOKEN is not the endpoint's token"), "another token, no rollback: {output}");
    let token = [("CORDON_ADMIN_TOKEN", ADMIN_TOKEN)];
    let (ok, lines, output) = cordon_with(&["status", "--admin", &admin], &token);
    assert!(ok, "{output}");
    let status: Value = serde_json::from_str(output.lines().next().unwrap_or_default()).expect("status is JSON");
    assert_eq!(status[0]["name"], "openai");
    assert_eq!(status[0]["current"]["served_by"], "openai@0.1.0");
    assert!(lines.is_empty(), "status prints one JSON array, not objects");

    let broken = dir.path().join("broken.wasm");
    std::fs::write(&broken, b"not wasm").expect("write");
    let (ok, _, output) = cordon_with(&["reload", "openai", broken.to_str().unwrap_or_default(), "--admin", &admin], &token);
    assert!(!ok, "a broken file is refused");
    assert!(output.contains("keeps serving") && output.contains("not a WebAssembly file"), "{output}");

    let (ok, _, output) = cordon_with(&["reload", "openai", "--admin", &admin], &token);
    assert!(ok, "re-reading the current file swaps: {output}");
    let (ok, _, output) = cordon_with(&["status", "--admin", &admin], &token);
    let status: Value = serde_json::from_str(output.lines().next().unwrap_or_default()).expect("status is JSON");
    assert!(ok && status[0]["previous"]["served_by"] == "openai@0.1.0", "the swapped-out version is kept: {output}");
    let (ok, _, output) = cordon_with(&["rollback", "openai", "--admin", &admin], &token);
    assert!(ok, "{output}");
    let _ = host.kill();
    let _ = host.wait();
}

#[test]
fn tools_lists_every_action_with_its_schema() {
    let (ok, lines, output) = cordon(&["tools", "--json"]);
    assert!(ok, "{output}");
    let names: Vec<&str> = lines.iter().filter_map(|l| l["name"].as_str()).collect();
    for name in ["calculator__evaluate", "json__query", "json__pointer", "fetch__get"] {
        assert!(names.contains(&name), "{name} listed: {names:?}");
    }
    assert!(!names.iter().any(|n| n.starts_with("openai")), "providers are not tools: {names:?}");
    assert!(output.contains("skipping") && output.contains("hostile-tool-bad-schema"), "broken tools are named: {output}");
    let calculator = lines.iter().find(|l| l["name"] == "calculator__evaluate").expect("calculator");
    assert_eq!(calculator["tool"], "calculator");
    assert_eq!(calculator["parameters"]["required"], serde_json::json!(["expression"]));
}

/// A component asking for the host's credentials and internal network is
/// flagged by `inspect`, and `trust` approves it only when told twice.
#[test]
fn inspect_flags_and_trust_refuses_a_greedy_component() {
    let (ok, _, output) = cordon(&["inspect", "hostile-greedy"]);
    assert!(ok, "{output}");
    for needle in [
        "FLAG       to reach http://169.254.169.254:80: 169.254.169.254 is an internal address (link local",
        "$AWS_SECRET_ACCESS_KEY looks like an infrastructure credential",
        "$OPENAI_API_KEY is OpenAI's well-known credential, but it would be sent to https://collector.example:443",
        "approval   not approved",
    ] {
        assert!(output.contains(needle), "`{needle}` missing from:\n{output}");
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let trust = dir.path().join("trust.toml");
    let trust = trust.to_str().unwrap_or_default();
    let bind = ["--secret", "aws=env:CORDON_TEST_AWS", "--secret", "openai=env:CORDON_TEST_OPENAI"];
    let mut args = vec!["trust", "hostile-greedy", "--trust", trust];
    args.extend(bind);
    let (ok, _, output) = cordon(&args);
    assert!(!ok && output.contains("--accept-flagged") && output.contains("169.254.169.254"), "{output}");
    assert!(!dir.path().join("trust.toml").exists(), "nothing was approved");

    args.push("--accept-flagged");
    let (ok, _, output) = cordon(&args);
    assert!(ok, "{output}");
    assert!(output.contains("secret `aws` from $CORDON_TEST_AWS, only to https://collector.example:443"), "{output}");
    let (ok, _, output) = cordon(&["inspect", "hostile-greedy", "--trust", trust]);
    assert!(ok && output.contains("approval   approved in") && output.contains("(this file)"), "{output}");
    let (ok, _, output) = cordon(&["trust", "--trust", trust]);
    assert!(ok && output.contains("hostile-greedy (sha256:"), "{output}");
    let (ok, _, output) = cordon(&["trust", "hostile-greedy", "--revoke", "--trust", trust]);
    assert!(ok && output.contains("removed the approval"), "{output}");
    let (_, _, output) = cordon(&["inspect", "hostile-greedy", "--trust", trust]);
    assert!(output.contains("approval   not approved"), "{output}");
}

/// `chat` uses only what the trust file grants: without an approval, the
/// provider is refused, naming what it asks for and the command that grants it.
#[test]
fn chat_without_an_approval_is_refused_with_the_command_that_grants_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().join("trust.toml");
    let (ok, _, output) = cordon(&["chat", "--provider", "openai", "--trust", empty.to_str().unwrap_or_default(), "hi"]);
    assert!(!ok);
    assert!(output.contains("asks for what the operator has not granted"), "{output}");
    assert!(output.contains("cordon trust openai --secret api-key=env:OPENAI_API_KEY"), "{output}");
}

#[test]
fn inspect_tells_a_tool_from_a_provider() {
    let (ok, _, output) = cordon(&["inspect", "calculator"]);
    assert!(ok, "{output}");
    assert!(output.contains("kind       tool") && output.contains("cordon:provider/tool@0.2.0"), "{output}");
}

/// `cordon chat --tool` runs the loop: the model's call, the tool's result and
/// the final answer, each line tagged with its step.
#[tokio::test]
async fn chat_with_a_tool_runs_the_loop() {
    use cordon::replay::{Framing, Reply, ReplayServer, frame};

    let call = r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"calculator__evaluate","arguments":"{\"expression\":\"12*12\"}"}}]},"finish_reason":"tool_calls"}]}"#;
    let answer = r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"144."},"finish_reason":"stop"}]}"#;
    let replies = [call, answer].map(|line| Reply::stream(frame(line, Framing::OpenAiSse).expect("framed")));
    let server = ReplayServer::start(replies.to_vec()).await.expect("server");
    let base = server.url();
    let (ok, lines, output) = tokio::task::spawn_blocking(move || {
        cordon(&["chat", "--provider", "openai", "--base-url", &base, "--model", "m", "--tool", "calculator", "--json", "What is 12*12?"])
    })
    .await
    .expect("cordon ran");
    assert!(ok, "{output}");
    let result = lines.iter().find(|l| l["type"] == "tool-result").expect("a tool result line");
    assert_eq!(result["step"], 1);
    assert_eq!(result["name"], "calculator__evaluate");
    assert!(result["output"].as_str().unwrap_or_default().contains(r#""value":"144""#), "{result}");
    let text = lines.iter().find(|l| l["type"] == "text-delta").expect("the answer");
    assert_eq!((text["step"].as_u64(), text["text"].as_str()), (Some(2), Some("144.")));
    assert_eq!(server.requests().len(), 2);
}

/// The README's first command: the recorded conversation, with the real
/// calculator run by the host between the two answers. It runs with nothing
/// but the components `cargo xtask demo` builds (the list the demo itself
/// reads), and fails without one of them.
#[test]
fn demo_runs_the_tool_loop_with_only_the_components_it_builds() {
    let list = std::fs::read_to_string(root().join("runtime/demo/components.toml")).expect("the demo's list");
    let list: toml::Table = toml::from_str(&list).expect("the demo's list is TOML");
    let names: Vec<&str> = list.values().filter_map(|value| value.as_str()).collect();
    assert_eq!(names.len(), list.len(), "every entry names one component: {list:?}");

    let dir = tempfile::tempdir().expect("temp dir");
    let components = dir.path().join("components");
    std::fs::create_dir(&components).expect("components folder");
    for name in &names {
        for file in [format!("{name}.wasm"), format!("{name}.toml")] {
            std::fs::copy(components_dir().join(&file), components.join(&file)).expect("copy a built component");
        }
    }
    let cache = components_dir().parent().map(|dist| dist.join("cache")).unwrap_or_default();
    let args = ["--components", components.to_str().unwrap_or_default(), "--cache", cache.to_str().unwrap_or_default(), "demo"];
    let (ok, _, output) = cordon(&args);
    assert!(ok, "{output}");
    for needle in ["calculator__evaluate", r#""value":"21551/300""#, "Each of you pays €71.84", "finish: stop"] {
        assert!(output.contains(needle), "`{needle}` missing from:\n{output}");
    }
    for name in &names {
        assert!(output.contains(&format!("`{name}`")), "the demo names `{name}` as loaded:\n{output}");
    }

    // Each listed component is needed: without it, the demo stops and names it.
    for name in &names {
        std::fs::rename(components.join(format!("{name}.wasm")), dir.path().join("aside.wasm")).expect("move aside");
        let (ok, _, output) = cordon(&args);
        assert!(!ok && output.contains(name), "without {name}: {output}");
        std::fs::rename(dir.path().join("aside.wasm"), components.join(format!("{name}.wasm"))).expect("move back");
    }
}

/// `replay --expect` passes on its own output and names the first line that differs.
#[test]
fn replay_compares_with_expected_output() {
    let fixture = root().join("tests/fixtures/openai/parallel-tool-calls.sse");
    let fixture = fixture.to_str().unwrap_or_default();
    let (ok, lines, output) = cordon(&["replay", "--provider", "openai", "--fixture", fixture, "--framing", "raw"]);
    assert!(ok, "{output}");
    let dir = tempfile::tempdir().expect("temp dir");
    let expected = dir.path().join("expected.jsonl");
    let golden: Vec<String> = lines.iter().map(Value::to_string).collect();
    std::fs::write(&expected, golden.join("\n")).expect("write");
    let expected = expected.to_str().unwrap_or_default();
    let (ok, _, output) = cordon(&["replay", "--provider", "openai", "--fixture", fixture, "--framing", "raw", "--expect", expected]);
    assert!(ok && output.contains("matches"), "{output}");

    let changed = golden.join("\n").replace(r#"{\"city\":\"Oslo\"}"#, r#"{\"city\":\"Bergen\"}"#);
    assert_ne!(changed, golden.join("\n"), "the golden output names Oslo");
    std::fs::write(expected, changed).expect("write");
    let (ok, _, output) = cordon(&["replay", "--provider", "openai", "--fixture", fixture, "--framing", "raw", "--expect", expected]);
    assert!(!ok, "a difference fails");
    assert!(output.contains("differs") && output.contains("Bergen"), "{output}");
}

/// `cordon new KIND NAME --lang LANG` into `dir`, then `cargo xtask test-guest`
/// on it: the guest must build and pass its own test through the host.
fn new_guest_passes_its_test(dir: &std::path::Path, kind: &str, name: &str, lang: &str, code: &str) {
    let (ok, _, output) = cordon(&["new", kind, name, "--lang", lang, "--dir", dir.to_str().unwrap_or_default()]);
    assert!(ok, "{output}");
    let guest = dir.join(name);
    for file in [code, "cordon.toml", "README.md"] {
        assert!(guest.join(file).is_file(), "{name}: {file} written: {output}");
    }
    let test = Command::new(option_env!("CARGO").unwrap_or("cargo"))
        .args(["xtask", "test-guest"])
        .arg(&guest)
        .arg("--out")
        .arg(dir.join("components"))
        .current_dir(root())
        .env("CORDON_LOG", "off")
        // The binary under test, rather than `cargo run` building the host again.
        .env("CORDON_BIN", env!("CARGO_BIN_EXE_cordon"))
        .output()
        .expect("cargo runs");
    let printed = format!("{}{}", String::from_utf8_lossy(&test.stdout), String::from_utf8_lossy(&test.stderr));
    assert!(test.status.success(), "{name}: {printed}");
    assert!(printed.contains("matches") || printed.contains("answered as expected"), "{name}: {printed}");
}

/// What the generated tool `name` in `dir` counts in `text`.
fn counted(dir: &std::path::Path, name: &str, text: &str) -> Option<Value> {
    let wasm = dir.join("components").join(format!("{name}.wasm"));
    let arguments = serde_json::json!({ "text": text }).to_string();
    let (ok, _, output) = cordon(&["call", wasm.to_str().unwrap_or_default(), "count", &arguments]);
    assert!(ok, "{name}: {output}");
    serde_json::from_str(output.trim()).ok()
}

/// `cordon new` writes guests that build and pass their own tests at once.
#[test]
fn new_rust_guests_build_and_pass_their_own_tests() {
    let dir = tempfile::tempdir().expect("temp dir");
    new_guest_passes_its_test(dir.path(), "provider", "hello-rs", "rust", "src/lib.rs");
    new_guest_passes_its_test(dir.path(), "tool", "count-rs", "rust", "src/lib.rs");
    let (again, _, output) = cordon(&["new", "tool", "count-rs", "--dir", dir.path().to_str().unwrap_or_default()]);
    assert!(!again && output.contains("already exists"), "{output}");

    // The tool's check fails when an answer differs.
    let wasm = dir.path().join("components/count-rs.wasm");
    let calls = dir.path().join("wrong.jsonl");
    std::fs::write(&calls, r#"{"action": "count", "arguments": {"text": "a b"}, "output": {"characters": 3, "words": 3, "lines": 1}}"#).expect("write");
    let (ok, _, output) = cordon(&["call", wasm.to_str().unwrap_or_default(), "--expect", calls.to_str().unwrap_or_default()]);
    assert!(!ok && output.contains("expected output"), "{output}");
    assert_eq!(counted(dir.path(), "count-rs", "a b"), Some(serde_json::json!({"characters": 3, "words": 2, "lines": 1})));
}

/// componentize-py builds them (the world told by `class Provider` / `class Tool`).
#[test]
fn new_python_guests_build_and_pass_their_own_tests() {
    let dir = tempfile::tempdir().expect("temp dir");
    new_guest_passes_its_test(dir.path(), "provider", "hello-py", "python", "app.py");
    new_guest_passes_its_test(dir.path(), "tool", "count-py", "python", "app.py");
    assert_eq!(counted(dir.path(), "count-py", "a b"), Some(serde_json::json!({"characters": 3, "words": 2, "lines": 1})));
}

/// The builders pick the world: C from the generated header a source
/// includes, Go from the export package's folder.
#[test]
fn new_c_and_go_guests_build_and_pass_their_own_tests() {
    let dir = tempfile::tempdir().expect("temp dir");
    new_guest_passes_its_test(dir.path(), "provider", "hello-c", "c", "provider.c");
    new_guest_passes_its_test(dir.path(), "tool", "count-c", "c", "tool.c");
    new_guest_passes_its_test(dir.path(), "provider", "hello-go", "go", "export_cordon_provider_provider/provider.go");
    new_guest_passes_its_test(dir.path(), "tool", "count-go", "go", "export_cordon_provider_tool/tool.go");
    for tool in ["count-c", "count-go"] {
        let counts = counted(dir.path(), tool, "a b\u{a0}c\n");
        assert_eq!(counts, Some(serde_json::json!({"characters": 6, "words": 3, "lines": 1})), "{tool}");
    }
}

/// jco builds them (the world told by `export const provider` / `export const tool`).
#[test]
fn new_js_guests_build_and_pass_their_own_tests() {
    let dir = tempfile::tempdir().expect("temp dir");
    new_guest_passes_its_test(dir.path(), "provider", "hello-js", "js", "app.js");
    new_guest_passes_its_test(dir.path(), "tool", "count-js", "js", "app.js");
    // Characters are Unicode scalar values and words split on Rust's whitespace, as in the other languages.
    let counts = counted(dir.path(), "count-js", "a b\u{a0}c\n\u{1F600}");
    assert_eq!(counts, Some(serde_json::json!({"characters": 7, "words": 4, "lines": 2})));
}
