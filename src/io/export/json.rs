//! `metrics.json`: the five metrics (undefined ones are `null`), the parameters, the sequence
//! and where the run stands. `run --out` writes it for a finished run, File ▸ Export for the
//! run on screen.

use super::{ExportError, write_bytes};
use crate::model::metrics::{Metrics, PerQuery};
use crate::model::params::Params;
use crate::model::sequence::{Sequence, TextOrigin};
use crate::sim::run::HeadlessRun;
use crate::sim::{RunInfo, Snapshot};
use serde::Serialize;
use std::path::Path;

/// The sequence as `metrics.json` describes it.
#[derive(Clone, Debug, Serialize)]
pub struct SequenceInfo {
    pub source: String,
    pub tokens: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<usize>,
}

impl SequenceInfo {
    pub fn of(sequence: &Sequence) -> Self {
        Self::new(&sequence.source, &sequence.tokens, sequence.origin.as_ref())
    }

    fn new(source: &str, tokens: &[String], origin: Option<&TextOrigin>) -> Self {
        SequenceInfo {
            source: source.to_string(),
            tokens: tokens.to_vec(),
            text: origin.map(|o| o.text.clone()),
            model: origin.map(|o| o.model.clone()),
            layer: origin.map(|o| o.layer),
            head: origin.map(|o| o.head),
        }
    }
}

/// Everything `metrics.json` and `run --json` report.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    #[serde(flatten)]
    pub metrics: Metrics,
    pub params: Params,
    pub sequence: SequenceInfo,
    /// Euler steps taken (algebraic mode: read rows).
    pub steps: u64,
    /// Simulated time (ms); 0 in algebraic mode.
    pub sim_time_ms: f64,
    /// Wall-clock time of a headless run, construction included (s); absent from the app,
    /// whose runs are paced and paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wall_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps_per_s: Option<f64>,
    /// Tripartite synapses d·m'.
    pub synapses: u64,
    /// Per-query diagnostics: one array per column, one entry per completed read row.
    pub per_query: PerQuery,
}

impl RunReport {
    /// The report of a finished headless run.
    pub fn of_run(run: &HeadlessRun) -> Self {
        let sim = &run.simulation;
        let steps = sim.step_index();
        RunReport {
            metrics: sim.metrics(),
            params: sim.params().clone(),
            sequence: SequenceInfo::of(sim.sequence()),
            steps,
            sim_time_ms: sim.time_ms(),
            wall_s: Some(run.wall_s),
            steps_per_s: Some(steps as f64 / run.wall_s.max(1e-12)),
            synapses: sim.network().sizes.synapses(),
            per_query: sim.per_query(),
        }
    }

    /// The report of the worker's run as `snapshot` shows it (possibly mid-run).
    pub fn of_snapshot(snapshot: &Snapshot, run: &RunInfo) -> Self {
        RunReport {
            metrics: snapshot.metrics,
            params: snapshot.params.clone(),
            sequence: SequenceInfo::new(&run.source, &run.tokens, run.origin.as_ref()),
            steps: snapshot.step,
            sim_time_ms: snapshot.time_ms,
            wall_s: None,
            steps_per_s: None,
            synapses: run.sizes.synapses(),
            per_query: (*snapshot.per_query).clone(),
        }
    }
}

/// The report as pretty JSON (metrics that are undefined become `null`).
pub fn report_json(report: &RunReport) -> String {
    serde_json::to_string_pretty(report).expect("reports always serialise")
}

/// Writes [`report_json`] to `path`.
pub fn write_report(path: &Path, report: &RunReport) -> Result<(), ExportError> {
    write_bytes(path, report_json(report).as_bytes())
}
