//! Images and the authors' figure in the app (issue 14, the parts finished last): File ▸
//! Examples opens the authors' figure on the bundled passage; File ▸ Open image's command
//! (what the file dialog sends; no dialog opens here) loads an image file and draws the query
//! patch's attention on it; a bad image is refused in one sentence with the sequence kept; and
//! a drawing is named, not spelled out in hex, in the Input section.

mod common;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::path::{Path, PathBuf};
use tripartite::data::bundle::PASSAGE_NAME;
use tripartite::data::experiment::Experiment;
use tripartite::data::images::bundled_digit;
use tripartite::data::spec::SourceSpec;
use tripartite::model::params::{Mode, Params};
use tripartite::ui::TripartiteApp;
use tripartite::ui::command::Tab;
use tripartite::ui::files::FileAction;
use tripartite::ui::views::authors_figure::{DRAW_LABEL, EXAMPLE_LABEL};
use tripartite::ui::views::digits::{
    DRAWING_SEQUENCE_LABEL, DRAWING_THUMBNAIL_LABEL, NET_OVERLAY_LABEL, OPEN_IMAGE_LABEL,
    SOFT_OVERLAY_LABEL,
};

fn open_image(h: &mut Harness<'_, TripartiteApp>, path: PathBuf) {
    let ctx = h.ctx.clone();
    h.state_mut().file_action(&ctx, FileAction::OpenImage(path));
    h.run_steps(2);
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

/// Bundled digit `index` as an 8×8 grayscale PNG in `dir`.
fn digit_png(dir: &Path, index: usize) -> PathBuf {
    let digit = bundled_digit(index).unwrap();
    let path = dir.join(format!("digit{index}.png"));
    image::GrayImage::from_raw(8, 8, digit.pixels.clone())
        .unwrap()
        .save(&path)
        .unwrap();
    path
}

#[test]
fn file_examples_opens_the_authors_figure_on_the_bundled_passage() {
    let mut h = common::app_harness(common::classroom(), [1280.0, 800.0], 1.0);
    assert_eq!(h.state().tab(), Tab::Live);
    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_label("Examples").hover();
    h.run_steps(2);
    h.get_by_label(EXAMPLE_LABEL).click();
    h.run_steps(2);
    assert_eq!(
        h.state().tab(),
        Tab::Sweep,
        "the figure lives in the Sweep tab"
    );
    // Opened, and drawing without a further click.
    h.get_by_label(DRAW_LABEL);
    let panel = common::wait_for(&mut h, "the figure", |app| {
        app.authors_figure().panel().cloned()
    });
    assert_eq!(panel.source, format!("bundled:{PASSAGE_NAME}"));
    assert!(
        (170..=240).contains(&panel.tokens.len()),
        "about 200 wordpieces, got {}",
        panel.tokens.len()
    );
    assert!(
        panel.calcium_rel_err[1] < panel.calcium_rel_err[0],
        "{:?}",
        panel.calcium_rel_err
    );
    assert_eq!(
        source(&h),
        "synthetic:12x32",
        "showing the figure loads nothing"
    );
    h.get_by_label(&format!(
        "m = {}: calcium_corr = {:.4}, calcium_rel_err = {:.4}",
        tripartite::ui::theme::thousands(1_000.0, 0),
        panel.calcium_corr[0],
        panel.calcium_rel_err[0]
    ));
}

#[test]
fn an_opened_image_file_loads_and_shows_its_patch_overlays() {
    let dir = tempfile::tempdir().unwrap();
    let path = digit_png(dir.path(), 7);
    let mut h = common::images_harness(common::digit(0));
    // The button asks as File ▸ Open image does; tests have the typed-path window, never rfd.
    h.get_by_label(OPEN_IMAGE_LABEL).click();
    // The typed-path window is a new area: it shows after its sizing frame.
    h.run_steps(4);
    h.get_by_label("File path").click();
    h.run_steps(1);
    h.get_by_label("File path")
        .type_text(&path.display().to_string());
    h.run_steps(1);
    h.get_by_label("OK").click();
    h.run_steps(2);
    let wanted = format!("image:{}", path.display());
    common::wait_snapshot(&mut h, "the image", |s| {
        s.run.as_ref().is_some_and(|r| r.source == wanted)
    });
    h.run_steps(3);
    let label = bundled_digit(7).unwrap().label;
    h.get_by_label(&format!("The model predicts {label}"));
    h.get_by_label(SOFT_OVERLAY_LABEL);
    h.get_by_label(NET_OVERLAY_LABEL);
}

#[test]
fn a_colour_image_for_a_vit_folder_gets_its_overlays() {
    // The small random ViT of the fixtures: 16×16 RGB, 4×4 patches of 4 pixels.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vit_tiny");
    let experiment = Experiment {
        params: Params {
            mode: Mode::Algebraic,
            m: 256,
            layer: 1,
            head: 2,
            ..Params::default()
        },
        source: SourceSpec::Image {
            path: fixture.join("input.png"),
            model: Some(fixture.clone()),
        },
        ..Experiment::default()
    };
    let mut h = common::images_harness(experiment);
    h.get_by_label("Run to end").click();
    common::wait_snapshot(&mut h, "the run's end", |s| s.rows_completed == 17);
    h.run_steps(3);
    h.get_by_label_contains("The model predicts ");
    let soft = h.get_by_label(SOFT_OVERLAY_LABEL).rect();
    h.get_by_label(NET_OVERLAY_LABEL);
    assert!(
        h.query_by_label_contains("after its read slot").is_none(),
        "A_net is drawn once every row is read"
    );
    // Clicking a patch makes it the query: the bottom-right one is row 3, column 3.
    let corner = soft.max - egui::vec2(2.0, 2.0);
    h.hover_at(corner);
    h.drag_at(corner);
    h.drop_at(corner);
    h.run_steps(2);
    // Named by its token's label and place, as the matrices' hover names it.
    h.get_by_label("Where patch 'r3c3' (token 17/17) looks");
    // A second image from the same folder is read by the same ViT.
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.png");
    image::RgbImage::from_pixel(20, 12, image::Rgb([200, 30, 30]))
        .save(&other)
        .unwrap();
    open_image(&mut h, other.clone());
    let wanted = SourceSpec::Image {
        path: other,
        model: Some(fixture),
    }
    .to_string();
    common::wait_snapshot(&mut h, "the second image", |s| {
        s.run.as_ref().is_some_and(|r| r.source == wanted)
    });
}

#[test]
fn a_bad_image_is_refused_in_one_sentence_and_the_digit_stays() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.png");
    std::fs::write(&empty, b"").unwrap();
    let corrupt = dir.path().join("corrupt.png");
    std::fs::write(&corrupt, b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let mut h = common::images_harness(common::digit(3));
    let before = h.state().current_experiment();
    let kept = "; the sequence shown is kept";
    for (path, sentence) in [
        (
            &empty,
            format!(
                "{} is an empty file (0 bytes), not an image{kept}",
                empty.display()
            ),
        ),
        (
            &corrupt,
            format!(
                "{} is not a readable PNG or JPEG image (",
                corrupt.display()
            ),
        ),
    ] {
        open_image(&mut h, path.clone());
        h.run_steps(4);
        h.get_by_label_contains(&sentence);
        assert_eq!(
            h.query_all_by_label_contains(kept).count(),
            1,
            "one message, ending with what was kept"
        );
        assert_eq!(source(&h), "digits:3", "the digit stays");
        assert_eq!(h.state().current_experiment().source, before.source);
    }
}

#[test]
fn a_drawing_is_named_in_the_input_section_not_spelled_in_hex() {
    let pixels = bundled_digit(5).unwrap().pixels.clone();
    let spec = SourceSpec::Drawing(pixels).to_string();
    let h = common::images_harness(Experiment {
        source: spec.parse().unwrap(),
        ..common::digit(0)
    });
    assert_eq!(source(&h), spec);
    let label = h.get_by_label(DRAWING_SEQUENCE_LABEL);
    assert!(label.rect().width() < 300.0);
    h.get_by_label(DRAWING_THUMBNAIL_LABEL);
    assert!(
        h.query_by_label(&format!("Sequence: {spec}")).is_none(),
        "the hex spec is not shown as the sequence's name"
    );
}

#[test]
fn a_colour_28_by_28_digit_is_read_as_8_by_8_grayscale_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // Digit 3 drawn large in green: each 8×8 pixel becomes a block of 3.5 × 3.5.
    let digit = bundled_digit(3).unwrap().pixels.clone();
    let mut rgb = image::RgbImage::new(28, 28);
    for (x, y, pixel) in rgb.enumerate_pixels_mut() {
        let v = digit[(y as usize * 8 / 28) * 8 + x as usize * 8 / 28];
        *pixel = image::Rgb([v / 4, v, v / 3]);
    }
    let path = dir.path().join("photo.png");
    rgb.save(&path).unwrap();
    let mut h = common::images_harness(common::digit(0));
    open_image(&mut h, path.clone());
    let wanted = SourceSpec::Image {
        path: path.clone(),
        model: None,
    }
    .to_string();
    common::wait_snapshot(&mut h, "the photo", |s| {
        s.run.as_ref().is_some_and(|r| r.source == wanted)
    });
    h.run_steps(4);
    assert!(h.query_by_label_contains("The model predicts").is_some());
    assert!(
        h.query_by_label("read as 8×8 grayscale from 28×28 colour")
            .is_some(),
        "the note under the prediction"
    );
}
