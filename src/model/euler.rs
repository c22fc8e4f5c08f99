//! The blocked Euler kernel of the dynamic mode (spec "Dynamic mode"): one block of steps
//! inside one slot, for one head.
//!
//! ```text
//! τ_n du/dt = −u + s                τ_n dh/dt = −h + φ(u)
//! y = v_τ (write slot τ)            τ_n dy/dt = −y + ψ(c) H h (read slot)
//! dg/dt = π η h − λ g               τ_p dp̃_j/dt = −p̃_j + g_j h_j
//! τ_c dc/dt = −c + Σ_j (Σ_i γ_ij / d) p̃_j
//! de_τ/dt = π_τ η h − λ e_τ         H h = Σ_τ v_τ (e_τ·h)
//! ```
//!
//! The hidden layer does not depend on the output neurons or the calcium, so each chunk of
//! hidden neurons runs the whole block while its state stays in cache, recording the sums the
//! rest needs (Σ p̃, e_τ·h); then y and c follow step by step. Sums are taken over fixed chunks
//! in a fixed order, so results never depend on the thread count or the instruction set.
//! `DynamicSim` (in `dynamic.rs`) owns the state and lends it to [`Block::run`].

use super::fastmath;
use super::network::Network;
use super::params::{Ablation, FeatureMap, Params};
use super::schedule::{Phase, Slot};
use super::softmax::in_mask;
use ndarray::Array2;
use rayon::prelude::*;

/// Hidden neurons per parallel task; fixed so that sums never depend on the thread count.
pub(super) const CHUNK: usize = 4096;
/// Below this many hidden neurons a step runs on the calling thread only.
pub(super) const PARALLEL_FROM: usize = 4 * CHUNK;

/// The state after each step of the last block, as far as it is recorded: c, u and y always,
/// h_j, p̃_j and e_τj for the watched hidden neurons j.
#[derive(Clone, Debug, Default)]
pub(super) struct BlockRecord {
    /// Step index after the block's first step.
    pub(super) first_step: u64,
    pub(super) calcium: Vec<f64>,
    /// steps × D.
    pub(super) inputs: Vec<f64>,
    /// steps × d.
    pub(super) outputs: Vec<f64>,
    /// steps × watched × (2 + N): h_j, p̃_j, then e_τj for every τ.
    pub(super) watched: Vec<f64>,
}

/// Per-chunk sums each step of a block needs from its start-of-step state.
struct ChunkSums {
    /// Σ_j (Σ_i γ_ij / d) p̃_j, one per step.
    calcium_drive: Vec<f64>,
    /// e_τ·h for each masked τ, step after step (steps × masked).
    key_match: Vec<f64>,
    /// The chunk's watched neurons after each step (see [`BlockRecord::watched`]).
    watched: Vec<f64>,
}

/// One head's state, lent by `DynamicSim` for one block of Euler steps.
pub(super) struct Block<'a> {
    pub network: &'a Network,
    /// √β-scaled queries and keys, values (N × D, N × D, N × d).
    pub scaled_queries: &'a Array2<f64>,
    pub scaled_keys: &'a Array2<f64>,
    pub values: &'a Array2<f64>,
    /// u (D).
    pub input_rates: &'a mut [f64],
    /// z = W u (m').
    pub drive: &'a mut [f64],
    /// W s for the slot's stimulus s (m').
    pub drive_target: &'a [f64],
    /// h (m').
    pub hidden_rates: &'a mut [f64],
    /// y (d).
    pub output_rates: &'a mut [f64],
    /// g (m').
    pub presynaptic: &'a mut [f64],
    /// p̃ (m').
    pub process_drive: &'a mut [f64],
    /// c.
    pub calcium: &'a mut f64,
    /// Whether dc/dt = 0 (`frozen_calcium`, after read slot 1).
    pub calcium_frozen: bool,
    /// The g each process reads when it is not its own g_j; empty otherwise.
    pub process_source: &'a [f64],
    /// e_τ (N × m').
    pub eligibility: &'a mut [Vec<f64>],
    /// Hidden neurons recorded step by step (sorted, distinct).
    pub watch: &'a [usize],
    /// Where the block's steps are recorded.
    pub block: &'a mut BlockRecord,
    /// One memo per chunk of [`CHUNK`] hidden neurons (see [`ChunkMemo`]).
    pub memo: &'a mut [ChunkMemo],
    /// The slot whose stimulus `drive_target` holds.
    pub target_slot: usize,
}

