//! `synthetic:NxD`: Gaussian queries, keys and values drawn from the seed.

use crate::model::sequence::Sequence;

/// N tokens of dimension D: q, k, v entries N(0,1), q and k then multiplied by `scale`.
pub fn synthetic(tokens: usize, dim: usize, seed: u64, scale: f64) -> Sequence {
    Sequence::gaussian(tokens, dim, seed, scale)
}

/// Head `head` of `synthetic:NxDxH` (`heads` = H): its own draw from the seed and the head
/// index; head 0 equals [`synthetic`].
pub fn synthetic_head(
    tokens: usize,
    dim: usize,
    heads: usize,
    head: usize,
    seed: u64,
    scale: f64,
) -> Sequence {
    let mut sequence = Sequence::gaussian_head(tokens, dim, seed, scale, head);
    if heads != 1 {
        sequence.source = format!("synthetic:{tokens}x{dim}x{heads}");
    }
    sequence
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_data_and_scale_applies_to_q_k_only() {
        let a = synthetic(4, 8, 5, 1.0);
        let b = synthetic(4, 8, 5, 2.0);
        assert_eq!(a.queries.mapv(|x| 2.0 * x), b.queries);
        assert_eq!(a.values, b.values);
        assert_ne!(synthetic(4, 8, 6, 1.0).queries, a.queries);
        a.check().unwrap();
    }
}
