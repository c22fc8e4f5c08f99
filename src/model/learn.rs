//! Learning the hidden layer's synapses (spec v3 "Learning"; ours, not the paper's).
//!
//! The hidden neurons keep the `positive` form with a bias per neuron,
//! φ_j(x) = exp(w_j·x + b_j − ‖x‖²/2)/√m, and W, b are fitted by Adam to minimise
//!
//! ```text
//! L = mean_t KL(A_soft[t,·] ‖ A_net[t,·])
//! ```
//!
//! over every query row t of the training sequences (bidirectional mask, algebraic mode,
//! σ_γ = 0). Gradient descent here is a tool for finding what the circuit can represent, not a
//! claim about how synapses learn.
//!
//! The gradient is derived by hand. With F_q[t,j] = e^{w_j·q̃_t + b_j}, F_k[τ,j] =
//! e^{w_j·k̃_τ + b_j − ‖k̃_τ‖²/2}, K = F_q F_kᵀ and A_net = K / rowsum(K):
//!
//! ```text
//! ∂L_t/∂K[t,τ] = (A_net[t,τ] − A_soft[t,τ]) / K[t,τ]            =: G[t,τ]
//! ∂L/∂(w_j·q̃_t + b_j) = F_q[t,j] (G F_k)[t,j]                    =: D_q[t,j]
//! ∂L/∂(w_j·k̃_τ + b_j) = F_k[τ,j] (Gᵀ F_q)[τ,j]                   =: D_k[τ,j]
//! ∂L/∂W = D_qᵀ Q̃ + D_kᵀ K̃,    ∂L/∂b = Σ_t D_q[t,·] + Σ_τ D_k[τ,·]
//! ```
//!
//! Every product F_q[t,j] F_k[τ,j] / K[t,τ] is a ratio, so each row of F_q and of F_k is held
//! divided by its own largest entry (the offsets cancel) and nothing overflows.
//!
//! Sums over sequences run in fixed chunks whose partial gradients are added in order, so a
//! result never depends on the thread count.

use super::features::{Stream, draw_projection, rng_for};
use super::params::{Projection, Schedule};
use super::sequence::Sequence;
use super::softmax::softmax_reference;
pub use super::synapses::HiddenSynapses;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rayon::prelude::*;

/// Sequences per chunk of the parallel gradient sum (fixed, so the order of additions is).
const CHUNK_SEQUENCES: usize = 4;
/// Floor of a kernel value K[t,τ] (as a fraction of the row's largest feature product), so an
/// underflow gives a finite, very large loss instead of ∞.
const KERNEL_FLOOR: f64 = 1e-300;

/// One training or held-out sequence of one head, ready for the loss: scaled queries and keys
/// and the transformer's attention A_soft (bidirectional mask).
#[derive(Clone, Debug)]
pub struct HeadExample {
    /// q̃ = q / D^{1/4} (N × D).
    pub queries: Array2<f64>,
    /// k̃ = k / D^{1/4} (N × D).
    pub keys: Array2<f64>,
    /// A_soft (N × N), row-stochastic.
    pub target: Array2<f64>,
}

impl HeadExample {
    /// The example of one head's sequence (its values are not needed).
    pub fn from_sequence(sequence: &Sequence) -> HeadExample {
        HeadExample {
            queries: sequence.scaled_queries(),
            keys: sequence.scaled_keys(),
            target: softmax_reference(sequence, Schedule::Bidirectional).attention,
        }
    }

    /// N, tokens.
    pub fn len(&self) -> usize {
        self.queries.nrows()
    }

    /// Whether the sequence has no token.
    pub fn is_empty(&self) -> bool {
        self.queries.nrows() == 0
    }
}

impl HiddenSynapses {
    /// The paper's network: the seed's iid W and b = 0 (the `positive` map exactly).
    pub fn random(m: usize, dim: usize, seed: u64) -> HiddenSynapses {
        HiddenSynapses {
            projection: draw_projection(m, dim, Projection::Iid, seed),
            bias: Array1::zeros(m),
        }
    }

