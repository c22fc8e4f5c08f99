//! The frame layout: the control bar, the status bar, the parameter panel and the central
//! page. Every view pushes what the user asked for into one list of [`AppCommand`]s, carried
//! out once the frame is drawn.

use super::TripartiteApp;
use crate::ui::actions::UserAction;
use crate::ui::command::{AppCommand, Tab};
use crate::ui::files::{DiscardDecision, FileAction};
use crate::ui::views::attention::AttentionView;
use crate::ui::views::controls::phase_text;
use crate::ui::views::sweep::CalciumSamples;
use crate::ui::widgets::layout::MIN_LIVE_SIZE;
use crate::ui::widgets::theme;

/// Height of each view when the Live tab stacks them (points).
/// Height of the timeline under the Live tab (px).
const TIMELINE_HEIGHT: f32 = 26.0;
const STACKED_VIEW_HEIGHT: f32 = 380.0;
const STACKED_ATTENTION_HEIGHT: f32 = 420.0;

/// Beside a lesson, or on a projector (the scaled window is 853 points wide at 1280 px, where
/// the larger type reads as well in less room), the views a step points at must all be in sight:
/// graph and traces side by side above the matrices (2 + 1) down to this central area, and
/// only below it one under the other with a scroll bar.
const LESSON_MIN_LIVE_SIZE: egui::Vec2 = egui::vec2(470.0, 360.0);

/// Width of the lesson panel (points): wide enough for its text at a projector's size, narrow
/// enough to leave the Live views side by side at 1280×800 with the parameters shown.
const LESSON_WIDTH: f32 = 300.0;
const LESSON_MIN_WIDTH: f32 = 230.0;
const PRESENTED_LESSON_WIDTH: f32 = 245.0;

/// The tabs of the central area, with their hover text.
const TABS: [(Tab, &str, &str); 4] = [
    (
        Tab::Live,
        "Live",
        "The running head: graph, calcium and attention",
    ),
    (
        Tab::AllHeads,
        "All heads",
        "Every head of the layer, each its own astrocyte",
    ),
    (
        Tab::Sweep,
        "Sweep",
        "Calcium against Z_t, and the error against m",
    ),
    (
        Tab::Compare,
        "Compare",
        "This run against a pinned baseline, and twin runs with one thing changed",
    ),
];

impl TripartiteApp {
    /// Draws the whole window into `ui`, then carries out what the user asked for.
    pub(super) fn frame(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        let mut out = Vec::new();
        if self.presentation.is_some() {
            // Menus, parameters and the status bar give way; other panels (a lesson) stay.
            egui::Panel::top("presentation").show(ui, |ui| self.presentation_bar(ui, &mut out));
        } else {
            egui::Panel::top("controls").show(ui, |ui| self.control_bar(ui, &mut out));
            egui::Panel::bottom("status").show(ui, |ui| {
                self.status.ui(ui, &self.history, &self.stats);
            });
        }
        if self.lesson.is_open() {
            let mut lesson = std::mem::take(&mut self.lesson);
            let world = self.lesson_world();
            // On a projector the scaled window is 853 points wide: the lesson keeps less of it
            // (its own remembered width, so leaving presentation restores the other).
            let (id, width) = if self.presentation.is_some() {
                ("lesson presented", PRESENTED_LESSON_WIDTH)
            } else {
                ("lesson", LESSON_WIDTH)
            };
            egui::Panel::right(id)
                .resizable(true)
                .default_size(width)
                .min_size(LESSON_MIN_WIDTH.min(width))
                .show(ui, |ui| lesson.ui(ui, world, &mut out));
            self.lesson = lesson;
        }
        if self.show_params && !self.lesson.hides("parameters") {
            // In a narrow (or zoomed) window the panel gives way to the views.
            let room = ui.available_width();
            egui::Panel::left("parameters")
                .resizable(true)
                .default_size(290.0)
                .min_size(220.0f32.min(room * 0.35))
                .max_size((room * 0.4).max(220.0f32.min(room * 0.35)))
                .show(ui, |ui| self.parameter_panel(ui, &mut out));
        }
        egui::CentralPanel::default().show(ui, |ui| match self.tab {
            Tab::Live => self.live_page(ui, &mut out),
            Tab::AllHeads => {
                self.layer_banner(ui, &mut out);
                let experiment = self.current_experiment();
                self.heads.ui(ui, &experiment, &self.tokens, &mut out);
            }
            Tab::Sweep => {
                let experiment = self.current_experiment();
                egui::CollapsingHeader::new(
                    egui::RichText::new("The authors' figure: c_t at m = 10³ and 10⁵ against Z_t")
                        .strong(),
                )
                .default_open(false)
                .open(self.authors_figure.take_open_request().then_some(true))
                .show(ui, |ui| self.authors_figure.ui(ui, &experiment));
                let samples = CalciumSamples::from_history(&self.history);
                self.sweep.ui(ui, &experiment, &samples, &mut out);
            }
            Tab::Compare => self.compare_page(ui, &mut out),
        });
        self.help.ui(&ctx);
        self.per_query
            .window(&ctx, self.history.snapshot.as_ref(), &self.tokens, &mut out);
        if let Some(question) = &self.branch_question {
            let dynamic = self
                .history
                .snapshot
                .as_ref()
                .and_then(|s| s.run.as_ref())
                .is_some_and(|run| run.dynamic);
            if let Some(answer) = question.ui(&ctx, dynamic) {
                out.extend(answer);
            }
        }
        self.history_window(&ctx, &mut out);
        if self.tab == Tab::Live {
            self.welcome.ui(&ctx, &mut out);
        }
        self.lesson.paint_highlights(&ctx);
        self.file_windows(&ctx, &mut out);
        self.handle_all(&ctx, out);
    }

