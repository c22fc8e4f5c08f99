//! Metrics (spec "Metrics"): how far the network's attention is from the transformer's.

use super::algebraic::NetworkOutput;
use super::params::Schedule;
use super::sequence::Sequence;
use super::softmax::{SoftmaxReference, in_mask};
use serde::{Deserialize, Serialize};

/// The five metrics of one head and run, over the read slots completed so far.
/// A metric that is undefined (no completed row, or zero variance) is NaN.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Mean over t of ½ Σ_τ |A_net − A_soft| (total variation, 0..1).
    pub attn_tv: f64,
    /// max |A_net − A_soft|.
    pub attn_max_abs: f64,
    /// ‖Y_net − Y_soft‖_F / ‖Y_soft‖_F.
    pub output_rel_err: f64,
    /// Pearson correlation over t of c_t (normaliser units) with Z_t; NaN until three rows
    /// are read.
    pub calcium_corr: f64,
    /// Mean over t of |c_t − Z_t| / Z_t.
    pub calcium_rel_err: f64,
}

impl Metrics {
    pub const NAMES: [&'static str; 5] = [
        "attn_tv",
        "attn_max_abs",
        "output_rel_err",
        "calcium_corr",
        "calcium_rel_err",
    ];

    /// The metrics in [`Metrics::NAMES`] order.
    pub fn values(&self) -> [f64; 5] {
        [
            self.attn_tv,
            self.attn_max_abs,
            self.output_rel_err,
            self.calcium_corr,
            self.calcium_rel_err,
        ]
    }

    /// Compares the completed rows of `network` with `reference`.
    pub fn compute(reference: &SoftmaxReference, network: &NetworkOutput) -> Metrics {
        let rows: Vec<usize> = (0..network.rows_done.len())
            .filter(|&t| network.rows_done[t])
            .collect();
        if rows.is_empty() {
            return Metrics {
                attn_tv: f64::NAN,
                attn_max_abs: f64::NAN,
                output_rel_err: f64::NAN,
                calcium_corr: f64::NAN,
                calcium_rel_err: f64::NAN,
            };
        }
        let count = rows.len() as f64;
        let mut tv = 0.0;
        let mut max_abs: f64 = 0.0;
        let (mut err_sq, mut ref_sq) = (0.0, 0.0);
        let mut rel = 0.0;
        let z = reference.normaliser();
        for &t in &rows {
            let diff = &network.attention.row(t) - &reference.attention.row(t);
            tv += 0.5 * diff.mapv(f64::abs).sum();
            max_abs = diff.iter().fold(max_abs, |m, d| m.max(d.abs()));
            let y_diff = &network.outputs.row(t) - &reference.outputs.row(t);
            err_sq += y_diff.dot(&y_diff);
            ref_sq += reference.outputs.row(t).dot(&reference.outputs.row(t));
            rel += ((network.calcium[t] - z[t]) / z[t]).abs();
        }
        let calcium: Vec<f64> = rows.iter().map(|&t| network.calcium[t]).collect();
        let normaliser: Vec<f64> = rows.iter().map(|&t| z[t]).collect();
        Metrics {
            attn_tv: tv / count,
            attn_max_abs: max_abs,
            output_rel_err: (err_sq / ref_sq).sqrt(),
            calcium_corr: pearson(&calcium, &normaliser),
            calcium_rel_err: rel / count,
        }
    }
}

/// Per-query diagnostics (issue 13 §1): one entry per completed read row t, in row order.
/// Undefined entries are NaN (`null` in JSON).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PerQuery {
    /// Query row index t of each entry.
    pub row: Vec<usize>,
    /// ½ Σ_τ |A_net[t,τ] − A_soft[t,τ]|; their mean is `attn_tv`.
    pub tv: Vec<f64>,
    /// max_τ |A_net[t,τ] − A_soft[t,τ]|.
    pub max_abs: Vec<f64>,
    /// ‖y_net,t − y_soft,t‖ / ‖y_soft,t‖.
    pub output_rel_err: Vec<f64>,
    /// c_t (softmax-normaliser units).
    pub c: Vec<f64>,
    /// Z_t, the softmax normaliser.
    pub z: Vec<f64>,
    /// c_t / Z_t.
    pub c_over_z: Vec<f64>,
    /// ‖q̃_t‖.
    pub q_norm: Vec<f64>,
    /// max over the keys in row t's mask of ‖k̃_τ‖.
    pub max_k_norm: Vec<f64>,
    /// The estimator's own relative standard error of c_t, from its m' terms (no reference).
    pub c_rel_se: Vec<f64>,
}

impl PerQuery {
    /// Column names, in the order of [`PerQuery::columns`] (the CSV header after `row`).
    pub const NAMES: [&'static str; 9] = [
        "tv",
        "max_abs",
        "output_rel_err",
        "c",
        "z",
        "c_over_z",
        "q_norm",
        "max_k_norm",
        "c_rel_se",
    ];

    /// The columns in [`PerQuery::NAMES`] order.
    pub fn columns(&self) -> [&[f64]; 9] {
        [
            &self.tv,
            &self.max_abs,
            &self.output_rel_err,
            &self.c,
            &self.z,
            &self.c_over_z,
            &self.q_norm,
            &self.max_k_norm,
            &self.c_rel_se,
        ]
    }

