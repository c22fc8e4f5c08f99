//! Two runs side by side (A/B): which settings differ (the experiment diff), what each run
//! produced (metrics, A_net, the calcium trace) and the deltas between them.
//!
//! The app pins a baseline from its live run ([`RunRecord::of_history`]) and runs twins in the
//! background ([`Twin`]); `tripartite compare` runs two experiment files to the end. All three
//! read the same [`experiment_diff`] and [`metric_deltas`].

use super::history::RunHistory;
use super::run::{RunError, record_block, run_to_end};
use crate::data::experiment::Experiment;
use crate::model::metrics::Metrics;
use crate::model::params::PARAMS;
use crate::model::simulation::Simulation;
use ndarray::Array2;
use std::fmt;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// One setting that differs between two experiments: a parameter (by its table name), the
/// sequence source (`sequence`) or the encoded text (`text`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    pub key: String,
    /// Its value in the first experiment (A, the baseline).
    pub before: String,
    /// Its value in the second experiment (B).
    pub after: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} → {}", self.key, self.before, self.after)
    }
}

/// Exactly the settings that differ from `a` to `b`: the parameters in table order, then the
/// sequence source and the text. The description is not a setting and is left out.
pub fn experiment_diff(a: &Experiment, b: &Experiment) -> Vec<Difference> {
    let mut out: Vec<Difference> = PARAMS
        .iter()
        .filter(|param| param.differs(&a.params, &b.params))
        .map(|param| Difference {
            key: param.name.to_string(),
            before: param.get(&a.params).to_string(),
            after: param.get(&b.params).to_string(),
        })
        .collect();
    let (source_a, source_b) = (a.source.to_string(), b.source.to_string());
    if source_a != source_b {
        out.push(Difference {
            key: "sequence".into(),
            before: source_a,
            after: source_b,
        });
    }
    if a.text != b.text {
        let shown = |text: &Option<String>| text.clone().unwrap_or_else(|| "(none)".into());
        out.push(Difference {
            key: "text".into(),
            before: shown(&a.text),
            after: shown(&b.text),
        });
    }
    out
}

/// One metric in both runs and its change.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct MetricDelta {
    pub name: &'static str,
    /// A (the baseline).
    pub before: f64,
    /// B.
    pub after: f64,
    /// after − before; NaN when either is undefined. Two equal values give exactly 0.
    pub delta: f64,
}

/// Every metric of `a` and `b`, in [`Metrics::NAMES`] order.
pub fn metric_deltas(a: &Metrics, b: &Metrics) -> [MetricDelta; 5] {
    let (before, after) = (a.values(), b.values());
    std::array::from_fn(|k| MetricDelta {
        name: Metrics::NAMES[k],
        before: before[k],
        after: after[k],
        delta: after[k] - before[k],
    })
}

/// What one run produced, kept for comparison: its experiment, metrics, A_net and calcium.
#[derive(Clone, Debug)]
pub struct RunRecord {
    pub experiment: Experiment,
    pub metrics: Metrics,
    pub tokens: Vec<String>,
    /// A_net (N × N); rows not read are zero.
    pub network_attention: Array2<f64>,
    pub rows_done: Vec<bool>,
    /// The calcium trace as (x, c) points, c in normaliser units. Dynamic mode: x is the time
    /// (ms); algebraic mode, which has no time: x is the query index and c is c_t.
    pub calcium: Vec<[f64; 2]>,
    pub dynamic: bool,
    /// Steps taken and steps in the whole run (algebraic mode: read rows).
    pub steps: u64,
    pub total_steps: u64,
}

impl RunRecord {
    /// The run the app shows now, as far as it has got; `None` before the first snapshot or
    /// when the simulation failed to build. Scrubbed back, it is still the live run (the
    /// present's metrics and steps, as its A_net and trace are), not the time shown.
    pub fn of_history(experiment: &Experiment, history: &RunHistory) -> Option<RunRecord> {
        let snapshot = history.snapshot.as_ref()?;
        let run = snapshot.run.as_ref()?;
        let calcium = if run.dynamic {
            history
                .samples
                .iter()
                .map(|s| [s.time_ms, s.calcium])
                .collect()
        } else {
            rows_calcium(&history.rows_done, &history.row_calcium)
        };
        Some(RunRecord {
            experiment: experiment.clone(),
            metrics: snapshot.timeline.live_metrics.unwrap_or(snapshot.metrics),
            tokens: run.tokens.clone(),
            network_attention: history.network_attention.clone(),
            rows_done: history.rows_done.clone(),
            calcium,
            dynamic: run.dynamic,
            steps: if snapshot.timeline.scrubbed {
                snapshot.timeline.live_step
            } else {
                snapshot.step
            },
            total_steps: run.total_steps,
        })
    }

