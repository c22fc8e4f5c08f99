//! The paper's comparison in two plots. Left: the astrocyte's calcium c_t against the softmax
//! normaliser Z_t over the tokens of the current run (log–log, with the identity line and the
//! Pearson correlation). Right: attn_tv against the number of random features m for several
//! seeds and feature variants, computed on a [`BatchRunner`] thread, with the 1/√m slope the
//! random-feature theory predicts for comparison.

use crate::data::experiment::Experiment;
use crate::io::export::csv::SweepRow;
use crate::model::params::Params;
use crate::sim::batch::{SweepPoint, Variant};
use crate::ui::command::AppCommand;
use crate::ui::files::{DialogKind, ExportKind, FileAction};
use crate::ui::widgets::colormap::palette;
use crate::ui::widgets::plot_key::{Swatch, plot_key};
use crate::ui::widgets::theme;
use egui::{Color32, RichText};
use egui_plot::{GridInput, GridMark, HoverPosition, Line, LineStyle, Plot, Points};
use std::collections::BTreeMap;

pub mod state;

pub use state::{
    CSV_HEADER, CalciumSamples, DEFAULT_M_VALUES, DEFAULT_SEEDS, MAX_M_VALUES, MAX_SEEDS,
    MAX_SWEEP_M, SweepState, parse_m_values, parse_seeds,
};

/// One variant's sweep results on log10 axes: every run, and attn_tv per m for the mean.
#[derive(Default)]
struct VariantSeries {
    /// [log10 m, log10 attn_tv] of every run.
    points: Vec<[f64; 2]>,
    /// attn_tv of every seed, per m.
    per_m: BTreeMap<usize, Vec<f64>>,
}

/// The calcium scatter and the m sweep, side by side.
#[derive(Default)]
pub struct SweepPanel {
    state: SweepState,
}

impl SweepPanel {
    pub fn new() -> Self {
        Self::default()
    }

    /// The state alone (fields, running sweep, results).
    pub fn state(&self) -> &SweepState {
        &self.state
    }

    /// Fills the fields as a user would (the app's presets and tests use it).
    pub fn set_fields(&mut self, m_values: &str, seeds: &str, variants: &[Variant]) {
        self.state.set_fields(m_values, seeds, variants);
    }

    /// Starts the sweep the fields describe on `experiment` (replacing one in progress).
    pub fn start(&mut self, ctx: &egui::Context, experiment: &Experiment) -> Result<(), String> {
        let ctx = ctx.clone();
        self.state.start(experiment, move || ctx.request_repaint())
    }

    pub fn is_running(&self) -> bool {
        self.state.is_running()
    }

    /// The sweep's results so far, sorted by variant, m and seed.
    pub fn points(&self) -> &[SweepPoint] {
        self.state.points()
    }

    /// The last failure or cancellation, if any.
    pub fn message(&self) -> Option<&str> {
        self.state.message()
    }

    /// The sweep's results as CSV, one row per run, sorted by variant, m and seed.
    pub fn results_csv(&self) -> String {
        self.state.results_csv()
    }

    /// Folds in what the batch sent since the last call (also done by `ui`).
    pub fn poll(&mut self) {
        self.state.poll();
    }

    /// Draws both plots. `current` holds c_t and Z_t of the run shown in the main view
    /// ([`CalciumSamples::from_history`] in the app); `experiment` is what a sweep runs on.
    /// The results as rows of the one sweep CSV layout (`tripartite sweep`'s columns, with the
    /// variant last).
    pub fn export_rows(&self) -> Vec<SweepRow> {
        self.state
            .points
            .iter()
            .map(|p| SweepRow {
                param: "m".to_string(),
                value: p.m.to_string(),
                seed: p.seed,
                metrics: p.metrics,
                variant: Some(p.variant.to_string()),
            })
            .collect()
    }

