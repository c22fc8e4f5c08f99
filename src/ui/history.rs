//! Undo and redo of the experiment: every parameter edit and sequence change, kept in a
//! bounded list built on [`AppCommand::inverse`], and the History window that lists them in
//! words and jumps back on a click.
//!
//! Only edits of the experiment are recorded (what the run computes); choosing a tab or a
//! traced item is not, so Ctrl+Z never surprises by moving the view. Opening a file or an
//! example starts a new history, as an editor does for a new document.

use crate::data::experiment::Experiment;
use crate::model::params::Params;
use crate::sim::compare::experiment_diff;
use crate::ui::command::{AppCommand, HistoryAction};
use std::collections::VecDeque;

/// Edits kept for undo; the oldest is dropped beyond this.
pub const HISTORY_LIMIT: usize = 200;

/// The applied edits (undo) and the undone ones (redo).
#[derive(Debug)]
pub struct EditHistory {
    done: VecDeque<AppCommand>,
    undone: Vec<AppCommand>,
    limit: usize,
}

impl Default for EditHistory {
    fn default() -> Self {
        Self::with_limit(HISTORY_LIMIT)
    }
}

/// Whether `command` edits the experiment, so that undo covers it.
pub fn is_experiment_edit(command: &AppCommand) -> bool {
    match command {
        AppCommand::EditParams { before, after } => before != after,
        AppCommand::LoadSequence { before, after } => before != after,
        AppCommand::SwitchBranch { .. } => true,
        _ => false,
    }
}

impl EditHistory {
    pub fn with_limit(limit: usize) -> Self {
        EditHistory {
            done: VecDeque::new(),
            undone: Vec::new(),
            limit: limit.max(1),
        }
    }

    /// Records an edit just carried out. A new edit clears what could be redone. Anything
    /// else (events, view changes, edits that change nothing) is ignored.
    pub fn record(&mut self, command: &AppCommand) {
        if !is_experiment_edit(command) || self.repeats_last(command) {
            return;
        }
        self.undone.clear();
        self.done.push_back(command.clone());
        while self.done.len() > self.limit {
            self.done.pop_front();
        }
    }

    /// Folds a live parameter edit made at `step`, the very step the last recorded branch
    /// began and before it has run, into that branch: the worker's branch line carries the
    /// edit, so one undo brings back the run and the panel together (issue 25). Returns whether
    /// it did.
    pub fn fold_into_branch(&mut self, step: u64, command: &AppCommand) -> bool {
        let AppCommand::EditParams { before, after } = command else {
            return false;
        };
        let Some(AppCommand::SwitchBranch {
            back: false,
            step: at,
            change,
        }) = self.done.back_mut()
        else {
            return false;
        };
        if *at != step || !self.undone.is_empty() {
            return false;
        }
        for name in crate::model::params::changed_params(before, after) {
            if !change.split(", ").any(|c| c == name) {
                if !change.is_empty() {
                    change.push_str(", ");
                }
                change.push_str(&name);
            }
        }
        true
    }

    /// Whether `command` asks for the state the last edit already reached. The parameter
    /// panel sends a live change every frame until the worker's snapshot shows it, so one
    /// edit can arrive more than once.
    fn repeats_last(&self, command: &AppCommand) -> bool {
        match (self.done.back(), command) {
            (
                Some(AppCommand::EditParams { after: last, .. }),
                AppCommand::EditParams { after, .. },
            ) => last == after,
            (
                Some(AppCommand::LoadSequence { after: last, .. }),
                AppCommand::LoadSequence { after, .. },
            ) => last == after,
            _ => false,
        }
    }

    /// Takes the last edit back: returns the command to carry out (its inverse).
    pub fn undo(&mut self) -> Option<AppCommand> {
        let edit = self.done.pop_back()?;
        let inverse = edit.inverse();
        self.undone.push(edit);
        inverse
    }

    /// Carries the last undone edit out again: returns it.
    pub fn redo(&mut self) -> Option<AppCommand> {
        let edit = self.undone.pop()?;
        self.done.push_back(edit.clone());
        Some(edit)
    }

    /// The commands that undo edits until `applied` remain, in the order to carry them out.
    pub fn jump_to(&mut self, applied: usize) -> Vec<AppCommand> {
        let mut out = Vec::new();
        while self.done.len() > applied {
            out.extend(self.undo());
        }
        out
    }

    /// Forgets everything (a new document).
    pub fn clear(&mut self) {
        self.done.clear();
        self.undone.clear();
    }

    pub fn can_undo(&self) -> bool {
        !self.done.is_empty()
    }
    pub fn can_redo(&self) -> bool {
        !self.undone.is_empty()
    }

    /// The applied edits, oldest first.
    pub fn done(&self) -> impl DoubleEndedIterator<Item = &AppCommand> + ExactSizeIterator {
        self.done.iter()
    }
    /// The undone edits, the next to redo first.
    pub fn undone(&self) -> impl Iterator<Item = &AppCommand> {
        self.undone.iter().rev()
    }

    /// What Undo would take back, in words.
    pub fn next_undo(&self) -> Option<String> {
        self.done.back().map(describe)
    }
    /// What Redo would carry out, in words.
    pub fn next_redo(&self) -> Option<String> {
        self.undone.last().map(describe)
    }
}

