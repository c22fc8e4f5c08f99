//! The Live tab's layout: the graph and the traces side by side above the attention matrices,
//! separated by two splitters the user can drag (a double-click restores the default). A
//! teacher enlarges whichever view the class is discussing; the split is remembered.

use egui::{CursorIcon, Pos2, Rect, Sense, Stroke, pos2};
use serde::{Deserialize, Serialize};

/// Gap between a view and a splitter line (points).
const GAP: f32 = 6.0;
/// Smallest height of the top row and of the attention area, and smallest view width.
const MIN_TOP: f32 = 200.0;
const MIN_BOTTOM: f32 = 170.0;
const MIN_WIDTH: f32 = 240.0;

/// The smallest area in which every view stays usable; a smaller central area (a zoomed or
/// small window) scrolls instead of squeezing the views until they vanish.
/// (Below it the graph's text, the traces' legend and the metrics crowd out what they label.)
pub const MIN_LIVE_SIZE: egui::Vec2 = egui::vec2(860.0, 500.0);

/// Where the splitters sit, as fractions of the central area.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LiveLayout {
    /// Height of the graph-and-traces row over the whole height.
    pub top: f32,
    /// Width of the graph over the whole width.
    pub left: f32,
}

impl Default for LiveLayout {
    fn default() -> Self {
        // The traces need room for a selected probe under the calcium plot; the matrices
        // below are squares and give up height most easily.
        LiveLayout {
            top: 0.58,
            left: 0.5,
        }
    }
}

/// The three views' rectangles for one frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiveRects {
    pub graph: Rect,
    pub traces: Rect,
    pub attention: Rect,
    /// y of the horizontal splitter and x of the vertical one.
    split_y: f32,
    split_x: f32,
}

impl LiveRects {
    /// The view rectangles grown by the gap, for cropped figure exports.
    pub fn padded(&self) -> [Rect; 3] {
        [
            self.graph.expand(GAP),
            self.traces.expand(GAP),
            self.attention.expand(GAP),
        ]
    }
}

/// `fraction` of `length` from `start`, kept between the two minimum sizes when they fit.
fn clamp_split(start: f32, length: f32, fraction: f32, min_before: f32, min_after: f32) -> f32 {
    let fraction = if fraction.is_finite() { fraction } else { 0.5 };
    let wanted = length * fraction;
    let at = if length >= min_before + min_after {
        wanted.clamp(min_before, length - min_after)
    } else {
        length * min_before / (min_before + min_after)
    };
    start + at
}

impl LiveLayout {
    /// The views' rectangles in `area` (pure: no interaction).
    pub fn rects(&self, area: Rect) -> LiveRects {
        let split_y = clamp_split(area.top(), area.height(), self.top, MIN_TOP, MIN_BOTTOM);
        let split_x = clamp_split(area.left(), area.width(), self.left, MIN_WIDTH, MIN_WIDTH);
        LiveRects {
            graph: Rect::from_min_max(area.min, pos2(split_x - GAP, split_y - GAP)),
            traces: Rect::from_min_max(
                pos2(split_x + GAP, area.top()),
                pos2(area.right(), split_y - GAP),
            ),
            attention: Rect::from_min_max(pos2(area.left(), split_y + GAP), area.max),
            split_y,
            split_x,
        }
    }

