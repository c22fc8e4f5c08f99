//! Benchmarks for the bundled digits ViT (`tripartite::data::images`): building it from the
//! files compiled into the binary (target < 50 ms) and encoding one 8×8 digit, pixels to
//! every layer's q, k, v, attention and the class scores (target < 5 ms).
//!
//! Run: `cargo bench --bench vision`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tripartite::data::images::{bundled_digits, load_digits_model};

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

criterion_group! {
    name = vision;
    config = Criterion::default().sample_size(30);
    targets = benches
}
criterion_main!(vision);