    /// log F_k (keys: with −‖k̃‖²/2) or log F_q (queries: without, it cancels in every row).
    fn log_features(&self, inputs: ArrayView2<f64>, keys: bool) -> Array2<f64> {
        let mut z = inputs.dot(&self.projection.t());
        for (t, mut row) in z.rows_mut().into_iter().enumerate() {
            let shift = if keys {
                let x = inputs.row(t);
                -x.dot(&x) / 2.0
            } else {
                0.0
            };
            for (v, b) in row.iter_mut().zip(self.bias.iter()) {
                *v += b + shift;
            }
        }
        z
    }

    /// The network's attention A_net (N × N) on one example (bidirectional, σ_γ = 0).
    pub fn attention(&self, example: &HeadExample) -> Array2<f64> {
        self.forward(example).attention
    }

    fn forward(&self, example: &HeadExample) -> Forward {
        let (fq, _) = row_scaled_exp(self.log_features(example.queries.view(), false));
        let (fk, key_offset) = row_scaled_exp(self.log_features(example.keys.view(), true));
        let mut gram = fq.dot(&fk.t());
        gram.mapv_inplace(|v| v.max(KERNEL_FLOOR));
        let n = example.len();
        let mut attention = Array2::<f64>::zeros((n, n));
        for t in 0..n {
            let logs: Vec<f64> = (0..n)
                .map(|tau| key_offset[tau] + gram[[t, tau]].ln())
                .collect();
            let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = logs.iter().map(|l| (l - top).exp()).sum();
            for tau in 0..n {
                attention[[t, tau]] = (logs[tau] - top).exp() / sum;
            }
        }
        Forward {
            fq,
            fk,
            gram,
            attention,
        }
    }
}

/// What the backward pass needs from the forward one.
struct Forward {
    /// F_q / rowmax (N × m).
    fq: Array2<f64>,
    /// F_k / rowmax (N × m).
    fk: Array2<f64>,
    /// (F_q F_kᵀ) with both row scalings, floored at [`KERNEL_FLOOR`].
    gram: Array2<f64>,
    attention: Array2<f64>,
}

/// exp(z − rowmax) and the row maxima.
fn row_scaled_exp(mut z: Array2<f64>) -> (Array2<f64>, Vec<f64>) {
    let mut offsets = Vec::with_capacity(z.nrows());
    for mut row in z.rows_mut() {
        let top = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        row.mapv_inplace(|v| (v - top).exp());
        offsets.push(top);
    }
    (z, offsets)
}

/// KL(p ‖ q) = Σ p (ln p − ln q) of one row (terms with p = 0 contribute 0).
fn row_kl(p: ArrayView1<f64>, q: ArrayView1<f64>) -> f64 {
    p.iter()
        .zip(q.iter())
        .filter(|(p, _)| **p > 0.0)
        .map(|(p, q)| p * (p.ln() - q.max(f64::MIN_POSITIVE).ln()))
        .sum()
}

/// Mean over t of ½ Σ_τ |A − B| (the spec's attn_tv) of one example.
pub fn attention_tv(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let rows = a.nrows().max(1) as f64;
    a.rows()
        .into_iter()
        .zip(b.rows())
        .map(|(x, y)| {
            0.5 * x
                .iter()
                .zip(y.iter())
                .map(|(u, v)| (u - v).abs())
                .sum::<f64>()
        })
        .sum::<f64>()
        / rows
}

/// The loss and its gradient (sums over rows, before dividing by the row count).
struct Partial {
    loss: f64,
    rows: usize,
    projection: Array2<f64>,
    bias: Array1<f64>,
}

impl Partial {
    fn zero(m: usize, dim: usize) -> Partial {
        Partial {
            loss: 0.0,
            rows: 0,
            projection: Array2::zeros((m, dim)),
            bias: Array1::zeros(m),
        }
    }

    fn add(&mut self, other: &Partial) {
        self.loss += other.loss;
        self.rows += other.rows;
        self.projection += &other.projection;
        self.bias += &other.bias;
    }
}

