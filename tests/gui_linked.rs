//! Issue 12 §1, §3, §4 through the real app: one token selection linked across every view,
//! presentation mode, and the welcome panel of a first launch.

mod common;
#[allow(dead_code)]
mod figures;

use common::{classroom, wait_snapshot as wait};
use egui::Key;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::collections::HashMap;
use std::time::Duration;
use tripartite::data::experiment::Experiment;
use tripartite::sim::RunState;
use tripartite::ui::TripartiteApp;
use tripartite::ui::command::Tab;
use tripartite::ui::views::attention::AttentionView;
use tripartite::ui::views::selection::TokenSelection;
use tripartite::ui::views::welcome;
use tripartite::ui::widgets::heatmap::SELECTED_TOKEN;

fn frames(h: &mut Harness<'_, TripartiteApp>, n: usize) {
    for _ in 0..n {
        h.step();
        std::thread::sleep(Duration::from_millis(3));
    }
}

/// A click at `pos` (points) with `modifiers` held.
fn click_at(h: &mut Harness<'_, TripartiteApp>, pos: egui::Pos2, modifiers: egui::Modifiers) {
    h.hover_at(pos);
    h.step();
    for pressed in [true, false] {
        h.event_modifiers(
            egui::Event::PointerButton {
                pos,
                button: egui::PointerButton::Primary,
                pressed,
                modifiers,
            },
            modifiers,
        );
    }
    h.step();
}

fn canvas(h: &Harness<'_, TripartiteApp>, name: &str) -> egui::Rect {
    h.get_by_role_and_label(Role::Canvas, name).rect()
}

fn run_to_end(h: &mut Harness<'_, TripartiteApp>) {
    h.get_by_label("Run to end").click();
    wait(h, "the end", |s| s.state == RunState::Finished);
}

/// Pixels of the rendered window inside `rect` (points) close to `color`.
fn count_color(
    h: &mut Harness<'_, TripartiteApp>,
    rect: egui::Rect,
    color: egui::Color32,
) -> usize {
    let image = h.render().expect("the harness renders");
    let ppp = h.ctx.pixels_per_point();
    let (x0, y0) = ((rect.left() * ppp) as u32, (rect.top() * ppp) as u32);
    let (x1, y1) = (
        ((rect.right() * ppp) as u32).min(image.width()),
        ((rect.bottom() * ppp) as u32).min(image.height()),
    );
    let near = |a: u8, b: u8| a.abs_diff(b) <= 12;
    (y0..y1)
        .flat_map(|y| (x0..x1).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let p = image.get_pixel(x, y);
            near(p[0], color.r()) && near(p[1], color.g()) && near(p[2], color.b())
        })
        .count()
}

/// The band of row `t` of a square matrix drawn in `grid` with `n` rows, 3 points either side
/// of the row's top edge.
fn row_edge(grid: egui::Rect, n: usize, t: usize) -> egui::Rect {
    let cell = grid.height() / n as f32;
    let y = grid.top() + t as f32 * cell;
    egui::Rect::from_min_max(
        egui::pos2(grid.left() + 2.0, y - 3.0),
        egui::pos2(grid.right() - 2.0, y + 3.0),
    )
}

