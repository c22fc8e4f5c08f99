//! The frame layout: the control bar, the status bar, the parameter panel and the central
//! page. Every view pushes what the user asked for into one list of [`AppCommand`]s, carried
//! out once the frame is drawn.

use super::TripartiteApp;
use crate::data::lesson::{Control, Region};
use crate::ui::actions::UserAction;
use crate::ui::command::{AppCommand, Tab};
use crate::ui::files::{DiscardDecision, FileAction};
use crate::ui::views::controls::phase_text;
use crate::ui::views::sweep::CalciumSamples;
use crate::ui::widgets::layout::LivePane;
use crate::ui::widgets::theme;

/// Heights (points) of the header (menus and title; controls and tabs), of the one-line
/// status bar and of the message strip. Fixed: they do not follow what they show.
const HEADER_HEIGHT: f32 = 70.0;
const STATUS_HEIGHT: f32 = 22.0;
const MESSAGE_HEIGHT: f32 = 24.0;
/// How long a notice stays in the message strip.
const NOTICE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(8);

/// At t = 0 and paused, one line on what Run will show (nothing starts silent).
fn run_hint(snapshot: Option<&crate::sim::Snapshot>) -> Option<&'static str> {
    let snapshot = snapshot?;
    let at_start = snapshot.step == 0 && snapshot.state == crate::sim::RunState::Paused;
    if !at_start || snapshot.run.is_none() {
        return None;
    }
    let dynamic = snapshot.run.as_ref().is_some_and(|r| r.dynamic);
    Some(if dynamic {
        "Press Run (Space): keys are written first, then each query is read while the \
         calcium (orange) rises toward Z_t (dashed)."
    } else {
        "Press Run (Space): the rows of A_net are read one by one."
    })
}

/// Height of the timeline under the Live tab (points).
const TIMELINE_HEIGHT: f32 = 26.0;

