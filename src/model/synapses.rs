//! The learnable synapses of one head (spec v3): W and a bias per hidden neuron. A leaf of
//! `model/`, so that a learned file ([`super::learned`]) can hold them without reaching the
//! learning method ([`super::learn`]) that fits them.

use ndarray::{Array1, Array2};

/// The learnable synapses of one head: W (m × D) and b (m).
#[derive(Clone, Debug, PartialEq)]
pub struct HiddenSynapses {
    /// W, input→hidden weights (m × D).
    pub projection: Array2<f64>,
    /// b, one bias per hidden neuron (m).
    pub bias: Array1<f64>,
}

impl HiddenSynapses {
    /// m, hidden neurons.
    pub fn hidden(&self) -> usize {
        self.projection.nrows()
    }

    /// D, input neurons.
    pub fn dim(&self) -> usize {
        self.projection.ncols()
    }
}
