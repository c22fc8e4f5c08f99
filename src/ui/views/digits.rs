//! Images in the app: thumbnails of the bundled held-out digits, a pad to draw your own, a
//! button to open any PNG or JPEG, the model's prediction, and the chosen query patch's
//! attention row drawn on the image itself, for A_soft and A_net side by side.
//!
//! The view never encodes: a picked or drawn digit is loaded as `digits:INDEX` or
//! `drawing:PIXELS` like any source, and the worker reads it with the bundled digits ViT; an
//! image file goes through File ▸ Open image (`image:PATH`).

use crate::data::experiment::Experiment;
use crate::data::images::{DIGIT_SIZE, ImagePreview, bundled_digit, bundled_digits, image_preview};
use crate::data::spec::SourceSpec;
use crate::model::params::Params;
use crate::sim::{Command, RunHistory};
use crate::ui::views::out::ViewOut;
use crate::ui::widgets::colormap::viridis;
use crate::ui::widgets::heatmap::label_width;
use crate::ui::widgets::theme;
use egui::{Color32, Rect, Sense, Stroke, StrokeKind, Vec2};

/// Pixels per side of a digit.
const SIDE: usize = DIGIT_SIZE as usize;
/// Pixels per side of a patch in the digits ViT (2×2 patches, so a 4×4 grid of tokens).
const PATCH: usize = 2;
/// Patches per side in the digits ViT.
const GRID: usize = SIDE / PATCH;
/// Layers and heads of the digits ViT; a head picked on a larger model is brought inside.
const DIGITS_LAYERS: usize = 4;
const DIGITS_HEADS: usize = 4;
/// The brush, in digit pixels: full ink within `BRUSH_CORE` of the pointer, fading linearly
/// to nothing at `BRUSH_RADIUS` (the bundled digits' strokes are one to two pixels wide).
const BRUSH_CORE: f32 = 0.5;
const BRUSH_RADIUS: f32 = 1.3;

/// Accessible names, for tests and screen readers.
pub const PAD_LABEL: &str = "Digit draw pad";
pub const CLEAR_LABEL: &str = "Clear the pad";
pub const SOFT_OVERLAY_LABEL: &str = "Patch attention A_soft";
pub const NET_OVERLAY_LABEL: &str = "Patch attention A_net";
/// The button that asks for an image file (File ▸ Open image).
pub const OPEN_IMAGE_LABEL: &str = "Open an image file…";

/// The accessible name of bundled digit `index`'s thumbnail.
pub fn thumbnail_label(index: usize) -> String {
    format!("Bundled digit {index}")
}

/// The digit thumbnails, the draw pad and the patch attention overlay.
pub struct DigitsPanel {
    /// The drawing, 8×8 gray, ink bright.
    pad: Vec<u8>,
    /// The pad changed during the current stroke; it is loaded when the stroke ends.
    stroke_changed: bool,
    /// The query patch (0..16, row by row) whose attention row is drawn.
    query_patch: usize,
    /// Where the pointer was in the last frame of the stroke (digit pixels), so that a fast
    /// stroke inks the whole segment between frames.
    last_point: Option<Vec2>,
    /// The image of the source shown, as its model sees it, read once per source.
    shown: Option<ShownImage>,
    /// Asked to come into view (an image was opened): the section opens and scrolls to the
    /// image once.
    reveal: bool,
}

/// The current source's image and its texture.
struct ShownImage {
    source: String,
    preview: Option<(ImagePreview, egui::TextureHandle)>,
}

impl Default for DigitsPanel {
    fn default() -> Self {
        DigitsPanel {
            pad: vec![0; SIDE * SIDE],
            stroke_changed: false,
            query_patch: 5,
            last_point: None,
            shown: None,
            reveal: false,
        }
    }
}

