//! The lesson panel's "Figures of this step" box: every figure the step's text quotes
//! (its `figures` list), measured by the app from the run on screen, in the rounding the
//! lessons use. A figure about another setting ("TV at m = 64") is a whole run of the step's
//! experiment with that setting, made on a background thread and kept for the session.
//!
//! Nothing here is copied from the lesson text: if the text and the run disagree, the box
//! shows the run's number beside the text's claim.

use crate::data::experiment::Experiment;
use crate::data::lesson::Lesson;
use crate::data::lesson_figures::{Figure, Metric, combinations, format_metric, two_figures};
use crate::model::metrics::Metrics;
use crate::model::params::{Param, Params};
use crate::model::schedule::Phase;
use crate::model::simulation::Simulation;
use crate::sim::Snapshot;
use crate::sim::history::RunHistory;
use crate::ui::views::heads::GOOD_TV;
use crate::ui::widgets::theme;
use egui::RichText;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Text size of the figures (points): a little under the lesson text, still readable when
/// projected.
const FIGURE_SIZE: f32 = 15.0;

/// A what-if run: under way, or its metrics, or why it could not run.
#[derive(Clone)]
enum Job {
    Running,
    Done(Metrics),
    Failed(String),
}

/// What-if runs by their experiment, shared with the threads that make them.
type Jobs = Arc<Mutex<HashMap<String, Job>>>;

/// Shows the box for step `index` of `lesson`, if the step lists figures; with `shown` false
/// (a prediction still to make) it only says when they will show, since they would answer it.
pub fn ui(
    ui: &mut egui::Ui,
    lesson: &Lesson,
    index: usize,
    run: (Option<&Snapshot>, Option<&RunHistory>),
    shown: bool,
) {
    let step = &lesson.steps[index];
    if step.figures.is_empty() {
        return;
    }
    let experiment = lesson.steps[..=index]
        .iter()
        .rev()
        .find_map(|s| s.experiment.as_ref())
        .map(|e| &e.experiment);
    let frame = egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new(TITLE).size(16.0).strong());
        ui.label(
            RichText::new("measured now on the run on screen")
                .size(13.0)
                .color(theme::CAPTION),
        );
        if !shown {
            ui.label(
                RichText::new("They show with the answer, once you have run the experiment.")
                    .size(FIGURE_SIZE),
            );
            return;
        }
        let (Some(snapshot), Some(history)) = run else {
            ui.label(RichText::new("No run yet.").size(FIGURE_SIZE));
            return;
        };
        for figure in &step.figures {
            match (figure, experiment) {
                // A what-if over two settings or more reads as a table: one line per run
                // would wrap in the narrow panel and push the box out of sight.
                (Figure::WhatIf { metrics, axes }, Some(experiment))
                    if metrics.len() == 1
                        && axes.len() >= 2
                        && what_if_table(ui, experiment, snapshot, metrics[0], axes) => {}
                _ => {
                    for line in lines(ui, figure, snapshot, history, experiment) {
                        ui.add(egui::Label::new(RichText::new(line).size(FIGURE_SIZE)).wrap());
                    }
                }
            }
        }
    });
    // The whole box as one accessible group, so a test can check that it is in sight.
    frame
        .response
        .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Group, true, BOX_LABEL));
}

/// The box's heading.
const TITLE: &str = "Figures of this step";

/// The accessible name of the whole box (its heading is a label of its own).
pub const BOX_LABEL: &str = "Figures of this step (box)";

/// Whether step `index` of `lesson` has a figures box.
pub fn has_box(lesson: &Lesson, index: usize) -> bool {
    lesson
        .steps
        .get(index)
        .is_some_and(|s| !s.figures.is_empty())
}