impl Block<'_> {
    /// `steps` Euler steps inside `slot`: each chunk of hidden neurons runs them all in turn,
    /// recording its per-step sums; then y and c follow step by step.
    pub(super) fn run(self, slot: &Slot, steps: usize) {
        let params = &self.network.params;
        let dt = params.dt;
        let n = self.network.sizes.tokens;
        let write = slot.phase == Phase::Write;
        if write {
            self.output_rates
                .copy_from_slice(self.values.row(slot.token).as_slice().expect("row"));
        }
        let masked: Vec<usize> = if write {
            Vec::new()
        } else {
            (0..n)
                .filter(|&tau| in_mask(params.schedule, slot.token, tau))
                .collect()
        };
        let rates = Rates {
            a_n: dt / params.tau_neuron,
            a_p: dt / params.tau_process,
            dt,
            gate: if write { params.eta } else { 0.0 },
            eta: params.eta,
            decay: params.decay,
        };
        // τ_n du/dt = −u + s, and the feature kernel each step starts with: u depends on the
        // stimulus only, so the whole block's kernels are known before the hidden layer moves.
        let stimulus = match slot.phase {
            Phase::Write => self.scaled_keys.row(slot.token),
            Phase::Read => self.scaled_queries.row(slot.token),
        };
        let mut kernels = Vec::with_capacity(steps);
        for _ in 0..steps {
            kernels.push(feature_kernel(params, self.input_rates));
            for (u, s) in self.input_rates.iter_mut().zip(stimulus.iter()) {
                *u += rates.a_n * (s - *u);
            }
            self.block.inputs.extend_from_slice(self.input_rates);
        }
        let uniform = self.network.process_gains.is_none();
        let written = write.then_some(slot.token);

        // One fused pass per chunk of hidden neurons and step: sums from the start-of-step
        // state, then every per-neuron update. Chunks are combined in order.
        let hidden = self.hidden_rates.len();
        let mut eligibility: Vec<std::slice::ChunksMut<'_, f64>> = self
            .eligibility
            .iter_mut()
            .map(|e| e.chunks_mut(CHUNK))
            .collect();
        let mut chunks: Vec<HiddenChunk<'_>> = Vec::with_capacity(hidden.div_ceil(CHUNK));
        for (index, (((((h, z), (g, p)), target), gains), memo)) in self
            .hidden_rates
            .chunks_mut(CHUNK)
            .zip(self.drive.chunks_mut(CHUNK))
            .zip(
                self.presynaptic
                    .chunks_mut(CHUNK)
                    .zip(self.process_drive.chunks_mut(CHUNK)),
            )
            .zip(self.drive_target.chunks(CHUNK))
            .zip(self.network.mean_gain.chunks(CHUNK))
            .zip(self.memo.iter_mut())
            .enumerate()
        {
            let e: Vec<&mut [f64]> = eligibility
                .iter_mut()
                .map(|it| it.next().expect("same length"))
                .collect();
            let range = index * CHUNK..index * CHUNK + h.len();
            chunks.push(HiddenChunk {
                start: index * CHUNK,
                h,
                z,
                g,
                p,
                target,
                gains,
                e,
                bias: row_bias_range(&self.network.constants.row_bias, range.clone()),
                source: (!self.process_source.is_empty()).then(|| &self.process_source[range]),
                memo,
            });
        }
        let watch = &self.watch;
        let target_slot = self.target_slot;
        let work = |chunk: &mut HiddenChunk<'_>| {
            let (from, to) = (chunk.start, chunk.start + chunk.h.len());
            let watched =
                &watch[watch.partition_point(|&j| j < from)..watch.partition_point(|&j| j < to)];
            let mut sums = ChunkSums {
                calcium_drive: Vec::with_capacity(steps),
                key_match: Vec::with_capacity(steps * masked.len()),
                watched: Vec::with_capacity(steps * watched.len() * (2 + n)),
            };
            for kernel in &kernels {
                fastmath::with_fast_isa(
                    #[inline(always)]
                    || {
                        chunk.advance(
                            kernel,
                            &rates,
                            &masked,
                            written,
                            uniform,
                            target_slot,
                            &mut sums,
                        )
                    },
                );
                for &j in watched {
                    let local = j - from;
                    sums.watched.push(chunk.h[local]);
                    sums.watched.push(chunk.p[local]);
                    sums.watched.extend(chunk.e.iter().map(|e| e[local]));
                }
            }
            sums
        };
        let parts: Vec<ChunkSums> = if hidden >= PARALLEL_FROM {
            chunks.par_iter_mut().map(work).collect()
        } else {
            chunks.iter_mut().map(work).collect()
        };

        let width = masked.len();
        let mut key_match = vec![0.0; width];
        for step in 0..steps {
            let mut calcium_drive = 0.0;
            key_match.fill(0.0);
            for part in &parts {
                calcium_drive += part.calcium_drive[step];
                let row = &part.key_match[step * width..(step + 1) * width];
                for (acc, v) in key_match.iter_mut().zip(row) {
                    *acc += v;
                }
                let recorded = part.watched.len() / steps;
                self.block
                    .watched
                    .extend_from_slice(&part.watched[step * recorded..(step + 1) * recorded]);
            }
            // Output neurons: clamped in write slots, driven by ψ(c) H h in read slots.
            if !write {
                let psi = modulation(params, *self.calcium);
                for (i, y) in self.output_rates.iter_mut().enumerate() {
                    let hh: f64 = masked
                        .iter()
                        .zip(&key_match)
                        .map(|(&tau, m)| self.values[[tau, i]] * m)
                        .sum();
                    *y += rates.a_n * (-*y + psi * hh);
                }
            }
            // τ_c dc/dt = −c + (1/d) Σ_ij p_ij (dc/dt = 0 once frozen).
            if !self.calcium_frozen {
                *self.calcium += dt / params.tau_calcium * (-*self.calcium + calcium_drive);
            }
            self.block.calcium.push(*self.calcium);
            self.block.outputs.extend_from_slice(self.output_rates);
        }
    }
}