    /// The menu, title, phase, run controls, tabs and messages across the top.
    fn control_bar(&mut self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        ui.add_space(4.0);
        // Wrapped, so that a zoomed or narrow window moves the phase to a second line rather
        // than clipping it at the right edge.
        ui.horizontal_wrapped(|ui| {
            if let Some(action) = self.files.menu.ui(ui, &self.files.document) {
                out.push(AppCommand::File(action));
            }
            self.edit_menu(ui, out);
            self.view_and_help_menus(ui, out);
            ui.separator();
            ui.label(
                egui::RichText::new("Neurons + astrocyte ≈ self-attention")
                    .size(21.0)
                    .strong(),
            )
            .on_hover_text("Kozachkov, Kastanenka & Krotov, PNAS 2023");
            ui.add_space(16.0);
            // Whole, on the next line when it does not fit beside the title.
            ui.add(
                egui::Label::new(
                    egui::RichText::new(phase_text(self.history.snapshot.as_ref()))
                        .size(19.0)
                        .strong()
                        .color(egui::Color32::from_rgb(0x9A, 0x3B, 0x00)),
                )
                .extend(),
            );
            self.run_hint(ui);
        });
        ui.horizontal_wrapped(|ui| {
            // A child ui would change how the row wraps: only a locking lesson step gets one.
            if self.lesson.hides("controls") {
            } else if self.lesson.locks("controls") {
                ui.add_enabled_ui(false, |ui| self.controls.ui(ui, &self.history, out));
            } else {
                self.controls.ui(ui, &self.history, out);
            }
            ui.separator();
            for (tab, label, tip) in TABS {
                if ui
                    .selectable_label(self.tab == tab, label)
                    .on_hover_text(tip)
                    .clicked()
                    && self.tab != tab
                {
                    out.push(AppCommand::ShowTab {
                        before: self.tab,
                        after: tab,
                    });
                }
            }
            ui.separator();
            // A toggle next to the tabs rather than pinned to the right edge, where it
            // collided with them in narrow windows.
            let mut shown = self.show_params;
            if ui
                .toggle_value(&mut shown, "Parameters")
                .on_hover_text(
                    "Show or hide the parameter panel (hide it to give the views the whole \
                     width, e.g. on a projector)",
                )
                .clicked()
            {
                out.push(AppCommand::ShowParams(shown));
            }
        });
        if let Some(failure) = self.history.snapshot.as_ref().and_then(|s| s.failure()) {
            ui.label(
                egui::RichText::new(format!("Error: {failure}"))
                    .color(theme::ERROR)
                    .size(16.0)
                    .strong(),
            );
        }
        // A figure capture must show the views, not the notice that it is being taken.
        let message = self
            .files
            .message
            .as_ref()
            .filter(|_| self.files.pending_figure.is_none());
        if let Some((text, ok)) = message {
            let color = if *ok { theme::OK } else { theme::ERROR };
            ui.horizontal(|ui| {
                // Leave room for the dismiss button when the message wraps.
                let room = (ui.available_width() - 32.0).max(100.0);
                ui.scope(|ui| {
                    ui.set_max_width(room);
                    ui.add(
                        egui::Label::new(egui::RichText::new(text.as_str()).color(color)).wrap(),
                    );
                });
                if ui
                    .small_button("×")
                    .on_hover_text("Dismiss this message")
                    .clicked()
                {
                    out.push(AppCommand::DismissMessage);
                }
            });
        }
        ui.add_space(2.0);
    }

