//! The File menu. Its items' labels, tooltips and keys come from [`UserAction`].

use super::{DialogKind, Document, ExportKind, FileAction};
use crate::io::presets;
use crate::ui::actions::UserAction;

/// The File menu. It holds no state of its own beyond what to enable.
#[derive(Clone, Debug)]
pub struct FileMenu {
    /// Whether there is a run to export (the Export items are greyed out otherwise).
    pub exports_available: bool,
}

impl Default for FileMenu {
    fn default() -> Self {
        FileMenu {
            exports_available: true,
        }
    }
}

impl FileMenu {
    /// Draws the "File" menu button (put it in the app's menu bar) and returns what was
    /// chosen.
    pub fn ui(&mut self, ui: &mut egui::Ui, doc: &Document) -> Option<FileAction> {
        let mut action = None;
        let exports_available = self.exports_available;
        ui.menu_button("File", |ui| {
            let save_tooltip = match doc.path() {
                Some(path) => format!("Save over {}", path.display()),
                None => "Untitled: asks where to save".to_string(),
            };
            for (user, tooltip) in [
                (UserAction::OpenExperiment, None),
                (UserAction::SaveExperiment, Some(save_tooltip)),
                (UserAction::SaveExperimentAs, None),
            ] {
                if let Some(chosen) = item(ui, user, tooltip) {
                    action = Some(chosen);
                }
            }
            ui.add_enabled_ui(!doc.recent().is_empty(), |ui| {
                ui.menu_button("Open recent", |ui| {
                    for path in doc.recent() {
                        let name = path
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_else(|| path.display().to_string());
                        if ui
                            .button(name)
                            .on_hover_text(path.display().to_string())
                            .clicked()
                        {
                            action = Some(FileAction::Open(path.clone()));
                        }
                    }
                });
            });
            ui.separator();
            for user in [
                UserAction::ImportQkvFolder,
                UserAction::OpenModelFolder,
                UserAction::OpenImage,
                UserAction::SaveState,
                UserAction::OpenState,
            ] {
                if let Some(chosen) = item(ui, user, None) {
                    action = Some(chosen);
                }
            }
            ui.menu_button("Examples", |ui| {
                for preset in presets::presets() {
                    let description = preset
                        .experiment()
                        .ok()
                        .and_then(|e| e.description)
                        .unwrap_or_default();
                    if ui.button(preset.title).on_hover_text(description).clicked() {
                        action = Some(FileAction::OpenExample { name: preset.name });
                    }
                }
                ui.separator();
                if ui
                    .button(crate::ui::views::authors_figure::EXAMPLE_LABEL)
                    .on_hover_text(crate::ui::views::authors_figure::EXAMPLE_TOOLTIP)
                    .clicked()
                {
                    action = Some(FileAction::ShowAuthorsFigure);
                }
            });
            if let Some(chosen) = item(ui, UserAction::OpenLesson, None) {
                action = Some(chosen);
            }
            ui.menu_button("Lessons", |ui| {
                for (index, lesson) in crate::io::lesson::bundled().iter().enumerate() {
                    if ui.button(lesson.title()).clicked() {
                        action = Some(FileAction::StartLesson(index));
                    }
                }
            });
            if let Some(chosen) = item(ui, UserAction::ShowDescription, None) {
                action = Some(chosen);
            }
            ui.separator();
            ui.add_enabled_ui(exports_available, |ui| {
                ui.menu_button("Export", |ui| {
                    for kind in ExportKind::ALL {
                        if ui.button(kind.label()).clicked() {
                            action = Some(FileAction::Choose(DialogKind::Export(kind)));
                        }
                    }
                });
            });
            ui.separator();
            if let Some(chosen) = item(ui, UserAction::Quit, None) {
                action = Some(chosen);
            }
            if action.is_some() {
                ui.close();
            }
        });
        action
    }
}

/// A menu item for `user`: its label, its keys and its tooltip (or `tooltip` instead). Its
/// File action when clicked.
fn item(ui: &mut egui::Ui, user: UserAction, tooltip: Option<String>) -> Option<FileAction> {
    let mut button = egui::Button::new(user.label());
    if let Some(keys) = user.shortcut() {
        button = button.shortcut_text(ui.ctx().format_shortcut(&keys));
    }
    let tooltip = tooltip.unwrap_or_else(|| user.spec().tooltip.to_string());
    if ui.add(button).on_hover_text(tooltip).clicked() {
        user.file_action()
    } else {
        None
    }
}
