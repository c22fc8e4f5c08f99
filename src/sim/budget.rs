//! The neuron budget of a head (issue 13 §2): how many hidden neurons would this head need?
//!
//! For each head, a short sweep over m in algebraic mode, over seeds, then a least-squares fit
//! of attn_tv ≈ a·m^(−1/2) **in log space with the slope fixed at −½**: ln a is the mean of
//! ln attn_tv + ½ ln m over every (m, seed) point. `m_needed` = (a / target)² is where that
//! fit reaches the target. The fit's quality is its R² in log space, and a free log-log fit
//! gives the slope the data actually show: the 1/√m law is flagged as not holding when that
//! slope is further than [`LAW_SLOPE_TOLERANCE`] from −½, and `m_needed` is flagged as an
//! extrapolation when it lies outside the measured range of m.
//!
//! Each tripartite synapse (hidden → output) is ensheathed by one astrocyte process, so a head
//! with d outputs needs d·m' synapses. One astrocyte contacts about 10⁵ synapses in rodents
//! (Bushong et al. 2002) and up to 2·10⁶ in humans (Oberheim et al. 2009).

use crate::data::error::SequenceError;
use crate::data::experiment::Experiment;
use crate::data::source::{head_grid, load_sequence};
use crate::model::algebraic::run_algebraic;
use crate::model::learned;
use crate::model::metrics::Metrics;
use crate::model::network::{ModelError, Network};
use crate::model::params::{FeatureMap, Mode, Params, Projection};
use crate::model::sequence::Sequence;
use crate::model::softmax::{SoftmaxReference, softmax_reference};
use rayon::prelude::*;
use serde::Serialize;
use std::fmt::Write as _;

/// The default sweep: six values of m from 2¹⁰ to 2¹⁶.
pub const DEFAULT_MS: [usize; 6] = [1024, 2048, 4096, 8192, 16384, 65536];
/// Seeds per m by default.
pub const DEFAULT_SEEDS: u32 = 3;
/// attn_tv the budget aims at by default.
pub const DEFAULT_TARGET: f64 = 0.05;
/// How far the free log-log slope may stray from −½ before the 1/√m law is flagged.
pub const LAW_SLOPE_TOLERANCE: f64 = 0.15;
/// Synapses one rodent astrocyte contacts (Bushong et al. 2002).
pub const RODENT_ASTROCYTE_SYNAPSES: f64 = 1e5;
/// Synapses one human astrocyte contacts, at most (Oberheim et al. 2009).
pub const HUMAN_ASTROCYTE_SYNAPSES: f64 = 2e6;

/// Why a budget could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error("the budget target is an attn_tv and must lie strictly between 0 and 1, not {0}")]
    Target(f64),
    #[error("the budget needs at least 1 seed")]
    NoSeeds,
    #[error("the budget needs at least two different values of m, each at least 1")]
    TooFewMs,
    #[error("'{0}' has no attention heads to budget; choose a bundled: or model: sequence")]
    NoHeads(String),
    #[error("layer {layer} does not exist: this model has layers 0..={last}")]
    Layer { layer: usize, last: usize },
    #[error("head {head} does not exist: this model has heads 0..={last}")]
    Head { head: usize, last: usize },
    #[error(
        "{projection} was learned for {holds}, so the budget of layer {layer} has no learned head to set against random features; budget that layer and head"
    )]
    NotLearnedHere {
        projection: String,
        holds: String,
        layer: usize,
    },
    #[error(transparent)]
    Sequence(#[from] SequenceError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// What to measure: the target attn_tv, the seeds per m and the values of m.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BudgetSpec {
    pub target: f64,
    pub seeds: u32,
    pub ms: Vec<usize>,
}

impl Default for BudgetSpec {
    fn default() -> Self {
        BudgetSpec {
            target: DEFAULT_TARGET,
            seeds: DEFAULT_SEEDS,
            ms: DEFAULT_MS.to_vec(),
        }
    }
}

