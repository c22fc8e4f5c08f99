//! Every head of one layer at a glance: for each head the transformer's softmax attention
//! A_soft beside the network's A_net, its attn_tv and calcium_corr, and a good/fair/poor mark,
//! so a student sees which heads the neuron–astrocyte approximation handles and which it
//! does not. Each head is its own astrocyte. The runs happen on a batch thread; [`state`]
//! keeps them, without egui, and this module draws them.

use crate::data::experiment::Experiment;
use crate::model::params::Mode;
use crate::sim::batch::{HeadResult, Variant};
use crate::ui::command::AppCommand;
use crate::ui::views::selection::{TokenAxis, TokenSelection};
use crate::ui::widgets::colormap::{ColorScale, palette};
use crate::ui::widgets::heatmap::SELECTED_TOKEN;
use crate::ui::widgets::theme;
use egui::{
    Align2, Color32, ColorImage, FontId, Rect, RichText, Sense, Stroke, TextureHandle,
    TextureOptions, pos2, vec2,
};
use ndarray::Array2;
use std::collections::HashMap;
use std::sync::Arc;

pub mod state;

use state::setup_of;
pub use state::{GOOD_TV, HeadOrder, HeadsState, POOR_TV};

/// How well the network reproduces one head's attention, from its attn_tv.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quality {
    Good,
    Fair,
    Poor,
}

impl Quality {
    pub fn of(attn_tv: f64) -> Quality {
        if attn_tv < GOOD_TV {
            Quality::Good
        } else if attn_tv < POOR_TV {
            Quality::Fair
        } else {
            // NaN lands here too: a head without a valid comparison is not a success.
            Quality::Poor
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Quality::Good => "good",
            Quality::Fair => "fair",
            Quality::Poor => "poor",
        }
    }

    /// Okabe–Ito: bluish green, orange, vermillion (told apart without red–green vision).
    pub fn color(self) -> Color32 {
        match self {
            Quality::Good => Color32::from_rgb(0x00, 0x9E, 0x73),
            Quality::Fair => Color32::from_rgb(0xE6, 0x9F, 0x00),
            Quality::Poor => Color32::from_rgb(0xD5, 0x5E, 0x00),
        }
    }
}

/// Uploaded matrices by (layer, variant, head, network?), with the run they show.
type Textures = HashMap<(usize, Variant, usize, bool), (u64, TextureHandle)>;

/// Small multiples of A_soft against A_net for every head of the chosen layer.
#[derive(Default)]
pub struct HeadsOverview {
    state: HeadsState,
    textures: Textures,
}

/// Asks for a repaint whenever a batch has news.
fn repaint(ctx: &egui::Context) -> state::Notify {
    let ctx = ctx.clone();
    Arc::new(move || ctx.request_repaint())
}

impl HeadsOverview {
    pub fn new() -> Self {
        Self::default()
    }

    /// The state alone (what the batches computed, which layer and variant are shown).
    pub fn state(&self) -> &HeadsState {
        &self.state
    }

    /// The layer shown (None before the first frame or [`Self::set_layer`]); a clicked head
    /// opens at this layer.
    pub fn layer(&self) -> Option<usize> {
        self.state.layer()
    }

    pub fn set_layer(&mut self, layer: usize) {
        self.state.set_layer(layer);
    }

    pub fn set_order(&mut self, order: HeadOrder) {
        self.state.set_order(order);
    }

    /// Runs every head in algebraic mode whatever the experiment's mode (fast, exact limit).
    pub fn set_force_algebraic(&mut self, on: bool) {
        self.state.set_force_algebraic(on);
    }

    /// Whether a batch is computing.
    pub fn is_running(&self) -> bool {
        self.state.is_running()
    }

    /// The results so far for `variant` on the shown layer, sorted by head.
    pub fn heads(&self, variant: Variant) -> &[HeadResult] {
        self.state.heads(variant)
    }

    /// The last failure, if the last batch failed.
    pub fn message(&self) -> Option<&str> {
        self.state.message()
    }

