//! The screen of issue 23, measured from the widgets' rectangles: the tiled Live page's minimum
//! sizes per screen size (and in presentation mode beside every step of every bundled lesson),
//! nothing moving by itself between eight states, the finished-run frame, Escape closing a menu
//! first, and snapshots of the Live page at three screen sizes, a maximised matrix and a
//! presented lesson at 1024×768.

mod common;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use std::collections::BTreeMap;
use tripartite::data::experiment::Experiment;
use tripartite::io::lesson;
use tripartite::sim::{Command, RunState};
use tripartite::ui::TripartiteApp;
use tripartite::ui::command::AppCommand;
use tripartite::ui::files::FileAction;
use tripartite::ui::layout::LivePane;

use common::{meet_the_step, present, wait_for, wait_snapshot};

const MATRICES: [&str; 3] = [
    "Transformer softmax A_soft",
    "Network A_net",
    "Difference A_net − A_soft",
];

fn command(h: &mut Harness<'_, TripartiteApp>, command: AppCommand) {
    let ctx = h.ctx.clone();
    h.state_mut().handle(&ctx, command);
}

/// The default head (a MiniLM sentence, 16 tokens) in a window `size` pixels large.
fn app(size: [f32; 2]) -> Harness<'static, TripartiteApp> {
    let mut h = common::app_harness(Experiment::default(), size, 1.0);
    h.state_mut().hide_timings(true);
    h.run_steps(4);
    h
}

/// The smallest side (pixels) of the three matrices, each required to be on screen.
fn matrix_side(h: &Harness<'_, TripartiteApp>, what: &str) -> f32 {
    let screen = h.ctx.content_rect();
    let ppp = h.ctx.pixels_per_point();
    MATRICES
        .iter()
        .map(|name| {
            let rect = h.get_by_role_and_label(Role::Canvas, name).rect();
            assert!(
                screen.expand(0.5).contains_rect(rect),
                "{what}: {name} at {rect:?} is outside {screen:?}"
            );
            rect.width().min(rect.height()) * ppp
        })
        .fold(f32::INFINITY, f32::min)
}

/// The smallest side (pixels) of the matrices drawn (a presented step shows only the ones it
/// points at), each required to be on screen.
fn shown_matrix_side(h: &Harness<'_, TripartiteApp>, what: &str) -> f32 {
    let screen = h.ctx.content_rect();
    let ppp = h.ctx.pixels_per_point();
    let sides: Vec<f32> = MATRICES
        .iter()
        .filter_map(|name| h.query_by_role_and_label(Role::Canvas, name))
        .map(|node| {
            let rect = node.rect();
            assert!(
                screen.expand(0.5).contains_rect(rect),
                "{what}: a matrix at {rect:?} is outside {screen:?}"
            );
            rect.width().min(rect.height()) * ppp
        })
        .collect();
    assert!(!sides.is_empty(), "{what}: no matrix drawn");
    sides.into_iter().fold(f32::INFINITY, f32::min)
}

/// A Live tile's size in pixels.
fn tile(h: &Harness<'_, TripartiteApp>, pane: LivePane) -> egui::Vec2 {
    let rect = h
        .state()
        .live_rects()
        .get(pane)
        .unwrap_or_else(|| panic!("{pane:?} not drawn"));
    assert!(h.ctx.content_rect().expand(0.5).contains_rect(rect));
    rect.size() * h.ctx.pixels_per_point()
}

