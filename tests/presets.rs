//! The classroom examples do what their descriptions tell a teacher they will show.

use std::sync::Arc;
use tripartite::io::experiment::Experiment;
use tripartite::io::presets;
use tripartite::model::metrics::Metrics;
use tripartite::model::params::Params;
use tripartite::model::simulation::Simulation;

fn preset(name: &str) -> Experiment {
    presets::find(name)
        .unwrap_or_else(|| panic!("no preset {name}"))
        .experiment()
        .unwrap()
}

/// The whole run of `experiment` with `edit` applied to its parameters.
fn run(experiment: &Experiment, edit: impl FnOnce(&mut Params)) -> (Simulation, Metrics) {
    let mut params = experiment.params.clone();
    edit(&mut params);
    let sequence = experiment.load_sequence().unwrap();
    let mut sim = Simulation::new(&params, Arc::new(sequence)).unwrap();
    sim.run_to_end();
    let metrics = sim.metrics();
    (sim, metrics)
}

#[test]
fn the_astrocyte_tracks_the_normaliser() {
    let (_, m) = run(&preset("calcium-tracks-normaliser"), |_| {});
    assert!(m.calcium_rel_err < 0.05, "{m:?}");
    assert!(m.calcium_corr > 0.95, "{m:?}");
    assert!(m.attn_tv < 0.05, "{m:?}");
}

#[test]
fn a_slow_astrocyte_lags_and_a_fast_one_closes_the_gap() {
    let slow_preset = preset("astrocyte-too-slow");
    let (_, slow) = run(&slow_preset, |_| {});
    let (_, fast) = run(&slow_preset, |p| p.tau_calcium = 100.0);
    assert!(
        slow.calcium_rel_err > 2.0 * fast.calcium_rel_err,
        "{slow:?} {fast:?}"
    );
    assert!(
        slow.calcium_corr < fast.calcium_corr - 0.1,
        "{slow:?} {fast:?}"
    );
    assert!(fast.calcium_rel_err < 0.05, "{fast:?}");
}

#[test]
fn more_hidden_neurons_bring_the_attention_closer() {
    let few = preset("too-few-hidden-neurons");
    let tv = |m: usize, algebraic: bool| {
        run(&few, |p| {
            p.m = m;
            if algebraic {
                p.mode = tripartite::model::params::Mode::Algebraic;
            }
        })
        .1
        .attn_tv
    };
    let dynamic: Vec<f64> = [16, 64, 256, 4096].map(|m| tv(m, false)).to_vec();
    assert!(dynamic.windows(2).all(|w| w[1] < w[0]), "{dynamic:?}");
    assert!(dynamic[0] > 3.0 * dynamic[3], "{dynamic:?}");
    // Algebraic mode: 16× the neurons, about a quarter of the error (1/√m).
    let (a16, a256, a4096) = (tv(16, true), tv(256, true), tv(4096, true));
    for (coarse, fine) in [(a16, a256), (a256, a4096)] {
        let ratio = coarse / fine;
        assert!((2.5..6.5).contains(&ratio), "{a16} {a256} {a4096}");
    }
}

#[test]
fn heterogeneous_processes_barely_move_the_calcium() {
    let het = preset("heterogeneous-processes");
    let (_, spread) = run(&het, |_| {});
    let (_, even) = run(&het, |p| p.heterogeneity = 0.0);
    let (_, wide) = run(&het, |p| p.heterogeneity = 4.0);
    assert!(spread.calcium_rel_err < 0.05, "{spread:?}");
    assert!(
        wide.calcium_rel_err > even.calcium_rel_err,
        "{wide:?} {even:?}"
    );
}

#[test]
fn causal_streaming_fills_a_lower_triangle() {
    let (sim, _) = run(&preset("causal-streaming"), |_| {});
    let a = &sim.output().attention;
    let n = a.nrows();
    for t in 0..n {
        for tau in t + 1..n {
            assert_eq!(a[[t, tau]], 0.0, "A_net[{t},{tau}]");
        }
        assert!(a[[t, t]] > 0.0);
    }
}

#[test]
fn without_the_exponential_the_attention_stays_far_from_softmax() {
    let plain = preset("no-exponential");
    let (_, elu) = run(&plain, |_| {});
    let (_, exp) = run(&plain, |p| {
        p.feature_map = tripartite::model::params::FeatureMap::Positive;
        p.m = 16_384;
    });
    assert!(elu.attn_tv > 0.5, "{elu:?}");
    assert!(elu.attn_tv > exp.attn_tv + 0.2, "{elu:?} {exp:?}");
}
