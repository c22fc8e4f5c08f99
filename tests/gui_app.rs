//! The desktop app driven through its accessible labels (egui_kittest), with the real worker.

mod common;

use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT as _, Queryable};
use egui_kittest::{Harness, SnapshotOptions};
use std::time::Duration;
use tripartite::data::experiment::Experiment;
use tripartite::sim::{Command, RunState, Snapshot};
use tripartite::ui::{Selection, TripartiteApp};

use common::classroom;

fn harness(experiment: Experiment) -> Harness<'static, TripartiteApp> {
    common::app_harness(experiment, [1280.0, 800.0], 1.0)
}

use common::wait_snapshot as wait;

fn snapshot(h: &Harness<'_, TripartiteApp>) -> Snapshot {
    h.state().snapshot().expect("a snapshot").clone()
}

#[test]
fn step_advances_simulated_time_by_dt() {
    let mut h = harness(classroom());
    h.get_by_label("Step dt").click();
    let s = wait(&mut h, "one step", |s| s.step == 1);
    assert_eq!(s.time_ms, 0.5);
    h.run_steps(2);
    assert!(
        h.query_all_by_label_contains("t = 0.5 ms").next().is_some(),
        "the phase text shows the time"
    );
    h.get_by_label("Step slot").click();
    let s = wait(&mut h, "the end of the slot", |s| s.step == 100);
    assert_eq!(s.time_ms, 50.0);
}

#[test]
fn run_then_pause_stops_time() {
    let mut h = harness(classroom());
    h.get_by_label("Run").click();
    wait(&mut h, "time to advance", |s| {
        s.state == RunState::Running && s.step > 0
    });
    h.get_by_label("Pause").click();
    let paused = wait(&mut h, "the pause", |s| s.state == RunState::Paused);
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
    assert_eq!(snapshot(&h).step, paused.step, "time advanced while paused");
    assert!(h.query_by_label("Run").is_some());
}

#[test]
fn a_live_parameter_edit_reaches_the_worker() {
    let mut h = harness(classroom());
    h.get_by_label("Step slot").click();
    let before = wait(&mut h, "a slot", |s| s.step == 100);
    h.get_by_label("τ_c calcium").set_value_accesskit(55.0);
    let after = wait(&mut h, "the live edit", |s| s.params.tau_calcium == 55.0);
    assert_eq!(
        after.generation, before.generation,
        "a live edit must not rebuild"
    );
    assert_eq!(after.step, 100);
    assert!(h.query_by_label_contains("Applied live").is_some());
}

#[test]
fn a_structural_edit_rebuilds_after_confirmation_and_bad_values_are_refused() {
    let mut h = harness(classroom());
    h.get_by_label("Step slot").click();
    let before = wait(&mut h, "a slot", |s| s.step == 100);
    h.get_by_label("m features").set_value_accesskit(512.0);
    h.run_steps(3);
    assert!(
        h.query_by_label_contains("Pending: m").is_some(),
        "the pending rebuild is announced"
    );
    assert_eq!(snapshot(&h).params.m, 256, "nothing rebuilds before Apply");
    // The button sits at the bottom of the scrolling panel: press it the way a screen reader does.
    h.get_by_label("Apply and rebuild").click_accesskit();
    let rebuilt = wait(&mut h, "the rebuild", |s| s.params.m == 512);
    assert!(rebuilt.generation > before.generation);
    assert_eq!(rebuilt.step, 0);
    assert_eq!(rebuilt.run.as_ref().unwrap().sizes.hidden, 512);
    assert!(
        h.query_by_label_contains("Rebuilt the simulation")
            .is_some()
    );

    h.get_by_label("dt step").set_value_accesskit(0.3);
    h.run_steps(3);
    assert!(
        h.query_all_by_label_contains("dt must be a divisor of t_write")
            .count()
            >= 1,
        "the reason is shown inline"
    );
    assert!(
        h.get_by_label("Apply and rebuild")
            .accesskit_node()
            .is_disabled()
    );
    assert_eq!(snapshot(&h).params.dt, 0.5);
}