    /// Starts computing every head of the shown layer for each of `variants` in turn.
    pub fn run(&mut self, ctx: &egui::Context, experiment: &Experiment, variants: &[Variant]) {
        self.state.run(repaint(ctx), experiment, variants);
    }

    /// Folds in what the batch sent since the last call (also done by `ui`).
    pub fn poll(&mut self) {
        self.state.poll();
    }

    /// The overview. A click on a head opens it in the Live tab; a click inside a small
    /// multiple selects its query row in every view (both pushed to `out`). The linked
    /// `tokens` are outlined in every head.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        experiment: &Experiment,
        tokens: &TokenSelection,
        out: &mut Vec<AppCommand>,
    ) {
        self.poll();
        ui.label(theme::title("All heads of one layer"));
        let grid = match self.state.grid(&experiment.source, repaint(ui.ctx())) {
            None => {
                ui.label("Reading the model's layers and heads…");
                return;
            }
            Some(Ok(Some(grid))) => grid,
            Some(Ok(None)) => {
                theme::caption(
                    ui,
                    "Each head is its own astrocyte. This view needs a real transformer: pick a \
                     bundled sentence or a model folder as the sequence (synthetic and .npy \
                     sequences have a single head).",
                );
                return;
            }
            Some(Err(message)) => {
                ui.colored_label(theme::ERROR, message);
                return;
            }
        };
        let (layers, heads) = grid;
        let layer = *self
            .state
            .layer
            .get_or_insert(experiment.params.layer.min(layers.saturating_sub(1)));
        caption_with_arrows(
            ui,
            &format!(
                "Each head is its own astrocyte: {heads} heads → {heads} astrocytes, each \
                 normalising its own attention."
            ),
        );
        theme::caption(
            ui,
            "In each cell the transformer's attention (left) sits beside the network's (right): \
             green heads are reproduced well, orange roughly, red poorly. Click a head to open it.",
        );
        // Beside the budget of random features (m_needed): what learned synapses reached.
        if let Some(line) = crate::ui::views::learn::learned_summary(&experiment.params) {
            ui.label(line);
            theme::caption(
                ui,
                "“≈ m” under m_needed: the random m at which the head's budget fit matches the \
                 learned network on this sentence (hover a head for more).",
            );
        }
        let shown = *self
            .state
            .shown
            .get_or_insert(Variant::of(&experiment.params));
        self.controls(ui, experiment, layers, heads, layer, shown);
        if let Some(message) = &self.state.message {
            ui.colored_label(theme::ERROR, RichText::new(message).size(15.0));
        }
        self.progress(ui);
        self.comparison(ui, experiment, layer);
        let current = setup_of(experiment, layer, shown, self.state.force_algebraic);
        let Some(run) = self.state.runs.get(&(layer, shown)) else {
            if self.state.active.is_none() {
                ui.label(format!(
                    "Press “Run all heads” to compare the {heads} heads of layer {layer} ({shown})."
                ));
            }
            return;
        };
        theme::caption(
            ui,
            &format!(
                "Layer {layer}, {shown}, {} mode; {}",
                run.setup.params.mode.name(),
                crate::ui::views::sweep::non_default_params(
                    &run.setup.params,
                    &["layer", "head", "feature_map", "projection", "mode"],
                )
            ),
        );
        if run.setup != current {
            ui.colored_label(
                theme::CAPTION,
                "These results were computed for other settings; press “Run all heads” to update them.",
            );
        }
        let (opened, picked) = self.cells(ui, layer, shown, heads, tokens);
        if let Some((t, add)) = picked {
            out.push(AppCommand::SelectTokens {
                before: tokens.clone(),
                after: tokens.clicked(TokenAxis::Query, t, add),
            });
        }
        if let Some(head) = opened {
            out.push(AppCommand::OpenHead { layer, head });
        }
    }

    fn controls(
        &mut self,
        ui: &mut egui::Ui,
        experiment: &Experiment,
        layers: usize,
        heads: usize,
        layer: usize,
        shown: Variant,
    ) {
        let ctx = ui.ctx().clone();
        let mut rerun = false;
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Layer");
            let mut chosen = layer;
            egui::ComboBox::from_id_salt("heads layer")
                .selected_text(format!("layer {layer}"))
                .show_ui(ui, |ui| {
                    for l in 0..layers {
                        ui.selectable_value(&mut chosen, l, format!("layer {l}"));
                    }
                })
                .response
                .labelled_by(label.id)
                .on_hover_text("The transformer layer whose heads are compared.");
            if chosen != layer {
                self.state.layer = Some(chosen);
                rerun = true;
            }

            let label = ui.label("Variant");
            let mut variant = shown;
            egui::ComboBox::from_id_salt("heads variant")
                .selected_text(variant.to_string())
                .show_ui(ui, |ui| {
                    for v in Variant::COMPARED {
                        ui.selectable_value(&mut variant, v, v.to_string());
                    }
                })
                .response
                .labelled_by(label.id)
                .on_hover_text(
                    "Feature map / projection of the hidden layer. positive/iid is the paper's; \
                     hyperbolic and orthogonal features have lower variance.",
                );
            if variant != shown {
                self.state.shown = Some(variant);
                rerun = true;
            }

            let label = ui.label("Order");
            egui::ComboBox::from_id_salt("heads order")
                .selected_text(self.state.order.label())
                .show_ui(ui, |ui| {
                    for order in [HeadOrder::ByHead, HeadOrder::ByAttnTv] {
                        ui.selectable_value(&mut self.state.order, order, order.label());
                    }
                })
                .response
                .labelled_by(label.id);

            if experiment.params.mode == Mode::Dynamic {
                ui.checkbox(&mut self.state.force_algebraic, "Algebraic (fast)")
                    .on_hover_text(
                        "Run every head in the paper's algebraic limit instead of the dynamic \
                         mode, which integrates each head's whole schedule and takes longer.",
                    );
            }
        });
        ui.horizontal_wrapped(|ui| {
            let layer = self.state.layer.unwrap_or(layer);
            let variant = self.state.shown.unwrap_or(shown);
            if ui
                .add_enabled(
                    self.state.active.is_none(),
                    egui::Button::new("Run all heads"),
                )
                .on_hover_text(format!(
                    "Run the experiment on each of the {heads} heads of layer {layer} ({variant})."
                ))
                .clicked()
            {
                self.run(&ctx, experiment, &[variant]);
            }
            if ui
                .add_enabled(
                    self.state.active.is_none(),
                    egui::Button::new("Compare variants"),
                )
                .on_hover_text(
                    "Run all heads with each feature map / projection (positive or hyperbolic, \
                     iid or orthogonal) and list how many heads each reproduces well.",
                )
                .clicked()
            {
                let mut variants = vec![variant];
                variants.extend(Variant::COMPARED.iter().filter(|&&v| v != variant));
                self.run(&ctx, experiment, &variants);
            }
            if self.state.active.is_some() && ui.button("Cancel").clicked() {
                self.state.cancel();
            }
        });
        if rerun && self.state.active.is_none() {
            let (layer, variant) = (
                self.state.layer.unwrap_or(layer),
                self.state.shown.unwrap_or(shown),
            );
            let current = setup_of(experiment, layer, variant, self.state.force_algebraic);
            let fresh = self
                .state
                .runs
                .get(&(layer, variant))
                .is_some_and(|run| run.setup == current);
            // Switching to a layer or variant already computed just shows it.
            if !fresh && !self.state.runs.is_empty() {
                self.run(&ctx, experiment, &[variant]);
            }
        }
    }

    fn progress(&self, ui: &mut egui::Ui) {
        let Some(active) = &self.state.active else {
            return;
        };
        let fraction = if active.total == 0 {
            0.0
        } else {
            active.done as f32 / active.total as f32
        };
        let queued = if self.state.queue.is_empty() {
            String::new()
        } else {
            format!(", {} more variant(s) queued", self.state.queue.len())
        };
        ui.add(
            egui::ProgressBar::new(fraction)
                .text(format!(
                    "Running {}: {} of {} heads done{queued}",
                    active.variant, active.done, active.total
                ))
                .desired_height(22.0),
        );
    }

    /// One line per variant computed for the shown layer: how many heads it reproduces well.
    fn comparison(&mut self, ui: &mut egui::Ui, experiment: &Experiment, layer: usize) {
        let rows: Vec<(Variant, usize, usize, usize, f64, bool, bool)> = self
            .state
            .runs
            .iter()
            .filter(|((l, _), _)| *l == layer)
            .map(|((_, v), run)| {
                let count = |q: Quality| {
                    run.heads
                        .iter()
                        .filter(|h| Quality::of(h.metrics.attn_tv) == q)
                        .count()
                };
                let mean = run.heads.iter().map(|h| h.metrics.attn_tv).sum::<f64>()
                    / run.heads.len().max(1) as f64;
                let fresh =
                    run.setup == setup_of(experiment, layer, *v, self.state.force_algebraic);
                (
                    *v,
                    count(Quality::Good),
                    count(Quality::Fair),
                    count(Quality::Poor),
                    mean,
                    run.complete,
                    fresh,
                )
            })
            .collect();
        if rows.len() < 2 {
            return;
        }
        ui.add_space(4.0);
        ui.strong("Which heads each variant handles");
        egui::Grid::new("heads comparison")
            .striped(true)
            .spacing(vec2(16.0, 4.0))
            .show(ui, |ui| {
                for header in ["variant", "good", "fair", "poor", "mean attn_tv", ""] {
                    ui.strong(header);
                }
                ui.end_row();
                for (variant, good, fair, poor, mean, complete, fresh) in rows {
                    let selected = self.state.shown == Some(variant);
                    if ui
                        .selectable_label(selected, variant.to_string())
                        .on_hover_text("Show this variant's heads below.")
                        .clicked()
                    {
                        self.state.shown = Some(variant);
                    }
                    ui.colored_label(Quality::Good.color(), good.to_string());
                    ui.colored_label(Quality::Fair.color(), fair.to_string());
                    ui.colored_label(Quality::Poor.color(), poor.to_string());
                    ui.monospace(theme::sig(mean));
                    ui.label(match (complete, fresh) {
                        (_, false) => "other settings",
                        (false, true) => "incomplete",
                        (true, true) => "",
                    });
                    ui.end_row();
                }
            });
    }

    fn cells(
        &mut self,
        ui: &mut egui::Ui,
        layer: usize,
        variant: Variant,
        heads: usize,
        tokens: &TokenSelection,
    ) -> (Option<usize>, Option<(usize, bool)>) {
        let Some(run) = self.state.runs.get(&(layer, variant)) else {
            return (None, None);
        };
        let mut order: Vec<usize> = (0..run.heads.len()).collect();
        if self.state.order == HeadOrder::ByAttnTv {
            order.sort_by(|&a, &b| {
                run.heads[a]
                    .metrics
                    .attn_tv
                    .total_cmp(&run.heads[b].metrics.attn_tv)
            });
        }
        let pending: Vec<usize> = (0..heads.max(run.total))
            .filter(|h| run.heads.binary_search_by_key(h, |r| r.head).is_err())
            .collect();
        let running = self
            .state
            .active
            .as_ref()
            .is_some_and(|a| (a.layer, a.variant) == (layer, variant));

        let (columns, side) = layout(
            run.heads.len() + pending.len(),
            ui.available_width(),
            ui.available_height(),
        );
        let cell = vec2(2.0 * side + CELL_PAD_X, side + CELL_PAD_Y);
        let mut clicked = None;
        let mut picked = None;
        let ctx = ui.ctx().clone();
        let textures = &mut self.textures;
        egui::ScrollArea::vertical()
            .id_salt("heads cells")
            .auto_shrink([false, true])
            .show(ui, |ui| {
                ui.spacing_mut().item_spacing = vec2(CELL_GAP, CELL_GAP);
                let items: Vec<Option<&HeadResult>> = order
                    .iter()
                    .map(|&i| Some(&run.heads[i]))
                    .chain(pending.iter().map(|_| None))
                    .collect();
                for (row, chunk) in items.chunks(columns).enumerate() {
                    ui.horizontal(|ui| {
                        for (k, item) in chunk.iter().enumerate() {
                            match item {
                                Some(head) => {
                                    let texture = |net: bool, textures: &mut Textures| {
                                        let key = (layer, variant, head.head, net);
                                        match textures.get(&key) {
                                            Some((id, texture)) if *id == run.id => texture.clone(),
                                            _ => {
                                                let texture = upload(&ctx, head, net);
                                                textures.insert(key, (run.id, texture.clone()));
                                                texture
                                            }
                                        }
                                    };
                                    let soft = texture(false, textures);
                                    let net = texture(true, textures);
                                    let (response, row) =
                                        head_cell(ui, head, cell, side, (&soft, &net), tokens);
                                    if response.clicked() {
                                        clicked = Some(head.head);
                                    }
                                    picked = picked.or(row);
                                }
                                None => {
                                    let index = row * columns + k - order.len();
                                    let head = pending[index];
                                    let state = if !learned_holds(variant, layer, head) {
                                        "not in the learned file"
                                    } else if running {
                                        "running…"
                                    } else {
                                        "not run"
                                    };
                                    pending_cell(ui, head, layer, cell, state);
                                }
                            }
                        }
                    });
                }
            });
        (clicked, picked)
    }
}

