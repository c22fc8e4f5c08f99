//! The authors' figure (issue 14 §4), headless: for one head of a real model, the astrocyte
//! response c_t at m = 10³ and m = 10⁵ hidden neurons drawn over the query index against the
//! softmax normaliser Z_t, as in the authors' notebooks: `positive` random features, q and k
//! divided by D^(1/4), iid N(0, 1) projections, algebraic mode.
//!
//! `tripartite figure --out DIR` writes `figure.csv` (one row per source and token),
//! `figure.json` (model, layer, head, calcium_corr and calcium_rel_err for both m) and
//! `figure.png` (one panel per source: Z_t black, c_t at m = 10³ orange, at m = 10⁵ blue, on a
//! logarithmic axis shared by the three curves).

use crate::data::bundle::PASSAGE_NAME;
use crate::data::experiment::Experiment;
use crate::data::real::bundle;
use crate::data::source::SourceSpec;
use crate::model::params::{FeatureMap, Mode, Projection};
use crate::sim::run::{RunError, run_experiment};
use serde::Serialize;
use std::path::{Path, PathBuf};

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

/// Why the figure could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FigureError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("cannot write '{path}': {reason}")]
    Write { path: PathBuf, reason: String },
}

/// Computes one panel: `experiment`'s sequence at both sizes, with the authors' features.
pub fn figure_panel(experiment: &Experiment) -> Result<FigurePanel, FigureError> {
    let mut panel: Option<FigurePanel> = None;
    for &m in &FIGURE_SIZES {
        let mut e = experiment.clone();
        e.params.mode = Mode::Algebraic;
        e.params.feature_map = FeatureMap::Positive;
        e.params.projection = Projection::Iid;
        e.params.m = m;
        let run = run_experiment(&e)?;
        let sim = &run.simulation;
        let metrics = sim.metrics();
        let panel = panel.get_or_insert_with(|| {
            let sequence = sim.sequence();
            FigurePanel {
                source: sequence.source.clone(),
                model: sequence.origin.as_ref().map(|o| o.model.clone()),
                layer: e.params.layer,
                head: e.params.head,
                tokens: sequence.tokens.clone(),
                normaliser: sim.reference().normaliser(),
                calcium: Vec::new(),
                calcium_corr: Vec::new(),
                calcium_rel_err: Vec::new(),
            }
        });
        panel.calcium.push(sim.output().calcium.clone());
        panel.calcium_corr.push(metrics.calcium_corr);
        panel.calcium_rel_err.push(metrics.calcium_rel_err);
    }
    Ok(panel.expect("FIGURE_SIZES is not empty"))
}

/// The figure's text: the bundled passage written for it (about 200 wordpieces), at its
/// default head, as the authors fed their model a paragraph.
pub fn passage_experiment() -> Experiment {
    let mut text = Experiment {
        source: SourceSpec::Bundled(PASSAGE_NAME.to_owned()),
        ..Experiment::default()
    };
    if let Some(passage) = bundle().ok().and_then(|b| b.find(PASSAGE_NAME)) {
        text.params.layer = passage.default_layer;
        text.params.head = passage.default_head;
    }
    text
}

/// The figure's image: bundled digit 0 read by the digits ViT, layer 2, head 1.
pub fn digit_experiment() -> Experiment {
    let mut image = Experiment {
        source: SourceSpec::Digits(0),
        ..Experiment::default()
    };
    image.params.layer = 2;
    image.params.head = 1;
    image
}

/// The default panels: the bundled passage and bundled digit 0.
pub fn default_experiments() -> Vec<Experiment> {
    vec![passage_experiment(), digit_experiment()]
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

const PANEL_W: usize = 640;
const PANEL_H: usize = 240;
const MARGIN: usize = 16;
const COLOURS: [[u8; 4]; 3] = [[20, 20, 20, 255], [230, 120, 20, 255], [30, 90, 200, 255]];

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
pub fn write_figure(out: &Path, panels: &[FigurePanel]) -> Result<(), FigureError> {
    let fail = |path: &Path, e: &dyn std::fmt::Display| FigureError::Write {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(out).map_err(|e| fail(out, &e))?;
    let csv = out.join("figure.csv");
    super::atomic_write(&csv, figure_csv(panels).as_bytes()).map_err(|e| fail(&csv, &e))?;
    let json = out.join("figure.json");
    let doc = serde_json::json!({
        "m": FIGURE_SIZES,
        "feature_map": "positive",
        "projection": "iid",
        "scaling": "q and k divided by D^(1/4)",
        "png": "one panel per source: Z_t black, c_t at m = 1000 orange, at m = 100000 blue; log y",
        "panels": panels,
    });
    let text = serde_json::to_string_pretty(&doc).expect("figures always serialise");
    super::atomic_write(&json, text.as_bytes()).map_err(|e| fail(&json, &e))?;
    let png = out.join("figure.png");
    let (w, h, rgba) = figure_rgba(panels);
    super::export::png::write_png(&png, w, h, &rgba).map_err(|e| fail(&png, &e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_hidden_neurons_bring_c_closer_to_z_on_a_digit() {
        let panel = figure_panel(&default_experiments()[1]).unwrap();
        assert_eq!(panel.tokens.len(), 17);
        assert_eq!(panel.calcium.len(), 2);
        assert!(
            panel.calcium_rel_err[1] < panel.calcium_rel_err[0],
            "{:?}",
            panel.calcium_rel_err
        );
        assert!(panel.calcium_corr[1] > 0.9, "{:?}", panel.calcium_corr);
        let csv = figure_csv(std::slice::from_ref(&panel));
        assert_eq!(csv.lines().count(), 18);
        assert!(csv.starts_with("source,t,token,z,c_m1000,c_m100000\n"));
        let (w, h, rgba) = figure_rgba(&[panel]);
        assert_eq!((w, h), (PANEL_W, PANEL_H));
        // The curves put blue pixels on the white page.
        assert!(rgba.chunks(4).any(|p| p == COLOURS[2]));
    }

    #[test]
    fn the_text_panel_reads_the_bundled_passage() {
        let text = &default_experiments()[0];
        assert_eq!(text.source, SourceSpec::Bundled(PASSAGE_NAME.to_owned()));
        let passage = bundle().unwrap().find(PASSAGE_NAME).unwrap();
        // About 150 words, about 200 wordpieces: inside MiniLM's 512.
        let words = passage.text.split_whitespace().count();
        assert!((140..=170).contains(&words), "{words} words");
        assert!(
            (170..=240).contains(&passage.len()),
            "{} wordpieces",
            passage.len()
        );
        assert_eq!(
            (text.params.layer, text.params.head),
            (passage.default_layer, passage.default_head)
        );
    }
}
