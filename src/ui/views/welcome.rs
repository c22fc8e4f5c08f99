//! The welcome panel: the first screen of a first launch (no saved session). It says in two
//! sentences what the hypothesis is, and offers four ways in: the lesson, a working example
//! already running, today's default real head (with one measured line on why it falls short),
//! or an experiment file. Help ▸ Welcome reopens it.

use crate::sim::Command;
use crate::ui::command::AppCommand;
use crate::ui::files::{DialogKind, FileAction};
use crate::ui::widgets::theme;

/// The example that shows the mechanism working.
pub const WORKING_EXAMPLE: &str = "calcium-tracks-normaliser";

/// What the hypothesis is, in two sentences.
pub const HYPOTHESIS: &str = "Kozachkov, Kastanenka and Krotov (PNAS 2023) propose that \
     neurons and one astrocyte can compute a transformer's self-attention: the neurons store \
     each key and value in Hebbian synapses, and the astrocyte's calcium adds up the softmax's \
     normaliser Z_t. Dividing by that calcium turns the network's raw responses into attention \
     weights, so A_net should match the transformer's A_soft.";

/// Why today's default head (MiniLM, m = 256) falls short; every figure is measured and pinned
/// by `tests/gui_linked.rs`.
pub const DEFAULT_HEAD_LINE: &str = "A real MiniLM head at m = 256 random features: its \
     queries and keys are large, so 256 features estimate exp(q·k) poorly; the calcium misses \
     Z_t by 95 % on average and attn_tv is 0.39 (poor). Try more hidden neurons (m) or the \
     hyperbolic map.";

/// The four ways in, as the buttons read.
pub const TAKE_THE_LESSON: &str = "Take the lesson";
pub const WATCH_IT_WORK: &str = "Watch it work";
pub const EXPLORE_A_HEAD: &str = "Explore a real transformer head";
pub const OPEN_AN_EXPERIMENT: &str = "Open an experiment…";

/// The welcome panel's state.
#[derive(Default)]
pub struct WelcomePanel {
    pub open: bool,
}

impl WelcomePanel {
    /// Draws the panel over the central area when open, and pushes what was chosen.
    pub fn ui(&mut self, ctx: &egui::Context, out: &mut Vec<AppCommand>) {
        if !self.open {
            return;
        }
        let screen = ctx.content_rect();
        let width = (screen.width() - 60.0).clamp(260.0, 620.0);
        // A modal over the Live tab: the views show dimmed behind it, and a click outside or
        // Esc dismisses it (the experiment already loaded stays).
        let response = egui::Modal::new(egui::Id::unique("welcome")).show(ctx, |ui| {
            ui.set_width(width);
            let room = (screen.height() - 80.0).max(200.0);
            egui::ScrollArea::vertical()
                .max_height(room)
                .min_scrolled_height(room)
                .show(ui, |ui| self.body(ui, out));
        });
        if response.should_close() && !out.iter().any(|c| matches!(c, AppCommand::ShowWelcome(_))) {
            out.push(AppCommand::ShowWelcome(false));
        }
    }

    fn body(&self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        ui.horizontal(|ui| {
            ui.label(
                egui::RichText::new("Welcome: can an astrocyte compute attention?")
                    .size(22.0)
                    .strong(),
            );
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Min), |ui| {
                if ui
                    .small_button("×")
                    .on_hover_text("Close (Help > Welcome brings it back)")
                    .clicked()
                {
                    out.push(AppCommand::ShowWelcome(false));
                }
            });
        });
        ui.add_space(4.0);
        ui.add(egui::Label::new(egui::RichText::new(HYPOTHESIS).size(15.0)).wrap());
        ui.add_space(10.0);
        let close = AppCommand::ShowWelcome(false);
        // Each way in is one row, the button beside what it does, so that all four are in
        // sight without scrolling at 1280×800 (stacked, the fourth fell below the fold).
        let button_width = (ui.available_width() * 0.4).clamp(140.0, 250.0);
        let choice = |ui: &mut egui::Ui, label: &str, what: &str| {
            let clicked = ui
                .horizontal(|ui| {
                    let clicked = ui
                        .add(
                            egui::Button::new(egui::RichText::new(label).size(16.0).strong())
                                .wrap()
                                .min_size(egui::vec2(button_width, 34.0)),
                        )
                        .clicked();
                    ui.add(
                        egui::Label::new(
                            egui::RichText::new(what).size(13.5).color(theme::CAPTION),
                        )
                        .wrap(),
                    );
                    clicked
                })
                .inner;
            ui.add_space(6.0);
            clicked
        };
        if choice(
            ui,
            TAKE_THE_LESSON,
            "How an astrocyte computes softmax, step by step on the live simulation.",
        ) {
            out.extend([close.clone(), AppCommand::StartLesson(0)]);
        }
        if choice(
            ui,
            WATCH_IT_WORK,
            "The example “The astrocyte tracks the normaliser”, already running: watch the \
             calcium (orange) settle on Z_t (dashed) in each read slot.",
        ) {
            out.extend([
                close.clone(),
                AppCommand::File(FileAction::OpenExample {
                    name: WORKING_EXAMPLE,
                }),
                AppCommand::Worker(Command::Run),
            ]);
        }
        if choice(ui, EXPLORE_A_HEAD, DEFAULT_HEAD_LINE) {
            out.extend([close.clone(), AppCommand::File(FileAction::OpenDefault)]);
        }
        if choice(
            ui,
            OPEN_AN_EXPERIMENT,
            "An experiment file (.toml): parameters plus sequence.",
        ) {
            out.extend([
                close,
                AppCommand::File(FileAction::Choose(DialogKind::OpenExperiment)),
            ]);
        }
        theme::caption(
            ui,
            "Close this panel to keep the current experiment; Help > Welcome brings it back.",
        );
    }
}
