//! Traces over simulated time: the astrocyte's calcium against the softmax normaliser Z_t of
//! each read slot, and the traces of the selected items, over shaded write and read slots.

use crate::model::schedule::{Phase, Slot};
use crate::sim::{RunHistory, RunInfo, RunState, TraceSample};
use crate::ui::command::AppCommand;
use crate::ui::views::selection::{Selection, TokenAxis, TokenSelection};
use crate::ui::widgets::colormap::palette;
use crate::ui::widgets::heatmap::SELECTED_TOKEN;
use crate::ui::widgets::theme;
use egui::{Color32, RichText};
use egui_plot::{AxisHints, Line, LineStyle, Plot, PlotPoints, Span, VLine};

/// Most points drawn per line; longer histories are thinned evenly.
const MAX_POINTS: usize = 1500;
/// Above this many visible slots, slots are not shaded one by one.
const MAX_SHADED_SLOTS: usize = 240;
/// Height of the selection's heading above its legend, and of one legend row (points).
const HEADING_HEIGHT: f32 = 26.0;
const LEGEND_ROW: f32 = 19.0;
/// Size of a selection legend entry's text.
const LEGEND_TEXT: f32 = 12.5;
/// Height (points) of the row of slot names egui_plot draws along the top of the plot's frame.
const SLOT_NAMES_HEIGHT: f32 = 20.0;
/// The calcium plot keeps at least this height (points, with its time axis) when a probe is
/// selected.
pub const MIN_CALCIUM_HEIGHT: f32 = 130.0;
/// The same in a Live tile, which does not scroll: both plots must fit its height.
const MIN_CALCIUM_HEIGHT_IN_TILE: f32 = 90.0;
/// The selected traces' least height in a Live tile.
const SELECTED_MIN_HEIGHT_IN_TILE: f32 = 45.0;
/// The selected traces' plot keeps at least this height, scrolling when the row is short.
const SELECTED_MIN_HEIGHT: f32 = 60.0;

/// What the calcium plot should show, for its caption (or its tile's hover text).
pub const TRACES_CAPTION: &str =
    "Calcium (orange) should settle on Z_t (dashed) in each read slot (blue).";

#[derive(Default)]
pub struct TracesView {
    /// Presentation mode: no caption, thicker lines.
    pub compact: bool,
    /// Drawn in a Live tile whose title bar names it: no title of its own, one-line caption.
    pub in_tile: bool,
}

