//! The sweep panel's state, without egui: the form's fields, the sweep computing on the batch
//! thread and its results, and the calcium samples of the current run. The view in the parent
//! module draws it.

use crate::data::experiment::Experiment;
use crate::model::algebraic::NetworkOutput;
use crate::model::metrics::{Metrics, pearson};
use crate::model::softmax::SoftmaxReference;
use crate::sim::RunHistory;
use crate::sim::batch::{BatchEvent, BatchRunner, SweepJob, SweepPoint, Variant};

/// Default m values of the sweep, as the paper's small-to-large comparison.
pub const DEFAULT_M_VALUES: &str = "64, 256, 1024, 4096, 16384";
/// Default number of seeds per m.
pub const DEFAULT_SEEDS: u32 = 3;
/// Largest m the panel accepts (larger runs take minutes and gigabytes).
pub const MAX_SWEEP_M: usize = 1 << 20;
/// Most m values in one sweep.
pub const MAX_M_VALUES: usize = 16;
/// Most seeds per m.
pub const MAX_SEEDS: u32 = 20;

/// Header of [`SweepState::results_csv`].
pub const CSV_HEADER: &str =
    "variant,m,seed,attn_tv,attn_max_abs,output_rel_err,calcium_corr,calcium_rel_err";

/// c_t and Z_t per token of one run: the data of the calcium scatter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CalciumSamples {
    pub tokens: Vec<String>,
    /// c_t in softmax-normaliser units.
    pub calcium: Vec<f64>,
    /// Z_t.
    pub normaliser: Vec<f64>,
}

impl CalciumSamples {
    /// The read slots completed so far of a simulation's output.
    pub fn from_output(
        output: &NetworkOutput,
        reference: &SoftmaxReference,
        tokens: &[String],
    ) -> Self {
        let z = reference.normaliser();
        let mut samples = CalciumSamples::default();
        for t in (0..output.rows_done.len()).filter(|&t| output.rows_done[t]) {
            samples
                .tokens
                .push(tokens.get(t).cloned().unwrap_or_default());
            samples.calcium.push(output.calcium[t]);
            samples
                .normaliser
                .push(z.get(t).copied().unwrap_or(f64::NAN));
        }
        samples
    }

    /// The read slots completed so far of the worker's run, as the app holds it.
    pub fn from_history(history: &RunHistory) -> Self {
        let mut samples = CalciumSamples::default();
        let Some(run) = history.snapshot.as_ref().and_then(|s| s.run.as_ref()) else {
            return samples;
        };
        for t in (0..history.rows_done.len()).filter(|&t| history.rows_done[t]) {
            samples
                .tokens
                .push(run.tokens.get(t).cloned().unwrap_or_default());
            samples.calcium.push(history.row_calcium[t]);
            samples
                .normaliser
                .push(run.normaliser.get(t).copied().unwrap_or(f64::NAN));
        }
        samples
    }

    pub fn len(&self) -> usize {
        self.calcium.len()
    }

    pub fn is_empty(&self) -> bool {
        self.calcium.is_empty()
    }

    /// Pearson correlation of c_t with Z_t (the calcium_corr metric); NaN below three tokens.
    pub fn correlation(&self) -> f64 {
        pearson(&self.calcium, &self.normaliser)
    }

    /// Pearson correlation of log c_t with log Z_t, over the tokens where both are positive:
    /// what the log–log scatter shows.
    pub fn log_correlation(&self) -> f64 {
        let (a, b): (Vec<f64>, Vec<f64>) = self
            .log_points()
            .into_iter()
            .map(|(_, p)| (p[1], p[0]))
            .unzip();
        pearson(&a, &b)
    }

    /// (token index, [log10 Z_t, log10 c_t]) for the tokens where both are positive.
    pub(super) fn log_points(&self) -> Vec<(usize, [f64; 2])> {
        (0..self.len())
            .filter(|&t| self.calcium[t] > 0.0 && self.normaliser[t] > 0.0)
            .map(|t| (t, [self.normaliser[t].log10(), self.calcium[t].log10()]))
            .filter(|(_, p)| p[0].is_finite() && p[1].is_finite())
            .collect()
    }
}

