//! The Compare tab: the live run against a pinned baseline, and twin runs (the current
//! experiment beside a copy with one thing changed, e.g. an ablation). Each comparison shows
//! exactly the settings that differ, the metric deltas, the change in A_net and both calcium
//! traces overlaid.

use crate::data::experiment::Experiment;
use crate::model::params::{Param, Range};
use crate::sim::compare::{Comparison, TwinState};
use crate::ui::command::AppCommand;
use crate::ui::views::selection::TokenSelection;
use crate::ui::widgets::colormap::{ColorScale, palette};
use crate::ui::widgets::heatmap::{Heatmap, HeatmapTexture, label_width};
use crate::ui::widgets::plot_key::{Swatch, plot_key};
use crate::ui::widgets::theme;
use egui_plot::{Line, Plot, PlotPoints};

/// What the user asked of the comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompareAction {
    /// Keep the run on screen as the baseline.
    Pin,
    /// Forget the baseline.
    Unpin,
    /// Restore the baseline's experiment (an undoable edit).
    RevertToBaseline,
    /// Run a twin of the current experiment with parameter `key` set to `value`.
    StartTwin { key: String, value: String },
    /// Stop and forget the twin.
    CloseTwin,
    /// Run the live simulation to the end, so that its final results meet the baseline's.
    RunToEnd,
    /// Open the Learn synapses window (issue 27).
    OpenLearn,
}

/// The parameters a twin may change, with their choices, for the Ablate menu and the twin
/// form: the named entry's list of choices, `None` when this build has no such parameter or
/// it is not a choice.
pub fn choices(key: &str) -> Option<&'static [&'static str]> {
    match Param::named(key)?.range {
        Range::OneOf(names) => Some(names),
        _ => None,
    }
}

/// The parameter the Ablate menu sets.
pub const ABLATION_KEY: &str = "ablation";

/// The Ablate menu: one item per choice of the `ablation` parameter, each starting a twin with
/// it. The menu is left out when this build has no `ablation` parameter.
pub fn ablate_menu(ui: &mut egui::Ui, current: &Experiment, out: &mut Vec<AppCommand>) {
    let (Some(names), Some(param)) = (choices(ABLATION_KEY), Param::named(ABLATION_KEY)) else {
        return;
    };
    let now = param.get(&current.params).to_string();
    ui.menu_button("Ablate", |ui| {
        ui.weak("Run a twin with one part of the mechanism changed");
        for name in names {
            let ablation = crate::model::params::Ablation::ALL
                .iter()
                .find(|a| a.to_string() == *name);
            let label = ablation.map_or(*name, |a| a.label());
            let what = ablation.map_or("", |a| a.tooltip());
            let item = ui
                .add_enabled(*name != now, egui::Button::new(label))
                .on_hover_text(format!(
                    "{what}\nRuns the current experiment again with {ABLATION_KEY} = {name} in \
                     the background (same seed and inputs) and compares it (Compare tab)."
                ));
            if item.clicked() {
                out.push(AppCommand::Compare(CompareAction::StartTwin {
                    key: ABLATION_KEY.into(),
                    value: (*name).into(),
                }));
                ui.close();
            }
        }
        ui.separator();
        if ui
            .button(crate::ui::views::learn::MENU_LABEL)
            .on_hover_text(crate::ui::views::learn::MENU_TOOLTIP)
            .clicked()
        {
            out.push(AppCommand::Compare(CompareAction::OpenLearn));
            ui.close();
        }
    });
}

/// The state of the Compare tab.
pub struct CompareView {
    baseline_textures: [HeatmapTexture; 3],
    twin_textures: [HeatmapTexture; 3],
    /// The twin form: which parameter and what value.
    pub twin_key: String,
    pub twin_value: String,
}

impl Default for CompareView {
    fn default() -> Self {
        CompareView {
            baseline_textures: Default::default(),
            twin_textures: Default::default(),
            twin_key: "m".into(),
            twin_value: String::new(),
        }
    }
}

/// What the tab shows this frame.
pub struct CompareData<'a> {
    /// The pinned baseline (reference) against the live run (other).
    pub baseline: Option<&'a Comparison>,
    /// The twin's label ("m = 512") and state.
    pub twin: Option<(&'a str, &'a TwinState)>,
    pub current: &'a Experiment,
    /// Changes whenever either side of the baseline comparison changes (for the texture).
    pub baseline_version: u64,
    /// Changes with each new twin.
    pub twin_version: u64,
}

