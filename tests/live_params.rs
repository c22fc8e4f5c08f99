//! Adding a live parameter takes one line in the parameter table, the model line that uses it,
//! and its panel label. The table and the panel are checked against each other beside the
//! panel (`ui::views::params`); this checks the model: every entry the table marks live reaches
//! a running simulation through `set_live` and changes what it computes, and every entry marked
//! dynamic-only is one the algebraic correspondence ignores.

use std::sync::Arc;
use tripartite::data::source::load_sequence;
use tripartite::data::spec::SourceSpec;
use tripartite::model::params::LiveParams;
use tripartite::model::params::{Mode, PARAMS, Param, Params, Value};
use tripartite::model::simulation::Simulation;

fn params() -> Params {
    Params {
        m: 64,
        t_write: 5.0,
        t_read: 10.0,
        ..Params::default()
    }
}

fn sequence(params: &Params) -> Arc<tripartite::model::sequence::Sequence> {
    let source = SourceSpec::Synthetic {
        tokens: 4,
        dim: 8,
        heads: 1,
    };
    Arc::new(load_sequence(&source, None, params).unwrap())
}

/// A value in range far from the default, so that a model that reads it cannot miss it.
fn far_value(param: &Param, params: &Params) -> f64 {
    let Value::Real(value) = param.get(params) else {
        panic!("{} is live but not a real number", param.name);
    };
    match param.name {
        // A rate or floor that is 0 or tiny by default.
        "decay" => 0.5,
        "c_min" => 1e3,
        _ => value * 4.0,
    }
}

#[test]
fn every_live_entry_changes_the_running_simulation() {
    let base = params();
    let sequence = sequence(&base);
    let half = {
        let sim = Simulation::new(&base, sequence.clone()).unwrap();
        sim.total_steps() / 2
    };
    let run = |edit: Option<&Params>| {
        let mut sim = Simulation::new(&base, sequence.clone()).unwrap();
        while sim.step_index() < half / 2 {
            sim.step();
        }
        if let Some(edit) = edit {
            sim.set_live(LiveParams::of(edit)).unwrap();
        }
        while sim.step_index() < half {
            sim.step();
        }
        sim.state()
    };
    let unchanged = run(None);
    let live: Vec<&Param> = PARAMS.iter().filter(|p| p.live).collect();
    assert!(!live.is_empty());
    for param in live {
        let mut edited = base.clone();
        param
            .set_text(&mut edited, &far_value(param, &base).to_string())
            .unwrap();
        edited.validate().unwrap();
        let changed = run(Some(&edited));
        assert!(
            changed != unchanged,
            "{} is live in the table, but setting it live changed nothing the model computes",
            param.name
        );
    }
}

#[test]
fn every_dynamic_only_entry_leaves_the_algebraic_run_alone() {
    let base = Params {
        mode: Mode::Algebraic,
        ..params()
    };
    let sequence = sequence(&base);
    let run = |params: &Params| {
        let mut sim = Simulation::new(params, sequence.clone()).unwrap();
        while !sim.is_finished() {
            sim.step();
        }
        sim.metrics()
            .values()
            .into_iter()
            .map(f64::to_bits)
            .collect::<Vec<_>>()
    };
    let reference = run(&base);
    let dynamic_only: Vec<&Param> = PARAMS.iter().filter(|p| p.dynamic_only).collect();
    assert_eq!(
        dynamic_only.iter().map(|p| p.name).collect::<Vec<_>>(),
        [
            "tau_neuron",
            "tau_process",
            "tau_calcium",
            "t_write",
            "t_read",
            "dt",
            "eta",
            "decay"
        ]
    );
    for param in dynamic_only {
        // Doubling every time keeps dt a divisor of both slots and below every τ.
        let mut edited = base.clone();
        for time in PARAMS.iter().filter(|p| p.unit == "ms") {
            if time.name == param.name || param.unit != "ms" {
                continue;
            }
            let Value::Real(value) = time.get(&base) else {
                unreachable!()
            };
            time.set_text(&mut edited, &(value * 2.0).to_string())
                .unwrap();
        }
        let Value::Real(value) = param.get(&base) else {
            unreachable!()
        };
        let new = if value == 0.0 { 0.25 } else { value * 2.0 };
        param.set_text(&mut edited, &new.to_string()).unwrap();
        edited.validate().unwrap();
        assert_eq!(
            run(&edited),
            reference,
            "{} is dynamic-only in the table, but it changes the algebraic run",
            param.name
        );
    }
}
