//! The lesson player: a panel with the lesson's title, "step 3 of 9", the step's text, its
//! question, what is still needed before Next, and Next / Back / Leave. It also outlines the
//! step's highlighted regions and tells the app which controls the step locks or hides.
//!
//! The player never touches the simulation: Next, Back and Leave are [`AppCommand`]s, and the
//! app (`app::handling`) loads the step's experiment and runs its setup.

use crate::data::lesson::{Condition, Control, Lesson, LessonTab, Region, Step};
use crate::model::params::{Param, Value};
use crate::sim::{RunState, Snapshot};
use crate::ui::command::{AppCommand, Tab};
use crate::ui::regions;
use crate::ui::widgets::theme;
use egui::RichText;
use egui::text::{LayoutJob, TextFormat};

/// Body text size in the panel (points): readable on a projector.
const TEXT_SIZE: f32 = 17.0;
/// Largest share of the panel's height (below the heading) the figures box takes before it
/// scrolls on its own.
const FIGURES_SHARE: f32 = 0.5;
/// Colour of the highlight outlines and of the step counter.
const HIGHLIGHT: egui::Color32 = egui::Color32::from_rgb(0xE0, 0x6C, 0x00);

/// What the app shows the player each frame.
#[derive(Clone, Copy)]
pub struct LessonWorld<'a> {
    pub snapshot: Option<&'a Snapshot>,
    /// The run's traces and rows, for the figures box.
    pub history: Option<&'a crate::sim::history::RunHistory>,
    pub tab: Tab,
    /// Selected tokens, from 0.
    pub selected_tokens: &'a [usize],
    /// Whether the app is presented (F5): the narrow, magnified panel keeps the figures in
    /// the text's flow, so the text a class reads keeps its room.
    pub presented: bool,
}

/// An open lesson and where the learner is in it.
struct Open {
    lesson: Lesson,
    /// The step shown, from 0.
    index: usize,
    /// The worker generation when the step's experiment was sent: until a newer one is
    /// published, the snapshot still shows the experiment it replaced.
    loaded_after: Option<u64>,
    /// The run has been seen unfinished since the step's experiment loaded (so a finished
    /// run afterwards is the learner's).
    seen_unfinished: bool,
    /// The learner's prediction, from 0.
    choice: Option<usize>,
    /// Tabs opened while the step is shown.
    tabs_opened: Vec<LessonTab>,
}

/// The lesson player's state.
#[derive(Default)]
pub struct LessonPlayer {
    open: Option<Open>,
    /// Whether the parameter panel was shown before the lesson, restored on leaving.
    params_before: Option<bool>,
}

fn lesson_tab(tab: Tab) -> LessonTab {
    match tab {
        Tab::Live => LessonTab::Live,
        Tab::AllHeads => LessonTab::AllHeads,
        Tab::Sweep => LessonTab::Sweep,
        Tab::Compare => LessonTab::Compare,
    }
}

/// The app's page for a lesson's tab name.
pub fn app_tab(tab: LessonTab) -> Tab {
    match tab {
        LessonTab::Live => Tab::Live,
        LessonTab::AllHeads => Tab::AllHeads,
        LessonTab::Sweep => Tab::Sweep,
        LessonTab::Compare => Tab::Compare,
    }
}

impl LessonPlayer {
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Starts `lesson` (its first step is opened by the app through [`Self::go_to`]).
    pub fn start(&mut self, lesson: Lesson) {
        self.open = Some(Open {
            lesson,
            index: 0,
            loaded_after: None,
            seen_unfinished: false,
            choice: None,
            tabs_opened: Vec::new(),
        });
    }

    /// Closes the lesson; returns whether the parameter panel was shown before it.
    pub fn leave(&mut self) -> Option<bool> {
        self.open = None;
        self.params_before.take()
    }

    /// Remembers whether the parameter panel was shown before the lesson (the first call
    /// counts).
    pub fn remember_params_shown(&mut self, shown: bool) {
        self.params_before.get_or_insert(shown);
    }

