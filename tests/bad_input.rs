//! Bad input gets one clear message naming the problem, and nothing the user had is lost.

use ndarray::Array2;
use ndarray_npy::WriteNpyExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tripartite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripartite"))
        .args(args)
        .output()
        .expect("binary runs")
}

/// Runs and checks: non-zero exit, exactly one stderr line containing every `expect`, no panic.
fn fails_with(args: &[&str], expect: &[&str]) {
    let output = tripartite(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{args:?} should fail");
    for e in expect {
        assert!(stderr.contains(e), "{args:?}: expected {e:?} in {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
}

fn experiment(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const SEQ: &str = "[sequence]\nsource = \"synthetic:4x4\"\n";

#[test]
fn bad_experiment_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("format_version = 1\n[params\n".into(), vec!["not valid TOML"]),
        (format!("format_version = 1\n[params]\nspeed = 3\n{SEQ}"), vec!["unknown field `speed`"]),
        (format!("format_version = 1\n[params]\nm = \"lots\"\n{SEQ}"), vec!["m must be a whole number between 1 and 16 777 216"]),
        // The sentence `--set` gives, whether serde or validation catches the value.
        (format!("format_version = 1\n[params]\nm = -5\n{SEQ}"), vec!["m must be a whole number between 1 and 16 777 216"]),
        (format!("format_version = 1\n[params]\nm = 0\n{SEQ}"), vec!["m must be a whole number between 1 and 16 777 216"]),
        (format!("[params]\nm = 8\n{SEQ}"), vec!["no format_version"]),
        (format!("format_version = 2\n{SEQ}"), vec!["format_version = 2", "newer"]),
        (format!("format_version = 1\n[params]\ntau_neuron = nan\n{SEQ}"), vec!["tau_neuron"]),
        (format!("format_version = 1\n[params]\neta = inf\n{SEQ}"), vec!["eta"]),
        (format!("format_version = 1\n[params]\nheterogeneity = -1.0\n{SEQ}"), vec!["heterogeneity must be a number at least 0 and at most 10"]),
        (
            "format_version = 1\n[params]\nm = 16000000\n[sequence]\nsource = \"synthetic:4000x64\"\n".into(),
            vec!["MiB", "limit"],
        ),
        ("format_version = 1\n[sequence]\nsource = \"synthetic:0x4\"\n".into(), vec!["synthetic size"]),
        ("format_version = 1\n[params]\nm = 8\n".into(), vec!["no [sequence]"]),
    ];
    for (i, (text, expect)) in cases.iter().enumerate() {
        let path = experiment(d, &format!("e{i}.toml"), text);
        fails_with(&["run", "--experiment", path.to_str().unwrap()], expect);
    }
    let bytes = d.join("binary.toml");
    std::fs::write(&bytes, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    fails_with(
        &["run", "--experiment", bytes.to_str().unwrap()],
        &["not UTF-8"],
    );
    fails_with(
        &[
            "run",
            "--experiment",
            d.join("missing.toml").to_str().unwrap(),
        ],
        &["cannot read", "missing.toml"],
    );
    fails_with(
        &["run", "--experiment", d.to_str().unwrap()],
        &["is a folder"],
    );
}

fn write_npy(path: &Path, array: &Array2<f64>) {
    let mut bytes = Vec::new();
    array.write_npy(&mut bytes).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn bad_npy_folders() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = format!("npy:{}", d.display());
    let run = |expect: &[&str]| fails_with(&["run", "--sequence", &spec], expect);
    run(&["q.npy", "missing"]);
    let good = Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f64 / 10.0);
    write_npy(&d.join("q.npy"), &good);
    write_npy(&d.join("k.npy"), &good);
    write_npy(&d.join("v.npy"), &Array2::zeros((2, 4)));
    run(&["q has 3 rows", "v has 2"]);
    write_npy(&d.join("k.npy"), &Array2::zeros((3, 5)));
    write_npy(&d.join("v.npy"), &good);
    run(&["q has 4 columns but k has 5"]);
    write_npy(&d.join("k.npy"), &good);
    let bytes = std::fs::read(d.join("v.npy")).unwrap();
    std::fs::write(d.join("v.npy"), &bytes[..bytes.len() - 7]).unwrap();
    run(&["v.npy", "truncated"]);
    let mut ints = Vec::new();
    Array2::<i64>::zeros((3, 4)).write_npy(&mut ints).unwrap();
    std::fs::write(d.join("v.npy"), ints).unwrap();
    run(&["v.npy", "dtype"]);
    write_npy(&d.join("v.npy"), &good);
    std::fs::write(d.join("tokens.txt"), [b'a', b'\n', 0xc3, 0x28, b'\n', b'c']).unwrap();
    run(&["tokens.txt", "UTF-8"]);
    std::fs::write(d.join("tokens.txt"), "a\nb\n").unwrap();
    run(&["2 tokens are labelled but the tensors have 3 rows"]);
    std::fs::remove_file(d.join("tokens.txt")).unwrap();
    let empty = Array2::<f64>::zeros((0, 4));
    for name in ["q.npy", "k.npy", "v.npy"] {
        write_npy(&d.join(name), &empty);
    }
    run(&["empty"]);
    let mut nan = good.clone();
    nan[[1, 2]] = f64::NAN;
    write_npy(&d.join("q.npy"), &nan);
    write_npy(&d.join("k.npy"), &good);
    write_npy(&d.join("v.npy"), &good);
    run(&["q[1, 2] is NaN"]);
}

#[test]
fn bad_model_folders_and_encode_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("config.json"), "{}").unwrap();
    let spec = format!("model:{}", d.display());
    fails_with(
        &["run", "--sequence", &spec, "--text", "hello"],
        &["model.safetensors"],
    );
    fails_with(&["run", "--sequence", &spec], &["needs text"]);
    fails_with(
        &[
            "encode",
            "--model",
            d.join("nope").to_str().unwrap(),
            "--text",
            "hi",
            "--out",
            d.to_str().unwrap(),
        ],
        &["nope"],
    );
    fails_with(
        &["run", "--sequence", "bundled:no-such-sentence"],
        &["no bundled sentence", "coreference-it"],
    );
    fails_with(
        &[
            "run",
            "--sequence",
            "bundled:coreference-it",
            "--set",
            "head=12",
        ],
        &["head 12", "0..=11"],
    );
}

