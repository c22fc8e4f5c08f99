//! In-app file handling: the File menu, native file dialogs run off the UI thread (with a
//! typed-path fallback when the desktop has no dialog backend), the open document with its
//! unsaved-changes mark and recent files, and the "discard unsaved changes?" question.
//!
//! Nothing here touches the worker: every user choice comes back as a [`FileAction`] that the
//! app carries out (load an experiment, send it to the worker, write an export, quit).

pub mod persist;

use crate::data::experiment::Experiment;
use crate::io::presets::{self, Preset};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Most entries in File ▸ Open recent.
pub const MAX_RECENT: usize = 8;

/// What an export writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExportKind {
    /// The traces view's series as one CSV, time (ms) first.
    TracesCsv,
    /// A_soft, A_net and their difference as three labelled CSV matrices.
    AttentionCsv,
    /// A_soft, A_net and their difference as three `.npy` arrays.
    AttentionNpy,
    /// The metrics and parameters of the current run as JSON.
    MetricsJson,
    /// A view of the window as PNG.
    FigurePng,
}

impl ExportKind {
    /// Every export, in menu order.
    pub const ALL: [ExportKind; 5] = [
        ExportKind::TracesCsv,
        ExportKind::AttentionCsv,
        ExportKind::AttentionNpy,
        ExportKind::MetricsJson,
        ExportKind::FigurePng,
    ];

    /// The menu label.
    pub fn label(self) -> &'static str {
        match self {
            ExportKind::TracesCsv => "Traces (CSV)…",
            ExportKind::AttentionCsv => "Attention matrices (CSV)…",
            ExportKind::AttentionNpy => "Attention matrices (.npy)…",
            ExportKind::MetricsJson => "Metrics (JSON)…",
            ExportKind::FigurePng => "Figure (PNG)…",
        }
    }

    /// The file name the save dialog proposes.
    pub fn default_file_name(self) -> &'static str {
        match self {
            ExportKind::TracesCsv => "traces.csv",
            ExportKind::AttentionCsv => "attention.csv",
            ExportKind::AttentionNpy => "attention.npy",
            ExportKind::MetricsJson => "metrics.json",
            ExportKind::FigurePng => "figure.png",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            ExportKind::TracesCsv | ExportKind::AttentionCsv => "csv",
            ExportKind::AttentionNpy => "npy",
            ExportKind::MetricsJson => "json",
            ExportKind::FigurePng => "png",
        }
    }
}

/// Which file or folder the user is being asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DialogKind {
    OpenExperiment,
    SaveExperimentAs,
    /// A folder holding `q.npy`, `k.npy`, `v.npy`.
    ImportQkvFolder,
    /// A folder holding a BERT-style `model.safetensors` and `tokenizer.json`.
    OpenModelFolder,
    Export(ExportKind),
}

impl DialogKind {
    /// The dialog's title, also the typed-path window's question.
    pub fn title(self) -> &'static str {
        match self {
            DialogKind::OpenExperiment => "Open experiment",
            DialogKind::SaveExperimentAs => "Save experiment as",
            DialogKind::ImportQkvFolder => "Import a Q/K/V folder",
            DialogKind::OpenModelFolder => "Open a model folder",
            DialogKind::Export(ExportKind::TracesCsv) => "Export traces (CSV)",
            DialogKind::Export(ExportKind::AttentionCsv) => "Export attention matrices (CSV)",
            DialogKind::Export(ExportKind::AttentionNpy) => "Export attention matrices (.npy)",
            DialogKind::Export(ExportKind::MetricsJson) => "Export metrics (JSON)",
            DialogKind::Export(ExportKind::FigurePng) => "Export figure (PNG)",
        }
    }

    fn picks_folder(self) -> bool {
        matches!(
            self,
            DialogKind::ImportQkvFolder | DialogKind::OpenModelFolder
        )
    }

    /// Runs the blocking native dialog (call it off the UI thread).
    fn run_native(self, start: Option<PathBuf>) -> Option<PathBuf> {
        let mut dialog = rfd::FileDialog::new().set_title(self.title());
        if let Some(folder) = start.filter(|f| f.is_dir()) {
            dialog = dialog.set_directory(folder);
        }
        match self {
            DialogKind::OpenExperiment => dialog
                .add_filter("Experiment (TOML)", &["toml"])
                .pick_file(),
            DialogKind::SaveExperimentAs => dialog
                .add_filter("Experiment (TOML)", &["toml"])
                .set_file_name("experiment.toml")
                .save_file(),
            DialogKind::ImportQkvFolder | DialogKind::OpenModelFolder => dialog.pick_folder(),
            DialogKind::Export(kind) => dialog
                .add_filter(kind.extension(), &[kind.extension()])
                .set_file_name(kind.default_file_name())
                .save_file(),
        }
    }
}

