//! Ablations (issue 13 §4): `none` reproduces the model as it was before ablations existed, bit
//! for bit, and each ablation keeps the exact identity the spec states.

use std::sync::Arc;
use tripartite::model::params::{Ablation, FeatureMap, Mode, Params, Schedule};
use tripartite::model::sequence::Sequence;
use tripartite::model::simulation::Simulation;

/// FNV-1a over the bits of A_net, c and y of a finished run.
fn fingerprint(params: &Params, sequence: &Sequence) -> u64 {
    let mut sim = Simulation::new(params, Arc::new(sequence.clone())).unwrap();
    sim.run_to_end();
    let out = sim.output();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let values = out
        .attention
        .iter()
        .chain(out.calcium.iter())
        .chain(out.outputs.iter());
    for value in values {
        for byte in value.to_bits().to_le_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The baseline runs: both modes, both schedules, gains on and off, three maps.
fn baseline_cases() -> Vec<(&'static str, Params, Sequence)> {
    let algebraic = |map, schedule, heterogeneity| Params {
        mode: Mode::Algebraic,
        feature_map: map,
        schedule,
        heterogeneity,
        m: 3000,
        ..Params::default()
    };
    let dynamic = |map, schedule| Params {
        mode: Mode::Dynamic,
        feature_map: map,
        schedule,
        m: 40,
        t_read: 100.0,
        ..Params::default()
    };
    vec![
        (
            "algebraic positive bidirectional",
            algebraic(FeatureMap::Positive, Schedule::Bidirectional, 0.0),
            Sequence::gaussian(7, 8, 3, 0.8),
        ),
        (
            "algebraic trig causal gains",
            algebraic(FeatureMap::Trig, Schedule::Causal, 0.3),
            Sequence::gaussian(6, 8, 4, 0.8),
        ),
        (
            "algebraic hyperbolic causal",
            algebraic(FeatureMap::Hyperbolic, Schedule::Causal, 0.0),
            Sequence::gaussian(5, 6, 5, 1.0),
        ),
        (
            "dynamic positive bidirectional",
            dynamic(FeatureMap::Positive, Schedule::Bidirectional),
            Sequence::gaussian(4, 6, 6, 0.8),
        ),
        (
            "dynamic trig causal",
            dynamic(FeatureMap::Trig, Schedule::Causal),
            Sequence::gaussian(4, 6, 7, 0.8),
        ),
    ]
}

/// Fingerprints of the same runs taken at 9e91380, before feature maps, diagnostics and
/// ablations were added: `ablation = none` (the default) must still give them, bit for bit.
#[test]
fn none_reproduces_the_model_before_ablations_bit_for_bit() {
    let before = [
        0xdd5b_6e55_d5f7_895c_u64,
        0x1c51_e217_ed61_2278,
        0xe1a5_a8a2_bc94_5969,
        0x19ba_a126_dae3_98da,
        0x9477_06a1_9084_89f8,
    ];
    for ((name, params, sequence), expected) in baseline_cases().into_iter().zip(before) {
        assert_eq!(params.ablation, Ablation::None);
        let now = fingerprint(&params, &sequence);
        assert_eq!(now, expected, "{name}: {now:#018x} differs from before");
    }
}

fn algebraic(ablation: Ablation, schedule: Schedule, heterogeneity: f64) -> Params {
    Params {
        mode: Mode::Algebraic,
        m: 2000,
        schedule,
        heterogeneity,
        ablation,
        ..Params::default()
    }
}

fn finished(params: &Params, sequence: &Sequence) -> Simulation {
    let mut sim = Simulation::new(params, Arc::new(sequence.clone())).unwrap();
    sim.run_to_end();
    sim
}

/// frozen_calcium keeps every within-row ratio of A_net to 1e-12, and row t sums to c_t/c_1.
#[test]
fn frozen_calcium_keeps_row_ratios_and_rows_sum_to_c_t_over_c_1() {
    let sequence = Sequence::gaussian(6, 8, 11, 0.8);
    for schedule in [Schedule::Bidirectional, Schedule::Causal] {
        let base = finished(&algebraic(Ablation::None, schedule, 0.0), &sequence);
        let frozen = finished(
            &algebraic(Ablation::FrozenCalcium, schedule, 0.0),
            &sequence,
        );
        let (a, b) = (&base.output().attention, &frozen.output().attention);
        let c = &base.output().calcium;
        for t in 0..6 {
            for tau in 0..6 {
                if a[[t, 0]] == 0.0 || a[[t, tau]] == 0.0 {
                    assert_eq!(b[[t, tau]], 0.0, "masked entries stay 0");
                    continue;
                }
                let before = a[[t, tau]] / a[[t, 0]];
                let after = b[[t, tau]] / b[[t, 0]];
                assert!(
                    (before - after).abs() <= 1e-12 * before.abs(),
                    "{schedule} ({t},{tau})"
                );
            }
            let sum: f64 = b.row(t).sum();
            let expected = c[t] / c[0];
            assert!(
                (sum - expected).abs() < 1e-12 * expected,
                "{schedule} row {t}: {sum} vs {expected}"
            );
            assert_eq!(frozen.output().calcium[t], c[0], "c stays at c_1");
        }
        // Not vacuous: later rows do not sum to 1.
        assert!((b.row(5).sum() - 1.0).abs() > 1e-3);
    }
}

/// no_astrocyte with σ_γ = 0: ψ ≡ 1, so row t of A_net sums to c_t.
#[test]
fn no_astrocyte_rows_sum_to_the_calcium() {
    let sequence = Sequence::gaussian(6, 8, 12, 0.8);
    for schedule in [Schedule::Bidirectional, Schedule::Causal] {
        let sim = finished(&algebraic(Ablation::NoAstrocyte, schedule, 0.0), &sequence);
        let out = sim.output();
        for t in 0..6 {
            let sum: f64 = out.attention.row(t).sum();
            let c = out.calcium[t];
            assert!(
                (sum - c).abs() < 1e-12 * c,
                "{schedule} row {t}: {sum} vs c_t {c}"
            );
            assert!(
                (c - 1.0).abs() > 1e-3,
                "c_t is not 1, so the rows are not normalised"
            );
        }
        let y = out.attention.dot(&sequence.values);
        assert!((&y - &out.outputs).iter().all(|e| e.abs() < 1e-12));
    }
}

/// shuffled_processes and uniform_presynaptic change the calcium (and so A_net) but keep the
/// numerators: within-row ratios are those of the model.
#[test]
fn shuffled_and_uniform_change_only_the_normaliser() {
    let sequence = Sequence::gaussian(6, 8, 13, 0.8);
    let base = finished(
        &algebraic(Ablation::None, Schedule::Bidirectional, 0.0),
        &sequence,
    );
    for ablation in [Ablation::ShuffledProcesses, Ablation::UniformPresynaptic] {
        let sim = finished(
            &algebraic(ablation, Schedule::Bidirectional, 0.0),
            &sequence,
        );
        let (a, b) = (&base.output().attention, &sim.output().attention);
        for t in 0..6 {
            let ratio = b[[t, 3]] / b[[t, 0]];
            let expected = a[[t, 3]] / a[[t, 0]];
            assert!(
                (ratio - expected).abs() < 1e-12 * expected.abs(),
                "{ablation}"
            );
            let change = (sim.output().calcium[t] - base.output().calcium[t]).abs();
            assert!(
                change > 1e-6 * base.output().calcium[t],
                "{ablation} row {t}"
            );
        }
    }
}

/// The algebraic shuffled calcium is Σ_j φ_j(q̃_t) g_{π(j)}, checked against the exact features.
#[test]
fn shuffled_calcium_reads_the_permuted_presynaptic_weights() {
    use tripartite::model::features::features_with;
    let sequence = Sequence::gaussian(4, 6, 14, 0.8);
    for map in [
        FeatureMap::Positive,
        FeatureMap::Hyperbolic,
        FeatureMap::Trig,
        FeatureMap::Oprf,
    ] {
        let params = Params {
            m: 300,
            feature_map: map,
            ..algebraic(Ablation::ShuffledProcesses, Schedule::Causal, 0.0)
        };
        let sim = finished(&params, &sequence);
        let net = sim.network();
        let perm = net.permutation.as_ref().unwrap();
        let mut sorted = perm.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            (0..net.sizes.hidden).collect::<Vec<_>>(),
            "a permutation"
        );
        let (q, k) = (sequence.scaled_queries(), sequence.scaled_keys());
        let phi = |x| features_with(map, &net.projection, &net.constants, x);
        for t in 0..4 {
            let h = phi(q.row(t));
            let mut g = vec![0.0; h.len()];
            for tau in 0..=t {
                for (gj, f) in g.iter_mut().zip(phi(k.row(tau))) {
                    *gj += f;
                }
            }
            let expected: f64 = (0..h.len()).map(|j| h[j] * g[perm[j]]).sum();
            let c = sim.output().calcium[t];
            assert!(
                (c - expected).abs() < 1e-10 * expected.abs(),
                "{map} row {t}: {c} vs {expected}"
            );
        }
    }
}

/// In dynamic mode: none is unchanged (above); no_astrocyte rows are e·h (ψ = 1);
/// frozen_calcium holds c from the end of read slot 1; shuffled and uniform run and change c.
#[test]
fn dynamic_ablations_do_what_they_say() {
    let sequence = Sequence::gaussian(4, 6, 15, 0.8);
    let params = |ablation| Params {
        mode: Mode::Dynamic,
        m: 64,
        t_read: 100.0,
        ablation,
        ..Params::default()
    };
    let base = finished(&params(Ablation::None), &sequence);
    let frozen = finished(&params(Ablation::FrozenCalcium), &sequence);
    let c = &frozen.output().calcium;
    assert!(
        c.iter().all(|&v| v == c[0]),
        "frozen after read slot 1: {c:?}"
    );
    assert_eq!(c[0], base.output().calcium[0], "read slot 1 is unchanged");
    assert_ne!(base.output().calcium[3], c[3]);
    let none_psi = finished(&params(Ablation::NoAstrocyte), &sequence);
    for t in 0..4 {
        // h, e and c move as in the model (none of them depends on ψ); only the division by
        // c (network units) is gone, entry by entry.
        let c_network = base.output().calcium[t] * base.params().eta * base.params().t_write;
        for tau in 0..4 {
            let expected = base.output().attention[[t, tau]] * c_network;
            let got = none_psi.output().attention[[t, tau]];
            assert!(
                (got - expected).abs() < 1e-12 * expected,
                "({t},{tau}): {got} vs {expected}"
            );
        }
        assert_eq!(none_psi.output().calcium[t], base.output().calcium[t]);
    }
    for ablation in [Ablation::ShuffledProcesses, Ablation::UniformPresynaptic] {
        let sim = finished(&params(ablation), &sequence);
        let changed = (0..4).any(|t| sim.output().calcium[t] != base.output().calcium[t]);
        assert!(changed, "{ablation} changes the calcium");
        assert!(
            sim.output()
                .calcium
                .iter()
                .all(|c| c.is_finite() && *c > 0.0)
        );
    }
}

/// An unknown ablation is refused in one sentence that lists the known ones.
#[test]
fn an_unknown_ablation_is_refused_with_the_list() {
    let mut params = Params::default();
    let error = params
        .set("ablation", "no_neurons")
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "ablation must be one of: none, no_astrocyte, frozen_calcium, shuffled_processes, uniform_presynaptic"
    );
    assert_eq!(Ablation::ALL.len(), 5);
    assert!(
        Ablation::ALL
            .iter()
            .all(|a| !a.label().is_empty() && !a.tooltip().is_empty())
    );
}
