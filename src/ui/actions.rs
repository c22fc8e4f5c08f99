//! Every named user action (a button, a menu item, a key), declared once with its label,
//! tooltip, keyboard shortcuts and help line. The controls, the File menu, the help window and
//! the shortcut handler all read these declarations, so they cannot drift apart.
//!
//! Adding an action: one variant in [`UserAction`], its row in [`UserAction::spec`], and what it
//! does in [`UserAction::command`]; the shortcut and the help line then work by themselves.

use crate::sim::Command;
use crate::ui::command::AppCommand;
use crate::ui::command::HistoryAction;
use crate::ui::files::{DialogKind, FileAction};
use crate::ui::views::compare::CompareAction;
use crate::ui::views::selection::TokenAxis;
use egui::{Key, KeyboardShortcut, Modifiers};

/// A user action that has a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UserAction {
    RunPause,
    StepSlot,
    StepDt,
    RunToEnd,
    Reset,
    ToggleHelp,
    Escape,
    OpenExperiment,
    SaveExperimentAs,
    SaveExperiment,
    ImportQkvFolder,
    OpenModelFolder,
    /// File ▸ Open image: a PNG or JPEG read by the current ViT.
    OpenImage,
    ShowDescription,
    Quit,
    /// File ▸ Save state: the run's whole state, to continue later (here or with `run --resume`).
    SaveState,
    /// File ▸ Open state.
    OpenState,
    /// View ▸ Per-query diagnostics: one bar per query row, sortable.
    PerQuery,
    /// The timeline: back to the start of the run.
    TimelineStart,
    /// The timeline: one step (dt) back.
    TimelineStepBack,
    /// The timeline: one step forward.
    TimelineStepForward,
    /// The timeline: back to the previous slot boundary.
    TimelineSlotBack,
    /// The timeline: on to the next slot boundary.
    TimelineSlotForward,
    Undo,
    Redo,
    ShowHistory,
    PinBaseline,
    RevertToBaseline,
    Presentation,
    Welcome,
    NextLessonStep,
    PreviousLessonStep,
    OpenLesson,
    /// With a matrix focused: Up / Down move the selected query row.
    MatrixQueryRow,
    /// With a matrix focused: Left / Right move the selected key column.
    MatrixKeyColumn,
    /// From a head opened in a live layer back to the whole layer.
    BackToLayer,
}

/// Where a shortcut applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Only when no text field has the keyboard (plain keys such as Space or R).
    Simulation,
    /// Always (keys with Ctrl/Cmd, which typing never produces).
    Global,
    /// Only while an attention matrix has the keyboard focus, where they take precedence
    /// over the same keys' other actions (the arrows step the simulation elsewhere).
    FocusedMatrix,
}

/// The one declaration of a user action.
#[derive(Clone, Copy, Debug)]
pub struct ActionSpec {
    /// The button or menu text.
    pub label: &'static str,
    /// What the action does, for hover text (the keys are appended by [`UserAction::tooltip`]).
    pub tooltip: &'static str,
    /// The keys that trigger it.
    pub shortcuts: &'static [KeyboardShortcut],
    /// The keys as the help window names them.
    pub keys: &'static str,
    /// The help window's line for it; `None` keeps it out of the help window.
    pub help: Option<&'static str>,
    pub scope: Scope,
}

const fn key(modifiers: Modifiers, key: Key) -> KeyboardShortcut {
    KeyboardShortcut::new(modifiers, key)
}

