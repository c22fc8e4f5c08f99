//! The layer's output against the transformer's: (network − transformer) after W_O, as a
//! token-by-feature heatmap, each token's relative error as a bar beside its row, and
//! layer_output_rel_err over the rows read so far.

use super::LayerSnapshot;
use crate::sim::Snapshot;
use crate::ui::widgets::colormap::ColorScale;
use crate::ui::widgets::theme;
use egui::{Align2, Color32, ColorImage, FontId, Rect, Sense, Stroke, TextureOptions, pos2, vec2};

/// Width of the per-token relative error bars (points).
const BARS_W: f32 = 70.0;

#[derive(Default)]
pub struct LayerOutputView {
    texture: Option<(u64, egui::TextureHandle, f64)>,
}

/// Shown until the first read slot ends.
pub const NO_ROW_YET: &str = "No row has been read yet: the layer output is set against the \
     transformer's row by row, as each read slot ends.";

/// What the layer output is compared with, for `source` (the snapshot's source spec):
/// synthetic and .npy layers have no W_O (the identity) and no transformer output, so their
/// reference is the same layer with A_soft.
pub fn reference_note(source: &str) -> &'static str {
    if source.starts_with("synthetic:") || source.starts_with("npy:") {
        "Compared with the same layer computed with A_soft: this source has no W_O (the \
         identity) and no transformer output of its own."
    } else {
        "Compared with the transformer's own output at this point (after W_O, before the \
         residual)."
    }
}

/// The text that names the layer's error (tests look for it).
pub fn rel_err_text(layer: &LayerSnapshot) -> String {
    format!(
        "layer_output_rel_err = {}",
        layer
            .layer_output_rel_err
            .map_or("—".to_string(), theme::sig)
    )
}

