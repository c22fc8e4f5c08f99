//! The timeline in the real app (issue 15): clicking and dragging the bar and the keys show an
//! earlier time in every view, the LIVE badge marks the present, and Run while looking back
//! asks whether to branch, after which the bar marks the branch point.

mod common;

use common::{WAIT, app_harness, finished, small, wait_for_label, wait_snapshot};
use egui::{Key, Modifiers, Pos2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::time::Instant;
use tripartite::model::params::Params;
use tripartite::sim::Snapshot;
use tripartite::ui::TripartiteApp;
use tripartite::ui::views::controls::phase_text;

fn shown(h: &mut Harness<'static, TripartiteApp>, what: &str, step: u64) -> Snapshot {
    wait_snapshot(h, what, |s| s.timeline.scrubbed && s.step == step)
}

#[test]
fn clicking_and_dragging_the_timeline_shows_an_earlier_time_and_live_returns() {
    let mut h = app_harness(small(), [1280.0, 800.0], 1.0);
    let end = finished(&mut h);
    let total = end.step;
    assert!(h.query_by_label(" LIVE ").is_some(), "the present is LIVE");
    let live_phase = phase_text(Some(&end));
    assert!(h.query_by_label_contains(&live_phase).is_some());
    let bar = h.get_by_label("Timeline bar").rect();
    // A quarter of the way along: the bar's geometry maps x to the step.
    let quarter = Pos2::new(bar.left() + bar.width() * 0.25, bar.center().y);
    h.hover_at(quarter);
    h.drag_at(quarter);
    h.run_steps(1);
    h.drop_at(quarter);
    let expected = tripartite::ui::views::timeline::step_at(
        quarter.x,
        bar.shrink2(egui::vec2(8.0, 1.0)),
        total,
    );
    let s = shown(&mut h, "the clicked time", expected);
    assert!(
        s.time_ms < end.time_ms,
        "the trace cursor moves back with the shown time"
    );
    assert_eq!(s.timeline.live_step, total, "the present is kept");
    assert!(
        h.query_by_label(" LIVE ").is_none(),
        "no LIVE badge while looking back"
    );
    assert!(h.query_by_label("Back to live").is_some());
    let phase = phase_text(Some(&s));
    assert_ne!(phase, live_phase);
    assert!(
        h.query_by_label_contains(&phase).is_some(),
        "the header names the shown phase: {phase}"
    );
    // Dragging on to three quarters shows that time.
    let three = Pos2::new(bar.left() + bar.width() * 0.75, quarter.y);
    h.drag_at(quarter);
    h.run_steps(1);
    h.hover_at(three);
    h.run_steps(1);
    h.drop_at(three);
    wait_snapshot(&mut h, "the dragged time", |s| {
        s.timeline.scrubbed && s.step > expected + total / 3
    });
    h.get_by_label("Back to live").click();
    wait_snapshot(&mut h, "the present", |s| !s.timeline.scrubbed);
    h.run_steps(2);
    assert!(h.query_by_label(" LIVE ").is_some(), "LIVE again");
}

#[test]
fn the_keys_move_by_a_step_and_a_slot_and_end_returns_to_the_present() {
    let mut h = app_harness(small(), [1280.0, 800.0], 1.0);
    let end = finished(&mut h);
    let slots = end.run.as_ref().unwrap().slots.clone();
    h.key_press(Key::Home);
    shown(&mut h, "the start (Home)", 0);
    h.key_press(Key::Period);
    shown(&mut h, "one step on (.)", 1);
    h.key_press_modifiers(Modifiers::COMMAND, Key::ArrowRight);
    let first_end = slots[0].end_step();
    shown(&mut h, "the first slot's end (Ctrl+→)", first_end);
    h.key_press_modifiers(Modifiers::COMMAND, Key::ArrowRight);
    shown(
        &mut h,
        "the second slot's end (Ctrl+→)",
        slots[1].end_step(),
    );
    h.key_press(Key::Comma);
    shown(&mut h, "one step back (,)", slots[1].end_step() - 1);
    h.key_press_modifiers(Modifiers::COMMAND, Key::ArrowLeft);
    shown(&mut h, "back to the first slot's end (Ctrl+←)", first_end);
    h.key_press(Key::End);
    let live = wait_snapshot(&mut h, "the present (End)", |s| !s.timeline.scrubbed);
    assert_eq!(
        live.step, end.step,
        "End while looking back returns; it does not run on"
    );
}

#[test]
fn run_while_looking_back_asks_and_a_branch_is_marked() {
    let mut h = app_harness(small(), [1280.0, 800.0], 1.0);
    let end = finished(&mut h);
    let slots = end.run.as_ref().unwrap().slots.clone();
    let at = slots[7].end_step();
    h.key_press(Key::Home);
    shown(&mut h, "the start", 0);
    // Each press moves one slot from the time shown, so wait for the worker to show it
    // before the next press (a loaded machine may take longer than a few frames).
    for (k, slot) in slots.iter().take(8).enumerate() {
        h.key_press_modifiers(Modifiers::COMMAND, Key::ArrowRight);
        h.run_steps(2);
        shown(&mut h, &format!("slot {k}'s end"), slot.end_step());
    }
    h.key_press(Key::Space);
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("You are looking back in time")
            .is_some(),
        "Run while looking back asks first"
    );
    assert_eq!(h.state().snapshot().unwrap().step, at, "nothing ran yet");
    let branch = h.get_by_label_contains("Branch from t =");
    branch.click();
    let s = wait_snapshot(&mut h, "the branch", |s| s.timeline.branches == vec![at]);
    assert!(!s.timeline.scrubbed);
    let deadline = Instant::now() + WAIT;
    while h.state().snapshot().is_some_and(|s| s.step < end.step) {
        assert!(Instant::now() < deadline, "the branch runs to the end");
        h.step();
    }
    h.run_steps(3);
    assert!(h.query_by_label_contains("You are looking back").is_none());
    h.snapshot("timeline_branched");
}

