//! The app shell: one window holding every view, fed by the worker's snapshots.
//!
//! One [`TripartiteApp`] spread over files by concern: its state and accessors here, the
//! per-frame work that is not drawing in [`logic`], the window's layout in [`frame`], and the
//! one place that carries out an [`AppCommand`] in [`handling`]. [`scripted`] wraps the app
//! for the screenshot tour and the frame-time measurement; the app knows nothing of it.

mod compare;
mod frame;
mod handling;
mod layer;
mod logic;
mod presentation;
pub(crate) mod scripted;

use crate::data::experiment::Experiment;
use crate::data::spec::SourceSpec;
use crate::sim::{Command, Probe, RunHistory, Snapshot, Worker};
use crate::ui::command::{AppCommand, Tab};
use crate::ui::files::persist::{PersistedState, UiChoices};
use crate::ui::files::{ConfirmDiscard, Document, FileAction, FileDialogs, FileMenu};
use crate::ui::views::attention::AttentionView;
use crate::ui::views::authors_figure::AuthorsFigure;
use crate::ui::views::controls::ControlsView;
use crate::ui::views::digits::DigitsPanel;
use crate::ui::views::graph::GraphView;
use crate::ui::views::heads::HeadsOverview;
use crate::ui::views::help::HelpWindow;
use crate::ui::views::lesson::{LessonPlayer, LessonWorld};
use crate::ui::views::params::ParamsView;
use crate::ui::views::picker::SequencePicker;
use crate::ui::views::selection::{Selection, TokenSelection};
use crate::ui::views::status::{FrameStats, StatusView};
use crate::ui::views::sweep::SweepPanel;
use crate::ui::views::traces::TracesView;
use crate::ui::views::welcome::WelcomePanel;
use crate::ui::widgets::layout::LiveLayout;
pub use presentation::DEFAULT_SCALE as PRESENTATION_SCALE;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How soon after a worker publication the window repaints. Any non-zero delay gives one frame
/// per publication (egui answers a zero-delay request with two).
const NOTIFY_DELAY: Duration = Duration::from_millis(1);

/// Where the main views were drawn in the last frame (points), for cropped screenshots.
#[derive(Clone, Copy, Debug, Default)]
pub struct ViewRects {
    pub graph: Option<egui::Rect>,
    pub attention: Option<egui::Rect>,
    pub traces: Option<egui::Rect>,
}

/// Where a figure export's outcome arrives from the screenshot callback.
type FigureSlot = Arc<std::sync::Mutex<Option<Result<String, String>>>>;

/// The whole desktop app. Build it with [`TripartiteApp::new`]; eframe drives it through
/// [`eframe::App`], tests through [`TripartiteApp::show`].
pub struct TripartiteApp {
    worker: Worker,
    context: Arc<OnceLock<egui::Context>>,
    history: RunHistory,
    selection: Option<Selection>,
    sent_probes: Vec<Probe>,
    // The views.
    graph: GraphView,
    traces: TracesView,
    attention: AttentionView,
    params: ParamsView,
    controls: ControlsView,
    status: StatusView,
    help: HelpWindow,
    picker: SequencePicker,
    digits: DigitsPanel,
    authors_figure: AuthorsFigure,
    heads: HeadsOverview,
    sweep: SweepPanel,
    stats: FrameStats,
    show_params: bool,
    /// Where the Live tab's splitters sit.
    layout: LiveLayout,
    styled: bool,
    rects: ViewRects,
    /// Where each Live tile's content was drawn in the last frame.
    live_rects: crate::ui::widgets::layout::LiveRects,
    /// The setup last loaded (source, text, description); parameters come from the worker.
    base: Experiment,
    tab: Tab,
    files: FileState,
    /// A load happened in the commands being handled: later edits from the same frame were
    /// drawn against the replaced experiment and are dropped.
    loaded: bool,
    /// The timeline bar under the Live tab.
    timeline: crate::ui::views::timeline::TimelineView,
    /// Run or a live edit while looking back: branch, or continue from the present?
    branch_question: Option<crate::ui::views::timeline::BranchQuestion>,
    /// File ▸ Save state asked the worker for the state; it is written here when it arrives.
    state_save: Option<std::path::PathBuf>,
    /// The per-query diagnostics window (issue 13 §1).
    per_query: crate::ui::views::per_query::PerQueryView,
    /// Undo history, the pinned baseline and the twin run.
    ab: compare::AbState,
    /// The query rows and key columns selected in every view (issue 12 §3).
    tokens: TokenSelection,
    /// The scale presentation mode sets (View ▸ Presentation scale; remembered).
    presentation_scale: f32,
    /// The layout to restore when presentation mode ends; `Some` while presenting.
    presentation: Option<presentation::Presented>,
    welcome: WelcomePanel,
    /// The open lesson, if any, and where the learner is in it.
    lesson: LessonPlayer,
    /// The live layer's views (heads = all), and the head opened from it (None: the layer).
    layer_graph: crate::ui::views::layer::graph::LayerGraph,
    layer_traces: crate::ui::views::layer::traces::LayerTraces,
    layer_output: crate::ui::views::layer::output::LayerOutputView,
    layer_focus: Option<usize>,
    /// In a narrow attention region: the layer output rather than the head's matrices.
    layer_output_shown: bool,
}