const SPACE: &[KeyboardShortcut] = &[key(Modifiers::NONE, Key::Space)];
const RIGHT: &[KeyboardShortcut] = &[key(Modifiers::NONE, Key::ArrowRight)];
const SHIFT_RIGHT: &[KeyboardShortcut] = &[key(Modifiers::SHIFT, Key::ArrowRight)];
const END: &[KeyboardShortcut] = &[key(Modifiers::NONE, Key::End)];
const R: &[KeyboardShortcut] = &[key(Modifiers::NONE, Key::R)];
const HOME: &[KeyboardShortcut] = &[key(Modifiers::NONE, Key::Home)];
const COMMA: &[KeyboardShortcut] = &[key(Modifiers::NONE, Key::Comma)];
const PERIOD: &[KeyboardShortcut] = &[key(Modifiers::NONE, Key::Period)];
const CTRL_LEFT: &[KeyboardShortcut] = &[key(Modifiers::COMMAND, Key::ArrowLeft)];
const CTRL_RIGHT: &[KeyboardShortcut] = &[key(Modifiers::COMMAND, Key::ArrowRight)];
const ESCAPE: &[KeyboardShortcut] = &[key(Modifiers::NONE, Key::Escape)];
const CTRL_O: &[KeyboardShortcut] = &[key(Modifiers::COMMAND, Key::O)];
const CTRL_SHIFT_S: &[KeyboardShortcut] = &[key(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::S)];
const CTRL_S: &[KeyboardShortcut] = &[key(Modifiers::COMMAND, Key::S)];
const CTRL_Z: &[KeyboardShortcut] = &[key(Modifiers::COMMAND, Key::Z)];
const CTRL_SHIFT_Z: &[KeyboardShortcut] = &[key(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::Z)];
const F5: &[KeyboardShortcut] = &[key(Modifiers::NONE, Key::F5)];
const PAGE_DOWN: &[KeyboardShortcut] = &[key(Modifiers::NONE, Key::PageDown)];
const PAGE_UP: &[KeyboardShortcut] = &[key(Modifiers::NONE, Key::PageUp)];
/// The backward key first, then the forward one (see [`UserAction::matrix_moves`]).
const UP_DOWN: &[KeyboardShortcut] = &[
    key(Modifiers::NONE, Key::ArrowUp),
    key(Modifiers::NONE, Key::ArrowDown),
];
const LEFT_RIGHT: &[KeyboardShortcut] = &[
    key(Modifiers::NONE, Key::ArrowLeft),
    key(Modifiers::NONE, Key::ArrowRight),
];
const BACKSPACE: &[KeyboardShortcut] = &[key(Modifiers::NONE, Key::Backspace)];
const F1_OR_QUESTION: &[KeyboardShortcut] = &[
    key(Modifiers::NONE, Key::F1),
    key(Modifiers::NONE, Key::Questionmark),
];

impl UserAction {
    /// Every action, in the order the help window lists them.
    pub const ALL: [UserAction; 36] = [
        UserAction::RunPause,
        UserAction::StepDt,
        UserAction::StepSlot,
        UserAction::RunToEnd,
        UserAction::Reset,
        UserAction::ToggleHelp,
        UserAction::Escape,
        UserAction::OpenExperiment,
        UserAction::SaveExperiment,
        UserAction::SaveExperimentAs,
        UserAction::ImportQkvFolder,
        UserAction::OpenModelFolder,
        UserAction::OpenImage,
        UserAction::ShowDescription,
        UserAction::Quit,
        UserAction::SaveState,
        UserAction::OpenState,
        UserAction::PerQuery,
        UserAction::TimelineStart,
        UserAction::TimelineStepBack,
        UserAction::TimelineStepForward,
        UserAction::TimelineSlotBack,
        UserAction::TimelineSlotForward,
        UserAction::Undo,
        UserAction::Redo,
        UserAction::ShowHistory,
        UserAction::PinBaseline,
        UserAction::RevertToBaseline,
        UserAction::Presentation,
        UserAction::Welcome,
        UserAction::NextLessonStep,
        UserAction::PreviousLessonStep,
        UserAction::OpenLesson,
        UserAction::MatrixQueryRow,
        UserAction::MatrixKeyColumn,
        UserAction::BackToLayer,
    ];

