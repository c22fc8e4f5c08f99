//! Shared by the GUI test files: the pinned renderer for egui_kittest, and the one way to wait
//! for something with a deadline.

// Each test file uses only part of this module.
#![allow(dead_code)]

pub mod worker;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use egui_kittest::wgpu::default_wgpu_setup;
use egui_wgpu::WgpuSetup;
use egui_wgpu::wgpu::{Backend, Backends, DeviceType};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tripartite::data::experiment::Experiment;
use tripartite::data::spec::SourceSpec;
use tripartite::model::params::{Heads, Mode, Params};
use tripartite::sim::Snapshot;
use tripartite::ui::TripartiteApp;

/// How long a wait may take before the test fails (a deadline against hangs, not a timing).
pub const WAIT: Duration = Duration::from_secs(60);

/// Steps frames until `found` gives a value for the harness's state, then two more frames so
/// the window shows it; returns the value. Fails after [`WAIT`] naming `what`.
pub fn wait_for<S, T>(h: &mut Harness<'_, S>, what: &str, found: impl Fn(&S) -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = found(h.state()) {
            h.run_steps(2);
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(3));
    }
}

/// Snapshots are rendered by Vulkan on Mesa's lavapipe (`mesa-vulkan-drivers` and `libvulkan1`,
/// installed by `scripts/test`), and by nothing else: a GPU or GL adapter would draw slightly
/// different pixels. Without lavapipe the harness fails with one sentence that says how to get it.
pub fn lavapipe() -> WgpuSetup {
    let WgpuSetup::CreateNew(mut setup) = default_wgpu_setup() else {
        unreachable!("egui_kittest's default setup creates a new instance");
    };
    setup.instance_descriptor.backends = Backends::VULKAN;
    setup.native_adapter_selector = Some(Arc::new(|adapters, _surface| {
        adapters
            .iter()
            .find(|a| {
                let info = a.get_info();
                info.backend == Backend::Vulkan && info.device_type == DeviceType::Cpu
            })
            .cloned()
            .ok_or_else(|| {
                let seen: Vec<String> = adapters
                    .iter()
                    .map(|a| format!("{:?}", a.get_info()))
                    .collect();
                format!(
                    "no software Vulkan adapter (Mesa's lavapipe): run scripts/test, which installs \
                     the Debian packages mesa-vulkan-drivers and libvulkan1 (adapters seen: {seen:?})."
                )
            })
    }));
    WgpuSetup::CreateNew(setup)
}

/// The whole app in a harness `size` pixels large at `zoom` pixels per point (a zoomed window
/// shows fewer points, each drawn larger), stepped until the worker's first snapshot.
pub fn app_harness(
    experiment: Experiment,
    size: [f32; 2],
    zoom: f32,
) -> Harness<'static, TripartiteApp> {
    let mut h = Harness::builder()
        .with_size([size[0] / zoom, size[1] / zoom])
        .with_pixels_per_point(zoom)
        .wgpu_setup(lavapipe())
        .build_ui_state(
            |ui, app: &mut TripartiteApp| app.show(ui),
            TripartiteApp::new(experiment),
        );
    wait_snapshot(&mut h, "the first snapshot", |s| s.run.is_some());
    h
}

/// Steps frames until `done` holds for the app's snapshot, and returns that snapshot.
pub fn wait_snapshot(
    h: &mut Harness<'_, TripartiteApp>,
    what: &str,
    done: impl Fn(&Snapshot) -> bool,
) -> Snapshot {
    wait_for(h, what, |app| app.snapshot().filter(|s| done(s)).cloned())
}

/// The classroom setup on a fixed synthetic sequence (independent of the app's default).
pub fn classroom() -> Experiment {
    Experiment {
        params: Params::default(),
        source: SourceSpec::Synthetic {
            tokens: 12,
            dim: 32,
            heads: 1,
        },
        ..Experiment::default()
    }
}

/// Steps frames until the app's twin run has finished (done or failed); returns its comparison.
pub fn wait_twin(h: &mut Harness<'_, TripartiteApp>) -> tripartite::sim::compare::Comparison {
    use tripartite::sim::compare::TwinState;
    wait_for(h, "the twin", |app| {
        app.twin()
            .filter(|t| !matches!(t.state(), TwinState::Running))
            .map(|_| ())
    });
    match h.state().twin().expect("a twin").state() {
        TwinState::Done(comparison) => (**comparison).clone(),
        other => panic!("the twin failed: {other:?}"),
    }
}

/// Bundled held-out digit `index` read by the digits ViT (algebraic, m = 256, layer 1, head 0).
pub fn digit(index: usize) -> Experiment {
    Experiment {
        params: Params {
            mode: Mode::Algebraic,
            m: 256,
            layer: 1,
            head: 0,
            ..Params::default()
        },
        source: SourceSpec::Digits(index),
        ..Experiment::default()
    }
}

