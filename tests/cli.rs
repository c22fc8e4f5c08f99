//! The command-line contract, end to end through the real binary.

use ndarray::{Array1, Array2};
use ndarray_npy::read_npy;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

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

const SMALL: &[&str] = &[
    "--sequence",
    "synthetic:5x8",
    "--set",
    "m=64",
    "--set",
    "t_read=100",
];

fn run_json(extra: &[&str]) -> Value {
    let mut args = vec!["run", "--json"];
    args.extend_from_slice(SMALL);
    args.extend_from_slice(extra);
    json_of(&tripartite(&args))
}

#[test]
fn json_report_has_every_field() {
    let report = run_json(&[]);
    for key in [
        "attn_tv",
        "attn_max_abs",
        "output_rel_err",
        "calcium_corr",
        "calcium_rel_err",
        "steps",
        "sim_time_ms",
        "wall_s",
        "steps_per_s",
        "synapses",
    ] {
        assert!(report.get(key).is_some(), "missing {key}");
    }
    for key in tripartite::model::params::PARAM_NAMES {
        assert!(report["params"].get(key).is_some(), "params.{key} missing");
    }
    assert_eq!(report["sequence"]["source"], "synthetic:5x8");
    assert_eq!(report["sequence"]["tokens"].as_array().unwrap().len(), 5);
    assert_eq!(report["steps"], 5 * 100 + 5 * 200);
    assert_eq!(report["sim_time_ms"], 5.0 * 50.0 + 5.0 * 100.0);
    assert_eq!(report["synapses"], 64 * 8);
    let tv = report["attn_tv"].as_f64().unwrap();
    // Measured with these arguments: 0.27555 (m = 64 keeps it far from softmax).
    assert!((tv - 0.27555).abs() < 5e-6, "attn_tv {tv}");
}

#[test]
fn same_inputs_give_identical_metrics() {
    let strip = |mut v: Value| {
        for key in ["wall_s", "steps_per_s"] {
            v.as_object_mut().unwrap().remove(key);
        }
        v
    };
    let a = strip(run_json(&["--set", "heterogeneity=0.3"]));
    let b = strip(run_json(&["--set", "heterogeneity=0.3"]));
    assert_eq!(a, b);
    let c = strip(run_json(&["--set", "heterogeneity=0.3", "--set", "seed=2"]));
    assert_ne!(a, c);
}

#[test]
fn out_dir_holds_every_array_with_its_shape() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut args = vec![
        "run",
        "--out",
        out.to_str().unwrap(),
        "--set",
        "heterogeneity=0.2",
    ];
    args.extend_from_slice(SMALL);
    let output = tripartite(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let matrix = |name: &str| -> Array2<f64> { read_npy(out.join(name)).unwrap() };
    let vector = |name: &str| -> Array1<f64> { read_npy(out.join(name)).unwrap() };
    assert_eq!(matrix("q.npy").dim(), (5, 8));
    assert_eq!(matrix("k.npy").dim(), (5, 8));
    assert_eq!(matrix("v.npy").dim(), (5, 8));
    assert_eq!(matrix("W.npy").dim(), (64, 8));
    assert_eq!(matrix("gamma.npy").dim(), (8, 64));
    let soft = matrix("attention_softmax.npy");
    assert_eq!(soft.dim(), (5, 5));
    assert!((soft.row(2).sum() - 1.0).abs() < 1e-12);
    assert_eq!(matrix("attention_network.npy").dim(), (5, 5));
    assert_eq!(vector("c.npy").len(), 5);
    assert_eq!(vector("z.npy").len(), 5);
    assert_eq!(matrix("y_network.npy").dim(), (5, 8));
    assert_eq!(matrix("y_softmax.npy").dim(), (5, 8));
    let trace = std::fs::read_to_string(out.join("trace.csv")).unwrap();
    let mut lines = trace.lines();
    assert_eq!(lines.next(), Some("time_ms,phase,slot,token,c,z"));
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() > 10);
    assert!(rows.iter().any(|r| r.contains(",read,")));
    // Read rows carry Z_t of their token (z.npy's value); write rows leave it empty.
    let z = vector("z.npy");
    for row in &rows {
        let fields: Vec<&str> = row.split(',').collect();
        let token: usize = fields[2].parse().unwrap();
        match fields[1] {
            "read" => assert_eq!(fields[5].parse::<f64>().unwrap(), z[token], "{row}"),
            _ => assert_eq!(fields[5], "", "{row}"),
        }
    }
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["params"]["heterogeneity"], 0.2);
    // The exported Z is the softmax normaliser of the exported q, k.
    let (q, k) = (matrix("q.npy"), matrix("k.npy"));
    let z0: f64 = (0..5)
        .map(|tau| (q.row(0).dot(&k.row(tau)) / 8f64.sqrt()).exp())
        .sum();
    assert!((vector("z.npy")[0] - z0).abs() < 1e-9 * z0);
}

