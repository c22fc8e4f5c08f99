//! The layer graph: every head of the layer as its own territory, tiled like astrocyte domains
//! (Bushong et al. 2002). Each territory holds a summary of its head's hidden and output
//! neurons, the synapses between them, and the astrocyte whose processes reach every one of
//! them; its fill shows c/Z_t and a gauge puts c beside Z_t. All heads read the same token (on
//! the left) and their outputs meet in W_O (on the right).

use super::{astrocyte_label, calcium_ratio, worst_head};
use crate::sim::{HeadSnapshot, LayerSnapshot, Snapshot};
use crate::ui::command::AppCommand;
use crate::ui::widgets::colormap::{self, palette};
use crate::ui::widgets::theme;
use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Shape, Stroke, pos2, vec2};

/// Hidden neurons drawn in each territory (the head's m are summarised by a count).
const HIDDEN_SHOWN: usize = 5;
/// Output neurons drawn in each territory.
const OUTPUTS_SHOWN: usize = 3;
/// Share of the canvas width for the shared input on the left and W_O on the right.
const INPUT_W: f32 = 0.09;
const OUTPUT_W: f32 = 0.13;
/// Width over height a territory looks best at.
const TILE_ASPECT: f32 = 1.3;

/// State of the layer graph (none beyond the presentation flag: it fits its area).
#[derive(Default)]
pub struct LayerGraph {
    /// Presentation mode: no caption.
    pub compact: bool,
}

/// Columns and rows for `n` territories in `size`, each as large as it can be at about
/// [`TILE_ASPECT`].
pub fn tiling(n: usize, size: egui::Vec2) -> (usize, usize) {
    let n = n.max(1);
    (1..=n)
        .map(|columns| (columns, n.div_ceil(columns)))
        .max_by(|&(c1, r1), &(c2, r2)| {
            let side = |c: usize, r: usize| {
                (size.x / c as f32 / TILE_ASPECT).min(size.y / r as f32) - 0.001 * c as f32
            };
            side(c1, r1).total_cmp(&side(c2, r2))
        })
        .unwrap_or((n, 1))
}

impl LayerGraph {
    /// Draws the layer into the rest of `ui`. A click on a head's astrocyte opens that head
    /// (pushed to `out`).
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        snapshot: &Snapshot,
        layer: &LayerSnapshot,
        out: &mut Vec<AppCommand>,
    ) {
        let n = layer.heads.len();
        ui.label(theme::title(&format!("Layer: {n} heads, {n} astrocytes")));
        if !self.compact {
            theme::caption(
                ui,
                "Each astrocyte ensheathes its own head's synapses. Fill: c/Z_t; bar: c \
                 against the Z_t tick. Hover for values, click to open a head.",
            );
        }
        let size = ui.available_size() - vec2(0.0, 4.0);
        let (rect, response) = ui.allocate_exact_size(size.max(vec2(160.0, 120.0)), Sense::hover());
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "Layer graph"));
        crate::ui::regions::record(ui.ctx(), crate::ui::regions::Region::Graph, rect);
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 4.0, Color32::from_gray(252));

        let input = Rect::from_min_max(
            rect.min + vec2(4.0, 4.0),
            pos2(rect.left() + rect.width() * INPUT_W, rect.bottom() - 4.0),
        );
        let output = Rect::from_min_max(
            pos2(rect.right() - rect.width() * OUTPUT_W, rect.top() + 4.0),
            rect.max - vec2(4.0, 4.0),
        );
        let area = Rect::from_min_max(
            pos2(input.right() + 10.0, rect.top() + 4.0),
            pos2(output.left() - 10.0, rect.bottom() - 4.0),
        );
        let (columns, rows) = tiling(n, area.size());
        let tile = vec2(area.width() / columns as f32, area.height() / rows as f32);
        let tiles: Vec<Rect> = (0..n)
            .map(|k| {
                let (c, r) = (k % columns, k / columns);
                Rect::from_min_size(area.min + vec2(c as f32 * tile.x, r as f32 * tile.y), tile)
                    .shrink(3.0)
            })
            .collect();

        let token = current_token(snapshot);
        let input_anchor = draw_box(&painter, input, "token", token.as_deref().unwrap_or("—"));
        let rel_err = layer
            .layer_output_rel_err
            .map_or("—".to_string(), theme::sig);
        let output_anchor = draw_box(&painter, output, "W_O", &format!("err {rel_err}"));
        let faint = Stroke::new(0.8, Color32::from_black_alpha(40));
        for (head, tile) in layer.heads.iter().zip(&tiles) {
            painter.line_segment([input_anchor, pos2(tile.left(), tile.center().y)], faint);
            painter.line_segment(
                [pos2(tile.right(), tile.center().y), output_anchor],
                Stroke::new(1.0, palette::head(head.head).gamma_multiply(0.5)),
            );
        }

        let hidden = snapshot.run.as_ref().map(|r| r.sizes.hidden);
        let worst = worst_head(layer).filter(|_| n > 1);
        for (head, tile) in layer.heads.iter().zip(&tiles) {
            let id = ui.make_persistent_id(("layer astrocyte", head.head));
            let response = ui.interact(*tile, id, Sense::click());
            let label = astrocyte_label(head);
            response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
            let look = Look {
                selected: head.head == layer.selected,
                hovered: response.hovered(),
                worst: worst == Some(head.head),
            };
            draw_territory(
                &painter.with_clip_rect(tile.intersect(rect)),
                *tile,
                head,
                hidden,
                look,
            );
            if response.clicked() {
                out.push(AppCommand::FocusHead {
                    before: None,
                    after: Some(head.head),
                });
            }
            response
                .on_hover_cursor(egui::CursorIcon::PointingHand)
                .on_hover_ui(|ui| describe(ui, head, worst == Some(head.head)));
        }
    }
}