/// An edit in words: "m: 256 → 512", "sequence: bundled:a → bundled:b, layer: 3 → 0".
pub fn describe(command: &AppCommand) -> String {
    if let AppCommand::SwitchBranch { step, change, .. } = command {
        let with = if change.is_empty() {
            String::new()
        } else {
            format!(" ({change})")
        };
        return format!("branch at step {step}{with}");
    }
    let changes = match command {
        AppCommand::EditParams { before, after } => {
            let with = |params: &Params| Experiment {
                params: params.clone(),
                ..Experiment::default()
            };
            experiment_diff(&with(before), &with(after))
        }
        AppCommand::LoadSequence { before, after } => experiment_diff(before, after),
        _ => Vec::new(),
    };
    if changes.is_empty() {
        return "no change".into();
    }
    changes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// An edit in words as the window shows it: monospace, whose font has the arrow.
pub fn words(text: String) -> egui::RichText {
    egui::RichText::new(text).monospace()
}

/// The History window: the edits in words, the current one marked; a click jumps there.
#[derive(Debug, Default)]
pub struct HistoryWindow {
    pub open: bool,
}

impl HistoryWindow {
    /// Draws the window; an undo, redo or jump the user asks for goes to `out`.
    pub fn ui(&mut self, ctx: &egui::Context, history: &EditHistory, out: &mut Vec<AppCommand>) {
        let mut open = self.open;
        egui::Window::new("History")
            .open(&mut open)
            .default_width(320.0)
            .resizable(true)
            .show(ctx, |ui| {
                ui.horizontal(|ui| {
                    if ui
                        .add_enabled(history.can_undo(), egui::Button::new("Undo"))
                        .on_hover_text("Take back the last edit (Ctrl + Z)")
                        .clicked()
                    {
                        out.push(AppCommand::History(HistoryAction::Undo));
                    }
                    if ui
                        .add_enabled(history.can_redo(), egui::Button::new("Redo"))
                        .on_hover_text("Carry out the last undone edit again (Ctrl + Shift + Z)")
                        .clicked()
                    {
                        out.push(AppCommand::History(HistoryAction::Redo));
                    }
                });
                ui.separator();
                egui::ScrollArea::vertical()
                    .max_height(360.0)
                    .show(ui, |ui| {
                        let applied = history.done().len();
                        if ui
                            .selectable_label(applied == 0, "Start")
                            .on_hover_text("Undo every edit in the list")
                            .clicked()
                            && applied > 0
                        {
                            out.push(AppCommand::History(HistoryAction::JumpTo(0)));
                        }
                        for (index, edit) in history.done().enumerate() {
                            let current = index + 1 == applied;
                            if ui
                                .selectable_label(
                                    current,
                                    words(format!("{}. {}", index + 1, describe(edit))),
                                )
                                .on_hover_text("Go back to just after this edit")
                                .clicked()
                                && !current
                            {
                                out.push(AppCommand::History(HistoryAction::JumpTo(index + 1)));
                            }
                        }
                        for edit in history.undone() {
                            ui.label(words(format!("undone: {}", describe(edit))).weak())
                                .on_hover_text(
                                    "Redo carries this out again; a new edit forgets it",
                                );
                        }
                        if applied == 0 && !history.can_redo() {
                            ui.weak("No edits yet: parameter and sequence changes appear here.");
                        }
                    });
            });
        self.open = open;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(from: f64, to: f64) -> AppCommand {
        let at = |tau_calcium| {
            Box::new(Params {
                tau_calcium,
                ..Params::default()
            })
        };
        AppCommand::EditParams {
            before: at(from),
            after: at(to),
        }
    }

    fn tau(command: &AppCommand) -> f64 {
        match command {
            AppCommand::EditParams { after, .. } => after.tau_calcium,
            other => panic!("not a parameter edit: {other:?}"),
        }
    }

    #[test]
    fn undo_restores_the_previous_value_and_redo_reapplies() {
        let mut history = EditHistory::default();
        history.record(&edit(100.0, 55.0));
        history.record(&edit(55.0, 30.0));
        assert_eq!(history.next_undo().unwrap(), "tau_calcium: 55 → 30");
        assert_eq!(tau(&history.undo().unwrap()), 55.0);
        assert_eq!(tau(&history.undo().unwrap()), 100.0);
        assert!(history.undo().is_none());
        assert_eq!(tau(&history.redo().unwrap()), 55.0);
        assert_eq!(tau(&history.redo().unwrap()), 30.0);
        assert!(history.redo().is_none());
    }

    #[test]
    fn a_new_edit_clears_the_redo_stack_and_events_are_not_recorded() {
        let mut history = EditHistory::default();
        history.record(&edit(100.0, 55.0));
        history.undo();
        assert!(history.can_redo());
        history.record(&AppCommand::ShowParams(false));
        history.record(&edit(100.0, 100.0));
        assert!(
            history.can_redo(),
            "non-edits and no-op edits leave redo alone"
        );
        history.record(&edit(100.0, 20.0));
        assert!(!history.can_redo());
        assert_eq!(history.done().len(), 1);
        // The same edit sent again before the worker showed it is one edit.
        history.record(&edit(100.0, 20.0));
        assert_eq!(history.done().len(), 1);
        history.record(&edit(20.0, 25.0));
        assert_eq!(history.done().len(), 2);
    }

    #[test]
    fn the_history_is_bounded_and_jumps_back_in_order() {
        let mut history = EditHistory::with_limit(3);
        for k in 0..5 {
            history.record(&edit(f64::from(k), f64::from(k + 1)));
        }
        let kept: Vec<f64> = history.done().map(tau).collect();
        assert_eq!(kept, [3.0, 4.0, 5.0]);
        let undo: Vec<f64> = history.jump_to(1).iter().map(tau).collect();
        assert_eq!(undo, [4.0, 3.0]);
        assert_eq!(history.done().len(), 1);
        assert_eq!(history.undone().count(), 2);
    }
}
