//! Random features (spec "Random features"): the projection W and the feature maps φ.
//!
//! φ(x) is held as `exp(offset) · mantissa` so that long sums of exponentials never overflow:
//! offsets are per input row and cancel in every ratio the network forms (attention rows), and
//! are added back in the log domain where an absolute value is needed (calcium c_t vs Z_t).

use super::fastmath;
use super::params::{FeatureMap, Projection};
use ndarray::{Array2, ArrayView1, ArrayView2, Axis, s};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Rows of W drawn from one random stream; fixed, so W never depends on the thread count.
pub const PROJECTION_BLOCK_ROWS: usize = 512;

/// Random streams of one seed, kept apart so that each quantity is reproducible on its own.
#[derive(Clone, Copy, Debug)]
pub enum Stream {
    Projection = 1,
    ProcessGains = 2,
    Synthetic = 3,
    /// Phases b_j of the cosine maps.
    Phases = 4,
    /// The permutation π of `shuffled_processes`.
    Permutation = 5,
}

/// The clip of e^{w·x} in the `truncated` map (the authors' notebooks use 150).
pub const TRUNCATION: f64 = 150.0;

/// What some maps need besides W: `oprf`'s A* (chosen from the data) and per-row constants.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MapConstants {
    /// A* of `oprf` (0 for every other map).
    pub oprf_a: f64,
    /// Per projection row j: `oprf`: A*‖w_j‖² + (D/4) ln(1 − 4A*); cosine maps: the phase b_j
    /// ~ U[0, 2π). Empty for the other maps.
    pub row_bias: Vec<f64>,
}

impl MapConstants {
    /// The constants of `map` for projection `w` on `queries`/`keys` (scaled), drawn from `seed`.
    pub fn new(
        map: FeatureMap,
        w: &Array2<f64>,
        queries: ArrayView2<f64>,
        keys: ArrayView2<f64>,
        seed: u64,
    ) -> MapConstants {
        match map {
            FeatureMap::Oprf => Self::oprf(w, oprf_a_star(queries, keys)),
            FeatureMap::Cosine | FeatureMap::RectifiedCosine => {
                use rand_distr::Uniform;
                let uniform = Uniform::new(0.0, std::f64::consts::TAU).expect("valid range");
                let mut rng = rng_for(seed, Stream::Phases, 0);
                MapConstants {
                    oprf_a: 0.0,
                    row_bias: (0..w.nrows()).map(|_| uniform.sample(&mut rng)).collect(),
                }
            }
            _ => MapConstants::default(),
        }
    }

    /// `oprf` constants for a given A (A < 1/8); A = 0 gives the `positive` map exactly.
    pub fn oprf(w: &Array2<f64>, a: f64) -> MapConstants {
        let dim = w.ncols() as f64;
        let log_scale = dim / 4.0 * (1.0 - 4.0 * a).ln();
        MapConstants {
            oprf_a: a,
            row_bias: w
                .rows()
                .into_iter()
                .map(|row| a * row.dot(&row) + log_scale)
                .collect(),
        }
    }

    /// B = √(1 − 4A*), the factor on w·x in `oprf` (1 for the other maps).
    pub fn oprf_b(&self) -> f64 {
        (1.0 - 4.0 * self.oprf_a).sqrt()
    }

    /// The per-row constants of rows `start..start + rows` (empty when the map has none).
    pub fn bias_rows(&self, start: usize, rows: usize) -> &[f64] {
        if self.row_bias.is_empty() {
            &[]
        } else {
            &self.row_bias[start..start + rows]
        }
    }
}

/// A* = (1 − 2ρ − √((2ρ+1)² + 8ρ))/16 with ρ the mean over all query–key pairs of ‖q̃ + k̃‖²/D
/// (Likhosherstov et al. 2022): the A that minimises the estimator's second moment averaged
/// over the pairs.
pub fn oprf_a_star(queries: ArrayView2<f64>, keys: ArrayView2<f64>) -> f64 {
    let dim = queries.ncols().max(1) as f64;
    let pairs = (queries.nrows() * keys.nrows()).max(1) as f64;
    let mut total = 0.0;
    for q in queries.rows() {
        for k in keys.rows() {
            total += q
                .iter()
                .zip(k.iter())
                .map(|(a, b)| (a + b) * (a + b))
                .sum::<f64>();
        }
    }
    let rho = total / pairs / dim;
    (1.0 - 2.0 * rho - ((2.0 * rho + 1.0).powi(2) + 8.0 * rho).sqrt()) / 16.0
}

