//! The parameter panel: every model parameter with its unit and valid range, grouped as
//! Input / Network / Dynamics / Mode. Time constants, η, λ and c_min apply live; anything
//! else rebuilds the simulation, after the user confirms. Invalid values are refused inline
//! with `Params::validate()`'s reason.

use crate::data::experiment::Experiment;
use crate::data::spec::SourceSpec;
use crate::model::params::{Choice, Param, ParamError, Params, Range, ValueMut};
use crate::sim::{Command, RunHistory};
use crate::ui::views::out::ViewOut;
use crate::ui::widgets::theme;
use egui::RichText;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Group {
    Input,
    Network,
    Dynamics,
    Mode,
}

/// Height (points) of the box under the Parameters title that holds pending changes and
/// messages: Apply with two lines of messages.
const BAR_MESSAGES_HEIGHT: f32 = 72.0;

/// How the panel shows one parameter; its unit, range and whether it applies live come from
/// the parameter table.
struct Field {
    key: &'static str,
    label: &'static str,
    help: &'static str,
    group: Group,
}

/// The label the panel shows for parameter `key` ("tau_calcium" → "τ_c calcium"), so that
/// lessons and hints name a parameter as the learner sees it (issue 25).
pub fn panel_label(key: &str) -> Option<&'static str> {
    FIELDS.iter().find(|f| f.key == key).map(|f| f.label)
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
        key: "heads",
        label: "heads",
        help: "one: the head chosen by layer and head, one astrocyte. all: every head of the layer side by side, one network and one astrocyte per head, their outputs concatenated and projected by W_O (a synthetic source takes a head count: synthetic:12x32x4).",
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
        help: "positive: Performer FAVOR+, unbiased, rates > 0 (a firing rate); hyperbolic: lower variance, rates > 0; trig: random Fourier, unbiased, rates can be negative (not a firing rate); elu1: linear-attention baseline, not a softmax estimator; oprf: optimal positive features, unbiased, rates > 0, A* chosen from the data; cosine: random phase, unbiased, rates can be negative; truncated: e^{w·x} clipped at 150, BIASED, rates > 0 and bounded; rectified_cosine: max(0, cos), BIASED, rates ≥ 0.",
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
        key: "ablation",
        label: "ablation",
        help: "Switch off one part of the mechanism: none (the model); no_astrocyte (ψ = 1 always, synapses never divided); frozen_calcium (c stops after read slot 1); shuffled_processes (process j reads g of another neuron π(j)); uniform_presynaptic (every g_j replaced by the mean of g).",
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

/// How long the worker's "Applied …" notice stays up.
const NOTICE_LIFETIME: Duration = Duration::from_secs(8);

/// Parameters chosen elsewhere: layer and head by the sequence picker's dropdowns, so each
/// has one control; heads (one head or the whole layer) belongs with them there.
const CHOSEN_BY_THE_PICKER: [&str; 3] = ["layer", "head", "heads"];

/// One refused field: what was typed or set, and why, in English.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub key: &'static str,
    pub label: &'static str,
    /// The model's own sentence ("m must be a whole number between 1 and 16 777 216"), the
    /// same the command line and experiment files give.
    pub reason: String,
    /// Whether the draft holds the refused value (so reverting it changes something); text
    /// that never parsed left the draft as it was.
    pub in_draft: bool,
}

pub struct ParamsView {
    /// The parameters being edited.
    draft: Params,
    /// The worker's parameters when the draft was last synchronised.
    base: Option<Params>,
    kind: SourceKind,
    tokens: usize,
    dim: usize,
    /// Heads of a synthetic layer (`synthetic:NxDxH`; 1 writes `synthetic:NxD`).
    synthetic_heads: usize,
    npy_path: String,
    spec: String,
    source_error: Option<String>,
    /// The source the Input group last took from the worker (it follows the picker).
    shown_source: Option<String>,
    /// The source field's load waits for the worker's answer (shown next to the field).
    source_sent: bool,
    /// Text typed into a number field that is not a number, by parameter.
    typed: BTreeMap<&'static str, String>,
    /// The worker's last "Applied …" notice and when it first showed.
    notice: Option<(String, Instant)>,
    /// Text and description of the experiment being shown, kept for reloads.
    experiment: Experiment,
    /// Parameter keys a lesson step keeps from being changed, and keys it hides.
    locked: Vec<String>,
    hidden: Vec<String>,
    /// A parameter a lesson step points at, scrolled into sight the next time it is drawn.
    reveal: Option<String>,
}

