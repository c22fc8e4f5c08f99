//! Model parameters (spec "Defaults"), their valid ranges and validation.
//!
//! Every parameter is named as in the spec and carries its unit in its doc comment. Validation
//! happens once, at construction of a simulation, and a bad value becomes a [`ParamError`] that
//! names the parameter and its valid range.

use super::numbers::{grouped, number, power_of_two};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How the network is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The paper's algebraic correspondence, computed exactly.
    Algebraic,
    /// Time-continuous dynamics integrated by forward Euler.
    #[default]
    Dynamic,
}

/// Order of write and read slots, and the attention mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// Write every token, then read every token (BERT-style, full mask).
    #[default]
    Bidirectional,
    /// Write token t then read token t (causal mask τ ≤ t).
    Causal,
}

/// Random-feature map φ implemented by the hidden layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FeatureMap {
    /// Performer FAVOR+: exp(w·x − ‖x‖²/2)/√m.
    #[default]
    Positive,
    /// FAVOR+ with ± pairs: lower variance, m' = 2m.
    Hyperbolic,
    /// Random Fourier features (cos, sin): unbiased but can be negative, m' = 2m.
    Trig,
    /// elu(x) + 1: the linear-transformer baseline, not a softmax estimator, m' = D.
    Elu1,
    /// Optimal positive random features (Likhosherstov et al. 2022): positive, unbiased, with
    /// a data-chosen A* that lowers the variance, m' = m.
    Oprf,
    /// √2 e^{‖x‖²/2} cos(w·x + b)/√m with a uniform random phase b: unbiased, can be negative,
    /// m' = m.
    Cosine,
    /// The positive map with e^{w·x} clipped at 150 (the authors' notebooks): positive and
    /// bounded, biased, m' = m.
    Truncated,
    /// max(0, √(2/π) e^{‖x‖²/2} cos(w·x + b))/√m (the authors' notebooks): a non-negative
    /// rate, biased, m' = m.
    #[serde(rename = "rectified_cosine")]
    RectifiedCosine,
}

/// Which part of the mechanism is switched off (spec "Ablations"); `none` is the model itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Ablation {
    /// Today's model, unchanged.
    #[default]
    None,
    /// ψ = 1 always: the astrocyte never divides the synapses.
    NoAstrocyte,
    /// The calcium stops responding once read slot 1 has ended.
    FrozenCalcium,
    /// The process at synapse (i, j) reads g_{π(j)}, π a permutation drawn from the seed.
    ShuffledProcesses,
    /// Every g_j is replaced by the mean of g over j.
    UniformPresynaptic,
}

/// Which heads of `layer` are simulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Heads {
    /// One head, chosen by `layer` and `head` (one network, one astrocyte).
    #[default]
    One,
    /// Every head of `layer`, one network and one astrocyte each, side by side; their outputs
    /// are concatenated and projected by the layer's W_O.
    All,
}

/// How the projection W is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Projection {
    /// Every entry N(0, 1).
    #[default]
    Iid,
    /// Blocks of D orthogonal rows, each rescaled to a chi-distributed norm (Performer ORF).
    Orthogonal,
    /// `learned:FILE`: W and a bias per hidden neuron read from a learned-synapses file
    /// (spec v3), registered once by [`super::learned::register`].
    Learned(super::learned::LearnedId),
}

macro_rules! named_enum {
    ($ty:ident, $what:literal, $($variant:ident => $name:literal),+) => {
        impl $ty {
            /// Every variant, in display order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];
            /// Every variant's name, in display order.
            pub const NAMES: &'static [&'static str] = &[$($name),+];
            /// The name used in experiment files and on the command line.
            pub fn name(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.name()) }
        }
        impl FromStr for $ty {
            type Err = ParamError;
            fn from_str(text: &str) -> Result<Self, ParamError> {
                match text.trim() {
                    $($name => Ok($ty::$variant),)+
                    other => Err(ParamError::Invalid {
                        name: $what,
                        value: other.to_string(),
                        range: Range::OneOf($ty::NAMES).in_words(),
                    }),
                }
            }
        }
        impl Choice for $ty {
            fn name(&self) -> &'static str {
                $ty::name(*self)
            }
            fn names(&self) -> &'static [&'static str] {
                $ty::NAMES
            }
            fn choose(&mut self, name: &str) -> Result<(), ParamError> {
                *self = name.parse()?;
                Ok(())
            }
        }
        impl ParamValue for $ty {
            fn value(&self) -> Value {
                Value::Choice(self.name())
            }
            fn edit(&mut self) -> ValueMut<'_> {
                ValueMut::Choice(self)
            }
        }
    };
}

named_enum!(Mode, "mode", Algebraic => "algebraic", Dynamic => "dynamic");
named_enum!(Schedule, "schedule", Bidirectional => "bidirectional", Causal => "causal");
named_enum!(FeatureMap, "feature_map", Positive => "positive", Hyperbolic => "hyperbolic", Trig => "trig", Elu1 => "elu1", Oprf => "oprf", Cosine => "cosine", Truncated => "truncated", RectifiedCosine => "rectified_cosine");
named_enum!(Ablation, "ablation", None => "none", NoAstrocyte => "no_astrocyte", FrozenCalcium => "frozen_calcium", ShuffledProcesses => "shuffled_processes", UniformPresynaptic => "uniform_presynaptic");

