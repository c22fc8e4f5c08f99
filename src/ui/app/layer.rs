//! The Live page when a whole layer runs (heads = all): the three regions show the layer
//! (territories, every astrocyte's calcium, the selected head's matrices beside the layer's
//! output) until an astrocyte is clicked; then its head fills the single-head views, with a
//! Back control above the graph. The All heads tab opens the live layer from here too.

use super::TripartiteApp;
use crate::sim::Command;
use crate::sim::LayerSnapshot;
use crate::ui::actions::UserAction;
use crate::ui::command::{AppCommand, Tab};
use crate::ui::views::layer;
use crate::ui::widgets::colormap::palette;
use crate::ui::widgets::theme;

/// Share of the attention region given to the selected head's matrices (the layer output
/// comparison gets the rest).
const MATRICES_SHARE: f32 = 0.6;
/// The attention region's width (points) from which the matrices and the layer output stand
/// side by side; below it they take turns.
const SIDE_BY_SIDE_FROM: f32 = 1100.0;

impl TripartiteApp {
    /// The layer the worker runs, when it runs every head of one.
    pub(super) fn live_layer(&self) -> Option<&LayerSnapshot> {
        self.history.snapshot.as_ref().and_then(layer::layer_of)
    }

    /// Whether the Live page shows the whole layer (rather than one head).
    pub fn showing_layer(&self) -> bool {
        self.live_layer().is_some() && self.layer_focus.is_none()
    }

    /// The head opened from the live layer, if any.
    pub fn opened_head(&self) -> Option<usize> {
        self.layer_focus.filter(|_| self.live_layer().is_some())
    }

    /// The graph region: the layer's territories, or one head's network (with Back when it
    /// was opened from a layer).
    pub(super) fn graph_region(&mut self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        let snapshot = self.history.snapshot.as_ref();
        let layer = snapshot.and_then(layer::layer_of);
        if layer.is_none() {
            // A run of one head: nothing is opened.
            self.layer_focus = None;
        }
        match (snapshot, layer, self.layer_focus) {
            (Some(snapshot), Some(layer), None) => {
                self.layer_graph.compact = self.presentation.is_some();
                self.layer_graph.ui(ui, snapshot, layer, out);
            }
            (_, Some(layer), Some(head)) => {
                let heads = layer.heads.len();
                ui.horizontal(|ui| {
                    if crate::ui::actions::button(ui, UserAction::BackToLayer, true) {
                        out.push(AppCommand::BackToLayer);
                    }
                    ui.label(
                        egui::RichText::new(format!(
                            "Head {head} of the live layer ({heads} heads)"
                        ))
                        .strong()
                        .color(palette::head(head)),
                    );
                });
                self.graph
                    .ui(ui, &self.history, self.selection, &self.tokens, out);
            }
            _ => self
                .graph
                .ui(ui, &self.history, self.selection, &self.tokens, out),
        }
    }

    /// The traces region: every astrocyte against its Z_t, or one head's traces.
    pub(super) fn traces_region(&mut self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        let snapshot = self.history.snapshot.as_ref();
        match (snapshot, snapshot.and_then(layer::layer_of)) {
            (Some(snapshot), Some(layer)) if self.layer_focus.is_none() => {
                self.layer_traces.compact = self.presentation.is_some();
                self.layer_traces.ui(ui, snapshot, layer);
            }
            _ => self
                .traces
                .ui(ui, &self.history, self.selection, &self.tokens, out),
        }
    }

