//! How much each caller and each model may use, and what they have used:
//! requests per minute, tokens per minute and concurrent streams, per key
//! (`[keys.NAME] limits`) and per model (`[models.NAME] limits`), and each
//! key's spend against its budget in US dollars per day or month
//! (`[keys.NAME] budget`).
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
//!
//! A budget is spent when a turn ends, at its actual cost; meanwhile the turn
//! holds a reservation of its worst case, and a key is let in only while its
//! spend and its reservations are under the budget. So concurrent turns
//! cannot overshoot it by more than one turn's worth, and none is charged
//! twice. Periods are calendar days and months in UTC.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;

use crate::serve::prices::dollars;
use time::{Month, OffsetDateTime, Time};
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

impl Limit {
    /// The config's name of the setting.
    pub fn setting(self) -> &'static str {
        match self {
            Limit::Requests => "requests-per-minute",
            Limit::Tokens => "tokens-per-minute",
            Limit::Streams => "concurrent-streams",
        }
    }
}

impl OverLimit {
    /// What the client is told.
    pub fn message(&self) -> String {
        let key = self.limit.setting();
        let what = match self.limit {
            Limit::Requests => "requests a minute",
            Limit::Tokens => "tokens a minute",
            Limit::Streams => "streams at once",
        };
        format!(
            "{} is over its limit of {} {what} (`{key}` in the gateway's config): retry in {:.1} s",
            self.scope,
            self.value,
            self.retry_after.as_secs_f64()
        )
    }
}

/// How long a budget lasts before it is whole again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// A calendar day, UTC.
    Day,
    /// A calendar month, UTC.
    Month,
}

impl Period {
    /// The start of the period `at` falls in, and of the next one.
    fn bounds(self, at: SystemTime) -> (OffsetDateTime, OffsetDateTime) {
        let at = OffsetDateTime::from(at);
        let day = at.replace_time(Time::MIDNIGHT);
        match self {
            Period::Day => (day, day.saturating_add(time::Duration::DAY)),
            Period::Month => {
                let first = day.replace_day(1).unwrap_or(day);
                let next = match first.month() {
                    Month::December => first.replace_year(first.year().saturating_add(1)).map(|d| d.replace_month(Month::January)),
                    month => Ok(first.replace_month(month.next())),
                };
                (first, next.ok().and_then(Result::ok).unwrap_or(OffsetDateTime::now_utc().saturating_add(time::Duration::DAY)))
            }
        }
    }

    /// `day` or `month`, as the config says it.
    pub fn name(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Month => "month",
        }
    }
}

/// A key's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Millionths of a US dollar per period.
    pub micro_usd: u64,
    /// The period.
    pub period: Period,
}

/// A request's claim on its key's budget: the most its turn can cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetClaim {
    /// The key's name.
    pub key: String,
    /// Its budget.
    pub budget: Budget,
    /// The turn's worst case, in millionths of a US dollar.
    pub reserve_micro_usd: u64,
}

/// A key whose budget is spent: what it was, and when it is whole again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverBudget {
    /// The key's name.
    pub key: String,
    /// Its budget.
    pub budget: Budget,
    /// Spent this period, in millionths of a US dollar.
    pub spent_micro_usd: u64,
    /// When the next period starts.
    pub resets_at: SystemTime,
}

impl OverBudget {
    /// What the client is told.
    pub fn message(&self) -> String {
        let resets = OffsetDateTime::from(self.resets_at);
        format!(
            "the key `{}` has spent its budget of {} a {} (`budget` in the gateway's config): {} spent; \
             it resets at {}-{:02}-{:02} 00:00 UTC",
            self.key,
            dollars(self.budget.micro_usd),
            self.budget.period.name(),
            dollars(self.spent_micro_usd),
            resets.year(),
            u8::from(resets.month()),
            resets.day(),
        )
    }
}

/// Why a request was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A rate limit: retry later.
    Limit(OverLimit),
    /// The key's budget: no retry helps before it resets.
    Budget(OverBudget),
}

/// What one request asks the ledger for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claim {
    /// The scopes it counts in, each with its limits.
    pub scopes: Vec<(Scope, RateLimits)>,
    /// Its key's budget, when the key has one.
    pub budget: Option<BudgetClaim>,
}