/// A dialog that answered faster than this without a path is taken to have no backend.
const NO_BACKEND_WITHIN: Duration = Duration::from_millis(150);

/// Whether this desktop can show native file dialogs. On Linux and the BSDs rfd needs the
/// XDG desktop portal (over the D-Bus session bus) or `zenity`/`kdialog`; elsewhere the OS
/// always provides them.
pub fn native_dialogs_available() -> bool {
    if !cfg!(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "dragonfly",
        target_os = "netbsd",
        target_os = "openbsd"
    )) {
        return true;
    }
    let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty());
    bus || ["zenity", "kdialog"].iter().any(|tool| on_path(tool))
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|folder| folder.join(program).is_file())
    })
}

/// The typed-path window's state.
#[derive(Clone, Debug)]
struct TypedPath {
    kind: DialogKind,
    text: String,
    /// The text field has had keyboard focus once.
    focused: bool,
}

/// File dialogs that never block a frame: native ones run on a thread and answer over a
/// channel; without a native backend a small "Type a path" window asks instead.
///
/// Each frame call [`FileDialogs::ui`] (draws the typed-path window when open), then drain
/// [`FileDialogs::poll`].
pub struct FileDialogs {
    native: bool,
    start_folder: Option<PathBuf>,
    answers_in: Sender<(DialogKind, Option<PathBuf>, Duration)>,
    answers: Receiver<(DialogKind, Option<PathBuf>, Duration)>,
    /// A native dialog is open on its thread.
    waiting: Option<DialogKind>,
    /// The thread running the native dialog.
    thread: Option<JoinHandle<()>>,
    typed: Option<TypedPath>,
    ready: Vec<(DialogKind, Option<PathBuf>)>,
    repaint: Option<egui::Context>,
}

impl FileDialogs {
    /// Native dialogs when the desktop has a backend, typed paths otherwise.
    pub fn native() -> Self {
        Self::with_native(native_dialogs_available())
    }

    /// Only the typed-path window, never a native dialog (tests, headless machines).
    pub fn text_only() -> Self {
        Self::with_native(false)
    }

    fn with_native(native: bool) -> Self {
        let (answers_in, answers) = mpsc::channel();
        FileDialogs {
            native,
            start_folder: None,
            answers_in,
            answers,
            waiting: None,
            thread: None,
            typed: None,
            ready: Vec::new(),
            repaint: None,
        }
    }

    /// Whether requests open native dialogs.
    pub fn is_native(&self) -> bool {
        self.native
    }

    /// A dialog (native or typed) is waiting for the user; new requests are ignored.
    pub fn is_busy(&self) -> bool {
        self.waiting.is_some() || self.typed.is_some()
    }

    /// The folder native dialogs open in (e.g. the current experiment's folder).
    pub fn set_start_folder(&mut self, folder: Option<PathBuf>) {
        self.start_folder = folder;
    }

    /// Asks the user for a path. The answer arrives later through [`FileDialogs::poll`].
    /// Ignored while another dialog is open.
    pub fn request(&mut self, kind: DialogKind) {
        if self.is_busy() {
            return;
        }
        if !self.native {
            self.typed = Some(TypedPath {
                kind,
                text: self.suggested_text(kind),
                focused: false,
            });
            return;
        }
        self.waiting = Some(kind);
        let answers = self.answers_in.clone();
        let start = self.start_folder.clone();
        let repaint = self.repaint.clone();
        let spawned = std::thread::Builder::new()
            .name("file dialog".into())
            .spawn(move || {
                let opened = Instant::now();
                let path = kind.run_native(start);
                let _ = answers.send((kind, path, opened.elapsed()));
                if let Some(ctx) = repaint {
                    ctx.request_repaint();
                }
            });
        match spawned {
            Ok(thread) => self.thread = Some(thread),
            Err(_) => self.fall_back_to_typing(kind),
        }
    }

    fn suggested_text(&self, kind: DialogKind) -> String {
        let folder = self.start_folder.clone().unwrap_or_default();
        let name = match kind {
            DialogKind::SaveExperimentAs => "experiment.toml",
            DialogKind::Export(export) => export.default_file_name(),
            _ => "",
        };
        if folder.as_os_str().is_empty() {
            name.to_string()
        } else {
            folder.join(name).display().to_string()
        }
    }