impl TracesView {
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        history: &RunHistory,
        selection: Option<Selection>,
        tokens: &TokenSelection,
        out: &mut Vec<AppCommand>,
    ) {
        if !self.in_tile {
            ui.label(theme::title("Calcium vs softmax normaliser"));
        }
        // In a tile the caption is the title's hover text: the plot gets the line.
        if !self.compact && !self.in_tile {
            theme::caption(ui, TRACES_CAPTION);
        }
        let thick = if self.compact { 1.6 } else { 1.0 };
        let Some(snapshot) = history.snapshot.as_ref() else {
            return;
        };
        let Some(run) = snapshot.run.clone() else {
            ui.colored_label(theme::ERROR, "No simulation: see the message above.");
            return;
        };
        if !run.dynamic {
            ui.label(
                "Algebraic mode computes each read at once and has no time axis: switch Mode to \
                 dynamic to watch the astrocyte integrate.",
            );
            return;
        }
        let samples: Vec<&TraceSample> = thin(history.samples.iter().collect());
        // The peak of every sample, not of the thinned line: the legend quotes it.
        let peak = history
            .samples
            .iter()
            .map(|s| s.calcium)
            .filter(|c| c.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        // Scale y to Z_t, which calcium should meet in the read slots; the large transients
        // while writing are clipped (zoom out with the mouse to see them).
        let y_top = 2.0
            * run
                .normaliser
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .fold(1e-9, f64::max);
        // Say when the calcium leaves the top, so that no one misreads a clipped line.
        let clipped = (peak > y_top).then_some(peak);
        // Two rows whatever they hold this frame, so that the plot below never moves.
        // Exactly two rows, close together (the plot is what needs the height): a row of
        // monospace values is taller than one of words, and must not push the plot.
        let (rows, _) = ui.allocate_exact_size(
            egui::vec2(ui.available_width(), 2.0 * LEGEND_ROW),
            egui::Sense::hover(),
        );
        let mut legend_ui = ui.new_child(egui::UiBuilder::new().max_rect(rows));
        legend_ui.set_clip_rect(rows.intersect(ui.clip_rect()));
        legend_ui.spacing_mut().item_spacing.y = 1.0;
        legend(&mut legend_ui, snapshot.calcium, snapshot.slot, &run);
        selected_tokens(ui, history, &run, tokens);
        let total = run.total_ms.max(1.0);
        let now = snapshot.time_ms;
        let selected_probes = selection.map(|s| s.probes()).unwrap_or_default();
        // A tile does not scroll: with a selection, keep the spacing between the two plots
        // and the selection's heading inside it.
        let height = ui.available_height()
            - if self.in_tile && !selected_probes.is_empty() {
                80.0
            } else {
                0.0
            };
        // With a selection, the calcium plot and the selected traces share the height, after
        // the selection's heading and its legend (one line or more, as it wraps).
        // In a tile the graph's own note says how to trace a neuron: the plot takes the line.
        let top_height = if selected_probes.is_empty() {
            height - if self.in_tile { 0.0 } else { 40.0 }
        } else {
            let names: Vec<String> = selected_probes
                .iter()
                .map(|p| format!("{} (0.0000)", p.label()))
                .collect();
            let header = HEADING_HEIGHT + LEGEND_ROW * legend_rows(ui, &names) as f32;
            // The calcium plot is the one the hypothesis is about: it gets the larger share,
            // and never less than a readable height while the selected plot keeps a sliver.
            // When the row is short the selected traces scroll below it.
            let shared = height - header;
            // Both plots in sight whenever the row can hold them at their smallest.
            (shared * 0.55)
                .min(shared - SELECTED_MIN_HEIGHT - 8.0)
                .max(if self.in_tile {
                    MIN_CALCIUM_HEIGHT_IN_TILE
                } else {
                    MIN_CALCIUM_HEIGHT
                })
        };

        let calcium: Vec<[f64; 2]> = samples.iter().map(|s| [s.time_ms, s.calcium]).collect();
        let run_for_plot = run.clone();
        let marked = tokens.clone();
        // A new build gets a new plot (and so its own y range).
        let response = Plot::new(format!("calcium trace {}", snapshot.generation))
            .height(top_height.max(80.0))
            .include_x(0.0)
            .include_x(total)
            .auto_bounds([true, false])
            .default_y_bounds(-0.03 * y_top, y_top)
            .custom_x_axes(vec![time_axis()])
            .custom_y_axes(vec![value_axis("c, Z_t")])
            // In a tile with a selection the traces below carry the (linked) time axis: the
            // calcium keeps its drawing height.
            .show_axes([!self.in_tile || selected_probes.is_empty(), true])
            .y_grid_spacer(egui_plot::uniform_grid_spacer(nice_steps))
            .link_axis(time_link(), [true, false])
            .allow_scroll(false)
            .show(ui, move |plot| {
                let bounds = plot.plot_bounds();
                shade_slots(plot, &run_for_plot, bounds.min()[0], bounds.max()[0], true);
                plot.line(
                    Line::new("calcium c(t)", PlotPoints::new(calcium))
                        .color(palette::CALCIUM)
                        .width(2.5 * thick),
                );
                // Z_t over the calcium: where they agree, the dashes stay visible on the orange.
                for segment in normaliser_segments(&run_for_plot, bounds.min()[0], bounds.max()[0])
                {
                    plot.line(
                        Line::new("", PlotPoints::new(segment))
                            .color(palette::NORMALISER)
                            .style(LineStyle::dashed_loose())
                            .width(2.0 * thick),
                    );
                }
                mark_tokens(plot, &run_for_plot, &marked);
                plot.vline(VLine::new("", now).color(palette::CURSOR).width(1.5));
                // A click on a slot selects its token: a read slot its query, a write slot its key.
                plot.response()
                    .clicked()
                    .then(|| plot.pointer_coordinate())
                    .flatten()
                    .and_then(|at| slot_at(&run_for_plot, at.x))
            });
        response.response.widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::Canvas, true, "Calcium and normaliser traces")
        });
        if let Some((axis, index)) = response.inner {
            let add = ui.input(|i| i.modifiers.shift);
            out.push(AppCommand::SelectTokens {
                before: tokens.clone(),
                after: tokens.clicked(axis, index, add),
            });
        }
        crate::ui::regions::record(
            ui.ctx(),
            crate::ui::regions::Region::CalciumPlot,
            response.response.rect,
        );
        if let Some(peak) = clipped {
            clipped_note(ui, *response.transform.frame(), peak);
        }
        crate::ui::regions::record(
            ui.ctx(),
            crate::ui::regions::Region::ZLine,
            crate::ui::regions::z_line(&response.transform, &run.normaliser),
        );

        if selected_probes.is_empty() {
            if self.in_tile {
                return;
            }
            if selection == Some(Selection::Astrocyte) {
                ui.label("The astrocyte is selected: its calcium is the orange line above.");
            } else {
                ui.label("Select a neuron or synapse in the graph to trace it here.");
            }
            return;
        }
        egui::ScrollArea::vertical()
            .id_salt("selected traces")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                // Each trace is scaled to its own peak: rates, weights and processes differ by orders of
                // magnitude, and the shapes are what matter here.
                let series: Vec<(String, Vec<[f64; 2]>)> = selected_probes
                    .iter()
                    .map(|probe| {
                        let points: Vec<[f64; 2]> = samples
                            .iter()
                            .filter_map(|s| {
                                s.probes
                                    .iter()
                                    .find(|(p, _)| p == probe)
                                    .map(|(_, v)| [s.time_ms, *v])
                            })
                            .collect();
                        let peak = points.iter().fold(0.0f64, |m, p| {
                            if p[1].is_finite() {
                                m.max(p[1].abs())
                            } else {
                                m
                            }
                        });
                        let scale = if peak > 0.0 { 1.0 / peak } else { 1.0 };
                        // No samples is not a value of zero.
                        let name = if points.is_empty() {
                            format!("{} (not recorded yet)", probe.label())
                        } else {
                            format!("{} ({})", probe.label(), theme::sig(peak))
                        };
                        (
                            name,
                            points.into_iter().map(|p| [p[0], p[1] * scale]).collect(),
                        )
                    })
                    .collect();
                let first = series.iter().find_map(|(_, pts)| pts.first().map(|p| p[0]));
                let since = match first {
                    Some(t) if t > 0.01 * total => {
                        format!(" (since t = {} ms, when selected)", theme::thousands(t, 1))
                    }
                    Some(_) => String::new(),
                    // Traces are recorded from when an item is selected.
                    None if snapshot.state == RunState::Finished => format!(
                        " (since t = {} ms, when selected: the run has finished, so nothing is \
                         recorded; Reset and Run to trace it)",
                        theme::thousands(now, 1)
                    ),
                    None => format!(
                        " (since t = {} ms, when selected: recorded as the run goes on)",
                        theme::thousands(now, 1)
                    ),
                };
                let what = selection.map(|s| s.describe()).unwrap_or_default();
                ui.label(
                    RichText::new(format!("Selected: {what}{since}"))
                        .strong()
                        .size(14.0),
                )
                .on_hover_text("Each trace is scaled to its own peak (shown in brackets).");
                ui.horizontal_wrapped(|ui| {
                    for (k, (name, _)) in series.iter().enumerate() {
                        // Marker and name wrap together.
                        if ui.available_size_before_wrap().x < legend_item_width(ui, name) {
                            ui.end_row();
                        }
                        ui.horizontal(|ui| {
                            let (rect, _) =
                                ui.allocate_exact_size(egui::vec2(14.0, 4.0), egui::Sense::hover());
                            ui.painter().rect_filled(
                                rect,
                                1.0,
                                palette::SERIES[k % palette::SERIES.len()],
                            );
                            ui.label(RichText::new(name).size(LEGEND_TEXT));
                        });
                    }
                });
                let run_for_plot = run.clone();
                let room = ui.available_height() - 4.0;
                // In a short row the time axis goes (the calcium plot above shows the same,
                // linked), so the traces keep their drawing height.
                let time_labels = room >= 2.0 * SELECTED_MIN_HEIGHT;
                let response = Plot::new("selected traces")
                    .height(room.max(if self.in_tile {
                        SELECTED_MIN_HEIGHT_IN_TILE
                    } else {
                        SELECTED_MIN_HEIGHT
                    }))
                    .show_axes([time_labels, true])
                    .include_x(0.0)
                    .include_x(total)
                    .custom_x_axes(vec![time_axis()])
                    .custom_y_axes(vec![value_axis("÷ peak")])
                    .link_axis(time_link(), [true, false])
                    .allow_scroll(false)
                    .show(ui, move |plot| {
                        let bounds = plot.plot_bounds();
                        shade_slots(plot, &run_for_plot, bounds.min()[0], bounds.max()[0], false);
                        for (k, (name, points)) in series.into_iter().enumerate() {
                            plot.line(
                                Line::new(name, PlotPoints::new(points))
                                    .color(palette::SERIES[k % palette::SERIES.len()])
                                    .width(2.0),
                            );
                        }
                        plot.vline(VLine::new("", now).color(palette::CURSOR).width(1.5));
                    });
                response.response.widget_info(|| {
                    egui::WidgetInfo::labeled(egui::Role::Canvas, true, "Selected item traces")
                });
            });
    }
}

