//! The tool loop: the host runs the conversation between a model and its tools.
//! A step is one provider turn; when the model calls tools, the host checks each
//! call's arguments against the action's schema, runs the calls concurrently,
//! appends the assistant's message and the tool results to the conversation and
//! calls the provider again, until the model stops calling tools or the step
//! limit is reached. A tool that fails, or is called wrongly, gives the model an
//! error result; only a failing provider turn, or a model asking for more tool
//! calls than the loop allows (per step, or in all), ends the loop with an
//! error. At most [`ToolLoop::max_concurrent_calls`] tool instances run at once.
//!
//! ```no_run
//! # async fn demo(runtime: cordon::Runtime) -> cordon::Result<()> {
//! use cordon::{ProviderOptions, Request, ToolLoop, ToolOptions, Toolbox};
//!
//! let provider = runtime.load_provider("openai", ProviderOptions::default()).await?;
//! let calculator = runtime.load_tool("calculator", ToolOptions::default()).await?;
//! let agent = ToolLoop::new(provider, Toolbox::with([calculator])?).max_steps(4);
//! let mut run = agent.run(Request::user("gpt-4.1-mini", "What is 2^64 / 3?"));
//! while let Some(step_event) = run.next().await {
//!     println!("{}", serde_json::to_string(&step_event).unwrap_or_default());
//! }
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument as _;

use crate::error::{Error, Result};
use crate::provider::{self, CHANNEL_BATCHES, Provider, TurnStream};
use crate::retry::Resilient;
use crate::tool::ToolErrorKind;
use crate::toolbox::Toolbox;
use crate::types::{ContentPart, ErrorKind, Event, Message, Part, Request, Role, ToolCall, ToolResult, TurnError, TurnResult, Usage};

/// Steps (provider turns) a loop takes unless told otherwise.
pub const DEFAULT_MAX_STEPS: u32 = 8;
/// Tool calls one step may ask for unless told otherwise.
pub const DEFAULT_MAX_CALLS_PER_STEP: usize = 32;
/// Tool calls a whole loop may make unless told otherwise.
pub const DEFAULT_MAX_CALLS: usize = 128;
/// Tool calls running at once unless told otherwise.
pub const DEFAULT_MAX_CONCURRENT_CALLS: usize = 8;

/// Events buffered between the loop and its reader.
const CHANNEL_EVENTS: usize = 64;

/// A model (one provider, or a chain with retries and fallback) and the tools
/// it may call.
#[derive(Clone)]
pub struct ToolLoop {
    model: Model,
    toolbox: Arc<Toolbox>,
    max_steps: u32,
    max_calls_per_step: usize,
    max_calls: usize,
    max_concurrent_calls: usize,
    /// Calls to tools not in the toolbox end the loop (they are the caller's
    /// to run) instead of going back to the model as errors.
    pass_unknown_calls: bool,
}

/// What answers each step of a loop.
#[derive(Clone)]
pub enum Model {
    /// One provider.
    Provider(Provider),
    /// A chain of routes with retries and fallback.
    Chain(Resilient),
}

impl Model {
    fn stream(&self, request: Request) -> TurnStream {
        match self {
            Model::Provider(provider) => provider.stream(request),
            Model::Chain(chain) => chain.stream(request),
        }
    }
}

impl From<Provider> for Model {
    fn from(provider: Provider) -> Model {
        Model::Provider(provider)
    }
}

impl From<Resilient> for Model {
    fn from(chain: Resilient) -> Model {
        Model::Chain(chain)
    }
}

/// One event of a loop, tagged with its step (from 1). Serializes flat:
/// `{"step": 1, "type": "text-delta", "text": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepEvent {
    /// The step the event belongs to.
    pub step: u32,
    /// The event.
    #[serde(flatten)]
    pub event: LoopEvent,
}

/// What happens in a loop.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum LoopEvent {
    /// An event of the step's provider turn.
    Model(Event),
    /// A tool call finished, successfully or not; its result goes back to the model.
    ToolResult(ToolOutcome),
}