impl Ablation {
    /// A short label for menus.
    pub fn label(self) -> &'static str {
        match self {
            Ablation::None => "None (the model)",
            Ablation::NoAstrocyte => "No astrocyte",
            Ablation::FrozenCalcium => "Frozen calcium",
            Ablation::ShuffledProcesses => "Shuffled processes",
            Ablation::UniformPresynaptic => "Uniform presynaptic weights",
        }
    }

    /// What the ablation changes, for hover text.
    pub fn tooltip(self) -> &'static str {
        match self {
            Ablation::None => "The full model: the astrocyte divides every synapse by its calcium.",
            Ablation::NoAstrocyte => {
                "ψ = 1 always: the synapses are never divided, so y_t = H h_t and A_net = M φ(q~)·φ(k~). Rows no longer sum to 1; they sum to c_t."
            }
            Ablation::FrozenCalcium => {
                "The calcium stops responding once read slot 1 has ended (algebraic: c_t = c_1 for every t), so every later row is divided by the wrong normaliser."
            }
            Ablation::ShuffledProcesses => {
                "The process at synapse (i, j) reads the presynaptic weight g_π(j) of another hidden neuron (π drawn from the seed, exported as perm.npy): the astrocyte loses track of which synapse it sits on."
            }
            Ablation::UniformPresynaptic => {
                "Every presynaptic weight g_j is replaced by the mean of g over j: the astrocyte keeps only the total key drive, not its pattern over hidden neurons."
            }
        }
    }
}

impl Projection {
    /// The drawn projections, in display order (a learned one is named by its file).
    pub const ALL: &'static [Projection] = &[Projection::Iid, Projection::Orthogonal];
    /// The drawn projections' names; `learned:FILE` is accepted besides them.
    pub const NAMES: &'static [&'static str] = &["iid", "orthogonal"];
    /// The learned form, as the refusals and the help name it.
    pub const LEARNED_FORM: &'static str = "learned:FILE";

    /// Whether a list of choices is the projections', which also take a learned file: the
    /// one place that says so, for what is admitted and for the sentence that refuses.
    pub fn takes_learned(names: &[&str]) -> bool {
        names == Projection::NAMES
    }

    /// The name used in experiment files and on the command line (`learned:FILE` for a file).
    pub fn name(self) -> &'static str {
        match self {
            Projection::Iid => "iid",
            Projection::Orthogonal => "orthogonal",
            Projection::Learned(id) => super::learned::name(id),
        }
    }

    /// Whether W and b come from a learned file.
    pub fn is_learned(self) -> bool {
        matches!(self, Projection::Learned(_))
    }
}

impl fmt::Display for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Projection {
    type Err = ParamError;
    fn from_str(text: &str) -> Result<Self, ParamError> {
        match text.trim() {
            "iid" => Ok(Projection::Iid),
            "orthogonal" => Ok(Projection::Orthogonal),
            other => match other.strip_prefix("learned:") {
                Some(path) if !path.trim().is_empty() => super::learned::register(path.trim())
                    .map(Projection::Learned)
                    .map_err(|e| ParamError::Learned(e.to_string())),
                _ => Err(ParamError::Invalid {
                    name: "projection",
                    value: other.to_string(),
                    range: Range::OneOf(Projection::NAMES).in_words(),
                }),
            },
        }
    }
}

impl Serialize for Projection {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Projection {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Choice for Projection {
    fn name(&self) -> &'static str {
        Projection::name(*self)
    }
    fn names(&self) -> &'static [&'static str] {
        Projection::NAMES
    }
    fn choose(&mut self, name: &str) -> Result<(), ParamError> {
        *self = name.parse()?;
        Ok(())
    }
}

impl ParamValue for Projection {
    fn value(&self) -> Value {
        Value::Choice(self.name())
    }
    fn edit(&mut self) -> ValueMut<'_> {
        ValueMut::Choice(self)
    }
}
named_enum!(Heads, "heads", One => "one", All => "all");

impl FeatureMap {
    /// Number of hidden neurons m' for `m` random features in `dim` input dimensions.
    pub fn hidden_count(self, m: usize, dim: usize) -> usize {
        match self {
            FeatureMap::Positive
            | FeatureMap::Oprf
            | FeatureMap::Cosine
            | FeatureMap::Truncated
            | FeatureMap::RectifiedCosine => m,
            FeatureMap::Hyperbolic | FeatureMap::Trig => 2 * m,
            FeatureMap::Elu1 => dim,
        }
    }

    /// Whether E[φ(x)·φ(y)] = exp(x·y) exactly (tested); the others are labelled biased.
    pub fn is_unbiased(self) -> bool {
        matches!(
            self,
            FeatureMap::Positive
                | FeatureMap::Hyperbolic
                | FeatureMap::Trig
                | FeatureMap::Oprf
                | FeatureMap::Cosine
        )
    }

    /// Whether every hidden rate is ≥ 0, as a neuron's firing rate must be.
    pub fn is_firing_rate(self) -> bool {
        !matches!(self, FeatureMap::Trig | FeatureMap::Cosine)
    }

    /// What the map means for a hidden neuron, for hover text and MODEL.md.
    pub fn neuron_meaning(self) -> &'static str {
        match self {
            FeatureMap::Positive => {
                "positive (Performer FAVOR+): unbiased; every hidden rate is > 0, a firing rate."
            }
            FeatureMap::Hyperbolic => {
                "hyperbolic: unbiased, lower variance, m' = 2m; every rate > 0, a firing rate."
            }
            FeatureMap::Trig => {
                "trig (random Fourier): unbiased, m' = 2m; rates can be negative, so not a firing rate."
            }
            FeatureMap::Elu1 => {
                "elu1: linear-attention baseline, not a softmax estimator, m' = D; rates > 0."
            }
            FeatureMap::Oprf => {
                "oprf (optimal positive, Likhosherstov et al. 2022): unbiased, A* chosen from the data lowers the variance; every rate > 0, a firing rate."
            }
            FeatureMap::Cosine => {
                "cosine (random phase, the authors' notebooks): unbiased; rates can be negative, so not a firing rate."
            }
            FeatureMap::Truncated => {
                "truncated (positive map with e^{w·x} clipped at 150): BIASED; rates > 0 and bounded, a saturating firing rate."
            }
            FeatureMap::RectifiedCosine => {
                "rectified_cosine (max(0, cos) scaled): BIASED; rates ≥ 0, a rectified firing rate."
            }
        }
    }
}