    fn fall_back_to_typing(&mut self, kind: DialogKind) {
        self.native = false;
        self.waiting = None;
        self.typed = Some(TypedPath {
            kind,
            text: self.suggested_text(kind),
            focused: false,
        });
    }

    /// The next answer: the dialog asked and the chosen path, or `None` when cancelled.
    pub fn poll(&mut self) -> Option<(DialogKind, Option<PathBuf>)> {
        // Checked before draining, so an answer sent just before the thread ended is seen.
        let thread_ended = self.thread.as_ref().is_some_and(|t| t.is_finished());
        while let Ok((kind, path, took)) = self.answers.try_recv() {
            self.waiting = None;
            self.thread = None;
            if path.is_none() && took < NO_BACKEND_WITHIN {
                // Nobody can cancel that fast: rfd found no portal and no zenity.
                self.fall_back_to_typing(kind);
            } else {
                self.ready.push((kind, path));
            }
        }
        if thread_ended && let Some(kind) = self.waiting {
            // The dialog thread panicked (e.g. no display): ask by typing instead.
            self.thread = None;
            self.fall_back_to_typing(kind);
        }
        if self.ready.is_empty() {
            None
        } else {
            Some(self.ready.remove(0))
        }
    }

    /// Draws the "Type a path" window when it is open. Call once a frame.
    pub fn ui(&mut self, ctx: &egui::Context) {
        if self.repaint.is_none() {
            self.repaint = Some(ctx.clone());
        }
        let Some(typed) = &mut self.typed else {
            return;
        };
        let kind = typed.kind;
        let mut answer: Option<Option<PathBuf>> = None;
        let modal = egui::Modal::new(egui::Id::unique("tripartite.type_a_path")).show(ctx, |ui| {
            ui.set_width(420.0);
            ui.heading("Type a path");
            ui.label(kind.title());
            let hint = if kind.picks_folder() {
                "Folder path"
            } else {
                "File path"
            };
            let label = ui.label(hint);
            let field = ui
                .add(
                    egui::TextEdit::singleline(&mut typed.text)
                        .desired_width(f32::INFINITY)
                        .hint_text(hint),
                )
                .labelled_by(label.id);
            if !typed.focused {
                field.request_focus();
                typed.focused = true;
            }
            let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            ui.horizontal(|ui| {
                let text = typed.text.trim();
                let ok = ui.add_enabled(!text.is_empty(), egui::Button::new("OK"));
                if (ok.clicked() || entered) && !text.is_empty() {
                    answer = Some(Some(PathBuf::from(text)));
                }
                if ui.button("Cancel").clicked() {
                    answer = Some(None);
                }
            });
        });
        if answer.is_none() && modal.should_close() {
            answer = Some(None);
        }
        if let Some(path) = answer {
            self.typed = None;
            self.ready.push((kind, path));
        }
    }
}

/// The experiment file being edited: its path, what was last saved, and recent files.
#[derive(Clone, Debug)]
pub struct Document {
    path: Option<PathBuf>,
    /// The experiment as TOML when last opened or saved.
    saved: String,
    recent: Vec<PathBuf>,
}

impl Document {
    /// An untitled document whose clean state is `current`.
    pub fn untitled(current: &Experiment) -> Self {
        Document {
            path: None,
            saved: current.to_toml(),
            recent: Vec::new(),
        }
    }