#[test]
fn file_save_state_and_open_state_continue_the_run_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.tpstate");
    let mut h = app_harness(small(), [1280.0, 800.0], 1.0);
    let whole = finished(&mut h);
    h.get_by_label("Reset").click();
    wait_snapshot(&mut h, "the reset", |s| s.step == 0);
    for _ in 0..7 {
        h.get_by_label("Step slot").click();
        h.run_steps(2);
    }
    let slots = whole.run.as_ref().unwrap().slots.clone();
    let saved_at = slots[6].end_step();
    wait_snapshot(&mut h, "the seventh slot's end", |s| s.step == saved_at);
    let ctx = h.ctx.clone();
    h.state_mut().file_action(
        &ctx,
        tripartite::ui::files::FileAction::SaveState(path.clone()),
    );
    wait_for_label(&mut h, "Saved the run's state at step");
    assert!(path.is_file());
    // The file carries the trace so far, as the CLI's do: the app's history up to the step.
    let saved = tripartite::io::checkpoint::load_state(&path).unwrap();
    let history: Vec<(u64, u64)> = h
        .state()
        .history()
        .samples
        .iter()
        .filter(|s| s.step <= saved_at)
        .map(|s| (s.step, s.calcium.to_bits()))
        .collect();
    let in_file: Vec<(u64, u64)> = saved
        .trace
        .iter()
        .map(|s| (s.step, s.calcium.to_bits()))
        .collect();
    assert!(in_file.len() > 10, "{} samples", in_file.len());
    assert_eq!(in_file, history);
    assert!(
        in_file.first().unwrap().0 < slots[0].end_step(),
        "from the start"
    );
    // Run on to the end, then open the saved state: the run is back at the saved step, and
    // running on gives the uninterrupted run's result exactly.
    h.get_by_label("Run to end").click();
    wait_snapshot(&mut h, "the end", |s| s.step == whole.step);
    h.state_mut().file_action(
        &ctx,
        tripartite::ui::files::FileAction::OpenState(path.clone()),
    );
    wait_snapshot(&mut h, "the saved step", |s| s.step == saved_at);
    // After Open state the trace shows the past: the file's samples, under the new run.
    h.run_steps(3);
    let opened: Vec<(u64, u64)> = h
        .state()
        .history()
        .samples
        .iter()
        .filter(|s| s.step <= saved_at)
        .map(|s| (s.step, s.calcium.to_bits()))
        .collect();
    assert_eq!(opened, in_file, "the saved trace is shown again");
    h.get_by_label("Run to end").click();
    let again = wait_snapshot(&mut h, "the end again", |s| s.step == whole.step);
    assert_eq!(
        again.metrics.values().map(f64::to_bits),
        whole.metrics.values().map(f64::to_bits)
    );
    // A damaged file is refused in one sentence and the run is kept.
    let damaged = dir.path().join("damaged.tpstate");
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&damaged, bytes).unwrap();
    h.state_mut()
        .file_action(&ctx, tripartite::ui::files::FileAction::OpenState(damaged));
    wait_for_label(&mut h, "is damaged");
    assert_eq!(
        h.state().snapshot().unwrap().step,
        whole.step,
        "the run is kept"
    );
}

/// (step, calcium bits) of the app's trace history: equal lists are the same trace.
fn trace(h: &Harness<'static, TripartiteApp>) -> Vec<(u64, u64)> {
    h.state()
        .history()
        .samples
        .iter()
        .map(|s| (s.step, s.calcium.to_bits()))
        .collect()
}

