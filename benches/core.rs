//! Simulator speed on the two reference cases:
//! - dynamic, synthetic:8x32, m = 65 536 (2.1 M tripartite synapses), defaults otherwise;
//! - algebraic, synthetic:128x64, m = 100 000.
//!
//! Run with `cargo bench --bench core`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::Arc;
use std::time::Duration;
use tripartite::data::synthetic::synthetic;
use tripartite::model::{Mode, Params, Simulation};

fn run(params: &Params, tokens: usize, dim: usize) -> f64 {
    let sequence = Arc::new(synthetic(tokens, dim, params.seed, params.synthetic_scale));
    let mut sim = Simulation::new(params, sequence).expect("valid");
    sim.run_to_end();
    sim.metrics().attn_tv
}

fn reference_cases(c: &mut Criterion) {
    let mut group = c.benchmark_group("core");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let dynamic = Params {
        m: 65_536,
        ..Params::default()
    };
    group.bench_function("dynamic_8x32_m65536", |b| b.iter(|| run(&dynamic, 8, 32)));
    let algebraic = Params {
        m: 100_000,
        mode: Mode::Algebraic,
        ..Params::default()
    };
    group.bench_function("algebraic_128x64_m100000", |b| {
        b.iter(|| run(&algebraic, 128, 64))
    });
    group.finish();
}

fn one_step(c: &mut Criterion) {
    let params = Params {
        m: 65_536,
        ..Params::default()
    };
    let sequence = Arc::new(synthetic(8, 32, 1, 1.0));
    let mut sim = Simulation::new(&params, sequence.clone()).expect("valid");
    // Into the read phase, where a step also forms H h.
    for _ in 0..900 {
        sim.step();
    }
    c.bench_function("dynamic_read_step_m65536", |b| {
        b.iter(|| {
            if !sim.step() {
                sim = Simulation::new(&params, sequence.clone()).expect("valid");
            }
        })
    });
}

criterion_group!(benches, reference_cases, one_step);
criterion_main!(benches);
