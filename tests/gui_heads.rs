//! The all-heads overview and the sweep panel driven through their accessible labels
//! (egui_kittest on wgpu), each fed by a real batch on the batch runner's thread.

mod common;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable};
use std::sync::Arc;
use tripartite::data::experiment::Experiment;
use tripartite::data::spec::SourceSpec;
use tripartite::model::params::{Mode, Params};
use tripartite::model::simulation::Simulation;
use tripartite::sim::batch::Variant;
use tripartite::ui::command::AppCommand;
use tripartite::ui::heads::{HeadOrder, HeadsOverview};
use tripartite::ui::sweep::{CalciumSamples, SweepPanel};
use tripartite::ui::theme;

/// A bundled MiniLM sentence in algebraic mode at small m: twelve heads in well under a second.
fn small_bundled() -> Experiment {
    Experiment {
        params: Params {
            mode: Mode::Algebraic,
            m: 64,
            layer: 3,
            head: 1,
            ..Params::default()
        },
        source: SourceSpec::Bundled("coreference-it".into()),
        ..Experiment::default()
    }
}

/// Steps frames until `done` holds.
fn wait_until<S>(h: &mut Harness<'_, S>, what: &str, done: impl Fn(&S) -> bool) {
    common::wait_for(h, what, |state| done(state).then_some(()));
}

/// With TRIPARTITE_SHOTS=DIR, saves the rendered window as DIR/NAME for a look by eye.
fn save_if_requested<S>(h: &mut Harness<'_, S>, name: &str) {
    if let Some(dir) = std::env::var_os("TRIPARTITE_SHOTS") {
        let image = h.render().expect("the harness renders");
        image
            .save(std::path::Path::new(&dir).join(name))
            .expect("the screenshot folder is writable");
    }
}

struct HeadsState {
    view: HeadsOverview,
    experiment: Experiment,
    clicked: Vec<usize>,
    /// The linked token selection, changed by the commands the view pushes.
    tokens: tripartite::ui::views::selection::TokenSelection,
}

fn heads_harness() -> Harness<'static, HeadsState> {
    heads_harness_with(small_bundled())
}

fn heads_harness_with(experiment: Experiment) -> Harness<'static, HeadsState> {
    Harness::builder()
        .with_size([1280.0, 800.0])
        .wgpu_setup(common::lavapipe())
        .build_ui_state(
            |ui, state: &mut HeadsState| {
                theme::apply(ui.ctx());
                let mut out = Vec::new();
                state
                    .view
                    .ui(ui, &state.experiment, &state.tokens, &mut out);
                for command in out {
                    match command {
                        AppCommand::SelectTokens { after, .. } => state.tokens = after,
                        AppCommand::OpenHead { head, .. } => state.clicked.push(head),
                        _ => {}
                    }
                }
            },
            HeadsState {
                view: HeadsOverview::new(),
                experiment,
                clicked: Vec::new(),
                tokens: Default::default(),
            },
        )
}

fn run_all_heads(h: &mut Harness<'_, HeadsState>) {
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("12 heads → 12 astrocytes")
            .is_some(),
        "the caption names the number of heads"
    );
    h.get_by_label("Run all heads").click();
    h.step();
    wait_until(h, "twelve heads", |s| {
        !s.view.is_running() && s.view.heads(Variant::POSITIVE_IID).len() == 12
    });
}

fn head_cells(h: &Harness<'_, HeadsState>) -> Vec<String> {
    h.query_all_by_role(Role::Button)
        .filter_map(|node| node.accesskit_node().label())
        .filter(|label| label.contains(" of layer 3: attn_tv "))
        .collect()
}

/// The head index a cell's label names ("Head 7 of layer 3: …" → 7).
fn head_of(label: &str) -> usize {
    label["Head ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no head index in {label}"))
}