/// A ChaCha8 generator for `seed`, stream `stream` and sub-stream `block`.
pub fn rng_for(seed: u64, stream: Stream, block: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(((stream as u64) << 40) | block);
    rng
}

/// Draws the projection W (m × D) for `seed`.
///
/// `iid`: every entry N(0,1). `orthogonal`: each block of D rows is the Q of a QR
/// decomposition of a Gaussian D×D block (so its rows are mutually orthonormal), each row then
/// rescaled to the norm of an independent N(0, I_D) vector (Performer's ORF).
pub fn draw_projection(m: usize, dim: usize, projection: Projection, seed: u64) -> Array2<f64> {
    use rayon::prelude::*;
    let mut w = Array2::<f64>::zeros((m, dim));
    let block_rows = match projection {
        // A learned projection is read from its file, never drawn; iid is its starting point.
        Projection::Iid | Projection::Learned(_) => PROJECTION_BLOCK_ROWS,
        Projection::Orthogonal => dim.max(1),
    };
    w.axis_chunks_iter_mut(Axis(0), block_rows)
        .into_par_iter()
        .enumerate()
        .for_each(|(block, mut rows)| {
            let mut rng = rng_for(seed, Stream::Projection, block as u64);
            match projection {
                Projection::Iid | Projection::Learned(_) => {
                    for value in rows.iter_mut() {
                        *value = StandardNormal.sample(&mut rng);
                    }
                }
                Projection::Orthogonal => {
                    let gaussian =
                        Array2::from_shape_fn((dim, dim), |_| StandardNormal.sample(&mut rng));
                    let q = orthonormal_rows(&gaussian);
                    for (r, mut row) in rows.axis_iter_mut(Axis(0)).enumerate() {
                        let norm: f64 = (0..dim)
                            .map(|_| {
                                let z: f64 = StandardNormal.sample(&mut rng);
                                z * z
                            })
                            .sum::<f64>()
                            .sqrt();
                        row.assign(&(&q.row(r) * norm));
                    }
                }
            }
        });
    w
}

/// Rows of the Q factor of `block` (square), by modified Gram–Schmidt with one
/// re-orthogonalisation pass (numerically orthonormal to ~1e-15 for the sizes used here).
fn orthonormal_rows(block: &Array2<f64>) -> Array2<f64> {
    let n = block.nrows();
    let mut q = block.clone();
    for i in 0..n {
        for _pass in 0..2 {
            for j in 0..i {
                let proj = q.row(i).dot(&q.row(j));
                let qj = q.row(j).to_owned();
                q.row_mut(i).scaled_add(-proj, &qj);
            }
        }
        let norm = q.row(i).dot(&q.row(i)).sqrt();
        if norm > 0.0 {
            q.row_mut(i).mapv_inplace(|x| x / norm);
        }
    }
    q
}

/// φ(x) for one input, exactly (no offset), m' values, for maps that need no
/// [`MapConstants`] (with `oprf` it is A = 0, i.e. `positive`; with the cosine maps every
/// phase is 0). See [`features_with`].
pub fn features(map: FeatureMap, w: &Array2<f64>, x: ArrayView1<f64>) -> Vec<f64> {
    features_with(map, w, &MapConstants::default(), x)
}

