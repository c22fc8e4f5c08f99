//! Every head of one layer at a glance: for each head the transformer's softmax attention
//! A_soft beside the network's A_net, its attn_tv and calcium_corr, and a good/fair/poor mark,
//! so a student sees which heads the neuron–astrocyte approximation handles and which it
//! does not. Each head is its own astrocyte. The runs happen on a [`BatchRunner`] thread.

use super::colormap::{ColorScale, palette};
use super::theme;
use crate::data::experiment::Experiment;
use crate::data::source::SourceSpec;
use crate::data::source::head_grid;
use crate::model::params::{Mode, Params};
use crate::sim::batch::{BatchEvent, BatchJob, BatchRunner, HeadResult, Variant};
use egui::{
    Align2, Color32, ColorImage, FontId, Rect, RichText, Sense, Stroke, TextureHandle,
    TextureOptions, pos2, vec2,
};
use ndarray::Array2;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// A head whose attn_tv is below this is approximated well.
pub const GOOD_TV: f64 = 0.15;
/// A head whose attn_tv is at or above this is approximated poorly.
pub const POOR_TV: f64 = 0.30;

/// How the cells are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HeadOrder {
    /// Head 0, 1, 2, …
    #[default]
    ByHead,
    /// Best approximated (lowest attn_tv) first.
    ByAttnTv,
}

impl HeadOrder {
    fn label(self) -> &'static str {
        match self {
            HeadOrder::ByHead => "by head index",
            HeadOrder::ByAttnTv => "by attn_tv (best first)",
        }
    }
}

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

/// (layers, heads per layer) of a source; None for sources with a single head.
type HeadGrid = Result<Option<(usize, usize)>, String>;

/// The results of one variant over one layer, and the setup they were computed for.
struct LayerRun {
    setup: Experiment,
    /// Sorted by head.
    heads: Vec<HeadResult>,
    total: usize,
    complete: bool,
}

/// The batch computing now.
struct Active {
    layer: usize,
    variant: Variant,
    runner: BatchRunner,
    done: usize,
    total: usize,
}

/// Small multiples of A_soft against A_net for every head of the chosen layer.
#[derive(Default)]
pub struct HeadsOverview {
    /// The layer shown; taken from the experiment on the first frame.
    layer: Option<usize>,
    order: HeadOrder,
    shown: Option<Variant>,
    force_algebraic: bool,
    runs: BTreeMap<(usize, Variant), LayerRun>,
    active: Option<Active>,
    queue: VecDeque<(usize, Variant, Experiment)>,
    message: Option<String>,
    grid: Option<(SourceSpec, HeadGrid)>,
    textures: HashMap<(usize, Variant, usize, bool), TextureHandle>,
}

/// The experiment a run of `variant` over `layer` uses, with what cannot change its results
/// normalised away, so that comparing two setups tells whether results are out of date.
fn setup_of(
    experiment: &Experiment,
    layer: usize,
    variant: Variant,
    force_algebraic: bool,
) -> Experiment {
    let mut setup = experiment.clone();
    setup.description = None;
    setup.params.layer = layer;
    setup.params.head = 0;
    variant.apply_to(&mut setup.params);
    if force_algebraic {
        setup.params.mode = Mode::Algebraic;
    }
    if setup.params.mode == Mode::Algebraic {
        // Time constants, slot lengths and rates do not enter the algebraic correspondence.
        let d = Params::default();
        let p = &mut setup.params;
        (p.tau_neuron, p.tau_process, p.tau_calcium) = (d.tau_neuron, d.tau_process, d.tau_calcium);
        (p.t_write, p.t_read, p.dt, p.eta, p.decay) = (d.t_write, d.t_read, d.dt, d.eta, d.decay);
    }
    setup
}

impl HeadsOverview {
    pub fn new() -> Self {
        Self::default()
    }

    /// The layer shown (None before the first frame or [`Self::set_layer`]). The app opens a
    /// clicked head as (this layer, the returned head).
    pub fn layer(&self) -> Option<usize> {
        self.layer
    }

    pub fn set_layer(&mut self, layer: usize) {
        self.layer = Some(layer);
    }

    pub fn set_order(&mut self, order: HeadOrder) {
        self.order = order;
    }

