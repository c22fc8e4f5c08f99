//! The figures README.md quotes are the fresh measurements, rounded to the decimals quoted.

#[allow(dead_code)] // claims.rs uses part of the shared checker
mod figures;

use figures::Figures;
use std::sync::Arc;
use tripartite::data::experiment::Experiment;
use tripartite::io::presets;
use tripartite::model::metrics::Metrics;
use tripartite::model::params::{Mode, Params};
use tripartite::model::schedule::Phase;
use tripartite::model::simulation::Simulation;

const README: &str = include_str!("../README.md");

fn readme() -> Figures {
    Figures::new("README.md", README)
}

fn simulation(experiment: &Experiment, edit: impl FnOnce(&mut Params)) -> Simulation {
    let mut params = experiment.params.clone();
    edit(&mut params);
    let sequence = experiment.load_sequence().unwrap();
    Simulation::new(&params, Arc::new(sequence)).unwrap()
}

fn run(experiment: &Experiment, edit: impl FnOnce(&mut Params)) -> (Simulation, Metrics) {
    let mut sim = simulation(experiment, edit);
    sim.run_to_end();
    let metrics = sim.metrics();
    (sim, metrics)
}

fn tracking() -> Experiment {
    presets::find("calcium-tracks-normaliser")
        .unwrap()
        .experiment()
        .unwrap()
}

#[test]
fn the_default_view_is_approximated_poorly_in_both_modes() {
    let default = Experiment::default();
    let (sim, dynamic) = run(&default, |_| {});
    let (_, algebraic) = run(&default, |p| p.mode = Mode::Algebraic);
    let out = sim.output();
    let z = sim.reference().normaliser();
    let lowest = out
        .calcium
        .iter()
        .zip(&z)
        .map(|(c, z)| c / z)
        .fold(f64::INFINITY, f64::min);
    readme()
        .states(
            "with m = {} positive random features",
            default.params.m as f64,
        )
        .quotes("(attn_tv ≈ {}, and", dynamic.attn_tv)
        .quotes("far below Z_t, {} % off", 100.0 * dynamic.calcium_rel_err)
        .quotes("numbers (attn_tv ≈ {},", algebraic.attn_tv)
        .quotes("calcium {} % off)", 100.0 * algebraic.calcium_rel_err)
        .states(
            "where m = {} random features estimate",
            default.params.m as f64,
        )
        .quotes("c / Z_t ≈ {} in some reads", lowest);
    // "far below": every read's calcium is under a fifth of Z_t.
    assert!(out.calcium.iter().zip(&z).all(|(c, z)| c / z < 0.2));
}

#[test]
fn the_tracking_example_figures() {
    let (_, m) = run(&tracking(), |_| {});
    readme()
        .quotes("(calcium within {} % of Z_t", 100.0 * m.calcium_rel_err)
        .quotes("attn_tv {}).", m.attn_tv);
}

/// The screenshot tour shoots tracking.png three fifths into the middle read slot
/// (`mid_run` in src/ui/script.rs); the legend there reads c / Z_t.
#[test]
fn the_tracking_screenshot_ratio() {
    let mut sim = simulation(&tracking(), |_| {});
    let reads: Vec<_> = {
        let schedule = sim.dynamic().unwrap().schedule();
        schedule
            .slots
            .iter()
            .filter(|s| s.phase == Phase::Read)
            .copied()
            .collect()
    };
    let slot = reads[reads.len() / 2];
    let target = slot.start_step + slot.steps * 3 / 5;
    while sim.step_index() < target {
        assert!(sim.step_block(target - sim.step_index()) > 0);
    }
    let calcium = sim.dynamic().unwrap().calcium_normalised();
    let z = sim.reference().normaliser()[slot.token];
    readme().quotes("(c / Z_t = {} here)", calcium / z);
}

const MODEL: &str = include_str!("../MODEL.md");

/// The default column of MODEL.md's parameter table is `Params::default()`, and the table
/// names every parameter.
#[test]
fn model_md_parameter_defaults() {
    use tripartite::model::params::PARAM_NAMES;
    let defaults = serde_json::to_value(Params::default()).unwrap();
    let mut named = Vec::new();
    let table = MODEL
        .split("## Parameters")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .nth(1)
        .unwrap();
    for line in table.lines().skip(2) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (names, default) = (cells[1], cells[4]);
        let values: Vec<&str> = default.split(", ").collect();
        let names: Vec<&str> = names.split(", ").collect();
        assert_eq!(names.len(), values.len(), "{line}");
        for (name, value) in names.into_iter().zip(values) {
            let actual = &defaults[name];
            let matches = match actual {
                serde_json::Value::String(s) => s == value,
                serde_json::Value::Number(n) => n.as_f64() == value.parse::<f64>().ok(),
                _ => false,
            };
            assert!(
                matches,
                "MODEL.md says {name} defaults to {value}, the code {actual}"
            );
            named.push(name);
        }
    }
    for name in PARAM_NAMES {
        assert!(named.contains(name), "MODEL.md's table lacks {name}");
    }
}