/// The 8×8 pixels of a source the digits ViT reads, when the app has them.
pub fn source_pixels(spec: &SourceSpec) -> Option<Vec<u8>> {
    match spec {
        SourceSpec::Digits(index) => bundled_digit(*index).ok().map(|d| d.pixels.clone()),
        SourceSpec::Drawing(pixels) => Some(pixels.clone()),
        _ => None,
    }
}

/// What the model predicted, from the origin text the worker recorded.
fn predicted(origin: &str) -> Option<&str> {
    origin
        .rsplit_once("the model predicts ")
        .map(|(_, label)| label)
}

/// Parameters for a digits source: the current ones, with the head kept inside the ViT's grid.
fn digits_params(params: &Params) -> Params {
    let mut params = params.clone();
    if params.layer >= DIGITS_LAYERS || params.head >= DIGITS_HEADS {
        params.layer = 1;
        params.head = 0;
    }
    params
}

fn load(spec: SourceSpec, params: &Params, out: &mut ViewOut<'_>) {
    out.worker(Command::LoadExperiment(Box::new(Experiment {
        params: digits_params(params),
        source: spec,
        text: None,
        description: None,
    })));
}

/// Paints 8×8 gray pixels into `rect`.
fn paint_pixels(painter: &egui::Painter, rect: Rect, pixels: &[u8]) {
    let cell = rect.width() / SIDE as f32;
    for (i, &p) in pixels.iter().enumerate() {
        let min = rect.min + Vec2::new((i % SIDE) as f32, (i / SIDE) as f32) * cell;
        painter.rect_filled(
            Rect::from_min_size(min, Vec2::splat(cell)),
            0.0,
            Color32::from_gray(p),
        );
    }
}

/// How the Input section names a `drawing:` source (the spec itself shows on hover).
pub const DRAWING_SEQUENCE_LABEL: &str = "Sequence: your drawing";
/// The accessible name of the drawing's thumbnail beside it.
pub const DRAWING_THUMBNAIL_LABEL: &str = "Thumbnail of your drawing";

/// A `side`-point thumbnail of an 8×8 drawing.
pub fn drawing_thumbnail(ui: &mut egui::Ui, pixels: &[u8], side: f32) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(Vec2::splat(side), Sense::hover());
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::Image, true, DRAWING_THUMBNAIL_LABEL)
    });
    if pixels.len() == SIDE * SIDE {
        paint_pixels(ui.painter(), rect, pixels);
    }
    ui.painter().rect_stroke(
        rect,
        0.0,
        ui.visuals().widgets.noninteractive.bg_stroke,
        StrokeKind::Outside,
    );
    response
}

/// Labels a heatmap's patch tokens (1..=16 of `n` = 17) by their 2×2 pixels, drawn over the
/// text labels (which stay for screen readers and hover text) beside and below `grid`.
pub fn patch_axis_thumbnails(ui: &egui::Ui, grid: Rect, tokens: &[String], pixels: &[u8]) {
    let n = tokens.len();
    if n != 1 + GRID * GRID || pixels.len() != SIDE * SIDE {
        return;
    }
    let cell = grid.height() / n as f32;
    let thumb = (cell - 2.0).clamp(4.0, 16.0);
    let background = ui.visuals().panel_fill;
    let painter = ui.painter();
    // Cover the text labels of the patches (not [CLS]) so the thumbnails read cleanly.
    painter.rect_filled(
        Rect::from_min_max(
            egui::pos2(grid.left() - label_width(tokens), grid.top() + cell),
            // A little below the grid: the last row's label overhangs it.
            egui::pos2(grid.left() - 1.0, grid.bottom() + 8.0),
        ),
        0.0,
        background,
    );
    painter.rect_filled(
        Rect::from_min_max(
            egui::pos2(grid.left() + cell, grid.bottom() + 1.0),
            egui::pos2(grid.right(), grid.bottom() + 19.0),
        ),
        0.0,
        background,
    );
    for p in 0..GRID * GRID {
        let (row, col) = (p / GRID, p % GRID);
        let patch: Vec<u8> = (0..PATCH * PATCH)
            .map(|k| pixels[(row * PATCH + k / PATCH) * SIDE + col * PATCH + k % PATCH])
            .collect();
        let centre = (1 + p) as f32 * cell + cell / 2.0;
        for rect in [
            Rect::from_center_size(
                egui::pos2(grid.left() - 3.0 - thumb / 2.0, grid.top() + centre),
                Vec2::splat(thumb),
            ),
            Rect::from_center_size(
                egui::pos2(grid.left() + centre, grid.bottom() + 3.0 + thumb / 2.0),
                Vec2::splat(thumb),
            ),
        ] {
            let half = thumb / PATCH as f32;
            for (k, &value) in patch.iter().enumerate() {
                let min = rect.min + Vec2::new((k % PATCH) as f32, (k / PATCH) as f32) * half;
                painter.rect_filled(
                    Rect::from_min_size(min, Vec2::splat(half)),
                    0.0,
                    Color32::from_gray(value),
                );
            }
            painter.rect_stroke(
                rect,
                0.0,
                Stroke::new(1.0, Color32::GRAY),
                StrokeKind::Inside,
            );
        }
    }
}

