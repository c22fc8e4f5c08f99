//! In-app file handling: the document's dirty mark and saves, recent files, the persisted
//! session, exports, and the File menu driven through its accessible labels (typed-path
//! dialogs only: no test ever opens a native dialog).

mod common;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use ndarray::{Array2, array};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tripartite::data::experiment::Experiment;
use tripartite::data::spec::SourceSpec;
use tripartite::io::export::json::{RunReport, SequenceInfo};
use tripartite::io::export::{csv, json, npy};
use tripartite::io::presets;
use tripartite::model::params::Params;
use tripartite::model::schedule::{Phase, Slot};
use tripartite::sim::TraceSample;
use tripartite::ui::exports;
use tripartite::ui::files::{
    ConfirmDiscard, DialogKind, DiscardDecision, Document, ExportKind, FileAction, FileDialogs,
    FileMenu, MAX_RECENT,
};
use tripartite::ui::layout::LiveLayout;
use tripartite::ui::persist::{self, PersistedState, STORAGE_KEY, UiChoices};

fn lesson() -> Experiment {
    Experiment {
        params: Params::default(),
        source: SourceSpec::Synthetic {
            tokens: 4,
            dim: 8,
            heads: 1,
        },
        ..Experiment::default()
    }
}

#[test]
fn the_title_marks_unsaved_changes() {
    let mut experiment = lesson();
    let mut doc = Document::untitled(&experiment);
    assert!(!doc.is_dirty(&experiment));
    assert_eq!(doc.title(&experiment), "tripartite — untitled");
    experiment.params.m += 1;
    assert!(doc.is_dirty(&experiment));
    assert_eq!(doc.title(&experiment), "tripartite — untitled •");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lesson.toml");
    doc.save_as(&file, &experiment).unwrap();
    assert!(!doc.is_dirty(&experiment));
    assert_eq!(doc.title(&experiment), "tripartite — lesson.toml");
    assert_eq!(doc.path(), Some(file.as_path()));
    experiment.params.m -= 1;
    assert_eq!(doc.title(&experiment), "tripartite — lesson.toml •");
}

#[test]
fn saving_untitled_asks_for_a_file() {
    let experiment = lesson();
    let mut doc = Document::untitled(&experiment);
    let err = doc.save(&experiment).unwrap_err();
    assert!(err.contains("Save experiment as"), "{err}");
}

#[test]
fn a_failed_save_leaves_the_old_file_and_the_document_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lesson.toml");
    let mut experiment = lesson();
    let mut doc = Document::untitled(&experiment);
    doc.save_as(&file, &experiment).unwrap();
    let before = std::fs::read(&file).unwrap();

    experiment.params.m = 999;
    let err = doc
        .save_as(Path::new("/proc/tripartite-cannot-write.toml"), &experiment)
        .unwrap_err();
    assert!(err.contains("cannot write"), "{err}");
    assert!(!err.contains('\n'), "one sentence: {err}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "old file byte-identical"
    );
    assert_eq!(doc.path(), Some(file.as_path()), "still the old file");
    assert!(doc.is_dirty(&experiment), "the change is still unsaved");
    assert_eq!(experiment.params.m, 999, "the experiment in memory is kept");

    // Saving over the existing file replaces it.
    doc.save(&experiment).unwrap();
    assert_ne!(std::fs::read(&file).unwrap(), before);
    let reopened = Document::untitled(&lesson()).open(&file).unwrap();
    assert_eq!(reopened.params.m, 999);
}

#[test]
fn opening_a_bad_file_reports_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    std::fs::write(&file, "format_version = = 1").unwrap();
    let mut doc = Document::untitled(&lesson());
    let err = doc.open(&file).unwrap_err();
    assert!(err.contains("not valid TOML"), "{err}");
    assert_eq!(doc.path(), None);
    let missing = dir.path().join("gone.toml");
    doc.remember(missing.clone());
    assert!(doc.open(&missing).is_err());
    assert!(doc.recent().is_empty(), "a vanished file leaves the list");
}

#[test]
fn recent_files_are_most_recent_first_unique_and_capped() {
    let mut doc = Document::untitled(&lesson());
    for i in 0..10 {
        doc.remember(PathBuf::from(format!("/x/{i}.toml")));
    }
    doc.remember(PathBuf::from("/x/5.toml"));
    let recent: Vec<String> = doc
        .recent()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(recent.len(), MAX_RECENT);
    assert_eq!(recent[0], "/x/5.toml");
    assert_eq!(recent[1], "/x/9.toml");
    assert_eq!(recent.iter().filter(|p| *p == "/x/5.toml").count(), 1);
    assert!(!recent.contains(&"/x/0.toml".to_string()));

    let mut restored = Document::untitled(&lesson());
    restored.set_recent(doc.recent().to_vec());
    assert_eq!(restored.recent(), doc.recent());
}

