//! The hot loops run an AVX2 version on CPUs that have it and a baseline version elsewhere
//! (`model::fastmath::with_fast_isa`). Both must give the same numbers, bit for bit: a result
//! must not depend on the machine that computed it.
//!
//! One test in this file only: it switches the process-wide choice of version.

use std::sync::Arc;
use tripartite::data::synthetic::synthetic;
use tripartite::model::fastmath;
use tripartite::model::{FeatureMap, Mode, Params, Schedule, Simulation};

/// Every number a run leaves behind, as bits: A_net, c_t, y_t, and for the dynamic mode the
/// final hidden rates, processes and calcium.
fn run_bits(params: &Params) -> Vec<u64> {
    let sequence = Arc::new(synthetic(5, 8, params.seed, params.synthetic_scale));
    let mut sim = Simulation::new(params, sequence).expect("valid parameters");
    sim.run_to_end();
    let output = sim.output();
    let mut bits: Vec<u64> = output
        .attention
        .iter()
        .chain(&output.calcium)
        .chain(output.outputs.iter())
        .map(|x| x.to_bits())
        .collect();
    if let Some(dynamic) = sim.dynamic() {
        bits.extend(dynamic.hidden_rates().iter().map(|x| x.to_bits()));
        bits.extend(dynamic.process_drive().iter().map(|x| x.to_bits()));
        bits.push(dynamic.calcium().to_bits());
    }
    bits
}

#[test]
fn avx2_and_baseline_loops_give_identical_bits() {
    fastmath::force_baseline(false);
    #[cfg(target_arch = "x86_64")]
    assert_eq!(
        fastmath::uses_avx2(),
        std::arch::is_x86_feature_detected!("avx2"),
        "the fast loops must run wherever the CPU has AVX2"
    );
    if !fastmath::uses_avx2() {
        println!("this CPU has no AVX2: both runs take the baseline loops");
    }
    let mut cases = 0;
    for mode in [Mode::Dynamic, Mode::Algebraic] {
        for feature_map in [
            FeatureMap::Positive,
            FeatureMap::Hyperbolic,
            FeatureMap::Trig,
            FeatureMap::Elu1,
        ] {
            for (schedule, heterogeneity) in
                [(Schedule::Bidirectional, 0.0), (Schedule::Causal, 0.3)]
            {
                // m' = 2·2500 for paired maps: a full chunk of hidden neurons, a partial one,
                // and tails that are not a multiple of the vector width.
                let params = Params {
                    mode,
                    feature_map,
                    schedule,
                    heterogeneity,
                    m: 2500,
                    seed: 7,
                    ..Params::default()
                };
                fastmath::force_baseline(false);
                let fast = run_bits(&params);
                fastmath::force_baseline(true);
                assert!(!fastmath::uses_avx2());
                let baseline = run_bits(&params);
                fastmath::force_baseline(false);
                assert!(!fast.is_empty());
                let first_difference = fast.iter().zip(&baseline).position(|(a, b)| a != b);
                assert_eq!(
                    (fast.len(), first_difference),
                    (baseline.len(), None),
                    "{mode:?} {feature_map:?} {schedule:?} heterogeneity {heterogeneity}: \
                     the AVX2 and baseline loops differ"
                );
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 16);
}
