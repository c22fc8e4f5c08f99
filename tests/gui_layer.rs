//! A whole attention layer, live (issue 17, the app): the graph shows one astrocyte per head,
//! a click opens that head in the single-head views and Back returns to the layer, the layer
//! output view names layer_output_rel_err, the run controls work with every head, and the All
//! heads tab opens the live layer. Driven through accessible labels (egui_kittest), with the
//! real worker on a bundled MiniLM sentence.

mod common;

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable};
use std::time::Duration;
use tripartite::data::experiment::Experiment;
use tripartite::model::params::Heads;
use tripartite::sim::{RunState, Snapshot};
use tripartite::ui::TripartiteApp;
use tripartite::ui::command::Tab;

use common::live_layer;
use common::wait_snapshot as wait;

fn harness(experiment: Experiment) -> Harness<'static, TripartiteApp> {
    common::app_harness(experiment, [1280.0, 800.0], 1.0)
}

fn heads_in(snapshot: &Snapshot) -> usize {
    snapshot.layer.as_ref().map_or(0, |layer| layer.heads.len())
}

/// With TRIPARTITE_SHOTS=DIR, saves the rendered window as DIR/NAME for a look by eye.
fn save_if_requested(h: &mut Harness<'_, TripartiteApp>, name: &str) {
    if let Some(dir) = std::env::var_os("TRIPARTITE_SHOTS") {
        let image = h.render().expect("the harness renders");
        image
            .save(std::path::Path::new(&dir).join(name))
            .expect("the screenshot folder is writable");
    }
}

/// The astrocytes the layer graph exposes, by their accessible labels.
fn astrocytes(h: &Harness<'_, TripartiteApp>) -> Vec<String> {
    h.query_all_by_label_contains("Astrocyte of head ")
        .filter_map(|node| node.accesskit_node().label())
        .collect()
}

#[test]
fn the_graph_shows_twelve_astrocytes_and_a_click_opens_one_head_and_back_returns() {
    let mut h = harness(live_layer());
    wait(&mut h, "a layer of twelve heads", |s| heads_in(s) == 12);
    h.run_steps(3);
    let labels = astrocytes(&h);
    assert_eq!(labels.len(), 12, "one astrocyte per head: {labels:?}");
    for head in 0..12 {
        assert!(
            labels
                .iter()
                .any(|l| l.starts_with(&format!("Astrocyte of head {head}:"))),
            "head {head} has no astrocyte in {labels:?}"
        );
    }
    assert!(h.state().showing_layer());
    save_if_requested(&mut h, "layer_start.png");

    h.get_by_label_contains("Astrocyte of head 7:").click();
    let opened = wait(&mut h, "head 7 selected", |s| {
        s.layer.as_ref().is_some_and(|l| l.selected == 7)
    });
    assert_eq!(h.state().opened_head(), Some(7));
    assert!(!h.state().showing_layer());
    assert_eq!(heads_in(&opened), 12, "the other heads keep running");
    h.run_steps(3);
    assert!(
        h.query_by_label_contains("Head 7 of the live layer (12 heads)")
            .is_some(),
        "the opened head is named above the graph"
    );
    assert!(
        h.query_by_label("Network graph").is_some(),
        "the single-head network graph is shown"
    );
    assert!(
        astrocytes(&h).is_empty(),
        "the layer's territories give way to the head"
    );
    save_if_requested(&mut h, "layer_opened_head.png");

    h.get_by_label("Back to the layer").click();
    h.run_steps(3);
    assert_eq!(h.state().opened_head(), None);
    assert_eq!(astrocytes(&h).len(), 12, "back at the whole layer");

    // The key declared for Back does the same.
    h.get_by_label_contains("Astrocyte of head 2:").click();
    wait(&mut h, "head 2 selected", |s| {
        s.layer.as_ref().is_some_and(|l| l.selected == 2)
    });
    assert_eq!(h.state().opened_head(), Some(2));
    h.key_press(egui::Key::Backspace);
    h.run_steps(3);
    assert_eq!(
        h.state().opened_head(),
        None,
        "Backspace returns to the layer"
    );
    assert_eq!(astrocytes(&h).len(), 12);
}