/// The token of the slot at `time_ms`: a read slot's query or a write slot's key.
fn slot_at(run: &RunInfo, time_ms: f64) -> Option<(TokenAxis, usize)> {
    run.slots.iter().find_map(|slot| {
        let (start, end) = slot_ms(run, slot);
        (start <= time_ms && time_ms < end).then_some((
            if slot.phase == Phase::Read {
                TokenAxis::Query
            } else {
                TokenAxis::Key
            },
            slot.token,
        ))
    })
}

/// Outlines the read slot of each selected query and the write slot of each selected key.
fn mark_tokens(plot: &mut egui_plot::PlotUi<'_>, run: &RunInfo, tokens: &TokenSelection) {
    for slot in &run.slots {
        let selected = match slot.phase {
            Phase::Read => tokens.has_query(slot.token),
            Phase::Write => tokens.has_key(slot.token),
        };
        if !selected {
            continue;
        }
        let (start, end) = slot_ms(run, slot);
        plot.span(
            Span::new("", start..=end)
                .fill(SELECTED_TOKEN.gamma_multiply(0.12))
                .border_color(SELECTED_TOKEN)
                .border_width(2.5),
        );
    }
}

/// One line per selected token: a query's c_t, Z_t and c_t / Z_t once its read slot is done; a
/// key's write slot and the calcium it added (when recorded).
fn selected_tokens(
    ui: &mut egui::Ui,
    history: &RunHistory,
    run: &RunInfo,
    tokens: &TokenSelection,
) {
    if tokens.is_empty() {
        return;
    }
    let name = |i: usize| run.tokens.get(i).map_or("?", String::as_str);
    let text = |t: String| RichText::new(t).size(13.0).color(SELECTED_TOKEN).strong();
    ui.horizontal_wrapped(|ui| {
        for &t in tokens.queries.iter().filter(|&&t| t < run.tokens.len()) {
            let z = run.normaliser[t];
            let done = history.rows_done.get(t).copied().unwrap_or(false);
            let line = match history.row_calcium.get(t).filter(|_| done) {
                Some(&c) => format!(
                    "read slot {} '{}': c_t = {}, Z_t = {}, c_t / Z_t = {}",
                    t + 1,
                    name(t),
                    theme::sig(c),
                    theme::sig(z),
                    theme::sig(c / z)
                ),
                None => format!(
                    "read slot {} '{}': Z_t = {}, c_t not read yet",
                    t + 1,
                    name(t),
                    theme::sig(z)
                ),
            };
            ui.label(text(line)).on_hover_text(
                "c_t: the calcium at the end of read slot t; Z_t: the softmax normaliser the \
                 calcium should meet; their ratio is 1 when the astrocyte tracks Z_t",
            );
        }
        for &tau in tokens.keys.iter().filter(|&&tau| tau < run.tokens.len()) {
            let line = match write_contribution(history, run, tau) {
                Some(rise) => format!(
                    "write slot {} '{}': calcium rose by {} while it was written",
                    tau + 1,
                    name(tau),
                    theme::sig(rise)
                ),
                None if written(history, run, tau) => format!(
                    "write slot {} '{}': its calcium was not recorded (Reset and Run to see it)",
                    tau + 1,
                    name(tau)
                ),
                None => format!("write slot {} '{}': not written yet", tau + 1, name(tau)),
            };
            ui.label(text(line)).on_hover_text(
                "Writing key τ adds φ(k_τ) to the presynaptic trace g, and the calcium rises by \
                 its share of every Z_t",
            );
        }
    });
}