    /// Draws the tab; Export sweep CSV… asks for the export dialog through `out`.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        experiment: &Experiment,
        current: &CalciumSamples,
        out: &mut Vec<AppCommand>,
    ) {
        self.poll();
        ui.label(theme::title(
            "Does the astrocyte compute the softmax normaliser?",
        ));
        theme::caption(
            ui,
            "First plot: each token's astrocyte calcium against the transformer's normaliser — \
             on the diagonal they agree. Second plot: the attention error shrinks as the hidden \
             layer grows; compare its fall with the 1/√m slope of the theory.",
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
                    ui.vertical(|ui| self.sweep(ui, experiment, out));
                });
            });
        } else {
            // Stacked, each plot keeps a readable height and the page scrolls.
            let height = (ui.available_height() / 2.0).max(STACKED_PLOT_HEIGHT);
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    ui.allocate_ui(egui::vec2(ui.available_width(), height), |ui| {
                        ui.vertical(|ui| scatter(ui, current));
                    });
                    ui.separator();
                    ui.allocate_ui(egui::vec2(ui.available_width(), height + 200.0), |ui| {
                        ui.vertical(|ui| self.sweep(ui, experiment, out));
                    });
                });
        }
    }

    fn sweep(&mut self, ui: &mut egui::Ui, experiment: &Experiment, out: &mut Vec<AppCommand>) {
        ui.strong(RichText::new("Attention error attn_tv against m").size(16.0));
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("m values");
            ui.add(egui::TextEdit::singleline(&mut self.state.m_text).desired_width(260.0))
                .labelled_by(label.id)
                .on_hover_text(format!(
                    "Numbers of random features (hidden neurons) to try, separated by commas; \
                     each between 1 and {MAX_SWEEP_M}."
                ));
            let label = ui.label("Seeds");
            ui.add(egui::TextEdit::singleline(&mut self.state.seeds_text).desired_width(36.0))
                .labelled_by(label.id)
                .on_hover_text(
                    "Random draws of W per m (seed, seed+1, …): the spread of the points shows \
                     how much one network's error depends on its luck.",
                );
        });
        ui.horizontal_wrapped(|ui| {
            for (variant, on) in &mut self.state.variants {
                ui.checkbox(on, variant.to_string()).on_hover_text(
                    "Feature map / projection: positive/iid is the paper's (Performer FAVOR+).",
                );
            }
        });
        let valid = self.state.validated();
        if let Err(problem) = &valid {
            ui.colored_label(theme::ERROR, RichText::new(problem).size(15.0));
        }
        // Room between the wrapped rows above and the buttons, which they must not overlap.
        ui.add_space(4.0);
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
                self.state.message = Some(problem);
            }
            if self.is_running() && ui.button("Cancel").clicked() {
                self.state.cancel();
            }
            if !self.state.points.is_empty()
                && ui
                    .button("Copy CSV")
                    .on_hover_text("Copy the sweep's results as CSV, one row per run.")
                    .clicked()
            {
                ui.ctx().copy_text(self.results_csv());
            }
            if !self.state.points.is_empty()
                && ui
                    .button("Export sweep CSV…")
                    .on_hover_text(
                        "Save the results as CSV with the columns of `tripartite sweep` \
                         (param,value,seed and the metrics), plus the variant.",
                    )
                    .clicked()
            {
                out.push(AppCommand::File(FileAction::Choose(DialogKind::Export(
                    ExportKind::SweepCsv,
                ))));
            }
        });
        if self.is_running() {
            let fraction = if self.state.total == 0 {
                0.0
            } else {
                self.state.done as f32 / self.state.total as f32
            };
            ui.add(
                egui::ProgressBar::new(fraction)
                    .text(format!(
                        "{} of {} runs done",
                        self.state.done, self.state.total
                    ))
                    .desired_height(22.0),
            );
        }
        if let Some(message) = &self.state.message {
            ui.colored_label(theme::ERROR, RichText::new(message).size(15.0));
        }
        if let Some(setup) = &self.state.setup {
            let mut about = format!("Sweep of {}", setup.experiment.source);
            if setup.experiment.source.has_heads() {
                about.push_str(&format!(
                    ", layer {} head {}",
                    setup.experiment.params.layer, setup.experiment.params.head
                ));
            }
            about.push_str(&format!(
                "; {}",
                non_default_params(
                    &setup.experiment.params,
                    &["m", "seed", "feature_map", "projection", "mode"]
                )
            ));
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
        for p in &self.state.points {
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
        // The key stands above the figure, never on it: inside the plot a legend of nine
        // entries hid the reference slope and the low curves (issue 25).
        if !means.is_empty() {
            let mut key: Vec<(Swatch, String)> = means
                .iter()
                .map(|(v, _)| (Swatch::DotsOnLine(colors[v]), v.to_string()))
                .collect();
            if reference.is_some() {
                key.push((
                    Swatch::Dashed(palette::NORMALISER),
                    "reference slope 1/√m".to_string(),
                ));
            }
            plot_key(ui, &key);
            theme::caption(ui, "Dots: each seed. Line: the mean over seeds.");
        }
        let height = ui.available_height().max(220.0);
        let response = Plot::new("attn_tv against m")
            .height(height)
            .x_axis_label("random features m (log scale)")
            .y_axis_label("attn_tv (log)")
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
    if !coordinates.is_empty() {
        plot_key(
            ui,
            &[
                (
                    Swatch::Dots(palette::CALCIUM),
                    "tokens (one point each)".to_string(),
                ),
                (
                    Swatch::Dashed(palette::NORMALISER),
                    "c_t = Z_t (identity)".to_string(),
                ),
            ],
        );
    }
    let height = ui.available_height().max(220.0);
    let response = Plot::new("calcium against normaliser")
        .height(height)
        .data_aspect(1.0)
        .x_axis_label("softmax normaliser Z_t (log scale)")
        .y_axis_label("calcium c_t (log)")
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
pub(crate) fn log_grid(input: GridInput) -> Vec<GridMark> {
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
pub(crate) fn pow10_label(value: f64) -> String {
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

/// Height of each plot when the two are stacked (points).
const STACKED_PLOT_HEIGHT: f32 = 300.0;

/// "parameters as default" or "non-default: tau_calcium = 55, m = 512", leaving out the
/// parameters the view itself varies (`varied`).
pub fn non_default_params(params: &Params, varied: &[&str]) -> String {
    let defaults = Params::default();
    let changed: Vec<String> = params
        .changes(&defaults)
        .filter(|p| !varied.contains(&p.name))
        .map(|p| format!("{} = {}", p.name, p.get(params)))
        .collect();
    if changed.is_empty() {
        "every other parameter at its default".to_string()
    } else {
        format!("non-default: {}", changed.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