impl ParamsView {
    pub fn new(experiment: &Experiment) -> Self {
        let mut view = ParamsView {
            draft: experiment.params.clone(),
            base: None,
            kind: SourceKind::Synthetic,
            tokens: 12,
            dim: 32,
            synthetic_heads: 1,
            npy_path: String::new(),
            spec: String::new(),
            source_error: None,
            shown_source: None,
            source_sent: false,
            typed: BTreeMap::new(),
            notice: None,
            experiment: experiment.clone(),
            locked: Vec::new(),
            hidden: Vec::new(),
            reveal: None,
        };
        view.show_source(&experiment.source);
        view
    }

    /// The parameter keys a lesson step locks and hides (empty lists: none).
    /// Scrolls the panel to parameter `key` when it is next drawn (a lesson step that points
    /// at a parameter below the panel's fold).
    pub fn reveal(&mut self, key: Option<String>) {
        self.reveal = key;
    }

    pub fn restrict(&mut self, locked: Vec<String>, hidden: Vec<String>) {
        self.locked = locked;
        self.hidden = hidden;
    }

    /// Sets the Input group's fields to `source`.
    fn show_source(&mut self, source: &SourceSpec) {
        self.spec = source.to_string();
        match source {
            // A synthetic layer of several heads is written out in the source field, where
            // its head count (synthetic:NxDxH) can be edited.
            SourceSpec::Synthetic { tokens, dim, heads } if *heads == 1 => {
                self.kind = SourceKind::Synthetic;
                (self.tokens, self.dim, self.synthetic_heads) = (*tokens, *dim, *heads);
            }
            SourceSpec::Npy(path) => {
                self.kind = SourceKind::Npy;
                self.npy_path = path.display().to_string();
            }
            _ => self.kind = SourceKind::Spec,
        }
    }

    /// The parameters being edited (tests read them).
    pub fn draft_mut(&mut self) -> &mut Params {
        &mut self.draft
    }

    /// Every refused field, in panel order, with its reason: a value outside its range (or
    /// against a rule tying it to others), or text that is not a number.
    pub fn refusals(&self, applied: &Params) -> Vec<Refusal> {
        let mut refusals = Vec::new();
        for field in FIELDS {
            let Some(param) = Param::named(field.key) else {
                continue;
            };
            if let Some(text) = self.typed.get(field.key) {
                // Text that is not a number is refused as `--set` refuses it.
                let mut scratch = applied.clone();
                let reason = match param.set_text(&mut scratch, text) {
                    Err(error) => error.to_string(),
                    Ok(()) => format!("{} must be {}", param.name, param.requirement()),
                };
                refusals.push(Refusal {
                    key: field.key,
                    label: field.label,
                    reason,
                    in_draft: false,
                });
                continue;
            }
            if !param.differs(applied, &self.draft) {
                continue;
            }
            // Checked on its own against the running values, so each refusal names its field.
            let mut alone = applied.clone();
            param.copy(&self.draft, &mut alone);
            if let Err(error) = alone.validate() {
                let reason = match &error {
                    ParamError::Invalid { name, .. } if *name == param.name => error.to_string(),
                    // Refused by a rule phrased for another field (dt against a shorter τ).
                    _ => format!("{} must be {}", param.name, param.requirement()),
                };
                refusals.push(Refusal {
                    key: field.key,
                    label: field.label,
                    reason,
                    in_draft: true,
                });
            }
        }
        if refusals.is_empty()
            && let Err(error) = self.draft.validate()
        {
            // Fields fine alone but not together (e.g. dt against a new τ).
            refusals.push(Refusal {
                key: "",
                label: "together",
                reason: error.to_string(),
                in_draft: true,
            });
        }
        refusals
    }

