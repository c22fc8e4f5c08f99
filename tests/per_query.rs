//! Per-query diagnostics (issue 13 §1): the per-row columns agree with the run's metrics, and
//! `c_rel_se` predicts the spread of c_t over seeds without looking at the softmax reference.

use std::sync::Arc;
use tripartite::model::params::{FeatureMap, Mode, Params, Schedule};
use tripartite::model::sequence::Sequence;
use tripartite::model::simulation::Simulation;

fn finished(params: &Params, sequence: &Sequence) -> Simulation {
    let mut sim = Simulation::new(params, Arc::new(sequence.clone())).unwrap();
    sim.run_to_end();
    sim
}

#[test]
fn the_mean_of_per_query_tv_is_attn_tv() {
    let sequence = Sequence::gaussian(9, 8, 21, 1.0);
    for (mode, schedule, map) in [
        (
            Mode::Algebraic,
            Schedule::Bidirectional,
            FeatureMap::Positive,
        ),
        (Mode::Algebraic, Schedule::Causal, FeatureMap::Cosine),
        (Mode::Dynamic, Schedule::Bidirectional, FeatureMap::Oprf),
    ] {
        let params = Params {
            mode,
            schedule,
            feature_map: map,
            m: 128,
            t_read: 100.0,
            ..Params::default()
        };
        let sim = finished(&params, &sequence);
        let per_query = sim.per_query();
        let metrics = sim.metrics();
        assert_eq!(per_query.row, (0..9).collect::<Vec<_>>());
        let mean = per_query.tv.iter().sum::<f64>() / 9.0;
        assert!(
            (mean - metrics.attn_tv).abs() <= 1e-12,
            "{mode} {map}: {mean} vs {}",
            metrics.attn_tv
        );
        let max = per_query.max_abs.iter().copied().fold(0.0, f64::max);
        assert_eq!(max, metrics.attn_max_abs);
        for t in 0..9 {
            assert_eq!(per_query.c_over_z[t], per_query.c[t] / per_query.z[t]);
            assert!(per_query.c_rel_se[t] > 0.0 && per_query.c_rel_se[t].is_finite());
            assert!(per_query.q_norm[t] > 0.0 && per_query.max_k_norm[t] > 0.0);
        }
        let mean_rel_err = (0..9)
            .map(|t| (per_query.c[t] - per_query.z[t]).abs() / per_query.z[t])
            .sum::<f64>()
            / 9.0;
        assert!((mean_rel_err - metrics.calcium_rel_err).abs() < 1e-12);
    }
}

/// c_rel_se is the standard error of c_t as an average of m' terms: it falls like 1/√m and
/// matches the spread of c_t/Z_t over independent seeds (here within a factor 1.5).
#[test]
fn c_rel_se_predicts_the_spread_of_the_calcium_over_seeds() {
    // Light tails (small ‖q̃ + k̃‖): the sample spread of the m' terms has converged at m = 1000.
    let sequence = Sequence::gaussian(5, 8, 22, 0.4);
    let params = |m, seed| Params {
        mode: Mode::Algebraic,
        m,
        seed,
        ..Params::default()
    };
    let se = |m| finished(&params(m, 1), &sequence).per_query().c_rel_se;
    let (small, large) = (se(1000), se(16000));
    for t in 0..5 {
        let ratio = small[t] / large[t];
        assert!(
            (ratio - 4.0).abs() < 1.0,
            "row {t}: 1/√m says 4, got {ratio}"
        );
    }
    let seeds = 60;
    let ratios: Vec<Vec<f64>> = (0..seeds)
        .map(|seed| {
            finished(&params(1000, seed + 100), &sequence)
                .per_query()
                .c_over_z
        })
        .collect();
    for t in 0..5 {
        let mean = ratios.iter().map(|r| r[t]).sum::<f64>() / seeds as f64;
        let spread =
            (ratios.iter().map(|r| (r[t] - mean).powi(2)).sum::<f64>() / (seeds - 1) as f64).sqrt()
                / mean;
        let predicted = small[t];
        assert!(
            spread < 1.5 * predicted && spread > predicted / 1.5,
            "row {t}: spread over seeds {spread}, c_rel_se {predicted}"
        );
    }
}
