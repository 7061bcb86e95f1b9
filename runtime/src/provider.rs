//! Typed calls into a provider component: `init` at load (bounded in wall-clock
//! time), and turns. Each turn runs in a fresh instance from the
//! pre-instantiated component. The turn is driven by whoever reads its
//! [`TurnStream`], in the reader's own task: events arrive in batches through a
//! small bounded queue, the guest is asked for more only as fast as the reader
//! reads, and no thread hand-off is paid per event. Every batch is held to the
//! output limits and the event grammar ([`crate::grammar`]) before it reaches
//! the reader; the turn's result is folded from the events ([`crate::fold`]);
//! the turn's CPU is counted across its calls ([`crate::cpu`]). A provider
//! keeps one fresh instance ready (made when it loads and after each turn, off
//! the answer's path), so a turn does not wait for its instantiation; an
//! instance still serves one turn only. A trap, a
//! limit breach, a grammar violation or a timeout becomes an `error` event and
//! a typed error; the instance is dropped and the next turn gets a new one.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tracing::Instrument as _;

use crate::bindings::{ProviderInfo, wit};
use crate::broker::Broker;
use crate::component::{LoadedComponent, Prepared};
use crate::contract::{ContractVersion, ProviderInstance, ProviderPre};
use crate::models::{Health, ModelInfo};
use crate::convert;
use crate::cpu::CpuBudget;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::fold::Fold;
use crate::grammar::Grammar;
use crate::host::{HostState, begin_call, new_store, trap_error};
use crate::limits::{Breach, Limits};
use crate::types::{ErrorKind, Event, Request, TurnError, TurnResult, Usage};

/// Batches buffered between a running turn and its reader.
pub(crate) const CHANNEL_BATCHES: usize = 4;

/// A loaded provider: cheap to clone, safe to share; every turn is isolated.
#[derive(Clone)]
pub struct Provider {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    component: LoadedComponent,
    pre: ProviderPre,
    broker: Arc<Broker>,
    info: ProviderInfo,
    name: Arc<str>,
    served_by: String,
    /// Host-owned provider state, handed to every call; shared by the versions
    /// of one provider, so it survives hot-swaps.
    state: Arc<Mutex<wit::State>>,
    /// One permit per turn that may run at once (limits.concurrent-turns).
    slots: Arc<Semaphore>,
    /// Turns waiting for a permit (limits.queued-turns).
    queued: AtomicU64,
    /// Turns running now.
    in_flight: AtomicU64,
    loaded_at: SystemTime,
    /// A fresh instance made ahead of the next turn (see [`Spare`]).
    spare: Mutex<Option<Spare>>,
    /// A spare is being made now.
    making_spare: std::sync::atomic::AtomicBool,
}

/// A fresh instance in its own store, made ahead of a turn and never called
/// before it: instantiation is the same work either way, but done between
/// turns it is off the path to the first event.
struct Spare {
    store: wasmtime::Store<HostState>,
    instance: ProviderInstance,
}

/// How a version gets its state: a fresh `init`, or the state of the version it replaces.
enum Launch {
    Init(wit::ProviderConfig),
    TakeOver(Arc<Mutex<wit::State>>),
}

