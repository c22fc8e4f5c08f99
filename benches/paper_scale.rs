//! The paper's scale, live (issue 26): one head of `synthetic:20x32` at m = 100 000 and the
//! whole MiniLM layer 3 of `bundled:coreference-it` (12 heads × 16 tokens) at m = 16 384, both
//! in dynamic mode. Real time is 2 000 Euler steps per second at dt = 0.5 ms; the targets are
//! ≥ 4 000 steps/s for the head and ≥ 2 000 for the layer, on two quiet cores.
//!
//! Each timed window is the last write slot and the first read slot (100 + 800 steps at the
//! default T_write = 50 ms, T_read = 400 ms), restored from the same state every time: a run is
//! N write slots then N read slots, so this window has the run's own mix of writing and
//! reading, and the read slot's late, settled steps are counted with the early ones.
//!
//! Before criterion's timings, the bench prints the median steps/s of `PAIRS` windows of each
//! case, taken in turn (head, layer, head, …) so that both see the same machine load.
//! `PAPER_SCALE_LAYER_100K=1` adds the whole layer at m = 100 000 (no target; slow).
//!
//! Run: `cargo bench --bench paper_scale`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tripartite::data::source::{load_layer, load_sequence};
use tripartite::data::spec::SourceSpec;
use tripartite::model::layer::LayerSimulation;
use tripartite::model::params::{Heads, Params};
use tripartite::model::simulation::{SimState, Simulation};

const PAIRS: usize = 5;

/// One head or a whole layer, with the state the timed window starts from.
enum Case {
    Head(Box<Simulation>, SimState),
    Layer(Box<LayerSimulation>, Vec<SimState>),
}

impl Case {
    fn head(source: &str, m: usize) -> Case {
        let params = Params {
            m,
            ..Params::default()
        };
        let spec: SourceSpec = source.parse().expect("a source");
        let sequence = Arc::new(load_sequence(&spec, None, &params).expect("the sequence"));
        let mut sim = Simulation::new(&params, sequence).expect("the head builds");
        step_through(window_start(&params, sim.total_steps()), |n| {
            sim.step_block(n)
        });
        let state = sim.state();
        Case::Head(Box::new(sim), state)
    }

    fn layer(source: &str, m: usize) -> Case {
        let params = Params {
            m,
            layer: 3,
            heads: Heads::All,
            ..Params::default()
        };
        let spec: SourceSpec = source.parse().expect("a source");
        let layer = Arc::new(load_layer(&spec, None, &params).expect("the bundled layer"));
        let mut sim = LayerSimulation::new(&params, layer).expect("the layer builds");
        step_through(window_start(&params, sim.total_steps()), |n| {
            sim.step_block(n)
        });
        let states = sim.heads().iter().map(Simulation::state).collect();
        Case::Layer(Box::new(sim), states)
    }

    /// Restores the window's first state, then times the window.
    fn window(&mut self) -> (u64, Duration) {
        match self {
            Case::Head(sim, state) => {
                sim.restore(state).expect("its own state");
                let steps = window_steps(sim.params());
                let t = Instant::now();
                step_through(steps, |n| sim.step_block(n));
                (steps, t.elapsed())
            }
            Case::Layer(sim, states) => {
                for (h, state) in states.iter().enumerate() {
                    sim.head_mut(h).restore(state).expect("its own state");
                }
                let steps = window_steps(sim.params());
                let t = Instant::now();
                step_through(steps, |n| sim.step_block(n));
                (steps, t.elapsed())
            }
        }
    }
}

/// The step the window starts at: the start of the last write slot (N write slots of
/// `write_steps` each come first).
fn window_start(params: &Params, total_steps: u64) -> u64 {
    let per_token = params.write_steps() + params.read_steps();
    let tokens = total_steps / per_token;
    (tokens - 1) * params.write_steps()
}

/// Takes `steps` steps through `step_block`, which takes at most the steps asked and returns
/// how many it took (one head and a layer alike).
fn step_through(steps: u64, mut step_block: impl FnMut(u64) -> u64) {
    let mut left = steps;
    while left > 0 {
        left -= step_block(left);
    }
}

fn window_steps(params: &Params) -> u64 {
    params.write_steps() + params.read_steps()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn steps_per_s((steps, time): (u64, Duration)) -> f64 {
    steps as f64 / time.as_secs_f64()
}

fn interleaved(head: &mut Case, layer: &mut Case) {
    let (mut h, mut l) = (Vec::new(), Vec::new());
    for _ in 0..PAIRS {
        h.push(steps_per_s(head.window()));
        l.push(steps_per_s(layer.window()));
    }
    println!(
        "paper scale, {PAIRS} interleaved windows of one write + one read slot, {} rayon threads:",
        rayon::current_num_threads()
    );
    println!(
        "  one head synthetic:20x32, m = 100 000: median {:.0} steps/s (target ≥ 4 000)",
        median(&mut h)
    );
    println!(
        "  layer 3 of bundled:coreference-it, 12 heads, m = 16 384: median {:.0} steps/s (target ≥ 2 000)",
        median(&mut l)
    );
}

fn benches(c: &mut Criterion) {
    let mut head = Case::head("synthetic:20x32", 100_000);
    let mut layer = Case::layer("bundled:coreference-it", 16_384);
    interleaved(&mut head, &mut layer);
    let mut group = c.benchmark_group("paper_scale");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for (name, case) in [
        ("head_synthetic20x32_m100000_900_steps", &mut head),
        ("layer3_12_heads_m16384_900_steps", &mut layer),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| case.window().1).sum())
        });
    }
    if std::env::var_os("PAPER_SCALE_LAYER_100K").is_some_and(|v| v == "1") {
        let mut big = Case::layer("bundled:coreference-it", 100_000);
        let mut rates: Vec<f64> = (0..3).map(|_| steps_per_s(big.window())).collect();
        println!(
            "  layer 3, 12 heads, m = 100 000: median of 3 windows {:.0} steps/s (no target)",
            median(&mut rates)
        );
    }
    group.finish();
}

criterion_group!(paper_scale, benches);
criterion_main!(paper_scale);
