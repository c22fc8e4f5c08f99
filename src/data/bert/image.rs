//! Images as a vision transformer reads them: decoding PNG/JPEG files, and the pixel
//! pipeline of HuggingFace `ViTImageProcessor` as `preprocessor_config.json` describes it:
//! convert to the model's channels, resize (bilinear) when `do_resize`, multiply by
//! `rescale_factor` when `do_rescale`, then `(x − image_mean[c]) / image_std[c]` when
//! `do_normalize`.
//!
//! A model with one channel reads grayscale images; a colour image (any pixel whose red, green
//! and blue differ) is refused rather than silently converted, since such a model never saw
//! colour. Alpha is dropped. When the folder's preprocessor does not resize, an image of any
//! other size than the model's is refused. The bundled digits model is the exception: a file
//! is first fitted to 8×8 grayscale (`data::images::fit_for_digits`), and the app says so.

use image::{DynamicImage, GenericImageView, imageops::FilterType};
use ndarray::Array3;
use std::path::{Path, PathBuf};

/// Why an image could not become a model input. Each message is one sentence.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{source_name} is an empty file (0 bytes), not an image")]
    EmptyFile { source_name: String },
    #[error("could not read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{source_name} is not a readable PNG or JPEG image ({reason})")]
    Decode { source_name: String, reason: String },
    #[error(
        "{source_name} is {width}×{height} pixels, but this model reads {expected_width}×{expected_height} images and its preprocessor does not resize"
    )]
    WrongSize {
        source_name: String,
        width: u32,
        height: u32,
        expected_width: u32,
        expected_height: u32,
    },
    #[error(
        "{source_name} is a colour image, but this model reads 1-channel (grayscale) images: save it in grayscale"
    )]
    Colour { source_name: String },
    #[error(
        "model folder {dir} has no preprocessor_config.json, which says how this model scales and normalises pixels: copy it from the model's HuggingFace repository"
    )]
    MissingPreprocessor { dir: PathBuf },
    #[error("{path} is not a usable preprocessor config: {reason}")]
    BadPreprocessor { path: PathBuf, reason: String },
}

/// The pixel pipeline of `preprocessor_config.json` (HF `ViTImageProcessor`).
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessor {
    pub do_resize: bool,
    pub do_rescale: bool,
    pub rescale_factor: f64,
    pub do_normalize: bool,
    /// Per-channel mean and standard deviation, one entry per model channel.
    pub image_mean: Vec<f32>,
    pub image_std: Vec<f32>,
}

