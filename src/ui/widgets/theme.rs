//! Look and number formatting: large type and a light theme that survives a projector.

use egui::{Color32, FontId, RichText, TextStyle};

/// Caption colour: dark enough to read on a washed-out projector.
pub const CAPTION: Color32 = Color32::from_rgb(0x44, 0x44, 0x44);
/// Error text.
pub const ERROR: Color32 = Color32::from_rgb(0xB0, 0x00, 0x20);
/// Notices that went well.
pub const OK: Color32 = Color32::from_rgb(0x00, 0x6D, 0x2C);

/// Light theme with projector-sized text.
pub fn apply(ctx: &egui::Context) {
    ctx.set_theme(egui::Theme::Light);
    ctx.all_styles_mut(|style| {
        style.text_styles = [
            (TextStyle::Heading, FontId::proportional(20.0)),
            (TextStyle::Body, FontId::proportional(15.0)),
            (TextStyle::Button, FontId::proportional(15.0)),
            (TextStyle::Small, FontId::proportional(13.0)),
            (TextStyle::Monospace, FontId::monospace(14.0)),
        ]
        .into();
        style.spacing.item_spacing = egui::vec2(8.0, 5.0);
        style.spacing.button_padding = egui::vec2(8.0, 3.0);
        style.spacing.interact_size.y = 22.0;
    });
}

/// A view's title.
pub fn title(text: &str) -> RichText {
    RichText::new(text).heading().strong()
}

/// The sentence under a title that tells a student what to look for.
pub fn caption(ui: &mut egui::Ui, text: &str) {
    ui.label(RichText::new(text).color(CAPTION).size(13.5));
}

/// A caption kept to one line (a tile's height does not follow its text): the whole sentence
/// on hover when it does not fit.
pub fn caption_line(ui: &mut egui::Ui, text: &str) {
    ui.add(egui::Label::new(RichText::new(text).color(CAPTION).size(13.5)).truncate())
        .on_hover_text(text);
}

/// `1853.5` → "1 853.5": thousands separated by a space, as on the projector slides.
pub fn thousands(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return "—".to_string();
    }
    let text = format!("{:.*}", decimals, value.abs());
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i.to_string(), Some(f.to_string())),
        None => (text.clone(), None),
    };
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push('\u{202F}');
        }
        grouped.push(ch);
    }
    let sign = if value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "−"
    } else {
        ""
    };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Four significant digits, or "—" for NaN.
pub fn sig(value: f64) -> String {
    if !value.is_finite() {
        return "—".to_string();
    }
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-3..1e5).contains(&magnitude) {
        format!("{value:.3e}")
    } else {
        let digits = if magnitude == 0.0 {
            3
        } else {
            (3 - magnitude.log10().floor() as i32).clamp(0, 6) as usize
        };
        format!("{value:.digits$}")
    }
}

/// Bytes as "12.3 MiB".
pub fn bytes(value: u64) -> String {
    let v = value as f64;
    if v >= (1u64 << 30) as f64 {
        format!("{:.2} GiB", v / (1u64 << 30) as f64)
    } else if v >= (1u64 << 20) as f64 {
        format!("{:.1} MiB", v / (1u64 << 20) as f64)
    } else {
        format!("{:.0} KiB", v / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(1853.5, 1), "1\u{202F}853.5");
        assert_eq!(thousands(65536.0, 0), "65\u{202F}536");
        assert_eq!(thousands(-12.0, 0), "−12");
        assert_eq!(sig(0.012345), "0.01235");
        assert_eq!(sig(f64::NAN), "—");
        assert_eq!(bytes(3 << 20), "3.0 MiB");
    }
}

#[cfg(test)]
mod contrast {
    use super::*;

    /// WCAG 2 relative luminance of an sRGB colour.
    fn luminance(c: Color32) -> f64 {
        let channel = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.03928 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(c.r()) + 0.7152 * channel(c.g()) + 0.0722 * channel(c.b())
    }

    /// WCAG 2 contrast ratio, from 1 (none) to 21 (black on white).
    fn ratio(a: Color32, b: Color32) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    #[test]
    fn the_ratio_matches_wcag_examples() {
        assert!((ratio(Color32::BLACK, Color32::WHITE) - 21.0).abs() < 1e-9);
        // #767676 on white is the classic just-passing grey, 4.54:1.
        let grey = Color32::from_rgb(0x76, 0x76, 0x76);
        assert!((ratio(grey, Color32::WHITE) - 4.54).abs() < 0.01);
    }

