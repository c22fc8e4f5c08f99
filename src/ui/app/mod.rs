//! The app: one window holding every view, fed by the worker's snapshots.

pub(crate) mod scripted;

use crate::data::experiment::Experiment;
use crate::data::source::SourceSpec;
use crate::sim::{Command, Probe, RunHistory, Snapshot, Worker};
use crate::ui::app::scripted::Script;
use crate::ui::exports::{self, MatrixFormat, MetricsExport};
use crate::ui::files::persist::{PersistedState, UiChoices};
use crate::ui::files::{
    ConfirmDiscard, DialogKind, DiscardDecision, Document, ExportKind, FileAction, FileDialogs,
    FileMenu, file_shortcuts,
};
use crate::ui::views::attention::AttentionView;
use crate::ui::views::controls::{ControlsView, UiAction};
use crate::ui::views::graph::GraphView;
use crate::ui::views::heads::HeadsOverview;
use crate::ui::views::help::HelpWindow;
use crate::ui::views::params::ParamsView;
use crate::ui::views::picker::SequencePicker;
use crate::ui::views::selection::Selection;
use crate::ui::views::status::{FrameStats, StatusView};
use crate::ui::views::sweep::{CalciumSamples, SweepPanel};
use crate::ui::views::traces::TracesView;
use crate::ui::widgets::layout::LiveLayout;
use crate::ui::widgets::theme;
use std::path::PathBuf;
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

/// The whole desktop app. Build it with [`TripartiteApp::new`]; eframe drives it through
/// [`eframe::App`], tests through [`TripartiteApp::show`].
pub struct TripartiteApp {
    worker: Worker,
    context: Arc<OnceLock<egui::Context>>,
    history: RunHistory,
    selection: Option<Selection>,
    sent_probes: Vec<Probe>,
    graph: GraphView,
    traces: TracesView,
    attention: AttentionView,
    params: ParamsView,
    controls: ControlsView,
    status: StatusView,
    help: HelpWindow,
    stats: FrameStats,
    outbox: Vec<Command>,
    show_params: bool,
    /// Where the Live tab's splitters sit.
    layout: LiveLayout,
    styled: bool,
    rects: ViewRects,
    pub(crate) script: Option<Script>,
    /// The setup last loaded (source, text, description); parameters come from the worker.
    base: Experiment,
    tab: Tab,
    picker: SequencePicker,
    heads: HeadsOverview,
    sweep: SweepPanel,
    dialogs: FileDialogs,
    document: Document,
    menu: FileMenu,
    confirm: ConfirmDiscard,
    after_save: Option<FileAction>,
    last_title: String,
    quitting: bool,
    /// A figure export waiting for the window screenshot: its outcome lands here.
    pending_figure: Option<FigureSlot>,
    /// The last file operation's outcome, shown under the controls.
    file_message: Option<(String, bool)>,
}

/// Where a figure export's outcome arrives from the screenshot callback.
type FigureSlot = Arc<std::sync::Mutex<Option<Result<String, String>>>>;