/// A bad parameter, named with its valid range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    /// One sentence, the same in the app, on the command line and for experiment files:
    /// "m must be a whole number between 1 and 16 777 216" (`range` is usually
    /// [`Param::requirement`]; `value` is kept for callers that show it beside the field).
    #[error("{name} must be {range}")]
    Invalid {
        name: &'static str,
        value: String,
        range: String,
    },
    /// A `learned:FILE` projection whose file cannot be used (the sentence says why).
    #[error("{0}")]
    Learned(String),
    #[error("unknown parameter '{0}'; known parameters are: {known}", known = PARAM_NAMES.join(", "))]
    Unknown(String),
    #[error(
        "{what} needs about {needed_mib} MiB, above the limit of {limit_mib} MiB; lower m or the sequence length"
    )]
    TooLarge {
        what: &'static str,
        needed_mib: u64,
        limit_mib: u64,
    },
    #[error(
        "the layer's {heads} heads need about {needed_mib} MiB together, above the limit of {limit_mib} MiB; lower m (or set heads = one to run a single head)"
    )]
    LayerTooLarge {
        heads: usize,
        needed_mib: u64,
        limit_mib: u64,
    },
}

/// Largest memory a simulation may plan to allocate, in bytes (4 GiB).
pub const MEMORY_LIMIT_BYTES: u64 = 4 << 30;

/// Every parameter, by the names the spec, the CLI `--set` and experiment files use, in the
/// order of [`PARAMS`].
pub const PARAM_NAMES: &[&str] = &{
    let mut names = [""; PARAMS.len()];
    let mut index = 0;
    while index < PARAMS.len() {
        names[index] = PARAMS[index].name;
        index += 1;
    }
    names
};

/// All model parameters. Defaults are the spec's classroom scale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    pub mode: Mode,
    pub schedule: Schedule,
    /// Number of random features m (hidden neurons are m' = m, 2m or D, see [`FeatureMap`]).
    pub m: usize,
    pub feature_map: FeatureMap,
    pub projection: Projection,
    /// Seed for W, process gains and synthetic sequences.
    pub seed: u64,
    /// σ_γ, spread of the process gains γ_ij = 1 + σ_γ ξ_ij (dimensionless, ≥ 0).
    pub heterogeneity: f64,
    /// τ_n, neuron time constant (ms).
    pub tau_neuron: f64,
    /// τ_p, astrocyte process time constant (ms).
    pub tau_process: f64,
    /// τ_c, astrocyte calcium time constant (ms).
    pub tau_calcium: f64,
    /// T_write, length of one write slot (ms).
    pub t_write: f64,
    /// T_read, length of one read slot (ms).
    pub t_read: f64,
    /// dt, Euler step (ms).
    pub dt: f64,
    /// η, learning rate (per ms).
    pub eta: f64,
    /// λ, weight decay (per ms).
    pub decay: f64,
    /// c_min, floor of calcium in ψ(c) = 1/max(c, c_min) (calcium units).
    pub c_min: f64,
    /// Multiplies synthetic q and k (dimensionless); larger gives a peakier softmax.
    pub synthetic_scale: f64,
    /// Transformer layer (0-based) for model and bundled sequences.
    pub layer: usize,
    /// Attention head (0-based) for model and bundled sequences.
    pub head: usize,
    /// `one`: the head chosen by `layer` and `head`; `all`: every head of `layer`.
    pub heads: Heads,
    /// Which part of the mechanism is switched off (`none`: the model itself).
    pub ablation: Ablation,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            mode: Mode::Dynamic,
            schedule: Schedule::Bidirectional,
            m: 256,
            feature_map: FeatureMap::Positive,
            projection: Projection::Iid,
            seed: 1,
            heterogeneity: 0.0,
            tau_neuron: 5.0,
            tau_process: 20.0,
            tau_calcium: 100.0,
            t_write: 50.0,
            t_read: 400.0,
            dt: 0.5,
            eta: 0.02,
            decay: 0.0,
            c_min: 1e-6,
            synthetic_scale: 1.0,
            layer: 0,
            head: 0,
            heads: Heads::One,
            ablation: Ablation::None,
        }
    }
}

/// Builds [`PARAMS`] from `field: unit, range, rule, live, reload, dynamic_only;` lines, so each
/// entry's name is its field's name and its accessors cannot point at another field.
macro_rules! param_table {
    ($($field:ident: $unit:literal, $range:expr, $rule:expr, $live:expr, $reload:expr, $dynamic_only:expr;)+) => {
        [$(Param {
            name: stringify!($field),
            unit: $unit,
            range: $range,
            rule: $rule,
            live: $live,
            reload: $reload,
            dynamic_only: $dynamic_only,
            get: |params| params.$field.value(),
            edit: |params| params.$field.edit(),
        }),+]
    };
}