#[test]
fn every_head_of_the_layer_gets_a_cell_and_a_click_opens_it() {
    let mut h = heads_harness();
    run_all_heads(&mut h);
    assert_eq!(h.state().view.message(), None);
    let cells = head_cells(&h);
    assert_eq!(cells.len(), 12, "{cells:#?}");
    for head in 0..12 {
        let prefix = format!("Head {head} of layer 3: attn_tv ");
        assert_eq!(
            cells.iter().filter(|c| c.starts_with(&prefix)).count(),
            1,
            "one cell for head {head}: {cells:#?}"
        );
    }
    // Each label carries the same numbers the batch computed.
    let head5 = &h.state().view.heads(Variant::POSITIVE_IID)[5];
    let expected = tripartite::ui::heads::cell_label(head5);
    assert!(cells.contains(&expected), "{expected} in {cells:#?}");

    save_if_requested(&mut h, "heads_overview.png");
    h.get_by_label_contains("Head 5 of layer 3:").click();
    h.run_steps(2);
    assert_eq!(h.state().clicked, vec![5]);
    assert_eq!(h.state().view.layer(), Some(3));
}

#[test]
fn ordering_by_attn_tv_puts_the_best_head_first_and_clicks_still_name_the_head() {
    let mut h = heads_harness();
    h.state_mut().view.set_order(HeadOrder::ByAttnTv);
    run_all_heads(&mut h);
    let cells = head_cells(&h);
    let heads = h.state().view.heads(Variant::POSITIVE_IID);
    let best = heads
        .iter()
        .min_by(|a, b| a.metrics.attn_tv.total_cmp(&b.metrics.attn_tv))
        .unwrap();
    assert!(
        cells[0].starts_with(&format!("Head {} of layer 3:", best.head)),
        "first cell {} is not the best head {}",
        cells[0],
        best.head
    );
    let tv: Vec<f64> = cells
        .iter()
        .map(|c| heads[head_of(c)].metrics.attn_tv)
        .collect();
    assert!(tv.windows(2).all(|w| w[0] <= w[1]), "{tv:?}");
    let worst = cells.last().unwrap().clone();
    h.get_by_label(&worst).click();
    h.run_steps(2);
    assert_eq!(h.state().clicked, vec![head_of(&worst)]);
}

#[test]
fn compare_variants_runs_each_variant_and_tabulates_them() {
    let mut h = heads_harness();
    h.run_steps(2);
    h.get_by_label("Compare variants").click();
    h.step();
    wait_until(&mut h, "four variants", |s| {
        !s.view.is_running()
            && Variant::COMPARED
                .iter()
                .all(|&v| s.view.heads(v).len() == 12)
    });
    assert!(
        h.query_by_label("Which heads each variant handles")
            .is_some()
    );
    for variant in Variant::COMPARED {
        assert!(
            h.query_by_label(&variant.to_string()).is_some(),
            "{variant} has a row"
        );
    }
    save_if_requested(&mut h, "heads_compare.png");
    // The variants really differ: hyperbolic features give other attention than positive ones.
    let positive = h.state().view.heads(Variant::POSITIVE_IID)[0]
        .network_attention
        .clone();
    let hyperbolic = h.state().view.heads(Variant::HYPERBOLIC_IID)[0]
        .network_attention
        .clone();
    assert_ne!(positive, hyperbolic);
}

#[test]
fn a_single_head_source_explains_itself() {
    let mut h = heads_harness();
    h.state_mut().experiment.source = SourceSpec::Synthetic {
        tokens: 8,
        dim: 16,
        heads: 1,
    };
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("needs a real transformer")
            .is_some()
    );
    assert!(h.query_by_label("Run all heads").is_none());
}

struct SweepState {
    panel: SweepPanel,
    experiment: Experiment,
    samples: CalciumSamples,
}

/// c_t and Z_t of a finished algebraic run of the experiment's head.
fn finished_samples(experiment: &Experiment) -> (CalciumSamples, f64) {
    let sequence = Arc::new(
        experiment
            .load_sequence()
            .expect("the bundled sentence loads"),
    );
    let tokens = sequence.tokens.clone();
    let mut simulation = Simulation::new(&experiment.params, sequence).expect("valid parameters");
    simulation.run_to_end();
    let samples = CalciumSamples::from_output(simulation.output(), simulation.reference(), &tokens);
    (samples, simulation.metrics().calcium_corr)
}

fn sweep_harness() -> (Harness<'static, SweepState>, f64) {
    let experiment = Experiment {
        params: Params {
            m: 256,
            ..small_bundled().params
        },
        ..small_bundled()
    };
    let (samples, calcium_corr) = finished_samples(&experiment);
    let h = Harness::builder()
        .with_size([1280.0, 800.0])
        .wgpu_setup(common::lavapipe())
        .build_ui_state(
            |ui, state: &mut SweepState| {
                theme::apply(ui.ctx());
                state
                    .panel
                    .ui(ui, &state.experiment, &state.samples, &mut Vec::new());
            },
            SweepState {
                panel: SweepPanel::new(),
                experiment,
                samples,
            },
        );
    (h, calcium_corr)
}

