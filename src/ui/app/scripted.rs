//! Scripted runs of the real window: the frame-time measurement (`--frames N`) and the
//! screenshot tour (`--screenshot DIR`) that regenerates `screenshots/`.
//!
//! [`ScriptedApp`] wraps the app: it drives it through the same [`AppCommand`]s a user's
//! clicks produce, and the app itself has no scripted mode.

use crate::io::export::png::write_png;
use crate::model::schedule::Phase;
use crate::sim::{Command, RunState, Speed};
use crate::ui::app::TripartiteApp;
use crate::ui::command::AppCommand;
use crate::ui::files::FileAction;
use crate::ui::views::selection::Selection;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Frames ignored at the start of a measurement (window mapping, font atlas, first layout).
const WARMUP_FRAMES: u64 = 10;
/// A screenshot stage that takes longer than this fails the tour.
const STAGE_TIMEOUT: Duration = Duration::from_secs(120);

/// How a scripted run ended; read by `run_gui` after the window closes.
pub type Outcome = Arc<Mutex<Result<(), String>>>;

/// The app with a script that runs after every frame. A scripted run leaves no session behind
/// (nothing is persisted) and closes without asking about unsaved changes.
pub struct ScriptedApp {
    app: TripartiteApp,
    script: Script,
}

impl ScriptedApp {
    pub fn new(app: TripartiteApp, script: Script) -> Self {
        ScriptedApp { app, script }
    }
}

impl eframe::App for ScriptedApp {
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        if ctx.input(|i| i.viewport().close_requested()) {
            self.app
                .handle(ctx, AppCommand::FileConfirmed(FileAction::Quit));
        }
        eframe::App::logic(&mut self.app, ctx, frame);
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let started = Instant::now();
        eframe::App::ui(&mut self.app, ui, frame);
        let ui_ms = started.elapsed().as_secs_f32() * 1000.0;
        let frame_ms = frame.info().cpu_usage.map(|s| s * 1000.0);
        self.script
            .after_frame(&mut self.app, ui.ctx(), ui_ms, frame_ms);
    }

    fn on_exit(&mut self, gl: Option<&eframe::glow::Context>) {
        eframe::App::on_exit(&mut self.app, gl);
    }

    fn persist_egui_memory(&self) -> bool {
        false
    }
}

/// What runs after each frame.
pub enum Script {
    Measure(Measure),
    Shots(Shots),
}

impl Script {
    pub fn measure(frames: u64, report: Option<PathBuf>, outcome: Outcome) -> Self {
        Script::Measure(Measure {
            frames,
            report,
            outcome,
            started: false,
            warmup: 0,
            ui_ms: Vec::new(),
            frame_ms: Vec::new(),
            interval_ms: Vec::new(),
            last_frame: None,
            first: None,
            began: None,
        })
    }

    pub fn shots(dir: PathBuf, outcome: Outcome) -> Self {
        Script::Shots(Shots {
            dir,
            outcome,
            stage: Stage::Start,
            stage_started: Instant::now(),
            settle: 0,
            target: 0,
            generation: 0,
            hovered: None,
            hover_sent: None,
            saved: Arc::new(Mutex::new(None)),
        })
    }

    pub fn after_frame(
        &mut self,
        app: &mut TripartiteApp,
        ctx: &egui::Context,
        ui_ms: f32,
        frame_ms: Option<f32>,
    ) {
        match self {
            Script::Measure(m) => m.after_frame(app, ctx, ui_ms, frame_ms),
            Script::Shots(s) => s.after_frame(app, ctx),
        }
    }
}

pub struct Measure {
    frames: u64,
    report: Option<PathBuf>,
    outcome: Outcome,
    started: bool,
    warmup: u64,
    ui_ms: Vec<f32>,
    frame_ms: Vec<f32>,
    /// Wall time between the starts of consecutive frames.
    interval_ms: Vec<f32>,
    last_frame: Option<Instant>,
    first: Option<(u64, f64)>,
    began: Option<Instant>,
}