    /// A finished (or stopped) headless simulation of `experiment`, with its recorded trace.
    pub fn of_simulation(
        experiment: &Experiment,
        simulation: &Simulation,
        trace: &[super::trace::TraceSample],
    ) -> RunRecord {
        let output = simulation.output();
        let dynamic = simulation.dynamic().is_some();
        let calcium = if dynamic {
            trace.iter().map(|s| [s.time_ms, s.calcium]).collect()
        } else {
            rows_calcium(&output.rows_done, &output.calcium)
        };
        RunRecord {
            experiment: experiment.clone(),
            metrics: simulation.metrics(),
            tokens: simulation.sequence().tokens.clone(),
            network_attention: output.attention.clone(),
            rows_done: output.rows_done.clone(),
            calcium,
            dynamic,
            steps: simulation.step_index(),
            total_steps: simulation.total_steps(),
        }
    }

    /// Whether the run reached the end of its schedule.
    pub fn is_finished(&self) -> bool {
        self.steps >= self.total_steps
    }
}

fn rows_calcium(rows_done: &[bool], calcium: &[f64]) -> Vec<[f64; 2]> {
    rows_done
        .iter()
        .zip(calcium)
        .enumerate()
        .filter(|(_, (done, _))| **done)
        .map(|(t, (_, &c))| [t as f64, c])
        .collect()
}

/// Two runs and what separates them.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// The baseline (A).
    pub reference: RunRecord,
    /// The run compared with it (B).
    pub other: RunRecord,
}

impl Comparison {
    /// The settings that differ from A to B.
    pub fn diff(&self) -> Vec<Difference> {
        experiment_diff(&self.reference.experiment, &self.other.experiment)
    }

    pub fn deltas(&self) -> [MetricDelta; 5] {
        metric_deltas(&self.reference.metrics, &self.other.metrics)
    }

    /// A_net of B minus A_net of A over the rows both have read (the others are 0), or `None`
    /// when the two runs have different tokens.
    pub fn attention_change(&self) -> Option<(Array2<f64>, Vec<bool>)> {
        let (a, b) = (&self.reference, &self.other);
        if a.tokens != b.tokens || a.network_attention.dim() != b.network_attention.dim() {
            return None;
        }
        let rows: Vec<bool> = a
            .rows_done
            .iter()
            .zip(&b.rows_done)
            .map(|(x, y)| *x && *y)
            .collect();
        let mut change = &b.network_attention - &a.network_attention;
        for (t, done) in rows.iter().enumerate() {
            if !done {
                change.row_mut(t).fill(0.0);
            }
        }
        Some((change, rows))
    }
}