#[test]
fn the_sweep_panel_plots_a_real_sweep_and_the_calcium_correlation() {
    let (mut h, calcium_corr) = sweep_harness();
    h.run_steps(2);
    // The scatter of the current run, with its correlation, is there before any sweep.
    let correlation = format!(
        "Pearson r = {} over 16 tokens (calcium_corr)",
        theme::sig(calcium_corr)
    );
    assert!(
        h.query_by_label_contains(&correlation).is_some(),
        "the correlation text shows the run's calcium_corr: {correlation}"
    );
    assert!(calcium_corr.is_finite());
    for plot in [
        "Plot: astrocyte calcium c_t against softmax normaliser Z_t, log–log axes",
        "Plot: attn_tv against random features m, log–log axes",
    ] {
        assert_eq!(
            h.query_all_by_role_and_label(Role::Canvas, plot).count(),
            1,
            "{plot}"
        );
    }
    assert!(h.query_by_label("c_t = Z_t (identity)").is_some());
    assert!(h.query_by_label("tokens (one point each)").is_some());
    assert!(
        h.query_by_label_contains("Z_t spans orders of magnitude")
            .is_some()
    );

    // The default fields, plus a second variant ticked by the user: 5 m × 3 seeds × 2.
    assert_eq!(
        h.get_by_label("m values").value().as_deref(),
        Some("64, 256, 1024, 4096, 16384")
    );
    assert_eq!(h.get_by_label("Seeds").value().as_deref(), Some("3"));
    h.get_by_label("hyperbolic/iid").click();
    h.run_steps(2);
    h.get_by_label("Run sweep").click();
    h.step();
    wait_until(&mut h, "the sweep", |s| {
        !s.panel.is_running() && s.panel.points().len() == 30
    });
    assert_eq!(h.state().panel.message(), None);
    // Each figure's key stands above it, never on the curves it names (issue 25: a legend of
    // nine entries inside the sweep's plot hid the reference slope and the low curves).
    h.run_steps(2);
    for (plot, entries) in [
        (
            "Plot: attn_tv against random features m, log–log axes",
            &["reference slope 1/√m", "positive/iid", "hyperbolic/iid"][..],
        ),
        (
            "Plot: astrocyte calcium c_t against softmax normaliser Z_t, log–log axes",
            &["tokens (one point each)", "c_t = Z_t (identity)"][..],
        ),
    ] {
        let canvas = h.get_by_role_and_label(Role::Canvas, plot).rect();
        assert!(canvas.height() > 150.0, "{plot} is drawn: {canvas:?}");
        for entry in entries {
            let labels: Vec<_> = h.query_all_by_label(entry).map(|n| n.rect()).collect();
            assert!(!labels.is_empty(), "the key names {entry}");
            for rect in labels {
                assert!(
                    rect.bottom() <= canvas.top(),
                    "'{entry}' {rect:?} is drawn on {plot} {canvas:?}"
                );
            }
        }
    }
    assert!(
        h.query_by_label_contains("Dots: each seed. Line: the mean over seeds.")
            .is_some()
    );
    save_if_requested(&mut h, "sweep_panel.png");

    let csv = h.state().panel.results_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "variant,m,seed,attn_tv,attn_max_abs,output_rel_err,calcium_corr,calcium_rel_err"
    );
    assert_eq!(lines.len(), 31);
    assert!(lines[1].starts_with("positive/iid,64,1,"), "{}", lines[1]);
    // The m = 256, seed 1 positive/iid run is the run the scatter shows.
    let same = h
        .state()
        .panel
        .points()
        .iter()
        .find(|p| p.variant == Variant::POSITIVE_IID && p.m == 256 && p.seed == 1)
        .unwrap();
    assert_eq!(same.metrics.calcium_corr, calcium_corr);
}

