//! Image sequences: the bundled digits ViT and its held-out digits (`digits:INDEX`), image
//! files (`image:PATH`) read by that model or by any HF ViT folder (`model:DIR` with an
//! image), each turned into one head's q, k, v over `[CLS]` and the patch tokens.
//!
//! The digits ViT (`assets/digits_vit/`, trained by `tools/train_vit_digits.py` on
//! scikit-learn's copy of the UCI Optical Recognition of Handwritten Digits, CC BY 4.0) and
//! the held-out digits (`assets/digits_heldout.json`) are compiled into the binary.

use super::bert::image::{gray_image, read_image};
use super::bert::{BertError, ConfigJson, Family, ImageEncoding, VitModel};
use super::error::SequenceError;
use crate::model::layer::LayerSequence;
use crate::model::sequence::{Sequence, TextOrigin};
use image::DynamicImage;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The digits ViT's files, compiled in.
pub const DIGITS_VIT_CONFIG: &str = include_str!("../../assets/digits_vit/config.json");
pub const DIGITS_VIT_PREPROCESSOR: &str =
    include_str!("../../assets/digits_vit/preprocessor_config.json");
pub const DIGITS_VIT_WEIGHTS: &[u8] = include_bytes!("../../assets/digits_vit/model.safetensors");
/// The held-out digits the app offers, with their labels.
pub const DIGITS_HELDOUT_JSON: &str = include_str!("../../assets/digits_heldout.json");
/// How the bundled model is named in reports and on screen.
pub const DIGITS_MODEL_NAME: &str = "digits ViT (bundled)";
/// Side of a digit image, in pixels.
pub const DIGIT_SIZE: u32 = 8;

/// One held-out digit: 8×8 gray pixels (ink bright), row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundledDigit {
    /// Its index in scikit-learn's `load_digits()`.
    pub sklearn_index: usize,
    /// The digit written (0–9).
    pub label: u8,
    pub pixels: Vec<u8>,
}

impl BundledDigit {
    pub fn image(&self) -> DynamicImage {
        gray_image(&self.pixels, DIGIT_SIZE, DIGIT_SIZE).expect("64 pixels, checked on parse")
    }
}

/// The bundled held-out digits, parsed once.
pub fn bundled_digits() -> &'static [BundledDigit] {
    static DIGITS: OnceLock<Vec<BundledDigit>> = OnceLock::new();
    DIGITS.get_or_init(|| {
        parse_digits(DIGITS_HELDOUT_JSON).expect("the bundled digits asset is valid (tested)")
    })
}

fn parse_digits(json: &str) -> Option<Vec<BundledDigit>> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    v.get("digits")?
        .as_array()?
        .iter()
        .map(|d| {
            let pixels: Vec<u8> = d
                .get("pixels")?
                .as_array()?
                .iter()
                .map(|p| p.as_u64().and_then(|p| u8::try_from(p).ok()))
                .collect::<Option<_>>()?;
            (pixels.len() == (DIGIT_SIZE * DIGIT_SIZE) as usize).then_some(())?;
            Some(BundledDigit {
                sklearn_index: d.get("sklearn_index")?.as_u64()? as usize,
                label: u8::try_from(d.get("label")?.as_u64()?).ok()?,
                pixels,
            })
        })
        .collect()
}

/// The bundled digit `index`; the error names the valid range.
pub fn bundled_digit(index: usize) -> Result<&'static BundledDigit, SequenceError> {
    let digits = bundled_digits();
    digits.get(index).ok_or(SequenceError::UnknownDigit {
        index,
        count: digits.len(),
    })
}

/// The digits ViT compiled into the binary, built once.
pub fn digits_model() -> Result<Arc<VitModel>, SequenceError> {
    static MODEL: OnceLock<Result<Arc<VitModel>, String>> = OnceLock::new();
    MODEL
        .get_or_init(|| load_digits_model().map(Arc::new).map_err(|e| e.to_string()))
        .clone()
        .map_err(SequenceError::BundledModel)
}

/// Builds the bundled digits ViT from its compiled-in files (what the load benchmark times).
pub fn load_digits_model() -> Result<VitModel, BertError> {
    VitModel::from_bytes(
        DIGITS_MODEL_NAME,
        DIGITS_VIT_CONFIG,
        Some(DIGITS_VIT_PREPROCESSOR),
        DIGITS_VIT_WEIGHTS,
        Path::new("assets/digits_vit"),
    )
}