/// The outcome of one tool call. Serializes with `"type": "tool-result"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename = "tool-result")]
pub struct ToolOutcome {
    /// The model's call id.
    pub call_id: String,
    /// The name the model called (`{plugin}__{action}`).
    pub name: String,
    /// The output, or the error message the model is shown.
    pub output: String,
    /// Why the call failed, if it did.
    pub error: Option<ToolErrorKind>,
    /// How long the call took, in milliseconds (schema check included).
    pub duration_ms: u64,
}

/// Why a loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "reason")]
pub enum LoopStop {
    /// The model answered without calling tools.
    Done,
    /// The model was still calling tools when the step limit was reached; the
    /// last step's tool results are in the conversation, so it can be resumed.
    StepLimit {
        /// The limit.
        max_steps: u32,
    },
}

/// The whole of a finished loop.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoopResult {
    /// Each step's provider result, in order.
    pub steps: Vec<TurnResult>,
    /// The messages the loop added to the conversation: the assistant's turns
    /// and the tool results, in order.
    pub messages: Vec<Message>,
    /// Why it ended.
    pub stop: LoopStop,
    /// Token usage summed over the steps.
    pub usage: Usage,
}

impl LoopResult {
    /// The text of the last step: the model's final answer.
    pub fn text(&self) -> String {
        self.steps.last().map(TurnResult::text).unwrap_or_default()
    }
}

/// What the loop's task sends its [`LoopStream`].
enum LoopMessage {
    Event(StepEvent),
    Done(Box<Result<LoopResult>>),
}

impl ToolLoop {
    /// A loop of `model` (a [`Provider`] or a [`Resilient`] chain) with
    /// `toolbox`, at most [`DEFAULT_MAX_STEPS`] steps.
    pub fn new(model: impl Into<Model>, toolbox: Toolbox) -> ToolLoop {
        ToolLoop {
            model: model.into(),
            toolbox: Arc::new(toolbox),
            max_steps: DEFAULT_MAX_STEPS,
            max_calls_per_step: DEFAULT_MAX_CALLS_PER_STEP,
            max_calls: DEFAULT_MAX_CALLS,
            max_concurrent_calls: DEFAULT_MAX_CONCURRENT_CALLS,
            pass_unknown_calls: false,
        }
    }

    /// At most `steps` provider turns (at least 1).
    pub fn max_steps(mut self, steps: u32) -> ToolLoop {
        self.max_steps = steps.max(1);
        self
    }

    /// At most `calls` tool calls in one step (at least 1); a model asking for
    /// more ends the loop with a `limit-exceeded` error before any of them runs.
    pub fn max_calls_per_step(mut self, calls: usize) -> ToolLoop {
        self.max_calls_per_step = calls.max(1);
        self
    }

    /// At most `calls` tool calls in the whole loop (at least 1).
    pub fn max_calls(mut self, calls: usize) -> ToolLoop {
        self.max_calls = calls.max(1);
        self
    }

    /// At most `calls` tool instances running at once (at least 1); the
    /// step's other calls wait their turn.
    pub fn max_concurrent_calls(mut self, calls: usize) -> ToolLoop {
        self.max_concurrent_calls = calls.max(1);
        self
    }

    /// The tools.
    pub fn toolbox(&self) -> &Toolbox {
        &self.toolbox
    }

    /// Run the loop on `request` (its tools are kept; the toolbox's are added).
    /// Events stream as they happen; dropping the stream stops the loop.
    pub fn run(&self, request: Request) -> LoopStream {
        let (sender, receiver) = mpsc::channel(CHANNEL_EVENTS);
        let this = self.clone();
        let task = tokio::spawn(async move {
            let outcome = this.drive(request, &sender).await;
            let _ = sender.send(LoopMessage::Done(Box::new(outcome))).await;
        });
        LoopStream { receiver, task, result: None }
    }

    /// Run the loop to its end.
    pub async fn complete(&self, request: Request) -> Result<LoopResult> {
        self.run(request).into_result().await
    }