    /// The lesson's title and the step shown (from 0).
    pub fn position(&self) -> Option<(&str, usize, usize)> {
        self.open
            .as_ref()
            .map(|o| (o.lesson.title.as_str(), o.index, o.lesson.steps.len()))
    }

    /// The step shown.
    pub fn step(&self) -> Option<&Step> {
        self.open.as_ref().map(|o| &o.lesson.steps[o.index])
    }

    /// The step `index` (from 0), if the lesson has it.
    pub fn step_at(&self, index: usize) -> Option<&Step> {
        self.open.as_ref().and_then(|o| o.lesson.steps.get(index))
    }

    /// The experiment step `index` runs in: its own, or the last one loaded before it.
    pub fn experiment_for(&self, index: usize) -> Option<&crate::data::lesson::LessonExperiment> {
        let open = self.open.as_ref()?;
        open.lesson.steps[..=index.min(open.lesson.steps.len() - 1)]
            .iter()
            .rev()
            .find_map(|s| s.experiment.as_ref())
    }

    /// Shows step `index`; `generation` is the worker's newest generation when its
    /// experiment was sent (`None` when the step keeps the current experiment).
    pub fn go_to(&mut self, index: usize, loaded_after: Option<u64>) {
        if let Some(open) = &mut self.open
            && index < open.lesson.steps.len()
        {
            open.index = index;
            open.loaded_after = loaded_after;
            open.seen_unfinished = false;
            open.choice = None;
            open.tabs_opened.clear();
        }
    }

    /// Whether the step keeps `control` from being changed.
    pub fn locks(&self, control: Control) -> bool {
        self.step()
            .is_some_and(|s| s.lock.iter().any(|n| Control::named(n) == Some(control)))
    }

    /// Whether the step hides `control`.
    pub fn hides(&self, control: Control) -> bool {
        self.step()
            .is_some_and(|s| s.hide.iter().any(|n| Control::named(n) == Some(control)))
    }

    /// The Live tiles holding the regions the step outlines (none when it outlines nothing
    /// there, e.g. only a parameter).
    pub fn highlighted_panes(&self) -> Vec<crate::ui::widgets::layout::LivePane> {
        let mut panes = Vec::new();
        for pane in self
            .highlighted_regions()
            .into_iter()
            .filter_map(crate::ui::widgets::layout::LivePane::holding)
        {
            if !panes.contains(&pane) {
                panes.push(pane);
            }
        }
        panes
    }

    /// The regions of the Live page the step points at (parameter names are not regions).
    pub fn highlighted_regions(&self) -> Vec<Region> {
        self.step()
            .map(|s| s.highlight.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|name| Region::named(name))
            .collect()
    }

    /// The parameter keys the step names: outlined, or in a condition to meet.
    pub fn step_param_keys(&self) -> Vec<String> {
        let Some(step) = self.step() else {
            return Vec::new();
        };
        let mut keys: Vec<String> = step
            .highlight
            .iter()
            .filter(|n| Param::named(n).is_some())
            .cloned()
            .collect();
        for condition in &step.done_when {
            if let Condition::ParamBetween { key, .. } = condition
                && !keys.contains(key)
            {
                keys.push(key.clone());
            }
        }
        keys
    }

    /// Whether the step keeps parameter `key` from being changed.
    pub fn locks_param(&self, key: &str) -> bool {
        self.step().is_some_and(|s| s.lock.iter().any(|n| n == key))
    }

    /// The parameter keys the step locks and hides.
    pub fn restricted_params(&self) -> (Vec<String>, Vec<String>) {
        self.step()
            .map(|s| (s.lock.clone(), s.hide.clone()))
            .unwrap_or_default()
    }