/// Which family a model folder's `config.json` names.
pub fn folder_family(dir: &Path) -> Result<Family, SequenceError> {
    if !dir.is_dir() {
        return Err(BertError::FolderNotFound {
            dir: dir.to_owned(),
        }
        .into());
    }
    Ok(ConfigJson::read(&dir.join("config.json"))?.family()?)
}

/// Loads a ViT folder, reusing the last one loaded from the same folder.
pub fn load_vit(dir: &Path) -> Result<Arc<VitModel>, SequenceError> {
    static CACHE: Mutex<Option<(PathBuf, Arc<VitModel>)>> = Mutex::new(None);
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((cached_dir, model)) = cache.as_ref()
        && cached_dir == dir
    {
        return Ok(model.clone());
    }
    let model = Arc::new(VitModel::load(dir)?);
    *cache = Some((dir.to_path_buf(), model.clone()));
    Ok(model)
}

/// The model that reads an image: the folder's ViT, or the bundled digits ViT.
pub fn image_model(model_dir: Option<&Path>) -> Result<Arc<VitModel>, SequenceError> {
    match model_dir {
        Some(dir) => load_vit(dir),
        None => digits_model(),
    }
}

/// An encoded image and what it was: the model, the encoding, and a one-line description.
#[derive(Debug, Clone)]
pub struct EncodedImage {
    pub model: Arc<VitModel>,
    pub encoding: ImageEncoding,
    /// e.g. "digit 12 of the bundled held-out set (a 7)" or the file's path.
    pub description: String,
    /// The true label, for bundled digits.
    pub label: Option<u8>,
}

impl EncodedImage {
    /// The predicted class name, when the model has a classifier.
    pub fn predicted_label(&self) -> Option<String> {
        self.encoding
            .predicted_class()
            .map(|class| self.model.label(class))
    }

    /// The text recorded as the sequence's origin: what the image is and what the model
    /// predicts.
    pub fn origin_text(&self) -> String {
        match self.predicted_label() {
            Some(label) => format!("{}; the model predicts {label}", self.description),
            None => self.description.clone(),
        }
    }

    fn head_sequence(
        &self,
        source: String,
        layer: usize,
        head: usize,
    ) -> Result<Sequence, SequenceError> {
        let qkv = self.encoding.head(layer, head)?;
        let widen = |a: &ndarray::Array2<f32>| a.mapv(f64::from);
        let mut sequence = Sequence::new(
            source,
            self.encoding.tokens.clone(),
            widen(&qkv.q),
            widen(&qkv.k),
            widen(&qkv.v),
        )?;
        sequence.origin = Some(TextOrigin {
            text: self.origin_text(),
            model: self.model.name(),
            layer,
            head,
        });
        Ok(sequence)
    }
}

