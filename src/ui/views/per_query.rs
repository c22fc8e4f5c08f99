//! Per-query diagnostics (issue 13 §1): one bar per completed query row, sortable by any of
//! the per-query columns the worker computes (`model::metrics::PerQuery`), so a researcher sees
//! which rows fail and whether the estimator's own error bar (c_rel_se) predicted it. Clicking
//! a bar selects that token in every view (the linked selection); Shift+click adds it.

use crate::model::metrics::PerQuery;
use crate::sim::Snapshot;
use crate::ui::command::AppCommand;
use crate::ui::views::selection::{TokenAxis, TokenSelection};
use crate::ui::widgets::colormap::palette;
use crate::ui::widgets::theme;
use egui::{Color32, RichText, Sense, vec2};

/// What each column means, for the column picker's hover text.
const MEANINGS: [&str; 9] = [
    "total variation of the row: ½ Σ_τ |A_net − A_soft| (the mean over rows is attn_tv)",
    "largest |A_net − A_soft| in the row",
    "|y_net − y_soft| / |y_soft| of the row's output",
    "the astrocyte's calcium c_t at the end of the read (softmax-normaliser units)",
    "Z_t, the softmax normaliser the calcium should reach",
    "c_t / Z_t: 1 when the calcium meets the normaliser",
    "|q~_t|, the scaled query's norm: large norms make the exponential estimator heavy-tailed",
    "the largest |k~_τ| among the keys the row sees",
    "the estimator's own relative standard error of c_t, from its m' terms, with no softmax \
     reference: it predicts a bad row before the reference is consulted",
];

/// Rows shown before the list scrolls.
const VISIBLE_ROWS: f32 = 16.0;

/// The per-query window's state: which column sorts the bars, and whether it is open.
pub struct PerQueryView {
    pub open: bool,
    column: usize,
    descending: bool,
}

impl Default for PerQueryView {
    fn default() -> Self {
        PerQueryView {
            open: false,
            column: 0,
            descending: true,
        }
    }
}

/// The order in which rows are listed: by `values`, NaNs last, ties by row.
pub fn order(values: &[f64], descending: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (values[a], values[b]);
        match (x.is_nan(), y.is_nan()) {
            (true, true) => a.cmp(&b),
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ => {
                let by = if descending {
                    y.total_cmp(&x)
                } else {
                    x.total_cmp(&y)
                };
                by.then(a.cmp(&b))
            }
        }
    });
    order
}

