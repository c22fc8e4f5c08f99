//! A whole attention layer, live (issue 17): one astrocyte per head, each normalising the
//! synapses of its own territory, and the layer's output against the transformer's.
//!
//! Three views, one per region of the Live page, each drawing the worker's
//! [`LayerSnapshot`](crate::sim::LayerSnapshot): [`graph`] tiles the heads' territories,
//! [`traces`] puts every astrocyte's calcium beside its own Z_t, and [`output`] compares the
//! layer's output with the transformer's after W_O. Clicking an astrocyte opens its head in
//! the single-head views; Back returns here.

pub mod graph;
pub mod output;
pub mod traces;

use crate::sim::{HeadSnapshot, LayerSnapshot, Snapshot};

/// c/Z_t of one head, or NaN when Z_t is not known (a write slot, or no read yet).
pub fn calcium_ratio(head: &HeadSnapshot) -> f64 {
    if head.z_t.is_finite() && head.z_t > 0.0 && head.calcium.is_finite() {
        head.calcium / head.z_t
    } else {
        f64::NAN
    }
}

/// The head the network reproduces worst, once any row has been read (before that every
/// attn_tv is NaN and no head is worse than another).
pub fn worst_head(layer: &LayerSnapshot) -> Option<usize> {
    layer
        .heads
        .iter()
        .any(|h| h.attn_tv.is_finite())
        .then_some(layer.worst_head)
}

/// The layer a snapshot describes, when the run has every head of it.
pub fn layer_of(snapshot: &Snapshot) -> Option<&LayerSnapshot> {
    snapshot.layer.as_deref()
}

/// The accessible label of head `head`'s astrocyte in the layer graph (tests find the
/// astrocytes by it).
pub fn astrocyte_label(head: &HeadSnapshot) -> String {
    format!(
        "Astrocyte of head {}: c/Z_t = {}, attn_tv = {}",
        head.head,
        crate::ui::widgets::theme::sig(calcium_ratio(head)),
        crate::ui::widgets::theme::sig(head.attn_tv)
    )
}
