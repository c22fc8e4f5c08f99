//! The layer's traces: every astrocyte's calcium against its own Z_t as small multiples (one
//! per head, in its colour), and below them c/Z_t of every head on one time axis, where 1
//! means that astrocyte normalises its head exactly.

use crate::sim::{HeadSnapshot, LayerSnapshot, Snapshot};
use crate::ui::widgets::colormap::palette;
use crate::ui::widgets::theme;
use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Shape, Stroke, pos2, vec2};

/// Share of the height given to the small multiples (the c/Z_t plot gets the rest).
const MULTIPLES_SHARE: f32 = 0.56;

#[derive(Default)]
pub struct LayerTraces {
    /// Presentation mode: no caption.
    pub compact: bool,
}

/// Runs of (ms, c, Z_t) where Z_t is known: the worker samples Z_t in read slots only, at the
/// calcium's times, so a calcium sample without its Z_t ends a run (a write slot).
pub fn known_runs(head: &HeadSnapshot) -> Vec<Vec<(f64, f64, f64)>> {
    let mut runs = Vec::new();
    let mut current = Vec::new();
    let mut z = head.z_trace.iter().peekable();
    for &(t, c) in &head.calcium_trace {
        while z.next_if(|&&(tz, _)| tz < t - 1e-9).is_some() {}
        let value = z
            .next_if(|&&(tz, _)| (tz - t).abs() <= 1e-9)
            .map(|&(_, v)| v)
            .filter(|v| v.is_finite() && *v > 0.0);
        match value {
            Some(v) if c.is_finite() => current.push((t, c, v)),
            _ => {
                if !current.is_empty() {
                    runs.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// (ms, c/Z_t) of one head wherever its Z_t is known, split where it is not (write slots).
pub fn ratio_segments(head: &HeadSnapshot) -> Vec<Vec<[f64; 2]>> {
    known_runs(head)
        .into_iter()
        .map(|run| run.into_iter().map(|(t, c, z)| [t, c / z]).collect())
        .collect()
}

impl LayerTraces {
    pub fn ui(&mut self, ui: &mut egui::Ui, snapshot: &Snapshot, layer: &LayerSnapshot) {
        ui.label(theme::title(
            "Every astrocyte's calcium against its own Z_t",
        ));
        if !self.compact {
            theme::caption(
                ui,
                "One cell per head: calcium (its colour) should meet that head's Z_t (dashed) in \
                 each read slot. Below, c/Z_t of every head: 1 is exact.",
            );
        }
        let Some(run) = snapshot.run.as_ref() else {
            ui.colored_label(theme::ERROR, "No simulation: see the message above.");
            return;
        };
        if !run.dynamic {
            ui.label(
                "Algebraic mode computes each read at once and has no time axis: switch Mode to \
                 dynamic to watch the astrocytes integrate.",
            );
            return;
        }
        let total = run.total_ms.max(1.0);
        let height = ui.available_height();
        let size = vec2(
            ui.available_width(),
            ((height - 30.0) * MULTIPLES_SHARE).max(90.0),
        );
        let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
        response.widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::Role::Image,
                true,
                "Calcium against Z_t, one cell per head",
            )
        });
        let painter = ui.painter_at(rect);
        let n = layer.heads.len();
        let (columns, rows) = super::graph::tiling(n, rect.size());
        let cell = vec2(rect.width() / columns as f32, rect.height() / rows as f32);
        for (k, head) in layer.heads.iter().enumerate() {
            let (c, r) = (k % columns, k / columns);
            let area =
                Rect::from_min_size(rect.min + vec2(c as f32 * cell.x, r as f32 * cell.y), cell)
                    .shrink(2.0);
            small_multiple(
                &painter,
                area,
                head,
                total,
                snapshot.time_ms,
                head.head == layer.selected,
            );
        }

        let size = vec2(
            ui.available_width(),
            (ui.available_height() - 4.0).max(70.0),
        );
        let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
        response.widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::Image, true, "c/Z_t of every head over time")
        });
        ratio_plot(&ui.painter_at(rect), rect, layer, total, snapshot.time_ms);
    }
}