#[derive(Default)]
struct MemoryStorage(HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

#[test]
fn the_session_round_trips_through_storage() {
    let mut experiment = lesson();
    experiment.params.m = 77;
    let state = PersistedState::capture(
        &experiment,
        Some(Path::new("/x/lesson.toml")),
        &[PathBuf::from("/x/lesson.toml")],
        UiChoices {
            show_params: false,
            show_help: true,
            layout: {
                let mut layout = LiveLayout::default();
                layout.toggle_maximised(tripartite::ui::layout::LivePane::Graph);
                layout.maximised = None;
                layout
            },
            presentation_scale: 1.8,
            // The linked token selection is part of the session (issue 12 §3).
            tokens: tripartite::ui::views::selection::TokenSelection {
                queries: vec![3],
                keys: vec![1, 4],
            },
        },
    );
    let mut storage = MemoryStorage::default();
    persist::save(&mut storage, &state);
    let (back, notice) = persist::load(Some(&storage));
    assert_eq!(notice, None);
    assert_eq!(back, state);
    assert_eq!(back.experiment(), experiment);

    let (fresh, notice) = persist::load(None);
    assert_eq!(notice, None);
    assert_eq!(fresh, PersistedState::default());
}

#[test]
fn a_session_saved_before_the_movable_splitters_keeps_its_choices() {
    let mut storage = MemoryStorage::default();
    let old = format!(
        r#"{{"version": 1, "experiment_toml": {}, "document": null, "recent": [],
            "ui": {{"show_params": false, "show_help": true}}}}"#,
        serde_json::to_string(&lesson().to_toml()).unwrap()
    );
    eframe::Storage::set_string(&mut storage, STORAGE_KEY, old);
    let (state, notice) = persist::load(Some(&storage));
    assert_eq!(notice, None);
    assert!(!state.ui.show_params && state.ui.show_help);
    assert_eq!(state.ui.layout, LiveLayout::default());
}

#[test]
fn an_unreadable_session_falls_back_to_defaults_with_a_notice() {
    let garbage = [
        "not json at all {{{".to_string(),
        "\u{0}\u{1}binary".to_string(),
        r#"{"version": 99, "experiment_toml": "x"}"#.to_string(),
        r#"{"version": "one"}"#.to_string(),
    ];
    for text in garbage {
        let mut storage = MemoryStorage::default();
        eframe::Storage::set_string(&mut storage, STORAGE_KEY, text.clone());
        let (state, notice) = persist::load(Some(&storage));
        assert_eq!(state, PersistedState::default(), "{text:?}");
        let notice = notice.expect("a notice");
        assert!(notice.contains("starting from the defaults"), "{notice}");
    }
    // A readable state whose experiment no longer parses keeps the rest.
    let mut storage = MemoryStorage::default();
    let state = PersistedState {
        experiment_toml: "format_version = 7".into(),
        recent: vec![PathBuf::from("/x/a.toml")],
        ..PersistedState::default()
    };
    persist::save(&mut storage, &state);
    let (back, notice) = persist::load(Some(&storage));
    assert!(notice.unwrap().contains("default one"));
    assert_eq!(back.experiment(), Experiment::default());
    assert_eq!(back.recent, state.recent);
}

#[test]
fn traces_csv_names_the_phase_slot_and_token_of_each_sample() {
    // The same layout as `run --out`'s trace.csv.
    let slots = [
        Slot {
            phase: Phase::Write,
            token: 2,
            start_step: 0,
            steps: 2,
        },
        Slot {
            phase: Phase::Read,
            token: 0,
            start_step: 2,
            steps: 2,
        },
    ];
    let samples = [(0, 0.0), (1, 0.5), (2, 1.0), (4, 0.75)].map(|(step, calcium)| TraceSample {
        generation: 1,
        step,
        time_ms: step as f64 * 0.5,
        calcium,
        probes: Vec::new(),
    });
    let csv = csv::trace_csv(&samples, &slots, &tokens(), &[4.0, 5.0, 6.0]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "time_ms,phase,slot,token,c,z");
    assert_eq!(
        lines[1..],
        [
            "0,write,2,\"sat,\",0,",
            "0.5,write,2,\"sat,\",0.5,",
            "1,write,2,\"sat,\",1,",
            "2,read,0,the,0.75,4"
        ]
    );
}

fn tokens() -> Vec<String> {
    ["the", "cat", "sat,"].map(String::from).to_vec()
}

