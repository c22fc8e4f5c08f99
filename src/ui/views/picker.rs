//! The sequence picker: bundled MiniLM sentences, a model folder with live text, and the
//! layer and head to look at.

use crate::data::experiment::Experiment;
use crate::data::real::bundle;
use crate::data::spec::SourceSpec;
use crate::model::params::Heads;
use crate::sim::batch::HeadGrids;
use crate::sim::{Command, RunHistory};
use crate::ui::command::AppCommand;
use crate::ui::files::{DialogKind, FileAction};
use crate::ui::views::out::ViewOut;
use egui::RichText;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Typing pauses this long before the text is re-encoded.
const RETYPE_DELAY: Duration = Duration::from_millis(350);

/// Longer bundled texts (the authors' figure's passage) show their beginning in the list.
const SHORT_TEXT: usize = 72;

/// `text`, cut after [`SHORT_TEXT`] characters with an ellipsis.
fn short_text(text: &str) -> String {
    match text.char_indices().nth(SHORT_TEXT) {
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
        None => text.to_owned(),
    }
}

/// Picks the sequence and the head: sequence changes and parameter edits, and the model
/// folder through the app's file dialogs (native, or a typed path where there is none).
pub struct SequencePicker {
    /// The model folder chosen, if any.
    model_dir: Option<PathBuf>,
    /// Text typed for the model folder.
    text: String,
    /// When the text last changed (for the re-encode delay).
    edited: Option<Instant>,
    /// Typed folder path, when no dialog is wanted or available.
    typed_dir: String,
    /// Layers and heads of the current source, looked up off the UI thread.
    grids: HeadGrids,
}

impl SequencePicker {
    pub fn new(experiment: &Experiment) -> Self {
        let model_dir = match &experiment.source {
            SourceSpec::Model(dir) => Some(dir.clone()),
            _ => None,
        };
        SequencePicker {
            typed_dir: model_dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            model_dir,
            text: experiment.text.clone().unwrap_or_else(|| {
                "The astrocyte wrapped the synapse because it needed calcium.".into()
            }),
            edited: None,
            grids: HeadGrids::default(),
        }
    }

    fn load_model_text(&self, history: &RunHistory, out: &mut ViewOut<'_>) {
        let Some(dir) = &self.model_dir else { return };
        let mut experiment = Experiment {
            source: SourceSpec::Model(dir.clone()),
            text: Some(self.text.clone()),
            ..Experiment::default()
        };
        if let Some(snapshot) = &history.snapshot {
            experiment.params = snapshot.params.clone();
        }
        out.worker(Command::LoadExperiment(Box::new(experiment)));
    }

