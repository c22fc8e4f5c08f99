//! The network graph: input, hidden and output neurons in columns, and the astrocyte whose
//! processes reach every tripartite synapse between hidden and output neurons.
//!
//! Fill shows activity, edge width |H_ij|, the marker at each tripartite synapse its process
//! p_ij. Drag pans, scrolling zooms, a double click resets the view; hovering gives exact
//! values and a click selects.

use crate::sim::{Command, RunHistory, Snapshot, SubsetMode, SubsetRequest};
use crate::ui::command::AppCommand;
use crate::ui::views::selection::{Selection, TokenSelection};
use crate::ui::widgets::colormap::{self, palette};
use crate::ui::widgets::theme;
use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Shape, Stroke, Vec2, pos2, vec2};

/// Something drawn in the graph that can be hovered or clicked.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Target {
    selection: Selection,
    center: Pos2,
    radius: f32,
}

/// One column of neurons: states, positions, how to select one, whether rates are signed.
type Layer<'a> = (
    &'a [crate::sim::NeuronState],
    &'a [Pos2],
    fn(usize) -> Selection,
    bool,
);

/// State of the graph view: pan, zoom and the shown subset's size.
pub struct GraphView {
    pan: Vec2,
    zoom: f32,
    request: SubsetRequest,
    sent: Option<SubsetRequest>,
    targets: Vec<Target>,
    /// Presentation mode: no caption or subset controls, the network gets the room.
    pub compact: bool,
    /// Drawn in a Live tile whose title bar names it: no title of its own, one-line caption.
    pub in_tile: bool,
}

impl Default for GraphView {
    fn default() -> Self {
        GraphView {
            pan: Vec2::ZERO,
            zoom: 1.0,
            request: SubsetRequest::default(),
            sent: None,
            targets: Vec::new(),
            compact: false,
            in_tile: false,
        }
    }
}

/// Where the layers sit, as fractions of the canvas width.
const INPUT_X: f32 = 0.07;
const HIDDEN_X: f32 = 0.40;
const OUTPUT_X: f32 = 0.93;
/// Fraction of the way from hidden to output neuron where the synapse marker sits.
const MARKER_AT: f32 = 0.8;
/// Fraction of the canvas height used by the neuron columns (the astrocyte sits below).
const COLUMNS_BOTTOM: f32 = 0.76;

/// Shown above the graph in algebraic mode.
pub const ALGEBRAIC_NOTE: &str =
    "Algebraic mode has no activity over time: the graph shows the structure only.";

impl GraphView {
    /// Screen position of an item as drawn in the last frame (for tests and the screenshot
    /// script).
    /// Back to the whole network in view (a newly loaded experiment starts here).
    pub fn reset_view(&mut self) {
        self.pan = Vec2::ZERO;
        self.zoom = 1.0;
    }

    /// The pan (points) and zoom factor, for tests.
    pub fn view(&self) -> (Vec2, f32) {
        (self.pan, self.zoom)
    }

