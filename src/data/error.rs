//! Why a sequence could not be produced: one error type for every source, wrapping the typed
//! errors of the readers it calls.

use super::bert::BertError;
use super::bundle::BundleError;
use super::npy::NpyError;
use crate::model::sequence::ShapeError;

/// Largest synthetic sequence: N tokens and D dimensions.
pub const MAX_SYNTHETIC_TOKENS: usize = 4096;
pub const MAX_SYNTHETIC_DIM: usize = 4096;
/// Most heads a synthetic source may have (`synthetic:NxDxH`).
pub const MAX_SYNTHETIC_HEADS: usize = 64;

/// Why a sequence could not be produced. The reader errors are boxed to keep this small.
#[derive(Debug, thiserror::Error)]
pub enum SequenceError {
    #[error(
        "unknown sequence source '{0}': expected synthetic:NxD, npy:DIR, bundled:NAME, model:DIR, digits:INDEX, drawing:PIXELS or image:PATH"
    )]
    UnknownSource(String),
    #[error(
        "bad synthetic size '{0}': expected NxD or NxDxH with 1 ≤ N ≤ {MAX_SYNTHETIC_TOKENS}, 1 ≤ D ≤ {MAX_SYNTHETIC_DIM} and 1 ≤ H ≤ {MAX_SYNTHETIC_HEADS} heads, e.g. synthetic:12x32"
    )]
    BadSynthetic(String),
    #[error(
        "bad synthetic head count in '{0}': a layer needs at least one head, e.g. synthetic:12x32x4 for 4 heads"
    )]
    ZeroSyntheticHeads(String),
    #[error("head {head} is out of range: this synthetic source has heads 0..={max}", max = heads.saturating_sub(1))]
    SyntheticHeadOutOfRange { head: usize, heads: usize },
    #[error(
        "npy:{dir} has no head axis, so heads = all cannot split it into heads: give q.npy, k.npy and v.npy a leading head axis (heads × N × D), or set heads = one"
    )]
    NoHeadAxis { dir: String },
    #[error("{0}")]
    Layer(String),
    #[error(transparent)]
    Npy(#[from] NpyError),
    #[error(transparent)]
    Bundle(Box<BundleError>),
    #[error("no bundled sentence named '{name}'; the bundled sentences are: {known}")]
    UnknownSentence { name: String, known: String },
    #[error("bundled:{name}: {source}")]
    BundledHead {
        name: String,
        #[source]
        source: Box<BundleError>,
    },
    #[error(transparent)]
    Model(Box<BertError>),
    #[error(transparent)]
    Shape(#[from] ShapeError),
    #[error("model:{0} needs text to encode (give --text or a `text` key in [sequence])")]
    MissingText(String),
    #[error(
        "model:{0} is a vision transformer and reads images: give it one (--image PATH, or an `image` key in [sequence])"
    )]
    MissingImage(String),
    #[error("model:{0} reads text, not images: give it --text instead of --image")]
    ImageForTextModel(String),
    #[error("there is no bundled digit {index}: the bundled digits are 0..={max}", max = count.saturating_sub(1))]
    UnknownDigit { index: usize, count: usize },
    #[error(
        "bad digit index '{0}': expected digits:INDEX with INDEX a whole number, e.g. digits:0"
    )]
    BadDigitIndex(String),
    #[error(
        "bad drawing '{0}': expected drawing:PIXELS with PIXELS 64 two-digit hex values (8×8 gray, row by row, ink bright)"
    )]
    BadDrawing(String),
    #[error("the bundled digits model could not be built: {0}")]
    BundledModel(String),
}

impl From<BundleError> for SequenceError {
    fn from(error: BundleError) -> Self {
        SequenceError::Bundle(Box::new(error))
    }
}

impl From<BertError> for SequenceError {
    fn from(error: BertError) -> Self {
        SequenceError::Model(Box::new(error))
    }
}