/// Counts a running turn for as long as it lives.
struct InFlight<'a>(&'a AtomicU64);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a AtomicU64) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        InFlight(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a turn's driver sends its [`TurnStream`].
pub(crate) enum Message {
    /// A batch of events.
    Events(Vec<Event>),
    /// The end: the result or the error.
    Done(Box<Result<TurnResult, TurnError>>),
}

impl Provider {
    /// Describe the component and run its `init`: a provider with fresh state.
    pub(crate) async fn start(
        engine: Engine,
        component: LoadedComponent,
        broker: Broker,
        config: wit::ProviderConfig,
    ) -> Result<Provider> {
        Self::launch(engine, component, broker, Launch::Init(config)).await
    }

    /// Describe the component (the smoke call) and hand it `state`, which an
    /// earlier version of the same provider owns: used by hot-swaps.
    pub(crate) async fn take_over(
        engine: Engine,
        component: LoadedComponent,
        broker: Broker,
        state: Arc<Mutex<wit::State>>,
    ) -> Result<Provider> {
        Self::launch(engine, component, broker, Launch::TakeOver(state)).await
    }

    async fn launch(engine: Engine, component: LoadedComponent, broker: Broker, launch: Launch) -> Result<Provider> {
        let name: Arc<str> = component.manifest.name.as_str().into();
        let Prepared::Provider(pre) = &component.prepared else {
            return Err(Error::InvalidComponent {
                path: component.path.clone(),
                reason: "is a tool, not a provider; load it as a tool (`Runtime::load_tool`, `cordon chat --tool`)".to_owned(),
            });
        };
        let pre = pre.clone();
        let broker = Arc::new(broker);
        let init_error = |error: TurnError| Error::Init { provider: name.to_string(), error };
        let limits = &component.manifest.limits;
        let loading = describe_and_start(&engine, &pre, &broker, &name, limits, launch);
        let (info, state) = match tokio::time::timeout(Duration::from_millis(limits.init_ms), loading).await {
            Ok(started) => started.map_err(init_error)?,
            Err(_) => {
                return Err(init_error(TurnError::new(
                    ErrorKind::Timeout,
                    format!(
                        "loading (instantiation, `info` and `init`) took longer than {} ms (limits.init-ms); \
                         a component must not wait or sleep while it starts",
                        limits.init_ms
                    ),
                )));
            }
        };
        let served_by = format!("{}@{}", component.manifest.name, component.manifest.version);
        let slots = Arc::new(Semaphore::new(component.manifest.limits.concurrent_turns as usize));
        let provider = Provider {
            inner: Arc::new(Inner {
                engine,
                component,
                pre,
                broker,
                info,
                name,
                served_by,
                state,
                slots,
                queued: AtomicU64::new(0),
                in_flight: AtomicU64::new(0),
                loaded_at: SystemTime::now(),
                spare: Mutex::new(None),
                making_spare: std::sync::atomic::AtomicBool::new(false),
            }),
        };
        retire_and_refill(&provider.inner, None);
        Ok(provider)
    }

    /// `name@version` of the component behind it, as results and events report it.
    pub fn served_by(&self) -> &str {
        &self.inner.served_by
    }

    /// Make one fresh instance, as a turn does first, and drop it: what the
    /// benchmarks time as a component's instantiation.
    #[doc(hidden)]
    pub async fn instantiate_once(&self) -> Result<()> {
        let inner = &self.inner;
        let limits = &inner.component.manifest.limits;
        let mut store = new_store(&inner.engine, Arc::clone(&inner.broker), Arc::clone(&inner.name), limits);
        inner.pre.instantiate_async(&mut store).await.map_err(|err| Error::Turn(trap_error(&store, err)))?;
        Ok(())
    }

    /// Turns running on it now.
    pub fn in_flight(&self) -> u64 {
        self.inner.in_flight.load(Ordering::SeqCst)
    }

    /// When it was loaded.
    pub fn loaded_at(&self) -> SystemTime {
        self.inner.loaded_at
    }

    /// The host-owned state it shares with the versions before and after it.
    pub(crate) fn shared_state(&self) -> Arc<Mutex<wit::State>> {
        Arc::clone(&self.inner.state)
    }

    /// A weak handle, to observe when this version is freed.
    pub fn downgrade(&self) -> Weak<impl Sized + use<>> {
        Arc::downgrade(&self.inner)
    }

    /// The provider's own description (name, version, models, capabilities).
    pub fn info(&self) -> &ProviderInfo {
        &self.inner.info
    }

    /// The component behind it.
    pub fn component(&self) -> &LoadedComponent {
        &self.inner.component
    }

    /// The origins it may reach (its manifest plus the operator's grants).
    pub fn allowed_hosts(&self) -> &crate::policy::AllowList {
        self.inner.broker.allowed()
    }

    /// Start a turn; events arrive as the upstream streams them.
    pub fn stream(&self, request: Request) -> TurnStream {
        let (sender, receiver) = mpsc::channel(CHANNEL_BATCHES);
        let inner = Arc::clone(&self.inner);
        let driver = Box::pin(async move {
            let _in_flight = InFlight::enter(&inner.in_flight);
            let limit = Duration::from_millis(inner.component.manifest.limits.turn_ms);
            // The turn's instance, dropped after the turn's end is sent.
            let mut used = None;
            let outcome = match wait_for_slot(&inner).await {
                Err(busy) => Err(Failure::from(busy)),
                Ok(_slot) => match tokio::time::timeout(limit, run_turn(&inner, request, &sender, &mut used)).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(Failure::from(TurnError::new(
                        ErrorKind::Timeout,
                        format!("the turn took longer than {} ms (limits.turn-ms)", limit.as_millis()),
                    ))),
                },
            };
            if let Err(error) = &outcome
                && !error.reported
            {
                // A host-made failure (trap, limit, timeout): tell the stream too.
                let _ = sender.send(Message::Events(vec![Event::Error(error.error.clone())])).await;
            }
            let _ = sender.send(Message::Done(Box::new(outcome.map_err(|e| e.error)))).await;
            retire_and_refill(&inner, used);
        });
        TurnStream::new(driver, receiver)
    }

    /// Run a turn to its end and return the assembled result.
    pub async fn complete(&self, request: Request) -> Result<TurnResult> {
        self.stream(request).into_result().await
    }

    /// The contract version the component was built against.
    pub fn contract(&self) -> ContractVersion {
        self.inner.pre.version()
    }

    /// The upstream's models as the provider lists them (`list-models`,
    /// contract 0.2.0): one call in a fresh instance, under a turn's limits and
    /// slot, its HTTP through the same broker. A 0.1.0 component answers
    /// [`Error::NotSupported`].
    pub async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        let listed = self
            .one_call("list-models", |instance, store, state| Box::pin(instance.list_models(store, state)))
            .await?;
        let models = listed.map_err(|error| Error::Turn(convert::error(error)))?;
        Ok(models.into_iter().map(ModelInfo::from).collect())
    }

    /// The upstream's health as the provider probes it (`health`, contract
    /// 0.2.0), with the time the probe took. A 0.1.0 component answers
    /// [`Error::NotSupported`]; a guest that fails is reported `down`.
    pub async fn health(&self) -> Result<Health> {
        let started = std::time::Instant::now();
        let report = self.one_call("health", |instance, store, state| Box::pin(instance.health(store, state))).await;
        let took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match report {
            Ok(report) => Ok(Health { status: report.status.into(), reason: report.reason, took_ms }),
            Err(Error::Turn(error)) => Ok(Health {
                status: crate::models::HealthStatus::Down,
                reason: Some(format!("the provider failed its probe: {}", error.message)),
                took_ms,
            }),
            Err(other) => Err(other),
        }
    }

    /// Run one call of 0.2.0's in a fresh instance: bounded by the manifest's
    /// `turn-ms` and `turn-cpu-ms`, in a turn slot.
    async fn one_call<T>(&self, call: &'static str, run: CallFn<T>) -> Result<T> {
        let inner = &self.inner;
        if inner.pre.version() == ContractVersion::V0_1 {
            return Err(Error::NotSupported {
                provider: inner.name.to_string(),
                call,
                contract: inner.pre.version().as_str(),
            });
        }
        let _slot = wait_for_slot(inner).await.map_err(Error::Turn)?;
        let _in_flight = InFlight::enter(&inner.in_flight);
        let limits = &inner.component.manifest.limits;
        let mut used = None;
        let running = async {
            let mut cpu = CpuBudget::new(limits.turn_cpu_ms);
            let Spare { store, instance } = used.insert(fresh_instance(inner, &mut cpu).await?);
            let state = inner.state.lock().map(|s| s.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone());
            begin_call(&mut *store).map_err(|e| trap_error(store, e))?;
            let answer = cpu.meter(run(instance, store, &state)).await;
            answer.map_err(|e| trap_error(store, e))
        };
        let outcome = match tokio::time::timeout(Duration::from_millis(limits.turn_ms), running).await {
            Ok(outcome) => outcome.map_err(Error::Turn),
            Err(_) => Err(Error::Turn(TurnError::new(
                ErrorKind::Timeout,
                format!("`{call}` took longer than {} ms (limits.turn-ms)", limits.turn_ms),
            ))),
        };
        retire_and_refill(inner, used);
        outcome
    }
}

