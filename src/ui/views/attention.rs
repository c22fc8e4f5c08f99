//! The attention matrices side by side: the transformer's softmax A_soft, the network's A_net
//! (filling row by row as read slots complete) and their difference, with the metrics below.

use crate::model::schedule::Phase;
use crate::sim::RunHistory;
use crate::ui::command::AppCommand;
use crate::ui::views::digits::{patch_axis_thumbnails, source_pixels};
use crate::ui::views::heads::{GOOD_TV, POOR_TV, Quality};
use crate::ui::views::selection::TokenSelection;
use crate::ui::widgets::colormap::ColorScale;
use crate::ui::widgets::heatmap::{
    FOOTER_HEIGHT, Heatmap, HeatmapTexture, heatmap_id, label_width,
};
use crate::ui::widgets::theme;
use ndarray::Array2;

/// Largest N for which the row forming in the current read slot is overlaid live.
const LIVE_OVERLAY_MAX_TOKENS: usize = 256;

/// The colour scale of A_soft and A_net for a whole run: 0 to A_soft's largest entry, so it
/// stays put as A_net fills (an A_net entry above it shows at full colour) and A_soft looks
/// the same at every step (issue 25).
pub fn run_scale(softmax: &Array2<f64>) -> ColorScale {
    let top = softmax
        .iter()
        .fold(0.0f64, |m, v| if v.is_finite() { m.max(*v) } else { m });
    ColorScale::Sequential {
        min: 0.0,
        max: top.max(1e-9),
    }
}

/// What each metric means and what a good value is, for its tooltip.
pub const METRIC_HELP: [(&str, &str, &str); 5] = [
    (
        "attn_tv",
        "TV",
        "Mean over the completed rows of the total-variation distance ½ Σ_τ |A_net − A_soft|: \
         0 means the network attends exactly like the transformer, 1 means completely differently. \
         Good: below 0.15; fair: below 0.30; poor from 0.30 (the verdict, as in All heads).",
    ),
    (
        "attn_max_abs",
        "max |ΔA|",
        "The largest single difference |A_net[t,τ] − A_soft[t,τ]| over the completed rows. \
         Good: near 0; the fixed difference scale (±0.25) shows where it is not.",
    ),
    (
        "output_rel_err",
        "output err",
        "|Y_net − Y_soft| / |Y_soft| (Frobenius norms): how far the network's outputs are from the transformer's \
         attention outputs, relative to their size. Good: near 0 (0.1 means 10 % off).",
    ),
    (
        "calcium_corr",
        "c corr",
        "Pearson correlation over the read slots of the astrocyte's calcium c_t with the softmax \
         normaliser Z_t: 1 means the astrocyte tracks Z_t up to scale (— until three rows are read: \
         two points always lie on a line). \
         Good: close to 1; near 0 means it does not track Z_t.",
    ),
    (
        "calcium_rel_err",
        "c err",
        "Mean over the read slots of |c_t − Z_t| / Z_t, with c_t in normaliser units. \
         Good: near 0 (0.05 means 5 % off on average).",
    ),
];

/// The difference matrix's colour scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DifferenceScale {
    /// ±limit for every run, so runs can be compared by colour.
    Fixed(f64),
    /// ± the largest difference of this run.
    Auto,
}

/// Attention probabilities rarely differ by more than this in a run worth comparing.
pub const FIXED_DIFFERENCE_LIMIT: f64 = 0.25;

impl Default for DifferenceScale {
    fn default() -> Self {
        DifferenceScale::Fixed(FIXED_DIFFERENCE_LIMIT)
    }
}

/// What a poor run means, for the banner.
pub const POOR_RUN_BANNER: &str = "This run reproduces the transformer's attention poorly \
     (attn_tv is poor). That is a finding, not a fault: the astrocyte's calcium estimates the \
     softmax normaliser from m random features, and with few of them the estimate is noisy, \
     most of all for queries and keys with large norms. Try more hidden neurons (m), the \
     hyperbolic or orthogonal feature map, or smaller queries and keys (synthetic scale); or \
     open the example “The astrocyte tracks the normaliser” (File menu, Examples) to see the \
     mechanism working.";