#[test]
fn attention_exports_one_long_labelled_csv() {
    // The same layout as `run --out`'s attention.csv.
    let dir = tempfile::tempdir().unwrap();
    let softmax: Array2<f64> = Array2::from_elem((3, 3), 0.25);
    let network = array![[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.25, 0.25, 0.5]];
    let path = dir.path().join("run.csv");
    csv::write_attention(&path, &tokens(), &softmax, &network).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "query,key,softmax,network,difference");
    assert_eq!(lines[1], "the,the,0.25,1,0.75");
    assert_eq!(lines[9], "\"sat,\",\"sat,\",0.25,0.5,0.25");
    assert_eq!(lines.len(), 10);
    let wrong = csv::write_attention(&path, &tokens()[..2], &softmax, &network).unwrap_err();
    assert!(wrong.to_string().contains("3×3 but there are 2 tokens"));
}

#[test]
fn attention_exports_three_npy_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let softmax: Array2<f64> = Array2::from_elem((3, 3), 1.0 / 3.0);
    let network = array![[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]];
    let paths = npy::write_attention(
        &dir.path().join("attention.npy"),
        tokens().len(),
        &softmax,
        &network,
    )
    .unwrap();
    for path in &paths {
        let read: Array2<f64> = ndarray_npy::read_npy(path).unwrap();
        assert_eq!(read.dim(), (3, 3), "{}", path.display());
    }
    let difference: Array2<f64> = ndarray_npy::read_npy(&paths[2]).unwrap();
    assert_eq!(difference, &network - &softmax);

    let wrong =
        npy::write_attention(&dir.path().join("bad.npy"), 2, &softmax, &network).unwrap_err();
    assert!(wrong.to_string().contains("3×3 but there are 2 tokens"));
}

#[test]
fn metrics_json_holds_metrics_and_params() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.json");
    let params = Params::default();
    let metrics = tripartite::model::metrics::Metrics {
        attn_tv: 0.125,
        attn_max_abs: 0.5,
        output_rel_err: 0.01,
        calcium_corr: f64::NAN,
        calcium_rel_err: 0.2,
    };
    let tokens = tokens();
    json::write_report(
        &path,
        &RunReport {
            metrics,
            params: params.clone(),
            sequence: SequenceInfo {
                source: "synthetic:3x8".into(),
                tokens,
                text: None,
                model: None,
                layer: None,
                head: None,
            },
            steps: 40,
            sim_time_ms: 20.0,
            wall_s: None,
            steps_per_s: None,
            synapses: 64,
            per_query: Default::default(),
        },
    )
    .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["attn_tv"], 0.125);
    assert!(json["calcium_corr"].is_null(), "NaN becomes null");
    assert_eq!(json["params"]["m"], params.m as u64);
    assert_eq!(json["sequence"]["tokens"][2], "sat,");
    assert!(
        json.get("wall_s").is_none(),
        "the app's runs have no wall time"
    );
}

fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes(bytes[..4].try_into().unwrap())
}

#[test]
fn figures_are_cropped_scaled_and_written_as_png() {
    // A 40×20-pixel screenshot at 2 pixels per point: left half red, right half blue.
    let (width, height) = (40, 20);
    let pixels = (0..width * height)
        .map(|i| {
            if i % width < width / 2 {
                egui::Color32::RED
            } else {
                egui::Color32::BLUE
            }
        })
        .collect();
    let screenshot = egui::ColorImage::new([width, height], pixels);
    let right_half = egui::Rect::from_min_max(egui::pos2(10.0, 0.0), egui::pos2(20.0, 10.0));
    let crop = exports::crop_and_scale(&screenshot, right_half, 2.0, 1.0);
    assert_eq!(crop.size, [20, 20]);
    assert!(crop.pixels.iter().all(|&c| c == egui::Color32::BLUE));
    let half = exports::crop_and_scale(&screenshot, right_half, 2.0, 0.5);
    assert_eq!(half.size, [10, 10]);
    // Beyond the image: clamped, never a panic.
    let beyond = egui::Rect::from_min_max(egui::pos2(15.0, 5.0), egui::pos2(500.0, 500.0));
    assert_eq!(
        exports::crop_and_scale(&screenshot, beyond, 2.0, 1.0).size,
        [10, 10]
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("figure.png");
    exports::write_figure(&path, &half).unwrap();
    let png = std::fs::read(&path).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    assert_eq!((be_u32(&png[16..]), be_u32(&png[20..])), (10, 10));
    assert_eq!(&png[png.len() - 8..png.len() - 4], b"IEND");

    let empty = egui::ColorImage::new([0, 0], Vec::new());
    assert!(exports::write_figure(&path, &empty).is_err());
}

#[test]
fn dialog_answers_become_actions() {
    let path = PathBuf::from("/x/a.csv");
    assert_eq!(
        FileAction::chosen(
            DialogKind::Export(ExportKind::TracesCsv),
            Some(path.clone())
        ),
        Some(FileAction::Export(ExportKind::TracesCsv, path))
    );
    assert_eq!(FileAction::chosen(DialogKind::OpenExperiment, None), None);
    assert!(FileAction::Quit.discards_changes());
    assert!(!FileAction::Save.discards_changes());
}

struct MenuState {
    menu: FileMenu,
    doc: Document,
    dialogs: FileDialogs,
    confirm: ConfirmDiscard,
    actions: Vec<FileAction>,
    answers: Vec<(DialogKind, Option<PathBuf>)>,
    decisions: Vec<DiscardDecision>,
}

fn menu_harness() -> Harness<'static, MenuState> {
    let state = MenuState {
        menu: FileMenu::default(),
        doc: Document::untitled(&lesson()),
        dialogs: FileDialogs::text_only(),
        confirm: ConfirmDiscard::default(),
        actions: Vec::new(),
        answers: Vec::new(),
        decisions: Vec::new(),
    };
    Harness::builder()
        .with_size([640.0, 480.0])
        .wgpu_setup(common::lavapipe())
        .build_ui_state(
            |ui, s: &mut MenuState| {
                egui::MenuBar::new().ui(ui, |ui| {
                    if let Some(action) = s.menu.ui(ui, &s.doc) {
                        s.actions.push(action);
                    }
                });
                s.dialogs.ui(ui.ctx());
                while let Some(answer) = s.dialogs.poll() {
                    s.answers.push(answer);
                }
                if let Some((decision, _)) = s.confirm.ui(ui.ctx()) {
                    s.decisions.push(decision);
                }
            },
            state,
        )
}