impl DigitsPanel {
    /// The drawing on the pad.
    pub fn pad(&self) -> &[u8] {
        &self.pad
    }

    /// Puts an 8×8 drawing on the pad and brings the section into view (it loads nothing).
    pub fn put_on_pad(&mut self, pixels: Vec<u8>) {
        if pixels.len() == SIDE * SIDE {
            self.pad = pixels;
        }
        self.reveal = true;
    }

    /// Brings the section into view at its next frame (after an image was opened).
    pub fn reveal(&mut self) {
        self.reveal = true;
    }

    /// Whether the section should open this frame; it then scrolls to the image.
    pub fn wants_open(&self) -> bool {
        self.reveal
    }

    /// Inks the pad around `at` (in digit pixels); true if a pixel changed.
    fn ink(&mut self, at: Vec2, erase: bool) -> bool {
        let mut changed = false;
        for (i, pixel) in self.pad.iter_mut().enumerate() {
            let centre = Vec2::new((i % SIDE) as f32 + 0.5, (i / SIDE) as f32 + 0.5);
            let distance = (centre - at).length();
            let weight = (BRUSH_RADIUS - distance) / (BRUSH_RADIUS - BRUSH_CORE);
            if weight <= 0.0 {
                continue;
            }
            let amount = (weight.min(1.0) * 255.0) as u8;
            let new = if erase {
                pixel.saturating_sub(amount)
            } else {
                (*pixel).max(amount)
            };
            changed |= new != *pixel;
            *pixel = new;
        }
        changed
    }

    /// The image of `source` and its texture, read when the source changes.
    fn refresh(&mut self, ctx: &egui::Context, source: &str) {
        if self.shown.as_ref().is_some_and(|s| s.source == source) {
            return;
        }
        let preview = source
            .parse::<SourceSpec>()
            .ok()
            .and_then(|spec| image_preview(&spec).ok().flatten())
            .map(|preview| {
                let bytes: Vec<u8> = preview.rgb.iter().flatten().copied().collect();
                let image = egui::ColorImage::from_rgb([preview.side, preview.side], &bytes);
                let texture = ctx.load_texture("shown image", image, egui::TextureOptions::NEAREST);
                (preview, texture)
            });
        self.shown = Some(ShownImage {
            source: source.to_owned(),
            preview,
        });
    }