    /// The loop seen as one turn by a caller that does not see the tools (a
    /// gateway's client): the text and reasoning of every step stream as they
    /// come; the toolbox's calls, and each step's start, usage and finish, do
    /// not. Calls to tools the toolbox does not have are the caller's: they
    /// stream, and end the loop with that step's finish (`tool-calls`), so a
    /// caller's own tools work beside the host's. The turn starts once, its
    /// usage is the sum over the steps and it finishes as the last step did; a
    /// model still calling tools at the step limit ends it with a
    /// `limit-exceeded` error. Reading the stream drives the loop; dropping it
    /// stops the loop, its tools and the provider turn in flight.
    pub fn as_turn(&self, request: Request) -> TurnStream {
        let this = ToolLoop { pass_unknown_calls: true, ..self.clone() };
        let (sender, receiver) = mpsc::channel(CHANNEL_BATCHES);
        let driver = Box::pin(async move {
            let toolbox = Arc::clone(&this.toolbox);
            let (steps, mut step_events) = mpsc::channel(CHANNEL_EVENTS);
            let run = async move { this.drive(request, &steps).await };
            let mut view = OneTurn { toolbox: Arc::clone(&toolbox), started: false, described: false, failed: false, callers_calls: Vec::new() };
            let forward = async {
                while let Some(message) = step_events.recv().await {
                    let mut batch = Vec::new();
                    let mut next = Some(message);
                    while let Some(message) = next {
                        if let LoopMessage::Event(StepEvent { event: LoopEvent::Model(event), .. }) = message
                            && let Some(event) = view.pass(event)
                        {
                            batch.push(event);
                        }
                        next = step_events.try_recv().ok();
                    }
                    if !batch.is_empty() && sender.send(provider::Message::Events(batch)).await.is_err() {
                        return;
                    }
                }
            };
            let (outcome, ()) = tokio::join!(run, forward);
            let outcome = one_turn_result(outcome, &toolbox);
            let closing = match &outcome {
                Ok(result) => vec![Event::Usage(result.usage.clone()), Event::Finish(result.finish.clone())],
                Err(error) if !view.failed => vec![Event::Error(error.clone())],
                Err(_) => Vec::new(),
            };
            if !closing.is_empty() {
                let _ = sender.send(provider::Message::Events(closing)).await;
            }
            let _ = sender.send(provider::Message::Done(Box::new(outcome))).await;
        });
        TurnStream::new(driver, receiver)
    }

    async fn drive(&self, mut request: Request, sender: &mpsc::Sender<LoopMessage>) -> Result<LoopResult> {
        let send = |step: u32, event: LoopEvent| async move {
            sender.send(LoopMessage::Event(StepEvent { step, event })).await.map_err(|_| stopped())
        };
        request.tools.extend(self.toolbox.definitions());
        let mut result =
            LoopResult { steps: Vec::new(), messages: Vec::new(), stop: LoopStop::Done, usage: Usage::default() };
        let mut calls_made: usize = 0;
        for step in 1..=self.max_steps {
            let mut turn = self.model.stream(request.clone());
            while let Some(event) = turn.next().await {
                send(step, LoopEvent::Model(event)).await?;
            }
            let turn = turn.into_result().await?;
            result.usage.add(&turn.usage);
            let calls: Vec<ToolCall> = turn.tool_calls().into_iter().cloned().collect();
            let assistant = assistant_message(&turn);
            result.steps.push(turn);
            request.messages.push(assistant.clone());
            result.messages.push(assistant);
            let callers_calls = self.pass_unknown_calls && calls.iter().any(|call| self.toolbox.resolve(&call.name).is_none());
            if calls.is_empty() || callers_calls {
                return Ok(result);
            }
            calls_made = calls_made.saturating_add(calls.len());
            if calls.len() > self.max_calls_per_step || calls_made > self.max_calls {
                let why = if calls.len() > self.max_calls_per_step {
                    format!(
                        "the model asked for {} tool calls in step {step}; this loop runs at most {} in one step \
                         (ToolLoop::max_calls_per_step), so none of them ran",
                        calls.len(),
                        self.max_calls_per_step
                    )
                } else {
                    format!(
                        "the model asked for {calls_made} tool calls in {step} steps; this loop runs at most {} in all \
                         (ToolLoop::max_calls), so the calls of step {step} did not run",
                        self.max_calls
                    )
                };
                return Err(Error::Turn(TurnError::new(ErrorKind::LimitExceeded, why)));
            }

            let mut outcomes: Vec<Option<ToolOutcome>> = vec![None; calls.len()];
            let mut running = futures_util::stream::iter(calls.into_iter().enumerate())
                .map(|(index, call)| self.run_call(index, call))
                .buffer_unordered(self.max_concurrent_calls);
            while let Some((index, outcome)) = running.next().await {
                send(step, LoopEvent::ToolResult(outcome.clone())).await?;
                outcomes[index] = Some(outcome);
            }
            let tool_message = Message {
                role: Role::Tool,
                parts: outcomes
                    .into_iter()
                    .flatten()
                    .map(|outcome| {
                        Part::ToolResult(ToolResult {
                            call_id: outcome.call_id,
                            name: outcome.name,
                            is_error: outcome.error.is_some(),
                            output: outcome.output,
                        })
                    })
                    .collect(),
            };
            request.messages.push(tool_message.clone());
            result.messages.push(tool_message);
        }
        result.stop = LoopStop::StepLimit { max_steps: self.max_steps };
        Ok(result)
    }