impl CompareView {
    /// Draws the tab; what the user asks of the comparison goes to `out`.
    pub fn ui(&mut self, ui: &mut egui::Ui, data: &CompareData<'_>, out: &mut Vec<AppCommand>) {
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                self.twin_form(ui, data.current, out);
                ui.separator();
                match data.twin {
                    Some((label, state)) => self.twin_ui(ui, label, state, data.twin_version, out),
                    None => {
                        ui.weak(if choices(ABLATION_KEY).is_some() {
                            "No twin: pick a parameter and a value above (or an ablation in the \
                             Ablate menu) to run one beside the current experiment."
                        } else {
                            "No twin: pick a parameter and a value above to run one beside the \
                             current experiment."
                        });
                    }
                }
                ui.separator();
                match data.baseline {
                    Some(comparison) => {
                        ui.horizontal(|ui| {
                            ui.heading("Against the pinned baseline");
                            if ui
                                .button("Revert to baseline")
                                .on_hover_text(
                                    "Restore the baseline's parameters and sequence (Ctrl + Z \
                                     takes it back)",
                                )
                                .clicked()
                            {
                                out.push(AppCommand::Compare(CompareAction::RevertToBaseline));
                            }
                            if ui
                                .button("Unpin")
                                .on_hover_text("Forget the baseline")
                                .clicked()
                            {
                                out.push(AppCommand::Compare(CompareAction::Unpin));
                            }
                        });
                        if !comparison.other.is_finished()
                            && ui
                                .button("Run to end")
                                .on_hover_text(
                                    "Run the live simulation to the end of its schedule, to \
                                     compare final results",
                                )
                                .clicked()
                        {
                            out.push(AppCommand::Compare(CompareAction::RunToEnd));
                        }
                        comparison_ui(
                            ui,
                            "baseline",
                            ["baseline", "now"],
                            comparison,
                            &mut self.baseline_textures,
                            data.baseline_version,
                        );
                    }
                    None => {
                        ui.horizontal(|ui| {
                            if ui
                                .button("Pin as baseline")
                                .on_hover_text(
                                    "Keep the run on screen (experiment, metrics, A_net, \
                                     calcium) and compare every later run with it",
                                )
                                .clicked()
                            {
                                out.push(AppCommand::Compare(CompareAction::Pin));
                            }
                            ui.weak("No baseline pinned.");
                        });
                    }
                }
            });
    }

    /// "Twin with [parameter] = [value] [Run twin]".
    fn twin_form(&mut self, ui: &mut egui::Ui, current: &Experiment, out: &mut Vec<AppCommand>) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Twin with");
            let key_before = self.twin_key.clone();
            egui::ComboBox::from_id_salt("twin parameter")
                .selected_text(self.twin_key.as_str())
                .show_ui(ui, |ui| {
                    for param in crate::model::params::PARAMS {
                        ui.selectable_value(&mut self.twin_key, param.name.to_string(), param.name);
                    }
                })
                .response
                .on_hover_text("The one parameter the twin changes");
            if self.twin_key != key_before {
                self.twin_value.clear();
            }
            let set_to = ui.label("set to");
            match choices(&self.twin_key) {
                Some(names) => {
                    if !names.contains(&self.twin_value.as_str()) {
                        self.twin_value = names
                            .iter()
                            .find(|n| {
                                Param::named(&self.twin_key)
                                    .is_some_and(|p| p.get(&current.params).to_string() != **n)
                            })
                            .unwrap_or(&names[0])
                            .to_string();
                    }
                    egui::ComboBox::from_id_salt(("twin value", set_to.id))
                        .selected_text(self.twin_value.as_str())
                        .show_ui(ui, |ui| {
                            for name in names {
                                ui.selectable_value(&mut self.twin_value, name.to_string(), *name);
                            }
                        });
                }
                None => {
                    ui.add(
                        egui::TextEdit::singleline(&mut self.twin_value)
                            .desired_width(90.0)
                            .hint_text("value"),
                    )
                    .labelled_by(set_to.id);
                }
            }
            if ui
                .add_enabled(
                    !self.twin_value.trim().is_empty(),
                    egui::Button::new("Run twin"),
                )
                .on_hover_text(
                    "Run the current experiment and this copy of it to the end in the \
                     background (same seed, same inputs), then compare them here",
                )
                .clicked()
            {
                out.push(AppCommand::Compare(CompareAction::StartTwin {
                    key: self.twin_key.clone(),
                    value: self.twin_value.trim().to_string(),
                }));
            }
        });
    }

    fn twin_ui(
        &mut self,
        ui: &mut egui::Ui,
        label: &str,
        state: &TwinState,
        version: u64,
        out: &mut Vec<AppCommand>,
    ) {
        ui.horizontal(|ui| {
            ui.heading(format!("Twin: {label}"));
            if ui
                .button("Close twin")
                .on_hover_text("Stop the twin and forget it")
                .clicked()
            {
                out.push(AppCommand::Compare(CompareAction::CloseTwin));
            }
        });
        match state {
            TwinState::Running => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Running the twin and the current experiment to the end…");
                });
            }
            TwinState::Failed(reason) => {
                ui.colored_label(theme::ERROR, reason);
            }
            TwinState::Done(comparison) => {
                comparison_ui(
                    ui,
                    "twin",
                    ["current", "twin"],
                    comparison,
                    &mut self.twin_textures,
                    version,
                );
            }
        }
    }
}