/// A caption like [`theme::caption`], with arrows set in the monospace font: egui's default
/// proportional font has no "→" (kittest refuses it, and the app would draw a box).
fn caption_with_arrows(ui: &mut egui::Ui, text: &str) {
    let mut job = egui::text::LayoutJob::default();
    let format = |font: FontId| egui::TextFormat {
        font_id: font,
        color: theme::CAPTION,
        ..Default::default()
    };
    for (k, part) in text.split('→').enumerate() {
        if k > 0 {
            job.append("→", 0.0, format(FontId::monospace(17.0)));
        }
        job.append(part, 0.0, format(FontId::proportional(15.0)));
    }
    job.wrap.max_width = ui.available_width();
    ui.label(job);
}

/// Space in a cell around its two heatmaps, in points: margins and the gap between them
/// (width), title, heatmap names and two lines of metrics (height).
const CELL_PAD_X: f32 = 30.0;
const CELL_PAD_Y: f32 = 90.0;
/// Gap between cells (points).
const CELL_GAP: f32 = 10.0;

/// Columns and heatmap side (points) that make `count` cells as large as the space allows.
fn layout(count: usize, width: f32, height: f32) -> (usize, f32) {
    let count = count.max(1);
    let side_for = |columns: usize| {
        let rows = count.div_ceil(columns);
        let across = (width - CELL_GAP * (columns as f32 - 1.0)) / columns as f32 - CELL_PAD_X;
        let down = (height - CELL_GAP * (rows as f32 - 1.0)) / rows as f32 - CELL_PAD_Y;
        (across / 2.0).min(down)
    };
    let columns = (1..=count)
        .max_by(|&a, &b| side_for(a).total_cmp(&side_for(b)).then(b.cmp(&a)))
        .unwrap_or(1);
    (columns, side_for(columns).clamp(36.0, 160.0))
}

