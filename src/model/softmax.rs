//! The reference transformer attention (spec "Reference transformer attention").

use super::params::Schedule;
use crate::model::sequence::Sequence;
use ndarray::{Array2, ArrayView2, ArrayViewMut1};
use std::ops::{Add, Div, Sub};

/// Softmax attention of one head, computed with the row max subtracted.
#[derive(Clone, Debug, PartialEq)]
pub struct SoftmaxReference {
    /// A_soft (N × N), row-stochastic, zero outside the mask.
    pub attention: Array2<f64>,
    /// log Z_t per query.
    pub log_normaliser: Vec<f64>,
    /// y_soft (N × d).
    pub outputs: Array2<f64>,
}

impl SoftmaxReference {
    /// Z_t = Σ_τ M[t,τ] exp(q~_t·k~_τ).
    pub fn normaliser(&self) -> Vec<f64> {
        self.log_normaliser.iter().map(|l| l.exp()).collect()
    }
}

/// Whether M[t, τ] = 1.
#[inline]
pub fn in_mask(schedule: Schedule, t: usize, tau: usize) -> bool {
    match schedule {
        Schedule::Bidirectional => true,
        Schedule::Causal => tau <= t,
    }
}

/// Scaled scores S = q~ k~ᵀ = q kᵀ / √D.
pub fn scores(queries: ArrayView2<f64>, keys: ArrayView2<f64>) -> Array2<f64> {
    let dim = queries.ncols() as f64;
    queries.dot(&keys.t()) / dim.sqrt()
}

/// A_soft, log Z and y_soft for `sequence` under `schedule`'s mask.
pub fn softmax_reference(sequence: &Sequence, schedule: Schedule) -> SoftmaxReference {
    let n = sequence.len();
    let s = scores(sequence.queries.view(), sequence.keys.view());
    let mut attention = Array2::<f64>::zeros((n, n));
    let mut log_normaliser = Vec::with_capacity(n);
    for t in 0..n {
        let mut row = attention.row_mut(t);
        row.assign(&s.row(t));
        let (top, sum) = softmax_in_place(row, |tau| in_mask(schedule, t, tau));
        log_normaliser.push(top + sum.ln());
    }
    let outputs = attention.dot(&sequence.values);
    SoftmaxReference {
        attention,
        log_normaliser,
        outputs,
    }
}

/// A float type the softmax runs in: f64 for the model, f32 for the BERT forward pass.
pub trait Real: Copy + Add<Output = Self> + Sub<Output = Self> + Div<Output = Self> {
    const ZERO: Self;
    const NEG_INFINITY: Self;
    fn exp(self) -> Self;
    fn max(self, other: Self) -> Self;
}

macro_rules! real {
    ($($ty:ty),+) => {$(
        impl Real for $ty {
            const ZERO: Self = 0.0;
            const NEG_INFINITY: Self = <$ty>::NEG_INFINITY;
            fn exp(self) -> Self {
                <$ty>::exp(self)
            }
            fn max(self, other: Self) -> Self {
                <$ty>::max(self, other)
            }
        }
    )+};
}
real!(f32, f64);

/// Softmax of one row of scores, in place, with the largest masked score subtracted for
/// stability: entries where `mask(τ)` holds become exp(s_τ − max)/Σ, the others 0. Returns
/// the max and the sum Σ exp(s_τ − max), so log Z = max + ln Σ.
pub fn softmax_in_place<F: Real>(
    mut row: ArrayViewMut1<'_, F>,
    mask: impl Fn(usize) -> bool,
) -> (F, F) {
    let top = row
        .iter()
        .enumerate()
        .filter(|&(tau, _)| mask(tau))
        .fold(F::NEG_INFINITY, |top, (_, &score)| top.max(score));
    let mut sum = F::ZERO;
    for (tau, entry) in row.iter_mut().enumerate() {
        *entry = if mask(tau) {
            let e = (*entry - top).exp();
            sum = sum + e;
            e
        } else {
            F::ZERO
        };
    }
    row.mapv_inplace(|x| x / sum);
    (top, sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_stochastic_and_stable_for_huge_scores() {
        let mut seq = Sequence::gaussian(5, 4, 1, 1.0);
        seq.queries *= 60.0;
        for schedule in [Schedule::Bidirectional, Schedule::Causal] {
            let r = softmax_reference(&seq, schedule);
            for t in 0..5 {
                let sum: f64 = r.attention.row(t).sum();
                assert!((sum - 1.0).abs() < 1e-12);
                assert!(r.log_normaliser[t].is_finite());
                if schedule == Schedule::Causal {
                    assert!(r.attention.row(t).iter().skip(t + 1).all(|&a| a == 0.0));
                }
            }
        }
    }

    #[test]
    fn matches_a_direct_computation() {
        let seq = Sequence::gaussian(3, 4, 2, 0.7);
        let r = softmax_reference(&seq, Schedule::Bidirectional);
        let s = scores(seq.queries.view(), seq.keys.view());
        let z0: f64 = (0..3).map(|tau| s[[0, tau]].exp()).sum();
        assert!((r.log_normaliser[0] - z0.ln()).abs() < 1e-12);
        assert!((r.attention[[0, 1]] - s[[0, 1]].exp() / z0).abs() < 1e-12);
    }
}
