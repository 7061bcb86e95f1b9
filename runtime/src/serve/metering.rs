//! What a turn is counted and charged: before it runs, its admission in the
//! [`Ledger`] (its key's and its model's rate limits, and a reservation of its
//! worst-case cost on its key's budget); while it runs, the cost set on every
//! usage it reports (from the [`Prices`] table); when it ends, however it
//! ends, its tokens and cost settled in the ledger once and logged.
//!
//! The worst case reserved is the request's body size in input tokens (no
//! tokenizer makes more tokens than bytes), 2,000 more per image or file,
//! and `max_tokens` (4,096 when the request sets none) in output tokens, at
//! the dearest price among the model's routes. A turn whose usage never came
//! (its client went away first, or the upstream failed) is charged an
//! estimate: a token per 4 bytes of its request and of the output streamed.

use std::sync::{Arc, Mutex, PoisonError};

use futures_util::FutureExt as _;

use crate::provider::{Ending, TurnStream};
use crate::serve::config::ModelConfig;
use crate::serve::keys::ClientKey;
use crate::serve::ledger::{Admitted, BudgetClaim, Claim, Ledger, Refused, Scope, Used};
use crate::serve::metrics::{Metrics, kind_name};
use crate::serve::prices::{Price, Prices, usd};
use crate::types::{ErrorKind, Part, Request, TurnError, Usage};

/// Input tokens reserved per image or file, beyond the request's bytes.
const TOKENS_PER_FILE: u64 = 2_000;
/// Output tokens reserved for a request that sets no `max_tokens`.
const DEFAULT_OUTPUT_RESERVE: u64 = 4_096;
/// Bytes per token when a turn's usage must be estimated.
const BYTES_PER_TOKEN: u64 = 4;

/// The gateway's meter: its ledger, metrics and price table.
pub struct Meter {
    ledger: Arc<dyn Ledger>,
    metrics: Arc<Metrics>,
    prices: Arc<Prices>,
}

/// One admitted turn's metering, to [`attach`](TurnMeter::attach) to its stream.
pub struct TurnMeter {
    ledger: Arc<dyn Ledger>,
    metrics: Arc<Metrics>,
    prices: Arc<Prices>,
    admitted: Option<Admitted>,
    key: Option<String>,
    model: String,
    /// The upstream model of the route serving the turn (kept current by the
    /// turn's chain): its price applies when the upstream reports a model
    /// the price table does not know.
    route_model: Arc<Mutex<String>>,
    /// The request's size in bytes, for an estimate.
    request_bytes: u64,
    /// The span it was admitted in (a request's), for its log line.
    span: tracing::Span,
}

impl Meter {
    /// A meter over `ledger` and `metrics` (both kept across reloads) with `prices`.
    pub fn new(ledger: Arc<dyn Ledger>, metrics: Arc<Metrics>, prices: Prices) -> Meter {
        Meter { ledger, metrics, prices: Arc::new(prices) }
    }

    /// The ledger, to carry over to a reloaded gateway.
    pub fn ledger(&self) -> &Arc<dyn Ledger> {
        &self.ledger
    }

    /// The metrics, to carry over to a reloaded gateway.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Admit a turn of the public model `name` for `caller`, its request
    /// `request_bytes` long, or refuse it: over a rate limit (`rate-limited`,
    /// with when to retry) or over its key's budget (`quota`, no retry).
    pub async fn admit(
        &self,
        caller: Option<&ClientKey>,
        name: &str,
        model: &ModelConfig,
        request: &Request,
        request_bytes: usize,
    ) -> Result<TurnMeter, TurnError> {
        let mut claim = Claim::default();
        if let Some(key) = caller.filter(|key| key.limits.any()) {
            claim.scopes.push((Scope::Key(key.name.clone()), key.limits));
        }
        if model.limits.any() {
            claim.scopes.push((Scope::Model(name.to_owned()), model.limits));
        }
        let request_bytes = u64::try_from(request_bytes).unwrap_or(u64::MAX);
        if let Some(key) = caller
            && let Some(budget) = key.budget
        {
            let reserve_micro_usd = self.worst_case(model, request, request_bytes);
            claim.budget = Some(BudgetClaim { key: key.name.clone(), budget, reserve_micro_usd });
        }
        let admitted = if claim.scopes.is_empty() && claim.budget.is_none() {
            None
        } else {
            match self.ledger.admit(claim).await {
                Ok(admitted) => Some(admitted),
                Err(refused) => {
                    self.metrics.refused(match &refused {
                        Refused::Limit(over) => over.limit.setting(),
                        Refused::Budget(_) => "budget",
                    });
                    return Err(refusal(refused));
                }
            }
        };
        self.metrics.turn_started(name);
        Ok(TurnMeter {
            ledger: Arc::clone(&self.ledger),
            metrics: Arc::clone(&self.metrics),
            prices: Arc::clone(&self.prices),
            admitted,
            key: caller.map(|key| key.name.clone()),
            model: name.to_owned(),
            route_model: Arc::new(Mutex::new(model.routes.first().map(|(_, route)| route.clone()).unwrap_or_default())),
            request_bytes,
            span: tracing::Span::current(),
        })
    }

