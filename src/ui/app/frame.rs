//! The frame layout: the control bar, the status bar, the parameter panel and the central
//! page. Every view pushes what the user asked for into one list of [`AppCommand`]s, carried
//! out once the frame is drawn.

use super::TripartiteApp;
use crate::ui::command::{AppCommand, Tab};
use crate::ui::files::{DialogKind, DiscardDecision, ExportKind, FileAction};
use crate::ui::views::attention::AttentionView;
use crate::ui::views::controls::phase_text;
use crate::ui::views::sweep::CalciumSamples;
use crate::ui::widgets::layout::MIN_LIVE_SIZE;
use crate::ui::widgets::theme;

/// Height of each view when the Live tab stacks them (points).
const STACKED_VIEW_HEIGHT: f32 = 380.0;
const STACKED_ATTENTION_HEIGHT: f32 = 420.0;

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
        egui::Panel::top("controls").show(ui, |ui| self.control_bar(ui, &mut out));
        egui::Panel::bottom("status").show(ui, |ui| {
            self.status.ui(ui, &self.history, &self.stats);
        });
        if self.show_params {
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
                let experiment = self.current_experiment();
                if let Some(head) = self.heads.ui(ui, &experiment) {
                    let layer = self.heads.layer().unwrap_or(experiment.params.layer);
                    out.push(AppCommand::OpenHead { layer, head });
                }
            }
            Tab::Sweep => {
                let experiment = self.current_experiment();
                egui::CollapsingHeader::new(
                    egui::RichText::new("The authors' figure: c_t at m = 10³ and 10⁵ against Z_t")
                        .strong(),
                )
                .default_open(false)
                .show(ui, |ui| self.authors_figure.ui(ui, &experiment));
                let samples = CalciumSamples::from_history(&self.history);
                if self.sweep.ui(ui, &experiment, &samples) {
                    out.push(AppCommand::File(FileAction::Choose(DialogKind::Export(
                        ExportKind::SweepCsv,
                    ))));
                }
            }
            Tab::Compare => self.compare_page(ui, &mut out),
        });
        self.help.ui(&ctx);
        self.history_window(&ctx, &mut out);
        self.file_windows(&ctx, &mut out);
        self.handle_all(&ctx, out);
    }

    /// The menu, title, phase, run controls, tabs and messages across the top.
    fn control_bar(&mut self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            if let Some(action) = self.files.menu.ui(ui, &self.files.document) {
                out.push(AppCommand::File(action));
            }
            self.edit_menu(ui, out);
            ui.separator();
            ui.label(
                egui::RichText::new("Neurons + astrocyte ≈ self-attention")
                    .size(21.0)
                    .strong(),
            )
            .on_hover_text("Kozachkov, Kastanenka & Krotov, PNAS 2023");
            ui.add_space(16.0);
            ui.label(
                egui::RichText::new(phase_text(self.history.snapshot.as_ref()))
                    .size(19.0)
                    .strong()
                    .color(egui::Color32::from_rgb(0x9A, 0x3B, 0x00)),
            );
        });
        ui.horizontal_wrapped(|ui| {
            self.controls.ui(ui, &self.history, out);
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

    /// The sequence picker and the parameters, on the left.
    fn parameter_panel(&mut self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        let mut worker = Vec::new();
        // Pending changes, Apply and every error stay in sight above the scrolling fields.
        self.params.bar(ui, &self.history, &mut worker);
        ui.separator();
        egui::ScrollArea::vertical().show(ui, |ui| {
            egui::CollapsingHeader::new(egui::RichText::new("Real transformer input").strong())
                .default_open(true)
                .show(ui, |ui| {
                    self.picker.ui(ui, &self.history, &mut worker);
                });
            self.params.ui(ui, &self.history, &mut worker);
            egui::CollapsingHeader::new(egui::RichText::new("Images: the digits ViT").strong())
                .default_open(false)
                .show(ui, |ui| self.digits.ui(ui, &self.history, &mut worker));
        });
        // Both views speak in worker commands; as app commands they carry what they replace.
        let current = self.current_experiment();
        out.extend(
            worker
                .into_iter()
                .map(|command| AppCommand::from_worker(command, &current.params, &self.base)),
        );
    }

    /// Graph and traces above, the attention matrices below; the splitters move.
    fn live_page(&mut self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        self.attention.banner(ui, &self.history);
        let area = ui.available_rect_before_wrap();
        if area.width() >= MIN_LIVE_SIZE.x && area.height() >= MIN_LIVE_SIZE.y {
            self.live_views(ui, area, out);
        } else {
            // Too small for three views side by side (a zoomed or small window): one under
            // the other at full width, each at a readable height, and the page scrolls.
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| self.stacked_views(ui, area, out));
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
        region(ui, graph, &mut |ui| {
            self.graph.ui(ui, &self.history, self.selection, out)
        });
        region(ui, traces, &mut |ui| {
            self.traces.ui(ui, &self.history, self.selection)
        });
        region(ui, attention, &mut |ui| {
            self.attention.ui(ui, &self.history)
        });
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
        region(ui, rects.graph, &mut |ui| {
            self.graph.ui(ui, &self.history, self.selection, out)
        });
        region(ui, rects.traces, &mut |ui| {
            self.traces.ui(ui, &self.history, self.selection)
        });
        region(ui, rects.attention, &mut |ui| {
            self.attention.ui(ui, &self.history)
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
