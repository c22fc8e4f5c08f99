//! A/B runs and undo in the app, driven through accessible labels with the real worker: pin a
//! baseline, edit, read exactly the edited keys in the diff, undo and redo, revert, and run a
//! twin in the background.

mod common;

use egui::Modifiers;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use tripartite::data::experiment::Experiment;
use tripartite::model::params::Mode;
use tripartite::sim::RunState;
use tripartite::sim::compare::experiment_diff;
use tripartite::ui::TripartiteApp;
use tripartite::ui::command::Tab;
use tripartite::ui::views::compare::{ABLATION_KEY, choices};

fn harness(experiment: Experiment) -> Harness<'static, TripartiteApp> {
    common::app_harness(experiment, [1280.0, 800.0], 1.0)
}

fn algebraic() -> Experiment {
    let mut experiment = common::classroom();
    experiment.params.mode = Mode::Algebraic;
    experiment
}

/// The keys that differ between the pinned baseline and the app's experiment now.
fn diff_keys(app: &TripartiteApp) -> Vec<String> {
    let baseline = app.baseline().expect("a pinned baseline");
    experiment_diff(&baseline.experiment, &app.current_experiment())
        .into_iter()
        .map(|d| d.key)
        .collect()
}

#[test]
fn pin_edit_then_the_diff_lists_exactly_the_edited_keys_and_undo_restores() {
    let mut h = harness(algebraic());
    h.get_by_label("Run to end").click();
    common::wait_snapshot(&mut h, "the end of the run", |s| {
        s.state == RunState::Finished
    });
    common::menu_item(&mut h, "Edit", "Pin as baseline");
    assert!(h.state().baseline().is_some_and(|b| b.is_finished()));
    assert_eq!(
        h.state().tab(),
        Tab::Compare,
        "pinning shows the comparison"
    );
    assert!(h.query_by_label_contains("No setting differs").is_some());

    h.get_by_label("τ_c calcium").set_value_accesskit(55.0);
    common::wait_snapshot(&mut h, "τ_c", |s| s.params.tau_calcium == 55.0);
    h.get_by_label("η learning").set_value_accesskit(0.03);
    common::wait_snapshot(&mut h, "η", |s| s.params.eta == 0.03);
    assert_eq!(diff_keys(h.state()), ["tau_calcium", "eta"]);
    assert!(h.query_by_label_contains("tau_calcium: 100 → 55").is_some());
    assert!(h.query_by_label_contains("eta: 0.02 → 0.03").is_some());
    assert!(h.query_by_label_contains("No setting differs").is_none());
    assert_eq!(h.state().edit_history().done().len(), 2);

    // Undo from the menu, then from the keyboard: each restores the value before its edit.
    common::menu_item(&mut h, "Edit", "Undo");
    let s = common::wait_snapshot(&mut h, "undo of η", |s| s.params.eta == 0.02);
    assert_eq!(s.params.tau_calcium, 55.0, "one undo takes back one edit");
    assert_eq!(diff_keys(h.state()), ["tau_calcium"]);
    h.key_press_modifiers(Modifiers::COMMAND, egui::Key::Z);
    common::wait_snapshot(&mut h, "undo of τ_c", |s| s.params.tau_calcium == 100.0);
    assert!(diff_keys(h.state()).is_empty());

    // Redo re-applies; a new edit clears what could be redone.
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, egui::Key::Z);
    common::wait_snapshot(&mut h, "redo of τ_c", |s| s.params.tau_calcium == 55.0);
    assert!(h.state().edit_history().can_redo());
    h.get_by_label("τ_c calcium").set_value_accesskit(70.0);
    common::wait_snapshot(&mut h, "a new edit", |s| s.params.tau_calcium == 70.0);
    assert!(!h.state().edit_history().can_redo());

    // The History window lists the edits in words; Revert to baseline is itself undoable.
    common::menu_item(&mut h, "Edit", "History…");
    h.run_steps(3);
    let words: Vec<String> = h
        .state()
        .edit_history()
        .done()
        .map(tripartite::ui::history::describe)
        .collect();
    assert_eq!(words, ["tau_calcium: 100 → 55", "tau_calcium: 55 → 70"]);
    assert!(
        h.query_by_label_contains("1. tau_calcium: 100 → 55")
            .is_some()
    );
    assert!(
        h.query_by_label_contains("2. tau_calcium: 55 → 70")
            .is_some()
    );
    h.get_by_label("Revert to baseline").click();
    common::wait_snapshot(&mut h, "the revert", |s| s.params.tau_calcium == 100.0);
    assert!(diff_keys(h.state()).is_empty());
    assert!(
        h.query_by_label_contains("3. tau_calcium: 70 → 100")
            .is_some()
    );
    // Clicking an entry jumps back to just after it.
    h.get_by_label("1. tau_calcium: 100 → 55").click();
    common::wait_snapshot(&mut h, "the jump", |s| s.params.tau_calcium == 55.0);
    assert_eq!(h.state().edit_history().done().len(), 1);
}

