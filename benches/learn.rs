//! Learning speed (issue 27, "Learning speed"): MiniLM layer 3 at m = 256 on the first 200
//! shipped training sentences, 200 full-batch Adam steps. Targets on the 2-core reference
//! machine: one head under 30 s, the whole layer (12 heads) under 3 minutes. Encoding the
//! sentences is done once, outside the timed part.
//!
//! Needs the MiniLM folder (models/ of the checkout or TRIPARTITE_MINILM_DIR).
//! Run with `cargo bench --bench learn` (or `-- one_head` / `-- whole_layer`).

use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use tripartite::data::real::model_layer;
use tripartite::jobs::learn::{SHIPPED_TRAIN, sentence_lines};
use tripartite::model::learn::{HeadExample, HeadTask, LearnSettings, learn_heads};

const LAYER: usize = 3;
const SENTENCES: usize = 200;

fn tasks() -> Option<Vec<HeadTask>> {
    let dir = tripartite::data::bert::reference_model_dir()?;
    let sentences = sentence_lines(SHIPPED_TRAIN);
    assert!(sentences.len() >= SENTENCES);
    let mut per_head: Vec<Vec<HeadExample>> = vec![Vec::new(); 12];
    for text in &sentences[..SENTENCES] {
        let layer = model_layer(&dir, text, LAYER).expect("encodes");
        for (h, seq) in layer.heads.iter().enumerate() {
            per_head[h].push(HeadExample::from_sequence(seq));
        }
    }
    Some(
        per_head
            .into_iter()
            .enumerate()
            .map(|(head, train)| HeadTask {
                head,
                seed: 1,
                train,
                held_out: Vec::new(),
            })
            .collect(),
    )
}

fn learning(c: &mut Criterion) {
    let Some(tasks) = tasks() else {
        eprintln!("learn bench: no MiniLM folder (set TRIPARTITE_MINILM_DIR); skipped");
        return;
    };
    let settings = LearnSettings::new(256, 1);
    let cancel = AtomicBool::new(false);
    let mut group = c.benchmark_group("learn");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(60));
    group.bench_function("one_head_m256_200_sentences_200_steps", |b| {
        b.iter(|| {
            let out = learn_heads(&tasks[..1], settings, 0, &|_| {}, &cancel).expect("runs");
            assert!(out[0].1.train_tv < out[0].1.train_tv_random);
            out
        })
    });
    group.bench_function("whole_layer_12_heads_m256_200_sentences_200_steps", |b| {
        b.iter(|| learn_heads(&tasks, settings, 0, &|_| {}, &cancel).expect("runs"))
    });
    group.finish();
}

criterion_group!(benches, learning);
criterion_main!(benches);