/// ψ(c) = 1 / max(c, c_min), or 1 under `no_astrocyte` (the synapses are never divided).
pub(super) fn modulation(params: &Params, calcium: f64) -> f64 {
    if params.ablation == Ablation::NoAstrocyte {
        1.0
    } else {
        1.0 / calcium.max(params.c_min)
    }
}

/// How φ is evaluated from z = W u in a step that starts with input rates `u` (‖u‖² is fixed
/// within a step).
fn feature_kernel(params: &Params, u: &[f64]) -> FeatureKernel {
    let m = params.m;
    let sq: f64 = u.iter().map(|x| x * x).sum();
    match params.feature_map {
        // A learned projection's neurons carry a bias b_j (spec v3), held in `row_bias`.
        FeatureMap::Positive if params.projection.is_learned() => FeatureKernel::ExpBiased {
            offset: -sq / 2.0 - 0.5 * (m as f64).ln(),
        },
        FeatureMap::Positive => FeatureKernel::Exp {
            offset: -sq / 2.0 - 0.5 * (m as f64).ln(),
        },
        FeatureMap::Hyperbolic => FeatureKernel::Exp {
            offset: -sq / 2.0 - 0.5 * ((2 * m) as f64).ln(),
        },
        FeatureMap::Trig => FeatureKernel::Trig {
            scale: (sq / 2.0).exp() / (m as f64).sqrt(),
            m,
        },
        FeatureMap::Elu1 => FeatureKernel::Elu1,
        // z holds B·w·u (see `load_stimulus`); the bias A*‖w_j‖² + (D/4) ln(1 − 4A*) is per row.
        FeatureMap::Oprf => FeatureKernel::ExpBiased {
            offset: -sq / 2.0 - 0.5 * (m as f64).ln(),
        },
        FeatureMap::Truncated => FeatureKernel::ExpClipped {
            offset: -sq / 2.0 - 0.5 * (m as f64).ln(),
            clip: super::features::TRUNCATION.ln(),
        },
        FeatureMap::Cosine | FeatureMap::RectifiedCosine => FeatureKernel::Cosine {
            scale: (sq / 2.0 + super::features::cosine_log_norm(params.feature_map, m)).exp(),
            rectify: params.feature_map == FeatureMap::RectifiedCosine,
        },
    }
}

/// Step factors shared by every hidden neuron.
#[derive(Clone, Copy)]
struct Rates {
    /// dt/τ_n.
    a_n: f64,
    /// dt/τ_p.
    a_p: f64,
    /// dt (ms).
    dt: f64,
    /// π η: η in write slots, 0 in read slots (per ms).
    gate: f64,
    /// η (per ms).
    eta: f64,
    /// λ (per ms).
    decay: f64,
}

