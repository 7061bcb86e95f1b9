//! The gateway's Prometheus metrics (`GET /metrics`, OpenMetrics text, through
//! the `prometheus-client` crate): requests by route and status; turns by
//! model, provider, component version and outcome; tokens in and out and cost
//! by model and key; time to first output and turn duration as histograms;
//! errors by kind; streams running; rate-limit and budget refusals; the
//! host's instantiation times and hot-swaps by outcome.
//!
//! Labels carry only names the config defines (models, providers, keys) or
//! closed sets (routes, statuses, kinds), never what a client sends, so a
//! client cannot grow the series without bound. The metrics outlive reloads.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use crate::provider::Ending;
use crate::telemetry::Telemetry;
use crate::types::ErrorKind;

/// An error kind's name as the contract spells it (`rate-limited`).
pub fn kind_name(kind: ErrorKind) -> String {
    serde_json::to_value(kind).ok().and_then(|name| name.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TurnLabels {
    model: String,
    provider: String,
    version: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UsageLabels {
    model: String,
    key: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    model: String,
    key: String,
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    model: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    reason: &'static str,
}

type Buckets = fn() -> Histogram;

/// The gateway's metrics, shared by every request and kept across reloads.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    turns: Family<TurnLabels, Counter>,
    tokens: Family<TokenLabels, Counter>,
    cost: Family<UsageLabels, Counter<f64, AtomicU64>>,
    first_output: Family<ModelLabels, Histogram, Buckets>,
    duration: Family<ModelLabels, Histogram, Buckets>,
    errors: Family<ErrorLabels, Counter>,
    streams: Family<ModelLabels, Gauge>,
    refusals: Family<RefusalLabels, Counter>,
}

/// 1 ms to about 33 s, doubling.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// 10 ms to about 11 minutes, doubling.
fn duration_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 17))
}

impl Metrics {
    /// Every metric, registered and at zero, with the host's own `telemetry`
    /// (instantiation times, swaps).
    pub fn new(telemetry: &Telemetry) -> Metrics {
        let mut registry = Registry::with_prefix("cordon");
        registry.register("instantiation_seconds", "Time to instantiate a component (for a turn, a tool call, or a spare made ahead)", telemetry.instantiation.clone());
        registry.register("swaps", "Hot-swaps of a provider, by provider and outcome (swapped, failed, rolled-back)", telemetry.swaps.clone());
        // Always one series, so a scrape before the first request is not empty.
        registry.register("build", "The cordon that serves", Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]));
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("requests", "Requests answered, by route and HTTP status", requests.clone());
        let turns = Family::<TurnLabels, Counter>::default();
        registry.register("turns", "Turns ended, by public model, provider, component version and outcome", turns.clone());
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register("tokens", "Tokens used, by public model, key and direction (input, output)", tokens.clone());
        let cost = Family::<UsageLabels, Counter<f64, AtomicU64>>::default();
        registry.register("cost_usd", "Cost in US dollars from the price table, by public model and key", cost.clone());
        let first_output = Family::<ModelLabels, Histogram, Buckets>::new_with_constructor(latency_buckets as Buckets);
        registry.register("time_to_first_output_seconds", "From a turn's admission to its first output", first_output.clone());
        let duration = Family::<ModelLabels, Histogram, Buckets>::new_with_constructor(duration_buckets as Buckets);
        registry.register("turn_duration_seconds", "From a turn's admission to its end", duration.clone());
        let errors = Family::<ErrorLabels, Counter>::default();
        registry.register("turn_errors", "Turns that ended with an error, by public model and error kind", errors.clone());
        let streams = Family::<ModelLabels, Gauge>::default();
        registry.register("active_turns", "Turns running, by public model", streams.clone());
        let refusals = Family::<RefusalLabels, Counter>::default();
        registry.register("refusals", "Requests refused by a rate limit or a budget, by reason", refusals.clone());
        Metrics { registry, requests, turns, tokens, cost, first_output, duration, errors, streams, refusals }
    }

    /// A request answered on `route` (one of the gateway's own paths) with `status`.
    pub fn request(&self, route: &'static str, status: u16) {
        self.requests.get_or_create(&RequestLabels { route, status }).inc();
    }

    /// A turn of `model` admitted.
    pub fn turn_started(&self, model: &str) {
        self.streams.get_or_create(&ModelLabels { model: model.to_owned() }).inc();
    }

    /// A request refused: `reason` is the limit's setting, or `budget`.
    pub fn refused(&self, reason: &'static str) {
        self.refusals.get_or_create(&RefusalLabels { reason }).inc();
    }

    /// A turn of `model` for `key` (`-` without keys) ended, with `input` and
    /// `output` tokens charged at `cost_usd`.
    pub fn turn_ended(&self, model: &str, key: &str, ending: &Ending, input: u64, output: u64, cost_usd: Option<f64>) {
        let model_labels = ModelLabels { model: model.to_owned() };
        self.streams.get_or_create(&model_labels).dec();
        let (provider, version) = ending
            .served_by
            .as_deref()
            .and_then(|served| served.split_once('@'))
            .map_or(("-".to_owned(), "-".to_owned()), |(provider, version)| (provider.to_owned(), version.to_owned()));
        let outcome = match (&ending.error, ending.abandoned) {
            (Some(_), _) => "error",
            (None, true) => "abandoned",
            (None, false) => "ok",
        };
        self.turns.get_or_create(&TurnLabels { model: model.to_owned(), provider, version, outcome }).inc();
        for (direction, count) in [("input", input), ("output", output)] {
            self.tokens.get_or_create(&TokenLabels { model: model.to_owned(), key: key.to_owned(), direction }).inc_by(count);
        }
        if let Some(cost) = cost_usd {
            self.cost.get_or_create(&UsageLabels { model: model.to_owned(), key: key.to_owned() }).inc_by(cost);
        }
        if let Some(first) = ending.first_output_after {
            self.first_output.get_or_create(&model_labels).observe(first.as_secs_f64());
        }
        self.duration.get_or_create(&model_labels).observe(ending.duration.as_secs_f64());
        if let Some(kind) = ending.error {
            self.errors.get_or_create(&ErrorLabels { model: model.to_owned(), kind: kind_name(kind) }).inc();
        }
    }

    /// The OpenMetrics text of every metric.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
