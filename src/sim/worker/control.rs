//! Run control: whether the worker advances time, where it stops, how fast (real-time pacing
//! or full speed), whether it loops, and the rate meter. Pure bookkeeping over the instants it
//! is given, so it is tested without a thread.

use super::meter::RateMeter;
use super::pacing::Pacer;
use crate::sim::command::Speed;
use std::time::{Duration, Instant};

/// Shortest wall time between two publications while running (about 60 per second).
pub const PUBLISH_INTERVAL: Duration = Duration::from_millis(16);
/// The same at full speed (4 a second). "As fast as possible" is about throughput: under
/// software GL each frame costs about 25 ms of a core that a parallel simulation would use.
/// Measured at m = 65 536 on 2 cores, llvmpipe: 30 updates a second cost the simulation 58 % of
/// its speed; 4 a second, with two frames per update, 17–25 %; with one frame per update (the
/// UI asks for a repaint with a small delay, see `ui::app`), 8–12 %; with whole blocks of steps
/// between trace samples as well, 6–16 % (median 11 %) against a faster headless run.
pub const FULL_SPEED_PUBLISH_INTERVAL: Duration = Duration::from_millis(250);

/// Running, stop-at, speed, looping, pacing and the rate meter.
pub struct Control {
    running: bool,
    /// Run at full speed until this step (RunToEnd / RunToStep), then pause.
    stop_at: Option<u64>,
    pub speed: Speed,
    pub looping: bool,
    pub meter: RateMeter,
    pacer: Pacer,
}

impl Control {
    pub fn new(now: Instant) -> Self {
        Control {
            running: false,
            stop_at: None,
            speed: Speed::default(),
            looping: false,
            meter: RateMeter::new(now),
            pacer: Pacer::new(now),
        }
    }

    pub fn running(&self) -> bool {
        self.running
    }

    pub fn stop_at(&self) -> Option<u64> {
        self.stop_at
    }

    /// Starts or stops running; false when it already was so. Stopping forgets the stop step.
    pub fn set_running(&mut self, running: bool, now: Instant) -> bool {
        if running == self.running {
            return false;
        }
        if running {
            self.meter.start(now);
            self.pacer.restart(now);
        } else {
            self.meter.stop(now);
            self.stop_at = None;
        }
        self.running = running;
        true
    }

    /// Runs at full speed until `step`, from `now` (the caller starts running).
    pub fn set_stop_at(&mut self, step: Option<u64>) {
        self.stop_at = step;
    }

    pub fn set_speed(&mut self, speed: Speed, now: Instant) {
        self.speed = speed;
        self.pacer.restart(now);
    }

    /// Whether the worker runs as fast as it can (to a stop step, or at Speed::Max).
    pub fn full_speed(&self) -> bool {
        self.stop_at.is_some() || self.speed == Speed::Max
    }

    /// Wall time between two publications while running.
    pub fn publish_interval(&self) -> Duration {
        if self.full_speed() {
            FULL_SPEED_PUBLISH_INTERVAL
        } else {
            PUBLISH_INTERVAL
        }
    }

    /// Units of `unit_ms` simulated time that may be taken at `now` (unbounded at full speed).
    pub fn allowance(&mut self, now: Instant, dt: f64, unit_ms: f64) -> u64 {
        match self.speed {
            Speed::MsPerSecond(rate) if !self.full_speed() => {
                self.pacer.allowance(now, rate, dt, unit_ms)
            }
            _ => u64::MAX,
        }
    }

    /// How many of `room` steps may be taken from `step` before the stop step; None when the
    /// stop step is reached (the caller pauses).
    pub fn room_before_stop(&self, step: u64, room: u64) -> Option<u64> {
        match self.stop_at {
            Some(stop) if step >= stop => None,
            Some(stop) => Some(room.min(stop - step)),
            None => Some(room),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_step_runs_at_full_speed_until_it_and_is_forgotten_on_pause() {
        let now = Instant::now();
        let mut control = Control::new(now);
        assert!(!control.full_speed());
        assert_eq!(control.publish_interval(), PUBLISH_INTERVAL);
        control.set_stop_at(Some(100));
        assert!(control.set_running(true, now));
        assert!(!control.set_running(true, now), "already running");
        assert!(control.full_speed());
        assert_eq!(control.publish_interval(), FULL_SPEED_PUBLISH_INTERVAL);
        assert_eq!(control.allowance(now, 0.5, 0.5), u64::MAX);
        assert_eq!(control.room_before_stop(40, u64::MAX), Some(60));
        assert_eq!(control.room_before_stop(40, 10), Some(10));
        assert_eq!(control.room_before_stop(100, 10), None);
        assert!(control.set_running(false, now));
        assert_eq!(control.stop_at(), None);
        assert!(!control.full_speed());
    }

    #[test]
    fn real_time_pacing_allows_the_simulated_time_owed() {
        let start = Instant::now();
        let mut control = Control::new(start);
        control.set_speed(Speed::MsPerSecond(1000.0), start);
        control.set_running(true, start);
        // 50 ms of wall time at 1000 ms per second: 50 ms simulated, 100 steps of 0.5 ms.
        let later = start + Duration::from_millis(50);
        assert_eq!(control.allowance(later, 0.5, 0.5), 100);
        assert_eq!(
            control.allowance(later, 0.5, 0.5),
            0,
            "nothing more is owed yet"
        );
        control.set_speed(Speed::Max, later);
        assert_eq!(control.allowance(later, 0.5, 0.5), u64::MAX);
    }
}
