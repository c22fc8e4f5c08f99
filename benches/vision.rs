//! Benchmarks for the bundled digits ViT (`tripartite::data::images`): building it from the
//! files compiled into the binary (target < 50 ms) and encoding one 8×8 digit, pixels to
//! every layer's q, k, v, attention and the class scores (target < 5 ms); and the authors'
//! figure (c_t at m = 10³ and 10⁵ against Z_t, algebraic) on the bundled passage, about 200
//! MiniLM wordpieces of head size 32, as the app and `tripartite figure` draw it (target < 3 s).
//!
//! Run: `cargo bench --bench vision` (the figure alone: `-- authors_figure`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tripartite::data::images::{bundled_digits, load_digits_model};
use tripartite::jobs::figure::{figure_panel, passage_experiment};

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
    let experiment = passage_experiment();
    let tokens = figure_panel(&experiment)
        .expect("the figure runs")
        .tokens
        .len();
    println!("authors_figure: the bundled passage, {tokens} wordpieces");
    c.bench_function("authors_figure_passage", |b| {
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
