//! The store's data and the host side of the guest's imports: `http` (through
//! the [`Broker`]), `log`, and an empty WASI (no environment, arguments, files
//! or sockets; stdout and stderr go to the host's log, capped: see [`crate::stdio`]).

use std::sync::Arc;

use wasmtime::component::{Resource, ResourceTable};
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::http::{self, HttpError, HttpErrorKind};
use crate::bindings::{log, wit};
use crate::broker::{Broker, IncomingBody};
use crate::engine::{Engine, EPOCH_TICK};
use crate::limits::{Breach, Limits, StoreLimiter};
use crate::stdio::GuestOutput;
use crate::types::{ErrorKind, TurnError};

/// Bytes of guest stdout/stderr kept and logged per instance (a Rust guest's
/// panic message, a Python traceback); the rest is dropped.
const STDIO_CAPTURE_BYTES: usize = 16 * 1024;

/// Bytes of one log line; longer lines are cut.
const LOG_LINE_BYTES: usize = 4 * 1024;

/// Everything a store holds for one guest instance.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: StoreLimiter,
    broker: Arc<Broker>,
    component: Arc<str>,
    requests_made: u32,
    log_bytes_left: usize,
    log_cut_noted: bool,
    cpu_ticks: u64,
    cpu_tick_limit: u64,
    cpu_limit_ms: u64,
    /// Fuel granted per call, when the engine meters fuel.
    fuel_per_call: Option<u64>,
    open_bodies: u64,
    max_open_bodies: u64,
    stdio: GuestOutput,
}

/// Start a new exported call: its CPU time and fuel are counted afresh.
pub fn begin_call(store: &mut Store<HostState>) -> wasmtime::Result<()> {
    store.data_mut().cpu_ticks = 0;
    // A store made ahead of its turn may have sat idle past its deadline.
    store.set_epoch_deadline(1);
    if let Some(fuel) = store.data().fuel_per_call {
        store.set_fuel(fuel)?;
    }
    Ok(())
}

impl HostState {
    /// The fuel limit per call, when fuel is metered and limited.
    pub fn fuel_limit(&self) -> Option<u64> {
        self.fuel_per_call.filter(|&fuel| fuel != u64::MAX)
    }

    /// What the guest printed (stdout and stderr), e.g. a panic message.
    pub fn captured_output(&self) -> String {
        self.stdio.printed()
    }
}

/// A new store for one instance of `component`, with its limits applied.
pub fn new_store(engine: &Engine, broker: Arc<Broker>, component: Arc<str>, limits: &Limits) -> Store<HostState> {
    let stdio = GuestOutput::new(Arc::clone(&component), STDIO_CAPTURE_BYTES);
    let wasi = WasiCtx::builder()
        .stdout(stdio.stdout())
        .stderr(stdio.stderr())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build();
    let tick_ms = EPOCH_TICK.as_millis() as u64;
    let state = HostState {
        wasi,
        table: ResourceTable::new(),
        limiter: StoreLimiter::new(limits),
        broker,
        component,
        requests_made: 0,
        log_bytes_left: limits.log_bytes(),
        log_cut_noted: false,
        cpu_ticks: 0,
        cpu_tick_limit: limits.call_cpu_ms.div_ceil(tick_ms).max(1),
        cpu_limit_ms: limits.call_cpu_ms,
        fuel_per_call: engine
            .meters_fuel()
            .then_some(if limits.fuel_per_call == 0 { u64::MAX } else { limits.fuel_per_call }),
        open_bodies: 0,
        max_open_bodies: limits.concurrent_requests,
        stdio,
    };
    let fuel = state.fuel_per_call;
    let mut store = Store::new(engine.wasmtime(), state);
    store.limiter(|s| &mut s.limiter);
    store.set_hostcall_fuel(limits.hostcall_bytes());
    if let Some(fuel) = fuel {
        // Instantiation runs the component's start code: it gets a call's budget too.
        store.set_fuel(fuel).ok();
    }
    // Each epoch tick that finds the guest running counts against its CPU budget
    // and yields to the async runtime, so a busy guest never stalls other turns.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut ctx| {
        let state = ctx.data_mut();
        state.cpu_ticks = state.cpu_ticks.saturating_add(1);
        if state.cpu_ticks > state.cpu_tick_limit {
            return Err(Breach::Cpu { limit_ms: state.cpu_limit_ms }.into());
        }
        Ok(UpdateDeadline::Yield(1))
    });
    store
}

/// How long a turn refused for a full instance pool is asked to wait.
const POOL_FULL_RETRY_MS: u64 = 1000;

