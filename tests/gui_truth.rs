//! What the screen says must be true (issue 25), in the real app through its labels: one undo
//! takes a branch back whole, the header describes the time shown, a correlation of two
//! rows is not reported, a token is named the same way in every view, and a live layer's
//! metrics row is in sight.

mod common;

use common::{app_harness, finished, small, wait_for_label, wait_snapshot};
use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use tripartite::model::params::Params;
use tripartite::sim::Snapshot;
use tripartite::ui::TripartiteApp;

/// The text of the value that `label` labels (a metric: "c corr =" → "0.912").
fn metric_value(h: &Harness<'static, TripartiteApp>, label: &str) -> String {
    let values: Vec<String> = h
        .query_all_by(|node| {
            node.labelled_by()
                .any(|l| l.value().as_deref() == Some(label) || l.label().as_deref() == Some(label))
        })
        .map(|node| node.accesskit_node().value().unwrap_or_default())
        .collect();
    assert_eq!(values.len(), 1, "one value labelled {label}: {values:?}");
    values[0].clone()
}

/// Shows the end of slot `slots` (counted from 1) of a finished run, by the keys.
fn look_back(h: &mut Harness<'static, TripartiteApp>, end: &Snapshot, slots: usize) -> Snapshot {
    let at = end.run.as_ref().unwrap().slots[slots - 1].end_step();
    h.key_press(Key::Home);
    wait_snapshot(h, "the start", |s| s.timeline.scrubbed && s.step == 0);
    for k in 0..slots {
        let slot_end = end.run.as_ref().unwrap().slots[k].end_step();
        h.key_press_modifiers(Modifiers::COMMAND, Key::ArrowRight);
        h.run_steps(2);
        wait_snapshot(h, "the next slot's end", |s| {
            s.timeline.scrubbed && s.step == slot_end
        });
    }
    wait_snapshot(h, "the shown slot", |s| s.timeline.scrubbed && s.step == at)
}

#[test]
fn one_undo_after_a_branch_brings_back_the_panel_and_the_run_together() {
    let mut h = app_harness(small(), [1280.0, 800.0], 1.0);
    let end = finished(&mut h);
    h.run_steps(3);
    let shown = look_back(&mut h, &end, 4);
    let old_tau = end.params.tau_calcium;
    // The panel, as a user edits it: the question, then "Branch from t = …".
    h.get_by_label("τ_c calcium").set_value_accesskit(30.0);
    h.run_steps(2);
    wait_for_label(&mut h, "You are looking back in time");
    // The question names the parameter as the panel does, then its key.
    assert!(
        h.query_by_label_contains("You changed τ_c calcium (tau_calcium) while showing")
            .is_some()
    );
    h.get_by_label_contains("Branch from t =").click();
    let branched = wait_snapshot(&mut h, "the branch", |s| {
        s.timeline.branches == vec![shown.step] && s.params.tau_calcium == 30.0
    });
    assert!(!branched.timeline.scrubbed);
    h.run_steps(6);
    assert!(
        h.query_by_label_contains("You are looking back").is_none(),
        "the question does not come back after it was answered"
    );
    assert!(
        h.query_by_label_contains("old future is gone").is_none(),
        "the old future is kept for undo"
    );
    assert_eq!(
        h.state().edit_history().done().len(),
        1,
        "the branch and its new value are one edit: {:?}",
        h.state()
            .edit_history()
            .done()
            .map(tripartite::ui::history::describe)
            .collect::<Vec<_>>()
    );
    h.state_mut().send(tripartite::sim::Command::RunToEnd);
    wait_snapshot(&mut h, "the branch's end", |s| {
        s.step == end.step && s.params.tau_calcium == 30.0
    });
    h.run_steps(3);

    // One Ctrl+Z: the old run (its metrics, its τ_c) and the panel's value together.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    let undone = wait_snapshot(&mut h, "the run before the branch", |s| {
        s.timeline.branches.is_empty() && s.params.tau_calcium == old_tau
    });
    assert_eq!(
        undone
            .timeline
            .live_metrics
            .unwrap_or(undone.metrics)
            .values()
            .map(f64::to_bits),
        end.metrics.values().map(f64::to_bits),
        "the old run's figures are back"
    );
    h.run_steps(4);
    let field = h.get_by_label("τ_c calcium");
    assert_eq!(
        field.accesskit_node().numeric_value(),
        Some(old_tau),
        "the panel shows the old value"
    );
}