/// One matrix to show: name, hover subtitle, values, completed rows, scale, texture.
type Panel<'a> = (
    &'a str,
    &'a str,
    &'a Array2<f64>,
    Option<&'a [bool]>,
    ColorScale,
    &'a mut HeatmapTexture,
);

pub struct AttentionView {
    soft: HeatmapTexture,
    net: HeatmapTexture,
    diff: HeatmapTexture,
    shown_net: Array2<f64>,
    shown_rows: Vec<bool>,
    difference: Array2<f64>,
    key: Option<(u64, u64)>,
    hover: Option<(usize, usize)>,
    /// How the difference is coloured.
    pub difference_scale: DifferenceScale,
    /// The generation whose poor-run banner was closed.
    banner_closed: Option<u64>,
    /// Presentation mode: no caption, the matrices get the room.
    pub compact: bool,
    /// The difference's largest value when it is beyond the fixed scale (for the metrics tile).
    beyond: Option<f64>,
    /// The metrics have their own tile (the Live page): only the matrices are drawn here.
    pub metrics_apart: bool,
    /// Which of A_soft, A_net and the difference are drawn (all but in a presented lesson
    /// step, which shows only the ones it points at).
    pub shown: [bool; 3],
    /// The metrics take the next cell of the matrices' grid (a presented step that points at
    /// both), instead of their own tile.
    pub metrics_in_grid: bool,
}

impl Default for AttentionView {
    fn default() -> Self {
        AttentionView {
            soft: HeatmapTexture::default(),
            net: HeatmapTexture::default(),
            diff: HeatmapTexture::default(),
            shown_net: Array2::zeros((0, 0)),
            shown_rows: Vec::new(),
            difference: Array2::zeros((0, 0)),
            key: None,
            hover: None,
            difference_scale: DifferenceScale::default(),
            banner_closed: None,
            compact: false,
            beyond: None,
            metrics_apart: false,
            shown: [true; 3],
            metrics_in_grid: false,
        }
    }
}

/// The matrices' headings in a view narrower than [`SHORT_HEADINGS_BELOW`] points (the hover
/// text and the accessible labels keep the long names).
const SHORT_NAMES: [&str; 3] = ["A_soft", "A_net", "A_net − A_soft"];
const SHORT_HEADINGS_BELOW: f32 = 760.0;
/// Width of the metrics' cell when they share the matrices' grid (points).
const METRICS_CELL_WIDTH: f32 = 162.0;
/// The room (points) left of the metrics in that cell.
const METRICS_INSET: f32 = 12.0;
/// The smallest text scale of the metrics' one-line row before it scrolls sideways.
const MIN_METRICS_SCALE: f32 = 0.7;
/// Room the difference's scale switch (±0.25 / auto) takes beside its heading (points).
const SCALE_SWITCH_WIDTH: f32 = 118.0;

impl AttentionView {
    /// The height (points) this view needs at `width` to show its matrices at a readable
    /// size, wrapping them onto rows when narrow; for the stacked Live tab.
    pub fn stacked_height(width: f32) -> f32 {
        // Token labels, the colour bar's room and the gap around each matrix.
        let frame = 80.0 + 18.0;
        let side = (width - frame).clamp(60.0, 240.0);
        let columns = ((width / (side + frame)).floor()).clamp(1.0, 3.0);
        let rows = (3.0 / columns).ceil();
        // Each row: title, matrix, key labels and colour bar, scale note; then the title,
        // caption and metrics of the view.
        rows * (side + 24.0 + 20.0 + FOOTER_HEIGHT + 8.0) + 200.0
    }

    /// The names of the three matrices, as their accessible labels read.
    /// (A narrow view heads them with [`SHORT_NAMES`].)
    pub const MATRICES: [&'static str; 3] = [
        "Transformer softmax A_soft",
        "Network A_net",
        "Difference A_net − A_soft",
    ];