    /// Follows the run: remembers tabs opened and whether the learner's run has started.
    pub fn observe(&mut self, world: LessonWorld<'_>) {
        let fresh = self.fresh(world.snapshot);
        let Some(open) = &mut self.open else {
            return;
        };
        let tab = lesson_tab(world.tab);
        if !open.tabs_opened.contains(&tab) {
            open.tabs_opened.push(tab);
        }
        if fresh
            && world
                .snapshot
                .is_some_and(|s| s.state != RunState::Finished)
        {
            open.seen_unfinished = true;
        }
    }

    /// Whether the snapshot shows the step's experiment (not the one it replaced).
    fn fresh(&self, snapshot: Option<&Snapshot>) -> bool {
        let Some(open) = &self.open else {
            return false;
        };
        match (open.loaded_after, snapshot) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(before), Some(s)) => s.generation > before && s.run.is_some(),
        }
    }

    /// Whether the question's answer may show: the learner has run the step's experiment to
    /// its end.
    pub fn answer_revealed(&self, world: LessonWorld<'_>) -> bool {
        let Some(open) = &self.open else {
            return false;
        };
        open.seen_unfinished
            && self.fresh(world.snapshot)
            && world
                .snapshot
                .is_some_and(|s| s.state == RunState::Finished)
    }

    /// What the step still needs before Next, in words (empty: Next may be pressed).
    pub fn still_needed(&self, world: LessonWorld<'_>) -> Vec<String> {
        let Some(step) = self.step() else {
            return Vec::new();
        };
        let fresh = self.fresh(world.snapshot);
        step.done_when
            .iter()
            .filter(|c| !fresh || !self.holds(c, world))
            .map(|c| describe(c, world.snapshot))
            .collect()
    }

    /// Whether Next may be pressed.
    pub fn can_advance(&self, world: LessonWorld<'_>) -> bool {
        self.open
            .as_ref()
            .is_some_and(|o| o.index + 1 < o.lesson.steps.len())
            && self.still_needed(world).is_empty()
    }

    fn holds(&self, condition: &Condition, world: LessonWorld<'_>) -> bool {
        let Some(snapshot) = world.snapshot else {
            return false;
        };
        match condition {
            Condition::Past(slot) => {
                let end = snapshot.run.as_ref().and_then(|run| {
                    run.slots
                        .iter()
                        .find(|s| s.phase == slot.phase && s.token + 1 == slot.token)
                        .map(|s| s.end_step())
                });
                end.is_some_and(|end| snapshot.step >= end)
            }
            Condition::ReadCompleted(k) => snapshot.rows_completed >= *k,
            Condition::ParamBetween { key, low, high } => {
                Param::named(key).is_some_and(|p| match p.get(&snapshot.params) {
                    Value::Real(v) => *low <= v && v <= *high,
                    Value::Whole(v) => *low <= v as f64 && v as f64 <= *high,
                    Value::Choice(_) => false,
                })
            }
            Condition::TokenSelected(t) => world.selected_tokens.contains(&(t - 1)),
            Condition::TabOpened(tab) => self
                .open
                .as_ref()
                .is_some_and(|o| o.tabs_opened.contains(tab)),
        }
    }

    /// The panel. Pushes Next / Back / Leave as commands.
    pub fn ui(&mut self, ui: &mut egui::Ui, world: LessonWorld<'_>, out: &mut Vec<AppCommand>) {
        self.observe(world);
        let revealed = self.answer_revealed(world);
        let needed = self.still_needed(world);
        let can_advance = self.can_advance(world);
        let Some(open) = &mut self.open else {
            return;
        };
        let count = open.lesson.steps.len();
        let index = open.index;
        let step = &open.lesson.steps[index];
        ui.add_space(6.0);
        ui.add(egui::Label::new(RichText::new(&open.lesson.title).size(21.0).strong()).wrap());
        ui.label(
            RichText::new(format!("step {} of {count}", index + 1))
                .size(16.0)
                .strong()
                .color(HIGHLIGHT),
        );
        ui.separator();
        // Buttons stay at the bottom, in sight, whatever the text's length.
        egui::Panel::bottom("lesson buttons")
            .show_separator_line(true)
            .show(ui, |ui| {
                ui.add_space(4.0);
                ui.horizontal(|ui| {
                    let back = ui
                        .add_enabled(
                            index > 0,
                            egui::Button::new(RichText::new("Back").size(16.0)),
                        )
                        .on_hover_text("The previous step, with its experiment (Page Up)");
                    if back.clicked() {
                        out.push(AppCommand::LessonBack);
                    }
                    let last = index + 1 == count;
                    let next_label = if last { "Finish" } else { "Next" };
                    let next = ui
                        .add_enabled(
                            can_advance || (last && needed.is_empty()),
                            egui::Button::new(RichText::new(next_label).size(16.0).strong()),
                        )
                        .on_hover_text(if last {
                            "Leave the lesson: it is complete"
                        } else {
                            "The next step (Page Down)"
                        });
                    if next.clicked() {
                        out.push(if last {
                            AppCommand::LeaveLesson
                        } else {
                            AppCommand::LessonNext
                        });
                    }
                    // A narrow (presented) panel keeps the button whole with its short name.
                    let leave = if ui.available_width() < 110.0 {
                        "Leave"
                    } else {
                        "Leave lesson"
                    };
                    if ui
                        .button(RichText::new(leave).size(14.0))
                        .on_hover_text("Close the lesson; the experiment stays as it is")
                        .clicked()
                    {
                        out.push(AppCommand::LeaveLesson);
                    }
                });
                ui.add_space(4.0);
            });
        // The figures the step quotes stay in sight above the buttons while the learner reads
        // (and scrolls) the text, the question and its explanation: a long step at 1280×800
        // pushed a box under its text below the fold. A box taller than half the panel
        // scrolls on its own, so the text keeps the other half. Presented (F5), the panel is
        // narrow and magnified: there the box follows the text, which keeps its room.
        let has_box = super::lesson_figures::has_box(&open.lesson, index);
        let pinned = !world.presented && has_box;
        // A question's figures would answer it: they wait for the answer.
        let figures_shown = step.question.is_none() || revealed;
        let figures_box = |ui: &mut egui::Ui| {
            super::lesson_figures::ui(
                ui,
                &open.lesson,
                index,
                (world.snapshot, world.history),
                figures_shown,
            );
        };
        if pinned {
            let most = (ui.available_height() * FIGURES_SHARE).max(80.0);
            let shown_box = egui::Panel::bottom("lesson figures")
                .show_separator_line(false)
                .resizable(false)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical()
                        .id_salt("lesson figures scroll")
                        .max_height(most)
                        .show(ui, figures_box);
                    ui.add_space(4.0);
                });
            // The panel takes the height its content had last frame: when that changed (a
            // new step, the answer revealed), draw again at once, or an idle window would
            // keep the box cut until the next event.
            let height = shown_box.response.rect.height();
            let id = egui::Id::unique("lesson figures height");
            let before: Option<f32> = ui.data_mut(|d| {
                let before = d.get_temp(id);
                d.insert_temp(id, height);
                before
            });
            if before.is_none_or(|h| (h - height).abs() > 0.5) {
                ui.ctx().request_repaint();
            }
        }
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.add(egui::Label::new(emphasised(ui, &step.text, TEXT_SIZE)).wrap());
                if let Some(question) = &step.question {
                    ui.add_space(10.0);
                    ui.label(
                        RichText::new(format!("Predict: {}", question.prompt))
                            .size(TEXT_SIZE)
                            .strong(),
                    );
                    for (i, choice) in question.choices.iter().enumerate() {
                        let picked = open.choice == Some(i);
                        if ui
                            .radio(picked, RichText::new(choice).size(TEXT_SIZE - 1.0))
                            .clicked()
                        {
                            open.choice = Some(i);
                        }
                    }
                    ui.add_space(4.0);
                    if revealed {
                        let right = &question.choices[question.answer];
                        let verdict = match open.choice {
                            Some(c) if c == question.answer => "You predicted it. ",
                            Some(_) => "Not what you predicted. ",
                            None => "",
                        };
                        ui.add(
                            egui::Label::new(
                                RichText::new(format!("{verdict}Answer: {right}."))
                                    .size(TEXT_SIZE)
                                    .strong()
                                    .color(theme::OK),
                            )
                            .wrap(),
                        );
                        ui.add(
                            egui::Label::new(emphasised(ui, &question.why, TEXT_SIZE - 1.0)).wrap(),
                        );
                    } else {
                        ui.label(
                            RichText::new(
                                "The answer shows once you have run the experiment to its end \
                                 (Run, or End).",
                            )
                            .size(14.0)
                            .color(theme::CAPTION),
                        );
                    }
                }
                if !pinned && has_box {
                    ui.add_space(10.0);
                    figures_box(ui);
                }
                if !needed.is_empty() {
                    ui.add_space(10.0);
                    ui.label(RichText::new("Before Next:").size(15.0).strong());
                    for need in &needed {
                        ui.label(RichText::new(format!("– {need}")).size(15.0));
                    }
                }
            });
    }

    /// Outlines the step's highlighted regions over everything else.
    pub fn paint_highlights(&self, ctx: &egui::Context) {
        let Some(step) = self.step() else {
            return;
        };
        let painter = ctx.layer_painter(egui::LayerId::new(
            egui::Order::Foreground,
            egui::Id::unique("lesson highlights"),
        ));
        for name in &step.highlight {
            if let Some(rect) = regions::rect(ctx, name) {
                painter.rect_stroke(
                    rect.expand(3.0),
                    6.0,
                    egui::Stroke::new(3.5, HIGHLIGHT),
                    egui::StrokeKind::Outside,
                );
            }
        }
    }
}

