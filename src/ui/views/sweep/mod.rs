//! The paper's comparison in two plots. Left: the astrocyte's calcium c_t against the softmax
//! normaliser Z_t over the tokens of the current run (log–log, with the identity line and the
//! Pearson correlation). Right: attn_tv against the number of random features m for several
//! seeds and feature variants, computed on a [`BatchRunner`] thread, with the 1/√m slope the
//! random-feature theory predicts for comparison.

use crate::data::experiment::Experiment;
use crate::model::algebraic::NetworkOutput;
use crate::model::metrics::{Metrics, pearson};
use crate::model::softmax::SoftmaxReference;
use crate::sim::RunHistory;
use crate::sim::batch::{BatchEvent, BatchJob, BatchRunner, SweepPoint, Variant};
use crate::ui::widgets::colormap::palette;
use crate::ui::widgets::theme;
use egui::{Color32, RichText};
use egui_plot::{GridInput, GridMark, HoverPosition, Legend, Line, LineStyle, Plot, Points};
use std::collections::BTreeMap;

/// Default m values of the sweep, as the paper's small-to-large comparison.
pub const DEFAULT_M_VALUES: &str = "64, 256, 1024, 4096, 16384";
/// Default number of seeds per m.
pub const DEFAULT_SEEDS: u32 = 3;
/// Largest m the panel accepts (larger runs take minutes and gigabytes).
pub const MAX_SWEEP_M: usize = 1 << 20;
/// Most m values in one sweep.
pub const MAX_M_VALUES: usize = 16;
/// Most seeds per m.
pub const MAX_SEEDS: u32 = 20;

/// Header of [`SweepPanel::results_csv`].
pub const CSV_HEADER: &str =
    "variant,m,seed,attn_tv,attn_max_abs,output_rel_err,calcium_corr,calcium_rel_err";

/// c_t and Z_t per token of one run: the data of the calcium scatter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CalciumSamples {
    pub tokens: Vec<String>,
    /// c_t in softmax-normaliser units.
    pub calcium: Vec<f64>,
    /// Z_t.
    pub normaliser: Vec<f64>,
}

impl CalciumSamples {
    /// The read slots completed so far of a simulation's output.
    pub fn from_output(
        output: &NetworkOutput,
        reference: &SoftmaxReference,
        tokens: &[String],
    ) -> Self {
        let z = reference.normaliser();
        let mut samples = CalciumSamples::default();
        for t in (0..output.rows_done.len()).filter(|&t| output.rows_done[t]) {
            samples
                .tokens
                .push(tokens.get(t).cloned().unwrap_or_default());
            samples.calcium.push(output.calcium[t]);
            samples
                .normaliser
                .push(z.get(t).copied().unwrap_or(f64::NAN));
        }
        samples
    }

    /// The read slots completed so far of the worker's run, as the app holds it.
    pub fn from_history(history: &RunHistory) -> Self {
        let mut samples = CalciumSamples::default();
        let Some(run) = history.snapshot.as_ref().and_then(|s| s.run.as_ref()) else {
            return samples;
        };
        for t in (0..history.rows_done.len()).filter(|&t| history.rows_done[t]) {
            samples
                .tokens
                .push(run.tokens.get(t).cloned().unwrap_or_default());
            samples.calcium.push(history.row_calcium[t]);
            samples
                .normaliser
                .push(run.normaliser.get(t).copied().unwrap_or(f64::NAN));
        }
        samples
    }

    pub fn len(&self) -> usize {
        self.calcium.len()
    }

    pub fn is_empty(&self) -> bool {
        self.calcium.is_empty()
    }

    /// Pearson correlation of c_t with Z_t (the calcium_corr metric); NaN below two tokens.
    pub fn correlation(&self) -> f64 {
        pearson(&self.calcium, &self.normaliser)
    }

    /// Pearson correlation of log c_t with log Z_t, over the tokens where both are positive:
    /// what the log–log scatter shows.
    pub fn log_correlation(&self) -> f64 {
        let (a, b): (Vec<f64>, Vec<f64>) = self
            .log_points()
            .into_iter()
            .map(|(_, p)| (p[1], p[0]))
            .unzip();
        pearson(&a, &b)
    }

