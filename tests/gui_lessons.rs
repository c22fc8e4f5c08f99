//! The lesson player in the whole app: each bundled lesson opens and steps forward and back,
//! Next waits for a step's `done_when`, a question's answer waits for the run, a malformed
//! lesson is refused in one sentence, and a snapshot of a step.

mod common;

use common::{classroom, meet_the_step, present, wait_for, wait_snapshot};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable};
use std::path::Path;
use tripartite::io::lesson;
use tripartite::sim::RunState;
use tripartite::ui::TripartiteApp;
use tripartite::ui::command::AppCommand;
use tripartite::ui::files::FileAction;

fn harness() -> Harness<'static, TripartiteApp> {
    common::app_harness(classroom(), [1280.0, 800.0], 1.0)
}

fn command(h: &mut Harness<'_, TripartiteApp>, command: AppCommand) {
    let ctx = h.ctx.clone();
    h.state_mut().handle(&ctx, command);
}

/// Waits until the panel says "step `n` of `count`" and the step's experiment is running.
fn wait_step(h: &mut Harness<'_, TripartiteApp>, n: usize, count: usize) {
    let label = format!("step {n} of {count}");
    wait_for(h, &label, |app| {
        let at = app.lesson().position().map(|(_, i, _)| i + 1);
        let fresh = app.snapshot().is_some_and(|s| s.run.is_some());
        (at == Some(n) && fresh).then_some(())
    });
    assert!(h.query_by_label(&label).is_some(), "{label} is shown");
}

#[test]
fn each_lesson_opens_and_steps_forward_and_back() {
    for (index, bundled) in lesson::bundled().iter().enumerate() {
        let lesson = bundled.lesson().unwrap();
        let count = lesson.steps.len();
        let mut h = harness();
        command(&mut h, AppCommand::StartLesson(index));
        wait_step(&mut h, 1, count);
        assert!(h.query_by_label(&lesson.title).is_some());
        for n in 1..count {
            meet_the_step(&mut h);
            h.key_press(egui::Key::PageDown);
            wait_step(&mut h, n + 1, count);
            // The step's experiment is the one running.
            let expected = h
                .state()
                .lesson()
                .experiment_for(n)
                .unwrap()
                .experiment
                .clone();
            if lesson.steps[n].experiment.is_some() {
                let running = wait_snapshot(&mut h, "the step's experiment", |s| {
                    s.params == expected.params
                        && s.run
                            .as_ref()
                            .is_some_and(|r| r.source == expected.source.to_string())
                });
                assert_eq!(running.params, expected.params, "step {}", n + 1);
            }
        }
        // Back restores the previous step's experiment, even one loaded two steps before.
        h.key_press(egui::Key::PageUp);
        wait_step(&mut h, count - 1, count);
        let expected = h
            .state()
            .lesson()
            .experiment_for(count - 2)
            .unwrap()
            .experiment
            .clone();
        let running = wait_snapshot(&mut h, "the restored experiment", |s| {
            s.params == expected.params
                && s.run
                    .as_ref()
                    .is_some_and(|r| r.source == expected.source.to_string())
        });
        assert_eq!(running.params, expected.params);
        h.get_by_label("Leave lesson").click();
        h.run_steps(2);
        assert!(!h.state().lesson().is_open());
        assert!(
            h.query_by_label(&format!("step {} of {count}", count - 1))
                .is_none()
        );
    }
}

#[test]
fn done_when_does_not_fire_early_and_fires_when_met() {
    let mut h = harness();
    command(&mut h, AppCommand::StartLesson(0));
    let count = lesson::bundled()[0].lesson().unwrap().steps.len();
    wait_step(&mut h, 1, count);
    h.key_press(egui::Key::PageDown);
    wait_step(&mut h, 2, count);
    // Step 2 waits for the end of write slot 1.
    h.run_steps(4);
    assert!(!h.state().lesson().can_advance(h.state().lesson_world()));
    assert!(h.get_by_label("Next").accesskit_node().is_disabled());
    assert!(
        h.query_by_label_contains("play through write slot 1")
            .is_some()
    );
    // Page Down does nothing yet.
    h.key_press(egui::Key::PageDown);
    h.run_steps(2);
    assert_eq!(h.state().lesson().position().unwrap().1, 1);
    // One Euler step is not the slot.
    h.key_press(egui::Key::ArrowRight);
    wait_snapshot(&mut h, "one step", |s| s.step >= 1);
    h.run_steps(2);
    assert!(!h.state().lesson().can_advance(h.state().lesson_world()));
    // Step slot plays write slot 1 to its end: Next lights up.
    h.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::ArrowRight);
    wait_for(&mut h, "Next to light up", |app| {
        app.lesson().can_advance(app.lesson_world()).then_some(())
    });
    assert!(!h.get_by_label("Next").accesskit_node().is_disabled());
    assert!(
        h.query_by_label_contains("play through write slot 1")
            .is_none()
    );
    h.get_by_label("Next").click();
    wait_step(&mut h, 3, count);
}

