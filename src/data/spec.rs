//! What a sequence source is, as text: `synthetic:12x32`, `npy:DIR`, `bundled:NAME`,
//! `model:DIR`, `digits:INDEX`, `drawing:PIXELS`, `image:PATH` — parsed and printed, with no
//! loading (`source` loads them, `images` encodes images; both name the spec, it names
//! neither).

use super::error::{MAX_SYNTHETIC_DIM, MAX_SYNTHETIC_HEADS, MAX_SYNTHETIC_TOKENS, SequenceError};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Pixels of a `drawing:` source: the 8×8 input of the bundled digits ViT
/// (`images::DIGIT_SIZE` squared; a test in `source` holds them equal).
pub const DRAWING_PIXELS: usize = 64;

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
    let count = DRAWING_PIXELS;
    if hex.len() != 2 * count || !hex.is_ascii() {
        return None;
    }
    (0..count)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}
