//! Presentation mode (F5, View ▸ Presentation): for a projector. The menus, the parameter
//! panel and the status bar give way to the views; the whole UI is scaled up, lines thicken,
//! and c / Z_t and the phase stand in large type across the top. Any other panel (a lesson's
//! text with Next/Back) stays. F5 or Esc restores the layout exactly as it was.

use super::TripartiteApp;
use crate::model::schedule::Phase;
use crate::sim::RunHistory;
use crate::ui::actions::{self, UserAction};
use crate::ui::command::AppCommand;
use crate::ui::views::controls::phase_text;
use crate::ui::widgets::layout::LiveLayout;

/// The width (points) the scaled window keeps: 1280 px wide gives 1.5×, 1024 px 1.2×, so the
/// three Live views still sit side by side.
const PRESENTED_WIDTH: f32 = 853.0;
/// The scale is at least this (a small window is not shrunk) and at most this.
const MIN_SCALE: f32 = 1.0;
const MAX_SCALE: f32 = 2.0;

/// The graph-and-traces row's share of the height while presenting.
const PRESENTED_TOP: f32 = 0.45;
/// Beside a lesson the views are narrower: graph and traces need the taller row.
const PRESENTED_LESSON_TOP: f32 = 0.5;

/// What presentation mode changed, to put back when it ends.
#[derive(Clone, Debug, PartialEq)]
pub struct Presented {
    pub show_params: bool,
    pub zoom_factor: f32,
    pub layout: LiveLayout,
}

/// The zoom factor for presenting in a window `width_px` physical pixels wide, where one point
/// is `native_ppp` pixels at zoom 1.
pub fn presentation_zoom(width_px: f32, native_ppp: f32) -> f32 {
    let points_at_one = width_px / native_ppp.max(0.1);
    (points_at_one / PRESENTED_WIDTH).clamp(MIN_SCALE, MAX_SCALE)
}

impl TripartiteApp {
    /// Enters presentation mode, or leaves it restoring what was there before.
    pub(super) fn toggle_presentation(&mut self, ctx: &egui::Context) {
        match self.presentation.take() {
            Some(before) => {
                self.show_params = before.show_params;
                self.layout = before.layout;
                ctx.set_zoom_factor(before.zoom_factor);
            }
            None => {
                let zoom = ctx.zoom_factor();
                self.presentation = Some(Presented {
                    show_params: self.show_params,
                    zoom_factor: zoom,
                    layout: self.layout,
                });
                let native = ctx.pixels_per_point() / zoom.max(0.01);
                let width_px = ctx.content_rect().width() * ctx.pixels_per_point();
                self.show_params = false;
                // The matrices and metrics are what a class reads from afar: they get the
                // larger share of the smaller (scaled) window.
                self.layout.top = if self.lesson.is_open() {
                    PRESENTED_LESSON_TOP
                } else {
                    PRESENTED_TOP
                };
                ctx.set_zoom_factor(presentation_zoom(width_px, native).max(zoom));
            }
        }
        ctx.request_repaint();
    }

    /// The bar across the top in presentation mode: the phase and c / Z_t in large type, Run
    /// and Step slot, and the way out.
    pub(super) fn presentation_bar(&mut self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        let snapshot = self.history.snapshot.as_ref();
        let running = snapshot.is_some_and(|s| s.state == crate::sim::RunState::Running);
        // Beside a lesson the bar is narrower: slightly smaller type keeps it on one line.
        let (phase_size, ratio_size) = if self.lesson.is_open() {
            (19.0, 21.0)
        } else {
            (22.0, 24.0)
        };
        ui.add_space(4.0);
        ui.horizontal_wrapped(|ui| {
            let run = if running { "Pause" } else { "Run" };
            if ui
                .button(egui::RichText::new(run).size(20.0))
                .on_hover_text(UserAction::RunPause.tooltip())
                .clicked()
            {
                out.push(UserAction::RunPause.command(running));
            }
            if actions::button(ui, UserAction::StepSlot, !running) {
                out.push(UserAction::StepSlot.command(running));
            }
            ui.separator();
            ui.label(
                egui::RichText::new(phase_text(snapshot))
                    .size(phase_size)
                    .strong()
                    .color(egui::Color32::from_rgb(0x9A, 0x3B, 0x00)),
            );
            ui.separator();
            ui.label(
                egui::RichText::new(ratio_text(&self.history))
                    .size(ratio_size)
                    .strong(),
            )
            .on_hover_text("The astrocyte's calcium over the softmax normaliser of this read: 1 when it tracks Z_t");
            ui.separator();
            if ui
                .button(egui::RichText::new("Exit (F5)").size(15.0))
                .on_hover_text(UserAction::Presentation.tooltip())
                .clicked()
            {
                out.push(AppCommand::TogglePresentation);
            }
        });
        ui.add_space(2.0);
    }
}

/// "c / Z_t = 0.97" while reading, "writing: c = 3.2" otherwise.
pub fn ratio_text(history: &RunHistory) -> String {
    let Some(snapshot) = history.snapshot.as_ref() else {
        return String::new();
    };
    let z = snapshot
        .slot
        .filter(|s| s.phase == Phase::Read)
        .and_then(|s| snapshot.run.as_ref()?.normaliser.get(s.token).copied());
    match z {
        Some(z) => format!(
            "c / Z_t = {}",
            crate::ui::widgets::theme::sig(snapshot.calcium / z)
        ),
        None => format!("c = {}", crate::ui::widgets::theme::sig(snapshot.calcium)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_1280_pixel_window_is_scaled_at_least_one_and_a_half_times() {
        assert!(presentation_zoom(1280.0, 1.0) >= 1.5);
        let small = presentation_zoom(1024.0, 1.0);
        assert!((1.0..1.5).contains(&small), "{small}");
        assert_eq!(presentation_zoom(600.0, 1.0), 1.0);
        // A HiDPI screen at 2 pixels per point is scaled by its width in points.
        assert!((presentation_zoom(2560.0, 2.0) - presentation_zoom(1280.0, 1.0)).abs() < 1e-6);
    }
}
