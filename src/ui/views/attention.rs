//! The attention matrices side by side: the transformer's softmax A_soft, the network's A_net
//! (filling row by row as read slots complete) and their difference, with the metrics below.

use crate::model::schedule::Phase;
use crate::sim::RunHistory;
use crate::ui::widgets::colormap::ColorScale;
use crate::ui::widgets::heatmap::{FOOTER_HEIGHT, Heatmap, HeatmapTexture, label_width};
use crate::ui::widgets::theme;
use ndarray::Array2;

/// Largest N for which the row forming in the current read slot is overlaid live.
const LIVE_OVERLAY_MAX_TOKENS: usize = 256;

/// What each metric means, for its tooltip.
pub const METRIC_HELP: [(&str, &str, &str); 5] = [
    (
        "attn_tv",
        "TV",
        "Mean over the completed rows of the total-variation distance ½ Σ_τ |A_net − A_soft|: \
         0 means the network attends exactly like the transformer, 1 means completely differently.",
    ),
    (
        "attn_max_abs",
        "max |ΔA|",
        "The largest single difference |A_net[t,τ] − A_soft[t,τ]| over the completed rows.",
    ),
    (
        "output_rel_err",
        "output err",
        "|Y_net − Y_soft| / |Y_soft| (Frobenius norms): how far the network's outputs are from the transformer's \
         attention outputs, relative to their size.",
    ),
    (
        "calcium_corr",
        "c corr",
        "Pearson correlation over the read slots of the astrocyte's calcium c_t with the softmax \
         normaliser Z_t: 1 means the astrocyte tracks Z_t up to scale (needs two rows).",
    ),
    (
        "calcium_rel_err",
        "c err",
        "Mean over the read slots of |c_t − Z_t| / Z_t, with c_t in normaliser units.",
    ),
];

/// One matrix to show: name, hover subtitle, values, completed rows, scale, texture.
type Panel<'a> = (
    &'a str,
    &'a str,
    &'a Array2<f64>,
    Option<&'a [bool]>,
    ColorScale,
    &'a mut HeatmapTexture,
);

#[derive(Default)]
pub struct AttentionView {
    soft: HeatmapTexture,
    net: HeatmapTexture,
    diff: HeatmapTexture,
    shown_net: Array2<f64>,
    shown_rows: Vec<bool>,
    difference: Array2<f64>,
    key: Option<(u64, u64)>,
    hover: Option<(usize, usize)>,
}

impl AttentionView {
    pub fn ui(&mut self, ui: &mut egui::Ui, history: &RunHistory) {
        ui.label(theme::title(
            "Attention: transformer vs neurons + astrocyte",
        ));
        theme::caption(
            ui,
            "Rows: queries, columns: keys. A_net fills row by row as read slots end; white \
             difference = same as the transformer.",
        );
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
        let key = (
            history.attention_version,
            if live.is_some() { snapshot.revision } else { 0 },
        );
        if self.key != Some(key) {
            self.key = Some(key);
            self.shown_net = history.network_attention.clone();
            self.shown_rows = history.rows_done.clone();
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
        let top = run
            .softmax_attention
            .iter()
            .chain(self.shown_net.iter())
            .fold(0.0f64, |m, v| if v.is_finite() { m.max(*v) } else { m });
        let sequential = ColorScale::Sequential {
            min: 0.0,
            max: top.max(1e-9),
        };
        let limit =
            self.difference.iter().fold(
                0.0f64,
                |m, v| if v.is_finite() { m.max(v.abs()) } else { m },
            );
        let diverging = ColorScale::Diverging {
            limit: limit.max(1e-6),
        };
        let query = snapshot
            .slot
            .filter(|s| s.phase == Phase::Read)
            .map(|s| s.token)
            .or_else(|| {
                (run.slots.is_empty() && snapshot.rows_completed < n)
                    .then_some(snapshot.rows_completed)
            });

        let metrics_height = 30.0;
        let title_height = 20.0;
        let gap = 18.0;
        let left = label_width(&run.tokens) + 4.0;
        let width_side = (ui.available_width() - 3.0 * (left + 40.0) - 2.0 * gap) / 3.0;
        let height_side =
            ui.available_height() - metrics_height - title_height - FOOTER_HEIGHT - 8.0;
        let side = width_side.min(height_side).max(40.0);
        let mut hover = None;
        ui.horizontal_top(|ui| {
            ui.spacing_mut().item_spacing.x = gap;
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
            for (name, subtitle, matrix, rows, scale, cache) in panels {
                ui.vertical(|ui| {
                    ui.strong(name).on_hover_text(subtitle);
                    let shown = Heatmap {
                        name,
                        matrix,
                        tokens: &run.tokens,
                        scale,
                        version,
                        rows_done: rows,
                        highlight_row: query,
                        linked_cell: self.hover,
                        side,
                    }
                    .show(ui, cache);
                    hover = hover.or(shown.hovered);
                });
            }
        });
        self.hover = hover;
        self.metrics(ui, history);
    }

    fn metrics(&self, ui: &mut egui::Ui, history: &RunHistory) {
        let Some(snapshot) = history.snapshot.as_ref() else {
            return;
        };
        let values = snapshot.metrics.values();
        let n = snapshot.run.as_ref().map_or(0, |r| r.tokens.len());
        ui.horizontal_wrapped(|ui| {
            ui.label(
                egui::RichText::new(format!("Metrics ({}/{} rows):", snapshot.rows_completed, n))
                    .strong(),
            );
            for ((name, short, help), value) in METRIC_HELP.iter().zip(values) {
                let label = ui
                    .label(format!("{short} ="))
                    .on_hover_text(format!("{name}: {help}"));
                ui.label(egui::RichText::new(theme::sig(value)).monospace().strong())
                    .labelled_by(label.id)
                    .on_hover_text(format!("{name}: {help}"));
                ui.add_space(2.0);
            }
        });
    }
}
