//! The one "heatmap with token labels" widget: a matrix drawn as a texture, token labels on
//! both axes (as real labels, so screen readers and tests see them), a highlighted row, a
//! colour bar and exact values on hover.

use crate::ui::views::selection::{TokenAxis, TokenSelection, token_name};
use crate::ui::widgets::colormap::{self, ColorScale};
use crate::ui::widgets::theme;
use egui::{
    Align, Color32, ColorImage, FontId, Layout, Rect, Sense, Stroke, TextureHandle, TextureOptions,
    UiBuilder, pos2, vec2,
};
use ndarray::Array2;

/// The uploaded texture of one heatmap, rebuilt only when its values or scale change.
#[derive(Default)]
pub struct HeatmapTexture {
    texture: Option<TextureHandle>,
    key: Option<(u64, u64, u64)>,
}

/// A matrix over (query, key) tokens.
pub struct Heatmap<'a> {
    /// Accessible name and hover title, e.g. "Transformer softmax A_soft".
    pub name: &'a str,
    pub matrix: &'a Array2<f64>,
    pub tokens: &'a [String],
    pub scale: ColorScale,
    /// Changes whenever `matrix` changes.
    pub version: u64,
    /// Rows that hold values (None: all). The others are drawn empty.
    pub rows_done: Option<&'a [bool]>,
    /// The query row to outline.
    pub highlight_row: Option<usize>,
    /// A cell to outline because it is hovered in a sibling heatmap.
    pub linked_cell: Option<(usize, usize)>,
    /// The linked token selection: its query rows and key columns are outlined.
    pub selected: &'a TokenSelection,
    /// Side of the matrix in points.
    pub side: f32,
}

/// What happened to the heatmap this frame.
pub struct HeatmapResponse {
    pub response: egui::Response,
    /// The (query, key) cell under the pointer.
    pub hovered: Option<(usize, usize)>,
    /// A token clicked this frame (a cell or a row label: its query row; a column label: its
    /// key column), and whether Shift was held (add to the selection).
    pub clicked: Option<(TokenAxis, usize, bool)>,
    /// Where the matrix itself was drawn, for decorations such as patch thumbnails.
    pub grid: Rect,
}

/// The id of the heatmap named `name`: it takes the keyboard focus when clicked, and the app
/// moves the token selection with the arrow keys while it has it.
pub fn heatmap_id(name: &str) -> egui::Id {
    egui::Id::unique(("heatmap", name))
}

/// Colour of the linked selection's outlines (rows and columns), in every view.
pub const SELECTED_TOKEN: Color32 = Color32::from_rgb(0xC2, 0x00, 0x78);

/// Width reserved for the query labels on the left.
pub fn label_width(tokens: &[String]) -> f32 {
    let longest = tokens.iter().map(|t| t.chars().count()).max().unwrap_or(1);
    (longest as f32 * 7.5 + 10.0).clamp(28.0, 90.0)
}

/// Height below the matrix: key labels plus the colour bar.
pub const FOOTER_HEIGHT: f32 = 44.0;
/// Room right of the grid (points) for the outlines of a selected column; the colour bar's
/// labels stay under the grid.
pub const RIGHT_MARGIN: f32 = 8.0;

/// What the hover says of cell (`t`, `tau`): both tokens by label and position counted from
/// 1, in the form every view uses ("query 't4' (token 5/12) attending to key …").
pub fn cell_caption(tokens: &[String], t: usize, tau: usize) -> String {
    format!(
        "query {} attending to key {}",
        token_name(tokens, t),
        token_name(tokens, tau)
    )
}

