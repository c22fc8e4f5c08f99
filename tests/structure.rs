//! The shape of the source tree, checked so that it does not drift back: no file in the
//! worker's folder over 500 lines, no file in `src/` over 1 000 lines of code (its test module
//! excluded), and no import circle between the files of one folder.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const WORKER_MAX_LINES: usize = 500;
const CODE_MAX_LINES: usize = 1_000;

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn relative(path: &Path) -> String {
    path.strip_prefix(src()).unwrap().display().to_string()
}

/// The file's lines before its test module (`#[cfg(test)]` then a `mod` line, at the top level).
fn code_lines(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    let end = (0..lines.len())
        .find(|&i| {
            lines[i].trim_end() == "#[cfg(test)]"
                && lines[i + 1..]
                    .iter()
                    .find(|l| !l.starts_with("#["))
                    .is_some_and(|l| l.starts_with("mod ") || l.starts_with("pub(super) mod "))
        })
        .unwrap_or(lines.len());
    lines[..end].to_vec()
}

/// The code without `//` comments (doc links name paths too, but import nothing).
fn without_comments(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|line| line.find("//").map_or(*line, |at| &line[..at]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Splits a module's code into its re-exports (`pub use …;`, each on one line) and the rest.
fn split_reexports(code: &str) -> (String, String) {
    let (mut rest, mut exports) = (String::new(), String::new());
    for statement in code.split_inclusive(';') {
        let trimmed = statement.trim_start();
        if trimmed.starts_with("pub use ") || trimmed.starts_with("pub(crate) use ") {
            exports.push_str(&trimmed.replace('\n', " "));
            exports.push('\n');
        } else {
            rest.push_str(statement);
        }
    }
    (rest, exports)
}

/// The module path of a file: `sim/worker/mod.rs` → [sim, worker]; `sim/run.rs` → [sim, run].
fn module_of(path: &str) -> Vec<String> {
    let mut parts: Vec<String> = path
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Every path a file's code names that starts at `crate`, `super`, `self` or a child module it
/// declares, with `{…}` groups expanded one level, as absolute module paths.
fn referenced_paths(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let children: BTreeSet<String> = code
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            let l = l.strip_prefix("pub(crate) ").unwrap_or(l);
            l.strip_prefix("mod ")
                .and_then(|rest| rest.strip_suffix(';'))
                .map(str::to_string)
        })
        .collect();
    // `super` of a folder's mod.rs is the folder's parent; of a file, its folder.
    let here: Vec<String> = module.to_vec();
    let parent: Vec<String> = here[..here.len().saturating_sub(1)].to_vec();
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if !is_ident(bytes[i]) || (i > 0 && (is_ident(bytes[i - 1]) || bytes[i - 1] == b':')) {
            i += 1;
            continue;
        }
        // A path: identifiers joined by `::`, maybe ending in a `{…}` group.
        let mut segments = Vec::new();
        let mut group = None;
        loop {
            let s = i;
            while i < bytes.len() && is_ident(bytes[i]) {
                i += 1;
            }
            segments.push(code[s..i].to_string());
            if code[i..].starts_with("::{") {
                let close = code[i..].find('}').map_or(bytes.len(), |c| i + c);
                group = Some(code[i + 3..close].to_string());
                i = close;
                break;
            }
            if code[i..].starts_with("::") && i + 2 < bytes.len() && is_ident(bytes[i + 2]) {
                i += 2;
                continue;
            }
            break;
        }
        if segments.len() < 2 && group.is_none() {
            // `pub(crate)`, `super` alone: a visibility or a glob, not an item.
            continue;
        }
        let (mut base, rest): (Vec<String>, &[String]) = match segments[0].as_str() {
            "crate" => (Vec::new(), &segments[1..]),
            "super" => (parent.clone(), &segments[1..]),
            "self" => (here.clone(), &segments[1..]),
            name if children.contains(name) => (here.clone(), &segments[..]),
            _ => continue,
        };
        let mut rest = rest.to_vec();
        // `super::super::x`
        while rest.first().is_some_and(|s| s == "super") {
            rest.remove(0);
            base.pop();
        }
        base.extend(rest);
        match group {
            Some(group) => {
                for item in group.split(',') {
                    let first: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !first.is_empty() && first != "self" {
                        let mut path = base.clone();
                        path.push(first);
                        out.push(path);
                    }
                }
                out.push(base);
            }
            None => out.push(base),
        }
    }
    out
}

#[test]
fn no_file_in_the_worker_folder_exceeds_500_lines() {
    let worker = src().join("sim/worker");
    assert!(worker.is_dir(), "the worker is a folder of owners");
    let mut long = Vec::new();
    for file in rust_files(&worker) {
        let lines = fs::read_to_string(&file).unwrap().lines().count();
        if lines > WORKER_MAX_LINES {
            long.push(format!("{} has {lines} lines", relative(&file)));
        }
    }
    assert!(long.is_empty(), "over {WORKER_MAX_LINES} lines: {long:#?}");
}

