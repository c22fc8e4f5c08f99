//! The app's side of A/B runs and undo: the edit history, the pinned baseline, the twin run,
//! the Edit and Ablate menus, the History window and the Compare tab.

use super::TripartiteApp;
use crate::model::params::Param;
use crate::sim::compare::{Comparison, RunRecord, Twin};
use crate::ui::actions::UserAction;
use crate::ui::command::HistoryAction;
use crate::ui::command::{AppCommand, Tab};
use crate::ui::history::{EditHistory, HistoryWindow, words};
use crate::ui::views::compare::{CompareAction, CompareData, CompareView, ablate_menu};
use crate::ui::views::learn::{LearnAction, LearnWindow, learned_params};

/// Undo history, baseline and twin.
#[derive(Default)]
pub(super) struct AbState {
    edits: EditHistory,
    window: HistoryWindow,
    baseline: Option<RunRecord>,
    twin: Option<Twin>,
    view: CompareView,
    /// Undo or redo is carrying out recorded edits: they are not recorded again.
    replaying: bool,
    /// Counts pins and twins, so that each gets fresh heatmap textures.
    pins: u64,
    twins: u64,
    /// Ablate ▸ Learn synapses… (issue 27): its window and job.
    learn: LearnWindow,
}

impl TripartiteApp {
    /// Records `command` for undo when it edits the experiment and is about to be carried out.
    pub(super) fn record_edit(&mut self, command: &AppCommand) {
        if self.loaded || self.ab.replaying {
            return;
        }
        // An edit at the step a branch just began belongs to that branch (one undo for both).
        let at_branch = self
            .history
            .snapshot
            .as_ref()
            .filter(|s| !s.timeline.scrubbed && s.timeline.branches.last() == Some(&s.step))
            .is_some_and(|s| self.ab.edits.fold_into_branch(s.step, command));
        if !at_branch {
            self.ab.edits.record(command);
        }
    }

    /// A new document starts a new edit history.
    pub(super) fn forget_edits(&mut self) {
        self.ab.edits.clear();
    }

    /// The edit history, for tests and scripts.
    pub fn edit_history(&self) -> &EditHistory {
        &self.ab.edits
    }

    /// The pinned baseline, if any.
    pub fn baseline(&self) -> Option<&RunRecord> {
        self.ab.baseline.as_ref()
    }

    /// The twin run, if any.
    pub fn twin(&self) -> Option<&Twin> {
        self.ab.twin.as_ref()
    }

    pub(super) fn handle_history(&mut self, ctx: &egui::Context, action: HistoryAction) {
        let commands: Vec<AppCommand> = match action {
            HistoryAction::Undo => self.ab.edits.undo().into_iter().collect(),
            HistoryAction::Redo => self.ab.edits.redo().into_iter().collect(),
            HistoryAction::JumpTo(applied) => self.ab.edits.jump_to(applied),
            HistoryAction::ToggleWindow => {
                self.ab.window.open = !self.ab.window.open;
                Vec::new()
            }
        };
        self.ab.replaying = true;
        for command in commands {
            self.handle(ctx, command);
        }
        self.ab.replaying = false;
    }

    pub(super) fn handle_compare(&mut self, ctx: &egui::Context, action: CompareAction) {
        match action {
            CompareAction::Pin => {
                let current = self.current_experiment();
                match RunRecord::of_history(&current, &self.history) {
                    Some(record) => {
                        self.ab.baseline = Some(record);
                        self.ab.pins += 1;
                        self.tab = Tab::Compare;
                    }
                    None => {
                        self.files.message = Some((
                            "Nothing to pin yet: there is no run on screen.".into(),
                            false,
                        ));
                    }
                }
            }
            CompareAction::Unpin => self.ab.baseline = None,
            CompareAction::RevertToBaseline => {
                let Some(baseline) = &self.ab.baseline else {
                    return;
                };
                let current = self.current_experiment();
                let target = baseline.experiment.clone();
                let same_sequence = current.source.to_string() == target.source.to_string()
                    && current.text == target.text;
                let command = if same_sequence {
                    AppCommand::EditParams {
                        before: Box::new(current.params),
                        after: Box::new(target.params),
                    }
                } else {
                    AppCommand::LoadSequence {
                        before: Box::new(current),
                        after: Box::new(target),
                    }
                };
                self.handle(ctx, command);
            }
            CompareAction::StartTwin { key, value } => {
                let reference = self.current_experiment();
                let mut variant = reference.clone();
                let changed = Param::named(&key)
                    .ok_or_else(|| format!("the twin cannot run: there is no parameter '{key}'"))
                    .and_then(|param| {
                        param
                            .set_text(&mut variant.params, &value)
                            .and_then(|()| variant.params.validate())
                            .map_err(|e| format!("the twin cannot run: {e}"))
                    });
                if let Err(reason) = changed {
                    self.files.message = Some((reason, false));
                    return;
                }
                let notify = self.context.clone();
                // The old twin (if any) stops as it is dropped.
                self.ab.twin = Some(Twin::spawn(
                    format!("{key} = {}", value.trim()),
                    reference,
                    variant,
                    move || {
                        if let Some(ctx) = notify.get() {
                            ctx.request_repaint();
                        }
                    },
                ));
                self.ab.twins += 1;
                self.tab = Tab::Compare;
            }
            CompareAction::CloseTwin => self.ab.twin = None,
            CompareAction::RunToEnd => self.worker.send(crate::sim::Command::RunToEnd),
            CompareAction::OpenLearn => self.ab.learn.open = true,
        }
    }

