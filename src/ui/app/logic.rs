//! The per-frame work that is not drawing: keys, the worker's newest update, the question
//! before closing with unsaved changes, finished figure exports and the window title. eframe
//! runs it in [`eframe::App::logic`], before the frame is drawn.

use super::TripartiteApp;
use crate::sim::RunState;
use crate::ui::actions::UserAction;
use crate::ui::command::AppCommand;
use crate::ui::files::FileAction;
use crate::ui::views::attention::AttentionView;
use crate::ui::views::selection::TokenAxis;
use crate::ui::widgets::theme;
use std::time::Duration;

impl TripartiteApp {
    pub(super) fn logic(&mut self, ctx: &egui::Context) {
        let _ = self.context.set(ctx.clone());
        if !self.styled {
            theme::apply(ctx);
            self.styled = true;
        }
        let typing = ctx.egui_wants_keyboard_input();
        let running = self
            .history
            .snapshot
            .as_ref()
            .is_some_and(|s| s.state == RunState::Running);
        self.matrix_keys(ctx);
        for action in ctx.input_mut(|input| UserAction::pressed(input, typing)) {
            // A lesson step that locks the run controls locks their keys too.
            if self.lesson.locks("controls") && action.runs_the_simulation() {
                continue;
            }
            self.handle(ctx, action.command(running));
        }
        self.poll();
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
    /// Down the query rows, Left and Right the key columns) instead of stepping the simulation.
    fn matrix_keys(&mut self, ctx: &egui::Context) {
        if !AttentionView::has_focus(ctx) {
            return;
        }
        let tokens = self
            .history
            .snapshot
            .as_ref()
            .and_then(|s| s.run.as_ref())
            .map_or(0, |r| r.tokens.len());
        let moves: Vec<(TokenAxis, isize)> = ctx.input_mut(|input| {
            let mut moves = Vec::new();
            input.events.retain(|event| {
                let egui::Event::Key {
                    key, pressed: true, ..
                } = event
                else {
                    return true;
                };
                let step = match key {
                    egui::Key::ArrowUp => (TokenAxis::Query, -1),
                    egui::Key::ArrowDown => (TokenAxis::Query, 1),
                    egui::Key::ArrowLeft => (TokenAxis::Key, -1),
                    egui::Key::ArrowRight => (TokenAxis::Key, 1),
                    _ => return true,
                };
                moves.push(step);
                false
            });
            moves
        });
        for (axis, step) in moves {
            let after = self.tokens.moved(axis, step, tokens);
            let before = self.tokens.clone();
            self.handle(ctx, AppCommand::SelectTokens { before, after });
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
