//! The simulation worker: commands in, snapshots out, failures caught, history bounded.

mod common;

use common::worker::Harness;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tripartite::data::experiment::Experiment;
use tripartite::data::source::load_sequence;
use tripartite::data::spec::SourceSpec;
use tripartite::model::params::Params;
use tripartite::model::simulation::Simulation;
use tripartite::sim::history::TRACE_CAPACITY;
use tripartite::sim::{Command, Probe, RunState, Speed, SubsetMode, SubsetRequest};

/// A small, quick experiment: 4 tokens of dimension 8, short slots.
fn small() -> Experiment {
    common::short_synthetic(4)
}

#[test]
fn step_advances_simulated_time_by_dt() {
    let mut h = Harness::new(small());
    let dt = h.history.snapshot.as_ref().unwrap().params.dt;
    h.send(Command::StepDt);
    let s = h.wait("one step", |s| s.step == 1);
    assert_eq!(s.time_ms, dt);
    assert_eq!(s.state, RunState::Paused);
    h.send(Command::StepSlot);
    let s = h.wait("the end of the first write slot", |s| s.step == 20);
    assert_eq!(s.time_ms, 10.0);
}

#[test]
fn run_then_pause_stops_time() {
    let mut h = Harness::new(small());
    h.send(Command::SetSpeed(Speed::MsPerSecond(50.0)));
    h.send(Command::Run);
    h.wait("time to advance", |s| {
        s.state == RunState::Running && s.time_ms > 0.0
    });
    h.send(Command::Pause);
    let paused = h.wait("the pause", |s| s.state == RunState::Paused);
    std::thread::sleep(Duration::from_millis(150));
    if let Some(update) = h.worker.take_update() {
        h.history.apply(update);
    }
    let later = h.history.snapshot.as_ref().unwrap();
    assert_eq!(later.step, paused.step, "time advanced while paused");
    assert!(paused.step > 0);
}

#[test]
fn live_parameter_edits_reach_the_running_simulation() {
    let mut h = Harness::new(small());
    h.send(Command::StepSlot);
    let before = h.wait("a slot", |s| s.step == 20);
    let params = Params {
        tau_calcium: 55.0,
        eta: 0.05,
        ..before.params.clone()
    };
    h.send(Command::SetParams(params));
    let after = h.wait("the live edit", |s| s.params.tau_calcium == 55.0);
    assert_eq!(after.params.eta, 0.05);
    assert_eq!(
        after.generation, before.generation,
        "a live edit must not rebuild"
    );
    assert_eq!(after.step, 20, "a live edit keeps the time");
    assert!(
        after.notice().unwrap_or("").contains("live"),
        "{:?}",
        after.notice()
    );
}

#[test]
fn structural_edits_rebuild_and_bad_values_are_refused() {
    let mut h = Harness::new(small());
    h.send(Command::StepSlot);
    let before = h.wait("a slot", |s| s.step == 20);
    h.send(Command::SetParams(Params {
        m: 96,
        ..before.params.clone()
    }));
    let rebuilt = h.wait("the rebuild", |s| s.params.m == 96);
    assert!(rebuilt.generation > before.generation);
    assert_eq!(rebuilt.step, 0);
    assert_eq!(rebuilt.run.as_ref().unwrap().sizes.hidden, 96);
    assert!(rebuilt.notice().unwrap_or("").contains("Rebuilt"));

    h.send(Command::SetParams(Params {
        dt: 0.3,
        ..rebuilt.params.clone()
    }));
    let refused = h.wait("the refusal", |s| s.rejected().is_some());
    assert!(
        refused.rejected().unwrap().contains("dt"),
        "{:?}",
        refused.rejected()
    );
    assert_eq!(refused.params.dt, 0.5);
    assert_eq!(refused.generation, rebuilt.generation);
}