#[test]
fn clicking_row_t_marks_read_slot_t_and_outlines_row_t_in_all_three_matrices() {
    let mut h = common::app_harness(classroom(), [1280.0, 800.0], 1.0);
    run_to_end(&mut h);
    frames(&mut h, 3);
    let n = 12;
    let t = 3;
    let calcium = canvas(&h, "Calcium and normaliser traces");
    assert_eq!(
        count_color(&mut h, calcium, SELECTED_TOKEN),
        0,
        "nothing is marked on the traces before a selection"
    );
    let net = canvas(&h, "Network A_net");
    let cell = net.height() / n as f32;
    click_at(
        &mut h,
        net.left_top() + egui::vec2(5.5 * cell, (t as f32 + 0.5) * cell),
        egui::Modifiers::NONE,
    );
    frames(&mut h, 4);
    assert_eq!(h.state().tokens(), &TokenSelection::query(t));

    // Read slot t on the traces: marked in the plot, with its c_t, Z_t and c_t / Z_t.
    let run = h.state().snapshot().unwrap().run.clone().unwrap();
    let c_t = h.state().history().row_calcium[t];
    let z_t = run.normaliser[t];
    // Slots are counted from 1, as the lessons and the model count them; tokens keep their labels.
    let expected = format!(
        "read slot {} 't{t}': c_t = {}, Z_t = {}, c_t / Z_t = {}",
        t + 1,
        tripartite::ui::theme::sig(c_t),
        tripartite::ui::theme::sig(z_t),
        tripartite::ui::theme::sig(c_t / z_t)
    );
    assert!(
        h.query_by_label(&expected).is_some(),
        "the traces say '{expected}'"
    );
    let calcium = canvas(&h, "Calcium and normaliser traces");
    assert!(
        count_color(&mut h, calcium, SELECTED_TOKEN) > 50,
        "read slot {t} is outlined on the calcium plot"
    );

    // Row t outlined in each matrix, and no other row.
    for name in AttentionView::MATRICES {
        let grid = canvas(&h, name);
        let on = count_color(&mut h, row_edge(grid, n, t), SELECTED_TOKEN);
        let off = count_color(&mut h, row_edge(grid, n, t + 3), SELECTED_TOKEN);
        assert!(
            on as f32 > grid.width() * 0.8,
            "{name}: row {t} outlined ({on} px)"
        );
        assert_eq!(off, 0, "{name}: row {} is not outlined", t + 3);
    }

    // The arrow keys move it while the matrix has the focus, without stepping the run.
    let step = h.state().snapshot().unwrap().step;
    h.key_press(Key::ArrowDown);
    frames(&mut h, 2);
    assert_eq!(h.state().tokens(), &TokenSelection::query(t + 1));
    h.key_press(Key::ArrowRight);
    frames(&mut h, 2);
    assert_eq!(h.state().tokens().keys, [0]);
    assert_eq!(h.state().snapshot().unwrap().step, step);
    // Key column 0 is write slot 1, with the calcium it added.
    assert!(
        h.query_by_label_contains("write slot 1 't0': calcium rose by")
            .is_some(),
        "the traces name write slot 1 and its contribution"
    );

    // Shift-click adds a row; a key label selects its column; the selection survives tabs.
    h.key_down(Key::Escape);
    h.key_up(Key::Escape);
    frames(&mut h, 2);
    assert!(h.state().tokens().is_empty(), "Esc clears");
    click_at(
        &mut h,
        net.left_top() + egui::vec2(5.5 * cell, 1.5 * cell),
        egui::Modifiers::NONE,
    );
    frames(&mut h, 2);
    click_at(
        &mut h,
        net.left_top() + egui::vec2(5.5 * cell, 7.5 * cell),
        egui::Modifiers::SHIFT,
    );
    frames(&mut h, 2);
    assert_eq!(h.state().tokens().queries, [1, 7]);
    h.get_by_label("All heads").click();
    frames(&mut h, 2);
    assert_eq!(h.state().tab(), Tab::AllHeads);
    h.get_by_label("Live").click();
    frames(&mut h, 2);
    assert_eq!(h.state().tokens().queries, [1, 7]);
}