    pub fn position_of(&self, selection: Selection) -> Option<Pos2> {
        self.targets
            .iter()
            .find(|t| t.selection == selection)
            .map(|t| t.center)
    }

    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        history: &RunHistory,
        selection: Option<Selection>,
        tokens: &TokenSelection,
        out: &mut Vec<AppCommand>,
    ) {
        if !self.in_tile {
            ui.label(theme::title("Network: neurons and one astrocyte"));
        }
        if !self.compact {
            let caption = if self.in_tile {
                theme::caption_line
            } else {
                theme::caption
            };
            caption(
                ui,
                "Colour: activity. Edge width: synapse strength H. The star is the astrocyte; \
                 its processes (dots) reach every hidden-to-output synapse.",
            );
        }
        let Some(snapshot) = history.snapshot.as_ref() else {
            ui.label("Starting the simulation…");
            return;
        };
        if !self.compact {
            self.subset_controls(ui, snapshot);
        }
        if let (Some(t), Some(run)) = (snapshot.subset.query, snapshot.run.as_ref())
            && !snapshot.subset.query_features.is_empty()
        {
            ui.label(
                egui::RichText::new(query_fill_caption(&run.tokens, t))
                    .size(13.0)
                    .color(crate::ui::widgets::heatmap::SELECTED_TOKEN),
            );
        }
        // A line of its own above the canvas: painted inside it, it covered the legend.
        if snapshot.run.as_ref().is_some_and(|run| !run.dynamic) {
            ui.add(
                egui::Label::new(
                    egui::RichText::new(ALGEBRAIC_NOTE)
                        .size(13.5)
                        .color(theme::ERROR),
                )
                .wrap(),
            );
        }
        // The selected query's φ(q̃_t) comes with the subset, for the hidden neurons' fill.
        self.request.query = tokens.first_query();
        if self.sent.as_ref() != Some(&self.request) {
            out.push(AppCommand::Worker(Command::SetSubset(self.request.clone())));
            self.sent = Some(self.request.clone());
        }
        // On a projector the how-to line gives its room to the graph, unless it names a
        // selection.
        let note_room = if self.compact && selection.is_none() {
            0.0
        } else {
            24.0
        };
        let size = ui.available_size() - vec2(0.0, note_room);
        let (rect, response) =
            ui.allocate_exact_size(size.max(vec2(100.0, 100.0)), Sense::click_and_drag());
        response
            .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "Network graph"));
        self.navigate(ui, &response, rect);
        crate::ui::regions::record(ui.ctx(), crate::ui::regions::Region::Graph, rect);
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 4.0, Color32::from_gray(252));
        self.draw(&painter, rect, snapshot, selection);

        let hovered = response
            .hover_pos()
            .and_then(|p| self.hit(p))
            .map(|t| t.selection);
        let mut selection = selection;
        if response.clicked() {
            let clicked = response
                .interact_pointer_pos()
                .and_then(|p| self.hit(p))
                .map(|t| t.selection);
            out.push(AppCommand::Select {
                before: selection,
                after: clicked,
            });
            // The note below already names the new choice.
            selection = clicked;
        }
        if let Some(item) = hovered {
            response.on_hover_ui_at_pointer(|ui| describe(ui, snapshot, item));
        }
        let note = match selection {
            // On a projector the traces may not be shown beside the graph.
            Some(item) if self.compact => format!("Selected: {}", item.describe()),
            Some(item) => format!("Selected: {} (traced on the right)", item.describe()),
            None if self.compact => return,
            None => "Click a neuron, a synapse marker or the astrocyte to trace it.".to_string(),
        };
        ui.label(egui::RichText::new(note).size(13.5));
    }

    fn subset_controls(&mut self, ui: &mut egui::Ui, snapshot: &Snapshot) {
        let Some(run) = snapshot.run.as_ref() else {
            return;
        };
        ui.horizontal_wrapped(|ui| {
            let sizes = run.sizes;
            let shown = snapshot.subset.hidden.len();
            let text = if shown < sizes.hidden {
                format!(
                    "showing {} of {} hidden neurons ({})",
                    theme::thousands(shown as f64, 0),
                    theme::thousands(sizes.hidden as f64, 0),
                    snapshot.subset.mode.label()
                )
            } else {
                format!("showing all {} hidden neurons", sizes.hidden)
            };
            ui.label(egui::RichText::new(text).strong());
            if sizes.hidden > self.request.max_hidden
                || sizes.inputs > self.request.max_inputs
                || sizes.outputs > self.request.max_outputs
            {
                egui::ComboBox::from_id_salt("subset mode")
                    .selected_text(self.request.mode.label())
                    .show_ui(ui, |ui| {
                        for mode in [SubsetMode::MostActive, SubsetMode::FixedSample] {
                            ui.selectable_value(&mut self.request.mode, mode, mode.label());
                        }
                    })
                    .response
                    .on_hover_text(
                        "Which neurons to draw when there are too many: the most active right \
                         now, or a fixed, evenly spaced sample.",
                    );
            }
            let label = ui.label("hidden shown");
            ui.add(egui::DragValue::new(&mut self.request.max_hidden).range(4..=96))
                .labelled_by(label.id)
                .on_hover_text("How many hidden neurons to draw (4–96).");
            if ui
                .button("Reset view")
                .on_hover_text("Undo pan and zoom (or double-click the graph).")
                .clicked()
            {
                self.pan = Vec2::ZERO;
                self.zoom = 1.0;
            }
        });
    }

    fn navigate(&mut self, ui: &egui::Ui, response: &egui::Response, rect: Rect) {
        if response.dragged() {
            self.pan += response.drag_delta();
        }
        if response.double_clicked() {
            self.pan = Vec2::ZERO;
            self.zoom = 1.0;
        }
        if response.hovered() {
            let (scroll, pinch) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
            let factor = pinch * (scroll * 0.003).exp();
            if (factor - 1.0).abs() > 1e-4 {
                let pointer = response.hover_pos().unwrap_or(rect.center());
                let new_zoom = (self.zoom * factor).clamp(0.3, 12.0);
                let applied = new_zoom / self.zoom;
                // Keep the point under the pointer fixed.
                let anchor = pointer - rect.center() - self.pan;
                self.pan -= anchor * (applied - 1.0);
                self.zoom = new_zoom;
            }
        }
    }

    fn hit(&self, pointer: Pos2) -> Option<&Target> {
        self.targets
            .iter()
            .filter(|t| t.center.distance(pointer) <= t.radius + 3.0)
            .min_by(|a, b| {
                a.center
                    .distance(pointer)
                    .total_cmp(&b.center.distance(pointer))
            })
    }

    fn draw(
        &mut self,
        painter: &egui::Painter,
        rect: Rect,
        snapshot: &Snapshot,
        selection: Option<Selection>,
    ) {
        self.targets.clear();
        // The key wraps in a narrow graph rather than running out of it, and the network is
        // drawn above it.
        let key = painter.layout(
            "fill: rate (input/output: blue negative, red positive) · edge width: |H| · dot \
             colour: process p"
                .to_owned(),
            FontId::proportional(12.5),
            Color32::from_gray(70),
            (rect.width() - 12.0).max(40.0),
        );
        let inner = rect.shrink2(vec2(12.0, 16.0));
        let inner = Rect::from_min_max(
            inner.min,
            pos2(
                inner.right(),
                (inner.bottom() - key.size().y).max(inner.top() + 40.0),
            ),
        );
        let zoom = self.zoom;
        let center = rect.center() + self.pan;
        let to_screen = |fx: f32, fy: f32| -> Pos2 {
            let p = pos2(
                inner.left() + fx * inner.width(),
                inner.top() + fy * inner.height(),
            );
            center + (p - rect.center()) * zoom
        };
        let subset = &snapshot.subset;
        let column = |count: usize, fx: f32| -> Vec<Pos2> {
            (0..count)
                .map(|k| {
                    let fy =
                        0.08 + (COLUMNS_BOTTOM - 0.08) * (k as f32 + 0.5) / count.max(1) as f32;
                    to_screen(fx, fy)
                })
                .collect()
        };
        let inputs = column(subset.inputs.len(), INPUT_X);
        let hidden = column(subset.hidden.len(), HIDDEN_X);
        let outputs = column(subset.outputs.len(), OUTPUT_X);
        let spacing =
            |count: usize| inner.height() * (COLUMNS_BOTTOM - 0.08) / count.max(1) as f32 * zoom;
        let radius = |count: usize| (spacing(count) * 0.36).clamp(2.5, 13.0 * zoom.sqrt());

        // Input → hidden: the fixed projection W, drawn faintly.
        let faint = Stroke::new(0.6, Color32::from_black_alpha(22));
        for a in &inputs {
            for b in &hidden {
                painter.line_segment([*a, *b], faint);
            }
        }
        // Hidden → output: H_ij, width by magnitude, colour by sign.
        let max_h =
            subset.synapse.iter().fold(
                0.0f64,
                |m, v| if v.is_finite() { m.max(v.abs()) } else { m },
            );
        let max_p = subset
            .process
            .iter()
            .fold(0.0f64, |m, v| if v.is_finite() { m.max(*v) } else { m });
        let astro_center = to_screen(0.5 * (HIDDEN_X + OUTPUT_X) - 0.03, 0.9);
        let mut processes = Vec::new();
        let mut markers = Vec::new();
        for (i, out_pos) in outputs.iter().enumerate() {
            for (j, hid_pos) in hidden.iter().enumerate() {
                let h = subset.synapse_at(i, j);
                let p = subset.process_at(i, j);
                let selected = selection
                    == Some(Selection::Synapse {
                        output: subset.outputs[i].index,
                        hidden: subset.hidden[j].index,
                    });
                let width = if max_h > 0.0 && h.is_finite() {
                    0.4 + 3.6 * (h.abs() / max_h) as f32
                } else {
                    0.5
                };
                let color = if h.is_finite() && max_h > 0.0 {
                    colormap::diverging((0.35 + 0.65 * h.abs() / max_h) * h.signum())
                } else {
                    Color32::from_gray(190)
                };
                painter.line_segment(
                    [*hid_pos, *out_pos],
                    Stroke::new(
                        if selected { width + 2.5 } else { width },
                        color.gamma_multiply(0.8),
                    ),
                );
                let marker = hid_pos.lerp(*out_pos, MARKER_AT);
                let fill = if max_p > 0.0 && p.is_finite() {
                    colormap::viridis(p / max_p)
                } else {
                    Color32::from_gray(170)
                };
                processes.push((marker, fill, selected));
                markers.push((marker, fill, selected));
                self.targets.push(Target {
                    selection: Selection::Synapse {
                        output: subset.outputs[i].index,
                        hidden: subset.hidden[j].index,
                    },
                    center: marker,
                    radius: 3.5 * zoom.sqrt(),
                });
            }
        }
        // The astrocyte's processes: one to every tripartite synapse.
        let alpha = if processes.len() > 100 { 0.16 } else { 0.3 };
        for (marker, _, selected) in &processes {
            let mid = pos2(
                0.5 * (astro_center.x + marker.x) + 0.12 * (marker.y - astro_center.y),
                0.5 * (astro_center.y + marker.y),
            );
            // A bent path (two segments) rather than a Bézier: as legible, far cheaper to draw.
            painter.add(Shape::line(
                vec![astro_center, mid, *marker],
                Stroke::new(
                    if *selected { 3.0 } else { 1.0 },
                    palette::CALCIUM.gamma_multiply(if *selected { 1.0 } else { alpha }),
                ),
            ));
        }
        for (marker, fill, selected) in &markers {
            let r = if *selected { 6.0 } else { 3.0 } * zoom.sqrt();
            painter.circle(
                *marker,
                r,
                *fill,
                Stroke::new(if *selected { 2.0 } else { 0.5 }, Color32::from_gray(40)),
            );
        }
        // The astrocyte: a star-shaped cell coloured by calcium relative to Z_t.
        let star_r = (inner.height() * 0.07 * zoom).clamp(10.0, 60.0);
        let calcium = snapshot.calcium;
        let z_now = snapshot
            .slot
            .filter(|s| s.phase == crate::model::schedule::Phase::Read)
            .and_then(|s| snapshot.run.as_ref().map(|r| r.normaliser[s.token]));
        let astro_fill = match (calcium.is_finite(), z_now) {
            (true, Some(z)) => colormap::viridis(calcium / (2.0 * z)),
            (true, None) => colormap::viridis(0.5 * calcium.clamp(0.0, 2.0)),
            _ => Color32::from_gray(200),
        };
        let points: Vec<Pos2> = (0..16)
            .map(|k| {
                let angle = k as f32 * std::f32::consts::TAU / 16.0 - std::f32::consts::FRAC_PI_2;
                let r = if k % 2 == 0 { star_r } else { star_r * 0.45 };
                astro_center + vec2(angle.cos(), angle.sin()) * r
            })
            .collect();
        let astro_selected = selection == Some(Selection::Astrocyte);
        crate::ui::regions::record(
            painter.ctx(),
            crate::ui::regions::Region::Astrocyte,
            Rect::from_center_size(astro_center, vec2(2.6, 2.6) * star_r)
                .intersect(painter.clip_rect()),
        );
        // Fill the star as triangles (it is not convex).
        let mut mesh = egui::Mesh::default();
        mesh.colored_vertex(astro_center, astro_fill);
        for p in &points {
            mesh.colored_vertex(*p, astro_fill);
        }
        for k in 0..16u32 {
            mesh.add_triangle(0, 1 + k, 1 + (k + 1) % 16);
        }
        painter.add(mesh);
        let mut outline = points.clone();
        outline.push(points[0]);
        painter.add(Shape::line(
            outline,
            Stroke::new(if astro_selected { 3.0 } else { 1.5 }, palette::CALCIUM),
        ));
        // Right of the star where it fits, else left of it, else under it: never cut by the
        // view's edge (a narrow tile on a projector).
        let galley = painter.layout_no_wrap(
            format!("astrocyte  c = {}", theme::sig(calcium)),
            FontId::proportional(13.0),
            Color32::from_gray(30),
        );
        let size = galley.size();
        let right = astro_center + vec2(star_r + 8.0, -size.y / 2.0);
        let left = astro_center - vec2(star_r + 8.0 + size.x, size.y / 2.0);
        let under = astro_center + vec2(-size.x / 2.0, star_r + 2.0);
        let at = if right.x + size.x <= rect.right() {
            right
        } else if left.x >= rect.left() {
            left
        } else {
            under
        };
        painter.galley(at, galley, Color32::from_gray(30));
        self.targets.push(Target {
            selection: Selection::Astrocyte,
            center: astro_center,
            radius: star_r * 0.8,
        });

        // Neurons.
        let layers: [Layer<'_>; 3] = [
            (&subset.inputs, &inputs, Selection::Input, true),
            (&subset.hidden, &hidden, Selection::Hidden, false),
            (&subset.outputs, &outputs, Selection::Output, true),
        ];
        // With a query selected, hidden neurons show φ(q̃_t) instead of their rate now.
        let by_query =
            subset.query_features.len() == subset.hidden.len() && !subset.query_features.is_empty();
        let max_feature = subset.query_features.iter().fold(0.0f64, |m, v| {
            if v.is_finite() { m.max(v.abs()) } else { m }
        });
        for (layer, (neurons, positions, make, signed)) in layers.into_iter().enumerate() {
            let max = neurons.iter().fold(0.0f64, |m, n| {
                if n.rate.is_finite() {
                    m.max(n.rate.abs())
                } else {
                    m
                }
            });
            let r = radius(neurons.len());
            for (k, (neuron, pos)) in neurons.iter().zip(positions).enumerate() {
                let feature = subset.query_features.get(k).copied();
                let fill = if layer == 1 && by_query {
                    let value = feature.unwrap_or(f64::NAN);
                    if value.is_finite() && max_feature > 0.0 {
                        colormap::viridis(value / max_feature)
                    } else {
                        Color32::from_gray(200)
                    }
                } else if !neuron.rate.is_finite() {
                    Color32::from_gray(200)
                } else if signed {
                    colormap::diverging(if max > 0.0 { neuron.rate / max } else { 0.0 })
                } else {
                    colormap::viridis(if max > 0.0 { neuron.rate / max } else { 0.0 })
                };
                let item = make(neuron.index);
                let selected = selection == Some(item);
                painter.circle(
                    *pos,
                    if selected { r + 2.0 } else { r },
                    fill,
                    Stroke::new(
                        if selected { 3.0 } else { 1.0 },
                        if selected {
                            palette::CURSOR
                        } else {
                            Color32::from_gray(60)
                        },
                    ),
                );
                self.targets.push(Target {
                    selection: item,
                    center: *pos,
                    radius: r,
                });
            }
        }
        // Column titles.
        let title_font = FontId::proportional(13.0);
        let text = Color32::from_gray(20);
        if let Some(run) = snapshot.run.as_ref() {
            let sizes = run.sizes;
            let columns = [
                (INPUT_X, "input u", "u", subset.inputs.len(), sizes.inputs),
                (HIDDEN_X, "hidden h", "h", subset.hidden.len(), sizes.hidden),
                (
                    OUTPUT_X,
                    "output y",
                    "y",
                    subset.outputs.len(),
                    sizes.outputs,
                ),
            ];
            let label = |title: &str, shown: usize, total: usize| {
                if shown < total {
                    format!("{title} {shown}/{}", theme::thousands(total as f64, 0))
                } else {
                    format!("{title} ({total})")
                }
            };
            // 0: long titles with counts, 1: symbols with counts, 2: symbols alone.
            let lay = |brevity: u8| {
                columns.map(|(_, long, brief, shown, total)| {
                    let title = match brevity {
                        0 => label(long, shown, total),
                        1 => label(brief, shown, total),
                        _ => brief.to_string(),
                    };
                    painter.layout_no_wrap(title, title_font.clone(), text)
                })
            };
            // The left title starts at the left edge, the middle one is centred on its
            // column and the right one ends at the right edge; in a narrow view the long
            // titles would run into each other, so they shorten to the symbols u, h and y with
            // their counts, and in a narrower one (a projector's) to the symbols alone.
            let fits = |galleys: &[std::sync::Arc<egui::Galley>; 3]| {
                let gap = 8.0;
                let middle = to_screen(HIDDEN_X, 0.0).x;
                let left_end = to_screen(0.0, 0.0).x + galleys[0].size().x + gap;
                let right_start = to_screen(1.0, 0.0).x - galleys[2].size().x - gap;
                left_end <= middle - galleys[1].size().x / 2.0
                    && middle + galleys[1].size().x / 2.0 <= right_start
            };
            let long = lay(0);
            let short = lay(1);
            let galleys = if fits(&long) {
                long
            } else if fits(&short) {
                short
            } else {
                lay(2)
            };
            for ((fx, ..), galley) in columns.iter().zip(galleys) {
                let (x, align) = if *fx < 0.2 {
                    (0.0, Align2::LEFT_TOP)
                } else if *fx > 0.8 {
                    (1.0, Align2::RIGHT_TOP)
                } else {
                    (*fx, Align2::CENTER_TOP)
                };
                let at = align.anchor_size(to_screen(x, 0.0), galley.size()).min;
                painter.galley(at, galley, text);
            }
        }
        let corner = rect.left_bottom() + vec2(6.0, -4.0 - key.size().y);
        painter.galley(corner, key, Color32::from_gray(70));
    }
}