/// An app on `experiment`, tall enough that the Images section, below the parameters, is in
/// view, with that section open.
pub fn images_harness(experiment: Experiment) -> Harness<'static, TripartiteApp> {
    let mut h = app_harness(experiment, [1280.0, 2600.0], 1.0);
    h.get_by_label("Images: the digits ViT").click();
    for _ in 0..4 {
        h.step();
        std::thread::sleep(Duration::from_millis(3));
    }
    h
}

/// Six tokens, short slots: a whole run in a moment (the timeline and truth tests).
pub fn small() -> Experiment {
    short_synthetic(6)
}

/// `tokens` synthetic tokens of dimension 8 with short slots and m = 64.
pub fn short_synthetic(tokens: usize) -> Experiment {
    Experiment {
        params: Params {
            m: 64,
            t_write: 10.0,
            t_read: 40.0,
            ..Params::default()
        },
        source: SourceSpec::Synthetic {
            tokens,
            dim: 8,
            heads: 1,
        },
        ..Experiment::default()
    }
}

/// Every head of layer 3 of a bundled MiniLM sentence, small m so that it runs fast.
pub fn live_layer() -> Experiment {
    Experiment {
        params: Params {
            mode: Mode::Dynamic,
            m: 64,
            layer: 3,
            heads: Heads::All,
            ..Params::default()
        },
        source: SourceSpec::Bundled("coreference-it".into()),
        ..Experiment::default()
    }
}

/// Steps frames until a widget whose label contains `text` is on screen (fails after [`WAIT`]).
pub fn wait_for_label(h: &mut Harness<'static, TripartiteApp>, text: &str) {
    let deadline = Instant::now() + WAIT;
    while h.query_by_label_contains(text).is_none() {
        assert!(Instant::now() < deadline, "timed out waiting for '{text}'");
        h.step();
        std::thread::sleep(Duration::from_millis(3));
    }
}

/// Presses Run to end and waits for the run's last step.
pub fn finished(h: &mut Harness<'static, TripartiteApp>) -> Snapshot {
    h.get_by_label("Run to end").click();
    wait_snapshot(h, "the end of the run", |s| {
        s.step == s.run.as_ref().map_or(u64::MAX, |r| r.total_steps)
    })
}

/// Presses F5 and, as a real window of the same pixels would, gives the app fewer points.
pub fn present(h: &mut Harness<'_, TripartiteApp>, size_px: [f32; 2]) {
    h.key_press(egui::Key::F5);
    h.run_steps(2);
    let ppp = h.ctx.pixels_per_point();
    h.set_size(egui::vec2(size_px[0] / ppp, size_px[1] / ppp));
    h.run_steps(4);
}

/// Does what the lesson step's `done_when` asks: runs to the end, or sets a parameter.
pub fn meet_the_step(h: &mut Harness<'_, TripartiteApp>) {
    use tripartite::data::lesson::Condition;
    use tripartite::model::params::Param;
    use tripartite::sim::Command;
    let conditions = h.state().lesson().step().unwrap().done_when.clone();
    for condition in conditions {
        match condition {
            Condition::Past(_) | Condition::ReadCompleted(_) => {
                h.state_mut().send(Command::RunToEnd)
            }
            Condition::ParamBetween { key, low, .. } => {
                let mut params = h.state().snapshot().unwrap().params.clone();
                Param::named(&key)
                    .unwrap()
                    .set_text(&mut params, &low.to_string())
                    .unwrap();
                h.state_mut().send(Command::SetParams(params));
            }
            other => panic!("the bundled lessons do not ask for {other:?}"),
        }
    }
    wait_for(h, "Next to light up", |app| {
        app.lesson().can_advance(app.lesson_world()).then_some(())
    });
}

/// Where the live layer's attention region is too narrow for the head's matrices and the
/// layer output side by side, clicks its "Layer output" toggle to show the output.
pub fn show_layer_output(h: &mut Harness<'_, TripartiteApp>) {
    if h.query_by_label("Layer output").is_some() {
        h.get_by_label("Layer output").click();
        h.run_steps(3);
    }
}

/// Steps frames until every region in `names` has been drawn, or [`WAIT`] has passed: a lesson
/// step that loads its own experiment draws its views once the new run is built, which a loaded
/// machine may take more than a few frames to do.
pub fn wait_for_regions(h: &mut Harness<'_, TripartiteApp>, names: &[String]) {
    let deadline = Instant::now() + WAIT;
    while names
        .iter()
        .any(|name| tripartite::ui::regions::rect(&h.ctx, name).is_none())
        && Instant::now() < deadline
    {
        h.step();
        std::thread::sleep(Duration::from_millis(3));
    }
}

/// Opens `menu` and clicks its entry whose label contains `item`.
pub fn menu_item(h: &mut Harness<'_, TripartiteApp>, menu: &str, item: &str) {
    h.get_by_label(menu).click();
    h.run_steps(2);
    h.get_by_label_contains(item).click();
    h.run_steps(2);
}