/// How many times larger one run's A_net must reach than the other's before each is drawn on
/// its own colour scale.
const OWN_SCALES_FROM: f64 = 3.0;

/// One comparison: what differs, the metrics, the change in A_net and both calcium traces.
/// `names`: what to call A and B.
/// "layer 3 · head 9 (one head) · m = 256 · seed 0 · bundled:coreference-it": which run a
/// side of a comparison is.
fn which_run(record: &crate::sim::compare::RunRecord) -> String {
    let params = &record.experiment.params;
    let heads = match params.heads {
        crate::model::params::Heads::One => "one head",
        crate::model::params::Heads::All => "in its layer",
    };
    format!(
        "layer {} · head {} ({heads}) · m = {} · seed {} · {}",
        params.layer, params.head, params.m, params.seed, record.experiment.source
    )
}

fn comparison_ui(
    ui: &mut egui::Ui,
    id: &str,
    names: [&str; 2],
    comparison: &Comparison,
    textures: &mut [HeatmapTexture; 3],
    version: u64,
) {
    let [a, b] = names;
    let diff = comparison.diff();
    if diff.is_empty() {
        ui.label(format!(
            "No setting differs: {b} is the same experiment as {a}."
        ));
    } else {
        ui.label(egui::RichText::new(format!("Settings that differ, from {a} to {b}:")).strong());
        // Monospace: the proportional font has no arrow.
        for difference in &diff {
            ui.label(egui::RichText::new(format!("  {difference}")).monospace());
        }
    }
    let rows = |record: &crate::sim::compare::RunRecord| {
        record.rows_done.iter().filter(|done| **done).count()
    };
    let progress = |record: &crate::sim::compare::RunRecord| {
        if record.is_finished() {
            "finished".to_string()
        } else {
            format!(
                "step {} of {} · {}/{} rows read",
                record.steps,
                record.total_steps,
                rows(record),
                record.rows_done.len()
            )
        }
    };
    // Each side names its run, so a head's figures are never compared with another head's
    // unawares (issue 25).
    for (name, record) in [(a, &comparison.reference), (b, &comparison.other)] {
        ui.weak(format!(
            "{name}: {} · {}",
            which_run(record),
            progress(record)
        ));
    }
    let (rows_a, rows_b) = (rows(&comparison.reference), rows(&comparison.other));
    if rows_a != rows_b {
        // The metrics are over the rows read so far: a part-run against a whole one compares
        // different things, and the Δ column must say so.
        theme::caption(
            ui,
            &format!(
                "{a} has read {rows_a} rows and {b} {rows_b}: the metrics cover different rows, \
                 so Δ is not like for like until both have read the same rows."
            ),
        );
    }
    egui::Grid::new(format!("{id} metrics"))
        .striped(true)
        .num_columns(4)
        .show(ui, |ui| {
            ui.strong("metric");
            ui.strong(a);
            ui.strong(b);
            ui.strong(format!("Δ ({b} − {a})"));
            ui.end_row();
            for delta in comparison.deltas() {
                ui.label(delta.name);
                ui.label(theme::sig(delta.before));
                ui.label(theme::sig(delta.after));
                let text = if delta.delta.is_finite() && delta.delta > 0.0 {
                    format!("+{}", theme::sig(delta.delta))
                } else {
                    theme::sig(delta.delta)
                };
                ui.label(text).on_hover_text(format!(
                    "{} − {} = {:e}",
                    delta.after, delta.before, delta.delta
                ));
                ui.end_row();
            }
        });
    ui.add_space(6.0);
    let (ra, rb) = (&comparison.reference, &comparison.other);
    let top = |record: &crate::sim::compare::RunRecord| {
        let top = record
            .network_attention
            .iter()
            .fold(0.0f64, |m, x| m.max(*x));
        if top > 0.0 && top.is_finite() {
            top
        } else {
            1.0
        }
    };
    let (top_a, top_b) = (top(ra), top(rb));
    // One scale, so that equal colours are equal values; but where one run's A_net is several
    // times larger (a no_astrocyte twin's rows sum to c_t, up to 9.5 against 0.7) a shared
    // scale would paint the other nearly uniform: then each gets its own, and says so.
    let apart = top_a.max(top_b) > OWN_SCALES_FROM * top_a.min(top_b);
    let scale_of = |own: f64| ColorScale::Sequential {
        min: 0.0,
        max: if apart { own } else { top_a.max(top_b) },
    };
    if apart {
        theme::caption(
            ui,
            &format!(
                "A_net's largest value is {} in {a} and {} in {b}: each is drawn on its own \
                 colour scale (see its bar), so compare values, not colours.",
                theme::sig(top_a),
                theme::sig(top_b)
            ),
        );
    }
    let change = comparison.attention_change();
    let longest = label_width(&ra.tokens).max(label_width(&rb.tokens));
    let side = ((ui.available_width() - 3.0 * (longest + 72.0)) / 3.0).clamp(110.0, 260.0);
    let [texture_a, texture_b, texture_change] = textures;
    ui.horizontal_top(|ui| {
        for (record, name, texture, own) in [
            (ra, a, &mut *texture_a, top_a),
            (rb, b, &mut *texture_b, top_b),
        ] {
            ui.vertical(|ui| {
                ui.label(format!("A_net, {name}"));
                Heatmap {
                    name: &format!("A_net {name} ({id})"),
                    matrix: &record.network_attention,
                    tokens: &record.tokens,
                    scale: scale_of(own),
                    version,
                    rows_done: Some(&record.rows_done),
                    highlight_row: None,
                    linked_cell: None,
                    selected: &TokenSelection::default(),
                    side,
                }
                .show(ui, texture);
            });
        }
        ui.vertical(|ui| {
            ui.label(format!("Change in A_net ({b} − {a})"));
            match &change {
                Some((change, rows)) => {
                    let limit = change.iter().fold(0.0f64, |m, x| m.max(x.abs()));
                    Heatmap {
                        name: &format!("A_net change ({id})"),
                        matrix: change,
                        tokens: &rb.tokens,
                        scale: ColorScale::Diverging {
                            limit: if limit > 0.0 { limit } else { 1.0 },
                        },
                        version,
                        rows_done: Some(rows),
                        highlight_row: None,
                        linked_cell: None,
                        selected: &TokenSelection::default(),
                        side,
                    }
                    .show(ui, texture_change);
                }
                None => {
                    ui.weak("The two runs have different tokens: no cell-by-cell change.");
                }
            }
        });
    });
    let dynamic = ra.dynamic && rb.dynamic;
    ui.label(if dynamic {
        "Calcium c(t) of both runs, against time (ms)"
    } else {
        "Calcium c_t of both runs, per query"
    });
    // The key stands above the plot, where it hides no curve.
    plot_key(
        ui,
        &[
            (Swatch::Line(palette::NORMALISER), a.to_string()),
            (Swatch::Line(palette::CALCIUM), b.to_string()),
        ],
    );
    if !ra.calcium.is_empty() && ra.calcium == rb.calcium {
        // One curve would hide the other without a word (a no_astrocyte twin keeps the calcium
        // and only stops dividing the synapses by it).
        let why = if diff.is_empty() {
            "no setting differs"
        } else {
            "the change does not reach the calcium"
        };
        theme::caption(
            ui,
            &format!(
                "The two calcium curves are identical ({why}): the {b} curve lies on the {a} curve."
            ),
        );
    }
    let (ref_points, other_points) = (ra.calcium.clone(), rb.calcium.clone());
    let (a, b) = (a.to_string(), b.to_string());
    let response = Plot::new(format!("{id} calcium"))
        .height(220.0)
        .allow_scroll(false)
        .show(ui, move |plot| {
            // The first run's line is wider, so where the runs agree it edges the second's.
            plot.line(
                Line::new(a, PlotPoints::new(ref_points))
                    .color(palette::NORMALISER)
                    .width(4.0),
            );
            plot.line(
                Line::new(b, PlotPoints::new(other_points))
                    .color(palette::CALCIUM)
                    .width(2.0),
            );
        });
    let name = format!("Calcium of both runs ({id})");
    response
        .response
        .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, &name));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_come_from_the_parameter_table() {
        assert_eq!(
            choices("feature_map"),
            Some(crate::model::params::FeatureMap::NAMES)
        );
        assert_eq!(choices("m"), None, "m is a number, not a choice");
        assert_eq!(choices("no_such_parameter"), None);
        // After the merge with the branch that adds it, the Ablate menu lists its choices.
        if let Some(names) = choices(ABLATION_KEY) {
            assert!(names.contains(&"none"));
        }
    }
}
