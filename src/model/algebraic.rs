//! Algebraic mode (spec "Algebraic mode"): the paper's correspondence, computed exactly.
//!
//! ```text
//! write:  H = Σ_τ v_τ φ(k~_τ)ᵀ,   g = Σ_τ φ(k~_τ)          (causal: prefix sums)
//! read t: h = φ(q~_t),  p_ij = γ_ij g_j h_j,  c_t = (1/d) Σ_ij p_ij,  y_t = ψ(c_t) H h
//! A_net[t,τ] = M[t,τ] (φ(q~_t)·φ(k~_τ)) ψ(c_t)
//! ```
//!
//! Neither H nor p is formed: with K = Φ_Q Φ_Kᵀ (N × N) and K^γ = Φ_Q diag(Σ_i γ_ij / d) Φ_Kᵀ,
//! c_t = Σ_τ M K^γ_tτ and y_t = ψ(c_t) Σ_τ M K_tτ v_τ, which is the same sum regrouped. K is
//! accumulated over fixed blocks of hidden neurons, each held as exp(a_t + b_τ)·G_tτ with
//! per-row offsets, so no exponential overflows and the block order (not the thread count)
//! fixes every rounding.

use super::features::{block_rows_of, blocks, feature_block};
use super::network::Network;
use super::params::Ablation;
use super::softmax::in_mask;
use crate::model::sequence::Sequence;
use ndarray::{Array1, Array2, Axis};
use rayon::prelude::*;

/// Projection rows per block.
const BLOCK_ROWS: usize = 2048;
/// Blocks folded sequentially inside one parallel task.
const BLOCKS_PER_TASK: usize = 4;

/// The network's answer for every read slot.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkOutput {
    /// A_net (N × N); rows not yet read are zero.
    pub attention: Array2<f64>,
    /// c_t in softmax-normaliser units; NaN for rows not yet read.
    pub calcium: Vec<f64>,
    /// y_t (N × d).
    pub outputs: Array2<f64>,
    /// Which read slots have completed.
    pub rows_done: Vec<bool>,
}

impl NetworkOutput {
    /// An output with no row read yet.
    pub fn empty(tokens: usize, outputs: usize) -> Self {
        NetworkOutput {
            attention: Array2::zeros((tokens, tokens)),
            calcium: vec![f64::NAN; tokens],
            outputs: Array2::zeros((tokens, outputs)),
            rows_done: vec![false; tokens],
        }
    }

    /// Number of completed rows.
    pub fn rows_completed(&self) -> usize {
        self.rows_done.iter().filter(|&&d| d).count()
    }
}

/// Values held as value_i · exp(log_i), merged entry by entry (signs allowed).
#[derive(Clone, Debug)]
struct Scaled {
    value: Vec<f64>,
    log: Vec<f64>,
}

impl Scaled {
    fn merge(self, other: Scaled) -> Scaled {
        let (value, log) = self
            .value
            .iter()
            .zip(&self.log)
            .zip(other.value.iter().zip(&other.log))
            .map(|((&v1, &l1), (&v2, &l2))| {
                let top = l1.max(l2);
                if top == f64::NEG_INFINITY {
                    (0.0, top)
                } else {
                    (v1 * (l1 - top).exp() + v2 * (l2 - top).exp(), top)
                }
            })
            .unzip();
        Scaled { value, log }
    }

    fn get(&self, index: usize) -> (f64, f64) {
        (self.value[index], self.log[index])
    }
}

/// Per-block sums of `uniform_presynaptic`: Σ_j γ̄_j φ_j(q̃_t), Σ_j (γ̄_j φ_j(q̃_t))² and
/// Σ_j φ_j(k̃_τ).
struct UniformSums {
    query_sum: Scaled,
    query_square: Scaled,
    key_sum: Scaled,
}

impl UniformSums {
    fn merge(self, other: UniformSums) -> UniformSums {
        UniformSums {
            query_sum: self.query_sum.merge(other.query_sum),
            query_square: self.query_square.merge(other.query_square),
            key_sum: self.key_sum.merge(other.key_sum),
        }
    }
}

