//! `run --out DIR` of a whole layer (`heads = all`): every file with a leading head axis (see
//! MODEL.md, "A whole layer"). `jobs::layer` runs the layer.
//!
//! Files: `q.npy`, `k.npy`, `v.npy` (H × N × D, H × N × D, H × N × d), `W.npy` (H × m × D),
//! `attention_network.npy`, `attention_softmax.npy` (H × N × N), `c.npy`, `z.npy` (H × N),
//! `layer_output.npy` (N × d_model, the network's concat(y)·W_O + b_o),
//! `layer_output_softmax.npy` (the same with A_soft), `layer_output_transformer.npy` (the
//! transformer's own value, when the source knows it), `tokens.txt` and `metrics.json` (a
//! [`LayerReport`]: the layer's summary on top, one object per head in `per_head`).

use super::json::SequenceInfo;
use super::npy::write_npy;
use super::{ExportError, write_bytes};
use crate::model::layer::{LayerMetrics, LayerSimulation};
use crate::model::metrics::{Metrics, PerQuery};
use crate::model::params::Params;
use ndarray::{Array2, Array3, Axis, stack};
use serde::Serialize;
use std::path::Path;

/// `metrics.json` of a layer run (and `run --set heads=all --json`): the layer's own summary at
/// the top level, every head's figures in `per_head`. Nothing at the top level describes one
/// head, so a reader cannot take head 0 (or the selected head) for the layer.
#[derive(Clone, Debug, Serialize)]
pub struct LayerReport {
    pub head_count: usize,
    /// Mean of the heads' attn_tv (null when any head's is undefined).
    pub mean_attn_tv: Option<f64>,
    /// The largest attn_tv of any head, and that head.
    pub worst_attn_tv: Option<f64>,
    pub worst_head: usize,
    /// ‖L_net − L_ref‖_F / ‖L_ref‖_F of the layer output concat(y)·W_O + b_o (null before a row
    /// is read).
    pub layer_output_rel_err: Option<f64>,
    /// The layer's parameters as given (`heads = all`; each head draws its projection from
    /// its own seed, see MODEL.md).
    pub params: Params,
    /// The tokens every head reads.
    pub sequence: SequenceInfo,
    /// Euler steps taken by each head (algebraic mode: read rows).
    pub steps: u64,
    pub sim_time_ms: f64,
    pub wall_s: f64,
    pub steps_per_s: f64,
    /// Tripartite synapses d·m', summed over the heads.
    pub synapses: u64,
    pub per_head: Vec<HeadReport>,
}

/// One head of a layer report: its five metrics and its per-query diagnostics.
#[derive(Clone, Debug, Serialize)]
pub struct HeadReport {
    pub head: usize,
    #[serde(flatten)]
    pub metrics: Metrics,
    pub per_query: PerQuery,
}