/// A one-step lesson with a question, on a run short enough to finish at once.
const QUESTION: &str = r#"format_version = 1
title = "A quick question"
summary = "One prediction."

[[step]]
text = "Predict, then run."
highlight = ["calcium_plot", "m"]
lock = ["m"]
hide = ["seed"]
[step.experiment.params]
m = 64
t_read = 100.0
[step.experiment.sequence]
source = "synthetic:3x8"
[step.question]
prompt = "Where does the calcium go?"
choices = ["Up to Z_t", "Down to zero"]
answer = 1
why = "The processes sum g_j h_j."
"#;

#[test]
fn the_answer_stays_hidden_until_the_run_and_locked_fields_are_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("question.toml");
    std::fs::write(&path, QUESTION).unwrap();
    let mut h = harness();
    command(&mut h, AppCommand::File(FileAction::OpenLesson(path)));
    wait_step(&mut h, 1, 1);
    wait_snapshot(&mut h, "the lesson's experiment", |s| s.params.m == 64);
    assert!(h.query_by_label_contains("Answer:").is_none());
    assert!(h.query_by_label_contains("The answer shows once").is_some());
    // The step locks m and hides the seed.
    assert!(h.get_by_label("m features").accesskit_node().is_disabled());
    assert!(h.query_by_label("seed").is_none());
    h.get_by_label("Up to Z_t").click();
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("Answer:").is_none(),
        "a pick is no run"
    );
    h.key_press(egui::Key::End);
    wait_snapshot(&mut h, "the end of the run", |s| {
        s.state == RunState::Finished
    });
    assert!(
        h.query_by_label("You predicted it. Answer: Up to Z_t.")
            .is_some()
    );
    assert!(h.query_by_label_contains("The processes sum").is_some());
    // The outline of the highlighted regions was recorded where the views drew.
    assert!(
        tripartite::ui::regions::rect(&h.ctx, "calcium_plot").is_some_and(|r| r.width() > 100.0)
    );
    assert!(tripartite::ui::regions::rect(&h.ctx, "m").is_some());
    // Leaving hands m back.
    command(&mut h, AppCommand::LeaveLesson);
    h.run_steps(2);
    assert!(!h.get_by_label("m features").accesskit_node().is_disabled());
    assert!(h.query_by_label("seed").is_some());
}

#[test]
fn a_malformed_lesson_is_refused_in_one_sentence_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        QUESTION.replace(
            r#"highlight = ["calcium_plot", "m"]"#,
            r#"highlight = ["calcum_plot"]"#,
        ),
    )
    .unwrap();
    let mut h = harness();
    let before = h.state().snapshot().unwrap().params.clone();
    command(
        &mut h,
        AppCommand::File(FileAction::OpenLesson(path.clone())),
    );
    h.run_steps(3);
    assert!(!h.state().lesson().is_open());
    let expected = format!(
        "'{}': step 1: highlight \"calcum_plot\" is not a region; regions are: graph,",
        path.display()
    );
    assert!(
        h.query_by_label_contains(&expected).is_some(),
        "the error bar says {expected}"
    );
    assert_eq!(h.state().snapshot().unwrap().params, before);
    // A bundled lesson index that does not exist is refused the same way.
    command(&mut h, AppCommand::StartLesson(99));
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("there is no bundled lesson 99")
            .is_some()
    );
    assert!(!h.state().lesson().is_open());
    assert!(Path::new(&path).exists());
}

#[test]
fn snapshot_of_a_lesson_step() {
    let mut h = harness();
    h.state_mut().hide_timings(true);
    command(&mut h, AppCommand::StartLesson(0));
    let count = lesson::bundled()[0].lesson().unwrap().steps.len();
    wait_step(&mut h, 1, count);
    h.key_press(egui::Key::PageDown);
    wait_step(&mut h, 2, count);
    h.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::ArrowRight);
    wait_for(&mut h, "Next to light up", |app| {
        app.lesson().can_advance(app.lesson_world()).then_some(())
    });
    h.key_press(egui::Key::PageDown);
    wait_step(&mut h, 3, count);
    wait_snapshot(&mut h, "the write slots played", |s| {
        s.state == RunState::Paused && s.step == 8 * 100
    });
    h.run_steps(4);
    h.snapshot("lesson_step");
}