/// K_tτ = exp(query_offset_t + key_offset_τ) · gram_tτ, for a set of hidden neurons.
struct Partial {
    gram: Array2<f64>,
    /// The calcium's gram when it differs from `gram`: gains (σ_γ > 0) or shuffled processes.
    gram_weighted: Option<Array2<f64>>,
    query_offset: Vec<f64>,
    key_offset: Vec<f64>,
    /// Σ_j (γ̄_j φ_j(q̃_t) G_j)² per row t, G_j the g process j reads (for `c_rel_se`).
    square_terms: Scaled,
    uniform: Option<UniformSums>,
}

impl Partial {
    fn merge(mut self, other: Partial) -> Partial {
        let a: Vec<f64> = self
            .query_offset
            .iter()
            .zip(&other.query_offset)
            .map(|(x, y)| x.max(*y))
            .collect();
        let b: Vec<f64> = self
            .key_offset
            .iter()
            .zip(&other.key_offset)
            .map(|(x, y)| x.max(*y))
            .collect();
        let rescale = |gram: &mut Array2<f64>, qa: &[f64], kb: &[f64]| {
            let qs: Vec<f64> = qa.iter().zip(&a).map(|(x, top)| (x - top).exp()).collect();
            let ks: Vec<f64> = kb.iter().zip(&b).map(|(x, top)| (x - top).exp()).collect();
            for ((t, tau), value) in gram.indexed_iter_mut() {
                *value *= qs[t] * ks[tau];
            }
        };
        let mut other = other;
        rescale(&mut self.gram, &self.query_offset, &self.key_offset);
        rescale(&mut other.gram, &other.query_offset, &other.key_offset);
        self.gram += &other.gram;
        if let (Some(mine), Some(theirs)) = (&mut self.gram_weighted, &mut other.gram_weighted) {
            rescale(mine, &self.query_offset, &self.key_offset);
            rescale(theirs, &other.query_offset, &other.key_offset);
            *mine += &*theirs;
        }
        self.query_offset = a;
        self.key_offset = b;
        self.square_terms = self.square_terms.merge(other.square_terms);
        self.uniform = match (self.uniform, other.uniform) {
            (Some(mine), Some(theirs)) => Some(mine.merge(theirs)),
            _ => None,
        };
        self
    }
}

/// The algebraic run with its per-query estimator diagnostics.
#[derive(Clone, Debug)]
pub struct AlgebraicRun {
    pub output: NetworkOutput,
    /// `c_rel_se` per row t: the relative standard error of c_t as the mean of the m' terms
    /// a_j = m' γ̄_j φ_j(q̃_t) G_j (G_j the presynaptic weight process j reads), i.e.
    /// std_j(a_j) / (√m' · mean_j(a_j)). No softmax reference is used.
    pub calcium_rel_se: Vec<f64>,
}

/// Runs the algebraic mode on `sequence` with `network`.
pub fn run_algebraic(network: &Network, sequence: &Sequence) -> NetworkOutput {
    run_algebraic_with_diagnostics(network, sequence).output
}