impl BudgetSpec {
    /// What the All heads grid measures for each cell: the default target and m, one seed
    /// (the head's own), to keep a layer's grid quick.
    pub fn grid() -> BudgetSpec {
        BudgetSpec {
            seeds: 1,
            ..BudgetSpec::default()
        }
    }

    /// Checks the target, the seeds and the values of m.
    pub fn validate(&self) -> Result<(), BudgetError> {
        if !(self.target > 0.0 && self.target < 1.0) {
            return Err(BudgetError::Target(self.target));
        }
        if self.seeds == 0 {
            return Err(BudgetError::NoSeeds);
        }
        let mut ms = self.ms.clone();
        ms.sort_unstable();
        ms.dedup();
        if ms.len() < 2 || ms[0] == 0 {
            return Err(BudgetError::TooFewMs);
        }
        Ok(())
    }
}

/// One measured point of the sweep.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct BudgetPoint {
    pub m: usize,
    pub seed: u64,
    pub attn_tv: f64,
}

/// The fit of attn_tv ≈ a·m^(−1/2) over a head's points.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct BudgetFit {
    /// a in attn_tv ≈ a·m^(−1/2) (least squares in log space, slope fixed at −½).
    pub amplitude: f64,
    /// R² of that fixed-slope fit, in log space (1 − SS_res / SS_tot of ln attn_tv).
    pub r_squared: f64,
    /// Slope of the free least-squares line of ln attn_tv against ln m.
    pub free_slope: f64,
    /// R² of the free log-log line.
    pub free_r_squared: f64,
    /// (a / target)²: the m at which the fit reaches the target.
    pub m_needed: f64,
    /// Where the free log-log line reaches the target (infinite when it does not fall).
    pub m_needed_free: f64,
    /// ln attn_tv of the free log-log line at m = 1 (its intercept).
    pub free_intercept: f64,
    /// Whether the free slope lies within [`LAW_SLOPE_TOLERANCE`] of −½ over the measured range.
    pub law_holds: bool,
    /// Whether m_needed lies outside the measured range of m.
    pub extrapolated: bool,
}

impl BudgetFit {
    /// Fits `(m, attn_tv)` points (non-positive or undefined attn_tv are left out); every
    /// field is NaN (and both flags false) with fewer than two different m left.
    pub fn of(points: &[(usize, f64)], target: f64) -> BudgetFit {
        let used: Vec<(f64, f64)> = points
            .iter()
            .filter(|(m, tv)| *m > 0 && tv.is_finite() && *tv > 0.0)
            .map(|&(m, tv)| ((m as f64).ln(), tv.ln()))
            .collect();
        let distinct = {
            let mut ms: Vec<u64> = used.iter().map(|(x, _)| x.to_bits()).collect();
            ms.sort_unstable();
            ms.dedup();
            ms.len()
        };
        if distinct < 2 {
            return BudgetFit {
                amplitude: f64::NAN,
                r_squared: f64::NAN,
                free_slope: f64::NAN,
                free_r_squared: f64::NAN,
                m_needed: f64::NAN,
                m_needed_free: f64::NAN,
                free_intercept: f64::NAN,
                law_holds: false,
                extrapolated: false,
            };
        }
        let count = used.len() as f64;
        let mean_x = used.iter().map(|(x, _)| x).sum::<f64>() / count;
        let mean_y = used.iter().map(|(_, y)| y).sum::<f64>() / count;
        let ss_tot: f64 = used.iter().map(|(_, y)| (y - mean_y).powi(2)).sum();
        let r_squared_of = |ss_res: f64| {
            if ss_tot > 0.0 {
                1.0 - ss_res / ss_tot
            } else {
                f64::NAN
            }
        };
        // Fixed slope −½: ln a = mean(ln tv + ½ ln m).
        let log_a = used.iter().map(|(x, y)| y + 0.5 * x).sum::<f64>() / count;
        let ss_fixed: f64 = used
            .iter()
            .map(|(x, y)| (y - (log_a - 0.5 * x)).powi(2))
            .sum();
        // Free line.
        let sxx: f64 = used.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
        let sxy: f64 = used.iter().map(|(x, y)| (x - mean_x) * (y - mean_y)).sum();
        let slope = sxy / sxx;
        let intercept = mean_y - slope * mean_x;
        let ss_free: f64 = used
            .iter()
            .map(|(x, y)| (y - (intercept + slope * x)).powi(2))
            .sum();
        let amplitude = log_a.exp();
        let m_needed = m_at(amplitude, target);
        let (low, high) = used
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (x, _)| {
                (lo.min(x.exp()), hi.max(x.exp()))
            });
        BudgetFit {
            amplitude,
            r_squared: r_squared_of(ss_fixed),
            free_slope: slope,
            free_r_squared: r_squared_of(ss_free),
            m_needed,
            m_needed_free: m_at_free(intercept, slope, target),
            free_intercept: intercept,
            law_holds: (slope + 0.5).abs() <= LAW_SLOPE_TOLERANCE,
            extrapolated: m_needed < low * (1.0 - 1e-9) || m_needed > high * (1.0 + 1e-9),
        }
    }
}

