//! `tripartite compare A.toml B.toml`, end to end through the real binary.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn tripartite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripartite"))
        .args(args)
        .output()
        .expect("binary runs")
}

/// A small algebraic experiment with `extra` lines added to its [params].
fn write_experiment(dir: &Path, name: &str, extra: &str) -> String {
    let path = dir.join(name);
    let text = format!(
        "format_version = 1\n[params]\nmode = \"algebraic\"\nm = 64\n{extra}\n\
         [sequence]\nsource = \"synthetic:6x8\"\n"
    );
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn compare_json(a: &str, b: &str) -> Value {
    let output = tripartite(&["compare", a, b, "--json"]);
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

#[test]
fn identical_experiments_give_deltas_of_exactly_zero() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_experiment(dir.path(), "a.toml", "");
    let b = write_experiment(dir.path(), "b.toml", "");
    let report = compare_json(&a, &b);
    assert_eq!(report["differences"], Value::Array(vec![]));
    let deltas = report["deltas"].as_object().unwrap();
    assert_eq!(deltas.len(), 5);
    for (name, delta) in deltas {
        // Exactly zero, not merely small.
        assert_eq!(delta.as_f64(), Some(0.0), "{name}");
        assert!(report["a"]["report"][name].as_f64().is_some(), "{name}");
    }
    let text = tripartite(&["compare", &a, &b]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("No setting differs"), "{text}");
}

#[test]
fn the_report_lists_exactly_the_changed_settings_and_both_sets_of_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_experiment(dir.path(), "a.toml", "");
    let b = write_experiment(dir.path(), "b.toml", "heterogeneity = 0.3\nseed = 7");
    let report = compare_json(&a, &b);
    let differences: Vec<String> = report["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| format!("{}: {} → {}", d["key"], d["before"], d["after"]))
        .collect();
    assert_eq!(
        differences,
        [r#""seed": "1" → "7""#, r#""heterogeneity": "0" → "0.3""#]
    );
    for name in tripartite::model::metrics::Metrics::NAMES {
        let (before, after) = (
            report["a"]["report"][name].as_f64().unwrap(),
            report["b"]["report"][name].as_f64().unwrap(),
        );
        assert_eq!(report["deltas"][name].as_f64().unwrap(), after - before);
    }
    assert_ne!(report["deltas"]["attn_tv"].as_f64(), Some(0.0));
    assert_eq!(report["a"]["file"].as_str(), Some(a.as_str()));
    let text = String::from_utf8(tripartite(&["compare", &a, &b]).stdout).unwrap();
    assert!(text.contains("  seed: 1 → 7\n"), "{text}");
    assert!(text.contains("  heterogeneity: 0 → 0.3\n"), "{text}");
}

/// Fails with exactly one line on stderr that names `file`.
fn fails_naming(args: &[&str], file: &str) -> String {
    let output = tripartite(args);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(file), "{stderr}");
    stderr
}

#[test]
fn a_missing_or_malformed_file_gets_one_sentence_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_experiment(dir.path(), "good.toml", "");
    let missing = dir.path().join("missing.toml").display().to_string();
    let stderr = fails_naming(&["compare", &good, &missing], "missing.toml");
    assert!(stderr.starts_with("error: cannot read"), "{stderr}");
    let malformed = dir.path().join("malformed.toml");
    std::fs::write(&malformed, "format_version = 1\n[params\nm = 3\n").unwrap();
    let malformed = malformed.display().to_string();
    let stderr = fails_naming(&["compare", &malformed, &good], "malformed.toml");
    assert!(stderr.contains("not valid TOML"), "{stderr}");
    let bad_value = write_experiment(dir.path(), "bad_value.toml", "m = 0");
    fails_naming(&["compare", &good, &bad_value], "bad_value.toml");
}

/// README's `compare` example is this measurement: each quoted line is a line of the report.
#[test]
fn the_readme_example_is_measured() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, m: usize| {
        let path = dir.path().join(name);
        let text = format!(
            "format_version = 1\n[params]\nmode = \"algebraic\"\nm = {m}\nlayer = 3\nhead = 1\n\
             [sequence]\nsource = \"bundled:coreference-it\"\n"
        );
        std::fs::write(&path, text).unwrap();
        path
    };
    let (a, b) = (write("a.toml", 1024), write("b.toml", 16384));
    let report = tripartite::jobs::compare::compare_files(&a, &b).unwrap();
    let collapse = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let readme = collapse(include_str!("../README.md"));
    let text = report.text();
    let quoted: Vec<&str> = text
        .lines()
        .filter(|line| {
            [
                "m: ",
                "attn_tv",
                "output_rel_err",
                "calcium_corr",
                "Settings",
            ]
            .iter()
            .any(|start| line.trim_start().starts_with(start))
        })
        .collect();
    assert_eq!(quoted.len(), 5, "{text}");
    for line in quoted {
        assert!(readme.contains(&collapse(line)), "README lacks '{line}'");
    }
}