    /// Run one call; a failure becomes an error outcome.
    async fn run_call(&self, index: usize, call: ToolCall) -> (usize, ToolOutcome) {
        let started = Instant::now();
        let span = tracing::debug_span!("tool_call", tool = %call.name);
        let (output, error) = match self.toolbox.call(&call.name, &call.arguments).instrument(span).await {
            Ok(output) => (output, None),
            Err(error) => {
                tracing::debug!(tool = %call.name, kind = ?error.kind, "tool call failed: {}", error.message);
                (format!("Error ({}): {}", kind_name(error.kind), error.message), Some(error.kind))
            }
        };
        let outcome = ToolOutcome {
            call_id: call.id,
            name: call.name,
            output,
            error,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        (index, outcome)
    }
}

/// The events of a running loop, then its result. Dropping it stops the loop.
pub struct LoopStream {
    receiver: mpsc::Receiver<LoopMessage>,
    task: JoinHandle<()>,
    result: Option<Result<LoopResult>>,
}

impl LoopStream {
    /// The next event, or `None` when the loop is over.
    pub async fn next(&mut self) -> Option<StepEvent> {
        if self.result.is_some() {
            return None;
        }
        match self.receiver.recv().await {
            Some(LoopMessage::Event(event)) => Some(event),
            Some(LoopMessage::Done(result)) => {
                self.result = Some(*result);
                None
            }
            None => {
                self.result = Some(Err(Error::Turn(TurnError::new(ErrorKind::Other, "the tool loop ended without a result"))));
                None
            }
        }
    }

