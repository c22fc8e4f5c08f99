//! Images on the command line, end to end through the real binary: `digits:INDEX`,
//! `image:PATH`, `model:DIR` with `--image`, `encode --image`, and one clear sentence for
//! each kind of bad input.

use ndarray::Array2;
use ndarray_npy::read_npy;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tripartite::data::images::bundled_digits;

fn tripartite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripartite"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

/// The command fails with exactly one line on stderr that contains `expect`.
fn fails_with(args: &[&str], expect: &str) {
    let output = tripartite(args);
    assert!(!output.status.success(), "{args:?} succeeded");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(expect), "{args:?}: {stderr}");
}

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Bundled digit `index` saved as an 8×8 grayscale PNG.
fn digit_png(dir: &Path, index: usize) -> PathBuf {
    let digit = &bundled_digits()[index];
    let path = dir.join(format!("digit{index}.png"));
    image::GrayImage::from_raw(8, 8, digit.pixels.clone())
        .unwrap()
        .save(&path)
        .unwrap();
    path
}

#[test]
fn encode_a_bundled_digit_and_the_same_digit_as_a_png() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let report = json_of(&tripartite(&[
        "encode",
        "--image",
        "digits:3",
        "--layer",
        "1",
        "--head",
        "2",
        "--out",
        s(&a),
        "--json",
    ]));
    assert_eq!(report["tokens"], 17);
    assert_eq!(report["head_size"], 16);
    assert_eq!(report["model"], "digits ViT (bundled)");
    let predicted = report["predicted_class"]
        .as_u64()
        .expect("a predicted class");
    assert!(predicted < 10);
    assert_eq!(report["predicted_label"], predicted.to_string());
    assert_eq!(report["logits"].as_array().unwrap().len(), 10);
    let q: Array2<f32> = read_npy(a.join("q.npy")).unwrap();
    assert_eq!(q.dim(), (17, 16));
    let attention: Array2<f32> = read_npy(a.join("attention_softmax.npy")).unwrap();
    for row in attention.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-5);
    }
    let tokens = std::fs::read_to_string(a.join("tokens.txt")).unwrap();
    assert_eq!(tokens.lines().next(), Some("[CLS]"));
    assert_eq!(tokens.lines().nth(16), Some("r3c3"));

    let png = digit_png(tmp.path(), 3);
    let report_png = json_of(&tripartite(&[
        "encode",
        "--image",
        s(&png),
        "--layer",
        "1",
        "--head",
        "2",
        "--out",
        s(&b),
        "--json",
    ]));
    assert_eq!(report_png["predicted_class"], report["predicted_class"]);
    let q_png: Array2<f32> = read_npy(b.join("q.npy")).unwrap();
    assert_eq!(
        q_png, q,
        "the PNG goes through the same pipeline as the bundled pixels"
    );
}

#[test]
fn encode_with_a_vit_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let vit = fixture("vit_tiny");
    let report = json_of(&tripartite(&[
        "encode",
        "--image",
        s(&vit.join("input.png")),
        "--model",
        s(&vit),
        "--out",
        s(tmp.path()),
        "--json",
    ]));
    assert_eq!(report["predicted_class"], 4);
    assert_eq!(report["predicted_label"], "blank");
    assert_eq!(report["tokens"], 17);
    // Plain output names the prediction too.
    let out = tripartite(&[
        "encode",
        "--image",
        s(&vit.join("input.png")),
        "--model",
        s(&vit),
        "--out",
        s(tmp.path()),
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("(predicted: blank)"));
}

#[test]
fn images_run_as_sequences() {
    let tmp = tempfile::tempdir().unwrap();
    let png = digit_png(tmp.path(), 5);
    let vit = fixture("vit_tiny");
    let model_spec = format!("model:{}", vit.display());
    let input = vit.join("input.png");
    let cases: Vec<Vec<String>> = vec![
        vec![
            "--sequence".into(),
            "digits:5".into(),
            "--set".into(),
            "layer=2".into(),
            "--set".into(),
            "head=3".into(),
        ],
        vec!["--sequence".into(), format!("image:{}", png.display())],
        vec!["--image".into(), s(&png).into()],
        vec![
            "--sequence".into(),
            model_spec,
            "--image".into(),
            s(&input).into(),
            "--set".into(),
            "layer=1".into(),
        ],
    ];
    for (i, extra) in cases.iter().enumerate() {
        let mut args = vec!["run", "--json", "--set", "m=64", "--set", "t_read=50"];
        args.extend(extra.iter().map(String::as_str));
        let report = json_of(&tripartite(&args));
        let sequence = &report["sequence"];
        assert_eq!(
            sequence["tokens"].as_array().unwrap().len(),
            17,
            "{extra:?}"
        );
        let text = sequence["text"].as_str().unwrap();
        assert!(text.contains("the model predicts "), "{extra:?}: {text}");
        if i == 0 {
            assert_eq!(sequence["layer"], 2);
            assert_eq!(sequence["head"], 3);
            assert!(
                text.starts_with("digit 5 of the bundled held-out set"),
                "{text}"
            );
        }
        if i == 3 {
            assert!(text.ends_with("the model predicts blank"), "{text}");
            assert_eq!(sequence["model"], "vit_tiny");
        }
    }
}

