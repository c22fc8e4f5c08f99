//! Real-time pacing: how far the worker may advance now to keep a chosen number of simulated
//! milliseconds per wall second. It is a pure function of the instants it is given, so tests
//! need no sleeps.

use std::time::{Duration, Instant};

/// The most wall time the pacer ever owes: a slow machine lags, it does not burst.
const MAX_OWED: Duration = Duration::from_millis(100);

/// Simulated time owed to a paced run (ms), carried between batches.
#[derive(Clone, Copy, Debug)]
pub struct Pacer {
    budget_ms: f64,
    last_tick: Instant,
}

impl Pacer {
    pub fn new(now: Instant) -> Self {
        Pacer {
            budget_ms: 0.0,
            last_tick: now,
        }
    }

    /// Starts afresh at `now`, owing nothing (on Run, or at a change of speed).
    pub fn restart(&mut self, now: Instant) {
        *self = Pacer::new(now);
    }

    /// How many units of `unit_ms` simulated time may be taken at `now`, at `rate` simulated
    /// ms per wall second. The debt is capped at [`MAX_OWED`] of wall time, but never below one
    /// step of `dt` ms so that slow rates still advance. Units not taken stay owed.
    pub fn allowance(&mut self, now: Instant, rate: f64, dt: f64, unit_ms: f64) -> u64 {
        let elapsed = now.saturating_duration_since(self.last_tick);
        self.last_tick = now;
        let cap = (rate * MAX_OWED.as_secs_f64()).max(dt);
        self.budget_ms = (self.budget_ms + rate * elapsed.as_secs_f64()).min(cap);
        let allowed = (self.budget_ms / unit_ms).floor() as u64;
        self.budget_ms -= allowed as f64 * unit_ms;
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, ms: f64) -> Instant {
        start + Duration::from_secs_f64(ms / 1000.0)
    }

    #[test]
    fn steps_follow_wall_time_at_the_chosen_rate() {
        let start = Instant::now();
        let mut pacer = Pacer::new(start);
        // 128 simulated ms per second, 0.5 ms steps: 62.5 ms of wall time is 8 ms, 16 steps.
        assert_eq!(pacer.allowance(at(start, 62.5), 128.0, 0.5, 0.5), 16);
        assert_eq!(pacer.allowance(at(start, 125.0), 128.0, 0.5, 0.5), 16);
        // No time passed, nothing owed.
        assert_eq!(pacer.allowance(at(start, 125.0), 128.0, 0.5, 0.5), 0);
    }

    #[test]
    fn fractions_of_a_step_are_carried_over() {
        let start = Instant::now();
        let mut pacer = Pacer::new(start);
        // 8 ms per second: 31.25 ms of wall time owes 0.25 ms, half a step.
        assert_eq!(pacer.allowance(at(start, 31.25), 8.0, 0.5, 0.5), 0);
        assert_eq!(pacer.allowance(at(start, 62.5), 8.0, 0.5, 0.5), 1);
        assert_eq!(pacer.allowance(at(start, 93.75), 8.0, 0.5, 0.5), 0);
        assert_eq!(pacer.allowance(at(start, 125.0), 8.0, 0.5, 0.5), 1);
    }

    #[test]
    fn a_long_stall_owes_at_most_a_tenth_of_a_second() {
        let start = Instant::now();
        let mut pacer = Pacer::new(start);
        // 10 s late at 128 ms/s: 12.8 ms owed, not 1 280 ms.
        assert_eq!(pacer.allowance(at(start, 10_000.0), 128.0, 0.5, 0.5), 25);
        // A rate so slow that a tenth of a second is under one step still earns that step.
        let mut slow = Pacer::new(start);
        assert_eq!(slow.allowance(at(start, 10_000.0), 1.0, 0.5, 0.5), 1);
    }

    #[test]
    fn algebraic_rows_are_paced_by_slot_length() {
        let start = Instant::now();
        let mut pacer = Pacer::new(start);
        // 1 000 ms per second for 50 ms: 50 ms owed, capped at 100 ms; slots of 20 ms: 2 rows,
        // 10 ms carried.
        assert_eq!(pacer.allowance(at(start, 50.0), 1000.0, 0.5, 20.0), 2);
        assert_eq!(pacer.allowance(at(start, 60.0), 1000.0, 0.5, 20.0), 1);
    }

    #[test]
    fn restarting_forgets_the_debt_and_the_clock() {
        let start = Instant::now();
        let mut pacer = Pacer::new(start);
        assert_eq!(pacer.allowance(at(start, 31.25), 8.0, 0.5, 0.5), 0);
        pacer.restart(at(start, 500.0));
        assert_eq!(pacer.allowance(at(start, 531.25), 8.0, 0.5, 0.5), 0);
        // Earlier instants than the last tick count as no time.
        assert_eq!(pacer.allowance(at(start, 10.0), 8.0, 0.5, 0.5), 0);
    }
}
