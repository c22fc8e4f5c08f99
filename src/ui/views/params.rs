//! The parameter panel: every model parameter with its unit and valid range, grouped as
//! Input / Network / Dynamics / Mode. Time constants, η, λ and c_min apply live; anything
//! else rebuilds the simulation, after the user confirms. Invalid values are refused inline
//! with `Params::validate()`'s reason.

use crate::data::experiment::Experiment;
use crate::data::source::SourceSpec;
use crate::model::params::{Choice, LiveParams, Param, ParamError, Params, Range, ValueMut};
use crate::sim::{Command, RunHistory};
use crate::ui::widgets::theme;
use egui::RichText;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Group {
    Input,
    Network,
    Dynamics,
    Mode,
}

/// How the panel shows one parameter; its unit, range and whether it applies live come from
/// the parameter table.
struct Field {
    key: &'static str,
    label: &'static str,
    help: &'static str,
    group: Group,
}

const FIELDS: &[Field] = &[
    Field {
        key: "synthetic_scale",
        label: "q, k scale",
        help: "Multiplies synthetic queries and keys: larger gives a peakier softmax.",
        group: Group::Input,
    },
    Field {
        key: "layer",
        label: "layer",
        help: "Transformer layer (0-based) for real-text sequences.",
        group: Group::Input,
    },
    Field {
        key: "head",
        label: "head",
        help: "Attention head (0-based) for real-text sequences.",
        group: Group::Input,
    },
    Field {
        key: "m",
        label: "m features",
        help: "Number of random features; hidden neurons m' = m (positive), 2m (hyperbolic, trig) or D (elu1). Larger m approximates softmax better.",
        group: Group::Network,
    },
    Field {
        key: "feature_map",
        label: "feature map φ",
        help: "positive: Performer FAVOR+; hyperbolic: lower variance; trig: random Fourier (can be negative); elu1: linear-attention baseline, not a softmax estimator.",
        group: Group::Network,
    },
    Field {
        key: "projection",
        label: "projection W",
        help: "iid Gaussian rows, or orthogonal blocks (Performer ORF).",
        group: Group::Network,
    },
    Field {
        key: "seed",
        label: "seed",
        help: "Draws W, the process gains and synthetic sequences.",
        group: Group::Network,
    },
    Field {
        key: "heterogeneity",
        label: "σ_γ gain spread",
        help: "Spread of the process gains γ_ij = 1 + σ_γ ξ_ij. 0: every process responds alike.",
        group: Group::Network,
    },
    Field {
        key: "tau_neuron",
        label: "τ_n neurons",
        help: "Neuron time constant.",
        group: Group::Dynamics,
    },
    Field {
        key: "tau_process",
        label: "τ_p processes",
        help: "Astrocyte process time constant.",
        group: Group::Dynamics,
    },
    Field {
        key: "tau_calcium",
        label: "τ_c calcium",
        help: "Astrocyte calcium time constant: slower calcium lags Z_t.",
        group: Group::Dynamics,
    },
    Field {
        key: "eta",
        label: "η learning",
        help: "Hebbian and presynaptic learning rate (η·T_write = 1 keeps the paper's scale).",
        group: Group::Dynamics,
    },
    Field {
        key: "decay",
        label: "λ decay",
        help: "Decay of H, g and the eligibilities.",
        group: Group::Dynamics,
    },
    Field {
        key: "c_min",
        label: "c_min floor",
        help: "Floor in ψ(c) = 1/max(c, c_min).",
        group: Group::Dynamics,
    },
    Field {
        key: "t_write",
        label: "T_write slot",
        help: "Length of one write slot.",
        group: Group::Dynamics,
    },
    Field {
        key: "t_read",
        label: "T_read slot",
        help: "Length of one read slot.",
        group: Group::Dynamics,
    },
    Field {
        key: "dt",
        label: "dt step",
        help: "Forward-Euler step.",
        group: Group::Dynamics,
    },
    Field {
        key: "mode",
        label: "mode",
        help: "dynamic: neurons and astrocyte in continuous time; algebraic: the paper's exact correspondence.",
        group: Group::Mode,
    },
    Field {
        key: "schedule",
        label: "schedule",
        help: "bidirectional: write every token, then read every token (full mask); causal: write t, read t (mask τ ≤ t).",
        group: Group::Mode,
    },
];