impl EncodedImage {
    /// Every head of `layer`, with the layer's W_O, b_o and the transformer's attention output
    /// at that point (after W_O and its bias, before the residual), for `heads = all`.
    pub fn layer_sequence(
        &self,
        source: String,
        layer: usize,
    ) -> Result<LayerSequence, SequenceError> {
        let (w_o, b_o) = self.model.output_projection(layer)?;
        let transformer_output = self
            .encoding
            .layers
            .get(layer)
            .map(|heads| heads.attention_output.mapv(f64::from));
        let heads = (0..self.model.config().num_heads)
            .map(|h| self.head_sequence(source.clone(), layer, h).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let layer = LayerSequence {
            heads,
            w_o: w_o.mapv(f64::from),
            b_o: b_o.mapv(f64::from),
            transformer_output,
        };
        layer
            .check()
            .map_err(|e| SequenceError::Layer(e.to_string()))?;
        Ok(layer)
    }
}

/// Encodes bundled digit `index` with the digits ViT.
pub fn encode_digit(index: usize) -> Result<EncodedImage, SequenceError> {
    let digit = bundled_digit(index)?;
    let model = digits_model()?;
    let description = format!(
        "digit {index} of the bundled held-out set (a {})",
        digit.label
    );
    let encoding = model.encode(&digit.image(), &format!("digit {index}"))?;
    Ok(EncodedImage {
        model,
        encoding,
        description,
        label: Some(digit.label),
    })
}

/// Encodes a PNG or JPEG file with the folder's ViT, or the bundled digits ViT (which first
/// reads it as [`fit_for_digits`] says, and notes how in the description).
pub fn encode_image_file(
    path: &Path,
    model_dir: Option<&Path>,
) -> Result<EncodedImage, SequenceError> {
    let model = image_model(model_dir)?;
    let (image, note) = read_for(path, model_dir)?;
    let name = path.display().to_string();
    let mut encoded = encode_image(model, &image, &name)?;
    if let Some(note) = note {
        encoded.description = format!("{name} ({note})");
    }
    Ok(encoded)
}

/// The file at `path` as its model will read it: for the bundled digits model, fitted to
/// 8×8 grayscale; for a ViT folder, as it is (its own preprocessor resizes or refuses).
fn read_for(
    path: &Path,
    model_dir: Option<&Path>,
) -> Result<(DynamicImage, Option<String>), SequenceError> {
    let image = read_image(path).map_err(BertError::from)?;
    Ok(if model_dir.is_none() {
        fit_for_digits(&image)
    } else {
        (image, None)
    })
}

/// An image as the bundled digits model can read it: 8×8 grayscale with the ink bright, as
/// its training digits are (issue 25). A user has a photo or a 28×28 digit, not an 8×8 one:
/// colour becomes luma, any other size is area-averaged to 8×8 (each output pixel the mean
/// of the source area it covers, so thin strokes are kept as grey, not skipped), and a
/// picture that is mostly light (dark ink on paper) is inverted. Returns the note to show
/// under the prediction, e.g. "read as 8×8 grayscale from 28×28 colour"; `None` when the
/// image was already 8×8 gray.
pub fn fit_for_digits(image: &DynamicImage) -> (DynamicImage, Option<String>) {
    let (width, height) = (image.width(), image.height());
    let rgb = image.to_rgb8();
    let colour = rgb.pixels().any(|p| p.0[0] != p.0[1] || p.0[1] != p.0[2]);
    let luma = image.to_luma8();
    let side = DIGIT_SIZE as usize;
    let resized = (width, height) != (DIGIT_SIZE, DIGIT_SIZE);
    let mut out = if resized {
        area_average(&luma, side)
    } else {
        luma.pixels().map(|p| f64::from(p.0[0])).collect()
    };
    let mean = out.iter().sum::<f64>() / out.len().max(1) as f64;
    let inverted = mean > 127.5;
    if inverted {
        out.iter_mut().for_each(|v| *v = 255.0 - *v);
    }
    let pixels: Vec<u8> = out
        .iter()
        .map(|v| v.round().clamp(0.0, 255.0) as u8)
        .collect();
    let fitted = gray_image(&pixels, DIGIT_SIZE, DIGIT_SIZE).expect("8×8 pixels");
    if !colour && !resized && !inverted {
        return (fitted, None);
    }
    let mut note = format!(
        "read as 8×8 grayscale from {width}×{height} {}",
        if colour { "colour" } else { "grayscale" }
    );
    if inverted {
        note.push_str(", inverted so the ink is bright");
    }
    (fitted, Some(note))
}

/// `side × side` means of `image` over equal areas (fractional source pixels weighted by the
/// part of them each output pixel covers).
fn area_average(image: &image::GrayImage, side: usize) -> Vec<f64> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    // weights[o] = (source index, covered length) for output index o along an axis of n.
    let spans = |n: usize| -> Vec<Vec<(usize, f64)>> {
        (0..side)
            .map(|o| {
                let (start, end) = (
                    o as f64 * n as f64 / side as f64,
                    (o + 1) as f64 * n as f64 / side as f64,
                );
                (start.floor() as usize..(end.ceil() as usize).min(n))
                    .map(|i| (i, (end.min(i as f64 + 1.0) - start.max(i as f64)).max(0.0)))
                    .filter(|(_, weight)| *weight > 0.0)
                    .collect()
            })
            .collect()
    };
    let (xs, ys) = (spans(w), spans(h));
    let mut out = Vec::with_capacity(side * side);
    for row in &ys {
        for col in &xs {
            let (mut sum, mut area) = (0.0, 0.0);
            for &(y, wy) in row {
                for &(x, wx) in col {
                    sum += wx * wy * f64::from(image.get_pixel(x as u32, y as u32).0[0]);
                    area += wx * wy;
                }
            }
            out.push(if area > 0.0 { sum / area } else { 0.0 });
        }
    }
    out
}

/// Encodes an image already in memory (e.g. a drawing); `name` names it in messages.
pub fn encode_image(
    model: Arc<VitModel>,
    image: &DynamicImage,
    name: &str,
) -> Result<EncodedImage, SequenceError> {
    let encoding = model.encode(image, name)?;
    Ok(EncodedImage {
        model,
        encoding,
        description: name.to_owned(),
        label: None,
    })
}