#[test]
fn a_panic_is_reported_and_reset_recovers() {
    let mut h = Harness::new(small());
    h.send(Command::InjectPanic);
    h.send(Command::StepDt);
    let failed = h.wait("the failure", |s| s.state == RunState::Failed);
    assert!(
        failed.failure().unwrap().contains("crashed"),
        "{:?}",
        failed.failure()
    );
    assert!(failed.run.is_none());
    h.send(Command::StepDt);
    h.send(Command::Reset);
    let recovered = h.wait("the recovery", |s| {
        s.state == RunState::Paused && s.run.is_some()
    });
    assert!(recovered.failure().is_none());
    h.send(Command::StepDt);
    h.wait("a step after recovery", |s| s.step == 1);
    assert!(h.worker.is_alive());
}

#[test]
fn a_bad_sequence_fails_cleanly_and_a_good_one_recovers() {
    let bad = Experiment {
        source: SourceSpec::Npy("/nonexistent/folder".into()),
        ..small()
    };
    let mut h = Harness::new(bad);
    let s = h.history.snapshot.clone().unwrap();
    assert_eq!(s.state, RunState::Failed);
    assert!(
        s.failure().unwrap().contains("Cannot build"),
        "{:?}",
        s.failure()
    );
    h.send(Command::LoadExperiment(Box::new(small())));
    h.wait("the good sequence", |s| {
        s.run.is_some() && s.state == RunState::Paused
    });
}

#[test]
fn run_to_end_fills_every_row_and_the_trace_stays_bounded() {
    let mut h = Harness::new(small());
    h.send(Command::SetProbes(vec![
        Probe::Hidden(3),
        Probe::Process {
            output: 1,
            hidden: 3,
        },
    ]));
    h.send(Command::RunToEnd);
    let end = h.wait("the end", |s| s.state == RunState::Finished);
    let run = end.run.as_ref().unwrap();
    assert_eq!(end.step, run.total_steps);
    assert_eq!(end.rows_completed, 4);
    assert!(h.history.rows_done.iter().all(|&d| d));
    // Measured: `tripartite run --sequence synthetic:4x8 --set m=64 --set t_write=10
    // --set t_read=40 --json` gives attn_tv 0.46881 (m = 64 is far from softmax).
    let tv = end.metrics.attn_tv;
    assert!((tv - 0.46881).abs() < 5e-6, "attn_tv {tv}");
    // Positive features: every entry of A_net is finite and > 0 once its row is read.
    assert!(
        h.history
            .network_attention
            .iter()
            .all(|&a| a.is_finite() && a > 0.0)
    );
    let samples = h.history.samples.len();
    assert!(
        samples > 100 && samples <= TRACE_CAPACITY,
        "{samples} samples"
    );
    let last = h.history.samples.last().unwrap();
    assert_eq!(last.probes.len(), 2);
    assert!(last.probes.iter().all(|(_, v)| v.is_finite()));
}

/// The worker steps in blocks; its trace samples must still be the states single steps pass by,
/// for every kind of probe, at every sampled step.
#[test]
fn trace_samples_match_single_stepping() {
    let experiment = small();
    let probes = vec![
        Probe::Input(1),
        Probe::Hidden(3),
        Probe::Hidden(63),
        Probe::Output(0),
        Probe::Process {
            output: 1,
            hidden: 3,
        },
        Probe::Synapse {
            output: 2,
            hidden: 40,
        },
    ];
    let mut h = Harness::new(experiment.clone());
    h.send(Command::SetProbes(probes.clone()));
    h.send(Command::RunToEnd);
    h.wait("the end", |s| s.state == RunState::Finished);

    let sequence = load_sequence(&experiment.source, None, &experiment.params).unwrap();
    let mut sim = Simulation::new(&experiment.params, Arc::new(sequence)).unwrap();
    let mut checked = 0;
    for sample in h.history.samples.iter().filter(|s| s.step > 0) {
        while sim.step_index() < sample.step {
            assert!(sim.step());
        }
        let d = sim.dynamic().unwrap();
        assert_eq!(
            sample.calcium,
            d.calcium_normalised(),
            "step {}",
            sample.step
        );
        assert_eq!(sample.time_ms, d.time_ms());
        let expected: Vec<(Probe, f64)> = probes
            .iter()
            .map(|&p| {
                let v = match p {
                    Probe::Input(k) => d.input_rates()[k],
                    Probe::Hidden(j) => d.hidden_rates()[j],
                    Probe::Output(i) => d.output_rates()[i],
                    Probe::Process { output, hidden } => d.process(output, hidden),
                    Probe::Synapse { output, hidden } => d.synapse_weight(output, hidden),
                };
                (p, v)
            })
            .collect();
        assert_eq!(sample.probes, expected, "step {}", sample.step);
        checked += 1;
    }
    // 400 steps, sampled at every step (stride 1), after the probes were set.
    assert!(checked > 300, "{checked} samples checked");
    assert!(sim.dynamic().unwrap().hidden_rates()[3] > 0.0);
}