/// A request admitted: what its turn holds until [`Ledger::settle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    /// The scopes it was admitted in.
    pub scopes: Vec<Scope>,
    /// The key and the reservation it holds on its budget.
    pub budget: Option<(String, u64)>,
}

/// What a finished turn used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Used {
    /// Input and output tokens.
    pub tokens: u64,
    /// Its cost in millionths of a US dollar.
    pub micro_usd: u64,
}

/// A key's spend this period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spend {
    /// Spent, in millionths of a US dollar.
    pub spent_micro_usd: u64,
    /// Held by turns still running.
    pub reserved_micro_usd: u64,
    /// When the period started.
    pub since: SystemTime,
}

/// Where the gateway's usage state lives.
pub trait Ledger: Send + Sync {
    /// Admit one request in every scope of `claim` and on its budget, or in
    /// none, saying which limit or budget it is over.
    fn admit(&self, claim: Claim) -> BoxFuture<'_, Result<Admitted, Refused>>;

    /// The turn `admitted` let in has ended having used `used`: count its
    /// tokens, charge its cost in place of its reservation, free its streams.
    fn settle(&self, admitted: Admitted, used: Used) -> BoxFuture<'_, ()>;

    /// What `key` has spent in `period` so far.
    fn spend(&self, key: &str, period: Period) -> BoxFuture<'_, Spend>;
}

/// The ledger of one gateway process, in memory.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    scopes: Mutex<HashMap<Scope, Usage>>,
    spends: Mutex<HashMap<String, KeySpend>>,
}

/// One key's spend in its current period.
#[derive(Debug)]
struct KeySpend {
    since: OffsetDateTime,
    spent: u64,
    reserved: u64,
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

    fn admit_now(&self, claim: Claim, now: Instant, today: SystemTime) -> Result<Admitted, Refused> {
        let mut all = self.scopes.lock().unwrap_or_else(PoisonError::into_inner);
        for (scope, limits) in &claim.scopes {
            let usage = all.entry(scope.clone()).or_insert_with(|| Usage::new(*limits, now));
            if let Some(refused) = usage.refusal(scope, *limits, now) {
                return Err(Refused::Limit(refused));
            }
        }
        // Under every limit: now the budget, under the same lock order (scopes, then spends).
        let budget = match claim.budget {
            None => None,
            Some(claim) => {
                let mut spends = self.spends.lock().unwrap_or_else(PoisonError::into_inner);
                let (since, next) = claim.budget.period.bounds(today);
                let spend = spends.entry(claim.key.clone()).or_insert(KeySpend { since, spent: 0, reserved: 0 });
                if spend.since != since {
                    // A new period: what was spent is forgotten; turns still running keep their reservations.
                    spend.since = since;
                    spend.spent = 0;
                }
                if spend.spent.saturating_add(spend.reserved) >= claim.budget.micro_usd {
                    return Err(Refused::Budget(OverBudget {
                        key: claim.key,
                        budget: claim.budget,
                        spent_micro_usd: spend.spent,
                        resets_at: next.into(),
                    }));
                }
                spend.reserved = spend.reserved.saturating_add(claim.reserve_micro_usd);
                Some((claim.key, claim.reserve_micro_usd))
            }
        };
        let mut admitted = Vec::with_capacity(claim.scopes.len());
        for (scope, _) in claim.scopes {
            if let Some(usage) = all.get_mut(&scope) {
                usage.take();
            }
            admitted.push(scope);
        }
        Ok(Admitted { scopes: admitted, budget })
    }

    fn settle_now(&self, admitted: Admitted, used: Used, now: Instant) {
        let mut all = self.scopes.lock().unwrap_or_else(PoisonError::into_inner);
        for scope in admitted.scopes {
            let Some(usage) = all.get_mut(&scope) else { continue };
            usage.streams = usage.streams.saturating_sub(1);
            if let Some(per_minute) = usage.limits.tokens_per_minute {
                usage.tokens.refill(per_minute as f64, now);
                usage.tokens.level -= used.tokens as f64;
            }
        }
        if let Some((key, reserved)) = admitted.budget {
            let mut spends = self.spends.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(spend) = spends.get_mut(&key) {
                spend.reserved = spend.reserved.saturating_sub(reserved);
                spend.spent = spend.spent.saturating_add(used.micro_usd);
            }
        }
    }