    /// Whether one of the three matrices has the keyboard focus (the arrow keys then move the
    /// token selection).
    pub fn has_focus(ctx: &egui::Context) -> bool {
        ctx.memory(|m| m.focused())
            .is_some_and(|id| Self::MATRICES.iter().any(|name| heatmap_id(name) == id))
    }

    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        history: &RunHistory,
        tokens: &TokenSelection,
        out: &mut Vec<AppCommand>,
    ) {
        if !self.metrics_apart {
            ui.label(theme::title(
                "Attention: transformer vs neurons + astrocyte",
            ));
        }
        // In its tile the caption is the title's hover text: the matrices get the line.
        if !self.compact && !self.metrics_apart {
            theme::caption(
                ui,
                "Rows: queries, columns: keys; A_net's row t forms in read slot t; colours \
             scaled by A_soft. Click a row to select it everywhere.",
            );
        }
        let Some(snapshot) = history.snapshot.as_ref() else {
            return;
        };
        let Some(run) = snapshot.run.clone() else {
            return;
        };
        let n = run.tokens.len();
        let live = snapshot
            .live_row
            .as_ref()
            .filter(|(t, row)| *t < n && row.len() == n && n <= LIVE_OVERLAY_MAX_TOKENS);
        // Looking back on the timeline: only the rows completed by the shown time.
        let scrubbed = snapshot.timeline.scrubbed;
        let key = (
            history.attention_version,
            if live.is_some() || scrubbed {
                snapshot.revision
            } else {
                0
            },
        );
        if self.key != Some(key) {
            self.key = Some(key);
            self.shown_net = history.network_attention.clone();
            self.shown_rows = history.rows_done.clone();
            if scrubbed {
                for (shown, done) in self.shown_rows.iter_mut().zip(&snapshot.timeline.rows_done) {
                    *shown &= *done;
                }
            }
            if let Some((t, row)) = live {
                for (tau, v) in row.iter().enumerate() {
                    self.shown_net[[*t, tau]] = *v;
                }
                self.shown_rows[*t] = true;
            }
            self.difference = Array2::from_shape_fn((n, n), |(t, tau)| {
                if self.shown_rows.get(t).copied().unwrap_or(false) {
                    self.shown_net[[t, tau]] - run.softmax_attention[[t, tau]]
                } else {
                    0.0
                }
            });
        }
        let version = key.0.wrapping_mul(1_000_003).wrapping_add(key.1);
        let sequential = run_scale(&run.softmax_attention);
        let largest =
            self.difference.iter().fold(
                0.0f64,
                |m, v| if v.is_finite() { m.max(v.abs()) } else { m },
            );
        let limit = match self.difference_scale {
            DifferenceScale::Fixed(limit) => limit,
            DifferenceScale::Auto => largest.max(1e-6),
        };
        let diverging = ColorScale::Diverging { limit };
        let beyond = (largest > limit).then_some(largest);
        let query = snapshot
            .slot
            .filter(|s| s.phase == Phase::Read)
            .map(|s| s.token)
            .or_else(|| {
                (run.slots.is_empty() && snapshot.rows_completed < n)
                    .then_some(snapshot.rows_completed)
            });

        let title_height = 24.0;
        // Apart from the metrics (a tile), the "beyond this scale" note goes to the metrics
        // tile: no room is kept for it here, and nothing changes size when it appears.
        let note_height = if self.metrics_apart { 0.0 } else { 20.0 };
        let gap = if self.compact { 8.0 } else { 12.0 };
        let left = label_width(&run.tokens) + 4.0;
        // A column is as wide as its heading when that is wider than its matrix (the
        // difference's carries its scale switch): every row must fit with the headings, or the
        // last heading is cut off at the view's edge. A narrow view uses the short headings.
        let full = ui.available_size();
        let heading_width = |text: &str| {
            ui.painter()
                .layout_no_wrap(
                    text.to_owned(),
                    egui::TextStyle::Body.resolve(ui.style()),
                    egui::Color32::BLACK,
                )
                .size()
                .x
        };
        let short = self.compact || full.x < SHORT_HEADINGS_BELOW;
        let names = if short { SHORT_NAMES } else { Self::MATRICES };
        // On a projector the difference keeps the scale it had: no switch beside its heading.
        let switch = if self.compact {
            0.0
        } else {
            SCALE_SWITCH_WIDTH
        };
        let headings = [
            heading_width(names[0]),
            heading_width(names[1]),
            heading_width(names[2]) + switch,
            METRICS_CELL_WIDTH,
        ];
        // The matrices this view shows (a presented lesson step shows only those it names),
        // and the metrics as one more cell when they share the grid.
        let shown: Vec<usize> = (0..3)
            .filter(|i| self.shown[*i])
            .chain(self.metrics_in_grid.then_some(3))
            .collect();
        let frame = left + crate::ui::widgets::heatmap::RIGHT_MARGIN;
        // A cell's width for a matrix side: a matrix's frame or its heading, whichever is wider;
        // the metrics their own column's width, whatever the matrices' side.
        let cell_width = |index: usize, side: f32| {
            if index == 3 {
                METRICS_CELL_WIDTH
            } else {
                headings[index].max(side + frame)
            }
        };
        // The largest matrix side for which each row of `columns` panels fits in `width`.
        let side_by_width = |width: f32, columns: usize| {
            let fits = |side: f32| {
                shown.chunks(columns).all(|row| {
                    row.iter().map(|&i| cell_width(i, side)).sum::<f32>()
                        + (row.len() as f32 - 1.0) * gap
                        <= width
                })
            };
            let (mut low, mut high) = (0.0f32, width.max(0.0));
            if !fits(low) {
                return 0.0;
            }
            for _ in 0..24 {
                let middle = 0.5 * (low + high);
                if fits(middle) {
                    low = middle;
                } else {
                    high = middle;
                }
            }
            low
        };
        // The three matrices in one row, or wrapped onto two or three rows in a narrow view,
        // whichever makes them largest.
        let fit = |width: f32, height: f32| {
            (1..=shown.len().max(1))
                .map(|columns| {
                    let rows = shown.len().max(1).div_ceil(columns) as f32;
                    let by_width = side_by_width(width, columns);
                    let by_height =
                        (height - rows * (title_height + note_height + FOOTER_HEIGHT + 8.0)) / rows;
                    (by_width.min(by_height), columns)
                })
                .fold((40.0f32, shown.len().max(1)), |best, this| {
                    if this.0 > best.0 { this } else { best }
                })
        };
        // With metrics beside the matrices they may use the whole height; that wins whenever
        // the window is wider than the matrices need.
        let metrics_below = 56.0;
        let metrics_width = 230.0;
        let side_below = if self.metrics_apart {
            fit(full.x, full.y)
        } else {
            fit(full.x, full.y - metrics_below)
        };
        let side_beside = fit(full.x - metrics_width - gap, full.y);
        let ((side_below, columns_below), (side_beside, columns_beside)) =
            (side_below, side_beside);
        // The column holds a heading, the verdict and five metrics; where it would not fit
        // (a short, scaled view) the metrics wrap below instead of being cut off.
        let row = ui.spacing().interact_size.y + ui.spacing().item_spacing.y + 4.0;
        let column_fits = full.y >= 7.0 * row;
        let beside = !self.metrics_apart && column_fits && side_beside > side_below + 8.0;
        let (side, columns) = if beside {
            (side_beside, columns_beside)
        } else {
            (side_below, columns_below)
        };
        let mut hover = None;
        let mut clicked = None;
        let mut scale_choice = self.difference_scale;
        // Each panel's rectangle is computed here, from the tile's size alone, and the panel
        // drawn into it: nothing a panel holds this frame (an empty A_net, a wider label) can
        // move the next one (issue 23 §2). A row narrower than the view is centred.
        let origin = ui.available_rect_before_wrap().min;
        let widths: Vec<f32> = shown.iter().map(|&i| cell_width(i, side)).collect();
        let row_width = |row: usize| {
            let cells =
                &widths[(row * columns).min(widths.len())..((row + 1) * columns).min(widths.len())];
            cells.iter().sum::<f32>() + (cells.len().max(1) as f32 - 1.0) * gap
        };
        let row_height = title_height + side + FOOTER_HEIGHT + 8.0;
        let rows = shown.len().div_ceil(columns.max(1));
        let widest_row = (0..rows).map(row_width).fold(0.0f32, f32::max);
        let indent = if beside {
            0.0
        } else {
            ((full.x - widest_row) * 0.5).max(0.0)
        };
        let panels: [Panel<'_>; 3] = [
            (
                "Transformer softmax A_soft",
                "transformer softmax",
                &run.softmax_attention,
                None,
                sequential,
                &mut self.soft,
            ),
            (
                "Network A_net",
                "neurons + astrocyte",
                &self.shown_net,
                Some(&self.shown_rows),
                sequential,
                &mut self.net,
            ),
            (
                "Difference A_net − A_soft",
                "difference",
                &self.difference,
                Some(&self.shown_rows),
                diverging,
                &mut self.diff,
            ),
        ];
        // Images read by the digits ViT: patches are labelled by their pixels.
        let patch_pixels = run.source.parse().ok().and_then(|s| source_pixels(&s));
        let compact = self.compact;
        // The rectangle of the `place`-th cell of the grid, row by row.
        let cell = |place: usize| {
            let (row, column) = (place / columns, place % columns);
            let x = origin.x
                + indent
                + widths[row * columns..place].iter().sum::<f32>()
                + column as f32 * gap;
            egui::Rect::from_min_size(
                egui::pos2(x, origin.y + row as f32 * row_height),
                egui::vec2(widths[place], row_height),
            )
        };
        let mut place = 0usize;
        let mut used = egui::Rect::from_min_size(origin, egui::Vec2::ZERO);
        for (index, ((name, subtitle, matrix, rows_done, scale, cache), heading)) in
            panels.into_iter().zip(names).enumerate()
        {
            if !shown.contains(&index) {
                continue;
            }
            let rect = cell(place);
            place += 1;
            used = used.union(rect);
            let is_difference = matches!(scale, ColorScale::Diverging { .. });
            ui.scope_builder(egui::UiBuilder::new().max_rect(rect), |ui| {
                ui.horizontal(|ui| {
                    ui.spacing_mut().item_spacing.x = 6.0;
                    ui.strong(heading)
                        .on_hover_text(format!("{name}: {subtitle}"));
                    if is_difference && !compact {
                        scale_switch(ui, &mut scale_choice);
                    }
                });
                let drawn = Heatmap {
                    name,
                    matrix,
                    tokens: &run.tokens,
                    scale,
                    version,
                    rows_done,
                    highlight_row: query,
                    linked_cell: self.hover,
                    selected: tokens,
                    side,
                }
                .show(ui, cache);
                if let Some(pixels) = &patch_pixels {
                    patch_axis_thumbnails(ui, drawn.grid, &run.tokens, pixels);
                }
                hover = hover.or(drawn.hovered);
                clicked = clicked.or(drawn.clicked);
                crate::ui::regions::record(
                    ui.ctx(),
                    crate::ui::regions::matrix(name),
                    ui.min_rect(),
                );
            });
        }
        if self.metrics_in_grid {
            let rect = cell(place);
            used = used.union(rect);
            // Kept off the matrix beside it, so that two outlines of a lesson never meet.
            let inner = rect.with_min_x(rect.left() + METRICS_INSET);
            ui.scope_builder(egui::UiBuilder::new().max_rect(inner), |ui| {
                // Seven lines in a matrix's height: no room kept between them for buttons.
                ui.spacing_mut().item_spacing.y = 1.0;
                ui.spacing_mut().interact_size.y = 12.0;
                self.metrics(ui, history, true);
            });
        }
        if beside {
            let rect = egui::Rect::from_min_size(
                egui::pos2(used.right() + gap, origin.y),
                egui::vec2(metrics_width, full.y),
            );
            used = used.union(rect);
            ui.scope_builder(egui::UiBuilder::new().max_rect(rect), |ui| {
                self.metrics(ui, history, true);
            });
        }
        ui.advance_cursor_after_rect(used);
        self.beyond = beyond;
        // Under the row, not inside the difference column: a wrapped line there would widen
        // the column and push the metrics off the window.
        if let Some(largest) = beyond.filter(|_| !self.metrics_apart) {
            ui.add(
                egui::Label::new(
                    egui::RichText::new(format!(
                        "Difference values reach ±{}, beyond this scale (±{}): those cells show \
                         at full colour.",
                        theme::sig(largest),
                        theme::sig(FIXED_DIFFERENCE_LIMIT)
                    ))
                    .size(12.5)
                    .color(theme::CAPTION),
                )
                .wrap(),
            );
        }
        self.difference_scale = scale_choice;
        self.hover = hover;
        if let Some((axis, index, add)) = clicked {
            out.push(AppCommand::SelectTokens {
                before: tokens.clone(),
                after: tokens.clicked(axis, index, add),
            });
        }
        if !beside && !self.metrics_apart {
            self.metrics(ui, history, false);
        }
    }

    /// The metrics as a column, for their own tile.
    pub fn metrics_tile(&self, ui: &mut egui::Ui, history: &RunHistory) {
        // A wide, short tile holds them in a row; a tall one in a column.
        let column =
            ui.available_height() > ui.available_width() * 0.5 && ui.available_height() >= 180.0;
        if column {
            self.metrics(ui, history, true);
        } else {
            // One line that never wraps (a wrapped second line would fall below the tile).
            // Where the line is wider than the tile (1024×768 with the parameters open) its
            // text is drawn smaller, down to 70 %, so c corr and c err stay in sight; only
            // what is still too wide then scrolls sideways.
            let natural_id = ui.scope_id().with("metrics row natural width");
            let natural: f32 = ui.data(|d| d.get_temp(natural_id)).unwrap_or(0.0);
            let room = ui.available_width();
            let scale = if natural > room && natural > 0.0 {
                (room / natural).clamp(MIN_METRICS_SCALE, 1.0)
            } else {
                1.0
            };
            let output = ui
                .scope(|ui| {
                    if scale < 1.0 {
                        let style = ui.style_mut();
                        for font in style.text_styles.values_mut() {
                            font.size *= scale;
                        }
                        style.spacing.item_spacing.x *= scale;
                        style.spacing.button_padding.x *= scale;
                    }
                    egui::ScrollArea::horizontal()
                        .id_salt("metrics row")
                        .show(ui, |ui| self.metrics(ui, history, false))
                })
                .inner;
            // The width the row would take at full size, for the next frame's scale (with a
            // pixel of slack, so rounding never flips it between two sizes).
            let measured = output.content_size.x / scale + 1.0;
            if (measured - natural).abs() > 2.0 {
                ui.data_mut(|d| d.insert_temp(natural_id, measured));
                ui.ctx().request_repaint();
            }
        }
        if let Some(largest) = self.beyond {
            theme::caption_line(
                ui,
                &format!(
                    "Difference values reach ±{}, beyond its scale (±{}): those cells show at \
                     full colour.",
                    theme::sig(largest),
                    theme::sig(FIXED_DIFFERENCE_LIMIT)
                ),
            );
        }
    }

    /// A dismissible banner over the Live tab when this run's attn_tv is poor.
    pub fn banner(&mut self, ui: &mut egui::Ui, history: &RunHistory) {
        let Some(snapshot) = history.snapshot.as_ref() else {
            return;
        };
        let tv = snapshot.metrics.attn_tv;
        if snapshot.rows_completed == 0
            || !tv.is_finite()
            || Quality::of(tv) != Quality::Poor
            || self.banner_closed == Some(snapshot.generation)
        {
            return;
        }
        if self.metrics_apart {
            // In the metrics tile: one line (the whole note on hover), so the tile's height
            // does not follow it.
            ui.horizontal(|ui| {
                if ui
                    .small_button("×")
                    .on_hover_text("Close this note (it returns with the next poor run)")
                    .clicked()
                {
                    self.banner_closed = Some(snapshot.generation);
                }
                ui.add(
                    egui::Label::new(
                        egui::RichText::new(POOR_RUN_BANNER).color(Quality::Poor.color()),
                    )
                    .truncate(),
                )
                .on_hover_text(POOR_RUN_BANNER);
            });
            return;
        }
        egui::Frame::new()
            .fill(egui::Color32::from_rgb(0xFF, 0xF4, 0xE0))
            .stroke(egui::Stroke::new(1.0, Quality::Poor.color()))
            .inner_margin(6.0)
            .corner_radius(4.0)
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    let room = (ui.available_width() - 32.0).max(100.0);
                    ui.scope(|ui| {
                        ui.set_max_width(room);
                        ui.add(
                            egui::Label::new(
                                egui::RichText::new(POOR_RUN_BANNER)
                                    .size(14.0)
                                    .color(egui::Color32::from_gray(20)),
                            )
                            .wrap(),
                        );
                    });
                    if ui
                        .small_button("×")
                        .on_hover_text("Close this note (it returns with the next poor run)")
                        .clicked()
                    {
                        self.banner_closed = Some(snapshot.generation);
                    }
                });
            });
    }

    fn metrics(&self, ui: &mut egui::Ui, history: &RunHistory, column: bool) {
        let Some(snapshot) = history.snapshot.as_ref() else {
            return;
        };
        // In their own tile the metrics are one line that scrolls sideways.
        let one_line = self.metrics_apart && !self.metrics_in_grid;
        let values = snapshot.metrics.values();
        let n = snapshot.run.as_ref().map_or(0, |r| r.tokens.len());
        let body = |ui: &mut egui::Ui| {
            ui.label(
                egui::RichText::new(format!("Metrics ({}/{} rows):", snapshot.rows_completed, n))
                    .strong(),
            );
            let tv = snapshot.metrics.attn_tv;
            if snapshot.rows_completed > 0 && tv.is_finite() {
                let quality = Quality::of(tv);
                ui.horizontal(|ui| {
                    let label = ui.label("Verdict:");
                    ui.label(
                        egui::RichText::new(quality.word())
                            .strong()
                            .color(egui::Color32::BLACK)
                            .background_color(quality.color()),
                    )
                    .labelled_by(label.id)
                    .on_hover_text(format!(
                        "From attn_tv = {}: good below {GOOD_TV}, fair below {POOR_TV}, poor \
                         from {POOR_TV}, the same marks as All heads.",
                        theme::sig(tv)
                    ));
                });
            }
            for ((name, short, help), value) in METRIC_HELP.iter().zip(values) {
                // In a row, a metric that would not fit moves to the next line whole.
                if !column && !one_line && ui.available_size_before_wrap().x < 150.0 {
                    ui.end_row();
                }
                ui.horizontal(|ui| {
                    let label = ui
                        .label(format!("{short} ="))
                        .on_hover_text(format!("{name}: {help}"));
                    ui.label(egui::RichText::new(theme::sig(value)).monospace().strong())
                        .labelled_by(label.id)
                        .on_hover_text(format!("{name}: {help}"));
                });
            }
        };
        let shown = if column {
            ui.vertical(body)
        } else if one_line {
            ui.horizontal(body)
        } else {
            ui.horizontal_wrapped(body)
        };
        crate::ui::regions::record(
            ui.ctx(),
            crate::ui::regions::Region::Metrics,
            shown.response.rect.intersect(ui.clip_rect()),
        );
    }
}

/// "±0.25" or "auto" for the difference's colour scale.
fn scale_switch(ui: &mut egui::Ui, choice: &mut DifferenceScale) {
    let fixed = DifferenceScale::default();
    ui.selectable_value(choice, fixed, format!("±{FIXED_DIFFERENCE_LIMIT}"))
        .on_hover_text(
            "Fixed scale: the same colours for every run, so a good run looks pale and a poor \
             one red",
        );
    ui.selectable_value(choice, DifferenceScale::Auto, "auto")
        .on_hover_text(
            "Scale to this run's largest difference (shows the pattern of small errors)",
        );
}

#[cfg(test)]
mod scale_tests {
    use super::*;

    #[test]
    fn the_scale_is_set_by_a_soft_alone() {
        let soft = ndarray::array![[0.6, 0.4], [0.197, 0.803]];
        assert_eq!(
            run_scale(&soft),
            ColorScale::Sequential {
                min: 0.0,
                max: 0.803
            }
        );
    }
}