/// `digits:INDEX` at `layer`, `head`.
pub fn digit_sequence(index: usize, layer: usize, head: usize) -> Result<Sequence, SequenceError> {
    encode_digit(index)?.head_sequence(format!("digits:{index}"), layer, head)
}

/// Encodes an 8×8 drawing (row-major gray pixels, ink bright) with the digits ViT.
pub fn encode_drawing(pixels: &[u8]) -> Result<EncodedImage, SequenceError> {
    let image = gray_image(pixels, DIGIT_SIZE, DIGIT_SIZE)
        .ok_or_else(|| SequenceError::BadDrawing(format!("{} pixels", pixels.len())))?;
    let mut encoded = encode_image(digits_model()?, &image, "drawing")?;
    encoded.description = "a digit drawn on the pad".to_owned();
    Ok(encoded)
}

/// `drawing:PIXELS` at `layer`, `head`.
pub fn drawing_sequence(
    pixels: &[u8],
    layer: usize,
    head: usize,
) -> Result<Sequence, SequenceError> {
    let source = super::spec::SourceSpec::Drawing(pixels.to_vec()).to_string();
    encode_drawing(pixels)?.head_sequence(source, layer, head)
}

/// `image:PATH` (or `model:DIR` with an image) at `layer`, `head`.
pub fn image_sequence(
    source: String,
    path: &Path,
    model_dir: Option<&Path>,
    layer: usize,
    head: usize,
) -> Result<Sequence, SequenceError> {
    encode_image_file(path, model_dir)?.head_sequence(source, layer, head)
}

/// An image as its model sees it, for drawing: `side × side` RGB pixels (after the model's
/// resize), cut into `grid × grid` patches (the tokens after `[CLS]`, row by row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePreview {
    pub side: usize,
    pub grid: usize,
    /// Row-major RGB, `side × side` of them.
    pub rgb: Vec<[u8; 3]>,
    /// Layers and heads of the model that reads it.
    pub num_layers: usize,
    pub num_heads: usize,
}

impl ImagePreview {
    fn new(image: &DynamicImage, model: &VitModel) -> Self {
        let config = model.config();
        let (side, grid) = (config.image_size, config.grid());
        let side32 = side as u32;
        let image = if image.width() == side32 && image.height() == side32 {
            image.clone()
        } else {
            image.resize_exact(side32, side32, image::imageops::FilterType::Triangle)
        };
        ImagePreview {
            side,
            grid,
            rgb: image.to_rgb8().pixels().map(|p| p.0).collect(),
            num_layers: config.num_layers,
            num_heads: config.num_heads,
        }
    }
}

