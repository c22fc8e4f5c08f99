//! The building blocks of one encoder layer: dense layers, LayerNorm, the head split, and the
//! one transformer block that BERT and ALBERT (post-LayerNorm) and ViT (pre-LayerNorm) share.

use super::LayerHeads;
use super::numerics::Activation;
use crate::model::softmax::softmax_in_place;
use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayViewMut2, Axis, s};
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

/// Where a block applies its two LayerNorms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NormPlacement {
    /// BERT, ALBERT: `h' = LN(attn(h) + h)`, `h'' = LN(ffn(h') + h')`.
    Post,
    /// ViT: `h' = attn(LN(h)) + h`, `h'' = ffn(LN(h')) + h'`.
    Pre,
}

/// One transformer block's weights. With [`NormPlacement::Post`], `attn_norm` follows the
/// attention residual and `out_norm` the feed-forward residual; with [`NormPlacement::Pre`],
/// `attn_norm` is ViT's `layernorm_before` and `out_norm` its `layernorm_after`.
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

/// The shape of the block: heads, head size, activation and where the norms go.
#[derive(Debug, Clone, Copy)]
pub(super) struct BlockShape {
    pub(super) heads: usize,
    pub(super) head_size: usize,
    pub(super) activation: Activation,
    pub(super) norm: NormPlacement,
}

impl EncoderLayer {
    /// W_O as `(heads·head_size) × hidden` (so `context · W_O + b_o`) and its bias b_o.
    pub(super) fn output_projection(&self) -> (Array2<f32>, Array1<f32>) {
        (self.attn_out.w.t().to_owned(), self.attn_out.b.clone())
    }

    /// Runs the block on `h` (`N × hidden`): returns the next hidden state and this layer's
    /// per-head q, k, v (linear outputs with bias, unscaled) and attention probabilities.
    pub(super) fn forward(&self, h: Array2<f32>, shape: BlockShape) -> (Array2<f32>, LayerHeads) {
        let n = h.nrows();
        let (heads, hs) = (shape.heads, shape.head_size);
        let hidden = heads * hs;
        let qkv = match shape.norm {
            NormPlacement::Post => self.qkv.forward(h.view()),
            NormPlacement::Pre => {
                let mut x = h.clone();
                self.attn_norm.forward_inplace(&mut x);
                self.qkv.forward(x.view())
            }
        };
        let q = qkv.slice(s![.., 0..hidden]);
        let k = qkv.slice(s![.., hidden..2 * hidden]);
        let v = qkv.slice(s![.., 2 * hidden..3 * hidden]);
        let scale = 1.0 / (hs as f32).sqrt();
        let mut context = Array2::<f32>::zeros((n, hidden));
        let mut attention = Array3::<f32>::zeros((heads, n, n));
        for head in 0..heads {
            let cols = head * hs..(head + 1) * hs;
            let qh = q.slice(s![.., cols.clone()]);
            let kh = k.slice(s![.., cols.clone()]);
            let vh = v.slice(s![.., cols.clone()]);
            let mut scores = qh.dot(&kh.t());
            scores *= scale;
            for row in scores.rows_mut() {
                softmax_in_place(row, |_| true);
            }
            context.slice_mut(s![.., cols]).assign(&scores.dot(&vh));
            attention.index_axis_mut(Axis(0), head).assign(&scores);
        }
        let mut attn = self.attn_out.forward(context.view());
        let attention_output = attn.clone();
        attn += &h;
        let act = shape.activation;
        let next = match shape.norm {
            NormPlacement::Post => {
                self.attn_norm.forward_inplace(&mut attn);
                let mut inter = self.intermediate.forward(attn.view());
                inter.par_mapv_inplace(|x| act.apply(x));
                let mut next = self.output.forward(inter.view());
                next += &attn;
                self.out_norm.forward_inplace(&mut next);
                next
            }
            NormPlacement::Pre => {
                let mut x = attn.clone();
                self.out_norm.forward_inplace(&mut x);
                let mut inter = self.intermediate.forward(x.view());
                inter.par_mapv_inplace(|x| act.apply(x));
                let mut next = self.output.forward(inter.view());
                next += &attn;
                next
            }
        };
        let heads_out = LayerHeads {
            q: split_heads(q, heads, hs),
            k: split_heads(k, heads, hs),
            v: split_heads(v, heads, hs),
            attention,
            attention_output,
        };
        (next, heads_out)
    }
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