#[test]
fn bad_sweep_fields_are_refused_inline() {
    let (mut h, _) = sweep_harness();
    h.run_steps(2);
    h.get_by_label("m values")
        .set_text_value_accesskit("64, lots");
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("“lots” is not a whole number")
            .is_some()
    );
    assert!(h.get_by_label("Run sweep").accesskit_node().is_disabled());
    h.get_by_label("m values")
        .set_text_value_accesskit("64, 128");
    h.get_by_label("Seeds").set_text_value_accesskit("0");
    h.run_steps(2);
    assert!(h.query_by_label_contains("from 1 to 20").is_some());
    h.get_by_label("Seeds").set_text_value_accesskit("2");
    h.run_steps(2);
    assert!(h.query_by_label_contains("from 1 to 20").is_none());
    assert!(!h.get_by_label("Run sweep").accesskit_node().is_disabled());
    h.get_by_label("Run sweep").click();
    h.step();
    wait_until(&mut h, "the small sweep", |s| !s.panel.is_running());
    assert_eq!(h.state().panel.points().len(), 4);
}

#[test]
fn a_running_head_batch_shows_progress_and_cancel_keeps_what_finished() {
    let mut h = heads_harness();
    // Dynamic mode at m = 1024 takes seconds per head: long enough to catch it running.
    h.state_mut().experiment.params.mode = Mode::Dynamic;
    h.state_mut().experiment.params.m = 1024;
    h.run_steps(2);
    h.get_by_label("Run all heads").click();
    h.step();
    assert!(h.state().view.is_running());
    let progress: Vec<String> = h
        .query_all_by_role(Role::ProgressIndicator)
        .filter_map(|n| n.accesskit_node().label())
        .collect();
    assert_eq!(progress.len(), 1, "{progress:?}");
    assert_eq!(progress[0], "Running positive/iid: 0 of 12 heads done");
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert!(!h.state().view.is_running());
    assert!(
        h.query_all_by_role(Role::ProgressIndicator)
            .next()
            .is_none()
    );
    let finished = h.state().view.heads(Variant::POSITIVE_IID).len();
    assert!(
        finished < 12,
        "the batch was not cancelled: {finished} heads"
    );
    assert_eq!(
        h.query_all_by_label_contains("of layer 3: not run").count(),
        12 - finished
    );
    assert_eq!(head_cells(&h).len(), finished);
}

#[test]
fn a_running_sweep_shows_progress_and_can_be_cancelled() {
    let (mut h, _) = sweep_harness();
    h.state_mut()
        .panel
        .set_fields("1048576", "20", &Variant::COMPARED);
    h.run_steps(2);
    h.get_by_label("Run sweep").click();
    h.step();
    assert!(h.state().panel.is_running());
    assert!(
        h.query_all_by_role(Role::ProgressIndicator)
            .filter_map(|n| n.accesskit_node().label())
            .any(|label| label == "0 of 80 runs done"),
        "a progress bar counts the runs"
    );
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert!(!h.state().panel.is_running());
    let message = h.state().panel.message().unwrap_or_default().to_string();
    assert!(message.starts_with("Cancelled after "), "{message}");
    assert!(h.query_by_label(&message).is_some());
    assert!(h.state().panel.points().len() < 80);
}

/// Issue 12 §3: a click inside a head's small multiple selects that query row in every view
/// (here the harness's linked selection) without opening the head, and every head outlines it.
#[test]
fn a_click_in_a_small_multiple_selects_its_query_row_everywhere() {
    let mut h = heads_harness();
    run_all_heads(&mut h);
    h.run_steps(2);
    let label = head_cells(&h).into_iter().next().expect("a head cell");
    let cell = h.get_by_label(&label).rect();
    let n = h.state().view.heads(Variant::POSITIVE_IID)[0]
        .softmax_attention
        .nrows();
    // The cell's layout: a 10-point margin, the heading (28) and the matrix name (16) above
    // two square matrices side by side.
    let side = (cell.width() - 30.0) / 2.0;
    let t = 4;
    let at = egui::pos2(
        cell.left() + 10.0 + side / 2.0,
        cell.top() + 44.0 + (t as f32 + 0.5) * side / n as f32,
    );
    h.hover_at(at);
    h.step();
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos: at,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }
    h.run_steps(3);
    assert_eq!(h.state().tokens.queries, [t], "row {t} selected");
    assert!(h.state().clicked.is_empty(), "the head was not opened");
    // Every head outlines the row: count the selection colour in each cell.
    let image = h.render().expect("the harness renders");
    let color = tripartite::ui::widgets::heatmap::SELECTED_TOKEN;
    for label in head_cells(&h) {
        let rect = h.get_by_label(&label).rect();
        let outlined = (rect.top() as u32..(rect.bottom() as u32).min(image.height()))
            .flat_map(|y| {
                (rect.left() as u32..(rect.right() as u32).min(image.width())).map(move |x| (x, y))
            })
            .filter(|&(x, y)| {
                let p = image.get_pixel(x, y);
                p[0].abs_diff(color.r()) <= 12
                    && p[1].abs_diff(color.g()) <= 12
                    && p[2].abs_diff(color.b()) <= 12
            })
            .count();
        assert!(
            outlined > 2 * side as usize,
            "{label}: row {t} outlined ({outlined} px)"
        );
    }
}

