//! The Go tool (`guests/regex-go`, mainline Go for wasip1 with wit-bindgen's Go
//! generator, built by `cargo xtask`): its actions answer exactly (groups, byte
//! offsets, `$1` expansion, splits), a bad pattern is the model's mistake
//! (`invalid-arguments` with Go's own message), a pattern that would make a
//! backtracking engine run for ages answers at once under RE2, the host checks
//! the schema before Go sees anything, and the sandbox gives Go's own file,
//! environment and network APIs nothing. The host carries on after all of it.


use cordon::{ToolError, ToolErrorKind, ToolOptions};
use serde_json::{Value, json};

use crate::support::runtime;

const TOOL: &str = "regex-go";

async fn call(action: &str, arguments: Value) -> Result<String, ToolError> {
    call_text(action, &arguments.to_string()).await
}

async fn call_text(action: &str, arguments: &str) -> Result<String, ToolError> {
    let tool = runtime().load_tool(TOOL, ToolOptions::default()).await.unwrap_or_else(|err| panic!("{TOOL} loads: {err}"));
    tool.call(action, arguments).await
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("not JSON ({err}): {}", brief(text)))
}

/// At most 200 characters of `text`, for messages.
fn brief(text: &str) -> String {
    if text.chars().count() <= 200 { text.to_owned() } else { format!("{}…", text.chars().take(200).collect::<String>()) }
}

async fn ok_json(action: &str, arguments: Value) -> Value {
    let what = format!("{action} {}", brief(&arguments.to_string()));
    parse(&call(action, arguments).await.unwrap_or_else(|err| panic!("{what}: {err:?}")))
}

#[tokio::test]
async fn the_go_tool_describes_its_actions() {
    let tool = runtime().load_tool(TOOL, ToolOptions::default()).await.expect("loads");
    let names: Vec<&str> = tool.actions().iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["find", "replace", "split", "probe"]);
    assert!(tool.description().contains("RE2"), "{}", tool.description());
    let find = &tool.actions()[0];
    assert_eq!(find.exposed_name, "regex-go__find");
    assert!(find.description.contains("BYTE offsets"), "{}", find.description);
    assert_eq!(find.parameters["required"], json!(["pattern", "text"]));
}

#[tokio::test]
async fn find_gives_matches_groups_and_byte_offsets() {
    let found = ok_json("find", json!({"pattern": "a(b+)", "text": "abbb ab"})).await;
    assert_eq!(
        found,
        json!({
            "matches": [
                {"match": "abbb", "start": 0, "end": 4, "groups": ["bbb"]},
                {"match": "ab", "start": 5, "end": 7, "groups": ["b"]},
            ],
            "count": 2,
            "truncated": false,
        })
    );

    // Offsets count UTF-8 bytes (é and ö take two); a group that did not take part is null.
    let found = ok_json("find", json!({"pattern": r"(\p{L}+)(!)?", "text": "héllo wörld!"})).await;
    assert_eq!(
        found["matches"],
        json!([
            {"match": "héllo", "start": 0, "end": 6, "groups": ["héllo", null]},
            {"match": "wörld!", "start": 7, "end": 14, "groups": ["wörld", "!"]},
        ])
    );

    // Named groups come by name too.
    let found = ok_json("find", json!({"pattern": r"(?P<year>\d{4})-(?P<month>\d{2})", "text": "from 2024-05 to 2025-12"})).await;
    assert_eq!(found["count"], 2);
    assert_eq!(found["matches"][1], json!({
        "match": "2025-12", "start": 16, "end": 23, "groups": ["2025", "12"], "named": {"year": "2025", "month": "12"},
    }));

    // A limit cuts the list and says so.
    let found = ok_json("find", json!({"pattern": r"\d", "text": "1 2 3 4", "limit": 2})).await;
    assert_eq!(found["count"], 2);
    assert_eq!(found["truncated"], true);
    assert_eq!(found["matches"][1]["match"], "2");
    let none = ok_json("find", json!({"pattern": "z", "text": "abc"})).await;
    assert_eq!(none, json!({"matches": [], "count": 0, "truncated": false}));
}

#[tokio::test]
async fn replace_expands_groups() {
    let replaced = call(
        "replace",
        json!({"pattern": r"(\w+)@(\w+)\.com", "text": "mail ann@example.com or bob@test.com", "replacement": "$2:${1}"}),
    )
    .await
    .expect("replaces");
    // The answer is the text itself, not JSON.
    assert_eq!(replaced, "mail example:ann or test:bob");
    let named = call(
        "replace",
        json!({"pattern": r"(?P<first>\w+) (?P<last>\w+)", "text": "Ada Lovelace", "replacement": "${last}, ${first} ($$0)"}),
    )
    .await
    .expect("replaces");
    assert_eq!(named, "Lovelace, Ada ($0)");
    let untouched = call("replace", json!({"pattern": "x", "text": "abc", "replacement": "y"})).await.expect("replaces");
    assert_eq!(untouched, "abc");
}

