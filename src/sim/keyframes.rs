//! Keyframes of a run: the whole simulation state at slot boundaries, kept within a memory
//! budget, so that any earlier time can be shown again by restoring the nearest keyframe at or
//! before it and replaying deterministically from there.
//!
//! When the budget is reached the keyframes are thinned evenly: the stride between kept slot
//! boundaries doubles and every keyframe off the new stride is dropped, so what remains is
//! still evenly spaced over the run. The start of the run needs no keyframe: a fresh simulation
//! of the same experiment is the state at step 0.

use crate::model::network::ModelError;
use crate::model::params::{LiveParams, Params};
use crate::model::simulation::{SimState, Simulation};

/// Default memory budget for keyframes (256 MiB).
pub const DEFAULT_BUDGET_BYTES: usize = 256 << 20;

/// One kept state and the slot boundary it was taken at.
#[derive(Clone, Debug, PartialEq)]
struct Keyframe {
    boundary: usize,
    state: SimState,
}

/// The keyframes of one run, and the live parameter edits made during it.
#[derive(Clone, Debug, PartialEq)]
pub struct Keyframes {
    budget: usize,
    frames: Vec<Keyframe>,
    bytes: usize,
    /// Keyframes are kept at slot boundaries that are multiples of this.
    stride: usize,
    /// Live edits, by the step at which they took effect, in order.
    edits: Vec<(u64, Params)>,
}

impl Keyframes {
    /// An empty store that keeps at most `budget` bytes of states.
    pub fn new(budget: usize) -> Self {
        Keyframes {
            budget,
            frames: Vec::new(),
            bytes: 0,
            stride: 1,
            edits: Vec::new(),
        }
    }

    pub fn budget(&self) -> usize {
        self.budget
    }
    /// Bytes held by the kept states.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
    pub fn len(&self) -> usize {
        self.frames.len()
    }
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
    /// Slot boundaries between kept keyframes.
    pub fn stride(&self) -> usize {
        self.stride
    }
    /// The steps at which keyframes are kept, in order.
    pub fn steps(&self) -> Vec<u64> {
        self.frames.iter().map(|f| f.state.step_index()).collect()
    }
    /// The slot boundaries (1 = the end of the first slot) at which keyframes are kept.
    pub fn boundaries(&self) -> Vec<usize> {
        self.frames.iter().map(|f| f.boundary).collect()
    }

    /// Offers the state at the end of slot `boundary` (1-based: 1 is the end of the first slot).
    /// `state` is called only when the keyframe is kept. Boundaries must be offered in
    /// increasing order; one at or before the last kept one is ignored.
    pub fn offer(&mut self, boundary: usize, state: impl FnOnce() -> SimState) {
        if boundary == 0
            || !boundary.is_multiple_of(self.stride)
            || self.frames.last().is_some_and(|f| f.boundary >= boundary)
        {
            return;
        }
        let state = state();
        self.bytes += state.bytes();
        self.frames.push(Keyframe { boundary, state });
        while self.bytes > self.budget && !self.frames.is_empty() {
            self.thin();
        }
    }

    /// The kept states with their slot boundaries, in order (what a state file writes).
    pub fn frames(&self) -> impl Iterator<Item = (usize, &SimState)> {
        self.frames.iter().map(|f| (f.boundary, &f.state))
    }

    /// The live edits recorded, by the step at which they took effect, in order.
    pub fn edits(&self) -> &[(u64, Params)] {
        &self.edits
    }

