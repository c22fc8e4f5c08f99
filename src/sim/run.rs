//! Headless runs: build a simulation and run it to the end, with no thread, window or pacing.
//! One loop, [`run_to_end`], serves the CLI's `run` and `sweep` and the batch runner.

use super::trace::TraceSample;
use crate::data::error::SequenceError;
use crate::data::experiment::Experiment;
use crate::model::network::ModelError;
use crate::model::params::Params;
use crate::model::sequence::Sequence;
use crate::model::simulation::{SimState, Simulation};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

/// Most calcium samples a headless run records.
pub const TRACE_ROWS: u64 = 5000;

/// Runs `simulation` to the end of its schedule in blocks of steps (up to 16 steps of one slot
/// at a time; algebraic mode: one read row). After each block `after_block` sees the
/// simulation, to record what the block did or to stop the run early with
/// `ControlFlow::Break` (e.g. on cancellation); its break value is returned.
pub fn run_to_end<B>(
    simulation: &mut Simulation,
    mut after_block: impl FnMut(&Simulation) -> ControlFlow<B>,
) -> ControlFlow<B> {
    while !simulation.is_finished() {
        if simulation.step_block(u64::MAX) == 0 {
            break;
        }
        after_block(simulation)?;
    }
    ControlFlow::Continue(())
}

/// A finished headless run.
pub struct HeadlessRun {
    /// The simulation at the end of its schedule.
    pub simulation: Simulation,
    /// Calcium every `total_steps / TRACE_ROWS` steps and at the end of every slot (dynamic
    /// mode; empty in algebraic mode). Generation 0, no probes.
    pub trace: Vec<TraceSample>,
    /// Wall-clock time of the run, construction included (s).
    pub wall_s: f64,
}

/// Why a headless run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Sequence(#[from] SequenceError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// Loads the experiment's sequence and runs it to the end.
pub fn run_experiment(experiment: &Experiment) -> Result<HeadlessRun, RunError> {
    let sequence = Arc::new(experiment.load_sequence()?);
    Ok(run_sequence(&experiment.params, sequence)?)
}

/// Runs `params` on `sequence` to the end, sampling calcium for the trace.
pub fn run_sequence(params: &Params, sequence: Arc<Sequence>) -> Result<HeadlessRun, ModelError> {
    run_sequence_reporting(params, sequence, &mut |_| {})
}

/// [`run_sequence`], showing `after_block` the simulation after each block of steps (the CLI's
/// progress bar reads `step_index` of `total_steps` there).
pub fn run_sequence_reporting(
    params: &Params,
    sequence: Arc<Sequence>,
    after_block: &mut dyn FnMut(&Simulation),
) -> Result<HeadlessRun, ModelError> {
    let started = Instant::now();
    let mut simulation = Simulation::new(params, sequence)?;
    let every = (simulation.total_steps() / TRACE_ROWS).max(1);
    let mut trace = Vec::new();
    let ControlFlow::Continue(()) = run_to_end(&mut simulation, |simulation| {
        record_block(simulation, every, &mut trace);
        after_block(simulation);
        ControlFlow::<std::convert::Infallible>::Continue(())
    });
    Ok(HeadlessRun {
        simulation,
        trace,
        wall_s: started.elapsed().as_secs_f64(),
    })
}