    /// The experiment file, when there is one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The file's name, or "untitled".
    pub fn name(&self) -> String {
        self.path
            .as_deref()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "untitled".into())
    }

    /// Whether `current` differs from what was last opened or saved.
    pub fn is_dirty(&self, current: &Experiment) -> bool {
        current.to_toml() != self.saved
    }

    /// The window title: "tripartite — lesson.toml •", the dot while changes are unsaved.
    pub fn title(&self, current: &Experiment) -> String {
        let mark = if self.is_dirty(current) { " •" } else { "" };
        format!("tripartite — {}{mark}", self.name())
    }

    /// Recently opened or saved files, most recent first.
    pub fn recent(&self) -> &[PathBuf] {
        &self.recent
    }

    /// Replaces the recent list (e.g. from the persisted state), deduplicated and capped.
    pub fn set_recent(&mut self, recent: Vec<PathBuf>) {
        self.recent.clear();
        for path in recent.into_iter().rev() {
            self.remember(path);
        }
    }

    /// Puts `path` first in the recent list.
    pub fn remember(&mut self, path: PathBuf) {
        self.recent.retain(|p| *p != path);
        self.recent.insert(0, path);
        self.recent.truncate(MAX_RECENT);
    }

    /// Removes `path` from the recent list (it could not be opened).
    pub fn forget(&mut self, path: &Path) {
        self.recent.retain(|p| p != path);
    }

    /// Makes `current` the clean state of an untitled document (after opening an example).
    pub fn reset_untitled(&mut self, current: &Experiment) {
        self.path = None;
        self.saved = current.to_toml();
    }

    /// Restores a document from the persisted state: `path` (if any) is the file, and
    /// `current` is marked unsaved when it differs from that file's contents.
    pub fn restore(&mut self, path: Option<PathBuf>, current: &Experiment) {
        self.saved = match path.as_deref().map(Experiment::load) {
            Some(Ok(on_disk)) => on_disk.to_toml(),
            Some(Err(_)) => String::new(),
            None => current.to_toml(),
        };
        self.path = path;
    }

    /// Saves over the current file. On failure the file on disk and this document are
    /// unchanged and the error comes back as one sentence.
    pub fn save(&mut self, current: &Experiment) -> Result<(), String> {
        let Some(path) = self.path.clone() else {
            return Err("this experiment has no file yet; use Save experiment as…".into());
        };
        self.save_as(&path, current)
    }

    /// Saves to `path` (atomically) and makes it the current file.
    pub fn save_as(&mut self, path: &Path, current: &Experiment) -> Result<(), String> {
        current.save(path).map_err(|e| e.to_string())?;
        self.path = Some(path.to_path_buf());
        self.saved = current.to_toml();
        self.remember(path.to_path_buf());
        Ok(())
    }

    /// Loads `path`, makes it the current file and returns the experiment. On failure the
    /// document is unchanged (except that a missing recent entry is forgotten).
    pub fn open(&mut self, path: &Path) -> Result<Experiment, String> {
        match Experiment::load(path) {
            Ok(experiment) => {
                self.path = Some(path.to_path_buf());
                self.saved = experiment.to_toml();
                self.remember(path.to_path_buf());
                Ok(experiment)
            }
            Err(e) => {
                if !path.exists() {
                    self.forget(path);
                }
                Err(e.to_string())
            }
        }
    }
}

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
    /// Use the `q.npy`/`k.npy`/`v.npy` in this folder as the sequence.
    ImportQkv(PathBuf),
    /// Use the BERT model in this folder as the sequence source.
    OpenModel(PathBuf),
    /// Write this export to this path.
    Export(ExportKind, PathBuf),
    Quit,
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
            DialogKind::Export(export) => FileAction::Export(export, path),
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

const SAVE: egui::KeyboardShortcut =
    egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::S);
const SAVE_AS: egui::KeyboardShortcut = egui::KeyboardShortcut::new(
    egui::Modifiers::COMMAND.plus(egui::Modifiers::SHIFT),
    egui::Key::S,
);
const OPEN: egui::KeyboardShortcut =
    egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::O);

/// Ctrl+S (save), Ctrl+Shift+S (save as) and Ctrl+O (open), consumed from this frame's
/// input: `ctx.input_mut(file_shortcuts)`.
pub fn file_shortcuts(input: &mut egui::InputState) -> Option<FileAction> {
    if input.consume_shortcut(&SAVE_AS) {
        Some(FileAction::Choose(DialogKind::SaveExperimentAs))
    } else if input.consume_shortcut(&SAVE) {
        Some(FileAction::Save)
    } else if input.consume_shortcut(&OPEN) {
        Some(FileAction::Choose(DialogKind::OpenExperiment))
    } else {
        None
    }
}

/// The File menu. It holds no state of its own beyond what to enable.
#[derive(Clone, Debug)]
pub struct FileMenu {
    /// Whether there is a run to export (the Export items are greyed out otherwise).
    pub exports_available: bool,
}

impl Default for FileMenu {
    fn default() -> Self {
        FileMenu {
            exports_available: true,
        }
    }
}

