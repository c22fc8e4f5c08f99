//! The experiment file being edited: its path, its unsaved-changes mark and recent files.

use crate::data::experiment::Experiment;
use std::path::{Path, PathBuf};

/// Most entries in File ▸ Open recent.
pub const MAX_RECENT: usize = 8;

/// The experiment file being edited: its path, what was last saved, and recent files.
#[derive(Clone, Debug)]
pub struct Document {
    path: Option<PathBuf>,
    /// The example it was opened from, by title, until it is saved to a file.
    example: Option<String>,
    /// The experiment as TOML when last opened or saved.
    saved: String,
    recent: Vec<PathBuf>,
}

impl Document {
    /// An untitled document whose clean state is `current`.
    pub fn untitled(current: &Experiment) -> Self {
        Document {
            path: None,
            example: None,
            saved: current.to_toml(),
            recent: Vec::new(),
        }
    }

    /// The experiment file, when there is one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The file's name, the example's title ("Causal streaming (example)"), or "untitled".
    pub fn name(&self) -> String {
        if let Some(name) = self.path.as_deref().and_then(Path::file_name) {
            return name.to_string_lossy().into_owned();
        }
        match &self.example {
            Some(title) => format!("{title} (example)"),
            None => "untitled".into(),
        }
    }

    /// Whether this is an example as opened from File ▸ Examples, not yet saved to a file.
    pub fn is_example(&self) -> bool {
        self.path.is_none() && self.example.is_some()
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
        self.example = None;
        self.saved = current.to_toml();
    }

    /// Makes `current`, opened from the example titled `title`, the clean state of a document
    /// named after that example.
    pub fn from_example(&mut self, title: &str, current: &Experiment) {
        self.reset_untitled(current);
        self.example = Some(title.to_string());
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
        self.example = None;
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
        self.example = None;
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
                self.example = None;
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