/// A_soft or A_net of one head as a texture, both on the head's own shared scale.
fn upload(ctx: &egui::Context, head: &HeadResult, net: bool) -> TextureHandle {
    let top = head
        .softmax_attention
        .iter()
        .chain(head.network_attention.iter())
        .fold(0.0f64, |m, v| if v.is_finite() { m.max(*v) } else { m });
    let scale = ColorScale::Sequential {
        min: 0.0,
        max: top.max(1e-9),
    };
    let matrix: &Array2<f64> = if net {
        &head.network_attention
    } else {
        &head.softmax_attention
    };
    let (rows, columns) = matrix.dim();
    let pixels = matrix.iter().map(|&v| scale.color(v)).collect();
    ctx.load_texture(
        format!("head {} {}", head.head, if net { "net" } else { "soft" }),
        ColorImage::new([columns, rows], pixels),
        TextureOptions::NEAREST,
    )
}

/// The accessible name of a finished head's cell.
pub fn cell_label(head: &HeadResult) -> String {
    let mut label = format!(
        "Head {} of layer {}: attn_tv {} ({}), calcium_corr {}",
        head.head,
        head.layer,
        theme::sig(head.metrics.attn_tv),
        Quality::of(head.metrics.attn_tv).word(),
        theme::sig(head.metrics.calcium_corr)
    );
    if let Some(equivalent) = learned_equivalent_text(head) {
        label.push_str(&format!(", learned ≈ random m {equivalent}"));
    }
    label
}