    /// (token index, [log10 Z_t, log10 c_t]) for the tokens where both are positive.
    fn log_points(&self) -> Vec<(usize, [f64; 2])> {
        (0..self.len())
            .filter(|&t| self.calcium[t] > 0.0 && self.normaliser[t] > 0.0)
            .map(|t| (t, [self.normaliser[t].log10(), self.calcium[t].log10()]))
            .filter(|(_, p)| p[0].is_finite() && p[1].is_finite())
            .collect()
    }
}

/// Parses "64, 256, 1024": whole numbers in 1..=[`MAX_SWEEP_M`], sorted, without repeats.
pub fn parse_m_values(text: &str) -> Result<Vec<usize>, String> {
    let mut values = Vec::new();
    for part in text
        .split([',', ' ', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let value: usize = part.replace('_', "").parse().map_err(|_| {
            format!("“{part}” is not a whole number: write m values like 64, 256, 1024")
        })?;
        if value == 0 || value > MAX_SWEEP_M {
            return Err(format!(
                "m = {value} is out of range: each m must be between 1 and {MAX_SWEEP_M}"
            ));
        }
        values.push(value);
    }
    values.sort_unstable();
    values.dedup();
    if values.is_empty() {
        return Err("give at least one m value, e.g. 64, 256, 1024".into());
    }
    if values.len() > MAX_M_VALUES {
        return Err(format!(
            "{} m values is too many: at most {MAX_M_VALUES}",
            values.len()
        ));
    }
    Ok(values)
}

/// Parses the seed count: a whole number in 1..=[`MAX_SEEDS`].
pub fn parse_seeds(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_SEEDS).contains(&n) => Ok(n),
        _ => Err(format!(
            "seeds must be a whole number from 1 to {MAX_SEEDS}, not “{}”",
            text.trim()
        )),
    }
}

/// What a finished (or running) sweep was computed for.
#[derive(Clone, Debug, PartialEq)]
struct SweepSetup {
    experiment: Experiment,
    m_values: Vec<usize>,
    seeds: u32,
    variants: Vec<Variant>,
}

/// One variant's sweep results on log10 axes: every run, and attn_tv per m for the mean.
#[derive(Default)]
struct VariantSeries {
    /// [log10 m, log10 attn_tv] of every run.
    points: Vec<[f64; 2]>,
    /// attn_tv of every seed, per m.
    per_m: BTreeMap<usize, Vec<f64>>,
}

/// The calcium scatter and the m sweep, side by side.
pub struct SweepPanel {
    m_text: String,
    seeds_text: String,
    /// Variants offered, and whether each is in the next sweep.
    variants: Vec<(Variant, bool)>,
    runner: Option<BatchRunner>,
    done: usize,
    total: usize,
    points: Vec<SweepPoint>,
    setup: Option<SweepSetup>,
    message: Option<String>,
}

impl Default for SweepPanel {
    fn default() -> Self {
        SweepPanel {
            m_text: DEFAULT_M_VALUES.to_string(),
            seeds_text: DEFAULT_SEEDS.to_string(),
            variants: Variant::COMPARED
                .iter()
                .map(|&v| (v, v == Variant::POSITIVE_IID))
                .collect(),
            runner: None,
            done: 0,
            total: 0,
            points: Vec::new(),
            setup: None,
            message: None,
        }
    }
}

impl SweepPanel {
    pub fn new() -> Self {
        Self::default()
    }

    /// Fills the fields as a user would (the app's presets and tests use it).
    pub fn set_fields(&mut self, m_values: &str, seeds: &str, variants: &[Variant]) {
        self.m_text = m_values.to_string();
        self.seeds_text = seeds.to_string();
        for (v, on) in &mut self.variants {
            *on = variants.contains(v);
        }
    }

    /// The sweep the fields describe, or the first problem with them, as one sentence.
    pub fn validated(&self) -> Result<(Vec<usize>, u32, Vec<Variant>), String> {
        let m_values = parse_m_values(&self.m_text)?;
        let seeds = parse_seeds(&self.seeds_text)?;
        let variants: Vec<Variant> = self
            .variants
            .iter()
            .filter(|(_, on)| *on)
            .map(|(v, _)| *v)
            .collect();
        if variants.is_empty() {
            return Err("tick at least one variant".into());
        }
        Ok((m_values, seeds, variants))
    }