/// The view whose rectangle a Live region lies in, if it is one of a view's.
fn view_of(app: &TripartiteApp, region: &str) -> Option<egui::Rect> {
    let rects = app.view_rects();
    match region {
        "graph" | "astrocyte" => rects.graph,
        "calcium_plot" | "z_line" => rects.traces,
        "a_soft" | "a_net" | "a_diff" => rects.attention,
        // The metrics have their own Live tile (issue 23).
        "metrics" => app.live_rects().metrics,
        _ => None,
    }
}

/// Every region step `n` highlights is drawn inside the window (and inside its view, which
/// clips it), so that the learner sees it without scrolling.
fn assert_highlights_in_sight(h: &mut Harness<'_, TripartiteApp>, lesson: &str, n: usize) {
    h.run_steps(4);
    let step = h.state().lesson().step().unwrap().clone();
    common::wait_for_regions(h, &step.highlight);
    h.run_steps(2);
    let screen = h.ctx.content_rect();
    for name in &step.highlight {
        let rect = tripartite::ui::regions::rect(&h.ctx, name)
            .unwrap_or_else(|| panic!("{lesson}, step {n}: {name} was not drawn"));
        assert!(
            screen.contains_rect(rect),
            "{lesson}, step {n}: {name} at {rect:?} is outside the window {screen:?}"
        );
        if let Some(view) = view_of(h.state(), name) {
            assert!(
                view.expand(1.0).contains_rect(rect),
                "{lesson}, step {n}: {name} at {rect:?} is cut off by its view {view:?}"
            );
        }
        assert!(
            rect.width() > 8.0 && rect.height() > 8.0,
            "{name}: {rect:?}"
        );
    }
}

/// Plays every step of every bundled lesson in a window `size` large, with the parameters
/// open, and requires each step's highlighted regions in sight.
fn every_highlight_in_sight(size: [f32; 2]) {
    for (index, bundled) in lesson::bundled().iter().enumerate() {
        let lesson = bundled.lesson().unwrap();
        let count = lesson.steps.len();
        let mut h = common::app_harness(classroom(), size, 1.0);
        assert!(h.state().params_shown());
        command(&mut h, AppCommand::StartLesson(index));
        wait_step(&mut h, 1, count);
        let title = format!("{} at {}×{}", lesson.title, size[0], size[1]);
        assert_highlights_in_sight(&mut h, &title, 1);
        for n in 1..count {
            meet_the_step(&mut h);
            h.key_press(egui::Key::PageDown);
            wait_step(&mut h, n + 1, count);
            assert_highlights_in_sight(&mut h, &title, n + 1);
        }
    }
}

#[test]
fn every_highlighted_region_of_every_step_is_in_sight_at_1280_by_800() {
    every_highlight_in_sight([1280.0, 800.0]);
}

#[test]
fn every_highlighted_region_of_every_step_is_in_sight_at_1024_by_768() {
    // A projector's screen, not presenting: the lesson and the parameters leave the views
    // less than half the width, and they must still be tiles, every one in sight.
    every_highlight_in_sight([1024.0, 768.0]);
}

#[test]
fn presentation_beside_a_lesson_shows_the_step_s_views_large_and_only_them() {
    for size in [[1280.0, 800.0], [1024.0, 768.0]] {
        let mut h = common::app_harness(classroom(), size, 1.0);
        command(&mut h, AppCommand::StartLesson(0));
        let count = lesson::bundled()[0].lesson().unwrap().steps.len();
        wait_step(&mut h, 1, count);
        present(&mut h, size);
        assert!(h.state().presenting());
        assert!(h.state().lesson().is_open(), "the lesson stays");
        if size[0] == 1280.0 {
            h.state_mut().hide_timings(true);
            h.run_steps(2);
            h.snapshot("presentation_lesson_1280x800");
        }
        let screen = h.ctx.content_rect();
        let ppp = h.ctx.pixels_per_point();
        // Step 1 points at the graph and A_soft: they fill the centre (at least 150 pixels
        // for the matrix), and the views it does not name give them their room.
        for (name, least_px) in [
            ("Network graph", 150.0),
            ("Transformer softmax A_soft", 150.0),
        ] {
            let rect = h
                .get_by_role_and_label(egui::accesskit::Role::Canvas, name)
                .rect();
            assert!(
                screen.contains_rect(rect)
                    && rect.width() * ppp >= least_px
                    && rect.height() * ppp >= least_px.min(100.0),
                "{size:?}: {name} is {rect:?} in {screen:?}"
            );
        }
        for hidden in ["Calcium and normaliser traces", "Network A_net"] {
            assert!(
                h.query_by_role_and_label(egui::accesskit::Role::Canvas, hidden)
                    .is_none(),
                "{size:?}: {hidden} is shown although step 1 does not point at it"
            );
        }
        for button in ["Next", "Back", "Exit (F5)"] {
            let rect = h.get_by_label(button).rect();
            assert!(screen.contains_rect(rect), "{size:?}: {button} at {rect:?}");
        }
    }
}