/// Which kind of sequence the picker builds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SourceKind {
    Synthetic,
    Npy,
    /// Any source written out (bundled:NAME, model:DIR, …).
    Spec,
}

pub struct ParamsView {
    /// The parameters being edited.
    draft: Params,
    /// The worker's parameters when the draft was last synchronised.
    base: Option<Params>,
    kind: SourceKind,
    tokens: usize,
    dim: usize,
    npy_path: String,
    spec: String,
    source_error: Option<String>,
    /// Text and description of the experiment being shown, kept for reloads.
    experiment: Experiment,
}

impl ParamsView {
    pub fn new(experiment: &Experiment) -> Self {
        let (kind, tokens, dim, npy_path) = match &experiment.source {
            SourceSpec::Synthetic { tokens, dim } => {
                (SourceKind::Synthetic, *tokens, *dim, String::new())
            }
            SourceSpec::Npy(path) => (SourceKind::Npy, 12, 32, path.display().to_string()),
            _ => (SourceKind::Spec, 12, 32, String::new()),
        };
        ParamsView {
            draft: experiment.params.clone(),
            base: None,
            kind,
            tokens,
            dim,
            npy_path,
            spec: experiment.source.to_string(),
            source_error: None,
            experiment: experiment.clone(),
        }
    }

    /// The parameters being edited (tests read them).
    pub fn draft_mut(&mut self) -> &mut Params {
        &mut self.draft
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, history: &RunHistory, out: &mut Vec<Command>) {
        ui.label(theme::title("Parameters"));
        ui.horizontal(|ui| {
            badge(ui, true);
            theme::caption(ui, "applies live;");
            badge(ui, false);
            theme::caption(ui, "rebuilds from t = 0.");
        });
        let Some(snapshot) = history.snapshot.as_ref() else {
            return;
        };
        self.synchronise(&snapshot.params);
        let applied = snapshot.params.clone();
        let validation = self.draft.validate();
        let error_key = match &validation {
            Err(ParamError::Invalid { name, .. }) => Some(*name),
            _ => None,
        };
        let error_text = validation.as_ref().err().map(ToString::to_string);

        for (group, title) in [
            (Group::Input, "Input"),
            (Group::Network, "Network"),
            (Group::Dynamics, "Dynamics"),
            (Group::Mode, "Mode"),
        ] {
            egui::CollapsingHeader::new(RichText::new(title).strong().size(16.0))
                .default_open(true)
                .show(ui, |ui| {
                    if group == Group::Input {
                        self.sequence_picker(ui, snapshot, out);
                    }
                    egui::Grid::new(("param grid", title))
                        .num_columns(3)
                        .spacing([6.0, 4.0])
                        .show(ui, |ui| {
                            for field in FIELDS.iter().filter(|f| f.group == group) {
                                let Some(param) = Param::named(field.key) else {
                                    continue;
                                };
                                self.field_row(ui, field, param, &applied);
                                if error_key == Some(field.key)
                                    && let Some(text) = &error_text
                                {
                                    ui.label("");
                                    ui.add(
                                        egui::Label::new(
                                            RichText::new(format!("Refused: {text}"))
                                                .color(theme::ERROR)
                                                .size(12.5),
                                        )
                                        .wrap(),
                                    );
                                    ui.end_row();
                                }
                            }
                        });
                });
        }
        if let (Err(_), None) = (&validation, error_key)
            && let Some(text) = &error_text
        {
            ui.colored_label(theme::ERROR, format!("Refused: {text}"));
        }

        // Live changes go to the worker at once, even while a structural edit waits.
        let mut live = applied.clone();
        LiveParams::of(&self.draft).apply_to(&mut live);
        if live != applied && live.validate().is_ok() {
            out.push(Command::SetParams(live.clone()));
        }
        let structural = applied.is_structural_change(&self.draft);
        if structural {
            let names: Vec<&str> = applied
                .changes(&self.draft)
                .filter(|param| !param.live)
                .map(|param| param.name)
                .collect();
            ui.separator();
            ui.label(
                RichText::new(format!(
                    "Pending: {} — applying rebuilds the simulation from t = 0.",
                    names.join(", ")
                ))
                .strong(),
            );
            ui.horizontal(|ui| {
                let apply =
                    ui.add_enabled(validation.is_ok(), egui::Button::new("Apply and rebuild"));
                if apply.clicked() {
                    out.push(Command::SetParams(self.draft.clone()));
                }
                if ui.button("Discard changes").clicked() {
                    self.draft = applied.clone();
                }
            });
        }
        if let Some(text) = snapshot.rejected() {
            ui.add(egui::Label::new(RichText::new(text).color(theme::ERROR)).wrap());
        }
        if let Some(text) = snapshot.notice() {
            ui.add(egui::Label::new(RichText::new(text).color(theme::OK).size(13.0)).wrap());
        }
    }

