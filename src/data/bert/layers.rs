//! The building blocks of one encoder layer: dense layers, LayerNorm and the head split.

use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

/// A dense layer `y = x Wᵀ + b` with `W` stored as `[out, in]` like PyTorch.
#[derive(Debug)]
pub(super) struct Linear {
    pub(super) w: Array2<f32>,
    pub(super) b: Array1<f32>,
}

impl Linear {
    /// Below this many multiply-adds a product is not worth splitting across threads.
    pub(super) const PARALLEL_MIN_WORK: usize = 1 << 20;

    pub(super) fn forward(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let (n, out) = (x.nrows(), self.w.nrows());
        let threads = rayon::current_num_threads();
        let mut y = if threads > 1 && n * out * self.w.ncols() >= Self::PARALLEL_MIN_WORK {
            // Split the output features into one contiguous block per thread.
            let mut y = Array2::<f32>::zeros((n, out));
            let chunk = out.div_ceil(threads);
            let blocks: Vec<_> = y
                .axis_chunks_iter_mut(Axis(1), chunk)
                .zip(self.w.axis_chunks_iter(Axis(0), chunk))
                .collect();
            blocks.into_par_iter().for_each(|(mut yb, wb)| {
                ndarray::linalg::general_mat_mul(1.0, &x, &wb.t(), 0.0, &mut yb);
            });
            y
        } else {
            x.dot(&self.w.t())
        };
        y += &self.b;
        y
    }
}

#[derive(Debug)]
pub(super) struct LayerNorm {
    pub(super) gamma: Array1<f32>,
    pub(super) beta: Array1<f32>,
    pub(super) eps: f64,
}

impl LayerNorm {
    pub(super) fn forward_inplace(&self, x: &mut Array2<f32>) {
        layer_norm_rows(x.view_mut(), &self.gamma, &self.beta, self.eps);
    }
}

#[derive(Debug)]
pub(super) struct EncoderLayer {
    /// Query, key and value projections fused into one `[3·hidden, hidden]` matrix.
    pub(super) qkv: Linear,
    pub(super) attn_out: Linear,
    pub(super) attn_norm: LayerNorm,
    pub(super) intermediate: Linear,
    pub(super) output: Linear,
    pub(super) out_norm: LayerNorm,
}

/// `[N, heads·hs]` → `[heads, N, hs]`.
pub(super) fn split_heads(x: ArrayView2<f32>, heads: usize, hs: usize) -> Array3<f32> {
    let n = x.nrows();
    Array3::from_shape_fn((heads, n, hs), |(h, i, d)| x[[i, h * hs + d]])
}

/// LayerNorm over each row: `(x − mean)/√(var + eps)·γ + β` with the biased variance, as
/// `torch.nn.LayerNorm`.
pub(super) fn layer_norm_rows(
    mut x: ArrayViewMut2<f32>,
    gamma: &Array1<f32>,
    beta: &Array1<f32>,
    eps: f64,
) {
    for mut row in x.rows_mut() {
        let n = row.len() as f64;
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = row
            .iter()
            .map(|&v| {
                let d = v as f64 - mean;
                d * d
            })
            .sum::<f64>()
            / n;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, &g), &b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = ((*v as f64 - mean) * inv) as f32 * g + b;
        }
    }
}