#[test]
fn scrubbed_back_the_header_describes_the_time_shown() {
    let mut h = app_harness(small(), [1280.0, 800.0], 1.0);
    let end = finished(&mut h);
    h.run_steps(3);
    assert!(h.query_by_label_contains("finished ·").is_some());
    let shown = look_back(&mut h, &end, 5);
    h.run_steps(3);
    assert!(shown.rows_completed < 6);
    assert!(
        h.query_by_label_contains("finished").is_none(),
        "nothing on screen says finished at an earlier time"
    );
    assert!(
        h.query_by_label_contains("all 6 rows read").is_none(),
        "nor that every row is read"
    );
    let rows = format!("{}/6 rows read", shown.rows_completed);
    assert!(
        h.query_by_label_contains(&rows).is_some(),
        "the header counts the rows read at the time shown: {rows}"
    );
    assert!(h.query_by_label_contains("looking back ·").is_some());
    // The token is named as every other view names it: its label, then its place from 1.
    let slot = shown.slot.expect("an earlier time is inside a slot");
    let tokens = &end.run.as_ref().unwrap().tokens;
    let named = format!(
        "{} {} ·",
        match slot.phase {
            tripartite::model::schedule::Phase::Write => "writing",
            tripartite::model::schedule::Phase::Read => "reading",
        },
        tripartite::ui::views::selection::token_name(tokens, slot.token)
    );
    assert!(
        h.query_by_label_contains(&named).is_some(),
        "the header says \"{named}\""
    );
}

#[test]
fn calcium_correlation_is_a_dash_until_three_rows_are_read() {
    let mut h = app_harness(small(), [1280.0, 800.0], 1.0);
    let end = finished(&mut h);
    h.run_steps(3);
    // The end of the second read slot: two rows read.
    let slots = &end.run.as_ref().unwrap().slots;
    let read = |k: usize| {
        slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.phase == tripartite::model::schedule::Phase::Read)
            .nth(k)
            .unwrap()
            .0
    };
    let two = look_back(&mut h, &end, read(1) + 1);
    assert_eq!(two.rows_completed, 2);
    assert!(two.metrics.calcium_corr.is_nan());
    h.run_steps(3);
    assert_eq!(metric_value(&h, "c corr ="), "—");
    // The verdict still rates what is defined: attn_tv of the two rows.
    assert!(two.metrics.attn_tv.is_finite());
    assert!(h.query_by_label("Verdict:").is_some());
    // Three rows: a number.
    let three = look_back(&mut h, &end, read(2) + 1);
    assert_eq!(three.rows_completed, 3);
    assert!(three.metrics.calcium_corr.is_finite());
    h.run_steps(3);
    let text = tripartite::ui::theme::sig(three.metrics.calcium_corr);
    assert_eq!(metric_value(&h, "c corr ="), text);
}

