//! Keyframes, exact replay and state files (issue 15): restoring a saved state and running on
//! gives, bit for bit, what the uninterrupted run gives, in both modes, both schedules, every
//! feature map, with heterogeneous processes and with block stepping; and damaged state files
//! are refused with one sentence.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use tripartite::data::experiment::Experiment;
use tripartite::data::spec::SourceSpec;
use tripartite::io::checkpoint::{
    STATE_VERSION, StateFileError, decode, encode, fnv1a, load_state, save_state,
};
use tripartite::model::params::{Ablation, FeatureMap, LiveParams, Mode, Params, Schedule};
use tripartite::model::sequence::Sequence;
use tripartite::model::simulation::Simulation;
use tripartite::sim::checkpoint::{Checkpoint, SavedKeyframes};
use tripartite::sim::keyframes::Keyframes;
use tripartite::sim::run::{resume_run, run_sequence, run_until, slot_count, stop_step};

/// A small synthetic experiment with `params` changed by `edit`.
fn experiment(edit: impl FnOnce(&mut Params)) -> Experiment {
    let mut experiment = Experiment {
        source: SourceSpec::Synthetic {
            tokens: 6,
            dim: 8,
            heads: 1,
        },
        ..Experiment::default()
    };
    experiment.params.m = 96;
    experiment.params.t_write = 20.0;
    experiment.params.t_read = 60.0;
    edit(&mut experiment.params);
    experiment.params.validate().unwrap();
    experiment
}

fn sequence(experiment: &Experiment) -> Arc<Sequence> {
    Arc::new(experiment.load_sequence().unwrap())
}

/// The configurations the replay must be exact for.
fn configurations() -> Vec<(&'static str, Experiment)> {
    vec![
        ("dynamic, bidirectional, positive", experiment(|_| {})),
        (
            "dynamic, causal",
            experiment(|p| p.schedule = Schedule::Causal),
        ),
        (
            "dynamic, hyperbolic",
            experiment(|p| p.feature_map = FeatureMap::Hyperbolic),
        ),
        (
            "dynamic, trig",
            experiment(|p| p.feature_map = FeatureMap::Trig),
        ),
        (
            "dynamic, elu+1",
            experiment(|p| p.feature_map = FeatureMap::Elu1),
        ),
        (
            "dynamic, heterogeneous processes",
            experiment(|p| p.heterogeneity = 0.4),
        ),
        (
            "dynamic, block stepping (m' above one chunk)",
            experiment(|p| {
                p.m = 20_000;
                p.t_read = 10.0;
            }),
        ),
        (
            "dynamic, oprf",
            experiment(|p| p.feature_map = FeatureMap::Oprf),
        ),
        (
            "dynamic, cosine",
            experiment(|p| p.feature_map = FeatureMap::Cosine),
        ),
        (
            "dynamic, frozen calcium",
            experiment(|p| p.ablation = Ablation::FrozenCalcium),
        ),
        (
            "dynamic, shuffled processes",
            experiment(|p| p.ablation = Ablation::ShuffledProcesses),
        ),
        ("algebraic", experiment(|p| p.mode = Mode::Algebraic)),
        (
            "algebraic, no astrocyte",
            experiment(|p| {
                p.mode = Mode::Algebraic;
                p.ablation = Ablation::NoAstrocyte;
            }),
        ),
        (
            "algebraic, causal",
            experiment(|p| {
                p.mode = Mode::Algebraic;
                p.schedule = Schedule::Causal;
            }),
        ),
    ]
}

/// A small deterministic generator for the property-style choices.
struct XorShift(u64);
impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// The bytes of a checkpoint of `run`: state, output rows and trace, all of it.
fn fingerprint(experiment: &Experiment, run: &tripartite::sim::run::HeadlessRun) -> Vec<u8> {
    encode(&Checkpoint {
        experiment: experiment.clone(),
        state: run.simulation.state(),
        trace: run.trace.clone(),
        keyframes: None,
    })
}