/// Features φ_{hidden[c]}(x_t) of arbitrary hidden neurons, as exp(offset_t) · mantissa[t, c]
/// (the shuffled processes read g of other neurons than their own).
fn gathered_features(
    network: &Network,
    inputs: ndarray::ArrayView2<f64>,
    hidden: &[usize],
) -> (Array2<f64>, Vec<f64>) {
    use super::params::FeatureMap;
    let map = network.params.feature_map;
    let m = network.params.m;
    let n = inputs.nrows();
    match map {
        FeatureMap::Elu1 => {
            let mantissa = Array2::from_shape_fn((n, hidden.len()), |(t, c)| {
                super::features::elu1(inputs[[t, hidden[c]]])
            });
            (mantissa, vec![0.0; n])
        }
        FeatureMap::Hyperbolic | FeatureMap::Trig => {
            let rows: Vec<usize> = hidden.iter().map(|&h| h % m).collect();
            let w = network.projection.select(Axis(0), &rows);
            let z = inputs.dot(&w.t());
            let sq: Vec<f64> = inputs.rows().into_iter().map(|x| x.dot(&x)).collect();
            let mut mantissa = Array2::<f64>::zeros((n, hidden.len()));
            let mut offsets = Vec::with_capacity(n);
            for t in 0..n {
                if map == FeatureMap::Trig {
                    for (c, &h) in hidden.iter().enumerate() {
                        let (sin, cos) = z[[t, c]].sin_cos();
                        mantissa[[t, c]] = if h < m { cos } else { sin };
                    }
                    offsets.push(sq[t] / 2.0 - 0.5 * (m as f64).ln());
                } else {
                    let signed = |c: usize| if hidden[c] < m { z[[t, c]] } else { -z[[t, c]] };
                    let top = (0..hidden.len())
                        .map(signed)
                        .fold(f64::NEG_INFINITY, f64::max);
                    for c in 0..hidden.len() {
                        mantissa[[t, c]] = (signed(c) - top).exp();
                    }
                    offsets.push(top - sq[t] / 2.0 - 0.5 * ((2 * m) as f64).ln());
                }
            }
            (mantissa, offsets)
        }
        _ => {
            let w = network.projection.select(Axis(0), hidden);
            let bias: Vec<f64> = if network.constants.row_bias.is_empty() {
                Vec::new()
            } else {
                hidden
                    .iter()
                    .map(|&h| network.constants.row_bias[h])
                    .collect()
            };
            feature_block(map, inputs, w.view(), m, &bias, network.constants.oprf_b())
        }
    }
}

