//! The views: one struct per part of the window, each with `fn ui(&mut self, ui, …)`. They
//! read the worker's snapshots and return what the user asked for; they never step the model.

pub mod attention;
pub mod authors_figure;
pub mod compare;
pub mod controls;
pub mod digits;
pub mod graph;
pub mod heads;
pub mod help;
pub mod layer;
pub mod learn;
pub mod lesson;
pub mod lesson_figures;
pub mod out;
pub mod params;
pub mod per_query;
pub mod picker;
pub mod selection;
pub mod status;
pub mod sweep;
pub mod timeline;
pub mod traces;
pub mod welcome;
