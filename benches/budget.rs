//! The neuron budget of one layer (issue 13, "Speed"): 12 heads of MiniLM layer 3 on the
//! bundled 16-token sentence `coreference-it`, 6 values of m up to 65 536, 3 seeds each, in
//! algebraic mode (216 runs). Target: under 20 s on the 2-core reference machine.
//!
//! Run with `cargo bench --bench budget`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::time::Duration;
use tripartite::data::experiment::Experiment;
use tripartite::sim::budget::{BudgetSpec, layer_budget};

fn one_layer(c: &mut Criterion) {
    let experiment = Experiment {
        source: "bundled:coreference-it"
            .parse()
            .expect("a bundled sentence"),
        ..Experiment::default()
    };
    let spec = BudgetSpec::default();
    assert_eq!(
        (spec.ms.len(), spec.ms.last(), spec.seeds),
        (6, Some(&65_536), 3)
    );
    let mut group = c.benchmark_group("budget");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(60));
    group.bench_function("layer3_12heads_6m_3seeds_16tokens", |b| {
        b.iter(|| {
            let heads = layer_budget(&experiment, 3, None, &spec).expect("budget");
            assert_eq!(heads.len(), 12);
            assert_eq!(heads[0].points.len(), 18);
            heads
        })
    });
    group.finish();
}

criterion_group!(benches, one_layer);
criterion_main!(benches);