/// A call into an export of 0.2.0's (see [`Provider::one_call`]).
type CallFn<T> = for<'a> fn(
    &'a ProviderInstance,
    &'a mut wasmtime::Store<HostState>,
    &'a wit::State,
) -> Pin<Box<dyn Future<Output = wasmtime::Result<T>> + Send + 'a>>;

/// Off the answer's path, in a task of its own: drop the instance a turn used
/// (resetting its memory for the pool), then make the provider's spare
/// instance unless it has one or one is being made. The task holds the
/// provider weakly: a version that is replaced meanwhile is not kept alive.
fn retire_and_refill(inner: &Arc<Inner>, used: Option<Spare>) {
    let has_spare = inner.spare.lock().map(|spare| spare.is_some()).unwrap_or(true);
    let making = (!has_spare && !inner.making_spare.swap(true, Ordering::AcqRel))
        .then(|| MakingSpare(Arc::downgrade(inner)));
    if used.is_none() && making.is_none() {
        return;
    }
    tokio::spawn(async move {
        // After whatever the network has brought (the client's next request).
        tokio::task::yield_now().await;
        drop(used);
        let Some(making) = making else { return };
        let Some(inner) = making.0.upgrade() else { return };
        let limits = &inner.component.manifest.limits;
        let mut store = new_store(&inner.engine, Arc::clone(&inner.broker), Arc::clone(&inner.name), limits);
        let started = std::time::Instant::now();
        match inner.pre.instantiate_async(&mut store).await {
            Ok(instance) => {
                inner.engine.telemetry().instantiated(started.elapsed());
                if let Ok(mut spare) = inner.spare.lock() {
                    *spare = Some(Spare { store, instance });
                }
            }
            // The turn that finds no spare instantiates for itself and reports the error.
            Err(err) => tracing::debug!(component = %inner.name, "cannot make a spare instance: {err:#}"),
        }
    });
}

