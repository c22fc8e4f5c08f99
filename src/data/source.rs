//! Sequence sources as text (`synthetic:12x32`, `npy:DIR`, `bundled:NAME`, `model:DIR`), as
//! used by `--sequence`, experiment files and the app's picker.

use super::npy::{NpyError, load_folder};
use super::synthetic::synthetic;
use crate::model::params::Params;
use crate::model::sequence::Sequence;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Largest synthetic sequence: N tokens and D dimensions.
pub const MAX_SYNTHETIC_TOKENS: usize = 4096;
pub const MAX_SYNTHETIC_DIM: usize = 4096;

/// Where a sequence comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    /// `synthetic:NxD`: Gaussian q, k, v from the seed.
    Synthetic { tokens: usize, dim: usize },
    /// `npy:DIR`: q.npy, k.npy, v.npy and optional tokens.txt.
    Npy(PathBuf),
    /// `bundled:NAME`: a MiniLM sentence shipped with the app.
    Bundled(String),
    /// `model:DIR`: a BERT-family model folder, encoding the experiment's text.
    Model(PathBuf),
}

/// Why a sequence could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum SequenceError {
    #[error(
        "unknown sequence source '{0}': expected synthetic:NxD, npy:DIR, bundled:NAME or model:DIR"
    )]
    UnknownSource(String),
    #[error(
        "bad synthetic size '{0}': expected NxD with 1 ≤ N ≤ {MAX_SYNTHETIC_TOKENS} and 1 ≤ D ≤ {MAX_SYNTHETIC_DIM}, e.g. synthetic:12x32"
    )]
    BadSynthetic(String),
    #[error(transparent)]
    Npy(#[from] NpyError),
    #[error("{0}")]
    Bundle(String),
    #[error("{0}")]
    Model(String),
    #[error("model:{0} needs text to encode (give --text or a `text` key in [sequence])")]
    MissingText(String),
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
                let tokens: usize = n.trim().parse().map_err(|_| bad())?;
                let dim: usize = d.trim().parse().map_err(|_| bad())?;
                if tokens == 0
                    || dim == 0
                    || tokens > MAX_SYNTHETIC_TOKENS
                    || dim > MAX_SYNTHETIC_DIM
                {
                    return Err(bad());
                }
                Ok(SourceSpec::Synthetic { tokens, dim })
            }
            "npy" if !rest.is_empty() => Ok(SourceSpec::Npy(PathBuf::from(rest))),
            "bundled" if !rest.is_empty() => Ok(SourceSpec::Bundled(rest.to_string())),
            "model" if !rest.is_empty() => Ok(SourceSpec::Model(PathBuf::from(rest))),
            _ => Err(SequenceError::UnknownSource(text.to_string())),
        }
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Synthetic { tokens, dim } => write!(f, "synthetic:{tokens}x{dim}"),
            SourceSpec::Npy(path) => write!(f, "npy:{}", path.display()),
            SourceSpec::Bundled(name) => write!(f, "bundled:{name}"),
            SourceSpec::Model(path) => write!(f, "model:{}", path.display()),
        }
    }
}

impl SourceSpec {
    /// Resolves relative paths against `base` (an experiment file's folder).
    pub fn resolved_against(&self, base: &Path) -> SourceSpec {
        match self {
            SourceSpec::Npy(p) if p.is_relative() => SourceSpec::Npy(base.join(p)),
            SourceSpec::Model(p) if p.is_relative() => SourceSpec::Model(base.join(p)),
            other => other.clone(),
        }
    }

    /// Whether changing the seed or synthetic_scale changes this sequence.
    pub fn depends_on_seed(&self) -> bool {
        matches!(self, SourceSpec::Synthetic { .. })
    }

    /// Whether layer/head select among this source's heads.
    pub fn has_heads(&self) -> bool {
        matches!(self, SourceSpec::Bundled(_) | SourceSpec::Model(_))
    }
}

/// Produces the sequence `spec` describes (with `text` for model sources).
pub fn load_sequence(
    spec: &SourceSpec,
    text: Option<&str>,
    params: &Params,
) -> Result<Sequence, SequenceError> {
    match spec {
        SourceSpec::Synthetic { tokens, dim } => Ok(synthetic(
            *tokens,
            *dim,
            params.seed,
            params.synthetic_scale,
        )),
        SourceSpec::Npy(dir) => Ok(load_folder(dir)?),
        SourceSpec::Bundled(name) => super::real::bundled_sequence(name, params.layer, params.head),
        SourceSpec::Model(dir) => {
            let text = text.ok_or_else(|| SequenceError::MissingText(dir.display().to_string()))?;
            super::real::model_sequence(dir, text, params.layer, params.head)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        for text in [
            "synthetic:12x32",
            "npy:/tmp/x",
            "bundled:coreference",
            "model:models/m",
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
        ] {
            let err = bad.parse::<SourceSpec>().unwrap_err().to_string();
            assert!(err.contains("synthetic:"), "{bad}: {err}");
        }
    }
}
