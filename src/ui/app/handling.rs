//! Command handling: the one place where an [`AppCommand`] is carried out, whether it came
//! from a view, the File menu, a key, a dialog's answer or a script.

use super::{TripartiteApp, ViewRects};
use crate::data::experiment::Experiment;
use crate::data::lesson::{SetupAction, Target};
use crate::data::spec::SourceSpec;
use crate::io::export::{csv, json, npy};
use crate::model::schedule::SlotSchedule;
use crate::sim::Command;
use crate::ui::command::{AppCommand, Tab};
use crate::ui::exports;
use crate::ui::files::{DialogKind, ExportKind, FileAction};
use crate::ui::views::lesson::app_tab;
use crate::ui::views::params::ParamsView;
use crate::ui::views::picker::SequencePicker;
use crate::ui::views::selection::Selection;
use crate::ui::views::selection::TokenSelection;
use std::path::PathBuf;
use std::sync::Arc;

impl TripartiteApp {
    /// The experiment asked for on the command line was refused: open the default one (not a
    /// restored session, which the user did not ask for either) and say why, so that the
    /// first screen is a working run beside the refusal rather than a dead end.
    pub fn refused_start(&mut self, refusal: String) {
        let default = Experiment::default();
        if self.base != default {
            self.load(default.clone());
            self.files.document = crate::ui::files::Document::untitled(&default);
        }
        self.welcome.open = false;
        self.files.message = Some((refusal, false));
    }

    /// Carries out one command.
    pub fn handle(&mut self, ctx: &egui::Context, command: AppCommand) {
        if let Some(command) = self.ask_before_branching(command) {
            self.carry_out(ctx, command);
        }
    }

