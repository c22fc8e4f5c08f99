//! What a run records and publishes: trace samples every `stride` steps and at slot ends, read
//! rows as they complete, the metrics over the rows read, the probes, and the snapshot that
//! gathers it all. It sees the simulation only through the calls it is given, so it is tested
//! without a thread.

use super::control::Control;
use super::live::Live;
use super::publisher::{Mailbox, Publisher};
use super::subset::SubsetPicker;
use super::timeline::Timeline;
use crate::model::metrics::{Metrics, PerQuery};
use crate::model::params::Params;
use crate::model::schedule::Phase;
use crate::model::simulation::Simulation;
use crate::sim::checkpoint::Checkpoint;
use crate::sim::command::SubsetRequest;
use crate::sim::snapshot::{self, BranchSwitch, RowUpdate, RunInfo, RunState, Snapshot, Status};
use crate::sim::trace::{Probe, TraceSample};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Trace samples per run: the sampling stride is chosen so that a whole run fits.
const SAMPLES_PER_RUN: u64 = 4_000;
/// The row of A_dyn forming now is computed only while N·m' stays below this (it costs a step).
const LIVE_ROW_LIMIT: usize = 1 << 22;

/// Metrics before any row is read.
pub fn no_metrics() -> Metrics {
    Metrics {
        attn_tv: f64::NAN,
        attn_max_abs: f64::NAN,
        output_rel_err: f64::NAN,
        calcium_corr: f64::NAN,
        calcium_rel_err: f64::NAN,
    }
}

/// The rest of the worker a snapshot describes.
pub struct Scene<'a> {
    pub status: &'a Status,
    pub params: &'a Params,
    pub control: &'a Control,
    pub timeline: &'a Timeline,
}

/// Records the live run and publishes it.
pub struct Recorder {
    publisher: Publisher,
    /// Increases at every (re)build; the UI drops history of older ones.
    generation: u64,
    revision: u64,
    run: Option<Arc<RunInfo>>,
    /// Trace samples are taken every `stride` steps (and at the end of each slot).
    stride: u64,
    /// The step that ends the current slot (u64::MAX past the end, or in algebraic mode).
    next_boundary: u64,
    rows_sent: Vec<bool>,
    rows_completed: usize,
    metrics: Metrics,
    /// Per-query diagnostics, computed with `metrics` over the same rows.
    per_query: Arc<PerQuery>,
    /// Rows read when `metrics` was computed.
    metrics_rows: usize,
    probes: Vec<Probe>,
    subset: SubsetPicker,
}

impl Recorder {
    /// Publishes into `mailbox`, calling `notify` after each publication.
    pub fn new(mailbox: Arc<Mutex<Mailbox>>, notify: Box<dyn Fn() + Send>) -> Self {
        Recorder {
            publisher: Publisher::new(mailbox, notify),
            generation: 0,
            revision: 0,
            run: None,
            stride: 1,
            next_boundary: 0,
            rows_sent: Vec::new(),
            rows_completed: 0,
            metrics: no_metrics(),
            per_query: Arc::default(),
            metrics_rows: 0,
            probes: Vec::new(),
            subset: SubsetPicker::default(),
        }
    }

    #[cfg(test)]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    #[cfg(test)]
    pub fn rows_completed(&self) -> usize {
        self.rows_completed
    }

    #[cfg(test)]
    pub fn stride(&self) -> u64 {
        self.stride
    }

    /// The hidden neurons the probes read.
    pub fn watched(&self) -> Vec<usize> {
        self.probes.iter().filter_map(Probe::hidden).collect()
    }

    /// Drops the run: a new generation, and nothing gathered for the old one is published.
    pub fn discard(&mut self) {
        self.run = None;
        self.generation += 1;
        self.publisher.clear();
    }

    /// The run is gone (a failure); its info goes with it.
    pub fn forget_run(&mut self) {
        self.run = None;
    }

    /// Starts recording a freshly built run: a new generation, its fixed info, and the first
    /// trace sample. A layer that already ran (a new head selected) replays the shown head's
    /// calcium and rows so far.
    pub fn begin(&mut self, live: &mut Live, dt: f64) {
        self.generation += 1;
        self.publisher.clear();
        let sizes = live.network().sizes;
        let slots = live
            .dynamic()
            .map(|d| d.schedule().slots.clone())
            .unwrap_or_default();
        let run = RunInfo {
            source: live.sequence().source.clone(),
            tokens: live.sequence().tokens.clone(),
            origin: live.sequence().origin.clone(),
            sizes,
            slots,
            softmax_attention: live.reference().attention.clone(),
            normaliser: live.reference().normaliser(),
            memory_bytes: live.memory_bytes(),
            total_steps: live.total_steps(),
            total_ms: live.total_ms(),
            dynamic: live.dynamic().is_some(),
        };
        self.stride = (run.total_steps / SAMPLES_PER_RUN).max(1);
        self.next_boundary = live.current_slot().map_or(u64::MAX, |s| s.end_step());
        self.rows_sent = vec![false; sizes.tokens];
        self.rows_completed = 0;
        self.metrics = no_metrics();
        self.per_query = Arc::default();
        self.metrics_rows = 0;
        self.run = Some(Arc::new(run));
        live.set_watch(&self.watched());
        self.sample(live);
        let replayed = live.recorded_calcium(self.generation, dt);
        if live.is_layer() {
            for sample in replayed {
                self.publisher.push_sample(sample);
            }
            self.collect_rows(live);
            if self.rows_completed > 0 {
                self.refresh_metrics(live);
            }
        }
    }