/// Which page the central area shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// Graph, traces and attention of the running head.
    Live,
    /// Every head of the layer as small multiples.
    AllHeads,
    /// c_t against Z_t, and attn_tv against m.
    Sweep,
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
            outbox: Vec::new(),
            show_params: true,
            layout: LiveLayout::default(),
            styled: false,
            rects: ViewRects::default(),
            script: None,
            tab: Tab::Live,
            picker: SequencePicker::new(&experiment),
            heads: HeadsOverview::new(),
            sweep: SweepPanel::new(),
            dialogs: FileDialogs::text_only(),
            document: Document::untitled(&experiment),
            menu: FileMenu::default(),
            confirm: ConfirmDiscard::default(),
            after_save: None,
            last_title: String::new(),
            quitting: false,
            pending_figure: None,
            file_message: None,
            base: experiment,
        }
    }

    /// The app for a real window: native file dialogs, and the last session restored when
    /// no experiment was asked for.
    pub fn for_window(experiment: Experiment, storage: Option<&dyn eframe::Storage>) -> Self {
        let (state, notice) = crate::ui::files::persist::load(storage);
        let restore = experiment == Experiment::default() && storage.is_some();
        let start = if restore {
            state.experiment()
        } else {
            experiment
        };
        let mut app = TripartiteApp::new(start.clone());
        app.dialogs = FileDialogs::native();
        app.document.set_recent(state.recent.clone());
        if restore {
            app.document.restore(state.document.clone(), &start);
            app.show_params = state.ui.show_params;
            app.layout = state.ui.layout;
        }
        app.file_message = notice.map(|n| (n, false));
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
        &self.document
    }

    /// Runs a file action as if chosen from the File menu (tests use it with typed paths).
    pub fn file_action(&mut self, ctx: &egui::Context, action: FileAction) {
        self.perform(ctx, action, false);
    }

    fn load(&mut self, experiment: Experiment) {
        self.base = experiment.clone();
        self.picker = SequencePicker::new(&experiment);
        self.params = ParamsView::new(&experiment);
        self.outbox
            .push(Command::LoadExperiment(Box::new(experiment)));
    }

    pub(crate) fn perform(&mut self, ctx: &egui::Context, action: FileAction, confirmed: bool) {
        let current = self.current_experiment();
        if action.discards_changes() && !confirmed && self.document.is_dirty(&current) {
            self.confirm.ask(self.document.name(), action);
            return;
        }
        let report = |app: &mut Self, result: Result<String, String>| {
            app.file_message = Some(match result {
                Ok(text) => (text, true),
                Err(text) => (text, false),
            });
        };
        match action {
            FileAction::Choose(kind) => self.dialogs.request(kind),
            FileAction::Save if self.document.path().is_none() => {
                self.dialogs.request(DialogKind::SaveExperimentAs)
            }
            FileAction::Save => {
                let saved = self
                    .document
                    .save(&current)
                    .map(|()| self.document.name().to_string());
                self.finish_save(ctx, saved);
            }
            FileAction::SaveAs(path) => {
                let saved = self
                    .document
                    .save_as(&path, &current)
                    .map(|()| path.display().to_string());
                self.finish_save(ctx, saved);
            }
            FileAction::Open(path) => match self.document.open(&path) {
                Ok(experiment) => {
                    report(self, Ok(format!("Opened {}", path.display())));
                    self.load(experiment);
                }
                Err(e) => report(self, Err(e)),
            },
            FileAction::OpenExample { .. } => match action.preset().map(|p| p.experiment()) {
                Some(Ok(experiment)) => {
                    self.document.reset_untitled(&experiment);
                    report(self, Ok(experiment.description.clone().unwrap_or_default()));
                    self.load(experiment);
                }
                Some(Err(e)) => report(self, Err(e.to_string())),
                None => {}
            },
            FileAction::ImportQkv(dir) => {
                let experiment = Experiment {
                    source: SourceSpec::Npy(dir),
                    text: None,
                    ..current
                };
                self.load(experiment);
            }
            FileAction::OpenModel(dir) => {
                let experiment = Experiment {
                    source: SourceSpec::Model(dir),
                    text: Some(current.text.clone().unwrap_or_else(|| {
                        "The astrocyte wrapped the synapse because it needed calcium.".into()
                    })),
                    ..current
                };
                self.load(experiment);
            }
            FileAction::Export(kind, path) => {
                let result = self.export(ctx, kind, &path);
                report(self, result);
            }
            FileAction::Quit => {
                self.quitting = true;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }

    /// Reports a save (`Ok` holds what was saved) and, after a success, runs the action that
    /// was waiting for it (quit or open after "Save" in the discard question).
    fn finish_save(&mut self, ctx: &egui::Context, saved: Result<String, String>) {
        match saved {
            Ok(name) => {
                self.file_message = Some((format!("Saved {name}"), true));
                if let Some(next) = self.after_save.take() {
                    self.perform(ctx, next, true);
                }
            }
            Err(error) => self.file_message = Some((error, false)),
        }
    }

    fn export(
        &mut self,
        ctx: &egui::Context,
        kind: ExportKind,
        path: &std::path::Path,
    ) -> Result<String, String> {
        let Some(snapshot) = self.history.snapshot.as_ref() else {
            return Err("nothing to export yet: the simulation is still loading".into());
        };
        let Some(run) = snapshot.run.as_ref() else {
            return Err("nothing to export: the simulation failed to build".into());
        };
        let done = |p: &std::path::Path| Ok(format!("Exported {}", p.display()));
        match kind {
            ExportKind::TracesCsv => {
                let calcium: Vec<[f64; 2]> = self
                    .history
                    .samples
                    .iter()
                    .map(|s| [s.time_ms, s.calcium])
                    .collect();
                let mut z = Vec::new();
                for slot in run
                    .slots
                    .iter()
                    .filter(|s| s.phase == crate::model::Phase::Read)
                {
                    let value = run.normaliser[slot.token];
                    z.push([slot.start_step as f64 * snapshot.params.dt, value]);
                    z.push([slot.end_step() as f64 * snapshot.params.dt, value]);
                }
                let series = [
                    ("calcium c (softmax-normaliser units)", calcium.as_slice()),
                    ("Z_t softmax normaliser", z.as_slice()),
                ];
                exports::write_traces_csv(path, &series).map_err(|e| e.to_string())?;
                done(path)
            }
            ExportKind::AttentionCsv | ExportKind::AttentionNpy => {
                let format = if kind == ExportKind::AttentionCsv {
                    MatrixFormat::Csv
                } else {
                    MatrixFormat::Npy
                };
                let written = exports::write_attention(
                    path,
                    &run.tokens,
                    &run.softmax_attention,
                    &self.history.network_attention,
                    format,
                )
                .map_err(|e| e.to_string())?;
                Ok(format!(
                    "Exported {}",
                    written
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
            ExportKind::MetricsJson => {
                let export = MetricsExport {
                    metrics: snapshot.metrics,
                    source: &run.source,
                    tokens: &run.tokens,
                    step: snapshot.step,
                    sim_time_ms: snapshot.time_ms,
                    params: &snapshot.params,
                };
                exports::write_metrics_json(path, &export).map_err(|e| e.to_string())?;
                done(path)
            }
            ExportKind::FigurePng => {
                let slot = Arc::new(std::sync::Mutex::new(None));
                self.pending_figure = Some(slot.clone());
                let target = path.to_path_buf();
                let rects = self.rects;
                let ppp = ctx.pixels_per_point();
                ctx.request_screenshot(move |image| {
                    let outcome = write_figures(&target, &image, rects, ppp);
                    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
                });
                ctx.request_repaint();
                Ok(format!("Capturing the window into {} …", path.display()))
            }
        }
    }

    /// Shows the outcome of a figure export once the screenshot has been written.
    fn finish_figure(&mut self, ctx: &egui::Context) {
        let Some(slot) = &self.pending_figure else {
            return;
        };
        let outcome = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
        match outcome {
            Some(result) => {
                self.pending_figure = None;
                self.file_message = Some(match result {
                    Ok(text) => (text, true),
                    Err(text) => (text, false),
                });
            }
            None => ctx.request_repaint_after(Duration::from_millis(50)),
        }
    }

    /// File menu, dialogs, shortcuts, confirmation and the window title.
    fn files_frame(&mut self, ctx: &egui::Context, menu_actions: Vec<FileAction>) {
        let mut actions = menu_actions;
        if self.script.is_none() {
            actions.extend(ctx.input_mut(file_shortcuts));
        }
        self.dialogs.ui(ctx);
        while let Some((kind, path)) = self.dialogs.poll() {
            actions.extend(FileAction::chosen(kind, path));
        }
        let mut confirmed = Vec::new();
        if let Some((decision, then)) = self.confirm.ui(ctx) {
            match decision {
                DiscardDecision::Discard => confirmed.push(then),
                DiscardDecision::Save => {
                    self.after_save = Some(then);
                    actions.push(FileAction::Save);
                }
                DiscardDecision::Cancel => self.quitting = false,
            }
        }
        let current = self.current_experiment();
        if self.script.is_none()
            && ctx.input(|i| i.viewport().close_requested())
            && !self.quitting
            && self.document.is_dirty(&current)
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm.ask(self.document.name(), FileAction::Quit);
        }
        for action in actions {
            self.perform(ctx, action, false);
        }
        for action in confirmed {
            self.perform(ctx, action, true);
        }
        self.finish_figure(ctx);
        if self.script.is_none() {
            let title = self.document.title(&current);
            if title != self.last_title {
                ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
                self.last_title = title;
            }
        }
    }

    /// What the views read: the latest snapshot and the accumulated history.
    pub fn history(&self) -> &RunHistory {
        &self.history
    }

    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.history.snapshot.as_ref()
    }

    /// Sends a command to the worker (the views do the same through their outbox).
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

    /// Stops and joins the worker (also done on drop).
    pub fn shutdown(&mut self) {
        self.worker.shutdown();
    }

    /// Draws the whole window into `ui` and sends what the user asked for.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        let _ = self.context.set(ctx.clone());
        if !self.styled {
            theme::apply(&ctx);
            self.styled = true;
        }
        for action in self
            .controls
            .shortcuts(&ctx, &self.history, &mut self.outbox)
        {
            match action {
                UiAction::ToggleHelp => self.help.open = !self.help.open,
                UiAction::Escape => {
                    self.help.open = false;
                    self.selection = None;
                }
            }
        }
        self.poll();

        let mut menu_actions = Vec::new();
        egui::Panel::top("controls").show(ui, |ui| {
            ui.add_space(4.0);
            ui.horizontal(|ui| {
                menu_actions.extend(self.menu.ui(ui, &self.document));
                ui.separator();
                ui.label(
                    egui::RichText::new("Neurons + astrocyte ≈ self-attention")
                        .size(21.0)
                        .strong(),
                )
                .on_hover_text("Kozachkov, Kastanenka & Krotov, PNAS 2023");
                ui.add_space(16.0);
                ui.label(
                    egui::RichText::new(crate::ui::views::controls::phase_text(
                        self.history.snapshot.as_ref(),
                    ))
                    .size(19.0)
                    .strong()
                    .color(egui::Color32::from_rgb(0x9A, 0x3B, 0x00)),
                );
            });
            ui.horizontal_wrapped(|ui| {
                self.controls
                    .ui(ui, &self.history, &mut self.outbox, &mut self.help.open);
                ui.separator();
                for (tab, label, tip) in [
                    (
                        Tab::Live,
                        "Live",
                        "The running head: graph, calcium and attention",
                    ),
                    (
                        Tab::AllHeads,
                        "All heads",
                        "Every head of the layer, each its own astrocyte",
                    ),
                    (
                        Tab::Sweep,
                        "Sweep",
                        "Calcium against Z_t, and the error against m",
                    ),
                ] {
                    ui.selectable_value(&mut self.tab, tab, label)
                        .on_hover_text(tip);
                }
                ui.separator();
                // A toggle next to the tabs rather than pinned to the right edge, where it
                // collided with them in narrow windows.
                ui.toggle_value(&mut self.show_params, "Parameters")
                    .on_hover_text(
                        "Show or hide the parameter panel (hide it to give the views the whole \
                         width, e.g. on a projector)",
                    );
            });
            if let Some(failure) = self
                .history
                .snapshot
                .as_ref()
                .and_then(|s| s.failure.as_ref())
            {
                ui.label(
                    egui::RichText::new(format!("Error: {failure}"))
                        .color(theme::ERROR)
                        .size(16.0)
                        .strong(),
                );
            }
            if let Some((text, ok)) = self.file_message.clone() {
                let color = if ok { theme::OK } else { theme::ERROR };
                ui.horizontal(|ui| {
                    // Leave room for the dismiss button when the message wraps.
                    let room = (ui.available_width() - 32.0).max(100.0);
                    ui.scope(|ui| {
                        ui.set_max_width(room);
                        ui.add(egui::Label::new(egui::RichText::new(text).color(color)).wrap());
                    });
                    if ui
                        .small_button("×")
                        .on_hover_text("Dismiss this message")
                        .clicked()
                    {
                        self.file_message = None;
                    }
                });
            }
            ui.add_space(2.0);
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            self.status.ui(ui, &self.history, &self.stats);
        });
        if self.show_params {
            egui::Panel::left("parameters")
                .resizable(true)
                .default_size(290.0)
                .min_size(220.0)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical().show(ui, |ui| {
                        egui::CollapsingHeader::new(
                            egui::RichText::new("Real transformer input").strong(),
                        )
                        .default_open(true)
                        .show(ui, |ui| {
                            self.picker.ui(ui, &self.history, &mut self.outbox);
                        });
                        self.params.ui(ui, &self.history, &mut self.outbox);
                    });
                });
        }
        if self.tab != Tab::Live {
            let experiment = self.current_experiment();
            let mut open_head = None;
            egui::CentralPanel::default().show(ui, |ui| match self.tab {
                Tab::AllHeads => {
                    if let Some(head) = self.heads.ui(ui, &experiment) {
                        open_head =
                            Some((self.heads.layer().unwrap_or(experiment.params.layer), head));
                    }
                }
                _ => {
                    let samples = CalciumSamples::from_history(&self.history);
                    self.sweep.ui(ui, &experiment, &samples);
                }
            });
            if let Some((layer, head)) = open_head {
                let mut params = experiment.params.clone();
                params.layer = layer;
                params.head = head;
                self.outbox.push(Command::SetParams(params));
                self.tab = Tab::Live;
            }
        } else {
            egui::CentralPanel::default().show(ui, |ui| {
                // Graph and traces above, the attention matrices below; the splitters move.
                let area = ui.available_rect_before_wrap();
                let rects = self.layout.ui(ui, area);
                let (graph, traces, attention) = (rects.graph, rects.traces, rects.attention);
                let region =
                    |ui: &mut egui::Ui, rect: egui::Rect, add: &mut dyn FnMut(&mut egui::Ui)| {
                        ui.scope_builder(egui::UiBuilder::new().max_rect(rect), |ui| {
                            ui.set_clip_rect(rect.intersect(ui.clip_rect()));
                            add(ui);
                        });
                    };
                region(ui, graph, &mut |ui| {
                    self.graph
                        .ui(ui, &self.history, &mut self.selection, &mut self.outbox)
                });
                region(ui, traces, &mut |ui| {
                    self.traces.ui(ui, &self.history, self.selection)
                });
                region(ui, attention, &mut |ui| {
                    self.attention.ui(ui, &self.history)
                });
                let [graph, traces, attention] = rects.padded();
                self.rects = ViewRects {
                    graph: Some(graph),
                    attention: Some(attention),
                    traces: Some(traces),
                };
            });
        }
        self.help.ui(&ctx);
        self.files_frame(&ctx, menu_actions);
        for command in &self.outbox {
            if let Command::LoadExperiment(experiment) = command {
                self.base = (**experiment).clone();
            }
        }

        let probes = self.selection.map(|s| s.probes()).unwrap_or_default();
        if probes != self.sent_probes {
            self.outbox.push(Command::SetProbes(probes.clone()));
            self.sent_probes = probes;
        }
        for command in self.outbox.drain(..) {
            self.worker.send(command);
        }
    }
}

