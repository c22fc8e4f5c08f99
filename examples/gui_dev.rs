//! Opens the app for development until `tripartite gui` is wired:
//!
//!     cargo run --release --example gui_dev -- [--set KEY=VALUE]… [--frames N --frame-report FILE.json] [--screenshot DIR]
//!     cargo run --release --example gui_dev -- --headless [--set KEY=VALUE]…   (steps/s without the window)

use std::time::Instant;
use tripartite::data::experiment::Experiment;
use tripartite::ui::{GuiOptions, run_gui};

fn main() -> anyhow::Result<()> {
    let mut options = GuiOptions::default();
    let mut headless = false;
    let mut worker_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--frames" => options.frames = Some(value()?.parse()?),
            "--frame-report" => options.frame_report = Some(value()?.into()),
            "--screenshot" => options.screenshot_dir = Some(value()?.into()),
            "--experiment" => options.experiment = Experiment::load(value()?.as_ref())?,
            "--set" => {
                let pair = value()?;
                let (key, v) = pair
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--set KEY=VALUE"))?;
                options.experiment.params.set(key, v)?;
            }
            "--headless" => headless = true,
            "--worker-only" => worker_only = true,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    if headless {
        // The same stepping loop as the worker, without the window, repeated for ~5 s.
        let sequence = std::sync::Arc::new(options.experiment.load_sequence()?);
        let (mut steps, mut stepping_s) = (0u64, 0.0f64);
        let started = Instant::now();
        while started.elapsed().as_secs_f64() < 5.0 {
            let mut sim =
                tripartite::model::Simulation::new(&options.experiment.params, sequence.clone())?;
            let t = Instant::now();
            while sim.step() {
                steps += 1;
            }
            stepping_s += t.elapsed().as_secs_f64();
        }
        let wall = started.elapsed().as_secs_f64();
        println!(
            "{{\"steps\": {steps}, \"wall_s\": {wall:.3}, \"steps_per_s_including_builds\": {:.0}, \"steps_per_s_stepping_only\": {:.0}}}",
            steps as f64 / wall,
            steps as f64 / stepping_s
        );
        return Ok(());
    }
    if worker_only {
        // The worker at full speed for ~5 s with nobody drawing: its own overhead vs --headless.
        use tripartite::sim::{Command, Speed, Worker};
        let worker = Worker::spawn(options.experiment, || {});
        worker.send(Command::SetSpeed(Speed::Max));
        worker.send(Command::SetLoop(true));
        worker.send(Command::Run);
        let mut last = None;
        let started = Instant::now();
        while started.elapsed().as_secs_f64() < 5.0 {
            std::thread::sleep(std::time::Duration::from_millis(16));
            if let Some(update) = worker.take_update() {
                last = Some(update.snapshot);
            }
        }
        let s = last.expect("a snapshot");
        println!(
            "{{\"steps\": {}, \"running_wall_s\": {:.3}, \"steps_per_s\": {:.0}}}",
            s.run_steps_total,
            s.run_wall_s_total,
            s.run_steps_total as f64 / s.run_wall_s_total
        );
        return Ok(());
    }
    run_gui(options)
}