    /// Steps `live` may take from `step` before the current slot ends (at least one).
    pub fn room(&self, step: u64) -> u64 {
        self.next_boundary.saturating_sub(step).max(1)
    }

    /// Records the block of steps `live` just took from step `before`: rows read by a slot's
    /// end, and a trace sample every `stride`-th step and at the slot's last one. Returns
    /// whether the block ended a slot (algebraic mode: every row), where keyframes are taken.
    pub fn after_block(&mut self, live: &Live, before: u64) -> bool {
        let step = live.step_index();
        let dynamic = live.dynamic().is_some();
        let boundary = step >= self.next_boundary;
        if boundary {
            self.next_boundary = live.current_slot().map_or(u64::MAX, |s| s.end_step());
        }
        if boundary || !dynamic {
            self.collect_rows(live);
        }
        if let Some(sim) = live.dynamic() {
            // Every stride-th step of the block, and the slot's last step.
            let first = before + 1;
            for s in first..=step {
                if s.is_multiple_of(self.stride) || (boundary && s == step) {
                    let state = sim.block_step((s - first) as usize);
                    let sample = TraceSample::record(self.generation, &self.probes, state);
                    self.publisher.push_sample(sample);
                }
            }
        }
        boundary || !dynamic
    }

    /// Records the present state as a trace sample (dynamic mode).
    pub fn sample(&mut self, live: &Simulation) {
        let Some(dynamic) = live.dynamic() else {
            return;
        };
        let sample = TraceSample::record(self.generation, &self.probes, dynamic.now());
        self.publisher.push_sample(sample);
    }

    /// New probes; the simulation records their hidden neurons inside blocks.
    pub fn set_probes(&mut self, probes: Vec<Probe>, live: Option<&mut Live>) {
        self.probes = probes;
        if let Some(live) = live {
            live.set_watch(&self.watched());
        }
    }

    pub fn set_subset(&mut self, request: SubsetRequest) {
        self.subset.request = request;
    }

    /// Sends every row `sim` has read and this generation has not sent yet.
    pub fn collect_rows(&mut self, sim: &Simulation) {
        let output = sim.output();
        for (t, done) in output.rows_done.iter().enumerate() {
            if *done && !self.rows_sent[t] {
                self.rows_sent[t] = true;
                self.rows_completed += 1;
                self.publisher.push_row(RowUpdate {
                    generation: self.generation,
                    query: t,
                    attention: output.attention.row(t).to_vec(),
                    calcium: output.calcium[t],
                });
            }
        }
    }

    fn refresh_metrics(&mut self, sim: &Simulation) {
        self.metrics = sim.metrics();
        self.per_query = Arc::new(sim.per_query());
        self.metrics_rows = self.rows_completed;
    }

    /// After a branch at `step`: `sim` went back there, so its rows and slot are the run's, and
    /// the trace past `step` goes.
    pub fn after_branch(&mut self, sim: &Simulation, step: u64) {
        let rows_done = sim.output().rows_done.clone();
        self.rows_sent.clone_from(&rows_done);
        self.rows_completed = rows_done.iter().filter(|done| **done).count();
        self.metrics = sim.metrics();
        self.metrics_rows = self.rows_completed;
        self.next_boundary = sim.current_slot().map_or(u64::MAX, |s| s.end_step());
        self.publisher.truncate_after(step, rows_done);
    }

    /// After an undo (`back`) or redo of the branch at `step`: the trace past it swaps lines,
    /// and every row the restored line has read is sent again.
    pub fn after_switch(&mut self, sim: &Simulation, step: u64, back: bool) {
        let rows_done = sim.output().rows_done.clone();
        self.metrics = sim.metrics();
        self.per_query = Arc::new(sim.per_query());
        self.next_boundary = sim.current_slot().map_or(u64::MAX, |s| s.end_step());
        self.publisher.switch_branch(BranchSwitch {
            step,
            rows_done: rows_done.clone(),
            back,
        });
        self.rows_sent = vec![false; rows_done.len()];
        self.rows_completed = 0;
        self.collect_rows(sim);
        self.metrics_rows = self.rows_completed;
    }