    /// The most a turn of `request` can cost on any of `model`'s routes, in
    /// millionths of a US dollar.
    fn worst_case(&self, model: &ModelConfig, request: &Request, request_bytes: u64) -> u64 {
        let files = request.messages.iter().flat_map(|message| &message.parts).filter(|part| matches!(part, Part::File(_))).count();
        let input = request_bytes.saturating_add(TOKENS_PER_FILE.saturating_mul(u64::try_from(files).unwrap_or(u64::MAX)));
        let output = request.sampling.max_output_tokens.map_or(DEFAULT_OUTPUT_RESERVE, u64::from);
        model
            .routes
            .iter()
            .filter_map(|(_, route)| self.prices.of(route))
            // Tokens times dollars per million tokens is millionths of a dollar; `as` saturates.
            .map(|price| (input as f64 * price.input_ceiling() + output as f64 * price.output_ceiling()).ceil() as u64)
            .max()
            .unwrap_or(0)
    }
}

/// The error a refused turn ends with.
fn refusal(refused: Refused) -> TurnError {
    match refused {
        Refused::Limit(over) => {
            let mut error = TurnError::new(ErrorKind::RateLimited, over.message());
            error.retryable = true;
            error.retry_after_ms = Some(u64::try_from(over.retry_after.as_millis()).unwrap_or(u64::MAX).max(1));
            error
        }
        // Not retryable: the answer says `x-should-retry: false`.
        Refused::Budget(over) => TurnError::new(ErrorKind::Quota, over.message()),
    }
}

impl TurnMeter {
    /// What the turn's chain keeps set to the route it is trying
    /// ([`crate::retry::Resilient::reporting_route`]).
    pub fn route_report(&self) -> Arc<Mutex<String>> {
        Arc::clone(&self.route_model)
    }

    /// `turn`, its usage priced as it is reported, settled and logged when it ends.
    pub fn attach(self, turn: TurnStream) -> TurnStream {
        let prices = Arc::clone(&self.prices);
        let route_model = Arc::clone(&self.route_model);
        let turn = turn.price_usage(move |usage, reported| {
            usage.cost_micro_usd = price_of(&prices, reported, &route_model).map(|price| price.cost_micro_usd(usage));
        });
        turn.on_end(move |ending| self.end(ending))
    }

    fn end(self, ending: Ending) {
        let usage = self.charged_usage(&ending);
        let used = Used {
            tokens: usage.input_tokens.unwrap_or(0).saturating_add(usage.output_tokens.unwrap_or(0)),
            micro_usd: usage.cost_micro_usd.unwrap_or(0),
        };
        let key = self.key.as_deref().unwrap_or("-");
        let (input, output) = (usage.input_tokens.unwrap_or(0), usage.output_tokens.unwrap_or(0));
        let cost_usd = usage.cost_micro_usd.map(usd);
        self.metrics.turn_ended(&self.model, key, &ending, input, output, cost_usd);
        // The request's log line, in its span (which names the key) wherever
        // the stream ends (a body is polled outside it).
        let _request = self.span.enter();
        tracing::info!(
            model = %self.model,
            served_by = %ending.served_by.as_deref().unwrap_or("-"),
            input_tokens = input,
            output_tokens = output,
            cost_usd,
            // Said only when so.
            estimated = (ending.usage.output_tokens.is_none() && usage.output_tokens.is_some()).then_some(true),
            abandoned = ending.abandoned.then_some(true),
            error = ending.error.map(kind_name),
            first_output_us = ending.first_output_after.map(|after| u64::try_from(after.as_micros()).unwrap_or(u64::MAX)),
            duration_us = u64::try_from(ending.duration.as_micros()).unwrap_or(u64::MAX),
            "turn ended"
        );
        let Some(admitted) = self.admitted else { return };
        let ledger = self.ledger;
        // Settled at once when the ledger can (in memory: before the client
        // reads the answer's end), else in a task of its own.
        let mut settle = Box::pin(async move { ledger.settle(admitted, used).await });
        if (&mut settle).now_or_never().is_none()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(settle);
        }
    }

    /// The usage a turn is charged: what it reported, or, when no output
    /// count came, an estimate from the request's size and the output streamed.
    fn charged_usage(&self, ending: &Ending) -> Usage {
        if ending.usage.output_tokens.is_some() || ending.output_bytes == 0 {
            return ending.usage.clone();
        }
        let mut usage = Usage {
            input_tokens: Some(ending.usage.input_tokens.unwrap_or(self.request_bytes.div_ceil(BYTES_PER_TOKEN))),
            output_tokens: Some(ending.output_bytes.div_ceil(BYTES_PER_TOKEN)),
            ..Usage::default()
        };
        usage.cost_micro_usd = price_of(&self.prices, ending.model.as_deref(), &self.route_model).map(|price| price.cost_micro_usd(&usage));
        usage
    }
}

/// The price of a turn's tokens: the model the upstream reported, if the
/// table knows it, else the model of the route that served the turn.
fn price_of(prices: &Prices, reported: Option<&str>, route_model: &Mutex<String>) -> Option<Price> {
    reported.and_then(|model| prices.of(model)).copied().or_else(|| {
        let route = route_model.lock().unwrap_or_else(PoisonError::into_inner);
        prices.of(&route).copied()
    })
}
