//! The simulation worker at full speed with no window attached: steps per second, to compare
//! with `tripartite run --json` (the bare simulation) and `tripartite gui --frame-report`
//! (the worker with the window drawing).
//!
//! ```text
//! cargo run --release --example worker_speed -- [m] [seconds]    # defaults: 65536 12
//! ```

use std::time::{Duration, Instant};
use tripartite::data::experiment::Experiment;
use tripartite::sim::{Command, RunHistory, Speed, Worker};

fn main() {
    let mut args = std::env::args().skip(1);
    let m: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(65_536);
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(12.0);
    let mut experiment = Experiment::default();
    experiment.params.m = m;
    let worker = Worker::spawn(experiment, || {});
    let mut history = RunHistory::default();
    // Let the worker build the network before the clock starts.
    while history.snapshot.as_ref().is_none_or(|s| s.run.is_none()) {
        if let Some(update) = worker.take_update() {
            history.apply(update);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    worker.send(Command::SetSpeed(Speed::Max));
    worker.send(Command::SetLoop(true));
    worker.send(Command::Run);
    let began = Instant::now();
    let (mut first, mut last) = (None, (0, 0.0));
    while began.elapsed().as_secs_f64() < seconds {
        while let Some(update) = worker.take_update() {
            history.apply(update);
        }
        if let Some(s) = &history.snapshot {
            last = (s.run_steps_total, s.run_wall_s_total);
            // The first second is warm-up.
            if first.is_none() && began.elapsed().as_secs_f64() > 1.0 {
                first = Some(last);
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let Some(first) = first else {
        eprintln!("run for more than one second to get a figure");
        std::process::exit(2);
    };
    let steps = last.0 - first.0;
    let wall = last.1 - first.1;
    println!(
        "m = {m}: {steps} steps in {wall:.2} s of running: {:.0} steps/s",
        steps as f64 / wall.max(1e-9)
    );
}