/// Whether the run is past write slot `tau`.
fn written(history: &RunHistory, run: &RunInfo, tau: usize) -> bool {
    let now = history.snapshot.as_ref().map_or(0.0, |s| s.time_ms);
    run.slots
        .iter()
        .find(|s| s.phase == Phase::Write && s.token == tau)
        .is_some_and(|slot| slot_ms(run, slot).1 <= now)
}

/// How much the calcium rose over write slot `tau` (normaliser units), from the recorded
/// samples; `None` until the slot has been written and recorded.
fn write_contribution(history: &RunHistory, run: &RunInfo, tau: usize) -> Option<f64> {
    let slot = run
        .slots
        .iter()
        .find(|s| s.phase == Phase::Write && s.token == tau)?;
    let (start, end) = slot_ms(run, slot);
    let mut inside = history
        .samples
        .iter()
        .filter(|s| s.time_ms >= start - 1e-9 && s.time_ms <= end + 1e-9);
    let first = inside.next()?;
    let last = inside.next_back()?;
    (last.time_ms >= end - 2.0 * (end - start) / slot.steps.max(1) as f64)
        .then_some(last.calcium - first.calcium)
}

/// The calcium plot and the selected traces share their time axis (zoom one, both follow).
fn time_link() -> egui::Id {
    egui::Id::unique("tripartite traces time axis")
}

