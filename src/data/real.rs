//! Real-text sequences: bundled MiniLM sentences and BERT-family model folders.
// TEMPORARY: wired once data::bert and data::bundle land.

use super::sequence::Sequence;
use super::source::SequenceError;
use std::path::Path;

pub fn bundled_sequence(name: &str, _layer: usize, _head: usize) -> Result<Sequence, SequenceError> {
    Err(SequenceError::Bundle(format!("bundled sequence '{name}' is not available in this build")))
}

pub fn model_sequence(dir: &Path, _text: &str, _layer: usize, _head: usize) -> Result<Sequence, SequenceError> {
    Err(SequenceError::Model(format!("model folder {} cannot be read by this build", dir.display())))
}