/// The parameter table: one entry per parameter, in the order of the spec's "Defaults". Every
/// list of parameters (the CLI's `--set` keys, [`LiveParams`], structural changes, which changes
/// read the sequence again, what algebraic mode ignores, the panel's fields) and every check of
/// a range or rule is read from it, so adding a parameter means one line here (plus the model
/// line that uses it and its panel label; tests fail when either is missing).
pub const PARAMS: &[Param] = &param_table![
    //  field            unit      range                                                 rule                    live   reload          dynamic only
    mode:            "",       Range::OneOf(Mode::NAMES),                            None,                   false, Reload::No,     false;
    schedule:        "",       Range::OneOf(Schedule::NAMES),                        None,                   false, Reload::No,     false;
    m:               "",       Range::Whole { min: 1, max: Some(MAX_FEATURES as u64) }, None,                false, Reload::No,     false;
    feature_map:     "",       Range::OneOf(FeatureMap::NAMES),                      None,                   false, Reload::No,     false;
    projection:      "",       Range::OneOf(Projection::NAMES),                      None,                   false, Reload::No,     false;
    seed:            "",       Range::AnyWhole,                                      None,                   false, Reload::Seeded, false;
    heterogeneity:   "",       Range::Real { low: Bound::Closed(0.0), high: Bound::Closed(10.0) }, None,     false, Reload::No,     false;
    tau_neuron:      "ms",     Range::Real { low: Bound::Open(0.0), high: Bound::Guard(MAX_TIME_MS) }, Some(Rule::AtLeastDt), true, Reload::No, true;
    tau_process:     "ms",     Range::Real { low: Bound::Open(0.0), high: Bound::Guard(MAX_TIME_MS) }, Some(Rule::AtLeastDt), true, Reload::No, true;
    tau_calcium:     "ms",     Range::Real { low: Bound::Open(0.0), high: Bound::Guard(MAX_TIME_MS) }, Some(Rule::AtLeastDt), true, Reload::No, true;
    t_write:         "ms",     Range::Real { low: Bound::Open(0.0), high: Bound::Guard(MAX_TIME_MS) }, Some(Rule::WholeSteps), false, Reload::No, true;
    t_read:          "ms",     Range::Real { low: Bound::Open(0.0), high: Bound::Guard(MAX_TIME_MS) }, Some(Rule::WholeSteps), false, Reload::No, true;
    dt:              "ms",     Range::Real { low: Bound::Open(0.0), high: Bound::Guard(MAX_TIME_MS) }, Some(Rule::StableStep), false, Reload::No, true;
    eta:             "per ms", Range::Real { low: Bound::Open(0.0), high: Bound::Guard(MAX_RATE_PER_MS) }, None, true, Reload::No,   true;
    decay:           "per ms", Range::Real { low: Bound::Closed(0.0), high: Bound::Unbounded }, Some(Rule::DecayBelowStep), true, Reload::No, true;
    c_min:           "",       Range::Real { low: Bound::Open(0.0), high: Bound::Unbounded }, None,          true,  Reload::No,     false;
    synthetic_scale: "",       Range::Real { low: Bound::Open(0.0), high: Bound::Closed(100.0) }, None,      false, Reload::Seeded, false;
    layer:           "",       Range::Whole { min: 0, max: None },                   None,                   false, Reload::Heads,  false;
    head:            "",       Range::Whole { min: 0, max: None },                   None,                   false, Reload::Heads,  false;
    heads:           "",       Range::OneOf(Heads::NAMES),                           None,                   false, Reload::No,     false;
    ablation:        "",       Range::OneOf(Ablation::NAMES),                        None,                   false, Reload::No,     false;
];

/// Longest accepted time constant or slot (ms): a guard against overflow, not a modelling limit.
const MAX_TIME_MS: f64 = 1e9;
/// Largest accepted learning rate η (per ms): a guard against overflow.
const MAX_RATE_PER_MS: f64 = 1e6;

/// One parameter: its name (the `--set` key and the experiment-file key), unit, valid range,
/// whether it applies to a running simulation, and how to read and edit it.
pub struct Param {
    pub name: &'static str,
    /// "ms", "per ms", or "" for dimensionless values.
    pub unit: &'static str,
    /// The values it may take on its own.
    pub range: Range,
    /// A condition that ties it to other parameters, if any.
    pub rule: Option<Rule>,
    /// Whether a change applies to the running simulation (otherwise it rebuilds from t = 0).
    pub live: bool,
    /// Whether a change makes the sequence itself differ, so a rebuild reads it again.
    pub reload: Reload,
    /// Whether only the dynamic run reads it (time constants, slots, rates): the algebraic
    /// correspondence ignores it.
    pub dynamic_only: bool,
    get: fn(&Params) -> Value,
    edit: fn(&mut Params) -> ValueMut<'_>,
}

