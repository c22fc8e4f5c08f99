//! A whole layer against one head (issue 17): 12 heads at m = 4096 in dynamic mode on a
//! 16-token bundled sentence, against the single head at the same m. The work is 12×, so the
//! goal is a layer speed of at least 1/12 of the single head's.
//!
//! Besides criterion's two timings, the bench first times `PAIRS` interleaved pairs (layer,
//! then single head, each `STEPS` Euler steps from the same point of the read slots) and
//! prints the median of each and of their ratio, so both sides see the same machine load.
//!
//! Run: `cargo bench --bench layer`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::Arc;
use std::time::Instant;
use tripartite::data::source::{load_layer, load_sequence};
use tripartite::data::spec::SourceSpec;
use tripartite::model::layer::LayerSimulation;
use tripartite::model::params::{Heads, Params};
use tripartite::model::simulation::Simulation;

/// A bundled sentence of 16 wordpieces.
const SENTENCE: &str = "bundled:coreference-it";
const STEPS: u64 = 400;
const PAIRS: usize = 15;
/// Where the pairs start: past the 16 write slots (1600 steps), in the read slots that make up
/// 12 800 of the run's 14 400 steps.
const WARM_STEPS: u64 = 1700;

fn params(heads: Heads) -> Params {
    Params {
        m: 4096,
        layer: 3,
        heads,
        ..Params::default()
    }
}

fn build_layer() -> LayerSimulation {
    let spec: SourceSpec = SENTENCE.parse().expect("a source");
    let all = params(Heads::All);
    let layer = Arc::new(load_layer(&spec, None, &all).expect("the bundled layer"));
    assert_eq!(
        layer.heads[0].len(),
        16,
        "{SENTENCE} should have 16 wordpieces"
    );
    LayerSimulation::new(&all, layer).expect("the layer builds")
}

fn build_single() -> Simulation {
    let spec: SourceSpec = SENTENCE.parse().expect("a source");
    let one = params(Heads::One);
    let sequence = Arc::new(load_sequence(&spec, None, &one).expect("the head"));
    Simulation::new(&one, sequence).expect("the head builds")
}

/// `steps` steps of `step_block`, in blocks as the worker takes them.
fn run_steps(mut step_block: impl FnMut(u64) -> u64, steps: u64) {
    let mut left = steps;
    while left > 0 {
        let taken = step_block(left);
        assert!(taken > 0, "the run ended early");
        left -= taken;
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn interleaved_pairs() {
    let (mut layer, mut single) = (build_layer(), build_single());
    run_steps(|n| layer.step_block(n), WARM_STEPS);
    run_steps(|n| single.step_block(n), WARM_STEPS);
    let (mut layer_s, mut single_s, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..PAIRS {
        let t = Instant::now();
        run_steps(|n| layer.step_block(n), STEPS);
        let l = t.elapsed().as_secs_f64();
        let t = Instant::now();
        run_steps(|n| single.step_block(n), STEPS);
        let s = t.elapsed().as_secs_f64();
        layer_s.push(STEPS as f64 / l);
        single_s.push(STEPS as f64 / s);
        ratio.push(s / l);
    }
    println!(
        "layer of 12 heads vs one head, m = 4096, dynamic, N = 16, {PAIRS} interleaved pairs of {STEPS} steps, {} rayon threads:",
        rayon::current_num_threads()
    );
    println!(
        "  median layer {:.0} steps/s, single head {:.0} steps/s, median ratio {:.3} (goal ≥ {:.3} = 1/12)",
        median(&mut layer_s),
        median(&mut single_s),
        median(&mut ratio),
        1.0 / 12.0
    );
}

fn benches(c: &mut Criterion) {
    interleaved_pairs();
    let (mut layer, mut single) = (build_layer(), build_single());
    let mut group = c.benchmark_group("layer_m4096_n16");
    group.sample_size(10);
    group.bench_function("12_heads_50_steps", |b| {
        b.iter(|| {
            if layer.is_finished() {
                layer = build_layer();
            }
            run_steps(|n| layer.step_block(n), 50)
        })
    });
    group.bench_function("1_head_50_steps", |b| {
        b.iter(|| {
            if single.is_finished() {
                single = build_single();
            }
            run_steps(|n| single.step_block(n), 50)
        })
    });
    group.finish();
}

criterion_group!(layer, benches);
criterion_main!(layer);
