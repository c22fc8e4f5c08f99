//! The timeline without a thread: scrub, branch, undo and redo of a branch, the keyframe
//! budget, and the refusal of a whole layer.

use super::super::live::fixture;
use super::*;
use crate::sim::keyframes::DEFAULT_BUDGET_BYTES;

/// Steps `live` to `step` as the engine does, offering a keyframe at every slot's end.
fn run_to(live: &mut Live, timeline: &mut Timeline, step: u64) {
    while live.step_index() < step {
        if live.step_block(step - live.step_index()) == 0 {
            break;
        }
        let slot_start = live
            .current_slot()
            .is_none_or(|slot| slot.start_step == live.step_index());
        if slot_start {
            timeline.offer(live);
        }
    }
}

/// The state a fresh run of `params` has after `step` single steps.
fn reference(params: &Params, step: u64) -> SimState {
    let (_, live) = fixture::one(params);
    let mut sim = live.into_one().unwrap();
    while sim.step_index() < step {
        sim.step();
    }
    sim.state()
}

/// Whether two states are the same, bit for bit (NaN marks rows not read yet, so `==` on the
/// floats would not do).
fn same(a: &SimState, b: &SimState) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

fn started(params: &Params) -> (Source, Live, Timeline) {
    let (source, live) = fixture::one(params);
    let mut timeline = Timeline::new(DEFAULT_BUDGET_BYTES);
    timeline.restart(&live);
    (source, live, timeline)
}

#[test]
fn scrubbing_back_shows_the_earlier_state_exactly_and_leaves_the_live_run() {
    let params = fixture::params();
    let (source, mut live, mut timeline) = started(&params);
    let total = live.total_steps();
    let present = total * 3 / 4;
    run_to(&mut live, &mut timeline, present);
    assert!(!timeline.keyframes().is_empty(), "slot ends were kept");
    let live_state = live.state();
    for step in [0, 7, total / 4 + 3, total / 2, present - 1] {
        assert_eq!(
            timeline.show_step(&live, Some(step), &source, &[]),
            Shown::Earlier
        );
        assert_eq!(timeline.shown(), Some(step));
        let shown = timeline.scrubbed().expect("an earlier time is shown");
        assert!(
            same(&shown.state(), &reference(&params, step)),
            "step {step}"
        );
    }
    assert!(
        same(&live.state(), &live_state),
        "the live run is untouched"
    );
    // The present (or later) shows the live run.
    assert_eq!(
        timeline.show_step(&live, Some(present), &source, &[]),
        Shown::Present
    );
    assert!(timeline.scrubbed().is_none());
}

#[test]
fn a_branch_goes_on_from_the_shown_step_and_undo_and_redo_switch_lines() {
    let params = fixture::params();
    let (source, mut live, mut timeline) = started(&params);
    let total = live.total_steps();
    let (at, later) = (total / 3, total / 2);
    run_to(&mut live, &mut timeline, total * 2 / 3);
    let before_branch = live.state();
    let new = Params {
        tau_calcium: 30.0,
        ..params.clone()
    };
    // Nothing shown: nothing to branch from (the engine applies the edit instead).
    assert_eq!(timeline.branch(&mut live, &params, &new), Ok(None));
    timeline.show_step(&live, Some(at), &source, &[]);
    // A structural change cannot branch: it rebuilds from t = 0.
    let structural = Params {
        m: 64,
        ..new.clone()
    };
    let refused = timeline
        .branch(&mut live, &params, &structural)
        .unwrap_err();
    assert!(
        refused.starts_with("Cannot branch with a change of m:"),
        "{refused}"
    );
    assert_eq!(timeline.branch(&mut live, &params, &new), Ok(Some(at)));
    assert_eq!(live.step_index(), at);
    assert_eq!(live.params().tau_calcium, 30.0);
    assert_eq!(timeline.branches(), [at]);
    assert_eq!(timeline.shown(), None);
    assert!(timeline.keyframes().steps().iter().all(|&s| s <= at));
    assert_eq!(timeline.keyframes().edits().last().map(|e| e.0), Some(at));
    run_to(&mut live, &mut timeline, later);
    let branched = live.state();

    // Undo: the line before the branch is back, future included.
    assert!(timeline.can_switch(true) && !timeline.can_switch(false));
    let (restored, step) = timeline
        .switch(&mut live, &new, true, &source, &[])
        .unwrap();
    assert_eq!((restored.tau_calcium, step), (params.tau_calcium, at));
    assert!(same(&live.state(), &before_branch));
    assert!(timeline.branches().is_empty());
    assert_eq!(
        timeline.switch(&mut live, &params, true, &source, &[]),
        Err("There is no branch to undo.".to_string())
    );
    // Redo: the branched line, where it was left.
    let (redone, step) = timeline
        .switch(&mut live, &params, false, &source, &[])
        .unwrap();
    assert_eq!((redone.tau_calcium, step), (30.0, at));
    assert!(same(&live.state(), &branched));
    assert_eq!(timeline.branches(), [at]);
    // The branched line replays its own past, the edit at the branch included.
    let shown = (at + later) / 2;
    assert_eq!(
        timeline.show_step(&live, Some(shown), &source, &[]),
        Shown::Earlier
    );
    let (_, mut replay) = fixture::one(&params);
    let replay = replay.one_mut().unwrap();
    while replay.step_index() < at {
        replay.step();
    }
    replay.set_live(LiveParams::of(&new)).unwrap();
    while replay.step_index() < shown {
        replay.step();
    }
    assert!(same(&timeline.scrubbed().unwrap().state(), &replay.state()));
}

#[test]
fn a_small_keyframe_budget_thins_keyframes_and_replays_stay_exact() {
    let params = fixture::params();
    let (source, mut live, mut timeline) = started(&params);
    let one_state = live.state().bytes();
    timeline.set_budget(3 * one_state);
    let end = live.total_steps();
    run_to(&mut live, &mut timeline, end);
    let kept = timeline.keyframes();
    assert!(kept.bytes() <= 3 * one_state, "{} bytes kept", kept.bytes());
    assert!(kept.len() <= 3 && !kept.is_empty());
    assert!(kept.stride() > 1, "the budget thinned them");
    let step = end / 3 + 5;
    assert_eq!(
        timeline.show_step(&live, Some(step), &source, &[]),
        Shown::Earlier
    );
    assert!(same(
        &timeline.scrubbed().unwrap().state(),
        &reference(&params, step)
    ));
}

#[test]
fn a_whole_layer_is_refused_here_and_nowhere_else() {
    let (source, mut live) = fixture::layer();
    let mut timeline = Timeline::new(DEFAULT_BUDGET_BYTES);
    timeline.restart(&live);
    live.step_block(40);
    timeline.offer(&live);
    match timeline.show_step(&live, Some(10), &source, &[]) {
        Shown::Refused { paused: false, why } => {
            assert_eq!(
                why,
                format!("Cannot show an earlier time: {LAYER_TIMELINE}.")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        timeline.show_step(&live, None, &source, &[]),
        Shown::Present
    );
    let params = live.params().clone();
    assert_eq!(
        timeline
            .capture(Some(&live), &params, source.experiment.as_ref())
            .unwrap_err(),
        LAYER_TIMELINE
    );
    let checkpoint = Checkpoint {
        experiment: source.experiment.clone().unwrap(),
        state: live.state(),
        trace: Vec::new(),
        keyframes: None,
    };
    assert_eq!(
        Timeline::check_opens(&checkpoint),
        Err(format!("Not opened: {LAYER_TIMELINE}."))
    );
    assert!(
        timeline.keyframes().is_empty(),
        "a layer keeps no keyframes"
    );
}