    /// Starts the sweep the fields describe on `experiment` (replacing one in progress).
    pub fn start(&mut self, ctx: &egui::Context, experiment: &Experiment) -> Result<(), String> {
        let (m_values, seeds, variants) = self.validated()?;
        let setup = SweepSetup {
            experiment: experiment.clone(),
            m_values: m_values.clone(),
            seeds,
            variants: variants.clone(),
        };
        let total = m_values.len() * seeds as usize * variants.len();
        let ctx = ctx.clone();
        self.runner = Some(BatchRunner::start(
            BatchJob::MSweep {
                experiment: experiment.clone(),
                m_values,
                seeds,
                variants,
            },
            move || ctx.request_repaint(),
        ));
        self.points.clear();
        self.setup = Some(setup);
        self.message = None;
        (self.done, self.total) = (0, total);
        Ok(())
    }

    /// Stops the sweep in progress, keeping the points computed so far.
    pub fn cancel(&mut self) {
        if self.runner.take().is_some() {
            self.message = Some(format!(
                "Cancelled after {} of {} runs.",
                self.done, self.total
            ));
        }
    }

    pub fn is_running(&self) -> bool {
        self.runner.is_some()
    }

    /// The sweep's results so far, sorted by variant, m and seed.
    pub fn points(&self) -> &[SweepPoint] {
        &self.points
    }

    /// The last failure or cancellation, if any.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The sweep's results as CSV, one row per run, sorted by variant, m and seed.
    pub fn results_csv(&self) -> String {
        let mut csv = String::from(CSV_HEADER);
        csv.push('\n');
        for p in &self.points {
            let m: &Metrics = &p.metrics;
            csv.push_str(&format!(
                "{},{},{},{},{},{},{},{}\n",
                p.variant,
                p.m,
                p.seed,
                m.attn_tv,
                m.attn_max_abs,
                m.output_rel_err,
                m.calcium_corr,
                m.calcium_rel_err
            ));
        }
        csv
    }

    /// Folds in what the batch sent since the last call (also done by `ui`).
    pub fn poll(&mut self) {
        let Some(runner) = &self.runner else {
            return;
        };
        let mut ended = false;
        for event in runner.poll() {
            match event {
                BatchEvent::Progress { done, total } => (self.done, self.total) = (done, total),
                BatchEvent::Sweep(point) => {
                    let key = |p: &SweepPoint| (p.variant, p.m, p.seed);
                    let at = self.points.partition_point(|p| key(p) < key(&point));
                    self.points.insert(at, point);
                }
                BatchEvent::Head(_) => {}
                BatchEvent::Finished | BatchEvent::Cancelled => ended = true,
                BatchEvent::Failed(message) => {
                    self.message = Some(message);
                    ended = true;
                }
            }
        }
        if ended {
            self.runner = None;
        }
    }

    /// Draws both plots. `current` holds c_t and Z_t of the run shown in the main view
    /// ([`CalciumSamples::from_history`] in the app); `experiment` is what a sweep runs on.
    pub fn ui(&mut self, ui: &mut egui::Ui, experiment: &Experiment, current: &CalciumSamples) {
        self.poll();
        ui.label(theme::title(
            "Does the astrocyte compute the softmax normaliser?",
        ));
        theme::caption(
            ui,
            "Left: each token's astrocyte calcium against the transformer's normaliser — on the \
             diagonal they agree. Right: the attention error shrinks as the hidden layer grows; \
             compare its fall with the 1/√m slope of the theory.",
        );
        let wide = ui.available_width() >= 900.0;
        if wide {
            let half = (ui.available_width() - 16.0) / 2.0;
            let height = ui.available_height();
            ui.horizontal_top(|ui| {
                ui.allocate_ui(egui::vec2(half, height), |ui| {
                    ui.vertical(|ui| scatter(ui, current));
                });
                ui.separator();
                ui.allocate_ui(egui::vec2(half, height), |ui| {
                    ui.vertical(|ui| self.sweep(ui, experiment));
                });
            });
        } else {
            let height = (ui.available_height() / 2.0).max(260.0);
            ui.allocate_ui(egui::vec2(ui.available_width(), height), |ui| {
                ui.vertical(|ui| scatter(ui, current));
            });
            ui.separator();
            self.sweep(ui, experiment);
        }
    }

