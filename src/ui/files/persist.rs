//! What the app remembers between sessions (through eframe's storage): the experiment being
//! edited, its file, recent files and a few layout choices. A state that cannot be read
//! (corrupt, from another version, an experiment that no longer parses) is replaced by the
//! defaults with a notice for the status bar; loading never fails and never panics.

use crate::data::experiment::Experiment;
use crate::ui::views::selection::TokenSelection;
use crate::ui::widgets::layout::LiveLayout;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The storage key; a new layout gets a new key and version.
pub const STORAGE_KEY: &str = "tripartite.state.v1";
/// The layout this build reads and writes.
pub const STATE_VERSION: u32 = 1;

/// Layout choices worth keeping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UiChoices {
    /// The parameters panel is open.
    pub show_params: bool,
    /// The help window is open.
    pub show_help: bool,
    /// The Live tab's tiles.
    pub layout: LiveLayout,
    /// The linked token selection (a view of the session, not part of the experiment).
    pub tokens: TokenSelection,
    /// The scale of presentation mode (View ▸ Presentation scale).
    pub presentation_scale: f32,
}

impl Default for UiChoices {
    fn default() -> Self {
        UiChoices {
            show_params: true,
            show_help: false,
            layout: LiveLayout::default(),
            tokens: TokenSelection::default(),
            presentation_scale: crate::ui::app::PRESENTATION_SCALE,
        }
    }
}

/// Everything persisted, as stored (JSON under [`STORAGE_KEY`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PersistedState {
    pub version: u32,
    /// The experiment being edited, saved or not (its TOML text).
    pub experiment_toml: String,
    /// The experiment's file, when it has one.
    pub document: Option<PathBuf>,
    /// Recent experiment files, most recent first.
    pub recent: Vec<PathBuf>,
    pub ui: UiChoices,
}

impl Default for PersistedState {
    fn default() -> Self {
        PersistedState {
            version: STATE_VERSION,
            experiment_toml: Experiment::default().to_toml(),
            document: None,
            recent: Vec::new(),
            ui: UiChoices::default(),
        }
    }
}

impl PersistedState {
    /// The state of the app as it is now.
    pub fn capture(
        experiment: &Experiment,
        document: Option<&Path>,
        recent: &[PathBuf],
        ui: UiChoices,
    ) -> Self {
        PersistedState {
            version: STATE_VERSION,
            experiment_toml: experiment.to_toml(),
            document: document.map(Path::to_path_buf),
            recent: recent.to_vec(),
            ui,
        }
    }

    /// The remembered experiment. [`load`] only returns states whose experiment parses, so
    /// this falls back to the default only for hand-built states.
    pub fn experiment(&self) -> Experiment {
        Experiment::parse(&self.experiment_toml, Path::new("the saved session")).unwrap_or_default()
    }
}

/// The remembered state, or the defaults plus one sentence saying why the saved state was
/// not used. No storage or nothing stored yet gives the defaults without a notice.
pub fn load(storage: Option<&dyn eframe::Storage>) -> (PersistedState, Option<String>) {
    let Some(text) = storage.and_then(|s| s.get_string(STORAGE_KEY)) else {
        return (PersistedState::default(), None);
    };
    let mut state: PersistedState = match serde_json::from_str(&text) {
        Ok(state) => state,
        Err(e) => {
            return (
                PersistedState::default(),
                Some(format!(
                    "The saved session could not be read ({e}); starting from the defaults."
                )),
            );
        }
    };
    if state.version != STATE_VERSION {
        return (
            PersistedState::default(),
            Some(format!(
                "The saved session is from another version (layout {}, this build reads {STATE_VERSION}); starting from the defaults.",
                state.version
            )),
        );
    }
    state.recent.dedup();
    state.recent.truncate(crate::ui::files::MAX_RECENT);
    let mut notice = None;
    if let Err(e) = Experiment::parse(&state.experiment_toml, Path::new("the saved session")) {
        notice = Some(format!(
            "The saved experiment could not be used ({e}); opening the default one."
        ));
        state.experiment_toml = Experiment::default().to_toml();
        state.document = None;
    }
    (state, notice)
}

/// Whether a session was saved before (false on the first launch, which opens the welcome).
pub fn has_session(storage: Option<&dyn eframe::Storage>) -> bool {
    storage.is_some_and(|s| s.get_string(STORAGE_KEY).is_some())
}

/// Stores `state` under [`STORAGE_KEY`] (eframe flushes it to disk).
pub fn save(storage: &mut dyn eframe::Storage, state: &PersistedState) {
    let text = serde_json::to_string(state).expect("the persisted state always serialises");
    storage.set_string(STORAGE_KEY, text);
}
