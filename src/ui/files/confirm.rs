//! The "Discard unsaved changes?" question.

use super::FileAction;

/// The answer to "Discard unsaved changes?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscardDecision {
    /// Save first, then go on.
    Save,
    /// Go on without saving.
    Discard,
    /// Do nothing.
    Cancel,
}

/// A modal asking whether to discard unsaved changes before an action that would lose them
/// (quit, open another file, open an example).
#[derive(Clone, Debug, Default)]
pub struct ConfirmDiscard {
    pending: Option<(String, FileAction)>,
}

impl ConfirmDiscard {
    /// Opens the question about the document called `name`; `then` comes back with the answer.
    pub fn ask(&mut self, name: impl Into<String>, then: FileAction) {
        self.pending = Some((name.into(), then));
    }

    /// Whether the question is showing.
    pub fn is_open(&self) -> bool {
        self.pending.is_some()
    }

    /// Draws the question when open; returns the decision and the postponed action once the
    /// user answers with a button (or Escape for Cancel); a click outside is not an answer.
    pub fn ui(&mut self, ctx: &egui::Context) -> Option<(DiscardDecision, FileAction)> {
        let (name, _) = self.pending.as_ref()?;
        let question = format!("Discard unsaved changes to {name}?");
        let mut decision = None;
        let modal =
            egui::Modal::new(egui::Id::unique("tripartite.confirm_discard")).show(ctx, |ui| {
                ui.set_max_width(380.0);
                ui.heading("Unsaved changes");
                ui.label(question);
                ui.horizontal(|ui| {
                    if ui.button("Save").clicked() {
                        decision = Some(DiscardDecision::Save);
                    }
                    if ui.button("Discard").clicked() {
                        decision = Some(DiscardDecision::Discard);
                    }
                    if ui.button("Cancel").clicked() {
                        decision = Some(DiscardDecision::Cancel);
                    }
                });
            });
        // A click outside does not answer (it used to cancel the action unseen); Escape is an
        // explicit Cancel.
        if decision.is_none() && ctx.input(|i| i.key_pressed(egui::Key::Escape)) {
            decision = Some(DiscardDecision::Cancel);
        }
        let _ = modal;
        let decision = decision?;
        let (_, then) = self.pending.take()?;
        Some((decision, then))
    }
}
