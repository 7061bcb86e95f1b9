//! Resource limits for a component: defaults, the host-wide maxima a manifest
//! cannot exceed, and the manifest's `[limits]` table.

use serde::Deserialize;

/// The effective limits of one component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory, in bytes, across all the component's memories.
    pub memory_bytes: usize,
    /// Guest CPU time per exported call, in milliseconds. Measured in epoch
    /// ticks spent running wasm, so time waiting on the network does not count.
    pub call_cpu_ms: u64,
    /// Wall-clock time for a whole turn, network included, in milliseconds.
    pub turn_ms: u64,
    /// Outbound HTTP requests per turn (redirect hops included).
    pub requests_per_turn: u32,
    /// Bytes of one response body.
    pub response_bytes: u64,
    /// Bytes of one request body.
    pub request_bytes: u64,
    /// Time to connect to the upstream, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Time to wait for the response head or the next body bytes, in milliseconds.
    /// Reasoning models may think a long time before their first byte.
    pub read_timeout_ms: u64,
    /// Bytes of log lines per turn; later lines are dropped with one notice.
    pub log_bytes_per_turn: usize,
}

const MIB: u64 = 1024 * 1024;

impl Limits {
    /// Limits for a component whose manifest sets none.
    pub const DEFAULT: Limits = Limits {
        memory_bytes: 64 * MIB as usize,
        call_cpu_ms: 2_000,
        turn_ms: 600_000,
        requests_per_turn: 8,
        response_bytes: 32 * MIB,
        request_bytes: 8 * MIB,
        connect_timeout_ms: 10_000,
        read_timeout_ms: 300_000,
        log_bytes_per_turn: 64 * 1024,
    };

    /// The largest limits a manifest may ask for on a default host.
    pub const HOST_MAX: Limits = Limits {
        memory_bytes: 512 * MIB as usize,
        call_cpu_ms: 30_000,
        turn_ms: 3_600_000,
        requests_per_turn: 64,
        response_bytes: 256 * MIB,
        request_bytes: 64 * MIB,
        connect_timeout_ms: 60_000,
        read_timeout_ms: 900_000,
        log_bytes_per_turn: 1024 * 1024,
    };
}

/// The `[limits]` table of a manifest; every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LimitOverrides {
    memory_mib: Option<u64>,
    call_cpu_ms: Option<u64>,
    turn_ms: Option<u64>,
    requests_per_turn: Option<u32>,
    response_mib: Option<u64>,
    request_mib: Option<u64>,
    connect_timeout_ms: Option<u64>,
    read_timeout_ms: Option<u64>,
    log_kib_per_turn: Option<u64>,
}

impl LimitOverrides {
    /// Apply the overrides to `defaults`, refusing any above `max`.
    pub fn resolve(&self, defaults: &Limits, max: &Limits) -> Result<Limits, String> {
        fn pick<T: Copy + PartialOrd + std::fmt::Display>(
            key: &str,
            asked: Option<T>,
            default: T,
            max: T,
        ) -> Result<T, String> {
            match asked {
                Some(value) if value > max => Err(format!(
                    "limits.{key} = {value} exceeds the host maximum {max}; lower it"
                )),
                Some(value) => Ok(value),
                None => Ok(if default > max { max } else { default }),
            }
        }
        let mib = |v: Option<u64>| v.map(|v| v.saturating_mul(MIB));
        let kib = |v: Option<u64>| v.map(|v| v.saturating_mul(1024) as usize);
        let limits = Limits {
            memory_bytes: pick(
                "memory-mib",
                mib(self.memory_mib).map(|b| b as usize),
                defaults.memory_bytes,
                max.memory_bytes,
            )?,
            call_cpu_ms: pick("call-cpu-ms", self.call_cpu_ms, defaults.call_cpu_ms, max.call_cpu_ms)?,
            turn_ms: pick("turn-ms", self.turn_ms, defaults.turn_ms, max.turn_ms)?,
            requests_per_turn: pick(
                "requests-per-turn",
                self.requests_per_turn,
                defaults.requests_per_turn,
                max.requests_per_turn,
            )?,
            response_bytes: pick("response-mib", mib(self.response_mib), defaults.response_bytes, max.response_bytes)?,
            request_bytes: pick("request-mib", mib(self.request_mib), defaults.request_bytes, max.request_bytes)?,
            connect_timeout_ms: pick(
                "connect-timeout-ms",
                self.connect_timeout_ms,
                defaults.connect_timeout_ms,
                max.connect_timeout_ms,
            )?,
            read_timeout_ms: pick(
                "read-timeout-ms",
                self.read_timeout_ms,
                defaults.read_timeout_ms,
                max.read_timeout_ms,
            )?,
            log_bytes_per_turn: pick(
                "log-kib-per-turn",
                kib(self.log_kib_per_turn),
                defaults.log_bytes_per_turn,
                max.log_bytes_per_turn,
            )?,
        };
        if limits.call_cpu_ms == 0 || limits.turn_ms == 0 || limits.memory_bytes == 0 {
            return Err("limits must be greater than zero".to_owned());
        }
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_and_maxima_hold() {
        let overrides: LimitOverrides = toml::from_str("memory-mib = 16\nturn-ms = 1000").expect("toml");
        let limits = overrides.resolve(&Limits::DEFAULT, &Limits::HOST_MAX).expect("valid");
        assert_eq!(limits.memory_bytes, 16 * 1024 * 1024);
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
}

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
        StoreLimiter { memory_limit: limits.memory_bytes }
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
}
