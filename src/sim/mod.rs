//! The worker thread: commands in, snapshots and bounded trace history out. It is the only
//! owner of a running simulation; the UI reads what it publishes and never steps the model.

pub mod batch;
pub mod command;
pub mod history;
pub mod ring;
pub mod run;
pub mod snapshot;
pub mod thread;
pub mod worker;

pub use command::{Command, Probe, Speed, SubsetMode, SubsetRequest};
pub use history::RunHistory;
pub use ring::Ring;
pub use snapshot::{
    NeuronState, RowUpdate, RunInfo, RunState, Snapshot, SubsetState, TraceSample, Update,
};
pub use worker::{FULL_SPEED_PUBLISH_INTERVAL, PUBLISH_INTERVAL, Start, Worker};
