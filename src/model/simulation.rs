//! One head's simulation in either mode, behind one interface for the CLI and the worker.

use super::algebraic::{NetworkOutput, run_algebraic_with_diagnostics};
use super::dynamic::{DynamicSim, DynamicState};
use super::metrics::{Metrics, PerQuery};
use super::network::{ModelError, Network};
use super::params::LiveParams;
use super::params::{Mode, Params};
use super::schedule::Slot;
use super::softmax::{SoftmaxReference, softmax_reference};
use crate::model::sequence::Sequence;
use std::sync::Arc;

enum Engine {
    Dynamic(Box<DynamicSim>),
    /// The whole answer is computed at construction; steps reveal one read row each.
    Algebraic {
        network: Box<Network>,
        full: Box<NetworkOutput>,
        shown: Box<NetworkOutput>,
        rows: usize,
    },
}

/// A simulation's state at one step: what a keyframe or a state file holds (see
/// [`Simulation::state`]).
#[derive(Clone, Debug, PartialEq)]
pub enum SimState {
    Dynamic(Box<DynamicState>),
    /// Algebraic mode: how many read rows have been revealed, and the live parameters.
    Algebraic {
        rows: usize,
        params: Box<Params>,
    },
}

impl SimState {
    /// Steps taken (algebraic mode: rows read).
    pub fn step_index(&self) -> u64 {
        match self {
            SimState::Dynamic(state) => state.step,
            SimState::Algebraic { rows, .. } => *rows as u64,
        }
    }
    /// Bytes held, roughly.
    pub fn bytes(&self) -> usize {
        match self {
            SimState::Dynamic(state) => state.bytes(),
            SimState::Algebraic { .. } => {
                std::mem::size_of::<Self>() + std::mem::size_of::<Params>()
            }
        }
    }
}

/// A simulation of one head on one sequence, with its softmax reference.
pub struct Simulation {
    sequence: Arc<Sequence>,
    reference: SoftmaxReference,
    engine: Engine,
    /// `c_rel_se` of every row, from the algebraic estimator on this network (both modes).
    calcium_rel_se: Vec<f64>,
}

impl Simulation {
    /// Validates `params` against `sequence` and builds the simulation at time 0.
    pub fn new(params: &Params, sequence: Arc<Sequence>) -> Result<Self, ModelError> {
        let network = Network::new(params, &sequence)?;
        let reference = softmax_reference(&sequence, params.schedule);
        let algebraic = run_algebraic_with_diagnostics(&network, &sequence);
        let calcium_rel_se = algebraic.calcium_rel_se;
        let engine = match params.mode {
            Mode::Dynamic => Engine::Dynamic(Box::new(DynamicSim::new(network, &sequence)?)),
            Mode::Algebraic => {
                let full = algebraic.output;
                let shown = NetworkOutput::empty(network.sizes.tokens, network.sizes.outputs);
                Engine::Algebraic {
                    network: Box::new(network),
                    full: Box::new(full),
                    shown: Box::new(shown),
                    rows: 0,
                }
            }
        };
        Ok(Simulation {
            sequence,
            reference,
            engine,
            calcium_rel_se,
        })
    }

    pub fn sequence(&self) -> &Arc<Sequence> {
        &self.sequence
    }
    pub fn reference(&self) -> &SoftmaxReference {
        &self.reference
    }
    pub fn network(&self) -> &Network {
        match &self.engine {
            Engine::Dynamic(sim) => sim.network(),
            Engine::Algebraic { network, .. } => network,
        }
    }
    pub fn params(&self) -> &Params {
        &self.network().params
    }
    /// The dynamic state, when running in dynamic mode.
    pub fn dynamic(&self) -> Option<&DynamicSim> {
        match &self.engine {
            Engine::Dynamic(sim) => Some(sim),
            Engine::Algebraic { .. } => None,
        }
    }
    /// The network's results for the read slots completed so far.
    pub fn output(&self) -> &NetworkOutput {
        match &self.engine {
            Engine::Dynamic(sim) => sim.output(),
            Engine::Algebraic { shown, .. } => shown,
        }
    }
    /// Metrics over the completed read slots.
    pub fn metrics(&self) -> Metrics {
        Metrics::compute(&self.reference, self.output())
    }
    /// Per-query diagnostics over the completed read slots.
    pub fn per_query(&self) -> PerQuery {
        PerQuery::compute(
            &self.reference,
            self.output(),
            &self.sequence,
            self.params().schedule,
            &self.calcium_rel_se,
        )
    }
    /// `c_rel_se` of every row (the algebraic estimator's, in both modes).
    pub fn calcium_rel_se(&self) -> &[f64] {
        &self.calcium_rel_se
    }
    /// Steps taken (algebraic mode: rows read).
    pub fn step_index(&self) -> u64 {
        match &self.engine {
            Engine::Dynamic(sim) => sim.step_index(),
            Engine::Algebraic { rows, .. } => *rows as u64,
        }
    }
    /// Steps in the whole run.
    pub fn total_steps(&self) -> u64 {
        match &self.engine {
            Engine::Dynamic(sim) => sim.schedule().total_steps(),
            Engine::Algebraic { network, .. } => network.sizes.tokens as u64,
        }
    }
    /// Simulated time (ms); 0 in algebraic mode, which has no time.
    pub fn time_ms(&self) -> f64 {
        self.dynamic().map_or(0.0, DynamicSim::time_ms)
    }
    /// Length of the whole run (ms); 0 in algebraic mode.
    pub fn total_ms(&self) -> f64 {
        self.dynamic().map_or(0.0, |sim| sim.schedule().total_ms())
    }
    pub fn is_finished(&self) -> bool {
        self.step_index() >= self.total_steps()
    }
    /// The slot the next step belongs to (dynamic mode only).
    pub fn current_slot(&self) -> Option<Slot> {
        self.dynamic().and_then(DynamicSim::current_slot)
    }