impl BudgetFit {
    /// The random m at which the fixed-slope fit gives `attn_tv`: (a / attn_tv)². This is how
    /// many random hidden neurons the fit says would match a network with that attn_tv (NaN
    /// when attn_tv is not positive and finite).
    pub fn m_matching(&self, attn_tv: f64) -> f64 {
        m_at(self.amplitude, attn_tv)
    }

    /// The same from the free log-log line: exp((ln attn_tv − intercept) / slope), infinite
    /// when the line does not fall.
    pub fn m_matching_free(&self, attn_tv: f64) -> f64 {
        m_at_free(self.free_intercept, self.free_slope, attn_tv)
    }
}

/// (a / attn_tv)², NaN unless attn_tv is positive and finite.
fn m_at(amplitude: f64, attn_tv: f64) -> f64 {
    if attn_tv.is_finite() && attn_tv > 0.0 {
        (amplitude / attn_tv).powi(2)
    } else {
        f64::NAN
    }
}

/// Where ln attn_tv = intercept + slope·ln m meets `attn_tv` (infinite when the line does not
/// fall, NaN for an undefined line or attn_tv).
fn m_at_free(intercept: f64, slope: f64, attn_tv: f64) -> f64 {
    if !(attn_tv.is_finite() && attn_tv > 0.0 && intercept.is_finite() && slope.is_finite()) {
        f64::NAN
    } else if slope < 0.0 {
        ((attn_tv.ln() - intercept) / slope).exp()
    } else {
        f64::INFINITY
    }
}

/// One head's budget.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeadBudget {
    pub layer: usize,
    pub head: usize,
    pub feature_map: FeatureMap,
    /// d, output neurons (value dimension): each hidden neuron has d tripartite synapses.
    pub outputs: usize,
    /// Every run of the sweep, m-major then seed.
    pub points: Vec<BudgetPoint>,
    pub fit: BudgetFit,
    /// d·m'_needed: tripartite synapses at m_needed, one astrocyte process each.
    pub synapses_needed: f64,
    /// With `projection = learned:FILE` holding this head: the learned network set against
    /// the random features the sweep measured.
    pub learned: Option<LearnedEquivalent>,
}

/// A head's learned network set against its random-feature budget: the random m that the
/// budget's own fit says gives the learned network's attn_tv on the same sequence. The sweep
/// is of random positive features (iid W from the experiment's seed, b = 0: the network
/// learning started from), never of the learned file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LearnedEquivalent {
    /// "learned:FILE", as the projection names it.
    pub projection: String,
    /// Hidden neurons of the learned network.
    pub m: usize,
    /// attn_tv of the learned network on this sequence (algebraic mode), measured with the
    /// budget.
    pub attn_tv: f64,
    /// (a / attn_tv)²: random m at which the fixed-slope fit reaches the learned attn_tv.
    pub m_equivalent: f64,
    /// Where the free log-log line reaches the learned attn_tv.
    pub m_equivalent_free: f64,
    /// The file's own figures, measured on its held-out sentences when it was learned
    /// (not on this sequence): learned, random at the same m, and random at a large m.
    pub held_out_tv: f64,
    pub held_out_tv_random: f64,
    pub held_out_random_large: Option<(usize, f64)>,
    /// The file's description of its training and held-out sentences.
    pub training: String,
}