#[test]
fn stopping_saving_and_resuming_equals_the_uninterrupted_run_bit_for_bit() {
    let mut random = XorShift(0x9e37_79b9_7f4a_7c15);
    for (name, experiment) in configurations() {
        let sequence = sequence(&experiment);
        let whole = run_sequence(&experiment.params, sequence.clone()).unwrap();
        let expected = fingerprint(&experiment, &whole);
        let slots = slot_count(&whole.simulation);
        for _ in 0..3 {
            let until = 1 + random.below(slots);
            let stopped = run_until(&experiment.params, sequence.clone(), until).unwrap();
            assert_eq!(
                stopped.simulation.step_index(),
                stop_step(&stopped.simulation, until),
                "{name}: stops at the end of slot {until}"
            );
            // Through the file format, as `--save-state` and `--resume` do.
            let bytes = fingerprint(&experiment, &stopped);
            let saved = decode(&bytes, Path::new("state.bin")).unwrap();
            let resumed = resume_run(
                &saved.experiment.params,
                sequence.clone(),
                &saved.state,
                saved.trace,
            )
            .unwrap();
            assert!(
                fingerprint(&experiment, &resumed) == expected,
                "{name}: resumed after slot {until} of {slots} differs from the whole run"
            );
            let bits = |run: &tripartite::sim::run::HeadlessRun| {
                run.simulation
                    .metrics()
                    .values()
                    .into_iter()
                    .map(f64::to_bits)
                    .collect::<Vec<_>>()
            };
            assert_eq!(bits(&resumed), bits(&whole), "{name}: metrics");
        }
    }
}

/// The state of `simulation` as bytes (NaN-safe exact comparison).
fn state_bytes(experiment: &Experiment, simulation: &Simulation) -> Vec<u8> {
    encode(&Checkpoint {
        experiment: experiment.clone(),
        state: simulation.state(),
        trace: Vec::new(),
        keyframes: None,
    })
}

#[test]
fn replaying_from_keyframes_shows_any_step_exactly_and_never_touches_the_live_run() {
    let mut random = XorShift(42);
    for (name, experiment) in configurations() {
        let sequence = sequence(&experiment);
        let mut live = Simulation::new(&experiment.params, sequence.clone()).unwrap();
        let start = live.state();
        let mut keyframes = Keyframes::default();
        // The live run, with one live edit of τ_c part-way, keyframes at slot ends, and the
        // state after every step kept for reference.
        let edit_at = live.total_steps() / 3;
        let mut chosen: Vec<u64> = (0..8)
            .map(|_| random.below(live.total_steps() as usize + 1) as u64)
            .chain([0, edit_at, live.total_steps()])
            .collect();
        chosen.sort_unstable();
        chosen.dedup();
        let mut reference = std::collections::BTreeMap::new();
        let mut boundary = 0;
        loop {
            if chosen.contains(&live.step_index()) {
                reference.insert(live.step_index(), state_bytes(&experiment, &live));
            }
            if live.is_finished() {
                break;
            }
            if live.step_index() == edit_at {
                let mut params = live.params().clone();
                params.tau_calcium *= 2.0;
                live.set_live(LiveParams::of(&params)).unwrap();
                keyframes.record_edit(edit_at, &params);
            }
            // One step at a time: the replay steps in blocks and must agree bit for bit.
            live.step();
            if live.step_index() == stop_step(&live, boundary + 1) {
                boundary += 1;
                keyframes.offer(boundary, || live.state());
            }
        }
        assert!(!keyframes.is_empty(), "{name}: keyframes were kept");
        let live_end = state_bytes(&experiment, &live);
        let mut scrub = Simulation::new(&experiment.params, sequence.clone()).unwrap();
        for (&step, expected) in reference.iter().rev() {
            keyframes.replay_to(&mut scrub, &start, step).unwrap();
            assert!(
                state_bytes(&experiment, &scrub) == *expected,
                "{name}: the replay to step {step} differs"
            );
        }
        assert!(
            state_bytes(&experiment, &live) == live_end,
            "{name}: live run untouched"
        );
    }
}

#[test]
fn the_keyframe_budget_is_respected_and_thinning_keeps_them_evenly_spaced() {
    let experiment = experiment(|p| p.m = 2048);
    let sequence = sequence(&experiment);
    let mut simulation = Simulation::new(&experiment.params, sequence).unwrap();
    let one = simulation.state().bytes();
    let mut keyframes = Keyframes::new(5 * one);
    let slots = slot_count(&simulation);
    for boundary in 1..=slots {
        simulation.step_slot();
        keyframes.offer(boundary, || simulation.state());
        assert!(
            keyframes.bytes() <= keyframes.budget(),
            "after slot {boundary}"
        );
    }
    let kept = keyframes.boundaries();
    let stride = keyframes.stride();
    assert!(
        stride > 1,
        "12 slots do not fit in 5 keyframes: thinning happened"
    );
    assert!(kept.len() >= 2, "kept {kept:?}");
    let expected: Vec<usize> = (1..=slots / stride).map(|k| k * stride).collect();
    assert_eq!(kept, expected, "evenly spaced every {stride} slots");
    // A budget below one keyframe keeps none; replay then starts from step 0.
    let mut tiny = Keyframes::new(one / 2);
    tiny.offer(1, || simulation.state());
    assert!(tiny.is_empty());
}

