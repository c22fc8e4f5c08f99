//! What File ▸ Export writes: traces CSV, attention matrices (CSV or .npy), metrics JSON and
//! PNG figures cropped from a window screenshot. Pure functions over plain data, every file
//! written atomically (a failed export leaves any previous file untouched).
//!
//! Figures: request a screenshot with
//! `ctx.send_viewport_cmd(egui::ViewportCommand::Screenshot(egui::UserData::default()))`; a
//! later frame receives `egui::Event::Screenshot { image, .. }` in `ctx.input(|i| i.raw.events)`
//! — crop it to the view with [`crop_and_scale`] (the view's rect, `ctx.pixels_per_point()`)
//! and save it with [`write_png`].

use crate::io::export::csv_field;
use crate::model::metrics::Metrics;
use crate::model::params::Params;
use ndarray::Array2;
use ndarray_npy::WriteNpyExt;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write '{path}': {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("{0}")]
    Shape(String),
}

fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    crate::io::atomic_write(path, bytes).map_err(|e| ExportError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Several plotted series as one CSV: `time_ms` first, then one column per series headed by
/// its name (which should carry its unit, e.g. `calcium (Z units)`). Each series is
/// `[time_ms, value]` points; a row whose time a series lacks leaves that cell empty.
pub fn traces_csv(series: &[(&str, &[[f64; 2]])]) -> String {
    let mut out = String::from("time_ms");
    for (name, _) in series {
        out.push(',');
        out.push_str(&csv_field(name));
    }
    out.push('\n');
    let sorted: Vec<Vec<[f64; 2]>> = series
        .iter()
        .map(|(_, points)| {
            let mut points: Vec<[f64; 2]> =
                points.iter().copied().filter(|p| !p[0].is_nan()).collect();
            points.sort_by(|a, b| a[0].total_cmp(&b[0]));
            points
        })
        .collect();
    let mut times: Vec<f64> = sorted.iter().flatten().map(|p| p[0]).collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    let mut cursor = vec![0usize; sorted.len()];
    for time in times {
        let _ = write!(out, "{time}");
        for (points, at) in sorted.iter().zip(&mut cursor) {
            out.push(',');
            if let Some(point) = points.get(*at)
                && point[0] == time
            {
                let _ = write!(out, "{}", point[1]);
                // Several samples at one time: keep the first, skip the rest.
                while points.get(*at).is_some_and(|p| p[0] == time) {
                    *at += 1;
                }
            }
        }
        out.push('\n');
    }
    out
}

/// Writes `traces_csv(series)` to `path`.
pub fn write_traces_csv(path: &Path, series: &[(&str, &[[f64; 2]])]) -> Result<(), ExportError> {
    write_bytes(path, traces_csv(series).as_bytes())
}

/// One attention matrix as a labelled CSV: the first row names the keys, the first column
/// names the queries (`query \ key`).
pub fn matrix_csv(tokens: &[String], matrix: &Array2<f64>) -> String {
    let mut out = String::from("query \\ key");
    for key in tokens {
        out.push(',');
        out.push_str(&csv_field(key));
    }
    out.push('\n');
    for (t, query) in tokens.iter().enumerate() {
        out.push_str(&csv_field(query));
        for tau in 0..tokens.len() {
            let _ = write!(out, ",{}", matrix[[t, tau]]);
        }
        out.push('\n');
    }
    out
}

/// The file format of an attention export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatrixFormat {
    Csv,
    Npy,
}

/// The three files an attention export writes for `target` (extension ignored):
/// `STEM_softmax.EXT`, `STEM_network.EXT`, `STEM_difference.EXT`.
pub fn attention_paths(target: &Path, format: MatrixFormat) -> [PathBuf; 3] {
    let extension = match format {
        MatrixFormat::Csv => "csv",
        MatrixFormat::Npy => "npy",
    };
    let stem = target
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "attention".into());
    let folder = target.parent().unwrap_or(Path::new(""));
    ["softmax", "network", "difference"]
        .map(|part| folder.join(format!("{stem}_{part}.{extension}")))
}

