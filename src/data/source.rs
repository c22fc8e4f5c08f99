//! Sequence sources as text (`synthetic:12x32`, `npy:DIR`, `bundled:NAME`, `model:DIR`,
//! `digits:INDEX`, `image:PATH`), as used by `--sequence`, experiment files and the app's
//! picker.

use super::bert::Family;
use super::error::SequenceError;
use super::images::{
    digit_sequence, digits_model, drawing_sequence, encode_digit, encode_drawing,
    encode_image_file, folder_family, image_sequence, load_vit,
};
use super::npy::{load_folder, load_folder_heads};
use super::real::{bundle, load_model};
use super::spec::SourceSpec;
use super::synthetic::{synthetic, synthetic_head};
use crate::model::layer::LayerSequence;
use crate::model::params::Params;
use crate::model::sequence::Sequence;
use std::sync::Arc;

/// Produces the sequence `spec` describes (with `text` for model sources).
pub fn load_sequence(
    spec: &SourceSpec,
    text: Option<&str>,
    params: &Params,
) -> Result<Sequence, SequenceError> {
    match spec {
        SourceSpec::Synthetic {
            tokens,
            dim,
            heads: 1,
        } => Ok(synthetic(
            *tokens,
            *dim,
            params.seed,
            params.synthetic_scale,
        )),
        SourceSpec::Synthetic { tokens, dim, heads } => {
            if params.head >= *heads {
                return Err(SequenceError::SyntheticHeadOutOfRange {
                    head: params.head,
                    heads: *heads,
                });
            }
            Ok(synthetic_head(
                *tokens,
                *dim,
                *heads,
                params.head,
                params.seed,
                params.synthetic_scale,
            ))
        }
        SourceSpec::Npy(dir) => Ok(load_folder(dir)?),
        SourceSpec::Bundled(name) => super::real::bundled_sequence(name, params.layer, params.head),
        SourceSpec::Model(dir) => {
            if folder_family(dir).ok() == Some(Family::Vit) {
                return Err(SequenceError::MissingImage(dir.display().to_string()));
            }
            let text = text.ok_or_else(|| SequenceError::MissingText(dir.display().to_string()))?;
            super::real::model_sequence(dir, text, params.layer, params.head)
        }
        SourceSpec::Digits(index) => digit_sequence(*index, params.layer, params.head),
        SourceSpec::Drawing(pixels) => drawing_sequence(pixels, params.layer, params.head),
        SourceSpec::Image { path, model } => {
            if let Some(dir) = model
                && matches!(folder_family(dir), Ok(Family::Bert | Family::Albert))
            {
                return Err(SequenceError::ImageForTextModel(dir.display().to_string()));
            }
            image_sequence(
                spec.to_string(),
                path,
                model.as_deref(),
                params.layer,
                params.head,
            )
        }
    }
}

/// Every head of `params.layer` that `spec` describes, for `heads = all`: synthetic (its head
/// count; W_O the identity), `npy:DIR` with a leading head axis (W_O the identity), bundled
/// sentences and `model:DIR` text models (the model's W_O and b_o, and the transformer's own
/// attention output to compare with). Head h equals what [`load_sequence`] gives with
/// `head = h`.
pub fn load_layer(
    spec: &SourceSpec,
    text: Option<&str>,
    params: &Params,
) -> Result<LayerSequence, SequenceError> {
    let identity = |heads: Vec<Sequence>| {
        LayerSequence::with_identity(heads.into_iter().map(Arc::new).collect())
            .map_err(|e| SequenceError::Layer(e.to_string()))
    };
    match spec {
        SourceSpec::Synthetic { tokens, dim, heads } => identity(
            (0..*heads)
                .map(|h| {
                    synthetic_head(
                        *tokens,
                        *dim,
                        *heads,
                        h,
                        params.seed,
                        params.synthetic_scale,
                    )
                })
                .collect(),
        ),
        SourceSpec::Npy(dir) => match load_folder_heads(dir)? {
            Some(heads) => identity(heads),
            None => Err(SequenceError::NoHeadAxis {
                dir: dir.display().to_string(),
            }),
        },
        SourceSpec::Bundled(name) => super::real::bundled_layer(name, params.layer),
        SourceSpec::Model(dir) => {
            if folder_family(dir).ok() == Some(Family::Vit) {
                return Err(SequenceError::MissingImage(dir.display().to_string()));
            }
            let text = text.ok_or_else(|| SequenceError::MissingText(dir.display().to_string()))?;
            super::real::model_layer(dir, text, params.layer)
        }
        SourceSpec::Digits(index) => {
            encode_digit(*index)?.layer_sequence(spec.to_string(), params.layer)
        }
        SourceSpec::Drawing(pixels) => {
            encode_drawing(pixels)?.layer_sequence(spec.to_string(), params.layer)
        }
        SourceSpec::Image { path, model } => {
            if let Some(dir) = model
                && matches!(folder_family(dir), Ok(Family::Bert | Family::Albert))
            {
                return Err(SequenceError::ImageForTextModel(dir.display().to_string()));
            }
            encode_image_file(path, model.as_deref())?
                .layer_sequence(spec.to_string(), params.layer)
        }
    }
}