/// Spacing (points) between tick labels on the time axis: closer than egui_plot's default, so
/// narrow plots still show numbers. egui_plot fades labels spaced inside the range; an empty
/// range draws every label at full contrast (4.5:1, tested in `theme`) or hides it.
pub const TIME_TICK_SPACING: std::ops::RangeInclusive<f32> = 40.0..=40.0;
/// The same for the value axis: a short calcium plot still gets ticks every 10 or 20 units
/// (with a wide fade band it showed only the 0).
pub const VALUE_TICK_SPACING: std::ops::RangeInclusive<f32> = 16.0..=16.0;

/// Steps of 1, 2 or 5 × 10^k for the value axis: egui_plot's default (powers of ten) left a
/// short calcium plot with a lone 0 tick, since 10 was too dense to label and 100 off the plot.
fn nice_steps(input: egui_plot::GridInput) -> [f64; 3] {
    let first = nice_at_least(input.base_step_size);
    let second = nice_at_least(first * 2.0);
    // Each step a multiple of the finer ones, so labels of two levels never sit 10 apart.
    [first, second, second * 10.0]
}

/// The smallest of 1, 2 or 5 × 10^k that is at least `x` (x > 0).
fn nice_at_least(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    let decade = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * decade)
        .find(|&step| step >= x * (1.0 - 1e-9))
        .unwrap_or(10.0 * decade)
}

