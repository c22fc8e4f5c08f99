//! Running simulations. The worker thread ([`worker`]) is the only owner of an interactive
//! run: commands in, snapshots and bounded trace history out; the UI reads what it publishes
//! and never steps the model. Its parts: [`pacing`], [`meter`], [`publisher`], [`subset`].
//! Headless runs ([`run`]) and batches of them ([`batch`]) share one run-to-end loop.

pub mod batch;
pub mod budget;
pub mod command;
pub mod compare;
pub mod history;
pub mod keyframes;
pub mod layer;
pub mod meter;
pub mod pacing;
pub mod publisher;
pub mod ring;
pub mod run;
pub mod snapshot;
pub mod subset;
pub mod thread;
pub mod worker;

pub use command::{Command, Probe, Speed, SubsetMode, SubsetRequest};
pub use history::RunHistory;
pub use layer::{HeadSnapshot, LayerSnapshot};
pub use ring::Ring;
pub use snapshot::{
    NeuronState, RowUpdate, RunInfo, RunState, Snapshot, Status, SubsetState, Timeline,
    TraceSample, Update,
};
pub use worker::{FULL_SPEED_PUBLISH_INTERVAL, PUBLISH_INTERVAL, Start, Worker};