impl LayerOutputView {
    pub fn ui(&mut self, ui: &mut egui::Ui, snapshot: &Snapshot, layer: &LayerSnapshot) {
        ui.label(theme::title("Layer output: network − transformer"));
        let line = rel_err_text(layer);
        ui.label(egui::RichText::new(&line).strong().size(15.0))
            .on_hover_text(
                "|network − transformer| / |transformer| (Frobenius norms) over the rows read so far, after the \
                 heads' outputs are concatenated and multiplied by W_O (with its bias), before \
                 the residual and LayerNorm.",
            );
        if let Some(run) = snapshot.run.as_ref() {
            ui.label(reference_note(&run.source));
        }
        let Some(diff) = layer.output_diff.as_ref() else {
            // The difference exists once a row is read, whatever the source (issue 25).
            theme::caption(ui, NO_ROW_YET);
            return;
        };
        let tokens: &[String] = snapshot.run.as_ref().map_or(&[], |r| &r.tokens);
        let (rows, cols) = diff.dim();
        if rows == 0 || cols == 0 {
            ui.label("No row has been read yet.");
            return;
        }
        let limit = diff
            .iter()
            .filter(|v| v.is_finite())
            .fold(0.0f64, |m, v| m.max(v.abs()))
            .max(1e-12);
        let scale = ColorScale::Diverging { limit };
        let version = snapshot.revision;
        if self.texture.as_ref().is_none_or(|(v, _, _)| *v != version) {
            let mut image = ColorImage::filled([cols, rows], crate::ui::widgets::colormap::EMPTY);
            for ((r, c), value) in diff.indexed_iter() {
                if value.is_finite() {
                    image[(c, r)] = scale.color(*value);
                }
            }
            // One texture, refilled at each publication.
            let texture = match self.texture.take() {
                Some((_, mut texture, _)) => {
                    texture.set(image, TextureOptions::NEAREST);
                    texture
                }
                None => {
                    ui.ctx()
                        .load_texture("layer output difference", image, TextureOptions::NEAREST)
                }
            };
            self.texture = Some((version, texture, limit));
        }
        let Some((_, texture, _)) = self.texture.as_ref() else {
            return;
        };
        let labels_w = crate::ui::widgets::heatmap::label_width(tokens);
        let size = ui.available_size() - vec2(0.0, 22.0);
        let (rect, response) = ui.allocate_exact_size(size.max(vec2(160.0, 60.0)), Sense::hover());
        response.widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::Role::Image,
                true,
                format!("Layer output difference, {rows} tokens × {cols} features; {line}"),
            )
        });
        let painter = ui.painter_at(rect);
        let grid = Rect::from_min_max(
            pos2(rect.left() + labels_w, rect.top()),
            pos2(rect.right() - BARS_W - 8.0, rect.bottom()),
        );
        painter.image(
            texture.id(),
            grid,
            Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
            Color32::WHITE,
        );
        painter.rect_stroke(
            grid,
            0.0,
            Stroke::new(1.0, Color32::from_gray(120)),
            egui::StrokeKind::Outside,
        );
        let row_h = grid.height() / rows as f32;
        let font = FontId::proportional(row_h.clamp(8.0, 13.0));
        let worst = layer
            .per_token_rel_err
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(1e-12, f64::max);
        let bars = Rect::from_min_max(pos2(grid.right() + 8.0, grid.top()), rect.max);
        for r in 0..rows {
            let y = grid.top() + (r as f32 + 0.5) * row_h;
            if row_h >= 8.0
                && let Some(token) = tokens.get(r)
            {
                painter.text(
                    pos2(grid.left() - 4.0, y),
                    Align2::RIGHT_CENTER,
                    token,
                    font.clone(),
                    Color32::from_gray(25),
                );
            }
            if let Some(&err) = layer.per_token_rel_err.get(r)
                && err.is_finite()
            {
                let w = (err / worst) as f32 * bars.width();
                painter.rect_filled(
                    Rect::from_min_size(
                        pos2(bars.left(), y - row_h * 0.38),
                        vec2(w.max(1.0), (row_h * 0.76).max(1.0)),
                    ),
                    1.0,
                    Color32::from_rgb(0x55, 0x55, 0x55),
                );
            }
        }
        let hover = response.hover_pos();
        ui.horizontal(|ui| {
            ui.label(
                egui::RichText::new(format!(
                    "blue: network below, red: above (±{}); bars: relative error per token (max {})",
                    theme::sig(limit),
                    theme::sig(worst)
                ))
                .size(12.5)
                .color(theme::CAPTION),
            );
        });
        if let Some(p) = hover
            && grid.contains(p)
        {
            let c = (((p.x - grid.left()) / grid.width()) * cols as f32) as usize;
            let r = (((p.y - grid.top()) / grid.height()) * rows as f32) as usize;
            let (r, c) = (r.min(rows - 1), c.min(cols - 1));
            response.on_hover_ui_at_pointer(|ui| {
                ui.strong(output_cell_caption(tokens, r, c, cols));
                ui.monospace(format!(
                    "network − transformer = {}",
                    theme::sig(diff[(r, c)])
                ));
                if let Some(err) = layer.per_token_rel_err.get(r) {
                    ui.monospace(format!(
                        "this token's relative error = {}",
                        theme::sig(*err)
                    ));
                }
            });
        }
    }
}

/// What the hover says of the output difference's cell (`row`, `column`), from 0: the token
/// by label and position counted from 1, as every view names it, and the feature counted from
/// 1 too.
fn output_cell_caption(tokens: &[String], row: usize, column: usize, columns: usize) -> String {
    format!(
        "{}, feature {}/{columns}",
        crate::ui::views::selection::token_name(tokens, row),
        column + 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_names_its_token_and_feature_counted_from_one() {
        let tokens: Vec<String> = ["[CLS]", "cat", "[SEP]"].map(String::from).into();
        assert_eq!(
            output_cell_caption(&tokens, 1, 0, 384),
            "'cat' (token 2/3), feature 1/384"
        );
    }
}