/// One head's cell; a click on it opens the head, a click inside one of its matrices picks
/// that query row (returned with whether Shift was held).
fn head_cell(
    ui: &mut egui::Ui,
    head: &HeadResult,
    size: egui::Vec2,
    side: f32,
    (soft, net): (&TextureHandle, &TextureHandle),
    tokens: &TokenSelection,
) -> (egui::Response, Option<(usize, bool)>) {
    let (rect, response) = ui.allocate_exact_size(size, Sense::click());
    let mut picked = None;
    let n = head.softmax_attention.nrows();
    let label = cell_label(head);
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
    let quality = Quality::of(head.metrics.attn_tv);
    let painter = ui.painter_at(rect);
    let tint = quality.color();
    painter.rect_filled(
        rect,
        6.0,
        Color32::from_rgba_unmultiplied(tint.r(), tint.g(), tint.b(), 26),
    );
    let border = if response.hovered() || response.has_focus() {
        Stroke::new(3.5, palette::CURSOR)
    } else {
        Stroke::new(2.0, tint)
    };
    painter.rect_stroke(rect.shrink(1.0), 6.0, border, egui::StrokeKind::Inside);
    let text = ui.visuals().text_color();
    let left = rect.left() + 10.0;
    painter.text(
        pos2(left, rect.top() + 6.0),
        Align2::LEFT_TOP,
        format!("Head {}", head.head),
        FontId::proportional(16.0),
        text,
    );
    painter.text(
        pos2(rect.right() - 10.0, rect.top() + 7.0),
        Align2::RIGHT_TOP,
        quality.word(),
        FontId::proportional(15.0),
        tint,
    );
    let top = rect.top() + 28.0;
    for (k, (name, texture)) in [("softmax", soft), ("network", net)]
        .into_iter()
        .enumerate()
    {
        let x = left + k as f32 * (side + 10.0);
        painter.text(
            pos2(x + side / 2.0, top),
            Align2::CENTER_TOP,
            name,
            FontId::proportional(12.5),
            theme::CAPTION,
        );
        let image = Rect::from_min_size(pos2(x, top + 16.0), vec2(side, side));
        painter.image(
            texture.id(),
            image,
            Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
            Color32::WHITE,
        );
        painter.rect_stroke(
            image,
            0.0,
            Stroke::new(1.0, Color32::GRAY),
            egui::StrokeKind::Outside,
        );
        if n > 0 {
            let row_height = side / n as f32;
            for &t in tokens.queries.iter().filter(|&&t| t < n) {
                let row = Rect::from_min_size(
                    pos2(image.left(), image.top() + t as f32 * row_height),
                    vec2(side, row_height),
                );
                painter.rect_stroke(
                    row,
                    0.0,
                    Stroke::new(2.0, SELECTED_TOKEN),
                    egui::StrokeKind::Middle,
                );
            }
            let rows = ui
                .interact(
                    image,
                    ui.scope_id().with(("head rows", head.head, k)),
                    Sense::click(),
                )
                .on_hover_cursor(egui::CursorIcon::Crosshair)
                .on_hover_text("Click a row to select that query in every view");
            if rows.clicked()
                && let Some(at) = rows.interact_pointer_pos()
            {
                let t = ((at.y - image.top()) / row_height).floor();
                if t >= 0.0 && (t as usize) < n {
                    picked = Some((t as usize, ui.input(|i| i.modifiers.shift)));
                }
            }
        }
    }
    let below = top + 16.0 + side + 6.0;
    painter.text(
        pos2(left, below),
        Align2::LEFT_TOP,
        format!("attn_tv {}", theme::sig(head.metrics.attn_tv)),
        FontId::proportional(14.5),
        text,
    );
    let calcium_text = painter.text(
        pos2(left, below + 18.0),
        Align2::LEFT_TOP,
        format!("calcium_corr {}", theme::sig(head.metrics.calcium_corr)),
        FontId::proportional(14.5),
        text,
    );
    painter.text(
        pos2(rect.right() - 10.0, below),
        Align2::RIGHT_TOP,
        format!("m_needed {}", m_needed_text(head)),
        FontId::proportional(12.5),
        theme::CAPTION,
    );
    if let Some(equivalent) = learned_equivalent_text(head) {
        // Under m_needed, in the longest wording that clears the calcium figure.
        let room = rect.right() - 10.0 - calcium_text.right() - 8.0;
        let font = FontId::proportional(12.5);
        let galley = [
            format!("learned ≈ random m {equivalent}"),
            format!("learned ≈ m {equivalent}"),
            format!("≈ m {equivalent}"),
        ]
        .into_iter()
        .map(|words| painter.layout_no_wrap(words, font.clone(), theme::CAPTION))
        .reduce(|fits, next| if fits.size().x <= room { fits } else { next })
        .expect("three wordings");
        if galley.size().x <= room {
            painter.galley(
                pos2(rect.right() - 10.0 - galley.size().x, below + 18.0),
                galley,
                theme::CAPTION,
            );
        }
    }
    let response = response
        .on_hover_cursor(egui::CursorIcon::PointingHand)
        .on_hover_text(format!(
            "Head {} of layer {} ({}, m = {}, {} mode)\n\
             attn_tv = {}: {} (good below {GOOD_TV}, poor from {POOR_TV})\n\
             calcium_corr = {}: how closely the astrocyte's calcium follows the softmax normaliser Z_t\n\
             m_needed = {}: {}\n{}\
             Click to open this head in the main view.",
            head.head,
            head.layer,
            head.variant,
            head.m,
            head.mode,
            theme::sig(head.metrics.attn_tv),
            Quality::of(head.metrics.attn_tv).word(),
            theme::sig(head.metrics.calcium_corr),
            m_needed_text(head),
            m_needed_help(head),
            learned_help(head),
        ));
    (response, picked)
}

