//! Presentation mode (F5, View ▸ Presentation): for a projector. The menus, the parameter
//! panel and the status bar give way to the views; the whole UI is scaled (1.6× unless the
//! teacher chose another scale in the View menu, which is remembered), and one bar across the
//! top holds what a class needs live: Run, Step, Reset, the phase, c / Z_t, the parameters the
//! step or the example names (editable in place), the timeline switch and the example's
//! description. Beside a lesson only the tiles the step points at are shown. F5 or Esc
//! restores the layout exactly as it was.

use super::TripartiteApp;
use crate::model::params::Param;
use crate::model::schedule::Phase;
use crate::sim::{Command, RunHistory};
use crate::ui::actions::{self, UserAction};
use crate::ui::command::AppCommand;
use crate::ui::views::controls::phase_text;
use crate::ui::views::params::{panel_label, read_real, read_whole, value_editor};
use crate::ui::widgets::theme;

/// The scale a projector gets unless the teacher picks another (issue 23 §3).
pub const DEFAULT_SCALE: f32 = 1.6;
/// The scales the View menu offers.
pub const SCALES: [f32; 5] = [1.25, 1.4, 1.6, 1.8, 2.0];

/// The live parameters the strip shows when neither the step nor the example names one: the
/// astrocyte's speed and the network's size, the two a teacher changes in front of a class.
const STRIP_DEFAULT: [&str; 2] = ["tau_calcium", "m"];

/// Height of the presentation bar (points): two fixed rows, whatever is running.
const BAR_HEIGHT: f32 = 62.0;

/// What presentation mode changed, to put back when it ends, and its own switches.
#[derive(Clone, Debug, PartialEq)]
pub struct Presented {
    pub show_params: bool,
    pub zoom_factor: f32,
    /// The timeline is shown under the views.
    pub timeline: bool,
    /// The example's description is open.
    pub description: bool,
}

impl TripartiteApp {
    /// Enters presentation mode, or leaves it restoring what was there before.
    pub(super) fn toggle_presentation(&mut self, ctx: &egui::Context) {
        match self.presentation.take() {
            Some(before) => {
                self.show_params = before.show_params;
                ctx.set_zoom_factor(before.zoom_factor);
            }
            None => {
                let zoom = ctx.zoom_factor();
                self.presentation = Some(Presented {
                    show_params: self.show_params,
                    zoom_factor: zoom,
                    timeline: false,
                    description: false,
                });
                self.show_params = false;
                ctx.set_zoom_factor(self.presentation_scale);
            }
        }
        ctx.request_repaint();
    }

    /// Sets the presentation scale (remembered with the session), at once when presenting.
    pub(super) fn set_presentation_scale(&mut self, ctx: &egui::Context, scale: f32) {
        self.presentation_scale = scale.clamp(1.0, 3.0);
        if self.presentation.is_some() {
            ctx.set_zoom_factor(self.presentation_scale);
        }
    }