/// The experiment file and everything around it: dialogs, the menu, the unsaved-changes
/// question and the last file message.
struct FileState {
    dialogs: FileDialogs,
    document: Document,
    menu: FileMenu,
    confirm: ConfirmDiscard,
    /// What to do once the save asked for by "Discard unsaved changes?" succeeds.
    after_save: Option<FileAction>,
    last_title: String,
    quitting: bool,
    /// A figure export waiting for the window screenshot: its outcome lands here.
    pending_figure: Option<FigureSlot>,
    /// A saved state being written off the UI thread: its outcome, once written.
    pending_state: Option<crate::jobs::background::Background<Result<String, String>>>,
    /// The last file operation's outcome (text, success), shown in the message strip.
    message: Option<(String, bool)>,
    /// When the message was first shown, and for which document.
    message_seen: Option<MessageSeen>,
}

/// When the message strip first showed a message, and the document it describes.
struct MessageSeen {
    text: String,
    at: Instant,
    document: Option<std::path::PathBuf>,
}

impl TripartiteApp {
    /// Starts the worker on `experiment`; the sequence loads on the worker thread, so this
    /// returns at once.
    pub fn new(experiment: Experiment) -> Self {
        let context: Arc<OnceLock<egui::Context>> = Arc::new(OnceLock::new());
        let notify = context.clone();
        let worker = Worker::spawn(experiment.clone(), move || {
            if let Some(ctx) = notify.get() {
                // A zero-delay request makes egui paint two frames; a publication needs one,
                // and under software GL each frame costs the simulation a share of a core.
                ctx.request_repaint_after(NOTIFY_DELAY);
            }
        });
        TripartiteApp {
            worker,
            context,
            history: RunHistory::default(),
            selection: None,
            sent_probes: Vec::new(),
            graph: GraphView::default(),
            traces: TracesView::default(),
            attention: AttentionView::default(),
            params: ParamsView::new(&experiment),
            controls: ControlsView::default(),
            status: StatusView::default(),
            help: HelpWindow::default(),
            stats: FrameStats::default(),
            show_params: true,
            layout: LiveLayout::default(),
            styled: false,
            rects: ViewRects::default(),
            live_rects: Default::default(),
            tab: Tab::Live,
            picker: SequencePicker::new(&experiment),
            digits: DigitsPanel::default(),
            authors_figure: AuthorsFigure::default(),
            heads: HeadsOverview::new(),
            sweep: SweepPanel::new(),
            files: FileState {
                dialogs: FileDialogs::text_only(),
                document: Document::untitled(&experiment),
                menu: FileMenu::default(),
                confirm: ConfirmDiscard::default(),
                after_save: None,
                last_title: String::new(),
                quitting: false,
                pending_figure: None,
                pending_state: None,
                message: None,
                message_seen: None,
            },
            base: experiment,
            loaded: false,
            timeline: Default::default(),
            branch_question: None,
            state_save: None,
            per_query: Default::default(),
            ab: compare::AbState::default(),
            tokens: TokenSelection::default(),
            presentation: None,
            presentation_scale: presentation::DEFAULT_SCALE,
            welcome: WelcomePanel::default(),
            lesson: LessonPlayer::default(),
            layer_graph: Default::default(),
            layer_traces: Default::default(),
            layer_output: Default::default(),
            layer_focus: None,
            layer_output_shown: false,
        }
    }

    /// The app for a real window: native file dialogs, and the last session restored when
    /// no experiment was asked for.
    pub fn for_window(experiment: Experiment, storage: Option<&dyn eframe::Storage>) -> Self {
        let (state, notice) = crate::ui::files::persist::load(storage);
        let first_launch = !crate::ui::files::persist::has_session(storage);
        let asked_for = experiment != Experiment::default();
        let restore = !asked_for && storage.is_some();
        let start = if restore {
            state.experiment()
        } else {
            experiment
        };
        let mut app = TripartiteApp::new(start.clone());
        app.files.dialogs = FileDialogs::native();
        app.files.document.set_recent(state.recent.clone());
        if restore {
            app.files.document.restore(state.document.clone(), &start);
            app.show_params = state.ui.show_params;
            app.layout = state.ui.layout.clone();
            app.tokens = state.ui.tokens.clone();
            app.presentation_scale = state.ui.presentation_scale;
        }
        // The first launch opens on the welcome panel, unless the command line asked for an
        // experiment; later launches open on the last session.
        app.welcome.open = first_launch && !asked_for;
        app.files.message = notice.map(|n| (n, false));
        app
    }

    /// The whole setup as it stands: the loaded source and text with the worker's parameters.
    pub fn current_experiment(&self) -> Experiment {
        let mut experiment = self.base.clone();
        if let Some(snapshot) = &self.history.snapshot {
            experiment.params = snapshot.params.clone();
            if let Some(source) = snapshot
                .run
                .as_ref()
                .and_then(|r| r.source.parse::<SourceSpec>().ok())
                && source.to_string() != experiment.source.to_string()
            {
                experiment.source = source;
            }
        }
        experiment
    }

