//! What the host counts about itself, for an exporter to publish (the
//! gateway's `GET /metrics`): how long instantiating a component takes, and
//! how hot-swaps end. Kept whether or not anyone exports it: each update is
//! an atomic add.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

/// A swap's provider and how it ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SwapLabels {
    /// The provider's name.
    pub provider: String,
    /// `swapped`, `failed` or `rolled-back`.
    pub outcome: &'static str,
}

/// The host's own counts; clones share them.
#[derive(Clone, Debug)]
pub struct Telemetry {
    /// Seconds to instantiate a component (a turn's, a tool call's, or a spare made ahead).
    pub instantiation: Histogram,
    /// Hot-swaps by provider and outcome.
    pub swaps: Family<SwapLabels, Counter>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            // 1 µs to about 1 s, doubling: a pooled Rust component takes microseconds, a Python one milliseconds.
            instantiation: Histogram::new(exponential_buckets(1e-6, 2.0, 21)),
            swaps: Family::default(),
        }
    }
}

impl Telemetry {
    /// An instantiation took `took`.
    pub fn instantiated(&self, took: Duration) {
        self.instantiation.observe(took.as_secs_f64());
    }

    /// A swap of `provider` ended with `outcome` (`swapped`, `failed`, `rolled-back`).
    pub fn swapped(&self, provider: &str, outcome: &'static str) {
        self.swaps.get_or_create(&SwapLabels { provider: provider.to_owned(), outcome }).inc();
    }
}