    /// View (presentation, parameters) and Help (shortcuts, welcome), beside the File menu.
    fn view_and_help_menus(&mut self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        let item = |ui: &mut egui::Ui, action: UserAction| {
            let mut button = egui::Button::new(action.label());
            if let Some(shortcut) = action.shortcut() {
                button = button.shortcut_text(ui.ctx().format_shortcut(&shortcut));
            }
            ui.add(button).on_hover_text(action.tooltip()).clicked()
        };
        ui.menu_button("View", |ui| {
            if item(ui, UserAction::Presentation) {
                out.push(AppCommand::TogglePresentation);
            }
            let mut shown = self.show_params;
            if ui.checkbox(&mut shown, "Parameters").clicked() {
                out.push(AppCommand::ShowParams(shown));
            }
            let mut per_query = self.per_query.open;
            if ui
                .checkbox(&mut per_query, UserAction::PerQuery.label())
                .on_hover_text(UserAction::PerQuery.tooltip())
                .clicked()
            {
                out.push(AppCommand::TogglePerQuery);
            }
        });
        ui.menu_button("Help", |ui| {
            if item(ui, UserAction::Welcome) {
                out.push(UserAction::Welcome.command(false));
            }
            if item(ui, UserAction::ToggleHelp) {
                out.push(AppCommand::ToggleHelp);
            }
        });
    }

    /// At t = 0 and paused, one line on what Run will show (nothing starts silent).
    fn run_hint(&self, ui: &mut egui::Ui) {
        let Some(snapshot) = self.history.snapshot.as_ref() else {
            return;
        };
        let at_start = snapshot.step == 0 && snapshot.state == crate::sim::RunState::Paused;
        if !at_start || snapshot.run.is_none() {
            return;
        }
        let dynamic = snapshot.run.as_ref().is_some_and(|r| r.dynamic);
        let hint = if dynamic {
            "Press Run (Space): keys are written first, then each query is read while the \
             calcium (orange) rises toward Z_t (dashed)."
        } else {
            "Press Run (Space): the rows of A_net are read one by one."
        };
        ui.add(egui::Label::new(egui::RichText::new(hint).size(14.0).color(theme::CAPTION)).wrap());
    }

    /// The sequence picker and the parameters, on the left.
    fn parameter_panel(&mut self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        // The views' parameter and sequence changes become edits measured from these.
        let current = self.current_experiment();
        let mut worker = crate::ui::views::out::ViewOut::new(out, &current.params, &self.base);
        // Pending changes, Apply and every error stay in sight above the scrolling fields.
        self.params.bar(ui, &self.history, &mut worker);
        ui.separator();
        let (locked, hidden) = self.lesson.restricted_params();
        self.params.restrict(locked, hidden);
        if self.lesson.locks("parameters") {
            ui.disable();
        }
        egui::ScrollArea::vertical().show(ui, |ui| {
            let mut picker = |ui: &mut egui::Ui| {
                egui::CollapsingHeader::new(egui::RichText::new("Real transformer input").strong())
                    .default_open(true)
                    .show(ui, |ui| {
                        self.picker.ui(ui, &self.history, &mut worker);
                    });
            };
            if self.lesson.hides("picker") {
            } else if self.lesson.locks("picker") {
                ui.add_enabled_ui(false, picker);
            } else {
                picker(ui);
            }
            self.params.ui(ui, &self.history, &mut worker);
            egui::CollapsingHeader::new(egui::RichText::new("Images: the digits ViT").strong())
                .default_open(false)
                .open(self.digits.wants_open().then_some(true))
                .show(ui, |ui| {
                    self.digits.ui(ui, &self.history, &mut worker);
                });
        });
    }