    /// The attention region: the selected head's matrices, beside the layer's output against
    /// the transformer's while the whole layer is shown.
    pub(super) fn attention_region(&mut self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        let snapshot = self.history.snapshot.as_ref();
        let Some((snapshot, layer)) = snapshot.and_then(|s| layer::layer_of(s).map(|l| (s, l)))
        else {
            self.attention.ui(ui, &self.history, &self.tokens, out);
            return;
        };
        if self.layer_focus.is_some() {
            self.attention.ui(ui, &self.history, &self.tokens, out);
            return;
        }
        let area = ui.available_rect_before_wrap();
        if area.width() < SIDE_BY_SIDE_FROM {
            // Too narrow for both (the parameters open: at 1280×800 the matrices were 65 px
            // beside the output): one at a time, at the region's whole width.
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.layer_output_shown, false, "Head's matrices")
                    .on_hover_text("The selected head's A_soft, A_net and their difference");
                ui.selectable_value(&mut self.layer_output_shown, true, "Layer output")
                    .on_hover_text(
                        "The layer's output against the transformer's (the region is too \
                         narrow for both side by side)",
                    );
                if !self.layer_output_shown {
                    ui.separator();
                    head_picker(ui, layer, out);
                }
            });
            if self.layer_output_shown {
                self.layer_output.ui(ui, snapshot, layer);
            } else {
                self.attention.ui(ui, &self.history, &self.tokens, out);
            }
            return;
        }
        let split = area.left() + area.width() * MATRICES_SHARE;
        let left = egui::Rect::from_min_max(area.min, egui::pos2(split - 6.0, area.bottom()));
        let right = egui::Rect::from_min_max(egui::pos2(split + 6.0, area.top()), area.max);
        ui.scope_builder(egui::UiBuilder::new().max_rect(left), |ui| {
            ui.set_clip_rect(left.intersect(ui.clip_rect()));
            head_picker(ui, layer, out);
            self.attention.ui(ui, &self.history, &self.tokens, out);
        });
        ui.painter().vline(
            split,
            area.y_range(),
            egui::Stroke::new(1.0, egui::Color32::from_gray(200)),
        );
        ui.scope_builder(egui::UiBuilder::new().max_rect(right), |ui| {
            ui.set_clip_rect(right.intersect(ui.clip_rect()));
            self.layer_output.ui(ui, snapshot, layer);
        });
    }

    /// Above the All heads tab: run this layer live, or go to it when it already runs.
    pub(super) fn layer_banner(&mut self, ui: &mut egui::Ui, out: &mut Vec<AppCommand>) {
        let params = self.current_experiment().params;
        let shown = self.heads.layer().unwrap_or(params.layer);
        let live = self
            .live_layer()
            .map(|l| l.heads.len())
            .filter(|_| params.layer == shown);
        ui.horizontal_wrapped(|ui| match live {
            Some(heads) => {
                ui.label(
                    egui::RichText::new(format!(
                        "Layer {shown} runs live: {heads} astrocytes, one per head."
                    ))
                    .strong(),
                );
                if ui
                    .button("Show the live layer")
                    .on_hover_text("Every astrocyte of this layer in the Live tab's graph")
                    .clicked()
                {
                    out.push(AppCommand::ShowTab {
                        before: Tab::AllHeads,
                        after: Tab::Live,
                    });
                }
            }
            None => {
                if ui
                    .button(egui::RichText::new("Run this layer live").strong())
                    .on_hover_text(format!(
                        "Simulate every head of layer {shown} at once (heads = all): one \
                         astrocyte per head in the Live tab, and the layer's output against \
                         the transformer's"
                    ))
                    .clicked()
                {
                    out.push(AppCommand::RunLayerLive { layer: shown });
                }
                theme::caption(
                    ui,
                    "or compare every head below in a batch (each head run on its own).",
                );
            }
        });
        ui.separator();
    }

    /// Carries out the layer commands (called from the one place that handles commands).
    pub(super) fn handle_layer(&mut self, ctx: &egui::Context, command: AppCommand) {
        match command {
            AppCommand::FocusHead { after, .. } => {
                self.layer_focus = after;
                if let Some(head) = after {
                    self.worker.send(Command::SelectHead(head));
                    self.tab = Tab::Live;
                }
            }
            AppCommand::BackToLayer if self.layer_focus.is_some() => {
                let before = self.layer_focus;
                self.handle(
                    ctx,
                    AppCommand::FocusHead {
                        before,
                        after: None,
                    },
                );
            }
            AppCommand::RunLayerLive { layer } => {
                let before = self.current_experiment().params;
                let mut params = before.clone();
                params.layer = layer;
                params.heads = crate::model::params::Heads::All;
                self.layer_focus = None;
                self.handle(
                    ctx,
                    AppCommand::EditParams {
                        before: Box::new(before),
                        after: Box::new(params),
                    },
                );
                self.tab = Tab::Live;
            }
            _ => {}
        }
    }
}

/// Which head's matrices are shown under the live layer.
fn head_picker(ui: &mut egui::Ui, layer: &LayerSnapshot, out: &mut Vec<AppCommand>) {
    ui.horizontal(|ui| {
        let label = ui.label("Matrices of");
        let mut chosen = layer.selected;
        egui::ComboBox::from_id_salt("layer matrices head")
            .selected_text(
                egui::RichText::new(format!("head {chosen}")).color(palette::head(chosen)),
            )
            .show_ui(ui, |ui| {
                for head in &layer.heads {
                    ui.selectable_value(
                        &mut chosen,
                        head.head,
                        egui::RichText::new(format!(
                            "head {} (attn_tv {})",
                            head.head,
                            theme::sig(head.attn_tv)
                        ))
                        .color(palette::head(head.head)),
                    );
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text("The head whose three matrices are drawn here");
        if chosen != layer.selected {
            out.push(AppCommand::Worker(Command::SelectHead(chosen)));
        }
    });
}