impl eframe::App for TripartiteApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let started = Instant::now();
        self.show(ui);
        let ui_ms = started.elapsed().as_secs_f32() * 1000.0;
        let frame_ms = frame.info().cpu_usage.map(|s| s * 1000.0);
        self.stats.record(ui_ms, frame_ms);
        if let Some(mut script) = self.script.take() {
            script.after_frame(self, ui.ctx(), ui_ms, frame_ms);
            self.script = Some(script);
        }
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.worker.shutdown();
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.script.is_some() {
            return;
        }
        let state = PersistedState::capture(
            &self.current_experiment(),
            self.document.path(),
            self.document.recent(),
            UiChoices {
                show_params: self.show_params,
                layout: self.layout,
                show_help: self.help.open,
            },
        );
        crate::ui::files::persist::save(storage, &state);
    }

    fn persist_egui_memory(&self) -> bool {
        self.script.is_none()
    }
}

/// The whole window at `path`, and each view alone beside it (`…_graph.png`, `…_traces.png`,
/// `…_attention.png`).
fn write_figures(
    path: &std::path::Path,
    image: &egui::ColorImage,
    rects: ViewRects,
    pixels_per_point: f32,
) -> Result<String, String> {
    let stem = path.with_extension("");
    exports::write_png(path, image).map_err(|e| e.to_string())?;
    let mut written = vec![path.display().to_string()];
    for (name, rect) in [
        ("graph", rects.graph),
        ("traces", rects.traces),
        ("attention", rects.attention),
    ] {
        if let Some(rect) = rect {
            let view = PathBuf::from(format!("{}_{name}.png", stem.display()));
            exports::write_png(
                &view,
                &exports::crop_and_scale(image, rect, pixels_per_point, 1.0),
            )
            .map_err(|e| e.to_string())?;
            written.push(view.display().to_string());
        }
    }
    Ok(format!("Exported {}", written.join(", ")))
}
