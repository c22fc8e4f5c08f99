//! A run's whole state with the experiment it belongs to ([`Checkpoint`]), and the keyframes a
//! state file keeps ([`SavedKeyframes`]): what File ▸ Save state and `run --save-state` write and
//! `io::checkpoint` reads.

use super::keyframes::Keyframes;
use super::trace::TraceSample;
use crate::data::experiment::Experiment;
use crate::model::params::Params;
use crate::model::simulation::SimState;

/// A run's whole state with the experiment it belongs to: what a state file holds
/// (`io::checkpoint` reads and writes it) and what the worker captures for File ▸ Save state.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The experiment the run belongs to.
    pub experiment: Experiment,
    pub state: SimState,
    /// Trace samples recorded so far (calcium only; the app's saved states carry the trace its
    /// history holds).
    pub trace: Vec<TraceSample>,
    /// The run's keyframes and live edits, so that earlier times replay from them after the
    /// file is opened (None: the file keeps none, as format 1 and `run --save-state` files).
    pub keyframes: Option<SavedKeyframes>,
}

/// What a state file keeps of a run's past: its keyframes and live edits, and the parameters
/// it started with (times before the first keyframe replay from a fresh state of those).
#[derive(Clone, Debug, PartialEq)]
pub struct SavedKeyframes {
    pub start: Params,
    pub keyframes: Keyframes,
}