fn time_axis() -> AxisHints<'static> {
    AxisHints::new_x()
        .label("simulated time (ms)")
        .label_spacing(TIME_TICK_SPACING)
}

/// Width (points) kept for a value axis's label and tick numbers ("0.0125" fits).
const VALUE_AXIS_WIDTH: f32 = 56.0;

fn value_axis(label: &str) -> AxisHints<'static> {
    // A fixed width for the tick labels: the plot must not shift sideways as the values grow
    // during a run (issue 23 §2).
    AxisHints::new_y()
        .label(label.to_string())
        .label_spacing(VALUE_TICK_SPACING)
        .min_thickness(VALUE_AXIS_WIDTH)
}

/// The legend, with the present calcium beside the normaliser it should meet as numbers: the
/// plot can be small on a projector, and the numbers answer "does it track?" at a glance.
fn legend(ui: &mut egui::Ui, calcium: f64, slot: Option<Slot>, run: &RunInfo) {
    let text = |t: &str| RichText::new(t).size(13.0);
    let value = |v: f64| RichText::new(theme::sig(v)).size(13.0).monospace().strong();
    // Words and numbers of one entry form one label, so that the row wraps between entries.
    let joined = |ui: &egui::Ui, parts: Vec<RichText>| {
        let mut job = egui::text::LayoutJob::default();
        for part in parts {
            part.append_to(
                &mut job,
                ui.style(),
                egui::FontSelection::Default,
                egui::Align::Center,
            );
        }
        job
    };
    // A coloured marker and its entry, moved to a new row together when they do not fit.
    let entry = |ui: &mut egui::Ui, color: Color32, job: egui::text::LayoutJob| {
        let width =
            14.0 + ui.spacing().item_spacing.x + ui.painter().layout_job(job.clone()).size().x;
        let left = ui.available_size_before_wrap().x;
        if width > left && left < ui.max_rect().width() - 1.0 {
            ui.end_row();
        }
        let (rect, _) = ui.allocate_exact_size(egui::vec2(14.0, 10.0), egui::Sense::hover());
        ui.painter().rect_filled(rect, 2.0, color);
        ui.label(job)
    };
    ui.horizontal_wrapped(|ui| {
        let reading = slot.filter(|s| s.phase == Phase::Read);
        let z = reading.and_then(|s| run.normaliser.get(s.token).copied());
        let job = joined(ui, vec![text("calcium c = "), value(calcium)]);
        entry(ui, palette::CALCIUM, job).on_hover_text(
            "The astrocyte's calcium now, in softmax-normaliser units (c / η T_write)",
        );
        let normaliser = match z {
            Some(z) => vec![text("Z_t = "), value(z), text(" (dashed)")],
            None => vec![text("Z_t (dashed)")],
        };
        let job = joined(ui, normaliser);
        entry(ui, palette::NORMALISER, job)
            .on_hover_text("The softmax normaliser Σ_τ exp(q_t·k_τ/√D) of the read slot now");
        match (z, slot) {
            (Some(z), _) => {
                ui.label(joined(ui, vec![text("c / Z_t = "), value(calcium / z)]))
                    .on_hover_text(
                        "1 when the astrocyte's calcium equals the softmax normaliser of this read",
                    );
            }
            (None, Some(slot)) => {
                let token = run.tokens.get(slot.token).map_or("", String::as_str);
                ui.label(text(&format!("writing '{token}': no Z_t to meet")))
                    .on_hover_text("While writing, calcium integrates the keys written so far");
            }
            (None, None) => {}
        }
        for (color, name) in [
            (palette::WRITE.gamma_multiply(0.5), "write slot"),
            (palette::READ.gamma_multiply(0.6), "read slot"),
            (palette::CURSOR, "now"),
        ] {
            let job = joined(ui, vec![text(name)]);
            entry(ui, color, job);
        }
    });
}

