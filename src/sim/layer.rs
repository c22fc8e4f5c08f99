//! The worker's side of a whole layer (`heads = all`): what it owns while a layer runs, and
//! the part of each snapshot that describes every head at once.
//!
//! One head is *selected*; every single-head field of the [`super::Snapshot`] (graph, traces,
//! matrices, metrics) describes it, so the single-head views keep working unchanged. The
//! [`LayerSnapshot`] adds what only a layer has: each astrocyte's calcium against its own Z_t,
//! per-head metrics, and the layer output against the transformer's.

use crate::model::layer::LayerSimulation;
use crate::model::schedule::Phase;
use crate::model::simulation::Simulation;
use ndarray::Array2;

/// Points kept per head for [`HeadSnapshot::calcium_trace`] and `z_trace` over a whole run.
pub const HEAD_TRACE_POINTS: u64 = 600;

/// The whole layer at one publication.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerSnapshot {
    /// One entry per head, in head order.
    pub heads: Vec<HeadSnapshot>,
    /// The head the snapshot's single-head fields describe.
    pub selected: usize,
    /// ‖L_net − L_transformer‖_F / ‖L_transformer‖_F over completed rows (see
    /// [`crate::model::layer::LayerMetrics`]).
    pub layer_output_rel_err: Option<f64>,
    /// Network minus transformer after W_O (N × d_model; rows not completed are zero).
    pub output_diff: Option<Array2<f64>>,
    /// ‖L_net,t − L_transformer,t‖ / ‖L_transformer,t‖ per token (NaN before its row completes).
    pub per_token_rel_err: Vec<f64>,
    /// The head with the largest attn_tv.
    pub worst_head: usize,
}

/// One head's astrocyte at one publication.
#[derive(Clone, Debug, PartialEq)]
pub struct HeadSnapshot {
    pub head: usize,
    /// c / (η T_write), in softmax-normaliser units (NaN in algebraic mode).
    pub calcium: f64,
    /// Z_t of the token read now (NaN outside read slots), to compare with `calcium`.
    pub z_t: f64,
    /// Over completed rows (NaN before the first).
    pub attn_tv: f64,
    pub calcium_corr: f64,
    /// (ms, c/(η T_write)), decimated to about [`HEAD_TRACE_POINTS`] per run.
    pub calcium_trace: Vec<(f64, f64)>,
    /// (ms, Z_t) at the same times, in read slots only.
    pub z_trace: Vec<(f64, f64)>,
}

/// Calcium and Z_t of one head now.
fn calcium_and_z(sim: &Simulation) -> (f64, f64) {
    let Some(dynamic) = sim.dynamic() else {
        return (f64::NAN, f64::NAN);
    };
    let z = match dynamic.current_slot() {
        Some(slot) if slot.phase == Phase::Read => sim.reference().log_normaliser[slot.token].exp(),
        _ => f64::NAN,
    };
    (dynamic.calcium_normalised(), z)
}

/// What the worker owns while a layer runs.
pub struct LayerRun {
    pub sim: LayerSimulation,
    pub selected: usize,
    stride: u64,
    last_sampled: Option<u64>,
    calcium: Vec<Vec<(f64, f64)>>,
    z: Vec<Vec<(f64, f64)>>,
    /// Per-head metrics and the layer comparison, recomputed when rows complete.
    cached: Option<(usize, LayerSnapshot)>,
}

impl LayerRun {
    pub fn new(sim: LayerSimulation, selected: usize) -> Self {
        let heads = sim.head_count();
        let stride = (sim.total_steps() / HEAD_TRACE_POINTS).max(1);
        let mut run = LayerRun {
            selected: selected.min(heads - 1),
            sim,
            stride,
            last_sampled: None,
            calcium: vec![Vec::new(); heads],
            z: vec![Vec::new(); heads],
            cached: None,
        };
        run.sample();
        run
    }

    /// The selected head.
    pub fn head(&self) -> &Simulation {
        self.sim.head(self.selected)
    }

    /// Records every head's calcium and Z_t when a sampling step has passed since the last.
    pub fn sample(&mut self) {
        let step = self.sim.step_index();
        let due = match self.last_sampled {
            None => true,
            Some(last) => step / self.stride > last / self.stride || self.sim.is_finished(),
        };
        if !due || self.last_sampled == Some(step) {
            return;
        }
        self.last_sampled = Some(step);
        for (h, sim) in self.sim.heads().iter().enumerate() {
            if sim.dynamic().is_none() {
                continue;
            }
            let ms = sim.time_ms();
            let (c, z) = calcium_and_z(sim);
            self.calcium[h].push((ms, c));
            if z.is_finite() {
                self.z[h].push((ms, z));
            }
        }
    }

    /// Head `head`'s recorded (ms, calcium) samples.
    pub fn calcium_trace(&self, head: usize) -> &[(f64, f64)] {
        &self.calcium[head]
    }

    /// The layer part of a snapshot; per-head metrics and the layer comparison are recomputed
    /// only when `rows_completed` has changed.
    pub fn snapshot(&mut self, rows_completed: usize) -> LayerSnapshot {
        let stale = self
            .cached
            .as_ref()
            .is_none_or(|(rows, _)| *rows != rows_completed);
        if stale {
            let metrics = self.sim.metrics();
            let heads = metrics
                .per_head
                .iter()
                .enumerate()
                .map(|(head, m)| HeadSnapshot {
                    head,
                    calcium: f64::NAN,
                    z_t: f64::NAN,
                    attn_tv: m.attn_tv,
                    calcium_corr: m.calcium_corr,
                    calcium_trace: Vec::new(),
                    z_trace: Vec::new(),
                })
                .collect();
            let snapshot = LayerSnapshot {
                heads,
                selected: self.selected,
                layer_output_rel_err: metrics.layer_output_rel_err,
                output_diff: self.sim.layer_output_diff(),
                per_token_rel_err: self.sim.per_token_rel_err(),
                worst_head: metrics.worst_head,
            };
            self.cached = Some((rows_completed, snapshot));
        }
        let mut snapshot = self.cached.as_ref().expect("just filled").1.clone();
        snapshot.selected = self.selected;
        for (h, head) in snapshot.heads.iter_mut().enumerate() {
            let (c, z) = calcium_and_z(self.sim.head(h));
            head.calcium = c;
            head.z_t = z;
            head.calcium_trace.clone_from(&self.calcium[h]);
            head.z_trace.clone_from(&self.z[h]);
        }
        snapshot
    }
}
