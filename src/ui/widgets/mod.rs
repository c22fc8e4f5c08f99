//! Reusable pieces the views are drawn with: the accessible heatmap, its colour scales, the
//! theme, the key drawn above a plot and the Live tab's movable layout.

pub mod colormap;
pub mod heatmap;
pub mod layout;
pub mod plot_key;
pub mod theme;