/// "c peaks off the top, at 1891" in the top right corner of the plot's frame, under the row of
/// slot names (it used to cover them): a note inside the plot, so that the legend above keeps
/// its height when it appears.
fn clipped_note(ui: &mut egui::Ui, frame: egui::Rect, peak: f64) {
    let text = format!("c peaks off the top, at {}", theme::sig(peak));
    let size = egui::vec2(frame.width().min(220.0), 18.0);
    let at = egui::Rect::from_min_size(
        egui::pos2(
            frame.right() - size.x - 4.0,
            frame.top() + SLOT_NAMES_HEIGHT,
        ),
        size,
    );
    // A child of its own: `ui.put` would move the layout's cursor up into the plot, and the
    // selection's heading below would be drawn over it.
    ui.new_child(egui::UiBuilder::new().max_rect(at))
        .add(
            egui::Label::new(
                RichText::new(text)
                    .size(12.5)
                    .background_color(ui.visuals().extreme_bg_color),
            )
            .truncate(),
        )
        .on_hover_text(
            "The y range follows Z_t, which calcium should meet while reading; the large \
         transients while writing go off the top. Drag the plot down to see them.",
        );
}

/// Rows the selection legend takes when `ui.horizontal_wrapped` lays out `names`.
fn legend_rows(ui: &egui::Ui, names: &[String]) -> usize {
    let width = ui.available_width().max(1.0);
    let spacing = ui.spacing().item_spacing.x;
    let mut rows = 1;
    let mut x = 0.0;
    for name in names {
        let item = legend_item_width(ui, name) + spacing;
        if x > 0.0 && x + item > width {
            rows += 1;
            x = 0.0;
        }
        x += item;
    }
    rows
}

/// Width of one selection legend entry: marker, gap and name.
fn legend_item_width(ui: &egui::Ui, name: &str) -> f32 {
    let text = ui
        .painter()
        .layout_no_wrap(
            name.to_owned(),
            egui::FontId::proportional(LEGEND_TEXT),
            Color32::BLACK,
        )
        .size()
        .x;
    14.0 + ui.spacing().item_spacing.x + text
}

/// Keeps at most [`MAX_POINTS`] samples, evenly spaced, always with the newest.
fn thin(samples: Vec<&TraceSample>) -> Vec<&TraceSample> {
    if samples.len() <= MAX_POINTS {
        return samples;
    }
    let every = samples.len().div_ceil(MAX_POINTS);
    let last = samples.len() - 1;
    samples
        .into_iter()
        .enumerate()
        .filter(|(k, _)| k % every == 0 || *k == last)
        .map(|(_, s)| s)
        .collect()
}

fn slot_ms(run: &RunInfo, slot: &Slot) -> (f64, f64) {
    let dt = if run.total_steps > 0 {
        run.total_ms / run.total_steps as f64
    } else {
        0.0
    };
    (slot.start_step as f64 * dt, slot.end_step() as f64 * dt)
}

/// Slots overlapping [from, to] ms.
fn visible_slots(run: &RunInfo, from: f64, to: f64) -> impl Iterator<Item = (&Slot, f64, f64)> {
    run.slots.iter().filter_map(move |slot| {
        let (start, end) = slot_ms(run, slot);
        (end >= from && start <= to).then_some((slot, start, end))
    })
}