    /// The bar pinned above the scrolling panel: pending rebuild changes with Apply and
    /// Discard, every refused value, and the worker's last word on a change.
    pub fn bar(&mut self, ui: &mut egui::Ui, history: &RunHistory, out: &mut ViewOut<'_>) {
        ui.label(theme::title("Parameters"));
        ui.horizontal(|ui| {
            badge(ui, true);
            theme::caption(ui, "applies live;");
            badge(ui, false);
            theme::caption(ui, "rebuilds from t = 0.");
        });
        // The pending changes and every message sit in a box of fixed height (scrolling when
        // they are many), so that the fields below never move (issue 23 §2).
        let room = egui::vec2(ui.available_width(), BAR_MESSAGES_HEIGHT);
        let (rect, _) = ui.allocate_exact_size(room, egui::Sense::hover());
        ui.scope_builder(egui::UiBuilder::new().max_rect(rect), |ui| {
            egui::ScrollArea::vertical()
                .id_salt("parameter messages")
                .auto_shrink([false, false])
                .show(ui, |ui| self.bar_messages(ui, history, out));
        });
    }

    /// What the bar holds below its title: pending changes, refusals, errors and notices.
    fn bar_messages(&mut self, ui: &mut egui::Ui, history: &RunHistory, out: &mut ViewOut<'_>) {
        let Some(snapshot) = history.snapshot.as_ref() else {
            return;
        };
        self.synchronise(&snapshot.params);
        let applied = snapshot.params.clone();
        let refusals = self.refusals(&applied);

        // Live changes go to the worker at once, even while a structural edit waits; a refused
        // field is held back, the others go.
        let mut live = applied.clone();
        for param in crate::model::params::PARAMS.iter().filter(|p| p.live) {
            if !refusals.iter().any(|r| r.key == param.name) {
                param.copy(&self.draft, &mut live);
            }
        }
        if live != applied && live.validate().is_ok() {
            out.worker(Command::SetParams(live.clone()));
        }
        let names: Vec<&str> = applied
            .changes(&self.draft)
            .filter(|param| !param.live)
            .map(|param| param.name)
            .collect();
        if !names.is_empty() {
            ui.label(
                RichText::new(format!(
                    "Pending: {} — applying rebuilds the simulation from t = 0.",
                    names.join(", ")
                ))
                .strong(),
            );
            ui.horizontal(|ui| {
                let apply =
                    ui.add_enabled(refusals.is_empty(), egui::Button::new("Apply and rebuild"));
                if apply.clicked() {
                    out.worker(Command::SetParams(self.draft.clone()));
                }
                if ui.button("Discard changes").clicked() {
                    self.draft = applied.clone();
                    self.typed.clear();
                }
            });
        }
        // Only a refused value in the draft has something to revert; refused text is
        // replaced by typing. The button comes first: the box scrolls, and the button must
        // stay in sight however many reasons follow.
        if refusals.iter().any(|r| r.in_draft) && ui.small_button("Revert refused values").clicked()
        {
            for refusal in &refusals {
                if let Some(param) = Param::named(refusal.key) {
                    param.copy(&applied, &mut self.draft);
                }
                self.typed.remove(refusal.key);
            }
        }
        // Each refusal once, in the pinned bar; its field is outlined in red.
        for refusal in &refusals {
            ui.add(egui::Label::new(RichText::new(&refusal.reason).color(theme::ERROR)).wrap());
        }
        // Every current error, including those also answered next to the source field.
        if let Some(text) = &self.source_error {
            ui.add(
                egui::Label::new(
                    RichText::new(format!("Sequence source: {text}")).color(theme::ERROR),
                )
                .wrap(),
            );
        }
        if let Some(text) = snapshot.rejected() {
            ui.add(egui::Label::new(RichText::new(text).color(theme::ERROR)).wrap());
        }
        if let Some(text) = snapshot.notice() {
            let now = Instant::now();
            let since = match &self.notice {
                Some((seen, at)) if seen == text => *at,
                _ => {
                    self.notice = Some((text.to_string(), now));
                    now
                }
            };
            let age = now.duration_since(since);
            if age < NOTICE_LIFETIME {
                ui.add(egui::Label::new(RichText::new(text).color(theme::OK).size(13.0)).wrap());
                ui.ctx().request_repaint_after(NOTICE_LIFETIME - age);
            }
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, history: &RunHistory, out: &mut ViewOut<'_>) {
        let Some(snapshot) = history.snapshot.as_ref() else {
            return;
        };
        self.synchronise(&snapshot.params);
        let applied = snapshot.params.clone();
        let refusals = self.refusals(&applied);

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
                                if CHOSEN_BY_THE_PICKER.contains(&field.key)
                                    || self.hidden.iter().any(|k| k == field.key)
                                {
                                    continue;
                                }
                                let Some(param) = Param::named(field.key) else {
                                    continue;
                                };
                                // Outlined here; its sentence is in the bar above.
                                let refused = refusals.iter().any(|r| r.key == field.key);
                                self.field_row(ui, field, param, &applied, refused);
                            }
                        });
                });
        }
    }

    /// Takes the worker's values for every field the user has not edited, and the worker's
    /// source into the Input group when it changed (e.g. a sentence chosen in the picker).
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

    /// Follows the worker's source: the Input group shows what runs.
    fn follow_source(&mut self, running: &str) {
        if self.shown_source.as_deref() == Some(running) {
            return;
        }
        let first = self.shown_source.is_none();
        self.shown_source = Some(running.to_string());
        if let Ok(source) = running.parse::<SourceSpec>() {
            // The first source seen is the one this view was built for; keep paths as typed.
            if !first || source.to_string() != self.experiment.source.to_string() {
                self.show_source(&source);
                self.experiment.source = source;
            }
            self.source_error = None;
        }
        self.source_sent = false;
    }

    fn field_row(
        &mut self,
        ui: &mut egui::Ui,
        field: &Field,
        param: &Param,
        applied: &Params,
        refused: bool,
    ) {
        let live = param.live;
        let edited = param.differs(applied, &self.draft);
        let mut text = RichText::new(field.label);
        if refused {
            text = text.strong().color(theme::ERROR);
        } else if edited && !live {
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
                format!(" — valid: {}", param.range_in_words())
            },
        );
        let label = ui
            .horizontal(|ui| {
                badge(ui, live);
                ui.label(text)
            })
            .inner
            .on_hover_text(&tip);
        // What was typed when it is not a number: egui keeps the old value, we say why.
        let bad_text: Cell<Option<String>> = Cell::new(None);
        let good_text = Cell::new(false);
        // Typed text read as the panel reads it; a refused one is remembered for its sentence.
        let remember = |text: &str, read: Option<f64>| {
            match read {
                Some(_) => good_text.set(true),
                None => bad_text.set(Some(text.trim().to_string())),
            }
            read
        };
        let whole = |text: &str| remember(text, read_whole(text));
        let real = |text: &str| remember(text, read_real(text));
        let locked = self.locked.iter().any(|k| k == field.key);
        let editor = ui.add_enabled_ui(!locked, |ui| {
            value_editor(
                ui,
                field.key,
                param.range,
                param.edit(&mut self.draft),
                &real,
                &whole,
            )
        });
        let mut response = editor.inner;
        let drawn = label.rect.union(editor.response.rect);
        crate::ui::regions::record_param(ui.ctx(), field.key, drawn);
        if self.reveal.as_deref() == Some(field.key) {
            ui.scroll_to_rect(drawn, Some(egui::Align::Center));
            self.reveal = None;
        }
        if let Some(text) = bad_text.take() {
            self.typed.insert(field.key, text);
        } else if good_text.get() || response.dragged() || response.changed() {
            self.typed.remove(field.key);
        }
        if refused {
            response = response.highlight();
            ui.painter().rect_stroke(
                response.rect.expand(1.0),
                2.0,
                egui::Stroke::new(1.5, theme::ERROR),
                egui::StrokeKind::Outside,
            );
        }
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
        out: &mut ViewOut<'_>,
    ) {
        let current = snapshot
            .run
            .as_ref()
            .map_or_else(|| self.experiment.source.to_string(), |r| r.source.clone());
        if snapshot.run.is_some() {
            self.follow_source(&current);
        }
        match current.parse::<SourceSpec>() {
            // 64 hex pixels say nothing to a reader: a name and the picture, the spec on hover.
            Ok(SourceSpec::Drawing(pixels)) => {
                ui.horizontal(|ui| {
                    ui.label(crate::ui::views::digits::DRAWING_SEQUENCE_LABEL)
                        .on_hover_text(&current);
                    crate::ui::views::digits::drawing_thumbnail(ui, &pixels, 28.0)
                        .on_hover_text(&current);
                });
            }
            _ => {
                ui.label(format!("Sequence: {current}"));
            }
        }
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
                        .hint_text("bundled:NAME, model:DIR, npy:DIR or synthetic:NxD[xH]")
                        .desired_width(240.0),
                )
                .labelled_by(label.id);
            }
        }
        let spec_text = match self.kind {
            SourceKind::Synthetic => SourceSpec::Synthetic {
                tokens: self.tokens,
                dim: self.dim,
                heads: self.synthetic_heads,
            }
            .to_string(),
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
                    let mut params = if self.draft.validate().is_ok() {
                        self.draft.clone()
                    } else {
                        snapshot.params.clone()
                    };
                    // A synthetic layer of several heads is loaded to be seen whole.
                    if let SourceSpec::Synthetic { heads, .. } = source
                        && heads > 1
                    {
                        params.heads = crate::model::params::Heads::All;
                        params.head = params.head.min(heads - 1);
                    }
                    let experiment = Experiment {
                        params,
                        source: source.clone(),
                        ..self.experiment.clone()
                    };
                    self.source_sent = true;
                    out.worker(Command::LoadExperiment(Box::new(experiment)));
                }
                Err(error) => self.source_error = Some(error.to_string()),
            }
        }
        // The worker's refusal of this field's source is answered here, where it was typed.
        let refused_load = snapshot
            .rejected()
            .filter(|text| self.source_sent && text.starts_with("Not loaded"));
        if let Some(error) = self.source_error.as_deref().or(refused_load) {
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

/// A whole number typed by the user ("16 384", "16_384"), if it is one.
pub(crate) fn read_whole(text: &str) -> Option<f64> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .collect();
    cleaned.parse::<u64>().ok().map(|value| value as f64)
}