#[test]
fn examples_menu_opens_a_preset_by_title() {
    let mut h = menu_harness();
    h.get_by_label("File").click();
    h.run();
    h.get_by_label("Examples").hover();
    h.run();
    let preset = presets::presets()[1];
    h.get_by_label(preset.title).click();
    h.run();
    assert_eq!(
        h.state().actions,
        [FileAction::OpenExample { name: preset.name }]
    );
    assert_eq!(
        h.state().actions[0].preset().map(|p| p.name),
        Some(preset.name)
    );
    assert!(
        h.query_by_label(preset.title).is_none(),
        "the menu closes after a choice"
    );
}

#[test]
fn typed_paths_stand_in_for_dialogs() {
    let mut h = menu_harness();
    h.get_by_label("File").click();
    h.run();
    h.get_by_label_contains("Open experiment…").click();
    h.run();
    let action = h.state_mut().actions.pop().unwrap();
    assert_eq!(action, FileAction::Choose(DialogKind::OpenExperiment));
    h.state_mut().dialogs.request(DialogKind::OpenExperiment);
    h.run();
    assert!(h.state().dialogs.is_busy());
    h.get_by_label("File path").click();
    h.run();
    h.get_by_label("File path").type_text("/tmp/lesson.toml");
    h.run();
    h.get_by_label("OK").click();
    h.run();
    assert_eq!(
        h.state().answers,
        [(
            DialogKind::OpenExperiment,
            Some(PathBuf::from("/tmp/lesson.toml"))
        )]
    );
    assert!(!h.state().dialogs.is_busy());

    h.state_mut()
        .dialogs
        .request(DialogKind::Export(ExportKind::FigurePng));
    h.run();
    h.get_by_label("Cancel").click();
    h.run();
    assert_eq!(
        h.state().answers[1],
        (DialogKind::Export(ExportKind::FigurePng), None)
    );
}

#[test]
fn confirm_discard_returns_the_choice_and_the_postponed_action() {
    let mut h = menu_harness();
    h.state_mut().confirm.ask("lesson.toml", FileAction::Quit);
    h.run();
    assert!(
        h.query_by_label("Discard unsaved changes to lesson.toml?")
            .is_some()
    );
    h.get_by_label("Discard").click();
    h.run();
    assert_eq!(h.state().decisions, [DiscardDecision::Discard]);
    assert!(!h.state().confirm.is_open());
}

#[test]
fn a_typed_bare_name_is_saved_in_the_folder_the_window_shows() {
    let mut h = menu_harness();
    h.state_mut()
        .dialogs
        .request(DialogKind::Export(ExportKind::MetricsJson));
    h.run();
    let folder = h.state().dialogs.start_folder().expect("a start folder");
    assert!(folder.is_absolute());
    assert!(
        h.query_by_label_contains(&format!("saved in {}", folder.display()))
            .is_some(),
        "the window says where a name goes"
    );
    h.get_by_label("File path").click();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run();
    h.get_by_label("File path").type_text("mine.json");
    h.run();
    h.get_by_label("OK").click();
    h.run();
    let (_, path) = h.state().answers.last().cloned().unwrap();
    let path = path.unwrap();
    assert!(path.is_absolute(), "{path:?}");
    assert!(path.ends_with("mine.json"));
}
