//! The engine's handlers for the commands that change what runs: loading an experiment,
//! applying parameters, Reset, selecting a layer's head, opening a saved state, and the
//! timeline's commands (show an earlier step, branch, undo and redo a branch). Each builds
//! through `live::build` and hands the result to the recorder and the timeline.

use super::Engine;
use super::live::{Live, Source, build, build_one};
use super::timeline::{Shown, Timeline};
use crate::data::experiment::Experiment;
use crate::model::params::LiveParams;
use crate::model::params::{Heads, Params, changed_params};
use crate::sim::checkpoint::{Checkpoint, SavedKeyframes};
use crate::sim::snapshot::Status;

impl Engine {
    /// Loads `experiment`. With a simulation running, a bad file, folder or text must not cost
    /// the user it: the new one is built aside and switched to only when it works.
    pub(super) fn load_experiment(&mut self, experiment: Experiment) {
        if self.sim.is_none() {
            self.params = experiment.params.clone();
            self.source = Source::experiment(experiment);
            // The last word was about the experiment this one replaces.
            self.status = Status::Quiet;
            self.rebuild();
            return;
        }
        let params = experiment.params.clone();
        let mut source = Source::experiment(experiment);
        match build(&source, &params, false) {
            Ok((sequence, live)) => {
                self.set_running(false);
                self.params = params;
                source.sequence = Some(sequence);
                self.source = source;
                self.status = Status::Quiet;
                self.install(live);
            }
            Err(error) => {
                self.status = Status::Refused(format!(
                    "Not loaded: {error}. The current experiment is unchanged."
                ));
                self.dirty = true;
            }
        }
    }

    /// Applies new parameters: live when possible, otherwise by a rebuild that keeps the
    /// running simulation if the new one cannot be built.
    pub(super) fn apply_params(&mut self, new: Params) {
        let changed = changed_params(&self.params, &new);
        if changed.is_empty() {
            return;
        }
        if let Err(error) = new.validate() {
            self.status = Status::Refused(format!("Not applied: {error}"));
            return;
        }
        let list = changed.join(", ");
        if !self.params.is_structural_change(&new) {
            if let Some(sim) = self.sim.as_mut() {
                if let Err(error) = sim.set_live(LiveParams::of(&new)) {
                    self.status = Status::Refused(format!("Not applied: {error}"));
                    return;
                }
                self.timeline.record_edit(sim.step_index(), &new);
            }
            self.params = new;
            self.status =
                Status::Applied(format!("Applied live to the running simulation: {list}."));
            return;
        }
        // A layer's sequence is the shown head's, not one to run alone.
        let reuse =
            !self.source.needs_reload(&self.params, &new) && self.params.heads != Heads::All;
        match build(&self.source, &new, reuse) {
            Ok((sequence, live)) => {
                let was_running = self.control.running();
                self.set_running(false);
                self.params = new;
                self.source.sequence = Some(sequence);
                self.install(live);
                self.status = Status::Applied(format!(
                    "Rebuilt the simulation ({list} changed): time restarts at 0."
                ));
                if was_running {
                    self.set_running(true);
                }
            }
            Err(error) => {
                self.status = Status::Refused(format!(
                    "Kept the running simulation; {list} not applied: {error}"
                ));
            }
        }
    }

    /// Builds the simulation afresh at time 0 (Reset; recovers from failures).
    pub(super) fn rebuild(&mut self) {
        self.set_running(false);
        self.sim = None;
        self.recorder.discard();
        match build(&self.source, &self.params, true) {
            Ok((sequence, live)) => {
                self.source.sequence = Some(sequence);
                self.install(live);
            }
            Err(error) => {
                self.status = Status::Failed(format!("Cannot build the simulation: {error}"));
                self.dirty = true;
            }
        }
    }

    /// Makes `live` the running simulation, recorded from its present step.
    pub(super) fn install(&mut self, mut live: Live) {
        self.recorder.begin(&mut live, self.params.dt);
        self.timeline.restart(&live);
        if matches!(self.status, Status::Failed(_)) {
            self.status = Status::Quiet;
        }
        self.sim = Some(live);
        self.dirty = true;
    }

    /// Makes head `head` of a running layer the one the snapshot's single-head fields describe.
    pub(super) fn select_head(&mut self, head: usize) {
        let Some(mut live) = self.sim.take() else {
            self.status = Status::Refused(
                "Only a whole layer (heads = all) has heads to choose from.".to_string(),
            );
            return;
        };
        if let Err(why) = live.select(head) {
            self.status = Status::Refused(why);
            self.sim = Some(live);
            return;
        }
        let running = self.control.running();
        let status = self.status.clone();
        self.set_running(false);
        self.params.head = head;
        self.install(live);
        self.status = status;
        if running {
            self.set_running(true);
        }
    }