    /// The declaration.
    pub const fn spec(self) -> ActionSpec {
        use Scope::FocusedMatrix;
        use Scope::{Global, Simulation};
        let (label, tooltip, shortcuts, keys, help, scope): (
            &str,
            &str,
            &'static [KeyboardShortcut],
            &str,
            Option<&str>,
            Scope,
        ) = match self {
            UserAction::RunPause => (
                "Run",
                "Run or pause the simulation",
                SPACE,
                "Space",
                Some("Run / pause"),
                Simulation,
            ),
            UserAction::StepDt => (
                "Step dt",
                "Advance one Euler step",
                RIGHT,
                "Right arrow",
                Some("Step one dt"),
                Simulation,
            ),
            UserAction::StepSlot => (
                "Step slot",
                "Advance to the end of the current slot",
                SHIFT_RIGHT,
                "Shift + Right arrow",
                Some("Step to the end of the current slot"),
                Simulation,
            ),
            UserAction::RunToEnd => (
                "Run to end",
                "Run at full speed to the end of the schedule",
                END,
                "End",
                Some("Run to the end (while looking back on the timeline: back to the present)"),
                Simulation,
            ),
            UserAction::Reset => (
                "Reset",
                "Rebuild the simulation at t = 0; also recovers from an error",
                R,
                "R",
                Some("Reset: rebuild at t = 0 (also recovers from an error)"),
                Simulation,
            ),
            UserAction::ToggleHelp => (
                "? Help",
                "Keyboard shortcuts and how to read the app",
                F1_OR_QUESTION,
                "F1 or ?",
                Some("Show or hide this help"),
                Simulation,
            ),
            UserAction::Escape => (
                "Clear",
                "Clear the selection (graph and tokens) and close the help; in presentation mode, \
                 leave it",
                ESCAPE,
                "Esc",
                Some("Clear the selection and close this help (presentation: leave it)"),
                Simulation,
            ),
            UserAction::OpenExperiment => (
                "Open experiment…",
                "Open an experiment file (.toml): parameters plus sequence",
                CTRL_O,
                "Ctrl + O",
                Some("Open an experiment file"),
                Global,
            ),
            UserAction::SaveExperimentAs => (
                "Save experiment as…",
                "Save the experiment to a new file",
                CTRL_SHIFT_S,
                "Ctrl + Shift + S",
                Some("Save the experiment to a new file"),
                Global,
            ),
            UserAction::SaveExperiment => (
                "Save experiment",
                "Save over the experiment's file (untitled: asks where)",
                CTRL_S,
                "Ctrl + S",
                Some("Save the experiment"),
                Global,
            ),
            UserAction::ImportQkvFolder => (
                "Import Q/K/V folder…",
                "A folder holding q.npy, k.npy and v.npy (tokens.txt optional)",
                &[],
                "",
                None,
                Global,
            ),
            UserAction::OpenModelFolder => (
                "Open model folder…",
                "A folder holding model.safetensors and tokenizer.json",
                &[],
                "",
                None,
                Global,
            ),
            UserAction::OpenImage => (
                "Open image…",
                "A PNG or JPEG read by the current vision transformer (the bundled digits ViT unless a ViT folder is open)",
                &[],
                "",
                None,
                Global,
            ),
            UserAction::ShowDescription => (
                "Show description",
                "Show the experiment's description again, e.g. after closing an example's banner",
                &[],
                "",
                None,
                Global,
            ),
            UserAction::Quit => ("Quit", "Close the window", &[], "", None, Global),
            UserAction::SaveState => (
                "Save state…",
                "Save the run's whole state at this moment, to continue it later (File > Open state, or `tripartite run --resume FILE`)",
                &[],
                "",
                None,
                Global,
            ),
            // Plain-key scope: while a text field has the keyboard, Ctrl+Z undoes its typing.
            UserAction::Undo => (
                "Undo",
                "Take back the last parameter or sequence change",
                CTRL_Z,
                "Ctrl + Z",
                Some("Undo the last parameter or sequence change"),
                Simulation,
            ),
            UserAction::Redo => (
                "Redo",
                "Carry out the last undone change again",
                CTRL_SHIFT_Z,
                "Ctrl + Shift + Z",
                Some("Redo"),
                Simulation,
            ),
            UserAction::ShowHistory => (
                "History…",
                "Every change in words; click one to go back to it",
                &[],
                "",
                None,
                Global,
            ),
            UserAction::OpenState => (
                "Open state…",
                "Continue a run saved with Save state or `tripartite run --save-state`",
                &[],
                "",
                None,
                Global,
            ),
            UserAction::PinBaseline => (
                "Pin as baseline",
                "Keep this run (experiment, metrics, A_net, calcium) and compare later runs \
                 with it in the Compare tab",
                &[],
                "",
                None,
                Global,
            ),
            UserAction::PerQuery => (
                "Per-query diagnostics",
                "One bar per query row: its total variation, c_t / Z_t, query norm, the estimator's own error bar and more, sortable; click a bar to select that token",
                &[],
                "",
                None,
                Global,
            ),
            UserAction::TimelineStart => (
                "Start of the run",
                "Show the start of the run on the timeline",
                HOME,
                "Home",
                Some("Timeline: show the start of the run (End: back to the present)"),
                Simulation,
            ),
            UserAction::TimelineStepBack => (
                "One step back",
                "Show the time one step (dt) earlier",
                COMMA,
                ",",
                Some("Timeline: one step back"),
                Simulation,
            ),
            UserAction::TimelineStepForward => (
                "One step forward",
                "Show the time one step (dt) later",
                PERIOD,
                ".",
                Some("Timeline: one step forward"),
                Simulation,
            ),
            UserAction::TimelineSlotBack => (
                "One slot back",
                "Show the previous slot boundary",
                CTRL_LEFT,
                "Ctrl + Left arrow",
                Some("Timeline: one slot back"),
                Global,
            ),
            UserAction::TimelineSlotForward => (
                "One slot forward",
                "Show the next slot boundary",
                CTRL_RIGHT,
                "Ctrl + Right arrow",
                Some("Timeline: one slot forward"),
                Global,
            ),
            UserAction::RevertToBaseline => (
                "Revert to baseline",
                "Restore the pinned baseline's parameters and sequence (undoable)",
                &[],
                "",
                None,
                Global,
            ),
            UserAction::Presentation => (
                "Presentation",
                "For a projector: larger type, no menus, parameters or status bar (F5 or Esc \
                 returns to the layout before)",
                F5,
                "F5",
                Some("Presentation mode on / off (Esc also leaves it)"),
                Global,
            ),
            UserAction::Welcome => (
                "Welcome",
                "The first screen again: the lesson, a working example, a real head, a file",
                &[],
                "",
                None,
                Global,
            ),
            UserAction::OpenLesson => (
                "Open lesson…",
                "Open a lesson file (.toml) and start it at its first step",
                &[],
                "",
                None,
                Global,
            ),
            UserAction::NextLessonStep => (
                "Next",
                "The lesson's next step, once this one is done (a presentation clicker sends it)",
                PAGE_DOWN,
                "Page Down",
                Some("Lesson: next step"),
                Simulation,
            ),
            UserAction::PreviousLessonStep => (
                "Back",
                "The lesson's previous step, with its experiment",
                PAGE_UP,
                "Page Up",
                Some("Lesson: previous step"),
                Simulation,
            ),
            UserAction::MatrixQueryRow => (
                "Next query row",
                "With an attention matrix focused (click it or Tab to it): move the selected \
                 query row",
                UP_DOWN,
                "Up / Down arrow",
                Some("Matrix focused (click or Tab): select the query row above / below"),
                FocusedMatrix,
            ),
            UserAction::MatrixKeyColumn => (
                "Next key column",
                "With an attention matrix focused (click it or Tab to it): move the selected \
                 key column",
                LEFT_RIGHT,
                "Left / Right arrow",
                Some("Matrix focused (click or Tab): select the key column left / right"),
                FocusedMatrix,
            ),
            UserAction::BackToLayer => (
                "Back to the layer",
                "From this head back to the whole layer, every astrocyte in one graph",
                BACKSPACE,
                "Backspace",
                Some("Live layer: from an opened head back to the whole layer"),
                Simulation,
            ),
        };
        ActionSpec {
            label,
            tooltip,
            shortcuts,
            keys,
            help,
            scope,
        }
    }