#[test]
fn a_twin_runs_beside_the_current_experiment_and_its_comparison_appears() {
    let mut h = harness(common::classroom());
    // The Ablate menu is built from the parameter table: it appears once `ablation` exists.
    assert_eq!(
        h.query_by_label("Ablate").is_some(),
        choices(ABLATION_KEY).is_some()
    );
    h.get_by_label("Compare").click();
    h.run_steps(2);
    assert!(h.query_by_label_contains("No twin").is_some());
    h.get_by_label("set to").click();
    h.run_steps(2);
    h.get_by_label("set to").type_text("1024");
    h.run_steps(2);
    h.get_by_label("Run twin").click();
    h.run_steps(1);
    let comparison = common::wait_twin(&mut h);
    let keys: Vec<String> = comparison.diff().into_iter().map(|d| d.key).collect();
    assert_eq!(keys, ["m"]);
    assert_eq!(
        comparison.reference.experiment,
        h.state().current_experiment()
    );
    let tv = comparison.deltas()[0];
    assert!(
        tv.delta < 0.0,
        "four times the features approximate better: {tv:?}"
    );
    h.run_steps(3);
    assert!(h.query_by_label("Twin: m = 1024").is_some());
    assert!(h.query_by_label_contains("m: 256 → 1024").is_some());
    assert!(h.query_by_label("A_net change (twin)").is_some());
    assert!(h.query_by_label("Calcium of both runs (twin)").is_some());
    // Each side says which run it is (issue 25 §1): layer, head, whether it ran alone, m.
    let params = &comparison.reference.experiment.params;
    for m in [params.m, 1024] {
        let side = format!(
            "layer {} · head {} (one head) · m = {m} · seed {}",
            params.layer, params.head, params.seed
        );
        assert!(
            h.query_by_label_contains(&side).is_some(),
            "a side names its run: \"{side}\""
        );
    }
    h.snapshot("compare_twin");
    h.get_by_label("Close twin").click();
    h.run_steps(2);
    assert!(h.state().twin().is_none());
}

#[test]
fn a_sequence_change_shows_in_the_diff_and_undo_restores_the_sequence() {
    let mut h = harness(algebraic());
    common::menu_item(&mut h, "Edit", "Pin as baseline");
    assert!(h.state().baseline().is_some());
    h.get_by_label("N tokens").set_value_accesskit(8.0);
    h.run_steps(2);
    h.get_by_label("Load sequence").click();
    common::wait_snapshot(&mut h, "the new sequence", |s| {
        s.run.as_ref().is_some_and(|r| r.tokens.len() == 8)
    });
    assert_eq!(diff_keys(h.state()), ["sequence"]);
    h.run_steps(2);
    assert!(h.query_by_label_contains("different tokens").is_some());
    assert!(
        h.query_by_label_contains("sequence: synthetic:12x32 → synthetic:8x32")
            .is_some()
    );
    h.key_press_modifiers(Modifiers::COMMAND, egui::Key::Z);
    common::wait_snapshot(&mut h, "the old sequence", |s| {
        s.run.as_ref().is_some_and(|r| r.tokens.len() == 12)
    });
    assert!(diff_keys(h.state()).is_empty());
    // Different tokens cannot be compared cell by cell; the same tokens can again.
    h.run_steps(2);
    assert!(h.query_by_label("A_net change (baseline)").is_some());
}

#[test]
fn a_rebuilt_run_against_its_baseline_snapshot() {
    let mut h = harness(common::classroom());
    h.get_by_label("Run to end").click();
    common::wait_snapshot(&mut h, "the end of the run", |s| {
        s.state == RunState::Finished
    });
    common::menu_item(&mut h, "Edit", "Pin as baseline");
    h.get_by_label("σ_γ gain spread").set_value_accesskit(0.3);
    h.run_steps(3);
    h.get_by_label("Apply and rebuild").click_accesskit();
    common::wait_snapshot(&mut h, "the rebuild", |s| {
        s.params.heterogeneity == 0.3 && s.step == 0
    });
    h.run_steps(2);
    // The Compare tab offers its own Run to end while the live side is unfinished.
    let buttons: Vec<_> = h.get_all_by_label("Run to end").collect();
    assert_eq!(buttons.len(), 2);
    buttons[1].click();
    common::wait_snapshot(&mut h, "the end of the new run", |s| {
        s.state == RunState::Finished && s.params.heterogeneity == 0.3
    });
    h.run_steps(3);
    assert_eq!(diff_keys(h.state()), ["heterogeneity"]);
    assert!(h.query_by_label("A_net change (baseline)").is_some());
    h.snapshot("compare_baseline");
}

#[test]
fn a_twin_with_a_bad_value_is_refused_in_one_sentence() {
    let mut h = harness(algebraic());
    h.get_by_label("Compare").click();
    h.run_steps(2);
    h.get_by_label("set to").click();
    h.run_steps(2);
    h.get_by_label("set to").type_text("0");
    h.run_steps(2);
    h.get_by_label("Run twin").click();
    h.run_steps(3);
    assert!(h.state().twin().is_none());
    assert!(
        h.query_by_label_contains(
            "the twin cannot run: m must be a whole number between 1 and 16 777 216"
        )
        .is_some()
    );
}
