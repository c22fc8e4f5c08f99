//! One refusal, one sentence (issue 25 §10): a projection that is none of the table's names is
//! refused with the same sentence, naming the learned form too, on the command line, in an
//! experiment file and where the app reads a typed value.

use std::process::Command;
use tripartite::data::experiment::Experiment;
use tripartite::model::params::{Param, Params};

const SENTENCE: &str =
    "projection must be one of: iid, orthogonal, or learned:FILE (a learned-synapses file)";

fn stderr_of(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_tripartite"))
        .args(args)
        .output()
        .unwrap();
    assert!(!output.status.success(), "{args:?} is refused");
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn a_projection_outside_the_table_is_refused_in_one_sentence_everywhere() {
    // The command line.
    let cli = stderr_of(&[
        "run",
        "--sequence",
        "synthetic:4x8",
        "--set",
        "projection=gaussian",
    ]);
    assert_eq!(cli.trim(), format!("error: {SENTENCE}"));

    // An experiment file, read by the CLI and by File ▸ Open alike.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "format_version = 1\n[params]\nprojection = 'gaussian'\n[sequence]\nsource = 'synthetic:4x8'\n",
    )
    .unwrap();
    let loaded = Experiment::load(&file).unwrap_err().to_string();
    assert!(loaded.contains(SENTENCE), "{loaded}");
    let cli_file = stderr_of(&["run", "--experiment", file.to_str().unwrap()]);
    assert!(cli_file.contains(SENTENCE), "{cli_file}");

    // A value typed into the app's parameter field goes through the table entry.
    let projection = Param::named("projection").unwrap();
    let typed = projection
        .set_text(&mut Params::default(), "gaussian")
        .unwrap_err();
    assert_eq!(typed.to_string(), SENTENCE);
    assert_eq!(
        format!("projection must be {}", projection.requirement()),
        SENTENCE
    );
}

#[test]
fn the_learned_form_the_sentence_names_is_one_the_table_admits() {
    let projection = Param::named("projection").unwrap();
    let missing = projection
        .set_text(&mut Params::default(), "learned:/no/such/file.safetensors")
        .unwrap_err()
        .to_string();
    // Refused for its file, not as an unknown name.
    assert!(!missing.contains("must be one of"), "{missing}");
    assert!(missing.contains("/no/such/file.safetensors"), "{missing}");
}