#[test]
fn failed_saves_keep_what_the_user_had() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A save into a folder path names the problem and leaves the folder alone.
    std::fs::create_dir(d.join("taken")).unwrap();
    fails_with(
        &[
            "run",
            "--sequence",
            "synthetic:3x4",
            "--save-experiment",
            d.join("taken").to_str().unwrap(),
        ],
        &["cannot write", "taken"],
    );
    assert!(d.join("taken").is_dir());
    // A destination nobody can write (root included): /proc refuses new files.
    fails_with(
        &[
            "run",
            "--sequence",
            "synthetic:3x4",
            "--save-experiment",
            "/proc/tripartite-test.toml",
        ],
        &["cannot write", "/proc/tripartite-test.toml"],
    );
    // A run whose outputs cannot be written fails clearly; an existing experiment is untouched.
    let keep = experiment(d, "keep.toml", &format!("format_version = 1\n{SEQ}"));
    let before = std::fs::read(&keep).unwrap();
    fails_with(
        &[
            "run",
            "--experiment",
            keep.to_str().unwrap(),
            "--set",
            "m=0",
            "--save-experiment",
            keep.to_str().unwrap(),
        ],
        &["m must be a whole number between 1 and 16 777 216"],
    );
    assert_eq!(std::fs::read(&keep).unwrap(), before);
    fails_with(
        &[
            "run",
            "--sequence",
            "synthetic:3x4",
            "--out",
            "/proc/tripartite-out",
        ],
        &["/proc/tripartite-out"],
    );
}

/// `run --experiment X --save-experiment Y`, then `run --experiment Y`: identical metrics.
#[test]
fn every_preset_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let presets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/presets");
    let mut count = 0;
    for entry in std::fs::read_dir(presets).unwrap() {
        let path = entry.unwrap().path();
        let saved = dir.path().join(path.file_name().unwrap());
        let first = tripartite(&[
            "run",
            "--json",
            "--experiment",
            path.to_str().unwrap(),
            "--save-experiment",
            saved.to_str().unwrap(),
        ]);
        assert!(
            first.status.success(),
            "{}",
            String::from_utf8_lossy(&first.stderr)
        );
        let second = tripartite(&["run", "--json", "--experiment", saved.to_str().unwrap()]);
        assert!(
            second.status.success(),
            "{}",
            String::from_utf8_lossy(&second.stderr)
        );
        let parse =
            |o: &Output| -> serde_json::Value { serde_json::from_slice(&o.stdout).unwrap() };
        let (a, b) = (parse(&first), parse(&second));
        for key in tripartite::model::Metrics::NAMES {
            assert_eq!(a[key], b[key], "{}: {key}", path.display());
        }
        assert_eq!(a["params"], b["params"]);
        assert_eq!(a["sequence"], b["sequence"]);
        count += 1;
    }
    assert_eq!(count, tripartite::io::presets::presets().len());
}
