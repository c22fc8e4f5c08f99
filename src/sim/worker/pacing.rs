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
    /// step of `dt` ms so that slow rates still advance; a unit longer than that cap (a whole
    /// slot, in algebraic mode) is added to it, or it could never be paid. Units not taken stay
    /// owed.
    pub fn allowance(&mut self, now: Instant, rate: f64, dt: f64, unit_ms: f64) -> u64 {
        let elapsed = now.saturating_duration_since(self.last_tick);
        self.last_tick = now;
        let mut cap = (rate * MAX_OWED.as_secs_f64()).max(dt);
        if unit_ms > cap {
            cap += unit_ms;
        }
        self.budget_ms = (self.budget_ms + rate * elapsed.as_secs_f64()).min(cap);
        let allowed = (self.budget_ms / unit_ms).floor() as u64;
        self.budget_ms -= allowed as f64 * unit_ms;
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The allowances of a fresh pacer asked at each of `times_ms` after its start, at `rate`
    /// ms per second with steps of `dt` ms and units of `unit_ms`.
    fn allowances(rate: f64, dt: f64, unit_ms: f64, times_ms: &[f64]) -> Vec<u64> {
        let start = Instant::now();
        let mut pacer = Pacer::new(start);
        times_ms
            .iter()
            .map(|&ms| {
                let now = start + Duration::from_secs_f64(ms / 1000.0);
                pacer.allowance(now, rate, dt, unit_ms)
            })
            .collect()
    }

    #[test]
    fn steps_follow_wall_time_at_the_chosen_rate() {
        // 128 simulated ms per second, 0.5 ms steps: 62.5 ms of wall time is 8 ms, 16 steps;
        // asking again at the same instant gives nothing.
        assert_eq!(
            allowances(128.0, 0.5, 0.5, &[62.5, 125.0, 125.0]),
            [16, 16, 0]
        );
    }

    #[test]
    fn units_longer_than_the_cap_still_come() {
        // Algebraic mode reveals one row per slot (here 250 ms of write and read). At
        // 1000 ms/s the cap of 0.1 s of wall time (100 ms) is shorter than one slot; the
        // debt must still grow to a whole slot, or Run would never reveal a row; rows then
        // come every 250 ms of wall time.
        assert_eq!(
            allowances(
                1000.0,
                0.5,
                250.0,
                &[100.0, 200.0, 300.0, 400.0, 500.0, 600.0]
            ),
            [0, 0, 1, 0, 1, 0]
        );
    }

    #[test]
    fn fractions_of_a_step_are_carried_over() {
        // 8 ms per second: each 31.25 ms of wall time owes 0.25 ms, half a 0.5 ms step.
        assert_eq!(
            allowances(8.0, 0.5, 0.5, &[31.25, 62.5, 93.75, 125.0]),
            [0, 1, 0, 1]
        );
    }

    #[test]
    fn a_long_stall_owes_at_most_a_tenth_of_a_second() {
        // 10 s late at 128 ms/s: 12.8 ms owed (25 steps), not 1 280 ms.
        assert_eq!(allowances(128.0, 0.5, 0.5, &[10_000.0]), [25]);
        // A rate so slow that a tenth of a second is under one step still earns that step.
        assert_eq!(allowances(1.0, 0.5, 0.5, &[10_000.0]), [1]);
    }

    #[test]
    fn algebraic_rows_are_paced_by_slot_length() {
        // 1 000 ms per second for 50 ms, slots of 20 ms: 2 rows and 10 ms carried, so 10 ms
        // later one more.
        assert_eq!(allowances(1000.0, 0.5, 20.0, &[50.0, 60.0]), [2, 1]);
    }

    #[test]
    fn restarting_forgets_the_debt_and_the_clock() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut pacer = Pacer::new(start);
        // 8 ms/s for 50 ms owes 0.4 ms: no step yet.
        assert_eq!(pacer.allowance(at(50), 8.0, 0.5, 0.5), 0);
        pacer.restart(at(500));
        // Had the 0.4 ms been kept, 25 ms more (0.2 ms) would complete a step.
        assert_eq!(pacer.allowance(at(525), 8.0, 0.5, 0.5), 0);
        // Instants before the last tick count as no time.
        assert_eq!(pacer.allowance(at(10), 8.0, 0.5, 0.5), 0);
    }
}
