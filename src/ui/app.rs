//! The app: one window holding every view, fed by the worker's snapshots.

use super::attention::AttentionView;
use super::controls::{ControlsView, UiAction};
use super::graph::GraphView;
use super::help::HelpWindow;
use super::params::ParamsView;
use super::script::Script;
use super::selection::Selection;
use super::status::{FrameStats, StatusView};
use super::theme;
use super::traces::TracesView;
use crate::io::experiment::Experiment;
use crate::sim::{Command, Probe, RunHistory, Snapshot, Worker};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

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
    styled: bool,
    rects: ViewRects,
    pub(super) script: Option<Script>,
}

impl TripartiteApp {
    /// Starts the worker on `experiment`; the sequence loads on the worker thread, so this
    /// returns at once.
    pub fn new(experiment: Experiment) -> Self {
        let context: Arc<OnceLock<egui::Context>> = Arc::new(OnceLock::new());
        let notify = context.clone();
        let worker = Worker::spawn(experiment.clone(), move || {
            if let Some(ctx) = notify.get() {
                ctx.request_repaint();
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
            styled: false,
            rects: ViewRects::default(),
            script: None,
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

        egui::Panel::top("controls").show(ui, |ui| {
            ui.add_space(4.0);
            ui.horizontal(|ui| {
                ui.label(
                    egui::RichText::new("Neurons + astrocyte ≈ self-attention")
                        .size(21.0)
                        .strong(),
                )
                .on_hover_text("Kozachkov, Kastanenka & Krotov, PNAS 2023");
                ui.add_space(16.0);
                ui.label(
                    egui::RichText::new(super::controls::phase_text(
                        self.history.snapshot.as_ref(),
                    ))
                    .size(19.0)
                    .strong()
                    .color(egui::Color32::from_rgb(0x9A, 0x3B, 0x00)),
                );
            });
            ui.horizontal(|ui| {
                self.controls
                    .ui(ui, &self.history, &mut self.outbox, &mut self.help.open);
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let text = if self.show_params {
                        "Hide parameters"
                    } else {
                        "Show parameters"
                    };
                    if ui
                        .button(text)
                        .on_hover_text("Show or hide the parameter panel")
                        .clicked()
                    {
                        self.show_params = !self.show_params;
                    }
                });
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
                        self.params.ui(ui, &self.history, &mut self.outbox);
                    });
                });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            // Fixed proportions: graph and traces above, the attention matrices below.
            let area = ui.available_rect_before_wrap();
            let split_y = area.top() + (area.height() * 0.56).max(260.0).min(area.height() - 200.0);
            let split_x = area.left() + area.width() * 0.5;
            let gap = 6.0;
            let graph =
                egui::Rect::from_min_max(area.min, egui::pos2(split_x - gap, split_y - gap));
            let traces = egui::Rect::from_min_max(
                egui::pos2(split_x + gap, area.top()),
                egui::pos2(area.right(), split_y - gap),
            );
            let attention =
                egui::Rect::from_min_max(egui::pos2(area.left(), split_y + gap), area.max);
            let painter = ui.painter();
            let line = egui::Stroke::new(1.0, egui::Color32::from_gray(200));
            painter.hline(area.x_range(), split_y, line);
            painter.vline(split_x, area.top()..=split_y - gap, line);
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
            self.rects = ViewRects {
                graph: Some(graph.expand(gap)),
                attention: Some(attention.expand(gap)),
                traces: Some(traces.expand(gap)),
            };
        });
        self.help.ui(&ctx);

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

    fn persist_egui_memory(&self) -> bool {
        self.script.is_none()
    }
}