    /// One Euler step (algebraic mode: one read row). False when already finished.
    pub fn step(&mut self) -> bool {
        match &mut self.engine {
            Engine::Dynamic(sim) => sim.step().is_some(),
            Engine::Algebraic {
                full, shown, rows, ..
            } => {
                if *rows >= full.rows_done.len() {
                    return false;
                }
                reveal_row(full, shown, *rows);
                *rows += 1;
                true
            }
        }
    }

    /// Up to `max_steps` steps in one block that stays inside the current slot (algebraic mode:
    /// one row). Returns how many were taken; 0 when finished. See [`DynamicSim::step_block`].
    pub fn step_block(&mut self, max_steps: u64) -> u64 {
        match &mut self.engine {
            Engine::Dynamic(sim) => sim.step_block(max_steps),
            Engine::Algebraic { .. } => u64::from(max_steps > 0 && self.step()),
        }
    }

    /// Hidden neurons whose state each dynamic block records step by step (see
    /// [`DynamicSim::set_watch`]); nothing in algebraic mode.
    pub fn set_watch(&mut self, hidden: &[usize]) {
        if let Engine::Dynamic(sim) = &mut self.engine {
            sim.set_watch(hidden);
        }
    }

    /// Steps to the end of the current slot (algebraic mode: one row).
    pub fn step_slot(&mut self) {
        match &mut self.engine {
            Engine::Dynamic(sim) => sim.step_slot(),
            Engine::Algebraic { .. } => {
                self.step();
            }
        }
    }

    /// Runs to the end of the schedule.
    pub fn run_to_end(&mut self) {
        match &mut self.engine {
            Engine::Dynamic(sim) => sim.run_to_end(),
            Engine::Algebraic { .. } => while self.step() {},
        }
    }

    /// The state now; [`Self::restore`] returns a simulation of the same experiment to it.
    pub fn state(&self) -> SimState {
        match &self.engine {
            Engine::Dynamic(sim) => SimState::Dynamic(Box::new(sim.state())),
            Engine::Algebraic { network, rows, .. } => SimState::Algebraic {
                rows: *rows,
                params: Box::new(network.params.clone()),
            },
        }
    }

    /// Returns to `state`, saved by a simulation of the same experiment. Running on from here
    /// gives, bit for bit, what that simulation gave.
    pub fn restore(&mut self, state: &SimState) -> Result<(), ModelError> {
        match (&mut self.engine, state) {
            (Engine::Dynamic(sim), SimState::Dynamic(state)) => sim.restore(state),
            (
                Engine::Algebraic {
                    network,
                    full,
                    shown,
                    rows,
                },
                SimState::Algebraic {
                    rows: saved_rows,
                    params,
                },
            ) => {
                let differing: Vec<&str> = network
                    .params
                    .changes(params)
                    .filter(|param| !param.live)
                    .map(|param| param.name)
                    .collect();
                if !differing.is_empty() {
                    return Err(ModelError::State(format!(
                        "it was saved with other values of {}",
                        differing.join(", ")
                    )));
                }
                if *saved_rows > full.rows_done.len() {
                    return Err(ModelError::State(format!(
                        "it has {saved_rows} rows read of a sequence of {}",
                        full.rows_done.len()
                    )));
                }
                params.validate()?;
                network.params = (**params).clone();
                **shown = NetworkOutput::empty(network.sizes.tokens, network.sizes.outputs);
                for t in 0..*saved_rows {
                    reveal_row(full, shown, t);
                }
                *rows = *saved_rows;
                Ok(())
            }
            (Engine::Dynamic(_), SimState::Algebraic { .. }) => Err(ModelError::State(
                "it is an algebraic-mode state and this simulation is dynamic".to_string(),
            )),
            (Engine::Algebraic { .. }, SimState::Dynamic(_)) => Err(ModelError::State(
                "it is a dynamic-mode state and this simulation is algebraic".to_string(),
            )),
        }
    }

    /// Applies time constants, η, λ and c_min to the running simulation.
    pub fn set_live(&mut self, live: LiveParams) -> Result<(), ModelError> {
        match &mut self.engine {
            Engine::Dynamic(sim) => sim.set_live(live),
            Engine::Algebraic { network, .. } => {
                let mut params = network.params.clone();
                live.apply_to(&mut params);
                params.validate()?;
                network.params = params;
                Ok(())
            }
        }
    }
}

/// Algebraic mode: copies row `t` of the precomputed output into the shown one.
fn reveal_row(full: &NetworkOutput, shown: &mut NetworkOutput, t: usize) {
    shown.attention.row_mut(t).assign(&full.attention.row(t));
    shown.outputs.row_mut(t).assign(&full.outputs.row(t));
    shown.calcium[t] = full.calcium[t];
    shown.rows_done[t] = true;
}