#[test]
fn the_layer_output_view_shows_layer_output_rel_err() {
    let mut h = harness(live_layer());
    wait(&mut h, "a layer", |s| heads_in(s) == 12);
    h.get_by_label("Run to end").click();
    let done = wait(&mut h, "the end of the run", |s| {
        s.state == RunState::Finished
            && s.layer
                .as_ref()
                .is_some_and(|l| l.layer_output_rel_err.is_some())
    });
    h.run_steps(3);
    let err = done
        .layer
        .as_ref()
        .and_then(|l| l.layer_output_rel_err)
        .expect("a relative error against the transformer");
    assert!(err.is_finite() && err > 0.0, "layer_output_rel_err {err}");
    common::show_layer_output(&mut h);
    let text = format!("layer_output_rel_err = {}", tripartite::ui::theme::sig(err));
    assert!(
        h.query_by_label(&text).is_some(),
        "the layer output view shows '{text}'"
    );
    assert!(
        h.query_by_label_contains("Layer output difference, ")
            .is_some(),
        "the token-by-feature heatmap is drawn"
    );
    save_if_requested(&mut h, "layer_finished.png");
}

#[test]
fn run_pause_and_step_work_with_every_head() {
    let mut h = harness(live_layer());
    wait(&mut h, "a layer", |s| heads_in(s) == 12);
    h.get_by_label("Step dt").click();
    let stepped = wait(&mut h, "one step", |s| s.step == 1);
    assert_eq!(heads_in(&stepped), 12);
    h.get_by_label("Run").click();
    wait(&mut h, "time to advance", |s| {
        s.state == RunState::Running && s.step > 1
    });
    h.get_by_label("Pause").click();
    let paused = wait(&mut h, "the pause", |s| s.state == RunState::Paused);
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
    let after = h.state().snapshot().expect("a snapshot").clone();
    assert_eq!(after.step, paused.step, "time advanced while paused");
    let calcium: Vec<f64> = after
        .layer
        .as_ref()
        .expect("the layer")
        .heads
        .iter()
        .map(|head| head.calcium)
        .collect();
    assert!(
        calcium.iter().all(|c| c.is_finite()) && calcium.iter().any(|&c| c != 0.0),
        "every astrocyte integrated: {calcium:?}"
    );
}

#[test]
fn the_all_heads_tab_runs_its_layer_live() {
    let mut experiment = live_layer();
    experiment.params.heads = Heads::One;
    let mut h = harness(experiment);
    wait(&mut h, "one head", |s| s.run.is_some());
    assert!(
        h.state().snapshot().is_some_and(|s| s.layer.is_none()),
        "one head runs without a layer"
    );
    h.state_mut().set_tab(Tab::AllHeads);
    h.run_steps(3);
    h.get_by_label("Run this layer live").click();
    let live = wait(&mut h, "the layer to run live", |s| {
        s.params.heads == Heads::All && heads_in(s) == 12
    });
    assert_eq!(live.params.layer, 3);
    h.run_steps(3);
    assert_eq!(h.state().tab(), Tab::Live);
    assert_eq!(astrocytes(&h).len(), 12);
    // Back in the tab, it says the layer runs and leads to it rather than offering a rerun.
    h.state_mut().set_tab(Tab::AllHeads);
    h.run_steps(3);
    assert!(h.query_by_label("Run this layer live").is_none());
    h.get_by_label("Show the live layer").click();
    h.run_steps(2);
    assert_eq!(h.state().tab(), Tab::Live);
}

#[test]
fn the_pickers_all_heads_checkbox_runs_the_layer_and_unchecking_returns_to_one_head() {
    let mut experiment = live_layer();
    experiment.params.heads = Heads::One;
    let mut h = harness(experiment);
    wait(&mut h, "one head", |s| s.run.is_some());
    h.get_by_label("all heads live").click();
    wait(&mut h, "every head", |s| {
        s.params.heads == Heads::All && heads_in(s) == 12
    });
    h.run_steps(3);
    assert_eq!(astrocytes(&h).len(), 12);
    h.get_by_label("all heads live").click();
    wait(&mut h, "one head again", |s| {
        s.params.heads == Heads::One && s.layer.is_none() && s.run.is_some()
    });
    h.run_steps(3);
    assert!(astrocytes(&h).is_empty());
    assert!(h.query_by_label("Network graph").is_some());
}