/// c/Z_t of every head on one time axis (0 to 2, a dashed line at the exact 1), drawn directly
/// like the small multiples: an egui_plot of a dozen broken lines cost more than a frame
/// allows at full speed.
fn ratio_plot(
    painter: &egui::Painter,
    rect: Rect,
    layer: &LayerSnapshot,
    total_ms: f64,
    now_ms: f64,
) {
    let font = FontId::proportional(12.0);
    let text = Color32::from_gray(40);
    let plot = Rect::from_min_max(
        pos2(rect.left() + 34.0, rect.top() + 4.0),
        pos2(rect.right() - 4.0, rect.bottom() - 18.0),
    );
    painter.rect(
        plot,
        2.0,
        Color32::from_gray(252),
        Stroke::new(1.0, Color32::from_gray(170)),
        egui::StrokeKind::Inside,
    );
    const TOP: f64 = 2.0;
    let to_screen = |t: f64, v: f64| -> Pos2 {
        pos2(
            plot.left() + (t / total_ms).clamp(0.0, 1.0) as f32 * plot.width(),
            plot.bottom() - (v / TOP).clamp(0.0, 1.0) as f32 * plot.height(),
        )
    };
    for v in [0.0, 1.0, 2.0] {
        painter.text(
            pos2(plot.left() - 4.0, to_screen(0.0, v).y),
            Align2::RIGHT_CENTER,
            format!("{v:.0}"),
            font.clone(),
            text,
        );
    }
    painter.text(
        pos2(rect.left(), plot.center().y),
        Align2::LEFT_CENTER,
        "c/Z",
        font.clone(),
        text,
    );
    painter.text(
        pos2(plot.left(), plot.bottom() + 2.0),
        Align2::LEFT_TOP,
        "0",
        font.clone(),
        text,
    );
    painter.text(
        pos2(plot.right(), plot.bottom() + 2.0),
        Align2::RIGHT_TOP,
        format!("{} ms", theme::thousands(total_ms, 0)),
        font.clone(),
        text,
    );
    painter.text(
        pos2(plot.center().x, plot.bottom() + 2.0),
        Align2::CENTER_TOP,
        "simulated time",
        font,
        text,
    );
    let one = to_screen(0.0, 1.0).y;
    painter.extend(Shape::dashed_line(
        &[pos2(plot.left(), one), pos2(plot.right(), one)],
        Stroke::new(1.2, palette::NORMALISER),
        6.0,
        4.0,
    ));
    let now = to_screen(now_ms, 0.0).x;
    painter.line_segment(
        [pos2(now, plot.top()), pos2(now, plot.bottom())],
        Stroke::new(1.0, palette::CURSOR),
    );
    // The selected head last, on top.
    let mut order: Vec<&HeadSnapshot> = layer.heads.iter().collect();
    order.sort_by_key(|h| h.head == layer.selected);
    for head in order {
        let width = if head.head == layer.selected {
            2.6
        } else {
            1.2
        };
        for segment in ratio_segments(head) {
            let points: Vec<Pos2> = segment.iter().map(|p| to_screen(p[0], p[1])).collect();
            if points.len() > 1 {
                painter.add(Shape::line(
                    points,
                    Stroke::new(width, palette::head(head.head)),
                ));
            }
        }
    }
}

/// One head's calcium (solid, its colour) and Z_t (dashed) over the whole run, drawn directly:
/// twelve egui_plots would cost more than the frame budget allows at full speed.
fn small_multiple(
    painter: &egui::Painter,
    area: Rect,
    head: &HeadSnapshot,
    total_ms: f64,
    now_ms: f64,
    selected: bool,
) {
    let colour = palette::head(head.head);
    painter.rect(
        area,
        4.0,
        Color32::from_gray(252),
        Stroke::new(if selected { 2.5 } else { 1.0 }, colour),
        egui::StrokeKind::Inside,
    );
    let font = FontId::proportional((area.height() / 6.0).clamp(10.5, 13.0));
    painter.text(
        area.left_top() + vec2(5.0, 3.0),
        Align2::LEFT_TOP,
        format!("head {}", head.head),
        font,
        colour,
    );
    let plot = area.shrink2(vec2(5.0, 4.0));
    let plot = Rect::from_min_max(pos2(plot.left(), plot.top() + 14.0), plot.max);
    if plot.height() < 8.0 {
        return;
    }
    // The y range is twice this head's largest Z_t: calcium meets Z_t at mid-height.
    let top = 2.0
        * head
            .z_trace
            .iter()
            .map(|&(_, z)| z)
            .filter(|z| z.is_finite())
            .fold(1e-12, f64::max);
    let to_screen = |t: f64, v: f64| -> Pos2 {
        let x = plot.left() + (t / total_ms).clamp(0.0, 1.0) as f32 * plot.width();
        let y = plot.bottom() - (v / top).clamp(0.0, 1.0) as f32 * plot.height();
        pos2(x, y)
    };
    let now = to_screen(now_ms, 0.0).x;
    painter.line_segment(
        [pos2(now, plot.top()), pos2(now, plot.bottom())],
        Stroke::new(1.0, palette::CURSOR.gamma_multiply(0.6)),
    );
    for run in known_runs(head) {
        let points: Vec<Pos2> = run.iter().map(|&(t, _, z)| to_screen(t, z)).collect();
        if points.len() > 1 {
            painter.extend(Shape::dashed_line(
                &points,
                Stroke::new(1.2, palette::NORMALISER),
                4.0,
                3.0,
            ));
        }
    }
    let calcium: Vec<Pos2> = head
        .calcium_trace
        .iter()
        .filter(|(_, c)| c.is_finite())
        .map(|&(t, c)| to_screen(t, c))
        .collect();
    if calcium.len() > 1 {
        painter.add(Shape::line(calcium, Stroke::new(1.6, colour)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_breaks_where_z_is_unknown() {
        let head = HeadSnapshot {
            head: 0,
            calcium: 0.0,
            z_t: f64::NAN,
            attn_tv: 0.0,
            calcium_corr: 0.0,
            calcium_trace: vec![(0.0, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, 4.0)],
            // Z_t is sampled in read slots only: none at 1 ms.
            z_trace: vec![(0.0, 2.0), (2.0, 3.0), (3.0, 8.0)],
        };
        assert_eq!(
            ratio_segments(&head),
            vec![vec![[0.0, 0.5]], vec![[2.0, 1.0], [3.0, 0.5]]]
        );
    }
}