#[test]
fn a_branch_changes_only_the_future() {
    let experiment = experiment(|_| {});
    let sequence = sequence(&experiment);
    let whole = run_sequence(&experiment.params, sequence.clone()).unwrap();
    let branch_slot = 5;
    let stopped = run_until(&experiment.params, sequence.clone(), branch_slot).unwrap();
    let branch_step = stopped.simulation.step_index();
    // Branch: continue from the state at the branch point with a slower astrocyte.
    let mut state = stopped.simulation.state();
    if let tripartite::model::simulation::SimState::Dynamic(dynamic) = &mut state {
        dynamic.params.tau_calcium *= 4.0;
    }
    let branched = resume_run(&experiment.params, sequence, &state, stopped.trace.clone()).unwrap();
    let before = |run: &tripartite::sim::run::HeadlessRun| {
        run.trace
            .iter()
            .filter(|s| s.step <= branch_step)
            .map(|s| (s.step, s.calcium.to_bits()))
            .collect::<Vec<_>>()
    };
    let after = |run: &tripartite::sim::run::HeadlessRun| {
        run.trace
            .iter()
            .filter(|s| s.step > branch_step)
            .map(|s| s.calcium.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(before(&branched), before(&whole), "the past is shared");
    assert_ne!(after(&branched), after(&whole), "the future differs");
    assert_eq!(
        branched.simulation.params().tau_calcium,
        4.0 * experiment.params.tau_calcium
    );
}

fn saved_file(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let experiment = experiment(|_| {});
    let stopped = run_until(&experiment.params, sequence(&experiment), 3).unwrap();
    let path = dir.join("state.tps");
    save_state(
        &path,
        &Checkpoint {
            experiment,
            state: stopped.simulation.state(),
            trace: stopped.trace,
            keyframes: None,
        },
    )
    .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

/// Rewrites the body and its checksum, as a file that is well formed but says `body`.
fn with_checksum(mut body: Vec<u8>) -> Vec<u8> {
    let sum = fnv1a(&body);
    body.extend_from_slice(&sum.to_le_bytes());
    body
}

#[test]
fn malformed_state_files_get_one_clear_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let (path, good) = saved_file(dir.path());
    assert!(load_state(&path).is_ok());
    let body = good[..good.len() - 8].to_vec();
    let version_at = tripartite::io::checkpoint::MAGIC.len();
    let mut newer = body.clone();
    newer[version_at..version_at + 4].copy_from_slice(&(STATE_VERSION + 1).to_le_bytes());
    let mut mode = body.clone();
    // The byte after the experiment text is the mode tag.
    let text_len = u64::from_le_bytes(good[version_at + 4..version_at + 12].try_into().unwrap());
    mode[version_at + 12 + text_len as usize] = 7;
    let mut trailing = body.clone();
    trailing.extend_from_slice(b"extra");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "is not a tripartite state file"),
        (
            "text",
            b"m = 256\n".to_vec(),
            "is not a tripartite state file",
        ),
        ("truncated", good[..good.len() / 2].to_vec(), "is damaged"),
        (
            "magic only",
            tripartite::io::checkpoint::MAGIC.to_vec(),
            "is damaged",
        ),
        (
            "newer format",
            with_checksum(newer),
            "newer than this build reads",
        ),
        ("unknown mode", with_checksum(mode), "unknown mode tag 7"),
        (
            "trailing bytes",
            with_checksum(trailing),
            "bytes follow the trace",
        ),
    ];
    for (name, bytes, expected) in cases {
        let file = dir.path().join(format!("{}.tps", name.replace(' ', "_")));
        std::fs::write(&file, &bytes).unwrap();
        let message = load_state(&file).unwrap_err().to_string();
        assert!(message.contains(expected), "{name}: {message}");
        assert_eq!(
            message.lines().count(),
            1,
            "{name}: one sentence: {message}"
        );
    }
    // Every single flipped byte is caught, wherever it is.
    for at in (0..good.len()).step_by(97).chain([good.len() - 1]) {
        let mut flipped = good.clone();
        flipped[at] ^= 0x10;
        match decode(&flipped, &path) {
            Err(StateFileError::Damaged { .. } | StateFileError::NotAState { .. }) => {}
            other => panic!("byte {at} flipped: {other:?}"),
        }
    }
    let folder = load_state(dir.path()).unwrap_err().to_string();
    assert!(folder.contains("is a folder"), "{folder}");
}

