//! How much each caller and each model may use, and what they have used:
//! requests per minute, tokens per minute and concurrent streams, per key
//! (`[keys.NAME] limits`) and per model (`[models.NAME] limits`).
//!
//! All of this state sits behind the [`Ledger`] trait, so a store shared by
//! several replicas can replace [`MemoryLedger`] without touching the request
//! path. A request is admitted in every scope it belongs to at once (its key's
//! and its model's) or in none: a refusal takes nothing and names the limit
//! and when to try again, which the gateway answers with 429, `retry-after`
//! and `retry-after-ms` (the official clients wait that long and retry). A
//! turn's tokens are counted when it ends (an error or a client that went
//! away included), and its streams are freed then.
//!
//! Each per-minute limit is a bucket holding a minute's allowance and
//! refilling continuously: requests take one each; tokens are taken when the
//! turn reports them, so a large turn can leave its bucket in debt, and the
//! scope's next requests wait until it has refilled past zero.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::time::Instant;

/// What a limit applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// A client key, by its name.
    Key(String),
    /// A public model, by its name.
    Model(String),
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Key(name) => write!(f, "the key `{name}`"),
            Scope::Model(name) => write!(f, "the model `{name}`"),
        }
    }
}

/// The limits of one scope; `None`: unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests admitted per minute.
    pub requests_per_minute: Option<u32>,
    /// Tokens (input and output) used per minute.
    pub tokens_per_minute: Option<u64>,
    /// Turns streaming at once.
    pub concurrent_streams: Option<u32>,
}

impl RateLimits {
    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        self.requests_per_minute.is_some() || self.tokens_per_minute.is_some() || self.concurrent_streams.is_some()
    }
}

/// Which limit a request was over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `requests-per-minute`.
    Requests,
    /// `tokens-per-minute`.
    Tokens,
    /// `concurrent-streams`.
    Streams,
}

/// A refused request: the scope and limit it was over, and when to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverLimit {
    /// The scope.
    pub scope: Scope,
    /// Its limit.
    pub limit: Limit,
    /// The limit's value.
    pub value: u64,
    /// When a retry may be admitted.
    pub retry_after: Duration,
}

impl OverLimit {
    /// What the client is told.
    pub fn message(&self) -> String {
        let (key, what) = match self.limit {
            Limit::Requests => ("requests-per-minute", "requests a minute"),
            Limit::Tokens => ("tokens-per-minute", "tokens a minute"),
            Limit::Streams => ("concurrent-streams", "streams at once"),
        };
        format!(
            "{} is over its limit of {} {what} (`{key}` in the gateway's config): retry in {:.1} s",
            self.scope,
            self.value,
            self.retry_after.as_secs_f64()
        )
    }
}

/// A request admitted: what its turn holds until [`Ledger::settle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    /// The scopes it was admitted in.
    pub scopes: Vec<Scope>,
}

/// Where the gateway's usage state lives.
pub trait Ledger: Send + Sync {
    /// Admit one request in every one of `scopes` (each with its limits), or
    /// in none, saying which limit it is over and when to retry.
    fn admit(&self, scopes: Vec<(Scope, RateLimits)>) -> BoxFuture<'_, Result<Admitted, OverLimit>>;

    /// The turn `admitted` let in has ended having used `tokens`: count
    /// them in its scopes and free its streams.
    fn settle(&self, admitted: Admitted, tokens: u64) -> BoxFuture<'_, ()>;
}

/// The ledger of one gateway process, in memory.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    scopes: Mutex<HashMap<Scope, Usage>>,
}

/// One scope's usage.
#[derive(Debug)]
struct Usage {
    /// Requests left to admit this minute (refilling).
    requests: Bucket,
    /// Tokens left to use this minute (refilling; negative after a large turn).
    tokens: Bucket,
    /// Streams running.
    streams: u32,
    /// The limits last seen for the scope (for settling).
    limits: RateLimits,
}

/// A per-minute allowance, refilled continuously up to one minute's worth.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    level: f64,
    at: Instant,
}

