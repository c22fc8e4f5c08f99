//! What new users hit (issue 11): loading, parameters and messages, driven through the app's
//! accessible labels with the real worker.

mod common;

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable};
use std::time::Duration;
use tripartite::data::experiment::Experiment;
use tripartite::data::real::bundle;
use tripartite::io::presets;
use tripartite::ui::files::FileAction;
use tripartite::ui::{Selection, TripartiteApp};

fn example(name: &str) -> Experiment {
    presets::find(name).unwrap().experiment().unwrap()
}

fn harness(experiment: Experiment) -> Harness<'static, TripartiteApp> {
    common::app_harness(experiment, [1280.0, 800.0], 1.0)
}

use common::wait_snapshot as wait;

fn frames(h: &mut Harness<'_, TripartiteApp>, n: usize) {
    for _ in 0..n {
        h.step();
        std::thread::sleep(Duration::from_millis(3));
    }
}

fn open_example(h: &mut Harness<'_, TripartiteApp>, name: &'static str) {
    let ctx = h.ctx.clone();
    h.state_mut()
        .file_action(&ctx, FileAction::OpenExample { name });
}

#[test]
fn an_example_loads_exactly_what_it_says_and_starts_a_clean_view() {
    let mut h = harness(example("heterogeneous-processes"));
    assert_eq!(h.state().snapshot().unwrap().params.heterogeneity, 0.5);
    // Select the astrocyte and pan the graph away.
    h.state_mut().select(Some(Selection::Astrocyte));
    frames(&mut h, 2);
    let at = h.state().graph().position_of(Selection::Hidden(0)).unwrap();
    let to = at + egui::vec2(-300.0, -200.0);
    h.hover_at(at);
    h.drag_at(at);
    h.hover_at(to);
    h.drop_at(to);
    frames(&mut h, 2);
    assert_ne!(
        h.state().graph().view().0,
        egui::Vec2::ZERO,
        "the drag panned"
    );

    open_example(&mut h, "astrocyte-too-slow");
    wait(&mut h, "the next example", |s| {
        s.params.tau_calcium == 400.0
    });
    frames(&mut h, 10);
    let loaded = h.state().snapshot().unwrap().params.clone();
    assert_eq!(
        loaded,
        example("astrocyte-too-slow").params,
        "σ_γ carried over"
    );
    assert_eq!(loaded.heterogeneity, 0.0);
    assert_eq!(h.state().selection(), None);
    assert_eq!(h.state().graph().view(), (egui::Vec2::ZERO, 1.0));
    assert_eq!(
        h.state().document().name(),
        "An astrocyte too slow (example)"
    );
}

#[test]
fn choosing_a_sentence_updates_the_input_group() {
    let mut h = harness(example("calcium-tracks-normaliser"));
    assert!(
        h.query_by_label("N tokens").is_some(),
        "synthetic input shown"
    );
    let sentence = &bundle().unwrap().sentences[0];
    h.get_by_label("Sentence (MiniLM)").click();
    frames(&mut h, 2);
    h.get_by_label(&sentence.text).click();
    let source = format!("bundled:{}", sentence.name);
    wait(&mut h, "the sentence", |s| {
        s.run.as_ref().is_some_and(|r| r.source == source)
    });
    frames(&mut h, 3);
    assert!(h.query_by_label("N tokens").is_none(), "still synthetic");
    assert_eq!(
        h.get_by_label("source").value().as_deref(),
        Some(source.as_str())
    );
}

#[test]
fn layer_and_head_have_one_control_each() {
    let mut h = harness(example("no-exponential"));
    wait(&mut h, "the head grid", |_| true);
    frames(&mut h, 20);
    assert_eq!(h.query_all_by_label("layer").count(), 1);
    assert_eq!(h.query_all_by_label("head").count(), 1);
}