    /// Takes the worker's values for every field the user has not edited.
    fn synchronise(&mut self, applied: &Params) {
        let Some(base) = self.base.as_ref() else {
            self.draft = applied.clone();
            self.base = Some(applied.clone());
            return;
        };
        if base == applied {
            return;
        }
        for param in crate::model::params::PARAMS {
            if !param.differs(&self.draft, base) {
                param.copy(applied, &mut self.draft);
            }
        }
        self.base = Some(applied.clone());
    }

    fn field_row(&mut self, ui: &mut egui::Ui, field: &Field, param: &Param, applied: &Params) {
        let live = param.live;
        let edited = param.differs(applied, &self.draft);
        let mut text = RichText::new(field.label);
        if edited && !live {
            text = text.strong().color(theme::CAPTION);
        }
        let range = param.range_notation();
        let tip = format!(
            "{} ({}){}{}",
            field.help,
            field.key,
            if param.unit.is_empty() {
                String::new()
            } else {
                format!(" — unit: {}", param.unit)
            },
            if range.is_empty() {
                String::new()
            } else {
                format!(" — valid: {range}")
            },
        );
        let label = ui
            .horizontal(|ui| {
                badge(ui, live);
                ui.label(text)
            })
            .inner
            .on_hover_text(&tip);
        let response = match param.edit(&mut self.draft) {
            ValueMut::Choice(choice) => choice_combo(ui, field.key, choice),
            ValueMut::Count(count) => {
                ui.add(egui::DragValue::new(count).speed(count_drag_speed(param.range)))
            }
            ValueMut::Integer(integer) => ui.add(egui::DragValue::new(integer)),
            ValueMut::Real(value) => {
                let speed = (value.abs() * 0.01).max(1e-4);
                ui.add(
                    egui::DragValue::new(value)
                        .speed(speed)
                        .custom_formatter(|v, _| theme::sig(v)),
                )
            }
        };
        response.labelled_by(label.id).on_hover_text(&tip);
        let unit = if range.is_empty() {
            param.unit.to_string()
        } else if param.unit.is_empty() {
            range
        } else {
            format!("{} · {range}", param.unit)
        };
        ui.label(RichText::new(unit).size(12.0).color(theme::CAPTION));
        ui.end_row();
    }

