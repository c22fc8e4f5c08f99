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

/// K_tτ = exp(query_offset_t + key_offset_τ) · gram_tτ, for a set of hidden neurons.
struct Partial {
    gram: Array2<f64>,
    gram_weighted: Option<Array2<f64>>,
    query_offset: Vec<f64>,
    key_offset: Vec<f64>,
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
        self
    }
}

/// Runs the algebraic mode on `sequence` with `network`.
pub fn run_algebraic(network: &Network, sequence: &Sequence) -> NetworkOutput {
    let params = &network.params;
    let sizes = network.sizes;
    let n = sizes.tokens;
    let queries = sequence.scaled_queries();
    let keys = sequence.scaled_keys();
    let layouts = blocks(params.feature_map, params.m, sizes.inputs, BLOCK_ROWS);
    let weighted = network.process_gains.is_some();

    let block_partial = |layout: &super::features::BlockLayout| -> Partial {
        let w = block_rows_of(&network.projection, layout);
        let (fq, query_offset) = feature_block(layout.map, queries.view(), w, layout.total_rows);
        let (fk, key_offset) = feature_block(layout.map, keys.view(), w, layout.total_rows);
        let gram = fq.dot(&fk.t());
        let gram_weighted = weighted.then(|| {
            let gains: Array1<f64> = layout
                .hidden_indices()
                .map(|j| network.mean_gain[j])
                .collect();
            (&fq * &gains.insert_axis(Axis(0))).dot(&fk.t())
        });
        Partial {
            gram,
            gram_weighted,
            query_offset,
            key_offset,
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

    let mut out = NetworkOutput::empty(n, sizes.outputs);
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
        let weighted_gram = total.gram_weighted.as_ref().unwrap_or(&total.gram);
        let sum: f64 = masked
            .iter()
            .zip(&key_scale)
            .map(|(&tau, s)| weighted_gram[[t, tau]] * s)
            .sum();
        let log_scale = total.query_offset[t] + top;
        let calcium = log_scale.exp() * sum;
        out.calcium[t] = calcium;
        if calcium >= params.c_min {
            for (&tau, s) in masked.iter().zip(&key_scale) {
                out.attention[[t, tau]] = total.gram[[t, tau]] * s / sum;
            }
        } else {
            let log_psi = -params.c_min.ln();
            for (&tau, s) in masked.iter().zip(&key_scale) {
                out.attention[[t, tau]] = total.gram[[t, tau]] * s * (log_scale + log_psi).exp();
            }
        }
        out.rows_done[t] = true;
    }
    out.outputs = out.attention.dot(&sequence.values);
    out
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