impl LearnedEquivalent {
    /// The learned network of `params` (a learned projection holding its head) on `sequence`,
    /// measured against `reference` (the softmax the sweep already computed) and set against
    /// `fit`; None when the file does not hold this layer and head.
    fn measure(
        params: &Params,
        sequence: &Sequence,
        reference: &SoftmaxReference,
        fit: &BudgetFit,
    ) -> Result<Option<LearnedEquivalent>, ModelError> {
        let Projection::Learned(id) = params.projection else {
            return Ok(None);
        };
        let file = learned::file(id);
        let Some(record) = file.records.iter().find(|r| r.head == params.head) else {
            return Ok(None);
        };
        if file.layer != params.layer {
            return Ok(None);
        }
        // The file's own m, whatever m the experiment sets: the budget sweeps m anyway.
        let learned_params = Params {
            mode: Mode::Algebraic,
            m: file.hidden(),
            ..params.clone()
        };
        let network = Network::new(&learned_params, sequence)?;
        let output = run_algebraic(&network, sequence);
        let attn_tv = Metrics::compute(reference, &output).attn_tv;
        Ok(Some(LearnedEquivalent {
            projection: learned::name(id).to_string(),
            m: file.hidden(),
            attn_tv,
            m_equivalent: fit.m_matching(attn_tv),
            m_equivalent_free: fit.m_matching_free(attn_tv),
            held_out_tv: record.held_out_tv,
            held_out_tv_random: record.held_out_tv_random,
            held_out_random_large: record.held_out_random_large,
            training: file.training.clone(),
        }))
    }
}

/// The random network a learned one started from: positive features with the seed's iid W.
/// Other projections are left as they are.
pub fn random_sweep_params(params: &Params) -> Params {
    if params.projection.is_learned() {
        Params {
            projection: Projection::Iid,
            feature_map: FeatureMap::Positive,
            ..params.clone()
        }
    } else {
        params.clone()
    }
}

impl HeadBudget {
    /// How one astrocyte compares: "rodent" (≤ 10⁵ synapses), "human" (≤ 2·10⁶), or "more
    /// than one" astrocyte; "?" when the fit is undefined.
    pub fn astrocytes(&self) -> &'static str {
        let s = self.synapses_needed;
        if !s.is_finite() {
            "?"
        } else if s <= RODENT_ASTROCYTE_SYNAPSES {
            "one (rodent)"
        } else if s <= HUMAN_ASTROCYTE_SYNAPSES {
            "one (human)"
        } else {
            "more than one"
        }
    }
}

/// The budget of one head: `params` (mode and m are set by the sweep, seeds count up from
/// `params.seed`) on `sequence`. With a learned projection the sweep is of the random network
/// learning started from ([`random_sweep_params`]), and the learned network is set against
/// it ([`LearnedEquivalent`]).
pub fn head_budget(
    params: &Params,
    sequence: &Sequence,
    spec: &BudgetSpec,
) -> Result<HeadBudget, BudgetError> {
    head_budget_reporting(params, sequence, spec, &|| {})
}

