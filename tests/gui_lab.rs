//! The approximation lab in the app (issue 13): the per-query panel lists every read row and
//! selects its token in every view, and the Ablate menu runs a twin with one part of the
//! mechanism switched off.

mod common;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use tripartite::data::experiment::Experiment;
use tripartite::model::params::Mode;
use tripartite::ui::TripartiteApp;

fn algebraic() -> Experiment {
    let mut experiment = common::classroom();
    experiment.params.mode = Mode::Algebraic;
    experiment
}

fn finished(h: &mut Harness<'static, TripartiteApp>) {
    h.get_by_label("Run to end").click();
    common::wait_snapshot(h, "the end of the run", |s| {
        s.run
            .as_ref()
            .is_some_and(|r| s.rows_completed == r.tokens.len())
    });
}

#[test]
fn the_per_query_panel_lists_every_row_and_a_click_selects_its_token() {
    let mut h = common::app_harness(algebraic(), [1280.0, 800.0], 1.0);
    finished(&mut h);
    h.get_by_label("View").click();
    h.run_steps(2);
    h.get_by_label("Per-query diagnostics").click();
    h.run_steps(3);
    let snapshot = h.state().snapshot().unwrap().clone();
    let per_query = snapshot.per_query.clone();
    assert_eq!(per_query.row.len(), 12, "one entry per read row");
    // The worst row (largest tv) is listed first, with its value.
    let worst = (0..per_query.tv.len())
        .max_by(|&a, &b| per_query.tv[a].total_cmp(&per_query.tv[b]))
        .unwrap();
    let t = per_query.row[worst];
    // Rows are named by their tokens' own labels.
    let tokens = snapshot.run.as_ref().unwrap().tokens.clone();
    let label = format!("query {}: ", tokens[t]);
    let first_bar_y = h.get_by_label_contains(&label).rect().top();
    for (other, token) in tokens.iter().enumerate() {
        if other != t {
            let other_label = format!("query {token}: ");
            let other_top = h.get_by_label_contains(&other_label).rect().top();
            assert!(other_top > first_bar_y, "row {t} is listed first");
        }
    }
    h.get_by_label_contains(&label).click();
    h.run_steps(3);
    assert_eq!(
        h.state().tokens().queries,
        vec![t],
        "the click selects query {t}"
    );
    // Shift+click adds another row.
    let next = (t + 1) % 12;
    let next_label = format!("query {}: ", tokens[next]);
    h.get_by_label_contains(&next_label)
        .click_modifiers(egui::Modifiers::SHIFT);
    h.run_steps(3);
    let mut both = vec![t, next];
    both.sort_unstable();
    assert_eq!(h.state().tokens().queries, both);
    h.snapshot("per_query_panel");
}

/// The app on the algebraic example with the Ablate menu's `item` twin run to its end.
fn ablation_twin(
    item: &str,
) -> (
    Harness<'static, TripartiteApp>,
    tripartite::sim::compare::Comparison,
) {
    let mut h = common::app_harness(algebraic(), [1280.0, 800.0], 1.0);
    common::menu_item(&mut h, "Ablate", item);
    let comparison = common::wait_twin(&mut h);
    (h, comparison)
}

#[test]
fn the_ablate_menu_runs_a_twin_with_the_astrocyte_frozen() {
    let (mut h, comparison) = ablation_twin("Frozen calcium");
    let keys: Vec<String> = comparison.diff().into_iter().map(|d| d.key).collect();
    assert_eq!(keys, ["ablation"]);
    let tv = comparison.deltas()[0];
    assert!(
        tv.delta > 0.0,
        "freezing the calcium approximates worse: {tv:?}"
    );
    // A frozen calcium is constant: it has no correlation with Z_t (the table shows "—", not
    // the 1.5e-15 of rounding it once showed).
    assert!(
        comparison.other.metrics.calcium_corr.is_nan(),
        "{:?}",
        comparison.other.metrics
    );
    h.get_by_label("Compare").click();
    h.run_steps(4);
    assert!(
        h.query_by_label_contains("ablation: none → frozen_calcium")
            .is_some()
    );
    assert!(
        h.query_by_label_contains("The two calcium curves are identical")
            .is_none(),
        "a frozen calcium differs from the model's"
    );
    assert!(
        h.query_by_label_contains("each is drawn on its own colour scale")
            .is_none(),
        "A_net of the same size: one shared scale"
    );
    h.snapshot("ablation_twin");
}

#[test]
fn a_no_astrocyte_twin_says_its_calcium_lies_on_the_current_runs() {
    // Without the division the calcium still integrates: its curve is the current run's, and
    // the plot says so instead of drawing one curve over the other without a word.
    let (mut h, comparison) = ablation_twin("No astrocyte");
    assert_eq!(
        comparison.reference.calcium, comparison.other.calcium,
        "no_astrocyte leaves the calcium as it is"
    );
    assert!(comparison.deltas()[0].delta > 0.0);
    h.get_by_label("Compare").click();
    h.run_steps(4);
    assert!(
        h.query_by_label_contains(
            "The two calcium curves are identical (the change does not reach the calcium): \
             the twin curve lies on the current curve."
        )
        .is_some()
    );
    // Without the division A_net's rows sum to c_t: the twin's values are far larger, so each
    // matrix gets its own colour scale, and the tab says so with both maxima.
    let top = |m: &ndarray::Array2<f64>| m.iter().fold(0.0f64, |a, b| a.max(*b));
    let (current, twin) = (
        top(&comparison.reference.network_attention),
        top(&comparison.other.network_attention),
    );
    assert!(twin > 3.0 * current, "{twin} against {current}");
    let said = format!(
        "A_net's largest value is {} in current and {} in twin: each is drawn on its own colour scale",
        tripartite::ui::theme::sig(current),
        tripartite::ui::theme::sig(twin)
    );
    assert!(h.query_by_label_contains(&said).is_some(), "{said}");
    // The plot's key stands above the plot, naming both runs.
    let plot = h.get_by_label("Calcium of both runs (twin)").rect();
    for run in ["current", "twin"] {
        let keys: Vec<_> = h.query_all_by_label(run).map(|n| n.rect()).collect();
        assert!(!keys.is_empty(), "the key names {run}");
        for key in keys {
            assert!(
                !key.intersects(plot),
                "'{run}' {key:?} on the plot {plot:?}"
            );
        }
    }
}

#[test]
fn the_per_query_csv_export_equals_the_cli_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = common::app_harness(algebraic(), [1280.0, 800.0], 1.0);
    finished(&mut h);
    let exported = dir.path().join("per_query.csv");
    let ctx = h.ctx.clone();
    h.state_mut().file_action(
        &ctx,
        tripartite::ui::files::FileAction::Export(
            tripartite::ui::files::ExportKind::PerQueryCsv,
            exported.clone(),
        ),
    );
    h.run_steps(2);
    let out = dir.path().join("cli");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_tripartite"))
        .args([
            "run",
            "--sequence",
            "synthetic:12x32",
            "--set",
            "mode=algebraic",
            "--out",
            out.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let app = std::fs::read_to_string(&exported).unwrap();
    let cli = std::fs::read_to_string(out.join("per_query.csv")).unwrap();
    assert_eq!(app, cli, "the app's per-query CSV is the CLI's");
    assert_eq!(
        app.lines().count(),
        13,
        "a header and one line per query row"
    );
}