/// The lines one figure shows.
fn lines(
    ui: &egui::Ui,
    figure: &Figure,
    snapshot: &Snapshot,
    history: &RunHistory,
    experiment: Option<&Experiment>,
) -> Vec<String> {
    let Some(run) = snapshot.run.as_ref() else {
        return vec!["No simulation: see the message above.".into()];
    };
    let token = |t: usize| run.tokens.get(t).map_or("?", String::as_str).to_string();
    let not_yet = |what: &str| format!("{what}: not played yet");
    let one = |line: String| vec![line];
    match figure {
        Figure::Sizes => one(format!(
            "{} tokens · D = {} · m = {}",
            run.sizes.tokens, run.sizes.inputs, snapshot.params.m
        )),
        Figure::Setting(key) => one(match Param::named(key) {
            Some(param) => {
                let name = crate::ui::views::params::panel_label(key).unwrap_or(key);
                let unit = if param.unit.is_empty() {
                    String::new()
                } else {
                    format!(" {}", param.unit)
                };
                format!("{name} = {}{unit}", param.get(&snapshot.params))
            }
            None => format!("{key}: no such parameter"),
        }),
        Figure::Metric(metric) => one(if snapshot.rows_completed == 0 {
            format!("{}: no row read yet", metric.name())
        } else {
            let value = format_metric(*metric, metric_value(&snapshot.metrics, *metric));
            match metric {
                // The verdict beside the metrics rates the run by TV alone.
                Metric::Tv => format!("TV = {value} (the verdict says good below {GOOD_TV})"),
                _ => format!("{} = {value}", metric.name()),
            }
        }),
        Figure::CalciumAfterWrite(write) => one(match calcium_after_write(history, run, *write) {
            Some(c) => format!("c after write {write} = {}", two_figures(c)),
            None => not_yet(&format!("c after write {write}")),
        }),
        Figure::CalciumShareOfZ { write, token: t } => {
            let z = run.normaliser.get(t - 1).copied().unwrap_or(f64::NAN);
            one(match calcium_after_write(history, run, *write) {
                Some(c) => format!(
                    "c after write {write} is {} % of Z_t of '{}' (Z_t = {})",
                    two_figures(100.0 * c / z),
                    token(t - 1),
                    two_figures(z)
                ),
                None => not_yet(&format!("c after write {write}")),
            })
        }
        Figure::MedianJumpClosed { ms } => one(match median_jump_closed(history, run, *ms) {
            Some((median, last)) => format!(
                "read slots 2–{last}: a median {} % of each calcium jump is closed in the \
                 first {ms} ms",
                two_figures(100.0 * median)
            ),
            None => not_yet("the calcium's jumps in read slots 2 on"),
        }),
        Figure::RowSums => {
            let sums: Vec<f64> = history
                .rows_done
                .iter()
                .enumerate()
                .filter(|(_, done)| **done)
                .map(|(t, _)| history.network_attention.row(t).sum())
                .collect();
            let low = sums.iter().copied().fold(f64::INFINITY, f64::min);
            let high = sums.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            one(if sums.is_empty() {
                "rows of A_net: no row read yet".into()
            } else {
                format!(
                    "rows of A_net sum to between {low:.2} and {high:.2} ({} rows read)",
                    sums.len()
                )
            })
        }
        Figure::ReadSlot(t) => {
            let q = t - 1;
            // A step's new experiment may not have replaced the old run yet.
            if q >= run.tokens.len() || run.softmax_attention.nrows() <= q {
                return one(format!(
                    "read slot {t}: this run has {} tokens",
                    run.tokens.len()
                ));
            }
            let z = run.normaliser.get(q).copied().unwrap_or(f64::NAN);
            let (largest, key) = (0..run.tokens.len())
                .map(|k| (run.softmax_attention[[q, k]] * z, k))
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .unwrap_or((f64::NAN, 0));
            let c = history
                .rows_done
                .get(q)
                .copied()
                .unwrap_or(false)
                .then(|| history.row_calcium.get(q).copied())
                .flatten();
            let ends = c.map_or("not read yet".to_string(), |c| {
                format!("c ends at {}", two_figures(c))
            });
            vec![
                format!(
                    "read slot {t} '{}': {ends}; Z_t = {}",
                    token(q),
                    two_figures(z)
                ),
                format!(
                    "its largest term, key '{}': exp(q·k/√D) = {}",
                    token(key),
                    two_figures(largest)
                ),
            ]
        }
        Figure::CalciumPeak => {
            let peak = history
                .samples
                .iter()
                .map(|s| s.calcium)
                .fold(f64::NEG_INFINITY, f64::max);
            one(if peak.is_finite() {
                format!(
                    "c peaks at {} (over the whole trace so far)",
                    two_figures(peak)
                )
            } else {
                not_yet("c peak")
            })
        }
        Figure::WhatIf { metrics, axes } => {
            let Some(experiment) = experiment else {
                return one("no experiment to vary".into());
            };
            combinations(axes)
                .into_iter()
                .map(|edits| what_if_line(ui, experiment, snapshot, metrics, &edits))
                .collect()
        }
    }
}

fn metric_value(metrics: &Metrics, metric: Metric) -> f64 {
    match metric {
        Metric::Tv => metrics.attn_tv,
        Metric::CalciumErr => metrics.calcium_rel_err,
        Metric::CalciumCorr => metrics.calcium_corr,
    }
}

