//! The timeline: one bar over the whole run, slot by slot (write and read slots in their
//! colours, labelled with their tokens where there is room), the part computed so far, the
//! keyframes, the branch points, and a handle for the shown time. Dragging or clicking the bar,
//! or the keys (Home, End, `,` `.`, Ctrl+← Ctrl+→), shows that time in every view: the worker
//! replays it from the nearest keyframe and publishes it as it does the present.

use crate::model::schedule::Phase;
use crate::sim::{Command, RunHistory, Snapshot};
use crate::ui::command::AppCommand;
use crate::ui::widgets::colormap::{EMPTY, palette};
use crate::ui::widgets::theme;
use egui::{Color32, FontId, Pos2, Rect, Sense, Stroke, StrokeKind, vec2};

/// Height of the bar itself (px).
const BAR_HEIGHT: f32 = 22.0;
/// The keyframe budgets the timeline's context menu offers (MiB).
const BUDGETS_MIB: [usize; 5] = [64, 128, 256, 512, 1024];
/// Width of the title and time to the left of the bar (px).
const LABEL_WIDTH: f32 = 170.0;

/// One span of the run on the timeline: a slot (dynamic mode) or a read row (algebraic mode).
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub phase: Phase,
    pub token: usize,
    pub start: u64,
    pub end: u64,
}

/// The run's spans, in order.
pub fn spans(snapshot: &Snapshot) -> Vec<Span> {
    let Some(run) = snapshot.run.as_ref() else {
        return Vec::new();
    };
    if run.dynamic {
        run.slots
            .iter()
            .map(|slot| Span {
                phase: slot.phase,
                token: slot.token,
                start: slot.start_step,
                end: slot.end_step(),
            })
            .collect()
    } else {
        (0..run.total_steps)
            .map(|t| Span {
                phase: Phase::Read,
                token: t as usize,
                start: t,
                end: t + 1,
            })
            .collect()
    }
}

/// Where the keys move the shown time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimelineKey {
    /// Home: the start of the run.
    Start,
    /// End: the present.
    Present,
    /// `,`: one step (dt) back.
    StepBack,
    /// `.`: one step forward.
    StepForward,
    /// Ctrl+←: the previous slot boundary.
    SlotBack,
    /// Ctrl+→: the next slot boundary.
    SlotForward,
}

/// The step to show after `key`, from the shown step `shown` with the present at `live`;
/// `None` shows the present (the LIVE position). `boundaries` are the slot ends, in order.
pub fn key_target(key: TimelineKey, shown: u64, live: u64, boundaries: &[u64]) -> Option<u64> {
    let target = match key {
        TimelineKey::Start => 0,
        TimelineKey::Present => return None,
        TimelineKey::StepBack => shown.saturating_sub(1),
        TimelineKey::StepForward => shown.saturating_add(1),
        TimelineKey::SlotBack => std::iter::once(0)
            .chain(boundaries.iter().copied())
            .filter(|&b| b < shown)
            .max()
            .unwrap_or(0),
        TimelineKey::SlotForward => boundaries
            .iter()
            .copied()
            .find(|&b| b > shown)
            .unwrap_or(live),
    };
    (target < live).then_some(target)
}

/// The command a key sends, or None when the time would not change.
pub fn key_command(key: TimelineKey, snapshot: &Snapshot) -> Option<AppCommand> {
    let live = snapshot.timeline.live_step;
    let shown = snapshot.step;
    let boundaries: Vec<u64> = spans(snapshot).iter().map(|span| span.end).collect();
    let target = key_target(key, shown, live, &boundaries);
    let unchanged = match target {
        Some(step) => snapshot.timeline.scrubbed && step == shown,
        None => !snapshot.timeline.scrubbed,
    };
    (!unchanged).then_some(AppCommand::Worker(Command::ShowStep(target)))
}

/// The step under the horizontal position `x` of a bar spanning `rect` over `total` steps.
pub fn step_at(x: f32, rect: Rect, total: u64) -> u64 {
    let fraction = ((x - rect.left()) / rect.width().max(1.0)).clamp(0.0, 1.0);
    (f64::from(fraction) * total as f64).round() as u64
}

fn x_of(step: u64, rect: Rect, total: u64) -> f32 {
    rect.left() + rect.width() * (step as f64 / total.max(1) as f64) as f32
}

/// The timeline view. It keeps the last step it asked for, so that a drag sends one command
/// per step crossed, not one per frame.
#[derive(Default)]
pub struct TimelineView {
    requested: Option<Option<u64>>,
}

