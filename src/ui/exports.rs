//! Figures for File ▸ Export: a window screenshot cropped to one view and handed to the one
//! PNG writer, `io::export::png`.
//!
//! Request a screenshot with `ctx.request_screenshot(…)`; crop the image it delivers to a view
//! with [`crop_and_scale`] (the view's rect, `ctx.pixels_per_point()`) and save it with
//! [`write_figure`].

use crate::io::export::{ExportError, png};
use std::path::Path;

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

/// Writes the image as a PNG file (atomically; an empty image is an error).
pub fn write_figure(path: &Path, image: &egui::ColorImage) -> Result<(), ExportError> {
    let rgba: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(|c| c.to_srgba_unmultiplied())
        .collect();
    png::write_png(path, image.size[0], image.size[1], &rgba)
}