/// Runs the algebraic mode on `sequence` with `network`, with `c_rel_se` for every row.
pub fn run_algebraic_with_diagnostics(network: &Network, sequence: &Sequence) -> AlgebraicRun {
    let params = &network.params;
    let sizes = network.sizes;
    let n = sizes.tokens;
    let queries = sequence.scaled_queries();
    let keys = sequence.scaled_keys();
    let layouts = blocks(params.feature_map, params.m, sizes.inputs, BLOCK_ROWS);
    let weighted = network.process_gains.is_some();
    let ablation = params.ablation;
    let schedule = params.schedule;

    let block_partial = |layout: &super::features::BlockLayout| -> Partial {
        let w = block_rows_of(&network.projection, layout);
        let bias = network.constants.bias_rows(layout.start, layout.rows);
        let oprf_b = network.constants.oprf_b();
        let (fq, query_offset) = feature_block(
            layout.map,
            queries.view(),
            w,
            layout.total_rows,
            bias,
            oprf_b,
        );
        let (fk, key_offset) =
            feature_block(layout.map, keys.view(), w, layout.total_rows, bias, oprf_b);
        let gram = fq.dot(&fk.t());
        let gains: Array1<f64> = layout
            .hidden_indices()
            .map(|j| network.mean_gain[j])
            .collect();
        // The keys' features as the processes read them: g_{π(j)} when shuffled, expressed
        // with the block's own key offsets so that `gram_weighted` merges like `gram`.
        let process_keys = network.permutation.as_ref().map(|perm| {
            let hidden: Vec<usize> = layout.hidden_indices().map(|j| perm[j]).collect();
            let (mut fk_perm, perm_offset) = gathered_features(network, keys.view(), &hidden);
            for (tau, mut row) in fk_perm.rows_mut().into_iter().enumerate() {
                let factor = (perm_offset[tau] - key_offset[tau]).exp();
                row.mapv_inplace(|v| v * factor);
            }
            fk_perm
        });
        let fk_process = process_keys.as_ref().unwrap_or(&fk);
        let gram_weighted = (weighted || process_keys.is_some())
            .then(|| (&fq * &gains.view().insert_axis(Axis(0))).dot(&fk_process.t()));
        // G_j for each row t (prefix sums when causal), scaled by exp(−key_top).
        let key_top = key_offset.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let key_scale: Vec<f64> = key_offset.iter().map(|o| (o - key_top).exp()).collect();
        let width = fq.ncols();
        let mut presynaptic = vec![0.0; width];
        let mut square = Vec::with_capacity(n);
        let mut added = 0;
        for t in 0..n {
            while added < n && (in_mask(schedule, t, added) || schedule_is_full(schedule)) {
                let row = fk_process.row(added);
                for (g, v) in presynaptic.iter_mut().zip(row.iter()) {
                    *g += v * key_scale[added];
                }
                added += 1;
            }
            let terms: f64 = (0..width)
                .map(|j| {
                    let a = gains[j] * fq[[t, j]] * presynaptic[j];
                    a * a
                })
                .sum();
            square.push(terms);
        }
        let square_terms = Scaled {
            value: square,
            log: query_offset.iter().map(|q| 2.0 * (q + key_top)).collect(),
        };
        let uniform = (ablation == Ablation::UniformPresynaptic).then(|| {
            let weighted_rows = &fq * &gains.view().insert_axis(Axis(0));
            UniformSums {
                query_sum: Scaled {
                    value: weighted_rows.sum_axis(Axis(1)).to_vec(),
                    log: query_offset.clone(),
                },
                query_square: Scaled {
                    value: weighted_rows.mapv(|v| v * v).sum_axis(Axis(1)).to_vec(),
                    log: query_offset.iter().map(|q| 2.0 * q).collect(),
                },
                key_sum: Scaled {
                    value: fk.sum_axis(Axis(1)).to_vec(),
                    log: key_offset.clone(),
                },
            }
        });
        Partial {
            gram,
            gram_weighted,
            query_offset,
            key_offset,
            square_terms,
            uniform,
        }
    };
    let partials: Vec<Partial> = layouts
        .par_chunks(BLOCKS_PER_TASK)
        .map(|group| {
            group
                .iter()
                .map(block_partial)
                .reduce(Partial::merge)
                .expect("non-empty group")
        })
        .collect();
    let total = partials
        .into_iter()
        .reduce(Partial::merge)
        .expect("at least one block");

    let hidden = sizes.hidden as f64;
    let mut out = NetworkOutput::empty(n, sizes.outputs);
    let mut rel_se = vec![f64::NAN; n];
    // ln of exp(log_scale) per row, kept for the ablations that undo or replace ψ(c_t).
    let mut log_scales = vec![0.0; n];
    for t in 0..n {
        let masked: Vec<usize> = (0..n)
            .filter(|&tau| in_mask(params.schedule, t, tau))
            .collect();
        let top = masked
            .iter()
            .map(|&tau| total.key_offset[tau])
            .fold(f64::NEG_INFINITY, f64::max);
        let key_scale: Vec<f64> = masked
            .iter()
            .map(|&tau| (total.key_offset[tau] - top).exp())
            .collect();
        let log_scale = total.query_offset[t] + top;
        log_scales[t] = log_scale;
        let sum: f64 = match &total.uniform {
            // c_t = ḡ_t Σ_j γ̄_j φ_j(q̃_t) with ḡ_t = Σ_τ M Σ_j φ_j(k̃_τ) / m'.
            Some(uniform) => {
                let (q_value, q_log) = uniform.query_sum.get(t);
                let keys: f64 = masked
                    .iter()
                    .map(|&tau| {
                        let (k_value, k_log) = uniform.key_sum.get(tau);
                        k_value * (k_log - top).exp()
                    })
                    .sum();
                q_value * (q_log - total.query_offset[t]).exp() * keys / hidden
            }
            None => {
                let weighted_gram = total.gram_weighted.as_ref().unwrap_or(&total.gram);
                masked
                    .iter()
                    .zip(&key_scale)
                    .map(|(&tau, s)| weighted_gram[[t, tau]] * s)
                    .sum()
            }
        };
        let calcium = log_scale.exp() * sum;
        out.calcium[t] = calcium;
        // m'·Σ_j (γ̄_j φ_j G_j)² / c_t², in the same scale as `sum`.
        let second_moment = match &total.uniform {
            Some(uniform) => {
                let (sq_value, sq_log) = uniform.query_square.get(t);
                let (q_value, q_log) = uniform.query_sum.get(t);
                hidden * sq_value * (sq_log - 2.0 * q_log).exp() / (q_value * q_value)
            }
            None => {
                let (sq_value, sq_log) = total.square_terms.get(t);
                hidden * sq_value * (sq_log - 2.0 * log_scale).exp() / (sum * sum)
            }
        };
        rel_se[t] = ((second_moment - 1.0).max(0.0) / (hidden - 1.0)).sqrt();
        match ablation {
            Ablation::NoAstrocyte | Ablation::FrozenCalcium => {
                // ψ applied below (1, or ψ(c_1) once c_1 is known).
                for (&tau, s) in masked.iter().zip(&key_scale) {
                    out.attention[[t, tau]] = total.gram[[t, tau]] * s;
                }
            }
            _ if calcium >= params.c_min => {
                for (&tau, s) in masked.iter().zip(&key_scale) {
                    out.attention[[t, tau]] = total.gram[[t, tau]] * s / sum;
                }
            }
            _ => {
                let log_psi = -params.c_min.ln();
                for (&tau, s) in masked.iter().zip(&key_scale) {
                    out.attention[[t, tau]] =
                        total.gram[[t, tau]] * s * (log_scale + log_psi).exp();
                }
            }
        }
        out.rows_done[t] = true;
    }
    match ablation {
        Ablation::NoAstrocyte => {
            for (t, mut row) in out.attention.rows_mut().into_iter().enumerate() {
                let scale = log_scales[t].exp();
                row.mapv_inplace(|a| a * scale);
            }
        }
        Ablation::FrozenCalcium if n > 0 => {
            // c stops at its value after read slot 1: ψ(c_1) divides every row.
            let frozen = out.calcium[0];
            let log_psi = -frozen.max(params.c_min).ln();
            for (t, mut row) in out.attention.rows_mut().into_iter().enumerate() {
                let scale = (log_scales[t] + log_psi).exp();
                row.mapv_inplace(|a| a * scale);
            }
            out.calcium.fill(frozen);
        }
        _ => {}
    }
    out.outputs = out.attention.dot(&sequence.values);
    AlgebraicRun {
        output: out,
        calcium_rel_se: rel_se,
    }
}

