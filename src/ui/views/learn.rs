//! Ablate ▸ Learn synapses… (issue 27 §4): learns the current head's (or its layer's) hidden
//! synapses W and b on the shipped training sentences in the background, with a live loss curve,
//! train and held-out attn_tv as they fall, a progress bar and Cancel; then offers to load the
//! learned network, with the random one at the same m pinned as the A/B baseline.
//!
//! The mathematics is [`crate::model::learn`], the data side [`crate::jobs::learn`]; this file
//! is the window and the job's state.

use crate::data::experiment::Experiment;
use crate::data::spec::SourceSpec;
use crate::jobs::background::{Background, Poll};
use crate::jobs::learn::{
    HeadChoice, LearnOutcome, LearnRequest, SHIPPED_HELD_OUT, SHIPPED_TRAIN, TextSet,
    learn_measuring, sentence_lines,
};
use crate::model::learn::{DEFAULT_LEARNING_RATE, DEFAULT_STEPS, LearnEvent};
use crate::model::learned::{HeadRecord, LearnedFile};
use crate::model::params::{FeatureMap, Params, Projection};
use crate::sim::compare::{RunRecord, run_record};
use crate::ui::widgets::theme;
use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The Ablate menu item and its hover text.
pub const MENU_LABEL: &str = "Learn synapses…";
pub const MENU_TOOLTIP: &str = "Learn the hidden layer's synapses W and b of this head (gradient \
     descent on the shipped sentences) and compare the learned network with the random one";
/// Accessible names of the window's controls.
pub const WINDOW_TITLE: &str = "Learn synapses";
pub const M_LABEL: &str = "hidden neurons m";
pub const STEPS_LABEL: &str = "Adam steps";
pub const ALL_HEADS_LABEL: &str = "every head of the layer";
pub const RANDOM_M_LABEL: &str = "random m to compare with";
pub const START_LABEL: &str = "Start learning";
pub const CANCEL_LABEL: &str = "Cancel learning";
pub const SAVE_PATH_LABEL: &str = "save to";
pub const LOAD_LABEL: &str = "Load learned network";

/// Random positive features this large are what the issue sets the learned network against.
const DEFAULT_RANDOM_M: usize = 100_000;

/// What the job reports as it runs, shared with the window.
#[derive(Default)]
struct Live {
    /// Per head: (step, mean KL before it).
    loss: BTreeMap<usize, Vec<[f64; 2]>>,
    /// Per head: (step, train attn_tv), (step, held-out attn_tv).
    train_tv: BTreeMap<usize, Vec<[f64; 2]>>,
    held_out_tv: BTreeMap<usize, Vec<[f64; 2]>>,
    /// Learning has started (the sentences are encoded).
    started: bool,
    /// Sentences encoded so far, of how many (training and held-out together).
    encoded: (usize, usize),
}

/// What a finished job hands back.
struct Learned {
    outcome: LearnOutcome,
    /// The random network at the learned m (same projection kind, seed and sequence), run to
    /// the end: the A/B baseline.
    baseline: Result<RunRecord, String>,
    /// The experiment the random baseline ran.
    random: Experiment,
}

type JobResult = Result<Option<Learned>, String>;

/// A learning job in flight.
struct Job {
    background: Background<JobResult>,
    live: Arc<Mutex<Live>>,
    steps_done: Arc<AtomicUsize>,
    cancel: Arc<AtomicBool>,
    heads: usize,
    steps: usize,
    started: std::time::Instant,
}

/// The finished result on show.
struct Shown {
    learned: Learned,
    live: Live,
    m: usize,
    head: usize,
    seconds: f64,
}

/// What the window asks of the app.
pub enum LearnAction {
    /// Write `file` to `path`, set projection = learned:path (and m) on the current
    /// experiment, and pin `baseline` (the random network) in the Compare tab.
    Load {
        path: PathBuf,
        file: Box<LearnedFile>,
        m: usize,
        baseline: Option<Box<RunRecord>>,
    },
}