/// Σ_t KL and its gradient for one example, added into `partial`.
fn accumulate(synapses: &HiddenSynapses, example: &HeadExample, partial: &mut Partial) {
    let forward = synapses.forward(example);
    let n = example.len();
    // G'[t,τ] = (A_net − A_soft)/K' with K' the row-scaled kernel (see the module comment).
    let mut g = Array2::<f64>::zeros((n, n));
    for t in 0..n {
        partial.loss += row_kl(example.target.row(t), forward.attention.row(t));
        for tau in 0..n {
            g[[t, tau]] =
                (forward.attention[[t, tau]] - example.target[[t, tau]]) / forward.gram[[t, tau]];
        }
    }
    partial.rows += n;
    let dq = &forward.fq * &g.dot(&forward.fk);
    let dk = &forward.fk * &g.t().dot(&forward.fq);
    partial.projection += &dq.t().dot(&example.queries);
    partial.projection += &dk.t().dot(&example.keys);
    partial.bias += &dq.sum_axis(Axis(0));
    partial.bias += &dk.sum_axis(Axis(0));
}

/// L = mean over every query row of KL(A_soft ‖ A_net) and its exact gradient in W and b.
pub fn loss_and_gradient(
    synapses: &HiddenSynapses,
    examples: &[HeadExample],
) -> (f64, HiddenSynapses) {
    let (m, dim) = (synapses.hidden(), synapses.dim());
    let parts: Vec<Partial> = examples
        .par_chunks(CHUNK_SEQUENCES)
        .map(|chunk| {
            let mut partial = Partial::zero(m, dim);
            for example in chunk {
                accumulate(synapses, example, &mut partial);
            }
            partial
        })
        .collect();
    let mut total = Partial::zero(m, dim);
    for part in &parts {
        total.add(part);
    }
    let rows = total.rows.max(1) as f64;
    (
        total.loss / rows,
        HiddenSynapses {
            projection: total.projection / rows,
            bias: total.bias / rows,
        },
    )
}

/// L alone (mean KL over every query row).
pub fn loss(synapses: &HiddenSynapses, examples: &[HeadExample]) -> f64 {
    let per: Vec<(f64, usize)> = examples
        .par_iter()
        .map(|example| {
            let attention = synapses.attention(example);
            let kl: f64 = (0..example.len())
                .map(|t| row_kl(example.target.row(t), attention.row(t)))
                .sum();
            (kl, example.len())
        })
        .collect();
    let (kl, rows) = per.iter().fold((0.0, 0), |(a, n), (k, r)| (a + k, n + r));
    kl / rows.max(1) as f64
}

/// Mean over the examples of each one's attn_tv (every sequence weighs the same, as a run does).
pub fn mean_attention_tv(synapses: &HiddenSynapses, examples: &[HeadExample]) -> f64 {
    let per: Vec<f64> = examples
        .par_iter()
        .map(|example| attention_tv(&synapses.attention(example), &example.target))
        .collect();
    per.iter().sum::<f64>() / per.len().max(1) as f64
}

/// How to learn: Adam's step size and moments, and the number of full-batch steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LearnSettings {
    /// m, hidden neurons.
    pub m: usize,
    /// Seed of the starting W (the head's own seed, as the random network draws it).
    pub seed: u64,
    /// Full-batch Adam steps.
    pub steps: usize,
    /// Adam's step size α.
    pub learning_rate: f64,
    /// Adam's β₁ (first-moment decay).
    pub beta1: f64,
    /// Adam's β₂ (second-moment decay).
    pub beta2: f64,
}

impl LearnSettings {
    /// Defaults that learn the 72 MiniLM heads in a few hundred steps.
    pub fn new(m: usize, seed: u64) -> LearnSettings {
        LearnSettings {
            m,
            seed,
            steps: DEFAULT_STEPS,
            learning_rate: DEFAULT_LEARNING_RATE,
            beta1: 0.9,
            beta2: 0.999,
        }
    }
}

/// Full-batch Adam steps by default.
pub const DEFAULT_STEPS: usize = 200;
/// Adam's α by default (W entries start at N(0, 1), inputs are scaled by D^{-1/4}).
pub const DEFAULT_LEARNING_RATE: f64 = 0.02;