/// [`head_budget`], calling `point_done` as each (m, seed) run finishes (on any thread).
pub fn head_budget_reporting(
    params: &Params,
    sequence: &Sequence,
    spec: &BudgetSpec,
    point_done: &(dyn Fn() + Sync),
) -> Result<HeadBudget, BudgetError> {
    spec.validate()?;
    let reference = softmax_reference(sequence, params.schedule);
    let random = random_sweep_params(params);
    let runs: Vec<(usize, u64)> = spec
        .ms
        .iter()
        .flat_map(|&m| (0..u64::from(spec.seeds)).map(move |offset| (m, offset)))
        .collect();
    let points = runs
        .par_iter()
        .map(|&(m, offset)| {
            let run_params = Params {
                mode: Mode::Algebraic,
                m,
                seed: random.seed.wrapping_add(offset),
                ..random.clone()
            };
            let network = Network::new(&run_params, sequence)?;
            let output = run_algebraic(&network, sequence);
            point_done();
            Ok(BudgetPoint {
                m,
                seed: run_params.seed,
                attn_tv: Metrics::compute(&reference, &output).attn_tv,
            })
        })
        .collect::<Result<Vec<_>, ModelError>>()?;
    let pairs: Vec<(usize, f64)> = points.iter().map(|p| (p.m, p.attn_tv)).collect();
    let fit = BudgetFit::of(&pairs, spec.target);
    let outputs = sequence.value_dim();
    let learned = LearnedEquivalent::measure(params, sequence, &reference, &fit)?;
    let hidden_needed = random.feature_map.hidden_count(
        fit.m_needed.ceil().max(1.0).min(u64::MAX as f64) as usize,
        sequence.key_dim(),
    );
    Ok(HeadBudget {
        layer: params.layer,
        head: params.head,
        feature_map: random.feature_map,
        outputs,
        points,
        fit,
        synapses_needed: if fit.m_needed.is_finite() {
            outputs as f64 * hidden_needed as f64
        } else {
            f64::NAN
        },
        learned,
    })
}

/// The budget of every head of `layer` (or only `head`) of the experiment's real-text source.
pub fn layer_budget(
    experiment: &Experiment,
    layer: usize,
    head: Option<usize>,
    spec: &BudgetSpec,
) -> Result<Vec<HeadBudget>, BudgetError> {
    layer_budget_reporting(experiment, layer, head, spec, &|_| {}, &|| {})
}

/// [`layer_budget`], telling `heads_chosen` how many heads will be budgeted (before any runs)
/// and calling `point_done` as each (head, m, seed) run finishes.
pub fn layer_budget_reporting(
    experiment: &Experiment,
    layer: usize,
    head: Option<usize>,
    spec: &BudgetSpec,
    heads_chosen: &dyn Fn(usize),
    point_done: &(dyn Fn() + Sync),
) -> Result<Vec<HeadBudget>, BudgetError> {
    spec.validate()?;
    experiment.params.validate().map_err(ModelError::from)?;
    let (layers, heads) = head_grid(&experiment.source)?
        .ok_or_else(|| BudgetError::NoHeads(experiment.source.to_string()))?;
    if layer >= layers {
        return Err(BudgetError::Layer {
            layer,
            last: layers.saturating_sub(1),
        });
    }
    let chosen: Vec<usize> = match head {
        Some(head) if head >= heads => {
            return Err(BudgetError::Head {
                head,
                last: heads.saturating_sub(1),
            });
        }
        Some(head) => vec![head],
        None => (0..heads).collect(),
    };
    heads_chosen(chosen.len());
    let budgets = chosen
        .into_iter()
        .map(|head| {
            let params = Params {
                layer,
                head,
                ..experiment.params.clone()
            };
            let sequence = load_sequence(&experiment.source, experiment.text.as_deref(), &params)?;
            head_budget_reporting(&params, &sequence, spec, point_done)
        })
        .collect::<Result<Vec<_>, BudgetError>>()?;
    // A learned file that holds none of these heads is a mistake worth one sentence, not a
    // silent budget of random features alone.
    if let Projection::Learned(id) = experiment.params.projection
        && budgets.iter().all(|b| b.learned.is_none())
    {
        return Err(BudgetError::NotLearnedHere {
            projection: learned::name(id).to_string(),
            holds: learned::file(id).describe(),
            layer,
        });
    }
    Ok(budgets)
}