    /// Runs every head in algebraic mode whatever the experiment's mode (fast, exact limit).
    pub fn set_force_algebraic(&mut self, on: bool) {
        self.force_algebraic = on;
    }

    /// Whether a batch is computing.
    pub fn is_running(&self) -> bool {
        self.active.is_some()
    }

    /// The results so far for `variant` on the shown layer, sorted by head.
    pub fn heads(&self, variant: Variant) -> &[HeadResult] {
        self.layer
            .and_then(|layer| self.runs.get(&(layer, variant)))
            .map_or(&[], |run| run.heads.as_slice())
    }

    /// The last failure, if the last batch failed.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// Starts computing every head of the shown layer for each of `variants` in turn
    /// (replacing any batch in progress). The first variant becomes the one shown.
    pub fn run(&mut self, ctx: &egui::Context, experiment: &Experiment, variants: &[Variant]) {
        let layer = *self.layer.get_or_insert(experiment.params.layer);
        self.active = None;
        self.message = None;
        self.queue = variants
            .iter()
            .map(|&v| {
                (
                    layer,
                    v,
                    setup_of(experiment, layer, v, self.force_algebraic),
                )
            })
            .collect();
        if let Some(&first) = variants.first() {
            self.shown = Some(first);
        }
        self.start_next(ctx);
    }

    fn start_next(&mut self, ctx: &egui::Context) {
        let Some((layer, variant, setup)) = self.queue.pop_front() else {
            return;
        };
        self.runs.insert(
            (layer, variant),
            LayerRun {
                setup: setup.clone(),
                heads: Vec::new(),
                total: 0,
                complete: false,
            },
        );
        self.textures
            .retain(|key, _| (key.0, key.1) != (layer, variant));
        let setup_source = setup.source.clone();
        let ctx = ctx.clone();
        let runner = BatchRunner::start(
            BatchJob::AllHeads {
                experiment: setup,
                layer,
            },
            move || ctx.request_repaint(),
        );
        // The batch reports the head count too; the cached grid shows it from the first frame.
        let total = match &self.grid {
            Some((source, Ok(Some((_, heads))))) if *source == setup_source => *heads,
            _ => 0,
        };
        self.active = Some(Active {
            layer,
            variant,
            runner,
            done: 0,
            total,
        });
    }

    fn cancel(&mut self) {
        self.active = None;
        self.queue.clear();
    }

    /// Folds in what the batch sent since the last frame.
    fn poll(&mut self, ctx: &egui::Context) {
        let Some(active) = self.active.as_mut() else {
            return;
        };
        let key = (active.layer, active.variant);
        let mut ended = false;
        for event in active.runner.poll() {
            match event {
                BatchEvent::Progress { done, total } => {
                    active.done = done;
                    active.total = total;
                    if let Some(run) = self.runs.get_mut(&key) {
                        run.total = total;
                    }
                }
                BatchEvent::Head(head) => {
                    if let Some(run) = self.runs.get_mut(&key) {
                        let at = run.heads.partition_point(|h| h.head < head.head);
                        run.heads.insert(at, *head);
                    }
                }
                BatchEvent::Sweep(_) => {}
                BatchEvent::Finished => {
                    if let Some(run) = self.runs.get_mut(&key) {
                        run.complete = true;
                    }
                    ended = true;
                }
                BatchEvent::Cancelled => ended = true,
                BatchEvent::Failed(message) => {
                    self.message = Some(message);
                    self.queue.clear();
                    ended = true;
                }
            }
        }
        if ended {
            self.active = None;
            self.start_next(ctx);
        }
    }

    /// Layers and heads of the experiment's source, looked up once per source.
    fn grid(&mut self, source: &SourceSpec) -> HeadGrid {
        if self.grid.as_ref().is_none_or(|(s, _)| s != source) {
            let grid = head_grid(source).map_err(|e| e.to_string());
            self.grid = Some((source.clone(), grid));
        }
        self.grid
            .as_ref()
            .map(|(_, g)| g.clone())
            .unwrap_or(Ok(None))
    }

