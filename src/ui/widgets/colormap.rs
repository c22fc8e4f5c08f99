//! Colour-blind-safe colour scales: viridis (sequential), ColorBrewer RdBu (diverging), and
//! the Okabe–Ito palette for lines.

use egui::Color32;

const VIRIDIS: [[u8; 3]; 11] = [
    [0x44, 0x01, 0x54],
    [0x48, 0x24, 0x75],
    [0x41, 0x44, 0x87],
    [0x35, 0x5F, 0x8D],
    [0x2A, 0x78, 0x8E],
    [0x21, 0x91, 0x8C],
    [0x22, 0xA8, 0x84],
    [0x44, 0xBF, 0x70],
    [0x7A, 0xD1, 0x51],
    [0xBD, 0xDF, 0x26],
    [0xFD, 0xE7, 0x25],
];

/// Blue (negative) through white to red (positive).
const RD_BU: [[u8; 3]; 11] = [
    [0x05, 0x30, 0x61],
    [0x21, 0x66, 0xAC],
    [0x43, 0x93, 0xC3],
    [0x92, 0xC5, 0xDE],
    [0xD1, 0xE5, 0xF0],
    [0xF7, 0xF7, 0xF7],
    [0xFD, 0xDB, 0xC7],
    [0xF4, 0xA5, 0x82],
    [0xD6, 0x60, 0x4D],
    [0xB2, 0x18, 0x2B],
    [0x67, 0x00, 0x1F],
];

fn sample(table: &[[u8; 3]; 11], x: f64) -> Color32 {
    let x = if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = x * 10.0;
    let i = (pos.floor() as usize).min(9);
    let f = pos - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (table[i], table[i + 1]);
    Color32::from_rgb(mix(a[0], b[0]), mix(a[1], b[1]), mix(a[2], b[2]))
}

/// Viridis at `x` in [0, 1] (clamped; NaN gives the low end).
pub fn viridis(x: f64) -> Color32 {
    sample(&VIRIDIS, x)
}

/// RdBu at `x` in [−1, 1]: −1 dark blue, 0 white, +1 dark red.
pub fn diverging(x: f64) -> Color32 {
    sample(&RD_BU, 0.5 + 0.5 * x)
}

/// Colour for cells that have no value yet (rows not read).
pub const EMPTY: Color32 = Color32::from_rgb(0xE4, 0xE4, 0xE4);

/// Okabe–Ito colours, named by role.
pub mod palette {
    use egui::Color32;
    /// Astrocyte calcium.
    pub const CALCIUM: Color32 = Color32::from_rgb(0xE6, 0x9F, 0x00);
    /// The softmax normaliser Z_t.
    pub const NORMALISER: Color32 = Color32::from_rgb(0x00, 0x00, 0x00);
    /// Write slots.
    pub const WRITE: Color32 = Color32::from_rgb(0x00, 0x9E, 0x73);
    /// Read slots.
    pub const READ: Color32 = Color32::from_rgb(0x56, 0xB4, 0xE9);
    /// The live cursor and highlights.
    pub const CURSOR: Color32 = Color32::from_rgb(0xD5, 0x5E, 0x00);
    /// Other traced items, in order.
    pub const SERIES: [Color32; 5] = [
        Color32::from_rgb(0x00, 0x72, 0xB2),
        Color32::from_rgb(0xCC, 0x79, 0xA7),
        Color32::from_rgb(0x00, 0x9E, 0x73),
        Color32::from_rgb(0xD5, 0x5E, 0x00),
        Color32::from_rgb(0x56, 0xB4, 0xE9),
    ];

    /// One colour per head of a layer (a head's astrocyte, its territory and its traces).
    /// Each reads at 3:1 or better on the light theme's backgrounds, so a thin territory line
    /// or a small label stays visible on a projector; neighbouring heads differ most.
    pub const HEADS: [Color32; 12] = [
        Color32::from_rgb(0x00, 0x72, 0xB2),
        Color32::from_rgb(0xC8, 0x4A, 0x00),
        Color32::from_rgb(0x00, 0x7A, 0x5A),
        Color32::from_rgb(0xA2, 0x3B, 0x83),
        Color32::from_rgb(0x8A, 0x65, 0x00),
        Color32::from_rgb(0x5B, 0x3F, 0xA8),
        Color32::from_rgb(0xC0, 0x14, 0x3C),
        Color32::from_rgb(0x00, 0x79, 0x8F),
        Color32::from_rgb(0x5E, 0x7D, 0x00),
        Color32::from_rgb(0x7A, 0x4A, 0x2A),
        Color32::from_rgb(0x4D, 0x4D, 0x4D),
        Color32::from_rgb(0x1A, 0x1A, 0xE6),
    ];

    /// The colour of head `head` (a layer with more than twelve heads repeats them; the
    /// labels still name each head).
    pub fn head(head: usize) -> Color32 {
        HEADS[head % HEADS.len()]
    }
}

/// A scale from values to colours.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ColorScale {
    /// Viridis over [min, max].
    Sequential { min: f64, max: f64 },
    /// RdBu over [−limit, +limit].
    Diverging { limit: f64 },
}

impl ColorScale {
    pub fn color(&self, value: f64) -> Color32 {
        match *self {
            ColorScale::Sequential { min, max } => {
                let span = (max - min).max(1e-300);
                viridis((value - min) / span)
            }
            ColorScale::Diverging { limit } => diverging(value / limit.max(1e-300)),
        }
    }

    /// The values at the two ends of the scale.
    pub fn range(&self) -> (f64, f64) {
        match *self {
            ColorScale::Sequential { min, max } => (min, max),
            ColorScale::Diverging { limit } => (-limit, limit),
        }
    }

    /// Colour at fraction `x` in [0, 1] along the bar.
    pub fn at_fraction(&self, x: f64) -> Color32 {
        match self {
            ColorScale::Sequential { .. } => viridis(x),
            ColorScale::Diverging { .. } => diverging(2.0 * x - 1.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_and_midpoints_are_the_published_colours() {
        assert_eq!(viridis(0.0), Color32::from_rgb(0x44, 0x01, 0x54));
        assert_eq!(viridis(1.0), Color32::from_rgb(0xFD, 0xE7, 0x25));
        assert_eq!(diverging(0.0), Color32::from_rgb(0xF7, 0xF7, 0xF7));
        assert_eq!(diverging(-1.0), Color32::from_rgb(0x05, 0x30, 0x61));
        assert_eq!(diverging(5.0), Color32::from_rgb(0x67, 0x00, 0x1F));
    }
}