/// A condition still to meet, as an instruction.
fn describe(condition: &Condition, snapshot: Option<&Snapshot>) -> String {
    match condition {
        Condition::Past(slot) => format!(
            "play through {} slot {} (Step slot, Shift + Right arrow)",
            slot.phase.name(),
            slot.token
        ),
        Condition::ReadCompleted(k) => format!("run until read slot {k} is complete"),
        Condition::ParamBetween { key, low, high } => {
            let now = snapshot
                .and_then(|s| Param::named(key).map(|p| p.get(&s.params).to_string()))
                .map(|v| format!(" (now {v})"))
                .unwrap_or_default();
            let name = crate::ui::views::params::panel_label(key).unwrap_or(key);
            format!("set {name} between {low} and {high}{now}")
        }
        // Lessons count tokens from 1; the learner sees the token's own label as well.
        Condition::TokenSelected(t) => match snapshot.and_then(|s| s.run.as_ref()) {
            Some(run) if (1..=run.tokens.len()).contains(t) => format!(
                "select {}",
                crate::ui::views::selection::token_name(&run.tokens, t - 1)
            ),
            _ => format!("select token {t}"),
        },
        Condition::TabOpened(tab) => format!("open the {} tab", tab.name()),
    }
}

/// `text` with `*emphasis*` shown strong, wrapped to the panel.
fn emphasised(ui: &egui::Ui, text: &str, size: f32) -> LayoutJob {
    let mut job = LayoutJob::default();
    let plain = TextFormat {
        font_id: egui::FontId::proportional(size),
        color: ui.visuals().text_color(),
        ..Default::default()
    };
    let strong = TextFormat {
        color: ui.visuals().strong_text_color(),
        underline: egui::Stroke::NONE,
        ..plain.clone()
    };
    for (i, part) in text.split('*').enumerate() {
        let format = if i % 2 == 1 { &strong } else { &plain };
        job.append(part, 0.0, format.clone());
    }
    job
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_condition_names_the_parameter_as_the_panel_does() {
        let condition = Condition::ParamBetween {
            key: "tau_calcium".into(),
            low: 50.0,
            high: 150.0,
        };
        assert_eq!(
            describe(&condition, None),
            "set τ_c calcium between 50 and 150"
        );
    }
}
