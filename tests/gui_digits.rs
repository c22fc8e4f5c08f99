//! The Images section of the app (issue 14 §3): the bundled digits' thumbnails load a digit,
//! drawing on the pad loads the drawing and changes the prediction and the matrices, and the
//! query patch's attention row is drawn on the image for A_soft and A_net. Driven through the
//! accessible labels with the real worker.

mod common;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::time::Duration;
use tripartite::data::images::bundled_digits;
use tripartite::data::spec::SourceSpec;
use tripartite::ui::TripartiteApp;
use tripartite::ui::views::digits::{
    CLEAR_LABEL, NET_OVERLAY_LABEL, PAD_LABEL, SOFT_OVERLAY_LABEL, thumbnail_label,
};

fn frames(h: &mut Harness<'_, TripartiteApp>, n: usize) {
    for _ in 0..n {
        h.step();
        std::thread::sleep(Duration::from_millis(3));
    }
}

fn source(h: &Harness<'_, TripartiteApp>) -> String {
    h.state()
        .snapshot()
        .unwrap()
        .run
        .as_ref()
        .unwrap()
        .source
        .clone()
}

fn prediction(h: &Harness<'_, TripartiteApp>) -> String {
    let run = h.state().snapshot().unwrap().run.clone().unwrap();
    let text = run.origin.as_ref().unwrap().text.clone();
    text.rsplit_once("the model predicts ")
        .unwrap()
        .1
        .to_owned()
}

/// Drags across the pad through `points` given in digit pixels (0..8 on each axis).
fn stroke(h: &mut Harness<'_, TripartiteApp>, points: &[(f32, f32)]) {
    let rect = h.get_by_label(PAD_LABEL).rect();
    let at = |(x, y): (f32, f32)| rect.min + egui::vec2(x, y) * (rect.width() / 8.0);
    h.hover_at(at(points[0]));
    h.drag_at(at(points[0]));
    for &p in &points[1..] {
        h.hover_at(at(p));
    }
    h.drop_at(at(*points.last().unwrap()));
    frames(h, 2);
}

/// With TRIPARTITE_SHOTS=DIR, saves the rendered window as DIR/NAME for a look by eye.
fn save_if_requested(h: &mut Harness<'_, TripartiteApp>, name: &str) {
    if let Some(dir) = std::env::var_os("TRIPARTITE_SHOTS") {
        let image = h.render().expect("the harness renders");
        image
            .save(std::path::Path::new(&dir).join(name))
            .expect("the screenshot folder is writable");
    }
}

#[test]
fn a_thumbnail_loads_its_digit_and_the_patch_overlays_show() {
    let mut h = common::images_harness(common::digit(0));
    assert_eq!(source(&h), "digits:0");
    h.get_by_label(&thumbnail_label(4)).click();
    common::wait_snapshot(&mut h, "digit 4", |s| {
        s.run.as_ref().is_some_and(|r| r.source == "digits:4")
    });
    let label = bundled_digits()[4].label.to_string();
    assert_eq!(
        prediction(&h),
        label,
        "the bundled digits are read correctly"
    );
    h.get_by_label(&format!("The model predicts {label}"));
    h.get_by_label(SOFT_OVERLAY_LABEL);
    h.get_by_label(NET_OVERLAY_LABEL);
    // The attention axes name the patches (thumbnails are drawn over these labels).
    assert!(
        h.query_all_by_label("r3c3").count() >= 3,
        "each matrix labels the last patch"
    );
    save_if_requested(&mut h, "digits_thumbnail.png");
    // The attention matrices of the same digit at the usual window size, with A_net read.
    if std::env::var_os("TRIPARTITE_SHOTS").is_some() {
        let mut small = common::app_harness(common::digit(4), [1280.0, 800.0], 1.0);
        small.get_by_label("Run to end").click();
        common::wait_snapshot(&mut small, "the run's end", |s| s.rows_completed == 17);
        save_if_requested(&mut small, "digits_attention.png");
    }
}

#[test]
fn drawing_on_the_pad_changes_the_prediction_and_the_matrices() {
    let mut h = common::images_harness(common::digit(0));
    let before = h.state().snapshot().unwrap().run.clone().unwrap();
    let first = prediction(&h);
    // A vertical bar down the middle: a one, which the bundled digit 0 is not.
    assert_ne!(first, "1", "digit 0 of the bundled set is not a one");
    stroke(
        &mut h,
        &[(4.0, 0.5), (4.0, 2.0), (4.0, 4.0), (4.0, 6.0), (4.0, 7.5)],
    );
    let drawn = common::wait_snapshot(&mut h, "the drawing to load", |s| {
        s.run
            .as_ref()
            .is_some_and(|r| r.source.starts_with("drawing:"))
    });
    let pad = h.state().digits().pad().to_vec();
    assert!(
        pad.iter().filter(|&&p| p > 0).count() >= 8,
        "the stroke inked the pad"
    );
    assert_eq!(
        source(&h),
        SourceSpec::Drawing(pad).to_string(),
        "the worker reads exactly the pad"
    );
    frames(&mut h, 20);
    save_if_requested(&mut h, "digits_pad.png");
    let after = drawn.run.unwrap();
    assert_eq!(prediction(&h), "1", "a vertical bar reads as a one");
    assert_ne!(prediction(&h), first, "the prediction changed");
    assert_ne!(
        after.softmax_attention, before.softmax_attention,
        "A_soft changed with the image"
    );
    // Clearing the pad alone loads nothing; the drawing stays loaded.
    h.get_by_label(CLEAR_LABEL).click();
    frames(&mut h, 4);
    assert!(h.state().digits().pad().iter().all(|&p| p == 0));
    assert!(source(&h).starts_with("drawing:"));
}

#[test]
fn the_sweep_tab_draws_the_authors_figure_for_the_current_digit() {
    let mut h = common::app_harness(common::digit(4), [1280.0, 800.0], 1.0);
    h.state_mut().set_tab(tripartite::ui::command::Tab::Sweep);
    frames(&mut h, 2);
    h.get_by_label("The authors' figure: c_t at m = 10³ and 10⁵ against Z_t")
        .click();
    frames(&mut h, 2);
    // The figure reads the bundled passage unless told to read what runs.
    h.get_by_label("the current sequence").click();
    frames(&mut h, 2);
    h.get_by_label(tripartite::ui::views::authors_figure::DRAW_LABEL)
        .click();
    let panel = common::wait_for(&mut h, "the figure", |app| {
        app.authors_figure().panel().cloned()
    });
    assert_eq!(panel.source, "digits:4");
    assert_eq!((panel.layer, panel.head), (1, 0));
    assert_eq!(panel.tokens.len(), 17);
    assert_eq!(panel.calcium.len(), 2);
    // More features, a closer estimate of Z_t: the authors' point.
    assert!(
        panel.calcium_rel_err[1] < panel.calcium_rel_err[0],
        "{:?}",
        panel.calcium_rel_err
    );
    h.get_by_label(&format!(
        "m = {}: calcium_corr = {:.4}, calcium_rel_err = {:.4}",
        tripartite::ui::theme::thousands(100_000.0, 0),
        panel.calcium_corr[1],
        panel.calcium_rel_err[1]
    ));
    save_if_requested(&mut h, "authors_figure.png");
}