#[test]
fn a_selected_query_shades_the_hidden_neurons_by_its_features() {
    let mut h = common::app_harness(classroom(), [1280.0, 800.0], 1.0);
    let net = canvas(&h, "Network A_net");
    let cell = net.height() / 12.0;
    click_at(
        &mut h,
        net.left_top() + egui::vec2(0.5 * cell, 2.5 * cell),
        egui::Modifiers::NONE,
    );
    let snapshot = wait(&mut h, "φ(q̃_2) in the subset", |s| {
        s.subset.query == Some(2) && !s.subset.query_features.is_empty()
    });
    assert_eq!(
        snapshot.subset.query_features.len(),
        snapshot.subset.hidden.len()
    );
    assert!(
        snapshot
            .subset
            .query_features
            .iter()
            .all(|f| f.is_finite() && *f > 0.0),
        "positive features"
    );
    // Named by its label and counted from 1, as the status line counts (issue 25 §15).
    let tokens = snapshot.run.as_ref().unwrap().tokens.len();
    assert!(
        h.query_by_label_contains(&format!("Hidden fill: φ(q_t) for 't2' (token 3/{tokens})"))
            .is_some()
    );
}

/// Presses F5 and, as a real window of the same pixels would, gives the app fewer points.
fn toggle_presentation(h: &mut Harness<'_, TripartiteApp>, size_px: [f32; 2]) {
    h.key_press(Key::F5);
    frames(h, 2);
    let ppp = h.ctx.pixels_per_point();
    h.set_size(egui::vec2(size_px[0] / ppp, size_px[1] / ppp));
    frames(h, 4);
}

#[test]
fn presentation_mode_scales_up_and_restores_the_layout_exactly() {
    let size = [1280.0, 800.0];
    let mut h = common::app_harness(classroom(), size, 1.0);
    run_to_end(&mut h);
    let before_graph = canvas(&h, "Network graph");
    assert!(h.state().params_shown());
    assert!(h.query_by_label("File").is_some());

    toggle_presentation(&mut h, size);
    assert!(h.state().presenting());
    assert!(
        h.ctx.zoom_factor() >= 1.5,
        "scaled {}×",
        h.ctx.zoom_factor()
    );
    assert!(h.query_by_label("File").is_none(), "menus hidden");
    assert!(!h.state().params_shown(), "parameters hidden");
    assert!(
        h.query_by_label_contains("8 192 tripartite synapses")
            .is_none(),
        "status bar hidden"
    );
    // c (or c / Z_t while reading) in large type across the top.
    let calcium = h.state().snapshot().unwrap().calcium;
    let large = format!("c = {}", tripartite::ui::theme::sig(calcium));
    assert!(h.query_by_label(&large).is_some(), "'{large}' shown");
    h.snapshot("presentation_1280x800");
    // Nothing clipped: every view and every metric inside the window.
    let screen = h.ctx.content_rect();
    for name in [
        "Network graph",
        "Calcium and normaliser traces",
        "Transformer softmax A_soft",
        "Network A_net",
        "Difference A_net − A_soft",
    ] {
        let rect = canvas(&h, name);
        assert!(
            screen.contains_rect(rect) && rect.width() > 60.0,
            "{name} is {rect:?} in {screen:?}"
        );
    }

    toggle_presentation(&mut h, size);
    assert!(!h.state().presenting());
    assert_eq!(h.ctx.zoom_factor(), 1.0);
    assert!(h.state().params_shown(), "parameters back");
    assert!(h.query_by_label("File").is_some(), "menus back");
    assert_eq!(canvas(&h, "Network graph"), before_graph, "the same layout");

    // Esc leaves it too, from a layout without parameters.
    let ctx = h.ctx.clone();
    h.state_mut()
        .handle(&ctx, tripartite::ui::command::AppCommand::ShowParams(false));
    frames(&mut h, 2);
    toggle_presentation(&mut h, size);
    h.key_press(Key::Escape);
    frames(&mut h, 2);
    h.set_size(egui::vec2(size[0], size[1]));
    frames(&mut h, 2);
    assert!(!h.state().presenting());
    assert!(
        !h.state().params_shown(),
        "the layout before, not the default"
    );
}