    fn sweep(&mut self, ui: &mut egui::Ui, experiment: &Experiment) {
        ui.strong(RichText::new("Attention error attn_tv against m").size(16.0));
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("m values");
            ui.add(egui::TextEdit::singleline(&mut self.m_text).desired_width(260.0))
                .labelled_by(label.id)
                .on_hover_text(format!(
                    "Numbers of random features (hidden neurons) to try, separated by commas; \
                     each between 1 and {MAX_SWEEP_M}."
                ));
            let label = ui.label("Seeds");
            ui.add(egui::TextEdit::singleline(&mut self.seeds_text).desired_width(36.0))
                .labelled_by(label.id)
                .on_hover_text(
                    "Random draws of W per m (seed, seed+1, …): the spread of the points shows \
                     how much one network's error depends on its luck.",
                );
        });
        ui.horizontal_wrapped(|ui| {
            for (variant, on) in &mut self.variants {
                ui.checkbox(on, variant.to_string()).on_hover_text(
                    "Feature map / projection: positive/iid is the paper's (Performer FAVOR+).",
                );
            }
        });
        let valid = self.validated();
        if let Err(problem) = &valid {
            ui.colored_label(theme::ERROR, RichText::new(problem).size(15.0));
        }
        ui.horizontal(|ui| {
            let runnable = valid.is_ok() && !self.is_running();
            let runs = valid
                .as_ref()
                .map(|(m, s, v)| m.len() * *s as usize * v.len())
                .unwrap_or(0);
            if ui
                .add_enabled(runnable, egui::Button::new("Run sweep"))
                .on_hover_text(format!(
                    "{runs} runs of {} in algebraic mode, on the sweep thread.",
                    experiment.source
                ))
                .clicked()
                && let Err(problem) = self.start(ui.ctx(), experiment)
            {
                self.message = Some(problem);
            }
            if self.is_running() && ui.button("Cancel").clicked() {
                self.cancel();
            }
            if !self.points.is_empty()
                && ui
                    .button("Copy CSV")
                    .on_hover_text("Copy the sweep's results as CSV, one row per run.")
                    .clicked()
            {
                ui.ctx().copy_text(self.results_csv());
            }
        });
        if self.is_running() {
            let fraction = if self.total == 0 {
                0.0
            } else {
                self.done as f32 / self.total as f32
            };
            ui.add(
                egui::ProgressBar::new(fraction)
                    .text(format!("{} of {} runs done", self.done, self.total))
                    .desired_height(22.0),
            );
        }
        if let Some(message) = &self.message {
            ui.colored_label(theme::ERROR, RichText::new(message).size(15.0));
        }
        if let Some(setup) = &self.setup {
            let mut about = format!("Sweep of {}", setup.experiment.source);
            if setup.experiment.source.has_heads() {
                about.push_str(&format!(
                    ", layer {} head {}",
                    setup.experiment.params.layer, setup.experiment.params.head
                ));
            }
            if &setup.experiment != experiment {
                about.push_str(" (the experiment has changed since; run again to update)");
            }
            theme::caption(ui, &about);
        }
        self.sweep_plot(ui);
    }

    fn sweep_plot(&self, ui: &mut egui::Ui) {
        // Per variant: every point, and the mean over seeds at each m (both as log10).
        let mut by_variant: BTreeMap<Variant, VariantSeries> = BTreeMap::new();
        for p in &self.points {
            let tv = p.metrics.attn_tv;
            if !(tv > 0.0 && tv.is_finite()) {
                continue;
            }
            let entry = by_variant.entry(p.variant).or_default();
            entry.points.push([(p.m as f64).log10(), tv.log10()]);
            entry.per_m.entry(p.m).or_default().push(tv);
        }
        let means: Vec<(Variant, Vec<[f64; 2]>)> = by_variant
            .iter()
            .map(|(v, series)| {
                let line = series
                    .per_m
                    .iter()
                    .map(|(m, tvs)| {
                        let mean = tvs.iter().sum::<f64>() / tvs.len() as f64;
                        [(*m as f64).log10(), mean.log10()]
                    })
                    .collect();
                (*v, line)
            })
            .collect();
        // The theory's slope, anchored on the first variant's mean at its smallest m.
        let reference = means.first().and_then(|(_, line)| {
            let first = line.first()?;
            let last_x = means
                .iter()
                .flat_map(|(_, l)| l.iter().map(|p| p[0]))
                .fold(first[0], f64::max);
            (last_x > first[0])
                .then(|| vec![*first, [last_x, first[1] - 0.5 * (last_x - first[0])]])
        });
        let colors: BTreeMap<Variant, Color32> = Variant::COMPARED
            .iter()
            .enumerate()
            .map(|(k, v)| (*v, palette::SERIES[k % palette::SERIES.len()]))
            .collect();
        let height = ui.available_height().max(220.0);
        let response = Plot::new("attn_tv against m")
            .height(height)
            .legend(
                Legend::default()
                    .position(egui_plot::Corner::RightTop)
                    .follow_insertion_order(true),
            )
            .x_axis_label("random features m (log scale)")
            .y_axis_label("attn_tv (log scale)")
            .x_grid_spacer(log_grid)
            .y_grid_spacer(log_grid)
            .x_axis_formatter(|mark, _| pow10_label(mark.value))
            .y_axis_formatter(|mark, _| pow10_label(mark.value))
            .label_formatter(|hover: &HoverPosition<'_>| {
                let p = match hover {
                    HoverPosition::NearDataPoint { position, .. } => *position,
                    HoverPosition::Elsewhere { position } => *position,
                };
                Some(format!(
                    "m = {}\nattn_tv = {}",
                    theme::sig(10f64.powf(p.x)),
                    theme::sig(10f64.powf(p.y))
                ))
            })
            .allow_scroll(false)
            .show(ui, |plot| {
                for (variant, line) in &means {
                    let color = colors[variant];
                    if let Some(series) = by_variant.get(variant) {
                        plot.points(
                            Points::new(format!("{variant}: each seed"), series.points.clone())
                                .color(color)
                                .radius(4.0),
                        );
                    }
                    plot.line(
                        Line::new(format!("{variant}: mean over seeds"), line.clone())
                            .color(color)
                            .width(2.5),
                    );
                }
                if let Some(reference) = reference {
                    plot.line(
                        Line::new("reference slope 1/√m", reference)
                            .color(palette::NORMALISER)
                            .style(LineStyle::dashed_loose())
                            .width(1.5),
                    );
                }
            });
        response.response.widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::Role::Canvas,
                true,
                "Plot: attn_tv against random features m, log–log axes",
            )
        });
    }
}