/// Layers and heads per layer of a real-text source (None for synthetic and .npy sources).
pub fn head_grid(spec: &SourceSpec) -> Result<Option<(usize, usize)>, SequenceError> {
    match spec {
        SourceSpec::Bundled(name) => {
            let bundle = bundle()?;
            Ok(bundle.find(name).map(|s| (s.num_layers, s.num_heads)))
        }
        SourceSpec::Model(dir) if folder_family(dir).ok() == Some(Family::Vit) => {
            let model = load_vit(dir)?;
            Ok(Some((model.config().num_layers, model.config().num_heads)))
        }
        SourceSpec::Model(dir) => {
            let model = load_model(dir)?;
            Ok(Some((model.config().num_layers, model.config().num_heads)))
        }
        SourceSpec::Digits(_) | SourceSpec::Drawing(_) | SourceSpec::Image { .. } => {
            let model = match spec {
                SourceSpec::Image {
                    model: Some(dir), ..
                } => load_vit(dir)?,
                _ => digits_model()?,
            };
            Ok(Some((model.config().num_layers, model.config().num_heads)))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::spec::DRAWING_PIXELS;

    #[test]
    fn a_drawing_has_the_pixels_the_digits_model_reads() {
        let side = super::super::images::DIGIT_SIZE as usize;
        assert_eq!(DRAWING_PIXELS, side * side);
    }

    #[test]
    fn parses_and_prints_round_trip() {
        for text in [
            "synthetic:12x32",
            "synthetic:12x32x4",
            "npy:/tmp/x",
            "bundled:coreference",
            "model:models/m",
            "digits:7",
            "image:/tmp/seven.png",
            "image:pics/a.png|model:models/vit",
        ] {
            assert_eq!(text.parse::<SourceSpec>().unwrap().to_string(), text);
        }
        for bad in [
            "synthetic:0x3",
            "synthetic:12",
            "foo:1",
            "npy:",
            "12x32",
            "synthetic:5000x2",
            "synthetic:12x32x0",
            "synthetic:12x32x65",
            "synthetic:12x32x",
            "image:",
        ] {
            let err = bad.parse::<SourceSpec>().unwrap_err().to_string();
            assert!(err.contains("synthetic:"), "{bad}: {err}");
        }
        assert_eq!(
            "synthetic:12x32x1"
                .parse::<SourceSpec>()
                .unwrap()
                .to_string(),
            "synthetic:12x32"
        );
        let drawing = SourceSpec::Drawing((0..64).map(|i| (i * 4) as u8).collect());
        let text = drawing.to_string();
        assert_eq!(text.len(), "drawing:".len() + 128);
        assert_eq!(text.parse::<SourceSpec>().unwrap(), drawing);
        for bad in ["drawing:", "drawing:0g", &text[..text.len() - 2]] {
            let err = bad.parse::<SourceSpec>().unwrap_err().to_string();
            assert!(err.starts_with("bad drawing '"), "{bad}: {err}");
        }
        let err = "digits:seven"
            .parse::<SourceSpec>()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "bad digit index 'seven': expected digits:INDEX with INDEX a whole number, e.g. digits:0"
        );
        assert_eq!(
            "image:a.png|model:vit".parse::<SourceSpec>().unwrap(),
            SourceSpec::Image {
                path: "a.png".into(),
                model: Some("vit".into())
            }
        );
    }
}