/// A number, or `None` (JSON `null`) when it is undefined.
fn defined(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

impl LayerReport {
    /// The report of a finished (or running) layer run with `params` (the experiment's, as
    /// given: the simulation's own are head 0's); `wall_s` is its wall-clock time (s).
    pub fn of(params: &Params, sim: &LayerSimulation, wall_s: f64) -> Self {
        let steps = sim.step_index();
        let LayerMetrics {
            per_head,
            layer_output_rel_err,
            worst_head,
        } = sim.metrics();
        let tvs: Vec<f64> = per_head.iter().map(|m| m.attn_tv).collect();
        let mean_attn_tv = defined(tvs.iter().sum::<f64>() / tvs.len().max(1) as f64);
        let worst_attn_tv = tvs.get(worst_head).copied().and_then(defined);
        let mut sequence = SequenceInfo::of(sim.head(0).sequence());
        sequence.head = None;
        LayerReport {
            head_count: sim.head_count(),
            mean_attn_tv,
            worst_attn_tv,
            worst_head,
            layer_output_rel_err: layer_output_rel_err.and_then(defined),
            params: params.clone(),
            sequence,
            steps,
            sim_time_ms: sim.time_ms(),
            wall_s,
            steps_per_s: steps as f64 / wall_s.max(1e-12),
            synapses: sim
                .heads()
                .iter()
                .map(|h| h.network().sizes.synapses())
                .sum(),
            per_head: per_head
                .into_iter()
                .enumerate()
                .map(|(h, metrics)| HeadReport {
                    head: h,
                    metrics,
                    per_query: sim.head(h).per_query(),
                })
                .collect(),
        }
    }

    /// The report as pretty JSON (undefined numbers are `null`), keys sorted as in a
    /// single head's `metrics.json`.
    pub fn json(&self) -> String {
        let value = serde_json::to_value(self).expect("layer reports always serialise");
        serde_json::to_string_pretty(&value).expect("a JSON value serialises")
    }
}

/// Stacks one N × … array per head along a new leading axis.
fn stacked(arrays: Vec<Array2<f64>>) -> Result<Array3<f64>, ExportError> {
    let views: Vec<_> = arrays.iter().map(|a| a.view()).collect();
    stack(Axis(0), &views).map_err(|e| {
        ExportError::Shape(format!(
            "the heads' arrays differ in shape and cannot share a head axis ({e})"
        ))
    })
}

/// Writes every file of `run --out DIR` for a layer.
pub fn write_layer_outputs(
    dir: &Path,
    params: &Params,
    sim: &LayerSimulation,
    wall_s: f64,
) -> Result<(), ExportError> {
    std::fs::create_dir_all(dir).map_err(|e| ExportError::Write {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    write_bytes(
        &dir.join("metrics.json"),
        LayerReport::of(params, sim, wall_s).json().as_bytes(),
    )?;
    let heads = sim.heads();
    let per_head = |f: &dyn Fn(usize) -> Array2<f64>| -> Result<Array3<f64>, ExportError> {
        stacked((0..heads.len()).map(f).collect())
    };
    let write3 = |name: &str, array: Array3<f64>| write_npy(&dir.join(name), &array);
    write3("q.npy", per_head(&|h| heads[h].sequence().queries.clone())?)?;
    write3("k.npy", per_head(&|h| heads[h].sequence().keys.clone())?)?;
    write3("v.npy", per_head(&|h| heads[h].sequence().values.clone())?)?;
    write3(
        "W.npy",
        per_head(&|h| heads[h].network().projection.clone())?,
    )?;
    write3(
        "attention_network.npy",
        per_head(&|h| heads[h].output().attention.clone())?,
    )?;
    write3(
        "attention_softmax.npy",
        per_head(&|h| heads[h].reference().attention.clone())?,
    )?;
    let rows = |values: Vec<f64>| Array2::from_shape_vec((1, values.len()), values);
    let vectors = |f: &dyn Fn(usize) -> Vec<f64>| -> Result<Array2<f64>, ExportError> {
        let rows: Vec<Array2<f64>> = (0..heads.len())
            .map(|h| rows(f(h)).expect("one row"))
            .collect();
        let views: Vec<_> = rows.iter().map(|a| a.view()).collect();
        ndarray::concatenate(Axis(0), &views)
            .map_err(|e| ExportError::Shape(format!("the heads' vectors differ in length ({e})")))
    };
    write_npy(
        &dir.join("c.npy"),
        &vectors(&|h| heads[h].output().calcium.clone())?,
    )?;
    write_npy(
        &dir.join("z.npy"),
        &vectors(&|h| heads[h].reference().normaliser())?,
    )?;
    write_npy(&dir.join("layer_output.npy"), &sim.layer_output())?;
    write_npy(
        &dir.join("layer_output_softmax.npy"),
        &sim.layer_output_softmax(),
    )?;
    if let Some(transformer) = &sim.layer().transformer_output {
        write_npy(&dir.join("layer_output_transformer.npy"), transformer)?;
    }
    let tokens = &heads[0].sequence().tokens;
    write_bytes(
        &dir.join("tokens.txt"),
        (tokens.join("\n") + "\n").as_bytes(),
    )
}