/// Clears `making_spare` when the task making a spare ends, however it ends
/// (a runtime shutting down drops the task unrun).
struct MakingSpare(Weak<Inner>);

impl Drop for MakingSpare {
    fn drop(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            inner.making_spare.store(false, Ordering::Release);
        }
    }
}

/// The spare instance, or a new one made now (its time charged to the turn).
async fn fresh_instance(inner: &Inner, cpu: &mut CpuBudget) -> Result<Spare, TurnError> {
    if let Some(spare) = inner.spare.lock().ok().and_then(|mut spare| spare.take()) {
        return Ok(spare);
    }
    let limits = &inner.component.manifest.limits;
    let mut store = new_store(&inner.engine, Arc::clone(&inner.broker), Arc::clone(&inner.name), limits);
    let started = std::time::Instant::now();
    let instance = cpu.meter(inner.pre.instantiate_async(&mut store)).await.map_err(|e| trap_error(&store, e))?;
    inner.engine.telemetry().instantiated(started.elapsed());
    Ok(Spare { store, instance })
}

/// Instantiate, call `info`, and run `init` (or take over the given state).
async fn describe_and_start(
    engine: &Engine,
    pre: &ProviderPre,
    broker: &Arc<Broker>,
    name: &Arc<str>,
    limits: &Limits,
    launch: Launch,
) -> std::result::Result<(ProviderInfo, Arc<Mutex<wit::State>>), TurnError> {
    let mut store = new_store(engine, Arc::clone(broker), Arc::clone(name), limits);
    let instance = pre.instantiate_async(&mut store).await.map_err(|err| trap_error(&store, err))?;
    begin_call(&mut store).map_err(|err| trap_error(&store, err))?;
    let info = instance.info(&mut store).await.map_err(|err| trap_error(&store, err))?;
    let state = match launch {
        Launch::TakeOver(state) => state,
        Launch::Init(config) => {
            begin_call(&mut store).map_err(|err| trap_error(&store, err))?;
            let state = instance
                .init(&mut store, &config)
                .await
                .map_err(|err| trap_error(&store, err))?
                .map_err(convert::error)?;
            Arc::new(Mutex::new(state))
        }
    };
    Ok((info, state))
}

/// A slot to run a turn in: at once if one is free, else after waiting in a
/// bounded queue for a bounded time; otherwise a `busy` error.
async fn wait_for_slot(inner: &Inner) -> Result<OwnedSemaphorePermit, TurnError> {
    if let Ok(permit) = Arc::clone(&inner.slots).try_acquire_owned() {
        return Ok(permit);
    }
    let limits = &inner.component.manifest.limits;
    let busy = |why: String| {
        let mut error = TurnError::new(ErrorKind::Busy, why);
        error.retryable = true;
        error
    };
    if inner.queued.fetch_add(1, Ordering::SeqCst) >= limits.queued_turns {
        inner.queued.fetch_sub(1, Ordering::SeqCst);
        return Err(busy(format!(
            "provider `{}` is busy: {} turns running and {} queued (limits.concurrent-turns, limits.queued-turns)",
            inner.name, limits.concurrent_turns, limits.queued_turns
        )));
    }
    let waited = tokio::time::timeout(Duration::from_millis(limits.queue_wait_ms), Arc::clone(&inner.slots).acquire_owned()).await;
    inner.queued.fetch_sub(1, Ordering::SeqCst);
    match waited {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(busy(format!(
            "provider `{}` is busy: no turn slot came free within {} ms (limits.queue-wait-ms)",
            inner.name, limits.queue_wait_ms
        ))),
    }
}