/// The window's state.
pub struct LearnWindow {
    pub open: bool,
    m: usize,
    steps: usize,
    all_heads: bool,
    random_m: usize,
    save_path: String,
    job: Option<Job>,
    shown: Option<Shown>,
    message: Option<String>,
    /// The live plot's head when learning several.
    head: usize,
}

impl Default for LearnWindow {
    fn default() -> Self {
        LearnWindow {
            open: false,
            m: 256,
            steps: DEFAULT_STEPS,
            all_heads: false,
            random_m: DEFAULT_RANDOM_M,
            save_path: String::new(),
            job: None,
            shown: None,
            message: None,
            head: 0,
        }
    }
}

/// The model folder of a text experiment, or the one sentence that says why there is none.
pub fn model_folder(experiment: &Experiment) -> Result<PathBuf, String> {
    match &experiment.source {
        SourceSpec::Model(dir) if experiment.text.is_some() => Ok(dir.clone()),
        _ => Err(
            "Learning needs a text model folder (open one, such as all-MiniLM-L6-v2, with Open model folder… in the File menu), \
             because the shipped training sentences must be encoded by the model whose head is learned."
                .into(),
        ),
    }
}

/// The default file: the user's documents (or home) folder, named after the layer, head and m.
fn default_path(layer: usize, head: Option<usize>, m: usize) -> PathBuf {
    let folder = crate::ui::files::user_folder()
        .unwrap_or_else(|| std::env::current_dir().unwrap_or_default());
    let heads = head.map_or("all-heads".to_string(), |h| format!("head{h}"));
    folder.join(format!("learned-layer{layer}-{heads}-m{m}.safetensors"))
}

/// The random network the learned one is compared with: same experiment at m, with the drawn
/// projection it had (iid when it was already a learned one).
pub fn random_twin(experiment: &Experiment, m: usize) -> Experiment {
    let mut random = experiment.clone();
    random.params.m = m;
    if random.params.projection.is_learned() {
        random.params.projection = Projection::Iid;
    }
    random.params.feature_map = FeatureMap::Positive;
    random
}

/// The experiment's parameters with the learned file loaded.
pub fn learned_params(params: &Params, projection: Projection, m: usize) -> Params {
    Params {
        m,
        projection,
        feature_map: FeatureMap::Positive,
        ..params.clone()
    }
}

/// "learned m = 256: 0.063 · random m = 256: 0.339 · random m = 100 000: 0.132", with a
/// verdict, from one head's record (figures measured when the file was learned).
pub fn comparison_line(record: &HeadRecord, m: usize) -> String {
    let mut line = format!(
        "held-out attn_tv: learned m = {}: {} · random m = {}: {}",
        theme::thousands(m as f64, 0),
        theme::sig(record.held_out_tv),
        theme::thousands(m as f64, 0),
        theme::sig(record.held_out_tv_random)
    );
    if let Some((big, tv)) = record.held_out_random_large {
        line.push_str(&format!(
            " · random m = {}: {}",
            theme::thousands(big as f64, 0),
            theme::sig(tv)
        ));
        let verdict = if !(record.held_out_tv.is_finite() && tv.is_finite()) {
            None
        } else if (record.held_out_tv - tv).abs() <= 0.1 * tv {
            Some("≈")
        } else if record.held_out_tv < tv {
            Some("better than")
        } else {
            Some("worse than")
        };
        if let Some(verdict) = verdict {
            line.push_str(&format!(
                ". Learned m = {} {verdict} random m = {} on held-out text.",
                theme::thousands(m as f64, 0),
                theme::thousands(big as f64, 0)
            ));
        }
    }
    line
}

/// For the per-query and budget views: the learned-against-random line of the head the
/// experiment runs, when its projection is a learned file that holds it.
pub fn learned_summary(params: &Params) -> Option<String> {
    let Projection::Learned(id) = params.projection else {
        return None;
    };
    let file = crate::model::learned::file(id);
    let record = file.records.iter().find(|r| r.head == params.head)?;
    Some(format!(
        "Learned synapses ({}; {}): {}",
        file_name(&crate::model::learned::path(id)),
        file.training
            .split(';')
            .next()
            .unwrap_or("")
            .trim_start_matches("train: "),
        comparison_line(record, file.hidden())
    ))
}