/// What `tripartite budget --json` prints.
#[derive(Clone, Debug, Serialize)]
pub struct BudgetReport<'a> {
    pub source: String,
    pub spec: &'a BudgetSpec,
    pub fit: &'static str,
    pub law_slope_tolerance: f64,
    pub rodent_astrocyte_synapses: f64,
    pub human_astrocyte_synapses: f64,
    pub heads: &'a [HeadBudget],
}

/// The budget as pretty JSON (undefined numbers become `null`).
pub fn budget_json(experiment: &Experiment, spec: &BudgetSpec, heads: &[HeadBudget]) -> String {
    let report = BudgetReport {
        source: experiment.source.to_string(),
        spec,
        fit: "least squares of ln attn_tv = ln a − ½ ln m (slope fixed); free_slope from the unconstrained log-log line",
        law_slope_tolerance: LAW_SLOPE_TOLERANCE,
        rodent_astrocyte_synapses: RODENT_ASTROCYTE_SYNAPSES,
        human_astrocyte_synapses: HUMAN_ASTROCYTE_SYNAPSES,
        heads,
    };
    serde_json::to_string_pretty(&report).expect("budgets always serialise")
}

/// The budget as a table, one head a line, with a legend.
pub fn budget_table(experiment: &Experiment, spec: &BudgetSpec, heads: &[HeadBudget]) -> String {
    let mut out = String::new();
    let ms: Vec<String> = spec.ms.iter().map(usize::to_string).collect();
    let _ = writeln!(
        out,
        "{} · target attn_tv {} · m ∈ {{{}}} · {} seed(s) · fit attn_tv ≈ a·m^(−1/2), least squares in log space",
        experiment.source,
        spec.target,
        ms.join(", "),
        spec.seeds
    );
    let _ = writeln!(
        out,
        "{:>5} {:>4} {:>10} {:>7} {:>6} {:>6} {:>10} {:>12} {:>10}  {:<14} law",
        "layer",
        "head",
        "map",
        "a",
        "R²",
        "slope",
        "m_needed",
        "m_free_fit",
        "synapses",
        "astrocytes"
    );
    for h in heads {
        let flag = match (h.fit.law_holds, h.fit.extrapolated) {
            _ if !h.fit.m_needed.is_finite() => "no fit",
            (true, false) => "1/√m holds",
            (true, true) => "1/√m holds, extrapolated",
            (false, false) => "1/√m does NOT hold",
            (false, true) => "1/√m does NOT hold, extrapolated",
        };
        let _ = writeln!(
            out,
            "{:>5} {:>4} {:>10} {:>7.3} {:>6.2} {:>6.2} {:>10.0} {:>12.3e} {:>10.2e}  {:<14} {flag}",
            h.layer,
            h.head,
            h.feature_map.name(),
            h.fit.amplitude,
            h.fit.r_squared,
            h.fit.free_slope,
            h.fit.m_needed,
            h.fit.m_needed_free,
            h.synapses_needed,
            h.astrocytes(),
        );
    }
    let _ = writeln!(
        out,
        "R² of the fixed-slope fit (negative: worse than a constant, the law is far off); slope of the free log-log line, m_free_fit where that line meets the target. synapses = d·m' at m_needed (one astrocyte process each); one astrocyte contacts ~1e5 synapses in rodents (Bushong et al. 2002), up to 2e6 in humans (Oberheim et al. 2009). \"does NOT hold\": the free log-log slope is further than {LAW_SLOPE_TOLERANCE} from −0.5.",
    );
    learned_table(&mut out, heads);
    out
}