    /// The bar across the top in presentation mode: two rows of fixed height.
    pub(super) fn presentation_bar(&mut self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        let snapshot = self.history.snapshot.as_ref();
        let running = snapshot.is_some_and(|s| s.state == crate::sim::RunState::Running);
        ui.set_height(BAR_HEIGHT);
        ui.add_space(2.0);
        let row = ui.horizontal(|ui| {
            let run = if running { "Pause" } else { "Run" };
            if ui
                .button(egui::RichText::new(run).strong())
                .on_hover_text(UserAction::RunPause.tooltip())
                .clicked()
            {
                out.push(UserAction::RunPause.command(running));
            }
            if actions::button(ui, UserAction::StepSlot, !running) {
                out.push(UserAction::StepSlot.command(running));
            }
            if actions::button(ui, UserAction::Reset, true) {
                out.push(UserAction::Reset.command(running));
            }
            ui.separator();
            // The ratio keeps its room at the row's end: the status before it is cut instead
            // (at 1024×768 a long status pushed "c / Z_t = 0.8823" to the window's edge).
            let ratio = egui::RichText::new(ratio_text(&self.history)).strong();
            let ratio_width = egui::WidgetText::from(ratio.clone())
                .into_galley(
                    ui,
                    Some(egui::TextWrapMode::Extend),
                    f32::INFINITY,
                    egui::TextStyle::Body,
                )
                .size()
                .x;
            // Besides the ratio: a separator, and a gap on each side of it and after the status.
            let room = ui.available_width() - ratio_width - 3.0 * ui.spacing().item_spacing.x - 8.0;
            ui.scope(|ui| {
                ui.set_max_width(room.max(40.0));
                ui.add(
                    egui::Label::new(
                        egui::RichText::new(phase_text(snapshot))
                            .strong()
                            .color(egui::Color32::from_rgb(0x9A, 0x3B, 0x00)),
                    )
                    .truncate(),
                );
            });
            ui.separator();
            ui.label(ratio).on_hover_text(
                "The astrocyte's calcium over the softmax normaliser of this read: 1 when \
                     it tracks Z_t",
            );
        });
        // A step that points at the run controls points here while presenting.
        crate::ui::regions::record(
            ui.ctx(),
            crate::ui::regions::Region::Controls,
            row.response.rect.intersect(ui.clip_rect()),
        );
        ui.horizontal(|ui| {
            self.parameter_strip(ui, out);
            ui.separator();
            let Some(presented) = self.presentation.as_mut() else {
                return;
            };
            ui.toggle_value(&mut presented.timeline, "Timeline")
                .on_hover_text("Show the timeline under the views (scrub back through the run)");
            ui.toggle_value(&mut presented.description, "About")
                .on_hover_text("The example's description");
            if ui
                .button("Exit (F5)")
                .on_hover_text(UserAction::Presentation.tooltip())
                .clicked()
            {
                out.push(AppCommand::TogglePresentation);
            }
        });
    }

    /// The parameters the step names (else τ_c and m), each editable in place under the
    /// panel's own label; a live one applies at once, another rebuilds, as in the panel.
    fn parameter_strip(&mut self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        let Some(snapshot) = self.history.snapshot.as_ref() else {
            return;
        };
        let applied = snapshot.params.clone();
        let mut keys: Vec<&'static str> = self
            .lesson
            .step_param_keys()
            .into_iter()
            .filter_map(|k| Param::named(&k).map(|p| p.name))
            .collect();
        if keys.is_empty() {
            keys = STRIP_DEFAULT.to_vec();
        }
        let mut edited = applied.clone();
        for key in keys {
            let Some(param) = Param::named(key) else {
                continue;
            };
            let locked = self.lesson.locks_param(key);
            let field = ui.horizontal(|ui| {
                let label = ui
                    .label(panel_label(key).unwrap_or(key))
                    .on_hover_text(format!(
                        "{key}: {}{}",
                        if param.live {
                            "applies live"
                        } else {
                            "rebuilds the run from t = 0"
                        },
                        if param.unit.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", param.unit)
                        }
                    ));
                ui.add_enabled_ui(!locked, |ui| {
                    value_editor(
                        ui,
                        key,
                        param.range,
                        param.edit(&mut edited),
                        &read_real,
                        &read_whole,
                    )
                    .labelled_by(label.id);
                });
            });
            // A step that points at this parameter points here while presenting.
            crate::ui::regions::record_param(ui.ctx(), param.name, field.response.rect);
        }
        if edited != applied && edited.validate().is_ok() {
            let current = self.current_experiment();
            out.push(AppCommand::from_worker(
                Command::SetParams(edited),
                &current.params,
                &self.base,
            ));
        }
    }

    /// The example's description, when the teacher opened it from the bar.
    pub(super) fn description_window(&mut self, ctx: &egui::Context) {
        let Some(presented) = self.presentation.as_mut() else {
            return;
        };
        let text = self
            .base
            .description
            .clone()
            .unwrap_or_else(|| "This experiment has no description.".to_string());
        egui::Window::new("About this example")
            .open(&mut presented.description)
            .default_width(420.0)
            .anchor(egui::Align2::CENTER_TOP, egui::vec2(0.0, 80.0))
            .show(ctx, |ui| {
                ui.add(egui::Label::new(text).wrap());
            });
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
        Some(z) => format!("c / Z_t = {}", theme::sig(snapshot.calcium / z)),
        None => format!("c = {}", theme::sig(snapshot.calcium)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_scale_is_one_of_the_menu_s_choices() {
        assert!(SCALES.contains(&DEFAULT_SCALE));
    }
}