/// Runs `experiment` to the end (or until `cancel` is set), recording calcium as
/// `tripartite run` does.
pub fn run_record(experiment: &Experiment, cancel: &AtomicBool) -> Result<RunRecord, RunError> {
    let sequence = Arc::new(experiment.load_sequence()?);
    let mut simulation = Simulation::new(&experiment.params, sequence)?;
    let every = (simulation.total_steps() / super::run::TRACE_ROWS).max(1);
    let mut trace = Vec::new();
    let _ = run_to_end(&mut simulation, |simulation| {
        record_block(simulation, every, &mut trace);
        if cancel.load(Ordering::Relaxed) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    Ok(RunRecord::of_simulation(experiment, &simulation, &trace))
}

/// Runs both experiments to the end, A then B.
pub fn compare_experiments(a: &Experiment, b: &Experiment) -> Result<Comparison, RunError> {
    let never = AtomicBool::new(false);
    Ok(Comparison {
        reference: run_record(a, &never)?,
        other: run_record(b, &never)?,
    })
}

/// Where a twin stands.
#[derive(Clone, Debug)]
pub enum TwinState {
    Running,
    Done(Box<Comparison>),
    /// One of the two runs could not be built, in one sentence.
    Failed(String),
}

/// A twin run: the current experiment and a copy with one thing changed, both run to the end
/// on a background thread (same seed, same inputs), then compared. Dropping it stops the
/// thread at its next block of steps.
pub struct Twin {
    /// What was changed, in words ("ablation = no_astrocyte").
    pub label: String,
    pub reference: Experiment,
    pub variant: Experiment,
    result: Arc<Mutex<Option<Result<Comparison, String>>>>,
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    state: TwinState,
}

impl Twin {
    /// Starts both runs. `notify` is called once they are done (the app asks for a repaint).
    pub fn spawn(
        label: String,
        reference: Experiment,
        variant: Experiment,
        notify: impl Fn() + Send + 'static,
    ) -> Twin {
        let result = Arc::new(Mutex::new(None));
        let cancel = Arc::new(AtomicBool::new(false));
        let (slot, stop) = (result.clone(), cancel.clone());
        let (a, b) = (reference.clone(), variant.clone());
        let thread = std::thread::Builder::new()
            .name("tripartite-twin".into())
            .spawn(move || {
                let outcome = std::panic::catch_unwind(|| -> Result<Comparison, String> {
                    let reference = run_record(&a, &stop).map_err(|e| e.to_string())?;
                    let other =
                        run_record(&b, &stop).map_err(|e| format!("the twin cannot run: {e}"))?;
                    Ok(Comparison { reference, other })
                })
                .unwrap_or_else(|payload| Err(super::thread::panic_message(payload.as_ref())));
                *super::thread::lock(&slot) = Some(outcome);
                notify();
            })
            .expect("the OS can start a thread");
        Twin {
            label,
            reference,
            variant,
            result,
            cancel,
            thread: Some(thread),
            state: TwinState::Running,
        }
    }

    /// Takes the result once it has arrived; returns the state.
    pub fn poll(&mut self) -> &TwinState {
        if matches!(self.state, TwinState::Running)
            && let Some(outcome) = super::thread::lock(&self.result).take()
        {
            self.state = match outcome {
                Ok(comparison) => TwinState::Done(Box::new(comparison)),
                Err(reason) => TwinState::Failed(reason),
            };
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
        &self.state
    }

    pub fn state(&self) -> &TwinState {
        &self.state
    }
}

impl Drop for Twin {
    /// Asks the thread to stop at its next block and leaves it to finish alone: waiting here
    /// would freeze the window while a large sequence loads or a large network is built.
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::spec::SourceSpec;
    use crate::model::params::{Mode, Params};

    fn small() -> Experiment {
        Experiment {
            params: Params {
                mode: Mode::Algebraic,
                m: 64,
                ..Params::default()
            },
            source: SourceSpec::Synthetic {
                tokens: 6,
                dim: 8,
                heads: 1,
            },
            text: None,
            description: Some("ignored by the diff".into()),
        }
    }

    /// Waits for the twin (a deadline against hangs, not a timing).
    fn finish(twin: &mut Twin) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while matches!(twin.poll(), TwinState::Running) {
            assert!(
                std::time::Instant::now() < deadline,
                "the twin never finished"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn the_diff_lists_exactly_the_changed_settings_in_words() {
        let a = small();
        assert!(experiment_diff(&a, &a.clone()).is_empty());
        let mut b = a.clone();
        b.params.m = 512;
        b.params.tau_calcium = 55.0;
        b.description = None;
        b.source = SourceSpec::Synthetic {
            tokens: 7,
            dim: 8,
            heads: 1,
        };
        let diff = experiment_diff(&a, &b);
        let words: Vec<String> = diff.iter().map(ToString::to_string).collect();
        assert_eq!(
            words,
            [
                "m: 64 → 512",
                "tau_calcium: 100 → 55",
                "sequence: synthetic:6x8 → synthetic:7x8"
            ]
        );
    }

    #[test]
    fn identical_experiments_give_deltas_of_exactly_zero() {
        let comparison = compare_experiments(&small(), &small()).unwrap();
        assert!(comparison.reference.is_finished() && comparison.other.is_finished());
        for delta in comparison.deltas() {
            assert!(delta.before.is_finite(), "{}", delta.name);
            assert_eq!(delta.delta.to_bits(), 0.0f64.to_bits(), "{}", delta.name);
        }
        let (change, rows) = comparison.attention_change().unwrap();
        assert!(rows.iter().all(|&r| r));
        assert!(change.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn a_changed_parameter_changes_the_metrics_and_a_net() {
        let mut b = small();
        b.params.m = 1024;
        let comparison = compare_experiments(&small(), &b).unwrap();
        let tv = comparison.deltas()[0];
        assert_eq!(tv.name, "attn_tv");
        assert_eq!(tv.delta, tv.after - tv.before);
        assert!(
            tv.delta < 0.0,
            "more features approximate softmax better: {tv:?}"
        );
        let (change, _) = comparison.attention_change().unwrap();
        assert!(change.iter().any(|&x| x != 0.0));
        // Row sums of both A_net are 1, so each row of the change sums to 0.
        for row in change.rows() {
            assert!(row.sum().abs() < 1e-9);
        }
    }

    #[test]
    fn a_twin_runs_in_the_background_and_reports_its_comparison() {
        let mut variant = small();
        variant.params.feature_map = crate::model::params::FeatureMap::Hyperbolic;
        let mut twin = Twin::spawn("feature_map = hyperbolic".into(), small(), variant, || {});
        finish(&mut twin);
        let TwinState::Done(comparison) = twin.state() else {
            panic!("the twin failed: {:?}", twin.state());
        };
        let keys: Vec<String> = comparison.diff().into_iter().map(|d| d.key).collect();
        assert_eq!(keys, ["feature_map"]);
        let direct = compare_experiments(&comparison.reference.experiment, &twin.variant).unwrap();
        let bits = |m: &Metrics| m.values().map(f64::to_bits);
        assert_eq!(bits(&comparison.other.metrics), bits(&direct.other.metrics));
    }

    #[test]
    fn a_twin_that_cannot_build_fails_in_one_sentence() {
        let mut variant = small();
        variant.source = SourceSpec::Bundled("no-such-sentence".into());
        let mut twin = Twin::spawn("bad".into(), small(), variant, || {});
        finish(&mut twin);
        let TwinState::Failed(reason) = twin.state() else {
            panic!("a missing sentence must fail");
        };
        assert!(reason.starts_with("the twin cannot run"), "{reason}");
        assert!(!reason.contains('\n'));
    }
}
