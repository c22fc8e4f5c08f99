//! Run controls: run/pause, step, run to end, reset, speed, and the current phase in words.
//! The buttons' labels, tooltips and keys come from [`UserAction`].

use crate::model::schedule::Phase;
use crate::sim::{Command, RunHistory, RunState, Snapshot, Speed};
use crate::ui::actions::{self, UserAction};
use crate::ui::command::AppCommand;
use crate::ui::widgets::theme;
use egui::RichText;

/// Room (points) the speed slider, max speed and loop need after the step buttons, with the
/// tabs and the Parameters toggle beside them; with less they go into the overflow menu.
const OVERFLOW_BELOW: f32 = 760.0;

pub struct ControlsView {
    /// Speed shown on the slider (simulated ms per wall second).
    rate: f64,
    max_speed: bool,
    looping: bool,
    synced: bool,
}

impl Default for ControlsView {
    fn default() -> Self {
        ControlsView {
            rate: 1000.0,
            max_speed: false,
            looping: false,
            synced: false,
        }
    }
}

fn running(snapshot: Option<&Snapshot>) -> bool {
    snapshot.is_some_and(|s| s.state == RunState::Running)
}

impl ControlsView {
    pub fn ui(&mut self, ui: &mut egui::Ui, history: &RunHistory, out: &mut Vec<AppCommand>) {
        let snapshot = history.snapshot.as_ref();
        if let Some(s) = snapshot
            && !self.synced
        {
            self.synced = true;
            self.looping = s.looping;
            match s.speed {
                Speed::Max => self.max_speed = true,
                Speed::MsPerSecond(rate) => {
                    self.max_speed = false;
                    self.rate = rate;
                }
            }
        }
        let state = snapshot.map(|s| s.state);
        let can_step = matches!(state, Some(RunState::Paused | RunState::Running));
        {
            ui.spacing_mut().item_spacing.x = 6.0;
            let is_running = running(snapshot);
            let run_label = if is_running { "Pause" } else { "Run" };
            let run = ui
                .add_enabled(
                    can_step,
                    egui::Button::new(RichText::new(run_label).strong().size(16.0))
                        .min_size(egui::vec2(92.0, 28.0)),
                )
                .on_hover_text(UserAction::RunPause.tooltip());
            if run.clicked() {
                out.push(UserAction::RunPause.command(is_running));
            }
            for action in [
                UserAction::StepDt,
                UserAction::StepSlot,
                UserAction::RunToEnd,
                UserAction::Reset,
            ] {
                // Reset also recovers from a failure, so it is always enabled.
                let enabled = can_step || action == UserAction::Reset;
                if actions::button(ui, action, enabled) {
                    out.push(action.command(is_running));
                }
            }
            ui.separator();
            // In a narrow window (a 1024×768 projector) the less used controls go into an
            // overflow menu, so that the row stays one line and nothing moves.
            if ui.available_size_before_wrap().x < OVERFLOW_BELOW {
                ui.menu_button("Speed…", |ui| self.less_used(ui, out))
                    .response
                    .on_hover_text("Speed, max speed and loop");
            } else {
                self.less_used(ui, out);
            }
            // Help lives in the Help menu (and F1), which keeps this row on one line.
            crate::ui::regions::record(
                ui.ctx(),
                crate::ui::regions::Region::Controls,
                ui.min_rect(),
            );
        }
    }

    /// Speed, max speed and loop: in the row when it has room, else in the overflow menu.
    fn less_used(&mut self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        {
            let label = ui.label("Speed");
            let slider = ui.add_enabled(
                !self.max_speed,
                egui::Slider::new(&mut self.rate, 10.0..=100_000.0)
                    .logarithmic(true)
                    .suffix(" ms/s")
                    .max_decimals(0),
            );
            let slider = slider
                .labelled_by(label.id)
                .on_hover_text("Simulated milliseconds per wall-clock second");
            let max = ui
                .checkbox(&mut self.max_speed, "max speed")
                .on_hover_text("Run the simulation as fast as possible");
            if slider.changed() || max.changed() {
                out.push(AppCommand::Worker(Command::SetSpeed(if self.max_speed {
                    Speed::Max
                } else {
                    Speed::MsPerSecond(self.rate)
                })));
            }
            if ui
                .checkbox(&mut self.looping, "loop")
                .on_hover_text("Start again from t = 0 when the run ends")
                .changed()
            {
                out.push(AppCommand::Worker(Command::SetLoop(self.looping)));
            }
        }
    }
}

/// "reading 't2' (token 3/12) · t = 1 853.5 ms", or the equivalent for other states. Scrubbed
/// back, it describes the time shown, not the run's present (issue 25).
pub fn phase_text(snapshot: Option<&Snapshot>) -> String {
    let Some(s) = snapshot else {
        return "starting…".to_string();
    };
    let Some(run) = s.run.as_ref() else {
        return "no simulation — press Reset (R) to try again".to_string();
    };
    let n = run.tokens.len();
    let time = format!("t = {} ms", theme::thousands(s.time_ms, 1));
    let back = s.timeline.scrubbed;
    let looking = if back { "looking back · " } else { "" };
    if !run.dynamic {
        return match s.state {
            RunState::Finished if !back => format!("algebraic mode · all {n} rows read"),
            _ => format!(
                "{looking}algebraic mode · {}/{n} rows read",
                s.rows_completed
            ),
        };
    }
    match (s.state, s.slot) {
        (_, None) => format!("{looking}finished · {time} · all {n} rows read"),
        (RunState::Finished, _) if !back => format!("finished · {time} · all {n} rows read"),
        (_, Some(slot)) => {
            let verb = match slot.phase {
                Phase::Write => "writing",
                Phase::Read => "reading",
            };
            // Looking back, the rows read come first: a long line is cut at its end.
            let rows = if back {
                format!("{}/{n} rows read · ", s.rows_completed)
            } else {
                String::new()
            };
            // The token in the one form every view prints it in (issue 25 §15).
            format!(
                "{looking}{rows}{verb} {} · {time} of {}",
                crate::ui::views::selection::token_name(&run.tokens, slot.token),
                theme::thousands(run.total_ms, 0)
            )
        }
    }
}
