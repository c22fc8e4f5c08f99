//! The live run's timeline: keyframes at slot boundaries, the state at step 0, the scrub
//! simulation that shows an earlier time, the shown step, and branches with the lines they put
//! aside for undo and redo. It is the one place that refuses a whole layer, which has no
//! timeline yet. It is handed the live simulation for each call, so it is tested without a thread.

use super::live::{Live, Source, build_one};
use crate::data::experiment::Experiment;
use crate::model::params::LiveParams;
use crate::model::params::{Heads, PARAMS, Params, changed_params};
use crate::model::simulation::{SimState, Simulation};
use crate::sim::checkpoint::{Checkpoint, SavedKeyframes};
use crate::sim::history::BRANCHES_KEPT;
use crate::sim::keyframes::Keyframes;
use std::sync::Arc;

/// Why the timeline refuses a whole layer.
pub const LAYER_TIMELINE: &str = "a whole layer (heads = all) has no timeline yet: earlier times, branches and saved states work with heads = one";

/// What showing a step did.
#[derive(Debug, PartialEq)]
pub enum Shown {
    /// The present is shown (nothing to pause).
    Present,
    /// An earlier time is shown; the run is paused.
    Earlier,
    /// Refused, in one sentence; `paused` when the run was paused first.
    Refused { paused: bool, why: String },
}

/// One line of the run's history, put aside by a branch or by its undo: everything the live
/// run's future depends on, so that switching back continues it exactly.
struct Lineage {
    params: Params,
    state: SimState,
    keyframes: Keyframes,
    branches: Vec<u64>,
    /// The step shown when the line was left (None: the present).
    shown: Option<u64>,
}

/// Keyframes, the start state, scrub, the shown step, and branches with their lineage.
pub struct Timeline {
    /// Keyframes of the live run, at slot boundaries.
    keyframes: Keyframes,
    /// The live run's state at step 0, where replays start without a keyframe.
    start: Option<SimState>,
    /// A second simulation of the same run, for showing an earlier time (built on first use).
    scrub: Option<Simulation>,
    /// The step shown when scrubbed back; None shows the present.
    shown: Option<u64>,
    /// Steps at which the run was branched.
    branches: Vec<u64>,
    /// The lines of the run before each branch (latest last), for undo.
    before: Vec<Lineage>,
    /// The lines undone branches left, for redo.
    undone: Vec<Lineage>,
}

impl Timeline {
    /// An empty timeline whose keyframes hold at most `budget` bytes.
    pub fn new(budget: usize) -> Self {
        Timeline {
            keyframes: Keyframes::new(budget),
            start: None,
            scrub: None,
            shown: None,
            branches: Vec::new(),
            before: Vec::new(),
            undone: Vec::new(),
        }
    }

    /// Starts afresh for a new build of `live` (its step 0; a layer keeps no timeline).
    pub fn restart(&mut self, live: &Live) {
        self.keyframes = Keyframes::new(self.keyframes.budget());
        self.start = live.one().map(Simulation::state);
        self.scrub = None;
        self.shown = None;
        self.branches.clear();
        self.before.clear();
        self.undone.clear();
    }

    pub fn keyframes(&self) -> &Keyframes {
        &self.keyframes
    }

    pub fn branches(&self) -> &[u64] {
        &self.branches
    }

    /// The step shown when scrubbed back (None: the present).
    pub fn shown(&self) -> Option<u64> {
        self.shown
    }

    /// The simulation of the shown earlier time, when scrubbed back.
    pub fn scrubbed(&self) -> Option<&Simulation> {
        self.shown.and(self.scrub.as_ref())
    }

    /// Back to the present (Run).
    pub fn show_present(&mut self) {
        self.shown = None;
    }

    /// The most memory keyframes may hold (bytes).
    pub fn set_budget(&mut self, bytes: usize) {
        self.keyframes.set_budget(bytes);
    }

    /// A keyframe of `live` if it just ended a slot that the budget keeps.
    pub fn offer(&mut self, live: &Live) {
        if let Some(sim) = live.one() {
            self.keyframes.offer(completed_slots(sim), || sim.state());
        }
    }

