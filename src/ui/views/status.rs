//! The status bar: simulation speed, UI frame time, synapse count and memory.

use crate::model::Mode;
use crate::sim::{Ring, RunHistory, RunState};
use crate::ui::widgets::theme;

/// Recent frame timings (ms), for the status bar.
pub struct FrameStats {
    /// Time spent in the app's own UI code per frame.
    ui_ms: Ring<f32>,
    /// The whole frame on the UI thread (eframe's measure, when known).
    frame_ms: Ring<f32>,
}

impl Default for FrameStats {
    fn default() -> Self {
        FrameStats {
            ui_ms: Ring::new(120),
            frame_ms: Ring::new(120),
        }
    }
}

fn median(ring: &Ring<f32>) -> Option<f32> {
    let mut values: Vec<f32> = ring.iter().copied().collect();
    if values.is_empty() {
        return None;
    }
    values.sort_by(f32::total_cmp);
    Some(values[values.len() / 2])
}

impl FrameStats {
    pub fn record(&mut self, ui_ms: f32, frame_ms: Option<f32>) {
        self.ui_ms.push(ui_ms);
        if let Some(ms) = frame_ms {
            self.frame_ms.push(ms);
        }
    }
}

/// A running simulation's speed: steps per wall-clock second, and in the dynamic mode how that
/// compares with the clock (`dt_ms` of simulated time per step; 2 000 steps/s at dt = 0.5 ms is
/// real time). An algebraic step is a read row, not dt, so it gets no real-time factor.
pub fn speed_text(steps_per_s: f64, dt_ms: f64, mode: Mode) -> String {
    let steps = theme::thousands(steps_per_s, 0);
    if mode == Mode::Dynamic {
        // Simulated ms per wall-clock ms: below 1 the network runs slower than the clock.
        let real_time = steps_per_s * dt_ms / 1000.0;
        format!("{steps} steps/s · {real_time:.1}× real time")
    } else {
        format!("{steps} steps/s")
    }
}

#[derive(Default)]
pub struct StatusView {
    /// Hide the live timings (for pixel-exact snapshot tests).
    pub hide_timings: bool,
}

impl StatusView {
    pub fn ui(&mut self, ui: &mut egui::Ui, history: &RunHistory, stats: &FrameStats) {
        let Some(snapshot) = history.snapshot.as_ref() else {
            ui.label("starting the simulation worker…");
            return;
        };
        // One line: items that do not fit are cut at the window's edge (the least needed
        // come last), so that the bar never grows and pushes the views up.
        ui.horizontal(|ui| {
            ui.set_clip_rect(ui.max_rect().intersect(ui.clip_rect()));
            ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Extend);
            let sep = |ui: &mut egui::Ui| {
                ui.label(egui::RichText::new("·").strong());
            };
            let speed = if self.hide_timings {
                "— steps/s".to_string()
            } else if snapshot.state == RunState::Running {
                speed_text(
                    snapshot.steps_per_s,
                    snapshot.params.dt,
                    snapshot.params.mode,
                )
            } else {
                "paused".to_string()
            };
            ui.label(speed).on_hover_text(
                "Simulation steps per wall-clock second. In the dynamic mode, × real time is \
                 simulated time per wall-clock time (at dt = 0.5 ms, 2 000 steps/s is real time); \
                 below 1× the network runs slower than the clock.",
            );
            sep(ui);
            let frame = match (
                self.hide_timings,
                median(&stats.ui_ms),
                median(&stats.frame_ms),
            ) {
                (true, ..) => "frame — ms".to_string(),
                (false, Some(ui_ms), Some(frame_ms)) => {
                    format!("frame {frame_ms:.1} ms (UI {ui_ms:.1} ms)")
                }
                (false, Some(ui_ms), None) => format!("UI {ui_ms:.1} ms per frame"),
                _ => "frame — ms".to_string(),
            };
            ui.label(frame)
                .on_hover_text("Median time per frame: the whole frame, and the app's own UI code");
            if let Some(run) = snapshot.run.as_ref() {
                sep(ui);
                ui.label(format!(
                    "{} tripartite synapses",
                    theme::thousands(run.sizes.synapses() as f64, 0)
                ))
                .on_hover_text(
                    "Every hidden-to-output synapse, d·m', is ensheathed by an astrocyte process",
                );
                sep(ui);
                ui.label(format!("memory ≈ {}", theme::bytes(run.memory_bytes)))
                    .on_hover_text(
                        "Planned memory of the simulation (model::network::memory_estimate)",
                    );
                sep(ui);
                let timeline = &snapshot.timeline;
                ui.label(format!(
                    "keyframes {} · {} of {}",
                    timeline.keyframe_steps.len(),
                    theme::bytes(timeline.keyframe_bytes as u64),
                    theme::bytes(timeline.keyframe_budget as u64)
                ))
                .on_hover_text(
                    "States kept at slot ends so that the timeline can show any earlier time: \
                     kept, memory used, and the budget (right-click the timeline to change it). \
                     When the budget is reached every other keyframe is dropped.",
                );
                sep(ui);
                ui.label(format!(
                    "N = {} tokens, D = {}, m' = {}",
                    run.sizes.tokens,
                    run.sizes.inputs,
                    theme::thousands(run.sizes.hidden as f64, 0)
                ));
                sep(ui);
                ui.label(format!(
                    "{} · {}",
                    snapshot.params.mode, snapshot.params.schedule
                ));
            }
        });
    }
}

#[cfg(test)]
mod speed_tests {
    use super::*;

    #[test]
    fn the_dynamic_mode_says_how_it_keeps_up_with_the_clock() {
        // 2 000 steps of 0.5 ms a second is exactly real time; 4 028 is about twice it. Digits
        // are grouped by a narrow no-break space, as everywhere in the app.
        assert_eq!(
            speed_text(2000.0, 0.5, Mode::Dynamic),
            "2\u{202f}000 steps/s · 1.0× real time"
        );
        assert_eq!(
            speed_text(4028.0, 0.5, Mode::Dynamic),
            "4\u{202f}028 steps/s · 2.0× real time"
        );
        assert_eq!(
            speed_text(1438.0, 0.5, Mode::Dynamic),
            "1\u{202f}438 steps/s · 0.7× real time"
        );
        assert_eq!(
            speed_text(1438.0, 0.25, Mode::Dynamic),
            "1\u{202f}438 steps/s · 0.4× real time"
        );
        assert_eq!(
            speed_text(1438.0, 0.5, Mode::Algebraic),
            "1\u{202f}438 steps/s"
        );
    }
}
