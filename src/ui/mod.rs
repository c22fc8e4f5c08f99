//! The desktop app (egui/eframe): one struct per view, each with `fn ui(&mut self, ui, …)`.
//! Views read the worker's snapshots and push [`command::AppCommand`]s; they never step the
//! model, and the UI thread never loads one.
//!
//! - [`command`]: what a view, menu, key or script can ask of the app; [`actions`]: every
//!   named user action declared once (label, tooltip, keys, help line).
//! - [`app`]: the shell: the window's state, the per-frame logic, the frame layout, the one
//!   command handler, and the scripted runs that wrap it.
//! - [`views`]: controls, parameters, graph, traces, attention (three heatmaps), status, help,
//!   picker, all heads, sweep.
//! - [`widgets`]: heatmap, colour maps, theme, the movable layout.
//! - [`files`]: the File menu, dialogs, the unsaved-changes question, the persisted session.
//! - [`run_gui`]: opens the window; with [`GuiOptions::frames`] it measures frame times, with
//!   [`GuiOptions::screenshot_dir`] it drives the app through fixed states and saves PNGs.

pub mod actions;
pub mod app;
pub mod command;
pub mod exports;
pub mod files;
pub mod history;
pub mod regions;
pub mod views;
pub mod widgets;

pub use app::TripartiteApp;
pub use files::persist;
pub use views::selection::Selection;
pub use views::{heads, sweep};
pub use widgets::{layout, theme};

use crate::data::experiment::Experiment;
use app::scripted::{Outcome, Script, ScriptedApp};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// How to open the app.
#[derive(Clone, Debug, Default)]
pub struct GuiOptions {
    /// The setup to open on (the default is `Experiment::default()`).
    pub experiment: Experiment,
    /// Why the experiment asked for was refused (it is shown, and the default one opens).
    pub refusal: Option<String>,
    /// Run the real window for this many frames with the simulation at full speed, then exit
    /// and report frame times.
    pub frames: Option<u64>,
    /// Where to write the frame report (JSON); printed to stdout when absent.
    pub frame_report: Option<PathBuf>,
    /// Drive the app through fixed states, save `main_mid_run.png`, `attention.png` and
    /// `graph_selection.png` here, then exit.
    pub screenshot_dir: Option<PathBuf>,
}

/// Opens the app window and returns when it closes.
pub fn run_gui(options: GuiOptions) -> anyhow::Result<()> {
    // Mesa's software rasteriser (llvmpipe) starts one thread per core, and on a small machine
    // those threads take the cores the simulation runs on (measured: −40 % steps/s on 2 cores).
    // One is plenty for this 2D UI. Hardware drivers ignore the variable.
    if std::env::var_os("LP_NUM_THREADS").is_none() {
        // SAFETY: no thread of ours exists yet (the window, GL context and worker are created
        // below), so nothing reads the environment concurrently.
        unsafe { std::env::set_var("LP_NUM_THREADS", "1") };
    }
    let scripted = options.frames.is_some() || options.screenshot_dir.is_some();
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("tripartite — neurons + astrocyte ≈ self-attention")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([720.0, 480.0]),
        renderer: eframe::Renderer::Glow,
        // The worker already paces repaints (≤ 60 a second); waiting for vblank as well only
        // costs a core under software GL.
        glow_options: eframe::egui_glow::GlowConfiguration {
            vsync: false,
            ..Default::default()
        },
        persist_window: !scripted,
        ..Default::default()
    };
    let outcome: Outcome = Arc::new(Mutex::new(Ok(())));
    let for_app = outcome.clone();
    eframe::run_native(
        "tripartite",
        native,
        Box::new(move |creation| {
            let mut app = if scripted {
                TripartiteApp::new(options.experiment)
            } else {
                TripartiteApp::for_window(options.experiment, creation.storage)
            };
            if let Some(refusal) = options.refusal {
                app.refused_start(refusal);
            }
            let script = if let Some(frames) = options.frames {
                Script::measure(frames, options.frame_report, for_app)
            } else if let Some(dir) = options.screenshot_dir {
                *for_app.lock().unwrap() =
                    Err("the window closed before the screenshots were taken".into());
                Script::shots(dir, for_app)
            } else {
                return Ok(Box::new(app));
            };
            Ok(Box::new(ScriptedApp::new(app, script)))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the app window: {e}"))?;
    let result = outcome.lock().unwrap_or_else(|p| p.into_inner()).clone();
    result.map_err(|e| anyhow::anyhow!(e))
}