    /// A live edit to `params` took effect at `step`; replays apply it there.
    pub fn record_edit(&mut self, step: u64, params: &Params) {
        self.keyframes.record_edit(step, params);
    }

    /// Shows the state after `step` steps (None or the present: the live run). The scrub
    /// simulation is built from `source` on first use and watches the `watched` hidden neurons.
    pub fn show_step(
        &mut self,
        live: &Live,
        step: Option<u64>,
        source: &Source,
        watched: &[usize],
    ) -> Shown {
        if live.is_layer() {
            self.shown = None;
            return match step {
                Some(_) => Shown::Refused {
                    paused: false,
                    why: format!("Cannot show an earlier time: {LAYER_TIMELINE}."),
                },
                None => Shown::Present,
            };
        }
        let step = match step {
            Some(step) if step < live.step_index() => step,
            _ => {
                self.shown = None;
                return Shown::Present;
            }
        };
        let refused = |why: String| Shown::Refused {
            paused: true,
            why: format!("Cannot show an earlier time: {why}"),
        };
        if self.scrub.is_none() {
            match build_one(source, live.params(), true) {
                Ok((_, mut scrub)) => {
                    scrub.set_watch(watched);
                    self.scrub = Some(scrub);
                }
                Err(error) => return refused(error),
            }
        }
        let (Some(scrub), Some(start)) = (self.scrub.as_mut(), self.start.as_ref()) else {
            return Shown::Earlier;
        };
        match self.keyframes.replay_to(scrub, start, step) {
            Ok(_) => {
                self.shown = Some(step);
                Shown::Earlier
            }
            Err(error) => {
                self.shown = None;
                refused(error.to_string())
            }
        }
    }

    /// The live run's whole state with its experiment (File ▸ Save state).
    pub fn capture(
        &self,
        live: Option<&Live>,
        params: &Params,
        experiment: Option<&Experiment>,
    ) -> Result<Arc<Checkpoint>, String> {
        let Some(live) = live else {
            return Err("there is no simulation to save".to_string());
        };
        let Some(sim) = live.one() else {
            return Err(LAYER_TIMELINE.to_string());
        };
        let Some(experiment) = experiment else {
            return Err(
                "this run's sequence was handed over directly, with no experiment to record; \
                 save the experiment first"
                    .to_string(),
            );
        };
        Ok(Arc::new(Checkpoint {
            experiment: Experiment {
                params: params.clone(),
                ..experiment.clone()
            },
            state: sim.state(),
            trace: Vec::new(),
            keyframes: self.start.as_ref().map(|start| SavedKeyframes {
                start: match start {
                    SimState::Dynamic(state) => state.params.clone(),
                    SimState::Algebraic { params, .. } => (**params).clone(),
                },
                keyframes: self.keyframes.clone(),
            }),
        }))
    }

    /// Whether a saved run can be opened (a whole layer cannot).
    pub fn check_opens(checkpoint: &Checkpoint) -> Result<(), String> {
        if checkpoint.experiment.params.heads == Heads::All {
            return Err(format!("Not opened: {LAYER_TIMELINE}."));
        }
        Ok(())
    }

    /// After a saved run was opened and installed: its keyframes and live edits (the budget
    /// stays), and `start`, the state at step 0 times before the first keyframe replay from.
    pub fn resume(&mut self, saved: Option<Keyframes>, start: SimState) {
        if let Some(mut keyframes) = saved {
            keyframes.set_budget(self.keyframes.budget());
            self.keyframes = keyframes;
        }
        self.start = Some(start);
    }