/// The file name of a path (the whole text when it has none).
pub fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

impl LearnWindow {
    /// Whether learning runs now.
    pub fn is_busy(&self) -> bool {
        self.job.is_some()
    }

    /// The finished file on show, if any (tests).
    pub fn learned_file(&self) -> Option<&LearnedFile> {
        self.shown.as_ref().map(|s| &s.learned.outcome.file)
    }

    fn start(&mut self, ctx: &egui::Context, experiment: &Experiment, dir: PathBuf) {
        let params = &experiment.params;
        let request = LearnRequest {
            model: Some(dir),
            layer: params.layer,
            heads: if self.all_heads {
                HeadChoice::All
            } else {
                HeadChoice::One(params.head)
            },
            m: self.m,
            seed: params.seed,
            steps: self.steps,
            learning_rate: DEFAULT_LEARNING_RATE,
            train: vec![TextSet::ShippedTrain],
            held_out: vec![TextSet::ShippedHeldOut],
            random_m: (self.random_m > 0).then_some(self.random_m),
        };
        let live = Arc::new(Mutex::new(Live::default()));
        let steps_done = Arc::new(AtomicUsize::new(0));
        let cancel = Arc::new(AtomicBool::new(false));
        let random = random_twin(experiment, self.m);
        let (their_live, their_steps, their_cancel) =
            (live.clone(), steps_done.clone(), cancel.clone());
        let repaint = ctx.clone();
        // About 20 measurements of attn_tv over the run: enough for a curve, a few per cent
        // of the learning time.
        let measure_every = (self.steps / 20).max(1);
        let work = move || -> JobResult {
            let report = |event: LearnEvent| {
                let mut live = their_live.lock().unwrap_or_else(|p| p.into_inner());
                match event {
                    LearnEvent::Encoded {
                        sentence,
                        sentences,
                    } => live.encoded = (sentence, sentences),
                    LearnEvent::Started { .. } => live.started = true,
                    LearnEvent::Step { head, step, loss } => {
                        live.loss
                            .entry(head)
                            .or_default()
                            .push([step as f64 - 1.0, loss]);
                        their_steps.fetch_add(1, Ordering::Relaxed);
                    }
                    LearnEvent::Measured {
                        head,
                        step,
                        train_tv,
                        held_out_tv,
                    } => {
                        live.train_tv
                            .entry(head)
                            .or_default()
                            .push([step as f64, train_tv]);
                        live.held_out_tv
                            .entry(head)
                            .or_default()
                            .push([step as f64, held_out_tv]);
                    }
                }
                drop(live);
                repaint.request_repaint();
            };
            let outcome = learn_measuring(&request, measure_every, &report, &their_cancel)
                .map_err(|e| format!("{e:#}"))?;
            let Some(outcome) = outcome else {
                return Ok(None);
            };
            let baseline = run_record(&random, &their_cancel).map_err(|e| e.to_string());
            if their_cancel.load(Ordering::Relaxed) {
                return Ok(None);
            }
            Ok(Some(Learned {
                outcome,
                baseline,
                random,
            }))
        };
        let notify = ctx.clone();
        self.job = Some(Job {
            background: Background::start("learn synapses", work, move || notify.request_repaint()),
            live,
            steps_done,
            cancel,
            heads: if self.all_heads { 0 } else { 1 },
            steps: self.steps,
            started: std::time::Instant::now(),
        });
        self.head = params.head;
        self.shown = None;
        self.message = None;
    }

    /// Takes the job's result once it has arrived.
    fn poll(&mut self) {
        let Some(job) = &self.job else {
            return;
        };
        let result = match job.background.poll() {
            Poll::Running => return,
            Poll::Done(result) => result,
            Poll::Lost => Err("learning stopped unexpectedly (its thread panicked)".into()),
        };
        let job = self.job.take().expect("checked above");
        let live = std::mem::take(&mut *job.live.lock().unwrap_or_else(|p| p.into_inner()));
        match result {
            Ok(Some(learned)) => {
                let m = learned.outcome.file.hidden();
                self.save_path = default_path(
                    learned.outcome.file.layer,
                    (learned.outcome.file.records.len() == 1).then_some(self.head),
                    m,
                )
                .display()
                .to_string();
                self.shown = Some(Shown {
                    learned,
                    live,
                    m,
                    head: self.head,
                    seconds: job.started.elapsed().as_secs_f64(),
                });
            }
            Ok(None) => self.message = Some("Learning was cancelled; nothing was kept.".into()),
            Err(reason) => self.message = Some(format!("Learning failed: {reason}")),
        }
    }