    pub fn label(self) -> &'static str {
        self.spec().label
    }

    /// The hover text, naming the keys when there are any: "Advance one Euler step (Right
    /// arrow)".
    pub fn tooltip(self) -> String {
        let spec = self.spec();
        if spec.keys.is_empty() {
            spec.tooltip.to_string()
        } else {
            format!("{} ({})", spec.tooltip, spec.keys)
        }
    }

    /// The first shortcut, for menus that show one.
    pub fn shortcut(self) -> Option<KeyboardShortcut> {
        self.spec().shortcuts.first().copied()
    }

    /// What doing the action asks of the app. `running`: whether the simulation is running
    /// (Run/Pause toggles).
    pub fn command(self, running: bool) -> AppCommand {
        let file = AppCommand::File;
        match self {
            UserAction::RunPause if running => AppCommand::Worker(Command::Pause),
            UserAction::RunPause => AppCommand::Worker(Command::Run),
            UserAction::StepDt => AppCommand::Worker(Command::StepDt),
            UserAction::StepSlot => AppCommand::Worker(Command::StepSlot),
            UserAction::RunToEnd => AppCommand::Worker(Command::RunToEnd),
            UserAction::Reset => AppCommand::Worker(Command::Reset),
            UserAction::ToggleHelp => AppCommand::ToggleHelp,
            UserAction::Escape => AppCommand::Escape,
            UserAction::OpenExperiment => file(FileAction::Choose(DialogKind::OpenExperiment)),
            UserAction::SaveExperimentAs => file(FileAction::Choose(DialogKind::SaveExperimentAs)),
            UserAction::SaveExperiment => file(FileAction::Save),
            UserAction::ImportQkvFolder => file(FileAction::Choose(DialogKind::ImportQkvFolder)),
            UserAction::OpenModelFolder => file(FileAction::Choose(DialogKind::OpenModelFolder)),
            UserAction::OpenImage => file(FileAction::Choose(DialogKind::OpenImage)),
            UserAction::ShowDescription => file(FileAction::ShowDescription),
            UserAction::Quit => file(FileAction::Quit),
            UserAction::SaveState => file(FileAction::Choose(DialogKind::SaveState)),
            UserAction::OpenState => file(FileAction::Choose(DialogKind::OpenState)),
            UserAction::PerQuery => AppCommand::TogglePerQuery,
            // Without a snapshot to measure from: the start, or the present.
            UserAction::TimelineStart => AppCommand::Worker(Command::ShowStep(Some(0))),
            UserAction::TimelineStepBack
            | UserAction::TimelineStepForward
            | UserAction::TimelineSlotBack
            | UserAction::TimelineSlotForward => AppCommand::Worker(Command::ShowStep(None)),
            UserAction::Undo => AppCommand::History(HistoryAction::Undo),
            UserAction::Redo => AppCommand::History(HistoryAction::Redo),
            UserAction::ShowHistory => AppCommand::History(HistoryAction::ToggleWindow),
            UserAction::PinBaseline => AppCommand::Compare(CompareAction::Pin),
            UserAction::RevertToBaseline => AppCommand::Compare(CompareAction::RevertToBaseline),
            UserAction::Presentation => AppCommand::TogglePresentation,
            UserAction::Welcome => AppCommand::ShowWelcome(true),
            UserAction::OpenLesson => file(FileAction::Choose(DialogKind::OpenLesson)),
            UserAction::NextLessonStep => AppCommand::LessonNext,
            UserAction::PreviousLessonStep => AppCommand::LessonBack,
            UserAction::MatrixQueryRow => AppCommand::MoveTokens {
                axis: TokenAxis::Query,
                step: 1,
            },
            UserAction::MatrixKeyColumn => AppCommand::MoveTokens {
                axis: TokenAxis::Key,
                step: 1,
            },
            UserAction::BackToLayer => AppCommand::BackToLayer,
        }
    }

    /// What the action asks of the app given the newest snapshot: the timeline's keys move from
    /// the shown time, and End returns to the present while looking back (and runs to the end
    /// otherwise). None when nothing would change.
    pub fn command_in(self, snapshot: Option<&crate::sim::Snapshot>) -> Option<AppCommand> {
        use crate::ui::views::timeline::{TimelineKey, key_command};
        let running = snapshot.is_some_and(|s| s.state == crate::sim::RunState::Running);
        let key = match self {
            UserAction::TimelineStart => TimelineKey::Start,
            UserAction::TimelineStepBack => TimelineKey::StepBack,
            UserAction::TimelineStepForward => TimelineKey::StepForward,
            UserAction::TimelineSlotBack => TimelineKey::SlotBack,
            UserAction::TimelineSlotForward => TimelineKey::SlotForward,
            UserAction::RunToEnd if snapshot.is_some_and(|s| s.timeline.scrubbed) => {
                TimelineKey::Present
            }
            _ => return Some(self.command(running)),
        };
        snapshot.and_then(|snapshot| key_command(key, snapshot))
    }

    /// Whether this is one of the run controls (run, step, run to end, reset).
    pub fn runs_the_simulation(self) -> bool {
        matches!(
            self,
            UserAction::RunPause
                | UserAction::StepDt
                | UserAction::StepSlot
                | UserAction::RunToEnd
                | UserAction::Reset
        )
    }

    /// The File action this is, for the File menu's items.
    pub fn file_action(self) -> Option<FileAction> {
        match self.command(false) {
            AppCommand::File(action) => Some(action),
            _ => None,
        }
    }

    /// The token moves whose keys were pressed this frame while a matrix has the focus,
    /// consumed from the input: each [`Scope::FocusedMatrix`] action's first key moves back
    /// one token along its axis, its second forward.
    pub fn matrix_moves(input: &mut egui::InputState) -> Vec<AppCommand> {
        let mut moves = Vec::new();
        for action in UserAction::ALL {
            let spec = action.spec();
            if spec.scope != Scope::FocusedMatrix {
                continue;
            }
            let AppCommand::MoveTokens { axis, .. } = action.command(false) else {
                continue;
            };
            for (index, shortcut) in spec.shortcuts.iter().enumerate() {
                let presses = input.count_and_consume_key(shortcut.modifiers, shortcut.logical_key);
                let step = if index == 0 { -1 } else { 1 };
                moves.extend((0..presses).map(|_| AppCommand::MoveTokens { axis, step }));
            }
        }
        moves
    }

    /// The actions whose keys were pressed this frame, consumed from the input. Plain keys are
    /// left alone while a text field has the keyboard; a focused matrix's keys are taken by
    /// [`Self::matrix_moves`] first.
    pub fn pressed(input: &mut egui::InputState, typing: bool) -> Vec<UserAction> {
        let mut keys: Vec<(UserAction, KeyboardShortcut)> = UserAction::ALL
            .iter()
            .filter(|action| action.spec().scope != Scope::FocusedMatrix)
            .filter(|action| !(typing && action.spec().scope == Scope::Simulation))
            .flat_map(|&action| action.spec().shortcuts.iter().map(move |&k| (action, k)))
            .collect();
        // egui ignores extra Shift when matching, so Shift+→ is tried before →, and
        // Ctrl+Shift+S before Ctrl+S.
        keys.sort_by_key(|(_, shortcut)| std::cmp::Reverse(modifier_count(shortcut.modifiers)));
        keys.into_iter()
            .filter(|(_, shortcut)| input.consume_shortcut(shortcut))
            .map(|(action, _)| action)
            .collect()
    }
}

