//! Resource limits for a component: each limit declared once below with its
//! manifest key, default and the host-wide maximum a manifest cannot exceed;
//! the manifest's `[limits]` table; and the store's resource limiter.

use serde::Deserialize;

const MIB: u64 = 1024 * 1024;
const KIB: u64 = 1024;

/// Declares [`Limits`] (the effective values), [`LimitOverrides`] (a manifest's
/// `[limits]` table, every key optional) and their defaults and maxima, from one
/// table so that a limit's doc, key, default and maximum never disagree.
macro_rules! limits {
    ($( $(#[doc = $doc:expr])+ $field:ident = $key:literal, default $default:expr, max $max:expr; )+) => {
        /// The effective limits of one component, in the manifest's units.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Limits {
            $( $(#[doc = $doc])+ pub $field: u64, )+
        }

        impl Limits {
            /// Limits for a component whose manifest sets none.
            pub const DEFAULT: Limits = Limits { $( $field: $default, )+ };
            /// The largest limits a manifest may ask for on a default host.
            pub const HOST_MAX: Limits = Limits { $( $field: $max, )+ };

            /// Every limit as (manifest key, value), for `cordon inspect` and docs.
            pub fn entries(&self) -> Vec<(&'static str, u64)> {
                vec![ $( ($key, self.$field), )+ ]
            }
        }

        /// A `[limits]` table: every key optional, unknown keys refused.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct LimitOverrides {
            $( #[serde(rename = $key)] #[doc = concat!("`", $key, "`")] pub $field: Option<u64>, )+
        }

        impl LimitOverrides {
            /// Apply these overrides on top of `base`, refusing any above `max`.
            pub fn resolve(&self, base: &Limits, max: &Limits) -> Result<Limits, String> {
                let limits = Limits { $( $field: pick($key, self.$field, base.$field, max.$field)?, )+ };
                if limits.memory_mib == 0
                    || limits.call_cpu_ms == 0
                    || limits.turn_cpu_ms == 0
                    || limits.turn_ms == 0
                    || limits.init_ms == 0
                    || limits.concurrent_turns == 0
                {
                    return Err(
                        "limits.memory-mib, call-cpu-ms, turn-cpu-ms, turn-ms, init-ms and concurrent-turns must be greater than zero"
                            .to_owned(),
                    );
                }
                Ok(limits)
            }
        }
    };
}

fn pick(key: &str, asked: Option<u64>, default: u64, max: u64) -> Result<u64, String> {
    match asked {
        Some(value) if value > max => Err(format!("limits.{key} = {value} exceeds the host maximum {max}; lower it")),
        Some(value) => Ok(value),
        None => Ok(default.min(max)),
    }
}

limits! {
    /// Linear memory across all the component's memories, in MiB.
    memory_mib = "memory-mib", default 64, max 512;
    /// Guest CPU time per exported call, in milliseconds: epoch ticks spent
    /// running wasm, so time waiting on the network does not count.
    call_cpu_ms = "call-cpu-ms", default 2_000, max 30_000;
    /// Fuel (roughly, wasm instructions) per exported call, for deterministic
    /// budgets; 0 = not counted. Needs a host started with fuel metering.
    fuel_per_call = "fuel-per-call", default 0, max 10_000_000_000;
    /// CPU for a whole turn (for a tool, one call), in milliseconds: the guest's
    /// code in all its calls plus the host's work inside its host calls
    /// (running time of the turn's calls; waiting for the network is free).
    turn_cpu_ms = "turn-cpu-ms", default 20_000, max 600_000;
    /// Wall-clock time for a whole turn, network included, in milliseconds.
    turn_ms = "turn-ms", default 600_000, max 3_600_000;
    /// Wall-clock time for loading: instantiation, `info` and `init` together,
    /// in milliseconds (a guest that sleeps uses no CPU, so only this stops it).
    init_ms = "init-ms", default 10_000, max 60_000;
    /// Turns of this component running at once.
    concurrent_turns = "concurrent-turns", default 64, max 1024;
    /// Turns waiting for a free slot; past this a turn is refused at once as busy.
    queued_turns = "queued-turns", default 256, max 4096;
    /// How long a queued turn waits for a slot before it is refused as busy, in ms.
    queue_wait_ms = "queue-wait-ms", default 30_000, max 600_000;
    /// Events one turn may emit.
    events_per_turn = "events-per-turn", default 100_000, max 10_000_000;
    /// Bytes of one event (its text fields), in KiB.
    event_kib = "event-kib", default 1024, max 16 * 1024;
    /// Bytes of all of a turn's events, in MiB.
    output_mib_per_turn = "output-mib-per-turn", default 64, max 1024;
    /// Bytes of log lines per turn, in KiB; later lines are dropped with one notice.
    log_kib_per_turn = "log-kib-per-turn", default 64, max 1024;
    /// Outbound HTTP requests per turn, redirect hops included.
    requests_per_turn = "requests-per-turn", default 8, max 64;
    /// Responses open (being read) at once in one turn.
    concurrent_requests = "concurrent-requests", default 4, max 64;
    /// One request body, in MiB.
    request_mib = "request-mib", default 8, max 64;
    /// One response body, in MiB.
    response_mib = "response-mib", default 32, max 256;
    /// Time to connect to the upstream, in milliseconds.
    connect_timeout_ms = "connect-timeout-ms", default 10_000, max 60_000;
    /// Time to wait for the response head or the next body bytes, in milliseconds.
    /// Reasoning models may think a long time before their first byte.
    read_timeout_ms = "read-timeout-ms", default 300_000, max 900_000;
}

impl Limits {
    /// Linear memory in bytes.
    pub fn memory_bytes(&self) -> usize {
        usize::try_from(self.memory_mib.saturating_mul(MIB)).unwrap_or(usize::MAX)
    }

    /// One response body in bytes.
    pub fn response_bytes(&self) -> u64 {
        self.response_mib.saturating_mul(MIB)
    }

    /// One request body in bytes.
    pub fn request_bytes(&self) -> u64 {
        self.request_mib.saturating_mul(MIB)
    }

    /// Log bytes per turn.
    pub fn log_bytes(&self) -> usize {
        usize::try_from(self.log_kib_per_turn.saturating_mul(KIB)).unwrap_or(usize::MAX)
    }

    /// Bytes of one event.
    pub fn event_bytes(&self) -> u64 {
        self.event_kib.saturating_mul(KIB)
    }

    /// Bytes of a turn's output.
    pub fn output_bytes(&self) -> u64 {
        self.output_mib_per_turn.saturating_mul(MIB)
    }

    /// Bytes the guest may hand the host in one call (wasmtime's "hostcall
    /// fuel", counted as the host copies lists and strings out of guest
    /// memory): enough for a turn's whole output or a whole request body, and
    /// no more, so that lists whose entries all point at the same guest memory
    /// cannot make the host copy without end.
    pub fn hostcall_bytes(&self) -> usize {
        let bytes = self.output_bytes().max(self.request_bytes()).saturating_add(MIB);
        usize::try_from(bytes).unwrap_or(usize::MAX)
    }
}

/// A limit a guest breached, carried as the error of the trap it causes so the
/// host can report it precisely (no matching on messages).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Breach {
    /// Linear memory would grow past the limit.
    #[error("the guest tried to grow its memory to {desired} bytes, past its limit of {limit} bytes (limits.memory-mib)")]
    Memory {
        /// Size asked for.
        desired: usize,
        /// The limit.
        limit: usize,
    },
    /// A table would grow past the limit.
    #[error("the guest tried to grow a table to {desired} elements, past the limit of {limit}")]
    Table {
        /// Size asked for.
        desired: usize,
        /// The limit.
        limit: usize,
    },
    /// One call ran longer than its CPU budget.
    #[error("one call used more than {limit_ms} ms of CPU (limits.call-cpu-ms)")]
    Cpu {
        /// The limit.
        limit_ms: u64,
    },
    /// A turn used more CPU in all than its budget.
    #[error("the turn used more than {limit_ms} ms of CPU in all, its calls and the host's work for them (limits.turn-cpu-ms)")]
    TurnCpu {
        /// The limit.
        limit_ms: u64,
    },
    /// One call ran out of fuel.
    #[error("one call used more than {limit} fuel (limits.fuel-per-call)")]
    Fuel {
        /// The limit.
        limit: u64,
    },
    /// The turn emitted too many events.
    #[error("the guest emitted more than {limit} events in one turn (limits.events-per-turn)")]
    Events {
        /// The limit.
        limit: u64,
    },
    /// One event was too large.
    #[error("the guest emitted an event of {size} bytes, past the limit of {limit} bytes (limits.event-kib)")]
    EventSize {
        /// The event's size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The turn's events were too large in total.
    #[error("the guest emitted more than {limit} bytes in one turn (limits.output-mib-per-turn)")]
    Output {
        /// The limit.
        limit: u64,
    },
    /// One call handed the host more data than a turn's output or a request body may be.
    #[error("the guest handed the host more than {limit} bytes in one call (limits.output-mib-per-turn, limits.request-mib)")]
    Handover {
        /// The limit.
        limit: usize,
    },
}

/// Instances, tables and memories one store may create: far above what a real
/// component (even a Python or JavaScript one) needs.
pub const STORE_INSTANCES: usize = 64;
/// See [`STORE_INSTANCES`].
pub const STORE_TABLES: usize = 64;
/// See [`STORE_INSTANCES`].
pub const STORE_MEMORIES: usize = 8;

/// The table-element cap per table: far above what real components use.
pub const TABLE_ELEMENTS: usize = 100_000;

/// The store's resource limiter: denies growth past the limits by trapping with
/// a [`Breach`], so every way of hitting the cap gives the same clear error.
#[derive(Debug)]
pub struct StoreLimiter {
    memory_limit: usize,
}

impl StoreLimiter {
    /// A limiter for `limits`.
    pub fn new(limits: &Limits) -> Self {
        StoreLimiter { memory_limit: limits.memory_bytes() }
    }
}

impl wasmtime::ResourceLimiter for StoreLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            return Err(Breach::Memory { desired, limit: self.memory_limit }.into());
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > TABLE_ELEMENTS {
            return Err(Breach::Table { desired, limit: TABLE_ELEMENTS }.into());
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        STORE_INSTANCES
    }

    fn tables(&self) -> usize {
        STORE_TABLES
    }

    fn memories(&self) -> usize {
        STORE_MEMORIES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_and_maxima_hold() {
        let overrides: LimitOverrides = toml::from_str("memory-mib = 16\nturn-ms = 1000").expect("toml");
        let limits = overrides.resolve(&Limits::DEFAULT, &Limits::HOST_MAX).expect("valid");
        assert_eq!(limits.memory_bytes(), 16 * 1024 * 1024);
        assert_eq!(limits.turn_ms, 1000);
        assert_eq!(limits.call_cpu_ms, Limits::DEFAULT.call_cpu_ms);

        let greedy: LimitOverrides = toml::from_str("memory-mib = 100000").expect("toml");
        let err = greedy.resolve(&Limits::DEFAULT, &Limits::HOST_MAX).expect_err("an error");
        assert!(err.contains("memory-mib") && err.contains("host maximum"), "{err}");
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(toml::from_str::<LimitOverrides>("memory-mb = 1").is_err());
    }

    #[test]
    fn every_default_is_within_its_maximum() {
        for ((key, default), (_, max)) in Limits::DEFAULT.entries().into_iter().zip(Limits::HOST_MAX.entries()) {
            assert!(default <= max, "{key}: default {default} above maximum {max}");
        }
    }
}