#[tokio::test]
async fn split_cuts_around_matches() {
    assert_eq!(ok_json("split", json!({"pattern": r"\s*,\s*", "text": "a , b,c ,d"})).await, json!(["a", "b", "c", "d"]));
    assert_eq!(ok_json("split", json!({"pattern": r"\s*,\s*", "text": "a , b,c ,d", "limit": 2})).await, json!(["a", "b,c ,d"]));
    assert_eq!(ok_json("split", json!({"pattern": "-", "text": "-x-"})).await, json!(["", "x", ""]));
}

#[tokio::test]
async fn a_bad_pattern_is_the_callers_mistake_with_gos_message() {
    let cases = [
        ("a(b", "missing closing )"),
        ("x**", "invalid nested repetition operator"),
        // RE2 has no backreferences: refused, not run slowly.
        (r"(a)\1", r"invalid escape sequence: `\1`"),
    ];
    for (pattern, problem) in cases {
        for action in ["find", "split"] {
            let error = call(action, json!({"pattern": pattern, "text": "aab"})).await.expect_err("bad pattern");
            assert_eq!(error.kind, ToolErrorKind::InvalidArguments, "{pattern}: {error:?}");
            assert!(error.message.contains("invalid pattern") && error.message.contains(problem), "{pattern}: {}", error.message);
        }
    }
    let error = call("replace", json!({"pattern": "[z-a]", "text": "t", "replacement": ""})).await.expect_err("bad range");
    assert_eq!(error.kind, ToolErrorKind::InvalidArguments);
    assert!(error.message.contains("invalid character class range"), "{}", error.message);
}

#[tokio::test]
async fn catastrophic_patterns_answer_in_linear_time() {
    // Nested quantifiers on `aaaa…b`: exponential for a backtracking engine,
    // linear for RE2. The manifest's call-cpu-ms (5 s) would stop a runaway
    // call with a limit error; these must simply answer.
    let text = format!("{}b", "a".repeat(100_000));
    for pattern in ["(a+)+$", "(a|aa)+$", "(a*)*c", "^(a|a?)+$"] {
        let found = ok_json("find", json!({"pattern": pattern, "text": text})).await;
        assert_eq!(found["count"], 0, "{pattern}");
    }
    let replaced = call("replace", json!({"pattern": "(a+)+b", "text": text, "replacement": "<$1>"})).await.expect("replaces");
    assert_eq!(replaced.len(), 100_002);
    assert!(replaced.starts_with("<aaa") && replaced.ends_with("a>"));
}

#[tokio::test]
async fn the_largest_text_fits_in_the_tools_limits() {
    // The schema allows 1,000,000 characters; the worst nested pattern on the
    // largest text still answers within the manifest's memory and CPU budget
    // (about 0.7 s of wasm time here, against call-cpu-ms = 5000).
    let text = format!("{}b", "a".repeat(999_999));
    let found = ok_json("find", json!({"pattern": "(a+)+$", "text": text})).await;
    assert_eq!(found["count"], 0);
    let found = ok_json("find", json!({"pattern": "a+b$", "text": text})).await;
    assert_eq!((found["matches"][0]["start"].as_u64(), found["matches"][0]["end"].as_u64()), (Some(0), Some(1_000_000)));
    let words = "word ".repeat(200_000);
    let pieces = ok_json("split", json!({"pattern": " ", "text": words})).await;
    assert_eq!(pieces.as_array().map(Vec::len), Some(200_001));
    assert_eq!((&pieces[0], &pieces[200_000]), (&json!("word"), &json!("")));
    let longer = format!("{text}!");
    let error = call("find", json!({"pattern": "a", "text": longer})).await.expect_err("too long for the schema");
    assert_eq!(error.kind, ToolErrorKind::InvalidArguments);
    assert!(error.message.contains("/text"), "{}", error.message);
}

#[tokio::test]
async fn a_pattern_costly_even_for_re2_is_stopped_by_the_cpu_limit() {
    // RE2 has no exponential blow-up, but its time is the text's length times
    // the pattern's size: `a{1000}b` (a thousand states) over a million `a`s is
    // ~10^9 steps, far past call-cpu-ms (5 s). The host stops the call, says
    // which limit, and the next call (a fresh instance) works.
    let text = "a".repeat(1_000_000);
    let error = call("find", json!({"pattern": "a{1000}b", "text": text})).await.expect_err("stopped");
    assert_eq!(error.kind, ToolErrorKind::LimitExceeded, "{error:?}");
    assert!(error.message.contains("call-cpu-ms"), "{}", error.message);
    let after = ok_json("find", json!({"pattern": "a(b+)", "text": "abbb ab"})).await;
    assert_eq!(after["count"], 2, "the host is unharmed: {after}");
}

