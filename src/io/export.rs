//! Headless runs and their exports: `metrics.json`, the `.npy` arrays and `trace.csv`.

use super::experiment::Experiment;
use crate::model::metrics::Metrics;
use crate::model::params::Params;
use crate::model::sequence::Sequence;
use crate::model::simulation::Simulation;
use ndarray::{Array1, Array2};
use ndarray_npy::WriteNpyExt;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

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
        let origin = sequence.origin.as_ref();
        SequenceInfo {
            source: sequence.source.clone(),
            tokens: sequence.tokens.clone(),
            text: origin.map(|o| o.text.clone()),
            model: origin.map(|o| o.model.clone()),
            layer: origin.map(|o| o.layer),
            head: origin.map(|o| o.head),
        }
    }
}

/// Everything `metrics.json` and `--json` report.
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
    /// Wall-clock time of the simulation, construction included (s).
    pub wall_s: f64,
    pub steps_per_s: f64,
    /// Tripartite synapses d·m'.
    pub synapses: u64,
}

/// One calcium sample for `trace.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceSample {
    pub time_ms: f64,
    pub phase: &'static str,
    pub slot: usize,
    pub token: String,
    /// Calcium in softmax-normaliser units.
    pub calcium: f64,
}

/// A finished headless run.
pub struct RunResult {
    pub simulation: Simulation,
    pub report: RunReport,
    pub trace: Vec<TraceSample>,
}

/// Most trace rows a run records.
const TRACE_ROWS: u64 = 5000;

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Sequence(#[from] crate::data::source::SequenceError),
    #[error(transparent)]
    Model(#[from] crate::model::network::ModelError),
    #[error("cannot write '{path}': {reason}")]
    Write { path: PathBuf, reason: String },
}

/// Loads the experiment's sequence and runs it to the end.
pub fn run_experiment(experiment: &Experiment) -> Result<RunResult, RunError> {
    let sequence = Arc::new(experiment.load_sequence()?);
    run_sequence(&experiment.params, sequence)
}

/// Runs `params` on `sequence` to the end, sampling calcium for the trace.
pub fn run_sequence(params: &Params, sequence: Arc<Sequence>) -> Result<RunResult, RunError> {
    let started = Instant::now();
    let mut simulation = Simulation::new(params, sequence.clone())?;
    let mut trace = Vec::new();
    let every = (simulation.total_steps() / TRACE_ROWS).max(1);
    if simulation.dynamic().is_some() {
        // Blocks of steps (faster than one at a time); the calcium after every step of a block
        // is kept, so the trace is the same as stepping singly.
        while let Some(slot) = simulation.current_slot() {
            let first = simulation.step_index() + 1;
            simulation.step_block(u64::MAX);
            let sim = simulation.dynamic().expect("dynamic");
            let (dt, scale) = (sim.params().dt, sim.write_scale());
            for (k, calcium) in sim.block_calcium().iter().enumerate() {
                let step = first + k as u64;
                if step.is_multiple_of(every) || step == slot.end_step() {
                    trace.push(TraceSample {
                        time_ms: step as f64 * dt,
                        phase: slot.phase.name(),
                        slot: slot.token,
                        token: sequence.tokens[slot.token].clone(),
                        calcium: calcium / scale,
                    });
                }
            }
        }
    } else {
        simulation.run_to_end();
    }
    let wall_s = started.elapsed().as_secs_f64();
    let steps = simulation.step_index();
    let report = RunReport {
        metrics: simulation.metrics(),
        params: params.clone(),
        sequence: SequenceInfo::of(&sequence),
        steps,
        sim_time_ms: simulation.time_ms(),
        wall_s,
        steps_per_s: steps as f64 / wall_s.max(1e-12),
        synapses: simulation.network().sizes.synapses(),
    };
    Ok(RunResult {
        simulation,
        report,
        trace,
    })
}

fn write_npy<A: WriteNpyExt>(dir: &Path, name: &str, array: &A) -> Result<(), RunError> {
    let path = dir.join(name);
    let mut bytes = Vec::new();
    array.write_npy(&mut bytes).map_err(|e| RunError::Write {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    super::atomic_write(&path, &bytes).map_err(|e| RunError::Write {
        path,
        reason: e.to_string(),
    })
}

fn write_text(dir: &Path, name: &str, text: &str) -> Result<(), RunError> {
    let path = dir.join(name);
    super::atomic_write(&path, text.as_bytes()).map_err(|e| RunError::Write {
        path,
        reason: e.to_string(),
    })
}

/// The report as pretty JSON (metrics that are undefined become `null`).
pub fn report_json(report: &RunReport) -> String {
    serde_json::to_string_pretty(report).expect("reports always serialise")
}

/// The trace as CSV with header `time_ms,phase,slot,token,c`.
pub fn trace_csv(trace: &[TraceSample]) -> String {
    let mut out = String::from("time_ms,phase,slot,token,c\n");
    for s in trace {
        let _ = writeln!(
            out,
            "{},{},{},{},{}",
            s.time_ms,
            s.phase,
            s.slot,
            csv_field(&s.token),
            s.calcium
        );
    }
    out
}

/// Quotes a CSV field when it holds a comma, quote or newline.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Writes every file of `run --out DIR`.
pub fn write_run_outputs(dir: &Path, result: &RunResult) -> Result<(), RunError> {
    std::fs::create_dir_all(dir).map_err(|e| RunError::Write {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    let sim = &result.simulation;
    let seq = sim.sequence();
    let net = sim.network();
    write_text(dir, "metrics.json", &report_json(&result.report))?;
    write_npy(dir, "q.npy", &seq.queries)?;
    write_npy(dir, "k.npy", &seq.keys)?;
    write_npy(dir, "v.npy", &seq.values)?;
    write_npy(dir, "W.npy", &net.projection)?;
    if let Some(gains) = &net.process_gains {
        write_npy(dir, "gamma.npy", gains)?;
    }
    write_npy(dir, "attention_softmax.npy", &sim.reference().attention)?;
    write_npy(dir, "attention_network.npy", &sim.output().attention)?;
    write_npy(dir, "c.npy", &Array1::from(sim.output().calcium.clone()))?;
    write_npy(dir, "z.npy", &Array1::from(sim.reference().normaliser()))?;
    write_npy(dir, "y_network.npy", &sim.output().outputs)?;
    write_npy(dir, "y_softmax.npy", &sim.reference().outputs)?;
    write_text(dir, "trace.csv", &trace_csv(&result.trace))?;
    write_text(dir, "tokens.txt", &(seq.tokens.join("\n") + "\n"))?;
    write_text(
        dir,
        "attention.csv",
        &attention_csv(
            &seq.tokens,
            &sim.reference().attention,
            &sim.output().attention,
        ),
    )?;
    Ok(())
}

/// A_soft, A_net and their difference in long form, with token labels:
/// `query,key,softmax,network,difference`.
pub fn attention_csv(tokens: &[String], softmax: &Array2<f64>, network: &Array2<f64>) -> String {
    let mut out = String::from("query,key,softmax,network,difference\n");
    for (t, query) in tokens.iter().enumerate() {
        for (tau, key) in tokens.iter().enumerate() {
            let (a, b) = (softmax[[t, tau]], network[[t, tau]]);
            let _ = writeln!(
                out,
                "{},{},{a},{b},{}",
                csv_field(query),
                csv_field(key),
                b - a
            );
        }
    }
    out
}