    /// Graph and traces above, the attention matrices below; the splitters move.
    fn live_page(&mut self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        let compact = self.presentation.is_some();
        self.graph.compact = compact;
        self.traces.compact = compact;
        self.attention.compact = compact;
        // In a lesson the step's text says what a poor run means; the banner would push the
        // views the step points at below the window.
        if !self.lesson.is_open() {
            self.attention.banner(ui, &self.history);
        }
        // The views above, the timeline across the bottom of the page under all three.
        let page = ui.available_rect_before_wrap();
        // On a projector the views need every point; the timeline's keys still work.
        let timeline_height = if self.presentation.is_some() {
            0.0
        } else {
            TIMELINE_HEIGHT
        };
        let split = page.bottom() - timeline_height;
        let gap = if timeline_height > 0.0 { 4.0 } else { 0.0 };
        let area = egui::Rect::from_min_max(page.min, egui::pos2(page.right(), split - gap));
        let timeline = egui::Rect::from_min_max(egui::pos2(page.left(), split), page.max);
        let min = if self.lesson.is_open() || self.presentation.is_some() {
            LESSON_MIN_LIVE_SIZE
        } else {
            MIN_LIVE_SIZE
        };
        ui.scope_builder(egui::UiBuilder::new().max_rect(area), |ui| {
            if area.width() >= min.x && area.height() >= min.y {
                self.live_views(ui, area, out);
            } else {
                // Too small for three views side by side (a zoomed or small window): one under
                // the other at full width, each at a readable height, and the page scrolls.
                egui::ScrollArea::vertical()
                    .auto_shrink([false, false])
                    .show(ui, |ui| self.stacked_views(ui, area, out));
            }
        });
        if timeline_height > 0.0 {
            ui.scope_builder(egui::UiBuilder::new().max_rect(timeline), |ui| {
                self.timeline.ui(ui, &self.history, out);
            });
        }
    }

    /// Graph, traces and attention one under the other, for a small central area.
    fn stacked_views(&mut self, ui: &mut egui::Ui, area: egui::Rect, out: &mut Vec<AppCommand>) {
        let width = ui.available_width();
        let height = area.height().max(STACKED_VIEW_HEIGHT);
        let place = |ui: &mut egui::Ui, height: f32| {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(width, height), egui::Sense::hover());
            ui.separator();
            rect
        };
        let graph = place(ui, height);
        let traces = place(ui, height);
        // A narrow view wraps the three matrices onto rows: give it the height for them.
        let attention = place(
            ui,
            height
                .max(STACKED_ATTENTION_HEIGHT)
                .max(AttentionView::stacked_height(width)),
        );
        let region = |ui: &mut egui::Ui, rect: egui::Rect, add: &mut dyn FnMut(&mut egui::Ui)| {
            ui.scope_builder(egui::UiBuilder::new().max_rect(rect), |ui| {
                ui.set_clip_rect(rect.intersect(ui.clip_rect()));
                add(ui);
            });
        };
        region(ui, graph, &mut |ui| self.graph_region(ui, out));
        region(ui, traces, &mut |ui| self.traces_region(ui, out));
        region(ui, attention, &mut |ui| self.attention_region(ui, out));
        self.rects = super::ViewRects {
            graph: Some(graph),
            attention: Some(attention),
            traces: Some(traces),
        };
    }

    /// The three views in `area`.
    fn live_views(&mut self, ui: &mut egui::Ui, area: egui::Rect, out: &mut Vec<AppCommand>) {
        let rects = self.layout.ui(ui, area);
        let region = |ui: &mut egui::Ui, rect: egui::Rect, add: &mut dyn FnMut(&mut egui::Ui)| {
            ui.scope_builder(egui::UiBuilder::new().max_rect(rect), |ui| {
                ui.set_clip_rect(rect.intersect(ui.clip_rect()));
                add(ui);
            });
        };
        region(ui, rects.graph, &mut |ui| self.graph_region(ui, out));
        region(ui, rects.traces, &mut |ui| self.traces_region(ui, out));
        region(ui, rects.attention, &mut |ui| {
            self.attention_region(ui, out)
        });
        let [graph, traces, attention] = rects.padded();
        self.rects = super::ViewRects {
            graph: Some(graph),
            attention: Some(attention),
            traces: Some(traces),
        };
    }

    /// The file dialogs and the unsaved-changes question, with their answers as commands.
    fn file_windows(&mut self, ctx: &egui::Context, out: &mut Vec<AppCommand>) {
        self.files.dialogs.ui(ctx);
        while let Some((kind, path)) = self.files.dialogs.poll() {
            out.extend(FileAction::chosen(kind, path).map(AppCommand::File));
        }
        if let Some((decision, then)) = self.files.confirm.ui(ctx) {
            match decision {
                DiscardDecision::Discard => out.push(AppCommand::FileConfirmed(then)),
                DiscardDecision::Save => {
                    self.files.after_save = Some(then);
                    out.push(AppCommand::File(FileAction::Save));
                }
                DiscardDecision::Cancel => self.files.quitting = false,
            }
        }
    }
}