/// The learned network against the random sweep, for the heads a learned file holds.
fn learned_table(out: &mut String, heads: &[HeadBudget]) {
    let learned: Vec<(&HeadBudget, &LearnedEquivalent)> = heads
        .iter()
        .filter_map(|h| h.learned.as_ref().map(|l| (h, l)))
        .collect();
    let Some((_, first)) = learned.first() else {
        return;
    };
    let _ = writeln!(
        out,
        "\nLearned synapses ({}) against the random features swept above (positive, iid W from the same seed, b = 0):",
        first.projection
    );
    let _ = writeln!(
        out,
        "{:>5} {:>4} {:>9} {:>10} {:>12} {:>12}   {:>16} {:>14} {:>20}",
        "layer",
        "head",
        "learned m",
        "attn_tv",
        "≈ random m",
        "≈ m_free_fit",
        "held-out learned",
        "random same m",
        "random large m"
    );
    for (h, l) in &learned {
        let large = l
            .held_out_random_large
            .map_or("—".to_string(), |(m, tv)| format!("{tv:.4} (m={m})"));
        let _ = writeln!(
            out,
            "{:>5} {:>4} {:>9} {:>10.4} {:>12.3e} {:>12.3e}   {:>16.4} {:>14.4} {:>20}",
            h.layer,
            h.head,
            l.m,
            l.attn_tv,
            l.m_equivalent,
            l.m_equivalent_free,
            l.held_out_tv,
            l.held_out_tv_random,
            large
        );
    }
    for (h, l) in &learned {
        let (low, high) = h
            .points
            .iter()
            .fold((usize::MAX, 0), |(lo, hi), p| (lo.min(p.m), hi.max(p.m)));
        let range = |m: f64| {
            if m.is_finite() && (m < low as f64 || m > high as f64) {
                format!(", outside the swept m = {low}…{high}")
            } else {
                String::new()
            }
        };
        let holds = if h.fit.law_holds {
            "holds here".to_string()
        } else {
            format!("does NOT hold here (free slope {:.2})", h.fit.free_slope)
        };
        let law = format!(
            "the 1/√m law {holds}, and the free log-log line puts it at {:.1e}{}",
            l.m_equivalent_free,
            range(l.m_equivalent_free)
        );
        let _ = writeln!(
            out,
            "layer {} head {}: learned m = {} ≈ random m = {:.1e} on this sequence by the fit attn_tv ≈ a·m^(−1/2) that m_needed comes from{}; {law}.{}",
            h.layer,
            h.head,
            l.m,
            l.m_equivalent,
            range(l.m_equivalent),
            held_out_sentence(l)
        );
    }
    let _ = writeln!(
        out,
        "attn_tv: the learned network on this sequence (algebraic), measured now; ≈ random m: where each fit of the sweep reaches it. The held-out columns are the file's own figures, measured on its held-out sentences when it was learned ({}), not on this sequence.",
        first.training
    );
}