#[test]
fn keyboard_shortcuts_drive_the_simulation() {
    let mut h = harness(classroom());
    h.key_press(egui::Key::ArrowRight);
    wait(&mut h, "→ to step", |s| s.step == 1);
    h.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::ArrowRight);
    wait(&mut h, "Shift+→ to finish the slot", |s| s.step == 100);
    h.key_press(egui::Key::Space);
    wait(&mut h, "Space to run", |s| s.state == RunState::Running);
    h.key_press(egui::Key::Space);
    wait(&mut h, "Space to pause", |s| s.state == RunState::Paused);
    let generation = snapshot(&h).generation;
    h.key_press(egui::Key::R);
    wait(&mut h, "R to reset", |s| {
        s.generation > generation && s.step == 0
    });
    h.key_press(egui::Key::F1);
    h.run_steps(2);
    assert!(h.state().help_open());
    assert!(h.query_by_label("Keyboard shortcuts").is_some());
    assert!(h.query_by_label("Shift + Right arrow").is_some());
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(!h.state().help_open());
    h.key_press(egui::Key::End);
    wait(&mut h, "End to run to the end", |s| {
        s.state == RunState::Finished
    });
}

#[test]
fn the_attention_view_labels_tokens_and_fills_rows() {
    let mut h = harness(classroom());
    for heatmap in [
        "Transformer softmax A_soft",
        "Network A_net",
        "Difference A_net − A_soft",
    ] {
        assert!(
            h.query_all_by_role_and_label(Role::Canvas, heatmap).count() == 1,
            "{heatmap} is shown"
        );
    }
    // Each heatmap labels its query rows and key columns with the tokens.
    assert!(h.get_all_by_label("t0").count() >= 6);
    h.get_by_label("Run to end").click();
    let end = wait(&mut h, "the end", |s| s.state == RunState::Finished);
    assert_eq!(end.rows_completed, 12);
    assert!(h.state().history().rows_done.iter().all(|&d| d));
    assert!(h.query_by_label_contains("Metrics (12/12 rows)").is_some());
    assert!(h.query_by_label_contains("finished").is_some());
}

#[test]
fn a_worker_failure_is_shown_and_reset_recovers() {
    let mut h = harness(classroom());
    h.state_mut().send(Command::InjectPanic);
    h.get_by_label("Step dt").click();
    wait(&mut h, "the failure", |s| s.state == RunState::Failed);
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("Error: The simulation crashed")
            .is_some()
    );
    h.get_by_label("Reset").click();
    wait(&mut h, "the recovery", |s| {
        s.state == RunState::Paused && s.run.is_some()
    });
    h.run_steps(2);
    assert!(h.query_by_label_contains("Error:").is_none());
    h.get_by_label("Step dt").click();
    wait(&mut h, "a step after recovery", |s| s.step == 1);
}

#[test]
fn clicking_the_graph_selects_and_traces() {
    let mut h = harness(classroom());
    h.run_steps(2);
    let astrocyte = h
        .state()
        .graph()
        .position_of(Selection::Astrocyte)
        .expect("drawn");
    h.hover_at(astrocyte);
    h.drag_at(astrocyte);
    h.drop_at(astrocyte);
    h.run_steps(2);
    assert_eq!(h.state().selection(), Some(Selection::Astrocyte));
    let hidden = h
        .state()
        .graph()
        .position_of(Selection::Hidden(0))
        .expect("hidden 0 drawn at t = 0");
    h.hover_at(hidden);
    h.drag_at(hidden);
    h.drop_at(hidden);
    h.run_steps(2);
    assert_eq!(h.state().selection(), Some(Selection::Hidden(0)));
    h.get_by_label("Step slot").click();
    wait(&mut h, "traced samples", |s| {
        s.step == 100 && !s.probes.is_empty()
    });
    let traced = h
        .state()
        .history()
        .samples
        .iter()
        .filter(|s| !s.probes.is_empty())
        .count();
    assert!(traced > 10, "{traced} samples of the selection");
    assert!(
        h.query_all_by_label_contains("Selected: hidden neuron 0")
            .count()
            >= 1
    );
}

/// The main window at a fixed, paused state: mid-way through reading token 3, one synapse
/// selected. Timings are hidden, everything else is as the user sees it.
#[test]
fn main_window_snapshot() {
    let mut h = harness(classroom());
    h.state_mut().hide_timings(true);
    h.state_mut().select(Some(Selection::Synapse {
        output: 2,
        hidden: 5,
    }));
    // 12 write slots of 100 steps, then read slots of 800: stop 600 steps into read slot 3.
    h.state_mut().send(Command::RunToStep(1200 + 2 * 800 + 600));
    wait(&mut h, "the fixed state", |s| {
        s.step == 3400 && s.state == RunState::Paused
    });
    h.run_steps(8);
    h.snapshot_options("main_window_paused", &SnapshotOptions::new());
    h.key_press(egui::Key::F1);
    h.run_steps(8);
    h.snapshot("help_window");
}
