//! The views as new users meet them (issue 11): text that fits and is drawn, scales that
//! say what they show, and the Live tab at several zooms and window sizes.

mod common;

use egui::FontId;
use std::path::Path;

/// Every non-ASCII character in the app's source and in the example files.
fn shown_characters() -> Vec<(char, String)> {
    let mut files = Vec::new();
    let mut stack = vec![Path::new("src/ui").to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("source folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    for entry in std::fs::read_dir("assets/presets").expect("presets") {
        files.push(entry.expect("entry").path());
    }
    for extra in ["src/io/experiment.rs", "src/model/params.rs"] {
        files.push(extra.into());
    }
    let mut seen: Vec<(char, String)> = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        // Comments are for readers of the code, not of the window.
        let shown: String = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for c in shown.chars().filter(|c| !c.is_ascii()) {
            if !seen.iter().any(|(s, _)| *s == c) {
                seen.push((c, path.display().to_string()));
            }
        }
    }
    seen
}

#[test]
fn every_character_the_app_shows_has_a_glyph() {
    let ctx = egui::Context::default();
    let _ = ctx.run_ui(egui::RawInput::default(), |ui| {
        tripartite::ui::theme::apply(ui.ctx());
    });
    let missing: Vec<(char, String)> = ctx.fonts_mut(|fonts| {
        shown_characters()
            .into_iter()
            .filter(|(c, _)| {
                // The All heads captions draw their arrows in the monospace font, which has it.
                let font = if *c == '→' {
                    FontId::monospace(15.0)
                } else {
                    FontId::proportional(15.0)
                };
                !fonts.has_glyph(&font, *c)
            })
            .collect()
    });
    assert!(missing.is_empty(), "no glyph for {missing:?}");
}
