//! Running simulations. The worker thread ([`worker`], a folder of small owners) is the only
//! owner of an interactive run: commands in ([`command`]), snapshots ([`snapshot`]) and bounded
//! trace history ([`history`]) out; the UI reads what it publishes and never steps the model.
//! What runs, files and the worker share sits below them: [`trace`] (probes and samples),
//! [`checkpoint`] (a saved run) and [`keyframes`].
//! Headless runs ([`run`]) and batches of them ([`batch`]) share one run-to-end loop.

pub mod batch;
pub mod budget;
pub mod checkpoint;
pub mod command;
pub mod compare;
pub mod history;
pub mod keyframes;
pub mod layer;
pub mod ring;
pub mod run;
pub mod snapshot;
pub mod thread;
pub mod trace;
pub mod worker;

pub use checkpoint::Checkpoint;
pub use command::{Command, Speed, SubsetMode, SubsetRequest};
pub use history::RunHistory;
pub use layer::{HeadSnapshot, LayerSnapshot};
pub use ring::Ring;
pub use snapshot::{
    NeuronState, RowUpdate, RunInfo, RunState, Snapshot, Status, SubsetState, Timeline, Update,
};
pub use trace::{Probe, TraceSample};
pub use worker::{FULL_SPEED_PUBLISH_INTERVAL, PUBLISH_INTERVAL, Start, Worker};