    fn sequence_picker(
        &mut self,
        ui: &mut egui::Ui,
        snapshot: &crate::sim::Snapshot,
        out: &mut Vec<Command>,
    ) {
        let current = snapshot
            .run
            .as_ref()
            .map_or_else(|| self.experiment.source.to_string(), |r| r.source.clone());
        ui.label(format!("Sequence: {current}"));
        ui.horizontal(|ui| {
            ui.radio_value(&mut self.kind, SourceKind::Synthetic, "synthetic N×D");
            ui.radio_value(&mut self.kind, SourceKind::Npy, "npy folder");
            ui.radio_value(&mut self.kind, SourceKind::Spec, "other");
        });
        match self.kind {
            SourceKind::Synthetic => {
                ui.horizontal(|ui| {
                    let n = ui.label("N tokens");
                    ui.add(egui::DragValue::new(&mut self.tokens).range(1..=4096))
                        .labelled_by(n.id);
                    let d = ui.label("D dims");
                    ui.add(egui::DragValue::new(&mut self.dim).range(1..=4096))
                        .labelled_by(d.id);
                });
            }
            SourceKind::Npy => {
                let label = ui.label("folder with q.npy, k.npy, v.npy");
                ui.add(
                    egui::TextEdit::singleline(&mut self.npy_path)
                        .hint_text("path/to/folder")
                        .desired_width(240.0),
                )
                .labelled_by(label.id);
            }
            SourceKind::Spec => {
                let label = ui.label("source");
                ui.add(
                    egui::TextEdit::singleline(&mut self.spec)
                        .hint_text("bundled:NAME, model:DIR, npy:DIR or synthetic:NxD")
                        .desired_width(240.0),
                )
                .labelled_by(label.id);
            }
        }
        let spec_text = match self.kind {
            SourceKind::Synthetic => format!("synthetic:{}x{}", self.tokens, self.dim),
            SourceKind::Npy => format!("npy:{}", self.npy_path.trim()),
            SourceKind::Spec => self.spec.trim().to_string(),
        };
        if ui
            .button("Load sequence")
            .on_hover_text("Load this sequence and rebuild the simulation.")
            .clicked()
        {
            match spec_text.parse::<SourceSpec>() {
                Ok(source) => {
                    self.source_error = None;
                    let params = if self.draft.validate().is_ok() {
                        self.draft.clone()
                    } else {
                        snapshot.params.clone()
                    };
                    let experiment = Experiment {
                        params,
                        source: source.clone(),
                        ..self.experiment.clone()
                    };
                    self.experiment.source = source;
                    out.push(Command::LoadExperiment(Box::new(experiment)));
                }
                Err(error) => self.source_error = Some(error.to_string()),
            }
        }
        if let Some(error) = &self.source_error {
            ui.add(
                egui::Label::new(RichText::new(format!("Refused: {error}")).color(theme::ERROR))
                    .wrap(),
            );
        }
    }
}

/// A small dot: filled green for live parameters, hollow grey for structural ones.
fn badge(ui: &mut egui::Ui, live: bool) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
    let painter = ui.painter();
    if live {
        painter.circle_filled(rect.center(), 4.0, theme::OK);
    } else {
        painter.circle_stroke(
            rect.center(),
            3.5,
            egui::Stroke::new(1.5, egui::Color32::GRAY),
        );
    }
}

fn choice_combo(ui: &mut egui::Ui, id: &str, value: &mut dyn Choice) -> egui::Response {
    let current = value.name();
    egui::ComboBox::from_id_salt(id)
        .selected_text(current)
        .show_ui(ui, |ui| {
            for &name in value.names() {
                if ui.selectable_label(current == name, name).clicked() {
                    // The name comes from the list itself, so it is always known.
                    _ = value.choose(name);
                }
            }
        })
        .response
}

/// Drag speed for a count: one step per pixel, faster for very large ranges (m up to 2²⁴
/// moves 4 per pixel).
fn count_drag_speed(range: Range) -> f64 {
    match range {
        Range::Whole { max: Some(max), .. } => (max as f64 / f64::from(1 << 22)).max(1.0),
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_has_exactly_one_field_and_every_field_a_parameter() {
        for param in crate::model::params::PARAMS {
            let fields = FIELDS.iter().filter(|f| f.key == param.name).count();
            assert_eq!(fields, 1, "{} has {fields} fields in the panel", param.name);
        }
        for field in FIELDS {
            assert!(
                Param::named(field.key).is_some(),
                "{} is not in the parameter table",
                field.key
            );
        }
    }

    #[test]
    fn the_panel_shows_the_table_ranges_in_short_notation() {
        let shown = |key| Param::named(key).unwrap().range_notation();
        assert_eq!(shown("synthetic_scale"), "(0, 100]");
        assert_eq!(shown("m"), "1 … 2²⁴");
        assert_eq!(shown("seed"), "integer ≥ 0");
        assert_eq!(shown("heterogeneity"), "[0, 10]");
        assert_eq!(shown("tau_calcium"), "> 0, ≥ dt");
        assert_eq!(shown("decay"), "≥ 0, λ·dt < 1");
        assert_eq!(shown("t_write"), "multiple of dt");
        assert_eq!(shown("dt"), "≤ each τ, divides slots");
        assert_eq!(shown("feature_map"), "");
        assert_eq!(count_drag_speed(Param::named("m").unwrap().range), 4.0);
        assert_eq!(count_drag_speed(Param::named("head").unwrap().range), 1.0);
    }
}
