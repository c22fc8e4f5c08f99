//! Sequence sources as text (`synthetic:12x32`, `npy:DIR`, `bundled:NAME`, `model:DIR`,
//! `digits:INDEX`, `image:PATH`), as used by `--sequence`, experiment files and the app's
//! picker.

use super::bert::Family;
pub use super::error::SequenceError;
use super::images::{
    DIGIT_SIZE, digit_sequence, digits_model, drawing_sequence, encode_digit, encode_drawing,
    encode_image_file, folder_family, image_sequence, load_vit,
};
use super::npy::{load_folder, load_folder_heads};
use super::real::{bundle, load_model};
use super::synthetic::{synthetic, synthetic_head};
use crate::model::layer::LayerSequence;
use crate::model::params::Params;
use crate::model::sequence::Sequence;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

pub use super::error::{MAX_SYNTHETIC_DIM, MAX_SYNTHETIC_HEADS, MAX_SYNTHETIC_TOKENS};

/// Where a sequence comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    /// `synthetic:NxD` or `synthetic:NxDxH`: Gaussian q, k, v from the seed, for `heads` heads
    /// (1 when the count is left out; head h draws from its own stream, head 0 is `NxD`).
    Synthetic {
        tokens: usize,
        dim: usize,
        heads: usize,
    },
    /// `npy:DIR`: q.npy, k.npy, v.npy and optional tokens.txt.
    Npy(PathBuf),
    /// `bundled:NAME`: a MiniLM sentence shipped with the app.
    Bundled(String),
    /// `model:DIR`: a BERT or ALBERT model folder, encoding the experiment's text.
    Model(PathBuf),
    /// `digits:INDEX`: a bundled held-out digit, read by the bundled digits ViT.
    Digits(usize),
    /// `drawing:PIXELS`: an 8×8 digit drawn on the app's pad (64 two-digit hex values, row
    /// by row, ink bright), read by the bundled digits ViT.
    Drawing(Vec<u8>),
    /// `image:PATH`: a PNG or JPEG read by the ViT in `model` (a folder), or by the bundled
    /// digits ViT when `model` is `None`. Written `image:PATH|model:DIR` when a folder is given
    /// (experiment files store the folder as `source = "model:DIR"` and the path as `image`).
    Image {
        path: PathBuf,
        model: Option<PathBuf>,
    },
}