/// Writes A_soft, A_net and A_net − A_soft next to `target` (see [`attention_paths`]) and
/// returns the paths written.
pub fn write_attention(
    target: &Path,
    tokens: &[String],
    softmax: &Array2<f64>,
    network: &Array2<f64>,
    format: MatrixFormat,
) -> Result<[PathBuf; 3], ExportError> {
    let n = tokens.len();
    for (name, matrix) in [("softmax", softmax), ("network", network)] {
        if matrix.dim() != (n, n) {
            return Err(ExportError::Shape(format!(
                "the {name} attention is {}×{} but there are {n} tokens",
                matrix.nrows(),
                matrix.ncols()
            )));
        }
    }
    let difference = network - softmax;
    let paths = attention_paths(target, format);
    for (path, matrix) in paths.iter().zip([softmax, network, &difference]) {
        let bytes = match format {
            MatrixFormat::Csv => matrix_csv(tokens, matrix).into_bytes(),
            MatrixFormat::Npy => {
                let mut bytes = Vec::new();
                matrix
                    .write_npy(&mut bytes)
                    .map_err(|e| ExportError::Write {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
                bytes
            }
        };
        write_bytes(path, &bytes)?;
    }
    Ok(paths)
}

/// What a metrics export holds: the five metrics (undefined ones are `null`), where the run
/// stands and the parameters that produced it.
#[derive(Clone, Debug, Serialize)]
pub struct MetricsExport<'a> {
    #[serde(flatten)]
    pub metrics: Metrics,
    /// The sequence source, e.g. `bundled:coreference-it`.
    pub source: &'a str,
    pub tokens: &'a [String],
    /// Euler steps taken so far.
    pub step: u64,
    /// Simulated time so far (ms).
    pub sim_time_ms: f64,
    pub params: &'a Params,
}

/// The export as pretty JSON.
pub fn metrics_json(export: &MetricsExport<'_>) -> String {
    serde_json::to_string_pretty(export).expect("metrics always serialise")
}

/// Writes [`metrics_json`] to `path`.
pub fn write_metrics_json(path: &Path, export: &MetricsExport<'_>) -> Result<(), ExportError> {
    write_bytes(path, metrics_json(export).as_bytes())
}

/// The part of a screenshot under `rect_in_points` (clamped to the image), resized by
/// `scale` (1 keeps the screen's pixels; 2 doubles them; 0.5 averages 2×2 blocks).
pub fn crop_and_scale(
    image: &egui::ColorImage,
    rect_in_points: egui::Rect,
    pixels_per_point: f32,
    scale: f32,
) -> egui::ColorImage {
    let [width, height] = image.size;
    let to_pixels =
        |v: f32, limit: usize| ((v * pixels_per_point).round().max(0.0) as usize).min(limit);
    let (x0, x1) = (
        to_pixels(rect_in_points.min.x, width),
        to_pixels(rect_in_points.max.x, width),
    );
    let (y0, y1) = (
        to_pixels(rect_in_points.min.y, height),
        to_pixels(rect_in_points.max.y, height),
    );
    let crop_w = x1.saturating_sub(x0);
    let crop_h = y1.saturating_sub(y0);
    let scale = if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        1.0
    };
    let out_w = ((crop_w as f32 * scale).round() as usize).max(usize::from(crop_w > 0));
    let out_h = ((crop_h as f32 * scale).round() as usize).max(usize::from(crop_h > 0));
    let mut pixels = Vec::with_capacity(out_w * out_h);
    for oy in 0..out_h {
        // The source rows and columns this output pixel covers (at least one).
        let sy0 = y0 + oy * crop_h / out_h;
        let sy1 = (y0 + (oy + 1) * crop_h / out_h).max(sy0 + 1);
        for ox in 0..out_w {
            let sx0 = x0 + ox * crop_w / out_w;
            let sx1 = (x0 + (ox + 1) * crop_w / out_w).max(sx0 + 1);
            let mut sum = [0u32; 4];
            for sy in sy0..sy1 {
                for sx in sx0..sx1 {
                    let c = image.pixels[sy * width + sx].to_array();
                    for (s, v) in sum.iter_mut().zip(c) {
                        *s += v as u32;
                    }
                }
            }
            let count = ((sy1 - sy0) * (sx1 - sx0)) as u32;
            let [r, g, b, a] = sum.map(|s| ((s + count / 2) / count) as u8);
            pixels.push(egui::Color32::from_rgba_premultiplied(r, g, b, a));
        }
    }
    egui::ColorImage::new([out_w, out_h], pixels)
}

/// The image as PNG bytes (RGB; screenshots are opaque).
pub fn encode_png(image: &egui::ColorImage) -> Vec<u8> {
    let rgba: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(|c| c.to_srgba_unmultiplied())
        .collect();
    super::png::encode_png(image.size[0], image.size[1], &rgba)
}

/// Writes the image as a PNG file.
pub fn write_png(path: &Path, image: &egui::ColorImage) -> Result<(), ExportError> {
    if image.size[0] == 0 || image.size[1] == 0 {
        return Err(ExportError::Shape(
            "the figure is empty (its view is not on screen)".into(),
        ));
    }
    write_bytes(path, &encode_png(image))
}
