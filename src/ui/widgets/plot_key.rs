//! A plot's key drawn in rows above the plot, never on it: egui_plot's legend sits inside the
//! plot, where it can hide the very curves it names (issue 25, the sweep's nine entries).

use egui::Color32;

/// How one entry of a plot's key is drawn.
#[derive(Clone, Copy)]
pub enum Swatch {
    /// Dots (each run) on a line (their mean).
    DotsOnLine(Color32),
    /// Dots alone.
    Dots(Color32),
    /// A solid line.
    Line(Color32),
    /// A dashed line.
    Dashed(Color32),
}

impl Swatch {
    fn paint(self, painter: &egui::Painter, rect: egui::Rect) {
        let y = rect.center().y;
        let line = |color| {
            painter.hline(rect.x_range(), y, egui::Stroke::new(2.5, color));
        };
        let dots = |color| {
            painter.circle_filled(egui::pos2(rect.left() + 8.0, y - 3.0), 4.0, color);
            painter.circle_filled(egui::pos2(rect.right() - 8.0, y + 3.0), 4.0, color);
        };
        match self {
            Swatch::DotsOnLine(color) => {
                line(color);
                dots(color);
            }
            Swatch::Dots(color) => dots(color),
            Swatch::Line(color) => line(color),
            Swatch::Dashed(color) => painter.extend(egui::Shape::dashed_line(
                &[rect.left_center(), rect.right_center()],
                egui::Stroke::new(1.5, color),
                6.0,
                4.0,
            )),
        }
    }
}

/// A plot's key, in rows above the plot: inside it, a legend hid the curves it named (the
/// sweep's nine entries covered the reference slope and the low curves, issue 25).
pub fn plot_key(ui: &mut egui::Ui, entries: &[(Swatch, String)]) {
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        for (swatch, label) in entries {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(34.0, 14.0), egui::Sense::hover());
            swatch.paint(ui.painter(), rect);
            ui.label(label);
            ui.add_space(10.0);
        }
    });
}
