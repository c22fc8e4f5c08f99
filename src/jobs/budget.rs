//! `budget`: how many hidden neurons each head needs (`sim::budget` fits the law), with a
//! progress bar over the (head, m, seed) runs, printed as a table or as JSON.

use super::progress::Progress;
use crate::data::experiment::Experiment;
use crate::sim::budget::{
    BudgetError, BudgetSpec, budget_json, budget_table, layer_budget_reporting,
};

/// `tripartite budget`: computes and prints the budget (`json`: as JSON).
pub fn budget_command(
    experiment: &Experiment,
    layer: Option<usize>,
    head: Option<usize>,
    spec: &BudgetSpec,
    json: bool,
    progress: &dyn Progress,
) -> Result<(), BudgetError> {
    spec.validate()?;
    let layer = layer.unwrap_or(experiment.params.layer);
    let runs_per_head = spec.ms.len() as u64 * u64::from(spec.seeds);
    let heads = layer_budget_reporting(
        experiment,
        layer,
        head,
        spec,
        &|heads| progress.begin("budget runs", heads as u64 * runs_per_head),
        &|| progress.advance(),
    )?;
    progress.finish();
    if json {
        println!("{}", budget_json(experiment, spec, &heads));
    } else {
        print!("{}", budget_table(experiment, spec, &heads));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::progress::{Event, Recorder};
    use crate::sim::budget::layer_budget;

    #[test]
    fn every_budget_run_is_counted_once() {
        // A bundled digit read by the digits ViT: two heads, two sizes, two seeds.
        let experiment = Experiment {
            source: crate::data::spec::SourceSpec::Digits(0),
            ..Experiment::default()
        };
        let spec = BudgetSpec {
            target: 0.1,
            seeds: 2,
            ms: vec![64, 128],
        };
        let recorder = Recorder::default();
        let heads = [0, 1]
            .into_iter()
            .map(|head| {
                layer_budget_reporting(
                    &experiment,
                    0,
                    Some(head),
                    &spec,
                    &|heads| recorder.begin("budget runs", heads as u64 * 4),
                    &|| recorder.advance(),
                )
                .unwrap()
            })
            .collect::<Vec<_>>();
        let events = recorder.events();
        let begins: Vec<_> = events
            .iter()
            .filter(|e| matches!(e, Event::Begin(..)))
            .collect();
        assert_eq!(begins, [&Event::Begin("budget runs".into(), 4); 2]);
        let advances = events.iter().filter(|e| **e == Event::Advance).count();
        assert_eq!(advances, 8, "one per (head, m, seed): {events:?}");
        // Reporting changes nothing in the result.
        let plain = layer_budget(&experiment, 0, Some(1), &spec).unwrap();
        assert_eq!(format!("{:?}", heads[1]), format!("{plain:?}"));
    }
}