fn modifier_count(m: Modifiers) -> u8 {
    [m.alt, m.ctrl, m.shift, m.mac_cmd, m.command]
        .iter()
        .map(|&on| u8::from(on))
        .sum()
}

/// A button for `action`: its label, its tooltip (with the keys), enabled or not. True when
/// clicked.
pub fn button(ui: &mut egui::Ui, action: UserAction, enabled: bool) -> bool {
    ui.add_enabled(enabled, egui::Button::new(action.label()))
        .on_hover_text(action.tooltip())
        .clicked()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_actions_share_a_key() {
        // A focused matrix's keys take precedence there, so they are checked among themselves.
        for matrix in [false, true] {
            let mut seen = Vec::new();
            for action in UserAction::ALL {
                if (action.spec().scope == Scope::FocusedMatrix) != matrix {
                    continue;
                }
                for shortcut in action.spec().shortcuts {
                    assert!(!seen.contains(shortcut), "{action:?} reuses {shortcut:?}");
                    seen.push(*shortcut);
                }
            }
        }
    }

    #[test]
    fn a_focused_matrix_takes_the_arrows_as_token_moves() {
        let mut input = egui::InputState::default();
        for key in [Key::ArrowUp, Key::ArrowRight, Key::ArrowRight] {
            input.events.push(egui::Event::Key {
                key,
                physical_key: None,
                pressed: true,
                repeat: false,
                modifiers: Modifiers::NONE,
            });
        }
        let moves = UserAction::matrix_moves(&mut input);
        assert!(matches!(
            moves.as_slice(),
            [
                AppCommand::MoveTokens {
                    axis: TokenAxis::Query,
                    step: -1
                },
                AppCommand::MoveTokens {
                    axis: TokenAxis::Key,
                    step: 1
                },
                AppCommand::MoveTokens {
                    axis: TokenAxis::Key,
                    step: 1
                },
            ]
        ));
        assert!(
            UserAction::pressed(&mut input, false).is_empty(),
            "consumed"
        );
    }

    #[test]
    fn every_action_with_keys_names_them_and_tooltips_carry_them() {
        for action in UserAction::ALL {
            let spec = action.spec();
            assert_eq!(
                spec.shortcuts.is_empty(),
                spec.keys.is_empty(),
                "{action:?}"
            );
            assert!(!spec.label.is_empty() && !spec.tooltip.is_empty());
            if !spec.keys.is_empty() {
                assert!(action.tooltip().ends_with(&format!("({})", spec.keys)));
            }
        }
        assert_eq!(
            UserAction::StepDt.tooltip(),
            "Advance one Euler step (Right arrow)"
        );
    }

    #[test]
    fn a_key_press_becomes_its_action_and_typing_keeps_plain_keys() {
        let press = |modifiers: Modifiers, key: Key, typing: bool| {
            let mut input = egui::InputState::default();
            input.modifiers = modifiers;
            input.events.push(egui::Event::Key {
                key,
                physical_key: None,
                pressed: true,
                repeat: false,
                modifiers,
            });
            UserAction::pressed(&mut input, typing)
        };
        assert_eq!(
            press(Modifiers::SHIFT, Key::ArrowRight, false),
            [UserAction::StepSlot]
        );
        assert_eq!(
            press(Modifiers::NONE, Key::ArrowRight, false),
            [UserAction::StepDt]
        );
        assert_eq!(
            press(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::S, true),
            [UserAction::SaveExperimentAs]
        );
        assert_eq!(
            press(Modifiers::COMMAND, Key::S, false),
            [UserAction::SaveExperiment]
        );
        assert_eq!(press(Modifiers::NONE, Key::Space, true), []);
        assert_eq!(press(Modifiers::COMMAND, Key::Z, false), [UserAction::Undo]);
        assert_eq!(
            press(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::Z, false),
            [UserAction::Redo]
        );
        assert_eq!(
            press(Modifiers::COMMAND, Key::Z, true),
            [],
            "a text field keeps Ctrl+Z for its own typing"
        );
        assert!(matches!(
            UserAction::RunPause.command(true),
            AppCommand::Worker(Command::Pause)
        ));
    }
}
