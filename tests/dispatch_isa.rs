//! Every version of the hot loops — baseline, AVX2, AVX-512 — gives the same bits
//! (`model::fastmath::with_fast_isa`), including late in long read slots where the Euler
//! kernel reuses what stands still. Versions the CPU lacks are skipped, and say so.
//!
//! One test in this file only: it switches the process-wide choice of version.

use std::sync::Arc;
use tripartite::data::synthetic::synthetic;
use tripartite::model::fastmath::{self, Isa};
use tripartite::model::{Ablation, FeatureMap, Params, Schedule, Simulation};

/// A_net, c_t, y_t and the final hidden rates, processes and calcium, as bits.
fn run_bits(params: &Params) -> Vec<u64> {
    let sequence = Arc::new(synthetic(4, 8, params.seed, params.synthetic_scale));
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
    let dynamic = sim.dynamic().expect("dynamic mode");
    bits.extend(dynamic.hidden_rates().iter().map(|x| x.to_bits()));
    bits.extend(dynamic.process_drive().iter().map(|x| x.to_bits()));
    bits.push(dynamic.calcium().to_bits());
    bits
}

#[test]
fn every_isa_version_gives_identical_bits() {
    let mut cases = 0;
    for (feature_map, schedule, heterogeneity, decay, ablation) in [
        (
            FeatureMap::Positive,
            Schedule::Bidirectional,
            0.0,
            0.0,
            Ablation::None,
        ),
        (
            FeatureMap::Hyperbolic,
            Schedule::Causal,
            0.3,
            0.0,
            Ablation::None,
        ),
        (
            FeatureMap::Oprf,
            Schedule::Bidirectional,
            0.0,
            0.001,
            Ablation::None,
        ),
        (
            FeatureMap::Truncated,
            Schedule::Causal,
            0.0,
            0.0,
            Ablation::FrozenCalcium,
        ),
        (
            FeatureMap::RectifiedCosine,
            Schedule::Bidirectional,
            0.0,
            0.0,
            Ablation::UniformPresynaptic,
        ),
        (
            FeatureMap::Elu1,
            Schedule::Bidirectional,
            0.0,
            0.0,
            Ablation::None,
        ),
    ] {
        // m' ≥ 4 × 4096 for positive maps: chunks run in parallel; odd sizes leave tails
        // that are not a multiple of any vector width.
        let params = Params {
            feature_map,
            schedule,
            heterogeneity,
            decay,
            ablation,
            m: 16_411,
            seed: 11,
            t_write: 20.0,
            t_read: 300.0,
            ..Params::default()
        };
        let mut runs = Vec::new();
        for isa in [Isa::Baseline, Isa::Avx2, Isa::Avx512] {
            if fastmath::force_isa(isa) {
                runs.push((isa, run_bits(&params)));
            } else {
                println!("this CPU has no {isa:?}: that version is not compared");
            }
        }
        fastmath::force_baseline(false);
        let (_, baseline) = &runs[0];
        assert!(!baseline.is_empty());
        for (isa, bits) in &runs[1..] {
            let first_difference = bits.iter().zip(baseline).position(|(a, b)| a != b);
            assert_eq!(
                (bits.len(), first_difference),
                (baseline.len(), None),
                "{feature_map:?} {schedule:?} {ablation:?}: {isa:?} and baseline differ"
            );
        }
        cases += 1;
    }
    assert_eq!(cases, 6);
}