/// Checks a turn's output as it crosses the boundary: the output limits and
/// the event grammar. Tool-call arguments are the model's text and are not
/// checked here: a model can write malformed JSON, and the tool loop answers
/// it with an error result the model can correct.
struct TurnGuard<'a> {
    limits: &'a Limits,
    events: u64,
    bytes: u64,
    grammar: Grammar,
}

impl<'a> TurnGuard<'a> {
    fn new(limits: &'a Limits) -> Self {
        TurnGuard { limits, events: 0, bytes: 0, grammar: Grammar::new() }
    }

    /// Check the sizes of a batch still in the contract's form (before any copy).
    fn check_sizes(&mut self, batch: &[wit::Event]) -> Result<(), TurnError> {
        let breach = |b: Breach| TurnError::new(ErrorKind::LimitExceeded, b.to_string());
        self.events = self.events.saturating_add(batch.len() as u64);
        if self.events > self.limits.events_per_turn {
            return Err(breach(Breach::Events { limit: self.limits.events_per_turn }));
        }
        for event in batch {
            let size = convert::event_size(event);
            if size > self.limits.event_bytes() {
                return Err(breach(Breach::EventSize { size, limit: self.limits.event_bytes() }));
            }
            self.bytes = self.bytes.saturating_add(size);
        }
        if self.bytes > self.limits.output_bytes() {
            return Err(breach(Breach::Output { limit: self.limits.output_bytes() }));
        }
        Ok(())
    }

    /// Check a converted batch against the event grammar.
    fn check_grammar(&mut self, events: &[Event]) -> Result<(), TurnError> {
        self.grammar.check_batch(events).map_err(violation)
    }

    /// The stream ended: check the turn ended as the grammar says.
    fn check_end(&self) -> Result<(), TurnError> {
        self.grammar.check_end().map_err(violation)
    }
}

fn violation(rule: String) -> TurnError {
    TurnError::new(ErrorKind::ContractViolation, format!("the guest broke the contract's event grammar: {rule}"))
}

/// A failure, and whether the guest already reported it as an `error` event.
struct Failure {
    error: TurnError,
    reported: bool,
}

impl From<TurnError> for Failure {
    fn from(error: TurnError) -> Self {
        Failure { error, reported: false }
    }
}

async fn run_turn(
    inner: &Inner,
    request: Request,
    sender: &mpsc::Sender<Message>,
    used: &mut Option<Spare>,
) -> Result<TurnResult, Failure> {
    let limits = &inner.component.manifest.limits;
    let mut cpu = CpuBudget::new(limits.turn_cpu_ms);
    let Spare { store, instance } = used.insert(fresh_instance(inner, &mut cpu).await?);
    let state = inner.state.lock().map(|s| s.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone());

    begin_call(&mut *store).map_err(|e| trap_error(store, e))?;
    let native = cpu
        .meter(instance.to_native(&mut *store, &state, &convert::request(request)))
        .instrument(tracing::debug_span!("to_native"))
        .await
        .map_err(|e| trap_error(store, e))?
        .map_err(convert::error)?;
    let warnings: Vec<_> = native.warnings.iter().cloned().map(convert::warning).collect();
    let start = Event::StreamStart { warnings: warnings.clone(), served_by: inner.served_by.clone() };
    if sender.send(Message::Events(vec![start])).await.is_err() {
        return Err(cancelled());
    }

    begin_call(&mut *store).map_err(|e| trap_error(store, e))?;
    let turn = cpu
        .meter(instance.start_turn(&mut *store, &state, &native))
        .await
        .map_err(|e| trap_error(store, e))?;
    let mut reported = false;
    let mut streamed = false;
    let mut guard = TurnGuard::new(limits);
    let mut fold = Fold::new();
    loop {
        begin_call(&mut *store).map_err(|e| trap_error(store, e))?;
        let batch = cpu
            .meter(instance.next(&mut *store, turn))
            .await
            .map_err(|e| after_output(trap_error(store, e), streamed))?;
        let Some(batch) = batch else { break };
        guard.check_sizes(&batch).map_err(|e| after_output(e, streamed))?;
        let events: Vec<Event> = batch.into_iter().map(convert::event).collect();
        guard.check_grammar(&events).map_err(|e| after_output(e, streamed))?;
        for event in &events {
            fold.push(event);
            match event {
                Event::Error(_) => reported = true,
                Event::TextDelta { .. } | Event::ReasoningDelta { .. } | Event::ToolCall(_) => streamed = true,
                _ => {}
            }
        }
        if sender.send(Message::Events(events)).await.is_err() {
            return Err(cancelled());
        }
        // Let the reader take this batch now rather than after the next ones.
        tokio::task::yield_now().await;
    }
    guard.check_end().map_err(|e| after_output(e, streamed))?;

    begin_call(&mut *store).map_err(|e| trap_error(store, e))?;
    let finalized = cpu
        .meter(instance.finalize(&mut *store, &state, turn))
        .await
        .map_err(|e| after_output(trap_error(store, e), streamed))?
        .map_err(|e| Failure { error: convert::error(e), reported })?;
    let metadata = provider_metadata(finalized.result.provider_metadata.as_deref(), limits)
        .map_err(|e| after_output(e, streamed))?;
    let guest = finalized.result;
    let content = convert::content(guest.content);
    if let Some(difference) = fold.difference(&content, &convert::usage(guest.usage), &convert::finish(guest.finish)) {
        tracing::warn!(
            component = %inner.name,
            "finalize returned a result that is not the fold of the turn's events ({difference}); the host's fold is the turn's result"
        );
    }
    if let Ok(mut slot) = inner.state.lock() {
        *slot = finalized.state;
    }
    tracing::debug!(component = %inner.name, busy_us = cpu.used().as_micros(), "turn done");
    Ok(fold.into_result(warnings, inner.served_by.clone(), metadata))
}

