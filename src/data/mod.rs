//! Where sequences come from: synthetic Gaussian data, `.npy` folders, bundled MiniLM
//! sentences, BERT/ALBERT model folders, and images (bundled digits, image files, ViT
//! folders).

pub mod bert;
pub mod bundle;
pub mod error;
pub mod experiment;
pub mod images;
pub mod lesson;
pub mod lesson_figures;
pub mod npy;
pub mod synthetic;

pub use experiment::Experiment;
pub mod real;
pub mod source;
pub mod spec;

pub use error::SequenceError;
pub use source::{load_layer, load_sequence};
pub use spec::SourceSpec;
