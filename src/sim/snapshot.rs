//! What the worker publishes: the latest state of the shown subset, plus the rows and trace
//! samples produced since the last publication.

use super::checkpoint::Checkpoint;
use super::command::{Speed, SubsetMode};
use super::trace::Probe;
use super::trace::TraceSample;
use crate::model::metrics::{Metrics, PerQuery};
use crate::model::network::Sizes;
use crate::model::params::Params;
use crate::model::schedule::Slot;
use crate::model::sequence::TextOrigin;
use ndarray::Array2;
use std::sync::Arc;

/// Whether the worker is advancing time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    Paused,
    Running,
    Finished,
    /// No simulation: building failed or the worker caught a panic. Reset retries.
    Failed,
}

/// What stays fixed for one build of the simulation (shared, never copied per snapshot).
#[derive(Debug)]
pub struct RunInfo {
    /// The sequence's source, e.g. `synthetic:12x32`.
    pub source: String,
    pub tokens: Vec<String>,
    /// The text, model, layer and head the sequence was encoded from (real text only).
    pub origin: Option<TextOrigin>,
    pub sizes: Sizes,
    /// Every slot of the dynamic schedule (empty in algebraic mode).
    pub slots: Vec<Slot>,
    /// A_soft (N × N).
    pub softmax_attention: Array2<f64>,
    /// Z_t, the softmax normaliser of each query.
    pub normaliser: Vec<f64>,
    /// Planned memory of the run (bytes), from `model::network::memory_estimate`.
    pub memory_bytes: u64,
    pub total_steps: u64,
    /// Length of the whole run (ms); 0 in algebraic mode.
    pub total_ms: f64,
    /// Whether the run is dynamic (it has time and neuron activity).
    pub dynamic: bool,
}

/// The worker's last word to the user, one sentence.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Status {
    #[default]
    Quiet,
    /// A parameter change was applied (live or by a rebuild), in words.
    Applied(String),
    /// A parameter change or an experiment was refused, with the reason; the simulation that
    /// was running is kept.
    Refused(String),
    /// There is no simulation (with `RunState::Failed`): it could not be built or it crashed.
    /// Reset retries.
    Failed(String),
}

impl Snapshot {
    /// Why the simulation failed (with `RunState::Failed`).
    pub fn failure(&self) -> Option<&str> {
        match &self.status {
            Status::Failed(text) => Some(text),
            _ => None,
        }
    }
    /// The parameter change just applied, in words.
    pub fn notice(&self) -> Option<&str> {
        match &self.status {
            Status::Applied(text) => Some(text),
            _ => None,
        }
    }
    /// The change just refused, with the reason.
    pub fn rejected(&self) -> Option<&str> {
        match &self.status {
            Status::Refused(text) => Some(text),
            _ => None,
        }
    }
}

/// One neuron of the shown subset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NeuronState {
    /// Index in its layer.
    pub index: usize,
    /// Firing rate (NaN in algebraic mode, which has no activity).
    pub rate: f64,
}

/// The shown part of the network: O(subset) numbers, however large m' is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SubsetState {
    pub mode: SubsetMode,
    pub inputs: Vec<NeuronState>,
    pub hidden: Vec<NeuronState>,
    pub outputs: Vec<NeuronState>,
    /// g_j of each shown hidden neuron (presynaptic weight onto the astrocyte).
    pub presynaptic: Vec<f64>,
    /// p_ij, row-major: `process[i * hidden.len() + j]` for shown output i and hidden j.
    pub process: Vec<f64>,
    /// H_ij, in the same layout as `process`.
    pub synapse: Vec<f64>,
    /// φ(q̃_t) of each shown hidden neuron for the requested query t (empty when none is
    /// requested or t is past the sequence).
    pub query_features: Vec<f64>,
    /// The query t those features belong to.
    pub query: Option<usize>,
}

impl SubsetState {
    pub fn process_at(&self, output: usize, hidden: usize) -> f64 {
        self.process[output * self.hidden.len() + hidden]
    }
    pub fn synapse_at(&self, output: usize, hidden: usize) -> f64 {
        self.synapse[output * self.hidden.len() + hidden]
    }
}