/// Parses "64, 256, 1024": whole numbers in 1..=[`MAX_SWEEP_M`], sorted, without repeats.
pub fn parse_m_values(text: &str) -> Result<Vec<usize>, String> {
    let mut values = Vec::new();
    for part in text
        .split([',', ' ', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let value: usize = part.replace('_', "").parse().map_err(|_| {
            format!("“{part}” is not a whole number: write m values like 64, 256, 1024")
        })?;
        if value == 0 || value > MAX_SWEEP_M {
            return Err(format!(
                "m = {value} is out of range: each m must be between 1 and {MAX_SWEEP_M}"
            ));
        }
        values.push(value);
    }
    values.sort_unstable();
    values.dedup();
    if values.is_empty() {
        return Err("give at least one m value, e.g. 64, 256, 1024".into());
    }
    if values.len() > MAX_M_VALUES {
        return Err(format!(
            "{} m values is too many: at most {MAX_M_VALUES}",
            values.len()
        ));
    }
    Ok(values)
}

/// Parses the seed count: a whole number in 1..=[`MAX_SEEDS`].
pub fn parse_seeds(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_SEEDS).contains(&n) => Ok(n),
        _ => Err(format!(
            "seeds must be a whole number from 1 to {MAX_SEEDS}, not “{}”",
            text.trim()
        )),
    }
}

/// What a finished (or running) sweep was computed for.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct SweepSetup {
    pub(super) experiment: Experiment,
    pub(super) m_values: Vec<usize>,
    pub(super) seeds: u32,
    pub(super) variants: Vec<Variant>,
}

/// The sweep form and its results.
pub struct SweepState {
    pub(super) m_text: String,
    pub(super) seeds_text: String,
    /// Variants offered, and whether each is in the next sweep.
    pub(super) variants: Vec<(Variant, bool)>,
    pub(super) runner: Option<BatchRunner<SweepPoint>>,
    pub(super) done: usize,
    pub(super) total: usize,
    pub(super) points: Vec<SweepPoint>,
    pub(super) setup: Option<SweepSetup>,
    pub(super) message: Option<String>,
}

impl Default for SweepState {
    fn default() -> Self {
        SweepState {
            m_text: DEFAULT_M_VALUES.to_string(),
            seeds_text: DEFAULT_SEEDS.to_string(),
            variants: Variant::COMPARED
                .iter()
                .map(|&v| (v, v == Variant::POSITIVE_IID))
                .collect(),
            runner: None,
            done: 0,
            total: 0,
            points: Vec::new(),
            setup: None,
            message: None,
        }
    }
}