#[test]
fn an_edit_made_where_a_branch_begins_is_undone_with_the_branch() {
    use tripartite::ui::command::AppCommand;
    let mut h = app_harness(small(), [1280.0, 800.0], 1.0);
    let end = finished(&mut h);
    h.run_steps(3);
    let shown = look_back(&mut h, &end, 4);
    let ctx = h.ctx.clone();
    // Branch without a change and without running, then set τ_c in the panel there.
    h.state_mut().handle(
        &ctx,
        AppCommand::Branch {
            params: None,
            run: false,
            keep_baseline: false,
        },
    );
    wait_snapshot(&mut h, "the branch", |s| {
        s.timeline.branches == vec![shown.step] && !s.timeline.scrubbed
    });
    h.run_steps(2);
    h.get_by_label("τ_c calcium").set_value_accesskit(30.0);
    wait_snapshot(&mut h, "τ_c = 30", |s| s.params.tau_calcium == 30.0);
    h.run_steps(4);
    let done: Vec<String> = h
        .state()
        .edit_history()
        .done()
        .map(tripartite::ui::history::describe)
        .collect();
    assert_eq!(done.len(), 1, "{done:?}");
    assert!(done[0].contains("tau_calcium"), "{done:?}");
    h.state_mut().send(tripartite::sim::Command::RunToEnd);
    wait_snapshot(&mut h, "the branch's end", |s| {
        s.step == end.step && s.params.tau_calcium == 30.0
    });
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    let undone = wait_snapshot(&mut h, "the run before the branch", |s| {
        s.timeline.branches.is_empty() && s.params.tau_calcium == end.params.tau_calcium
    });
    assert_eq!(
        undone
            .timeline
            .live_metrics
            .unwrap_or(undone.metrics)
            .values()
            .map(f64::to_bits),
        end.metrics.values().map(f64::to_bits)
    );
    // Redo: the branch with its τ_c again.
    h.key_press_modifiers(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::Z);
    wait_snapshot(&mut h, "the branch again", |s| {
        s.timeline.branches == vec![shown.step] && s.params.tau_calcium == 30.0
    });
}

#[test]
fn before_a_layer_reads_a_row_its_output_view_says_so_and_names_its_reference() {
    use tripartite::ui::views::layer::output::{NO_ROW_YET, reference_note};
    let mut h = app_harness(common::live_layer(), [1280.0, 800.0], 1.0);
    let s = wait_snapshot(&mut h, "the layer", |s| s.layer.is_some());
    h.run_steps(3);
    assert_eq!(s.rows_completed, 0);
    common::show_layer_output(&mut h);
    assert!(
        h.query_by_label_contains("pick a model folder").is_none()
            && h.query_by_label_contains("Pick a bundled sentence")
                .is_none(),
        "a bundled sentence is not told to pick one"
    );
    assert!(h.query_by_label(NO_ROW_YET).is_some());
    let note = reference_note(&s.run.as_ref().unwrap().source);
    assert!(note.contains("transformer's own output"), "{note}");
    assert!(h.query_by_label(note).is_some());
    assert!(reference_note("synthetic:8x32x4").contains("A_soft"));
}

#[test]
fn the_run_sweep_button_is_clear_of_the_rows_above_it() {
    for (size, zoom) in [
        ([1280.0, 800.0], 1.0),
        ([1024.0, 768.0], 1.0),
        ([1280.0, 800.0], 1.5),
    ] {
        let mut h = app_harness(small(), size, zoom);
        h.state_mut().set_tab(tripartite::ui::command::Tab::Sweep);
        h.run_steps(4);
        let button = h.get_by_label("Run sweep").rect();
        for above in ["positive/iid", "hyperbolic/orthogonal", "Seeds", "m values"] {
            let rect = h.get_by_label(above).rect();
            assert!(
                !rect.intersects(button.shrink(0.5)),
                "{size:?} at {zoom}×: '{above}' {rect:?} overlaps Run sweep {button:?}"
            );
        }
    }
}

#[test]
fn the_per_query_window_names_its_head_clears_the_menus_and_names_tokens_by_label() {
    let mut h = app_harness(small(), [1280.0, 800.0], 1.0);
    let end = finished(&mut h);
    let ctx = h.ctx.clone();
    h.state_mut()
        .handle(&ctx, tripartite::ui::command::AppCommand::TogglePerQuery);
    h.run_steps(4);
    let title = format!(
        "Per-query diagnostics · layer {} head {}",
        end.params.layer, end.params.head
    );
    let window = h.get_by_label(&title).rect();
    for menu in ["File", "Edit", "Ablate", "View"] {
        let rect = h.get_by_label(menu).rect();
        assert!(
            window.top() > rect.bottom(),
            "the window ({window:?}) opens below the {menu} menu ({rect:?})"
        );
    }
    let tokens = &end.run.as_ref().unwrap().tokens;
    for token in tokens {
        assert!(
            h.query_by_label_contains(&format!("query {token}: "))
                .is_some(),
            "a row named by its token '{token}'"
        );
    }
}

