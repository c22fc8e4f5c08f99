//! The fixed parts of one head's network: projection W, process gains γ, and sizes.

use super::features::{MapConstants, Stream, draw_projection, rng_for};
use super::learned::{self, LearnedError};
use super::params::{
    Ablation, FeatureMap, MAX_STEPS, MEMORY_LIMIT_BYTES, Mode, ParamError, Params, Projection,
};
use super::schedule::SlotSchedule;
use crate::model::sequence::{Sequence, ShapeError};
use ndarray::{Array2, Axis};
use rand_distr::{Distribution, StandardNormal};

/// Why a simulation could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error("bad sequence: {0}")]
    Shape(#[from] ShapeError),
    #[error(
        "inputs too large for the {map} features: ‖x‖²/2 reaches {value:.0}, above {limit} where e^x overflows; lower synthetic_scale or use another feature map"
    )]
    Overflow {
        map: FeatureMap,
        value: f64,
        limit: f64,
    },
    #[error("the saved state does not fit this simulation: {0}")]
    State(String),
    #[error("bad layer: {0}")]
    Layer(String),
    #[error(transparent)]
    Learned(#[from] super::learned::LearnedError),
}

/// Sizes of one head's network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    /// N, tokens.
    pub tokens: usize,
    /// D, input neurons (query/key dimension).
    pub inputs: usize,
    /// m', hidden neurons.
    pub hidden: usize,
    /// d, output neurons (value dimension).
    pub outputs: usize,
}

impl Sizes {
    /// Tripartite synapses: every hidden→output synapse, d·m'.
    pub fn synapses(&self) -> u64 {
        self.hidden as u64 * self.outputs as u64
    }
}

/// W, γ and sizes for one head.
#[derive(Clone, Debug)]
pub struct Network {
    pub params: Params,
    pub sizes: Sizes,
    /// Projection W (m × D); 0 × D for `elu1`, which has none.
    pub projection: Array2<f64>,
    /// γ (d × m'), present only when heterogeneity > 0 (otherwise every gain is 1).
    pub process_gains: Option<Array2<f64>>,
    /// Σ_i γ_ij / d per hidden neuron j (1 when heterogeneity = 0).
    pub mean_gain: Vec<f64>,
    /// `oprf`'s A* and the per-row constants of `oprf` and the cosine maps.
    pub constants: MapConstants,
    /// π of `shuffled_processes` (perm[j] = π(j), a permutation of the m' hidden neurons);
    /// None for every other ablation.
    pub permutation: Option<Vec<usize>>,
}

/// Planned memory of a run (bytes), checked against [`MEMORY_LIMIT_BYTES`].
pub fn memory_estimate(params: &Params, sizes: &Sizes) -> u64 {
    let f = 8u64;
    let (n, dim, hidden, d) = (
        sizes.tokens as u64,
        sizes.inputs as u64,
        sizes.hidden as u64,
        sizes.outputs as u64,
    );
    let mut bytes = params.m as u64 * dim * f + hidden * f;
    if params.heterogeneity > 0.0 {
        bytes += d * hidden * f;
    }
    bytes += match params.mode {
        // Eligibilities e_τ plus h, z, z_s, g, p̃ and scratch.
        Mode::Dynamic => (n + 8) * hidden * f,
        // Per-block features plus up to 64 partial N×N Gram matrices (×2 with gains).
        Mode::Algebraic => 4 * n * 4096 * f + 128 * n * n * f,
    };
    bytes + 6 * n * n * f
}

/// Planned memory of a run of `params` on `sequence` (bytes), as [`Network::new`] checks it.
pub fn memory_estimate_for(params: &Params, sequence: &Sequence) -> u64 {
    let sizes = Sizes {
        tokens: sequence.len(),
        inputs: sequence.key_dim(),
        hidden: params
            .feature_map
            .hidden_count(params.m, sequence.key_dim()),
        outputs: sequence.value_dim(),
    };
    memory_estimate(params, &sizes)
}