    /// Draws the splitters, lets the user drag them, and returns this frame's rectangles.
    pub fn ui(&mut self, ui: &mut egui::Ui, area: Rect) -> LiveRects {
        let rects = self.rects(area);
        let horizontal = Rect::from_min_max(
            pos2(area.left(), rects.split_y - GAP),
            pos2(area.right(), rects.split_y + GAP),
        );
        let vertical = Rect::from_min_max(
            pos2(rects.split_x - GAP, area.top()),
            pos2(rects.split_x + GAP, rects.split_y - GAP),
        );
        let rows = self.splitter(
            ui,
            horizontal,
            "Splitter: graph and traces above, attention below (drag; double-click resets)",
            CursorIcon::ResizeVertical,
        );
        if let Some(pointer) = rows.dragged {
            self.top = (pointer.y - area.top()) / area.height().max(1.0);
        }
        if rows.reset {
            self.top = LiveLayout::default().top;
        }
        let columns = self.splitter(
            ui,
            vertical,
            "Splitter: graph left, traces right (drag; double-click resets)",
            CursorIcon::ResizeHorizontal,
        );
        if let Some(pointer) = columns.dragged {
            self.left = (pointer.x - area.left()) / area.width().max(1.0);
        }
        if columns.reset {
            self.left = LiveLayout::default().left;
        }
        let rects = self.rects(area);
        // Keep the stored fractions inside what can be drawn, so a drag past a limit does
        // not leave the splitter stuck beyond it.
        self.top = (rects.split_y - area.top()) / area.height().max(1.0);
        self.left = (rects.split_x - area.left()) / area.width().max(1.0);
        let painter = ui.painter();
        let idle = ui.visuals().widgets.noninteractive.bg_stroke.color;
        let active = ui.visuals().widgets.hovered.fg_stroke.color;
        let (row_color, row_width) = if rows.highlighted {
            (active, 2.0)
        } else {
            (idle, 1.0)
        };
        painter.hline(
            area.x_range(),
            rects.split_y,
            Stroke::new(row_width, row_color),
        );
        let (column_color, column_width) = if columns.highlighted {
            (active, 2.0)
        } else {
            (idle, 1.0)
        };
        painter.vline(
            rects.split_x,
            area.top()..=rects.split_y - GAP,
            Stroke::new(column_width, column_color),
        );
        rects
    }

    fn splitter(&self, ui: &mut egui::Ui, rect: Rect, label: &str, icon: CursorIcon) -> Drag {
        let response = ui.interact(
            rect,
            egui::Id::unique(("live splitter", label)),
            Sense::click_and_drag(),
        );
        let label = label.to_string();
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Splitter, true, &label));
        let highlighted = response.hovered() || response.dragged();
        if highlighted {
            ui.ctx().set_cursor_icon(icon);
        }
        Drag {
            dragged: response
                .dragged()
                .then(|| response.interact_pointer_pos())
                .flatten(),
            reset: response.double_clicked(),
            highlighted,
        }
    }
}

struct Drag {
    dragged: Option<Pos2>,
    reset: bool,
    highlighted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area() -> Rect {
        Rect::from_min_size(pos2(0.0, 0.0), egui::vec2(900.0, 700.0))
    }

    #[test]
    fn default_split_matches_the_fractions() {
        let r = LiveLayout::default().rects(area());
        assert!((r.split_y - LiveLayout::default().top * 700.0).abs() < 1e-3);
        assert!((r.split_x - 450.0).abs() < 1e-3);
        assert!(r.graph.max.x < r.traces.min.x);
        assert!(r.graph.max.y < r.attention.min.y);
    }

    #[test]
    fn splits_keep_every_view_usable() {
        for (top, left) in [
            (0.0, 0.0),
            (1.0, 1.0),
            (f32::NAN, f32::INFINITY),
            (-3.0, 7.0),
        ] {
            let r = LiveLayout { top, left }.rects(area());
            assert!(
                r.graph.height() >= MIN_TOP - GAP - 1e-3,
                "{top} {left}: {r:?}"
            );
            assert!(
                r.attention.height() >= MIN_BOTTOM - GAP - 1e-3,
                "{top} {left}: {r:?}"
            );
            assert!(
                r.graph.width() >= MIN_WIDTH - GAP - 1e-3,
                "{top} {left}: {r:?}"
            );
            assert!(
                r.traces.width() >= MIN_WIDTH - GAP - 1e-3,
                "{top} {left}: {r:?}"
            );
        }
    }

    #[test]
    fn a_tiny_window_still_splits_in_proportion() {
        let small = Rect::from_min_size(pos2(0.0, 0.0), egui::vec2(300.0, 200.0));
        let r = LiveLayout::default().rects(small);
        assert!(r.split_y > 0.0 && r.split_y < 200.0);
        assert!(r.split_x > 0.0 && r.split_x < 300.0);
    }
}