/// With a learned file for the whole layer, every cell sets the learned network against its
/// random budget: the random m at which the cell's own fit reaches the learned attn_tv.
#[test]
fn a_single_head_learned_file_runs_its_head_and_says_the_others_are_not_in_it() {
    // The bundled example file holds layer 3, head 1: the batch used to fail as a whole on
    // head 0 ("learned for … head 1, not for this sequence").
    let mut experiment = small_bundled();
    experiment.params.m = 256;
    experiment
        .params
        .set("projection", "learned:bundled:layer3-head1-m256")
        .unwrap();
    let mut h = heads_harness_with(experiment);
    let variant = Variant::of(&h.state().experiment.params);
    h.run_steps(2);
    h.get_by_label("Run all heads").click();
    h.step();
    wait_until(&mut h, "the learned head", |s| !s.view.is_running());
    assert_eq!(h.state().view.message(), None);
    let heads: Vec<usize> = h
        .state()
        .view
        .heads(variant)
        .iter()
        .map(|r| r.head)
        .collect();
    assert_eq!(heads, [1]);
    h.run_steps(2);
    assert_eq!(head_cells(&h).len(), 1);
    for head in (0..12).filter(|&k| k != 1) {
        let label = format!("Head {head} of layer 3: not in the learned file");
        assert!(h.query_by_label(&label).is_some(), "{label}");
    }
}

#[test]
fn learned_cells_say_which_random_m_matches_them() {
    use tripartite::jobs::learn::{HeadChoice, LearnRequest, TextSet, learn};
    use tripartite::model::params::Projection;
    let m = 16;
    let request = LearnRequest {
        model: None,
        layer: 3,
        heads: HeadChoice::All,
        m,
        seed: 1,
        steps: 30,
        learning_rate: 0.05,
        train: vec![TextSet::Bundled],
        held_out: vec![],
        random_m: None,
    };
    let file = learn(
        &request,
        &|_| {},
        &std::sync::atomic::AtomicBool::new(false),
    )
    .unwrap()
    .unwrap()
    .file;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layer3.safetensors");
    std::fs::write(&path, file.to_bytes()).unwrap();
    let mut experiment = small_bundled();
    experiment.params.m = m;
    experiment
        .params
        .set("projection", &format!("learned:{}", path.display()))
        .unwrap();
    let mut h = heads_harness_with(experiment);
    let variant = Variant::of(&h.state().experiment.params);
    assert!(matches!(variant.projection, Projection::Learned(_)));
    h.run_steps(2);
    h.get_by_label("Run all heads").click();
    h.step();
    wait_until(&mut h, "twelve learned heads", |s| !s.view.is_running());
    assert_eq!(h.state().view.message(), None);
    assert_eq!(h.state().view.heads(variant).len(), 12);
    h.run_steps(2);
    let cells = head_cells(&h);
    assert_eq!(cells.len(), 12, "{cells:#?}");
    for head in h.state().view.heads(variant) {
        let learned = head.learned.as_ref().expect("every head is in the file");
        let fit = head.budget.expect("a random budget");
        assert_eq!(learned.m, m);
        assert_eq!(learned.m_equivalent, fit.m_matching(learned.attn_tv));
        // The budget swept random features, not the learned file (which has only m = 16).
        assert!(fit.m_needed.is_finite());
        let label = tripartite::ui::heads::cell_label(head);
        assert!(
            label.contains(&format!("learned ≈ random m {:.1e}", learned.m_equivalent)),
            "{label}"
        );
        assert!(cells.contains(&label), "{label} in {cells:#?}");
    }
    save_if_requested(&mut h, "heads_learned.png");
}