#[test]
fn an_experiment_file_records_the_image() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("e.toml");
    let vit = fixture("vit_tiny");
    let model_spec = format!("model:{}", vit.display());
    let input = vit.join("input.png");
    let out = tripartite(&[
        "run",
        "--sequence",
        &model_spec,
        "--image",
        s(&input),
        "--set",
        "m=16",
        "--set",
        "t_read=20",
        "--set",
        "layer=1",
        "--save-experiment",
        s(&file),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let toml = std::fs::read_to_string(&file).unwrap();
    assert!(
        toml.contains(&format!("source = \"{model_spec}\"")),
        "{toml}"
    );
    assert!(
        toml.contains(&format!("image = \"{}\"", input.display())),
        "{toml}"
    );
    let again = json_of(&tripartite(&["run", "--json", "--experiment", s(&file)]));
    assert_eq!(again["sequence"]["tokens"].as_array().unwrap().len(), 17);
}

#[test]
fn bad_images_get_one_sentence() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let empty = tmp.path().join("empty.png");
    std::fs::write(&empty, b"").unwrap();
    let corrupt = tmp.path().join("corrupt.png");
    std::fs::write(&corrupt, b"\x89PNG\r\n\x1a\nthis is not the rest of a PNG").unwrap();
    let big = tmp.path().join("big.png");
    image::GrayImage::new(10, 12).save(&big).unwrap();
    let colour = tmp.path().join("colour.png");
    let mut rgb = image::RgbImage::new(8, 8);
    rgb.put_pixel(2, 3, image::Rgb([250, 20, 20]));
    rgb.save(&colour).unwrap();
    for (path, expect) in [
        (
            &empty,
            "empty.png is an empty file (0 bytes), not an image".to_string(),
        ),
        (
            &corrupt,
            "corrupt.png is not a readable PNG or JPEG image (".into(),
        ),
    ] {
        fails_with(&["encode", "--image", s(path), "--out", s(&out)], &expect);
        let spec = format!("image:{}", path.display());
        fails_with(&["run", "--sequence", &spec], &expect);
    }
    // Any size and colour is what a user has: the bundled digits model reads them as 8×8
    // grayscale (issue 25); only unreadable files are refused.
    for path in [&big, &colour] {
        let spec = format!("image:{}", path.display());
        let run = tripartite(&[
            "run",
            "--json",
            "--set",
            "mode=algebraic",
            "--sequence",
            &spec,
        ]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    fails_with(
        &["encode", "--image", "nowhere.png", "--out", s(&out)],
        "could not read nowhere.png",
    );
    fails_with(
        &["run", "--sequence", "digits:9999"],
        "there is no bundled digit 9999: the bundled digits are 0..=",
    );
    assert!(!out.exists(), "nothing is written on failure");
}

#[test]
fn bad_model_folders_get_one_sentence() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // A ViT folder without its preprocessor config cannot read image files.
    let vit = tmp.path().join("vit");
    std::fs::create_dir(&vit).unwrap();
    for file in ["config.json", "model.safetensors"] {
        std::fs::copy(fixture("vit_tiny").join(file), vit.join(file)).unwrap();
    }
    let input = fixture("vit_tiny/input.png");
    fails_with(
        &[
            "encode",
            "--image",
            s(&input),
            "--model",
            s(&vit),
            "--out",
            s(&out),
        ],
        "has no preprocessor_config.json, which says how this model scales and normalises pixels",
    );
    // An ALBERT folder without its shared layer.
    let albert = tmp.path().join("albert");
    std::fs::create_dir(&albert).unwrap();
    for file in ["config.json", "tokenizer.json"] {
        std::fs::copy(fixture("albert_tiny").join(file), albert.join(file)).unwrap();
    }
    let bytes = std::fs::read(fixture("albert_tiny/model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let kept: Vec<_> = st
        .tensors()
        .into_iter()
        .filter(|(name, _)| !name.contains("albert_layers.0.attention.query"))
        .collect();
    std::fs::write(
        albert.join("model.safetensors"),
        safetensors::serialize(kept, None).unwrap(),
    )
    .unwrap();
    fails_with(
        &[
            "encode",
            "--text",
            "the cell",
            "--model",
            s(&albert),
            "--out",
            s(&out),
        ],
        "an ALBERT folder needs the one layer all layers share",
    );
    // The families refuse each other's inputs.
    let tiny_vit = fixture("vit_tiny");
    fails_with(
        &[
            "encode",
            "--text",
            "a cat",
            "--model",
            s(&tiny_vit),
            "--out",
            s(&out),
        ],
        "is a vision transformer and reads images",
    );
    fails_with(
        &[
            "run",
            "--sequence",
            &format!("model:{}", tiny_vit.display()),
        ],
        "is a vision transformer and reads images",
    );
    let tiny_albert = fixture("albert_tiny");
    fails_with(
        &[
            "encode",
            "--image",
            s(&input),
            "--model",
            s(&tiny_albert),
            "--out",
            s(&out),
        ],
        "reads text, not images",
    );
    assert!(!out.exists(), "nothing is written on failure");
}

#[test]
fn albert_encodes_text() {
    let tmp = tempfile::tempdir().unwrap();
    let report = json_of(&tripartite(&[
        "encode",
        "--text",
        "The astrocyte listened.",
        "--model",
        s(&fixture("albert_tiny")),
        "--layer",
        "2",
        "--out",
        s(tmp.path()),
        "--json",
    ]));
    assert_eq!(report["tokens"], 6);
    assert_eq!(report["predicted_class"], Value::Null);
}

#[test]
fn figure_writes_the_curves_for_a_sentence_and_a_digit() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tripartite(&["figure", "--out", s(tmp.path())]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("bundled:astrocyte-passage"), "{stdout}");
    assert!(
        stdout.contains("digits:0 (digits ViT (bundled), layer 2 head 1)"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(tmp.path().join("figure.csv")).unwrap();
    assert!(csv.starts_with("source,t,token,z,c_m1000,c_m100000\n"));
    assert_eq!(
        csv.lines()
            .filter(|l| l.starts_with("\"digits:0\""))
            .count(),
        17
    );
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("figure.json")).unwrap())
            .unwrap();
    let panels = json["panels"].as_array().unwrap();
    assert_eq!(panels.len(), 2);
    for panel in panels {
        let err: Vec<f64> = panel["calcium_rel_err"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert!(
            err[1] < err[0],
            "m = 10⁵ is closer to Z_t than 10³: {err:?}"
        );
    }
    let png = image::open(tmp.path().join("figure.png")).unwrap();
    assert_eq!((png.width(), png.height()), (640, 480));

    // One source of the user's choice, with its layer and head.
    let one = tmp.path().join("one");
    let out = tripartite(&[
        "figure",
        "--sequence",
        "digits:4",
        "--set",
        "layer=0",
        "--set",
        "head=3",
        "--out",
        s(&one),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(one.join("figure.csv")).unwrap();
    assert_eq!(csv.lines().count(), 18);
}

#[test]
fn a_drawing_runs_as_a_sequence_and_a_bad_one_gets_one_sentence() {
    let digit = &tripartite::data::images::bundled_digits()[5];
    let spec = tripartite::data::spec::SourceSpec::Drawing(digit.pixels.clone()).to_string();
    let report = json_of(&tripartite(&[
        "run",
        "--json",
        "--set",
        "m=64",
        "--set",
        "t_read=50",
        "--sequence",
        &spec,
    ]));
    let text = report["sequence"]["text"].as_str().unwrap();
    assert_eq!(
        text,
        format!(
            "a digit drawn on the pad; the model predicts {}",
            digit.label
        ),
        "the bundled digit's pixels, drawn, read as that digit"
    );
    fails_with(
        &["run", "--sequence", "drawing:00ff"],
        "bad drawing '00ff': expected drawing:PIXELS with PIXELS 64 two-digit hex values",
    );
}