#[test]
fn a_state_restored_into_another_experiment_is_refused_naming_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = saved_file(dir.path());
    let saved = load_state(&path).unwrap();
    let other = experiment(|p| p.m = 128);
    let mut simulation = Simulation::new(&other.params, sequence(&other)).unwrap();
    let message = simulation.restore(&saved.state).unwrap_err().to_string();
    assert!(message.contains("other values of m"), "{message}");
    let algebraic = experiment(|p| p.mode = Mode::Algebraic);
    let mut simulation = Simulation::new(&algebraic.params, sequence(&algebraic)).unwrap();
    let message = simulation.restore(&saved.state).unwrap_err().to_string();
    assert!(message.contains("dynamic-mode state"), "{message}");
}

fn tripartite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripartite"))
        .args(args)
        .output()
        .expect("binary runs")
}

const SMALL: &[&str] = &[
    "--sequence",
    "synthetic:5x8",
    "--set",
    "m=64",
    "--set",
    "t_read=100",
];

#[test]
fn cli_save_state_then_resume_equals_the_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("run.tps");
    let state_arg = state.to_str().unwrap();
    let whole = dir.path().join("whole");
    let resumed = dir.path().join("resumed");
    let mut args = vec!["run", "--out", whole.to_str().unwrap()];
    args.extend_from_slice(SMALL);
    assert!(tripartite(&args).status.success());
    let mut args = vec!["run", "--until", "4", "--save-state", state_arg];
    args.extend_from_slice(SMALL);
    let out = tripartite(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = tripartite(&[
        "run",
        "--resume",
        state_arg,
        "--out",
        resumed.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut compared = 0;
    for entry in std::fs::read_dir(&whole).unwrap() {
        let name = entry.unwrap().file_name();
        let name = name.to_str().unwrap();
        if name == "metrics.json" {
            continue;
        }
        let a = std::fs::read(whole.join(name)).unwrap();
        let b = std::fs::read(resumed.join(name)).unwrap();
        assert!(a == b, "{name} differs after resuming");
        compared += 1;
    }
    assert!(compared >= 8, "compared {compared} files");
    let metrics = |dir: &Path| {
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("metrics.json")).unwrap()).unwrap();
        let object = v.as_object_mut().unwrap();
        object.remove("wall_s");
        object.remove("steps_per_s");
        v
    };
    assert_eq!(metrics(&whole), metrics(&resumed));
    // Resuming as another experiment is refused, naming the parameter.
    let out = tripartite(&[
        "run",
        "--resume",
        state_arg,
        "--sequence",
        "synthetic:5x8",
        "--set",
        "m=65",
        "--set",
        "t_read=100",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("differs in m"), "{stderr}");
    // A slot past the end is refused.
    let mut args = vec!["run", "--until", "99", "--save-state", state_arg];
    args.extend_from_slice(SMALL);
    let out = tripartite(&args);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("slots 1 to 10"), "{stderr}");
}

/// A run of `experiment` stopped after `slots` slots, with keyframes at every slot end and one
/// live edit of τ_c after the first slot: the state, its keyframes, and the state after every
/// step (as bytes) for reference.
fn run_with_keyframes(experiment: &Experiment, slots: usize) -> (Checkpoint, Vec<Vec<u8>>) {
    let sequence = sequence(experiment);
    let mut live = Simulation::new(&experiment.params, sequence).unwrap();
    let mut keyframes = Keyframes::default();
    let mut states = vec![state_bytes(experiment, &live)];
    for boundary in 1..=slots {
        if boundary == 2 {
            let mut params = live.params().clone();
            params.tau_calcium *= 3.0;
            live.set_live(LiveParams::of(&params)).unwrap();
            keyframes.record_edit(live.step_index(), &params);
        }
        while live.step_index() < stop_step(&live, boundary) {
            live.step();
            states.push(state_bytes(experiment, &live));
        }
        keyframes.offer(boundary, || live.state());
    }
    // As File ▸ Save state does: the experiment with the parameters in force now, and the
    // parameters the run started with.
    let checkpoint = Checkpoint {
        experiment: Experiment {
            params: live.params().clone(),
            ..experiment.clone()
        },
        state: live.state(),
        trace: Vec::new(),
        keyframes: Some(SavedKeyframes {
            start: experiment.params.clone(),
            keyframes,
        }),
    };
    (checkpoint, states)
}

