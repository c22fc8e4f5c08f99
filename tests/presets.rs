//! The classroom examples do what their descriptions tell a teacher they will show.
//!
//! Every number in every paragraph is checked: each measured figure must be the fresh
//! measurement rounded to the decimals the paragraph quotes (runs are deterministic), and each
//! setting it names must be the experiment's (see `figures/mod.rs`).

mod figures;

use figures::Figures;
use std::sync::Arc;
use tripartite::data::experiment::Experiment;
use tripartite::io::presets;
use tripartite::model::metrics::Metrics;
use tripartite::model::params::{FeatureMap, Mode, Params};
use tripartite::model::simulation::Simulation;

fn preset(name: &str) -> Experiment {
    presets::find(name)
        .unwrap_or_else(|| panic!("no preset {name}"))
        .experiment()
        .unwrap()
}

fn paragraph(name: &str) -> Figures {
    Figures::new(name, preset(name).description.as_deref().unwrap_or(""))
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
fn every_preset_paragraph_is_checked_here() {
    let checked = [
        "paper-correspondence",
        "calcium-tracks-normaliser",
        "astrocyte-too-slow",
        "too-few-hidden-neurons",
        "no-exponential",
        "causal-streaming",
        "heterogeneous-processes",
        "learned-synapses",
    ];
    for p in presets::presets() {
        assert!(checked.contains(&p.name), "{} has no test here", p.name);
    }
}

#[test]
fn the_papers_correspondence() {
    let e = preset("paper-correspondence");
    let (sim, m) = run(&e, |_| {});
    paragraph("paper-correspondence")
        .states("(m = {})", e.params.m as f64)
        .quotes("c_t is {} % off Z_t", 100.0 * m.calcium_rel_err)
        .quotes("total variation is {}.", m.attn_tv)
        .states("(scale {})", e.params.synthetic_scale)
        .all_claimed();
    assert_eq!(e.params.mode, Mode::Algebraic);
    // Exactly linear attention: every row of A_net sums to 1 (σ_γ = 0) and y = A_net V.
    let out = sim.output();
    let v = &sim.sequence().values;
    let y = out.attention.dot(v);
    for t in 0..out.attention.nrows() {
        let sum: f64 = out.attention.row(t).sum();
        assert!((sum - 1.0).abs() < 1e-12, "row {t} sums to {sum}");
        for j in 0..v.ncols() {
            let (a, b) = (y[[t, j]], out.outputs[[t, j]]);
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "y[{t},{j}]");
        }
    }
}

#[test]
fn the_astrocyte_tracks_the_normaliser() {
    let e = preset("calcium-tracks-normaliser");
    let (_, m) = run(&e, |_| {});
    paragraph("calcium-tracks-normaliser")
        .states("m = {} hidden", e.params.m as f64)
        .states("(scale {})", e.params.synthetic_scale)
        .states("τ_c = {} ms", e.params.tau_calcium)
        .quotes("within {} % of Z_t", 100.0 * m.calcium_rel_err)
        .quotes("correlation {},", m.calcium_corr)
        .quotes("total variation {}.", m.attn_tv)
        .all_claimed();
}

#[test]
fn a_slow_astrocyte_lags_and_a_fast_one_closes_the_gap() {
    let e = preset("astrocyte-too-slow");
    let (_, slow) = run(&e, |_| {});
    let (_, fast) = run(&e, |p| p.tau_calcium = 100.0);
    paragraph("astrocyte-too-slow")
        .states("τ_c = {} ms, as long", e.params.tau_calcium)
        .quotes("calcium {} % off Z_t", 100.0 * slow.calcium_rel_err)
        .quotes("correlation {},", slow.calcium_corr)
        .quotes("against {} %", 100.0 * fast.calcium_rel_err)
        .quotes("% and {} at", fast.calcium_corr)
        .states("at τ_c = {} ms.", 100.0)
        .states("τ_c back to {} (", 100.0)
        .all_claimed();
    // The faster astrocyte is the tracking example's network.
    let tracking = preset("calcium-tracks-normaliser");
    let mut fast_params = e.params.clone();
    fast_params.tau_calcium = 100.0;
    assert_eq!(fast_params, tracking.params);
}