/// The caption of the hidden layer's fill for query `t` (from 0): the token by its own label
/// and its place counted from 1, as the status line and the per-query window count. Kept to
/// one line at 1280 px (a wrapped caption pushes the graph down).
fn query_fill_caption(tokens: &[String], t: usize) -> String {
    format!(
        "Hidden fill: φ(q_t) for {}, the features its read slot drives",
        crate::ui::views::selection::token_name(tokens, t)
    )
}

/// Seven significant digits, in plain notation where that reads well.
fn exact(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 || (1e-3..1e6).contains(&magnitude) {
        format!("{value:.7}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        format!("{value:.6e}")
    }
}

/// Exact values of a hovered item.
fn describe(ui: &mut egui::Ui, snapshot: &Snapshot, item: Selection) {
    let subset = &snapshot.subset;
    ui.strong(item.describe());
    let hidden_pos = |j: usize| subset.hidden.iter().position(|n| n.index == j);
    let output_pos = |i: usize| subset.outputs.iter().position(|n| n.index == i);
    let line = |ui: &mut egui::Ui, symbol: &str, value: f64, meaning: &str| {
        ui.monospace(format!("{symbol} = {}", exact(value)));
        ui.label(
            egui::RichText::new(meaning)
                .size(12.0)
                .color(theme::CAPTION),
        );
    };
    match item {
        Selection::Input(k) => {
            if let Some(n) = subset.inputs.iter().find(|n| n.index == k) {
                line(ui, "u", n.rate, "input rate");
            }
        }
        Selection::Hidden(j) => {
            if let Some(p) = hidden_pos(j) {
                line(ui, "h", subset.hidden[p].rate, "hidden rate");
                line(
                    ui,
                    "g",
                    subset.presynaptic[p],
                    "its weight onto the astrocyte",
                );
                if let Some(&feature) = subset.query_features.get(p) {
                    line(ui, "φ(q_t)", feature, "its feature for the selected query");
                }
            }
        }
        Selection::Output(i) => {
            if let Some(p) = output_pos(i) {
                line(ui, "y", subset.outputs[p].rate, "output rate");
            }
        }
        Selection::Synapse { output, hidden } => {
            if let (Some(i), Some(j)) = (output_pos(output), hidden_pos(hidden)) {
                line(ui, "H", subset.synapse_at(i, j), "synaptic weight");
                line(ui, "p", subset.process_at(i, j), "astrocyte process");
            }
        }
        Selection::Astrocyte => {
            line(ui, "c", snapshot.calcium, "calcium, in normaliser units");
            if let Some(slot) = snapshot
                .slot
                .filter(|s| s.phase == crate::model::schedule::Phase::Read)
                && let Some(run) = snapshot.run.as_ref()
            {
                line(
                    ui,
                    "Z_t",
                    run.normaliser[slot.token],
                    "softmax normaliser of this query",
                );
            }
        }
    }
    ui.label(egui::RichText::new("Click to select and trace it.").italics());
}