#[test]
fn saved_experiments_reproduce_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("saved.toml");
    let mut args = vec![
        "run",
        "--json",
        "--save-experiment",
        saved.to_str().unwrap(),
    ];
    args.extend_from_slice(SMALL);
    args.extend_from_slice(&["--set", "tau_calcium=150", "--set", "mode=algebraic"]);
    let first = json_of(&tripartite(&args));
    let second = json_of(&tripartite(&[
        "run",
        "--json",
        "--experiment",
        saved.to_str().unwrap(),
    ]));
    for key in tripartite::model::Metrics::NAMES {
        assert_eq!(first[key], second[key], "{key}");
    }
    assert_eq!(first["params"], second["params"]);
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.contains("format_version = 1") && text.contains("tau_calcium = 150"));
}

#[test]
fn sweep_writes_one_row_per_value_and_seed() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("sweep.csv");
    let mut args = vec![
        "sweep",
        "--param",
        "m",
        "--values",
        "16,256",
        "--seeds",
        "2",
        "--out",
        csv.to_str().unwrap(),
        "--set",
        "mode=algebraic",
    ];
    args.extend_from_slice(&SMALL[..2]);
    let output = tripartite(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "param,value,seed,attn_tv,attn_max_abs,output_rel_err,calcium_corr,calcium_rel_err"
    );
    assert_eq!(lines.len(), 5);
    assert!(lines[1].starts_with("m,16,1,") && lines[2].starts_with("m,16,2,"));
    assert!(lines[4].starts_with("m,256,2,"));
}

fn assert_clean_failure(args: &[&str], expect: &str) {
    let output = tripartite(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{args:?} should fail");
    assert!(stderr.contains(expect), "{args:?}: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
}

/// One refusal, one sentence: `--set m=-5` (not a whole number) and `--set m=0` (out of range)
/// are refused alike, in the words of the parameter table.
#[test]
fn a_refused_value_reads_the_same_however_it_is_wrong() {
    let m = "m must be a whole number between 1 and 16 777 216";
    for value in ["m=-5", "m=0", "m=lots", "m=16777217"] {
        assert_clean_failure(&["run", "--set", value], m);
        let stderr =
            String::from_utf8_lossy(&tripartite(&["run", "--set", value]).stderr).into_owned();
        assert!(
            !stderr.contains("integer") && !stderr.contains("..="),
            "{value}: {stderr}"
        );
    }
}

#[test]
fn bad_input_fails_with_one_clear_line() {
    assert_clean_failure(
        &["run", "--set", "m=0"],
        "m must be a whole number between 1 and 16 777 216",
    );
    assert_clean_failure(&["run", "--set", "tau_calcium=-5"], "tau_calcium");
    assert_clean_failure(&["run", "--set", "dt=0.3"], "divisor of t_write");
    assert_clean_failure(&["run", "--set", "eta=NaN"], "eta");
    assert_clean_failure(&["run", "--set", "bogus=1"], "unknown parameter 'bogus'");
    assert_clean_failure(&["run", "--set", "m"], "KEY=VALUE");
    assert_clean_failure(
        &[
            "run",
            "--sequence",
            "synthetic:2000x2000",
            "--set",
            "m=16000000",
        ],
        "MiB",
    );
    assert_clean_failure(
        &["run", "--sequence", "npy:/nonexistent/dir"],
        "not a folder",
    );
    assert_clean_failure(&["run", "--experiment", "/nonexistent.toml"], "cannot read");
    assert_clean_failure(&["run", "--sequence", "wav:x"], "unknown sequence source");
    assert_clean_failure(
        &["sweep", "--param", "m", "--values", "8,0"],
        "m must be a whole number between 1 and 16 777 216",
    );
    let dir = tempfile::tempdir().unwrap();
    assert_clean_failure(
        &["run", "--experiment", dir.path().to_str().unwrap()],
        "is a folder",
    );
}

#[test]
fn npy_folders_written_by_run_can_be_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a");
    let mut args = vec!["run", "--json", "--out", out.to_str().unwrap()];
    args.extend_from_slice(SMALL);
    let first = json_of(&tripartite(&args));
    let spec = format!("npy:{}", out.display());
    let second = json_of(&tripartite(&[
        "run",
        "--json",
        "--sequence",
        &spec,
        "--set",
        "m=64",
        "--set",
        "t_read=100",
    ]));
    assert_eq!(first["attn_tv"], second["attn_tv"]);
    assert_eq!(second["sequence"]["tokens"][0], "t0");
    assert!(Path::new(&out.join("tokens.txt")).is_file());
}

/// A whole layer with a file that holds one head of it: one sentence saying what the file holds
/// and what heads = all needs (it used to say only that head 0 was not learned).
#[test]
fn a_live_layer_with_a_one_head_learned_file_says_what_the_file_holds() {
    assert_clean_failure(
        &[
            "run",
            "--set",
            "heads=all",
            "--set",
            "projection=learned:bundled:layer3-head1-m256",
            "--set",
            "m=256",
            "--set",
            "mode=algebraic",
        ],
        "bundled:layer3-head1-m256 holds learned synapses for layer 3, head 1 only, and heads = all runs all 12 heads of the layer",
    );
}
