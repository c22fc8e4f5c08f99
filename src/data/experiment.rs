//! The experiment as a domain type: parameters plus where the sequence comes from. Its file
//! form (TOML) lives in `io::experiment`; the simulation and the app use this type.

use crate::data::error::SequenceError;

use crate::data::source::load_sequence;

use crate::data::spec::SourceSpec;
use crate::model::params::Params;
use crate::model::sequence::Sequence;

/// A whole setup: parameters plus where the sequence comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct Experiment {
    pub params: Params,
    pub source: SourceSpec,
    /// Text to encode, for `model:` sources.
    pub text: Option<String>,
    /// A paragraph describing the experiment (presets show it).
    pub description: Option<String>,
}

impl Default for Experiment {
    fn default() -> Self {
        Experiment {
            params: Params {
                layer: DEFAULT_LAYER,
                head: DEFAULT_HEAD,
                ..Params::default()
            },
            source: default_source(),
            text: None,
            description: None,
        }
    }
}

/// The app's and CLI's default sequence: a bundled MiniLM sentence whose default head
/// resolves a coreference ("it" → "astrocyte"), so the first thing on screen is real attention.
pub fn default_source() -> SourceSpec {
    SourceSpec::Bundled(DEFAULT_SENTENCE.to_string())
}

/// The bundled sentence the app opens on, and its striking head.
pub const DEFAULT_SENTENCE: &str = "coreference-it";
pub const DEFAULT_LAYER: usize = 3;
pub const DEFAULT_HEAD: usize = 1;

impl Experiment {
    /// Loads the sequence this experiment names.
    pub fn load_sequence(&self) -> Result<Sequence, SequenceError> {
        load_sequence(&self.source, self.text.as_deref(), &self.params)
    }
}