    /// The diagnostics of the completed rows of `network` against `reference`. `sequence`
    /// gives q̃ and k̃, `schedule` the mask, and `calcium_rel_se` the estimator's c_rel_se per
    /// row (see [`crate::model::algebraic::AlgebraicRun`]).
    pub fn compute(
        reference: &SoftmaxReference,
        network: &NetworkOutput,
        sequence: &Sequence,
        schedule: Schedule,
        calcium_rel_se: &[f64],
    ) -> PerQuery {
        let queries = sequence.scaled_queries();
        let keys = sequence.scaled_keys();
        let key_norm: Vec<f64> = keys.rows().into_iter().map(|k| k.dot(&k).sqrt()).collect();
        let z = reference.normaliser();
        let mut out = PerQuery::default();
        for t in (0..network.rows_done.len()).filter(|&t| network.rows_done[t]) {
            let diff = &network.attention.row(t) - &reference.attention.row(t);
            out.row.push(t);
            out.tv.push(0.5 * diff.mapv(f64::abs).sum());
            out.max_abs
                .push(diff.iter().fold(0.0, |m: f64, d| m.max(d.abs())));
            let y_diff = &network.outputs.row(t) - &reference.outputs.row(t);
            let y_ref = reference.outputs.row(t);
            out.output_rel_err
                .push((y_diff.dot(&y_diff) / y_ref.dot(&y_ref)).sqrt());
            out.c.push(network.calcium[t]);
            out.z.push(z[t]);
            out.c_over_z.push(network.calcium[t] / z[t]);
            let q = queries.row(t);
            out.q_norm.push(q.dot(&q).sqrt());
            out.max_k_norm.push(
                (0..key_norm.len())
                    .filter(|&tau| in_mask(schedule, t, tau))
                    .map(|tau| key_norm[tau])
                    .fold(f64::NAN, f64::max),
            );
            out.c_rel_se
                .push(calcium_rel_se.get(t).copied().unwrap_or(f64::NAN));
        }
        out
    }
}

/// Fewest points a correlation is reported on: two points always lie on a line, so their r
/// is ±1 whatever the data, and a learner would read it as a finding (issue 25).
pub const MIN_CORRELATION_POINTS: usize = 3;

/// Pearson correlation; NaN with fewer than [`MIN_CORRELATION_POINTS`] points or zero variance.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < MIN_CORRELATION_POINTS {
        return f64::NAN;
    }
    let mean_a = a[..n].iter().sum::<f64>() / n as f64;
    let mean_b = b[..n].iter().sum::<f64>() / n as f64;
    let (mut cov, mut var_a, mut var_b) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (da, db) = (a[i] - mean_a, b[i] - mean_b);
        cov += da * db;
        var_a += da * da;
        var_b += db * db;
    }
    // A constant series has no correlation: its spread is rounding alone (the mean of n equal
    // values need not be exactly that value), which gave a frozen calcium r = 1.5e-15.
    let flat = |values: &[f64], var: f64| {
        let scale = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        var <= n as f64 * (1e-12 * scale).powi(2)
    };
    if flat(&a[..n], var_a) || flat(&b[..n], var_b) {
        return f64::NAN;
    }
    cov / (var_a * var_b).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn identical_outputs_score_zero_and_differences_are_measured() {
        let reference = SoftmaxReference {
            attention: array![[0.5, 0.5], [0.25, 0.75]],
            log_normaliser: vec![2f64.ln(), 4f64.ln()],
            outputs: array![[1.0, 0.0], [0.0, 1.0]],
        };
        let mut net = NetworkOutput {
            attention: reference.attention.clone(),
            calcium: vec![2.0, 4.0],
            outputs: reference.outputs.clone(),
            rows_done: vec![true, true],
        };
        let m = Metrics::compute(&reference, &net);
        assert_eq!(m.attn_tv, 0.0);
        assert_eq!(m.output_rel_err, 0.0);
        // Two rows: a correlation of two points is undefined (see the test below).
        assert!(m.calcium_corr.is_nan());
        net.attention[[0, 0]] = 0.7;
        net.attention[[0, 1]] = 0.3;
        net.calcium[1] = 5.0;
        let m = Metrics::compute(&reference, &net);
        assert!((m.attn_tv - 0.1).abs() < 1e-12, "{}", m.attn_tv);
        assert!((m.attn_max_abs - 0.2).abs() < 1e-12);
        assert!((m.calcium_rel_err - 0.125).abs() < 1e-12);
        net.rows_done = vec![false, false];
        assert!(Metrics::compute(&reference, &net).attn_tv.is_nan());
    }

    #[test]
    fn correlation_is_undefined_below_three_points() {
        // Two points always give ±1; that is no evidence of tracking.
        assert!(pearson(&[1.0, 2.0], &[5.0, 3.0]).is_nan());
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]) - 1.0).abs() < 1e-12);
        assert!(pearson(&[1.0, 1.0, 1.0], &[2.0, 4.0, 6.0]).is_nan());
    }

    #[test]
    fn a_constant_series_has_no_correlation_even_through_rounding() {
        // The mean of these three equal values is not exactly 0.1, so their spread is
        // rounding, not signal.
        let flat = [0.1; 3];
        let mean = flat.iter().sum::<f64>() / 3.0;
        assert_ne!(mean, 0.1, "the case needs a mean that rounds");
        assert!(pearson(&flat, &[2.0, 4.0, 7.0]).is_nan());
        assert!(pearson(&[2.0, 4.0, 7.0], &flat).is_nan());
        // A small but real spread still correlates.
        assert!((pearson(&[1.0, 1.0 + 1e-6, 1.0 + 2e-6], &[2.0, 4.0, 6.0]) - 1.0).abs() < 1e-6);
    }
}