#[test]
fn the_default_layouts_meet_the_minimum_sizes_per_screen() {
    // 1280×800 with the parameters open.
    let h = app([1280.0, 800.0]);
    assert!(h.state().params_shown());
    let side = matrix_side(&h, "1280×800");
    let graph = tile(&h, LivePane::Graph);
    let traces = tile(&h, LivePane::Traces);
    let calcium = h
        .get_by_role_and_label(Role::Canvas, "Calcium and normaliser traces")
        .rect()
        .size();
    eprintln!("{:?}", h.state().live_rects());
    eprintln!(
        "1280x800 params: matrices {side:.0} px, graph tile {graph:?}, calcium tile {traces:?}, calcium plot {calcium:?}"
    );
    assert!(side >= 180.0, "1280×800: matrices {side} px < 180");
    assert!(graph.x >= 400.0 && graph.y >= 250.0, "graph tile {graph:?}");
    assert!(
        traces.x >= 400.0 && traces.y >= 200.0,
        "calcium tile {traces:?}"
    );
    // The plot itself, not only its tile (issue 23 §1: at least 400×200).
    let calcium = calcium * h.ctx.pixels_per_point();
    assert!(
        calcium.x >= 400.0 && calcium.y >= 200.0,
        "calcium plot {calcium:?}"
    );
}

#[test]
fn at_1024_by_768_the_three_views_fit_and_the_control_row_is_one_line() {
    // 1024×768 with the panel closed: all three views, matrices at least 150 px.
    let mut h = app([1024.0, 768.0]);
    command(&mut h, AppCommand::ShowParams(false));
    h.run_steps(4);
    let side = matrix_side(&h, "1024×768");
    let graph = tile(&h, LivePane::Graph);
    let traces = tile(&h, LivePane::Traces);
    eprintln!("1024x768: matrices {side:.0} px, graph {graph:?}, calcium {traces:?}");
    assert!(side >= 150.0, "1024×768: matrices {side} px < 150");
    // The control row is one line, the status bar one line.
    let run = h.get_by_label("Run").rect();
    let tabs = h.get_by_label("Compare").rect();
    assert!(
        (run.center().y - tabs.center().y).abs() < 6.0,
        "{run:?} {tabs:?}"
    );
    assert!(
        h.query_by_label("Speed…").is_some(),
        "the overflow menu at 1024"
    );
    h.snapshot("layout_live_1024x768");
}

#[test]
fn at_1920_by_1080_the_matrices_are_large() {
    // 1920×1080.
    let mut h = app([1920.0, 1080.0]);
    let side = matrix_side(&h, "1920×1080");
    eprintln!("1920x1080 params: matrices {side:.0} px");
    assert!(side >= 280.0, "1920×1080: matrices {side} px < 280");
    h.snapshot("layout_live_1920x1080");
}

/// One press and release of the primary button at `pos`.
fn press_and_release(h: &mut Harness<'_, TripartiteApp>, pos: egui::Pos2) {
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }
}

#[test]
fn snapshot_of_the_live_page_at_1280_by_800_and_a_maximised_matrix() {
    let mut h = app([1280.0, 800.0]);
    h.snapshot("layout_live_1280x800");
    // Double-click on the title maximises; Esc restores.
    let title = h.get_by_label(LivePane::Matrices.title()).rect();
    h.hover_at(title.center());
    h.step();
    for _ in 0..2 {
        press_and_release(&mut h, title.center());
    }
    h.run_steps(3);
    if h.state().live_rects().graph.is_some() {
        // The double-click did not reach the tile: the Fill button on its title bar does
        // the same.
        let fill = h
            .query_all_by_label("Fill")
            .map(|n| n.rect())
            .find(|r| (r.center().y - title.center().y).abs() < 12.0)
            .expect("the matrices' Fill button");
        h.hover_at(fill.center());
        h.step();
        press_and_release(&mut h, fill.center());
        h.run_steps(3);
    }
    let side = matrix_side(&h, "maximised");
    eprintln!("maximised matrices at 1280x800: {side:.0} px");
    assert!(side >= 200.0, "a maximised matrix is {side} px");
    assert!(h.state().live_rects().graph.is_none(), "only the matrices");
    h.snapshot("layout_maximised_matrix");
    h.key_press(egui::Key::Escape);
    h.run_steps(3);
    assert!(
        h.state().live_rects().graph.is_some(),
        "Esc restores the tiles"
    );
}