    /// Draws the panel. `history` tells the current source; loads go out as sequence changes,
    /// and Open image… as File ▸ Open image's dialog.
    pub fn ui(&mut self, ui: &mut egui::Ui, history: &RunHistory, out: &mut ViewOut<'_>) {
        let Some(snapshot) = history.snapshot.as_ref() else {
            return;
        };
        let run = snapshot.run.as_ref();
        let spec = run.and_then(|r| r.source.parse::<SourceSpec>().ok());
        theme::caption(
            ui,
            "A small vision transformer trained here on 8×8 handwritten digits: 16 patches of \
             2×2 pixels are its tokens, plus [CLS].",
        );
        let open_image = ui
            .button(OPEN_IMAGE_LABEL)
            .on_hover_text(
                "A PNG or JPEG read by the current vision transformer: 8×8 grayscale for the \
                 digits ViT, any size for a ViT folder that resizes",
            )
            .clicked();
        if open_image {
            out.push(crate::ui::actions::UserAction::OpenImage.command(false));
        }

        ui.label("Bundled held-out digits");
        let thumb = 26.0;
        let per_row = ((ui.available_width() / (thumb + 4.0)).floor() as usize).max(1);
        for row in bundled_digits().chunks(per_row).enumerate() {
            ui.horizontal(|ui| {
                ui.spacing_mut().item_spacing.x = 4.0;
                for (k, digit) in row.1.iter().enumerate() {
                    let index = row.0 * per_row + k;
                    let (rect, response) =
                        ui.allocate_exact_size(Vec2::splat(thumb), Sense::click());
                    let label = thumbnail_label(index);
                    response.widget_info(|| {
                        egui::WidgetInfo::labeled(egui::Role::Button, true, &label)
                    });
                    paint_pixels(ui.painter(), rect, &digit.pixels);
                    let current = spec == Some(SourceSpec::Digits(index));
                    if current || response.hovered() {
                        let colour = if current {
                            ui.visuals().selection.stroke.color
                        } else {
                            ui.visuals().widgets.hovered.fg_stroke.color
                        };
                        ui.painter().rect_stroke(
                            rect,
                            0.0,
                            Stroke::new(2.0, colour),
                            StrokeKind::Outside,
                        );
                    }
                    let response = response.on_hover_text(format!(
                        "digit {index}: a {} (scikit-learn index {}), never seen in training",
                        digit.label, digit.sklearn_index
                    ));
                    if response.clicked() {
                        load(SourceSpec::Digits(index), &snapshot.params, out);
                    }
                }
            });
        }

        ui.add_space(6.0);
        ui.label("Draw a digit");
        theme::caption(
            ui,
            "Left button draws, right button erases; the model reads the pad when you lift the \
             button.",
        );
        let side = ui.available_width().min(160.0);
        let (rect, response) = ui.allocate_exact_size(Vec2::splat(side), Sense::click_and_drag());
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, PAD_LABEL));
        if let Some(pos) = response.interact_pointer_pos()
            && (response.dragged() || response.clicked() || response.secondary_clicked())
        {
            let at = (pos - rect.min) / (side / SIDE as f32);
            let erase = ui.input(|i| i.pointer.secondary_down()) || response.secondary_clicked();
            let from = self.last_point.unwrap_or(at);
            // Ink every quarter pixel along the segment from the last frame's point.
            let steps = ((at - from).length() * 4.0).ceil().max(1.0) as usize;
            for k in 1..=steps {
                let point = from + (at - from) * (k as f32 / steps as f32);
                self.stroke_changed |= self.ink(point, erase);
            }
            self.last_point = response.dragged().then_some(at);
        }
        let stroke_over =
            response.drag_stopped() || response.clicked() || response.secondary_clicked();
        paint_pixels(ui.painter(), rect, &self.pad);
        ui.painter().rect_stroke(
            rect,
            0.0,
            ui.visuals().widgets.noninteractive.bg_stroke,
            StrokeKind::Outside,
        );
        if stroke_over && std::mem::take(&mut self.stroke_changed) {
            load(SourceSpec::Drawing(self.pad.clone()), &snapshot.params, out);
        }
        ui.horizontal(|ui| {
            let clear = ui.button("Clear").on_hover_text("Empty the pad");
            clear.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, CLEAR_LABEL));
            if clear.clicked() {
                self.pad.fill(0);
            }
            if let Some(pixels) = spec.as_ref().and_then(source_pixels)
                && pixels != self.pad
                && ui
                    .button("Copy the digit shown")
                    .on_hover_text(
                        "Put the digit being read on the pad, to change it stroke by stroke",
                    )
                    .clicked()
            {
                self.pad = pixels;
            }
        });

        if let Some(run) = run {
            self.refresh(ui.ctx(), &run.source);
        }
        let (Some(run), Some(shown)) = (run, self.shown.take()) else {
            theme::caption(ui, NO_IMAGE_CAPTION);
            return;
        };
        match &shown.preview {
            Some(preview) => {
                if let Some(origin) = &run.origin {
                    let prediction = predicted(&origin.text).unwrap_or("nothing (no classifier)");
                    ui.label(theme::title(&format!("The model predicts {prediction}")))
                        .on_hover_text(&origin.text);
                    // How a file was fitted to the digits model, said under the prediction.
                    if let Some((_, note)) = origin.text.split_once("(read as ") {
                        let note = note.split_once(')').map_or(note, |(n, _)| n);
                        theme::caption(ui, &format!("read as {note}"));
                    }
                }
                self.patch_attention(ui, history, preview);
                if std::mem::take(&mut self.reveal) {
                    ui.scroll_to_cursor(Some(egui::Align::BOTTOM));
                }
            }
            None => theme::caption(ui, NO_IMAGE_CAPTION),
        }
        self.shown = Some(shown);
    }

    /// The query patch's attention row over the image, for A_soft and A_net.
    fn patch_attention(
        &mut self,
        ui: &mut egui::Ui,
        history: &RunHistory,
        (preview, texture): &(ImagePreview, egui::TextureHandle),
    ) {
        let Some(run) = history.snapshot.as_ref().and_then(|s| s.run.as_ref()) else {
            return;
        };
        let grid = preview.grid;
        let n = 1 + grid * grid;
        if grid == 0 || run.tokens.len() != n || run.softmax_attention.dim() != (n, n) {
            return;
        }
        let query = 1 + self.query_patch.min(grid * grid - 1);
        ui.add_space(6.0);
        // The patch by its token's own label and place, as the matrices' hover names it.
        ui.label(format!(
            "Where patch {} looks",
            crate::ui::views::selection::token_name(&run.tokens, query)
        ));
        theme::caption(
            ui,
            "Brighter patches get more of this query's attention (each image scaled to its own \
             largest patch); click a patch to make it the query.",
        );
        let soft: Vec<f64> = run.softmax_attention.row(query).to_vec();
        let net_done = history.rows_done.get(query).copied().unwrap_or(false)
            && history.network_attention.dim() == (n, n);
        let net: Option<Vec<f64>> = net_done.then(|| history.network_attention.row(query).to_vec());
        let side = ((ui.available_width() - 12.0) / 2.0).clamp(60.0, 120.0);
        ui.horizontal(|ui| {
            for (name, label, row) in [
                ("A_soft", SOFT_OVERLAY_LABEL, Some(&soft)),
                ("A_net", NET_OVERLAY_LABEL, net.as_ref()),
            ] {
                ui.vertical(|ui| {
                    ui.label(name);
                    let (rect, response) =
                        ui.allocate_exact_size(Vec2::splat(side), Sense::click());
                    response
                        .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, label));
                    ui.painter().image(
                        texture.id(),
                        rect,
                        Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                        Color32::WHITE,
                    );
                    overlay(ui.painter(), rect, grid, query, row.map(|r| r.as_slice()));
                    if row.is_none() {
                        ui.label(egui::RichText::new("after its read slot").small());
                    }
                    let cls = row.map(|r| r[0]);
                    let hover = match cls {
                        Some(cls) => format!(
                            "{name} row of the query patch; [CLS] gets {:.1} % of it",
                            100.0 * cls
                        ),
                        None => format!(
                            "{name}: this query's read slot has not ended yet (Run or Step slot)"
                        ),
                    };
                    let response = response.on_hover_text(hover);
                    if response.clicked()
                        && let Some(pos) = response.interact_pointer_pos()
                    {
                        let cell = (pos - rect.min) / (side / grid as f32);
                        let (r, c) = (cell.y.floor() as usize, cell.x.floor() as usize);
                        if r < grid && c < grid {
                            self.query_patch = r * grid + c;
                        }
                    }
                });
            }
        });
    }
}

