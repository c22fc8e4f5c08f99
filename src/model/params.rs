//! Model parameters (spec "Defaults"), their valid ranges and validation.
//!
//! Every parameter is named as in the spec and carries its unit in its doc comment. Validation
//! happens once, at construction of a simulation, and a bad value becomes a [`ParamError`] that
//! names the parameter and its valid range.

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
}

/// How the projection W is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Projection {
    /// Every entry N(0, 1).
    #[default]
    Iid,
    /// Blocks of D orthogonal rows, each rescaled to a chi-distributed norm (Performer ORF).
    Orthogonal,
}

macro_rules! named_enum {
    ($ty:ident, $what:literal, $($variant:ident => $name:literal),+) => {
        impl $ty {
            /// Every variant, in display order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];
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
                        range: concat!("one of: ", $($name, " "),+).trim_end().to_string(),
                    }),
                }
            }
        }
    };
}

named_enum!(Mode, "mode", Algebraic => "algebraic", Dynamic => "dynamic");
named_enum!(Schedule, "schedule", Bidirectional => "bidirectional", Causal => "causal");
named_enum!(FeatureMap, "feature_map", Positive => "positive", Hyperbolic => "hyperbolic", Trig => "trig", Elu1 => "elu1");
named_enum!(Projection, "projection", Iid => "iid", Orthogonal => "orthogonal");

impl FeatureMap {
    /// Number of hidden neurons m' for `m` random features in `dim` input dimensions.
    pub fn hidden_count(self, m: usize, dim: usize) -> usize {
        match self {
            FeatureMap::Positive => m,
            FeatureMap::Hyperbolic | FeatureMap::Trig => 2 * m,
            FeatureMap::Elu1 => dim,
        }
    }
}

/// A bad parameter, named with its valid range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    #[error("invalid {name} = {value}: must be {range}")]
    Invalid {
        name: &'static str,
        value: String,
        range: String,
    },
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
}

/// Largest memory a simulation may plan to allocate, in bytes (4 GiB).
pub const MEMORY_LIMIT_BYTES: u64 = 4 << 30;

/// Every parameter, by the names the spec, the CLI `--set` and experiment files use.
pub const PARAM_NAMES: &[&str] = &[
    "mode",
    "schedule",
    "m",
    "feature_map",
    "projection",
    "seed",
    "heterogeneity",
    "tau_neuron",
    "tau_process",
    "tau_calcium",
    "t_write",
    "t_read",
    "dt",
    "eta",
    "decay",
    "c_min",
    "synthetic_scale",
    "layer",
    "head",
];

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

fn check_positive_time(name: &'static str, value: f64) -> Result<(), ParamError> {
    if value.is_finite() && value > 0.0 && value <= 1e9 {
        Ok(())
    } else {
        Err(invalid(
            name,
            value,
            "a finite time > 0 ms (at most 1e9 ms)",
        ))
    }
}

impl Params {
    /// Checks every value on its own (sizes that depend on the sequence are checked by the
    /// simulation). Returns the first problem found.
    pub fn validate(&self) -> Result<(), ParamError> {
        if self.m == 0 || self.m > MAX_FEATURES {
            return Err(invalid(
                "m",
                self.m,
                &format!("an integer in 1..={MAX_FEATURES}"),
            ));
        }
        if !(self.heterogeneity.is_finite() && (0.0..=10.0).contains(&self.heterogeneity)) {
            return Err(invalid(
                "heterogeneity",
                self.heterogeneity,
                "a number in [0, 10]",
            ));
        }
        check_positive_time("tau_neuron", self.tau_neuron)?;
        check_positive_time("tau_process", self.tau_process)?;
        check_positive_time("tau_calcium", self.tau_calcium)?;
        check_positive_time("t_write", self.t_write)?;
        check_positive_time("t_read", self.t_read)?;
        check_positive_time("dt", self.dt)?;
        for (name, tau) in [
            ("tau_neuron", self.tau_neuron),
            ("tau_process", self.tau_process),
            ("tau_calcium", self.tau_calcium),
        ] {
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
        if !(self.eta.is_finite() && self.eta > 0.0 && self.eta <= 1e6) {
            return Err(invalid("eta", self.eta, "a finite rate > 0 per ms"));
        }
        if !(self.decay.is_finite() && self.decay >= 0.0 && self.decay * self.dt < 1.0) {
            return Err(invalid(
                "decay",
                self.decay,
                &format!("a rate ≥ 0 per ms with decay·dt < 1 (dt = {} ms)", self.dt),
            ));
        }
        if !(self.c_min.is_finite() && self.c_min > 0.0) {
            return Err(invalid("c_min", self.c_min, "a finite number > 0"));
        }
        if !(self.synthetic_scale.is_finite()
            && self.synthetic_scale > 0.0
            && self.synthetic_scale <= 100.0)
        {
            return Err(invalid(
                "synthetic_scale",
                self.synthetic_scale,
                "a number in (0, 100]",
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
        fn float(name: &'static str, value: &str) -> Result<f64, ParamError> {
            value
                .trim()
                .parse::<f64>()
                .map_err(|_| invalid(name, value, "a number"))
        }
        fn int<T: FromStr>(name: &'static str, value: &str) -> Result<T, ParamError> {
            value
                .trim()
                .replace('_', "")
                .parse::<T>()
                .map_err(|_| invalid(name, value, "a non-negative integer"))
        }
        match key.trim() {
            "mode" => self.mode = value.parse()?,
            "schedule" => self.schedule = value.parse()?,
            "m" => self.m = int("m", value)?,
            "feature_map" => self.feature_map = value.parse()?,
            "projection" => self.projection = value.parse()?,
            "seed" => self.seed = int("seed", value)?,
            "heterogeneity" => self.heterogeneity = float("heterogeneity", value)?,
            "tau_neuron" => self.tau_neuron = float("tau_neuron", value)?,
            "tau_process" => self.tau_process = float("tau_process", value)?,
            "tau_calcium" => self.tau_calcium = float("tau_calcium", value)?,
            "t_write" => self.t_write = float("t_write", value)?,
            "t_read" => self.t_read = float("t_read", value)?,
            "dt" => self.dt = float("dt", value)?,
            "eta" => self.eta = float("eta", value)?,
            "decay" => self.decay = float("decay", value)?,
            "c_min" => self.c_min = float("c_min", value)?,
            "synthetic_scale" => self.synthetic_scale = float("synthetic_scale", value)?,
            "layer" => self.layer = int("layer", value)?,
            "head" => self.head = int("head", value)?,
            other => return Err(ParamError::Unknown(other.to_string())),
        }
        Ok(())
    }

    /// Whether changing from `self` to `other` needs a rebuild of the simulation (structure) or
    /// can be applied to the running one (time constants, η, λ, c_min).
    pub fn is_structural_change(&self, other: &Params) -> bool {
        let mut live = other.clone();
        live.tau_neuron = self.tau_neuron;
        live.tau_process = self.tau_process;
        live.tau_calcium = self.tau_calcium;
        live.eta = self.eta;
        live.decay = self.decay;
        live.c_min = self.c_min;
        live != *self
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
            ("m", "0", "m = 0"),
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
        assert!(err.contains("positive hyperbolic trig elu1"), "{err}");
        assert!(p.set("m", "-3").is_err());
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
}