/// φ(x) for one input, exactly (no offset), m' values. Used by tests, the GUI and the dynamic
/// mode's checks; the hot paths use [`feature_block`].
pub fn features_with(
    map: FeatureMap,
    w: &Array2<f64>,
    constants: &MapConstants,
    x: ArrayView1<f64>,
) -> Vec<f64> {
    let m = w.nrows();
    let sq = x.dot(&x);
    let bias = |j: usize| constants.row_bias.get(j).copied().unwrap_or(0.0);
    match map {
        FeatureMap::Oprf => {
            let norm = -0.5 * (m as f64).ln();
            let b = constants.oprf_b();
            w.dot(&x)
                .iter()
                .enumerate()
                .map(|(j, z)| (b * z + bias(j) - sq / 2.0 + norm).exp())
                .collect()
        }
        FeatureMap::Truncated => {
            let norm = -0.5 * (m as f64).ln();
            w.dot(&x)
                .iter()
                .map(|z| (z.min(TRUNCATION.ln()) - sq / 2.0 + norm).exp())
                .collect()
        }
        FeatureMap::Cosine | FeatureMap::RectifiedCosine => {
            let scale = (sq / 2.0 + cosine_log_norm(map, m)).exp();
            let rectify = map == FeatureMap::RectifiedCosine;
            w.dot(&x)
                .iter()
                .enumerate()
                .map(|(j, z)| {
                    let c = (z + bias(j)).cos();
                    scale * if rectify { c.max(0.0) } else { c }
                })
                .collect()
        }
        // A learned projection adds its bias b_j (spec v3); random ones have none.
        FeatureMap::Positive if !constants.row_bias.is_empty() => {
            let norm = -0.5 * (m as f64).ln();
            w.dot(&x)
                .iter()
                .enumerate()
                .map(|(j, z)| (z + bias(j) - sq / 2.0 + norm).exp())
                .collect()
        }
        FeatureMap::Positive => {
            let norm = -0.5 * (m as f64).ln();
            w.dot(&x)
                .iter()
                .map(|z| (z - sq / 2.0 + norm).exp())
                .collect()
        }
        FeatureMap::Hyperbolic => {
            let norm = -0.5 * ((2 * m) as f64).ln();
            let z = w.dot(&x);
            z.iter()
                .map(|z| (z - sq / 2.0 + norm).exp())
                .chain(z.iter().map(|z| (-z - sq / 2.0 + norm).exp()))
                .collect()
        }
        FeatureMap::Trig => {
            let scale = (sq / 2.0).exp() / (m as f64).sqrt();
            let z = w.dot(&x);
            z.iter()
                .map(|z| scale * z.cos())
                .chain(z.iter().map(|z| scale * z.sin()))
                .collect()
        }
        FeatureMap::Elu1 => x.iter().map(|&v| elu1(v)).collect(),
    }
}

/// φ(x)_j for one hidden neuron `hidden` (the j-th value of [`features_with`]), in O(D): the
/// GUI shades a few shown neurons by φ(q̃_t) without computing all m' of them.
pub fn feature(
    map: FeatureMap,
    w: &Array2<f64>,
    constants: &MapConstants,
    x: ArrayView1<f64>,
    hidden: usize,
) -> f64 {
    let m = w.nrows();
    let sq = x.dot(&x);
    let row = |r: usize| w.row(r).dot(&x);
    let bias = |j: usize| constants.row_bias.get(j).copied().unwrap_or(0.0);
    let norm = -0.5 * (m as f64).ln();
    match map {
        FeatureMap::Oprf => {
            (constants.oprf_b() * row(hidden) + bias(hidden) - sq / 2.0 + norm).exp()
        }
        FeatureMap::Truncated => (row(hidden).min(TRUNCATION.ln()) - sq / 2.0 + norm).exp(),
        FeatureMap::Cosine | FeatureMap::RectifiedCosine => {
            let scale = (sq / 2.0 + cosine_log_norm(map, m)).exp();
            let c = (row(hidden) + bias(hidden)).cos();
            scale
                * if map == FeatureMap::RectifiedCosine {
                    c.max(0.0)
                } else {
                    c
                }
        }
        FeatureMap::Positive if !constants.row_bias.is_empty() => {
            (row(hidden) + bias(hidden) - sq / 2.0 + norm).exp()
        }
        FeatureMap::Positive => (row(hidden) - sq / 2.0 + norm).exp(),
        FeatureMap::Hyperbolic => {
            let z = if hidden < m {
                row(hidden)
            } else {
                -row(hidden - m)
            };
            (z - sq / 2.0 - 0.5 * ((2 * m) as f64).ln()).exp()
        }
        FeatureMap::Trig => {
            let scale = (sq / 2.0).exp() / (m as f64).sqrt();
            if hidden < m {
                scale * row(hidden).cos()
            } else {
                scale * row(hidden - m).sin()
            }
        }
        FeatureMap::Elu1 => elu1(x[hidden]),
    }
}

