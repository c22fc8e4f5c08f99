//! `run` with `heads = all`: a whole layer run headless and its metrics printed;
//! `io::export::layer` writes `--out` and `metrics.json`.

use super::progress::{Progress, Silent};
use crate::data::error::SequenceError;
use crate::data::experiment::Experiment;
use crate::data::source::load_layer;
use crate::io::export::ExportError;
use crate::io::export::layer::{LayerReport, write_layer_outputs};
use crate::model::layer::LayerSimulation;
use crate::model::metrics::Metrics;
use crate::model::network::ModelError;
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
    run_layer_reporting(experiment, &Silent)
}

/// [`run_layer`], telling `progress` the steps done after each slot.
pub fn run_layer_reporting(
    experiment: &Experiment,
    progress: &dyn Progress,
) -> Result<LayerRun, LayerRunError> {
    let started = Instant::now();
    let layer = load_layer(
        &experiment.source,
        experiment.text.as_deref(),
        &experiment.params,
    )?;
    let mut simulation = LayerSimulation::new(&experiment.params, Arc::new(layer))?;
    progress.begin(
        &format!("layer of {} heads", simulation.head_count()),
        simulation.total_steps(),
    );
    // Slot by slot (each head in parallel within a slot) so that the bar moves; the heads
    // step exactly as in one run to the end, since no block crosses a slot.
    while !simulation.is_finished() {
        let before = simulation.step_index();
        simulation.step_slot();
        if simulation.step_index() == before {
            break;
        }
        progress.set(simulation.step_index());
    }
    Ok(LayerRun {
        simulation,
        wall_s: started.elapsed().as_secs_f64(),
    })
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
    progress: &dyn Progress,
) -> Result<(), LayerCommandError> {
    if let Some(option) = unsupported {
        return Err(LayerCommandError::Unsupported(option));
    }
    let run = run_layer_reporting(experiment, progress)?;
    progress.finish();
    if let Some(path) = save_experiment {
        experiment
            .save(path)
            .map_err(|e| LayerCommandError::Save(e.to_string()))?;
    }
    if let Some(dir) = out {
        write_layer_outputs(dir, &experiment.params, &run.simulation, run.wall_s)?;
    }
    if json {
        println!(
            "{}",
            LayerReport::of(&experiment.params, &run.simulation, run.wall_s).json()
        );
    } else {
        print_layer_run(&run);
    }
    Ok(())
}