    /// The window, when open; returns what the user asked of the app.
    pub fn ui(&mut self, ctx: &egui::Context, experiment: &Experiment) -> Option<LearnAction> {
        self.poll();
        if !self.open {
            return None;
        }
        let mut open = self.open;
        let mut action = None;
        egui::Window::new(WINDOW_TITLE)
            .id(egui::Id::unique("tripartite.learn_window"))
            .open(&mut open)
            .default_width(560.0)
            .default_height(620.0)
            // Beside the Parameters panel and below the menus: it never covers File, Edit or
            // Ablate, nor the run controls.
            .default_pos(egui::pos2(380.0, 100.0))
            .max_width(720.0)
            .resizable(true)
            .show(ctx, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    action = self.contents(ui, experiment);
                });
            });
        self.open = open;
        if self.job.is_some() {
            ctx.request_repaint_after(std::time::Duration::from_millis(250));
        }
        action
    }

    fn contents(&mut self, ui: &mut egui::Ui, experiment: &Experiment) -> Option<LearnAction> {
        theme::caption(
            ui,
            "The paper draws the hidden synapses W at random. Here gradient descent (Adam on the \
             mean KL(A_soft || A_net)) finds what the same positive neurons, with a bias each, can \
             do: a tool to measure the circuit, not a claim about how synapses learn.",
        );
        let dir = match model_folder(experiment) {
            Ok(dir) => dir,
            Err(reason) => {
                ui.label(reason);
                return None;
            }
        };
        let params = &experiment.params;
        let busy = self.job.is_some();
        ui.label(format!(
            "Layer {}, {} · seed {} · model {}",
            params.layer,
            if self.all_heads {
                "every head".to_string()
            } else {
                format!("head {}", params.head)
            },
            params.seed,
            dir.display()
        ));
        ui.add_enabled_ui(!busy, |ui| {
            egui::Grid::new("learn settings")
                .num_columns(2)
                .show(ui, |ui| {
                    let label = ui.label(M_LABEL);
                    ui.add(
                        egui::DragValue::new(&mut self.m)
                            .range(1..=65_536)
                            .speed(4.0),
                    )
                    .labelled_by(label.id)
                    .on_hover_text("Hidden neurons per head of the learned network (and of the random one it is compared with)");
                    ui.end_row();
                    let label = ui.label(STEPS_LABEL);
                    ui.add(egui::DragValue::new(&mut self.steps).range(1..=100_000))
                        .labelled_by(label.id)
                        .on_hover_text("Full-batch Adam steps on the training sentences");
                    ui.end_row();
                    let label = ui.label(RANDOM_M_LABEL);
                    ui.add(
                        egui::DragValue::new(&mut self.random_m)
                            .range(0..=1_000_000)
                            .speed(100.0),
                    )
                    .labelled_by(label.id)
                    .on_hover_text("Also measure random positive features this large on the held-out sentences (0: don't)");
                    ui.end_row();
                });
            ui.checkbox(&mut self.all_heads, ALL_HEADS_LABEL)
                .on_hover_text("Learn all heads of this layer into one file (in parallel; takes several minutes)");
        });
        ui.label(format!(
            "Training: assets/learn/train.txt ({} sentences) · held out: assets/learn/held_out.txt ({} sentences, never learned from); both written for this project.",
            sentence_lines(SHIPPED_TRAIN).len(),
            sentence_lines(SHIPPED_HELD_OUT).len()
        ));
        ui.horizontal(|ui| {
            if busy {
                let job = self.job.as_ref().expect("busy");
                if ui.button(CANCEL_LABEL).clicked() {
                    job.cancel.store(true, Ordering::Relaxed);
                }
                if job.cancel.load(Ordering::Relaxed) {
                    ui.label("Cancelling…");
                }
            } else if ui
                .button(START_LABEL)
                .on_hover_text("Learn in the background; the app stays usable")
                .clicked()
            {
                self.start(ui.ctx(), experiment, dir.clone());
            }
        });
        if let Some(message) = &self.message {
            ui.label(message);
        }
        if let Some(job) = &self.job {
            let live = job.live.lock().unwrap_or_else(|p| p.into_inner());
            let heads = if job.heads == 0 {
                live.loss.len().max(1)
            } else {
                job.heads
            };
            let total = (heads * job.steps).max(1);
            let done = job.steps_done.load(Ordering::Relaxed).min(total);
            let (fraction, text) = if !live.started {
                // Before learning, the bar counts the sentences the model has encoded.
                let (encoded, sentences) = live.encoded;
                (
                    encoded as f32 / sentences.max(1) as f32,
                    if sentences == 0 {
                        "reading the sentences…".to_string()
                    } else {
                        format!(
                            "encoding sentence {encoded}/{sentences} with the model · {:.0} s",
                            job.started.elapsed().as_secs_f64()
                        )
                    },
                )
            } else if done >= total {
                (
                    1.0,
                    "measuring, and running the random baseline…".to_string(),
                )
            } else {
                (
                    done as f32 / total as f32,
                    format!(
                        "{done} of {total} steps · {:.0} s",
                        job.started.elapsed().as_secs_f64()
                    ),
                )
            };
            ui.add(
                egui::ProgressBar::new(fraction)
                    .text(format!("{:.0} % · {text}", 100.0 * fraction)),
            );
            live_figures(ui, &live, self.head);
            curves(ui, &live, self.head);
            return None;
        }
        let shown = self.shown.as_ref()?;
        ui.separator();
        ui.label(
            egui::RichText::new(format!(
                "Learned in {:.0} s: {} head(s), m = {}",
                shown.seconds,
                shown.learned.outcome.file.records.len(),
                shown.m
            ))
            .strong(),
        );
        if let Some(record) = shown
            .learned
            .outcome
            .file
            .records
            .iter()
            .find(|r| r.head == shown.head)
        {
            ui.label(comparison_line(record, shown.m));
        }
        ui.horizontal(|ui| {
            let label = ui.label(SAVE_PATH_LABEL);
            ui.add(egui::TextEdit::singleline(&mut self.save_path).desired_width(360.0))
                .labelled_by(label.id)
                .on_hover_text("Where the learned synapses are written (safetensors); the experiment then names this file as projection = learned:FILE");
        });
        let absolute =
            std::path::absolute(&self.save_path).unwrap_or_else(|_| PathBuf::from(&self.save_path));
        theme::caption(ui, &format!("The file will be {}", absolute.display()));
        match &shown.learned.baseline {
            Ok(_) => theme::caption(
                ui,
                &format!(
                    "Loading sets projection = learned:FILE and m = {} here, and pins the random network ({}, m = {}) as the A/B baseline in the Compare tab.",
                    shown.m, shown.learned.random.params.projection, shown.m
                ),
            ),
            Err(reason) => {
                ui.label(format!("The random baseline could not run: {reason}"));
            }
        }
        if ui
            .button(LOAD_LABEL)
            .on_hover_text(
                "Write the file, run the learned network, and compare it with the random one",
            )
            .clicked()
        {
            return Some(LearnAction::Load {
                path: absolute,
                file: Box::new(shown.learned.outcome.file.clone()),
                m: shown.m,
                baseline: shown.learned.baseline.clone().ok().map(Box::new),
            });
        }
        ui.separator();
        live_figures(ui, &shown.live, shown.head);
        curves(ui, &shown.live, shown.head);
        results_table(ui, &shown.learned.outcome.file.records, shown.m);
        None
    }

    /// After a load: the app reports where the file went (or why not).
    pub fn loaded(&mut self, message: String) {
        self.message = Some(message);
    }
}