#[test]
fn presentation_mode_at_1024_by_768_clips_nothing() {
    let size = [1024.0, 768.0];
    let mut h = common::app_harness(classroom(), size, 1.0);
    run_to_end(&mut h);
    toggle_presentation(&mut h, size);
    assert!(h.ctx.zoom_factor() > 1.0);
    let screen = h.ctx.content_rect();
    for name in [
        "Network graph",
        "Calcium and normaliser traces",
        "Transformer softmax A_soft",
        "Network A_net",
        "Difference A_net − A_soft",
    ] {
        let rect = canvas(&h, name);
        assert!(
            screen.contains_rect(rect) && rect.width() > 60.0,
            "{name} is {rect:?} in {screen:?}"
        );
    }
    let exit = h.get_by_label("Exit (F5)").rect();
    assert!(screen.contains_rect(exit), "{exit:?}");
}

#[derive(Default)]
struct MemoryStorage(HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

fn window_harness(app: TripartiteApp) -> Harness<'static, TripartiteApp> {
    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .wgpu_setup(common::lavapipe())
        .build_ui_state(|ui, app: &mut TripartiteApp| app.show(ui), app);
    wait(&mut h, "the first snapshot", |s| s.run.is_some());
    h
}

#[test]
fn the_first_launch_opens_on_the_welcome_and_watch_it_work_runs_the_example() {
    let empty = MemoryStorage::default();
    let mut h = window_harness(TripartiteApp::for_window(
        Experiment::default(),
        Some(&empty),
    ));
    assert!(h.state().welcome_open());
    for button in [
        welcome::TAKE_THE_LESSON,
        welcome::WATCH_IT_WORK,
        welcome::EXPLORE_A_HEAD,
        welcome::OPEN_AN_EXPERIMENT,
    ] {
        assert!(h.query_by_label(button).is_some(), "{button}");
    }
    h.snapshot("welcome");
    h.get_by_label(welcome::WATCH_IT_WORK).click();
    frames(&mut h, 2);
    assert!(!h.state().welcome_open());
    let example = tripartite::io::presets::find(welcome::WORKING_EXAMPLE)
        .unwrap()
        .experiment()
        .unwrap();
    wait(&mut h, "the example running", |s| {
        s.params == example.params && s.state == RunState::Running && s.time_ms > 0.0
    });

    // A later launch restores the session instead.
    let mut saved = MemoryStorage::default();
    eframe::App::save(h.state_mut(), &mut saved);
    let again = TripartiteApp::for_window(Experiment::default(), Some(&saved));
    assert!(!again.welcome_open());

    // A first launch that names an experiment on the command line opens on it, not on the
    // welcome.
    let empty = MemoryStorage::default();
    let asked = TripartiteApp::for_window(example, Some(&empty));
    assert!(!asked.welcome_open());
}

#[test]
fn the_welcome_buttons_each_do_what_they_say() {
    let mut h = common::app_harness(classroom(), [1280.0, 800.0], 1.0);
    assert!(!h.state().welcome_open(), "a test app opens without it");
    // Help ▸ Welcome reopens it.
    h.get_by_label("Help").click();
    frames(&mut h, 2);
    h.get_by_label("Welcome").click();
    frames(&mut h, 2);
    // A new modal is measured in its first frame and drawn from the next.
    frames(&mut h, 3);
    assert!(h.state().welcome_open());
    h.snapshot("welcome_reopened");
    h.get_by_label(welcome::OPEN_AN_EXPERIMENT).click();
    frames(&mut h, 2);
    assert!(!h.state().welcome_open());
    assert!(
        h.query_by_label_contains("Type a path").is_some()
            || h.query_by_label_contains("path").is_some(),
        "the open dialog (typed-path window in tests)"
    );

    let ctx = h.ctx.clone();
    h.state_mut()
        .handle(&ctx, tripartite::ui::command::AppCommand::ShowWelcome(true));
    frames(&mut h, 4);
    h.get_by_label(welcome::EXPLORE_A_HEAD).click();
    let default = Experiment::default();
    wait(&mut h, "the default head", |s| {
        s.params == default.params
            && s.run
                .as_ref()
                .is_some_and(|r| r.source == default.source.to_string())
    });
    assert!(!h.state().welcome_open());

    h.state_mut()
        .handle(&ctx, tripartite::ui::command::AppCommand::ShowWelcome(true));
    frames(&mut h, 4);
    h.get_by_label(welcome::TAKE_THE_LESSON).click();
    frames(&mut h, 2);
    assert!(!h.state().welcome_open());
    let opened = h
        .state()
        .lesson()
        .position()
        .map(|(title, step, _)| (title.to_string(), step));
    assert_eq!(
        opened,
        Some(("How an astrocyte computes softmax".to_string(), 0)),
        "Take the lesson opens the first lesson at its first step"
    );
}