impl Param {
    /// The entry named `name`, if there is one.
    pub fn named(name: &str) -> Option<&'static Param> {
        PARAMS.iter().find(|param| param.name == name)
    }

    /// Its value in `params`.
    pub fn get(&self, params: &Params) -> Value {
        (self.get)(params)
    }

    /// Its value in `params`, borrowed for editing.
    pub fn edit<'a>(&self, params: &'a mut Params) -> ValueMut<'a> {
        (self.edit)(params)
    }

    /// Sets it in `params` from text, as `--set NAME=TEXT` does.
    /// Text that does not parse is refused with the same sentence as a value out of range.
    pub fn set_text(&self, params: &mut Params, text: &str) -> Result<(), ParamError> {
        let refused = || invalid(self.name, text.trim(), &self.requirement());
        let whole = || text.trim().replace('_', "");
        match self.edit(params) {
            ValueMut::Real(value) => *value = text.trim().parse().map_err(|_| refused())?,
            ValueMut::Count(value) => *value = whole().parse().map_err(|_| refused())?,
            ValueMut::Integer(value) => *value = whole().parse().map_err(|_| refused())?,
            ValueMut::Choice(value) => value.choose(text)?,
        }
        Ok(())
    }

    /// Copies its value from `from` into `to`.
    pub fn copy(&self, from: &Params, to: &mut Params) {
        match (self.edit(to), self.get(from)) {
            (ValueMut::Real(value), Value::Real(new)) => *value = new,
            (ValueMut::Count(value), Value::Whole(new)) => *value = new as usize,
            (ValueMut::Integer(value), Value::Whole(new)) => *value = new,
            // The name came from the same field, so it always parses.
            (ValueMut::Choice(value), Value::Choice(new)) => _ = value.choose(new),
            _ => unreachable!("{} reads and edits the same field", self.name),
        }
    }

    /// Whether `a` and `b` differ in it.
    pub fn differs(&self, a: &Params, b: &Params) -> bool {
        self.get(a) != self.get(b)
    }

    /// Its valid values in the panel's short notation, e.g. "(0, 100]" or "> 0, ≥ dt".
    pub fn range_notation(&self) -> String {
        match self.rule {
            None => self.range.notation(),
            Some(rule) if rule.implies_range() => rule.notation().to_string(),
            Some(rule) => format!("{}, {}", self.range.notation(), rule.notation()),
        }
    }

    /// What it must be, in English, completing "{name} must be …": "a whole number between 1
    /// and 16 777 216", "a time in ms above 0 and at most 1 000 000 000, and no shorter than
    /// dt". Every refusal of a value on its own (typed text, `--set`, experiment files, the
    /// checks in [`Params::validate`]) uses it, so one refusal reads the same everywhere.
    pub fn requirement(&self) -> String {
        let what = match (self.range, self.unit) {
            (Range::Whole { max: Some(_), .. }, _) => {
                format!("a whole number {}", self.range.in_words())
            }
            (Range::Real { .. }, "ms") => format!("a time in ms {}", self.range.in_words()),
            (Range::Real { .. }, "per ms") => format!("a rate per ms {}", self.range.in_words()),
            (Range::Real { .. }, _) => format!("a number {}", self.range.in_words()),
            _ => self.range.in_words(),
        };
        match self.rule {
            None => what,
            Some(rule) => format!("{what}, {}", rule.in_words()),
        }
    }

    /// Its valid values in English, e.g. "between 1 and 16 777 216".
    pub fn range_in_words(&self) -> String {
        match self.rule {
            None => self.range.in_words(),
            Some(rule) => format!("{}, {}", self.range.in_words(), rule.in_words()),
        }
    }
}

/// Which sequences a change of a parameter makes differ (they are read again on a rebuild).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reload {
    /// None: the sequence stays.
    No,
    /// A sequence drawn from the seed (synthetic data).
    Seeded,
    /// A source with several heads (a model folder, an .npy layer, synthetic NxDxH).
    Heads,
}

/// A parameter's value, for comparing and copying.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Real(f64),
    Whole(u64),
    Choice(&'static str),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Real(value) => write!(f, "{value}"),
            Value::Whole(value) => write!(f, "{value}"),
            Value::Choice(name) => f.write_str(name),
        }
    }
}

/// A parameter's value, borrowed for editing (the panel's fields, `--set`).
pub enum ValueMut<'a> {
    Real(&'a mut f64),
    /// A size or index.
    Count(&'a mut usize),
    /// A 64-bit whole number (the seed).
    Integer(&'a mut u64),
    Choice(&'a mut dyn Choice),
}

/// A parameter chosen from a list of names.
pub trait Choice {
    /// The current choice's name.
    fn name(&self) -> &'static str;
    /// Every name, in display order.
    fn names(&self) -> &'static [&'static str];
    /// Chooses by name; an unknown name is refused with the list of known ones.
    fn choose(&mut self, name: &str) -> Result<(), ParamError>;
}

/// A field type the parameter table can read and edit.
trait ParamValue {
    fn value(&self) -> Value;
    fn edit(&mut self) -> ValueMut<'_>;
}

impl ParamValue for f64 {
    fn value(&self) -> Value {
        Value::Real(*self)
    }
    fn edit(&mut self) -> ValueMut<'_> {
        ValueMut::Real(self)
    }
}

impl ParamValue for usize {
    fn value(&self) -> Value {
        Value::Whole(*self as u64)
    }
    fn edit(&mut self) -> ValueMut<'_> {
        ValueMut::Count(self)
    }
}

impl ParamValue for u64 {
    fn value(&self) -> Value {
        Value::Whole(*self)
    }
    fn edit(&mut self) -> ValueMut<'_> {
        ValueMut::Integer(self)
    }
}

/// The values a parameter may take on its own.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Range {
    /// A size or index: whole numbers from `min`, up to `max` when there is one.
    Whole { min: u64, max: Option<u64> },
    /// Any 64-bit whole number (a seed is a label, not a quantity).
    AnyWhole,
    /// Real numbers between two bounds.
    Real { low: Bound, high: Bound },
    /// One of these names.
    OneOf(&'static [&'static str]),
}

/// One end of a real range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    Unbounded,
    /// The value itself is excluded.
    Open(f64),
    /// The value itself is included.
    Closed(f64),
    /// Included, and only there to keep the arithmetic finite: the panel leaves it out.
    Guard(f64),
}

/// A condition that ties a parameter to others (checked by [`Params::validate`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// A time constant no shorter than the Euler step, or forward Euler is unstable.
    AtLeastDt,
    /// A slot that is a whole number of Euler steps.
    WholeSteps,
    /// The Euler step: at most every time constant, and a divisor of both slots.
    StableStep,
    /// A decay rate λ with λ·dt < 1.
    DecayBelowStep,
}