/// Classify an error from a call into the guest: a limit breach, a trap (with
/// what the guest printed, e.g. its panic message), a full instance pool, or
/// an engine failure.
pub fn trap_error(store: &Store<HostState>, err: wasmtime::Error) -> TurnError {
    if let Some(breach) = err.downcast_ref::<Breach>() {
        return TurnError::new(ErrorKind::LimitExceeded, breach.to_string());
    }
    if let Some(full) = err.downcast_ref::<wasmtime::PoolConcurrencyLimitError>() {
        // The host's own capacity, not the guest's doing: worth a retry.
        let mut error = TurnError::new(
            ErrorKind::Overloaded,
            format!(
                "the host is running as many component instances as its pool holds ({full}), so the turn was not \
                 started; retry shortly, or lower the providers' `limits.concurrent-turns` below the pool's size \
                 (`RuntimeConfig::pool`; the gateway's is 256 instances)"
            ),
        );
        error.retryable = true;
        error.retry_after_ms = Some(POOL_FULL_RETRY_MS);
        return error;
    }
    if is_handover_exhausted(&err) {
        return TurnError::new(ErrorKind::LimitExceeded, Breach::Handover { limit: store.hostcall_fuel() }.to_string());
    }
    let printed = store.data().captured_output();
    let detail = if printed.is_empty() { String::new() } else { format!("; the guest printed: {printed}") };
    if let (Some(wasmtime::Trap::OutOfFuel), Some(limit)) = (err.downcast_ref::<wasmtime::Trap>(), store.data().fuel_limit()) {
        return TurnError::new(ErrorKind::LimitExceeded, Breach::Fuel { limit }.to_string());
    }
    let message = match err.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::StackOverflow) => "the guest overflowed its stack".to_owned(),
        Some(wasmtime::Trap::MemoryOutOfBounds) => {
            "the guest accessed memory out of bounds (a guest whose own stack in linear memory overflows fails this way)"
                .to_owned()
        }
        Some(wasmtime::Trap::UnreachableCodeReached) if !printed.is_empty() => "the guest panicked".to_owned(),
        Some(trap) => format!("the guest trapped: {trap}"),
        None => format!("the guest failed: {err:#}"),
    };
    TurnError::new(ErrorKind::Trap, format!("{message}{detail}"))
}

/// Whether `err` is wasmtime refusing to copy more than the store's hostcall
/// fuel ([`Limits::hostcall_bytes`]) out of guest memory. wasmtime 48 keeps
/// that error's type private, so this matches its message; the hostile suite's
/// oversized-result case fails if a wasmtime upgrade changes it.
fn is_handover_exhausted(err: &wasmtime::Error) -> bool {
    err.chain().any(|cause| cause.to_string().contains("fuel allocated for hostcalls has been exhausted"))
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl wit::Host for HostState {}

impl http::Host for HostState {
    async fn send(&mut self, request: wit::OutgoingRequest) -> wasmtime::Result<Result<http::Response, HttpError>> {
        if self.open_bodies >= self.max_open_bodies {
            return Ok(Err(HttpError {
                kind: HttpErrorKind::Limit,
                message: format!(
                    "more than {} responses open at once (limits.concurrent-requests); drop a body before sending again",
                    self.max_open_bodies
                ),
            }));
        }
        let broker = Arc::clone(&self.broker);
        let (status, headers, body) = match broker.send(request, &mut self.requests_made).await {
            Ok(answer) => answer,
            Err(error) => {
                tracing::debug!(component = %self.component, "outbound request refused or failed: {}", error.message);
                return Ok(Err(error));
            }
        };
        let body = self.table.push(body)?;
        self.open_bodies = self.open_bodies.saturating_add(1);
        Ok(Ok(http::Response { status, headers, body }))
    }
}

impl http::HostBody for HostState {
    async fn read(&mut self, body: Resource<IncomingBody>, max_bytes: u32) -> wasmtime::Result<Result<Option<Vec<u8>>, HttpError>> {
        let body = self.table.get_mut(&body)?;
        Ok(body.read(max_bytes).await)
    }

    async fn drop(&mut self, body: Resource<IncomingBody>) -> wasmtime::Result<()> {
        self.table.delete(body)?;
        self.open_bodies = self.open_bodies.saturating_sub(1);
        Ok(())
    }
}

impl log::Host for HostState {
    async fn write(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        if self.log_bytes_left == 0 {
            if !self.log_cut_noted {
                self.log_cut_noted = true;
                tracing::warn!(component = %self.component, "guest log budget for this turn is spent; dropping further lines");
            }
            return Ok(());
        }
        let mut end = message.len().min(LOG_LINE_BYTES).min(self.log_bytes_left);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        self.log_bytes_left -= end;
        let line = &message[..end];
        let component = &*self.component;
        match level {
            log::Level::Trace => tracing::trace!(target: "cordon::guest", component, "{line}"),
            log::Level::Debug => tracing::debug!(target: "cordon::guest", component, "{line}"),
            log::Level::Info => tracing::info!(target: "cordon::guest", component, "{line}"),
            log::Level::Warn => tracing::warn!(target: "cordon::guest", component, "{line}"),
            log::Level::Error => tracing::error!(target: "cordon::guest", component, "{line}"),
        }
        Ok(())
    }
}

