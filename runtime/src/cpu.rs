//! CPU accounting across a whole turn. `limits.call-cpu-ms` bounds one call's
//! guest code (in epoch ticks); a turn makes many calls, and the host works on
//! the guest's behalf inside them (copying data across the boundary, TLS,
//! scrubbing bodies, writing logs). A [`CpuBudget`] adds up the time each poll
//! of a turn's calls takes, which covers both the guest's code and the host's
//! work in its host calls but not time spent waiting for the network (a poll
//! never blocks), and stops the turn past `limits.turn-cpu-ms`. Like the
//! per-call limit it is counted in running time, read from the monotonic clock
//! (a few nanoseconds, where the thread's CPU clock costs a system call per
//! read): on a machine short of cores, time the thread waits for one counts too.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::limits::Breach;

/// The CPU one turn (or one tool call) may spend, and what it has spent.
#[derive(Debug)]
pub struct CpuBudget {
    limit: Duration,
    used: Duration,
}

impl CpuBudget {
    /// A budget of `limit_ms` milliseconds.
    pub fn new(limit_ms: u64) -> CpuBudget {
        CpuBudget { limit: Duration::from_millis(limit_ms), used: Duration::ZERO }
    }

    /// CPU spent so far.
    pub fn used(&self) -> Duration {
        self.used
    }

    /// Run `call`, charging the time its polls take; past the budget it ends
    /// with a [`Breach::TurnCpu`] error (and `call` is dropped, cancelled).
    pub fn meter<'a, T, F>(&'a mut self, call: F) -> Metered<'a, F>
    where
        F: Future<Output = wasmtime::Result<T>> + 'a,
    {
        Metered { budget: self, call: Box::pin(call) }
    }
}

/// A call being metered (see [`CpuBudget::meter`]).
pub struct Metered<'a, F> {
    budget: &'a mut CpuBudget,
    call: Pin<Box<F>>,
}

impl<T, F: Future<Output = wasmtime::Result<T>>> Future for Metered<'_, F> {
    type Output = wasmtime::Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let started = Instant::now();
        let polled = self.call.as_mut().poll(cx);
        let spent = started.elapsed();
        let budget = &mut *self.budget;
        budget.used = budget.used.saturating_add(spent);
        if budget.used > budget.limit {
            let limit_ms = u64::try_from(budget.limit.as_millis()).unwrap_or(u64::MAX);
            return Poll::Ready(Err(Breach::TurnCpu { limit_ms }.into()));
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call that burns about `ms` of CPU per poll, `polls` times.
    async fn busy(ms: u64, polls: u32) -> wasmtime::Result<u32> {
        for _ in 0..polls {
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(ms) {
                std::hint::spin_loop();
            }
            tokio::task::yield_now().await;
        }
        Ok(polls)
    }

    #[tokio::test]
    async fn cpu_adds_up_across_calls_and_polls() {
        let mut budget = CpuBudget::new(100);
        assert_eq!(budget.meter(busy(10, 3)).await.ok(), Some(3));
        assert_eq!(budget.meter(busy(10, 3)).await.ok(), Some(3));
        assert!(budget.used() >= Duration::from_millis(60), "{:?}", budget.used());
        let err = budget.meter(busy(10, 100)).await.expect_err("over the budget");
        assert!(err.to_string().contains("limits.turn-cpu-ms"), "{err}");
    }

    #[tokio::test]
    async fn waiting_costs_nothing() {
        let mut budget = CpuBudget::new(5);
        let waited = budget
            .meter(async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                wasmtime::Result::<()>::Ok(())
            })
            .await;
        assert!(waited.is_ok(), "sleeping is not CPU");
    }
}