/// The rectangles of the named widgets this frame (the Run button is the same widget as Pause).
fn widget_rects(h: &Harness<'_, TripartiteApp>) -> BTreeMap<String, egui::Rect> {
    let mut rects = BTreeMap::new();
    let labels = [
        "m features",
        "τ_c calcium",
        "all heads live",
        "layer",
        "head",
        "Step dt",
        "Step slot",
        "Run to end",
        "Reset",
        "Live",
        "Compare",
        "Parameters",
    ];
    for label in labels {
        if let Some(node) = h.query_all_by_label(label).next() {
            rects.insert(label.to_string(), node.rect());
        }
    }
    let run = h
        .query_by_label("Run")
        .or_else(|| h.query_by_label("Pause"))
        .map(|n| n.rect());
    if let Some(run) = run {
        rects.insert("Run".into(), run);
    }
    for name in MATRICES
        .iter()
        .chain(&["Network graph", "Calcium and normaliser traces"])
    {
        if let Some(node) = h.query_by_role_and_label(Role::Canvas, name) {
            rects.insert((*name).to_string(), node.rect());
        }
    }
    rects
}

#[test]
fn nothing_moves_by_itself_across_eight_states() {
    let mut h = app([1280.0, 800.0]);
    let mut states: Vec<(&str, BTreeMap<String, egui::Rect>)> = Vec::new();
    states.push(("paused at t = 0", widget_rects(&h)));

    command(&mut h, AppCommand::Worker(Command::Run));
    wait_snapshot(&mut h, "running", |s| {
        s.state == RunState::Running && s.step > 0
    });
    h.run_steps(2);
    states.push(("running", widget_rects(&h)));

    command(
        &mut h,
        AppCommand::Worker(Command::SetSpeed(tripartite::sim::Speed::Max)),
    );
    wait_snapshot(&mut h, "the end", |s| s.state == RunState::Finished);
    h.run_steps(3);
    states.push(("finished", widget_rects(&h)));

    command(&mut h, AppCommand::Worker(Command::ShowStep(Some(400))));
    wait_snapshot(&mut h, "the scrub", |s| s.timeline.scrubbed);
    h.run_steps(2);
    states.push(("scrubbed back", widget_rects(&h)));
    command(&mut h, AppCommand::Worker(Command::ShowStep(None)));
    wait_snapshot(&mut h, "live again", |s| !s.timeline.scrubbed);

    h.get_by_label("τ_c calcium").set_value_accesskit(55.0);
    wait_snapshot(&mut h, "the live edit", |s| s.params.tau_calcium == 55.0);
    h.run_steps(2);
    assert!(h.query_by_label_contains("Applied live").is_some());
    states.push(("a notice shown", widget_rects(&h)));

    let ctx = h.ctx.clone();
    h.state_mut()
        .file_action(&ctx, FileAction::Open("/nonexistent/lesson.toml".into()));
    h.run_steps(3);
    states.push(("an error shown", widget_rects(&h)));
    command(&mut h, AppCommand::DismissMessage);

    h.get_by_label("m features").set_value_accesskit(512.0);
    h.run_steps(3);
    assert!(h.query_by_label_contains("Pending").is_some());
    states.push(("a rebuild pending", widget_rects(&h)));

    // Last: a lesson loads its own experiment (other tokens), which stays after it closes;
    // the edits above are discarded as the user would answer the question.
    command(
        &mut h,
        AppCommand::FileConfirmed(FileAction::StartLesson(0)),
    );
    wait_for(&mut h, "the lesson", |app| {
        app.lesson().is_open().then_some(())
    });
    h.run_steps(4);
    states.push(("a lesson open", widget_rects(&h)));

    let required = [
        "m features",
        "τ_c calcium",
        "Run",
        "all heads live",
        "layer",
        "head",
    ];
    let (first, reference) = &states[0];
    for name in required.iter().chain(&MATRICES) {
        assert!(reference.contains_key(*name), "{name} missing at {first}");
    }
    assert!(
        reference.len() >= 12,
        "{} widgets: {reference:?}",
        reference.len()
    );
    for (state, rects) in &states[1..] {
        for (name, rect) in rects {
            // A lesson opens its panel beside the Live page: the tiles (not the header or the
            // parameters) give it room, by design.
            let tile_widget = MATRICES.contains(&name.as_str())
                || name == "Network graph"
                || name == "Calcium and normaliser traces";
            if *state == "a lesson open" && tile_widget {
                continue;
            }
            if let Some(before) = reference.get(name) {
                let moved = (rect.min - before.min)
                    .length()
                    .max((rect.max - before.max).length());
                assert!(
                    moved <= 1.0,
                    "{name} moved by {moved:.1} px from {first} ({before:?}) to {state} ({rect:?})"
                );
            }
        }
    }
    eprintln!(
        "stable across {} states: {:?}",
        states.len(),
        reference.keys().collect::<Vec<_>>()
    );
}