/// How a territory is emphasised.
#[derive(Clone, Copy)]
struct Look {
    /// The head the matrices show.
    selected: bool,
    hovered: bool,
    /// The head the network reproduces worst.
    worst: bool,
}

/// The token being written or read now, quoted.
fn current_token(snapshot: &Snapshot) -> Option<String> {
    let slot = snapshot.slot?;
    let run = snapshot.run.as_ref()?;
    run.tokens.get(slot.token).map(|t| format!("'{t}'"))
}

/// A labelled box (the shared input or W_O); returns where lines attach to it.
fn draw_box(painter: &egui::Painter, rect: Rect, title: &str, note: &str) -> Pos2 {
    let height = (rect.height() * 0.34).clamp(60.0, 120.0);
    let inner = Rect::from_center_size(rect.center(), vec2(rect.width(), height));
    painter.rect(
        inner,
        6.0,
        Color32::WHITE,
        Stroke::new(1.2, Color32::from_gray(90)),
        egui::StrokeKind::Inside,
    );
    let text = Color32::from_gray(25);
    // Lines break between words only, never inside one ("err 0.8714" was drawn "err 0." over
    // "8714", "token" as "tok" over "en"): the font shrinks until the longest word fits.
    let room = (inner.width() - 6.0).max(20.0);
    let base = (rect.width() / 6.5).clamp(10.5, 13.0);
    let words: Vec<&str> = title
        .split_whitespace()
        .chain(note.split_whitespace())
        .collect();
    let width_at = |word: &str, size: f32| {
        painter
            .layout_no_wrap(word.to_owned(), FontId::proportional(size), text)
            .size()
            .x
    };
    let widest = words
        .iter()
        .map(|w| width_at(w, base))
        .fold(0.0f32, f32::max);
    let font = FontId::proportional(if widest > room {
        (base * room / widest).max(7.0)
    } else {
        base
    });
    // The title on its own line(s), then the note.
    let fits = |line: &str| width_at(line, font.size) <= room;
    let lines: Vec<_> = word_lines(title, fits)
        .into_iter()
        .chain(word_lines(note, fits))
        .map(|line| painter.layout_no_wrap(line, font.clone(), text))
        .collect();
    let total: f32 =
        lines.iter().map(|g| g.size().y).sum::<f32>() + 4.0 * (lines.len() as f32 - 1.0);
    let mut y = inner.center().y - total / 2.0;
    for galley in lines {
        let x = inner.center().x - galley.size().x / 2.0;
        let h = galley.size().y;
        painter.galley(pos2(x, y), galley, text);
        y += h + 4.0;
    }
    if rect.center().x < painter.clip_rect().center().x {
        pos2(inner.right(), inner.center().y)
    } else {
        pos2(inner.left(), inner.center().y)
    }
}