    /// The Learn synapses window; loading a learned network is an undoable edit of the
    /// experiment (projection = learned:FILE, m), with the random network pinned as baseline.
    fn learn_window(&mut self, ctx: &egui::Context, out: &mut Vec<AppCommand>) {
        let current = self.current_experiment();
        let Some(LearnAction::Load {
            path,
            file,
            m,
            baseline,
        }) = self.ab.learn.ui(ctx, &current)
        else {
            return;
        };
        if let Err(e) = crate::io::atomic_write(&path, &file.to_bytes()) {
            self.ab
                .learn
                .loaded(format!("Cannot write {}: {e}", path.display()));
            return;
        }
        let id = crate::model::learned::register_parsed(&path.display().to_string(), *file);
        let after = learned_params(
            &current.params,
            crate::model::params::Projection::Learned(id),
            m,
        );
        self.ab.learn.loaded(format!(
            "Wrote {} and loaded it; the random network is the baseline in the Compare tab.",
            path.display()
        ));
        if let Some(record) = baseline {
            self.ab.baseline = Some(*record);
            self.ab.pins += 1;
        }
        out.push(AppCommand::EditParams {
            before: Box::new(current.params),
            after: Box::new(after),
        });
        self.tab = Tab::Compare;
    }

    /// The Learn synapses window's state (tests).
    pub fn learn_window_state(&self) -> &LearnWindow {
        &self.ab.learn
    }

    /// The Edit menu: undo, redo, the history, and the baseline.
    pub(super) fn edit_menu(&mut self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        let (undo, redo) = (self.ab.edits.next_undo(), self.ab.edits.next_redo());
        let pinned = self.ab.baseline.is_some();
        ui.menu_button("Edit", |ui| {
            let items = [
                (
                    UserAction::Undo,
                    undo.is_some(),
                    undo.map(|u| format!("Undo {u}")),
                ),
                (
                    UserAction::Redo,
                    redo.is_some(),
                    redo.map(|r| format!("Redo {r}")),
                ),
                (UserAction::ShowHistory, true, None),
                (UserAction::PinBaseline, true, None),
                (UserAction::RevertToBaseline, pinned, None),
            ];
            for (index, (action, enabled, tooltip)) in items.into_iter().enumerate() {
                if index == 3 {
                    ui.separator();
                }
                let mut button = egui::Button::new(action.label());
                if let Some(keys) = action.shortcut() {
                    button = button.shortcut_text(ui.ctx().format_shortcut(&keys));
                }
                let tooltip = match tooltip {
                    Some(text) => words(text),
                    None => egui::RichText::new(action.spec().tooltip),
                };
                if ui
                    .add_enabled(enabled, button)
                    .on_hover_text(tooltip)
                    .clicked()
                {
                    out.push(action.command(false));
                    ui.close();
                }
            }
            if pinned
                && ui
                    .button("Unpin baseline")
                    .on_hover_text("Forget the pinned baseline")
                    .clicked()
            {
                out.push(AppCommand::Compare(CompareAction::Unpin));
                ui.close();
            }
        });
        let current = self.current_experiment();
        ablate_menu(ui, &current, out);
    }

    /// The History window, when open.
    pub(super) fn history_window(&mut self, ctx: &egui::Context, out: &mut Vec<AppCommand>) {
        self.learn_window(ctx, out);
        if !self.ab.window.open {
            return;
        }
        self.ab.window.ui(ctx, &self.ab.edits, out);
    }

    /// The Compare tab.
    pub(super) fn compare_page(&mut self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        if let Some(twin) = &mut self.ab.twin {
            twin.poll();
        }
        let current = self.current_experiment();
        let baseline = self.ab.baseline.as_ref().and_then(|reference| {
            Some(Comparison {
                reference: reference.clone(),
                other: RunRecord::of_history(&current, &self.history)?,
            })
        });
        let data = CompareData {
            baseline: baseline.as_ref(),
            twin: self.ab.twin.as_ref().map(|t| (t.label.as_str(), t.state())),
            current: &current,
            baseline_version: (self.ab.pins << 40) ^ self.history.attention_version,
            twin_version: self.ab.twins,
        };
        self.ab.view.ui(ui, &data, out);
    }
}
