//! The authors' figure's files (issue 14 §4): `figure.csv` (one row per source and token),
//! `figure.json` (model, layer, head, calcium_corr and calcium_rel_err for both m) and
//! `figure.png` (one panel per source: Z_t black, c_t at m = 10³ orange, at m = 10⁵ blue, on a
//! logarithmic axis shared by the three curves). `jobs::figure` computes the panels.

use super::{ExportError, write_bytes};
use serde::Serialize;
use std::path::Path;

/// The two hidden-layer sizes the authors compared.
pub const FIGURE_SIZES: [usize; 2] = [1_000, 100_000];

/// One source's curves.
#[derive(Debug, Clone, Serialize)]
pub struct FigurePanel {
    pub source: String,
    pub model: Option<String>,
    pub layer: usize,
    pub head: usize,
    pub tokens: Vec<String>,
    /// Z_t per query.
    pub normaliser: Vec<f64>,
    /// c_t per query, one list per entry of [`FIGURE_SIZES`].
    pub calcium: Vec<Vec<f64>>,
    /// calcium_corr and calcium_rel_err per entry of [`FIGURE_SIZES`].
    pub calcium_corr: Vec<f64>,
    pub calcium_rel_err: Vec<f64>,
}

/// `figure.csv`: source, t, token, Z_t, then c_t for each size.
pub fn figure_csv(panels: &[FigurePanel]) -> String {
    let mut csv = String::from("source,t,token,z");
    for m in FIGURE_SIZES {
        csv.push_str(&format!(",c_m{m}"));
    }
    csv.push('\n');
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    for panel in panels {
        for (t, token) in panel.tokens.iter().enumerate() {
            csv.push_str(&format!(
                "{},{t},{},{:e}",
                quote(&panel.source),
                quote(token),
                panel.normaliser[t]
            ));
            for curve in &panel.calcium {
                csv.push_str(&format!(",{:e}", curve[t]));
            }
            csv.push('\n');
        }
    }
    csv
}

pub(crate) const PANEL_W: usize = 640;
pub(crate) const PANEL_H: usize = 240;
const MARGIN: usize = 16;
/// Z_t, c_t at m = 10³, c_t at m = 10⁵.
pub(crate) const COLOURS: [[u8; 4]; 3] =
    [[20, 20, 20, 255], [230, 120, 20, 255], [30, 90, 200, 255]];

/// `figure.png` as RGBA: one panel per source, stacked; log-scaled y shared within a panel.
pub fn figure_rgba(panels: &[FigurePanel]) -> (usize, usize, Vec<u8>) {
    let (w, h) = (PANEL_W, PANEL_H * panels.len().max(1));
    let mut rgba = vec![255u8; w * h * 4];
    let mut put = |x: usize, y: usize, c: [u8; 4]| {
        if x < w && y < h {
            rgba[(y * w + x) * 4..(y * w + x) * 4 + 4].copy_from_slice(&c);
        }
    };
    for (p, panel) in panels.iter().enumerate() {
        let top = p * PANEL_H;
        let curves: Vec<&Vec<f64>> = std::iter::once(&panel.normaliser)
            .chain(&panel.calcium)
            .collect();
        let logs: Vec<f64> = curves
            .iter()
            .flat_map(|c| c.iter())
            .filter(|v| v.is_finite() && **v > 0.0)
            .map(|v| v.ln())
            .collect();
        let lo = logs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let span = if hi > lo { hi - lo } else { 1.0 };
        let n = panel.tokens.len();
        let x_of = |t: usize| MARGIN + t * (PANEL_W - 2 * MARGIN) / (n.max(2) - 1);
        let y_of = |v: f64| {
            let f = ((v.ln() - lo) / span).clamp(0.0, 1.0);
            top + PANEL_H - MARGIN - (f * (PANEL_H - 2 * MARGIN) as f64) as usize
        };
        // Axes: the panel's bottom and left edges.
        for x in MARGIN..PANEL_W - MARGIN {
            put(x, top + PANEL_H - MARGIN, [160, 160, 160, 255]);
        }
        for y in top + MARGIN..top + PANEL_H - MARGIN {
            put(MARGIN, y, [160, 160, 160, 255]);
        }
        for (curve, colour) in curves.iter().zip(COLOURS) {
            let points: Vec<(usize, usize)> = curve
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite() && **v > 0.0)
                .map(|(t, &v)| (x_of(t), y_of(v)))
                .collect();
            for pair in points.windows(2) {
                line(pair[0], pair[1], |x, y| put(x, y, colour));
            }
            for &(x, y) in &points {
                for dx in 0..3 {
                    for dy in 0..3 {
                        put(x + dx - 1, y + dy - 1, colour);
                    }
                }
            }
        }
    }
    (w, h, rgba)
}

/// Bresenham's line from `a` to `b`.
fn line(a: (usize, usize), b: (usize, usize), mut plot: impl FnMut(usize, usize)) {
    let (mut x, mut y) = (a.0 as i64, a.1 as i64);
    let (x1, y1) = (b.0 as i64, b.1 as i64);
    let (dx, dy) = ((x1 - x).abs(), -(y1 - y).abs());
    let (sx, sy) = (if x < x1 { 1 } else { -1 }, if y < y1 { 1 } else { -1 });
    let mut err = dx + dy;
    loop {
        plot(x as usize, y as usize);
        if x == x1 && y == y1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
    }
}

/// Writes `figure.csv`, `figure.json` and `figure.png` into `out`.
pub fn write_figure(out: &Path, panels: &[FigurePanel]) -> Result<(), ExportError> {
    std::fs::create_dir_all(out).map_err(|e| ExportError::Write {
        path: out.to_owned(),
        reason: e.to_string(),
    })?;
    write_bytes(&out.join("figure.csv"), figure_csv(panels).as_bytes())?;
    let doc = serde_json::json!({
        "m": FIGURE_SIZES,
        "feature_map": "positive",
        "projection": "iid",
        "scaling": "q and k divided by D^(1/4)",
        "png": "one panel per source: Z_t black, c_t at m = 1000 orange, at m = 100000 blue; log y",
        "panels": panels,
    });
    let text = serde_json::to_string_pretty(&doc).expect("figures always serialise");
    write_bytes(&out.join("figure.json"), text.as_bytes())?;
    let png = out.join("figure.png");
    let (w, h, rgba) = figure_rgba(panels);
    // The PNG writer's own error is wrapped so that the sentence names the file, as before.
    super::png::write_png(&png, w, h, &rgba).map_err(|e| ExportError::Write {
        path: png.clone(),
        reason: e.to_string(),
    })
}