#[test]
fn snapshots_carry_only_the_shown_subset_of_a_large_network() {
    let large = Experiment {
        params: Params {
            m: 65_536,
            t_write: 1.0,
            t_read: 2.0,
            ..Params::default()
        },
        source: SourceSpec::Synthetic {
            tokens: 3,
            dim: 8,
            heads: 1,
        },
        ..Experiment::default()
    };
    let mut h = Harness::new(large);
    h.send(Command::SetProbes(vec![Probe::Hidden(65_000)]));
    h.send(Command::StepDt);
    let s = h.wait("a step", |s| s.step == 1 && !s.probes.is_empty());
    assert_eq!(s.run.as_ref().unwrap().sizes.hidden, 65_536);
    let request = SubsetRequest::default();
    assert_eq!(s.subset.hidden.len(), request.max_hidden);
    assert!(
        s.subset.hidden.iter().any(|n| n.index == 65_000),
        "the probed neuron is pinned"
    );
    assert_eq!(
        s.subset.process.len(),
        s.subset.hidden.len() * s.subset.outputs.len()
    );
    assert_eq!(s.subset.outputs.len(), request.max_outputs);
    h.send(Command::SetSubset(SubsetRequest {
        mode: SubsetMode::FixedSample,
        max_hidden: 8,
        ..request
    }));
    h.send(Command::StepDt);
    let s = h.wait("the fixed sample", |s| {
        s.subset.mode == SubsetMode::FixedSample && s.step == 2
    });
    let indices: Vec<usize> = s.subset.hidden.iter().map(|n| n.index).collect();
    assert_eq!(indices.len(), 8);
    assert!(
        indices.contains(&0) && indices.contains(&65_000),
        "{indices:?}"
    );
}

#[test]
fn shutdown_stops_and_joins_the_thread() {
    let mut h = Harness::new(small());
    h.send(Command::Run);
    assert!(h.worker.is_alive());
    h.worker.shutdown();
    assert!(!h.worker.is_alive());
}

#[test]
fn a_bad_file_while_running_keeps_the_current_experiment() {
    let mut h = Harness::new(small());
    h.send(Command::StepSlot);
    let before = h.wait("a step", |s| s.step > 0);
    let bad = Experiment {
        source: SourceSpec::Npy("/nonexistent/folder".into()),
        ..small()
    };
    h.send(Command::LoadExperiment(Box::new(bad)));
    let after = h.wait("the refusal", |s| s.rejected().is_some());
    let message = after.rejected().unwrap();
    assert!(
        message.contains("/nonexistent/folder") && message.contains("unchanged"),
        "{message}"
    );
    assert!(after.failure().is_none());
    assert_eq!(after.step, before.step, "the running simulation was kept");
    assert_eq!(
        after.run.as_ref().unwrap().source,
        before.run.as_ref().unwrap().source
    );
}

