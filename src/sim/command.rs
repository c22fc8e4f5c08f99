//! What the UI may ask of the worker.

use super::checkpoint::Checkpoint;
use super::trace::Probe;
use crate::data::experiment::Experiment;
use crate::model::params::Params;
use crate::model::sequence::Sequence;
use std::sync::Arc;

/// How fast the worker advances simulated time while running.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Speed {
    /// As fast as possible: many steps between publications.
    Max,
    /// Simulated milliseconds per wall-clock second.
    MsPerSecond(f64),
}

impl Default for Speed {
    fn default() -> Self {
        Speed::MsPerSecond(1000.0)
    }
}

/// Which hidden (and, when there are many, input and output) neurons the snapshot carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SubsetMode {
    /// The neurons with the largest |rate| right now.
    #[default]
    MostActive,
    /// Evenly spaced indices, fixed for the whole run.
    FixedSample,
}

impl SubsetMode {
    pub fn label(self) -> &'static str {
        match self {
            SubsetMode::MostActive => "most active",
            SubsetMode::FixedSample => "fixed sample",
        }
    }
}

/// How many neurons per layer the snapshot carries, and how they are chosen.
#[derive(Clone, Debug, PartialEq)]
pub struct SubsetRequest {
    pub mode: SubsetMode,
    pub max_inputs: usize,
    pub max_hidden: usize,
    pub max_outputs: usize,
    /// The selected query t: the shown hidden neurons also carry φ(q̃_t).
    pub query: Option<usize>,
}

impl Default for SubsetRequest {
    fn default() -> Self {
        SubsetRequest {
            mode: SubsetMode::MostActive,
            max_inputs: 16,
            max_hidden: 24,
            max_outputs: 8,
            query: None,
        }
    }
}

/// A request from the UI to the worker.
#[derive(Clone, Debug)]
pub enum Command {
    /// Run until paused or finished.
    Run,
    Pause,
    /// Advance one Euler step of dt (algebraic mode: one read row), then pause.
    StepDt,
    /// Advance to the end of the current slot, then pause.
    StepSlot,
    /// Run at full speed to the end of the schedule.
    RunToEnd,
    /// Run at full speed until `step` (or the end), then pause.
    RunToStep(u64),
    /// Rebuild the simulation at time 0 with the current parameters and sequence (recovers
    /// from a failure).
    Reset,
    SetSpeed(Speed),
    /// Restart automatically when the run ends.
    SetLoop(bool),
    /// New parameters: applied live when only time constants, η, λ or c_min change,
    /// otherwise the simulation is rebuilt.
    SetParams(Params),
    /// A whole new setup; its sequence is loaded on the worker thread.
    LoadExperiment(Box<Experiment>),
    /// A sequence made elsewhere, with the parameters to run it with.
    LoadSequence {
        sequence: Arc<Sequence>,
        params: Box<Params>,
    },
    /// Which neurons the snapshots carry.
    SetSubset(SubsetRequest),
    /// Items to trace over time (also always shown in the subset).
    SetProbes(Vec<Probe>),
    /// Show the state after this many steps (an earlier time: the worker replays it from the
    /// nearest keyframe, leaving the live run alone); None, or the present step, shows the present.
    ShowStep(Option<u64>),
    /// Branch at the shown step: the run's future is discarded and the live simulation goes on
    /// from the state at that step with these parameters (live parameters only).
    Branch(Box<Params>),
    /// Undo the latest branch: the run as it was before it (its state, parameters, keyframes,
    /// branch marks and trace) comes back, and the branched line is kept for redo.
    UndoBranch,
    /// Redo the branch the last `UndoBranch` took back.
    RedoBranch,
    /// The most memory keyframes may hold (bytes); fewer are kept, evenly spaced, when lowered.
    SetKeyframeBudget(usize),
    /// Capture the live run's whole state with its experiment; the next update carries it
    /// (File ▸ Save state writes it).
    CaptureState,
    /// Continue a saved run: its experiment is loaded and the simulation put in its state.
    LoadState(Box<Checkpoint>),
    /// With a whole layer running (heads = all): make head h the one the snapshot's
    /// single-head fields (graph, traces, matrices, metrics) describe.
    SelectHead(usize),
    /// Test hook: the worker panics on its next step, as a bug in the model would.
    #[doc(hidden)]
    InjectPanic,
    /// Stop the worker thread.
    Quit,
}
