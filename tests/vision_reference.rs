//! Checks the ALBERT and ViT forward passes of `tripartite::data::bert` against HuggingFace
//! transformers (PyTorch, eager attention) on two small randomly initialised models.
//!
//! The models and the reference activations are committed under `tests/fixtures/`
//! (`albert_tiny/`, `vit_tiny/`, `*_reference.json`), written by `tools/make_small_models.py`;
//! CI has no torch and only reads them. Tolerances as for MiniLM: attention within 1e-4
//! absolute, q/k/v within 1e-3 of each tensor's largest magnitude, equal predicted classes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ndarray::{Array2, Array3};
use serde_json::Value;
use tripartite::data::bert::{BertError, BertModel, ImageError, LayerHeads, VitModel};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn reference(name: &str) -> Value {
    let path = fixtures().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture is valid JSON")
}

fn matrix(v: &Value) -> Array2<f32> {
    let rows: Vec<Vec<f32>> = v
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            r.as_array()
                .expect("row")
                .iter()
                .map(|x| x.as_f64().expect("number") as f32)
                .collect()
        })
        .collect();
    let (n, m) = (rows.len(), rows[0].len());
    Array2::from_shape_vec((n, m), rows.concat()).expect("rectangular")
}

fn max_abs_diff(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    assert_eq!(a.dim(), b.dim(), "shape mismatch");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Compares every head listed in `heads` (the fixture's) against `layers` (ours).
fn check_heads(what: &str, layers: &[LayerHeads], heads: &Value) -> usize {
    let mut checked = 0;
    for h in heads.as_array().expect("heads") {
        let layer = h["layer"].as_u64().unwrap() as usize;
        let head = h["head"].as_u64().unwrap() as usize;
        let ours = &layers[layer];
        let pick = |a: &Array3<f32>| a.index_axis(ndarray::Axis(0), head).to_owned();
        let attention = max_abs_diff(&pick(&ours.attention), &matrix(&h["attention"]));
        assert!(
            attention <= 1e-4,
            "{what} layer {layer} head {head}: attention differs by {attention}"
        );
        for (name, ours) in [("q", &ours.q), ("k", &ours.k), ("v", &ours.v)] {
            let want = matrix(&h[name]);
            let scale = want.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            let rel = max_abs_diff(&pick(ours), &want) / scale;
            assert!(
                rel <= 1e-3,
                "{what} layer {layer} head {head}: {name} differs by {rel} (relative)"
            );
        }
        checked += 1;
    }
    checked
}

#[test]
fn albert_matches_transformers() {
    let fixture = reference("albert_tiny_reference.json");
    let model = BertModel::load(&fixtures().join("albert_tiny")).expect("ALBERT loads");
    assert_eq!(model.config().embedding_size, 16);
    assert_eq!(model.config().hidden_size, 32);
    let mut checked = 0;
    for sentence in fixture["sentences"].as_array().unwrap() {
        let text = sentence["text"].as_str().unwrap();
        let encoding = model.encode(text).unwrap();
        let tokens: Vec<&str> = sentence["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(encoding.tokens, tokens);
        assert_eq!(encoding.num_layers(), 3);
        checked += check_heads(text, &encoding.layers, &sentence["heads"]);
    }
    // Every head of every layer of both sentences (the shared layer runs three times).
    assert_eq!(checked, 2 * 3 * 4);
}

fn vit() -> VitModel {
    VitModel::load(&fixtures().join("vit_tiny")).expect("ViT loads")
}

#[test]
fn vit_matches_transformers() {
    let fixture = reference("vit_tiny_reference.json");
    let model = vit();
    let encoding = model
        .encode_file(&fixtures().join("vit_tiny/input.png"))
        .unwrap();
    assert_eq!(encoding.tokens.len(), 17);
    assert_eq!(encoding.tokens[0], "[CLS]");
    assert_eq!(encoding.tokens[5], "r1c0");
    // The image processor's output, channel by channel.
    for (c, want) in fixture["pixel_values"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let ours = encoding.pixels.index_axis(ndarray::Axis(0), c).to_owned();
        let diff = max_abs_diff(&ours, &matrix(want));
        assert!(diff <= 1e-5, "channel {c}: pixels differ by {diff}");
    }
    assert_eq!(
        check_heads("vit", &encoding.layers, &fixture["heads"]),
        2 * 4
    );
    let logits = encoding.logits.as_ref().expect("classifier head");
    let want: Vec<f32> = fixture["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    for (ours, want) in logits.iter().zip(&want) {
        assert!((ours - want).abs() <= 1e-4, "logit {ours} vs {want}");
    }
    let predicted = encoding.predicted_class().unwrap();
    assert_eq!(
        predicted,
        fixture["predicted_class"].as_u64().unwrap() as usize
    );
    assert_eq!(model.label(predicted), "blank");
}

/// Copies a fixture folder into a temporary one, minus `skip`.
fn copy_without(folder: &str, skip: &[&str]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixtures().join(folder)).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if !skip.contains(&name.to_str().unwrap()) {
            std::fs::copy(entry.path(), tmp.path().join(name)).unwrap();
        }
    }
    tmp
}

#[test]
fn albert_without_its_shared_layer_is_refused() {
    let tmp = copy_without("albert_tiny", &[]);
    let path = tmp.path().join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let kept: HashMap<String, safetensors::tensor::TensorView<'_>> = st
        .tensors()
        .into_iter()
        .filter(|(name, _)| !name.contains("albert_layers.0.ffn."))
        .collect();
    std::fs::write(&path, safetensors::serialize(kept, None).unwrap()).unwrap();
    let err = BertModel::load(tmp.path()).unwrap_err();
    assert!(matches!(err, BertError::MissingSharedLayer { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "{} has no tensor named albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight: an ALBERT folder needs the one layer all layers share (encoder.albert_layer_groups.0.albert_layers.0.*)",
            path.display()
        )
    );
}

#[test]
fn vit_without_preprocessor_cannot_read_images() {
    let tmp = copy_without("vit_tiny", &["preprocessor_config.json"]);
    let model = VitModel::load(tmp.path()).expect("the weights alone load");
    let err = model
        .encode_file(&tmp.path().join("input.png"))
        .unwrap_err();
    assert!(
        matches!(
            err,
            BertError::Image(ImageError::MissingPreprocessor { .. })
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "model folder {} has no preprocessor_config.json, which says how this model scales and normalises pixels: copy it from the model's HuggingFace repository",
            tmp.path().display()
        )
    );
}

#[test]
fn each_family_refuses_the_other_input() {
    let err = BertModel::load(&fixtures().join("vit_tiny"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("has no tokenizer.json"), "{err}");
    let tmp = copy_without("vit_tiny", &[]);
    std::fs::copy(
        fixtures().join("albert_tiny/tokenizer.json"),
        tmp.path().join("tokenizer.json"),
    )
    .unwrap();
    let err = BertModel::load(tmp.path()).unwrap_err().to_string();
    assert!(
        err.contains("describes a vision transformer (ViT)"),
        "{err}"
    );
    let err = VitModel::load(&fixtures().join("albert_tiny"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("describes a text model"), "{err}");
}