#[test]
fn the_frame_after_a_run_ends_equals_the_frame_after_a_mouse_move() {
    let mut h = app([1280.0, 800.0]);
    // Over the empty message box of the parameter panel, where nothing reacts to the mouse.
    h.hover_at(egui::pos2(150.0, 150.0));
    command(
        &mut h,
        AppCommand::Worker(Command::SetSpeed(tripartite::sim::Speed::Max)),
    );
    command(&mut h, AppCommand::Worker(Command::Run));
    wait_snapshot(&mut h, "the end", |s| s.state == RunState::Finished);
    // As the real window does: frames only while the app asks for them.
    for _ in 0..20 {
        if !h.ctx.has_requested_repaint() {
            break;
        }
        h.step();
    }
    let mut settled = h.render().expect("render");
    h.hover_at(egui::pos2(151.0, 150.0));
    h.step();
    let mut moved = h.render().expect("render");
    // The pointer's own few pixels (a hover highlight under it) are not the layout.
    for image in [&mut settled, &mut moved] {
        for y in 130..175 {
            for x in 130..175 {
                image.put_pixel(x, y, image::Rgba([0, 0, 0, 255]));
            }
        }
    }
    if settled != moved {
        let dir = std::env::temp_dir();
        settled.save(dir.join("settled.png")).ok();
        moved.save(dir.join("moved.png")).ok();
        panic!(
            "the frame changed after a mouse move (both in {})",
            dir.display()
        );
    }
}

#[test]
fn escape_closes_an_open_menu_before_anything_else() {
    let mut h = app([1280.0, 800.0]);
    command(&mut h, AppCommand::TogglePresentation);
    h.run_steps(3);
    command(&mut h, AppCommand::TogglePresentation);
    h.run_steps(3);
    h.get_by_label("View").click();
    h.run_steps(2);
    assert!(
        h.query_by_label("Reset layout").is_some(),
        "the View menu opened"
    );
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(
        h.query_by_label("Reset layout").is_none(),
        "Esc closed the menu"
    );
    assert!(!h.state().presenting());
}

/// Steps frames until the lesson shows step `n`.
fn wait_step(h: &mut Harness<'_, TripartiteApp>, n: usize) {
    wait_for(h, &format!("step {n}"), |app| {
        (app.lesson().position().map(|(_, i, _)| i + 1) == Some(n)).then_some(())
    });
}

