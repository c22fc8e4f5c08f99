//! The views as new users meet them (issue 11): text that fits and is drawn, scales that
//! say what they show, and the Live tab at several zooms and window sizes.

mod common;

use egui::FontId;
use std::path::Path;

/// Every non-ASCII character in the app's source and in the example files.
fn shown_characters() -> Vec<(char, String)> {
    let mut files = Vec::new();
    let mut stack = vec![Path::new("src/ui").to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("source folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    for entry in std::fs::read_dir("assets/presets").expect("presets") {
        files.push(entry.expect("entry").path());
    }
    for extra in ["src/io/experiment.rs", "src/model/params.rs"] {
        files.push(extra.into());
    }
    let mut seen: Vec<(char, String)> = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        // Comments are for readers of the code, not of the window.
        let shown: String = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for c in shown.chars().filter(|c| !c.is_ascii()) {
            if !seen.iter().any(|(s, _)| *s == c) {
                seen.push((c, path.display().to_string()));
            }
        }
    }
    seen
}

#[test]
fn every_character_the_app_shows_has_a_glyph() {
    let ctx = egui::Context::default();
    let _ = ctx.run_ui(egui::RawInput::default(), |ui| {
        tripartite::ui::theme::apply(ui.ctx());
    });
    let missing: Vec<(char, String)> = ctx.fonts_mut(|fonts| {
        shown_characters()
            .into_iter()
            .filter(|(c, _)| {
                // The All heads captions draw their arrows in the monospace font, which has it.
                let font = if *c == '→' {
                    FontId::monospace(15.0)
                } else {
                    FontId::proportional(15.0)
                };
                !fonts.has_glyph(&font, *c)
            })
            .collect()
    });
    assert!(missing.is_empty(), "no glyph for {missing:?}");
}

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use tripartite::data::experiment::Experiment;
use tripartite::io::export::csv::{SWEEP_HEADER, SweepRow, sweep_csv};
use tripartite::model::params::{Mode, Params};
use tripartite::sim::{RunState, Snapshot};
use tripartite::ui::files::{ExportKind, FileAction};
use tripartite::ui::heads::Quality;
use tripartite::ui::views::attention::{FIXED_DIFFERENCE_LIMIT, POOR_RUN_BANNER};
use tripartite::ui::{Selection, TripartiteApp};

use common::classroom;

/// The app in a window of `size` physical pixels at `zoom` (Ctrl+= steps the zoom the same
/// way: fewer points, each drawn larger).
fn harness_at(
    experiment: Experiment,
    size: [f32; 2],
    zoom: f32,
) -> Harness<'static, TripartiteApp> {
    common::app_harness(experiment, size, zoom)
}

use common::wait_snapshot as wait;

fn canvas(h: &Harness<'_, TripartiteApp>, name: &str) -> egui::Rect {
    h.get_by_role_and_label(Role::Canvas, name).rect()
}

fn run_to_end(h: &mut Harness<'_, TripartiteApp>) -> Snapshot {
    h.get_by_label("Run to end").click();
    wait(h, "the end", |s| s.state == RunState::Finished)
}

/// The Live tab at `zoom` in a window of `size`: every view keeps a usable size.
fn live_tab_is_usable(size: [f32; 2], zoom: f32, snapshot: Option<&str>) {
    let mut h = harness_at(classroom(), size, zoom);
    run_to_end(&mut h);
    h.run_steps(3);
    if let Some(name) = snapshot {
        h.snapshot(name);
    }
    let graph = canvas(&h, "Network graph");
    assert!(
        graph.width() >= 150.0 && graph.height() >= 100.0,
        "{size:?} at {zoom}×: the graph is squeezed to {graph:?}"
    );
    let calcium = canvas(&h, "Calcium and normaliser traces");
    assert!(
        calcium.height() >= 120.0 && calcium.width() >= 150.0,
        "{size:?} at {zoom}×: the calcium plot is {calcium:?}"
    );
    for heatmap in [
        "Transformer softmax A_soft",
        "Network A_net",
        "Difference A_net − A_soft",
    ] {
        let rect = canvas(&h, heatmap);
        assert!(
            rect.width() >= 60.0,
            "{size:?} at {zoom}×: {heatmap} is {rect:?}"
        );
    }
    for metric in ["TV =", "max |ΔA| =", "output err =", "c corr =", "c err ="] {
        let label = h.get_by_label(metric).rect();
        assert!(
            label.width() > 5.0,
            "{size:?} at {zoom}×: {metric} is cut off"
        );
    }
}

#[test]
fn the_live_tab_at_1x_1280_by_800() {
    live_tab_is_usable([1280.0, 800.0], 1.0, Some("live_1x"));
}

#[test]
fn the_live_tab_at_2x_1280_by_800() {
    live_tab_is_usable([1280.0, 800.0], 2.0, Some("live_2x"));
}

#[test]
fn the_live_tab_at_1024_by_768() {
    live_tab_is_usable([1024.0, 768.0], 1.0, Some("live_1024x768"));
}

#[test]
fn the_live_tab_from_0_8x_to_2x_at_both_sizes() {
    for size in [[1280.0, 800.0], [1024.0, 768.0]] {
        for zoom in [0.8, 1.5, 2.0] {
            live_tab_is_usable(size, zoom, None);
        }
    }
}

