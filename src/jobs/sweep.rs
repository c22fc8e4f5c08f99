//! `sweep`: one run to the end per value and seed, one CSV row each. Every value is checked
//! before any run starts.

use super::progress::Progress;
use crate::data::experiment::Experiment;
use crate::io::export::csv::{SweepRow, sweep_csv};
use crate::model::params::ParamError;
use crate::sim::run::RunError;

/// What to sweep: `param` over `values`, each at seeds seed, seed+1, … seed+`seeds`−1.
pub struct Sweep<'a> {
    pub base: &'a Experiment,
    pub param: &'a str,
    pub values: &'a [String],
    pub seeds: u64,
}

/// Why a sweep could not run.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("--seeds must be at least 1")]
    NoSeeds,
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error(transparent)]
    Run(#[from] RunError),
}

/// Runs the sweep and returns its CSV; `progress` counts finished runs.
pub fn sweep_csv_text(sweep: &Sweep, progress: &dyn Progress) -> Result<String, SweepError> {
    let Sweep {
        base,
        param,
        values,
        seeds,
    } = *sweep;
    if seeds == 0 {
        return Err(SweepError::NoSeeds);
    }
    // Check every value before running any.
    for value in values {
        let mut params = base.params.clone();
        params.set(param, value)?;
        params.validate()?;
    }
    let runs = values.len() as u64 * seeds;
    let mut rows = Vec::new();
    for value in values {
        for offset in 0..seeds {
            let mut experiment = base.clone();
            experiment.params.set(param, value)?;
            experiment.params.seed = base.params.seed.wrapping_add(offset);
            if param == "seed" {
                experiment.params.set("seed", value)?;
                experiment.params.seed = experiment.params.seed.wrapping_add(offset);
            }
            let what = format!(
                "sweep run {} of {runs}: {param} = {value}, seed {}",
                rows.len() + 1,
                experiment.params.seed
            );
            let metrics = super::run::run_experiment(&experiment, &what, progress)?
                .simulation
                .metrics();
            rows.push(SweepRow {
                param: param.to_owned(),
                value: value.clone(),
                seed: experiment.params.seed,
                metrics,
                variant: None,
            });
        }
    }
    progress.finish();
    Ok(sweep_csv(&rows))
}