impl TimelineView {
    pub fn ui(&mut self, ui: &mut egui::Ui, history: &RunHistory, out: &mut Vec<AppCommand>) {
        let Some(snapshot) = history.snapshot.as_ref() else {
            return;
        };
        let Some(run) = snapshot.run.as_ref() else {
            return;
        };
        let timeline = &snapshot.timeline;
        let total = run.total_steps.max(1);
        let spans = spans(snapshot);
        let unit = if run.dynamic { "ms" } else { "rows" };
        let shown_label = |step: u64, time_ms: f64| {
            if run.dynamic {
                format!("t = {} ms (step {step})", theme::thousands(time_ms, 1))
            } else {
                format!("{step} of {} rows read", run.total_steps)
            }
        };
        ui.horizontal_centered(|ui| {
            ui.label(theme::title("Timeline").size(14.0));
            if timeline.scrubbed {
                if ui
                    .button("Back to live")
                    .on_hover_text("Show the present again (End).")
                    .clicked()
                {
                    self.requested = Some(None);
                    out.push(AppCommand::Worker(Command::ShowStep(None)));
                }
            } else {
                let badge = egui::RichText::new(" LIVE ")
                    .strong()
                    .color(Color32::WHITE)
                    .background_color(theme::OK);
                ui.label(badge).on_hover_text(
                    "The views show the present. Drag the timeline, click a slot, or press \
                     Home, `,` or Ctrl + Left arrow to look back.",
                );
            }
            let now = shown_label(snapshot.step, snapshot.time_ms);
            // A fixed width, so that the bar does not move as the time's digits change.
            ui.allocate_ui_with_layout(
                vec2(LABEL_WIDTH, BAR_HEIGHT),
                egui::Layout::left_to_right(egui::Align::Center),
                |ui| {
                    ui.set_min_width(LABEL_WIDTH);
                    if timeline.scrubbed {
                        ui.label(egui::RichText::new(now).color(palette::CURSOR).strong())
                            .on_hover_text(format!(
                                "The views show this earlier time; the present is {}.",
                                shown_label(timeline.live_step, timeline.live_time_ms)
                            ));
                    } else {
                        ui.label(now);
                    }
                },
            );
            self.bar(ui, snapshot, &spans, total, unit, out);
        });
    }