/// m_needed of a head in short scientific form ("?" when the budget could not be fitted).
fn m_needed_text(head: &HeadResult) -> String {
    match head.budget {
        Some(fit) if fit.m_needed.is_finite() => format!("{:.1e}", fit.m_needed),
        _ => "?".to_string(),
    }
}

/// What m_needed means and how far to trust it, for the cell's hover text.
fn m_needed_help(head: &HeadResult) -> String {
    let spec = crate::sim::budget::BudgetSpec::grid();
    let Some(fit) = head.budget.filter(|fit| fit.m_needed.is_finite()) else {
        return "no budget (the sweep could not be fitted)".to_string();
    };
    format!(
        "random features for attn_tv {} by the fit attn_tv ≈ a·m^(−1/2) (a = {}, R² {}) over m = {}…{}, one seed; {}{}. `tripartite budget` gives it with more seeds and the astrocyte comparison.",
        spec.target,
        theme::sig(fit.amplitude),
        theme::sig(fit.r_squared),
        spec.ms.first().copied().unwrap_or_default(),
        spec.ms.last().copied().unwrap_or_default(),
        if fit.law_holds {
            "the 1/√m law holds over that range"
        } else {
            "the 1/√m law does NOT hold over that range (free slope "
        },
        if fit.law_holds {
            String::new()
        } else {
            format!("{})", theme::sig(fit.free_slope))
        },
    )
}