/// The limits MODEL.md states are the code's.
#[test]
fn model_md_limits() {
    use tripartite::model::params::{MAX_FEATURES, MAX_STEPS, MEMORY_LIMIT_BYTES};
    let spaced = |n: u64| {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(' ');
            }
            out.push(c);
        }
        out
    };
    assert!(MODEL.contains(&format!(" 1 … {},", spaced(MAX_FEATURES as u64))));
    assert!(MODEL.contains(&format!("estimate of {} GiB", MEMORY_LIMIT_BYTES >> 30)));
    assert_eq!(MEMORY_LIMIT_BYTES % (1 << 30), 0);
    assert!(MODEL.contains(&format!("by {} million Euler steps", MAX_STEPS / 1_000_000)));
    assert_eq!(MAX_STEPS % 1_000_000, 0);
    // The thread-count sentence: W for m = 20 000 is drawn in 40 blocks of 512 rows.
    let rows = tripartite::model::features::PROJECTION_BLOCK_ROWS;
    let blocks = 20_000usize.div_ceil(rows);
    assert!(MODEL.contains(&format!("in {blocks} parallel blocks of {rows} rows")));
}

/// The numeric bounds in MODEL.md's "valid range" column are the ones `Params::validate`
/// enforces: an open bound is refused, a closed one accepted, and one step beyond it refused.
#[test]
fn model_md_parameter_ranges() {
    let table = MODEL
        .split("## Parameters")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .nth(1)
        .unwrap();
    let valid = |name: &str, value: f64| {
        let mut p = Params::default();
        p.set(name, &value.to_string()).is_ok() && p.validate().is_ok()
    };
    let mut checked = 0;
    for line in table.lines().skip(2) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (name, range) = (cells[1], cells[5]);
        let first = range.split(", ").collect::<Vec<_>>();
        if let Some(open) = range.strip_prefix('(') {
            // "(a, b]": a refused, b accepted, just above b refused.
            let (a, b) = open.split_once(", ").unwrap();
            let b = b.split(']').next().unwrap();
            let (a, b): (f64, f64) = (a.parse().unwrap(), b.parse().unwrap());
            assert!(!valid(name, a), "{name} = {a} should be refused");
            assert!(valid(name, b), "{name} = {b} should be accepted");
            assert!(
                !valid(name, b * 1.001),
                "{name} above {b} should be refused"
            );
            checked += 1;
        } else if let Some((a, b)) = first[0].split_once(" … ") {
            // "a … b" (thousands separated by spaces): both accepted, beyond refused.
            let a: f64 = a.replace(' ', "").parse().unwrap();
            let b: f64 = b.replace(' ', "").parse().unwrap();
            assert!(valid(name, a) && !valid(name, a - 1.0), "{name} at {a}");
            assert!(valid(name, b), "{name} = {b} should be accepted");
            assert!(!valid(name, b + 1.0), "{name} above {b} should be refused");
            checked += 1;
        } else if let Some(rest) = range.strip_prefix("> ") {
            let a: f64 = rest.split(',').next().unwrap().parse().unwrap();
            assert!(!valid(name, a), "{name} = {a} should be refused");
            checked += 1;
        } else if let Some(Ok(a)) = range
            .strip_prefix("≥ ")
            .map(|rest| rest.split(' ').next().unwrap().parse::<f64>())
        {
            assert!(valid(name, a) && !valid(name, a - 1e-9), "{name} at {a}");
            checked += 1;
        }
    }
    assert_eq!(checked, 12, "every numeric range is checked");
}

/// The main screenshot's caption names the default head and sentence.
#[test]
fn the_main_screenshot_caption() {
    use tripartite::data::bundle::Bundle;
    use tripartite::data::experiment::{DEFAULT_HEAD, DEFAULT_LAYER, DEFAULT_SENTENCE};
    readme()
        .states("MiniLM layer {} head", DEFAULT_LAYER as f64)
        .states("head {} on \"", DEFAULT_HEAD as f64);
    let bundle = Bundle::embedded().unwrap();
    let text = &bundle.find(DEFAULT_SENTENCE).unwrap().text;
    assert!(
        README.contains(&format!("head {DEFAULT_HEAD} on \"{text}\"")),
        "{text}"
    );
}