impl PerQueryView {
    /// The window, when open.
    pub fn window(
        &mut self,
        ctx: &egui::Context,
        snapshot: Option<&Snapshot>,
        selection: &TokenSelection,
        out: &mut Vec<AppCommand>,
    ) {
        if !self.open {
            return;
        }
        let mut open = self.open;
        // The title names the head it covers; the id keeps one window as the head changes.
        let title = snapshot.map_or_else(
            || "Per-query diagnostics".to_string(),
            |s| {
                format!(
                    "Per-query diagnostics · layer {} head {}",
                    s.params.layer, s.params.head
                )
            },
        );
        // Below the menus and the controls, at the right: it never opens over the File, Edit,
        // Ablate and View menus (issue 25).
        let screen = ctx.content_rect();
        egui::Window::new(title)
            .id(egui::Id::unique("tripartite.per_query_window"))
            .open(&mut open)
            .pivot(egui::Align2::RIGHT_TOP)
            .default_pos(egui::pos2(screen.right() - 16.0, screen.top() + 120.0))
            .default_width(420.0)
            .resizable(true)
            .show(ctx, |ui| match snapshot {
                Some(snapshot) => self.ui(ui, snapshot, selection, out),
                None => {
                    ui.label("No run yet.");
                }
            });
        self.open = open;
    }

    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        snapshot: &Snapshot,
        selection: &TokenSelection,
        out: &mut Vec<AppCommand>,
    ) {
        let per_query: &PerQuery = &snapshot.per_query;
        let tokens = snapshot
            .run
            .as_ref()
            .map(|run| run.tokens.clone())
            .unwrap_or_default();
        theme::caption(
            ui,
            "One bar per query row read so far. Click a bar to select its token everywhere \
             (Shift+click adds it); sort by any column.",
        );
        // Learned against random synapses on held-out text, when this head's W is learned.
        if let Some(line) = crate::ui::views::learn::learned_summary(&snapshot.params) {
            ui.label(line);
        }
        ui.horizontal(|ui| {
            ui.label("sort by");
            egui::ComboBox::from_id_salt("per-query column")
                .selected_text(PerQuery::NAMES[self.column])
                .show_ui(ui, |ui| {
                    for (i, name) in PerQuery::NAMES.iter().enumerate() {
                        ui.selectable_value(&mut self.column, i, *name)
                            .on_hover_text(MEANINGS[i]);
                    }
                })
                .response
                .on_hover_text(MEANINGS[self.column]);
            let arrow = if self.descending {
                "largest first"
            } else {
                "smallest first"
            };
            if ui
                .button(arrow)
                .on_hover_text("Reverse the order")
                .clicked()
            {
                self.descending = !self.descending;
            }
        });
        let columns = per_query.columns();
        let values = columns[self.column];
        if values.is_empty() {
            ui.label("No query row has been read yet: run the simulation.");
            return;
        }
        let finite_max = values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .map(f64::abs)
            .fold(0.0, f64::max);
        let row_height = 20.0;
        egui::ScrollArea::vertical()
            .max_height(row_height * VISIBLE_ROWS)
            .show(ui, |ui| {
                for index in order(values, self.descending) {
                    let t = per_query.row[index];
                    let value = values[index];
                    let token = tokens.get(t).map_or("?", String::as_str);
                    let selected = selection.queries.contains(&t);
                    // Tokens are named by their own labels, as everywhere else (issue 25).
                    let label = token.to_string();
                    let (rect, response) = ui.allocate_exact_size(
                        vec2(ui.available_width(), row_height),
                        Sense::click(),
                    );
                    let painter = ui.painter_at(rect);
                    if selected {
                        painter.rect_filled(rect, 2.0, palette::CURSOR.gamma_multiply(0.18));
                    }
                    let text_width = 120.0;
                    painter.text(
                        rect.left_center() + vec2(4.0, 0.0),
                        egui::Align2::LEFT_CENTER,
                        &label,
                        egui::FontId::proportional(13.0),
                        theme::CAPTION,
                    );
                    let bar_room = (rect.width() - text_width - 80.0).max(20.0);
                    let fraction = if finite_max > 0.0 && value.is_finite() {
                        (value.abs() / finite_max) as f32
                    } else {
                        0.0
                    };
                    let bar = egui::Rect::from_min_size(
                        rect.left_top() + vec2(text_width, 4.0),
                        vec2(bar_room * fraction, row_height - 8.0),
                    );
                    painter.rect_filled(bar, 1.0, Color32::from_rgb(0x00, 0x72, 0xB2));
                    painter.text(
                        rect.right_center() - vec2(4.0, 0.0),
                        egui::Align2::RIGHT_CENTER,
                        theme::sig(value),
                        egui::FontId::monospace(13.0),
                        Color32::from_gray(20),
                    );
                    let details: String = PerQuery::NAMES
                        .iter()
                        .zip(columns.iter())
                        .map(|(name, column)| format!("{name} = {}", theme::sig(column[index])))
                        .collect::<Vec<_>>()
                        .join("\n");
                    let response = response.on_hover_text(
                        RichText::new(format!(
                            "query {}\n{details}",
                            crate::ui::views::selection::token_name(&tokens, t)
                        ))
                        .monospace(),
                    );
                    response.widget_info(|| {
                        egui::WidgetInfo::labeled(
                            egui::Role::Button,
                            true,
                            format!(
                                "query {token}: {} {}",
                                PerQuery::NAMES[self.column],
                                theme::sig(value)
                            ),
                        )
                    });
                    if response.clicked() {
                        let add = ui.input(|i| i.modifiers.shift);
                        out.push(AppCommand::SelectTokens {
                            before: selection.clone(),
                            after: selection.clicked(TokenAxis::Query, t, add),
                        });
                    }
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_sort_by_value_with_nans_last() {
        let values = [0.2, f64::NAN, 0.5, 0.1, 0.5];
        assert_eq!(order(&values, true), vec![2, 4, 0, 3, 1]);
        assert_eq!(order(&values, false), vec![3, 0, 2, 4, 1]);
    }
}