    /// After a saved state was opened at `sim`'s step: the trace it recorded before the save,
    /// as this generation's past, then the rows read before the save, as if just read.
    pub fn resume(&mut self, sim: &Simulation, trace: Vec<TraceSample>) {
        let step = sim.step_index();
        if !trace.is_empty() {
            self.publisher.clear();
            for sample in trace.into_iter().filter(|s| s.step < step) {
                self.publisher.push_sample(TraceSample {
                    generation: self.generation,
                    ..sample
                });
            }
            self.sample(sim);
        }
        self.collect_rows(sim);
        self.metrics = sim.metrics();
        self.metrics_rows = self.rows_completed;
        self.next_boundary = sim.current_slot().map_or(u64::MAX, |s| s.end_step());
    }

    /// The state captured for File ▸ Save state, or why it could not be.
    pub fn captured(&mut self, captured: Result<Arc<Checkpoint>, String>) {
        self.publisher.captured(captured);
    }

    pub fn since_last_publication(&self, now: Instant) -> Duration {
        self.publisher.since_last(now)
    }

    /// Publishes a snapshot of `live` and `scene` with everything gathered since the last.
    pub fn publish(&mut self, live: Option<&mut Live>, scene: Scene<'_>) {
        if let Some(sim) = live.as_deref()
            && self.rows_completed != self.metrics_rows
        {
            self.refresh_metrics(sim);
        }
        let snapshot = self.snapshot(live, scene);
        self.publisher.publish(snapshot);
    }

    fn snapshot(&mut self, live: Option<&mut Live>, scene: Scene<'_>) -> Snapshot {
        self.revision += 1;
        let control = scene.control;
        let state = match &live {
            None => RunState::Failed,
            Some(sim) if sim.is_finished() => RunState::Finished,
            Some(_) if control.running() => RunState::Running,
            Some(_) => RunState::Paused,
        };
        let (layer, live) = match live {
            Some(live) => (
                live.layer_snapshot(self.rows_completed).map(Arc::new),
                Some(&*live),
            ),
            None => (None, None),
        };
        let live = live.map(Live::head);
        let shown = scene.timeline.scrubbed().filter(|_| live.is_some());
        let scrubbed = shown.is_some();
        let sim = shown.or(live);
        let subset = self.subset.pick(sim, &self.probes);
        let keyframes = scene.timeline.keyframes();
        let timeline = snapshot::Timeline {
            live_step: live.map_or(0, Simulation::step_index),
            live_time_ms: live.map_or(0.0, Simulation::time_ms),
            scrubbed,
            rows_done: sim.map_or_else(Vec::new, |sim| sim.output().rows_done.clone()),
            keyframe_steps: keyframes.steps(),
            keyframe_bytes: keyframes.bytes(),
            keyframe_budget: keyframes.budget(),
            branches: scene.timeline.branches().to_vec(),
            live_metrics: scrubbed.then_some(self.metrics),
        };
        let dynamic = sim.and_then(Simulation::dynamic);
        let live_row = dynamic.and_then(|d| {
            let slot = d.current_slot()?;
            let sizes = d.network().sizes;
            (slot.phase == Phase::Read && sizes.tokens * sizes.hidden <= LIVE_ROW_LIMIT)
                .then(|| (slot.token, d.attention_row_now(slot.token).to_vec()))
        });
        Snapshot {
            generation: self.generation,
            revision: self.revision,
            state,
            status: scene.status.clone(),
            params: scene.params.clone(),
            speed: control.speed,
            looping: control.looping,
            run: self.run.clone(),
            step: sim.map_or(0, Simulation::step_index),
            time_ms: sim.map_or(0.0, Simulation::time_ms),
            slot: sim.and_then(Simulation::current_slot),
            calcium: dynamic.map_or(f64::NAN, |d| d.calcium_normalised()),
            metrics: if scrubbed {
                sim.map_or_else(no_metrics, Simulation::metrics)
            } else {
                self.metrics
            },
            per_query: if scrubbed {
                Arc::new(sim.map(Simulation::per_query).unwrap_or_default())
            } else {
                self.per_query.clone()
            },
            rows_completed: if scrubbed {
                timeline.rows_done.iter().filter(|done| **done).count()
            } else {
                self.rows_completed
            },
            live_row,
            subset,
            probes: self.probes.clone(),
            steps_per_s: control.meter.steps_per_s(),
            run_steps_total: control.meter.total_steps(),
            run_wall_s_total: control.meter.total_wall_s(Instant::now()),
            timeline,
            layer,
        }
    }
}

#[cfg(test)]
#[path = "tests/recorder.rs"]
mod tests;
