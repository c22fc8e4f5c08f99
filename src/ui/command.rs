//! [`AppCommand`]: everything a view, a menu, a key or a dialog can ask of the app, in one
//! type. Views push commands while they draw; the app carries them out in one place
//! (`app::handling`) at the end of the frame.
//!
//! Commands are the unit that undo, lessons and a timeline will record. An *edit* (a change
//! to the experiment or to what is shown) carries the state before and after, so
//! [`AppCommand::inverse`] can build the command that takes it back without looking at the
//! app. Everything else (running, stepping, file actions, exports) is an *event*: it happens
//! and is not reversed. Time in the simulation is not an edit: undoing a parameter edit does
//! not rewind the run.

use crate::data::experiment::Experiment;
use crate::model::params::Params;
use crate::sim::Command;
use crate::ui::files::FileAction;
use crate::ui::views::compare::CompareAction;
use crate::ui::views::selection::{Selection, TokenSelection};

/// Which page the central area shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// Graph, traces and attention of the running head.
    Live,
    /// Every head of the layer as small multiples.
    AllHeads,
    /// c_t against Z_t, and attn_tv against m.
    Sweep,
    /// The run against a pinned baseline, and twin runs.
    Compare,
}

/// What the user asked of the history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryAction {
    Undo,
    Redo,
    /// Undo until this many edits remain applied (0: back to the start of the history).
    JumpTo(usize),
    /// Show or hide the History window.
    ToggleWindow,
}

/// What the user (or a script) asked of the app.
#[derive(Clone, Debug)]
pub enum AppCommand {
    /// Sent to the simulation worker as it is (run, pause, step, speed, subset, …).
    Worker(Command),
    /// New parameters for the worker (live or rebuilding, as the worker decides). An edit.
    EditParams {
        before: Box<Params>,
        after: Box<Params>,
    },
    /// Replace the sequence source and text (the picker, the source field), keeping the
    /// views' state. An edit.
    LoadSequence {
        before: Box<Experiment>,
        after: Box<Experiment>,
    },
    /// A File action (menu, shortcut or a dialog's answer). One that would lose unsaved
    /// changes asks first.
    File(FileAction),
    /// A File action the user already agreed may discard unsaved changes.
    FileConfirmed(FileAction),
    /// Trace this item (or nothing). An edit.
    Select {
        before: Option<Selection>,
        after: Option<Selection>,
    },
    /// Show this page. An edit.
    ShowTab {
        before: Tab,
        after: Tab,
    },
    /// Show or hide the parameter panel. An edit.
    ShowParams(bool),
    /// Open this head in the Live tab (from the all-heads overview).
    OpenHead {
        layer: usize,
        head: usize,
    },
    ToggleHelp,
    /// Clear the selection and close the help.
    Escape,
    /// Hide the last file message.
    DismissMessage,
    /// Branch at the shown (earlier) time: discard the run's future and go on from there, with
    /// these parameters if given, running if `run`.
    Branch {
        params: Option<Box<Params>>,
        run: bool,
        /// Pin the run as it was (the live, whole run, not the shown time) as the A/B
        /// baseline first, so that the Compare tab sets the old future against the new one.
        keep_baseline: bool,
    },
    /// Leave the shown earlier time and go on from the present, with these parameters if given,
    /// running if `run`.
    ContinueFromPresent {
        params: Option<Box<Params>>,
        run: bool,
    },
    /// Close the branch question without doing anything.
    DismissBranchQuestion,
    /// Open or close the per-query diagnostics window.
    TogglePerQuery,
    /// Undo, redo or jump in the edit history (an event: it carries out recorded edits).
    History(HistoryAction),
    /// Pin or revert to a baseline, start or close a twin run.
    Compare(CompareAction),
    /// Select these query rows and key columns in every view (the linked token selection).
    /// An edit.
    SelectTokens {
        before: TokenSelection,
        after: TokenSelection,
    },
    /// Move the token selection `step` tokens along `axis` (the arrow keys on a focused
    /// matrix); carried out as the [`AppCommand::SelectTokens`] edit it amounts to.
    MoveTokens {
        axis: crate::ui::views::selection::TokenAxis,
        step: isize,
    },
    /// Undo (`back`) or redo the branch at `step` (`change`: what it changed, in words). An
    /// edit: carrying out a [`AppCommand::Branch`] records it, so that Ctrl+Z brings back the
    /// run as it was before the branch.
    SwitchBranch {
        back: bool,
        step: u64,
        change: String,
    },
    /// Enter or leave presentation mode (F5). An edit.
    TogglePresentation,
    /// Show or hide the welcome panel. An edit.
    ShowWelcome(bool),
    /// Start bundled lesson `n` (in the order `tripartite lessons` lists them) at its first
    /// step; asks first when unsaved changes would be lost.
    StartLesson(usize),
    /// The lesson's next step, when its `done_when` holds (Next, Page Down).
    LessonNext,
    /// The lesson's previous step, with its experiment restored (Back, Page Up).
    LessonBack,
    /// Close the lesson; the experiment stays as it is.
    LeaveLesson,
    /// With a whole layer live: open head `after` in the single-head views (None: show the
    /// whole layer again). An edit.
    FocusHead {
        before: Option<usize>,
        after: Option<usize>,
    },
    /// Back from an opened head to the whole layer (the Back button and its key).
    BackToLayer,
    /// Run every head of `layer` live (heads = all) and show it in the Live tab.
    RunLayerLive {
        layer: usize,
    },
}

