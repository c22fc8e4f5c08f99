//! The command line of issue 13 §1–§4: per-query arrays, the budget, ablations, perm.npy.

use serde_json::Value;
use std::process::{Command, Output};

fn tripartite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripartite"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).trim().to_string()
}

fn json_of(output: &Output) -> Value {
    assert!(output.status.success(), "{}", stderr(output));
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

#[test]
fn run_json_carries_per_query_arrays_whose_tv_mean_is_attn_tv() {
    let json = json_of(&tripartite(&[
        "run",
        "--sequence",
        "synthetic:7x8",
        "--set",
        "mode=algebraic",
        "--set",
        "m=512",
        "--json",
    ]));
    let per_query = &json["per_query"];
    for column in [
        "tv",
        "max_abs",
        "output_rel_err",
        "c",
        "z",
        "c_over_z",
        "q_norm",
        "max_k_norm",
        "c_rel_se",
    ] {
        assert_eq!(per_query[column].as_array().unwrap().len(), 7, "{column}");
    }
    let tv: Vec<f64> = per_query["tv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let mean = tv.iter().sum::<f64>() / 7.0;
    assert!((mean - json["attn_tv"].as_f64().unwrap()).abs() <= 1e-12);
    assert_eq!(json["params"]["ablation"], "none");
}

#[test]
fn run_out_writes_per_query_csv_and_perm_npy_when_shuffled() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let output = tripartite(&[
        "run",
        "--sequence",
        "synthetic:5x8",
        "--set",
        "mode=algebraic",
        "--set",
        "m=64",
        "--set",
        "ablation=shuffled_processes",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let csv = std::fs::read_to_string(out.join("per_query.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "row,token,tv,max_abs,output_rel_err,c,z,c_over_z,q_norm,max_k_norm,c_rel_se"
    );
    assert_eq!(lines.count(), 5);
    let perm = std::fs::read(out.join("perm.npy")).unwrap();
    assert!(perm.starts_with(b"\x93NUMPY"), "an .npy file");
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["params"]["ablation"], "shuffled_processes");
    // Without the ablation there is no permutation to export.
    let plain = dir.path().join("plain");
    let output = tripartite(&[
        "run",
        "--sequence",
        "synthetic:5x8",
        "--set",
        "mode=algebraic",
        "--set",
        "m=64",
        "--out",
        plain.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    assert!(!plain.join("perm.npy").exists());
}

#[test]
fn an_unknown_ablation_is_one_sentence() {
    let output = tripartite(&["run", "--set", "ablation=no_glia"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("ablation must be one of: none, no_astrocyte"),
        "{message}"
    );
    assert!(message.contains("frozen_calcium"), "{message}");
}

#[test]
fn a_budget_target_outside_zero_one_is_one_sentence() {
    for target in ["0", "1", "-0.2", "1.5"] {
        let output = tripartite(&[
            "budget",
            "--sequence",
            "bundled:coreference-it",
            "--target",
            target,
        ]);
        assert!(!output.status.success(), "target {target}");
        let message = stderr(&output);
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(message.contains("strictly between 0 and 1"), "{message}");
    }
}

#[test]
fn budget_json_reports_each_head_with_its_fit() {
    let json = json_of(&tripartite(&[
        "budget",
        "--sequence",
        "bundled:coreference-it",
        "--layer",
        "3",
        "--head",
        "2",
        "--ms",
        "256,1024,4096",
        "--seeds",
        "2",
        "--set",
        "feature_map=oprf",
        "--json",
    ]));
    let heads = json["heads"].as_array().unwrap();
    assert_eq!(heads.len(), 1);
    let head = &heads[0];
    assert_eq!(
        (head["layer"].as_u64(), head["head"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(head["feature_map"], "oprf");
    assert_eq!(head["points"].as_array().unwrap().len(), 6);
    let m_needed = head["fit"]["m_needed"].as_f64().unwrap();
    assert!(m_needed > 256.0, "{m_needed}");
    assert!(head["fit"]["free_slope"].as_f64().unwrap() < 0.0);
    assert_eq!(json["human_astrocyte_synapses"].as_f64(), Some(2e6));
}

#[test]
fn budget_refuses_a_synthetic_source_in_one_sentence() {
    let output = tripartite(&["budget", "--sequence", "synthetic:8x16"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("no attention heads"), "{message}");
}
