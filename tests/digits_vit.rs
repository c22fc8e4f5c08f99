//! The bundled digits ViT on the whole held-out set: its accuracy (≥ 95 %, as
//! `tools/train_vit_digits.py` measured it in PyTorch) and agreement, digit by digit, between
//! the Rust forward pass and PyTorch. The held-out set with PyTorch's predictions is
//! `tests/fixtures/digits_test_set.json`; the shipped model and the 48 digits the app offers
//! are compiled into the binary.

use serde_json::Value;
use std::path::Path;
use tripartite::data::bert::image::gray_image;
use tripartite::data::images::{bundled_digits, digits_model};

fn test_set() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/digits_test_set.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn pixels(d: &Value) -> Vec<u8> {
    d["pixels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap() as u8)
        .collect()
}

#[test]
fn held_out_accuracy_is_at_least_95_percent_and_matches_pytorch() {
    let set = test_set();
    let model = digits_model().unwrap();
    let digits = set["digits"].as_array().unwrap();
    assert!(digits.len() >= 300, "the whole held-out fifth");
    let (mut correct, mut agree) = (0, 0);
    for (i, d) in digits.iter().enumerate() {
        let image = gray_image(&pixels(d), 8, 8).unwrap();
        let encoding = model.encode(&image, "digit").unwrap();
        let predicted = encoding.predicted_class().unwrap() as u64;
        correct += usize::from(predicted == d["label"].as_u64().unwrap());
        agree += usize::from(predicted == d["predicted"].as_u64().unwrap());
        if i == 0 {
            let want = set["logits_first"].as_array().unwrap();
            for (ours, want) in encoding.logits.as_ref().unwrap().iter().zip(want) {
                let want = want.as_f64().unwrap() as f32;
                assert!((ours - want).abs() < 1e-4, "logit {ours} vs {want}");
            }
        }
    }
    assert_eq!(
        agree,
        digits.len(),
        "Rust and PyTorch predict the same class for every digit"
    );
    let accuracy = correct as f64 / digits.len() as f64;
    assert!(accuracy >= 0.95, "held-out accuracy {accuracy}");
    let recorded = set["held_out_accuracy"].as_f64().unwrap();
    assert!(
        (accuracy - recorded).abs() < 1e-6,
        "{accuracy} vs {recorded}"
    );
}

#[test]
fn the_bundled_digits_are_held_out_ones_and_mostly_right() {
    let set = test_set();
    let held_out: Vec<u64> = set["digits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["sklearn_index"].as_u64().unwrap())
        .collect();
    let model = digits_model().unwrap();
    let bundled = bundled_digits();
    assert_eq!(bundled.len(), 48);
    let mut correct = 0;
    for digit in bundled {
        assert!(held_out.contains(&(digit.sklearn_index as u64)));
        let encoding = model.encode(&digit.image(), "digit").unwrap();
        correct += usize::from(encoding.predicted_class() == Some(digit.label as usize));
    }
    assert!(
        correct * 100 >= 90 * bundled.len(),
        "{correct} of {}",
        bundled.len()
    );
}