    /// A store holding `frames` (slot boundary, state; increasing boundaries, multiples of
    /// `stride`) and `edits` (increasing steps), as a state file recorded them; thinned to
    /// `budget` if they exceed it. None if the order or the stride does not hold.
    pub fn from_parts(
        budget: usize,
        stride: usize,
        frames: Vec<(usize, SimState)>,
        edits: Vec<(u64, Params)>,
    ) -> Option<Self> {
        let ordered = frames.windows(2).all(|w| w[0].0 < w[1].0)
            && frames
                .iter()
                .all(|(b, _)| *b > 0 && b.is_multiple_of(stride))
            && edits.windows(2).all(|w| w[0].0 < w[1].0);
        if stride == 0 || !ordered {
            return None;
        }
        let frames: Vec<Keyframe> = frames
            .into_iter()
            .map(|(boundary, state)| Keyframe { boundary, state })
            .collect();
        let mut keyframes = Keyframes {
            budget,
            bytes: frames.iter().map(|f| f.state.bytes()).sum(),
            frames,
            stride,
            edits,
        };
        keyframes.set_budget(budget);
        Some(keyframes)
    }

    /// Changes the budget, thinning the kept keyframes until they fit.
    pub fn set_budget(&mut self, budget: usize) {
        self.budget = budget;
        while self.bytes > self.budget && !self.frames.is_empty() {
            self.thin();
        }
    }

    /// The steps of the live edits recorded, in order.
    pub fn edit_steps(&self) -> Vec<u64> {
        self.edits.iter().map(|(at, _)| *at).collect()
    }

    /// Doubles the stride and drops the keyframes off it.
    fn thin(&mut self) {
        self.stride = self.stride.saturating_mul(2);
        let stride = self.stride;
        self.frames.retain(|f| f.boundary.is_multiple_of(stride));
        self.bytes = self.frames.iter().map(|f| f.state.bytes()).sum();
    }

    /// Records a live edit that took effect when `step` steps had been taken.
    pub fn record_edit(&mut self, step: u64, params: &Params) {
        self.edits.retain(|(at, _)| *at < step);
        self.edits.push((step, params.clone()));
    }

    /// Forgets everything after `step` (a branch: the future is discarded).
    pub fn truncate_after(&mut self, step: u64) {
        self.frames.retain(|f| f.state.step_index() <= step);
        self.bytes = self.frames.iter().map(|f| f.state.bytes()).sum();
        self.edits.retain(|(at, _)| *at <= step);
    }

    /// The latest keyframe at or before `step`.
    pub fn at_or_before(&self, step: u64) -> Option<&SimState> {
        self.frames
            .iter()
            .rev()
            .map(|f| &f.state)
            .find(|state| state.step_index() <= step)
    }

    /// Puts `simulation` (a fresh or any simulation of this run's experiment) in the state the
    /// run had after `step` steps: restores the nearest keyframe (or starts from `fresh`'s step 0
    /// state when there is none) and replays, applying the recorded live edits where they were
    /// made (an edit made at `step` itself takes effect with the next step, so it is not applied).
    /// Returns the number of steps replayed.
    pub fn replay_to(
        &self,
        simulation: &mut Simulation,
        start: &SimState,
        step: u64,
    ) -> Result<u64, ModelError> {
        let from = self.at_or_before(step).unwrap_or(start);
        simulation.restore(from)?;
        let target = step.min(simulation.total_steps());
        let mut replayed = 0;
        // An edit at the keyframe's own step may or may not be in it; applying it again is harmless.
        for (at, params) in self
            .edits
            .iter()
            .filter(|(at, _)| *at >= from.step_index() && *at < target)
        {
            replayed += advance(simulation, *at);
            simulation.set_live(LiveParams::of(params))?;
        }
        replayed += advance(simulation, target);
        Ok(replayed)
    }
}

impl Default for Keyframes {
    fn default() -> Self {
        Keyframes::new(DEFAULT_BUDGET_BYTES)
    }
}

/// Steps `simulation` until `step` steps have been taken; returns how many it took.
fn advance(simulation: &mut Simulation, step: u64) -> u64 {
    let mut taken = 0;
    while simulation.step_index() < step {
        let block = simulation.step_block(step - simulation.step_index());
        if block == 0 {
            break;
        }
        taken += block;
    }
    taken
}