#[test]
fn presentation_beside_every_lesson_step_at_1024_by_768_keeps_the_highlighted_views_in_sight() {
    // One harness per lesson: their snapshots are checked together at the end.
    let mut snapshots = egui_kittest::SnapshotResults::new();
    for (index, bundled) in lesson::bundled().iter().enumerate() {
        let lesson = bundled.lesson().unwrap();
        let mut h = common::app_harness(common::classroom(), [1024.0, 768.0], 1.0);
        h.state_mut().hide_timings(true);
        command(&mut h, AppCommand::StartLesson(index));
        wait_step(&mut h, 1);
        present(&mut h, [1024.0, 768.0]);
        for n in 1..=lesson.steps.len() {
            if n > 1 {
                meet_the_step(&mut h);
                command(&mut h, AppCommand::LessonNext);
                wait_step(&mut h, n);
                h.run_steps(4);
            }
            let what = format!("{}, step {n}", lesson.title);
            let step = h.state().lesson().step().unwrap().clone();
            common::wait_for_regions(&mut h, &step.highlight);
            h.run_steps(2);
            let screen = h.ctx.content_rect();
            for name in &step.highlight {
                if let Some(rect) = tripartite::ui::regions::rect(&h.ctx, name) {
                    assert!(
                        screen.expand(0.5).contains_rect(rect),
                        "{what}: {name} at {rect:?} is outside {screen:?}"
                    );
                } else {
                    panic!("{what}: {name} was not drawn");
                }
            }
            if index == 0 && n == 1 {
                h.snapshot("layout_presentation_lesson_1024x768");
            }
            if index == 0 && n == 5 {
                // The step runs by itself: its picture is taken at the end of the run, which
                // does not depend on how fast this machine is.
                h.state_mut().send(Command::RunToEnd);
                wait_snapshot(&mut h, "the end", |s| s.state == RunState::Finished);
                h.run_steps(4);
                h.snapshot("layout_presentation_lesson_matrices_1024x768");
            }
            // The bar's c / Z_t (or c) keeps its room at the row's end, whatever the status.
            let ratios: Vec<egui::Rect> = h
                .query_all_by_label_contains("c / Z_t = ")
                .chain(h.query_all_by_label_contains("c = "))
                .filter(|node| {
                    // A label keeps its text in the node's value.
                    node.accesskit_node()
                        .value()
                        .is_some_and(|l| l.starts_with("c / Z_t = ") || l.starts_with("c = "))
                })
                .map(|node| node.rect())
                .collect();
            assert!(!ratios.is_empty(), "{what}: the bar shows c or c / Z_t");
            for rect in ratios {
                assert!(
                    screen.contains_rect(rect),
                    "{what}: the bar's ratio at {rect:?} leaves {screen:?}"
                );
            }
            let panes = h.state().lesson().highlighted_panes();
            if panes.contains(&LivePane::Matrices) {
                let side = shown_matrix_side(&h, &what);
                eprintln!("{what}: matrices {side:.0} px");
                assert!(side >= 150.0, "{what}: matrices {side} px");
            }
            if h.state()
                .lesson()
                .step()
                .unwrap()
                .text
                .contains("Apply and rebuild")
            {
                // The step says the bar rebuilds at once, with no button to press: so it does.
                let m = h.state().snapshot().unwrap().params.m * 2;
                h.get_by_label("m features").set_value_accesskit(m as f64);
                wait_snapshot(&mut h, "the bar's rebuild", |s| s.params.m == m);
                h.run_steps(2);
                assert!(
                    h.query_by_label("Apply and rebuild").is_none(),
                    "{what}: no button waits on the projector"
                );
            }
        }
        snapshots.extend_harness(&mut h);
    }
    snapshots.unwrap();
}

/// The rows (pixels) of `rect` (points) of `image` that hold ink: a pixel far from the
/// rectangle's commonest colour (its background).
fn ink_rows(image: &image::RgbaImage, rect: egui::Rect, ppp: f32) -> Vec<u32> {
    let x0 = (rect.left() * ppp).round().max(0.0) as u32;
    let y0 = (rect.top() * ppp).round().max(0.0) as u32;
    let x1 = ((rect.right() * ppp).round() as u32).min(image.width());
    let y1 = ((rect.bottom() * ppp).round() as u32).min(image.height());
    let mut counts = BTreeMap::new();
    for y in y0..y1 {
        for x in x0..x1 {
            *counts.entry(image.get_pixel(x, y).0).or_insert(0usize) += 1;
        }
    }
    let background = counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(c, _)| c)
        .expect("an empty rectangle");
    let far = |p: &image::Rgba<u8>| {
        (0..3)
            .map(|i| (p.0[i] as i32 - background[i] as i32).abs())
            .max()
            .unwrap_or(0)
            > 96
    };
    (y0..y1)
        .filter(|&y| (x0..x1).any(|x| far(image.get_pixel(x, y))))
        .collect()
}