impl Preprocessor {
    /// Parses `preprocessor_config.json` for a model with `channels` channels and square
    /// `image_size` inputs; `path` only names the file in messages. HF's defaults fill the
    /// missing keys (resize, rescale by 1/255, normalise with mean and std 0.5).
    pub fn parse(
        json: &str,
        path: &Path,
        channels: usize,
        image_size: usize,
    ) -> Result<Self, ImageError> {
        let bad = |reason: String| ImageError::BadPreprocessor {
            path: path.to_owned(),
            reason,
        };
        let v: serde_json::Value =
            serde_json::from_str(json).map_err(|e| bad(format!("invalid JSON ({e})")))?;
        if !v.is_object() {
            return Err(bad("the top level is not a JSON object".into()));
        }
        let flag = |key: &str| -> Result<bool, ImageError> {
            match v.get(key) {
                None => Ok(true),
                Some(x) => x
                    .as_bool()
                    .ok_or_else(|| bad(format!("field {key:?} is not true or false"))),
            }
        };
        let per_channel = |key: &str| -> Result<Vec<f32>, ImageError> {
            let values: Vec<f32> = match v.get(key) {
                None => vec![0.5; channels],
                Some(serde_json::Value::Array(a)) => a
                    .iter()
                    .map(|x| x.as_f64().map(|f| f as f32))
                    .collect::<Option<_>>()
                    .ok_or_else(|| bad(format!("field {key:?} is not a list of numbers")))?,
                Some(x) => vec![
                    x.as_f64()
                        .ok_or_else(|| bad(format!("field {key:?} is not a number")))?
                        as f32;
                    channels
                ],
            };
            if values.len() != channels {
                return Err(bad(format!(
                    "field {key:?} has {} entries but the model has {channels} channels",
                    values.len()
                )));
            }
            Ok(values)
        };
        let do_resize = flag("do_resize")?;
        if do_resize && let Some(size) = v.get("size") {
            let (h, w) = match size {
                serde_json::Value::Number(n) => (n.as_u64(), n.as_u64()),
                serde_json::Value::Object(o) => (
                    o.get("height").and_then(|x| x.as_u64()),
                    o.get("width").and_then(|x| x.as_u64()),
                ),
                _ => (None, None),
            };
            if (h, w) != (Some(image_size as u64), Some(image_size as u64)) {
                return Err(bad(format!(
                    "its size {size} differs from config.json's image_size {image_size}"
                )));
            }
        }
        let rescale_factor = match v.get("rescale_factor") {
            None => 1.0 / 255.0,
            Some(x) => x
                .as_f64()
                .filter(|f| f.is_finite())
                .ok_or_else(|| bad("field \"rescale_factor\" is not a number".into()))?,
        };
        let image_std = per_channel("image_std")?;
        if image_std.iter().any(|s| s.is_nan() || *s <= 0.0) {
            return Err(bad("every image_std must be positive".into()));
        }
        Ok(Preprocessor {
            do_resize,
            do_rescale: flag("do_rescale")?,
            rescale_factor,
            do_normalize: flag("do_normalize")?,
            image_mean: per_channel("image_mean")?,
            image_std,
        })
    }

    /// The model input `channels × size × size` for `image`; `source_name` names the image in
    /// messages (a path, "digit 12", "the drawing").
    pub fn pixels(
        &self,
        image: &DynamicImage,
        source_name: &str,
        size: usize,
    ) -> Result<Array3<f32>, ImageError> {
        let channels = self.image_mean.len();
        let (width, height) = image.dimensions();
        let size32 = size as u32;
        let resized;
        let image = if (width, height) == (size32, size32) {
            image
        } else if self.do_resize {
            resized = image.resize_exact(size32, size32, FilterType::Triangle);
            &resized
        } else {
            return Err(ImageError::WrongSize {
                source_name: source_name.to_owned(),
                width,
                height,
                expected_width: size32,
                expected_height: size32,
            });
        };
        let rgb = image.to_rgb8();
        let raw: Vec<[u8; 3]> = rgb.pixels().map(|p| p.0).collect();
        if channels == 1 && raw.iter().any(|[r, g, b]| r != g || g != b) {
            return Err(ImageError::Colour {
                source_name: source_name.to_owned(),
            });
        }
        let mut out = Array3::<f32>::zeros((channels, size, size));
        for c in 0..channels {
            let (mean, std) = (self.image_mean[c], self.image_std[c]);
            for (i, px) in raw.iter().enumerate() {
                let mut x = px[c.min(2)] as f64;
                if self.do_rescale {
                    x *= self.rescale_factor;
                }
                let mut x = x as f32;
                if self.do_normalize {
                    x = (x - mean) / std;
                }
                out[[c, i / size, i % size]] = x;
            }
        }
        Ok(out)
    }
}

/// Decodes a PNG or JPEG file.
pub fn read_image(path: &Path) -> Result<DynamicImage, ImageError> {
    let bytes = std::fs::read(path).map_err(|source| ImageError::Read {
        path: path.to_owned(),
        source,
    })?;
    decode_image(&bytes, &path.display().to_string())
}

