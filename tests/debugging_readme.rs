//! The figures of README.md's "Debugging the approximation" are fresh measurements.

#[allow(dead_code)]
mod figures;

use figures::Figures;
use std::sync::Arc;
use tripartite::data::experiment::Experiment;
use tripartite::model::params::{Mode, Params};
use tripartite::model::simulation::Simulation;

const README: &str = include_str!("../README.md");

/// The paragraph about dbg/per_query.csv.
fn paragraph() -> &'static str {
    let start = README.find("`dbg/per_query.csv`").unwrap();
    let end = start + README[start..].find("Next ask").unwrap();
    &README[start..end]
}

#[test]
fn the_per_query_example_figures() {
    let experiment = Experiment {
        source: "bundled:coreference-it".parse().unwrap(),
        params: Params {
            layer: 3,
            head: 5,
            mode: Mode::Algebraic,
            m: 16384,
            ..Params::default()
        },
        ..Experiment::default()
    };
    assert!(README.contains(
        "tripartite run --sequence bundled:coreference-it --set layer=3 --set head=5 \\\n        --set mode=algebraic --set m=16384 --out dbg"
    ));
    let sequence = experiment.load_sequence().unwrap();
    let tokens = sequence.tokens.clone();
    let mut sim = Simulation::new(&experiment.params, Arc::new(sequence)).unwrap();
    sim.run_to_end();
    let rows = sim.per_query();
    let row_of = |token: &str| tokens.iter().position(|t| t == token).unwrap();
    let mut order: Vec<usize> = (0..tokens.len()).collect();
    order.sort_by(|&a, &b| rows.tv[b].total_cmp(&rows.tv[a]));
    assert_eq!(
        [&tokens[order[0]], &tokens[order[1]]],
        ["needed", "calcium"]
    );
    assert_eq!(tokens[*order.last().unwrap()], "[CLS]");
    let (needed, cls) = (row_of("needed"), row_of("[CLS]"));
    let correlation = pearson(&rows.tv, &rows.c_rel_se);
    Figures::new("README.md (Debugging the approximation)", paragraph())
        .quotes("`needed` (tv {}, c/Z_t", rows.tv[needed])
        .quotes("c/Z_t {}) and", rows.c_over_z[needed])
        .quotes("`[CLS]` (tv {}).", rows.tv[cls])
        .quotes("is {} for `needed`", rows.c_rel_se[needed])
        .quotes("and {} for `[CLS]`", rows.c_rel_se[cls])
        .states("over the {} rows", tokens.len() as f64)
        .quotes("correlates {} with", correlation)
        .all_claimed();
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    tripartite::model::metrics::pearson(a, b)
}

/// The budget table quoted in the section is what `tripartite budget` prints for that head.
#[test]
fn the_budget_table_is_the_command_output() {
    use tripartite::sim::budget::{BudgetSpec, budget_table, layer_budget};
    let experiment = Experiment {
        source: "bundled:coreference-it".parse().unwrap(),
        ..Experiment::default()
    };
    assert!(
        README.contains(
            "    tripartite budget --sequence bundled:coreference-it --layer 3 --head 5\n"
        )
    );
    let spec = BudgetSpec::default();
    let heads = layer_budget(&experiment, 3, Some(5), &spec).unwrap();
    for line in budget_table(&experiment, &spec, &heads).lines() {
        assert!(
            README.contains(&format!("    {line}\n")),
            "README lacks: {line}"
        );
    }
}