/// The plotted head's first and latest loss and attn_tv, in words (tests read them).
fn live_figures(ui: &mut egui::Ui, live: &Live, head: usize) {
    let head = if live.loss.contains_key(&head) {
        head
    } else {
        live.loss.keys().next().copied().unwrap_or(head)
    };
    let first_last = |series: Option<&Vec<[f64; 2]>>| {
        series.and_then(|s| Some((s.first()?[1], s.last()?[1], s.last()?[0])))
    };
    if let Some((first, last, step)) = first_last(live.loss.get(&head)) {
        ui.label(format!(
            "head {head}: loss (mean KL) {} to {} after step {}",
            theme::sig(first),
            theme::sig(last),
            step as usize + 1
        ));
    }
    if let (Some((t0, t1, step)), Some((h0, h1, _))) = (
        first_last(live.train_tv.get(&head)),
        first_last(live.held_out_tv.get(&head)),
    ) {
        ui.label(format!(
            "attn_tv at step {}: train {} to {} · held out {} to {}",
            step as usize,
            theme::sig(t0),
            theme::sig(t1),
            theme::sig(h0),
            theme::sig(h1)
        ));
    }
}

/// The live loss curve and the attn_tv curves (train solid, held out dashed); the plotted head
/// is drawn strongly, the layer's other heads faintly.
fn curves(ui: &mut egui::Ui, live: &Live, head: usize) {
    let faint = egui::Color32::from_gray(190);
    ui.columns(2, |columns| {
        Plot::new("learn loss")
            .height(180.0)
            .legend(Legend::default())
            .x_axis_label("Adam step")
            .y_axis_label("mean KL(A_soft || A_net)")
            .allow_scroll(false)
            .show(&mut columns[0], |plot| {
                for (&h, series) in &live.loss {
                    let line = Line::new(
                        if h == head {
                            format!("loss, head {h}")
                        } else {
                            String::new()
                        },
                        PlotPoints::from(series.clone()),
                    );
                    plot.line(if h == head { line } else { line.color(faint) });
                }
            });
        Plot::new("learn attn_tv")
            .height(180.0)
            .legend(Legend::default())
            .x_axis_label("Adam step")
            .y_axis_label("attn_tv")
            .allow_scroll(false)
            .show(&mut columns[1], |plot| {
                for (series, name, dashed) in [
                    (&live.train_tv, "train", false),
                    (&live.held_out_tv, "held out", true),
                ] {
                    for (&h, points) in series {
                        let mut line = Line::new(
                            if h == head {
                                format!("{name}, head {h}")
                            } else {
                                String::new()
                            },
                            PlotPoints::from(points.clone()),
                        );
                        if dashed {
                            line = line.style(LineStyle::dashed_loose());
                        }
                        if h != head {
                            line = line.color(faint);
                        }
                        plot.line(line);
                    }
                }
            });
    });
}