impl AppCommand {
    /// Whether this changes the experiment or the view in a way [`Self::inverse`] can undo.
    pub fn is_edit(&self) -> bool {
        self.inverse().is_some()
    }

    /// The command that undoes this one, for edits; `None` for events.
    pub fn inverse(&self) -> Option<AppCommand> {
        Some(match self {
            AppCommand::EditParams { before, after } => AppCommand::EditParams {
                before: after.clone(),
                after: before.clone(),
            },
            AppCommand::LoadSequence { before, after } => AppCommand::LoadSequence {
                before: after.clone(),
                after: before.clone(),
            },
            AppCommand::Select { before, after } => AppCommand::Select {
                before: *after,
                after: *before,
            },
            AppCommand::ShowTab { before, after } => AppCommand::ShowTab {
                before: *after,
                after: *before,
            },
            AppCommand::ShowParams(shown) => AppCommand::ShowParams(!shown),
            AppCommand::ToggleHelp => AppCommand::ToggleHelp,
            AppCommand::SelectTokens { before, after } => AppCommand::SelectTokens {
                before: after.clone(),
                after: before.clone(),
            },
            AppCommand::TogglePresentation => AppCommand::TogglePresentation,
            AppCommand::SwitchBranch { back, step, change } => AppCommand::SwitchBranch {
                back: !back,
                step: *step,
                change: change.clone(),
            },
            AppCommand::ShowWelcome(shown) => AppCommand::ShowWelcome(!shown),
            AppCommand::FocusHead { before, after } => AppCommand::FocusHead {
                before: *after,
                after: *before,
            },
            AppCommand::Worker(_)
            | AppCommand::File(_)
            | AppCommand::FileConfirmed(_)
            | AppCommand::OpenHead { .. }
            | AppCommand::Escape
            | AppCommand::DismissMessage
            | AppCommand::Branch { .. }
            | AppCommand::ContinueFromPresent { .. }
            | AppCommand::DismissBranchQuestion
            | AppCommand::TogglePerQuery
            | AppCommand::History(_)
            | AppCommand::Compare(_)
            | AppCommand::StartLesson(_)
            | AppCommand::LessonNext
            | AppCommand::LessonBack
            | AppCommand::LeaveLesson
            | AppCommand::MoveTokens { .. }
            | AppCommand::BackToLayer
            | AppCommand::RunLayerLive { .. } => return None,
        })
    }

    /// The command a worker command from a view stands for: a parameter change becomes an
    /// edit from `current` (the worker's parameters now), a new experiment a sequence change
    /// from `loaded`.
    pub fn from_worker(command: Command, current: &Params, loaded: &Experiment) -> AppCommand {
        match command {
            Command::SetParams(after) => AppCommand::EditParams {
                before: Box::new(current.clone()),
                after: Box::new(after),
            },
            Command::LoadExperiment(after) => AppCommand::LoadSequence {
                before: Box::new(Experiment {
                    params: current.clone(),
                    ..loaded.clone()
                }),
                after,
            },
            other => AppCommand::Worker(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_invert_to_their_before_state_and_back() {
        let before = Params::default();
        let after = Params {
            tau_calcium: 55.0,
            ..Params::default()
        };
        let edit = AppCommand::from_worker(
            Command::SetParams(after.clone()),
            &before,
            &Experiment::default(),
        );
        let AppCommand::EditParams {
            before: b,
            after: a,
        } = edit.inverse().unwrap()
        else {
            panic!("a parameter edit inverts to a parameter edit");
        };
        assert_eq!((*b, *a), (after.clone(), before.clone()));

        let select = AppCommand::Select {
            before: None,
            after: Some(Selection::Astrocyte),
        };
        let Some(AppCommand::Select { before, after }) =
            select.inverse().and_then(|undo| undo.inverse())
        else {
            panic!("a selection inverts twice to itself");
        };
        assert_eq!((before, after), (None, Some(Selection::Astrocyte)));
        let tab = AppCommand::ShowTab {
            before: Tab::Live,
            after: Tab::Sweep,
        };
        assert!(matches!(
            tab.inverse(),
            Some(AppCommand::ShowTab {
                before: Tab::Sweep,
                after: Tab::Live
            })
        ));
    }

    #[test]
    fn running_and_file_actions_are_events_not_edits() {
        assert!(!AppCommand::Worker(Command::Run).is_edit());
        assert!(!AppCommand::File(FileAction::Save).is_edit());
        assert!(!AppCommand::Escape.is_edit());
        assert!(AppCommand::ShowParams(false).is_edit());
        let load = AppCommand::from_worker(
            Command::LoadExperiment(Box::default()),
            &Params::default(),
            &Experiment::default(),
        );
        assert!(load.is_edit());
    }
}