/// `phrase` in lines filled greedily word by word while `fits` holds; a word is never split
/// (one that does not fit alone gets a line of its own).
fn word_lines(phrase: &str, fits: impl Fn(&str) -> bool) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in phrase.split_whitespace() {
        match lines.last_mut() {
            Some(line) if fits(&format!("{line} {word}")) => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

/// One head's territory: neurons, synapses, the astrocyte and its processes, the gauge.
fn draw_territory(
    painter: &egui::Painter,
    tile: Rect,
    head: &HeadSnapshot,
    hidden: Option<usize>,
    look: Look,
) {
    let colour = palette::head(head.head);
    painter.rect(
        tile,
        8.0,
        colour.gamma_multiply(if look.hovered { 0.16 } else { 0.07 }),
        Stroke::new(
            if look.selected || look.hovered {
                3.0
            } else {
                1.5
            },
            colour,
        ),
        egui::StrokeKind::Inside,
    );
    let font_size = (tile.height() / 9.0).clamp(10.0, 14.0);
    // A narrow territory keeps its name and attn_tv; c/Z_t is in its fill and hover text.
    let wide = tile.width() > 150.0;
    let font = FontId::proportional(font_size);
    let ratio = calcium_ratio(head);
    painter.text(
        tile.left_top() + vec2(7.0, 5.0),
        Align2::LEFT_TOP,
        format!("head {}", head.head),
        FontId::proportional(font_size + 1.0),
        colour,
    );
    if wide {
        painter.text(
            tile.right_top() + vec2(-7.0, 5.0),
            Align2::RIGHT_TOP,
            format!("c/Z {}", theme::sig(ratio)),
            font.clone(),
            Color32::from_gray(25),
        );
    }
    let top = tile.top() + font_size + 12.0;
    let bottom = tile.bottom() - 2.0 * font_size - 12.0;
    let net_bottom = top + (bottom - top) * 0.55;
    let column = |count: usize, fx: f32| -> Vec<Pos2> {
        (0..count)
            .map(|k| {
                let fy = (k as f32 + 0.5) / count as f32;
                pos2(
                    tile.left() + fx * tile.width(),
                    top + fy * (net_bottom - top),
                )
            })
            .collect()
    };
    let hidden_at = column(HIDDEN_SHOWN, 0.22);
    let outputs_at = column(OUTPUTS_SHOWN, 0.78);
    let r = ((net_bottom - top) / HIDDEN_SHOWN as f32 * 0.3).clamp(2.0, 6.0);
    let star_r = ((bottom - net_bottom) * 0.42).clamp(5.0, 22.0);
    let star = pos2(tile.center().x, bottom - star_r);
    let synapse = Stroke::new(0.8, Color32::from_gray(150));
    let process = Stroke::new(0.9, colour.gamma_multiply(0.55));
    let mut markers = Vec::with_capacity(HIDDEN_SHOWN * OUTPUTS_SHOWN);
    for a in &hidden_at {
        for b in &outputs_at {
            painter.line_segment([*a, *b], synapse);
            markers.push(a.lerp(*b, 0.8));
        }
    }
    for marker in &markers {
        painter.line_segment([star, *marker], process);
    }
    for marker in &markers {
        painter.circle_filled(*marker, (r * 0.5).max(1.6), colour);
    }
    for p in hidden_at.iter().chain(&outputs_at) {
        painter.circle(
            *p,
            r,
            Color32::from_gray(230),
            Stroke::new(0.8, Color32::from_gray(60)),
        );
    }
    if let Some(m) = hidden.filter(|_| wide) {
        painter.text(
            pos2(hidden_at[0].x, net_bottom + 1.0),
            Align2::CENTER_TOP,
            format!("m = {}", theme::thousands(m as f64, 0)),
            FontId::proportional(font_size - 1.0),
            Color32::from_gray(60),
        );
    }
    // The astrocyte: filled by c/Z_t (viridis, 1 at the middle), outlined in its head colour.
    let fill = if ratio.is_finite() {
        colormap::viridis(0.5 * ratio)
    } else {
        Color32::from_gray(200)
    };
    let points: Vec<Pos2> = (0..16)
        .map(|k| {
            let angle = k as f32 * std::f32::consts::TAU / 16.0 - std::f32::consts::FRAC_PI_2;
            let radius = if k % 2 == 0 { star_r } else { star_r * 0.45 };
            star + vec2(angle.cos(), angle.sin()) * radius
        })
        .collect();
    let mut mesh = egui::Mesh::default();
    mesh.colored_vertex(star, fill);
    for p in &points {
        mesh.colored_vertex(*p, fill);
    }
    for k in 0..16u32 {
        mesh.add_triangle(0, 1 + k, 1 + (k + 1) % 16);
    }
    painter.add(mesh);
    let mut outline = points;
    outline.push(outline[0]);
    painter.add(Shape::line(outline, Stroke::new(2.0, colour)));

    // The gauge: c against Z_t on one scale.
    let gauge = Rect::from_min_max(
        pos2(tile.left() + 8.0, tile.bottom() - 2.0 * font_size - 6.0),
        pos2(tile.right() - 8.0, tile.bottom() - font_size - 8.0),
    );
    painter.rect_filled(gauge, 2.0, Color32::from_gray(225));
    let scale = 1.5
        * [head.calcium, head.z_t]
            .into_iter()
            .filter(|v| v.is_finite())
            .fold(1e-12, f64::max);
    if head.calcium.is_finite() {
        let fraction = (head.calcium.max(0.0) / scale).min(1.0) as f32;
        let filled = Rect::from_min_max(
            gauge.min,
            pos2(gauge.left() + fraction * gauge.width(), gauge.bottom()),
        );
        painter.rect_filled(filled, 2.0, colour);
    }
    if head.z_t.is_finite() && head.z_t > 0.0 {
        let x = gauge.left() + (head.z_t / scale).min(1.0) as f32 * gauge.width();
        painter.line_segment(
            [pos2(x, gauge.top() - 3.0), pos2(x, gauge.bottom() + 3.0)],
            Stroke::new(2.0, palette::NORMALISER),
        );
    }
    let quality = crate::ui::views::heads::Quality::of(head.attn_tv);
    painter.text(
        tile.left_bottom() + vec2(7.0, -4.0),
        Align2::LEFT_BOTTOM,
        if wide {
            format!(
                "attn_tv {} ({}){}",
                theme::sig(head.attn_tv),
                quality.word(),
                if look.worst { " · worst" } else { "" }
            )
        } else {
            // Two decimals leave room for the worst head's mark in a narrow territory.
            let tv = if head.attn_tv.is_finite() {
                format!("{:.2}", head.attn_tv)
            } else {
                "—".to_string()
            };
            format!("tv {tv}{}", if look.worst { " worst" } else { "" })
        },
        font,
        Color32::from_gray(25),
    );
}

/// The hover text of an astrocyte.
fn describe(ui: &mut egui::Ui, head: &HeadSnapshot, worst: bool) {
    ui.strong(format!("Astrocyte of head {}", head.head));
    let line = |ui: &mut egui::Ui, symbol: &str, value: f64, meaning: &str| {
        ui.monospace(format!("{symbol} = {}", theme::sig(value)));
        ui.label(
            egui::RichText::new(meaning)
                .size(12.0)
                .color(theme::CAPTION),
        );
    };
    line(
        ui,
        "c/Z_t",
        calcium_ratio(head),
        "its calcium over its own head's softmax normaliser (1: the astrocyte normalises exactly)",
    );
    line(ui, "c", head.calcium, "calcium, in normaliser units");
    line(
        ui,
        "Z_t",
        head.z_t,
        "softmax normaliser of the query read now",
    );
    line(
        ui,
        "attn_tv",
        head.attn_tv,
        "how far this head's A_net is from its A_soft (0: identical)",
    );
    line(
        ui,
        "calcium_corr",
        head.calcium_corr,
        "correlation of calcium with Z_t over the rows read",
    );
    if worst {
        ui.label("The head the network reproduces worst in this layer.");
    }
    ui.label(egui::RichText::new("Click to open this head.").italics());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_heads_tile_in_a_wide_area_as_four_by_three() {
        assert_eq!(tiling(12, vec2(600.0, 400.0)), (4, 3));
        assert_eq!(tiling(1, vec2(600.0, 400.0)), (1, 1));
        let (c, r) = tiling(12, vec2(300.0, 900.0));
        assert!(c * r >= 12 && c < r, "a tall area stacks: {c}×{r}");
    }

    #[test]
    fn a_box_breaks_its_lines_between_words_only() {
        // Six characters to a line: "err 0.8714" was drawn "err 0." over "8714".
        let fits = |line: &str| line.chars().count() <= 6;
        assert_eq!(word_lines("err 0.8714", fits), ["err", "0.8714"]);
        assert_eq!(word_lines("token", fits), ["token"]);
        assert_eq!(word_lines("a b c", fits), ["a b c"]);
        assert_eq!(word_lines("", fits), Vec::<String>::new());
    }
}
