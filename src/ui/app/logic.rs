//! The per-frame work that is not drawing: keys, the worker's newest update, the question
//! before closing with unsaved changes, finished figure exports and the window title. eframe
//! runs it in [`eframe::App::logic`], before the frame is drawn.

use super::TripartiteApp;
use crate::ui::actions::UserAction;
use crate::ui::files::FileAction;
use crate::ui::views::attention::AttentionView;
use crate::ui::widgets::theme;
use std::time::Duration;

impl TripartiteApp {
    pub(super) fn logic(&mut self, ctx: &egui::Context) {
        let _ = self.context.set(ctx.clone());
        if !self.styled {
            theme::apply(ctx);
            self.styled = true;
        }
        // Escape closes an open drop-down, popup or menu before it does anything else.
        if egui::Popup::is_any_open(ctx)
            && ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Escape))
        {
            egui::Popup::close_all(ctx);
        }
        let typing = ctx.egui_wants_keyboard_input();
        self.matrix_keys(ctx);
        for action in ctx.input_mut(|input| UserAction::pressed(input, typing)) {
            // A lesson step that locks the run controls locks their keys too.
            if self.lesson.locks(crate::data::lesson::Control::RunControls)
                && action.runs_the_simulation()
            {
                continue;
            }
            if let Some(command) = action.command_in(self.history.snapshot.as_ref()) {
                self.handle(ctx, command);
            }
        }
        // A run that ends, starts or is rebuilt changes what the views lay out: one more frame
        // lets the layout settle without waiting for the mouse to move (issue 23 §2).
        let before = self
            .history
            .snapshot
            .as_ref()
            .map(|s| (s.state, s.generation));
        if self.poll() {
            let after = self
                .history
                .snapshot
                .as_ref()
                .map(|s| (s.state, s.generation));
            if after != before {
                ctx.request_repaint();
            }
        }
        self.write_captured_state(ctx);
        self.finish_state_save();
        self.heads.poll();
        self.sweep.poll();
        self.ask_before_closing(ctx);
        self.finish_figure(ctx);
        let title = self.files.document.title(&self.current_experiment());
        if title != self.files.last_title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.files.last_title = title;
        }
    }

    /// While a matrix has the keyboard focus, the arrow keys move the token selection (Up and
    /// Down the query rows, Left and Right the key columns) instead of stepping the simulation;
    /// the keys are the ones `UserAction` declares for a focused matrix.
    fn matrix_keys(&mut self, ctx: &egui::Context) {
        if !AttentionView::has_focus(ctx) {
            return;
        }
        for command in ctx.input_mut(UserAction::matrix_moves) {
            self.handle(ctx, command);
        }
    }

    /// A close with unsaved changes waits for "Discard unsaved changes?".
    fn ask_before_closing(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.viewport().close_requested())
            && !self.files.quitting
            && self.files.document.is_dirty(&self.current_experiment())
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.files
                .confirm
                .ask(self.files.document.name(), FileAction::Quit);
        }
    }

    /// Writes the state the worker captured for File ▸ Save state, off the UI thread (a large
    /// network's state is tens of megabytes); the outcome shows like a figure export's.
    fn write_captured_state(&mut self, ctx: &egui::Context) {
        let Some(captured) = self.history.captured.take() else {
            return;
        };
        let Some(path) = self.state_save.take() else {
            return;
        };
        // The worker holds no trace history: the app's, up to the saved step, goes into the
        // file (as the CLI's does), so that an opened state shows its past on the timeline.
        let generation = self.history.generation();
        let captured = captured.map(|checkpoint| {
            let step = checkpoint.state.step_index();
            let trace = self
                .history
                .samples
                .iter()
                .filter(|s| Some(s.generation) == generation && s.step <= step)
                .map(|s| crate::sim::trace::TraceSample {
                    probes: Vec::new(),
                    ..s.clone()
                })
                .collect();
            std::sync::Arc::new(crate::sim::checkpoint::Checkpoint {
                trace,
                ..(*checkpoint).clone()
            })
        });
        let repaint = ctx.clone();
        self.files.pending_state = Some(crate::jobs::background::Background::start(
            "state save",
            move || {
                let outcome = captured.and_then(|checkpoint| {
                    crate::io::checkpoint::save_state(&path, &checkpoint)
                        .map(|()| {
                            format!(
                                "Saved the run's state at step {} to {}",
                                checkpoint.state.step_index(),
                                path.display()
                            )
                        })
                        .map_err(|e| e.to_string())
                });
                outcome.map_err(|e| format!("State not saved: {e}"))
            },
            move || repaint.request_repaint(),
        ));
    }

    /// Shows the outcome of a state save once the file is written.
    fn finish_state_save(&mut self) {
        use crate::jobs::background::Poll;
        let Some(job) = &self.files.pending_state else {
            return;
        };
        let outcome = match job.poll() {
            Poll::Running => return,
            Poll::Done(outcome) => outcome,
            Poll::Lost => Err("State not saved: internal failure while writing it".to_owned()),
        };
        self.files.pending_state = None;
        self.files.message = Some(match outcome {
            Ok(text) => (text, true),
            Err(text) => (text, false),
        });
    }

    /// Shows the outcome of a figure export once the screenshot has been written.
    fn finish_figure(&mut self, ctx: &egui::Context) {
        let Some(slot) = &self.files.pending_figure else {
            return;
        };
        let outcome = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
        match outcome {
            Some(result) => {
                self.files.pending_figure = None;
                self.files.message = Some(match result {
                    Ok(text) => (text, true),
                    Err(text) => (text, false),
                });
            }
            None => ctx.request_repaint_after(Duration::from_millis(50)),
        }
    }
}
