//! Retries and fallback, decided by the host (providers only classify errors).
//!
//! A [`Resilient`] turn tries a chain of routes (`provider` + `model`) in order.
//! On each route, a retryable error is retried with exponential backoff and
//! jitter, honouring the error's `retry-after` (capped), up to a number of
//! attempts; a route that keeps failing, or fails with an error that is not
//! retryable, hands over to the next route. None of this happens once output
//! (text, reasoning, a tool call) has reached the caller: from then on, an error
//! is the caller's. Until the first output, the attempt's other events
//! (`stream-start`, metadata, usage, a guest's `error`) are held back, so the
//! caller sees exactly one attempt: the one that served the turn, named by
//! `served_by` in its `stream-start` and in the result.

use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::Instrument as _;

use crate::error::{Error, Result};
use crate::provider::{CHANNEL_BATCHES, Message, Provider, TurnStream};
use crate::registry::Registry;
use crate::types::{ErrorKind, Event, Request, TurnError, TurnResult};

/// How often and how patiently to retry one route.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per route, the first included (1 = no retry).
    pub attempts: u32,
    /// The wait before the first retry; it doubles with each further retry.
    pub base_delay: Duration,
    /// The longest computed wait.
    pub max_delay: Duration,
    /// The longest wait a `retry-after` may ask for; past it, the route is given up.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 for the first), or `None` when the
    /// upstream asks for a longer wait than this policy accepts.
    pub fn delay(&self, retry: u32, retry_after_ms: Option<u64>) -> Option<Duration> {
        if let Some(ms) = retry_after_ms {
            let asked = Duration::from_millis(ms);
            return (asked <= self.max_retry_after).then_some(asked);
        }
        let exponential = self.base_delay.saturating_mul(1 << retry.saturating_sub(1).min(16));
        let capped = exponential.min(self.max_delay);
        // Full jitter over the upper half: spreads clients that failed together.
        let fraction = 0.5 + (RandomState::new().hash_one(retry) % 1000) as f64 / 2000.0;
        Some(capped.mul_f64(fraction))
    }
}

/// One step of a fallback chain: a provider and the model to ask it for.
#[derive(Clone)]
pub struct Route {
    /// The provider.
    pub provider: Provider,
    /// The model (empty: the provider's default).
    pub model: String,
}

/// Turns with retries and fallback over a chain of routes.
#[derive(Clone)]
pub struct Resilient {
    routes: Vec<Route>,
    policy: RetryPolicy,
    /// Told the upstream model of each attempt as it starts (see [`Resilient::reporting_route`]).
    route_report: Option<Arc<Mutex<String>>>,
}

impl Resilient {
    /// A chain of `routes`, tried in order, each retried as `policy` says.
    pub fn new(routes: Vec<Route>, policy: RetryPolicy) -> Result<Resilient> {
        if routes.is_empty() {
            return Err(Error::Config("a fallback chain needs at least one route".into()));
        }
        Ok(Resilient { routes, policy, route_report: None })
    }

    /// Keep `report` set to the model of the route being tried: what a
    /// caller sees of a turn comes from one attempt, the one still running
    /// when it sees it, so `report` names the route that served what it sees
    /// (a gateway prices a turn's usage by it).
    pub fn reporting_route(mut self, report: Arc<Mutex<String>>) -> Resilient {
        self.route_report = Some(report);
        self
    }

    /// A chain from `provider:model` references (`anthropic:claude-sonnet-4-5`;
    /// `openai` alone keeps the provider's default model), in order, each naming
    /// a provider loaded in `registry`.
    pub fn from_refs(registry: &Registry, refs: &[&str], policy: RetryPolicy) -> Result<Resilient> {
        let routes = refs
            .iter()
            .map(|reference| {
                let (name, model) = reference.split_once(':').unwrap_or((reference, ""));
                let provider = registry.get(name).map_err(|_| {
                    Error::Config(format!("fallback `{reference}`: no provider named `{name}` is loaded"))
                })?;
                Ok(Route { provider, model: model.to_owned() })
            })
            .collect::<Result<Vec<_>>>()?;
        Resilient::new(routes, policy)
    }

    /// Start a turn; events arrive as the serving attempt streams them.
    pub fn stream(&self, request: Request) -> TurnStream {
        let (sender, receiver) = mpsc::channel(CHANNEL_BATCHES);
        let chain = self.clone();
        // A child of the caller's span (a gateway's request), wherever the
        // stream is polled. It and the attempts' spans are `debug`: at `info`
        // a turn logs one line, and each line names what it is about itself.
        let span = tracing::debug_span!("turn", model = %request.model, routes = self.routes.len());
        let driver = Box::pin(
            async move {
                let outcome = chain.run(request, &sender).await;
                let _ = sender.send(Message::Done(Box::new(outcome))).await;
            }
            .instrument(span),
        );
        TurnStream::new(driver, receiver)
    }

