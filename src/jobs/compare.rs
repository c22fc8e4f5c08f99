//! `tripartite compare A.toml B.toml`: two experiment files run to the end, the settings that
//! differ, both sets of metrics and the deltas, as text or as one JSON object.

use crate::data::experiment::Experiment;
use crate::io::experiment::ExperimentError;
use crate::io::export::json::RunReport;
use crate::sim::compare::{Difference, MetricDelta, experiment_diff, metric_deltas};
use crate::sim::run::{RunError, run_experiment};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why two files could not be compared, naming the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error(transparent)]
    File(#[from] ExperimentError),
    #[error("'{path}' cannot run: {source}")]
    Run {
        path: PathBuf,
        #[source]
        source: RunError,
    },
}

/// One side of the comparison.
#[derive(Clone, Debug, Serialize)]
pub struct Side {
    pub file: PathBuf,
    pub report: RunReport,
}

/// Everything `compare --json` prints.
#[derive(Clone, Debug, Serialize)]
pub struct CompareReport {
    pub a: Side,
    pub b: Side,
    /// Exactly the settings that differ from A to B.
    pub differences: Vec<Difference>,
    /// B − A for each metric (`null` when either is undefined).
    pub deltas: BTreeMap<&'static str, f64>,
    #[serde(skip)]
    pub metrics: Vec<MetricDelta>,
}

/// Loads both files (both are checked before either runs), runs them to the end and compares.
pub fn compare_files(a: &Path, b: &Path) -> Result<CompareReport, CompareError> {
    let experiment_a = Experiment::load(a)?;
    let experiment_b = Experiment::load(b)?;
    let run = |path: &Path, experiment: &Experiment| {
        run_experiment(experiment)
            .map(|run| RunReport::of_run(&run))
            .map_err(|source| CompareError::Run {
                path: path.to_path_buf(),
                source,
            })
    };
    let report_a = run(a, &experiment_a)?;
    let report_b = run(b, &experiment_b)?;
    let metrics = metric_deltas(&report_a.metrics, &report_b.metrics).to_vec();
    Ok(CompareReport {
        differences: experiment_diff(&experiment_a, &experiment_b),
        deltas: metrics.iter().map(|m| (m.name, m.delta)).collect(),
        metrics,
        a: Side {
            file: a.to_path_buf(),
            report: report_a,
        },
        b: Side {
            file: b.to_path_buf(),
            report: report_b,
        },
    })
}

impl CompareReport {
    /// The report as pretty JSON.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("reports always serialise")
    }

    /// The report for a terminal: what differs, then a table of A, B and B − A.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (name, side) in [("A", &self.a), ("B", &self.b)] {
            out += &format!(
                "{name}: {} · {} · {} tokens · {} · m = {}\n",
                side.file.display(),
                side.report.sequence.source,
                side.report.sequence.tokens.len(),
                side.report.params.mode,
                side.report.params.m
            );
        }
        if self.differences.is_empty() {
            out += "No setting differs: the two experiments are identical.\n";
        } else {
            out += "Settings that differ (A → B):\n";
            for difference in &self.differences {
                out += &format!("  {difference}\n");
            }
        }
        out += &format!("{:>16} {:>12} {:>12} {:>13}\n", "metric", "A", "B", "B − A");
        for m in &self.metrics {
            out += &format!(
                "{:>16} {:>12.6} {:>12.6} {:>+13.6}\n",
                m.name, m.before, m.after, m.delta
            );
        }
        out
    }
}

/// `tripartite compare`: the report on stdout.
pub fn print(a: &Path, b: &Path, json: bool) -> anyhow::Result<()> {
    let report = compare_files(a, b)?;
    if json {
        println!("{}", report.json());
    } else {
        print!("{}", report.text());
    }
    Ok(())
}