#[test]
fn switching_lessons_asks_nothing_and_a_broken_lesson_file_is_refused_before_any_question() {
    use tripartite::ui::command::AppCommand;
    use tripartite::ui::files::FileAction;
    let mut h = app_harness(small(), [1280.0, 800.0], 1.0);
    let ctx = h.ctx.clone();
    // A real edit on an untitled experiment.
    let before = h.state().snapshot().unwrap().params.clone();
    let after = Params {
        tau_calcium: 55.0,
        ..before.clone()
    };
    h.state_mut().handle(
        &ctx,
        AppCommand::EditParams {
            before: Box::new(before),
            after: Box::new(after),
        },
    );
    wait_snapshot(&mut h, "τ_c = 55", |s| s.params.tau_calcium == 55.0);
    h.run_steps(2);
    // A file that is no lesson: one sentence, and no question about the edit.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("not-a-lesson.toml");
    std::fs::write(&bad, "this is not = [a lesson").unwrap();
    h.state_mut()
        .handle(&ctx, AppCommand::File(FileAction::OpenLesson(bad.clone())));
    h.run_steps(3);
    assert!(
        h.query_by_label_contains("Discard unsaved changes")
            .is_none(),
        "a broken lesson asks nothing"
    );
    assert_eq!(h.state().snapshot().unwrap().params.tau_calcium, 55.0);
    // A valid lesson over a real edit asks.
    let good = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/lessons/where-it-breaks.toml");
    h.state_mut()
        .handle(&ctx, AppCommand::File(FileAction::OpenLesson(good)));
    h.run_steps(3);
    assert!(
        h.query_by_label_contains("Discard unsaved changes")
            .is_some(),
        "a valid lesson over real edits asks first"
    );
    h.get_by_label("Discard").click();
    h.run_steps(3);
    // Lesson 1, with a change the lesson itself asks for, then lesson 2: no question.
    h.state_mut().handle(&ctx, AppCommand::StartLesson(0));
    h.run_steps(4);
    let now = h.state().snapshot().unwrap().params.clone();
    let edited = Params {
        tau_calcium: now.tau_calcium + 1.0,
        ..now.clone()
    };
    h.state_mut().handle(
        &ctx,
        AppCommand::EditParams {
            before: Box::new(now),
            after: Box::new(edited),
        },
    );
    h.run_steps(4);
    h.state_mut().handle(&ctx, AppCommand::StartLesson(1));
    h.run_steps(4);
    assert!(
        h.query_by_label_contains("Discard unsaved changes")
            .is_none(),
        "lesson 1's own changes are no reason to ask"
    );
    assert!(
        h.query_by_label_contains("Where the approximation breaks")
            .is_some()
    );
}

#[test]
fn the_matrices_hover_names_both_tokens_by_label_and_place_counted_from_one() {
    let mut h = app_harness(small(), [1280.0, 800.0], 1.0);
    let end = finished(&mut h);
    h.run_steps(2);
    let tokens = &end.run.as_ref().unwrap().tokens;
    let n = tokens.len();
    let grid = h
        .get_by_role_and_label(egui::accesskit::Role::Canvas, "Transformer softmax A_soft")
        .rect();
    let cell = grid.height() / n as f32;
    // Row 4 (query 't4'), column 2 (key 't2'), counted from 0 in the matrix.
    h.hover_at(grid.left_top() + egui::vec2(2.5 * cell, 4.5 * cell));
    wait_for_label(&mut h, "attending to key");
    let expected = format!(
        "query '{}' (token 5/{n}) attending to key '{}' (token 3/{n})",
        tokens[4], tokens[2]
    );
    assert!(
        h.query_by_label(&expected).is_some(),
        "the hover says \"{expected}\", as the graph's caption and the status line count"
    );
}

