//! Headless jobs: what the command-line subcommands run (`run`, `sweep`, `budget`, `figure`,
//! `compare`, `encode`), above `sim/` (the simulations) and `io/` (the files they write).
//! Each job reports how far it is through [`progress::Progress`]; `cli` only parses arguments
//! and picks the job. [`background::Background`] runs the app's one-off slow jobs off the UI
//! thread in the worker's shape (start with a notify, poll once a frame).

pub mod background;
pub mod budget;
pub mod compare;
pub mod encode;
pub mod figure;
pub mod layer;
pub mod learn;
pub mod progress;
pub mod run;
pub mod sweep;
