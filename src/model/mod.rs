//! The mathematics of ../shared/spec/model.md: pure, deterministic, no UI, threads or files
//! (rayon splits sums over fixed blocks, so results never depend on the thread count).

pub mod algebraic;
pub mod dynamic;
mod euler;
pub mod fastmath;
pub mod features;
pub mod layer;
pub mod learn;
pub mod learned;
pub mod metrics;
pub mod network;
mod numbers;
pub mod params;
pub mod schedule;
pub mod sequence;
pub mod simulation;
pub mod softmax;
pub mod synapses;

pub use algebraic::NetworkOutput;
pub use dynamic::DynamicSim;
pub use layer::{LayerMetrics, LayerSequence, LayerSimulation};
pub use metrics::Metrics;
pub use network::{ModelError, Network, Sizes};
pub use params::{
    Ablation, FeatureMap, Heads, LiveParams, Mode, ParamError, Params, Projection, Schedule,
};
pub use schedule::{Phase, Slot, SlotSchedule};
pub use sequence::{Sequence, ShapeError, TextOrigin};
pub use simulation::Simulation;
pub use softmax::SoftmaxReference;
