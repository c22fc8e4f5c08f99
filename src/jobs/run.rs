//! `run` of one head: the experiment to the end of its schedule with a progress bar, and the
//! report printed as a table or as `metrics.json`.

use super::progress::Progress;
use crate::data::experiment::Experiment;
use crate::io::export::json::{RunReport, report_json};
use crate::model::metrics::Metrics;
use crate::sim::run::{HeadlessRun, RunError, run_sequence_reporting};
use std::sync::Arc;

/// Loads the experiment's sequence and runs it to the end, telling `progress` the steps done
/// in a stage named `what`. The caller finishes the progress (a sweep runs many).
pub fn run_experiment(
    experiment: &Experiment,
    what: &str,
    progress: &dyn Progress,
) -> Result<HeadlessRun, RunError> {
    let sequence = Arc::new(experiment.load_sequence()?);
    let mut begun = false;
    let run = run_sequence_reporting(&experiment.params, sequence, &mut |simulation| {
        if !begun {
            progress.begin(what, simulation.total_steps());
            begun = true;
        }
        progress.set(simulation.step_index());
    })?;
    Ok(run)
}

/// Prints a finished run: `metrics.json` with `json`, else one line per metric.
pub fn print_run(run: &HeadlessRun, json: bool) {
    let r = RunReport::of_run(run);
    if json {
        println!("{}", report_json(&r));
    } else {
        println!(
            "{} · {} tokens · {} · m = {} · {} tripartite synapses",
            r.sequence.source,
            r.sequence.tokens.len(),
            r.params.mode,
            r.params.m,
            r.synapses
        );
        for (name, value) in Metrics::NAMES.iter().zip(r.metrics.values()) {
            println!("{name:>16} = {value:.6}");
        }
        println!(
            "{:>16} = {} steps, {:.1} ms simulated, {:.3} s wall, {:.0} steps/s",
            "run",
            r.steps,
            r.sim_time_ms,
            run.wall_s,
            r.steps_per_s.unwrap_or_default()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::progress::{Event, Recorder};

    #[test]
    fn a_run_reports_its_steps_up_to_the_total() {
        let mut experiment = Experiment {
            source: "synthetic:4x8".parse().unwrap(),
            ..Experiment::default()
        };
        experiment.params.m = 64;
        let recorder = Recorder::default();
        let run = run_experiment(&experiment, "run", &recorder).unwrap();
        recorder.finish();
        let events = recorder.events();
        let total = run.simulation.total_steps();
        assert_eq!(events.first(), Some(&Event::Begin("run".into(), total)));
        assert_eq!(events.last(), Some(&Event::Finish));
        let done: Vec<u64> = events
            .iter()
            .filter_map(|e| match e {
                Event::Set(d) => Some(*d),
                _ => None,
            })
            .collect();
        assert!(done.len() > 1, "more than one update: {}", done.len());
        assert!(done.windows(2).all(|w| w[0] < w[1]), "steps only grow");
        assert_eq!(done.last(), Some(&total), "the last update is the end");
        // The same run without a bar gives the same metrics.
        let plain = crate::sim::run::run_experiment(&experiment).unwrap();
        assert_eq!(
            plain.simulation.metrics().values(),
            run.simulation.metrics().values()
        );
    }
}
