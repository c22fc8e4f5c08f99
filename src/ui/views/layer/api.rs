//! Placeholder for the worker's layer snapshot until branch `layer` lands it (same names and
//! fields as its contract), so the views compile and can be drawn from test data.

use ndarray::Array2;

pub struct LayerSnapshot {
    pub heads: Vec<HeadSnapshot>,
    pub selected: usize,
    pub layer_output_rel_err: Option<f64>,
    pub output_diff: Option<Array2<f64>>,
    pub per_token_rel_err: Vec<f64>,
}

pub struct HeadSnapshot {
    pub head: usize,
    pub calcium: f64,
    pub z_t: f64,
    pub attn_tv: f64,
    pub calcium_corr: f64,
    pub calcium_trace: Vec<(f64, f64)>,
    pub z_trace: Vec<(f64, f64)>,
}

pub fn layer_of(_snapshot: &crate::sim::Snapshot) -> Option<&LayerSnapshot> {
    None
}

/// The worker command that makes `head` the one the single-head fields describe.
pub fn select_head(_head: usize) -> Option<crate::sim::Command> {
    None
}

/// Sets `params` to run every head of its layer.
pub fn set_all_heads(_params: &mut crate::model::params::Params) {}