/// The height in pixels of the ink in `rect`, from its first inked row to its last. For a
/// text of capitals, digits and letters without ascenders or descenders ("Reset", "0.03487")
/// this is the cap height the issue measures.
fn ink_height(image: &image::RgbaImage, rect: egui::Rect, ppp: f32) -> u32 {
    let rows = ink_rows(image, rect, ppp);
    match (rows.first(), rows.last()) {
        (Some(first), Some(last)) => last - first + 1,
        _ => 0,
    }
}

/// The runs of consecutive inked rows in `rect`, top to bottom, as (first row, height).
fn ink_runs(image: &image::RgbaImage, rect: egui::Rect, ppp: f32) -> Vec<(u32, u32)> {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for row in ink_rows(image, rect, ppp) {
        match runs.last_mut() {
            Some((first, height)) if *first + *height == row => *height += 1,
            _ => runs.push((row, 1)),
        }
    }
    runs
}

#[test]
fn presentation_text_is_readable_from_the_back_of_a_classroom() {
    // Issue 23 §3: body text at least 16 px cap height, tick labels and metrics at least 13 px,
    // at 1024×768 and 1280×800, measured on the rendered frame.
    for size in [[1024.0, 768.0], [1280.0, 800.0]] {
        let what = format!("{}×{}", size[0], size[1]);
        let mut h = common::app_harness(Experiment::default(), size, 1.0);
        h.state_mut().hide_timings(true);
        present(&mut h, size);
        command(
            &mut h,
            AppCommand::Worker(Command::SetSpeed(tripartite::sim::Speed::Max)),
        );
        command(&mut h, AppCommand::Worker(Command::Run));
        wait_snapshot(&mut h, "the end", |s| s.state == RunState::Finished);
        h.run_steps(4);
        let ppp = h.ctx.pixels_per_point();
        let image = h.render().expect("render");
        // Body text: a button's label ("Reset": a capital, then letters no taller than it).
        let reset = h.get_by_label("Reset").rect();
        let body = ink_height(&image, reset.shrink(2.0), ppp);
        // Metrics: the values, digits and a point.
        let metrics = tripartite::ui::regions::rect(&h.ctx, "metrics").expect("metrics drawn");
        let values: Vec<u32> = h
            .query_all_by_role(Role::Label)
            .filter(|n| {
                metrics.contains_rect(n.rect())
                    && [n.accesskit_node().label(), n.accesskit_node().value()]
                        .into_iter()
                        .flatten()
                        .any(|text| text.trim().parse::<f64>().is_ok())
            })
            .map(|n| ink_height(&image, n.rect(), ppp))
            .collect();
        assert!(!values.is_empty(), "{what}: no metric values found");
        let metric = *values.iter().min().unwrap();
        // Tick labels: the calcium plot's x axis, the first run of ink under its frame.
        let plot = h
            .get_by_role_and_label(Role::Canvas, "Calcium and normaliser traces")
            .rect();
        let band = egui::Rect::from_min_max(
            egui::pos2(plot.left(), plot.bottom() + 1.0),
            egui::pos2(plot.right(), plot.bottom() + 20.0),
        );
        let ticks = ink_runs(&image, band, ppp)
            .first()
            .map(|&(_, height)| height)
            .expect("tick labels under the calcium plot");
        eprintln!(
            "presentation {what}: body cap height {body} px (\"Reset\"), metric values {metric} px, \
             calcium tick labels {ticks} px"
        );
        assert!(body >= 16, "{what}: body text {body} px");
        assert!(metric >= 13, "{what}: metric values {metric} px");
        assert!(ticks >= 13, "{what}: tick labels {ticks} px");
    }
}