#[test]
fn a_branch_can_keep_the_old_run_as_baseline_and_undo_brings_the_old_run_back() {
    use tripartite::ui::command::AppCommand;
    let mut h = app_harness(small(), [1280.0, 800.0], 1.0);
    let end = finished(&mut h);
    h.run_steps(3);
    let old_trace = trace(&h);
    let slots = end.run.as_ref().unwrap().slots.clone();
    let at = slots[3].end_step();
    h.key_press(Key::Home);
    shown(&mut h, "the start", 0);
    for _ in 0..4 {
        h.key_press_modifiers(Modifiers::COMMAND, Key::ArrowRight);
        h.run_steps(2);
    }
    shown(&mut h, "the fourth slot's end", at);
    // A live edit while looking back: the branch question, answered "keep as baseline".
    let before = h.state().snapshot().unwrap().params.clone();
    let after = Params {
        tau_calcium: before.tau_calcium * 4.0,
        ..before.clone()
    };
    let ctx = h.ctx.clone();
    h.state_mut().handle(
        &ctx,
        AppCommand::EditParams {
            before: Box::new(before.clone()),
            after: Box::new(after.clone()),
        },
    );
    h.run_steps(2);
    h.get_by_label(tripartite::ui::views::timeline::KEEP_AS_BASELINE)
        .click();
    wait_snapshot(&mut h, "the branch", |s| {
        s.timeline.branches == vec![at] && s.params == after
    });
    // The baseline is the old run as a whole (its end), not the time that was shown.
    let baseline = h.state().baseline().expect("the old run pinned").clone();
    assert_eq!(baseline.steps, end.step);
    assert_eq!(
        baseline.metrics.values().map(f64::to_bits),
        end.metrics.values().map(f64::to_bits)
    );
    assert_eq!(baseline.experiment.params, before);
    // Pinning shows the Compare tab. The branch runs to its own end: the tab sets the two
    // against each other.
    assert_eq!(h.state().tab(), tripartite::ui::command::Tab::Compare);
    // Until the branch has read as many rows as the baseline, the table says its Δ is not
    // like for like.
    h.run_steps(3);
    let rows = end.run.as_ref().unwrap().tokens.len();
    let part = h.state().snapshot().unwrap().rows_completed;
    assert!(part < rows, "the branch waits where it began");
    let warning =
        format!("baseline has read {rows} rows and now {part}: the metrics cover different rows");
    assert!(
        h.query_by_label_contains(&warning).is_some(),
        "the comparison says: {warning}"
    );
    h.state_mut().send(tripartite::sim::Command::RunToEnd);
    let branched = wait_snapshot(&mut h, "the branch's end", |s| {
        s.step == end.step && s.params == after && !s.timeline.scrubbed
    });
    h.run_steps(3);
    assert!(
        h.query_by_label_contains("the metrics cover different rows")
            .is_none(),
        "both runs have read every row"
    );
    assert_ne!(
        branched.metrics.calcium_rel_err,
        end.metrics.calcium_rel_err
    );
    h.run_steps(3);
    let new_trace = trace(&h);
    assert_ne!(new_trace, old_trace);
    h.run_steps(3);
    for value in [
        end.metrics.calcium_rel_err,
        branched.metrics.calcium_rel_err,
    ] {
        let text = tripartite::ui::theme::sig(value);
        assert!(
            h.query_by_label(&text).is_some(),
            "{text} in the Compare tab"
        );
    }
    h.state_mut().set_tab(tripartite::ui::command::Tab::Live);
    h.run_steps(2);

    // Undo: the run before the branch, future, marks and trace included, shown where it was.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    let undone = wait_snapshot(&mut h, "the run before the branch", |s| {
        s.timeline.branches.is_empty() && s.params == before && s.timeline.live_step == end.step
    });
    assert!(
        undone.timeline.scrubbed && undone.step == at,
        "shown where it was"
    );
    assert_eq!(
        undone
            .timeline
            .live_metrics
            .unwrap()
            .values()
            .map(f64::to_bits),
        end.metrics.values().map(f64::to_bits)
    );
    h.run_steps(3);
    assert_eq!(trace(&h), old_trace, "the old trace is back");
    assert_eq!(
        h.state().history().rows_done,
        vec![true; 6],
        "every row of the old run"
    );
    // Redo: the branch again, with its own future.
    h.key_press_modifiers(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::Z);
    let redone = wait_snapshot(&mut h, "the branch again", |s| {
        s.timeline.branches == vec![at] && s.params == after && s.timeline.live_step == end.step
    });
    assert_eq!(
        redone.metrics.values().map(f64::to_bits),
        branched.metrics.values().map(f64::to_bits)
    );
    h.run_steps(3);
    assert_eq!(trace(&h), new_trace, "the branch's trace is back");
}