impl Bucket {
    fn full(per_minute: f64, now: Instant) -> Bucket {
        Bucket { level: per_minute, at: now }
    }

    /// The level now, refilled since it was last seen.
    fn refill(&mut self, per_minute: f64, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.level = (self.level + elapsed * per_minute / 60.0).min(per_minute);
        self.at = now;
    }

    /// How long until the level reaches `needed`.
    fn wait_for(&self, needed: f64, per_minute: f64) -> Duration {
        let missing = (needed - self.level).max(0.0);
        Duration::try_from_secs_f64(missing * 60.0 / per_minute.max(f64::MIN_POSITIVE)).unwrap_or(Duration::MAX)
    }
}

impl Usage {
    fn new(limits: RateLimits, now: Instant) -> Usage {
        Usage {
            requests: Bucket::full(limits.requests_per_minute.map_or(0.0, f64::from), now),
            tokens: Bucket::full(limits.tokens_per_minute.map_or(0.0, |t| t as f64), now),
            streams: 0,
            limits,
        }
    }

    /// Why one more request is refused now, if it is.
    fn refusal(&mut self, scope: &Scope, limits: RateLimits, now: Instant) -> Option<OverLimit> {
        // A limit set or changed by a reload starts full.
        if limits.requests_per_minute != self.limits.requests_per_minute {
            self.requests = Bucket::full(limits.requests_per_minute.map_or(0.0, f64::from), now);
        }
        if limits.tokens_per_minute != self.limits.tokens_per_minute {
            self.tokens = Bucket::full(limits.tokens_per_minute.map_or(0.0, |t| t as f64), now);
        }
        self.limits = limits;
        let over = |limit, value: u64, retry_after| Some(OverLimit { scope: scope.clone(), limit, value, retry_after });
        if let Some(most) = limits.concurrent_streams
            && self.streams >= most
        {
            // A stream's end cannot be foreseen: try again in a second.
            return over(Limit::Streams, u64::from(most), Duration::from_secs(1));
        }
        if let Some(per_minute) = limits.requests_per_minute {
            let rate = f64::from(per_minute);
            self.requests.refill(rate, now);
            if self.requests.level < 1.0 {
                return over(Limit::Requests, u64::from(per_minute), self.requests.wait_for(1.0, rate));
            }
        }
        if let Some(per_minute) = limits.tokens_per_minute {
            let rate = per_minute as f64;
            self.tokens.refill(rate, now);
            if self.tokens.level <= 0.0 {
                // Past zero by a token, so the retry finds some left.
                return over(Limit::Tokens, per_minute, self.tokens.wait_for(1.0, rate));
            }
        }
        None
    }

    fn take(&mut self) {
        if self.limits.requests_per_minute.is_some() {
            self.requests.level -= 1.0;
        }
        self.streams = self.streams.saturating_add(1);
    }
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> MemoryLedger {
        MemoryLedger::default()
    }

    fn admit_now(&self, scopes: Vec<(Scope, RateLimits)>, now: Instant) -> Result<Admitted, OverLimit> {
        let mut all = self.scopes.lock().unwrap_or_else(PoisonError::into_inner);
        for (scope, limits) in &scopes {
            let usage = all.entry(scope.clone()).or_insert_with(|| Usage::new(*limits, now));
            if let Some(refused) = usage.refusal(scope, *limits, now) {
                return Err(refused);
            }
        }
        let mut admitted = Vec::with_capacity(scopes.len());
        for (scope, _) in scopes {
            if let Some(usage) = all.get_mut(&scope) {
                usage.take();
            }
            admitted.push(scope);
        }
        Ok(Admitted { scopes: admitted })
    }

    fn settle_now(&self, admitted: Admitted, tokens: u64, now: Instant) {
        let mut all = self.scopes.lock().unwrap_or_else(PoisonError::into_inner);
        for scope in admitted.scopes {
            let Some(usage) = all.get_mut(&scope) else { continue };
            usage.streams = usage.streams.saturating_sub(1);
            if let Some(per_minute) = usage.limits.tokens_per_minute {
                usage.tokens.refill(per_minute as f64, now);
                usage.tokens.level -= tokens as f64;
            }
        }
    }
}

