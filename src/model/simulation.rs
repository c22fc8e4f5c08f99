//! One head's simulation in either mode, behind one interface for the CLI and the worker.

use super::algebraic::{NetworkOutput, run_algebraic_with_diagnostics};
use super::dynamic::{DynamicSim, LiveParams};
use super::metrics::{Metrics, PerQuery};
use super::network::{ModelError, Network};
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
                let t = *rows;
                shown.attention.row_mut(t).assign(&full.attention.row(t));
                shown.outputs.row_mut(t).assign(&full.outputs.row(t));
                shown.calcium[t] = full.calcium[t];
                shown.rows_done[t] = true;
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