#[test]
fn the_welcome_line_on_the_default_head_quotes_its_measurement() {
    let experiment = Experiment::default();
    let run = tripartite::sim::run::run_experiment(&experiment).unwrap();
    let metrics = run.simulation.metrics();
    figures::Figures::new("welcome default head", welcome::DEFAULT_HEAD_LINE)
        .states("at m = {} random", experiment.params.m as f64)
        .states("so {} features", experiment.params.m as f64)
        .quotes("misses Z_t by {} %", 100.0 * metrics.calcium_rel_err)
        .quotes("attn_tv is {} (poor)", metrics.attn_tv)
        .all_claimed();
    assert_eq!(
        tripartite::ui::heads::Quality::of(metrics.attn_tv),
        tripartite::ui::heads::Quality::Poor
    );
}

/// Issue 11 item 15: with a synapse selected, the calcium plot and the selected traces both
/// stay in sight inside the traces view, at every zoom the issue names and at 1024×768.
#[test]
fn a_selected_synapse_keeps_both_trace_plots_in_sight_at_every_zoom() {
    for (size, zoom) in [
        ([1280.0, 800.0], 1.0),
        ([1280.0, 800.0], 1.5),
        ([1280.0, 800.0], 2.0),
        ([1024.0, 768.0], 1.0),
    ] {
        let mut h = common::app_harness(classroom(), size, zoom);
        h.state_mut()
            .select(Some(tripartite::ui::Selection::Synapse {
                output: 2,
                hidden: 5,
            }));
        h.get_by_label("Step slot").click();
        wait(&mut h, "a traced slot", |s| s.step > 0);
        frames(&mut h, 4);
        let calcium = canvas(&h, "Calcium and normaliser traces");
        let selected = canvas(&h, "Selected item traces");
        // The traces view's own rectangle (side by side, or one of the stacked views that the
        // page scrolls through when the window is too small).
        let traces = h.state().view_rects().traces.expect("traces drawn");
        assert!(
            calcium.height() >= 90.0,
            "{size:?} at {zoom}×: calcium plot {calcium:?}"
        );
        assert!(
            selected.height() >= 45.0 && selected.bottom() <= traces.bottom() + 1.0,
            "{size:?} at {zoom}×: selected traces {selected:?} in {traces:?}"
        );
        if zoom == 1.0 && size[0] == 1280.0 {
            // Below the calcium plot, not hidden under the attention view.
            let attention_title = h
                .get_by_label("Attention: transformer vs neurons + astrocyte")
                .rect();
            assert!(
                selected.bottom() <= attention_title.top(),
                "selected traces {selected:?} run under the attention view"
            );
            h.snapshot("live_1x_synapse_selected");
        }
    }
}