impl Range {
    /// Whether `value` lies in the range.
    pub fn admits(&self, value: Value) -> bool {
        match (*self, value) {
            (Range::Whole { min, max }, Value::Whole(value)) => {
                value >= min && max.is_none_or(|max| value <= max)
            }
            (Range::AnyWhole, Value::Whole(_)) => true,
            (Range::Real { low, high }, Value::Real(value)) => {
                let above = match low {
                    Bound::Unbounded => true,
                    Bound::Open(low) => value > low,
                    Bound::Closed(low) | Bound::Guard(low) => value >= low,
                };
                let below = match high {
                    Bound::Unbounded => true,
                    Bound::Open(high) => value < high,
                    Bound::Closed(high) | Bound::Guard(high) => value <= high,
                };
                value.is_finite() && above && below
            }
            // A projection may also name a learned file (checked when it was chosen).
            (Range::OneOf(names), Value::Choice(name)) => {
                names.contains(&name)
                    || (Projection::takes_learned(names) && name.starts_with("learned:"))
            }
            _ => false,
        }
    }

    /// Short notation for the panel: "1 … 2²⁴", "≥ 0", "(0, 100]", "" for a list of names.
    pub fn notation(&self) -> String {
        match *self {
            Range::Whole {
                min,
                max: Some(max),
            } => format!("{min} … {}", power_of_two(max)),
            Range::Whole { min, max: None } => format!("≥ {min}"),
            Range::AnyWhole => "integer ≥ 0".to_string(),
            Range::Real { low, high } => match (low, high) {
                (Bound::Open(low), Bound::Closed(high)) => format!("({low}, {high}]"),
                (Bound::Closed(low), Bound::Closed(high)) => format!("[{low}, {high}]"),
                (Bound::Open(low), Bound::Open(high)) => format!("({low}, {high})"),
                (Bound::Closed(low), Bound::Open(high)) => format!("[{low}, {high})"),
                (Bound::Open(low), _) => format!("> {low}"),
                (Bound::Closed(low) | Bound::Guard(low), _) => format!("≥ {low}"),
                (Bound::Unbounded, Bound::Open(high)) => format!("< {high}"),
                (Bound::Unbounded, Bound::Closed(high)) => format!("≤ {high}"),
                (Bound::Unbounded, _) => "any number".to_string(),
            },
            Range::OneOf(_) => String::new(),
        }
    }

    /// The range in English: "between 1 and 16 777 216", "above 0 and at most 100".
    pub fn in_words(&self) -> String {
        match *self {
            Range::Whole {
                min,
                max: Some(max),
            } => {
                format!("between {} and {}", grouped(min), grouped(max))
            }
            Range::Whole { min, max: None } => format!("a whole number from {}", grouped(min)),
            Range::AnyWhole => format!("a whole number from 0 to {}", grouped(u64::MAX)),
            Range::Real { low, high } => {
                let low = match low {
                    Bound::Unbounded => None,
                    Bound::Open(low) => Some(format!("above {}", number(low))),
                    Bound::Closed(low) | Bound::Guard(low) => {
                        Some(format!("at least {}", number(low)))
                    }
                };
                let high = match high {
                    Bound::Unbounded => None,
                    Bound::Open(high) => Some(format!("below {}", number(high))),
                    Bound::Closed(high) | Bound::Guard(high) => {
                        Some(format!("at most {}", number(high)))
                    }
                };
                match (low, high) {
                    (Some(low), Some(high)) => format!("{low} and {high}"),
                    (Some(bound), None) | (None, Some(bound)) => bound,
                    (None, None) => "that is finite".to_string(),
                }
            }
            Range::OneOf(names) if Projection::takes_learned(names) => format!(
                "one of: {}, or {} (a learned-synapses file)",
                names.join(", "),
                Projection::LEARNED_FORM
            ),
            Range::OneOf(names) => format!("one of: {}", names.join(", ")),
        }
    }
}

impl Rule {
    /// Whether the rule alone already says the value is positive (the panel then shows only it).
    fn implies_range(self) -> bool {
        matches!(self, Rule::WholeSteps | Rule::StableStep)
    }

    /// Short notation for the panel.
    pub fn notation(self) -> &'static str {
        match self {
            Rule::AtLeastDt => "≥ dt",
            Rule::WholeSteps => "multiple of dt",
            Rule::StableStep => "≤ each τ, divides slots",
            Rule::DecayBelowStep => "λ·dt < 1",
        }
    }

    /// The rule in English.
    pub fn in_words(self) -> &'static str {
        match self {
            Rule::AtLeastDt => "and no shorter than dt",
            Rule::WholeSteps => "and a whole number of steps dt",
            Rule::StableStep => "no longer than any time constant, and dividing both slots",
            Rule::DecayBelowStep => "with decay·dt below 1",
        }
    }
}

/// Parameters that may change while a simulation runs: the table's live entries.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveParams(Params);

impl LiveParams {
    /// The live values of `params`.
    pub fn of(params: &Params) -> Self {
        LiveParams(params.clone())
    }

    /// Writes the live values into `params`, leaving the structural ones alone.
    pub fn apply_to(&self, params: &mut Params) {
        for param in PARAMS.iter().filter(|param| param.live) {
            param.copy(&self.0, params);
        }
    }
}

/// Largest m accepted (before the memory limit applies).
pub const MAX_FEATURES: usize = 1 << 24;
/// Longest accepted simulation, in Euler steps.
pub const MAX_STEPS: u64 = 50_000_000;

fn invalid(name: &'static str, value: impl fmt::Display, range: &str) -> ParamError {
    ParamError::Invalid {
        name,
        value: value.to_string(),
        range: range.to_string(),
    }
}

/// Names of the parameters that differ between `a` and `b`, in table order.
pub fn changed_params(a: &Params, b: &Params) -> Vec<String> {
    a.changes(b).map(|param| param.name.to_string()).collect()
}