#[test]
fn in_a_live_layer_the_selected_heads_metrics_row_is_in_the_window_above_the_timeline() {
    for size in [[1280.0, 800.0], [1024.0, 768.0]] {
        let mut h = app_harness(common::live_layer(), size, 1.0);
        wait_snapshot(&mut h, "the layer", |s| {
            s.layer.as_ref().is_some_and(|l| l.heads.len() == 12)
        });
        h.get_by_label("Run to end").click();
        let end = wait_snapshot(&mut h, "the layer's end", |s| {
            s.step == s.run.as_ref().map_or(u64::MAX, |r| r.total_steps)
        });
        h.run_steps(3);
        assert!(h.state().showing_layer(), "{size:?}: the layer is shown");
        let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(size[0], size[1]));
        let timeline = h.get_by_label("Timeline").rect();
        let layer = end.layer.as_ref().unwrap();
        let rows = format!("Metrics ({0}/{0} rows):", end.rows_completed);
        // Every metric, c corr and c err last, not only the first ones (the row used to be
        // cut after "output err" at 1024×768, the rest reachable only by scrolling sideways).
        for label in [
            rows.as_str(),
            "Verdict:",
            "TV =",
            "max |ΔA| =",
            "output err =",
            "c corr =",
            "c err =",
        ] {
            let rect = h.get_by_label(label).rect();
            assert!(
                window.contains_rect(rect) && rect.bottom() <= timeline.top(),
                "{size:?}: '{label}' {rect:?} is not in the window above the timeline {timeline:?}"
            );
        }
        // The row is the selected head's: its TV is that head's attn_tv in the layer.
        let selected = &layer.heads[layer.selected];
        assert_eq!(
            metric_value(&h, "TV ="),
            tripartite::ui::theme::sig(selected.attn_tv),
            "{size:?}: the row shows head {}'s attn_tv",
            layer.selected
        );
        // The head's matrices are drawn large enough to read at both sizes (at 1024×768 they
        // were 53 px beside the layer output), and the layer output is one click away.
        let soft = h
            .get_by_role_and_label(egui::accesskit::Role::Canvas, "Transformer softmax A_soft")
            .rect();
        eprintln!("{size:?}: the layer's A_soft is {soft:?}");
        assert!(
            soft.width().min(soft.height()) >= 100.0,
            "{size:?}: A_soft is {soft:?}"
        );
        if h.query_by_label("Layer output: network − transformer")
            .is_none()
        {
            h.get_by_label("Layer output").click();
            h.run_steps(3);
        }
        let title = h.get_by_label("Layer output: network − transformer").rect();
        assert!(window.contains_rect(title), "{size:?}: {title:?}");
    }
}

#[test]
fn the_matrices_tiles_caption_says_a_row_forms_during_its_read_slot() {
    // Mid-way through read slot 1, A_net's row 't0' is already drawn (the live overlay): the
    // caption must say that a row forms in its read slot, not that it fills when it ends.
    let mut h = app_harness(small(), [1280.0, 800.0], 1.0);
    let run = h.state().snapshot().unwrap().run.clone().unwrap();
    let read = *run
        .slots
        .iter()
        .find(|s| s.phase == tripartite::model::schedule::Phase::Read)
        .unwrap();
    let middle = read.start_step + (read.end_step() - read.start_step) / 2;
    h.state_mut()
        .send(tripartite::sim::Command::RunToStep(middle));
    wait_snapshot(&mut h, "the middle of read slot 1", |s| s.step >= middle);
    h.run_steps(3);
    let title = h
        .get_by_label_contains("Attention: transformer vs neurons")
        .rect();
    h.hover_at(title.center());
    wait_for_label(&mut h, "Rows: queries, columns: keys");
    assert!(
        h.query_by_label_contains("A_net's row t forms in read slot t")
            .is_some(),
        "the caption says a row forms during its read slot"
    );
    assert!(
        h.query_by_label_contains("fills as read slots end")
            .is_none(),
        "no caption says A_net fills only as read slots end"
    );
}