    /// The page shown in the central area.
    pub fn tab(&self) -> Tab {
        self.tab
    }

    pub fn set_tab(&mut self, tab: Tab) {
        self.tab = tab;
    }

    /// The file document (path, dirty mark, recent files).
    pub fn document(&self) -> &Document {
        &self.files.document
    }

    /// Runs a file action as if chosen from the File menu (tests use it with typed paths).
    pub fn file_action(&mut self, ctx: &egui::Context, action: FileAction) {
        self.handle(ctx, AppCommand::File(action));
    }

    /// What the views read: the latest snapshot and the accumulated history.
    pub fn history(&self) -> &RunHistory {
        &self.history
    }

    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.history.snapshot.as_ref()
    }

    /// Sends a command to the worker at once (tests and scripts; views push [`AppCommand`]s).
    pub fn send(&mut self, command: Command) {
        self.worker.send(command);
    }

    /// Takes the worker's newest update, if any. True when something arrived.
    pub fn poll(&mut self) -> bool {
        match self.worker.take_update() {
            Some(update) => {
                self.history.apply(update);
                true
            }
            None => false,
        }
    }

    pub fn selection(&self) -> Option<Selection> {
        self.selection
    }

    /// Selects an item (as a click in the graph does) and starts tracing it at once.
    pub fn select(&mut self, selection: Option<Selection>) {
        self.selection = selection;
        let probes = selection.map(|s| s.probes()).unwrap_or_default();
        if probes != self.sent_probes {
            self.worker.send(Command::SetProbes(probes.clone()));
            self.sent_probes = probes;
        }
    }

    /// The query rows and key columns selected across the views.
    pub fn tokens(&self) -> &TokenSelection {
        &self.tokens
    }

    /// Whether presentation mode is on.
    pub fn presenting(&self) -> bool {
        self.presentation.is_some()
    }

    /// Whether the parameter panel is shown.
    pub fn params_shown(&self) -> bool {
        self.show_params
    }

    /// Whether the welcome panel is open.
    pub fn welcome_open(&self) -> bool {
        self.welcome.open
    }

    /// The lesson player (title, step, whether Next may be pressed).
    pub fn lesson(&self) -> &LessonPlayer {
        &self.lesson
    }

    /// What the lesson player reads of the app this frame.
    pub fn lesson_world(&self) -> LessonWorld<'_> {
        LessonWorld {
            snapshot: self.history.snapshot.as_ref(),
            history: Some(&self.history),
            tab: self.tab,
            selected_tokens: &self.tokens.queries,
            presented: self.presentation.is_some(),
        }
    }

    pub fn authors_figure(&self) -> &AuthorsFigure {
        &self.authors_figure
    }

    pub fn digits(&self) -> &DigitsPanel {
        &self.digits
    }

    /// The Images section (the screenshot tour puts a drawing on its pad).
    pub fn digits_mut(&mut self) -> &mut DigitsPanel {
        &mut self.digits
    }

    pub fn graph(&self) -> &GraphView {
        &self.graph
    }

    pub fn params_mut(&mut self) -> &mut ParamsView {
        &mut self.params
    }

    pub fn help_open(&self) -> bool {
        self.help.open
    }

    /// Hides live timings in the status bar, for pixel-exact snapshot tests.
    pub fn hide_timings(&mut self, hide: bool) {
        self.status.hide_timings = hide;
    }

    /// Where the views were drawn in the last frame.
    pub fn view_rects(&self) -> ViewRects {
        self.rects
    }

    /// Where each Live tile's content was drawn in the last frame.
    pub fn live_rects(&self) -> crate::ui::widgets::layout::LiveRects {
        self.live_rects
    }

    /// The Live page's tiles (tests maximise one through it).
    pub fn live_layout_mut(&mut self) -> &mut LiveLayout {
        &mut self.layout
    }

    /// Stops and joins the worker (also done on drop).
    pub fn shutdown(&mut self) {
        self.worker.shutdown();
    }

    /// One whole frame, as eframe runs it (`logic`, then `ui`): tests drive the app with it.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        self.logic(ui.ctx());
        self.frame(ui);
    }
}

impl eframe::App for TripartiteApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.logic(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let started = Instant::now();
        self.frame(ui);
        let ui_ms = started.elapsed().as_secs_f32() * 1000.0;
        let frame_ms = frame.info().cpu_usage.map(|s| s * 1000.0);
        self.stats.record(ui_ms, frame_ms);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.worker.shutdown();
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        let state = PersistedState::capture(
            &self.current_experiment(),
            self.files.document.path(),
            self.files.document.recent(),
            UiChoices {
                // Presentation mode is a moment, not a setting: the session keeps the layout
                // it will return to.
                show_params: self
                    .presentation
                    .as_ref()
                    .map_or(self.show_params, |p| p.show_params),
                layout: self.layout.clone(),
                show_help: self.help.open,
                tokens: self.tokens.clone(),
                presentation_scale: self.presentation_scale,
            },
        );
        crate::ui::files::persist::save(storage, &state);
    }
}