#[test]
fn the_unsaved_changes_question_needs_an_answer() {
    let mut h = harness(Experiment::default());
    h.get_by_label("τ_c calcium").set_value_accesskit(55.0);
    wait(&mut h, "the live edit", |s| s.params.tau_calcium == 55.0);
    open_example(&mut h, "causal-streaming");
    frames(&mut h, 3);
    assert!(
        h.query_by_label("Discard unsaved changes to untitled?")
            .is_some()
    );
    // A click elsewhere is not an answer.
    h.hover_at(egui::pos2(1200.0, 780.0));
    h.drag_at(egui::pos2(1200.0, 780.0));
    h.drop_at(egui::pos2(1200.0, 780.0));
    frames(&mut h, 3);
    assert!(
        h.query_by_label("Discard unsaved changes to untitled?")
            .is_some(),
        "a click outside dismissed the question"
    );
    h.get_by_label("Discard").click();
    wait(&mut h, "the example", |s| {
        s.params.schedule.name() == "causal"
    });
    frames(&mut h, 3);
    assert_eq!(h.state().document().name(), "Causal streaming (example)");

    // An edited example gives way to another example without a question.
    h.get_by_label("τ_c calcium").set_value_accesskit(60.0);
    wait(&mut h, "the live edit", |s| s.params.tau_calcium == 60.0);
    open_example(&mut h, "astrocyte-too-slow");
    wait(&mut h, "the next example", |s| {
        s.params.tau_calcium == 400.0
    });
    frames(&mut h, 3);
    assert!(h.query_by_label_contains("Discard unsaved").is_none());
}

#[test]
fn messages_belong_to_their_experiment() {
    let mut h = harness(example("calcium-tracks-normaliser"));
    h.get_by_label("τ_c calcium").set_value_accesskit(55.0);
    wait(&mut h, "the live edit", |s| s.params.tau_calcium == 55.0);
    frames(&mut h, 3);
    assert!(h.query_by_label_contains("Applied live").is_some());
    open_example(&mut h, "too-few-hidden-neurons");
    frames(&mut h, 2);
    h.get_by_label("Discard").click();
    wait(&mut h, "the example", |s| s.params.m == 16);
    frames(&mut h, 5);
    assert!(h.query_by_label_contains("Applied live").is_none());
    assert!(h.query_by_label_contains("tau_calcium").is_none());
}

#[test]
fn show_description_brings_back_a_closed_banner() {
    let mut h = harness(Experiment::default());
    open_example(&mut h, "causal-streaming");
    wait(&mut h, "the example", |s| {
        s.params.schedule.name() == "causal"
    });
    frames(&mut h, 3);
    let opening = "Causal streaming. Tokens arrive one at a time";
    assert!(h.query_by_label_contains(opening).is_some());
    h.get_by_label("×").click();
    frames(&mut h, 3);
    assert!(h.query_by_label_contains(opening).is_none());
    h.get_by_label("File").click();
    frames(&mut h, 2);
    h.get_by_label("Show description").click();
    frames(&mut h, 3);
    assert!(h.query_by_label_contains(opening).is_some());
}

#[test]
fn pending_changes_and_errors_stay_on_top_of_the_panel() {
    let mut h = harness(Experiment::default());
    h.get_by_label("σ_γ gain spread").set_value_accesskit(1.0);
    frames(&mut h, 3);
    let apply = h.get_by_label("Apply and rebuild");
    assert!(
        apply.rect().bottom() < 300.0,
        "Apply sits in the pinned bar, at {:?}",
        apply.rect()
    );
    apply.click();
    wait(&mut h, "the rebuild", |s| s.params.heterogeneity == 1.0);

    // A bad source is answered next to the field where it was typed.
    h.get_by_label("other").click();
    frames(&mut h, 2);
    h.get_by_label("source")
        .set_text_value_accesskit("bundled:nope");
    frames(&mut h, 2);
    h.get_by_label("Load sequence").click_accesskit();
    wait(&mut h, "the refusal", |s| s.rejected().is_some());
    frames(&mut h, 3);
    let field = h.get_by_label("source").rect();
    let answer = h.get_by_label_contains("Refused: Not loaded").rect();
    assert!(
        answer.top() > field.top() && answer.top() - field.bottom() < 60.0,
        "the refusal {answer:?} is right under the field {field:?}"
    );
    // And in the bar, with every current error.
    let answers: Vec<(String, egui::Rect)> = h
        .query_all_by_label_contains("no bundled sentence named 'nope'")
        .map(|node| {
            let rect = node.rect();
            let node = node.accesskit_node();
            (
                node.label().or_else(|| node.value()).unwrap_or_default(),
                rect,
            )
        })
        .collect();
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(
        answers
            .iter()
            .any(|(text, rect)| text.starts_with("Not loaded") && rect.bottom() < field.top()),
        "{answers:?}"
    );
}

