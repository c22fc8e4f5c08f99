//! A whole attention layer: one network and one astrocyte per head, the heads' outputs
//! concatenated and projected by the layer's W_O (spec "Layer", issue 17).
//!
//! Each head is an ordinary [`Simulation`] on its own q, k, v. All heads read the same tokens
//! on the same schedule, so they step in lockstep; rayon runs them side by side, and each head's
//! arithmetic is the single-head code path, so results do not depend on the thread count. The
//! layer's output is where the transformer applies W_O: `concat_h(y_h) · W_O + b_o`, before the
//! residual and LayerNorm.

use super::metrics::Metrics;
use super::network::{ModelError, memory_estimate_for};
use super::params::LiveParams;
use super::params::{MEMORY_LIMIT_BYTES, ParamError, Params};
use super::sequence::Sequence;
use super::simulation::Simulation;
use ndarray::{Array1, Array2, Axis, s};
use rayon::prelude::*;
use std::sync::Arc;

/// One layer's inputs: every head's sequence, and the output projection that follows them.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerSequence {
    /// One sequence per head, all with the same tokens.
    pub heads: Vec<Arc<Sequence>>,
    /// W_O, (H·d_v) × d_model: row block h multiplies head h's output y_h.
    pub w_o: Array2<f64>,
    /// b_o, d_model.
    pub b_o: Array1<f64>,
    /// The transformer's own value at the same point (N × d_model: after W_O and its bias,
    /// before the residual and LayerNorm), when the source knows it.
    pub transformer_output: Option<Array2<f64>>,
}

impl LayerSequence {
    /// A layer whose W_O is the identity and b_o zero (synthetic and `.npy` layers): the layer
    /// output is then the heads' outputs side by side.
    pub fn with_identity(heads: Vec<Arc<Sequence>>) -> Result<Self, ModelError> {
        let width: usize = heads.iter().map(|h| h.value_dim()).sum();
        let layer = LayerSequence {
            heads,
            w_o: Array2::eye(width),
            b_o: Array1::zeros(width),
            transformer_output: None,
        };
        layer.check()?;
        Ok(layer)
    }

    /// Number of heads H.
    pub fn head_count(&self) -> usize {
        self.heads.len()
    }

    /// d_model, the width of the layer's output.
    pub fn model_dim(&self) -> usize {
        self.w_o.ncols()
    }

    /// Checks that the heads agree on their tokens and that W_O, b_o and the transformer's
    /// output fit them.
    pub fn check(&self) -> Result<(), ModelError> {
        let bad = |reason: String| Err(ModelError::Layer(reason));
        let Some(first) = self.heads.first() else {
            return bad("it has no heads".to_string());
        };
        for (h, head) in self.heads.iter().enumerate() {
            head.check()?;
            if head.len() != first.len() || head.tokens != first.tokens {
                return bad(format!(
                    "head {h} reads {} tokens but head 0 reads {}: every head must read the same tokens",
                    head.len(),
                    first.len()
                ));
            }
        }
        let width: usize = self.heads.iter().map(|h| h.value_dim()).sum();
        if self.w_o.nrows() != width {
            return bad(format!(
                "W_O has {} rows but the heads' outputs are {width} wide together",
                self.w_o.nrows()
            ));
        }
        if self.b_o.len() != self.w_o.ncols() {
            return bad(format!(
                "b_o has {} entries but W_O has {} columns",
                self.b_o.len(),
                self.w_o.ncols()
            ));
        }
        if let Some(out) = &self.transformer_output
            && out.dim() != (first.len(), self.w_o.ncols())
        {
            return bad(format!(
                "the transformer's output is {}×{} but the layer's is {}×{}",
                out.nrows(),
                out.ncols(),
                first.len(),
                self.w_o.ncols()
            ));
        }
        if self
            .w_o
            .iter()
            .chain(self.b_o.iter())
            .any(|x| !x.is_finite())
        {
            return bad("W_O or b_o has an entry that is not finite".to_string());
        }
        Ok(())
    }
}

/// The layer's metrics over the read slots completed so far.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerMetrics {
    /// Each head's five metrics, in head order.
    pub per_head: Vec<Metrics>,
    /// ‖L_net − L_ref‖_F / ‖L_ref‖_F over completed rows, L = concat(y)·W_O + b_o, with L_ref
    /// the transformer's own value when the source knows it and otherwise the same layer with
    /// exact softmax attention (which is the transformer's value for a synthetic layer). None
    /// before the first row completes.
    pub layer_output_rel_err: Option<f64>,
    /// The head with the largest attn_tv (NaN counts as smallest; 0 when every head is NaN).
    pub worst_head: usize,
}

/// Every head of one layer, simulated side by side.
pub struct LayerSimulation {
    layer: Arc<LayerSequence>,
    heads: Vec<Simulation>,
}