    /// Draws the view. Returns the head the user clicked, to open in the main view at
    /// [`Self::layer`].
    pub fn ui(&mut self, ui: &mut egui::Ui, experiment: &Experiment) -> Option<usize> {
        self.poll(ui.ctx());
        ui.label(theme::title("All heads of one layer"));
        let grid = match self.grid(&experiment.source) {
            Ok(Some(grid)) => grid,
            Ok(None) => {
                theme::caption(
                    ui,
                    "Each head is its own astrocyte. This view needs a real transformer: pick a \
                     bundled sentence or a model folder as the sequence (synthetic and .npy \
                     sequences have a single head).",
                );
                return None;
            }
            Err(message) => {
                ui.colored_label(theme::ERROR, message);
                return None;
            }
        };
        let (layers, heads) = grid;
        let layer = *self
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
        let shown = *self.shown.get_or_insert(Variant::of(&experiment.params));
        self.controls(ui, experiment, layers, heads, layer, shown);
        if let Some(message) = &self.message {
            ui.colored_label(theme::ERROR, RichText::new(message).size(15.0));
        }
        self.progress(ui);
        self.comparison(ui, experiment, layer);
        let current = setup_of(experiment, layer, shown, self.force_algebraic);
        let Some(run) = self.runs.get(&(layer, shown)) else {
            if self.active.is_none() {
                ui.label(format!(
                    "Press “Run all heads” to compare the {heads} heads of layer {layer} ({shown})."
                ));
            }
            return None;
        };
        if run.setup != current {
            ui.colored_label(
                theme::CAPTION,
                "These results were computed for other settings; press “Run all heads” to update them.",
            );
        }
        self.cells(ui, layer, shown, heads)
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
                self.layer = Some(chosen);
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
                self.shown = Some(variant);
                rerun = true;
            }

            let label = ui.label("Order");
            egui::ComboBox::from_id_salt("heads order")
                .selected_text(self.order.label())
                .show_ui(ui, |ui| {
                    for order in [HeadOrder::ByHead, HeadOrder::ByAttnTv] {
                        ui.selectable_value(&mut self.order, order, order.label());
                    }
                })
                .response
                .labelled_by(label.id);

            if experiment.params.mode == Mode::Dynamic {
                ui.checkbox(&mut self.force_algebraic, "Algebraic (fast)")
                    .on_hover_text(
                        "Run every head in the paper's algebraic limit instead of the dynamic \
                         mode, which integrates each head's whole schedule and takes longer.",
                    );
            }
        });
        ui.horizontal_wrapped(|ui| {
            let layer = self.layer.unwrap_or(layer);
            let variant = self.shown.unwrap_or(shown);
            if ui
                .add_enabled(self.active.is_none(), egui::Button::new("Run all heads"))
                .on_hover_text(format!(
                    "Run the experiment on each of the {heads} heads of layer {layer} ({variant})."
                ))
                .clicked()
            {
                self.run(&ctx, experiment, &[variant]);
            }
            if ui
                .add_enabled(self.active.is_none(), egui::Button::new("Compare variants"))
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
            if self.active.is_some() && ui.button("Cancel").clicked() {
                self.cancel();
            }
        });
        if rerun && self.active.is_none() {
            let (layer, variant) = (self.layer.unwrap_or(layer), self.shown.unwrap_or(shown));
            let current = setup_of(experiment, layer, variant, self.force_algebraic);
            let fresh = self
                .runs
                .get(&(layer, variant))
                .is_some_and(|run| run.setup == current);
            // Switching to a layer or variant already computed just shows it.
            if !fresh && !self.runs.is_empty() {
                self.run(&ctx, experiment, &[variant]);
            }
        }
    }

    fn progress(&self, ui: &mut egui::Ui) {
        let Some(active) = &self.active else {
            return;
        };
        let fraction = if active.total == 0 {
            0.0
        } else {
            active.done as f32 / active.total as f32
        };
        let queued = if self.queue.is_empty() {
            String::new()
        } else {
            format!(", {} more variant(s) queued", self.queue.len())
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
                let fresh = run.setup == setup_of(experiment, layer, *v, self.force_algebraic);
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
                    let selected = self.shown == Some(variant);
                    if ui
                        .selectable_label(selected, variant.to_string())
                        .on_hover_text("Show this variant's heads below.")
                        .clicked()
                    {
                        self.shown = Some(variant);
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
    ) -> Option<usize> {
        let run = self.runs.get(&(layer, variant))?;
        let mut order: Vec<usize> = (0..run.heads.len()).collect();
        if self.order == HeadOrder::ByAttnTv {
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
                                    let texture =
                                        |net: bool, textures: &mut HashMap<_, TextureHandle>| {
                                            textures
                                                .entry((layer, variant, head.head, net))
                                                .or_insert_with(|| upload(&ctx, head, net))
                                                .clone()
                                        };
                                    let soft = texture(false, textures);
                                    let net = texture(true, textures);
                                    if head_cell(ui, head, cell, side, &soft, &net).clicked() {
                                        clicked = Some(head.head);
                                    }
                                }
                                None => {
                                    let index = row * columns + k - order.len();
                                    pending_cell(ui, pending[index], layer, cell, running);
                                }
                            }
                        }
                    });
                }
            });
        clicked
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
    format!(
        "Head {} of layer {}: attn_tv {} ({}), calcium_corr {}",
        head.head,
        head.layer,
        theme::sig(head.metrics.attn_tv),
        Quality::of(head.metrics.attn_tv).word(),
        theme::sig(head.metrics.calcium_corr)
    )
}