    /// Branches at the shown step with `new` parameters (live ones only): the live run goes back
    /// to the shown state, and its old line is kept for undo. Returns the step branched at;
    /// None when nothing is shown to branch from.
    pub fn branch(
        &mut self,
        live: &mut Live,
        params: &Params,
        new: &Params,
    ) -> Result<Option<u64>, String> {
        let Some(step) = self.shown else {
            return Ok(None);
        };
        let Some(sim) = live.one_mut() else {
            return Err(format!("Cannot branch: {LAYER_TIMELINE}."));
        };
        if params.is_structural_change(new) {
            let list = changed_params(params, new)
                .into_iter()
                .filter(|name| PARAMS.iter().any(|param| param.name == name && !param.live))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(format!(
                "Cannot branch with a change of {list}: it rebuilds the network, so the run restarts at t = 0 instead."
            ));
        }
        new.validate()
            .map_err(|error| format!("Not applied: {error}"))?;
        let Some(state) = self.scrub.as_ref().map(Simulation::state) else {
            return Ok(None);
        };
        let before = Lineage {
            params: params.clone(),
            state: sim.state(),
            keyframes: self.keyframes.clone(),
            branches: self.branches.clone(),
            shown: self.shown,
        };
        sim.restore(&state)
            .and_then(|()| sim.set_live(LiveParams::of(new)))
            .map_err(|error| format!("Cannot branch: {error}"))?;
        self.before.push(before);
        if self.before.len() > BRANCHES_KEPT {
            self.before.remove(0);
        }
        self.undone.clear();
        self.keyframes.truncate_after(step);
        self.keyframes.record_edit(step, new);
        self.branches.retain(|at| *at < step);
        self.branches.push(step);
        self.shown = None;
        Ok(Some(step))
    }

    /// Whether there is a branch to undo (`back`) or redo.
    pub fn can_switch(&self, back: bool) -> bool {
        if back {
            !self.before.is_empty()
        } else {
            !self.undone.is_empty()
        }
    }

    /// Undoes (`back`) or redoes the latest branch: the live run switches to the line put
    /// aside, and the line it leaves is put aside for the way back. Returns the restored line's
    /// parameters and the step where the two lines part.
    pub fn switch(
        &mut self,
        live: &mut Live,
        params: &Params,
        back: bool,
        source: &Source,
        watched: &[usize],
    ) -> Result<(Params, u64), String> {
        let Some(sim) = live.one_mut() else {
            return Err(format!("Cannot switch branches: {LAYER_TIMELINE}."));
        };
        let stack = if back {
            &mut self.before
        } else {
            &mut self.undone
        };
        let Some(target) = stack.pop() else {
            let what = if back { "undo" } else { "redo" };
            return Err(format!("There is no branch to {what}."));
        };
        let left = Lineage {
            params: params.clone(),
            state: sim.state(),
            keyframes: self.keyframes.clone(),
            branches: self.branches.clone(),
            shown: self.shown,
        };
        if let Err(error) = sim
            .restore(&target.state)
            .and_then(|()| sim.set_live(LiveParams::of(&target.params)))
        {
            // The left line is intact: keep the target for another try.
            let _ = sim.restore(&left.state);
            stack.push(target);
            return Err(format!("Cannot switch branches: {error}"));
        }
        // Where the two lines part: the branch point of the newer one.
        let newer = if back {
            &left.branches
        } else {
            &target.branches
        };
        let step = newer.last().copied().unwrap_or(0);
        let budget = self.keyframes.budget();
        self.keyframes = target.keyframes;
        self.keyframes.set_budget(budget);
        self.branches = target.branches;
        if back {
            self.undone.push(left);
        } else {
            self.before.push(left);
        }
        self.shown = None;
        if let Some(shown) = target.shown {
            // A refusal here leaves the present shown; the switch itself happened.
            let _ = self.show_step(live, Some(shown), source, watched);
        }
        Ok((target.params, step))
    }
}

/// Slots completed by `sim` (algebraic mode: rows read): the keyframe boundary index.
fn completed_slots(sim: &Simulation) -> usize {
    match sim.dynamic() {
        Some(dynamic) => dynamic
            .schedule()
            .slot_index_at(dynamic.step_index())
            .unwrap_or(dynamic.schedule().slots.len()),
        None => sim.step_index() as usize,
    }
}

#[cfg(test)]
#[path = "tests/timeline.rs"]
mod tests;