/// Shown when the source is not an image.
const NO_IMAGE_CAPTION: &str =
    "Pick or draw a digit, or open an image, to see its prediction and its patch attention.";

/// Tints each of the `grid × grid` patches by its share of `row` (keys after `[CLS]`) and
/// outlines the query patch.
fn overlay(painter: &egui::Painter, rect: Rect, grid: usize, query: usize, row: Option<&[f64]>) {
    let cell = rect.width() / grid as f32;
    let patch_rect = |p: usize| {
        Rect::from_min_size(
            rect.min + Vec2::new((p % grid) as f32, (p / grid) as f32) * cell,
            Vec2::splat(cell),
        )
    };
    match row {
        Some(row) => {
            let largest = row[1..].iter().copied().fold(0.0, f64::max).max(1e-12);
            for p in 0..grid * grid {
                let share = row[1 + p] / largest;
                painter.rect_filled(
                    patch_rect(p),
                    0.0,
                    viridis(share).gamma_multiply(0.4 + 0.45 * share as f32),
                );
            }
        }
        None => {
            painter.rect_filled(rect, 0.0, Color32::from_black_alpha(150));
        }
    }
    painter.rect_stroke(
        patch_rect(query - 1).shrink(1.0),
        0.0,
        Stroke::new(2.0, Color32::from_rgb(255, 80, 80)),
        StrokeKind::Inside,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_brush_inks_near_the_pointer_and_erases() {
        let mut panel = DigitsPanel::default();
        // Between pixels 3 and 4 of row 3: both centres are half a pixel away.
        assert!(panel.ink(Vec2::new(4.0, 3.5), false));
        assert_eq!(panel.pad[3 * SIDE + 3], 255);
        assert_eq!(panel.pad[3 * SIDE + 4], 255, "full ink within half a pixel");
        assert!(panel.pad[2 * SIDE + 3] > 0 && panel.pad[2 * SIDE + 3] < 255);
        assert_eq!(panel.pad[0], 0, "far pixels stay blank");
        assert!(
            !panel.ink(Vec2::new(4.0, 3.5), false),
            "inking twice changes nothing"
        );
        assert!(panel.ink(Vec2::new(4.0, 3.5), true));
        assert_eq!(panel.pad[3 * SIDE + 3], 0);
    }

    #[test]
    fn a_head_outside_the_digits_vit_is_brought_inside() {
        let big = Params {
            layer: 5,
            head: 11,
            ..Params::default()
        };
        let p = digits_params(&big);
        assert_eq!((p.layer, p.head), (1, 0));
        let small = Params {
            layer: 3,
            head: 2,
            ..Params::default()
        };
        assert_eq!(digits_params(&small), small);
    }

    #[test]
    fn the_grid_constants_are_the_digits_vit() {
        let model = crate::data::images::digits_model().unwrap();
        let config = model.config();
        assert_eq!(
            (config.num_layers, config.num_heads, config.grid()),
            (DIGITS_LAYERS, DIGITS_HEADS, GRID)
        );
    }

    #[test]
    fn the_prediction_is_read_from_the_origin() {
        assert_eq!(
            predicted("a digit drawn on the pad; the model predicts 7"),
            Some("7")
        );
        assert_eq!(predicted("a photo"), None);
    }
}