    /// egui_plot draws a tick label in the body text colour faded by √strength, where the
    /// strength rises from 0 to 1 across the axis's label spacing (labels spaced below it are
    /// hidden). The traces' spacings are empty ranges, so every label drawn is at full
    /// strength: the body text colour, composited over the panel, at 4.5:1 or better. (With
    /// egui_plot's default fade a label a quarter into the band read at 2.4:1.)
    #[test]
    fn plot_tick_labels_reach_4_5_to_1() {
        use crate::ui::views::traces::{TIME_TICK_SPACING, VALUE_TICK_SPACING};
        let ctx = egui::Context::default();
        apply(&ctx);
        let visuals = ctx.style_of(egui::Theme::Light).visuals.clone();
        let bg = visuals.panel_fill;
        for band in [TIME_TICK_SPACING, VALUE_TICK_SPACING] {
            assert_eq!(band.start(), band.end(), "a fade band would dim labels");
            // The strength of any drawn label, as egui_plot computes it.
            let strength = egui::emath::remap_clamp(band.end() + 0.01, band.clone(), 0.0..=1.0);
            let faded = visuals.text_color().gamma_multiply(strength.sqrt());
            // A premultiplied colour over the background.
            let a = f32::from(faded.a()) / 255.0;
            let over = |c: u8, b: u8| (f32::from(c) + f32::from(b) * (1.0 - a)).round() as u8;
            let seen = Color32::from_rgb(
                over(faded.r(), bg.r()),
                over(faded.g(), bg.g()),
                over(faded.b(), bg.b()),
            );
            let r = ratio(seen, bg);
            assert!(r >= 4.5, "tick labels: {r:.2}:1");
        }
    }

    /// The twelve head colours of a live layer read at 3:1 or better on every background the
    /// graph and the traces draw them on, and no two are alike (CIE76 ΔE over 15, measured in
    /// CIELAB from the sRGB values).
    #[test]
    fn head_colours_reach_3_to_1_and_differ() {
        use crate::ui::widgets::colormap::palette::HEADS;
        let ctx = egui::Context::default();
        apply(&ctx);
        let visuals = ctx.style_of(egui::Theme::Light).visuals.clone();
        let backgrounds = [
            ("panel", visuals.panel_fill),
            ("window", visuals.window_fill),
            ("graph canvas", Color32::from_gray(252)),
            ("plot", visuals.extreme_bg_color),
        ];
        for (h, colour) in HEADS.iter().enumerate() {
            for (name, bg) in backgrounds {
                let r = ratio(*colour, bg);
                assert!(r >= 3.0, "head {h} on {name}: {r:.2}:1, below 3:1");
            }
        }
        let lab = |c: Color32| {
            let lin = |v: u8| {
                let v = f64::from(v) / 255.0;
                if v <= 0.04045 {
                    v / 12.92
                } else {
                    ((v + 0.055) / 1.055).powf(2.4)
                }
            };
            let (r, g, b) = (lin(c.r()), lin(c.g()), lin(c.b()));
            let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
            let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
            let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
            let f = |t: f64| {
                if t > 0.008856 {
                    t.cbrt()
                } else {
                    7.787 * t + 16.0 / 116.0
                }
            };
            [
                116.0 * f(y) - 16.0,
                500.0 * (f(x) - f(y)),
                200.0 * (f(y) - f(z)),
            ]
        };
        for (a, first) in HEADS.iter().enumerate() {
            for (b, second) in HEADS.iter().enumerate().skip(a + 1) {
                let (p, q) = (lab(*first), lab(*second));
                let de =
                    ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)).sqrt();
                assert!(de > 15.0, "heads {a} and {b} look alike: ΔE {de:.1}");
            }
        }
    }

    /// Captions, hints, legends and tick labels must read at 4.5:1 or better on every
    /// background the light theme draws text on (the accessibility floor).
    #[test]
    fn text_colours_reach_4_5_to_1_on_the_theme_backgrounds() {
        let ctx = egui::Context::default();
        apply(&ctx);
        let visuals = ctx.style_of(egui::Theme::Light).visuals.clone();
        let backgrounds = [
            ("panel", visuals.panel_fill),
            ("window", visuals.window_fill),
            ("text field", visuals.text_edit_bg_color()),
        ];
        let texts = [
            ("caption", CAPTION),
            ("error", ERROR),
            ("ok", OK),
            ("body text", visuals.text_color()),
            ("weak text (hints, plot ticks)", visuals.weak_text_color()),
        ];
        for (text_name, text) in texts {
            for (bg_name, bg) in backgrounds {
                let r = ratio(text, bg);
                assert!(r >= 4.5, "{text_name} on {bg_name}: {r:.2}:1, below 4.5:1");
            }
        }
    }
}
