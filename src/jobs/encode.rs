//! `tripartite encode`: text read by a BERT or ALBERT folder, or an image by a ViT, one head's
//! q, k, v and softmax attention written by `io::export::encode`, and a one-line or JSON
//! summary (with the predicted class for images).

use crate::data::bert::{BertError, Family, ImageError};
use crate::data::error::SequenceError;
use crate::data::images::{encode_digit, encode_image_file, folder_family};
use crate::data::real::load_model;
use crate::io::export::encode::{EncodeWriteError, write_head};
use serde::Serialize;
use std::path::Path;

/// What `encode --json` prints.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EncodeReport {
    pub model: String,
    /// The text encoded, for text models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The image encoded (a path, or "digits:INDEX"), for vision models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub tokens: usize,
    pub layer: usize,
    pub head: usize,
    pub head_size: usize,
    /// The classifier's choice (index), when the model has a classifier head.
    pub predicted_class: Option<usize>,
    /// Its name from `id2label`.
    pub predicted_label: Option<String>,
    /// The class scores, when the model has a classifier head.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logits: Option<Vec<f32>>,
    pub out: String,
}

/// Why `encode` failed.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error(transparent)]
    Sequence(#[from] SequenceError),
    #[error(transparent)]
    Model(#[from] BertError),
    #[error(transparent)]
    Write(#[from] EncodeWriteError),
    #[error("--text needs --model DIR (a BERT or ALBERT folder)")]
    TextNeedsModel,
}

impl From<ImageError> for EncodeError {
    fn from(error: ImageError) -> Self {
        EncodeError::Model(error.into())
    }
}

/// Encodes `text` with the text model in `model_dir`, or `image` (a path or `digits:INDEX`)
/// with the ViT in `model_dir` (the bundled digits ViT when `None`), and writes head
/// `(layer, head)` into `out`. Prints one line, or the JSON report with `json`.
pub fn encode_command(
    model_dir: Option<&Path>,
    text: Option<&str>,
    image: Option<&str>,
    (layer, head): (usize, usize),
    out: &Path,
    json: bool,
) -> Result<(), EncodeError> {
    let report = match (text, image) {
        (_, Some(image)) => {
            if let Some(dir) = model_dir
                && matches!(folder_family(dir)?, Family::Bert | Family::Albert)
            {
                return Err(SequenceError::ImageForTextModel(dir.display().to_string()).into());
            }
            let encoded = match image.strip_prefix("digits:") {
                Some(index) if model_dir.is_none() => {
                    let index = index
                        .trim()
                        .parse()
                        .map_err(|_| SequenceError::BadDigitIndex(index.to_owned()))?;
                    encode_digit(index)?
                }
                _ => encode_image_file(Path::new(image), model_dir)?,
            };
            let qkv = encoded.encoding.head(layer, head)?;
            write_head(out, &qkv, &encoded.encoding.tokens)?;
            EncodeReport {
                model: encoded.model.name(),
                text: None,
                image: Some(image.to_owned()),
                tokens: encoded.encoding.tokens.len(),
                layer,
                head,
                head_size: qkv.q.ncols(),
                predicted_class: encoded.encoding.predicted_class(),
                predicted_label: encoded.predicted_label(),
                logits: encoded.encoding.logits.clone(),
                out: out.display().to_string(),
            }
        }
        (Some(text), None) => {
            let dir = model_dir.ok_or(EncodeError::TextNeedsModel)?;
            if folder_family(dir)? == Family::Vit {
                return Err(SequenceError::MissingImage(dir.display().to_string()).into());
            }
            let model = load_model(dir)?;
            let encoding = model.encode(text)?;
            let qkv = encoding.head(layer, head)?;
            write_head(out, &qkv, &encoding.tokens)?;
            EncodeReport {
                model: model.name(),
                text: Some(text.to_owned()),
                image: None,
                tokens: encoding.tokens.len(),
                layer,
                head,
                head_size: qkv.q.ncols(),
                predicted_class: None,
                predicted_label: None,
                logits: None,
                out: out.display().to_string(),
            }
        }
        (None, None) => return Err(EncodeError::TextNeedsModel),
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("reports always serialise")
        );
    } else {
        let prediction = report
            .predicted_label
            .as_ref()
            .map(|label| format!(" (predicted: {label})"))
            .unwrap_or_default();
        println!(
            "{} tokens, layer {} head {} of {}{prediction} → {}",
            report.tokens, layer, head, report.model, report.out
        );
    }
    Ok(())
}
