//! Where sequences come from: synthetic Gaussian data, `.npy` folders, bundled MiniLM
//! sentences and BERT-family model folders.

pub mod bert;
pub mod bundle;