/// Planned memory of a whole layer (bytes): the sum of its heads' plans.
pub fn layer_memory_estimate(params: &Params, layer: &LayerSequence) -> u64 {
    layer
        .heads
        .iter()
        .map(|sequence| memory_estimate_for(params, sequence))
        .sum()
}

impl LayerSimulation {
    /// Validates `params` against every head and builds one simulation per head; head h runs
    /// with [`Self::head_params`].
    pub fn new(params: &Params, layer: Arc<LayerSequence>) -> Result<Self, ModelError> {
        params.validate()?;
        layer.check()?;
        if let crate::model::params::Projection::Learned(id) = params.projection {
            super::learned::file(id)
                .check_whole_layer(&super::learned::path(id), layer.head_count())
                .map_err(ModelError::from)?;
        }
        let needed = layer_memory_estimate(params, &layer);
        if needed > MEMORY_LIMIT_BYTES {
            return Err(ParamError::LayerTooLarge {
                heads: layer.head_count(),
                needed_mib: needed >> 20,
                limit_mib: MEMORY_LIMIT_BYTES >> 20,
            }
            .into());
        }
        let heads = (0..layer.head_count())
            .into_par_iter()
            .map(|h| Simulation::new(&Self::head_params(params, h), layer.heads[h].clone()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LayerSimulation { layer, heads })
    }

    /// The parameters head `head` runs with: `params` with `head` set and the experiment's own
    /// seed, so every head draws W, γ and π from `seed` exactly as a `heads = one` run of that
    /// head does, and a head's figures are the same wherever it is shown (issue 25).
    pub fn head_params(params: &Params, head: usize) -> Params {
        let mut own = params.clone();
        own.head = head;
        own
    }

    pub fn layer(&self) -> &Arc<LayerSequence> {
        &self.layer
    }
    pub fn heads(&self) -> &[Simulation] {
        &self.heads
    }
    /// Head `h`; panics when `h ≥ head_count()`.
    pub fn head(&self, h: usize) -> &Simulation {
        &self.heads[h]
    }
    /// Head `h` for changes that concern only it (e.g. which neurons it records).
    pub fn head_mut(&mut self, h: usize) -> &mut Simulation {
        &mut self.heads[h]
    }
    pub fn head_count(&self) -> usize {
        self.heads.len()
    }
    /// The layer's parameters (head 0's, with `head` reset by the caller's choice).
    pub fn params(&self) -> &Params {
        self.heads[0].params()
    }

    /// Every head one Euler step (algebraic mode: one read row), in parallel. False when
    /// already finished.
    pub fn step(&mut self) -> bool {
        let stepped: Vec<bool> = self.heads.par_iter_mut().map(Simulation::step).collect();
        stepped.into_iter().fold(false, |any, s| any | s)
    }

    /// Up to `max_steps` steps of every head, in one block inside the current slot; returns
    /// how many were taken (the same for every head, which share one schedule).
    pub fn step_block(&mut self, max_steps: u64) -> u64 {
        let taken: Vec<u64> = self
            .heads
            .par_iter_mut()
            .map(|sim| sim.step_block(max_steps))
            .collect();
        debug_assert!(taken.windows(2).all(|w| w[0] == w[1]));
        taken.into_iter().max().unwrap_or(0)
    }

    /// Every head to the end of its current slot.
    pub fn step_slot(&mut self) {
        self.heads.par_iter_mut().for_each(Simulation::step_slot);
    }

    /// Every head to the end of the schedule.
    pub fn run_to_end(&mut self) {
        self.heads.par_iter_mut().for_each(Simulation::run_to_end);
    }

    pub fn step_index(&self) -> u64 {
        self.heads[0].step_index()
    }
    pub fn total_steps(&self) -> u64 {
        self.heads[0].total_steps()
    }
    pub fn time_ms(&self) -> f64 {
        self.heads[0].time_ms()
    }
    pub fn total_ms(&self) -> f64 {
        self.heads[0].total_ms()
    }
    pub fn is_finished(&self) -> bool {
        self.heads.iter().all(Simulation::is_finished)
    }

    /// Applies the live parameters to every head.
    pub fn set_live(&mut self, live: LiveParams) -> Result<(), ModelError> {
        self.heads
            .iter_mut()
            .try_for_each(|sim| sim.set_live(live.clone()))
    }

    /// Which rows every head has completed.
    pub fn rows_done(&self) -> Vec<bool> {
        let n = self.layer.heads[0].len();
        (0..n)
            .map(|t| self.heads.iter().all(|sim| sim.output().rows_done[t]))
            .collect()
    }

    /// `concat_h(rows) · W_O + b_o`, with the rows of head h given by `rows(h)`.
    fn project(&self, rows: impl Fn(usize) -> Array2<f64>) -> Array2<f64> {
        let n = self.layer.heads[0].len();
        let mut concat = Array2::<f64>::zeros((n, self.layer.w_o.nrows()));
        let mut column = 0;
        for h in 0..self.head_count() {
            let y = rows(h);
            concat
                .slice_mut(s![.., column..column + y.ncols()])
                .assign(&y);
            column += y.ncols();
        }
        concat.dot(&self.layer.w_o) + &self.layer.b_o
    }

    /// The layer's output from the network, `concat_h(y_h) · W_O + b_o` (N × d_model); rows
    /// not yet completed are zero.
    pub fn layer_output(&self) -> Array2<f64> {
        let mut out = self.project(|h| self.heads[h].output().outputs.clone());
        for (t, done) in self.rows_done().into_iter().enumerate() {
            if !done {
                out.row_mut(t).fill(0.0);
            }
        }
        out
    }

    /// The same with exact softmax attention, `concat_h(A_soft,h v_h) · W_O + b_o`, for every
    /// row: what the transformer computes at this point (checked against the encoder).
    pub fn layer_output_softmax(&self) -> Array2<f64> {
        self.project(|h| self.heads[h].reference().outputs.clone())
    }

    /// What the network's layer output is compared with: the transformer's own value when
    /// known, else [`Self::layer_output_softmax`].
    pub fn layer_output_reference(&self) -> Array2<f64> {
        match &self.layer.transformer_output {
            Some(out) => out.clone(),
            None => self.layer_output_softmax(),
        }
    }

    /// Network minus reference over completed rows (N × d_model; other rows zero), or None
    /// before the first row completes.
    pub fn layer_output_diff(&self) -> Option<Array2<f64>> {
        let done = self.rows_done();
        if !done.contains(&true) {
            return None;
        }
        let mut diff = self.layer_output() - self.layer_output_reference();
        for (t, done) in done.into_iter().enumerate() {
            if !done {
                diff.row_mut(t).fill(0.0);
            }
        }
        Some(diff)
    }

    /// ‖L_net,t − L_ref,t‖ / ‖L_ref,t‖ per token (NaN for rows not yet completed).
    pub fn per_token_rel_err(&self) -> Vec<f64> {
        let done = self.rows_done();
        let net = self.layer_output();
        let reference = self.layer_output_reference();
        (0..done.len())
            .map(|t| {
                if !done[t] {
                    return f64::NAN;
                }
                let d = &net.row(t) - &reference.row(t);
                (d.dot(&d) / reference.row(t).dot(&reference.row(t))).sqrt()
            })
            .collect()
    }

    /// Per-head metrics, the layer output's relative error and the worst head.
    pub fn metrics(&self) -> LayerMetrics {
        let per_head: Vec<Metrics> = self.heads.par_iter().map(Simulation::metrics).collect();
        let worst_head = per_head
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.attn_tv.is_nan())
            .max_by(|a, b| a.1.attn_tv.total_cmp(&b.1.attn_tv))
            .map_or(0, |(h, _)| h);
        let layer_output_rel_err = self.layer_output_diff().map(|diff| {
            let reference = self.layer_output_reference();
            let done = self.rows_done();
            let ref_sq: f64 = reference
                .axis_iter(Axis(0))
                .zip(&done)
                .filter(|(_, d)| **d)
                .map(|(row, _)| row.dot(&row))
                .sum();
            (diff.iter().map(|x| x * x).sum::<f64>() / ref_sq).sqrt()
        });
        LayerMetrics {
            per_head,
            layer_output_rel_err,
            worst_head,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::params::{Heads, Mode};

    fn synthetic_layer(heads: usize) -> Arc<LayerSequence> {
        let seqs = (0..heads)
            .map(|h| Arc::new(Sequence::gaussian_head(6, 8, 3, 1.0, h)))
            .collect();
        Arc::new(LayerSequence::with_identity(seqs).unwrap())
    }

    #[test]
    fn each_head_equals_its_single_head_run() {
        let params = Params {
            mode: Mode::Algebraic,
            m: 64,
            heads: Heads::All,
            ..Params::default()
        };
        let layer = synthetic_layer(3);
        let mut sim = LayerSimulation::new(&params, layer.clone()).unwrap();
        sim.run_to_end();
        for h in 0..3 {
            let mut one = Simulation::new(
                &LayerSimulation::head_params(&params, h),
                layer.heads[h].clone(),
            )
            .unwrap();
            one.run_to_end();
            assert_eq!(one.output(), sim.head(h).output());
        }
        let metrics = sim.metrics();
        assert_eq!(metrics.per_head.len(), 3);
        assert!(metrics.layer_output_rel_err.unwrap() > 0.0);
        // With W_O the identity the layer output is the heads' outputs side by side.
        let out = sim.layer_output();
        assert_eq!(out.slice(s![.., 8..16]), sim.head(1).output().outputs);
    }

    #[test]
    fn mismatched_w_o_is_refused() {
        let mut layer = (*synthetic_layer(2)).clone();
        layer.w_o = Array2::eye(15);
        let err = LayerSimulation::new(&Params::default(), Arc::new(layer))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("W_O has 15 rows"), "{err}");
    }
}
