//! Checks the one-way flow of `src/lib.rs`: data → model → sim → ui, with io beside. A layer
//! may not name a layer above it, and only `ui/` may name egui, eframe or egui_plot. Each
//! breach is reported with its file and line.

use std::path::{Path, PathBuf};

/// The layers each top-level module may not import.
const FORBIDDEN: &[(&str, &[&str])] = &[
    ("model", &["data", "sim", "io", "jobs", "ui"]),
    ("data", &["sim", "io", "jobs", "ui"]),
    ("sim", &["io", "jobs", "ui"]),
    ("io", &["jobs", "ui"]),
    // The headless jobs sit above sim and io, below the app.
    ("jobs", &["ui"]),
];

const GUI_CRATES: &[&str] = &["egui", "eframe", "egui_plot"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The line without its `//` comment (good enough for import paths: a `//` inside a string
/// only shortens what is searched).
fn code(line: &str) -> &str {
    line.find("//").map_or(line, |at| &line[..at])
}

/// Whether `code` names the path `root::name` (e.g. `crate::data`) as a whole word.
fn names_path(code: &str, root: &str, name: &str) -> bool {
    let needle = format!("{root}::{name}");
    code.match_indices(&needle).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + needle.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// Whether `code` names one of the GUI crates as a path or in a `use`.
fn names_gui_crate(code: &str) -> Option<&'static str> {
    GUI_CRATES.iter().copied().find(|name| {
        code.match_indices(name).any(|(at, _)| {
            let before = code[..at].chars().next_back();
            let rest = &code[at + name.len()..];
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
                && (rest.starts_with("::") || code.trim_start().starts_with("use "))
                && !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_')
        })
    })
}

/// The layers named inside `use crate::{…}` groups of `text`, with the line each group starts on.
fn grouped_imports(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("crate::{") {
        let line = text[..at].lines().count().max(1);
        let group = &text[at + "crate::{".len()..];
        let mut depth = 0;
        let mut item = String::new();
        for c in group.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    found.push((line, std::mem::take(&mut item)));
                    continue;
                }
                _ => {}
            }
            if depth == 0 {
                item.push(c);
            }
        }
        found.push((line, item));
    }
    found
        .into_iter()
        .map(|(line, item)| {
            let name = item
                .trim()
                .split("::")
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            (line, name)
        })
        .collect()
}

fn breaches() -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(
        files.len() > 30,
        "only {} files found under {}",
        files.len(),
        src.display()
    );
    let mut found = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let layer = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|first| first.trim_end_matches(".rs").to_string())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&file).expect("a readable source file");
        let forbidden = FORBIDDEN
            .iter()
            .find(|(name, _)| *name == layer)
            .map_or(&[][..], |(_, targets)| *targets);
        for (line, name) in grouped_imports(&text) {
            if forbidden.contains(&name.as_str()) {
                found.push(format!(
                    "src/{}:{line}: {layer}/ imports {name}/ in a use group",
                    relative.display()
                ));
            }
        }
        for (index, line) in text.lines().enumerate() {
            let code = code(line);
            let at = format!("src/{}:{}", relative.display(), index + 1);
            for target in forbidden {
                if names_path(code, "crate", target) {
                    found.push(format!("{at}: {layer}/ imports {target}/: {}", line.trim()));
                }
            }
            if layer != "ui"
                && let Some(name) = names_gui_crate(code)
            {
                found.push(format!("{at}: {name} named outside ui/: {}", line.trim()));
            }
        }
    }
    found
}

#[test]
fn data_flows_one_way_and_only_ui_knows_egui() {
    let found = breaches();
    assert!(
        found.is_empty(),
        "{} layering breach(es):\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn the_checks_catch_what_they_should() {
    assert!(names_path("use crate::data::synthetic;", "crate", "data"));
    assert!(names_path(
        "let x = crate::io::export::write(1);",
        "crate",
        "io"
    ));
    assert!(!names_path("use crate::dataset::x;", "crate", "data"));
    assert!(!names_path("use my_crate::data::x;", "crate", "data"));
    assert!(!names_path(
        code("// crate::data is fine in a comment"),
        "crate",
        "data"
    ));
    assert_eq!(names_gui_crate("fn ui(ui: &mut egui::Ui) {}"), Some("egui"));
    assert_eq!(names_gui_crate("use eframe::App;"), Some("eframe"));
    let groups = grouped_imports("use crate::{\n    data::x,\n    model::{a, b},\n};");
    let names: Vec<&str> = groups.iter().map(|(_, name)| name.as_str()).collect();
    assert_eq!(names, ["data", "model", ""]);
    assert_eq!(
        names_gui_crate("use egui_plot::{Line, Plot};"),
        Some("egui_plot")
    );
    assert_eq!(names_gui_crate("let eguimode = 1;"), None);
    assert_eq!(names_gui_crate(code("//! (egui views)")), None);
}