impl Rates {
    /// The factors' bits: two steps with the same bits do the same arithmetic.
    fn bits(&self) -> [u64; 6] {
        [self.a_n, self.a_p, self.dt, self.gate, self.eta, self.decay].map(f64::to_bits)
    }
}

/// φ_j(u) as a function of z_j = (W u)_j.
#[derive(Clone, Copy)]
enum FeatureKernel {
    /// exp(z + offset): positive and hyperbolic (z holds ± w·u).
    Exp { offset: f64 },
    /// scale · cos z (j < m) or scale · sin z (j ≥ m).
    Trig { scale: f64, m: usize },
    /// elu(z) + 1 (z = u).
    Elu1,
    /// exp(z + bias_j + offset): `oprf`.
    ExpBiased { offset: f64 },
    /// exp(min(z, clip) + offset): `truncated`.
    ExpClipped { offset: f64, clip: f64 },
    /// scale · cos(z + b_j), rectified at 0 for `rectified_cosine`.
    Cosine { scale: f64, rectify: bool },
}

impl FeatureKernel {
    /// The kernel's variant and constants as bits: equal bits give equal φ for equal z.
    fn bits(&self) -> [u64; 3] {
        match *self {
            FeatureKernel::Exp { offset } => [0, offset.to_bits(), 0],
            FeatureKernel::Trig { scale, m } => [1, scale.to_bits(), m as u64],
            FeatureKernel::Elu1 => [2, 0, 0],
            FeatureKernel::ExpBiased { offset } => [3, offset.to_bits(), 0],
            FeatureKernel::ExpClipped { offset, clip } => [4, offset.to_bits(), clip.to_bits()],
            FeatureKernel::Cosine { scale, rectify } => [5, scale.to_bits(), rectify as u64],
        }
    }
}

/// What one chunk of hidden neurons keeps between steps so that work whose inputs have not
/// changed, bit for bit, is not redone. Late in a read slot u, z and h stop moving: Euler's
/// update x + a·(x* − x) rounds back to x once x is within a few ulps of its target x*. From
/// then on φ(z), e_τ·h (e is constant in read slots when λ = 0) and the z, h, g updates would
/// only recompute the values they already hold. Equal inputs give equal outputs, so every
/// result stays as it was without the memo.
#[derive(Clone, Debug, Default)]
pub(super) struct ChunkMemo {
    /// φ_j(z_j) for the present z under the kernel with bits `phi_kernel` (None: not known).
    phi: Vec<f64>,
    phi_kernel: Option<[u64; 3]>,
    /// e_τ·h for the present e and h, for the τ of `dots_masked` in order, when `dots_known`.
    dots: Vec<f64>,
    dots_masked: Vec<usize>,
    dots_known: bool,
    /// Σ_j (Σ_i γ_ij / d) p̃_j for the present p̃.
    calcium_drive: Option<f64>,
    /// The inputs (rates' bits, the slot z moves towards) of the last update, when that update
    /// left z, h and g exactly as they were.
    still: Option<([u64; 6], usize)>,
}

impl ChunkMemo {
    /// Whether the last step of this chunk reused φ, e_τ·h and z, h, g as they were: the
    /// chunk's u, z and h had all stopped moving.
    #[cfg(test)]
    pub(super) fn stands_still(&self) -> bool {
        self.still.is_some() && self.phi_kernel.is_some() && self.dots_known
    }
}

/// Mutable views of one chunk of hidden neurons.
struct HiddenChunk<'a> {
    start: usize,
    h: &'a mut [f64],
    z: &'a mut [f64],
    g: &'a mut [f64],
    p: &'a mut [f64],
    target: &'a [f64],
    gains: &'a [f64],
    e: Vec<&'a mut [f64]>,
    /// The chunk's per-row constants (`oprf` bias, cosine phases); empty for other maps.
    bias: &'a [f64],
    /// The g each process reads when it is not its own (see `DynamicSim::process_source`).
    source: Option<&'a [f64]>,
    memo: &'a mut ChunkMemo,
}

/// `row_bias[range]`, or empty when the map has no per-row constants.
fn row_bias_range(row_bias: &[f64], range: std::ops::Range<usize>) -> &[f64] {
    if row_bias.is_empty() {
        &[]
    } else {
        &row_bias[range]
    }
}

/// Which of z, h, g and p̃ an update changed (any bit of any neuron).
struct Moved {
    z: bool,
    h: bool,
    g: bool,
    p: bool,
}

