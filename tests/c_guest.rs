//! The C tool (`guests/hash-c`, built with clang-19, wasi-libc and the bindings
//! of wit-bindgen's C generator): its hashes, checksums and base64 against
//! known vectors, its errors, the host's schema checks in front of it, and the
//! sandbox as C sees it (no environment, no files, no sockets), after which the
//! host carries on. Last, one run inside the tool loop.

use cordon::replay::{Framing, Reply, frame};
use cordon::{LoopEvent, LoopStop, Request, Tool, ToolErrorKind, ToolLoop, ToolOptions, Toolbox};
use serde_json::{Value, json};

use crate::support::{provider_against, runtime};

const TOOL: &str = "hash-c";

async fn tool() -> Tool {
    runtime().load_tool(TOOL, ToolOptions::default()).await.unwrap_or_else(|err| panic!("{TOOL} loads: {err}"))
}

/// Call `action` with `arguments` (a JSON value) and expect success.
async fn ok(action: &str, arguments: Value) -> String {
    let args = arguments.to_string();
    tool().await.call(action, &args).await.unwrap_or_else(|err| panic!("{action}({args}) fails: {err:?}"))
}

/// Call `action` with the raw arguments text and expect a failure.
async fn fails(action: &str, arguments: &str) -> cordon::ToolError {
    match tool().await.call(action, arguments).await {
        Ok(output) => panic!("{action}({arguments}) succeeded with {output:?}"),
        Err(err) => err,
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

#[tokio::test]
async fn it_describes_five_actions_with_object_schemas() {
    let tool = tool().await;
    let names: Vec<&str> = tool.actions().iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["sha256", "crc32", "base64_encode", "base64_decode", "probe"]);
    for action in tool.actions() {
        assert_eq!(action.parameters["type"], "object", "{}", action.name);
        assert_eq!(action.parameters["additionalProperties"], false, "{}", action.name);
        assert!(!action.description.is_empty());
    }
    assert_eq!(tool.actions()[3].parameters["required"], json!(["data"]));
    assert!(tool.description().contains("SHA-256"), "{}", tool.description());
}

#[tokio::test]
async fn sha256_matches_the_fips_vectors() {
    let cases = [
        ("abc".to_owned(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (String::new(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".to_owned(),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        ),
        // Around the padding's edges: 55 bytes fit one block, 56 need two.
        ("a".repeat(55), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
        ("a".repeat(56), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
        ("a".repeat(63), "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"),
        ("a".repeat(64), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
        ("a".repeat(65), "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"),
        // UTF-8 bytes of non-ASCII text.
        ("héllo wörld ✓ 🦀".to_owned(), "5865dccef5e778373abdb92a7284bf1d59ad33734e466ff44edbf586ddaf78d4"),
    ];
    for (text, digest) in cases {
        assert_eq!(ok("sha256", json!({ "text": text })).await, digest, "sha256 of {} bytes", text.len());
    }
}

#[tokio::test]
async fn sha256_of_a_million_a_fits_the_cpu_budget() {
    // The FIPS 180-2 long vector; 1 MB through the JSON reader and the hash
    // within the manifest's 200 ms of CPU and 16 MiB of memory.
    let text = "a".repeat(1_000_000);
    let digest = ok("sha256", json!({ "text": text })).await;
    assert_eq!(digest, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

#[tokio::test]
async fn json_escapes_are_decoded_before_hashing() {
    // é, 🦀 (a surrogate pair), newline, quote, backslash, slash and NUL, all
    // as escapes: the tool hashes the decoded UTF-8 bytes.
    let args = r#"{"text": "\u00e9\ud83e\udd80\n\"\\\/\u0000"}"#;
    let digest = tool().await.call("sha256", args).await.expect("ok");
    assert_eq!(digest, "c61968d93ee0121c2b0dd9eec40a851fc5e5f6d1855b3f2c8cd282636cd07b4d");
    let encoded = tool().await.call("base64_encode", args).await.expect("ok");
    assert_eq!(encoded, "w6nwn6aACiJcLwA=");
    // Other members, nested values and whitespace are skipped correctly.
    let args = r#" { "text" : "abc" } "#;
    assert_eq!(tool().await.call("sha256", args).await.expect("ok"), ok("sha256", json!({"text": "abc"})).await);
}

#[tokio::test]
async fn crc32_is_the_zlib_checksum() {
    let crc = |output: String| json(&output)["crc32"].as_str().unwrap_or_default().to_owned();
    assert_eq!(crc(ok("crc32", json!({"text": "123456789"})).await), "cbf43926");
    assert_eq!(crc(ok("crc32", json!({"text": ""})).await), "00000000");
    assert_eq!(crc(ok("crc32", json!({"text": "The quick brown fox jumps over the lazy dog"})).await), "414fa339");
    // Against flate2's CRC-32 (zlib's) on text of many lengths and bytes.
    for len in [1usize, 2, 3, 7, 100, 1000, 4097] {
        let text: String = (0..len).map(|i| char::from_u32(0x20 + (i as u32 * 7919) % 0x2000).unwrap_or('x')).collect();
        let mut expected = flate2::Crc::new();
        expected.update(text.as_bytes());
        let output = ok("crc32", json!({ "text": text })).await;
        assert_eq!(output, format!("{{\"crc32\":\"{:08x}\"}}", expected.sum()), "{len} characters");
    }
}

#[tokio::test]
async fn base64_matches_rfc_4648_and_round_trips() {
    let vectors = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")];
    for (text, encoded) in vectors {
        assert_eq!(ok("base64_encode", json!({ "text": text })).await, encoded, "encode {text:?}");
        assert_eq!(ok("base64_decode", json!({ "data": encoded })).await, text, "decode {encoded:?}");
    }
    let text = "héllo wörld ✓ 🦀";
    let encoded = ok("base64_encode", json!({ "text": text })).await;
    assert_eq!(encoded, "aMOpbGxvIHfDtnJsZCDinJMg8J+mgA==");
    assert_eq!(ok("base64_decode", json!({ "data": encoded })).await, text);
    // Characters JSON must escape, and NUL, survive the way back.
    let awkward = "line\nbreak \"quoted\" back\\slash \u{0} tab\t \u{1f} end";
    let encoded = ok("base64_encode", json!({ "text": awkward })).await;
    assert_eq!(ok("base64_decode", json!({ "data": encoded })).await, awkward);
    // A larger text, every byte value of UTF-8 lead and continuation bytes.
    let big: String = (0..200_000u32).map(|i| char::from_u32(0x20 + (i * 31) % 0xD000).unwrap_or('?')).collect();
    let encoded = ok("base64_encode", json!({ "text": big })).await;
    assert_eq!(ok("base64_decode", json!({ "data": encoded })).await, big);
}

#[tokio::test]
async fn bad_base64_is_refused_with_its_position() {
    let cases = [
        ("Zm9v!mFy", "position 4", "not a base64 character"),
        ("Zm9vYmF", "position 7", "multiple of 4"),
        ("Zm9 YmFy", "position 3", "whitespace"),
        ("Z===", "position 1", "padding"),
        ("Zg==Zg==", "position 2", "`=` padding can only end the input"),
        ("Zm9=", "position 2", "not canonical"),
        ("Zh==", "position 1", "not canonical"),
        ("Zm9vé", "position 4", "\"é\""),
    ];
    for (data, position, reason) in cases {
        let error = fails("base64_decode", &json!({ "data": data }).to_string()).await;
        assert_eq!(error.kind, ToolErrorKind::InvalidArguments, "{data}: {}", error.message);
        assert!(error.message.contains(position), "{data}: expected `{position}` in: {}", error.message);
        assert!(error.message.contains(reason), "{data}: expected `{reason}` in: {}", error.message);
    }
    // Valid base64 of bytes that are not UTF-8: the tool returns text only.
    let error = fails("base64_decode", r#"{"data": "aGn/"}"#).await;
    assert_eq!(error.kind, ToolErrorKind::InvalidArguments);
    assert!(error.message.contains("not UTF-8") && error.message.contains("byte 2"), "{}", error.message);
}

#[tokio::test]
async fn the_host_checks_the_schema_before_the_c_code_runs() {
    let cases = [
        ("sha256", r#"{}"#),
        ("sha256", r#"{"text": 5}"#),
        ("sha256", r#"{"text": "abc", "extra": true}"#),
        ("crc32", r#"["text"]"#),
        ("base64_encode", r#"{"text": null}"#),
        ("base64_decode", r#"{"text": "Zm9v"}"#),
        ("probe", r#"{"anything": 1}"#),
        ("sha256", r#"{"text": "abc""#),
    ];
    for (action, args) in cases {
        let error = fails(action, args).await;
        assert_eq!(error.kind, ToolErrorKind::InvalidArguments, "{action}({args}): {}", error.message);
        assert!(error.message.contains(&format!("hash-c__{action}")), "{action}({args}): {}", error.message);
    }
    let too_long = json!({ "text": "a".repeat(1_048_577) }).to_string();
    let error = fails("sha256", &too_long).await;
    assert_eq!(error.kind, ToolErrorKind::InvalidArguments, "{}", error.message);
    let error = fails("md5", r#"{"text": "abc"}"#).await;
    assert_eq!(error.kind, ToolErrorKind::UnknownTool, "{}", error.message);
    assert!(error.message.contains("sha256, crc32, base64_encode, base64_decode, probe"), "{}", error.message);
}

#[tokio::test]
async fn the_sandbox_gives_c_no_environment_files_or_sockets() {
    let report = json(&ok("probe", json!({})).await);
    assert_eq!(report["environment"]["variables"], 0, "{report:#}");
    assert_eq!(report["environment"]["HOME"], Value::Null, "{report:#}");

    let file = &report["file"];
    assert_eq!(file["opened"], false, "{report:#}");
    let errno = file["errno_name"].as_str().unwrap_or_default();
    assert!(["ENOENT", "ENOTCAPABLE", "EACCES", "EPERM"].contains(&errno), "{report:#}");

    // wasi-libc for WASI preview 1 has no socket() at all; should a later one
    // have it, the call must fail.
    let socket = &report["socket"];
    match socket["exists"].as_bool() {
        Some(false) => assert!(socket["note"].as_str().unwrap_or_default().contains("no socket()"), "{report:#}"),
        Some(true) => assert_eq!(socket["result"], -1, "{report:#}"),
        None => panic!("no socket report: {report:#}"),
    }

    // The host is unharmed: the same tool and another one still answer.
    assert_eq!(ok("sha256", json!({"text": "abc"})).await, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    let calculator = runtime().load_tool("calculator", ToolOptions::default()).await.expect("calculator loads");
    let value = calculator.call("evaluate", r#"{"expression": "1/2 + 1/3"}"#).await.expect("ok");
    assert_eq!(json(&value)["value"], "5/6");
}

#[tokio::test]
async fn calls_run_in_parallel_without_sharing_state() {
    let tool = tool().await;
    let calls = (0..16).map(|i| {
        let tool = tool.clone();
        async move {
            let text = format!("call {i}");
            let encoded = tool.call("base64_encode", &json!({ "text": text }).to_string()).await.expect("ok");
            let back = tool.call("base64_decode", &json!({ "data": encoded }).to_string()).await.expect("ok");
            (text, back)
        }
    });
    for (sent, back) in futures_join(calls).await {
        assert_eq!(sent, back);
    }
}

/// Run the futures at once on the test's runtime.
async fn futures_join<F: std::future::Future + Send + 'static>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.expect("the task completes"));
    }
    outputs
}

/// An OpenAI stream whose one chunk calls `name` with `arguments`, then the finish.
fn openai_call(id: &str, name: &str, arguments: &str) -> Reply {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-c", "object": "chat.completion.chunk", "created": 1, "model": "test-model",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
    };
    let call = json!({"tool_calls": [{"index": 0, "id": id, "type": "function", "function": {"name": name, "arguments": arguments}}]});
    let lines = [chunk(call, Value::Null), chunk(json!({}), json!("tool_calls"))];
    Reply::stream(frame(&lines.join("\n"), Framing::OpenAiSse).expect("framed"))
}

/// An OpenAI stream answering `text`.
fn openai_answer(text: &str) -> Reply {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-d", "object": "chat.completion.chunk", "created": 1, "model": "test-model",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
    };
    let lines = [chunk(json!({"content": text}), Value::Null), chunk(json!({}), json!("stop"))];
    Reply::stream(frame(&lines.join("\n"), Framing::OpenAiSse).expect("framed"))
}

#[tokio::test]
async fn the_tool_loop_runs_the_c_tool() {
    let replies = vec![
        openai_call("call_hash", "hash-c__sha256", r#"{"text":"abc"}"#),
        openai_call("call_bad", "hash-c__base64_decode", r#"{"data":"Zm9v!"}"#),
        openai_answer("The digest is ba7816bf..."),
    ];
    let (server, provider) = provider_against("openai", replies).await;
    let agent = ToolLoop::new(provider, Toolbox::with([tool().await]).expect("one tool"));
    let mut stream = agent.run(Request::user("test-model", "Hash abc, then decode Zm9v!"));
    let mut outcomes = Vec::new();
    while let Some(event) = stream.next().await {
        if let LoopEvent::ToolResult(outcome) = event.event {
            outcomes.push(outcome);
        }
    }
    let result = stream.into_result().await.unwrap_or_else(|err| panic!("the loop completes: {err}"));
    assert_eq!(result.stop, LoopStop::Done);
    assert_eq!(result.text(), "The digest is ba7816bf...");
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert_eq!(outcomes[0].error, None);
    assert_eq!(outcomes[0].output, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(outcomes[1].error, Some(ToolErrorKind::InvalidArguments));
    assert!(outcomes[1].output.contains("position 4"), "{}", outcomes[1].output);
    // The model saw both results: the digest and the error.
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let last: Value = serde_json::from_slice(&requests[2].body).expect("JSON body");
    let sent = last["messages"].to_string();
    assert!(sent.contains("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") && sent.contains("position 4"), "{sent}");
}