/// The left plot: one point per token, c_t against Z_t on log–log axes.
fn scatter(ui: &mut egui::Ui, samples: &CalciumSamples) {
    ui.strong(RichText::new("Astrocyte calcium c_t against the softmax normaliser Z_t").size(16.0));
    if samples.is_empty() {
        ui.label("No read slot has finished yet: run the simulation and its tokens appear here.");
    }
    let r = samples.correlation();
    let r_log = samples.log_correlation();
    ui.label(
        RichText::new(format!(
            "Pearson r = {} over {} tokens (calcium_corr); r of the logs = {}",
            theme::sig(r),
            samples.len(),
            theme::sig(r_log)
        ))
        .size(16.0),
    )
    .on_hover_text(
        "1 means the calcium rises and falls exactly with the normaliser Z_t (up to scale); \
         the astrocyte then divides each attention row by the right amount.",
    );
    let points = samples.log_points();
    let hidden = samples.len() - points.len();
    if hidden > 0 {
        ui.label(format!(
            "{hidden} token(s) with c_t ≤ 0 are not drawn: a log axis has no place for them \
             (trig features can make calcium negative)."
        ));
    }
    theme::caption(
        ui,
        "Axes are logarithmic because Z_t spans orders of magnitude across tokens.",
    );
    let (lo, hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, p)| {
            (lo.min(p[0]).min(p[1]), hi.max(p[0]).max(p[1]))
        });
    let identity = (lo.is_finite() && hi.is_finite()).then(|| {
        let pad = ((hi - lo) * 0.05).max(0.05);
        vec![[lo - pad, lo - pad], [hi + pad, hi + pad]]
    });
    let tokens: Vec<String> = points
        .iter()
        .map(|(t, _)| samples.tokens.get(*t).cloned().unwrap_or_default())
        .collect();
    let coordinates: Vec<[f64; 2]> = points.iter().map(|(_, p)| *p).collect();
    let height = ui.available_height().max(220.0);
    let response = Plot::new("calcium against normaliser")
        .height(height)
        .data_aspect(1.0)
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .x_axis_label("softmax normaliser Z_t (log scale)")
        .y_axis_label("astrocyte calcium c_t, normaliser units (log scale)")
        .x_grid_spacer(log_grid)
        .y_grid_spacer(log_grid)
        .x_axis_formatter(|mark, _| pow10_label(mark.value))
        .y_axis_formatter(|mark, _| pow10_label(mark.value))
        .label_formatter(move |hover: &HoverPosition<'_>| match hover {
            HoverPosition::NearDataPoint {
                plot_name,
                index,
                position,
            } if plot_name.starts_with("tokens") => Some(format!(
                "“{}”\nZ_t = {}\nc_t = {}",
                tokens.get(*index).map_or("", String::as_str),
                theme::sig(10f64.powf(position.x)),
                theme::sig(10f64.powf(position.y))
            )),
            HoverPosition::NearDataPoint { position, .. }
            | HoverPosition::Elsewhere { position } => Some(format!(
                "Z_t = {}\nc_t = {}",
                theme::sig(10f64.powf(position.x)),
                theme::sig(10f64.powf(position.y))
            )),
        })
        .allow_scroll(false)
        .show(ui, |plot| {
            if let Some(identity) = identity {
                plot.line(
                    Line::new("c_t = Z_t (identity)", identity)
                        .color(palette::NORMALISER)
                        .style(LineStyle::dashed_loose())
                        .width(1.5),
                );
            }
            plot.points(
                Points::new("tokens (one point each)", coordinates)
                    .color(palette::CALCIUM)
                    .radius(5.0),
            );
        });
    response.response.widget_info(|| {
        egui::WidgetInfo::labeled(
            egui::Role::Canvas,
            true,
            "Plot: astrocyte calcium c_t against softmax normaliser Z_t, log–log axes",
        )
    });
}