/// Adam on W and b, one full-batch step at a time (so a caller can report and cancel).
#[derive(Clone, Debug)]
pub struct Learner {
    settings: LearnSettings,
    synapses: HiddenSynapses,
    first: HiddenSynapses,
    second: HiddenSynapses,
    steps_done: usize,
}

impl Learner {
    /// Starts from the seed's random W and b = 0, for inputs of dimension `dim`.
    pub fn new(settings: LearnSettings, dim: usize) -> Learner {
        let synapses = HiddenSynapses::random(settings.m, dim, settings.seed);
        let zero = HiddenSynapses {
            projection: Array2::zeros((settings.m, dim)),
            bias: Array1::zeros(settings.m),
        };
        Learner {
            settings,
            synapses,
            first: zero.clone(),
            second: zero,
            steps_done: 0,
        }
    }

    /// One Adam step on `examples`; returns the loss before the step.
    pub fn step(&mut self, examples: &[HeadExample]) -> f64 {
        let (loss, gradient) = loss_and_gradient(&self.synapses, examples);
        self.steps_done += 1;
        let s = self.settings;
        let t = self.steps_done as i32;
        let correct1 = 1.0 - s.beta1.powi(t);
        let correct2 = 1.0 - s.beta2.powi(t);
        let update = |value: &mut f64, first: &mut f64, second: &mut f64, grad: f64| {
            *first = s.beta1 * *first + (1.0 - s.beta1) * grad;
            *second = s.beta2 * *second + (1.0 - s.beta2) * grad * grad;
            let m_hat = *first / correct1;
            let v_hat = *second / correct2;
            *value -= s.learning_rate * m_hat / (v_hat.sqrt() + 1e-8);
        };
        ndarray::Zip::from(&mut self.synapses.projection)
            .and(&mut self.first.projection)
            .and(&mut self.second.projection)
            .and(&gradient.projection)
            .for_each(|v, f, sq, &g| update(v, f, sq, g));
        ndarray::Zip::from(&mut self.synapses.bias)
            .and(&mut self.first.bias)
            .and(&mut self.second.bias)
            .and(&gradient.bias)
            .for_each(|v, f, sq, &g| update(v, f, sq, g));
        loss
    }

    /// The synapses as they stand.
    pub fn synapses(&self) -> &HiddenSynapses {
        &self.synapses
    }

    /// Steps taken so far.
    pub fn steps_done(&self) -> usize {
        self.steps_done
    }

    /// The settings it learns with.
    pub fn settings(&self) -> &LearnSettings {
        &self.settings
    }
}

/// One head to learn: its own seed and its training and held-out examples.
#[derive(Clone, Debug)]
pub struct HeadTask {
    /// Head index in its layer.
    pub head: usize,
    /// The head's seed (every head of a layer draws from the experiment's seed, as its single-head run does).
    pub seed: u64,
    pub train: Vec<HeadExample>,
    /// Never used for learning, only measured.
    pub held_out: Vec<HeadExample>,
}

/// What learning reports while it runs.
#[derive(Clone, Debug, PartialEq)]
pub enum LearnEvent {
    /// Sentence `sentence` (1-based) of `sentences` (training and held-out together) has been
    /// encoded by the model; `jobs::learn` reports it before learning starts.
    Encoded { sentence: usize, sentences: usize },
    /// Learning begins: `heads` heads of `steps` steps each.
    Started { heads: usize, steps: usize },
    /// A head took Adam step `step` (1-based); `loss` is the mean KL before it.
    Step { head: usize, step: usize, loss: f64 },
    /// attn_tv measured after `step` steps (step 0: the random network).
    Measured {
        head: usize,
        step: usize,
        train_tv: f64,
        held_out_tv: f64,
    },
}