    fn spend_now(&self, key: &str, period: Period, today: SystemTime) -> Spend {
        let (since, _) = period.bounds(today);
        let spends = self.spends.lock().unwrap_or_else(PoisonError::into_inner);
        match spends.get(key) {
            Some(spend) if spend.since == since => {
                Spend { spent_micro_usd: spend.spent, reserved_micro_usd: spend.reserved, since: since.into() }
            }
            Some(spend) => Spend { spent_micro_usd: 0, reserved_micro_usd: spend.reserved, since: since.into() },
            None => Spend { spent_micro_usd: 0, reserved_micro_usd: 0, since: since.into() },
        }
    }
}

impl Ledger for MemoryLedger {
    fn admit(&self, claim: Claim) -> BoxFuture<'_, Result<Admitted, Refused>> {
        let decided = self.admit_now(claim, Instant::now(), SystemTime::now());
        Box::pin(std::future::ready(decided))
    }

    fn settle(&self, admitted: Admitted, used: Used) -> BoxFuture<'_, ()> {
        self.settle_now(admitted, used, Instant::now());
        Box::pin(std::future::ready(()))
    }

    fn spend(&self, key: &str, period: Period) -> BoxFuture<'_, Spend> {
        Box::pin(std::future::ready(self.spend_now(key, period, SystemTime::now())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(scopes: Vec<(Scope, RateLimits)>) -> Claim {
        Claim { scopes, budget: None }
    }

    fn key(limits: RateLimits) -> Claim {
        claim(vec![(Scope::Key("team".into()), limits), (Scope::Model("fast".into()), RateLimits::default())])
    }

    fn used(tokens: u64) -> Used {
        Used { tokens, micro_usd: 0 }
    }

    fn limit(refused: Refused) -> OverLimit {
        match refused {
            Refused::Limit(over) => over,
            Refused::Budget(over) => panic!("a limit, not the budget: {over:?}"),
        }
    }

    #[test]
    fn requests_per_minute_refill_continuously() {
        let ledger = MemoryLedger::new();
        let limits = RateLimits { requests_per_minute: Some(2), ..RateLimits::default() };
        let (start, today) = (Instant::now(), SystemTime::now());
        for _ in 0..2 {
            let admitted = ledger.admit_now(key(limits), start, today).expect("within the limit");
            ledger.settle_now(admitted, used(0), start);
        }
        let refused = limit(ledger.admit_now(key(limits), start, today).expect_err("the third in the same instant"));
        assert_eq!((refused.scope.clone(), refused.limit, refused.value), (Scope::Key("team".into()), Limit::Requests, 2));
        assert_eq!(refused.retry_after, Duration::from_secs(30), "one request refills in 60 s / 2");
        assert!(refused.message().starts_with("the key `team` is over its limit of 2 requests a minute (`requests-per-minute`"), "{}", refused.message());
        assert!(ledger.admit_now(key(limits), start + Duration::from_secs(29), today).is_err());
        assert!(ledger.admit_now(key(limits), start + Duration::from_secs(30), today).is_ok());
    }

    #[test]
    fn tokens_are_counted_when_the_turn_ends_and_may_go_into_debt() {
        let ledger = MemoryLedger::new();
        let limits = RateLimits { tokens_per_minute: Some(600), ..RateLimits::default() };
        let (start, today) = (Instant::now(), SystemTime::now());
        let admitted = ledger.admit_now(key(limits), start, today).expect("a full bucket");
        // A second turn starts before the first reports its tokens.
        let second = ledger.admit_now(key(limits), start, today).expect("no tokens counted yet");
        ledger.settle_now(admitted, used(900), start);
        ledger.settle_now(second, used(0), start);
        let refused = limit(ledger.admit_now(key(limits), start, today).expect_err("300 tokens in debt"));
        assert_eq!(refused.limit, Limit::Tokens);
        // 301 tokens at 10 a second.
        assert_eq!(refused.retry_after, Duration::from_millis(30_100));
        assert!(ledger.admit_now(key(limits), start + refused.retry_after, today).is_ok());
    }

    #[test]
    fn streams_are_held_until_settled_and_a_refusal_takes_nothing() {
        let ledger = MemoryLedger::new();
        let both = |streams| {
            claim(vec![
                (Scope::Key("team".into()), RateLimits { requests_per_minute: Some(10), ..RateLimits::default() }),
                (Scope::Model("fast".into()), RateLimits { concurrent_streams: Some(streams), ..RateLimits::default() }),
            ])
        };
        let (now, today) = (Instant::now(), SystemTime::now());
        let first = ledger.admit_now(both(1), now, today).expect("one stream");
        let refused = limit(ledger.admit_now(both(1), now, today).expect_err("a second at once"));
        assert_eq!((refused.scope.clone(), refused.limit), (Scope::Model("fast".into()), Limit::Streams));
        ledger.settle_now(first, used(10), now);
        for _ in 0..9 {
            let admitted = ledger.admit_now(both(1), now, today).expect("the refused request took none of the key's ten");
            ledger.settle_now(admitted, used(10), now);
        }
        assert_eq!(limit(ledger.admit_now(both(1), now, today).expect_err("ten taken")).limit, Limit::Requests);
    }

    fn spender(reserve: u64) -> Claim {
        let budget = Budget { micro_usd: 1_000_000, period: Period::Day };
        Claim { scopes: Vec::new(), budget: Some(BudgetClaim { key: "team".into(), budget, reserve_micro_usd: reserve }) }
    }

    /// 2026-12-04 15:00 UTC.
    fn afternoon() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_396_400)
    }

    #[test]
    fn a_budget_holds_reservations_charges_actual_costs_and_resets_with_its_period() {
        let ledger = MemoryLedger::new();
        let now = Instant::now();
        let today = afternoon();
        // Three turns each reserve $0.40: the third is let in while $0.80 is held, a fourth is not.
        let turns: Vec<Admitted> = (0..3).map(|_| ledger.admit_now(spender(400_000), now, today).expect("under the budget")).collect();
        let Refused::Budget(over) = ledger.admit_now(spender(400_000), now, today).expect_err("$1.20 held") else { panic!("the budget") };
        assert_eq!(over.spent_micro_usd, 0);
        assert_eq!(over.resets_at, SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_428_800), "midnight UTC");
        assert!(over.message().starts_with("the key `team` has spent its budget of $1.00 a day"), "{}", over.message());
        assert!(over.message().ends_with("it resets at 2026-12-05 00:00 UTC"), "{}", over.message());
        // They end costing $0.10 each: each reservation is replaced by its cost, once.
        for turn in turns {
            ledger.settle_now(turn, Used { tokens: 1, micro_usd: 100_000 }, now);
        }
        let spend = ledger.spend_now("team", Period::Day, today);
        assert_eq!((spend.spent_micro_usd, spend.reserved_micro_usd), (300_000, 0));
        assert!(ledger.admit_now(spender(400_000), now, today).is_ok());
        // The next day starts whole; the reservation still held carries over.
        let tomorrow = today + Duration::from_secs(12 * 3600);
        assert_eq!(ledger.spend_now("team", Period::Day, tomorrow).spent_micro_usd, 0);
        assert!(ledger.admit_now(spender(400_000), now, tomorrow).is_ok());
        assert_eq!(ledger.spend_now("team", Period::Day, tomorrow).reserved_micro_usd, 800_000);
    }

    #[test]
    fn a_month_starts_on_the_first_and_december_rolls_into_january() {
        let (start, next) = Period::Month.bounds(afternoon());
        assert_eq!((start.year(), u8::from(start.month()), start.day(), start.hour()), (2026, 12, 1, 0));
        assert_eq!((next.year(), u8::from(next.month()), next.day()), (2027, 1, 1));
        let (start, next) = Period::Day.bounds(afternoon());
        assert_eq!(next - start, time::Duration::DAY);
    }
}