    /// Run a turn to its end and return the assembled result.
    pub async fn complete(&self, request: Request) -> Result<TurnResult> {
        self.stream(request).into_result().await
    }

    async fn run(&self, request: Request, sender: &mpsc::Sender<Message>) -> Result<TurnResult, TurnError> {
        let mut last_error = None;
        for (position, route) in self.routes.iter().enumerate() {
            let mut request = request.clone();
            if !route.model.is_empty() {
                request.model.clone_from(&route.model);
            }
            for attempt in 1..=self.policy.attempts.max(1) {
                if let Some(report) = &self.route_report {
                    report.lock().unwrap_or_else(PoisonError::into_inner).clone_from(&route.model);
                }
                let (provider, version) = route.provider.served_by().split_once('@').unwrap_or((route.provider.served_by(), ""));
                let span = tracing::debug_span!(
                    "attempt",
                    provider,
                    version,
                    model = %request.model,
                    attempt,
                    fallback = position > 0
                );
                match attempt_turn(&route.provider, request.clone(), sender).instrument(span.clone()).await {
                    Attempt::Served(result) => return *result,
                    Attempt::FailedBeforeOutput(error) => {
                        span.in_scope(|| {
                            tracing::info!(
                                served_by = route.provider.served_by(),
                                model = %request.model,
                                attempt,
                                fallback = position > 0,
                                "attempt failed before any output: {error}"
                            );
                        });
                        let retry = error.retryable && attempt < self.policy.attempts;
                        let wait = retry.then(|| self.policy.delay(attempt, error.retry_after_ms)).flatten();
                        let give_up_route = !error.retryable;
                        last_error = Some(error);
                        match wait {
                            Some(wait) if !give_up_route => tokio::time::sleep(wait).await,
                            _ => break,
                        }
                    }
                }
            }
            if position + 1 < self.routes.len() {
                tracing::info!(from = route.provider.served_by(), "falling back to the next route");
            }
        }
        let error = last_error.unwrap_or_else(|| TurnError::new(ErrorKind::Other, "no route served the turn"));
        // The caller has seen nothing of the failed attempts: report the last failure.
        let _ = sender.send(Message::Events(vec![Event::Error(error.clone())])).await;
        Err(error)
    }
}

enum Attempt {
    /// The attempt reached the caller (success, or a failure after output).
    Served(Box<Result<TurnResult, TurnError>>),
    /// It failed before any output; nothing of it reached the caller.
    FailedBeforeOutput(TurnError),
}

/// One attempt: hold back events until the first output, then pass everything on.
async fn attempt_turn(provider: &Provider, request: Request, sender: &mpsc::Sender<Message>) -> Attempt {
    let mut turn = provider.stream(request);
    let mut held: Vec<Event> = Vec::new();
    let mut committed = false;
    // Batches pass on whole: one hand-over per batch the guest produced.
    while let Some(batch) = turn.next_batch().await {
        let batch = if committed {
            batch
        } else {
            let mut events = batch.into_iter();
            for event in events.by_ref() {
                if event.is_output() {
                    committed = true;
                    held.push(event);
                    break;
                } else if !matches!(event, Event::Error(_)) {
                    held.push(event);
                }
            }
            if !committed {
                continue;
            }
            held.extend(events);
            std::mem::take(&mut held)
        };
        if sender.send(Message::Events(batch)).await.is_err() {
            return Attempt::Served(Box::new(Err(TurnError::new(ErrorKind::Other, "the caller stopped reading the turn"))));
        }
        // Let the reader take this batch now: the provider's next one is
        // usually ready at once, and the first output must not wait for the
        // queue to fill.
        tokio::task::yield_now().await;
    }
    match turn.into_result().await {
        Ok(result) => {
            if !held.is_empty() {
                let _ = sender.send(Message::Events(held)).await;
            }
            Attempt::Served(Box::new(Ok(result)))
        }
        Err(Error::Turn(error)) if !committed => Attempt::FailedBeforeOutput(error),
        // After output, the turn's own `error` event has already been passed on.
        Err(Error::Turn(error)) => Attempt::Served(Box::new(Err(error))),
        Err(other) => Attempt::Served(Box::new(Err(TurnError::new(ErrorKind::Other, other.to_string())))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_are_capped_and_honour_retry_after() {
        let policy = RetryPolicy::default();
        for retry in 1..10 {
            let wait = policy.delay(retry, None).expect("a wait");
            let full = policy.base_delay.saturating_mul(1 << (retry - 1)).min(policy.max_delay);
            assert!(wait >= full / 2 && wait <= full, "retry {retry}: {wait:?} within [{:?}, {full:?}]", full / 2);
        }
        assert_eq!(policy.delay(1, Some(1500)), Some(Duration::from_millis(1500)));
        assert_eq!(policy.delay(1, Some(120_000)), None, "longer than the cap: give up the route");
    }
}