#[test]
fn more_hidden_neurons_bring_the_attention_closer() {
    let e = preset("too-few-hidden-neurons");
    let measure = |m: usize, mode: Mode| {
        run(&e, |p| {
            p.m = m;
            p.mode = mode;
        })
        .1
    };
    let first = measure(e.params.m, Mode::Dynamic);
    let mut text = paragraph("too-few-hidden-neurons");
    text.states("only m = {} random", e.params.m as f64)
        .quotes("misses Z_t by {} %", 100.0 * first.calcium_rel_err)
        .notation("1/√m");
    for (m, end) in [(16, ","), (64, ","), (256, " "), (4096, ".")] {
        let tv = measure(m, Mode::Dynamic).attn_tv;
        text.quotes(&format!("{{}} at m = {m}{end}"), tv);
    }
    for (m, end) in [(16, ","), (64, ","), (256, ","), (1024, " "), (4096, ".")] {
        let tv = measure(m, Mode::Algebraic).attn_tv;
        text.quotes(&format!("{{}} at {m}{end}"), tv);
    }
    text.all_claimed();
}

#[test]
fn heterogeneous_processes_barely_move_the_calcium() {
    let e = preset("heterogeneous-processes");
    let (_, spread) = run(&e, |_| {});
    let (_, even) = run(&e, |p| p.heterogeneity = 0.0);
    let (_, wide) = run(&e, |p| p.heterogeneity = 4.0);
    let d = e.load_sequence().unwrap().values.ncols();
    paragraph("heterogeneous-processes")
        .notation("= 1 +")
        .states("1 + {} ξ_ij", e.params.heterogeneity)
        .states("d = {} output", d as f64)
        .quotes("calcium is {} % off", 100.0 * spread.calcium_rel_err)
        .quotes("against {} % with identical", 100.0 * even.calcium_rel_err)
        .quotes("still {} % off", 100.0 * wide.calcium_rel_err)
        .states("σ_γ = {}.", 4.0)
        .all_claimed();
}

#[test]
fn causal_streaming_fills_a_lower_triangle_and_the_calcium_climbs() {
    let e = preset("causal-streaming");
    let (sim, m) = run(&e, |_| {});
    let out = sim.output();
    let n = out.attention.nrows();
    paragraph("causal-streaming")
        .quotes("from {} at the first read", out.calcium[0])
        .quotes("to {} at the last", out.calcium[n - 1])
        .quotes("correlation {} and", m.calcium_corr)
        .quotes("and {} % off", 100.0 * m.calcium_rel_err)
        .quotes("total variation {},", m.attn_tv)
        .states("m = {} hidden", e.params.m as f64)
        .states("(scale {})", e.params.synthetic_scale)
        .all_claimed();
    // The lower triangle: each row spreads over exactly the keys written so far.
    for t in 0..n {
        let row = out.attention.row(t);
        assert!(row.iter().skip(t + 1).all(|&a| a == 0.0), "row {t}");
        assert!(row.iter().take(t + 1).all(|&a| a > 0.0), "row {t}");
    }
    // Z_t sums over one more key at every read; the calcium climbs with it overall.
    let z = sim.reference().normaliser();
    assert!(
        out.calcium[n - 1] > 10.0 * out.calcium[0],
        "{:?}",
        out.calcium
    );
    assert!(z[n - 1] > 10.0 * z[0], "{z:?}");
}

#[test]
fn without_the_exponential_the_attention_stays_far_from_softmax() {
    let e = preset("no-exponential");
    let (_, elu) = run(&e, |_| {});
    let (_, exp) = run(&e, |p| {
        p.feature_map = FeatureMap::Positive;
        p.m = 16_384;
    });
    paragraph("no-exponential")
        .notation("elu(x) + 1")
        .quotes("total variation {},", elu.attn_tv)
        .quotes("against {} with", exp.attn_tv)
        .states("m = {} positive", 16_384.0)
        .all_claimed();
}