/// Decodes PNG or JPEG bytes; `source_name` names them in messages.
pub fn decode_image(bytes: &[u8], source_name: &str) -> Result<DynamicImage, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::EmptyFile {
            source_name: source_name.to_owned(),
        });
    }
    image::load_from_memory(bytes).map_err(|e| ImageError::Decode {
        source_name: source_name.to_owned(),
        reason: e.to_string(),
    })
}

/// A grayscale image from row-major 8-bit pixels (`width × height` of them).
pub fn gray_image(pixels: &[u8], width: u32, height: u32) -> Option<DynamicImage> {
    image::GrayImage::from_raw(width, height, pixels.to_vec()).map(DynamicImage::ImageLuma8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits_pre() -> Preprocessor {
        Preprocessor::parse(
            r#"{"do_resize": false, "image_mean": [0.5], "image_std": [0.5]}"#,
            Path::new("p.json"),
            1,
            8,
        )
        .unwrap()
    }

    #[test]
    fn gray_pixels_are_rescaled_and_normalised() {
        let pre = digits_pre();
        let mut px = vec![0u8; 64];
        px[9] = 255;
        px[10] = 51;
        let img = gray_image(&px, 8, 8).unwrap();
        let x = pre.pixels(&img, "test", 8).unwrap();
        assert_eq!(x.dim(), (1, 8, 8));
        assert_eq!(x[[0, 0, 0]], -1.0);
        assert_eq!(x[[0, 1, 1]], 1.0);
        assert!((x[[0, 1, 2]] - (0.2 - 0.5) / 0.5).abs() < 1e-6);
    }

    #[test]
    fn wrong_size_and_colour_are_refused() {
        let pre = digits_pre();
        let img = gray_image(&[0u8; 100], 10, 10).unwrap();
        let e = pre.pixels(&img, "x.png", 8).unwrap_err().to_string();
        assert_eq!(
            e,
            "x.png is 10×10 pixels, but this model reads 8×8 images and its preprocessor does not resize"
        );
        let mut rgb = image::RgbImage::new(8, 8);
        rgb.put_pixel(3, 3, image::Rgb([200, 10, 10]));
        let e = pre
            .pixels(&DynamicImage::ImageRgb8(rgb), "red.png", 8)
            .unwrap_err();
        assert!(matches!(e, ImageError::Colour { .. }), "{e}");
        // A gray image stored as RGB is fine.
        let gray_rgb = image::RgbImage::from_pixel(8, 8, image::Rgb([7, 7, 7]));
        assert!(
            pre.pixels(&DynamicImage::ImageRgb8(gray_rgb), "g", 8)
                .is_ok()
        );
    }

    #[test]
    fn resizing_preprocessor_accepts_other_sizes() {
        let pre = Preprocessor::parse(
            r#"{"do_resize": true, "size": {"height": 4, "width": 4}}"#,
            Path::new("p.json"),
            3,
            4,
        )
        .unwrap();
        let img =
            DynamicImage::ImageRgb8(image::RgbImage::from_pixel(9, 7, image::Rgb([255, 0, 0])));
        let x = pre.pixels(&img, "big", 4).unwrap();
        assert_eq!(x.dim(), (3, 4, 4));
        assert!((x[[0, 2, 2]] - 1.0).abs() < 1e-6);
        assert!((x[[1, 2, 2]] + 1.0).abs() < 1e-6);
        let e = Preprocessor::parse(r#"{"size": 224}"#, Path::new("p.json"), 3, 4).unwrap_err();
        assert!(
            e.to_string()
                .contains("differs from config.json's image_size 4"),
            "{e}"
        );
    }

    #[test]
    fn bad_bytes_are_named() {
        let e = decode_image(b"", "empty.png").unwrap_err().to_string();
        assert_eq!(e, "empty.png is an empty file (0 bytes), not an image");
        let e = decode_image(b"\x89PNG\r\n\x1a\nbroken", "bad.png")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("bad.png is not a readable PNG or JPEG image ("),
            "{e}"
        );
    }
}