/// Grid marks for an axis holding log10 values: decades (thick), then 2× and 5× (thinner),
/// then every other integer multiple when the range is narrow.
fn log_grid(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return Vec::new();
    }
    let span = hi - lo;
    let multiples: &[f64] = if span > 6.0 {
        &[1.0]
    } else if span > 2.5 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    };
    // Far zoomed out, only every k-th decade.
    let every = (span / 12.0).ceil().max(1.0) as i64;
    let mut marks = Vec::new();
    for decade in (lo.floor() as i64)..=(hi.ceil() as i64) {
        if decade.rem_euclid(every) != 0 {
            continue;
        }
        for &k in multiples {
            let value = decade as f64 + k.log10();
            if value < lo || value > hi {
                continue;
            }
            let step_size = if k == 1.0 {
                every as f64
            } else if k == 2.0 || k == 5.0 {
                0.3
            } else {
                0.1
            };
            marks.push(GridMark { value, step_size });
        }
    }
    marks
}

/// The label of a log10 axis value: the number itself, e.g. "1000", "0.02", "1e-6".
fn pow10_label(value: f64) -> String {
    let x = 10f64.powf(value);
    let rounded = {
        // Grid marks sit at k·10^d: print them without floating-point fuzz.
        let magnitude = 10f64.powf(value.floor());
        (x / magnitude).round() * magnitude
    };
    if (1e-3..1e5).contains(&rounded) {
        let decimals = (-value.floor()).max(0.0) as usize;
        format!("{rounded:.decimals$}")
    } else {
        format!("{rounded:.0e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::params::{FeatureMap, Projection};

    #[test]
    fn m_values_and_seeds_are_validated_with_a_clear_message() {
        assert_eq!(
            parse_m_values(DEFAULT_M_VALUES).unwrap(),
            vec![64, 256, 1024, 4096, 16384]
        );
        assert_eq!(
            parse_m_values("1024 64,64;256").unwrap(),
            vec![64, 256, 1024]
        );
        assert_eq!(parse_m_values("1_000").unwrap(), vec![1000]);
        assert!(
            parse_m_values("64, abc")
                .unwrap_err()
                .contains("“abc” is not a whole number")
        );
        assert!(
            parse_m_values("0")
                .unwrap_err()
                .contains("m = 0 is out of range")
        );
        assert!(parse_m_values("-4").unwrap_err().contains("“-4”"));
        assert!(
            parse_m_values("99999999")
                .unwrap_err()
                .contains("between 1 and")
        );
        assert!(parse_m_values(" , ").unwrap_err().contains("at least one"));
        let many: Vec<String> = (1..=17).map(|k| k.to_string()).collect();
        assert!(
            parse_m_values(&many.join(","))
                .unwrap_err()
                .contains("too many")
        );
        assert_eq!(parse_seeds(" 3 ").unwrap(), 3);
        for bad in ["0", "x", "21", "-1", "2.5"] {
            assert!(
                parse_seeds(bad).unwrap_err().contains("from 1 to 20"),
                "{bad}"
            );
        }
        let mut panel = SweepPanel::new();
        assert_eq!(panel.validated().unwrap().1, DEFAULT_SEEDS);
        panel.set_fields("64", "1", &[]);
        assert!(
            panel
                .validated()
                .unwrap_err()
                .contains("at least one variant")
        );
    }

    #[test]
    fn csv_has_the_header_and_one_row_per_point_in_order() {
        let metrics = Metrics {
            attn_tv: 0.25,
            attn_max_abs: 0.5,
            output_rel_err: 0.125,
            calcium_corr: 0.75,
            calcium_rel_err: 0.0625,
        };
        let mut panel = SweepPanel::new();
        let hyperbolic = Variant {
            feature_map: FeatureMap::Hyperbolic,
            projection: Projection::Orthogonal,
        };
        for (variant, m, seed) in [
            (hyperbolic, 64, 1),
            (Variant::POSITIVE_IID, 256, 2),
            (Variant::POSITIVE_IID, 64, 1),
        ] {
            let point = SweepPoint {
                variant,
                m,
                seed,
                metrics,
            };
            let key = |p: &SweepPoint| (p.variant, p.m, p.seed);
            let at = panel.points.partition_point(|p| key(p) < key(&point));
            panel.points.insert(at, point);
        }
        let csv = panel.results_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines[1], "positive/iid,64,1,0.25,0.5,0.125,0.75,0.0625");
        assert_eq!(lines[2], "positive/iid,256,2,0.25,0.5,0.125,0.75,0.0625");
        assert_eq!(
            lines[3],
            "hyperbolic/orthogonal,64,1,0.25,0.5,0.125,0.75,0.0625"
        );
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn calcium_samples_keep_completed_rows_and_match_the_metric() {
        use crate::data::synthetic::synthetic;
        use crate::model::params::{Mode, Params};
        use crate::model::simulation::Simulation;
        use std::sync::Arc;
        let params = Params {
            mode: Mode::Algebraic,
            m: 128,
            ..Params::default()
        };
        let sequence = Arc::new(synthetic(8, 16, 3, 1.0));
        let tokens = sequence.tokens.clone();
        let mut simulation = Simulation::new(&params, sequence).unwrap();
        for _ in 0..5 {
            simulation.step();
        }
        let samples =
            CalciumSamples::from_output(simulation.output(), simulation.reference(), &tokens);
        assert_eq!(samples.len(), 5);
        assert_eq!(samples.tokens, tokens[..5]);
        simulation.run_to_end();
        let samples =
            CalciumSamples::from_output(simulation.output(), simulation.reference(), &tokens);
        assert_eq!(samples.len(), 8);
        assert_eq!(samples.correlation(), simulation.metrics().calcium_corr);
        assert_eq!(samples.normaliser, simulation.reference().normaliser());
        assert!(samples.log_correlation().is_finite());
    }

    #[test]
    fn log_axes_mark_decades_and_print_plain_numbers() {
        let marks = log_grid(GridInput {
            bounds: (0.5, 4.2),
            base_step_size: 0.01,
        });
        let decades: Vec<f64> = marks
            .iter()
            .filter(|m| m.value.fract().abs() < 1e-12)
            .map(|m| m.value)
            .collect();
        assert_eq!(decades, vec![1.0, 2.0, 3.0, 4.0]);
        assert!(
            marks
                .iter()
                .any(|m| (m.value - 2f64.log10() - 3.0).abs() < 1e-12)
        );
        assert!(marks.iter().all(|m| (0.5..=4.2).contains(&m.value)));
        assert_eq!(pow10_label(3.0), "1000");
        assert_eq!(pow10_label(2f64.log10() + 1.0), "20");
        assert_eq!(pow10_label(5f64.log10() - 2.0), "0.05");
        assert_eq!(pow10_label(-6.0), "1e-6");
        assert_eq!(pow10_label(6.0), "1e6");
        assert!(
            log_grid(GridInput {
                bounds: (1.0, 1.0),
                base_step_size: 0.1
            })
            .is_empty()
        );
    }
}