/// ln of the constant factor of the cosine maps: √(2/m) (cosine, unbiased) or √(2/(π m))
/// (rectified_cosine, as in the authors' notebooks).
pub fn cosine_log_norm(map: FeatureMap, m: usize) -> f64 {
    let ln_m = (m as f64).ln();
    match map {
        FeatureMap::RectifiedCosine => 0.5 * (2.0 / std::f64::consts::PI).ln() - 0.5 * ln_m,
        _ => 0.5 * 2f64.ln() - 0.5 * ln_m,
    }
}

/// elu(x) + 1: x + 1 for x > 0, e^x otherwise.
#[inline(always)]
pub fn elu1(x: f64) -> f64 {
    if x > 0.0 { x + 1.0 } else { x.exp() }
}

/// Which hidden neurons a block of projection rows produces.
#[derive(Clone, Copy, Debug)]
pub struct BlockLayout {
    /// First projection row (or input dimension for `elu1`).
    pub start: usize,
    /// Number of projection rows in the block.
    pub rows: usize,
    /// Total projection rows m (hidden index offset of the second half for paired maps).
    pub total_rows: usize,
    pub map: FeatureMap,
}

impl BlockLayout {
    /// Hidden-neuron indices of the block's columns, in column order.
    pub fn hidden_indices(&self) -> impl Iterator<Item = usize> + '_ {
        let first = self.start..self.start + self.rows;
        let second = match self.map {
            FeatureMap::Hyperbolic | FeatureMap::Trig => {
                self.total_rows + self.start..self.total_rows + self.start + self.rows
            }
            _ => 0..0,
        };
        first.chain(second)
    }
}