impl FromStr for SourceSpec {
    type Err = SequenceError;
    fn from_str(text: &str) -> Result<Self, SequenceError> {
        let text = text.trim();
        let (kind, rest) = text
            .split_once(':')
            .ok_or_else(|| SequenceError::UnknownSource(text.to_string()))?;
        match kind {
            "synthetic" => {
                let bad = || SequenceError::BadSynthetic(rest.to_string());
                let (n, d) = rest.split_once(['x', 'X']).ok_or_else(bad)?;
                let (d, h) = match d.split_once(['x', 'X']) {
                    Some((d, h)) => (d, Some(h)),
                    None => (d, None),
                };
                let tokens: usize = n.trim().parse().map_err(|_| bad())?;
                let dim: usize = d.trim().parse().map_err(|_| bad())?;
                let heads = match h {
                    None => 1,
                    Some(h) => {
                        let heads: usize = h.trim().parse().map_err(|_| bad())?;
                        if heads == 0 {
                            return Err(SequenceError::ZeroSyntheticHeads(rest.to_string()));
                        }
                        if heads > MAX_SYNTHETIC_HEADS {
                            return Err(bad());
                        }
                        heads
                    }
                };
                if tokens == 0
                    || dim == 0
                    || tokens > MAX_SYNTHETIC_TOKENS
                    || dim > MAX_SYNTHETIC_DIM
                {
                    return Err(bad());
                }
                Ok(SourceSpec::Synthetic { tokens, dim, heads })
            }
            "npy" if !rest.is_empty() => Ok(SourceSpec::Npy(PathBuf::from(rest))),
            "bundled" if !rest.is_empty() => Ok(SourceSpec::Bundled(rest.to_string())),
            "model" if !rest.is_empty() => Ok(SourceSpec::Model(PathBuf::from(rest))),
            "digits" => rest
                .trim()
                .parse()
                .map(SourceSpec::Digits)
                .map_err(|_| SequenceError::BadDigitIndex(rest.to_string())),
            "drawing" => parse_drawing(rest.trim())
                .map(SourceSpec::Drawing)
                .ok_or_else(|| SequenceError::BadDrawing(rest.to_string())),
            "image" if !rest.is_empty() => Ok(match rest.rsplit_once("|model:") {
                Some((path, dir)) if !path.is_empty() && !dir.is_empty() => SourceSpec::Image {
                    path: PathBuf::from(path),
                    model: Some(PathBuf::from(dir)),
                },
                _ => SourceSpec::Image {
                    path: PathBuf::from(rest),
                    model: None,
                },
            }),
            _ => Err(SequenceError::UnknownSource(text.to_string())),
        }
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Synthetic {
                tokens,
                dim,
                heads: 1,
            } => write!(f, "synthetic:{tokens}x{dim}"),
            SourceSpec::Synthetic { tokens, dim, heads } => {
                write!(f, "synthetic:{tokens}x{dim}x{heads}")
            }
            SourceSpec::Npy(path) => write!(f, "npy:{}", path.display()),
            SourceSpec::Bundled(name) => write!(f, "bundled:{name}"),
            SourceSpec::Model(path) => write!(f, "model:{}", path.display()),
            SourceSpec::Digits(index) => write!(f, "digits:{index}"),
            SourceSpec::Drawing(pixels) => {
                write!(f, "drawing:")?;
                pixels.iter().try_for_each(|p| write!(f, "{p:02x}"))
            }
            SourceSpec::Image { path, model: None } => write!(f, "image:{}", path.display()),
            SourceSpec::Image {
                path,
                model: Some(dir),
            } => write!(f, "image:{}|model:{}", path.display(), dir.display()),
        }
    }
}

impl SourceSpec {
    /// Resolves relative paths against `base` (an experiment file's folder).
    pub fn resolved_against(&self, base: &Path) -> SourceSpec {
        match self {
            SourceSpec::Npy(p) if p.is_relative() => SourceSpec::Npy(base.join(p)),
            SourceSpec::Model(p) if p.is_relative() => SourceSpec::Model(base.join(p)),
            SourceSpec::Image { path, model } => SourceSpec::Image {
                path: if path.is_relative() {
                    base.join(path)
                } else {
                    path.clone()
                },
                model: model.as_ref().map(|dir| {
                    if dir.is_relative() {
                        base.join(dir)
                    } else {
                        dir.clone()
                    }
                }),
            },
            other => other.clone(),
        }
    }

    /// Whether changing the seed or synthetic_scale changes this sequence.
    pub fn depends_on_seed(&self) -> bool {
        matches!(self, SourceSpec::Synthetic { .. })
    }

    /// Whether layer/head select among this source's heads.
    pub fn has_heads(&self) -> bool {
        matches!(
            self,
            SourceSpec::Bundled(_)
                | SourceSpec::Model(_)
                | SourceSpec::Digits(_)
                | SourceSpec::Drawing(_)
                | SourceSpec::Image { .. }
        )
    }

    /// The spec for an image read by `model:DIR` (a ViT folder) — what `--sequence model:DIR
    /// --image PATH` and an experiment file's `image` key build. Other sources cannot take an
    /// image; for them the image is read by the bundled digits ViT.
    pub fn with_image(&self, path: PathBuf) -> SourceSpec {
        match self {
            SourceSpec::Model(dir)
            | SourceSpec::Image {
                model: Some(dir), ..
            } => SourceSpec::Image {
                path,
                model: Some(dir.clone()),
            },
            _ => SourceSpec::Image { path, model: None },
        }
    }
}

/// The 64 pixels of `drawing:PIXELS`, or None unless it is exactly 64 two-digit hex values.
fn parse_drawing(hex: &str) -> Option<Vec<u8>> {
    let count = (DIGIT_SIZE * DIGIT_SIZE) as usize;
    if hex.len() != 2 * count || !hex.is_ascii() {
        return None;
    }
    (0..count)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}

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