#[test]
fn a_state_file_keeps_the_keyframes_and_earlier_times_replay_from_them_bit_for_bit() {
    let experiment = experiment(|_| {});
    let (checkpoint, states) = run_with_keyframes(&experiment, 5);
    let saved = decode(&encode(&checkpoint), Path::new("state.tps")).unwrap();
    // Compared as bytes: unread rows hold NaN.
    assert!(
        encode(&saved) == encode(&checkpoint),
        "keyframes and edits come back whole"
    );
    let SavedKeyframes {
        start: start_params,
        keyframes,
    } = saved.keyframes.as_ref().unwrap();
    assert_eq!(keyframes.boundaries(), [1, 2, 3, 4, 5]);
    assert_eq!(keyframes.edits().len(), 1);
    assert_ne!(saved.experiment.params, *start_params, "τ_c was edited");
    let sequence = sequence(&experiment);
    // As after File ▸ Open state: step 0 of the parameters the run started with.
    let start = Simulation::new(start_params, sequence.clone())
        .unwrap()
        .state();
    let mut scrub = Simulation::new(&saved.experiment.params, sequence).unwrap();
    let last = states.len() as u64 - 1;
    for step in [last - 1, 0, 17, 30, 31, 77, 150, last / 2, 3] {
        keyframes.replay_to(&mut scrub, &start, step).unwrap();
        assert!(
            state_bytes(&experiment, &scrub) == states[step as usize],
            "the replay to step {step} differs from the live run"
        );
    }
}

#[test]
fn a_format_1_state_file_still_opens_without_keyframes() {
    let experiment = experiment(|_| {});
    let (mut checkpoint, _) = run_with_keyframes(&experiment, 2);
    checkpoint.keyframes = None;
    let bytes = encode(&checkpoint);
    // Format 1: the version is 1 and there is no keyframe section (its one flag byte, 0).
    let mut body = bytes[..bytes.len() - 9].to_vec();
    let version_at = tripartite::io::checkpoint::MAGIC.len();
    body[version_at..version_at + 4].copy_from_slice(&1u32.to_le_bytes());
    let old = decode(&with_checksum(body), Path::new("old.tps")).unwrap();
    assert!(old.keyframes.is_none());
    assert!(encode(&old) == bytes, "the rest reads as written");
}

#[test]
fn a_corrupted_keyframe_section_gets_one_sentence() {
    let experiment = experiment(|_| {});
    let (checkpoint, _) = run_with_keyframes(&experiment, 3);
    let without = {
        let mut bare = checkpoint.clone();
        bare.keyframes = None;
        encode(&bare)
    };
    let good = encode(&checkpoint);
    // The keyframe section starts where the file without keyframes has its flag byte; the
    // flag, then the starting parameters (length-prefixed), the stride and the count.
    let section = without.len() - 9;
    assert_eq!(good[section], 1);
    let params_len = u64::from_le_bytes(good[section + 1..section + 9].try_into().unwrap());
    let stride_at = section + 9 + params_len as usize;
    let mut flag = good[..good.len() - 8].to_vec();
    flag[section] = 5;
    let mut stride = good[..good.len() - 8].to_vec();
    stride[stride_at..stride_at + 8].copy_from_slice(&0u64.to_le_bytes());
    let mut count = good[..good.len() - 8].to_vec();
    count[stride_at + 8..stride_at + 16].copy_from_slice(&u64::MAX.to_le_bytes());
    let mut cut = good[..good.len() - 8].to_vec();
    cut.truncate(stride_at + 40);
    let cases = [
        (
            "flag",
            flag,
            "its keyframes do not read (a keyframe flag of 5)",
        ),
        (
            "stride",
            stride,
            "its keyframes do not read (they are out of order or off their stride)",
        ),
        ("count", count, "its keyframes do not read (a length of"),
        (
            "cut",
            cut,
            "its keyframes do not read (a length of 3 runs past",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, body, expected) in cases {
        let file = dir.path().join(format!("{name}.tps"));
        std::fs::write(&file, with_checksum(body)).unwrap();
        let message = load_state(&file).unwrap_err().to_string();
        assert!(message.contains(expected), "{name}: {message}");
        assert!(
            message.starts_with('\''),
            "{name}: names the file: {message}"
        );
        assert_eq!(message.lines().count(), 1, "{name}: {message}");
    }
    // A flipped byte inside the section is damage, caught by the checksum.
    let mut flipped = good.clone();
    flipped[section + 30] ^= 0x01;
    assert!(matches!(
        decode(&flipped, Path::new("x.tps")),
        Err(StateFileError::Damaged { .. })
    ));
}