/// " On its held-out sentences: learned 0.128 against random 0.173 at m = 100000." (or
/// nothing without a held-out figure).
fn held_out_sentence(l: &LearnedEquivalent) -> String {
    if !l.held_out_tv.is_finite() {
        return String::new();
    }
    match l.held_out_random_large {
        Some((m, tv)) if tv.is_finite() => format!(
            " On the file's held-out sentences: learned {:.4} against random {:.4} at m = {m} ({}).",
            l.held_out_tv,
            tv,
            if (l.held_out_tv - tv).abs() <= 0.1 * tv {
                "about the same"
            } else if l.held_out_tv < tv {
                "learned better"
            } else {
                "learned worse"
            }
        ),
        _ => format!(
            " On the file's held-out sentences: learned {:.4} against random {:.4} at the same m.",
            l.held_out_tv, l.held_out_tv_random
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// attn_tv = 2/√m exactly, at four m.
    fn exact_law_points() -> Vec<(usize, f64)> {
        [100usize, 400, 1600, 6400]
            .iter()
            .map(|&m| (m, 2.0 / (m as f64).sqrt()))
            .collect()
    }

    #[test]
    fn an_exact_inverse_square_root_law_is_fitted_exactly() {
        let points = exact_law_points();
        let fit = BudgetFit::of(&points, 0.01);
        assert!((fit.amplitude - 2.0).abs() < 1e-12, "{fit:?}");
        assert!((fit.m_needed - 40_000.0).abs() < 1e-6, "{fit:?}");
        assert!((fit.free_slope + 0.5).abs() < 1e-12);
        assert!((fit.m_needed_free - 40_000.0).abs() < 1e-6, "{fit:?}");
        assert!((fit.r_squared - 1.0).abs() < 1e-12);
        assert!(fit.law_holds && fit.extrapolated);
    }

    #[test]
    fn the_matching_m_inverts_each_fit() {
        // attn_tv = 2/√m exactly: the m that gives attn_tv 2/√12 345 is 12 345.
        let points = exact_law_points();
        let fit = BudgetFit::of(&points, 0.01);
        let tv = 2.0 / 12_345f64.sqrt();
        assert!(
            (fit.m_matching(tv) / 12_345.0 - 1.0).abs() < 1e-9,
            "{fit:?}"
        );
        assert!((fit.m_matching_free(tv) / 12_345.0 - 1.0).abs() < 1e-9);
        // The target's own m is m_needed.
        assert_eq!(fit.m_matching(0.01), fit.m_needed);
        // attn_tv = 0.3·m^(−1/4): the free line finds m = 5000 again; the fixed-slope fit,
        // forced to −½, puts that attn_tv elsewhere, at (a / attn_tv)².
        let points: Vec<(usize, f64)> = [1000usize, 4000, 16000]
            .iter()
            .map(|&m| (m, 0.3 * (m as f64).powf(-0.25)))
            .collect();
        let fit = BudgetFit::of(&points, 0.05);
        let tv = 0.3 * 5000f64.powf(-0.25);
        assert!(
            (fit.m_matching_free(tv) / 5000.0 - 1.0).abs() < 1e-9,
            "{fit:?}"
        );
        let fixed = fit.m_matching(tv);
        assert!((fixed - (fit.amplitude / tv).powi(2)).abs() < 1e-9 * fixed);
        assert!((fixed / 5000.0 - 1.0).abs() > 0.01, "{fixed}");
        // Undefined inputs, and a line that does not fall.
        assert!(fit.m_matching(0.0).is_nan() && fit.m_matching(f64::NAN).is_nan());
        assert!(fit.m_matching_free(-1.0).is_nan());
        let flat = BudgetFit::of(&[(100, 0.2), (400, 0.2)], 0.05);
        assert_eq!(flat.m_matching_free(0.1), f64::INFINITY);
    }

    #[test]
    fn a_flat_error_is_flagged() {
        let points: Vec<(usize, f64)> = [1000usize, 4000, 16000]
            .iter()
            .map(|&m| (m, 0.3 * (m as f64).powf(-0.05)))
            .collect();
        let fit = BudgetFit::of(&points, 0.05);
        assert!(!fit.law_holds, "{fit:?}");
        assert!(fit.r_squared < 0.5, "{fit:?}");
        assert!((fit.free_slope + 0.05).abs() < 1e-9);
    }

    #[test]
    fn bad_targets_are_refused_in_one_sentence() {
        for target in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
            let spec = BudgetSpec {
                target,
                ..BudgetSpec::default()
            };
            let error = spec.validate().unwrap_err().to_string();
            assert!(error.contains("strictly between 0 and 1"), "{error}");
        }
        let spec = BudgetSpec {
            ms: vec![64, 64],
            ..BudgetSpec::default()
        };
        assert!(spec.validate().is_err());
    }

    #[test]
    fn a_synthetic_head_follows_the_law_and_gets_a_budget() {
        let sequence = Sequence::gaussian(8, 8, 2, 0.6);
        let spec = BudgetSpec {
            target: 0.01,
            seeds: 2,
            ms: vec![256, 1024, 4096],
        };
        let budget = head_budget(&Params::default(), &sequence, &spec).unwrap();
        assert_eq!(budget.points.len(), 6);
        assert!(budget.fit.m_needed.is_finite() && budget.fit.m_needed > 0.0);
        assert!(budget.fit.law_holds, "{:?}", budget.fit);
        let again = head_budget(&Params::default(), &sequence, &spec).unwrap();
        assert_eq!(budget, again, "deterministic");
    }
}