#[test]
fn run_at_the_default_speed_reveals_rows_in_algebraic_mode() {
    // Algebraic mode reveals one row per slot's worth of simulated time. A slot (450 ms by
    // default) is longer than the 0.1 s of wall time the pacer may owe at 1000 ms/s, and Run
    // once stayed at "0 rows read" forever.
    let experiment = Experiment::load(std::path::Path::new(
        "assets/presets/paper-correspondence.toml",
    ))
    .expect("the bundled preset loads");
    assert_eq!(
        experiment.params.mode,
        tripartite::model::params::Mode::Algebraic
    );
    let mut h = Harness::new(experiment);
    h.send(Command::SetSpeed(Speed::MsPerSecond(1000.0)));
    h.send(Command::Run);
    let s = h.wait("a row revealed at 1000 ms/s", |s| s.rows_completed >= 2);
    assert!(s.rows_completed >= 2);
}

/// The calcium a fresh simulation of `experiment` has after `step` single steps.
fn calcium_after(experiment: &Experiment, step: u64) -> f64 {
    let sequence = load_sequence(&experiment.source, None, &experiment.params).unwrap();
    let mut sim = Simulation::new(&experiment.params, Arc::new(sequence)).unwrap();
    for _ in 0..step {
        sim.step();
    }
    sim.dynamic().unwrap().calcium_normalised()
}

#[test]
fn showing_an_earlier_step_replays_it_exactly_and_leaves_the_live_run_alone() {
    let experiment = small();
    let mut h = Harness::new(experiment.clone());
    h.send(Command::RunToEnd);
    let end = h.wait("the end", |s| s.state == RunState::Finished);
    let total = end.step;
    assert!(!end.timeline.scrubbed);
    assert!(
        end.timeline.keyframe_steps.len() >= 4,
        "keyframes at slot ends: {:?}",
        end.timeline.keyframe_steps
    );
    assert!(end.timeline.keyframe_bytes <= end.timeline.keyframe_budget);
    for step in [0, 7, 20, 37, 111, total - 1] {
        h.send(Command::ShowStep(Some(step)));
        let shown = h.wait("the shown step", |s| s.timeline.scrubbed && s.step == step);
        assert_eq!(shown.timeline.live_step, total, "the present is kept");
        assert_eq!(
            shown.calcium.to_bits(),
            calcium_after(&experiment, step).to_bits(),
            "the calcium at step {step}"
        );
        let rows = shown.timeline.rows_done.iter().filter(|d| **d).count();
        assert_eq!(rows, shown.rows_completed);
        assert!(rows < 4 || step >= total - 1);
    }
    h.send(Command::ShowStep(None));
    let live = h.wait("the present again", |s| !s.timeline.scrubbed);
    assert_eq!(live.step, total);
    assert_eq!(
        live.metrics.attn_tv.to_bits(),
        end.metrics.attn_tv.to_bits()
    );
}

#[test]
fn a_branch_discards_the_future_and_goes_on_with_the_new_value() {
    let experiment = small();
    let mut h = Harness::new(experiment.clone());
    h.send(Command::RunToEnd);
    let end = h.wait("the end", |s| s.state == RunState::Finished);
    let branch_step = 100;
    h.send(Command::ShowStep(Some(branch_step)));
    h.wait("the shown step", |s| {
        s.timeline.scrubbed && s.step == branch_step
    });
    // A structural change cannot branch.
    let mut structural = end.params.clone();
    structural.m = 32;
    h.send(Command::Branch(Box::new(structural)));
    let refused = h.wait("the refusal", |s| s.rejected().is_some());
    assert!(
        refused.rejected().unwrap().contains("a change of m:"),
        "{:?}",
        refused.status
    );
    let mut slower = end.params.clone();
    slower.tau_calcium *= 3.0;
    h.send(Command::Branch(Box::new(slower.clone())));
    let branched = h.wait("the branch", |s| s.timeline.branches == vec![branch_step]);
    assert!(!branched.timeline.scrubbed);
    assert_eq!(
        branched.step, branch_step,
        "the live run is at the branch point"
    );
    assert_eq!(branched.params.tau_calcium, slower.tau_calcium);
    assert!(
        h.history.samples.iter().all(|s| s.step <= branch_step),
        "history after the branch point is gone"
    );
    assert!(
        branched
            .timeline
            .keyframe_steps
            .iter()
            .all(|&s| s <= branch_step)
    );
    h.send(Command::RunToEnd);
    let after = h.wait("the branch's end", |s| s.state == RunState::Finished);
    assert_eq!(after.step, end.step);
    assert_ne!(
        after.metrics.calcium_rel_err.to_bits(),
        end.metrics.calcium_rel_err.to_bits(),
        "a slower astrocyte changes the future"
    );
}