impl Network {
    /// Validates `params` against `sequence` and draws W and γ.
    pub fn new(params: &Params, sequence: &Sequence) -> Result<Self, ModelError> {
        params.validate()?;
        sequence.check()?;
        let sizes = Sizes {
            tokens: sequence.len(),
            inputs: sequence.key_dim(),
            hidden: params
                .feature_map
                .hidden_count(params.m, sequence.key_dim()),
            outputs: sequence.value_dim(),
        };
        let needed = memory_estimate(params, &sizes);
        if needed > MEMORY_LIMIT_BYTES {
            return Err(ParamError::TooLarge {
                what: "this run",
                needed_mib: needed >> 20,
                limit_mib: MEMORY_LIMIT_BYTES >> 20,
            }
            .into());
        }
        if params.mode == Mode::Dynamic {
            let steps = SlotSchedule::new(params, sizes.tokens).total_steps();
            if steps > MAX_STEPS {
                return Err(ParamError::Invalid {
                    name: "dt",
                    value: params.dt.to_string(),
                    range: format!(
                        "large enough that the run has at most {MAX_STEPS} steps (it would have {steps})"
                    ),
                }
                .into());
            }
        }
        check_overflow(params, sequence)?;
        let learned = learned_synapses(params, sequence)?;
        let projection = if params.feature_map == FeatureMap::Elu1 {
            Array2::zeros((0, sizes.inputs))
        } else if let Some(synapses) = &learned {
            synapses.projection.clone()
        } else {
            draw_projection(params.m, sizes.inputs, params.projection, params.seed)
        };
        let process_gains = (params.heterogeneity > 0.0).then(|| {
            let mut gains = Array2::<f64>::zeros((sizes.outputs, sizes.hidden));
            for (i, mut row) in gains.axis_iter_mut(Axis(0)).enumerate() {
                let mut rng = rng_for(params.seed, Stream::ProcessGains, i as u64);
                for gain in row.iter_mut() {
                    let xi: f64 = StandardNormal.sample(&mut rng);
                    *gain = 1.0 + params.heterogeneity * xi;
                }
            }
            gains
        });
        let mean_gain = match &process_gains {
            Some(gains) => gains.mean_axis(Axis(0)).expect("d ≥ 1").to_vec(),
            None => vec![1.0; sizes.hidden],
        };
        // Learned neurons are `positive` ones with a bias b_j per row (spec v3).
        let constants = match &learned {
            Some(synapses) => MapConstants {
                oprf_a: 0.0,
                row_bias: synapses.bias.to_vec(),
            },
            None => MapConstants::new(
                params.feature_map,
                &projection,
                sequence.scaled_queries().view(),
                sequence.scaled_keys().view(),
                params.seed,
            ),
        };
        let permutation = (params.ablation == Ablation::ShuffledProcesses)
            .then(|| draw_permutation(sizes.hidden, params.seed));
        Ok(Network {
            params: params.clone(),
            sizes,
            projection,
            process_gains,
            mean_gain,
            constants,
            permutation,
        })
    }

    /// γ_ij (1 when heterogeneity = 0).
    pub fn process_gain(&self, output: usize, hidden: usize) -> f64 {
        self.process_gains
            .as_ref()
            .map_or(1.0, |g| g[[output, hidden]])
    }
}

/// The learned W and b for this head when `projection = learned:FILE`, checked against the
/// feature map, the sequence's model, layer and head, m and D.
fn learned_synapses(
    params: &Params,
    sequence: &Sequence,
) -> Result<Option<crate::model::synapses::HiddenSynapses>, ModelError> {
    let Projection::Learned(id) = params.projection else {
        return Ok(None);
    };
    if params.feature_map != FeatureMap::Positive {
        return Err(LearnedError::FeatureMap(params.feature_map.to_string()).into());
    }
    let file = learned::file(id);
    let origin = sequence
        .origin
        .as_ref()
        .map(|o| (o.model.as_str(), o.layer, o.head));
    let synapses = file.synapses_for(&learned::path(id), origin, params.m, sequence.key_dim())?;
    Ok(Some(synapses.clone()))
}

/// A uniformly random permutation of 0..n (Fisher–Yates) drawn from `seed`.
pub fn draw_permutation(n: usize, seed: u64) -> Vec<usize> {
    use rand::seq::SliceRandom;
    let mut perm: Vec<usize> = (0..n).collect();
    perm.shuffle(&mut rng_for(seed, Stream::Permutation, 0));
    perm
}

/// The exponentials of the trig map grow like e^{‖x‖²/2}; positive and hyperbolic features are
/// bounded by e^{‖w‖²/2} in the dynamic mode and offset in the algebraic one.
fn check_overflow(params: &Params, sequence: &Sequence) -> Result<(), ModelError> {
    const LIMIT: f64 = 600.0;
    let scaled = [sequence.scaled_queries(), sequence.scaled_keys()];
    let largest = scaled
        .iter()
        .flat_map(|a| {
            a.rows()
                .into_iter()
                .map(|r| r.dot(&r) / 2.0)
                .collect::<Vec<_>>()
        })
        .fold(0.0, f64::max);
    let risky = match params.feature_map {
        FeatureMap::Trig | FeatureMap::Cosine | FeatureMap::RectifiedCosine => true,
        FeatureMap::Positive
        | FeatureMap::Hyperbolic
        | FeatureMap::Oprf
        | FeatureMap::Truncated => params.mode == Mode::Dynamic,
        FeatureMap::Elu1 => false,
    };
    if risky && largest > LIMIT {
        return Err(ModelError::Overflow {
            map: params.feature_map,
            value: largest,
            limit: LIMIT,
        });
    }
    Ok(())
}