#[test]
fn learned_synapses_beat_random_ones_on_a_sentence_they_never_saw() {
    use tripartite::jobs::learn::{SHIPPED_HELD_OUT, SHIPPED_TRAIN, sentence_lines};
    use tripartite::model::params::Projection;
    let e = preset("learned-synapses");
    let Projection::Learned(id) = e.params.projection else {
        panic!("the example runs a learned file");
    };
    let file = tripartite::model::learned::file(id);
    let record = file
        .records
        .iter()
        .find(|r| r.head == e.params.head)
        .expect("the file holds the head");
    // The sentence is held out: not one of the training sentences.
    let text = e.load_sequence().unwrap().origin.unwrap().text;
    let train = sentence_lines(SHIPPED_TRAIN);
    assert!(!train.iter().any(|t| t.trim() == text.trim()), "{text}");
    let (calcium, learned_metrics) = run(&e, |_| {});
    let calcium = calcium.per_query();
    let learned = learned_metrics.attn_tv;
    let random_metrics = run(&e, |p| p.projection = Projection::Iid).1;
    let random = random_metrics.attn_tv;
    let large_m = 10usize.pow(5);
    let large = run(&e, |p| {
        p.projection = Projection::Iid;
        p.m = large_m;
    })
    .1
    .attn_tv;
    let (recorded_m, recorded_large) = record.held_out_random_large.expect("measured");
    assert_eq!(recorded_m, large_m);
    paragraph("learned-synapses")
        .states("the m = {} positive", e.params.m as f64)
        .states("layer {} head", e.params.layer as f64)
        .states("head {} (the head", e.params.head as f64)
        .states("descent on {} training", train.len() as f64)
        .quotes("attn_tv {} with the learned", learned)
        .quotes("against {} with random ones", random)
        .quotes("and {} with random features at m = 10⁵", large)
        .quotes("learned head reaches {};", record.train_tv)
        .states(
            "over {} held-out",
            sentence_lines(SHIPPED_HELD_OUT).len() as f64,
        )
        .quotes("held-out sentences {},", record.held_out_tv)
        .quotes("against {} for random W", record.held_out_tv_random)
        .states("W at m = {} and", file.hidden() as f64)
        .quotes("and {} at m = 10⁵", recorded_large)
        .quotes("c_t is {} to", min(&calcium.c_over_z))
        .quotes("to {} times Z_t", max(&calcium.c_over_z))
        .quotes("calcium_rel_err {};", learned_metrics.calcium_rel_err)
        .quotes("short instead, {})", random_metrics.calcium_rel_err)
        .all_claimed();
}

fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Three significant digits, as MODEL.md's calcium table quotes them.
fn sig3(value: f64) -> String {
    let decimals = (2 - value.abs().log10().floor() as i32).max(0) as usize;
    format!("{value:.decimals$}")
}

/// MODEL.md's table of the calcium with learned synapses (the example's head, both modes) is
/// what the example measures.
#[test]
fn model_md_calcium_with_learned_synapses_is_measured() {
    use tripartite::model::params::Projection;
    const MODEL: &str = include_str!("../MODEL.md");
    let e = preset("learned-synapses");
    for (mode, mode_name) in [
        (Mode::Algebraic, "algebraic"),
        (Mode::Dynamic, "dynamic, default settings"),
    ] {
        for (learned, name) in [(false, "random W"), (true, "learned")] {
            let (sim, metrics) = run(&e, |p| {
                p.mode = mode;
                if !learned {
                    p.projection = Projection::Iid;
                }
            });
            let ratios = sim.per_query().c_over_z;
            let row = format!(
                "| {name} | {mode_name} | {} | {} | {} … {} ({}) |",
                sig3(metrics.calcium_rel_err),
                sig3(metrics.calcium_corr),
                sig3(min(&ratios)),
                sig3(max(&ratios)),
                sig3(median(&ratios)),
            );
            assert!(
                MODEL.contains(&row),
                "MODEL.md lacks the measured row {row}"
            );
        }
    }
    // The budget's learned-against-random figures for the same head (default sweep).
    use tripartite::sim::budget::{BudgetSpec, layer_budget};
    let budget = layer_budget(&e, 3, Some(1), &BudgetSpec::default()).unwrap();
    let learned = budget[0].learned.as_ref().expect("the file holds the head");
    Figures::new("MODEL.md (the neuron budget)", MODEL)
        .quotes("learned head's attn_tv of {} matches", learned.attn_tv)
        .quotes("random m ≈ {}·10⁴ by the", learned.m_equivalent / 1e4)
        .quotes(
            "and ≈ {}·10⁵ by the free line",
            learned.m_equivalent_free / 1e5,
        )
        .quotes("(free slope −{}),", -budget[0].fit.free_slope)
        .quotes(
            "random features at m = 10⁵ measure {} on this sentence",
            run(&e, |p| {
                p.projection = Projection::Iid;
                p.m = 100_000;
            })
            .1
            .attn_tv,
        );
    assert!(!budget[0].fit.law_holds);
}