/// Features of a block of hidden neurons for many inputs at once, as
/// φ(x_t)_block = exp(offset_t) · mantissa[t, ..].
///
/// `inputs` is N × D (already scaled by D^(−1/4)); `w_block` the block's projection rows.
/// For `positive`/`hyperbolic` the offset is the row's largest log-feature in the block, so the
/// mantissa lies in (0, 1]. For `trig` it is ‖x‖²/2 − ½ ln m and the mantissa is cos/sin.
/// `bias` holds the block's rows of [`MapConstants::row_bias`] and `oprf_b` is B (1 otherwise).
pub fn feature_block(
    map: FeatureMap,
    inputs: ArrayView2<f64>,
    w_block: ArrayView2<f64>,
    total_rows: usize,
    bias: &[f64],
    oprf_b: f64,
) -> (Array2<f64>, Vec<f64>) {
    let n = inputs.nrows();
    let sq: Vec<f64> = inputs.rows().into_iter().map(|x| x.dot(&x)).collect();
    match map {
        FeatureMap::Oprf | FeatureMap::Truncated => {
            biased_exp_block(map, inputs, w_block, total_rows, bias, oprf_b, &sq)
        }
        // `positive` with a bias is a learned projection: `oprf`'s arithmetic with B = 1.
        FeatureMap::Positive if !bias.is_empty() => {
            biased_exp_block(map, inputs, w_block, total_rows, bias, oprf_b, &sq)
        }
        FeatureMap::Cosine | FeatureMap::RectifiedCosine => {
            let mut z = inputs.dot(&w_block.t());
            let rectify = map == FeatureMap::RectifiedCosine;
            for mut row in z.rows_mut() {
                for (v, b) in row.iter_mut().zip(bias) {
                    let c = (*v + b).cos();
                    *v = if rectify { c.max(0.0) } else { c };
                }
            }
            let log_norm = cosine_log_norm(map, total_rows);
            let offsets = sq.iter().map(|s| s / 2.0 + log_norm).collect();
            (z, offsets)
        }
        FeatureMap::Elu1 => {
            let mantissa = inputs.mapv(elu1);
            (mantissa, vec![0.0; n])
        }
        FeatureMap::Positive | FeatureMap::Hyperbolic => {
            let z = inputs.dot(&w_block.t());
            let rows = z.ncols();
            let paired = map == FeatureMap::Hyperbolic;
            let width = if paired { 2 * rows } else { rows };
            let log_norm = -0.5 * ((if paired { 2 } else { 1 } * total_rows) as f64).ln();
            let mut mantissa = Array2::<f64>::zeros((n, width));
            let mut offsets = Vec::with_capacity(n);
            for (t, &row_sq) in sq.iter().enumerate() {
                let zt = z.row(t);
                let mut top = f64::NEG_INFINITY;
                for &v in zt.iter() {
                    top = top.max(if paired { v.abs() } else { v });
                }
                let mut out = mantissa.row_mut(t);
                let out = out.as_slice_mut().expect("row-major");
                for (j, &v) in zt.iter().enumerate() {
                    out[j] = v - top;
                    if paired {
                        out[rows + j] = -v - top;
                    }
                }
                fastmath::exp_in_place(out);
                offsets.push(top - row_sq / 2.0 + log_norm);
            }
            (mantissa, offsets)
        }
        FeatureMap::Trig => {
            let z = inputs.dot(&w_block.t());
            let rows = z.ncols();
            let mut mantissa = Array2::<f64>::zeros((n, 2 * rows));
            let log_norm = -0.5 * (total_rows as f64).ln();
            let mut offsets = Vec::with_capacity(n);
            for t in 0..n {
                for j in 0..rows {
                    let (sin, cos) = z[[t, j]].sin_cos();
                    mantissa[[t, j]] = cos;
                    mantissa[[t, rows + j]] = sin;
                }
                offsets.push(sq[t] / 2.0 + log_norm);
            }
            (mantissa, offsets)
        }
    }
}

/// `oprf`, `truncated` and biased `positive` blocks: exp(B w·x + bias) (or clipped e^{w·x}),
/// each row offset by its largest log-feature.
fn biased_exp_block(
    map: FeatureMap,
    inputs: ArrayView2<f64>,
    w_block: ArrayView2<f64>,
    total_rows: usize,
    bias: &[f64],
    oprf_b: f64,
    sq: &[f64],
) -> (Array2<f64>, Vec<f64>) {
    let n = inputs.nrows();
    let mut z = inputs.dot(&w_block.t());
    if map != FeatureMap::Truncated {
        for mut row in z.rows_mut() {
            for (v, b) in row.iter_mut().zip(bias) {
                *v = oprf_b * *v + b;
            }
        }
    } else {
        let clip = TRUNCATION.ln();
        z.mapv_inplace(|v| v.min(clip));
    }
    let log_norm = -0.5 * (total_rows as f64).ln();
    let mut offsets = Vec::with_capacity(n);
    for (t, mut row) in z.rows_mut().into_iter().enumerate() {
        let top = row.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(v));
        let out = row.as_slice_mut().expect("row-major");
        for v in out.iter_mut() {
            *v -= top;
        }
        fastmath::exp_in_place(out);
        offsets.push(top - sq[t] / 2.0 + log_norm);
    }
    (z, offsets)
}

/// Splits m projection rows into fixed blocks (independent of the thread count).
pub fn blocks(map: FeatureMap, m: usize, dim: usize, block_rows: usize) -> Vec<BlockLayout> {
    if map == FeatureMap::Elu1 {
        return vec![BlockLayout {
            start: 0,
            rows: dim,
            total_rows: dim,
            map,
        }];
    }
    (0..m)
        .step_by(block_rows)
        .map(|start| BlockLayout {
            start,
            rows: block_rows.min(m - start),
            total_rows: m,
            map,
        })
        .collect()
}

