//! tripartite: a lab for the neuron–astrocyte transformer of Kozachkov, Kastanenka & Krotov
//! (PNAS 2023). Data flows one way: `data` (sequences) → `model` (mathematics) → `sim`
//! (worker thread) → `ui` (egui views); `io` reads and writes experiment files and exports;
//! `jobs` are the command line's headless runs, above `sim` and `io`.

pub mod cli;
pub mod data;
pub mod io;
pub mod jobs;
pub mod model;
pub mod sim;
pub mod ui;
