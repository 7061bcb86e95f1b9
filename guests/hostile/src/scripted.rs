//! The hostile guest's own `turn` resource and `finalize`, for what the SDK
//! never does: batches that break the contract's event grammar, turns that
//! cost CPU call after call, and a `finalize` whose result is not what the
//! events said. Every other mode runs the SDK's [`TurnRunner`].
//!
//! Scripted modes: `after-finish`, `after-error`, `no-finish`, `duplicate-start`,
//! `delta-after-complete`, `renamed-call`, `open-call-at-finish`,
//! `empty-batches` (grammar); `cpu-per-call` (each `next` spends 200 ms of CPU,
//! under the per-call limit, without end); `host-work` (each `next` makes the
//! host copy 200 MB of log lines, which costs the guest almost nothing).
//! Result lies: `huge-result` (sixteen 1 MiB text parts nobody streamed),
//! `lying-result` (a text part that was never streamed).

use std::cell::RefCell;
use std::collections::VecDeque;

use cordon_sdk::bindings::exports::cordon::provider::provider::{Guest, GuestTurn, Turn};
use cordon_sdk::log::{Level, write as log};
use cordon_sdk::{
    ContentPart, ErrorKind, Event, Finalized, Finish, FinishReason, NativeRequest, ProviderConfig, ProviderError,
    ProviderInfo, Request, State, ToolCall, ToolCallStart, ToolCallDelta, TurnRunner,
};

use crate::{Hostile, mode};

/// The component's exports: the SDK's, but for `turn` and `finalize`.
pub struct HostileExport;

/// A turn: the SDK's runner, or a script.
pub enum HostileTurn {
    /// An ordinary turn.
    Runner(Box<TurnRunner<Hostile>>),
    /// Batches to return, then `none` (or a mode that never ends).
    Script { mode: String, batches: RefCell<VecDeque<Vec<Event>>> },
}

fn text(t: &str) -> Event {
    Event::TextDelta(t.into())
}

fn finish() -> Event {
    Event::Finish(Finish { reason: FinishReason::Stop, raw: None })
}

fn start(id: &str, name: &str) -> Event {
    Event::ToolCallStart(ToolCallStart { id: id.into(), name: name.into() })
}

fn call(id: &str, name: &str) -> Event {
    Event::ToolCall(ToolCall { id: id.into(), name: name.into(), arguments: "{}".into() })
}

/// The batches of a scripted mode, or `None` for an ordinary turn.
fn script(mode: &str) -> Option<Vec<Vec<Event>>> {
    let error = || Event::Error(ProviderError::new(ErrorKind::Server, "scripted failure"));
    Some(match mode {
        "after-finish" => vec![vec![text("a"), finish()], vec![text("late")]],
        "after-error" => vec![vec![text("a"), error()], vec![text("late")]],
        "no-finish" => vec![vec![text("a")]],
        "duplicate-start" => vec![vec![start("c1", "f"), start("c1", "f")]],
        "delta-after-complete" => vec![vec![
            start("c1", "f"),
            call("c1", "f"),
            Event::ToolCallDelta(ToolCallDelta { id: "c1".into(), arguments: "{}".into() }),
        ]],
        "renamed-call" => vec![vec![start("c1", "f"), call("c1", "g"), finish()]],
        "open-call-at-finish" => vec![vec![start("c1", "f"), finish()]],
        "empty-batches" | "cpu-per-call" | "host-work" => Vec::new(),
        _ => return None,
    })
}

impl GuestTurn for HostileTurn {
    fn new(state: State, request: NativeRequest) -> Self {
        let mode = mode();
        match script(&mode) {
            Some(batches) => HostileTurn::Script { mode, batches: RefCell::new(batches.into()) },
            None => HostileTurn::Runner(Box::new(TurnRunner::new(state, request))),
        }
    }

    fn next(&self) -> Option<Vec<Event>> {
        let (mode, batches) = match self {
            HostileTurn::Runner(runner) => return runner.next(),
            HostileTurn::Script { mode, batches } => (mode, batches),
        };
        match mode.as_str() {
            "empty-batches" => Some(Vec::new()),
            "cpu-per-call" => {
                let started = std::time::Instant::now();
                while started.elapsed() < std::time::Duration::from_millis(200) {
                    std::hint::black_box(&started);
                }
                Some(vec![text("burnt ")])
            }
            "host-work" => {
                let line = "w".repeat(4 * 1024 * 1024);
                for _ in 0..50 {
                    log(Level::Trace, &line);
                }
                Some(vec![text("copied ")])
            }
            _ => batches.borrow_mut().pop_front(),
        }
    }
}

impl Guest for HostileExport {
    type Turn = HostileTurn;

    fn info() -> ProviderInfo {
        <Hostile as cordon_sdk::Provider>::info()
    }

    fn init(config: ProviderConfig) -> Result<State, ProviderError> {
        <Hostile as cordon_sdk::Provider>::init(config)
    }

    fn to_native(state: State, request: Request) -> Result<NativeRequest, ProviderError> {
        <Hostile as cordon_sdk::Provider>::to_native(&state, request)
    }

    #[cfg(not(feature = "contract-0-1"))]
    fn list_models(state: State) -> Result<Vec<cordon_sdk::models::ModelInfo>, ProviderError> {
        cordon_sdk::models::list_models::<Hostile>(&state)
    }

    #[cfg(not(feature = "contract-0-1"))]
    fn health(state: State) -> cordon_sdk::models::HealthReport {
        cordon_sdk::models::health::<Hostile>(&state)
    }

    fn finalize(state: State, turn: Turn) -> Result<Finalized, ProviderError> {
        let mut finalized = match turn.into_inner::<HostileTurn>() {
            HostileTurn::Runner(runner) => (*runner).finalize(state)?,
            HostileTurn::Script { .. } => Finalized {
                result: cordon_sdk::TurnResult {
                    content: vec![],
                    usage: cordon_sdk::empty_usage(),
                    finish: Finish { reason: FinishReason::Stop, raw: None },
                    response_id: None,
                    model: None,
                    provider_metadata: None,
                },
                state,
            },
        };
        match mode().as_str() {
            "huge-result" => {
                let part = "r".repeat(1024 * 1024);
                finalized.result.content.extend((0..16).map(|_| ContentPart::Text(part.clone())));
            }
            "lying-result" => finalized.result.content.push(ContentPart::Text("words never streamed".into())),
            _ => {}
        }
        Ok(finalized)
    }
}

#[cfg(target_arch = "wasm32")]
cordon_sdk::bindings::export_bindings!(HostileExport with_types_in cordon_sdk::bindings);