/// The preview of an image source (`digits:`, `drawing:`, `image:`), checked as the worker
/// will read it: a corrupt, empty, wrong-size or colour-for-gray image is refused with the
/// same one-sentence error. `Ok(None)` for sources that are not images.
pub fn image_preview(
    spec: &super::spec::SourceSpec,
) -> Result<Option<ImagePreview>, SequenceError> {
    use super::spec::SourceSpec;
    let (model, image, name) = match spec {
        SourceSpec::Digits(index) => (
            digits_model()?,
            bundled_digit(*index)?.image(),
            format!("digit {index}"),
        ),
        SourceSpec::Drawing(pixels) => (
            digits_model()?,
            gray_image(pixels, DIGIT_SIZE, DIGIT_SIZE)
                .ok_or_else(|| SequenceError::BadDrawing(format!("{} pixels", pixels.len())))?,
            "the drawing".to_owned(),
        ),
        SourceSpec::Image { path, model } => (
            image_model(model.as_deref())?,
            read_for(path, model.as_deref())?.0,
            path.display().to_string(),
        ),
        _ => return Ok(None),
    };
    // Refuses what the model would refuse, in its words.
    model.pixels(&image, &name)?;
    Ok(Some(ImagePreview::new(&image, &model)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_digits_parse_and_encode() {
        let digits = bundled_digits();
        assert!(
            digits.len() >= 36,
            "a few dozen digits, got {}",
            digits.len()
        );
        assert!(digits.iter().all(|d| d.label < 10));
        let seq = digit_sequence(0, 1, 2).unwrap();
        assert_eq!(seq.tokens.len(), 17);
        assert_eq!(seq.tokens[0], "[CLS]");
        let origin = seq.origin.as_ref().unwrap();
        assert_eq!(origin.model, DIGITS_MODEL_NAME);
        assert!(
            origin
                .text
                .starts_with("digit 0 of the bundled held-out set (a "),
            "{}",
            origin.text
        );
        let err = digit_sequence(digits.len(), 0, 0).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "there is no bundled digit {}: the bundled digits are 0..={}",
                digits.len(),
                digits.len() - 1
            )
        );
        let err = digit_sequence(0, 9, 0).unwrap_err().to_string();
        assert!(err.starts_with("layer 9 is out of range"), "{err}");
    }

    #[test]
    fn a_drawing_reads_like_the_same_bundled_digit() {
        let digit = bundled_digit(3).unwrap();
        let drawn = encode_drawing(&digit.pixels).unwrap();
        let bundled = encode_digit(3).unwrap();
        assert_eq!(drawn.predicted_label(), bundled.predicted_label());
        let seq = drawing_sequence(&digit.pixels, 1, 0).unwrap();
        assert!(seq.source.starts_with("drawing:"), "{}", seq.source);
        let origin = seq.origin.unwrap().text;
        assert!(
            origin.starts_with("a digit drawn on the pad; the model predicts "),
            "{origin}"
        );
        let err = encode_drawing(&[0; 10]).unwrap_err().to_string();
        assert!(err.starts_with("bad drawing '10 pixels'"), "{err}");
    }

    #[test]
    fn previews_show_images_as_their_model_sees_them() {
        use crate::data::spec::SourceSpec;
        let digit = image_preview(&SourceSpec::Digits(3)).unwrap().unwrap();
        assert_eq!((digit.side, digit.grid, digit.rgb.len()), (8, 4, 64));
        let pixel = bundled_digit(3).unwrap().pixels[20];
        assert_eq!(digit.rgb[20], [pixel; 3]);
        let fixture =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vit_tiny");
        let colour = image_preview(&SourceSpec::Image {
            path: fixture.join("input.png"),
            model: Some(fixture.clone()),
        })
        .unwrap()
        .unwrap();
        assert_eq!((colour.side, colour.grid, colour.rgb.len()), (16, 4, 256));
        assert!(
            image_preview(&SourceSpec::Synthetic {
                tokens: 3,
                dim: 2,
                heads: 1
            })
            .unwrap()
            .is_none()
        );
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.png");
        std::fs::write(&empty, b"").unwrap();
        let err = image_preview(&SourceSpec::Image {
            path: empty.clone(),
            model: None,
        })
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            format!(
                "{} is an empty file (0 bytes), not an image",
                empty.display()
            )
        );
    }

    #[test]
    fn a_colour_28_by_28_digit_is_read_as_8_by_8_grayscale_by_area_averaging() {
        // A bright 4-pixel-wide square of red ink on black, 28×28: area 28/8 = 3.5 pixels.
        let mut img = image::RgbImage::new(28, 28);
        for y in 0..28 {
            for x in 0..28 {
                let ink = (7..21).contains(&x) && (7..21).contains(&y);
                img.put_pixel(
                    x,
                    y,
                    image::Rgb(if ink { [255, 40, 40] } else { [0, 0, 0] }),
                );
            }
        }
        let (fitted, note) = fit_for_digits(&DynamicImage::ImageRgb8(img.clone()));
        assert_eq!(
            note.as_deref(),
            Some("read as 8×8 grayscale from 28×28 colour")
        );
        assert_eq!((fitted.width(), fitted.height()), (8, 8));
        let luma = f64::from(
            image::DynamicImage::ImageRgb8(img)
                .to_luma8()
                .get_pixel(10, 10)
                .0[0],
        );
        let gray = fitted.to_luma8();
        // Output pixel 2 covers source 7..10.5: all ink; pixel 1 covers 3.5..7: none; pixel
        // 5 covers 17.5..21: all ink.
        assert_eq!(f64::from(gray.get_pixel(2, 2).0[0]), luma.round());
        assert_eq!(gray.get_pixel(1, 1).0[0], 0);
        assert_eq!(f64::from(gray.get_pixel(5, 5).0[0]), luma.round());
        // The model takes it.
        assert!(digits_model().unwrap().pixels(&fitted, "x").is_ok());
        // An 8×8 gray digit stays as it is.
        let digit = bundled_digit(0).unwrap().image();
        let (same, none) = fit_for_digits(&digit);
        assert!(none.is_none());
        assert_eq!(same.to_luma8(), digit.to_luma8());
    }

    #[test]
    fn bad_digit_assets_are_rejected() {
        assert!(parse_digits("{}").is_none());
        assert!(
            parse_digits(r#"{"digits":[{"sklearn_index":1,"label":3,"pixels":[1,2]}]}"#).is_none()
        );
    }
}