/// One row per head: train and held-out attn_tv, random against learned.
fn results_table(ui: &mut egui::Ui, records: &[HeadRecord], m: usize) {
    egui::Grid::new("learn results")
        .striped(true)
        .num_columns(6)
        .show(ui, |ui| {
            ui.strong("head");
            ui.strong(format!("train, random m={m}"));
            ui.strong("train, learned");
            ui.strong(format!("held out, random m={m}"));
            ui.strong("held out, learned");
            let large = records.iter().find_map(|r| r.held_out_random_large);
            match large {
                Some((big, _)) => ui.strong(format!(
                    "held out, random m={}",
                    theme::thousands(big as f64, 0)
                )),
                None => ui.label(""),
            };
            ui.end_row();
            for r in records {
                ui.label(r.head.to_string());
                ui.label(theme::sig(r.train_tv_random));
                ui.label(theme::sig(r.train_tv));
                ui.label(theme::sig(r.held_out_tv_random));
                ui.label(theme::sig(r.held_out_tv));
                ui.label(
                    r.held_out_random_large
                        .map_or_else(|| "—".to_string(), |(_, v)| theme::sig(v)),
                );
                ui.end_row();
            }
        });
    ui.weak("attn_tv: mean over sentences of the total-variation distance between A_net and A_soft rows (0 = identical)");
}