impl Ledger for MemoryLedger {
    fn admit(&self, scopes: Vec<(Scope, RateLimits)>) -> BoxFuture<'_, Result<Admitted, OverLimit>> {
        let decided = self.admit_now(scopes, Instant::now());
        Box::pin(std::future::ready(decided))
    }

    fn settle(&self, admitted: Admitted, tokens: u64) -> BoxFuture<'_, ()> {
        self.settle_now(admitted, tokens, Instant::now());
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(limits: RateLimits) -> Vec<(Scope, RateLimits)> {
        vec![(Scope::Key("team".into()), limits), (Scope::Model("fast".into()), RateLimits::default())]
    }

    #[test]
    fn requests_per_minute_refill_continuously() {
        let ledger = MemoryLedger::new();
        let limits = RateLimits { requests_per_minute: Some(2), ..RateLimits::default() };
        let start = Instant::now();
        for _ in 0..2 {
            let admitted = ledger.admit_now(key(limits), start).expect("within the limit");
            ledger.settle_now(admitted, 0, start);
        }
        let refused = ledger.admit_now(key(limits), start).expect_err("the third in the same instant");
        assert_eq!((refused.scope.clone(), refused.limit, refused.value), (Scope::Key("team".into()), Limit::Requests, 2));
        assert_eq!(refused.retry_after, Duration::from_secs(30), "one request refills in 60 s / 2");
        assert!(refused.message().starts_with("the key `team` is over its limit of 2 requests a minute (`requests-per-minute`"), "{}", refused.message());
        assert!(ledger.admit_now(key(limits), start + Duration::from_secs(29)).is_err());
        assert!(ledger.admit_now(key(limits), start + Duration::from_secs(30)).is_ok());
    }

    #[test]
    fn tokens_are_counted_when_the_turn_ends_and_may_go_into_debt() {
        let ledger = MemoryLedger::new();
        let limits = RateLimits { tokens_per_minute: Some(600), ..RateLimits::default() };
        let start = Instant::now();
        let admitted = ledger.admit_now(key(limits), start).expect("a full bucket");
        // A second turn starts before the first reports its tokens.
        let second = ledger.admit_now(key(limits), start).expect("no tokens counted yet");
        ledger.settle_now(admitted, 900, start);
        ledger.settle_now(second, 0, start);
        let refused = ledger.admit_now(key(limits), start).expect_err("300 tokens in debt");
        assert_eq!(refused.limit, Limit::Tokens);
        // 301 tokens at 10 a second.
        assert_eq!(refused.retry_after, Duration::from_millis(30_100));
        assert!(ledger.admit_now(key(limits), start + refused.retry_after).is_ok());
    }

    #[test]
    fn streams_are_held_until_settled_and_a_refusal_takes_nothing() {
        let ledger = MemoryLedger::new();
        let model = |streams| vec![(Scope::Key("team".into()), RateLimits { requests_per_minute: Some(10), ..RateLimits::default() }), (Scope::Model("fast".into()), RateLimits { concurrent_streams: Some(streams), ..RateLimits::default() })];
        let now = Instant::now();
        let first = ledger.admit_now(model(1), now).expect("one stream");
        let refused = ledger.admit_now(model(1), now).expect_err("a second at once");
        assert_eq!((refused.scope.clone(), refused.limit), (Scope::Model("fast".into()), Limit::Streams));
        ledger.settle_now(first, 10, now);
        for _ in 0..9 {
            let admitted = ledger.admit_now(model(1), now).expect("the refused request took none of the key's ten");
            ledger.settle_now(admitted, 10, now);
        }
        assert_eq!(ledger.admit_now(model(1), now).expect_err("ten taken").limit, Limit::Requests);
    }
}
