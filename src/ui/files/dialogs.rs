//! File dialogs that never block a frame: native ones run on a thread (with a typed-path
//! fallback when the desktop has no dialog backend), and the kinds of file they ask for.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What an export writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExportKind {
    /// The calcium trace as CSV, in `trace.csv`'s layout (`time_ms,phase,slot,token,c,z`).
    TracesCsv,
    /// A_soft, A_net and their difference as one long CSV, in `attention.csv`'s layout.
    AttentionCsv,
    /// A_soft, A_net and their difference as three `.npy` arrays.
    AttentionNpy,
    /// The metrics and parameters of the current run as JSON, in `metrics.json`'s layout.
    MetricsJson,
    /// A view of the window as PNG.
    FigurePng,
    /// The Sweep tab's results, in `tripartite sweep`'s columns (plus the variant).
    SweepCsv,
    /// The per-query diagnostics, in `per_query.csv`'s layout.
    PerQueryCsv,
}

impl ExportKind {
    /// Every export, in menu order.
    pub const ALL: [ExportKind; 7] = [
        ExportKind::TracesCsv,
        ExportKind::AttentionCsv,
        ExportKind::AttentionNpy,
        ExportKind::MetricsJson,
        ExportKind::PerQueryCsv,
        ExportKind::FigurePng,
        ExportKind::SweepCsv,
    ];

    /// The menu label.
    pub fn label(self) -> &'static str {
        match self {
            ExportKind::TracesCsv => "Traces (CSV)…",
            ExportKind::AttentionCsv => "Attention matrices (CSV)…",
            ExportKind::AttentionNpy => "Attention matrices (.npy)…",
            ExportKind::MetricsJson => "Metrics (JSON)…",
            ExportKind::FigurePng => "Figure (PNG)…",
            ExportKind::SweepCsv => "Sweep results (CSV)…",
            ExportKind::PerQueryCsv => "Per-query diagnostics (CSV)…",
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
            ExportKind::SweepCsv => "sweep.csv",
            ExportKind::PerQueryCsv => "per_query.csv",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            ExportKind::TracesCsv
            | ExportKind::AttentionCsv
            | ExportKind::SweepCsv
            | ExportKind::PerQueryCsv => "csv",
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
    /// A lesson file (.toml).
    OpenLesson,
    SaveExperimentAs,
    /// A folder holding `q.npy`, `k.npy`, `v.npy`.
    ImportQkvFolder,
    /// A folder holding a BERT-style `model.safetensors` and `tokenizer.json`.
    OpenModelFolder,
    /// A PNG or JPEG for the current ViT (the bundled digits ViT unless a ViT folder is open).
    OpenImage,
    Export(ExportKind),
    /// Where to write the run's state (File ▸ Save state).
    SaveState,
    /// A state file to continue (File ▸ Open state).
    OpenState,
}

impl DialogKind {
    /// The dialog's title, also the typed-path window's question.
    pub fn title(self) -> &'static str {
        match self {
            DialogKind::OpenExperiment => "Open experiment",
            DialogKind::OpenLesson => "Open lesson",
            DialogKind::SaveExperimentAs => "Save experiment as",
            DialogKind::ImportQkvFolder => "Import a Q/K/V folder",
            DialogKind::OpenModelFolder => "Open a model folder",
            DialogKind::OpenImage => "Open an image (PNG or JPEG)",
            DialogKind::Export(ExportKind::TracesCsv) => "Export traces (CSV)",
            DialogKind::Export(ExportKind::AttentionCsv) => "Export attention matrices (CSV)",
            DialogKind::Export(ExportKind::AttentionNpy) => "Export attention matrices (.npy)",
            DialogKind::Export(ExportKind::MetricsJson) => "Export metrics (JSON)",
            DialogKind::Export(ExportKind::FigurePng) => "Export figure (PNG)",
            DialogKind::Export(ExportKind::SweepCsv) => "Export sweep results (CSV)",
            DialogKind::Export(ExportKind::PerQueryCsv) => "Export per-query diagnostics (CSV)",
            DialogKind::SaveState => "Save the run's state",
            DialogKind::OpenState => "Open a saved state",
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
            DialogKind::OpenLesson => dialog.add_filter("Lesson (TOML)", &["toml"]).pick_file(),
            DialogKind::OpenImage => dialog
                .add_filter("Image (PNG or JPEG)", &["png", "jpg", "jpeg"])
                .pick_file(),
            DialogKind::SaveExperimentAs => dialog
                .add_filter("Experiment (TOML)", &["toml"])
                .set_file_name("experiment.toml")
                .save_file(),
            DialogKind::ImportQkvFolder | DialogKind::OpenModelFolder => dialog.pick_folder(),
            DialogKind::SaveState => dialog
                .add_filter("Run state", &["tpstate"])
                .set_file_name("run.tpstate")
                .save_file(),
            DialogKind::OpenState => dialog.add_filter("Run state", &["tpstate"]).pick_file(),
            DialogKind::Export(kind) => dialog
                .add_filter(kind.extension(), &[kind.extension()])
                .set_file_name(kind.default_file_name())
                .save_file(),
        }
    }
}