/// Width of the lesson panel (points): wide enough for its text at a projector's size, narrow
/// enough to leave the Live views side by side at 1280×800 with the parameters shown.
const LESSON_WIDTH: f32 = 300.0;
/// The least height (points) of the Live page's tiles and timeline: a smaller page scrolls.
const MIN_TILES_HEIGHT: f32 = 648.0;
/// How far below its least height the page still fits without scrolling (points).
const SCROLL_SLACK: f32 = 48.0;
/// The same with a selection traced beside the calcium (two plots in its tile).
const MIN_SELECTED_TILES_HEIGHT: f32 = 920.0;
/// Below this width (points) the Live views stack, each the page's width.
const NARROW_PAGE_WIDTH: f32 = 420.0;
/// The least height (points) of the stacked views and the timeline.
const MIN_STACKED_HEIGHT: f32 = 1200.0;
const LESSON_MIN_WIDTH: f32 = 230.0;
const PRESENTED_LESSON_WIDTH: f32 = 205.0;

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
        // Every bar has one fixed height, so that nothing below it moves when a message comes
        // or a run ends (issue 23 §2).
        if self.presentation.is_some() {
            // Menus, parameters and the status bar give way; other panels (a lesson) stay.
            egui::Panel::top("presentation")
                .resizable(false)
                .show(ui, |ui| self.presentation_bar(ui, &mut out));
        } else {
            egui::Panel::top("controls")
                .resizable(false)
                .exact_size(HEADER_HEIGHT)
                .show(ui, |ui| self.control_bar(ui, &mut out));
            egui::Panel::bottom("status")
                .resizable(false)
                .exact_size(STATUS_HEIGHT)
                .show(ui, |ui| {
                    self.status.ui(ui, &self.history, &self.stats);
                });
        }
        egui::Panel::bottom("messages")
            .resizable(false)
            .exact_size(MESSAGE_HEIGHT)
            .show(ui, |ui| self.message_strip(ui, &mut out));
        if self.lesson.is_open() {
            let mut lesson = std::mem::take(&mut self.lesson);
            let world = self.lesson_world();
            // On a projector the scaled window is 853 points wide: the lesson keeps less of it
            // (its own remembered width, so leaving presentation restores the other).
            // In a small window (a projector's 1024×768 with the parameters open) it starts a
            // little narrower, so that the views beside it stay tiles, every one in sight,
            // rather than stacking into a page that scrolls.
            let (id, width) = if self.presentation.is_some() {
                ("lesson presented", PRESENTED_LESSON_WIDTH)
            } else {
                let window = ui.available_width();
                let width = if window >= 1200.0 {
                    LESSON_WIDTH
                } else {
                    (window * 0.22).clamp(LESSON_MIN_WIDTH, LESSON_WIDTH)
                };
                ("lesson", width)
            };
            egui::Panel::right(id)
                .resizable(true)
                .default_size(width)
                .min_size(LESSON_MIN_WIDTH.min(width))
                .show(ui, |ui| lesson.ui(ui, world, &mut out));
            self.lesson = lesson;
        }
        // On a projector the parameters a step names are in the presentation bar instead.
        if self.show_params
            && self.presentation.is_none()
            && !self.lesson.hides(Control::Parameters)
        {
            // In a narrow (or zoomed) window the panel gives way to the views.
            let room = ui.available_width();
            egui::Panel::left("parameters")
                .resizable(true)
                .default_size(262.0)
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
        self.description_window(&ctx);
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
        ui.horizontal(|ui| {
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
            ui.add(
                egui::Label::new(
                    egui::RichText::new(phase_text(self.history.snapshot.as_ref()))
                        .size(19.0)
                        .strong()
                        .color(egui::Color32::from_rgb(0x9A, 0x3B, 0x00)),
                )
                .truncate(),
            );
        });
        ui.horizontal(|ui| {
            if self.lesson.hides(Control::RunControls) {
            } else if self.lesson.locks(Control::RunControls) {
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
    }

    /// One line across the bottom that never changes height: the run's error, else the last
    /// message (an error stays until dismissed or corrected, a notice fades), else at t = 0
    /// what Run will show.
    fn message_strip(&mut self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        // When each message was first shown, and for which document: a notice expires, an
        // error waits for the user, and neither outlives the document it describes.
        let document = self.files.document.path().map(|p| p.to_path_buf());
        match (&self.files.message, &self.files.message_seen) {
            (Some((text, _)), Some(seen)) if *text == seen.text => {
                let expired = self.files.message.as_ref().is_some_and(|m| m.1)
                    && seen.at.elapsed() >= NOTICE_LIFETIME;
                if expired || seen.document != document {
                    self.files.message = None;
                    self.files.message_seen = None;
                }
            }
            (Some((text, _)), _) => {
                self.files.message_seen = Some(super::MessageSeen {
                    text: text.clone(),
                    at: std::time::Instant::now(),
                    document,
                });
            }
            (None, _) => self.files.message_seen = None,
        }
        let failure = self
            .history
            .snapshot
            .as_ref()
            .and_then(|s| s.failure())
            .map(|f| (format!("Error: {f}"), false, false));
        // A figure capture must show the views, not the notice that it is being taken.
        let message = self
            .files
            .message
            .as_ref()
            .filter(|_| self.files.pending_figure.is_none())
            .map(|(text, ok)| (text.clone(), *ok, true));
        let hint = run_hint(self.history.snapshot.as_ref()).map(|h| (h.to_string(), true, false));
        ui.horizontal_centered(|ui| {
            let Some((text, ok, dismissible)) = failure.or(message).or(hint) else {
                return;
            };
            let color = if !ok {
                theme::ERROR
            } else if dismissible {
                theme::OK
            } else {
                theme::CAPTION
            };
            if dismissible
                && ui
                    .small_button("×")
                    .on_hover_text("Dismiss this message")
                    .clicked()
            {
                out.push(AppCommand::DismissMessage);
            }
            let strong = if ok {
                egui::RichText::new(text.as_str())
            } else {
                egui::RichText::new(text.as_str()).strong()
            };
            // One line: the whole text on hover when it does not fit.
            ui.add(egui::Label::new(strong.color(color)).truncate())
                .on_hover_text(text.as_str());
            if !ok || dismissible {
                ui.ctx().request_repaint_after(NOTICE_LIFETIME);
            }
        });
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
            if ui
                .button("Reset layout")
                .on_hover_text("Put the Live page's tiles back where they started")
                .clicked()
            {
                // A view's arrangement, not the experiment: nothing to undo.
                self.layout.reset();
                ui.close();
            }
            ui.menu_button("Presentation scale", |ui| {
                for scale in super::presentation::SCALES {
                    let chosen = (self.presentation_scale - scale).abs() < 1e-3;
                    if ui
                        .radio(chosen, format!("{scale}×"))
                        .on_hover_text("How much presentation mode (F5) enlarges everything")
                        .clicked()
                    {
                        self.set_presentation_scale(ui.ctx(), scale);
                    }
                }
            });
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
        if self.lesson.locks(Control::Parameters) {
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
            if self.lesson.hides(Control::Picker) {
            } else if self.lesson.locks(Control::Picker) {
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

    /// The Live page: the tiles above, the timeline across the bottom under all of them.
    fn live_page(&mut self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        let compact = self.presentation.is_some();
        self.graph.compact = compact;
        self.traces.compact = compact;
        self.attention.compact = compact;
        self.attention.metrics_apart = true;
        self.graph.in_tile = true;
        self.traces.in_tile = true;
        // Below this height (a small or zoomed window) the tiles keep it and the page scrolls,
        // so that every view stays usable.
        // Too narrow for two views side by side: one above the other, the page scrolling.
        let narrow = !compact && ui.available_width() < NARROW_PAGE_WIDTH;
        let least = if narrow {
            MIN_STACKED_HEIGHT
        } else {
            MIN_TILES_HEIGHT
        };
        // It scrolls only well below that, so that a projector's 1024×768 (a few points
        // short) keeps its timeline in sight.
        // With a selection (two plots in the calcium tile) there is no such slack.
        // (The astrocyte's trace is the calcium plot itself: it adds no plot.)
        let traced = self.selection.is_some_and(|s| !s.probes().is_empty());
        let slack = if traced { 0.0 } else { SCROLL_SLACK };
        let fits = compact || ui.available_height() >= least - slack;
        // A scrolling page with a selection gives the calcium tile room for its second plot.
        let least = if !fits && traced {
            least.max(MIN_SELECTED_TILES_HEIGHT)
        } else {
            least
        };
        if !fits {
            let width = ui.available_width();
            egui::ScrollArea::vertical()
                .id_salt("live page")
                .show(ui, |ui| {
                    let (rect, _) =
                        ui.allocate_exact_size(egui::vec2(width, least), egui::Sense::hover());
                    ui.scope_builder(egui::UiBuilder::new().max_rect(rect), |ui| {
                        self.live_tiles(ui, narrow, out)
                    });
                });
        } else {
            self.live_tiles(ui, narrow, out);
        }
    }

    /// The tiles and the timeline in `ui`'s whole area.
    fn live_tiles(&mut self, ui: &mut egui::Ui, narrow: bool, out: &mut Vec<AppCommand>) {
        let page = ui.available_rect_before_wrap();
        // On a projector the timeline shows when the teacher asks for it (its keys still work).
        let with_timeline = self.presentation.as_ref().is_none_or(|p| p.timeline);
        let timeline_height = if with_timeline { TIMELINE_HEIGHT } else { -4.0 };
        let split = page.bottom() - timeline_height;
        let area = egui::Rect::from_min_max(page.min, egui::pos2(page.right(), split - 4.0));
        let timeline = egui::Rect::from_min_max(egui::pos2(page.left(), split), page.max);
        // On a projector beside a lesson only the views the step points at are shown, so
        // that they are large enough to read from the back of the room.
        let presented = self.presentation.is_some();
        let mut hidden = self.hidden_panes();
        self.attention.shown = self.shown_matrices();
        // A presented step that points at matrices and metrics gets the metrics in the
        // matrices' grid, where a cell is free, not in a tile of their own.
        self.attention.metrics_in_grid = self.presentation.is_some()
            && !hidden.contains(&LivePane::Matrices)
            && !hidden.contains(&LivePane::Metrics);
        if self.attention.metrics_in_grid {
            hidden.push(LivePane::Metrics);
        }
        let one_cell = self.attention.shown.iter().filter(|s| **s).count()
            + usize::from(self.attention.metrics_in_grid)
            == 1;
        let mut layout = std::mem::take(&mut self.layout);
        let rects = ui
            .scope_builder(egui::UiBuilder::new().max_rect(area), |ui| {
                layout.ui(
                    ui,
                    crate::ui::widgets::layout::PageState {
                        presented,
                        narrow,
                        one_cell,
                        layer: self.showing_layer(),
                    },
                    &hidden,
                    &mut |ui, pane| match pane {
                        LivePane::Graph => self.graph_region(ui, out),
                        LivePane::Traces => self.traces_region(ui, out),
                        LivePane::Matrices => self.attention_region(ui, out),
                        LivePane::Metrics => {
                            self.attention.metrics_tile(ui, &self.history);
                            // In a lesson the step's text says what a poor run means. Here, not
                            // above the matrices: the note must not push them when it appears.
                            if !self.lesson.is_open() {
                                self.attention.banner(ui, &self.history);
                            }
                        }
                    },
                )
            })
            .inner;
        self.layout = layout;
        if with_timeline {
            ui.scope_builder(egui::UiBuilder::new().max_rect(timeline), |ui| {
                self.timeline.ui(ui, &self.history, out);
            });
        }
        self.live_rects = rects;
        self.rects = super::ViewRects {
            graph: rects.graph,
            attention: rects.matrices,
            traces: rects.traces,
        };
    }

    /// The panes a presented lesson step does not point at (none otherwise, or when the
    /// step points at nothing on the Live page).
    fn hidden_panes(&self) -> Vec<LivePane> {
        if self.presentation.is_none() {
            return Vec::new();
        }
        let wanted = self.lesson.highlighted_panes();
        if wanted.is_empty() {
            return Vec::new();
        }
        LivePane::ALL
            .into_iter()
            .filter(|p| !wanted.contains(p))
            .collect()
    }

    /// The matrices a presented lesson step points at (all three otherwise, or when it points
    /// at none of them).
    fn shown_matrices(&self) -> [bool; 3] {
        let regions = self.lesson.highlighted_regions();
        let wanted = [Region::ASoft, Region::ANet, Region::ADiff].map(|r| regions.contains(&r));
        if self.presentation.is_none() || !wanted.contains(&true) {
            [true; 3]
        } else {
            wanted
        }
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
