//! Benchmarks for the bundled digits ViT (`tripartite::data::images`): building it from the
//! files compiled into the binary (target < 50 ms) and encoding one 8×8 digit, pixels to
//! every layer's q, k, v, attention and the class scores (target < 5 ms); and the authors'
//! figure (c_t at m = 10³ and 10⁵ against Z_t, algebraic) on 200 tokens of head size 32, the
//! shape of a 200-wordpiece MiniLM text (target < 3 s; the text's encoding is timed by
//! `benches/bert.rs`).
//!
//! Run: `cargo bench --bench vision`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tripartite::data::experiment::Experiment;
use tripartite::data::images::{bundled_digits, load_digits_model};
use tripartite::data::source::SourceSpec;
use tripartite::io::figure::figure_panel;

fn benches(c: &mut Criterion) {
    c.bench_function("digits_vit_load", |b| {
        b.iter(|| load_digits_model().expect("the bundled model loads"))
    });
    let model = load_digits_model().expect("the bundled model loads");
    let digit = bundled_digits()[0].image();
    c.bench_function("digits_vit_encode_one_digit", |b| {
        b.iter(|| {
            model
                .encode(black_box(&digit), "digit 0")
                .expect("the digit encodes")
        })
    });
}

fn figure(c: &mut Criterion) {
    let experiment = Experiment {
        source: SourceSpec::Synthetic {
            tokens: 200,
            dim: 32,
            heads: 1,
        },
        ..Experiment::default()
    };
    c.bench_function("authors_figure_200_tokens", |b| {
        b.iter(|| figure_panel(black_box(&experiment)).expect("the figure runs"))
    });
}

criterion_group! {
    name = vision;
    config = Criterion::default().sample_size(30);
    targets = benches
}
criterion_group! {
    name = authors_figure;
    config = Criterion::default().sample_size(10);
    targets = figure
}
criterion_main!(vision, authors_figure);
