//! The model's input: token labels and one attention head's queries, keys and values.

use super::features::{Stream, rng_for};
use ndarray::Array2;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// Where a real-text sequence came from (absent for synthetic and `.npy` inputs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TextOrigin {
    pub text: String,
    pub model: String,
    pub layer: usize,
    pub head: usize,
}

/// One head's inputs: q, k ∈ R^{N×D}, v ∈ R^{N×d}, unscaled, plus a label per token.
#[derive(Clone, Debug, PartialEq)]
pub struct Sequence {
    /// The source spec it was built from, e.g. `synthetic:12x32` or `npy:/path`.
    pub source: String,
    pub tokens: Vec<String>,
    pub queries: Array2<f64>,
    pub keys: Array2<f64>,
    pub values: Array2<f64>,
    pub origin: Option<TextOrigin>,
}

/// A sequence whose shapes or values cannot feed the model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShapeError {
    #[error("the sequence is empty (N = 0 tokens)")]
    Empty,
    #[error("q has {q} rows but k has {k} and v has {v}: all must have one row per token")]
    RowMismatch { q: usize, k: usize, v: usize },
    #[error("q has {q} columns but k has {k}: queries and keys must share their dimension D")]
    DimMismatch { q: usize, k: usize },
    #[error("{name} has zero columns")]
    ZeroWidth { name: &'static str },
    #[error("{0} tokens are labelled but the tensors have {1} rows")]
    TokenCount(usize, usize),
    #[error("{name}[{row}, {col}] is {value}: every entry must be finite")]
    NotFinite {
        name: &'static str,
        row: usize,
        col: usize,
        value: f64,
    },
}

impl Sequence {
    /// Builds a sequence and checks its shapes and values.
    pub fn new(
        source: impl Into<String>,
        tokens: Vec<String>,
        queries: Array2<f64>,
        keys: Array2<f64>,
        values: Array2<f64>,
    ) -> Result<Self, ShapeError> {
        let seq = Sequence {
            source: source.into(),
            tokens,
            queries,
            keys,
            values,
            origin: None,
        };
        seq.check()?;
        Ok(seq)
    }

    /// Checks shapes and finiteness.
    pub fn check(&self) -> Result<(), ShapeError> {
        let (q, k, v) = (self.queries.nrows(), self.keys.nrows(), self.values.nrows());
        if q == 0 {
            return Err(ShapeError::Empty);
        }
        if q != k || q != v {
            return Err(ShapeError::RowMismatch { q, k, v });
        }
        if self.queries.ncols() != self.keys.ncols() {
            return Err(ShapeError::DimMismatch {
                q: self.queries.ncols(),
                k: self.keys.ncols(),
            });
        }
        for (name, array) in [("q", &self.queries), ("k", &self.keys), ("v", &self.values)] {
            if array.ncols() == 0 {
                return Err(ShapeError::ZeroWidth { name });
            }
            if let Some(((row, col), value)) = array.indexed_iter().find(|(_, x)| !x.is_finite()) {
                return Err(ShapeError::NotFinite {
                    name,
                    row,
                    col,
                    value: *value,
                });
            }
        }
        if self.tokens.len() != q {
            return Err(ShapeError::TokenCount(self.tokens.len(), q));
        }
        Ok(())
    }

    /// Number of tokens N.
    pub fn len(&self) -> usize {
        self.queries.nrows()
    }

    /// Always false for a checked sequence.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Query/key dimension D.
    pub fn key_dim(&self) -> usize {
        self.queries.ncols()
    }

    /// Value dimension d (number of output neurons).
    pub fn value_dim(&self) -> usize {
        self.values.ncols()
    }

    /// q / D^(1/4): scaled so that q~·k~ = q·k/√D.
    pub fn scaled_queries(&self) -> Array2<f64> {
        &self.queries / (self.key_dim() as f64).powf(0.25)
    }

    /// k / D^(1/4).
    pub fn scaled_keys(&self) -> Array2<f64> {
        &self.keys / (self.key_dim() as f64).powf(0.25)
    }

    /// N tokens of dimension D with q, k, v entries drawn N(0, 1) from `seed`, q and k then
    /// multiplied by `scale` (the `synthetic:NxD` source).
    pub fn gaussian(tokens: usize, dim: usize, seed: u64, scale: f64) -> Sequence {
        Sequence::gaussian_head(tokens, dim, seed, scale, 0)
    }

    /// Head `head` of a synthetic layer: drawn like [`Sequence::gaussian`] from the seed's
    /// synthetic stream number `head` (head 0 is exactly `gaussian`).
    pub fn gaussian_head(
        tokens: usize,
        dim: usize,
        seed: u64,
        scale: f64,
        head: usize,
    ) -> Sequence {
        let mut rng = rng_for(seed, Stream::Synthetic, head as u64);
        let mut draw =
            |rows, cols| Array2::from_shape_fn((rows, cols), |_| StandardNormal.sample(&mut rng));
        let queries: Array2<f64> = draw(tokens, dim) * scale;
        let keys: Array2<f64> = draw(tokens, dim) * scale;
        let values: Array2<f64> = draw(tokens, dim);
        Sequence {
            source: format!("synthetic:{tokens}x{dim}"),
            tokens: Sequence::numbered_tokens(tokens),
            queries,
            keys,
            values,
            origin: None,
        }
    }

    /// Default labels "t0", "t1", … for inputs without tokens.
    pub fn numbered_tokens(n: usize) -> Vec<String> {
        (0..n).map(|t| format!("t{t}")).collect()
    }
}