impl HiddenChunk<'_> {
    /// Sums from the old state (appended to `sums`), then one Euler step of h, z, g, p̃ and e,
    /// for a step whose z moves towards slot `target_slot`'s stimulus. Inlined into
    /// [`fastmath::with_fast_isa`]'s AVX2 version with everything it calls: plain loops only,
    /// since an iterator adapter's closure may be compiled apart, for the baseline.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn advance(
        &mut self,
        kernel: &FeatureKernel,
        rates: &Rates,
        masked: &[usize],
        written: Option<usize>,
        uniform: bool,
        target_slot: usize,
        sums: &mut ChunkSums,
    ) {
        let drive = match self.memo.calcium_drive {
            Some(drive) => drive,
            None => {
                let drive = if uniform {
                    sum(self.p)
                } else {
                    dot(self.gains, self.p)
                };
                self.memo.calcium_drive = Some(drive);
                drive
            }
        };
        sums.calcium_drive.push(drive);
        if !(self.memo.dots_known && self.memo.dots_masked == masked) {
            self.memo.dots.clear();
            for &tau in masked {
                let d = dot(self.e[tau], self.h);
                self.memo.dots.push(d);
            }
            self.memo.dots_masked.clear();
            self.memo.dots_masked.extend_from_slice(masked);
            self.memo.dots_known = true;
        }
        sums.key_match.extend_from_slice(&self.memo.dots);
        // e_τ uses the old h, so it goes before h moves.
        let mut e_moved = false;
        for (tau, e) in self.e.iter_mut().enumerate() {
            if Some(tau) == written {
                for (e, h) in e.iter_mut().zip(self.h.iter()) {
                    *e += rates.dt * (rates.eta * h - rates.decay * *e);
                }
                e_moved = true;
            } else if rates.decay > 0.0 {
                let factor = 1.0 - rates.dt * rates.decay;
                for e in e.iter_mut() {
                    *e *= factor;
                }
                e_moved = true;
            }
        }
        let kernel_bits = kernel.bits();
        let phi_known = self.memo.phi_kernel == Some(kernel_bits);
        if !phi_known {
            self.form_phi(kernel);
            self.memo.phi_kernel = Some(kernel_bits);
        }
        let inputs = (rates.bits(), target_slot);
        // z, h and g stood still last step and this step's inputs (φ included) are the same:
        // only p̃ can move.
        let moved = if phi_known && self.source.is_none() && self.memo.still == Some(inputs) {
            Moved {
                z: false,
                h: false,
                g: false,
                p: self.update_processes(rates),
            }
        } else {
            self.update(rates)
        };
        self.memo.still = (!moved.z && !moved.h && !moved.g).then_some(inputs);
        if moved.z {
            self.memo.phi_kernel = None;
        }
        if moved.h || e_moved {
            self.memo.dots_known = false;
        }
        if moved.p {
            self.memo.calcium_drive = None;
        }
    }

    /// φ_j(z_j) for every neuron of the chunk, into the memo.
    #[inline(always)]
    fn form_phi(&mut self, kernel: &FeatureKernel) {
        let len = self.z.len();
        self.memo.phi.resize(len, 0.0);
        let (phi, z) = (&mut self.memo.phi[..len], &self.z[..len]);
        match *kernel {
            FeatureKernel::Exp { offset } => {
                for j in 0..len {
                    phi[j] = fastmath::exp(z[j] + offset);
                }
            }
            FeatureKernel::Trig { scale, m } => {
                for j in 0..len {
                    phi[j] = if self.start + j < m {
                        scale * z[j].cos()
                    } else {
                        scale * z[j].sin()
                    };
                }
            }
            FeatureKernel::Elu1 => {
                for j in 0..len {
                    phi[j] = super::features::elu1(z[j]);
                }
            }
            FeatureKernel::ExpBiased { offset } => {
                let bias = &self.bias[..len];
                for j in 0..len {
                    phi[j] = fastmath::exp(z[j] + bias[j] + offset);
                }
            }
            FeatureKernel::ExpClipped { offset, clip } => {
                for j in 0..len {
                    phi[j] = fastmath::exp(z[j].min(clip) + offset);
                }
            }
            FeatureKernel::Cosine { scale, rectify } => {
                let bias = &self.bias[..len];
                for j in 0..len {
                    let c = scale * (z[j] + bias[j]).cos();
                    phi[j] = if rectify { c.max(0.0) } else { c };
                }
            }
        }
    }

    /// τ_n dh/dt = −h + φ(u), z follows u, dg/dt = π η h − λ g, τ_p dp̃/dt = −p̃ + g h, with
    /// φ from the memo. Reports which of them changed.
    #[inline(always)]
    fn update(&mut self, rates: &Rates) -> Moved {
        let Rates {
            a_n,
            a_p,
            dt,
            gate,
            decay,
            ..
        } = *rates;
        let len = self.h.len();
        let (h, z, g, p, target, phi) = (
            &mut self.h[..len],
            &mut self.z[..len],
            &mut self.g[..len],
            &mut self.p[..len],
            &self.target[..len],
            &self.memo.phi[..len],
        );
        // OR of old ^ new bits, per variable: non-zero when any neuron's value changed.
        let (mut dz, mut dh, mut dg, mut dp) = (0u64, 0u64, 0u64, 0u64);
        if let Some(source) = self.source {
            // The process reads another g (shuffled or uniform), formed before the step.
            let source = &source[..len];
            for j in 0..len {
                let (hj, gj, pj, zj) = (h[j], g[j], p[j], z[j]);
                let (hn, zn) = (hj + a_n * (phi[j] - hj), zj + a_n * (target[j] - zj));
                let (gn, pn) = (
                    gj + dt * (gate * hj - decay * gj),
                    pj + a_p * (source[j] * hj - pj),
                );
                (h[j], z[j], g[j], p[j]) = (hn, zn, gn, pn);
                dh |= hn.to_bits() ^ hj.to_bits();
                dz |= zn.to_bits() ^ zj.to_bits();
                dg |= gn.to_bits() ^ gj.to_bits();
                dp |= pn.to_bits() ^ pj.to_bits();
            }
        } else {
            for j in 0..len {
                let (hj, gj, pj, zj) = (h[j], g[j], p[j], z[j]);
                let (hn, zn) = (hj + a_n * (phi[j] - hj), zj + a_n * (target[j] - zj));
                let (gn, pn) = (
                    gj + dt * (gate * hj - decay * gj),
                    pj + a_p * (gj * hj - pj),
                );
                (h[j], z[j], g[j], p[j]) = (hn, zn, gn, pn);
                dh |= hn.to_bits() ^ hj.to_bits();
                dz |= zn.to_bits() ^ zj.to_bits();
                dg |= gn.to_bits() ^ gj.to_bits();
                dp |= pn.to_bits() ^ pj.to_bits();
            }
        }
        Moved {
            z: dz != 0,
            h: dh != 0,
            g: dg != 0,
            p: dp != 0,
        }
    }

    /// τ_p dp̃/dt = −p̃ + g h alone, for a step where z, h and g stand still (the same
    /// arithmetic as [`Self::update`] does for p̃). Reports whether p̃ changed.
    #[inline(always)]
    fn update_processes(&mut self, rates: &Rates) -> bool {
        let a_p = rates.a_p;
        let len = self.h.len();
        let (h, g, p) = (&self.h[..len], &self.g[..len], &mut self.p[..len]);
        let mut dp = 0u64;
        for j in 0..len {
            let pj = p[j];
            let pn = pj + a_p * (g[j] * h[j] - pj);
            p[j] = pn;
            dp |= pn.to_bits() ^ pj.to_bits();
        }
        dp != 0
    }
}

/// Independent accumulators in [`dot`] and [`sum`]: enough to hide add latency and to fill
/// four 4-wide vector registers. Fixed, so the summation order never varies.
const LANES: usize = 16;

/// Dot product in a fixed order that vectorises.
#[inline(always)]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let mut acc = [0.0f64; LANES];
    let mut a_chunks = a.chunks_exact(LANES);
    let mut b_chunks = b.chunks_exact(LANES);
    for (x, y) in (&mut a_chunks).zip(&mut b_chunks) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let tail: f64 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    reduce_lanes(acc) + tail
}

/// Sum in a fixed order that vectorises.
#[inline(always)]
pub fn sum(a: &[f64]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let mut chunks = a.chunks_exact(LANES);
    for x in &mut chunks {
        for l in 0..LANES {
            acc[l] += x[l];
        }
    }
    reduce_lanes(acc) + chunks.remainder().iter().sum::<f64>()
}

#[inline(always)]
fn reduce_lanes(acc: [f64; LANES]) -> f64 {
    let mut width = LANES;
    let mut acc = acc;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            acc[l] += acc[l + width];
        }
    }
    acc[0]
}