#[test]
fn every_refused_value_stays_red_with_its_reason_in_english() {
    let mut h = harness(Experiment::default());
    let before = h.state().snapshot().unwrap().params.clone();
    h.get_by_label("m features").set_value_accesskit(0.0);
    frames(&mut h, 2);
    h.get_by_label("τ_c calcium").set_value_accesskit(-5.0);
    frames(&mut h, 10);
    // The sentences `--set m=0` and `--set tau_calcium=-5` give, once each.
    let m = "m must be a whole number between 1 and 16 777 216";
    let tau = "tau_calcium must be a time in ms above 0 and at most 1 000 000 000, and no shorter than dt";
    assert_eq!(h.query_all_by_label(m).count(), 1, "m's reason, once");
    assert_eq!(
        h.query_all_by_label(tau).count(),
        1,
        "τ_c's at the same time"
    );
    assert_eq!(h.query_all_by_label_contains(" must be ").count(), 2);
    assert!(h.query_by_label_contains("..=").is_none());
    assert!(h.query_by_label_contains("expected").is_none());
    let s = h.state().snapshot().unwrap().clone();
    assert_eq!(
        s.params.tau_calcium, before.tau_calcium,
        "−5 reached the worker"
    );
    assert_eq!(s.params.m, before.m);
    // Still there frames later, until reverted.
    frames(&mut h, 20);
    assert!(h.query_by_label(m).is_some());
    h.get_by_label("Revert refused values").click();
    frames(&mut h, 3);
    assert!(h.query_by_label_contains(" must be ").is_none());
    assert!(h.query_by_label("Revert refused values").is_none());

    // Letters in a number field get the same sentence, and nothing to revert: the field kept
    // its value.
    h.get_by_label("τ_c calcium").focus();
    frames(&mut h, 2);
    h.get_by_label("τ_c calcium").type_text("abc");
    frames(&mut h, 2);
    h.key_press(egui::Key::Enter);
    frames(&mut h, 3);
    assert_eq!(h.query_all_by_label(tau).count(), 1, "a silent revert");
    assert!(h.query_by_label("Revert refused values").is_none());
}

/// Typing −5 into m, as a student would, is refused in the one sentence the command line gives
/// for `--set m=-5`, shown once, with no Revert button: the draft still holds the old m.
#[test]
fn a_negative_m_is_refused_once_in_the_tables_words() {
    let mut h = harness(Experiment::default());
    let before = h.state().snapshot().unwrap().params.m;
    h.get_by_label("m features").focus();
    frames(&mut h, 2);
    h.get_by_label("m features").type_text("-5");
    frames(&mut h, 2);
    h.key_press(egui::Key::Enter);
    frames(&mut h, 5);
    let m = "m must be a whole number between 1 and 16 777 216";
    assert_eq!(
        h.query_all_by_label_contains(m).count(),
        1,
        "once, not banner and inline"
    );
    assert!(h.query_by_label_contains("not a whole number").is_none());
    assert!(
        h.query_by_label("Revert refused values").is_none(),
        "nothing to revert"
    );
    frames(&mut h, 10);
    assert_eq!(h.state().snapshot().unwrap().params.m, before);
    assert_eq!(
        h.query_all_by_label_contains(m).count(),
        1,
        "it stays until retyped"
    );
}