/// Where a headless run stops early: after `slots` slots (dynamic mode; write and read slots
/// counted in schedule order) or `slots` read rows (algebraic mode).
pub fn run_until(
    params: &Params,
    sequence: Arc<Sequence>,
    slots: usize,
) -> Result<HeadlessRun, ModelError> {
    let started = Instant::now();
    let mut simulation = Simulation::new(params, sequence)?;
    let available = slot_count(&simulation);
    if slots == 0 || slots > available {
        return Err(ModelError::State(format!(
            "--until {slots} is outside this run, which has slots 1 to {available}"
        )));
    }
    let stop = stop_step(&simulation, slots);
    let every = (simulation.total_steps() / TRACE_ROWS).max(1);
    let mut trace = Vec::new();
    let _ = run_to_end(&mut simulation, |simulation| {
        record_block(simulation, every, &mut trace);
        if simulation.step_index() >= stop {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    Ok(HeadlessRun {
        simulation,
        trace,
        wall_s: started.elapsed().as_secs_f64(),
    })
}

/// Continues a run from `state` (saved by a run of the same `params` and `sequence`) with the
/// trace it had recorded, to the end of its schedule. The result equals the uninterrupted
/// run's, bit for bit.
pub fn resume_run(
    params: &Params,
    sequence: Arc<Sequence>,
    state: &SimState,
    trace: Vec<TraceSample>,
) -> Result<HeadlessRun, ModelError> {
    let started = Instant::now();
    let mut simulation = Simulation::new(params, sequence)?;
    simulation.restore(state)?;
    let every = (simulation.total_steps() / TRACE_ROWS).max(1);
    let mut trace = trace;
    let ControlFlow::Continue(()) = run_to_end(&mut simulation, |simulation| {
        record_block(simulation, every, &mut trace);
        ControlFlow::<std::convert::Infallible>::Continue(())
    });
    Ok(HeadlessRun {
        simulation,
        trace,
        wall_s: started.elapsed().as_secs_f64(),
    })
}

/// Slots in the run (algebraic mode: read rows).
pub fn slot_count(simulation: &Simulation) -> usize {
    simulation
        .dynamic()
        .map_or(simulation.total_steps() as usize, |sim| {
            sim.schedule().slots.len()
        })
}

/// Steps taken when `slots` slots have ended (algebraic mode: rows read).
pub fn stop_step(simulation: &Simulation, slots: usize) -> u64 {
    match simulation.dynamic() {
        Some(sim) => sim
            .schedule()
            .slots
            .get(slots.saturating_sub(1))
            .map_or(sim.schedule().total_steps(), |slot| slot.end_step()),
        None => slots as u64,
    }
}

/// Keeps every `every`-th step of the block just taken, and the last step of a slot (the block
/// records the calcium after each of its steps, so this equals stepping singly).
pub(super) fn record_block(simulation: &Simulation, every: u64, trace: &mut Vec<TraceSample>) {
    let Some(sim) = simulation.dynamic() else {
        return;
    };
    let steps = sim.block_calcium().len();
    let first = sim.step_index() + 1 - steps as u64;
    // A block never crosses a slot boundary: it ends one when the next slot starts here.
    let slot_ended = sim
        .current_slot()
        .is_none_or(|slot| slot.start_step == sim.step_index());
    for k in 0..steps {
        let step = first + k as u64;
        let last = k + 1 == steps;
        if step.is_multiple_of(every) || (last && slot_ended) {
            trace.push(TraceSample::record(0, &[], sim.block_step(k)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::source::load_sequence;
    use crate::data::spec::SourceSpec;

    /// 12 synthetic tokens with 101-step write slots: 10 812 steps, so the trace keeps every
    /// second step plus the odd slot ends.
    fn setup() -> (Params, Arc<Sequence>) {
        let params = Params {
            t_write: 50.5,
            ..Params::default()
        };
        let source = SourceSpec::Synthetic {
            tokens: 12,
            dim: 8,
            heads: 1,
        };
        let sequence = load_sequence(&source, None, &params).unwrap();
        (params, Arc::new(sequence))
    }

    #[test]
    fn the_trace_equals_single_stepping() {
        let (params, sequence) = setup();
        let run = run_sequence(&params, sequence.clone()).unwrap();
        let mut reference = Simulation::new(&params, sequence).unwrap();
        let every = (reference.total_steps() / TRACE_ROWS).max(1);
        assert_eq!(every, 2);
        let mut expected = Vec::new();
        let mut odd_slot_ends = 0;
        while let Some(slot) = reference.current_slot() {
            reference.step();
            let step = reference.step_index();
            let slot_end = step == slot.end_step();
            odd_slot_ends += usize::from(slot_end && !step.is_multiple_of(every));
            if step.is_multiple_of(every) || slot_end {
                let dynamic = reference.dynamic().unwrap();
                expected.push((step, dynamic.time_ms(), dynamic.calcium_normalised()));
            }
        }
        assert!(odd_slot_ends > 0, "the slot-end rule is exercised");
        let got: Vec<(u64, f64, f64)> = run
            .trace
            .iter()
            .map(|s| (s.step, s.time_ms, s.calcium))
            .collect();
        assert_eq!(got, expected);
        assert!(run.simulation.is_finished());
        let bits = |sim: &Simulation| sim.metrics().values().map(f64::to_bits);
        assert_eq!(bits(&run.simulation), bits(&reference));
    }

    #[test]
    fn a_run_can_be_stopped_between_blocks() {
        let (params, sequence) = setup();
        let mut simulation = Simulation::new(&params, sequence).unwrap();
        let mut blocks = 0;
        let stopped = run_to_end(&mut simulation, |_| {
            blocks += 1;
            if blocks == 3 {
                ControlFlow::Break("cancelled")
            } else {
                ControlFlow::Continue(())
            }
        });
        assert_eq!(stopped, ControlFlow::Break("cancelled"));
        assert_eq!(blocks, 3);
        assert!(simulation.step_index() > 0 && !simulation.is_finished());
        let finished = run_to_end(&mut simulation, |_| ControlFlow::<()>::Continue(()));
        assert_eq!(finished, ControlFlow::Continue(()));
        assert!(simulation.is_finished());
    }
}
