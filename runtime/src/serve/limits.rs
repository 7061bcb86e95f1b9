//! The gateway's own limits (the `[limits]` table of its config): how large a
//! request may be, how many turns run at once, how long a client may take to
//! send a request, and how long a turn may take to its first output and in
//! all. Each has a default fit for a gateway in front of remote models; the
//! sandbox's limits (memory, CPU, sizes per turn) are the providers' own, set
//! per provider.
//!
//! The host's pool of instances is sized from `concurrent-turns` (see
//! [`ServeLimits::pool_instances`]), so that every admitted turn finds an
//! instance: raising the limit raises the pool, at a restart.
//!
//! A turn over the concurrency limit is refused at once (429 with
//! `retry-after: 1`, which the official clients wait out and retry), never
//! queued without bound; a turn that passes a
//! deadline ends with a `timeout` error that names the setting, and its guest
//! instance and upstream connection are closed.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::provider::TurnStream;
use crate::types::{ErrorKind, TurnError};

/// The largest request body by default, in MiB (a conversation with inline images).
pub const DEFAULT_BODY_MIB: u64 = 32;
/// Turns running at once by default: what the host's instance pool held
/// before it was sized from this limit.
pub const DEFAULT_CONCURRENT_TURNS: usize = 256;
/// Instances the pool holds beyond the turns and the spares: model listings,
/// health checks and tool calls, which draw from the same pool.
const POOL_HEADROOM: usize = 16;
/// Seconds a client may take to send a request's head and body by default.
pub const DEFAULT_REQUEST_SECONDS: u64 = 30;
/// Seconds to a turn's first output by default (a reasoning model may think long).
pub const DEFAULT_FIRST_OUTPUT_SECONDS: u64 = 120;
/// Seconds a turn may take in all by default.
pub const DEFAULT_TURN_SECONDS: u64 = 600;

/// The gateway's limits, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeLimits {
    /// The largest request body, in bytes.
    pub body_bytes: usize,
    /// Turns running at once.
    pub concurrent_turns: usize,
    /// How long a client may take to send a request's head (and, on a kept-alive
    /// connection, to start the next one), and then its body.
    pub request: Duration,
    /// How long a turn may take to its first output.
    pub first_output: Duration,
    /// How long a turn may take in all.
    pub turn: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            body_bytes: mib(DEFAULT_BODY_MIB),
            concurrent_turns: DEFAULT_CONCURRENT_TURNS,
            request: Duration::from_secs(DEFAULT_REQUEST_SECONDS),
            first_output: Duration::from_secs(DEFAULT_FIRST_OUTPUT_SECONDS),
            turn: Duration::from_secs(DEFAULT_TURN_SECONDS),
        }
    }
}

impl ServeLimits {
    /// Live instances the host's pool must hold for a gateway of
    /// `components` providers and tools: one per admitted turn, two spares
    /// per component (its own, and its next version's during a swap), and
    /// some headroom. Each pooled instance reserves address space (about
    /// 8 GiB, for two linear memories), not memory.
    pub fn pool_instances(&self, components: usize) -> u32 {
        let instances = self.concurrent_turns.saturating_add(components.saturating_mul(2)).saturating_add(POOL_HEADROOM);
        u32::try_from(instances).unwrap_or(u32::MAX)
    }
}

/// `n` MiB in bytes, saturating.
pub fn mib(n: u64) -> usize {
    usize::try_from(n.saturating_mul(1 << 20)).unwrap_or(usize::MAX)
}

/// Admission of turns under one configuration's limits.
pub struct Admission {
    limits: ServeLimits,
    slots: Arc<Semaphore>,
}

impl Admission {
    /// Turns admitted under `limits`.
    pub fn new(limits: ServeLimits) -> Admission {
        let slots = Arc::new(Semaphore::new(limits.concurrent_turns.clamp(1, Semaphore::MAX_PERMITS)));
        Admission { limits, slots }
    }

    /// The limits.
    pub fn limits(&self) -> &ServeLimits {
        &self.limits
    }

    /// A slot for one turn, or the `busy` error to answer with.
    pub fn admit(&self) -> Result<OwnedSemaphorePermit, TurnError> {
        Arc::clone(&self.slots).try_acquire_owned().map_err(|_| {
            let mut error = TurnError::new(
                ErrorKind::Busy,
                format!(
                    "the gateway is running its most turns at once ({}, `limits.concurrent-turns`): try again shortly",
                    self.limits.concurrent_turns
                ),
            );
            error.retryable = true;
            error.retry_after_ms = Some(1000);
            error
        })
    }

    /// `turn`, held to the deadlines and keeping its slot until it is dropped.
    pub fn bound(&self, turn: TurnStream, slot: OwnedSemaphorePermit) -> TurnStream {
        let now = Instant::now();
        let timeout = |what: &str, after: Duration, key: &str| {
            let mut error = TurnError::new(
                ErrorKind::Timeout,
                format!("the turn {what} {} s (`limits.{key}` in the gateway's config)", after.as_secs_f64()),
            );
            error.retryable = true;
            error
        };
        let first = timeout("had no output after", self.limits.first_output, "first-output-seconds");
        let whole = timeout("was still running after", self.limits.turn, "turn-seconds");
        turn.output_by(now + self.limits.first_output, first).end_by(now + self.limits.turn, whole).holding(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_holds_every_admitted_turn_and_two_spares_per_component() {
        let limits = ServeLimits { concurrent_turns: 10_000, ..ServeLimits::default() };
        assert_eq!(limits.pool_instances(3), 10_000 + 6 + 16);
        assert_eq!(ServeLimits::default().pool_instances(1), 256 + 2 + 16);
        let huge = ServeLimits { concurrent_turns: usize::MAX, ..ServeLimits::default() };
        assert_eq!(huge.pool_instances(2), u32::MAX);
    }
}