    /// Read the remaining events and return the loop's result.
    pub async fn into_result(mut self) -> Result<LoopResult> {
        while self.next().await.is_some() {}
        self.result
            .take()
            .unwrap_or_else(|| Err(Error::Turn(TurnError::new(ErrorKind::Other, "the tool loop ended without a result"))))
    }
}

impl Drop for LoopStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn stopped() -> Error {
    Error::Turn(TurnError::new(ErrorKind::Other, "the caller stopped reading the tool loop"))
}

/// What a caller of [`ToolLoop::as_turn`] sees of the steps' events.
struct OneTurn {
    toolbox: Arc<Toolbox>,
    /// The first step's start went out.
    started: bool,
    /// The first step's response metadata went out.
    described: bool,
    /// An error went out.
    failed: bool,
    /// Ids of the calls that are the caller's (not the toolbox's).
    callers_calls: Vec<String>,
}

impl OneTurn {
    /// The event as the caller sees it, if at all.
    fn pass(&mut self, event: Event) -> Option<Event> {
        match &event {
            Event::StreamStart { .. } => {
                let first = !self.started;
                self.started = true;
                first.then_some(event)
            }
            Event::ResponseMetadata { .. } => {
                let first = !self.described;
                self.described = true;
                first.then_some(event)
            }
            Event::TextDelta { .. } | Event::ReasoningDelta { .. } | Event::Raw { .. } => Some(event),
            Event::ToolCallStart { id, name } => {
                if self.toolbox.resolve(name).is_some() {
                    return None;
                }
                self.callers_calls.push(id.clone());
                Some(event)
            }
            Event::ToolCallDelta { id, .. } => self.callers_calls.contains(id).then_some(event),
            Event::ToolCall(call) => self.toolbox.resolve(&call.name).is_none().then_some(event),
            Event::Usage(_) | Event::Finish(_) => None,
            Event::Error(_) => {
                self.failed = true;
                Some(event)
            }
        }
    }
}

/// A loop's result as one turn: every step's text and reasoning and the
/// caller's tool calls, the usage summed, the last step's finish.
fn one_turn_result(outcome: Result<LoopResult>, toolbox: &Toolbox) -> std::result::Result<TurnResult, TurnError> {
    let result = match outcome {
        Ok(result) => result,
        Err(Error::Turn(error)) => return Err(error),
        Err(other) => return Err(TurnError::new(ErrorKind::Other, other.to_string())),
    };
    if let LoopStop::StepLimit { max_steps } = result.stop {
        return Err(TurnError::new(
            ErrorKind::LimitExceeded,
            format!("the model was still calling tools after {max_steps} steps, the most this model's tool loop takes"),
        ));
    }
    let warnings = result.steps.first().map(|step| step.warnings.clone()).unwrap_or_default();
    let mut steps = result.steps.into_iter();
    let Some(mut last) = steps.next_back() else {
        return Err(TurnError::new(ErrorKind::Other, "the tool loop ended without a step"));
    };
    let callers = |part: &ContentPart| !matches!(part, ContentPart::ToolCall(call) if toolbox.resolve(&call.name).is_some());
    let mut content: Vec<ContentPart> = steps.flat_map(|step| step.content).filter(callers).collect();
    content.extend(std::mem::take(&mut last.content).into_iter().filter(callers));
    Ok(TurnResult { content, usage: result.usage, warnings, ..last })
}

/// The assistant's turn as a message: its text, reasoning and tool calls.
fn assistant_message(turn: &TurnResult) -> Message {
    let parts = turn
        .content
        .iter()
        .map(|part| match part {
            ContentPart::Text { text } => Part::Text { text: text.clone() },
            ContentPart::Reasoning(reasoning) => Part::Reasoning(reasoning.clone()),
            ContentPart::ToolCall(call) => Part::ToolCall(call.clone()),
        })
        .collect();
    Message { role: Role::Assistant, parts }
}

fn kind_name(kind: ToolErrorKind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| format!("{kind:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_events_serialize_flat() {
        let model = StepEvent { step: 2, event: LoopEvent::Model(Event::TextDelta { text: "hi".into() }) };
        assert_eq!(serde_json::to_value(&model).ok(), Some(serde_json::json!({"step": 2, "type": "text-delta", "text": "hi"})));
        let tool = StepEvent {
            step: 1,
            event: LoopEvent::ToolResult(ToolOutcome {
                call_id: "c1".into(),
                name: "calculator__evaluate".into(),
                output: "Error (invalid-arguments): nope".into(),
                error: Some(ToolErrorKind::InvalidArguments),
                duration_ms: 3,
            }),
        };
        let json = serde_json::to_value(&tool).unwrap_or_default();
        assert_eq!(json["type"], "tool-result");
        assert_eq!(json["step"], 1);
        assert_eq!(json["error"], "invalid-arguments");
    }

    #[test]
    fn usage_adds_up_where_known() {
        let mut total = Usage::default();
        total.add(&Usage { input_tokens: Some(10), output_tokens: Some(2), ..Usage::default() });
        total.add(&Usage { input_tokens: Some(15), reasoning_tokens: Some(1), ..Usage::default() });
        assert_eq!((total.input_tokens, total.output_tokens, total.reasoning_tokens), (Some(25), Some(2), Some(1)));
        assert_eq!(total.cache_read_tokens, None);
        total.add(&Usage { input_tokens: Some(u64::MAX), ..Usage::default() });
        assert_eq!(total.input_tokens, Some(u64::MAX), "guest numbers saturate, never overflow");
    }
}