/// A click on a read slot in the traces selects its query (found where the matrices' selection
/// of the same row marks it); a click on a write slot selects its key.
#[test]
fn clicking_a_slot_in_the_traces_selects_its_token() {
    let mut h = common::app_harness(classroom(), [1280.0, 800.0], 1.0);
    run_to_end(&mut h);
    frames(&mut h, 3);
    let net = canvas(&h, "Network A_net");
    let cell = net.height() / 12.0;
    click_at(
        &mut h,
        net.left_top() + egui::vec2(5.5 * cell, 6.5 * cell),
        egui::Modifiers::NONE,
    );
    frames(&mut h, 3);
    assert_eq!(h.state().tokens(), &TokenSelection::query(6));
    // Where read slot 6 is marked on the calcium plot.
    let calcium = canvas(&h, "Calcium and normaliser traces");
    let image = h.render().expect("the harness renders");
    let y = (calcium.center().y) as u32;
    let marked: Vec<u32> = (calcium.left() as u32..calcium.right() as u32)
        .filter(|&x| {
            let p = image.get_pixel(x, y);
            p[0].abs_diff(SELECTED_TOKEN.r()) <= 12
                && p[1].abs_diff(SELECTED_TOKEN.g()) <= 12
                && p[2].abs_diff(SELECTED_TOKEN.b()) <= 12
        })
        .collect();
    assert!(marked.len() >= 2, "read slot 6 marked: {marked:?}");
    let middle = (marked[0] + marked[marked.len() - 1]) as f32 / 2.0;
    h.key_press(Key::Escape);
    frames(&mut h, 2);
    assert!(h.state().tokens().is_empty());
    click_at(
        &mut h,
        egui::pos2(middle, calcium.center().y),
        egui::Modifiers::NONE,
    );
    frames(&mut h, 3);
    assert_eq!(h.state().tokens(), &TokenSelection::query(6));
    // The write slots come first: a click near the plot's start selects a key.
    click_at(
        &mut h,
        egui::pos2(calcium.left() + 0.08 * calcium.width(), calcium.center().y),
        egui::Modifiers::NONE,
    );
    frames(&mut h, 3);
    assert!(
        h.state().tokens().queries.is_empty() && h.state().tokens().keys.len() == 1,
        "a write slot selects its key: {:?}",
        h.state().tokens()
    );
}

#[test]
fn all_four_ways_in_are_in_sight_in_the_welcome_at_1280_by_800() {
    let empty = MemoryStorage::default();
    let mut h = window_harness(TripartiteApp::for_window(
        Experiment::default(),
        Some(&empty),
    ));
    frames(&mut h, 3);
    assert!(h.state().welcome_open());
    let modal = h
        .ctx
        .memory(|m| m.area_rect(egui::Id::unique("welcome")))
        .expect("the welcome modal was drawn");
    let screen = h.ctx.content_rect();
    assert!(screen.contains_rect(modal), "{modal:?} in {screen:?}");
    for button in [
        welcome::TAKE_THE_LESSON,
        welcome::WATCH_IT_WORK,
        welcome::EXPLORE_A_HEAD,
        welcome::OPEN_AN_EXPERIMENT,
    ] {
        let rect = h.get_by_label(button).rect();
        // Inside the modal's frame, not scrolled below its fold.
        assert!(
            modal.shrink(2.0).contains_rect(rect),
            "{button} at {rect:?} in the modal {modal:?}"
        );
    }
}

#[test]
fn help_lists_the_arrow_keys_of_a_focused_matrix() {
    let mut h = common::app_harness(classroom(), [1280.0, 800.0], 1.0);
    h.key_press(Key::F1);
    frames(&mut h, 3);
    assert!(h.state().help_open());
    for action in [
        tripartite::ui::actions::UserAction::MatrixQueryRow,
        tripartite::ui::actions::UserAction::MatrixKeyColumn,
    ] {
        let spec = action.spec();
        assert!(
            h.query_by_label(spec.keys).is_some(),
            "{} listed",
            spec.keys
        );
        assert!(
            h.query_by_label(spec.help.unwrap()).is_some(),
            "{} explained",
            spec.keys
        );
    }
    assert!(h.query_by_label("Up / Down arrow").is_some());
    assert!(h.query_by_label("Left / Right arrow").is_some());
}