/// The projection rows of a block (empty for `elu1`, which has no W).
pub fn block_rows_of<'a>(w: &'a Array2<f64>, layout: &BlockLayout) -> ArrayView2<'a, f64> {
    if layout.map == FeatureMap::Elu1 {
        w.slice(s![0..0, ..])
    } else {
        w.slice(s![layout.start..layout.start + layout.rows, ..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;

    fn random_vector(dim: usize, seed: u64, scale: f64) -> Array1<f64> {
        let mut rng = rng_for(seed, Stream::Synthetic, 99);
        Array1::from_shape_fn(dim, |_| {
            let z: f64 = StandardNormal.sample(&mut rng);
            scale * z
        })
    }

    #[test]
    fn one_feature_is_that_entry_of_all_features() {
        let x = random_vector(6, 5, 0.7);
        for &map in FeatureMap::ALL {
            let w = draw_projection(9, 6, Projection::Iid, 2);
            let keys = ndarray::Array2::from_shape_fn((4, 6), |(i, k)| {
                ((i * 6 + k) as f64 * 0.37).sin() * 0.5
            });
            let constants = MapConstants::new(map, &w, keys.view(), keys.view(), 3);
            let all = features_with(map, &w, &constants, x.view());
            for (j, value) in all.iter().enumerate() {
                let one = feature(map, &w, &constants, x.view(), j);
                assert!(
                    (one - value).abs() <= 1e-12 * value.abs().max(1.0),
                    "{map:?} {j}"
                );
            }
        }
    }

    #[test]
    fn orthogonal_blocks_have_orthogonal_rows() {
        let w = draw_projection(20, 8, Projection::Orthogonal, 3);
        for block in 0..2 {
            for i in 0..8 {
                for j in 0..i {
                    let a = w.row(block * 8 + i);
                    let b = w.row(block * 8 + j);
                    let cos = a.dot(&b) / (a.dot(&a) * b.dot(&b)).sqrt();
                    assert!(cos.abs() < 1e-12, "rows {i},{j} cos {cos}");
                }
            }
        }
        assert!(w.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn projection_is_reproducible() {
        let a = draw_projection(1500, 16, Projection::Iid, 7);
        let b = draw_projection(1500, 16, Projection::Iid, 7);
        assert_eq!(a, b);
        let c = draw_projection(1500, 16, Projection::Iid, 8);
        assert_ne!(a, c);
    }

    /// Draws `seeds` kernel estimates of exp(x·y) = `target` (one per projection seed) and
    /// asserts their mean lies within 4 standard errors of it, with a real but small spread
    /// (so the check is not vacuous).
    fn assert_unbiased(map: FeatureMap, target: f64, seeds: u64, estimate: impl Fn(u64) -> f64) {
        let samples: Vec<f64> = (0..seeds).map(estimate).collect();
        let n = samples.len() as f64;
        let mean = samples.iter().sum::<f64>() / n;
        let var = samples.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let stderr = (var / n).sqrt();
        assert!(
            (mean - target).abs() < 4.0 * stderr,
            "{map}: mean {mean} vs exp(x·y) {target}, stderr {stderr}"
        );
        assert!(
            stderr > 0.0 && stderr < 0.05 * target,
            "{map}: stderr {stderr}"
        );
    }

    /// E[φ(x)·φ(y)] = exp(x·y): the mean over many seeds lies within 4 standard errors.
    #[test]
    fn softmax_kernel_estimators_are_unbiased() {
        let dim = 6;
        let x = random_vector(dim, 1, 0.45);
        let y = random_vector(dim, 2, 0.45);
        let target = x.dot(&y).exp();
        for map in [
            FeatureMap::Positive,
            FeatureMap::Hyperbolic,
            FeatureMap::Trig,
        ] {
            assert_unbiased(map, target, 2000, |seed| {
                let w = draw_projection(16, dim, Projection::Iid, seed);
                let fx = features(map, &w, x.view());
                let fy = features(map, &w, y.view());
                fx.iter().zip(&fy).map(|(a, b)| a * b).sum()
            });
        }
    }

    /// The new unbiased maps: `oprf` at the A* its data choose (negative here) and `cosine`
    /// with its random phases, each mean over seeds within 4 standard errors of exp(x·y).
    #[test]
    fn oprf_and_cosine_are_unbiased() {
        let dim = 6;
        let x = random_vector(dim, 1, 0.45);
        let y = random_vector(dim, 2, 0.45);
        let target = x.dot(&y).exp();
        let pair = |v: &Array1<f64>| v.clone().insert_axis(Axis(0));
        let a_star = oprf_a_star(pair(&x).view(), pair(&y).view());
        assert!(a_star < 0.0 && a_star > -1.0, "A* = {a_star}");
        for map in [FeatureMap::Oprf, FeatureMap::Cosine] {
            assert_unbiased(map, target, 4000, |seed| {
                let w = draw_projection(16, dim, Projection::Iid, seed);
                let constants = match map {
                    FeatureMap::Oprf => MapConstants::oprf(&w, a_star),
                    _ => MapConstants::new(map, &w, pair(&x).view(), pair(&y).view(), seed),
                };
                let fx = features_with(map, &w, &constants, x.view());
                let fy = features_with(map, &w, &constants, y.view());
                fx.iter().zip(&fy).map(|(a, b)| a * b).sum()
            });
        }
    }

    /// `oprf` with A = 0 is `positive`, bit for bit, in the exact map and in the blocks.
    #[test]
    fn oprf_with_a_zero_is_the_positive_map() {
        let dim = 5;
        let w = draw_projection(12, dim, Projection::Iid, 9);
        let inputs =
            Array2::from_shape_fn((4, dim), |(t, i)| (t as f64 - 1.5) * 0.2 + i as f64 * 0.1);
        let zero = MapConstants::oprf(&w, 0.0);
        assert!(zero.row_bias.iter().all(|&b| b == 0.0) && zero.oprf_b() == 1.0);
        for t in 0..4 {
            assert_eq!(
                features_with(FeatureMap::Oprf, &w, &zero, inputs.row(t)),
                features(FeatureMap::Positive, &w, inputs.row(t))
            );
        }
        let block = |map| feature_block(map, inputs.view(), w.view(), 12, &zero.row_bias, 1.0);
        assert_eq!(block(FeatureMap::Oprf), block(FeatureMap::Positive));
        // And A* ≠ 0 changes it.
        let other = MapConstants::oprf(&w, -0.1);
        assert_ne!(
            features_with(FeatureMap::Oprf, &w, &other, inputs.row(0)),
            features(FeatureMap::Positive, &w, inputs.row(0))
        );
    }

    #[test]
    fn feature_blocks_reassemble_the_exact_features() {
        let dim = 5;
        let w = draw_projection(10, dim, Projection::Iid, 4);
        let inputs =
            Array2::from_shape_fn((3, dim), |(t, i)| ((t * 7 + i * 3) % 5) as f64 * 0.3 - 0.5);
        for &map in FeatureMap::ALL {
            let m_hidden = map.hidden_count(10, dim);
            let mut assembled = Array2::<f64>::zeros((3, m_hidden));
            for layout in blocks(map, 10, dim, 4) {
                let constants = MapConstants::new(map, &w, inputs.view(), inputs.view(), 4);
                let (mantissa, offsets) = feature_block(
                    map,
                    inputs.view(),
                    block_rows_of(&w, &layout),
                    10,
                    constants.bias_rows(layout.start, layout.rows),
                    constants.oprf_b(),
                );
                for (col, hidden) in layout.hidden_indices().enumerate() {
                    for t in 0..3 {
                        assembled[[t, hidden]] = offsets[t].exp() * mantissa[[t, col]];
                    }
                }
            }
            let constants = MapConstants::new(map, &w, inputs.view(), inputs.view(), 4);
            for t in 0..3 {
                let exact = features_with(map, &w, &constants, inputs.row(t));
                for (a, b) in assembled.row(t).iter().zip(&exact) {
                    assert!(
                        (a - b).abs() <= 1e-12 * b.abs().max(1e-3),
                        "{map}: {a} vs {b}"
                    );
                }
            }
        }
    }
}