/// The user's documents folder when it exists, else the home folder.
pub fn user_folder() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
        .filter(|h| h.is_dir())?;
    let documents = home.join("Documents");
    Some(if documents.is_dir() { documents } else { home })
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
    /// The folder of the last path a dialog answered with.
    last_folder: Option<PathBuf>,
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
            last_folder: None,
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
        let start = self.start_folder();
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

    /// Where a dialog opens: the last folder a dialog answered with, else the folder set by
    /// the app, else the user's documents or home folder; always absolute, so that a default
    /// name never resolves against the folder the app was launched from (issue 25).
    pub fn start_folder(&self) -> Option<PathBuf> {
        self.last_folder
            .clone()
            .or_else(|| self.start_folder.clone())
            .or_else(user_folder)
            .map(|folder| std::path::absolute(&folder).unwrap_or(folder))
    }

    /// Remembers the folder of a chosen path for the next dialog.
    fn remember(&mut self, path: &std::path::Path) {
        // A chosen folder's parent, so the next dialog shows it among its siblings.
        if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
            self.last_folder = Some(std::path::absolute(folder).unwrap_or(folder.to_path_buf()));
        }
    }

    fn suggested_text(&self, kind: DialogKind) -> String {
        let folder = self.start_folder().unwrap_or_default();
        let name = match kind {
            DialogKind::SaveExperimentAs => "experiment.toml",
            DialogKind::SaveState => "run.tpstate",
            DialogKind::Export(export) => export.default_file_name(),
            _ => "",
        };
        // Opening suggests no name; the window says where a relative one is looked for.
        if folder.as_os_str().is_empty() || name.is_empty() {
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
            if let Some(chosen) = &path {
                self.remember(chosen);
            }
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
        let start = self.start_folder();
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
            if let Some(folder) = &start {
                ui.label(format!("A name alone is saved in {}", folder.display()));
            }
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
                    // A relative name resolves against the folder shown, not the launch folder.
                    let typed_path = PathBuf::from(text);
                    answer = Some(Some(match &start {
                        Some(folder) if typed_path.is_relative() => folder.join(typed_path),
                        _ => typed_path,
                    }));
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
            if let Some(chosen) = &path {
                self.remember(chosen);
            }
            self.ready.push((kind, path));
        }
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

    #[test]
    fn dialogs_start_in_an_absolute_folder_and_then_in_the_last_one_used() {
        let mut dialogs = FileDialogs::with_native(false);
        let start = dialogs.start_folder().expect("documents or home");
        assert!(start.is_absolute(), "{start:?}");
        let suggested = dialogs.suggested_text(DialogKind::Export(ExportKind::MetricsJson));
        assert!(
            std::path::Path::new(&suggested).is_absolute(),
            "the suggested name shows where it goes: {suggested}"
        );
        let dir = tempfile::tempdir().unwrap();
        let chosen = dir.path().join("run.tpstate");
        dialogs
            .answers_in
            .send((DialogKind::SaveState, Some(chosen), Duration::from_secs(1)))
            .unwrap();
        dialogs.waiting = Some(DialogKind::SaveState);
        assert!(dialogs.poll().is_some());
        assert_eq!(dialogs.start_folder().as_deref(), Some(dir.path()));
        assert!(
            dialogs
                .suggested_text(DialogKind::SaveExperimentAs)
                .starts_with(&dir.path().display().to_string())
        );
    }
}