    fn bar(
        &mut self,
        ui: &mut egui::Ui,
        snapshot: &Snapshot,
        spans: &[Span],
        total: u64,
        unit: &str,
        out: &mut Vec<AppCommand>,
    ) {
        let Some(run) = snapshot.run.as_ref() else {
            return;
        };
        let timeline = &snapshot.timeline;
        let width = ui.available_width();
        let (outer, response) =
            ui.allocate_exact_size(vec2(width, BAR_HEIGHT), Sense::click_and_drag());
        let response = response.on_hover_text(format!(
            "The whole run ({}). Click or drag to show that time; Home / End: start / present; \
             , and .: one step; Ctrl + Left / Right arrow: one slot. Small triangles mark \
             keyframes ({} kept, {} of {}; right-click to change the budget); a dashed purple \
             line marks where the run was branched.",
            if run.dynamic {
                format!("{} {unit}", theme::thousands(run.total_ms, 0))
            } else {
                format!("{} {unit}", run.total_steps)
            },
            timeline.keyframe_steps.len(),
            theme::bytes(timeline.keyframe_bytes as u64),
            theme::bytes(timeline.keyframe_budget as u64),
        ));
        response
            .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Slider, true, "Timeline bar"));
        let bar = outer.shrink2(vec2(8.0, 1.0));
        if (response.clicked() || response.dragged())
            && let Some(pointer) = response.interact_pointer_pos()
        {
            let step = step_at(pointer.x, bar, total);
            let target = (step < timeline.live_step).then_some(step);
            if self.requested != Some(target) {
                self.requested = Some(target);
                out.push(AppCommand::Worker(Command::ShowStep(target)));
            }
        }
        if response.drag_stopped() {
            self.requested = None;
        }
        response.context_menu(|ui| {
            ui.label("Keyframe memory budget");
            for mib in BUDGETS_MIB {
                let bytes = mib << 20;
                if ui
                    .radio(timeline.keyframe_budget == bytes, format!("{mib} MiB"))
                    .clicked()
                {
                    out.push(AppCommand::Worker(Command::SetKeyframeBudget(bytes)));
                    ui.close();
                }
            }
        });
        self.paint(ui, snapshot, spans, bar, total);
    }

    fn paint(&self, ui: &egui::Ui, snapshot: &Snapshot, spans: &[Span], bar: Rect, total: u64) {
        let painter = ui.painter_at(bar.expand2(vec2(8.0, 1.0)));
        let timeline = &snapshot.timeline;
        let tokens = snapshot
            .run
            .as_ref()
            .map(|run| run.tokens.clone())
            .unwrap_or_default();
        painter.rect_filled(bar, 3.0, EMPTY);
        let live_x = x_of(timeline.live_step, bar, total);
        let font = FontId::proportional(12.0);
        let mut last_label_end = f32::NEG_INFINITY;
        for span in spans {
            let left = x_of(span.start, bar, total);
            let right = x_of(span.end, bar, total);
            let base = match span.phase {
                Phase::Write => palette::WRITE,
                Phase::Read => palette::READ,
            };
            // Computed part strong, the future faint.
            let computed = Rect::from_x_y_ranges(left..=right.min(live_x), bar.y_range());
            let future = Rect::from_x_y_ranges(left.max(live_x)..=right, bar.y_range());
            if computed.width() > 0.0 {
                painter.rect_filled(computed, 0.0, base.gamma_multiply(0.75));
            }
            if future.width() > 0.0 {
                painter.rect_filled(future, 0.0, base.gamma_multiply(0.22));
            }
            painter.line_segment(
                [Pos2::new(left, bar.top()), Pos2::new(left, bar.bottom())],
                Stroke::new(1.0, Color32::WHITE),
            );
            let name = tokens.get(span.token).map_or("", String::as_str);
            let label = format!(
                "{}{}",
                if span.phase == Phase::Write {
                    "w "
                } else {
                    "r "
                },
                name
            );
            let room = right - left;
            let galley = painter.layout_no_wrap(label, font.clone(), theme::CAPTION);
            if galley.size().x + 4.0 <= room && left >= last_label_end {
                last_label_end = left + galley.size().x + 4.0;
                painter.galley(
                    Pos2::new(left + 3.0, bar.center().y - galley.size().y / 2.0),
                    galley,
                    theme::CAPTION,
                );
            }
        }
        painter.rect_stroke(
            bar,
            3.0,
            Stroke::new(1.0, Color32::from_gray(90)),
            StrokeKind::Inside,
        );
        // Keyframes: small triangles under the bar.
        for &step in &timeline.keyframe_steps {
            let x = x_of(step, bar, total);
            let y = bar.bottom() - 5.0;
            painter.add(egui::Shape::convex_polygon(
                vec![
                    Pos2::new(x, y),
                    Pos2::new(x - 3.5, y + 5.0),
                    Pos2::new(x + 3.5, y + 5.0),
                ],
                Color32::from_gray(70),
                Stroke::NONE,
            ));
        }
        // Branch points: a dashed mark across the bar and a label.
        for &step in &timeline.branches {
            let x = x_of(step, bar, total);
            painter.extend(egui::Shape::dashed_line(
                &[Pos2::new(x, bar.top()), Pos2::new(x, bar.bottom())],
                Stroke::new(2.0, Color32::from_rgb(0x7A, 0x1F, 0x8C)),
                3.0,
                2.0,
            ));
        }
        // The present, and the handle for the shown time.
        painter.line_segment(
            [
                Pos2::new(live_x, bar.top()),
                Pos2::new(live_x, bar.bottom()),
            ],
            Stroke::new(2.0, Color32::from_gray(40)),
        );
        let shown_x = x_of(snapshot.step, bar, total);
        painter.line_segment(
            [
                Pos2::new(shown_x, bar.top()),
                Pos2::new(shown_x, bar.bottom()),
            ],
            Stroke::new(3.0, palette::CURSOR),
        );
        painter.circle(
            Pos2::new(shown_x, bar.center().y),
            7.0,
            palette::CURSOR,
            Stroke::new(1.5, Color32::WHITE),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_move_by_a_step_or_a_slot_and_end_at_the_present() {
        let boundaries = [20, 40, 140, 240];
        let live = 200;
        assert_eq!(
            key_target(TimelineKey::Start, 150, live, &boundaries),
            Some(0)
        );
        assert_eq!(
            key_target(TimelineKey::Present, 10, live, &boundaries),
            None
        );
        assert_eq!(
            key_target(TimelineKey::StepBack, 150, live, &boundaries),
            Some(149)
        );
        assert_eq!(
            key_target(TimelineKey::StepBack, 0, live, &boundaries),
            Some(0)
        );
        assert_eq!(
            key_target(TimelineKey::StepForward, 150, live, &boundaries),
            Some(151)
        );
        assert_eq!(
            key_target(TimelineKey::StepForward, 199, live, &boundaries),
            None
        );
        assert_eq!(
            key_target(TimelineKey::SlotBack, 150, live, &boundaries),
            Some(140)
        );
        assert_eq!(
            key_target(TimelineKey::SlotBack, 140, live, &boundaries),
            Some(40)
        );
        assert_eq!(
            key_target(TimelineKey::SlotBack, 10, live, &boundaries),
            Some(0)
        );
        assert_eq!(
            key_target(TimelineKey::SlotForward, 30, live, &boundaries),
            Some(40)
        );
        // The next boundary lies in the future: the present is as far as it goes.
        assert_eq!(
            key_target(TimelineKey::SlotForward, 150, live, &boundaries),
            None
        );
    }

    #[test]
    fn the_bar_maps_positions_to_steps_and_clamps() {
        let rect = Rect::from_min_size(Pos2::new(100.0, 0.0), vec2(400.0, 20.0));
        assert_eq!(step_at(100.0, rect, 1000), 0);
        assert_eq!(step_at(300.0, rect, 1000), 500);
        assert_eq!(step_at(500.0, rect, 1000), 1000);
        assert_eq!(step_at(20.0, rect, 1000), 0);
        assert_eq!(step_at(900.0, rect, 1000), 1000);
        assert!((x_of(250, rect, 1000) - 200.0).abs() < 1e-4);
    }
}

/// The branch question's button that keeps the old future as the A/B baseline.
pub const KEEP_AS_BASELINE: &str = "Branch, keeping the old run as baseline";

/// "You are looking back": asked when Run is pressed, or a live parameter edited, while the
/// views show an earlier time than the present.
#[derive(Clone, Debug)]
pub struct BranchQuestion {
    /// The shown step and time.
    pub step: u64,
    pub time_ms: f64,
    pub live_time_ms: f64,
    /// The edited parameters (None: Run was pressed).
    pub params: Option<Box<crate::model::params::Params>>,
    /// What changed, in words (empty for Run).
    pub change: String,
}

impl BranchQuestion {
    /// Draws the question; returns the answer's commands (empty while unanswered) and whether
    /// it is answered.
    pub fn ui(&self, ctx: &egui::Context, dynamic: bool) -> Option<Vec<AppCommand>> {
        let at = |time_ms: f64, step: u64| {
            if dynamic {
                format!("t = {} ms", theme::thousands(time_ms, 1))
            } else {
                format!("row {step}")
            }
        };
        let shown = at(self.time_ms, self.step);
        let mut answer = None;
        egui::Modal::new(egui::Id::unique("tripartite.branch_question")).show(ctx, |ui| {
            ui.set_max_width(460.0);
            ui.label(theme::title("You are looking back in time"));
            ui.add_space(4.0);
            let what = if self.params.is_some() {
                format!("You changed {} while showing {shown}.", self.change)
            } else {
                format!("You pressed Run while showing {shown}.")
            };
            ui.label(what);
            ui.label(format!(
                "Branching goes on from that moment{}, and everything after it is discarded. \
                 Continuing goes on from the present ({}), where the run was{}.",
                if self.params.is_some() {
                    " with the new value"
                } else {
                    ""
                },
                at(self.live_time_ms, 0),
                if self.params.is_some() {
                    " with the new value"
                } else {
                    ""
                },
            ));
            ui.add_space(6.0);
            ui.horizontal_wrapped(|ui| {
                if ui
                    .button(format!("Branch from {shown}"))
                    .on_hover_text(
                        "Discard the run's future and go on from the shown time (Ctrl + Z \
                         brings the run back as it was).",
                    )
                    .clicked()
                {
                    answer = Some(AppCommand::Branch {
                        params: self.params.clone(),
                        run: self.params.is_none(),
                        keep_baseline: false,
                    });
                }
                if ui
                    .button(KEEP_AS_BASELINE)
                    .on_hover_text(
                        "Branch, and pin the run as it is now (its whole future) as the A/B \
                         baseline: the Compare tab sets it against the new branch.",
                    )
                    .clicked()
                {
                    answer = Some(AppCommand::Branch {
                        params: self.params.clone(),
                        run: self.params.is_none(),
                        keep_baseline: true,
                    });
                }
                if ui.button("Continue from the present").clicked() {
                    answer = Some(AppCommand::ContinueFromPresent {
                        params: self.params.clone(),
                        run: self.params.is_none(),
                    });
                }
                if ui.button("Cancel").clicked() {
                    answer = Some(AppCommand::DismissBranchQuestion);
                }
            });
        });
        answer.map(|command| vec![command])
    }
}