/// `error`, marked with whether output had already reached the caller.
fn after_output(mut error: TurnError, streamed: bool) -> TurnError {
    error.output_streamed = streamed;
    error
}

/// The guest's provider metadata (JSON text, at most one event's size).
fn provider_metadata(text: Option<&str>, limits: &Limits) -> Result<Option<serde_json::Value>, TurnError> {
    let Some(text) = text else { return Ok(None) };
    if text.len() as u64 > limits.event_bytes() {
        let breach = Breach::EventSize { size: text.len() as u64, limit: limits.event_bytes() };
        return Err(TurnError::new(ErrorKind::LimitExceeded, format!("provider-metadata: {breach}")));
    }
    Ok(serde_json::from_str(text).ok())
}

fn cancelled() -> Failure {
    Failure { error: TurnError::new(ErrorKind::Other, "the caller stopped reading the turn"), reported: true }
}

/// The events of one turn, in order, then its result. Reading it drives the
/// turn; dropping it cancels the turn (the instance is discarded).
pub struct TurnStream {
    driver: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    receiver: mpsc::Receiver<Message>,
    /// The rest of the batch being read. A batch is read from where the
    /// driver put it: its events are not moved again into another queue.
    buffer: std::vec::IntoIter<Event>,
    result: Option<Result<TurnResult, TurnError>>,
    /// The caller's deadlines and what it holds for the turn's life.
    bounds: Option<Box<Bounds>>,
}

/// A caller's deadlines on a turn (see [`TurnStream::output_by`]).
#[derive(Default)]
struct Bounds {
    /// Until the first output.
    first_output: Option<(Pin<Box<tokio::time::Sleep>>, TurnError)>,
    /// Until the end.
    end: Option<(Pin<Box<tokio::time::Sleep>>, TurnError)>,
    /// Output has reached the caller.
    output_seen: bool,
    /// Released when the stream is dropped (a concurrency permit).
    _held: Option<Box<dyn Send>>,
    /// Told once how the turn ended (see [`TurnStream::on_end`]).
    on_end: Option<Box<dyn FnOnce(Ending) + Send>>,
    /// The last usage that went by, while `on_end` waits for it.
    usage: Option<Usage>,
    /// Completes each usage (see [`TurnStream::price_usage`]).
    pricing: Option<Box<Pricing>>,
    /// The model the upstream reported, for `pricing`.
    model: Option<String>,
    /// Output bytes that went by, for `on_end`.
    output_bytes: u64,
    /// What `on_end` is told of the turn's course: when it was set, when
    /// output first went by, and who served it.
    course: Option<Course>,
}

/// When a turn watched by `on_end` started and first gave output, and who served it.
struct Course {
    started: std::time::Instant,
    first_output: Option<std::time::Instant>,
    served_by: Option<String>,
}

/// Completes a usage given the model the upstream reported (see [`TurnStream::price_usage`]).
type Pricing = dyn Fn(&mut Usage, Option<&str>) + Send;

