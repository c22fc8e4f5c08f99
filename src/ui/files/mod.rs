//! In-app file handling: the File menu, native file dialogs run off the UI thread (with a
//! typed-path fallback when the desktop has no dialog backend), the open document with its
//! unsaved-changes mark and recent files, and the "discard unsaved changes?" question.
//!
//! Nothing here touches the worker: every user choice comes back as a [`FileAction`] that the
//! app carries out (load an experiment, send it to the worker, write an export, quit).

mod confirm;
mod dialogs;
pub(crate) use dialogs::user_folder;
mod document;
mod menu;
pub mod persist;

pub use confirm::{ConfirmDiscard, DiscardDecision};
pub use dialogs::{DialogKind, ExportKind, FileDialogs, native_dialogs_available};
pub use document::{Document, MAX_RECENT};
pub use menu::FileMenu;

use crate::io::presets::{self, Preset};
use std::path::PathBuf;

/// What the app must do after a menu click, a shortcut or a dialog's answer.
#[derive(Clone, Debug, PartialEq)]
pub enum FileAction {
    /// Ask for a path: `dialogs.request(kind)` (for `OpenExperiment`, ask
    /// [`ConfirmDiscard`] first when the document is dirty).
    Choose(DialogKind),
    /// Open this experiment file (from Open recent or the open dialog).
    Open(PathBuf),
    /// Save over the current file (or ask for one when untitled).
    Save,
    /// Save to this path and make it the current file.
    SaveAs(PathBuf),
    /// Replace the experiment with the bundled example named [`Preset::name`].
    OpenExample {
        name: &'static str,
    },
    /// Show the experiment's description again (after its banner was closed).
    ShowDescription,
    /// Replace the experiment with the app's default (a real MiniLM head), as on first launch.
    OpenDefault,
    /// Use the `q.npy`/`k.npy`/`v.npy` in this folder as the sequence.
    ImportQkv(PathBuf),
    /// Use the BERT model in this folder as the sequence source.
    OpenModel(PathBuf),
    /// Read this PNG or JPEG with the current ViT (`image:PATH`); a file the model cannot read
    /// is refused in one sentence and the sequence shown stays.
    OpenImage(PathBuf),
    /// Show the authors' figure (File ▸ Examples): the Sweep tab with the figure open and
    /// drawing.
    ShowAuthorsFigure,
    /// Write this export to this path.
    Export(ExportKind, PathBuf),
    /// Write the run's whole state to this file.
    SaveState(PathBuf),
    /// Continue the run saved in this state file.
    OpenState(PathBuf),
    Quit,
    /// Open this lesson file and start it.
    OpenLesson(PathBuf),
    /// Start bundled lesson `n`, in the order `tripartite lessons` lists them.
    StartLesson(usize),
}

impl FileAction {
    /// The action for a dialog's answer; `None` when it was cancelled.
    pub fn chosen(kind: DialogKind, path: Option<PathBuf>) -> Option<FileAction> {
        let path = path?;
        Some(match kind {
            DialogKind::OpenExperiment => FileAction::Open(path),
            DialogKind::SaveExperimentAs => FileAction::SaveAs(path),
            DialogKind::ImportQkvFolder => FileAction::ImportQkv(path),
            DialogKind::OpenModelFolder => FileAction::OpenModel(path),
            DialogKind::OpenImage => FileAction::OpenImage(path),
            DialogKind::Export(export) => FileAction::Export(export, path),
            DialogKind::SaveState => FileAction::SaveState(path),
            DialogKind::OpenState => FileAction::OpenState(path),
            DialogKind::OpenLesson => FileAction::OpenLesson(path),
        })
    }

    /// Whether doing this throws away the current experiment (so a dirty document should be
    /// confirmed first).
    pub fn discards_changes(&self) -> bool {
        matches!(
            self,
            FileAction::Choose(DialogKind::OpenExperiment)
                | FileAction::Open(_)
                | FileAction::OpenExample { .. }
                | FileAction::OpenState(_)
                | FileAction::OpenDefault
                | FileAction::OpenLesson(_)
                | FileAction::StartLesson(_)
                | FileAction::Quit
        )
    }

    /// The preset an [`FileAction::OpenExample`] names.
    pub fn preset(&self) -> Option<&'static Preset> {
        match self {
            FileAction::OpenExample { name } => presets::find(name),
            _ => None,
        }
    }
}