#[test]
fn a_neuron_selected_after_the_run_says_it_was_not_recorded() {
    let mut h = harness_at(classroom(), [1280.0, 800.0], 1.0);
    run_to_end(&mut h);
    h.state_mut().select(Some(Selection::Hidden(0)));
    h.run_steps(3);
    assert!(
        h.query_by_label_contains("the run has finished, so nothing is recorded")
            .is_some(),
        "the trace says why it is empty"
    );
    assert!(h.query_by_label_contains("(not recorded yet)").is_some());
    assert!(
        h.query_by_label_contains("(0.000").is_none(),
        "no flat zero is shown as a value"
    );
    // Selecting a probe leaves the calcium plot readable: its drawing area (the plot less
    // its time axis) stays at least 90 points tall.
    let calcium = canvas(&h, "Calcium and normaliser traces");
    assert!(
        calcium.height() >= 90.0,
        "calcium plot squashed to {calcium:?}"
    );
}

#[test]
fn the_algebraic_note_stays_off_the_graph() {
    let experiment = Experiment {
        params: Params {
            mode: Mode::Algebraic,
            ..Params::default()
        },
        ..classroom()
    };
    let mut h = harness_at(experiment, [1280.0, 800.0], 1.0);
    h.run_steps(3);
    let note = h
        .get_by_label_contains("Algebraic mode has no activity")
        .rect();
    let graph = canvas(&h, "Network graph");
    assert!(
        !note.intersects(graph),
        "the note {note:?} overlaps the graph {graph:?}"
    );
}

#[test]
fn the_difference_has_a_fixed_scale_that_says_when_it_is_exceeded() {
    let mut h = harness_at(classroom(), [1280.0, 800.0], 1.0);
    let end = run_to_end(&mut h);
    h.run_steps(3);
    let run = end.run.as_ref().expect("a run");
    let largest = (&h.state().history().network_attention - &run.softmax_attention)
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let exceeded = || h_has(&h, "beyond this scale");
    fn h_has(h: &Harness<'_, TripartiteApp>, text: &str) -> bool {
        h.query_by_label_contains(text).is_some()
    }
    assert_eq!(
        exceeded(),
        largest > FIXED_DIFFERENCE_LIMIT,
        "largest difference {largest}"
    );
    h.get_by_label("auto").click();
    h.run_steps(3);
    assert!(
        !h_has(&h, "beyond this scale"),
        "an auto scale is never exceeded"
    );
    h.get_by_label(&format!("±{FIXED_DIFFERENCE_LIMIT}"))
        .click();
    h.run_steps(3);
    assert_eq!(
        h_has(&h, "beyond this scale"),
        largest > FIXED_DIFFERENCE_LIMIT
    );
}

#[test]
fn a_poor_run_gets_a_verdict_and_a_banner_that_can_be_closed() {
    let mut h = harness_at(classroom(), [1280.0, 800.0], 1.0);
    let end = run_to_end(&mut h);
    h.run_steps(3);
    let tv = end.metrics.attn_tv;
    let quality = Quality::of(tv);
    // The verdict is named by its label (panics when absent).
    h.get_by_label("Verdict:");
    assert!(
        h.query_by_label(quality.word()).is_some(),
        "attn_tv {tv} gives the verdict {}",
        quality.word()
    );
    let banner = h.query_by_label(POOR_RUN_BANNER).is_some();
    assert_eq!(banner, quality == Quality::Poor, "attn_tv {tv}");
    if banner {
        h.get_by_label("×").click();
        h.run_steps(3);
        assert!(h.query_by_label(POOR_RUN_BANNER).is_none());
    }
}

#[test]
fn a_figure_capture_leaves_out_its_own_notice() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("figure.png");
    let mut h = harness_at(classroom(), [1280.0, 800.0], 1.0);
    h.run_steps(2);
    let ctx = h.ctx.clone();
    h.state_mut().file_action(
        &ctx,
        FileAction::Export(ExportKind::FigurePng, path.clone()),
    );
    let mut frames = 0;
    while !path.exists() {
        h.step();
        assert!(
            h.query_by_label_contains("Capturing the window").is_none(),
            "the notice is drawn while the capture is pending"
        );
        frames += 1;
        assert!(frames < 200, "the figure was never written");
    }
    h.run_steps(3);
    assert!(h.query_by_label_contains("figure.png").is_some());
}

#[test]
fn sweep_csv_has_the_columns_of_the_cli() {
    let metrics = tripartite::model::metrics::Metrics {
        attn_tv: 0.25,
        attn_max_abs: 0.5,
        output_rel_err: 0.125,
        calcium_corr: 0.75,
        calcium_rel_err: 0.0625,
    };
    let row = |variant: Option<&str>| SweepRow {
        param: "m".into(),
        value: "64".into(),
        seed: 7,
        metrics,
        variant: variant.map(str::to_string),
    };
    assert_eq!(
        sweep_csv(&[row(None)]),
        format!("{SWEEP_HEADER}\nm,64,7,0.25,0.5,0.125,0.75,0.0625\n")
    );
    assert_eq!(
        sweep_csv(&[row(Some("positive/iid"))]),
        format!("{SWEEP_HEADER},variant\nm,64,7,0.25,0.5,0.125,0.75,0.0625,positive/iid\n")
    );
    // The CLI writes the same header.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tripartite"))
        .args([
            "sweep",
            "--param",
            "m",
            "--values",
            "16",
            "--seeds",
            "1",
            "--set",
            "mode=algebraic",
        ])
        .output()
        .expect("the CLI runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().next(), Some(SWEEP_HEADER), "{text}");
}