    /// Draws the picker. `history` tells the current source and parameters.
    pub fn ui(&mut self, ui: &mut egui::Ui, history: &RunHistory, out: &mut ViewOut<'_>) {
        let Some(snapshot) = history.snapshot.as_ref() else {
            ui.label("Loading…");
            return;
        };
        let source = snapshot
            .run
            .as_ref()
            .map(|r| r.source.clone())
            .unwrap_or_default();
        let grid = source.parse::<SourceSpec>().ok().and_then(|spec| {
            let ctx = ui.ctx().clone();
            let grid = self.grids.get(&spec, move || ctx.request_repaint());
            grid.and_then(|g| g.ok().flatten())
        });
        // Bundled sentences.
        if let Ok(bundle) = bundle() {
            let current = source.strip_prefix("bundled:").unwrap_or("");
            let shown = bundle
                .find(current)
                .map(|s| short_text(&s.text))
                .unwrap_or_else(|| "choose a sentence…".into());
            let label = ui.label("Sentence (MiniLM)");
            egui::ComboBox::from_id_salt("bundled sentence")
                .width(ui.available_width().min(260.0))
                .selected_text(shown)
                .show_ui(ui, |ui| {
                    for sentence in &bundle.sentences {
                        let picked = ui
                            .selectable_label(current == sentence.name, short_text(&sentence.text))
                            .on_hover_text(format!(
                                "{}{} · default head: layer {}, head {} ({})",
                                if sentence.text.chars().count() > SHORT_TEXT {
                                    format!("{}\n\n", sentence.text)
                                } else {
                                    String::new()
                                },
                                sentence.name,
                                sentence.default_layer,
                                sentence.default_head,
                                sentence.default_reason
                            ));
                        if picked.clicked() {
                            let mut params = snapshot.params.clone();
                            params.layer = sentence.default_layer;
                            params.head = sentence.default_head;
                            out.worker(Command::LoadExperiment(Box::new(Experiment {
                                params,
                                source: SourceSpec::Bundled(sentence.name.clone()),
                                text: None,
                                description: None,
                            })));
                        }
                    }
                })
                .response
                .labelled_by(label.id)
                .on_hover_text("Real attention heads of all-MiniLM-L6-v2 on a teaching sentence. Picking one jumps to its most striking head.");
        }

        // Layer and head.
        if let Some((layers, heads)) = grid {
            ui.horizontal(|ui| {
                let mut params = snapshot.params.clone();
                let label = ui.label("layer");
                let layer = egui::ComboBox::from_id_salt("layer picker")
                    .width(48.0)
                    .selected_text(params.layer.to_string())
                    .show_ui(ui, |ui| {
                        for l in 0..layers {
                            ui.selectable_value(&mut params.layer, l, l.to_string());
                        }
                    });
                layer
                    .response
                    .labelled_by(label.id)
                    .on_hover_text(format!("Transformer layer, 0..{}", layers - 1));
                let label = ui.label("head");
                let head = egui::ComboBox::from_id_salt("head picker")
                    .width(48.0)
                    .selected_text(params.head.to_string())
                    .show_ui(ui, |ui| {
                        for h in 0..heads {
                            ui.selectable_value(&mut params.head, h, h.to_string());
                        }
                    });
                head.response.labelled_by(label.id).on_hover_text(format!(
                    "Attention head, 0..{}. Each head is its own astrocyte.",
                    heads - 1
                ));
                let mut all = params.heads == Heads::All;
                if ui
                    .checkbox(&mut all, "all heads live")
                    .on_hover_text(format!(
                        "heads = all: simulate the {heads} heads of layer {} side by side, one \
                         astrocyte each, and compare the layer's output with the transformer's \
                         (rebuilds from t = 0)",
                        params.layer
                    ))
                    .changed()
                {
                    params.heads = if all { Heads::All } else { Heads::One };
                }
                if params != snapshot.params {
                    out.worker(Command::SetParams(params));
                }
            });
        }

        // A model folder with live text.
        ui.add_space(4.0);
        if ui
            .button("Open model folder…")
            .on_hover_text(
                "A HuggingFace BERT-family folder: config.json, model.safetensors, tokenizer.json",
            )
            .clicked()
        {
            // The app's dialogs: the same as File ▸ Open model folder, with the typed-path
            // window where the desktop has no native dialog.
            out.push(AppCommand::File(FileAction::Choose(
                DialogKind::OpenModelFolder,
            )));
        }
        ui.horizontal(|ui| {
            let label = ui.label("or path");
            let field = ui
                .add(
                    egui::TextEdit::singleline(&mut self.typed_dir)
                        .desired_width(170.0)
                        .hint_text("models/…/model"),
                )
                .labelled_by(label.id);
            if field.lost_focus()
                && ui.input(|i| i.key_pressed(egui::Key::Enter))
                && !self.typed_dir.trim().is_empty()
            {
                self.model_dir = Some(PathBuf::from(self.typed_dir.trim()));
                self.load_model_text(history, out);
            }
        });
        if self.model_dir.is_some() {
            let label = ui.label(RichText::new("Text (re-encodes as you type)").small());
            let edit = ui
                .add(
                    egui::TextEdit::multiline(&mut self.text)
                        .desired_rows(2)
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(label.id);
            if edit.changed() {
                self.edited = Some(Instant::now());
            }
            if let Some(at) = self.edited {
                let waited = at.elapsed();
                if waited >= RETYPE_DELAY {
                    self.edited = None;
                    self.load_model_text(history, out);
                } else {
                    ui.ctx().request_repaint_after(RETYPE_DELAY - waited);
                }
            }
        }
    }
}