/// The calcium sampled at the end of write slot `write` (from 1), once it has been played.
fn calcium_after_write(
    history: &RunHistory,
    run: &crate::sim::RunInfo,
    write: usize,
) -> Option<f64> {
    let slot = run
        .slots
        .iter()
        .find(|s| s.phase == Phase::Write && s.token + 1 == write)?;
    calcium_at(history, slot.end_step())
}

/// The calcium after `step` steps, from the trace samples (which include every slot's end):
/// exact at a sample, else interpolated linearly between the two around it.
fn calcium_at(history: &RunHistory, step: u64) -> Option<f64> {
    let mut before: Option<(u64, f64)> = None;
    for sample in history.samples.iter() {
        if sample.step == step {
            return Some(sample.calcium);
        }
        if sample.step < step {
            before = Some((sample.step, sample.calcium));
        } else {
            let (s0, c0) = before?;
            let w = (step - s0) as f64 / (sample.step - s0) as f64;
            return Some(c0 + w * (sample.calcium - c0));
        }
    }
    None
}

/// The median, over the read slots 2.. played to their end, of the share of the slot's jump
/// in calcium closed in its first `ms`; with the last such slot (from 1).
fn median_jump_closed(
    history: &RunHistory,
    run: &crate::sim::RunInfo,
    ms: f64,
) -> Option<(f64, usize)> {
    let dt = history.snapshot.as_ref()?.params.dt;
    let early = (ms / dt).round() as u64;
    let mut shares = Vec::new();
    let mut last = 0;
    for slot in run.slots.iter().filter(|s| s.phase == Phase::Read) {
        // Read slot 1 starts from the calcium the writes left, not from a Z_t.
        if slot.token == 0 {
            continue;
        }
        let (Some(start), Some(at_early), Some(end)) = (
            calcium_at(history, slot.start_step),
            calcium_at(history, slot.start_step + early),
            calcium_at(history, slot.end_step()),
        ) else {
            break;
        };
        shares.push((at_early - start) / (end - start));
        last = slot.token + 1;
    }
    if shares.is_empty() {
        return None;
    }
    shares.sort_by(f64::total_cmp);
    Some((shares[shares.len() / 2], last))
}

/// A parameter by the name the panel shows.
fn panel_name(key: &str) -> &str {
    crate::ui::views::params::panel_label(key).unwrap_or(key)
}

/// The what-if run of the step's experiment with the learner's settings and `edits`; an
/// edit the parameter refuses gives its sentence instead.
fn what_if(
    ui: &egui::Ui,
    experiment: &Experiment,
    snapshot: &Snapshot,
    edits: &[(String, String)],
) -> Job {
    let mut edited = Experiment {
        params: snapshot.params.clone(),
        ..experiment.clone()
    };
    for (key, value) in edits {
        if let Some(param) = Param::named(key)
            && let Err(error) = param.set_text(&mut edited.params, value)
        {
            return Job::Failed(format!("{} = {value}: {error}", panel_name(key)));
        }
    }
    job(ui.ctx(), &edited)
}

/// Room between the table's columns (points).
const TABLE_SPACING: f32 = 8.0;