#[test]
fn no_file_in_src_exceeds_1000_lines_of_code() {
    let mut long = Vec::new();
    for file in rust_files(&src()) {
        let text = fs::read_to_string(&file).unwrap();
        let lines = code_lines(&text).len();
        if lines > CODE_MAX_LINES {
            long.push(format!("{} has {lines} lines of code", relative(&file)));
        }
    }
    assert!(
        long.is_empty(),
        "over {CODE_MAX_LINES} lines of code, tests excluded: {long:#?}"
    );
}

#[test]
fn no_import_circle_between_files_of_one_folder() {
    // Each file by its module path, and its folder.
    // main.rs is the binary's own crate root, beside the library's lib.rs.
    let files: Vec<(String, Vec<String>, String)> = rust_files(&src())
        .into_iter()
        .filter(|path| !path.ends_with("main.rs"))
        .map(|path| {
            let rel = relative(&path);
            let module = module_of(&rel);
            let folder = rel.rsplit_once('/').map_or("", |(f, _)| f).to_string();
            (rel, module, folder)
        })
        .collect();
    let by_module: BTreeMap<Vec<String>, &str> = files
        .iter()
        .map(|(rel, module, _)| (module.clone(), rel.as_str()))
        .collect();
    // The file a path lands in: the longest prefix that is a module file.
    let file_of = |path: &[String]| {
        (0..=path.len())
            .rev()
            .find_map(|n| by_module.get(&path[..n]).copied())
    };
    // Each mod.rs's re-exports: item name → the absolute path it re-exports.
    let mut facades: BTreeMap<&str, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for (rel, module, _) in &files {
        if !(rel.ends_with("mod.rs") || rel == "lib.rs") {
            continue;
        }
        let text = fs::read_to_string(src().join(rel)).unwrap();
        let code = without_comments(&code_lines(&text));
        let exports = split_reexports(&code).1;
        let face = facades.entry(rel.as_str()).or_default();
        for path in referenced_paths(&exports, module) {
            if let Some(name) = path.last() {
                face.insert(name.clone(), path.clone());
            }
        }
    }
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (rel, module, folder) in &files {
        let text = fs::read_to_string(src().join(rel)).unwrap();
        let code = without_comments(&code_lines(&text));
        // A folder's mod.rs re-exporting its children is the folder's face, not a use of them.
        let code = if rel.ends_with("mod.rs") || rel == "lib.rs" {
            split_reexports(&code).0
        } else {
            code
        };
        for path in referenced_paths(&code, module) {
            let Some(mut target) = file_of(&path) else {
                continue;
            };
            // An item named through the folder's face: the child that defines it.
            if let Some(child) = facades
                .get(target)
                .and_then(|face| face.get(path.last().unwrap()))
                .and_then(|defined| file_of(defined))
            {
                target = child;
            }
            let target_folder = target.rsplit_once('/').map_or("", |(f, _)| f);
            // A child naming its own folder's mod.rs names the module it sits inside (its
            // `super`), not a sibling: containment, which Rust's module tree makes one-way.
            let names_its_parent = target.ends_with("mod.rs") && !rel.ends_with("mod.rs");
            if target != rel && target_folder == folder && !names_its_parent {
                edges.entry(rel).or_default().insert(target);
            }
        }
    }
    // Circles: a file that reaches itself again.
    let mut circles = BTreeSet::new();
    for start in edges.keys() {
        let mut stack = vec![(*start, vec![*start])];
        let mut seen = BTreeSet::new();
        while let Some((at, trail)) = stack.pop() {
            for next in edges.get(at).into_iter().flatten() {
                if next == start {
                    let mut circle = trail.clone();
                    // One rotation per circle: start at its smallest file.
                    let min = (0..circle.len()).min_by_key(|&i| circle[i]).unwrap();
                    circle.rotate_left(min);
                    circles.insert(circle.join(" → "));
                } else if seen.insert(*next) {
                    let mut longer = trail.clone();
                    longer.push(next);
                    stack.push((next, longer));
                }
            }
        }
    }
    assert!(
        circles.is_empty(),
        "import circles between files of one folder: {circles:#?}"
    );
}

/// The checker itself: a circle planted in text is found, a one-way import is not.
#[test]
fn the_reference_reader_follows_super_crate_and_groups() {
    let module = vec![
        "sim".to_string(),
        "worker".to_string(),
        "timeline".to_string(),
    ];
    let code = "use super::live::{Live, build};\nuse crate::sim::{checkpoint::Checkpoint, trace};\nlet x = super::super::history::BRANCHES_KEPT;";
    let paths = referenced_paths(code, &module);
    let has = |p: &[&str]| paths.iter().any(|q| q == p);
    assert!(has(&["sim", "worker", "live", "Live"]));
    assert!(has(&["sim", "checkpoint"]));
    assert!(has(&["sim", "trace"]));
    assert!(has(&["sim", "history", "BRANCHES_KEPT"]));
    assert!(code_lines("a\n#[cfg(test)]\nmod tests {\n}\n").len() == 1);
}
