//! Issue 24 §5 in the real app: the picker's "Open model folder…" asks through the app's file
//! dialogs (here the typed-path window, as on a desktop with no native dialog) and its answer
//! opens the folder, as File ▸ Open model folder does.

mod common;

use egui_kittest::kittest::Queryable;
use std::path::Path;
use std::time::Duration;

#[test]
fn the_pickers_folder_button_asks_through_the_apps_dialogs() {
    let mut h = common::app_harness(common::classroom(), [1280.0, 1600.0], 1.0);
    assert!(h.query_by_label("Folder path").is_none(), "no dialog yet");
    h.get_by_label("Open model folder…").click();
    for _ in 0..4 {
        h.step();
        std::thread::sleep(Duration::from_millis(3));
    }
    // The typed-path window of files/dialogs.rs, under the dialog's own title.
    assert!(h.query_by_label("Open a model folder").is_some());
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/albert_tiny");
    h.get_by_label("Folder path").click();
    h.step();
    h.get_by_label("Folder path")
        .type_text(&folder.display().to_string());
    h.step();
    h.get_by_label("OK").click();
    let expected = format!("model:{}", folder.display());
    let snapshot = common::wait_snapshot(&mut h, "the model folder's run", |s| {
        s.run.as_ref().is_some_and(|r| r.source == expected)
    });
    assert!(snapshot.run.is_some());
    assert!(
        h.query_by_label("Folder path").is_none(),
        "the window closed"
    );
}