/// Whether every key is in every row's mask (bidirectional), so G is the same for every row.
fn schedule_is_full(schedule: super::params::Schedule) -> bool {
    schedule == super::params::Schedule::Bidirectional
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::features::features;
    use crate::model::params::{FeatureMap, Mode, Params, Schedule};
    use crate::model::softmax::softmax_reference;

    fn params(map: FeatureMap, schedule: Schedule) -> Params {
        Params {
            mode: Mode::Algebraic,
            schedule,
            feature_map: map,
            m: 5000,
            ..Params::default()
        }
    }

    #[test]
    fn rows_sum_to_one_and_outputs_are_attention_times_values() {
        let seq = Sequence::gaussian(7, 8, 3, 0.8);
        for map in [
            FeatureMap::Positive,
            FeatureMap::Hyperbolic,
            FeatureMap::Elu1,
        ] {
            for schedule in [Schedule::Bidirectional, Schedule::Causal] {
                let net = Network::new(&params(map, schedule), &seq).unwrap();
                let out = run_algebraic(&net, &seq);
                for t in 0..7 {
                    let sum: f64 = out.attention.row(t).sum();
                    assert!(
                        (sum - 1.0).abs() < 1e-12,
                        "{map} {schedule}: row {t} sums to {sum}"
                    );
                    if schedule == Schedule::Causal {
                        assert!(out.attention.row(t).iter().skip(t + 1).all(|&a| a == 0.0));
                    }
                }
                let y = out.attention.dot(&seq.values);
                assert!((&y - &out.outputs).iter().all(|e| e.abs() < 1e-12));
            }
        }
    }

    #[test]
    fn calcium_is_the_sum_of_feature_products() {
        let seq = Sequence::gaussian(5, 6, 4, 1.0);
        for map in [
            FeatureMap::Positive,
            FeatureMap::Hyperbolic,
            FeatureMap::Trig,
            FeatureMap::Elu1,
        ] {
            let p = params(map, Schedule::Causal);
            let net = Network::new(&p, &seq).unwrap();
            let out = run_algebraic(&net, &seq);
            let (q, k) = (seq.scaled_queries(), seq.scaled_keys());
            for t in 0..5 {
                let h = features(map, &net.projection, q.row(t));
                let expected: f64 = (0..=t)
                    .map(|tau| {
                        let f = features(map, &net.projection, k.row(tau));
                        h.iter().zip(&f).map(|(a, b)| a * b).sum::<f64>()
                    })
                    .sum();
                let rel = (out.calcium[t] - expected).abs() / expected.abs();
                assert!(
                    rel < 1e-12,
                    "{map}: c_{t} = {} vs Σφ·φ = {expected}",
                    out.calcium[t]
                );
            }
        }
    }

    #[test]
    fn approaches_softmax_with_many_features() {
        let seq = Sequence::gaussian(6, 8, 5, 0.5);
        let reference = softmax_reference(&seq, Schedule::Bidirectional);
        let tv = |m: usize| {
            let p = Params {
                m,
                ..params(FeatureMap::Positive, Schedule::Bidirectional)
            };
            let out = run_algebraic(&Network::new(&p, &seq).unwrap(), &seq);
            (&out.attention - &reference.attention).mapv(f64::abs).sum() / 12.0
        };
        let (small, large) = (tv(16), tv(20000));
        assert!(large < 0.02, "TV at m = 20000 is {large}");
        assert!(large < small / 4.0, "TV {small} → {large}");
    }

    #[test]
    fn heterogeneous_gains_weight_the_calcium() {
        let seq = Sequence::gaussian(4, 6, 4, 1.0);
        let p = Params {
            heterogeneity: 0.5,
            m: 300,
            ..params(FeatureMap::Positive, Schedule::Bidirectional)
        };
        let net = Network::new(&p, &seq).unwrap();
        let out = run_algebraic(&net, &seq);
        let (q, k) = (seq.scaled_queries(), seq.scaled_keys());
        let h = features(p.feature_map, &net.projection, q.row(1));
        let g: Vec<f64> = (0..net.sizes.hidden)
            .map(|j| {
                (0..4)
                    .map(|tau| features(p.feature_map, &net.projection, k.row(tau))[j])
                    .sum()
            })
            .collect();
        let gains = net.process_gains.as_ref().unwrap();
        let mut c = 0.0;
        for i in 0..net.sizes.outputs {
            for j in 0..net.sizes.hidden {
                c += gains[[i, j]] * g[j] * h[j];
            }
        }
        c /= net.sizes.outputs as f64;
        assert!(
            (out.calcium[1] - c).abs() < 1e-10 * c.abs(),
            "{} vs {c}",
            out.calcium[1]
        );
        let sum: f64 = out.attention.row(1).sum();
        assert!(
            (sum - 1.0).abs() > 1e-6,
            "rows need not sum to 1 with heterogeneity"
        );
    }

    /// W rows and Gram blocks are computed in parallel tasks of 4 × 2048 projection rows; with
    /// three tasks the result is bit-identical on 1, 2 and 3 threads.
    #[test]
    fn identical_results_whatever_the_thread_count() {
        let seq = Sequence::gaussian(7, 8, 3, 0.8);
        for (map, schedule, sigma) in [
            (FeatureMap::Positive, Schedule::Bidirectional, 0.0),
            (FeatureMap::Trig, Schedule::Causal, 0.3),
        ] {
            let p = Params {
                m: 20_000,
                heterogeneity: sigma,
                ..params(map, schedule)
            };
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                pool.install(|| run_algebraic(&Network::new(&p, &seq).unwrap(), &seq))
            };
            let one = run(1);
            assert!(one.calcium.iter().all(|c| c.is_finite() && *c != 0.0));
            // MODEL.md states these sizes ("fixed blocks of 2048 projection rows").
            assert_eq!((BLOCK_ROWS, BLOCKS_PER_TASK), (2048, 4));
            for threads in [2, 3] {
                assert!(
                    one == run(threads),
                    "{map}: {threads} threads differ from 1"
                );
            }
        }
    }
}