impl Params {
    /// Checks every value on its own (sizes that depend on the sequence are checked by the
    /// simulation). Returns the first problem found.
    pub fn validate(&self) -> Result<(), ParamError> {
        // Every range in the table, in table order, refused in the table's own words.
        for param in PARAMS {
            let value = param.get(self);
            if !param.range.admits(value) {
                return Err(invalid(param.name, value, &param.requirement()));
            }
        }
        // Every entry ruled "≥ dt" in the table, in table order.
        for param in PARAMS.iter().filter(|p| p.rule == Some(Rule::AtLeastDt)) {
            let (name, Value::Real(tau)) = (param.name, param.get(self)) else {
                unreachable!("{} is a time in ms", param.name)
            };
            if self.dt > tau {
                return Err(ParamError::Invalid {
                    name: "dt",
                    value: self.dt.to_string(),
                    range: format!("at most {name} = {tau} ms, or forward Euler is unstable"),
                });
            }
        }
        for (name, slot) in [("t_write", self.t_write), ("t_read", self.t_read)] {
            let steps = slot / self.dt;
            if (steps - steps.round()).abs() > 1e-9 * steps.max(1.0) || steps.round() < 1.0 {
                return Err(ParamError::Invalid {
                    name: "dt",
                    value: self.dt.to_string(),
                    range: format!(
                        "a divisor of {name} = {slot} ms (every slot must be a whole number of steps; {slot}/{} = {steps})",
                        self.dt
                    ),
                });
            }
        }
        if self.decay * self.dt >= 1.0 {
            return Err(invalid(
                "decay",
                self.decay,
                &format!(
                    "a rate per ms with decay·dt below 1 (below {} per ms at dt = {} ms)",
                    1.0 / self.dt,
                    self.dt
                ),
            ));
        }
        Ok(())
    }

    /// Euler steps in one write slot.
    pub fn write_steps(&self) -> u64 {
        (self.t_write / self.dt).round() as u64
    }

    /// Euler steps in one read slot.
    pub fn read_steps(&self) -> u64 {
        (self.t_read / self.dt).round() as u64
    }