/// How a turn ended, as [`TurnStream::on_end`] tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ending {
    /// The turn's usage: its result's, or the last reported before it failed
    /// or was dropped (empty when none was).
    pub usage: Usage,
    /// The error it ended with, if it failed.
    pub error: Option<ErrorKind>,
    /// Whether the caller dropped the stream before the turn's end.
    pub abandoned: bool,
    /// Bytes of text, reasoning and tool-call arguments that reached the
    /// caller (to estimate a usage that never came).
    pub output_bytes: u64,
    /// The model the upstream reported, if it did.
    pub model: Option<String>,
    /// The component version that served it (`name@version`), once known.
    pub served_by: Option<String>,
    /// From `on_end` being set (the turn's start) to its first output.
    pub first_output_after: Option<std::time::Duration>,
    /// From `on_end` being set to the turn's end.
    pub duration: std::time::Duration,
}

impl Bounds {
    /// Note what `event` says for `on_end`, and whether it is output.
    fn saw(&mut self, event: &Event) {
        if !self.output_seen {
            self.output_seen = event.is_output();
        }
        if self.on_end.is_none() {
            return;
        }
        if let Some(course) = self.course.as_mut() {
            if course.first_output.is_none() && event.is_output() {
                course.first_output = Some(std::time::Instant::now());
            }
            if let Event::StreamStart { served_by, .. } = event
                && course.served_by.is_none()
            {
                course.served_by = Some(served_by.clone());
            }
        }
        let bytes = match event {
            Event::Usage(usage) => {
                self.usage = Some(usage.clone());
                0
            }
            Event::TextDelta { text } | Event::ReasoningDelta { text, .. } => text.len(),
            Event::ToolCallDelta { arguments, .. } => arguments.len(),
            _ => 0,
        };
        self.output_bytes = self.output_bytes.saturating_add(u64::try_from(bytes).unwrap_or(u64::MAX));
    }

    /// Tell `on_end`, once: the turn ended with `result`, or was abandoned.
    fn end(&mut self, result: Option<&Result<TurnResult, TurnError>>) {
        let Some(on_end) = self.on_end.take() else { return };
        let last = self.usage.take().unwrap_or_default();
        let (usage, error, model) = match result {
            Some(Ok(result)) => (result.usage.clone(), None, result.model.clone().or(self.model.take())),
            Some(Err(error)) => (last, Some(error.kind), self.model.take()),
            None => (last, None, self.model.take()),
        };
        let course = self.course.take();
        let started = course.as_ref().map(|course| course.started);
        on_end(Ending {
            usage,
            error,
            abandoned: result.is_none(),
            output_bytes: self.output_bytes,
            model,
            served_by: course.as_ref().and_then(|course| course.served_by.clone()),
            first_output_after: course.as_ref().and_then(|course| Some(course.first_output?.saturating_duration_since(course.started))),
            duration: started.map(|started| started.elapsed()).unwrap_or_default(),
        });
    }

    /// The error of a deadline that has passed.
    fn expired(&mut self, cx: &mut Context<'_>) -> Option<TurnError> {
        if !self.output_seen
            && let Some((sleep, error)) = self.first_output.as_mut()
            && sleep.as_mut().poll(cx).is_ready()
        {
            return Some(error.clone());
        }
        let (sleep, error) = self.end.as_mut()?;
        sleep.as_mut().poll(cx).is_ready().then(|| {
            let mut error = error.clone();
            error.output_streamed = self.output_seen;
            error
        })
    }
}

impl TurnStream {
    /// A stream fed by `driver` through `receiver` (the driver runs as the stream is read).
    pub(crate) fn new(driver: Pin<Box<dyn Future<Output = ()> + Send>>, receiver: mpsc::Receiver<Message>) -> TurnStream {
        TurnStream { driver: Some(driver), receiver, buffer: Vec::new().into_iter(), result: None, bounds: None }
    }

    /// End the turn with `error` (an `error` event, then the error as its
    /// result) unless it has produced output by `at`. The turn, its instance
    /// and its upstream connection are dropped then.
    pub fn output_by(mut self, at: tokio::time::Instant, error: TurnError) -> TurnStream {
        self.bounds.get_or_insert_default().first_output = Some((Box::pin(tokio::time::sleep_until(at)), error));
        self
    }

    /// End the turn with `error` unless it has ended by `at`.
    pub fn end_by(mut self, at: tokio::time::Instant, error: TurnError) -> TurnStream {
        self.bounds.get_or_insert_default().end = Some((Box::pin(tokio::time::sleep_until(at)), error));
        self
    }

    /// Keep `held` (a concurrency permit, say) until the stream is dropped.
    pub fn holding(mut self, held: impl Send + 'static) -> TurnStream {
        self.bounds.get_or_insert_default()._held = Some(Box::new(held));
        self
    }

