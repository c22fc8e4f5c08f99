//! The worker's speed: steps per wall second over the last half second of running, and the
//! totals since the worker started. Instants are passed in, so it is testable without sleeps.

use std::time::{Duration, Instant};

/// How long a measurement window lasts.
pub const RATE_WINDOW: Duration = Duration::from_millis(500);

/// Counts the steps taken while running.
#[derive(Clone, Copy, Debug)]
pub struct RateMeter {
    window_start: Instant,
    window_steps: u64,
    steps_per_s: f64,
    total_steps: u64,
    total_wall: Duration,
    /// When the current stretch of running began (None while paused).
    running_since: Option<Instant>,
}

impl RateMeter {
    pub fn new(now: Instant) -> Self {
        RateMeter {
            window_start: now,
            window_steps: 0,
            steps_per_s: 0.0,
            total_steps: 0,
            total_wall: Duration::ZERO,
            running_since: None,
        }
    }

    /// Running starts at `now`: a fresh window opens.
    pub fn start(&mut self, now: Instant) {
        self.running_since = Some(now);
        self.window_start = now;
        self.window_steps = 0;
    }

    /// Running stops at `now`: its wall time is added to the total and the rate reads 0.
    pub fn stop(&mut self, now: Instant) {
        if let Some(since) = self.running_since.take() {
            self.total_wall += now.saturating_duration_since(since);
        }
        self.steps_per_s = 0.0;
    }

    /// Counts `steps` taken; steps taken while paused (single steps) are not counted.
    pub fn count(&mut self, steps: u64) {
        if self.running_since.is_some() {
            self.window_steps += steps;
            self.total_steps += steps;
        }
    }

    /// Closes the window once it is [`RATE_WINDOW`] long, updating the rate.
    pub fn tick(&mut self, now: Instant) {
        let window = now.saturating_duration_since(self.window_start);
        if window >= RATE_WINDOW {
            self.steps_per_s = self.window_steps as f64 / window.as_secs_f64();
            self.window_start = now;
            self.window_steps = 0;
        }
    }

    /// Steps per wall second over the last closed window (0 while paused).
    pub fn steps_per_s(&self) -> f64 {
        self.steps_per_s
    }

    /// Steps taken while running, since the worker started.
    pub fn total_steps(&self) -> u64 {
        self.total_steps
    }

    /// Wall time spent running up to `now` (s), since the worker started.
    pub fn total_wall_s(&self, now: Instant) -> f64 {
        let running = self
            .running_since
            .map_or(Duration::ZERO, |since| now.saturating_duration_since(since));
        (self.total_wall + running).as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_measured_over_half_second_windows_of_running() {
        let start = Instant::now();
        let mut meter = RateMeter::new(start);
        meter.count(99);
        assert_eq!(meter.total_steps(), 0, "steps while paused do not count");
        meter.start(start);
        meter.count(300);
        meter.tick(start + Duration::from_millis(250));
        assert_eq!(meter.steps_per_s(), 0.0, "the window is still open");
        meter.count(700);
        meter.tick(start + Duration::from_millis(500));
        assert_eq!(meter.steps_per_s(), 2000.0);
        assert_eq!(meter.total_steps(), 1000);
        assert_eq!(meter.total_wall_s(start + Duration::from_millis(750)), 0.75);
        meter.stop(start + Duration::from_secs(1));
        assert_eq!(meter.steps_per_s(), 0.0);
        assert_eq!(meter.total_wall_s(start + Duration::from_secs(9)), 1.0);
        meter.start(start + Duration::from_secs(10));
        assert_eq!(meter.total_wall_s(start + Duration::from_secs(12)), 3.0);
    }
}
