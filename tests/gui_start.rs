//! `tripartite gui` with an experiment that cannot be opened (issue 25 §11): the window opens
//! on the default experiment, running, with the refusal on screen, instead of on nothing.

mod common;

use clap::Parser;
use common::{app_harness, small, wait_snapshot};
use egui_kittest::kittest::Queryable;
use tripartite::cli::{Cli, GuiRequest};
use tripartite::data::experiment::Experiment;

const MODEL: &str = "tests/fixtures/albert_tiny";

/// What `tripartite gui ARGS` asks of the window (the window itself is not opened).
fn gui_request(args: &[&str]) -> GuiRequest {
    let cli = Cli::parse_from(["tripartite", "gui"].iter().chain(args));
    let mut asked = None;
    tripartite::cli::run(cli, |request| {
        asked = Some(request);
        Ok(())
    })
    .expect("the gui command is accepted");
    asked.expect("the window was asked for")
}

#[test]
fn a_text_too_long_for_the_model_opens_the_default_experiment_with_the_refusal() {
    let words = vec!["the"; 10_000].join(" ");
    let sequence = format!("model:{MODEL}");
    // Layer 0: the text is the only thing wrong (the tiny ALBERT has 3 layers).
    let request = gui_request(&[
        "--sequence",
        &sequence,
        "--text",
        &words,
        "--set",
        "layer=0",
    ]);
    assert_eq!(request.experiment, Experiment::default());
    let refusal = request.refusal.expect("a refusal");
    assert!(
        refusal.contains("10002 tokens long") && refusal.contains("at most 32"),
        "names the problem: {refusal}"
    );
    assert!(
        refusal.contains("default experiment is open instead"),
        "{refusal}"
    );

    // The app as `run_gui` builds it, started where a restored session would have put it.
    let mut h = app_harness(small(), [1280.0, 800.0], 1.0);
    h.state_mut().refused_start(refusal);
    let default = Experiment::default().load_sequence().unwrap();
    let snapshot = wait_snapshot(&mut h, "the default experiment", |s| {
        s.run.as_ref().is_some_and(|r| r.tokens == default.tokens)
    });
    assert_eq!(snapshot.failure(), None, "a working run, not a dead end");
    assert_eq!(h.state().current_experiment(), Experiment::default());
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("10002 tokens long").is_some(),
        "the refusal is on screen"
    );
}

#[test]
fn a_text_the_model_takes_opens_as_asked() {
    let sequence = format!("model:{MODEL}");
    // The tiny ALBERT has 3 layers; the default layer (3) is refused like any other input.
    let request = gui_request(&[
        "--sequence",
        &sequence,
        "--text",
        "the cat sat on the mat",
        "--set",
        "layer=0",
    ]);
    assert_eq!(request.refusal, None);
    assert_eq!(
        request.experiment.text.as_deref(),
        Some("the cat sat on the mat")
    );
    assert_eq!(request.experiment.source.to_string(), sequence);
}