/// Learns every task's head (in parallel; each head's result does not depend on the others or
/// on the thread count). Measures attn_tv at the start, every `measure_every` steps (0: never)
/// and at the end. Returns None when `cancel` was set.
pub fn learn_heads(
    tasks: &[HeadTask],
    settings: LearnSettings,
    measure_every: usize,
    report: &(dyn Fn(LearnEvent) + Sync),
    cancel: &std::sync::atomic::AtomicBool,
) -> Option<Vec<(HiddenSynapses, super::learned::HeadRecord)>> {
    use std::sync::atomic::Ordering;
    let measure = |task: &HeadTask, synapses: &HiddenSynapses, step: usize| {
        let train_tv = mean_attention_tv(synapses, &task.train);
        let held_out_tv = if task.held_out.is_empty() {
            f64::NAN
        } else {
            mean_attention_tv(synapses, &task.held_out)
        };
        report(LearnEvent::Measured {
            head: task.head,
            step,
            train_tv,
            held_out_tv,
        });
        (train_tv, held_out_tv)
    };
    report(LearnEvent::Started {
        heads: tasks.len(),
        steps: settings.steps,
    });
    let results: Vec<Option<(HiddenSynapses, super::learned::HeadRecord)>> = tasks
        .par_iter()
        .map(|task| {
            let dim = task.train.first()?.queries.ncols();
            let mut learner = Learner::new(
                LearnSettings {
                    seed: task.seed,
                    ..settings
                },
                dim,
            );
            let (train_tv_random, held_out_tv_random) = measure(task, learner.synapses(), 0);
            for step in 1..=settings.steps {
                if cancel.load(Ordering::Relaxed) {
                    return None;
                }
                let loss = learner.step(&task.train);
                report(LearnEvent::Step {
                    head: task.head,
                    step,
                    loss,
                });
                if measure_every > 0 && step % measure_every == 0 && step < settings.steps {
                    measure(task, learner.synapses(), step);
                }
            }
            let (train_tv, held_out_tv) = measure(task, learner.synapses(), settings.steps);
            let record = super::learned::HeadRecord {
                head: task.head,
                seed: task.seed,
                train_loss: loss(learner.synapses(), &task.train),
                train_tv_random,
                train_tv,
                held_out_tv_random,
                held_out_tv,
                held_out_random_large: None,
            };
            Some((learner.synapses().clone(), record))
        })
        .collect();
    if cancel.load(Ordering::Relaxed) {
        return None;
    }
    results.into_iter().collect()
}

