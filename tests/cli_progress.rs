//! Issue 25 §2 and §17 through the real binary: a layer run's JSON leads with the layer's own
//! summary, and long runs draw progress on stderr only when it is a terminal (never with
//! `--quiet`), so stdout stays clean for `--json`.

use serde_json::Value;
use std::process::{Command, Output};

fn tripartite(args: &[&str]) -> Output {
    // `output()` pipes stderr: not a terminal, as in a script or CI.
    Command::new(env!("CARGO_BIN_EXE_tripartite"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn succeeded(output: &Output) -> &Output {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn a_layer_runs_json_leads_with_the_layers_summary_not_one_heads() {
    let output = tripartite(&[
        "run",
        "--json",
        "--sequence",
        "synthetic:5x8x3",
        "--set",
        "heads=all",
        "--set",
        "head=2",
        "--set",
        "m=64",
        "--set",
        "t_read=100",
    ]);
    let json: Value = serde_json::from_slice(&succeeded(&output).stdout).expect("JSON on stdout");
    // No single-head metric at the top level: nothing a reader could take for the layer's.
    for name in [
        "attn_tv",
        "attn_max_abs",
        "output_rel_err",
        "calcium_corr",
        "calcium_rel_err",
        "per_query",
    ] {
        assert!(json.get(name).is_none(), "top-level {name}: {json:#}");
    }
    let per_head = json["per_head"].as_array().unwrap();
    assert_eq!(per_head.len(), 3);
    assert_eq!(json["head_count"], 3);
    let tvs: Vec<f64> = per_head
        .iter()
        .enumerate()
        .map(|(h, head)| {
            assert_eq!(head["head"], h as u64);
            assert!(head["per_query"].is_object(), "{head:#}");
            head["attn_tv"].as_f64().unwrap()
        })
        .collect();
    let mean = tvs.iter().sum::<f64>() / 3.0;
    assert!((json["mean_attn_tv"].as_f64().unwrap() - mean).abs() < 1e-12);
    let worst = json["worst_head"].as_u64().unwrap() as usize;
    assert_eq!(json["worst_attn_tv"].as_f64().unwrap(), tvs[worst]);
    assert!(tvs.iter().all(|&tv| tv <= tvs[worst]));
    assert!(json["layer_output_rel_err"].as_f64().unwrap() > 0.0);
    // The parameters are the layer's as given, not head 0's.
    assert_eq!(json["params"]["heads"], "all");
    assert_eq!(json["params"]["head"], 2);
    assert!(json["sequence"].get("head").is_none());
}

/// The four long commands, small enough for a test, with a scratch folder for their files.
fn long_commands(dir: &std::path::Path) -> Vec<Vec<String>> {
    let small = ["--sequence", "synthetic:5x8", "--set", "m=64"];
    let mut run = vec!["run", "--json"];
    run.extend(small);
    let mut sweep = vec!["sweep", "--param", "m", "--values", "32,64"];
    sweep.extend(small);
    let figure_out = dir.join("figure").display().to_string();
    let budget = vec![
        "budget",
        "--json",
        "--sequence",
        "digits:0",
        "--layer",
        "0",
        "--head",
        "1",
        "--ms",
        "64,128",
        "--seeds",
        "1",
    ];
    let figure = vec!["figure", "--sequence", "digits:0", "--out", &figure_out];
    let layer = vec![
        "run",
        "--sequence",
        "synthetic:5x8x2",
        "--set",
        "heads=all",
        "--set",
        "m=64",
    ];
    [run, sweep, budget, figure, layer]
        .into_iter()
        .map(|args| args.into_iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn nothing_on_stderr_when_it_is_not_a_terminal_nor_with_quiet() {
    let dir = tempfile::tempdir().unwrap();
    for args in long_commands(dir.path()) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let plain = tripartite(&args);
        assert!(
            succeeded(&plain).stderr.is_empty(),
            "{args:?} wrote to stderr: {}",
            String::from_utf8_lossy(&plain.stderr)
        );
        assert!(!plain.stdout.is_empty(), "{args:?} printed nothing");
        let mut quiet = args.clone();
        quiet.push("--quiet");
        let quiet = tripartite(&quiet);
        assert!(succeeded(&quiet).stderr.is_empty(), "{args:?} --quiet");
        // The progress machinery never reaches stdout: the same bytes either way, apart from
        // the wall-clock fields of a run's report.
        let strip = |bytes: &[u8]| -> String {
            String::from_utf8_lossy(bytes)
                .lines()
                .filter(|l| !l.contains("wall") && !l.contains("steps_per_s"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(strip(&plain.stdout), strip(&quiet.stdout), "{args:?}");
    }
}

#[test]
fn quiet_is_offered_by_each_long_command() {
    for command in ["run", "sweep", "budget", "figure"] {
        let help = tripartite(&[command, "--help"]);
        let text = String::from_utf8_lossy(&succeeded(&help).stdout).into_owned();
        assert!(text.contains("--quiet"), "{command} --help: {text}");
    }
}
