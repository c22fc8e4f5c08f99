//! The timeline's costs on the case, dynamic synthetic:8x32 at m = 65 536:
//! - a jump to a time: restore the nearest keyframe and replay (the worst case is the step
//!   just before a slot's end, a whole slot of replay);
//! - the live run with keyframes kept at every slot end against the same run without.
//!
//! Run with `cargo bench --bench timeline`. The two live-run variants are measured in
//! interleaved pairs by criterion's alternation of benchmark functions within the group.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;
use tripartite::data::synthetic::synthetic;
use tripartite::model::{Params, Simulation};
use tripartite::sim::keyframes::Keyframes;
use tripartite::sim::run::stop_step;

fn params() -> Params {
    Params {
        m: 65_536,
        ..Params::default()
    }
}

/// Runs to the end, offering a keyframe at every slot end when `keyframes` is given.
fn live_run(params: &Params, keyframes: Option<&mut Keyframes>) -> f64 {
    let sequence = Arc::new(synthetic(8, 32, params.seed, params.synthetic_scale));
    let mut sim = Simulation::new(params, sequence).expect("valid");
    match keyframes {
        Some(keyframes) => {
            let mut boundary = 0;
            while !sim.is_finished() {
                sim.step_slot();
                boundary += 1;
                keyframes.offer(boundary, || sim.state());
            }
        }
        None => sim.run_to_end(),
    }
    sim.metrics().attn_tv
}

fn live_run_cost(c: &mut Criterion) {
    let params = params();
    let mut group = c.benchmark_group("timeline_live_run");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(25));
    group.bench_function("without_keyframes", |b| b.iter(|| live_run(&params, None)));
    group.bench_function("with_keyframes", |b| {
        b.iter(|| {
            let mut keyframes = Keyframes::default();
            let tv = live_run(&params, Some(&mut keyframes));
            assert!(keyframes.bytes() <= keyframes.budget());
            tv
        })
    });
    group.finish();
}

fn jump(c: &mut Criterion) {
    let params = params();
    let sequence = Arc::new(synthetic(8, 32, params.seed, params.synthetic_scale));
    let mut live = Simulation::new(&params, sequence.clone()).expect("valid");
    let start = live.state();
    let mut keyframes = Keyframes::default();
    let mut boundary = 0;
    while !live.is_finished() {
        live.step_slot();
        boundary += 1;
        keyframes.offer(boundary, || live.state());
    }
    eprintln!(
        "keyframes: {} kept, {:.1} MiB of a {:.0} MiB budget",
        keyframes.len(),
        keyframes.bytes() as f64 / (1 << 20) as f64,
        keyframes.budget() as f64 / (1 << 20) as f64
    );
    // The longest replay: one step before the end of the longest slot.
    let schedule_slots = live.dynamic().expect("dynamic").schedule().slots.clone();
    let longest = schedule_slots
        .iter()
        .enumerate()
        .max_by_key(|(_, slot)| slot.steps)
        .map(|(i, _)| i + 1)
        .expect("slots");
    let worst = stop_step(&live, longest) - 1;
    let middle = live.total_steps() / 2;
    let mut scrub = Simulation::new(&params, sequence).expect("valid");
    let mut group = c.benchmark_group("timeline_jump");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("worst_case_one_slot_of_replay", |b| {
        b.iter(|| {
            black_box(
                keyframes
                    .replay_to(&mut scrub, &start, worst)
                    .expect("replays"),
            )
        })
    });
    // What keeping keyframes adds to the live run: one capture per slot end (16 here).
    group.bench_function("one_keyframe_capture", |b| {
        b.iter(|| black_box(live.state()))
    });
    group.bench_function("middle_of_the_run", |b| {
        b.iter(|| {
            black_box(
                keyframes
                    .replay_to(&mut scrub, &start, middle)
                    .expect("replays"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, jump, live_run_cost);
criterion_main!(benches);
