//! The slot schedule (spec "Dynamic mode"): which token is written or read at each step.

use super::params::{Params, Schedule};
use serde::Serialize;

/// Write slots store a key/value pair; read slots present a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Write,
    Read,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Write => "write",
            Phase::Read => "read",
        }
    }
}

/// One slot: a phase, the token it presents, and its span in Euler steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub phase: Phase,
    /// Token index τ (write) or t (read), 0-based.
    pub token: usize,
    /// First step of the slot.
    pub start_step: u64,
    /// Number of steps in the slot.
    pub steps: u64,
}

impl Slot {
    /// One past the slot's last step.
    pub fn end_step(&self) -> u64 {
        self.start_step + self.steps
    }
}

/// The whole run as an ordered list of slots.
#[derive(Clone, Debug, PartialEq)]
pub struct SlotSchedule {
    pub slots: Vec<Slot>,
    /// Step length (ms).
    pub dt: f64,
}

impl SlotSchedule {
    /// The schedule for `tokens` tokens under `params` (already validated).
    pub fn new(params: &Params, tokens: usize) -> Self {
        let (write, read) = (params.write_steps(), params.read_steps());
        let order: Vec<(Phase, usize)> = match params.schedule {
            Schedule::Bidirectional => (0..tokens)
                .map(|t| (Phase::Write, t))
                .chain((0..tokens).map(|t| (Phase::Read, t)))
                .collect(),
            Schedule::Causal => (0..tokens)
                .flat_map(|t| [(Phase::Write, t), (Phase::Read, t)])
                .collect(),
        };
        let mut start_step = 0;
        let slots = order
            .into_iter()
            .map(|(phase, token)| {
                let steps = if phase == Phase::Write { write } else { read };
                let slot = Slot {
                    phase,
                    token,
                    start_step,
                    steps,
                };
                start_step += steps;
                slot
            })
            .collect();
        SlotSchedule {
            slots,
            dt: params.dt,
        }
    }

    /// Total Euler steps.
    pub fn total_steps(&self) -> u64 {
        self.slots.last().map_or(0, Slot::end_step)
    }

    /// Total simulated time (ms).
    pub fn total_ms(&self) -> f64 {
        self.total_steps() as f64 * self.dt
    }

    /// Index of the slot containing `step` (None past the end).
    pub fn slot_index_at(&self, step: u64) -> Option<usize> {
        if step >= self.total_steps() {
            return None;
        }
        let index = self.slots.partition_point(|slot| slot.end_step() <= step);
        Some(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidirectional_writes_all_then_reads_all() {
        let params = Params::default();
        let schedule = SlotSchedule::new(&params, 3);
        let phases: Vec<_> = schedule.slots.iter().map(|s| (s.phase, s.token)).collect();
        assert_eq!(phases[2], (Phase::Write, 2));
        assert_eq!(phases[3], (Phase::Read, 0));
        assert_eq!(schedule.total_steps(), 3 * 100 + 3 * 800);
        assert_eq!(schedule.slot_index_at(99), Some(0));
        assert_eq!(schedule.slot_index_at(100), Some(1));
        assert_eq!(schedule.slot_index_at(300), Some(3));
        assert_eq!(schedule.slot_index_at(2700), None);
    }

    #[test]
    fn causal_interleaves() {
        let params = Params {
            schedule: Schedule::Causal,
            ..Params::default()
        };
        let schedule = SlotSchedule::new(&params, 2);
        let phases: Vec<_> = schedule.slots.iter().map(|s| (s.phase, s.token)).collect();
        assert_eq!(
            phases,
            [
                (Phase::Write, 0),
                (Phase::Read, 0),
                (Phase::Write, 1),
                (Phase::Read, 1)
            ]
        );
    }
}