/// A finite real number typed by the user ("−0.5" with the minus sign too), if it is one.
pub(crate) fn read_real(text: &str) -> Option<f64> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == '−' { '-' } else { c })
        .collect();
    cleaned
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite())
}

/// The editor of one parameter's value, the same in the panel and in the presentation bar:
/// a drag value (reals shown to four significant digits) or the list of choices. `real` and
/// `whole` read typed text.
pub(crate) fn value_editor(
    ui: &mut egui::Ui,
    key: &str,
    range: Range,
    value: ValueMut<'_>,
    real: &dyn Fn(&str) -> Option<f64>,
    whole: &dyn Fn(&str) -> Option<f64>,
) -> egui::Response {
    match value {
        ValueMut::Choice(choice) => choice_combo(ui, key, choice),
        ValueMut::Count(count) => ui.add(
            egui::DragValue::new(count)
                .speed(count_drag_speed(range))
                .update_while_editing(false)
                .custom_parser(whole),
        ),
        ValueMut::Integer(integer) => ui.add(
            egui::DragValue::new(integer)
                .update_while_editing(false)
                .custom_parser(whole),
        ),
        ValueMut::Real(value) => {
            let speed = (value.abs() * 0.01).max(1e-4);
            ui.add(
                egui::DragValue::new(value)
                    .speed(speed)
                    .update_while_editing(false)
                    .custom_formatter(|v, _| theme::sig(v))
                    .custom_parser(real),
            )
        }
    }
}