impl Heatmap<'_> {
    pub fn show(self, ui: &mut egui::Ui, cache: &mut HeatmapTexture) -> HeatmapResponse {
        let n = self.tokens.len().min(self.matrix.nrows());
        let left = label_width(self.tokens);
        let side = self.side.max(20.0);
        let (outer, _) = ui.allocate_exact_size(
            vec2(left + side + RIGHT_MARGIN, side + FOOTER_HEIGHT),
            Sense::hover(),
        );
        let grid = Rect::from_min_size(pos2(outer.min.x + left, outer.min.y), vec2(side, side));
        let response = ui
            .interact(grid, heatmap_id(self.name), Sense::click())
            .on_hover_cursor(egui::CursorIcon::Crosshair);
        let name = self.name.to_string();
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, &name));
        if response.has_focus() {
            // The arrow keys move the selection here, not the focus.
            ui.memory_mut(|m| {
                m.set_focus_lock_filter(
                    response.id,
                    egui::EventFilter {
                        horizontal_arrows: true,
                        vertical_arrows: true,
                        ..Default::default()
                    },
                )
            });
        }
        if n == 0 {
            return HeatmapResponse {
                response,
                hovered: None,
                clicked: None,
                grid,
            };
        }
        let shift = ui.input(|i| i.modifiers.shift);
        let cell = side / n as f32;
        self.upload(ui.ctx(), cache, n);
        let painter = ui.painter_at(outer);
        if let Some(texture) = &cache.texture {
            painter.image(
                texture.id(),
                grid,
                Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
                Color32::WHITE,
            );
        }
        if cell >= 9.0 {
            let line = Stroke::new(1.0, Color32::from_white_alpha(90));
            for k in 1..n {
                let offset = k as f32 * cell;
                painter.hline(grid.x_range(), grid.top() + offset, line);
                painter.vline(grid.left() + offset, grid.y_range(), line);
            }
        }
        painter.rect_stroke(
            grid,
            0.0,
            Stroke::new(1.0, Color32::GRAY),
            egui::StrokeKind::Outside,
        );
        let cell_rect = |t: usize, tau: usize| {
            Rect::from_min_size(
                pos2(
                    grid.left() + tau as f32 * cell,
                    grid.top() + t as f32 * cell,
                ),
                vec2(cell, cell),
            )
        };
        if let Some(t) = self.highlight_row.filter(|&t| t < n) {
            let row = Rect::from_min_size(
                pos2(grid.left(), grid.top() + t as f32 * cell),
                vec2(side, cell),
            );
            painter.rect_stroke(
                row,
                0.0,
                Stroke::new(2.5, colormap::palette::CURSOR),
                egui::StrokeKind::Outside,
            );
        }
        let selection = Stroke::new(2.5, SELECTED_TOKEN);
        for &t in self.selected.queries.iter().filter(|&&t| t < n) {
            let row = Rect::from_min_size(
                pos2(grid.left(), grid.top() + t as f32 * cell),
                vec2(side, cell),
            );
            painter.rect_stroke(row, 0.0, selection, egui::StrokeKind::Middle);
        }
        for &tau in self.selected.keys.iter().filter(|&&tau| tau < n) {
            let column = Rect::from_min_size(
                pos2(grid.left() + tau as f32 * cell, grid.top()),
                vec2(cell, side),
            );
            painter.rect_stroke(column, 0.0, selection, egui::StrokeKind::Middle);
        }
        if let Some((t, tau)) = self.linked_cell.filter(|&(t, tau)| t < n && tau < n) {
            painter.rect_stroke(
                cell_rect(t, tau),
                0.0,
                Stroke::new(2.0, Color32::BLACK),
                egui::StrokeKind::Inside,
            );
        }
        let mut clicked = self
            .axis_labels(ui, grid, n, left)
            .map(|(axis, index)| (axis, index, shift));
        self.color_bar(ui, &painter, grid, outer.left());

        let hovered = response.hover_pos().and_then(|p| {
            let tau = ((p.x - grid.left()) / cell).floor();
            let t = ((p.y - grid.top()) / cell).floor();
            (tau >= 0.0 && t >= 0.0 && (tau as usize) < n && (t as usize) < n)
                .then_some((t as usize, tau as usize))
        });
        if response.clicked() {
            response.request_focus();
            if let Some((t, _)) = hovered {
                clicked = Some((TokenAxis::Query, t, shift));
            }
        }
        let response = match hovered {
            Some((t, tau)) => {
                let done = self
                    .rows_done
                    .is_none_or(|rows| rows.get(t).copied().unwrap_or(false));
                let value = self.matrix[[t, tau]];
                response.on_hover_ui_at_pointer(|ui| {
                    ui.strong(self.name);
                    ui.label(cell_caption(self.tokens, t, tau));
                    if done {
                        ui.monospace(format!("{value:.6}"));
                    } else {
                        ui.label("not read yet");
                    }
                })
            }
            None => response,
        };
        HeatmapResponse {
            response,
            hovered,
            clicked,
            grid,
        }
    }

    fn upload(&self, ctx: &egui::Context, cache: &mut HeatmapTexture, n: usize) {
        let (lo, hi) = self.scale.range();
        let key = (self.version, lo.to_bits(), hi.to_bits() ^ n as u64);
        if cache.key == Some(key) && cache.texture.is_some() {
            return;
        }
        let mut pixels = Vec::with_capacity(n * n);
        for t in 0..n {
            let done = self
                .rows_done
                .is_none_or(|rows| rows.get(t).copied().unwrap_or(false));
            for tau in 0..n {
                pixels.push(if done {
                    self.scale.color(self.matrix[[t, tau]])
                } else {
                    colormap::EMPTY
                });
            }
        }
        let image = ColorImage::new([n, n], pixels);
        match &mut cache.texture {
            Some(texture) => texture.set(image, TextureOptions::NEAREST),
            None => {
                cache.texture = Some(ctx.load_texture(
                    format!("heatmap {}", self.name),
                    image,
                    TextureOptions::NEAREST,
                ))
            }
        }
        cache.key = Some(key);
    }

    /// Query labels on the left, key labels below; every k-th when cells are small. A click
    /// on one selects its token: a query label its row, a key label its column.
    fn axis_labels(
        &self,
        ui: &mut egui::Ui,
        grid: Rect,
        n: usize,
        left: f32,
    ) -> Option<(TokenAxis, usize)> {
        let mut clicked = None;
        let cell = grid.width() / n as f32;
        // Every query gets its label while a cell is at least 12 points tall; below that,
        // every k-th, still at a readable 12 points.
        let font = (cell - 0.5).clamp(12.0, 13.0);
        let every_row = (font / cell).ceil().max(1.0) as usize;
        let widest = self
            .tokens
            .iter()
            .map(|t| t.chars().count())
            .max()
            .unwrap_or(1) as f32;
        let every_column = ((widest * font * 0.55 + 4.0) / cell).ceil().max(1.0) as usize;
        let label = |text: &str, selected: bool| {
            let text = egui::RichText::new(text).size(font);
            let text = if selected {
                text.color(SELECTED_TOKEN).strong()
            } else {
                text.color(theme::CAPTION)
            };
            egui::Label::new(text)
                .truncate()
                .selectable(false)
                .sense(Sense::click())
        };
        for t in (0..n).step_by(every_row) {
            let rect = Rect::from_min_max(
                pos2(grid.left() - left, grid.top() + t as f32 * cell),
                pos2(
                    grid.left() - 3.0,
                    grid.top() + (t + every_row) as f32 * cell,
                ),
            )
            .intersect(Rect::everything_above(grid.bottom()));
            let rect = Rect::from_center_size(
                pos2(rect.center().x, grid.top() + (t as f32 + 0.5) * cell),
                vec2(rect.width(), font + 4.0),
            );
            ui.scope_builder(
                UiBuilder::new()
                    .max_rect(rect)
                    .layout(Layout::right_to_left(Align::Center)),
                |ui| {
                    let response = ui
                        .add(label(&self.tokens[t], self.selected.has_query(t)))
                        .on_hover_cursor(egui::CursorIcon::PointingHand);
                    if response.clicked() {
                        clicked = Some((TokenAxis::Query, t));
                    }
                },
            );
        }
        for tau in (0..n).step_by(every_column) {
            let width = cell * every_column as f32;
            let rect = Rect::from_center_size(
                pos2(
                    grid.left() + (tau as f32 + 0.5) * cell,
                    grid.bottom() + 10.0,
                ),
                vec2(width.max(cell), font + 4.0),
            );
            ui.scope_builder(
                UiBuilder::new()
                    .max_rect(rect)
                    .layout(Layout::top_down(Align::Center)),
                |ui| {
                    let response = ui
                        .add(label(&self.tokens[tau], self.selected.has_key(tau)))
                        .on_hover_cursor(egui::CursorIcon::PointingHand);
                    if response.clicked() {
                        clicked = Some((TokenAxis::Key, tau));
                    }
                },
            );
        }
        clicked
    }

    /// The colour bar under the grid; `left` is where the row labels begin.
    fn color_bar(&self, ui: &egui::Ui, painter: &egui::Painter, grid: Rect, left: f32) {
        let (lo, hi) = self.scale.range();
        let font = FontId::proportional(12.5);
        let color = ui.visuals().text_color();
        // Both labels lie inside the heatmap's own width and the bar between them, so neither
        // is cut whatever its length ("0.2500", "−0.0125"); a small grid lends the bar the
        // room under its row labels.
        let hi_label = painter.layout_no_wrap(theme::sig(hi), font.clone(), color);
        let lo_label = painter.layout_no_wrap(theme::sig(lo), font, color);
        let right = grid.right() - hi_label.size().x - 4.0;
        let start = (grid.left() + 36.0)
            .min(right - 40.0)
            .max(left + lo_label.size().x + 4.0);
        let bar = Rect::from_min_max(
            pos2(start, grid.bottom() + 24.0),
            pos2(right.max(start + 20.0), grid.bottom() + 33.0),
        );
        let steps = 32;
        for k in 0..steps {
            let x0 = bar.left() + bar.width() * k as f32 / steps as f32;
            let x1 = bar.left() + bar.width() * (k + 1) as f32 / steps as f32;
            painter.rect_filled(
                Rect::from_min_max(pos2(x0, bar.top()), pos2(x1 + 0.5, bar.bottom())),
                0.0,
                self.scale.at_fraction((k as f64 + 0.5) / steps as f64),
            );
        }
        painter.galley(
            pos2(
                bar.left() - 4.0 - lo_label.size().x,
                bar.center().y - 0.5 * lo_label.size().y,
            ),
            lo_label,
            color,
        );
        painter.galley(
            pos2(bar.right() + 4.0, bar.center().y - 0.5 * hi_label.size().y),
            hi_label,
            color,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hover_names_cells_by_token_label_counted_from_one() {
        let tokens: Vec<String> = ["[CLS]", "the", "cat"].map(String::from).into();
        assert_eq!(
            cell_caption(&tokens, 0, 2),
            "query '[CLS]' (token 1/3) attending to key 'cat' (token 3/3)"
        );
    }
}