/// A what-if over two settings or more, with one metric, as a table: a row per combination
/// of all settings but the last, a column per value of the last. Cells under way show "…"
/// (with a count of them under the table); a run that could not be made is a dash, with its
/// reason under the table. Returns false, drawing nothing, when the table would be wider than
/// the box (it would widen the panel for good): the caller then shows one line per run.
fn what_if_table(
    ui: &mut egui::Ui,
    experiment: &Experiment,
    snapshot: &Snapshot,
    metric: Metric,
    axes: &[crate::data::lesson_figures::Axis],
) -> bool {
    let Some((columns, rows)) = axes.split_last() else {
        return false;
    };
    let mut failure = None;
    let mut running = 0;
    // (row label, cells) per row; a cell under way is measured as a typical value.
    let table: Vec<(String, Vec<String>)> = combinations(rows)
        .into_iter()
        .map(|combination| {
            let name: Vec<&str> = combination.iter().map(|(_, v)| v.as_str()).collect();
            let cells = columns
                .values
                .iter()
                .map(|value| {
                    let mut edits = combination.clone();
                    edits.push((columns.key.clone(), value.clone()));
                    match what_if(ui, experiment, snapshot, &edits) {
                        Job::Running => {
                            running += 1;
                            "…".to_string()
                        }
                        Job::Done(m) => format_metric(metric, metric_value(&m, metric)),
                        Job::Failed(reason) => {
                            failure.get_or_insert(reason);
                            "—".to_string()
                        }
                    }
                })
                .collect();
            (name.join(", "), cells)
        })
        .collect();
    let painter = ui.painter();
    let width = |text: &str, font: egui::FontId| {
        painter
            .layout_no_wrap(text.to_string(), font, egui::Color32::BLACK)
            .size()
            .x
    };
    let strong = egui::FontId::proportional(FIGURE_SIZE);
    let mono = egui::FontId::monospace(FIGURE_SIZE);
    let typical = width("0.000", mono.clone());
    let label_width = table
        .iter()
        .map(|(name, _)| width(name, strong.clone()))
        .fold(0.0, f32::max);
    let columns_width: f32 = (0..columns.values.len())
        .map(|k| {
            table
                .iter()
                .map(|(_, cells)| width(&cells[k], mono.clone()).max(typical))
                .fold(width(&columns.values[k], strong.clone()), f32::max)
        })
        .sum();
    let needed = label_width + columns_width + TABLE_SPACING * columns.values.len() as f32;
    if needed > ui.available_width() {
        return false;
    }
    let row_names: Vec<&str> = rows.iter().map(|a| panel_name(&a.key)).collect();
    ui.add(
        egui::Label::new(
            RichText::new(format!(
                "{} of a whole run at each {} (rows) and {} (columns):",
                metric.name(),
                row_names.join(", "),
                panel_name(&columns.key)
            ))
            .size(FIGURE_SIZE),
        )
        .wrap(),
    );
    let id = ui.scope_id().with(("what-if table", format!("{axes:?}")));
    egui::Grid::new(id)
        .spacing([TABLE_SPACING, 2.0])
        .striped(true)
        .show(ui, |ui| {
            ui.label("");
            for value in &columns.values {
                ui.label(RichText::new(value).size(FIGURE_SIZE).strong());
            }
            ui.end_row();
            for (name, cells) in &table {
                ui.label(RichText::new(name).size(FIGURE_SIZE).strong());
                for cell in cells {
                    ui.label(RichText::new(cell).size(FIGURE_SIZE).monospace());
                }
                ui.end_row();
            }
        });
    if running > 0 {
        ui.label(RichText::new(format!("{running} of these runs: running…")).size(FIGURE_SIZE));
    }
    if let Some(reason) = failure {
        ui.add(egui::Label::new(RichText::new(reason).size(FIGURE_SIZE)).wrap());
    }
    true
}

/// One what-if line: the metrics of a whole run with `edits`, or that it is under way.
fn what_if_line(
    ui: &egui::Ui,
    experiment: &Experiment,
    snapshot: &Snapshot,
    metrics: &[Metric],
    edits: &[(String, String)],
) -> String {
    let setting: Vec<String> = edits
        .iter()
        .map(|(key, value)| format!("{} = {value}", panel_name(key)))
        .collect();
    let setting = setting.join(", ");
    let result = match what_if(ui, experiment, snapshot, edits) {
        Job::Running => "running…".to_string(),
        Job::Failed(reason) => reason,
        Job::Done(m) => metrics
            .iter()
            .map(|metric| {
                format!(
                    "{} {}",
                    metric.name(),
                    format_metric(*metric, metric_value(&m, *metric))
                )
            })
            .collect::<Vec<_>>()
            .join(" · "),
    };
    format!("at {setting}: {result}")
}

/// The what-if run of `experiment`: started on a thread the first time it is asked for.
fn job(ctx: &egui::Context, experiment: &Experiment) -> Job {
    let jobs: Jobs = ctx.data_mut(|d| {
        d.get_temp_mut_or_default::<Jobs>(egui::Id::unique("tripartite.lesson_what_if_runs"))
            .clone()
    });
    let key = format!(
        "{:?}|{:?}|{:?}",
        experiment.source, experiment.text, experiment.params
    );
    let mut table = jobs.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(job) = table.get(&key) {
        return job.clone();
    }
    table.insert(key.clone(), Job::Running);
    drop(table);
    let experiment = experiment.clone();
    let ctx = ctx.clone();
    let shared = jobs.clone();
    std::thread::spawn(move || {
        let done = whole_run(&experiment.params, &experiment);
        shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, done);
        ctx.request_repaint();
    });
    Job::Running
}

/// Runs `experiment` to its end (its sequence made with `params`, as a reset would).
fn whole_run(params: &Params, experiment: &Experiment) -> Job {
    let sequence = match experiment.load_sequence() {
        Ok(sequence) => sequence,
        Err(error) => return Job::Failed(error.to_string()),
    };
    match Simulation::new(params, Arc::new(sequence)) {
        Ok(mut sim) => {
            sim.run_to_end();
            Job::Done(sim.metrics())
        }
        Err(error) => Job::Failed(error.to_string()),
    }
}