/// The latest state, replaced at every publication.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Increases at every (re)build; history from an older build must be dropped.
    pub generation: u64,
    /// Increases at every publication.
    pub revision: u64,
    pub state: RunState,
    /// The worker's last word: a change applied or refused, or why the simulation failed.
    pub status: Status,
    pub params: Params,
    pub speed: Speed,
    pub looping: bool,
    pub run: Option<Arc<RunInfo>>,
    pub step: u64,
    pub time_ms: f64,
    /// The slot the next step belongs to (dynamic mode, before the end).
    pub slot: Option<Slot>,
    /// Astrocyte calcium c / (η T_write), in softmax-normaliser units.
    pub calcium: f64,
    pub metrics: Metrics,
    /// Per-query diagnostics over the same completed rows as `metrics`.
    pub per_query: Arc<PerQuery>,
    /// Read rows completed so far.
    pub rows_completed: usize,
    /// The row of A_dyn forming in the current read slot: (query, row).
    pub live_row: Option<(usize, Vec<f64>)>,
    pub subset: SubsetState,
    pub probes: Vec<Probe>,
    /// Euler steps per wall second, measured over the last half second of running.
    pub steps_per_s: f64,
    /// Steps taken while running and the wall time spent running, since the worker started.
    pub run_steps_total: u64,
    pub run_wall_s_total: f64,
    /// Where the shown time sits in the run, and what the keyframes hold.
    pub timeline: Timeline,
    /// Every head of a whole layer (heads = all); None for one head.
    pub layer: Option<Arc<super::layer::LayerSnapshot>>,
}

/// The run's timeline: the present, the shown time when scrubbed back, keyframes and branches.
/// When [`Timeline::scrubbed`] is true every other field of the snapshot (step, time, slot,
/// calcium, metrics, subset, rows) describes the shown time, not the present.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    /// Steps the live run has taken (the present).
    pub live_step: u64,
    pub live_time_ms: f64,
    /// The snapshot shows an earlier time than the present.
    pub scrubbed: bool,
    /// Read rows completed by the shown time.
    pub rows_done: Vec<bool>,
    /// Steps at which keyframes are kept.
    pub keyframe_steps: Vec<u64>,
    pub keyframe_bytes: usize,
    pub keyframe_budget: usize,
    /// Steps at which the run was branched, in order.
    pub branches: Vec<u64>,
    /// The live run's metrics while scrubbed back (the snapshot's own are the shown time's);
    /// None at the present.
    pub live_metrics: Option<crate::model::metrics::Metrics>,
}

/// One read row completed: row t of A_net and c_t.
#[derive(Clone, Debug, PartialEq)]
pub struct RowUpdate {
    pub generation: u64,
    pub query: usize,
    pub attention: Vec<f64>,
    /// c_t in normaliser units.
    pub calcium: f64,
}

/// Everything taken from the worker in one go.
#[derive(Clone, Debug)]
pub struct Update {
    pub snapshot: Snapshot,
    pub samples: Vec<TraceSample>,
    pub rows: Vec<RowUpdate>,
    /// A branch discarded the future after this step: history past it must go, and rows not
    /// completed by then (false in the mask) are no longer read.
    pub truncate: Option<(u64, Vec<bool>)>,
    /// The state captured for File ▸ Save state, or why it could not be.
    pub captured: Option<Result<Arc<Checkpoint>, String>>,
    /// A branch was undone or redone: the trace past its step belongs to the other line.
    pub switch: Option<BranchSwitch>,
}

/// Undo (`back`) or redo of the branch at `step`: the trace after `step` is swapped with the
/// one the branch (or its undo) put aside, and rows not completed in the restored line
/// (false in `rows_done`) are cleared; the worker sends the restored line's rows again.
#[derive(Clone, Debug, PartialEq)]
pub struct BranchSwitch {
    pub step: u64,
    pub rows_done: Vec<bool>,
    pub back: bool,
}