/// The random m that the head's budget fit says matches its learned network, in short
/// scientific form; None without a learned network (or a fit).
fn learned_equivalent_text(head: &HeadResult) -> Option<String> {
    let learned = head.learned.as_ref()?;
    Some(if learned.m_equivalent.is_finite() {
        format!("{:.1e}", learned.m_equivalent)
    } else {
        "?".to_string()
    })
}

/// The learned-against-random line of the hover text (empty without a learned network).
fn learned_help(head: &HeadResult) -> String {
    let Some(learned) = &head.learned else {
        return String::new();
    };
    format!(
        "learned ≈ random m {}: the learned network (m = {}) has attn_tv {} on this sentence \
         (algebraic mode); the same fit reaches that at random m = {} ({} by the free log-log \
         line). On the file's held-out sentences, measured when it was learned: learned {}, \
         random at the same m {}{}.\n",
        learned_equivalent_text(head).unwrap_or_default(),
        learned.m,
        theme::sig(learned.attn_tv),
        theme::sig(learned.m_equivalent),
        theme::sig(learned.m_equivalent_free),
        theme::sig(learned.held_out_tv),
        theme::sig(learned.held_out_tv_random),
        learned
            .held_out_random_large
            .map(|(m, tv)| format!(
                ", random at m = {} {}",
                theme::thousands(m as f64, 0),
                theme::sig(tv)
            ))
            .unwrap_or_default(),
    )
}

