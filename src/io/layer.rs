//! `run` with `heads = all`: a whole layer run headless, its metrics printed, and `--out`
//! written with a leading head axis (see MODEL.md, "A whole layer").
//!
//! Files: `q.npy`, `k.npy`, `v.npy` (H × N × D, H × N × D, H × N × d), `W.npy` (H × m × D),
//! `attention_network.npy`, `attention_softmax.npy` (H × N × N), `c.npy`, `z.npy` (H × N),
//! `layer_output.npy` (N × d_model, the network's concat(y)·W_O + b_o),
//! `layer_output_softmax.npy` (the same with A_soft), `layer_output_transformer.npy` (the
//! transformer's own value, when the source knows it), `tokens.txt` and `metrics.json` (the
//! selected head's report as for one head, plus `head_count`, `layer_output_rel_err`,
//! `worst_head` and `per_head`, one object of the five metrics per head).

use super::export::json::{RunReport, SequenceInfo};
use super::export::npy::write_npy;
use super::export::{ExportError, write_bytes};
use crate::data::experiment::Experiment;
use crate::data::source::{SequenceError, load_layer};
use crate::model::layer::{LayerMetrics, LayerSimulation};
use crate::model::metrics::Metrics;
use crate::model::network::ModelError;
use ndarray::{Array2, Array3, Axis, stack};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Why a layer run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LayerRunError {
    #[error(transparent)]
    Sequence(#[from] SequenceError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// A finished headless layer run.
pub struct LayerRun {
    pub simulation: LayerSimulation,
    /// Wall-clock time, construction included (s).
    pub wall_s: f64,
}

/// Loads every head of the experiment's layer and runs them to the end.
pub fn run_layer(experiment: &Experiment) -> Result<LayerRun, LayerRunError> {
    let started = Instant::now();
    let layer = load_layer(
        &experiment.source,
        experiment.text.as_deref(),
        &experiment.params,
    )?;
    let mut simulation = LayerSimulation::new(&experiment.params, Arc::new(layer))?;
    simulation.run_to_end();
    Ok(LayerRun {
        simulation,
        wall_s: started.elapsed().as_secs_f64(),
    })
}

/// The head the report's single-head fields describe: `params.head` when the layer has it.
fn selected(sim: &LayerSimulation) -> usize {
    sim.params().head.min(sim.head_count() - 1)
}

/// `metrics.json` of a layer run: the selected head's report, plus the layer's fields.
pub fn report_value(run: &LayerRun) -> serde_json::Value {
    let sim = &run.simulation;
    let head = sim.head(selected(sim));
    let steps = sim.step_index();
    let mut params = head.params().clone();
    params.seed = sim.params().seed;
    let report = RunReport {
        metrics: head.metrics(),
        params,
        sequence: SequenceInfo::of(head.sequence()),
        steps,
        sim_time_ms: sim.time_ms(),
        wall_s: Some(run.wall_s),
        steps_per_s: Some(steps as f64 / run.wall_s.max(1e-12)),
        synapses: sim
            .heads()
            .iter()
            .map(|h| h.network().sizes.synapses())
            .sum(),
        per_query: head.per_query(),
    };
    let LayerMetrics {
        per_head,
        layer_output_rel_err,
        worst_head,
    } = sim.metrics();
    let mut value = serde_json::to_value(report).expect("reports always serialise");
    let object = value.as_object_mut().expect("a report is an object");
    object.insert("head_count".into(), sim.head_count().into());
    object.insert(
        "layer_output_rel_err".into(),
        serde_json::to_value(layer_output_rel_err.filter(|x| x.is_finite()))
            .expect("a number serialises"),
    );
    object.insert("worst_head".into(), worst_head.into());
    object.insert(
        "per_head".into(),
        serde_json::to_value(&per_head).expect("metrics serialise"),
    );
    value
}

/// Stacks one N × … array per head along a new leading axis.
fn stacked(arrays: Vec<Array2<f64>>) -> Result<Array3<f64>, ExportError> {
    let views: Vec<_> = arrays.iter().map(|a| a.view()).collect();
    stack(Axis(0), &views).map_err(|e| {
        ExportError::Shape(format!(
            "the heads' arrays differ in shape and cannot share a head axis ({e})"
        ))
    })
}

/// Writes every file of `run --out DIR` for a layer.
pub fn write_layer_outputs(dir: &Path, run: &LayerRun) -> Result<(), ExportError> {
    std::fs::create_dir_all(dir).map_err(|e| ExportError::Write {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    let sim = &run.simulation;
    let json = serde_json::to_string_pretty(&report_value(run)).expect("json serialises");
    write_bytes(&dir.join("metrics.json"), json.as_bytes())?;
    let heads = sim.heads();
    let per_head = |f: &dyn Fn(usize) -> Array2<f64>| -> Result<Array3<f64>, ExportError> {
        stacked((0..heads.len()).map(f).collect())
    };
    let write3 = |name: &str, array: Array3<f64>| write_npy(&dir.join(name), &array);
    write3("q.npy", per_head(&|h| heads[h].sequence().queries.clone())?)?;
    write3("k.npy", per_head(&|h| heads[h].sequence().keys.clone())?)?;
    write3("v.npy", per_head(&|h| heads[h].sequence().values.clone())?)?;
    write3(
        "W.npy",
        per_head(&|h| heads[h].network().projection.clone())?,
    )?;
    write3(
        "attention_network.npy",
        per_head(&|h| heads[h].output().attention.clone())?,
    )?;
    write3(
        "attention_softmax.npy",
        per_head(&|h| heads[h].reference().attention.clone())?,
    )?;
    let rows = |values: Vec<f64>| Array2::from_shape_vec((1, values.len()), values);
    let vectors = |f: &dyn Fn(usize) -> Vec<f64>| -> Result<Array2<f64>, ExportError> {
        let rows: Vec<Array2<f64>> = (0..heads.len())
            .map(|h| rows(f(h)).expect("one row"))
            .collect();
        let views: Vec<_> = rows.iter().map(|a| a.view()).collect();
        ndarray::concatenate(Axis(0), &views)
            .map_err(|e| ExportError::Shape(format!("the heads' vectors differ in length ({e})")))
    };
    write_npy(
        &dir.join("c.npy"),
        &vectors(&|h| heads[h].output().calcium.clone())?,
    )?;
    write_npy(
        &dir.join("z.npy"),
        &vectors(&|h| heads[h].reference().normaliser())?,
    )?;
    write_npy(&dir.join("layer_output.npy"), &sim.layer_output())?;
    write_npy(
        &dir.join("layer_output_softmax.npy"),
        &sim.layer_output_softmax(),
    )?;
    if let Some(transformer) = &sim.layer().transformer_output {
        write_npy(&dir.join("layer_output_transformer.npy"), transformer)?;
    }
    let tokens = &heads[0].sequence().tokens;
    write_bytes(
        &dir.join("tokens.txt"),
        (tokens.join("\n") + "\n").as_bytes(),
    )
}

/// Prints a layer run's metrics: the layer's, then one line per head.
pub fn print_layer_run(run: &LayerRun) {
    let sim = &run.simulation;
    let metrics = sim.metrics();
    let head = sim.head(0);
    println!(
        "{} · {} tokens · {} heads · {} · m = {}",
        sim.layer().heads[0].source,
        head.sequence().len(),
        sim.head_count(),
        sim.params().mode,
        sim.params().m,
    );
    match metrics.layer_output_rel_err {
        Some(err) => println!("{:>20} = {err:.6}", "layer_output_rel_err"),
        None => println!("{:>20} = undefined (no row read)", "layer_output_rel_err"),
    }
    println!("{:>20} = {}", "worst_head", metrics.worst_head);
    println!(
        "{:>6} {}",
        "head",
        Metrics::NAMES
            .iter()
            .map(|n| format!("{n:>16}"))
            .collect::<String>()
    );
    for (h, m) in metrics.per_head.iter().enumerate() {
        println!(
            "{h:>6} {}",
            m.values()
                .iter()
                .map(|v| format!("{v:>16.6}"))
                .collect::<String>()
        );
    }
    println!(
        "{:>20} = {} steps, {:.3} s wall",
        "run",
        sim.step_index(),
        run.wall_s
    );
}

/// Why `run` cannot do what was asked of a layer.
#[derive(Debug, thiserror::Error)]
pub enum LayerCommandError {
    #[error(transparent)]
    Run(#[from] LayerRunError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(
        "{0} is not available with heads = all yet: a whole layer runs to the end in one go; set heads = one to stop early or save a state"
    )]
    Unsupported(&'static str),
    #[error("cannot save the experiment: {0}")]
    Save(String),
}

/// `run` for `heads = all`: runs the layer, writes `--out`, prints the metrics (or
/// `metrics.json` with `--json`). `unsupported` names an option given that a layer cannot honour.
pub fn run_layer_command(
    experiment: &Experiment,
    out: Option<&Path>,
    json: bool,
    save_experiment: Option<&Path>,
    unsupported: Option<&'static str>,
) -> Result<(), LayerCommandError> {
    if let Some(option) = unsupported {
        return Err(LayerCommandError::Unsupported(option));
    }
    let run = run_layer(experiment)?;
    if let Some(path) = save_experiment {
        experiment
            .save(path)
            .map_err(|e| LayerCommandError::Save(e.to_string()))?;
    }
    if let Some(dir) = out {
        write_layer_outputs(dir, &run)?;
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report_value(&run)).expect("json serialises")
        );
    } else {
        print_layer_run(&run);
    }
    Ok(())
}