impl SweepState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Fills the fields as a user would (the app's presets and tests use it).
    pub fn set_fields(&mut self, m_values: &str, seeds: &str, variants: &[Variant]) {
        self.m_text = m_values.to_string();
        self.seeds_text = seeds.to_string();
        for (v, on) in &mut self.variants {
            *on = variants.contains(v);
        }
    }

    /// The sweep the fields describe, or the first problem with them, as one sentence.
    pub fn validated(&self) -> Result<(Vec<usize>, u32, Vec<Variant>), String> {
        let m_values = parse_m_values(&self.m_text)?;
        let seeds = parse_seeds(&self.seeds_text)?;
        let variants: Vec<Variant> = self
            .variants
            .iter()
            .filter(|(_, on)| *on)
            .map(|(v, _)| *v)
            .collect();
        if variants.is_empty() {
            return Err("tick at least one variant".into());
        }
        Ok((m_values, seeds, variants))
    }

    /// Starts the sweep the fields describe on `experiment` (replacing one in progress).
    /// `notify` is called whenever the batch has news.
    pub fn start(
        &mut self,
        experiment: &Experiment,
        notify: impl Fn() + Send + Sync + 'static,
    ) -> Result<(), String> {
        let (m_values, seeds, variants) = self.validated()?;
        let setup = SweepSetup {
            experiment: experiment.clone(),
            m_values: m_values.clone(),
            seeds,
            variants: variants.clone(),
        };
        let total = m_values.len() * seeds as usize * variants.len();
        self.runner = Some(BatchRunner::sweep(
            SweepJob {
                experiment: experiment.clone(),
                m_values,
                seeds,
                variants,
            },
            notify,
        ));
        self.points.clear();
        self.setup = Some(setup);
        self.message = None;
        (self.done, self.total) = (0, total);
        Ok(())
    }

    /// Stops the sweep in progress, keeping the points computed so far.
    pub fn cancel(&mut self) {
        if self.runner.take().is_some() {
            self.message = Some(format!(
                "Cancelled after {} of {} runs.",
                self.done, self.total
            ));
        }
    }

    pub fn is_running(&self) -> bool {
        self.runner.is_some()
    }

    /// The sweep's results so far, sorted by variant, m and seed.
    pub fn points(&self) -> &[SweepPoint] {
        &self.points
    }

    /// The last failure or cancellation, if any.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The sweep's results as CSV, one row per run, sorted by variant, m and seed.
    pub fn results_csv(&self) -> String {
        let mut csv = String::from(CSV_HEADER);
        csv.push('\n');
        for p in &self.points {
            let m: &Metrics = &p.metrics;
            csv.push_str(&format!(
                "{},{},{},{},{},{},{},{}\n",
                p.variant,
                p.m,
                p.seed,
                m.attn_tv,
                m.attn_max_abs,
                m.output_rel_err,
                m.calcium_corr,
                m.calcium_rel_err
            ));
        }
        csv
    }

    /// Folds in what the batch sent since the last call (also done by `ui`).
    pub fn poll(&mut self) {
        let Some(runner) = &self.runner else {
            return;
        };
        let mut ended = false;
        for event in runner.poll() {
            match event {
                BatchEvent::Progress { done, total } => (self.done, self.total) = (done, total),
                BatchEvent::Result(point) => {
                    let key = |p: &SweepPoint| (p.variant, p.m, p.seed);
                    let at = self.points.partition_point(|p| key(p) < key(&point));
                    self.points.insert(at, point);
                }
                BatchEvent::Finished | BatchEvent::Cancelled => ended = true,
                BatchEvent::Failed(message) => {
                    self.message = Some(message);
                    ended = true;
                }
            }
        }
        if ended {
            self.runner = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::params::{FeatureMap, Projection};

    #[test]
    fn m_values_and_seeds_are_validated_with_a_clear_message() {
        assert_eq!(
            parse_m_values(DEFAULT_M_VALUES).unwrap(),
            vec![64, 256, 1024, 4096, 16384]
        );
        assert_eq!(
            parse_m_values("1024 64,64;256").unwrap(),
            vec![64, 256, 1024]
        );
        assert_eq!(parse_m_values("1_000").unwrap(), vec![1000]);
        assert!(
            parse_m_values("64, abc")
                .unwrap_err()
                .contains("“abc” is not a whole number")
        );
        assert!(
            parse_m_values("0")
                .unwrap_err()
                .contains("m = 0 is out of range")
        );
        assert!(parse_m_values("-4").unwrap_err().contains("“-4”"));
        assert!(
            parse_m_values("99999999")
                .unwrap_err()
                .contains("between 1 and")
        );
        assert!(parse_m_values(" , ").unwrap_err().contains("at least one"));
        let many: Vec<String> = (1..=17).map(|k| k.to_string()).collect();
        assert!(
            parse_m_values(&many.join(","))
                .unwrap_err()
                .contains("too many")
        );
        assert_eq!(parse_seeds(" 3 ").unwrap(), 3);
        for bad in ["0", "x", "21", "-1", "2.5"] {
            assert!(
                parse_seeds(bad).unwrap_err().contains("from 1 to 20"),
                "{bad}"
            );
        }
        let mut panel = SweepState::new();
        assert_eq!(panel.validated().unwrap().1, DEFAULT_SEEDS);
        panel.set_fields("64", "1", &[]);
        assert!(
            panel
                .validated()
                .unwrap_err()
                .contains("at least one variant")
        );
    }

    #[test]
    fn csv_has_the_header_and_one_row_per_point_in_order() {
        let metrics = Metrics {
            attn_tv: 0.25,
            attn_max_abs: 0.5,
            output_rel_err: 0.125,
            calcium_corr: 0.75,
            calcium_rel_err: 0.0625,
        };
        let mut panel = SweepState::new();
        let hyperbolic = Variant {
            feature_map: FeatureMap::Hyperbolic,
            projection: Projection::Orthogonal,
        };
        for (variant, m, seed) in [
            (hyperbolic, 64, 1),
            (Variant::POSITIVE_IID, 256, 2),
            (Variant::POSITIVE_IID, 64, 1),
        ] {
            let point = SweepPoint {
                variant,
                m,
                seed,
                metrics,
            };
            let key = |p: &SweepPoint| (p.variant, p.m, p.seed);
            let at = panel.points.partition_point(|p| key(p) < key(&point));
            panel.points.insert(at, point);
        }
        let csv = panel.results_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines[1], "positive/iid,64,1,0.25,0.5,0.125,0.75,0.0625");
        assert_eq!(lines[2], "positive/iid,256,2,0.25,0.5,0.125,0.75,0.0625");
        assert_eq!(
            lines[3],
            "hyperbolic/orthogonal,64,1,0.25,0.5,0.125,0.75,0.0625"
        );
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn calcium_samples_keep_completed_rows_and_match_the_metric() {
        use crate::data::synthetic::synthetic;
        use crate::model::params::{Mode, Params};
        use crate::model::simulation::Simulation;
        use std::sync::Arc;
        let params = Params {
            mode: Mode::Algebraic,
            m: 128,
            ..Params::default()
        };
        let sequence = Arc::new(synthetic(8, 16, 3, 1.0));
        let tokens = sequence.tokens.clone();
        let mut simulation = Simulation::new(&params, sequence).unwrap();
        for _ in 0..5 {
            simulation.step();
        }
        let samples =
            CalciumSamples::from_output(simulation.output(), simulation.reference(), &tokens);
        assert_eq!(samples.len(), 5);
        assert_eq!(samples.tokens, tokens[..5]);
        simulation.run_to_end();
        let samples =
            CalciumSamples::from_output(simulation.output(), simulation.reference(), &tokens);
        assert_eq!(samples.len(), 8);
        assert_eq!(samples.correlation(), simulation.metrics().calcium_corr);
        assert_eq!(samples.normaliser, simulation.reference().normaliser());
        assert!(samples.log_correlation().is_finite());
    }

    #[test]
    fn a_sweep_streams_its_points_in_order_and_a_refused_one_keeps_them() {
        let experiment = Experiment {
            source: crate::data::spec::SourceSpec::Synthetic {
                tokens: 6,
                dim: 8,
                heads: 1,
            },
            ..Experiment::default()
        };
        let mut state = SweepState::new();
        state.set_fields("16, 32", "2", &[Variant::POSITIVE_IID]);
        state.start(&experiment, || {}).unwrap();
        assert!(state.is_running());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while state.is_running() {
            assert!(
                std::time::Instant::now() < deadline,
                "the sweep did not end"
            );
            std::thread::sleep(std::time::Duration::from_millis(2));
            state.poll();
        }
        assert_eq!(state.message(), None);
        let keys: Vec<(usize, u64)> = state.points().iter().map(|p| (p.m, p.seed)).collect();
        assert_eq!(keys, [(16, 1), (16, 2), (32, 1), (32, 2)]);
        state.set_fields("16, lots", "2", &[Variant::POSITIVE_IID]);
        let refused = state.start(&experiment, || {}).unwrap_err();
        assert!(
            refused.contains("“lots” is not a whole number"),
            "{refused}"
        );
        assert_eq!(
            state.points().len(),
            4,
            "a refused sweep keeps the last results"
        );
    }
}