#[tokio::test]
async fn the_host_checks_the_schema_before_go_runs() {
    let cases = [
        ("find", r#"{"pattern": "a"}"#, "\"text\""),
        ("find", r#"{"pattern": 5, "text": "a"}"#, "/pattern"),
        ("find", r#"{"pattern": "a", "text": "a", "limit": 0}"#, "/limit"),
        ("split", r#"{"pattern": "a", "text": "a", "limit": "all"}"#, "/limit"),
        ("replace", r#"{"pattern": "a", "text": "a"}"#, "\"replacement\""),
        ("replace", r#"{"pattern": "a", "text": "a", "replacement": "", "flags": "g"}"#, "flags"),
        ("probe", r#"{"verbose": true}"#, "verbose"),
        ("find", r#"{"pattern": "a", "text": "#, "not JSON"),
    ];
    for (action, arguments, needle) in cases {
        let error = call_text(action, arguments).await.expect_err("refused by the host");
        assert_eq!(error.kind, ToolErrorKind::InvalidArguments, "{arguments}: {error:?}");
        assert!(error.message.contains(&format!("regex-go__{action}")), "the host's message: {}", error.message);
        assert!(error.message.contains(needle), "{arguments}: expected `{needle}` in {}", error.message);
    }
    let unknown = call_text("match", "{}").await.expect_err("no such action");
    assert_eq!(unknown.kind, ToolErrorKind::UnknownTool);
    assert!(unknown.message.contains("find, replace, split, probe"), "{}", unknown.message);
}

#[tokio::test]
async fn go_sees_an_empty_sandbox() {
    let probe = ok_json("probe", json!({})).await;
    assert_eq!(probe["environ"], json!([]), "no environment variables: {probe}");
    assert_eq!(probe["args"], json!([]), "no arguments: {probe}");
    for attempt in ["read_file", "read_dir", "dial"] {
        assert_eq!(probe[attempt]["ok"], false, "{attempt} must fail: {probe}");
        assert!(probe[attempt]["error"].as_str().is_some_and(|e| !e.is_empty()), "{attempt} says why: {probe}");
    }
    // No preopened directory: every path is a bad file descriptor.
    assert!(probe["read_file"]["error"].as_str().unwrap_or_default().contains("/etc/passwd"), "{probe}");
    // Go's wasip1 `net` is an in-process fake network: nothing listens there,
    // and no socket reaches the host (the component imports no wasi:sockets).
    assert!(probe["dial"]["error"].as_str().unwrap_or_default().contains("127.0.0.1:80"), "{probe}");
    let tool = runtime().load_tool(TOOL, ToolOptions::default()).await.expect("loads");
    let imports = &tool.component().imports;
    assert!(imports.iter().all(|import| !import.starts_with("wasi:sockets") && !import.starts_with("wasi:http")), "{imports:?}");
}

#[tokio::test]
async fn an_answer_too_large_for_its_memory_fails_alone() {
    // An empty pattern matches at every position: 200,000 replacements of 1,000
    // bytes would be 200 MB, past the tool's 128 MiB memory. The call fails with
    // a limit error; the next call, in a fresh instance, works.
    let text = "a".repeat(200_000);
    let error = call("replace", json!({"pattern": "", "text": text, "replacement": "x".repeat(1000)}))
        .await
        .expect_err("too large");
    assert!(
        matches!(error.kind, ToolErrorKind::LimitExceeded),
        "a limit error, not a crash of the host: {error:?}"
    );
    let after = ok_json("find", json!({"pattern": "a(b+)", "text": "abbb ab"})).await;
    assert_eq!(after["count"], 2, "the host is unharmed: {after}");
}

#[tokio::test]
async fn the_host_is_unharmed_after_bad_calls() {
    let _ = call("find", json!({"pattern": "a(", "text": "a"})).await;
    let _ = call_text("find", "{").await;
    let _ = call("probe", json!({})).await;
    let replaced = call("replace", json!({"pattern": "o", "text": "foo", "replacement": "0"})).await.expect("works");
    assert_eq!(replaced, "f00");
    // Calls run side by side, each in its own instance.
    let calls = (0..8).map(|i| {
        let text = format!("n{i} n{}", i + 1);
        async move { ok_json("find", json!({"pattern": r"n(\d+)", "text": text})).await }
    });
    for (i, found) in futures_join_all(calls).await.into_iter().enumerate() {
        assert_eq!(found["matches"][0]["groups"], json!([i.to_string()]));
        assert_eq!(found["matches"][1]["groups"], json!([(i + 1).to_string()]));
    }
}

/// Run futures concurrently on the test's runtime, in order of their results.
async fn futures_join_all<F: std::future::Future + Send + 'static>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}