fn choice_combo(ui: &mut egui::Ui, id: &str, value: &mut dyn Choice) -> egui::Response {
    let current = value.name();
    // The projection also lists the learned files loaded so far, by file name (full path on
    // hover); choosing one reads it again (issue 27).
    let learned: Vec<(&'static str, String)> =
        if value.names() == crate::model::params::Projection::NAMES {
            crate::model::learned::registered()
        } else {
            Vec::new()
        };
    let short = |name: &str| match name.strip_prefix("learned:") {
        Some(path) => format!("learned: {}", crate::ui::views::learn::file_name(path)),
        None => name.to_string(),
    };
    let response = egui::ComboBox::from_id_salt(id)
        .selected_text(short(current))
        .show_ui(ui, |ui| {
            for &name in value.names() {
                if ui.selectable_label(current == name, name).clicked() {
                    // The name comes from the list itself, so it is always known.
                    _ = value.choose(name);
                }
            }
            for (name, path) in &learned {
                if ui
                    .selectable_label(current == *name, short(name))
                    .on_hover_text(path.as_str())
                    .clicked()
                {
                    // A file changed or removed since is refused by choose; keep the old value.
                    _ = value.choose(name);
                }
            }
        })
        .response;
    match current.strip_prefix("learned:") {
        Some(path) => response.on_hover_text(path),
        None => response,
    }
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
            // Layer and head have their field here, skipped when drawn: the picker owns them.
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