    /// Sets one parameter from text, as `--set KEY=VALUE` does.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ParamError> {
        let key = key.trim();
        Param::named(key)
            .ok_or_else(|| ParamError::Unknown(key.to_string()))?
            .set_text(self, value)
    }

    /// The parameters whose values differ between `self` and `other`, in table order.
    pub fn changes<'a>(&'a self, other: &'a Params) -> impl Iterator<Item = &'static Param> + 'a {
        PARAMS.iter().filter(|param| param.differs(self, other))
    }

    /// Whether changing from `self` to `other` needs a rebuild of the simulation (structure) or
    /// can be applied to the running one (the table's live entries).
    pub fn is_structural_change(&self, other: &Params) -> bool {
        self.changes(other).any(|param| !param.live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_spec() {
        let p = Params::default();
        p.validate().unwrap();
        assert_eq!(p.m, 256);
        assert_eq!(p.write_steps(), 100);
        assert_eq!(p.read_steps(), 800);
        assert!((p.eta * p.t_write - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bad_values_name_the_parameter_and_range() {
        let cases: &[(&str, &str, &str)] = &[
            ("m", "0", "m must be a whole number between 1"),
            ("tau_calcium", "-1", "tau_calcium"),
            ("tau_neuron", "0", "tau_neuron"),
            ("dt", "0.3", "divisor of t_write"),
            ("eta", "NaN", "eta"),
            ("heterogeneity", "inf", "heterogeneity"),
            ("c_min", "0", "c_min"),
        ];
        for (key, value, expect) in cases {
            let mut p = Params::default();
            p.set(key, value).unwrap();
            let err = p.validate().unwrap_err().to_string();
            assert!(err.contains(expect), "{key}={value}: {err}");
            assert!(err.contains("must be"), "{err}");
        }
    }

    #[test]
    fn unknown_keys_and_enum_values_are_refused() {
        let mut p = Params::default();
        assert!(
            p.set("tau", "1")
                .unwrap_err()
                .to_string()
                .contains("unknown parameter 'tau'")
        );
        let err = p.set("feature_map", "relu").unwrap_err().to_string();
        assert!(
            err.starts_with("feature_map must be one of: positive, hyperbolic, trig, elu1"),
            "{err}"
        );
        assert!(p.set("m", "-3").is_err());
    }

    #[test]
    fn changed_params_names_fields() {
        let a = Params::default();
        let b = Params {
            m: 512,
            tau_calcium: 3.0,
            ..a.clone()
        };
        assert_eq!(changed_params(&a, &b), ["m", "tau_calcium"]);
    }

    #[test]
    fn live_and_structural_changes_are_told_apart() {
        let a = Params::default();
        let mut b = a.clone();
        b.tau_calcium = 7.0;
        b.eta = 0.1;
        assert!(!a.is_structural_change(&b));
        b.m = 512;
        assert!(a.is_structural_change(&b));
    }

    #[test]
    fn every_parameter_has_exactly_one_table_entry() {
        let serde_json::Value::Object(fields) = serde_json::to_value(Params::default()).unwrap()
        else {
            panic!("Params serialises to a map");
        };
        for key in fields.keys() {
            let entries = PARAMS.iter().filter(|param| param.name == key).count();
            assert_eq!(entries, 1, "{key} has {entries} entries in PARAMS");
        }
        assert_eq!(PARAMS.len(), fields.len(), "an entry names no field");
        assert_eq!(PARAM_NAMES.len(), PARAMS.len());
    }

    #[test]
    fn each_entry_reads_and_edits_its_own_field() {
        let a = Params::default();
        for param in PARAMS {
            let mut b = a.clone();
            // A value in range that differs from the default.
            let text = match param.range {
                Range::OneOf(names) => {
                    let other = names.iter().find(|&&n| Value::Choice(n) != param.get(&a));
                    other.unwrap().to_string()
                }
                _ => match param.get(&a) {
                    Value::Real(value) => (value * 2.0 + 1.0).to_string(),
                    Value::Whole(value) => (value + 2).to_string(),
                    Value::Choice(_) => unreachable!(),
                },
            };
            param.set_text(&mut b, &text).unwrap();
            let changed: Vec<&str> = a.changes(&b).map(|p| p.name).collect();
            assert_eq!(changed, [param.name], "setting {} to {text}", param.name);
            let json = serde_json::to_value(&b).unwrap();
            assert_ne!(
                json[param.name],
                serde_json::to_value(&a).unwrap()[param.name]
            );
            let mut c = a.clone();
            param.copy(&b, &mut c);
            assert_eq!(c, b, "copying {}", param.name);
        }
    }

    #[test]
    fn live_params_carry_exactly_the_live_entries() {
        let a = Params::default();
        let mut edited = a.clone();
        for param in PARAMS {
            let text = match param.range {
                Range::OneOf(names) => names[1].to_string(),
                _ => "2".to_string(),
            };
            param.set_text(&mut edited, &text).unwrap();
        }
        let mut applied = a.clone();
        LiveParams::of(&edited).apply_to(&mut applied);
        let changed: Vec<&str> = a.changes(&applied).map(|p| p.name).collect();
        let live: Vec<&str> = PARAMS.iter().filter(|p| p.live).map(|p| p.name).collect();
        assert_eq!(changed, live);
        assert_eq!(
            live,
            [
                "tau_neuron",
                "tau_process",
                "tau_calcium",
                "eta",
                "decay",
                "c_min"
            ]
        );
    }

    #[test]
    fn ranges_read_as_english() {
        let words = |key| Param::named(key).unwrap().range_in_words();
        assert_eq!(words("m"), "between 1 and 16 777 216");
        assert_eq!(words("synthetic_scale"), "above 0 and at most 100");
        assert_eq!(words("heterogeneity"), "at least 0 and at most 10");
        assert_eq!(
            words("tau_calcium"),
            "above 0 and at most 1 000 000 000, and no shorter than dt"
        );
        assert_eq!(
            words("feature_map"),
            "one of: positive, hyperbolic, trig, elu1, oprf, cosine, truncated, rectified_cosine"
        );
        assert_eq!(
            words("ablation"),
            "one of: none, no_astrocyte, frozen_calcium, shuffled_processes, uniform_presynaptic"
        );
        assert_eq!(words("layer"), "a whole number from 0");
    }

    /// The table's ranges are the ones validation enforces: a value just outside is refused.
    #[test]
    fn validation_refuses_values_outside_the_table_ranges() {
        for param in PARAMS {
            let Range::Real { low, high } = param.range else {
                continue;
            };
            let mut outside = vec![f64::NAN, f64::INFINITY];
            match low {
                Bound::Open(low) => outside.push(low),
                Bound::Closed(low) | Bound::Guard(low) => outside.push(low - 1e-3),
                Bound::Unbounded => {}
            }
            match high {
                Bound::Open(high) => outside.push(high),
                Bound::Closed(high) | Bound::Guard(high) => outside.push(high * 1.5),
                Bound::Unbounded => {}
            }
            for value in outside {
                let mut params = Params::default();
                param.set_text(&mut params, &value.to_string()).unwrap();
                assert!(!param.range.admits(param.get(&params)));
                let error = params.validate().unwrap_err().to_string();
                assert!(error.contains("must be"), "{}={value}: {error}", param.name);
            }
        }
        for param in PARAMS {
            assert!(
                param.range.admits(param.get(&Params::default())),
                "default {} outside its range",
                param.name
            );
        }
    }

    /// Every entry refuses a bad value with one sentence that names it and its range, the same
    /// for text that does not parse (`--set`, the panel) and for a parsed value out of range
    /// (experiment files, `validate`).
    #[test]
    fn every_entry_refuses_in_one_sentence_from_the_table() {
        for param in PARAMS {
            let requirement = param.requirement();
            let sentence = format!("{} must be {requirement}", param.name);
            assert!(
                requirement.contains(&param.range.in_words()),
                "{}: {requirement}",
                param.name
            );
            let mut params = Params::default();
            let error = param.set_text(&mut params, "lots").unwrap_err();
            assert_eq!(error.to_string(), sentence, "typed text for {}", param.name);
            assert_eq!(
                params,
                Params::default(),
                "{} changed on a refusal",
                param.name
            );
            let outside = match param.range {
                Range::Whole { min, .. } if min > 0 => Some("0"),
                Range::Whole { .. } | Range::AnyWhole => Some("-5"),
                Range::Real { .. } => Some("inf"),
                Range::OneOf(_) => None,
            };
            if let Some(outside) = outside {
                let set = param.set_text(&mut params, outside);
                let error = set.and_then(|()| params.validate()).unwrap_err();
                assert_eq!(error.to_string(), sentence, "{} = {outside}", param.name);
            }
        }
        let mut params = Params::default();
        let m = "m must be a whole number between 1 and 16 777 216";
        assert_eq!(params.set("m", "-5").unwrap_err().to_string(), m);
        params.set("m", "0").unwrap();
        assert_eq!(params.validate().unwrap_err().to_string(), m);
        let mut params = Params::default();
        params.set("tau_calcium", "-5").unwrap();
        assert_eq!(
            params.validate().unwrap_err().to_string(),
            "tau_calcium must be a time in ms above 0 and at most 1 000 000 000, and no shorter than dt"
        );
    }
}