/// Write slots green, read slots blue, each labelled with its token when wide enough; runs of
/// narrow slots get one label for the run ("write t0…t11").
fn shade_slots(
    plot: &mut egui_plot::PlotUi<'_>,
    run: &RunInfo,
    from: f64,
    to: f64,
    labelled: bool,
) {
    let visible: Vec<_> = visible_slots(run, from, to).collect();
    let ms_per_px = (to - from) / plot.transform().frame().width().max(1.0) as f64;
    let mut runs: Vec<(Phase, f64, f64, usize, usize)> = Vec::new();
    for &(slot, start, end) in &visible {
        match runs.last_mut() {
            Some(last) if last.0 == slot.phase && (last.2 - start).abs() < 1e-9 => {
                last.2 = end;
                last.4 = slot.token;
            }
            _ => runs.push((slot.phase, start, end, slot.token, slot.token)),
        }
    }
    let one_by_one = visible.len() <= MAX_SHADED_SLOTS;
    let wide = |s: f64, e: f64| labelled && (e - s) / ms_per_px > 34.0;
    let fill = |phase: Phase, strong: bool| {
        let base = if phase == Phase::Write {
            palette::WRITE
        } else {
            palette::READ
        };
        base.gamma_multiply(if strong { 0.30 } else { 0.18 })
    };
    for &(phase, start, end, first, last) in &runs {
        let group = if first == last {
            format!("{} {}", phase.name(), run.tokens[first])
        } else {
            format!(
                "{} {}…{}",
                phase.name(),
                run.tokens[first],
                run.tokens[last]
            )
        };
        let group = if labelled { group } else { String::new() };
        if !one_by_one {
            plot.span(
                Span::new(group, start..=end)
                    .fill(fill(phase, false))
                    .border_width(0.0),
            );
            continue;
        }
        let members = visible
            .iter()
            .filter(|(slot, s, e)| slot.phase == phase && *s >= start - 1e-9 && *e <= end + 1e-9);
        let mut all_wide = true;
        for &(slot, s, e) in members {
            let name = if wide(s, e) {
                run.tokens[slot.token].clone()
            } else {
                String::new()
            };
            all_wide &= wide(s, e);
            plot.span(
                Span::new(name, s..=e)
                    .fill(fill(phase, slot.token % 2 == 0))
                    .border_width(0.0),
            );
        }
        if !all_wide && labelled {
            plot.span(
                Span::new(group, start..=end)
                    .fill(Color32::TRANSPARENT)
                    .border_width(0.0),
            );
        }
    }
}

/// Z_t as horizontal segments over each read slot t, joined across adjacent read slots.
fn normaliser_segments(run: &RunInfo, from: f64, to: f64) -> Vec<Vec<[f64; 2]>> {
    let mut segments: Vec<Vec<[f64; 2]>> = Vec::new();
    let mut last_end = f64::NAN;
    for (slot, start, end) in visible_slots(run, from, to) {
        if slot.phase != Phase::Read {
            continue;
        }
        let z = run.normaliser[slot.token];
        if (start - last_end).abs() < 1e-9
            && let Some(current) = segments.last_mut()
        {
            current.push([start, z]);
            current.push([end, z]);
        } else {
            segments.push(vec![[start, z], [end, z]]);
        }
        last_end = end;
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_steps_are_1_2_or_5_times_a_power_of_ten() {
        assert_eq!(nice_at_least(7.4), 10.0);
        assert_eq!(nice_at_least(1.3), 2.0);
        assert_eq!(nice_at_least(0.03), 0.05);
        assert_eq!(nice_at_least(20.0), 20.0);
        let steps = nice_steps(egui_plot::GridInput {
            bounds: (0.0, 65.0),
            base_step_size: 7.4,
        });
        assert_eq!(steps, [10.0, 20.0, 200.0]);
    }
}