fn head_cell(
    ui: &mut egui::Ui,
    head: &HeadResult,
    size: egui::Vec2,
    side: f32,
    soft: &TextureHandle,
    net: &TextureHandle,
) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(size, Sense::click());
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
    }
    let below = top + 16.0 + side + 6.0;
    painter.text(
        pos2(left, below),
        Align2::LEFT_TOP,
        format!("attn_tv {}", theme::sig(head.metrics.attn_tv)),
        FontId::proportional(14.5),
        text,
    );
    painter.text(
        pos2(left, below + 18.0),
        Align2::LEFT_TOP,
        format!("calcium_corr {}", theme::sig(head.metrics.calcium_corr)),
        FontId::proportional(14.5),
        text,
    );
    response
        .on_hover_cursor(egui::CursorIcon::PointingHand)
        .on_hover_text(format!(
            "Head {} of layer {} ({}, m = {}, {} mode)\n\
             attn_tv = {}: {} (good below {GOOD_TV}, poor from {POOR_TV})\n\
             calcium_corr = {}: how closely the astrocyte's calcium follows the softmax normaliser Z_t\n\
             Click to open this head in the main view.",
            head.head,
            head.layer,
            head.variant,
            head.m,
            head.mode,
            theme::sig(head.metrics.attn_tv),
            Quality::of(head.metrics.attn_tv).word(),
            theme::sig(head.metrics.calcium_corr),
        ))
}

/// A head whose result has not arrived (still running, or cancelled before it ran).
fn pending_cell(ui: &mut egui::Ui, head: usize, layer: usize, size: egui::Vec2, running: bool) {
    let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
    let state = if running { "running…" } else { "not run" };
    let label = format!("Head {head} of layer {layer}: {state}");
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &label));
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 6.0, super::colormap::EMPTY);
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

    #[test]
    fn setups_ignore_what_cannot_change_algebraic_results() {
        let mut a = Experiment::default();
        a.params.mode = Mode::Algebraic;
        let mut b = a.clone();
        b.params.tau_calcium = 7.0;
        b.params.head = 5;
        b.description = Some("other".into());
        let v = Variant::POSITIVE_IID;
        assert_eq!(setup_of(&a, 3, v, false), setup_of(&b, 3, v, false));
        b.params.m = 1024;
        assert_ne!(setup_of(&a, 3, v, false), setup_of(&b, 3, v, false));
        assert_ne!(setup_of(&a, 3, v, false), setup_of(&a, 2, v, false));
        // In dynamic mode the time constants matter, unless forced to algebraic.
        let mut c = Experiment::default();
        c.params.mode = Mode::Dynamic;
        let mut d = c.clone();
        d.params.tau_calcium = 7.0;
        assert_ne!(setup_of(&c, 3, v, false), setup_of(&d, 3, v, false));
        assert_eq!(setup_of(&c, 3, v, true), setup_of(&d, 3, v, true));
    }
}