/// A small random example for tests: N tokens in D dimensions, queries and keys N(0, scale²).
pub fn synthetic_example(tokens: usize, dim: usize, scale: f64, seed: u64) -> HeadExample {
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = rng_for(seed, Stream::Synthetic, 7);
    let mut draw = |rows| {
        Array2::from_shape_fn((rows, dim), |_| {
            let z: f64 = StandardNormal.sample(&mut rng);
            scale * z
        })
    };
    let queries = draw(tokens);
    let keys = draw(tokens);
    let values = Array2::zeros((tokens, 1));
    let sequence = Sequence::new(
        "synthetic",
        (0..tokens).map(|t| format!("t{t}")).collect(),
        queries,
        keys,
        values,
    )
    .expect("finite synthetic sequence");
    HeadExample::from_sequence(&sequence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> Vec<HeadExample> {
        (0..5)
            .map(|s| synthetic_example(4 + s as usize, 6, 1.3, 40 + s))
            .collect()
    }

    /// Central differences with step 1e-5 agree with the hand-derived gradient to 1e-6
    /// (relative to the largest gradient entry), on every entry of W and b.
    #[test]
    fn gradient_matches_finite_differences() {
        let examples = examples();
        let mut synapses = HiddenSynapses::random(7, 6, 3);
        // A non-zero bias and a W off the random draw, so every term of the gradient is live.
        for (j, b) in synapses.bias.iter_mut().enumerate() {
            *b = 0.3 * (j as f64 - 3.0);
        }
        synapses.projection.mapv_inplace(|w| 0.8 * w);
        let (_, gradient) = loss_and_gradient(&synapses, &examples);
        let scale = gradient
            .projection
            .iter()
            .chain(gradient.bias.iter())
            .fold(0.0f64, |a, g| a.max(g.abs()));
        assert!(scale > 1e-3, "gradient too small to check: {scale}");
        let step = 1e-5;
        let numeric = |perturb: &dyn Fn(&mut HiddenSynapses, f64)| {
            let mut plus = synapses.clone();
            perturb(&mut plus, step);
            let mut minus = synapses.clone();
            perturb(&mut minus, -step);
            (loss(&plus, &examples) - loss(&minus, &examples)) / (2.0 * step)
        };
        let mut worst = 0.0f64;
        for j in 0..7 {
            for i in 0..6 {
                let n = numeric(&|s, h| s.projection[[j, i]] += h);
                worst = worst.max((n - gradient.projection[[j, i]]).abs() / scale);
            }
            let n = numeric(&|s, h| s.bias[j] += h);
            worst = worst.max((n - gradient.bias[j]).abs() / scale);
        }
        assert!(worst <= 1e-6, "relative error {worst}");
    }

    /// The loss sees A_net only through normalised rows, so it is blind to the scale of the
    /// kernel K = Φ_Q Φ_Kᵀ that the calcium integrates (MODEL.md, "the calcium no longer
    /// tracks Z_t"). Adding β to every b_j multiplies K by e^{2β}: L does not move, and the
    /// gradient has no component along that direction.
    #[test]
    fn the_loss_is_blind_to_the_scale_of_the_kernel() {
        let examples = examples();
        let mut synapses = HiddenSynapses::random(7, 6, 3);
        for (j, b) in synapses.bias.iter_mut().enumerate() {
            *b = 0.2 * (j as f64 - 2.0);
        }
        let before = loss(&synapses, &examples);
        let mut shifted = synapses.clone();
        shifted.bias.mapv_inplace(|b| b + 1.7);
        let after = loss(&shifted, &examples);
        assert!(
            (after - before).abs() <= 1e-12 * before.abs(),
            "{before} → {after}"
        );
        // The kernel itself did change: by e^{2β} in every entry.
        let gram = |s: &HiddenSynapses| {
            let (fq, q_offset) = row_scaled_exp(s.log_features(examples[0].queries.view(), false));
            let (fk, k_offset) = row_scaled_exp(s.log_features(examples[0].keys.view(), true));
            fq.dot(&fk.t())[[0, 1]].ln() + q_offset[0] + k_offset[1]
        };
        assert!((gram(&shifted) - gram(&synapses) - 3.4).abs() < 1e-9);
        let (_, gradient) = loss_and_gradient(&synapses, &examples);
        let scale = gradient.bias.iter().fold(0.0f64, |a, g| a.max(g.abs()));
        assert!(scale > 1e-3, "{scale}");
        assert!(
            gradient.bias.sum().abs() <= 1e-9 * scale,
            "Σ_j ∂L/∂b_j = {}",
            gradient.bias.sum()
        );
    }

    #[test]
    fn loss_falls_and_attention_improves() {
        let examples = examples();
        let mut learner = Learner::new(LearnSettings::new(16, 1), 6);
        let before_tv = mean_attention_tv(learner.synapses(), &examples);
        let first = learner.step(&examples);
        for _ in 0..150 {
            learner.step(&examples);
        }
        let last = loss(learner.synapses(), &examples);
        let after_tv = mean_attention_tv(learner.synapses(), &examples);
        assert!(last < 0.5 * first, "loss {first} → {last}");
        assert!(
            after_tv < 0.7 * before_tv,
            "attn_tv {before_tv} → {after_tv}"
        );
    }

    #[test]
    fn learning_is_deterministic_and_independent_of_threads() {
        let examples: Vec<HeadExample> = (0..9)
            .map(|s| synthetic_example(5, 4, 1.0, 70 + s))
            .collect();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut learner = Learner::new(LearnSettings::new(8, 5), 4);
                for _ in 0..5 {
                    learner.step(&examples);
                }
                learner.synapses().clone()
            })
        };
        let one = run(1);
        assert_eq!(one, run(3));
        assert_ne!(one, HiddenSynapses::random(8, 4, 5));
    }

    #[test]
    fn the_starting_point_is_the_random_positive_network() {
        let learner = Learner::new(LearnSettings::new(10, 9), 5);
        assert_eq!(
            learner.synapses().projection,
            draw_projection(10, 5, Projection::Iid, 9)
        );
        assert!(learner.synapses().bias.iter().all(|&b| b == 0.0));
    }
}