    /// While the views show an earlier time, Run and live parameter edits ask first whether to
    /// branch from that time or to continue from the present; the command then waits.
    fn ask_before_branching(&mut self, command: AppCommand) -> Option<AppCommand> {
        let Some(snapshot) = self
            .history
            .snapshot
            .as_ref()
            .filter(|s| s.timeline.scrubbed)
        else {
            return Some(command);
        };
        let params = match &command {
            AppCommand::Worker(Command::Run) => None,
            AppCommand::EditParams { after, .. }
                if !self.loaded && !snapshot.params.is_structural_change(after) =>
            {
                Some(after.clone())
            }
            _ => return Some(command),
        };
        // The question names each parameter as the panel labels it, with its key.
        let change = params.as_ref().map_or_else(String::new, |after| {
            crate::model::params::changed_params(&snapshot.params, after)
                .iter()
                .map(|key| match crate::ui::views::params::panel_label(key) {
                    Some(label) if label != key => format!("{label} ({key})"),
                    _ => key.clone(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        });
        self.branch_question = Some(crate::ui::views::timeline::BranchQuestion {
            step: snapshot.step,
            time_ms: snapshot.time_ms,
            live_time_ms: snapshot.timeline.live_time_ms,
            params,
            change,
        });
        None
    }

    fn carry_out(&mut self, ctx: &egui::Context, command: AppCommand) {
        self.record_edit(&command);
        match command {
            AppCommand::Worker(command) => self.worker.send(command),
            AppCommand::Branch {
                params,
                run,
                keep_baseline,
            } => {
                self.branch_question = None;
                let before = self.current_experiment();
                if keep_baseline {
                    self.handle_compare(ctx, crate::ui::views::compare::CompareAction::Pin);
                }
                let params = params.map_or_else(|| before.params.clone(), |params| *params);
                // Undo brings back the run before the branch (the worker keeps it).
                if let Some(step) = self
                    .history
                    .snapshot
                    .as_ref()
                    .filter(|s| s.timeline.scrubbed && !before.params.is_structural_change(&params))
                    .map(|s| s.step)
                {
                    self.record_edit(&AppCommand::SwitchBranch {
                        back: false,
                        step,
                        change: crate::model::params::changed_params(&before.params, &params)
                            .join(", "),
                    });
                }
                self.worker.send(Command::Branch(Box::new(params)));
                if run {
                    self.worker.send(Command::Run);
                }
            }
            AppCommand::ContinueFromPresent { params, run } => {
                self.branch_question = None;
                self.worker.send(Command::ShowStep(None));
                if let Some(params) = params {
                    self.worker.send(Command::SetParams(*params));
                }
                if run {
                    self.worker.send(Command::Run);
                }
            }
            AppCommand::DismissBranchQuestion => self.branch_question = None,
            AppCommand::TogglePerQuery => self.per_query.open = !self.per_query.open,
            // Edits drawn against the experiment a load just replaced would carry its values over.
            AppCommand::EditParams { .. } | AppCommand::LoadSequence { .. } if self.loaded => {}
            AppCommand::EditParams { after, .. } => self.worker.send(Command::SetParams(*after)),
            AppCommand::LoadSequence { after, .. } => {
                // The views that asked keep their state; only the loaded setup changes.
                self.base = (*after).clone();
                self.worker.send(Command::LoadExperiment(after));
            }
            AppCommand::File(action) => self.perform(ctx, action, false),
            AppCommand::FileConfirmed(action) => self.perform(ctx, action, true),
            AppCommand::Select { after, .. } => self.select(after),
            AppCommand::ShowTab { after, .. } => self.tab = after,
            AppCommand::ShowParams(shown) => self.show_params = shown,
            // A head of the layer running live opens in it, as a click on its astrocyte does.
            AppCommand::OpenHead { layer, head }
                if self.live_layer().is_some()
                    && self.current_experiment().params.layer == layer =>
            {
                self.handle_layer(
                    ctx,
                    AppCommand::FocusHead {
                        before: None,
                        after: Some(head),
                    },
                );
            }
            AppCommand::OpenHead { layer, head } => {
                let before = self.current_experiment().params;
                let mut params = before.clone();
                params.layer = layer;
                params.head = head;
                // A parameter edit, so that undo covers it.
                self.handle(
                    ctx,
                    AppCommand::EditParams {
                        before: Box::new(before),
                        after: Box::new(params),
                    },
                );
                self.tab = Tab::Live;
            }
            AppCommand::ToggleHelp => self.help.open = !self.help.open,
            // In presentation mode Esc first restores the layout, as F5 does.
            // A maximised tile is restored first, then presentation mode ends.
            AppCommand::Escape if self.layout.maximised.is_some() => self.layout.maximised = None,
            AppCommand::Escape if self.presentation.is_some() => self.toggle_presentation(ctx),
            AppCommand::Escape => {
                self.help.open = false;
                self.welcome.open = false;
                self.select(None);
                self.tokens = Default::default();
            }
            AppCommand::DismissMessage => self.files.message = None,
            AppCommand::History(action) => self.handle_history(ctx, action),
            AppCommand::Compare(action) => self.handle_compare(ctx, action),
            AppCommand::SelectTokens { after, .. } => self.tokens = after,
            AppCommand::SwitchBranch { back, .. } => self.worker.send(if back {
                Command::UndoBranch
            } else {
                Command::RedoBranch
            }),
            AppCommand::MoveTokens { axis, step } => {
                let tokens = self
                    .history
                    .snapshot
                    .as_ref()
                    .and_then(|s| s.run.as_ref())
                    .map_or(0, |r| r.tokens.len());
                let after = self.tokens.moved(axis, step, tokens);
                let before = self.tokens.clone();
                self.handle(ctx, AppCommand::SelectTokens { before, after });
            }
            AppCommand::TogglePresentation => self.toggle_presentation(ctx),
            AppCommand::ShowWelcome(shown) => self.welcome.open = shown,
            AppCommand::StartLesson(index) => {
                self.perform(ctx, FileAction::StartLesson(index), false)
            }
            AppCommand::LessonNext => {
                if self.lesson.can_advance(self.lesson_world())
                    && let Some((_, index, _)) = self.lesson.position()
                {
                    self.open_lesson_step(index + 1, false);
                }
            }
            AppCommand::LessonBack => {
                if let Some((_, index, _)) = self.lesson.position()
                    && index > 0
                {
                    self.open_lesson_step(index - 1, true);
                }
            }
            AppCommand::LeaveLesson => {
                if let Some(shown) = self.lesson.leave() {
                    self.show_params = shown;
                }
            }
            command @ (AppCommand::FocusHead { .. }
            | AppCommand::BackToLayer
            | AppCommand::RunLayerLive { .. }) => self.handle_layer(ctx, command),
        }
    }

    /// Starts `lesson` at its first step.
    fn start_lesson(&mut self, lesson: crate::data::lesson::Lesson) {
        self.lesson.remember_params_shown(self.show_params);
        self.lesson.start(lesson);
        self.open_lesson_step(0, true);
    }

    /// Shows lesson step `index`: loads its experiment (going back, the one it ran in, so that
    /// Back restores it), then runs its setup.
    fn open_lesson_step(&mut self, index: usize, restore: bool) {
        let loads = if restore {
            self.lesson.experiment_for(index)
        } else {
            self.lesson
                .step_at(index)
                .and_then(|s| s.experiment.as_ref())
        }
        .cloned();
        let Some(setup) = self.lesson.step_at(index).map(|s| s.setup.clone()) else {
            return;
        };
        // Beside the lesson panel the views need the width: the parameters show on the steps
        // that point at one.
        self.show_params = self
            .lesson
            .step_at(index)
            .is_some_and(|s| s.names_a_parameter());
        let loaded_after = loads
            .as_ref()
            .map(|_| self.history.snapshot.as_ref().map_or(0, |s| s.generation));
        if let Some(loaded) = &loads {
            let title = self
                .lesson
                .position()
                .map(|(title, _, _)| format!("Lesson: {title}"))
                .unwrap_or_default();
            self.files.document.from_example(&title, &loaded.experiment);
            self.load(loaded.experiment.clone());
        }
        self.lesson.go_to(index, loaded_after);
        self.params
            .reveal(self.lesson.step().and_then(|s| s.first_parameter()));
        // Slots and times of what runs once the commands above are carried out.
        let (params, tokens) = match (&loads, self.history.snapshot.as_ref()) {
            (Some(l), _) => (l.experiment.params.clone(), l.shape.tokens),
            (None, Some(s)) => (
                s.params.clone(),
                s.run.as_ref().map_or(0, |r| r.tokens.len()),
            ),
            (None, None) => return,
        };
        let schedule = SlotSchedule::new(&params, tokens);
        for action in setup {
            match action {
                SetupAction::Run => self.worker.send(Command::Run),
                SetupAction::Pause => self.worker.send(Command::Pause),
                SetupAction::RunToEnd => self.worker.send(Command::RunToEnd),
                SetupAction::RunToMs(ms) => self
                    .worker
                    .send(Command::RunToStep((ms / params.dt).ceil() as u64)),
                SetupAction::RunThrough(slot) => {
                    if let Some(end) = slot.end_step(&schedule) {
                        self.worker.send(Command::RunToStep(end));
                    }
                }
                SetupAction::Select(target) => self.select(Some(match target {
                    Target::Astrocyte => Selection::Astrocyte,
                    Target::Input(k) => Selection::Input(k),
                    Target::Hidden(j) => Selection::Hidden(j),
                    Target::Output(i) => Selection::Output(i),
                    Target::Synapse { output, hidden } => Selection::Synapse { output, hidden },
                })),
                // Lessons count tokens from 1; the linked selection from 0.
                SetupAction::SelectToken(t) => {
                    self.tokens = TokenSelection::query(t.saturating_sub(1));
                }
                SetupAction::ShowTab(tab) => self.tab = app_tab(tab),
            }
        }
    }

    /// Carries out, in order, every command pushed during a frame.
    pub(super) fn handle_all(&mut self, ctx: &egui::Context, commands: Vec<AppCommand>) {
        if !commands.is_empty() {
            // What the commands changed shows in the next frame.
            ctx.request_repaint();
        }
        self.loaded = false;
        for command in commands {
            self.handle(ctx, command);
        }
        self.loaded = false;
    }

    /// Replaces the whole experiment (a file, an example, an import): the views start over.
    /// The new experiment starts from a clean view: nothing selected, the whole graph in
    /// sight, and no message left from the one it replaces.
    fn load(&mut self, experiment: Experiment) {
        self.start_over(&experiment);
        self.worker
            .send(Command::LoadExperiment(Box::new(experiment)));
    }

    /// The views start over for `experiment`, about to be loaded.
    fn start_over(&mut self, experiment: &Experiment) {
        self.base = experiment.clone();
        self.picker = SequencePicker::new(experiment);
        self.params = ParamsView::new(experiment);
        self.select(None);
        self.tokens = Default::default();
        self.graph.reset_view();
        self.forget_edits();
        self.loaded = true;
    }

    fn perform(&mut self, ctx: &egui::Context, action: FileAction, confirmed: bool) {
        let current = self.current_experiment();
        // An example (or a lesson's experiment) is a starting point, not a file: switching to
        // another example or lesson loses nothing saved (issue 25).
        let example_to_example = matches!(
            action,
            FileAction::OpenExample { .. } | FileAction::StartLesson(_) | FileAction::OpenLesson(_)
        ) && self.files.document.is_example();
        // A lesson file is checked before anything is asked: a broken one replaces nothing.
        if let FileAction::OpenLesson(path) = &action
            && !confirmed
            && let Err(e) = crate::io::lesson::load(path)
        {
            self.files.message = Some((e.to_string(), false));
            return;
        }
        if action.discards_changes()
            && !confirmed
            && !example_to_example
            && self.files.document.is_dirty(&current)
        {
            self.files.confirm.ask(self.files.document.name(), action);
            return;
        }
        let report = |app: &mut Self, result: Result<String, String>| {
            app.files.message = Some(match result {
                Ok(text) => (text, true),
                Err(text) => (text, false),
            });
        };
        match action {
            FileAction::Choose(kind) => self.files.dialogs.request(kind),
            FileAction::Save if self.files.document.path().is_none() => {
                self.files.dialogs.request(DialogKind::SaveExperimentAs)
            }
            FileAction::Save => {
                let saved = self
                    .files
                    .document
                    .save(&current)
                    .map(|()| self.files.document.name().to_string());
                self.finish_save(ctx, saved);
            }
            FileAction::SaveAs(path) => {
                let saved = self
                    .files
                    .document
                    .save_as(&path, &current)
                    .map(|()| path.display().to_string());
                self.finish_save(ctx, saved);
            }
            FileAction::Open(path) => match self.files.document.open(&path) {
                Ok(experiment) => {
                    report(self, Ok(format!("Opened {}", path.display())));
                    self.load(experiment);
                }
                Err(e) => report(self, Err(e)),
            },
            FileAction::ShowDescription => {
                let text = self
                    .base
                    .description
                    .clone()
                    .unwrap_or_else(|| "This experiment has no description.".to_string());
                report(self, Ok(text));
            }
            FileAction::OpenDefault => {
                let experiment = Experiment::default();
                let recent = self.files.document.recent().to_vec();
                self.files.document = crate::ui::files::Document::untitled(&experiment);
                self.files.document.set_recent(recent);
                report(
                    self,
                    Ok(crate::ui::views::welcome::DEFAULT_HEAD_LINE.to_string()),
                );
                self.load(experiment);
            }
            FileAction::OpenExample { .. } => match action.preset().map(|p| (p, p.experiment())) {
                Some((preset, Ok(experiment))) => {
                    self.files.document.from_example(preset.title, &experiment);
                    report(self, Ok(experiment.description.clone().unwrap_or_default()));
                    self.load(experiment);
                }
                Some((_, Err(e))) => report(self, Err(e.to_string())),
                None => {}
            },
            FileAction::ImportQkv(dir) => {
                let experiment = Experiment {
                    source: SourceSpec::Npy(dir),
                    text: None,
                    ..current
                };
                self.load(experiment);
            }
            FileAction::OpenModel(dir) => {
                let experiment = Experiment {
                    source: SourceSpec::Model(dir),
                    text: Some(current.text.clone().unwrap_or_else(|| {
                        "The astrocyte wrapped the synapse because it needed calcium.".into()
                    })),
                    ..current
                };
                self.load(experiment);
            }
            FileAction::OpenImage(path) => match image_experiment(&current, path) {
                Ok(after) => {
                    report(self, Ok(format!("Opened the image {}", after.source)));
                    self.digits.reveal();
                    let before = Box::new(current);
                    let after = Box::new(after);
                    self.handle(ctx, AppCommand::LoadSequence { before, after });
                }
                // Checked here, before the views move on, so that nothing changes.
                Err(e) => report(self, Err(format!("{e}; the sequence shown is kept"))),
            },
            FileAction::ShowAuthorsFigure => {
                let before = self.tab;
                self.handle(
                    ctx,
                    AppCommand::ShowTab {
                        before,
                        after: Tab::Sweep,
                    },
                );
                self.authors_figure.show(ctx, &current);
            }
            FileAction::Export(kind, path) => {
                let result = self.export(ctx, kind, &path);
                report(self, result);
            }
            FileAction::SaveState(path) => {
                // The worker captures the state; `logic` writes it when it arrives.
                self.state_save = Some(path);
                self.worker.send(Command::CaptureState);
            }
            FileAction::OpenState(path) => match crate::io::checkpoint::load_state(&path) {
                Ok(checkpoint) => {
                    self.start_over(&checkpoint.experiment);
                    self.worker.send(Command::LoadState(Box::new(checkpoint)));
                    report(self, Ok(format!("Opened the state {}", path.display())));
                }
                Err(error) => report(self, Err(error.to_string())),
            },
            FileAction::OpenLesson(path) => match crate::io::lesson::load(&path) {
                Ok(lesson) => {
                    report(self, Ok(format!("Opened the lesson {}", path.display())));
                    self.start_lesson(lesson);
                }
                // The lesson and the experiment shown stay as they were.
                Err(e) => report(self, Err(e.to_string())),
            },
            FileAction::StartLesson(index) => {
                match crate::io::lesson::bundled().get(index).map(|b| b.lesson()) {
                    Some(Ok(lesson)) => {
                        self.files.message = None;
                        self.start_lesson(lesson);
                    }
                    Some(Err(e)) => report(self, Err(e.to_string())),
                    None => report(
                        self,
                        Err(format!(
                            "there is no bundled lesson {index}; there are {}",
                            crate::io::lesson::bundled().len()
                        )),
                    ),
                }
            }
            FileAction::Quit => {
                self.files.quitting = true;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }

    /// Reports a save (`Ok` holds what was saved) and, after a success, runs the action that
    /// was waiting for it (quit or open after "Save" in the discard question).
    fn finish_save(&mut self, ctx: &egui::Context, saved: Result<String, String>) {
        match saved {
            Ok(name) => {
                self.files.message = Some((format!("Saved {name}"), true));
                if let Some(next) = self.files.after_save.take() {
                    self.perform(ctx, next, true);
                }
            }
            Err(error) => self.files.message = Some((error, false)),
        }
    }

    fn export(
        &mut self,
        ctx: &egui::Context,
        kind: ExportKind,
        path: &std::path::Path,
    ) -> Result<String, String> {
        // Sweep results do not depend on the live run.
        if kind == ExportKind::SweepCsv {
            return self.export_sweep(path);
        }
        let Some(snapshot) = self.history.snapshot.as_ref() else {
            return Err("nothing to export yet: the simulation is still loading".into());
        };
        let Some(run) = snapshot.run.as_ref() else {
            return Err("nothing to export: the simulation failed to build".into());
        };
        let done = |p: &std::path::Path| Ok(format!("Exported {}", p.display()));
        match kind {
            ExportKind::TracesCsv => {
                csv::write_trace(
                    path,
                    self.history.samples.iter(),
                    &run.slots,
                    &run.tokens,
                    &run.normaliser,
                )
                .map_err(|e| e.to_string())?;
                done(path)
            }
            ExportKind::AttentionCsv => {
                csv::write_attention(
                    path,
                    &run.tokens,
                    &run.softmax_attention,
                    &self.history.network_attention,
                )
                .map_err(|e| e.to_string())?;
                done(path)
            }
            ExportKind::AttentionNpy => {
                let written = npy::write_attention(
                    path,
                    run.tokens.len(),
                    &run.softmax_attention,
                    &self.history.network_attention,
                )
                .map_err(|e| e.to_string())?;
                Ok(format!(
                    "Exported {}",
                    written
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
            ExportKind::MetricsJson => {
                let report = json::RunReport::of_snapshot(snapshot, run);
                json::write_report(path, &report).map_err(|e| e.to_string())?;
                done(path)
            }
            ExportKind::SweepCsv => self.export_sweep(path),
            ExportKind::PerQueryCsv => {
                let text = csv::per_query_csv(&run.tokens, &snapshot.per_query);
                crate::io::export::write_bytes(path, text.as_bytes()).map_err(|e| e.to_string())?;
                done(path)
            }
            ExportKind::FigurePng => {
                let slot = Arc::new(std::sync::Mutex::new(None));
                self.files.pending_figure = Some(slot.clone());
                let target = path.to_path_buf();
                let rects = self.rects;
                let ppp = ctx.pixels_per_point();
                ctx.request_screenshot(move |image| {
                    let outcome = write_figures(&target, &image, rects, ppp);
                    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
                });
                ctx.request_repaint();
                Ok(format!("Capturing the window into {} …", path.display()))
            }
        }
    }
}

/// The whole window at `path`, and each view alone beside it (`…_graph.png`, `…_traces.png`,
/// `…_attention.png`).
/// `current` with its sequence replaced by the image at `path`, read by the ViT folder open
/// now (or the bundled digits ViT), its head brought inside that model; the error is the
/// sentence saying why the model cannot read the file.
fn image_experiment(current: &Experiment, path: PathBuf) -> Result<Experiment, String> {
    use crate::data::bert::Family;
    use crate::data::images::{folder_family, image_preview};
    let model = match &current.source {
        SourceSpec::Image { model, .. } => model.clone(),
        SourceSpec::Model(dir) if matches!(folder_family(dir), Ok(Family::Vit)) => {
            Some(dir.clone())
        }
        _ => None,
    };
    let source = SourceSpec::Image { path, model };
    let preview = image_preview(&source)
        .map_err(|e| e.to_string())?
        .expect("an image source has a preview");
    let mut params = current.params.clone();
    if params.layer >= preview.num_layers || params.head >= preview.num_heads {
        params.layer = preview.num_layers / 2;
        params.head = 0;
    }
    Ok(Experiment {
        params,
        source,
        text: None,
        ..current.clone()
    })
}

fn write_figures(
    path: &std::path::Path,
    image: &egui::ColorImage,
    rects: ViewRects,
    pixels_per_point: f32,
) -> Result<String, String> {
    let stem = path.with_extension("");
    exports::write_figure(path, image).map_err(|e| e.to_string())?;
    let mut written = vec![path.display().to_string()];
    for (name, rect) in [
        ("graph", rects.graph),
        ("traces", rects.traces),
        ("attention", rects.attention),
    ] {
        if let Some(rect) = rect {
            let view = PathBuf::from(format!("{}_{name}.png", stem.display()));
            exports::write_figure(
                &view,
                &exports::crop_and_scale(image, rect, pixels_per_point, 1.0),
            )
            .map_err(|e| e.to_string())?;
            written.push(view.display().to_string());
        }
    }
    Ok(format!("Exported {}", written.join(", ")))
}

impl TripartiteApp {
    /// The Sweep tab's results in `tripartite sweep`'s columns, through the one exporter.
    fn export_sweep(&self, path: &std::path::Path) -> Result<String, String> {
        let rows = self.sweep.export_rows();
        if rows.is_empty() {
            return Err("nothing to export: run a sweep first (Sweep tab)".into());
        }
        csv::write_sweep(path, &rows).map_err(|e| e.to_string())?;
        Ok(format!("Exported {}", path.display()))
    }
}