    /// Shows the state after `step` steps (None or the present: the live run).
    pub(super) fn show_step(&mut self, step: Option<u64>) {
        let Some(live) = self.sim.as_ref() else {
            return;
        };
        let watched = self.recorder.watched();
        match self.timeline.show_step(live, step, &self.source, &watched) {
            Shown::Present => {}
            Shown::Earlier => self.set_running(false),
            Shown::Refused { paused, why } => {
                if paused {
                    self.set_running(false);
                }
                self.status = Status::Refused(why);
            }
        }
    }

    /// Loads a saved run: its experiment, then its state. A state that does not fit keeps the
    /// current simulation.
    pub(super) fn load_state(&mut self, checkpoint: Checkpoint) {
        self.set_running(false);
        self.dirty = true;
        if let Err(why) = Timeline::check_opens(&checkpoint) {
            self.status = Status::Refused(why);
            return;
        }
        let Checkpoint {
            experiment,
            state,
            trace,
            keyframes,
        } = checkpoint;
        let params = experiment.params.clone();
        let mut source = Source::experiment(experiment);
        let built = build_one(&source, &params, false).and_then(|(sequence, mut sim)| {
            source.sequence = Some(sequence);
            // Step 0 with the parameters the run started with, when the file records them.
            let fresh = match &keyframes {
                Some(saved) if saved.start != params => {
                    build_one(&source, &saved.start, true)?.1.state()
                }
                _ => sim.state(),
            };
            sim.restore(&state).map_err(|e| e.to_string())?;
            Ok((sim, fresh))
        });
        match built {
            Ok((sim, fresh)) => {
                let step = sim.step_index();
                self.params = sim.params().clone();
                self.source = source;
                let earlier = if keyframes.is_some() {
                    "earlier times replay from its keyframes"
                } else {
                    "the file keeps no keyframes, so earlier times replay from step 0"
                };
                self.status = Status::Applied(format!(
                    "Opened a saved state: the run continues from step {step}; {earlier}."
                ));
                self.install(Live::One(sim));
                // The saved keyframes and live edits (after `install`, which starts a new store).
                let saved = keyframes.map(|SavedKeyframes { keyframes, .. }| keyframes);
                self.timeline.resume(saved, fresh);
                if let Some(sim) = self.sim.as_ref() {
                    self.recorder.resume(sim, trace);
                }
            }
            Err(error) => {
                self.status = Status::Refused(format!(
                    "Not opened: {error}. The current experiment is unchanged."
                ));
            }
        }
    }

    /// Branches at the shown step with `new` parameters: the future is discarded. With the
    /// present shown, the parameters are applied as any edit.
    pub(super) fn branch(&mut self, new: Params) {
        if self.timeline.shown().is_none() {
            self.apply_params(new);
            return;
        }
        let Some(live) = self.sim.as_mut() else {
            return;
        };
        match self.timeline.branch(live, &self.params, &new) {
            Ok(Some(step)) => {
                self.recorder.after_branch(live, step);
                let changed = changed_params(&self.params, &new).join(", ");
                self.params = new;
                let with = if changed.is_empty() {
                    String::new()
                } else {
                    format!(" with {changed} changed")
                };
                self.status = Status::Applied(format!(
                    "Branched at step {step}: the run goes on from there{with}; undo (Ctrl+Z) brings the old run back."
                ));
            }
            Ok(None) => {}
            Err(why) => self.status = Status::Refused(why),
        }
    }

    /// Undoes (`back`) or redoes the latest branch.
    pub(super) fn switch_branch(&mut self, back: bool) {
        if !self.timeline.can_switch(back) {
            let what = if back { "undo" } else { "redo" };
            self.status = Status::Refused(format!("There is no branch to {what}."));
            return;
        }
        self.set_running(false);
        let Some(live) = self.sim.as_mut() else {
            return;
        };
        let watched = self.recorder.watched();
        match self
            .timeline
            .switch(live, &self.params, back, &self.source, &watched)
        {
            Ok((params, step)) => {
                self.params = params;
                self.recorder.after_switch(live, step, back);
                self.status = Status::Applied(if back {
                    format!(
                        "Undid the branch at step {step}: the run before it is back, future included."
                    )
                } else {
                    format!("Redid the branch at step {step}.")
                });
            }
            Err(why) => self.status = Status::Refused(why),
        }
        self.dirty = true;
    }
}