fn percentile(values: &[f32], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank] as f64
}

impl Measure {
    fn after_frame(
        &mut self,
        app: &mut TripartiteApp,
        ctx: &egui::Context,
        ui_ms: f32,
        frame_ms: Option<f32>,
    ) {
        // Frames come only from the worker's repaint requests, as in normal use (an extra
        // request_repaint_after here was seen to add frames and skew the figures).
        if !self.started {
            for command in [
                Command::SetSpeed(Speed::Max),
                Command::SetLoop(true),
                Command::Run,
            ] {
                app.handle(ctx, AppCommand::Worker(command));
            }
            self.started = true;
            return;
        }
        let Some(snapshot) = app.snapshot() else {
            return;
        };
        if snapshot.state == RunState::Failed {
            *self.outcome.lock().unwrap() = Err(format!(
                "the simulation failed during the measurement: {}",
                snapshot.failure().unwrap_or_default()
            ));
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        if snapshot.state != RunState::Running && self.first.is_none() {
            return;
        }
        if self.warmup < WARMUP_FRAMES {
            self.warmup += 1;
            return;
        }
        let totals = (snapshot.run_steps_total, snapshot.run_wall_s_total);
        if self.first.is_none() {
            self.first = Some(totals);
            self.began = Some(Instant::now());
        }
        self.ui_ms.push(ui_ms);
        if std::env::var_os("TRIPARTITE_DEBUG_REPAINTS").is_some() {
            eprintln!("repaint causes: {:?}", ctx.repaint_causes());
        }
        let now = Instant::now();
        if let Some(last) = self.last_frame.replace(now) {
            self.interval_ms.push((now - last).as_secs_f32() * 1000.0);
        }
        if let Some(ms) = frame_ms {
            self.frame_ms.push(ms);
        }
        if (self.ui_ms.len() as u64) < self.frames {
            return;
        }
        let (steps0, wall0) = self.first.unwrap_or(totals);
        let steps = totals.0.saturating_sub(steps0);
        let wall = (totals.1 - wall0).max(1e-9);
        let run = snapshot.run.as_ref();
        let report = serde_json::json!({
            "frames": self.ui_ms.len(),
            "warmup_frames": WARMUP_FRAMES,
            "ui_ms_p50": percentile(&self.ui_ms, 50.0),
            "ui_ms_p95": percentile(&self.ui_ms, 95.0),
            "frame_ms_p50": percentile(&self.frame_ms, 50.0),
            "frame_ms_p95": percentile(&self.frame_ms, 95.0),
            "frame_interval_ms_p50": percentile(&self.interval_ms, 50.0),
            "sim_steps_per_s": steps as f64 / wall,
            "sim_steps": steps,
            "wall_s": self.began.map_or(0.0, |b| b.elapsed().as_secs_f64()),
            "m": snapshot.params.m,
            "hidden": run.map(|r| r.sizes.hidden),
            "tokens": run.map(|r| r.sizes.tokens),
            "mode": snapshot.params.mode.name(),
        });
        let text = serde_json::to_string_pretty(&report).expect("json");
        let result = match &self.report {
            Some(path) => crate::io::atomic_write(path, text.as_bytes())
                .map_err(|e| format!("cannot write '{}': {e}", path.display())),
            None => {
                println!("{text}");
                Ok(())
            }
        };
        *self.outcome.lock().unwrap() = result;
        self.frames = u64::MAX;
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Start,
    /// Find an active synapse to select at mid-run.
    Explore,
    /// Replay from t = 0 with the selection, so its traces are complete.
    MainShot,
    AttentionShot,
    GraphShot,
    /// The example that shows the hypothesis working, opened as File ▸ Examples does.
    TrackingLoad,
    TrackingShot,
    /// The tracking example run to its end, then shown back at mid-run on the timeline.
    TimelineRun,
    TimelineShot,
    /// The per-query window over the finished tracking run, its worst row selected.
    PerQueryShot,
    /// The Ablate menu's frozen-calcium twin in the Compare tab.
    AblationRun,
    AblationShot,
    /// The first lesson at its third step.
    LessonRun,
    LessonShot,
    /// Presentation mode on the lesson's experiment.
    PresentationShot,
    /// The same at a classroom projector's 1024×768.
    ProjectorShot,
    /// The window back at its size, the lesson left.
    ProjectorDone,
    /// A digit drawn on the pad, read to the end, with its patch attention on the image.
    DrawPadRun,
    DrawPadShot,
    /// The authors' figure on the bundled passage, opened as File ▸ Examples does.
    AuthorsFigureShot,
    /// A whole layer live: every head of a bundled sentence's layer, one astrocyte each.
    LayerLoad,
    LayerShot,
    Done,
}

/// A classroom projector's screen (pixels), for the projector picture.
const PROJECTOR: [f32; 2] = [1024.0, 768.0];
/// The window's size for every other picture (pixels).
const WINDOW: [f32; 2] = [1280.0, 800.0];

/// Asks for a window of `pixels` (the command takes points, which the zoom scales).
fn resize(ctx: &egui::Context, pixels: [f32; 2]) {
    let zoom = ctx.zoom_factor();
    ctx.send_viewport_cmd(egui::ViewportCommand::InnerSize(egui::vec2(
        pixels[0] / zoom,
        pixels[1] / zoom,
    )));
}

/// The example of the last picture.
const TRACKING_PRESET: &str = "calcium-tracks-normaliser";

/// Mid-run: 60 % into the read slot of the middle token.
fn mid_run(run: &crate::sim::RunInfo) -> u64 {
    let reads: Vec<_> = run
        .slots
        .iter()
        .filter(|s| s.phase == Phase::Read)
        .collect();
    match reads.get(reads.len() / 2) {
        Some(slot) => slot.start_step + slot.steps * 3 / 5,
        None => run.total_steps / 2,
    }
}

pub struct Shots {
    dir: PathBuf,
    outcome: Outcome,
    stage: Stage,
    stage_started: Instant,
    settle: u32,
    target: u64,
    generation: u64,
    /// The hidden neuron to hover in the graph picture (its tooltip shows exact values).
    hovered: Option<usize>,
    /// When the pointer was moved onto it (tooltips wait about half a second).
    hover_sent: Option<Instant>,
    saved: Arc<Mutex<Option<Result<String, String>>>>,
}

/// Frames to wait once a state is reached, so plots and layout settle before the picture.
const SETTLE_FRAMES: u32 = 6;

impl Shots {
    fn next(&mut self, stage: Stage) {
        self.stage = stage;
        self.stage_started = Instant::now();
        self.settle = 0;
    }

    fn fail(&mut self, ctx: &egui::Context, message: String) {
        *self.outcome.lock().unwrap() = Err(message);
        self.stage = Stage::Done;
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }

    /// Requests a screenshot of `rect` (points; None: the whole window) into `name`.
    fn shoot(&mut self, ctx: &egui::Context, name: &str, rect: Option<egui::Rect>) {
        let path = self.dir.join(name);
        let saved = self.saved.clone();
        let ppp = ctx.pixels_per_point();
        *saved.lock().unwrap() = None;
        ctx.request_screenshot(move |image| {
            let image = match rect {
                Some(rect) => image.region(&rect, Some(ppp)),
                None => (*image).clone(),
            };
            let [w, h] = image.size;
            let result = write_png(&path, w, h, image.as_raw())
                .map(|_| path.display().to_string())
                .map_err(|e| e.to_string());
            *saved.lock().unwrap() = Some(result);
        });
        ctx.request_repaint();
    }

    /// True once the last requested screenshot was written (an error fails the tour).
    fn shot_done(&mut self, ctx: &egui::Context) -> bool {
        let result = self.saved.lock().unwrap().take();
        match result {
            Some(Ok(path)) => {
                println!("saved {path}");
                true
            }
            Some(Err(error)) => {
                self.fail(ctx, error);
                false
            }
            None => false,
        }
    }

    /// Counts settling frames, then takes the picture; true once it is written.
    fn settle_and_shoot(
        &mut self,
        ctx: &egui::Context,
        name: &str,
        rect: Option<egui::Rect>,
    ) -> bool {
        self.settle += 1;
        if self.settle == SETTLE_FRAMES {
            self.shoot(ctx, name, rect);
            false
        } else {
            self.settle > SETTLE_FRAMES && self.shot_done(ctx)
        }
    }

    /// True once the window is `pixels` large; the tour fails when it is not within 5 s (the
    /// X server or window manager resizes it in its own time).
    fn resized(&mut self, ctx: &egui::Context, pixels: [f32; 2]) -> bool {
        let size = ctx.content_rect().size() * ctx.pixels_per_point();
        if (size.x - pixels[0]).abs() < 2.0 && (size.y - pixels[1]).abs() < 2.0 {
            return true;
        }
        if self.stage_started.elapsed() > Duration::from_secs(5) {
            self.fail(
                ctx,
                format!(
                    "the window could not be resized to {}×{} pixels (it is {:.0}×{:.0})",
                    pixels[0], pixels[1], size.x, size.y
                ),
            );
        }
        false
    }

    fn at_target(&self, app: &TripartiteApp) -> bool {
        app.snapshot().is_some_and(|s| {
            s.generation >= self.generation && s.step == self.target && s.state == RunState::Paused
        })
    }

    fn after_frame(&mut self, app: &mut TripartiteApp, ctx: &egui::Context) {
        ctx.request_repaint_after(Duration::from_millis(30));
        if self.stage != Stage::Done && self.stage_started.elapsed() > STAGE_TIMEOUT {
            let stage = self.stage;
            self.fail(
                ctx,
                format!("the screenshot tour timed out at stage {stage:?}"),
            );
            return;
        }
        let Some(snapshot) = app.snapshot().cloned() else {
            return;
        };
        if snapshot.state == RunState::Failed {
            let failure = snapshot.failure().unwrap_or_default();
            self.fail(ctx, format!("the simulation failed: {failure}"));
            return;
        }
        match self.stage {
            Stage::Start => {
                let Some(run) = snapshot.run.clone() else {
                    return;
                };
                if let Err(error) = std::fs::create_dir_all(&self.dir) {
                    let dir = self.dir.display().to_string();
                    self.fail(ctx, format!("cannot create '{dir}': {error}"));
                    return;
                }
                self.target = mid_run(&run);
                self.generation = snapshot.generation;
                // Park the pointer in the empty corner of the status bar: no stray tooltips.
                let corner = ctx.content_rect().max - egui::vec2(4.0, 4.0);
                ctx.send_viewport_cmd(egui::ViewportCommand::CursorPosition(corner));
                app.handle(ctx, AppCommand::Worker(Command::RunToStep(self.target)));
                self.next(Stage::Explore);
            }
            Stage::Explore => {
                if !self.at_target(app) {
                    return;
                }
                let subset = &snapshot.subset;
                let hidden = subset
                    .hidden
                    .iter()
                    .max_by(|a, b| a.rate.total_cmp(&b.rate))
                    .map_or(0, |n| n.index);
                let output = subset
                    .outputs
                    .iter()
                    .max_by(|a, b| a.rate.abs().total_cmp(&b.rate.abs()))
                    .map_or(0, |n| n.index);
                select(app, ctx, Some(Selection::Synapse { output, hidden }));
                self.hovered = Some(hidden);
                self.generation = snapshot.generation + 1;
                app.handle(ctx, AppCommand::Worker(Command::Reset));
                app.handle(ctx, AppCommand::Worker(Command::RunToStep(self.target)));
                self.next(Stage::MainShot);
            }
            Stage::MainShot => {
                if !self.at_target(app) {
                    return;
                }
                if self.settle_and_shoot(ctx, "main_mid_run.png", None) {
                    app.handle(ctx, AppCommand::Worker(Command::RunToEnd));
                    self.next(Stage::AttentionShot);
                }
            }
            Stage::AttentionShot => {
                if snapshot.state != RunState::Finished {
                    return;
                }
                let rect = app.view_rects().attention;
                if self.settle_and_shoot(ctx, "attention.png", rect) {
                    self.generation = snapshot.generation + 1;
                    app.handle(ctx, AppCommand::Worker(Command::Reset));
                    app.handle(ctx, AppCommand::Worker(Command::RunToStep(self.target)));
                    self.next(Stage::GraphShot);
                }
            }
            Stage::GraphShot => {
                if !self.at_target(app) {
                    return;
                }
                self.settle += 1;
                if self.settle == 2
                    && let Some(pos) = self
                        .hovered
                        .and_then(|j| app.graph().position_of(Selection::Hidden(j)))
                {
                    ctx.send_viewport_cmd(egui::ViewportCommand::CursorPosition(pos));
                    self.hover_sent = Some(Instant::now());
                }
                let hover_ready = self
                    .hover_sent
                    .is_none_or(|t| t.elapsed() > Duration::from_millis(1200));
                if self.settle == SETTLE_FRAMES && !hover_ready {
                    self.settle -= 1;
                    return;
                }
                if self.settle == SETTLE_FRAMES {
                    let rect = app.view_rects().graph;
                    self.shoot(ctx, "graph_selection.png", rect);
                } else if self.settle > SETTLE_FRAMES && self.shot_done(ctx) {
                    let corner = ctx.content_rect().max - egui::vec2(4.0, 4.0);
                    ctx.send_viewport_cmd(egui::ViewportCommand::CursorPosition(corner));
                    select(app, ctx, None);
                    self.generation = snapshot.generation + 1;
                    let open = FileAction::OpenExample {
                        name: TRACKING_PRESET,
                    };
                    app.handle(ctx, AppCommand::FileConfirmed(open));
                    self.next(Stage::TrackingLoad);
                }
            }
            Stage::TrackingLoad => {
                if snapshot.generation < self.generation {
                    return;
                }
                let Some(run) = snapshot.run.clone() else {
                    return;
                };
                self.target = mid_run(&run);
                self.generation = snapshot.generation;
                app.handle(ctx, AppCommand::Worker(Command::RunToStep(self.target)));
                self.next(Stage::TrackingShot);
            }
            Stage::TrackingShot => {
                if !self.at_target(app) {
                    return;
                }
                if self.settle_and_shoot(ctx, "tracking.png", None) {
                    app.handle(ctx, AppCommand::Worker(Command::RunToEnd));
                    self.next(Stage::TimelineRun);
                }
            }
            Stage::TimelineRun => {
                if snapshot.state != RunState::Finished {
                    return;
                }
                app.handle(
                    ctx,
                    AppCommand::Worker(Command::ShowStep(Some(self.target))),
                );
                self.next(Stage::TimelineShot);
            }
            Stage::TimelineShot => {
                if !(snapshot.timeline.scrubbed && snapshot.step == self.target) {
                    return;
                }
                if self.settle_and_shoot(ctx, "timeline_scrubbed.png", None) {
                    app.handle(ctx, AppCommand::Worker(Command::ShowStep(None)));
                    let per_query = &snapshot.per_query;
                    let worst = (0..per_query.tv.len())
                        .max_by(|&a, &b| per_query.tv[a].total_cmp(&per_query.tv[b]))
                        .map(|i| per_query.row[i]);
                    if let Some(t) = worst {
                        let before = app.tokens().clone();
                        app.handle(
                            ctx,
                            AppCommand::SelectTokens {
                                before,
                                after: crate::ui::views::selection::TokenSelection::query(t),
                            },
                        );
                    }
                    app.handle(ctx, AppCommand::TogglePerQuery);
                    self.next(Stage::PerQueryShot);
                }
            }
            Stage::PerQueryShot => {
                if snapshot.timeline.scrubbed {
                    return;
                }
                if self.settle_and_shoot(ctx, "per_query.png", None) {
                    app.handle(ctx, AppCommand::TogglePerQuery);
                    app.handle(
                        ctx,
                        AppCommand::Compare(crate::ui::views::compare::CompareAction::StartTwin {
                            key: "ablation".into(),
                            value: "frozen_calcium".into(),
                        }),
                    );
                    app.set_tab(crate::ui::command::Tab::Compare);
                    self.next(Stage::AblationRun);
                }
            }
            Stage::AblationRun => {
                let done = app.twin().is_some_and(|twin| {
                    !matches!(twin.state(), crate::sim::compare::TwinState::Running)
                });
                if done {
                    self.next(Stage::AblationShot);
                }
            }
            Stage::AblationShot => {
                if self.settle_and_shoot(ctx, "ablation_twin.png", None) {
                    app.set_tab(crate::ui::command::Tab::Live);
                    self.generation = snapshot.generation + 1;
                    app.handle(ctx, AppCommand::StartLesson(0));
                    self.next(Stage::LessonRun);
                }
            }
            Stage::LessonRun => {
                if snapshot.generation < self.generation {
                    return;
                }
                // Step 3 of the first lesson (Next is pressed as the learner would).
                let at = app.lesson().position().map(|(_, index, _)| index);
                match at {
                    Some(index) if index < 2 => {
                        // Step 2 asks for the first write slot to have been played.
                        if index == 1 && snapshot.step == 0 && self.settle == 0 {
                            app.handle(ctx, AppCommand::Worker(Command::StepSlot));
                        }
                        if self.settle > SETTLE_FRAMES * 4 {
                            self.settle = 0;
                            app.handle(ctx, AppCommand::LessonNext);
                        } else {
                            self.settle += 1;
                        }
                    }
                    Some(_) => self.next(Stage::LessonShot),
                    None => {}
                }
            }
            Stage::LessonShot => {
                if self.stage_started.elapsed() < Duration::from_millis(1500) {
                    return;
                }
                if self.settle_and_shoot(ctx, "lesson_step.png", None) {
                    app.handle(ctx, AppCommand::TogglePresentation);
                    self.next(Stage::PresentationShot);
                }
            }
            Stage::PresentationShot => {
                if self.stage_started.elapsed() < Duration::from_millis(800) {
                    return;
                }
                if self.settle_and_shoot(ctx, "presentation.png", None) {
                    resize(ctx, PROJECTOR);
                    self.next(Stage::ProjectorShot);
                }
            }
            Stage::ProjectorShot => {
                if !self.resized(ctx, PROJECTOR) {
                    return;
                }
                if self.stage_started.elapsed() < Duration::from_millis(800) {
                    return;
                }
                if self.settle_and_shoot(ctx, "projector.png", None) {
                    resize(ctx, WINDOW);
                    self.next(Stage::ProjectorDone);
                }
            }
            Stage::ProjectorDone => {
                if !self.resized(ctx, WINDOW) {
                    return;
                }
                app.handle(ctx, AppCommand::TogglePresentation);
                app.handle(ctx, AppCommand::LeaveLesson);
                let pad = drawn_seven();
                app.digits_mut().put_on_pad(pad.clone());
                let before = app.current_experiment();
                let after = crate::data::experiment::Experiment {
                    params: crate::model::params::Params {
                        layer: 1,
                        head: 0,
                        ..crate::model::params::Params::default()
                    },
                    source: crate::data::spec::SourceSpec::Drawing(pad),
                    text: None,
                    description: None,
                };
                self.generation = snapshot.generation + 1;
                app.handle(
                    ctx,
                    AppCommand::LoadSequence {
                        before: Box::new(before),
                        after: Box::new(after),
                    },
                );
                self.next(Stage::DrawPadRun);
            }
            Stage::DrawPadRun => {
                if snapshot.generation < self.generation || snapshot.run.is_none() {
                    return;
                }
                app.handle(ctx, AppCommand::Worker(Command::RunToEnd));
                self.next(Stage::DrawPadShot);
            }
            Stage::DrawPadShot => {
                if snapshot.state != RunState::Finished
                    || self.stage_started.elapsed() < Duration::from_millis(800)
                {
                    return;
                }
                if self.settle_and_shoot(ctx, "draw_pad.png", None) {
                    let show = FileAction::ShowAuthorsFigure;
                    app.handle(ctx, AppCommand::FileConfirmed(show));
                    self.next(Stage::AuthorsFigureShot);
                }
            }
            Stage::AuthorsFigureShot => {
                let figure = app.authors_figure();
                if figure.panel().is_none() || figure.is_busy() {
                    return;
                }
                if self.settle_and_shoot(ctx, "authors_figure.png", None) {
                    app.set_tab(crate::ui::command::Tab::Live);
                    self.generation = snapshot.generation + 1;
                    let before = Box::new(app.current_experiment());
                    app.handle(
                        ctx,
                        AppCommand::LoadSequence {
                            before,
                            after: Box::new(layer_experiment()),
                        },
                    );
                    self.next(Stage::LayerLoad);
                }
            }
            Stage::LayerLoad => {
                if snapshot.generation < self.generation
                    || crate::ui::views::layer::layer_of(&snapshot).is_none()
                {
                    return;
                }
                let Some(run) = snapshot.run.clone() else {
                    return;
                };
                self.target = mid_run(&run);
                self.generation = snapshot.generation;
                app.handle(ctx, AppCommand::Worker(Command::RunToStep(self.target)));
                self.next(Stage::LayerShot);
            }
            Stage::LayerShot => {
                if !self.at_target(app) {
                    return;
                }
                if self.settle_and_shoot(ctx, "layer_live.png", None) {
                    *self.outcome.lock().unwrap() = Ok(());
                    self.stage = Stage::Done;
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
            }
            Stage::Done => {}
        }
    }
}

/// A 7 as a learner might draw it on the 8×8 pad: a bar along the top, a stroke down to the
/// bottom left.
fn drawn_seven() -> Vec<u8> {
    let side = crate::data::images::DIGIT_SIZE as usize;
    let mut pad = vec![0u8; side * side];
    for col in 1..7 {
        pad[side + col] = 255;
    }
    for (row, col) in [(2, 6), (3, 5), (4, 5), (5, 4), (6, 3), (7, 3)] {
        pad[row * side + col] = 255;
        pad[row * side + col - 1] = 120;
    }
    pad
}

/// The whole-layer picture: every head of layer 3 on a bundled MiniLM sentence, dynamic, at
/// an m that reaches mid-run in seconds.
fn layer_experiment() -> crate::data::experiment::Experiment {
    use crate::model::params::{Heads, Mode, Params};
    crate::data::experiment::Experiment {
        params: Params {
            mode: Mode::Dynamic,
            m: 512,
            layer: 3,
            heads: Heads::All,
            ..Params::default()
        },
        source: crate::data::spec::SourceSpec::Bundled("coreference-it".into()),
        ..Default::default()
    }
}

/// Selects as a click in the graph does.
fn select(app: &mut TripartiteApp, ctx: &egui::Context, after: Option<Selection>) {
    let before = app.selection();
    app.handle(ctx, AppCommand::Select { before, after });
}