/// Whether `variant` has synapses for `head` of `layer`: always with random features; with a
/// learned projection, only for the heads its file holds.
fn learned_holds(variant: Variant, layer: usize, head: usize) -> bool {
    match variant.projection {
        crate::model::params::Projection::Learned(id) => {
            crate::model::learned::file(id).holds(layer, head)
        }
        _ => true,
    }
}

/// A head whose result has not arrived (still running, cancelled before it ran, or not held
/// by the learned file), with `state` saying which.
fn pending_cell(ui: &mut egui::Ui, head: usize, layer: usize, size: egui::Vec2, state: &str) {
    let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
    let label = format!("Head {head} of layer {layer}: {state}");
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &label));
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 6.0, crate::ui::widgets::colormap::EMPTY);
    painter.text(
        pos2(rect.left() + 10.0, rect.top() + 6.0),
        Align2::LEFT_TOP,
        format!("Head {head}"),
        FontId::proportional(16.0),
        theme::CAPTION,
    );
    painter.text(
        rect.center(),
        Align2::CENTER_CENTER,
        state,
        FontId::proportional(14.5),
        theme::CAPTION,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_fills_the_space_and_keeps_cells_legible() {
        // Wide and short: one row of six beats two rows of three.
        let (columns, side) = layout(6, 1200.0, 300.0);
        assert_eq!(columns, 6);
        assert!((36.0..=300.0 - CELL_PAD_Y).contains(&side), "{side}");
        // Twelve heads on a projector-sized area: a few rows, cells that fit.
        let (columns, side) = layout(12, 1260.0, 640.0);
        let rows = 12usize.div_ceil(columns);
        assert!(columns as f32 * (2.0 * side + CELL_PAD_X) <= 1260.0 + 1e-3);
        assert!(rows as f32 * (side + CELL_PAD_Y) <= 640.0 + 1e-3);
        assert!(side > 80.0, "{side}");
        // Never smaller than legible, even when it must scroll.
        assert_eq!(layout(144, 300.0, 200.0).1, 36.0);
    }

    #[test]
    fn quality_thresholds_and_nan() {
        assert_eq!(Quality::of(0.0), Quality::Good);
        assert_eq!(Quality::of(GOOD_TV), Quality::Fair);
        assert_eq!(Quality::of(POOR_TV - 1e-9), Quality::Fair);
        assert_eq!(Quality::of(POOR_TV), Quality::Poor);
        assert_eq!(Quality::of(f64::NAN), Quality::Poor);
    }
}