impl FileMenu {
    /// Draws the "File" menu button (put it in the app's menu bar) and returns what was
    /// chosen.
    pub fn ui(&mut self, ui: &mut egui::Ui, doc: &Document) -> Option<FileAction> {
        let mut action = None;
        let exports_available = self.exports_available;
        ui.menu_button("File", |ui| {
            let shortcut = |s: &egui::KeyboardShortcut| ui.ctx().format_shortcut(s);
            let (open_keys, save_keys, save_as_keys) =
                (shortcut(&OPEN), shortcut(&SAVE), shortcut(&SAVE_AS));
            if ui
                .add(egui::Button::new("Open experiment…").shortcut_text(open_keys))
                .on_hover_text("Open an experiment file (.toml): parameters plus sequence")
                .clicked()
            {
                action = Some(FileAction::Choose(DialogKind::OpenExperiment));
            }
            if ui
                .add(egui::Button::new("Save experiment").shortcut_text(save_keys))
                .on_hover_text(match doc.path() {
                    Some(path) => format!("Save over {}", path.display()),
                    None => "Untitled: asks where to save".to_string(),
                })
                .clicked()
            {
                action = Some(FileAction::Save);
            }
            if ui
                .add(egui::Button::new("Save experiment as…").shortcut_text(save_as_keys))
                .clicked()
            {
                action = Some(FileAction::Choose(DialogKind::SaveExperimentAs));
            }
            ui.add_enabled_ui(!doc.recent().is_empty(), |ui| {
                ui.menu_button("Open recent", |ui| {
                    for path in doc.recent() {
                        let name = path
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_else(|| path.display().to_string());
                        if ui
                            .button(name)
                            .on_hover_text(path.display().to_string())
                            .clicked()
                        {
                            action = Some(FileAction::Open(path.clone()));
                        }
                    }
                });
            });
            ui.separator();
            if ui
                .button("Import Q/K/V folder…")
                .on_hover_text("A folder holding q.npy, k.npy and v.npy (tokens.txt optional)")
                .clicked()
            {
                action = Some(FileAction::Choose(DialogKind::ImportQkvFolder));
            }
            if ui
                .button("Open model folder…")
                .on_hover_text("A folder holding model.safetensors and tokenizer.json")
                .clicked()
            {
                action = Some(FileAction::Choose(DialogKind::OpenModelFolder));
            }
            ui.menu_button("Examples", |ui| {
                for preset in presets::presets() {
                    let description = preset
                        .experiment()
                        .ok()
                        .and_then(|e| e.description)
                        .unwrap_or_default();
                    if ui.button(preset.title).on_hover_text(description).clicked() {
                        action = Some(FileAction::OpenExample { name: preset.name });
                    }
                }
            });
            ui.separator();
            ui.add_enabled_ui(exports_available, |ui| {
                ui.menu_button("Export", |ui| {
                    for kind in ExportKind::ALL {
                        if ui.button(kind.label()).clicked() {
                            action = Some(FileAction::Choose(DialogKind::Export(kind)));
                        }
                    }
                });
            });
            ui.separator();
            if ui.button("Quit").clicked() {
                action = Some(FileAction::Quit);
            }
            if action.is_some() {
                ui.close();
            }
        });
        action
    }
}

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
    /// user answers (Escape or a click outside means Cancel).
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
        if decision.is_none() && modal.should_close() {
            decision = Some(DiscardDecision::Cancel);
        }
        let decision = decision?;
        let (_, then) = self.pending.take()?;
        Some((decision, then))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_empty_answer_means_no_backend_and_asks_by_typing() {
        let mut dialogs = FileDialogs::with_native(true);
        dialogs.waiting = Some(DialogKind::OpenExperiment);
        let quick = Duration::from_millis(3);
        dialogs
            .answers_in
            .send((DialogKind::OpenExperiment, None, quick))
            .unwrap();
        assert_eq!(dialogs.poll(), None);
        assert!(!dialogs.is_native());
        assert!(dialogs.is_busy(), "the typed-path window is open");

        let mut dialogs = FileDialogs::with_native(true);
        dialogs.waiting = Some(DialogKind::OpenExperiment);
        let slow = Duration::from_secs(2);
        dialogs
            .answers_in
            .send((DialogKind::OpenExperiment, None, slow))
            .unwrap();
        assert_eq!(dialogs.poll(), Some((DialogKind::OpenExperiment, None)));
        assert!(
            dialogs.is_native(),
            "a user who cancels keeps native dialogs"
        );
    }

    #[test]
    fn a_dialog_thread_that_dies_falls_back_to_typing() {
        let mut dialogs = FileDialogs::with_native(true);
        dialogs.waiting = Some(DialogKind::ImportQkvFolder);
        let thread = std::thread::spawn(|| {});
        while !thread.is_finished() {
            std::thread::yield_now();
        }
        dialogs.thread = Some(thread);
        assert_eq!(dialogs.poll(), None);
        assert!(dialogs.is_busy() && !dialogs.is_native());
    }
}