#[test]
fn a_saved_state_opens_with_its_keyframes_and_earlier_times_equal_the_live_run_bit_for_bit() {
    let mut h = Harness::new(small());
    h.send(Command::StepSlot);
    let first = h.wait("a slot", |s| s.step == 20);
    // A live edit part-way: times before it must replay with the old τ_c.
    h.send(Command::SetParams(Params {
        tau_calcium: 55.0,
        ..first.params.clone()
    }));
    h.wait("the live edit", |s| s.params.tau_calcium == 55.0);
    h.send(Command::RunToEnd);
    let end = h.wait("the end", |s| s.state == RunState::Finished);
    let total = end.step;
    let steps = [3, 19, 20, 37, 111, total / 2, total - 1];
    let mut live = Vec::new();
    for step in steps {
        h.send(Command::ShowStep(Some(step)));
        let shown = h.wait("the shown step", |s| s.timeline.scrubbed && s.step == step);
        live.push(shown.calcium.to_bits());
    }
    h.send(Command::ShowStep(None));
    h.wait("the present", |s| !s.timeline.scrubbed);

    // File ▸ Save state, through a file.
    h.history.captured = None;
    h.send(Command::CaptureState);
    h.wait("the captured state", |_| true);
    let deadline = Instant::now() + Duration::from_secs(30);
    let checkpoint = loop {
        if let Some(update) = h.worker.take_update() {
            h.history.apply(update);
        }
        if let Some(captured) = h.history.captured.take() {
            break captured.unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the capture"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.tps");
    tripartite::io::checkpoint::save_state(&path, &checkpoint).unwrap();
    let opened = tripartite::io::checkpoint::load_state(&path).unwrap();
    assert!(opened.keyframes.is_some(), "the file keeps the keyframes");

    // A fresh run, then File ▸ Open state.
    h.send(Command::Reset);
    h.wait("the reset", |s| s.step == 0);
    h.send(Command::LoadState(Box::new(opened.clone())));
    let loaded = h.wait("the opened state", |s| s.step == total);
    assert!(
        loaded
            .notice()
            .unwrap_or("")
            .contains("earlier times replay from its keyframes"),
        "{:?}",
        loaded.notice()
    );
    assert_eq!(
        loaded.timeline.keyframe_steps, end.timeline.keyframe_steps,
        "the saved keyframes are the run's"
    );
    for (step, expected) in steps.into_iter().zip(live) {
        h.send(Command::ShowStep(Some(step)));
        let shown = h.wait("the shown step", |s| s.timeline.scrubbed && s.step == step);
        assert_eq!(
            shown.calcium.to_bits(),
            expected,
            "the calcium at step {step} after Open state"
        );
    }

    // A file that keeps no keyframes says so.
    h.send(Command::ShowStep(None));
    h.send(Command::Reset);
    h.wait("the reset", |s| s.step == 0);
    h.send(Command::LoadState(Box::new(
        tripartite::sim::checkpoint::Checkpoint {
            keyframes: None,
            ..opened
        },
    )));
    let bare = h.wait("the opened state", |s| s.step == total);
    assert!(
        bare.notice()
            .unwrap_or("")
            .contains("the file keeps no keyframes, so earlier times replay from step 0"),
        "{:?}",
        bare.notice()
    );
}