    /// Let `price` complete every usage of the turn (its events' and its
    /// result's), given the model the upstream reported so far, if any: the
    /// gateway sets the cost this way.
    pub fn price_usage(mut self, price: impl Fn(&mut Usage, Option<&str>) + Send + 'static) -> TurnStream {
        self.bounds.get_or_insert_default().pricing = Some(Box::new(price));
        self
    }

    /// Call `on_end` once the turn is over: when its end is read, or when the
    /// stream is dropped before (a client that went away), with its usage.
    pub fn on_end(mut self, on_end: impl FnOnce(Ending) + Send + 'static) -> TurnStream {
        let bounds = self.bounds.get_or_insert_default();
        bounds.on_end = Some(Box::new(on_end));
        bounds.course = Some(Course { started: std::time::Instant::now(), first_output: None, served_by: None });
        self
    }

    /// The next event, or `None` when the turn is over.
    pub async fn next(&mut self) -> Option<Event> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    /// The next events: at least one, and all that are ready with it (a
    /// forwarder passes a batch on at once, not an event at a time), or `None`
    /// when the turn is over.
    pub async fn next_batch(&mut self) -> Option<Vec<Event>> {
        let first = self.next().await?;
        let mut batch = Vec::with_capacity(1 + self.buffer.len());
        batch.push(first);
        batch.extend(self.buffer.by_ref());
        if let Some(bounds) = self.bounds.as_mut() {
            batch.iter().skip(1).for_each(|event| bounds.saw(event));
        }
        Some(batch)
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        loop {
            if let Some(event) = self.buffer.next() {
                if let Some(bounds) = self.bounds.as_mut() {
                    bounds.saw(&event);
                }
                return Poll::Ready(Some(event));
            }
            if self.result.is_some() {
                if let Some(bounds) = self.bounds.as_mut() {
                    bounds.end(self.result.as_ref());
                }
                return Poll::Ready(None);
            }
            if let Some(error) = self.bounds.as_mut().and_then(|bounds| bounds.expired(cx)) {
                // Dropping the driver drops the instance and its upstream connection.
                self.driver = None;
                self.buffer = vec![Event::Error(error.clone())].into_iter();
                self.result = Some(Err(error));
                continue;
            }
            if let Poll::Ready(message) = self.receiver.poll_recv(cx) {
                self.accept(message);
                continue;
            }
            let Some(driver) = self.driver.as_mut() else { return Poll::Pending };
            if driver.as_mut().poll(cx).is_ready() {
                self.driver = None;
            }
            // The driver pauses after each batch it queues: look again.
            match self.receiver.poll_recv(cx) {
                Poll::Ready(message) => self.accept(message),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Take what the driver sent; called only once the buffer is read.
    fn accept(&mut self, message: Option<Message>) {
        match message {
            Some(Message::Events(mut events)) => {
                if let Some(bounds) = self.bounds.as_mut()
                    && let Some(price) = &bounds.pricing
                {
                    for event in &mut events {
                        match event {
                            Event::ResponseMetadata { model: Some(model), .. } => bounds.model = Some(model.clone()),
                            Event::Usage(usage) => price(usage, bounds.model.as_deref()),
                            _ => {}
                        }
                    }
                }
                self.buffer = events.into_iter();
            }
            Some(Message::Done(mut result)) => {
                if let (Some(bounds), Ok(result)) = (self.bounds.as_ref(), result.as_mut())
                    && let Some(price) = &bounds.pricing
                {
                    price(&mut result.usage, result.model.as_deref().or(bounds.model.as_deref()));
                }
                self.result = Some(*result);
            }
            None => {
                self.result = Some(Err(TurnError::new(ErrorKind::Other, "the turn ended without a result")));
            }
        }
    }

    /// Read the remaining events and return the turn's result.
    pub async fn into_result(mut self) -> Result<TurnResult> {
        while self.next().await.is_some() {}
        match self.result.take() {
            Some(Ok(result)) => Ok(result),
            Some(Err(error)) => Err(Error::Turn(error)),
            None => Err(Error::Turn(TurnError::new(ErrorKind::Other, "the turn ended without a result"))),
        }
    }
}

impl Drop for TurnStream {
    fn drop(&mut self) {
        if let Some(bounds) = self.bounds.as_mut() {
            bounds.end(None);
        }
    }
}

impl futures_util::Stream for TurnStream {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.get_mut().poll_event(cx)
    }
}
