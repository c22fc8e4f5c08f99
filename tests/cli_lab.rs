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

const LEARNED: &str = "projection=learned:bundled:layer3-head1-m256";

fn budget_of_layer3_head1(extra: &[&str]) -> Output {
    let mut args = vec![
        "budget",
        "--sequence",
        "bundled:coreference-it",
        "--layer",
        "3",
        "--head",
        "1",
        "--ms",
        "256,1024,4096",
        "--seeds",
        "1",
    ];
    args.extend_from_slice(extra);
    tripartite(&args)
}

#[test]
fn budget_sets_a_learned_head_against_the_random_features_it_sweeps() {
    let json = json_of(&budget_of_layer3_head1(&["--set", LEARNED, "--json"]));
    let head = &json["heads"][0];
    let learned = &head["learned"];
    assert_eq!(learned["m"].as_u64(), Some(256), "{head}");
    let tv = learned["attn_tv"].as_f64().unwrap();
    // The learned attn_tv is what `run` measures for the learned network (algebraic mode).
    let run = json_of(&tripartite(&[
        "run",
        "--sequence",
        "bundled:coreference-it",
        "--set",
        "layer=3",
        "--set",
        "head=1",
        "--set",
        "mode=algebraic",
        "--set",
        LEARNED,
        "--json",
    ]));
    let run_tv = run["attn_tv"].as_f64().unwrap();
    assert!((run_tv - tv).abs() < 1e-12, "{run_tv} vs {tv}");
    // The sweep is of random positive features from the same seed: the very points of the
    // budget without the learned file, which has no learned comparison.
    let random = json_of(&budget_of_layer3_head1(&["--json"]));
    assert_eq!(head["points"], random["heads"][0]["points"]);
    assert_eq!(head["feature_map"], "positive");
    assert!(random["heads"][0]["learned"].is_null());
    // The equivalent m is the budget's own fit read backwards.
    let a = head["fit"]["amplitude"].as_f64().unwrap();
    let m_equivalent = learned["m_equivalent"].as_f64().unwrap();
    assert!(
        (m_equivalent / (a / tv).powi(2) - 1.0).abs() < 1e-9,
        "{m_equivalent}"
    );
    // Learning helped: the learned head beats the random one measured at m = 256, so random
    // features need more than 256 neurons to match it.
    let random_256 = head["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["m"] == 256)
        .unwrap()["attn_tv"]
        .as_f64()
        .unwrap();
    assert!(tv < random_256, "{tv} vs {random_256}");
    assert!(m_equivalent > 256.0, "{m_equivalent}");
    // The file's held-out figures travel with it, labelled as such.
    assert!(learned["held_out_tv"].as_f64().unwrap() > 0.0);
    assert_eq!(learned["held_out_random_large"][0].as_u64(), Some(100_000));
    assert!(learned["training"].as_str().unwrap().contains("held out"));

    // The table says it in words, beside the random budget.
    let output = budget_of_layer3_head1(&["--set", LEARNED]);
    assert!(output.status.success(), "{}", stderr(&output));
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(table.contains("m_needed"), "{table}");
    let sentence = format!("learned m = 256 ≈ random m = {m_equivalent:.1e} on this sequence");
    assert!(table.contains(&sentence), "{sentence} not in\n{table}");
    assert!(table.contains("not on this sequence"), "{table}");
    assert!(
        table.contains("On the file's held-out sentences: learned"),
        "{table}"
    );
}

#[test]
fn budget_refuses_a_learned_file_for_another_layer_in_one_sentence() {
    let output = tripartite(&[
        "budget",
        "--sequence",
        "bundled:coreference-it",
        "--layer",
        "2",
        "--head",
        "1",
        "--ms",
        "64,128",
        "--seeds",
        "1",
        "--set",
        LEARNED,
    ]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("was learned for") && message.contains("layer 2"),
        "{message}"
    );
}
