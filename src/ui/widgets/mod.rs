//! Reusable pieces the views are drawn with: the accessible heatmap, its colour scales, the
//! theme and the Live tab's movable layout.

pub mod colormap;
pub mod heatmap;
pub mod layout;
pub mod theme;
