//! Dynamic mode (spec "Dynamic mode"): the network in continuous time, by forward Euler.
//!
//! ```text
//! τ_n du/dt = −u + s                τ_n dh/dt = −h + φ(u)
//! y = v_τ (write slot τ)            τ_n dy/dt = −y + ψ(c) H h (read slot)
//! dH/dt = π η y hᵀ − λ H            dg/dt = π η h − λ g
//! τ_p dp_ij/dt = −p_ij + γ_ij g_j h_j
//! τ_c dc/dt = −c + (1/d) Σ_ij p_ij
//! de_τ/dt = π_τ η h − λ e_τ         (instrumentation: H = Σ_τ v_τ e_τᵀ)
//! ```
//!
//! Factored state, exact in real arithmetic and O(N·m') per step instead of O(d·m'):
//! - z = W u obeys the same linear Euler recurrence as u, so W s is formed once per slot;
//! - p_ij = γ_ij p̃_j with τ_p dp̃_j/dt = −p̃_j + g_j h_j (γ is constant and p starts at 0),
//!   so (1/d) Σ_ij p_ij = Σ_j (Σ_i γ_ij / d) p̃_j;
//! - H = Σ_τ v_τ e_τᵀ while the output is clamped during writing, so H h = Σ_τ v_τ (e_τ·h).

use super::algebraic::NetworkOutput;
use super::euler::{self, BlockRecord, CHUNK, ChunkMemo, modulation};
use super::euler::{dot, sum};
use super::network::{ModelError, Network};
use super::params::{Ablation, FeatureMap, LiveParams, Params};
use super::schedule::{Phase, Slot, SlotSchedule};
use super::softmax::in_mask;
use crate::model::sequence::Sequence;
use ndarray::{Array1, Array2};
use rayon::prelude::*;

/// Most steps taken chunk by chunk in one pass. The hidden layer does not depend on the output
/// neurons or the calcium, so each chunk can run several steps while its state (and its part of
/// every e_τ) stays in cache; the outputs and c then follow step by step from the per-step sums.
/// The arithmetic is the same as one step at a time, bit for bit.
const BLOCK: u64 = 16;

/// The full dynamic state of one head's network.
pub struct DynamicSim {
    network: Network,
    schedule: SlotSchedule,
    scaled_queries: Array2<f64>,
    scaled_keys: Array2<f64>,
    values: Array2<f64>,
    step: u64,
    /// u (D), input rates.
    input_rates: Vec<f64>,
    /// z = W u (m'), signed copies for paired maps.
    drive: Vec<f64>,
    /// W s for the current slot's stimulus s (m').
    drive_target: Vec<f64>,
    /// Slot whose stimulus `drive_target` holds.
    target_slot: Option<usize>,
    /// h (m').
    hidden_rates: Vec<f64>,
    /// y (d).
    output_rates: Vec<f64>,
    /// g (m').
    presynaptic: Vec<f64>,
    /// p̃ (m'): p_ij = γ_ij p̃_j.
    process_drive: Vec<f64>,
    /// c.
    calcium: f64,
    /// Whether dc/dt = 0 from now on (`frozen_calcium`, after read slot 1).
    calcium_frozen: bool,
    /// The g each process reads, formed before every step when it is not its own g_j
    /// (`shuffled_processes`: g_{π(j)}; `uniform_presynaptic`: the mean of g). Empty otherwise.
    process_source: Vec<f64>,
    /// e_τ (N × m').
    eligibility: Vec<Vec<f64>>,
    /// Hidden neurons whose state each block records step by step (sorted, distinct).
    watch: Vec<usize>,
    /// What the last block recorded after each of its steps.
    block: BlockRecord,
    /// Per chunk of hidden neurons: values the kernel need not recompute while their inputs
    /// stand still (not part of the state: forgotten on restore).
    memo: Vec<ChunkMemo>,
    output: NetworkOutput,
}

/// A dynamic simulation's state at one step (see [`DynamicSim::state`]): what a keyframe or a
/// state file holds. The live parameters in force are part of it.
#[derive(Clone, Debug, PartialEq)]
pub struct DynamicState {
    pub params: Params,
    pub step: u64,
    pub input_rates: Vec<f64>,
    pub drive: Vec<f64>,
    pub drive_target: Vec<f64>,
    pub target_slot: Option<usize>,
    pub hidden_rates: Vec<f64>,
    pub output_rates: Vec<f64>,
    pub presynaptic: Vec<f64>,
    pub process_drive: Vec<f64>,
    pub calcium: f64,
    /// `frozen_calcium`: whether dc/dt = 0 already (after read slot 1).
    pub calcium_frozen: bool,
    pub eligibility: Vec<Vec<f64>>,
    pub output: NetworkOutput,
}

impl DynamicState {
    /// Bytes held, roughly: the vectors and matrices.
    pub fn bytes(&self) -> usize {
        let vectors = self.input_rates.len()
            + self.drive.len()
            + self.drive_target.len()
            + self.hidden_rates.len()
            + self.output_rates.len()
            + self.presynaptic.len()
            + self.process_drive.len()
            + self.eligibility.iter().map(Vec::len).sum::<usize>()
            + self.output.attention.len()
            + self.output.outputs.len()
            + self.output.calcium.len();
        vectors * std::mem::size_of::<f64>() + std::mem::size_of::<Self>()
    }
}

impl DynamicSim {
    /// Builds the simulation with every state variable at 0.
    pub fn new(network: Network, sequence: &Sequence) -> Result<Self, ModelError> {
        let sizes = network.sizes;
        let schedule = SlotSchedule::new(&network.params, sizes.tokens);
        Ok(DynamicSim {
            schedule,
            scaled_queries: sequence.scaled_queries(),
            scaled_keys: sequence.scaled_keys(),
            values: sequence.values.clone(),
            step: 0,
            input_rates: vec![0.0; sizes.inputs],
            drive: vec![0.0; sizes.hidden],
            drive_target: vec![0.0; sizes.hidden],
            target_slot: None,
            hidden_rates: vec![0.0; sizes.hidden],
            output_rates: vec![0.0; sizes.outputs],
            presynaptic: vec![0.0; sizes.hidden],
            process_drive: vec![0.0; sizes.hidden],
            calcium: 0.0,
            calcium_frozen: false,
            process_source: Vec::new(),
            eligibility: vec![vec![0.0; sizes.hidden]; sizes.tokens],
            watch: Vec::new(),
            block: BlockRecord::default(),
            memo: vec![ChunkMemo::default(); sizes.hidden.div_ceil(CHUNK)],
            output: NetworkOutput::empty(sizes.tokens, sizes.outputs),
            network,
        })
    }

    pub fn network(&self) -> &Network {
        &self.network
    }
    pub fn params(&self) -> &Params {
        &self.network.params
    }
    pub fn schedule(&self) -> &SlotSchedule {
        &self.schedule
    }
    /// Steps taken so far.
    pub fn step_index(&self) -> u64 {
        self.step
    }
    /// Simulated time (ms).
    pub fn time_ms(&self) -> f64 {
        self.step as f64 * self.network.params.dt
    }
    pub fn is_finished(&self) -> bool {
        self.step >= self.schedule.total_steps()
    }
    /// The slot the next step belongs to (None when finished).
    pub fn current_slot(&self) -> Option<Slot> {
        self.schedule
            .slot_index_at(self.step)
            .map(|i| self.schedule.slots[i])
    }
    /// u (D).
    pub fn input_rates(&self) -> &[f64] {
        &self.input_rates
    }
    /// h (m').
    pub fn hidden_rates(&self) -> &[f64] {
        &self.hidden_rates
    }
    /// y (d).
    pub fn output_rates(&self) -> &[f64] {
        &self.output_rates
    }
    /// g (m').
    pub fn presynaptic_weights(&self) -> &[f64] {
        &self.presynaptic
    }
    /// c, in the network's own units.
    pub fn calcium(&self) -> f64 {
        self.calcium
    }
    /// c / (η T_write): calcium in softmax-normaliser units.
    pub fn calcium_normalised(&self) -> f64 {
        self.calcium / self.write_scale()
    }
    /// η · T_write, the factor by which H, g and c exceed their algebraic values.
    pub fn write_scale(&self) -> f64 {
        self.network.params.eta * self.network.params.t_write
    }
    /// e_τ (m').
    pub fn eligibility(&self, token: usize) -> &[f64] {
        &self.eligibility[token]
    }
    /// p_ij, the process at the synapse from hidden neuron j to output neuron i.
    pub fn process(&self, output: usize, hidden: usize) -> f64 {
        self.network.process_gain(output, hidden) * self.process_drive[hidden]
    }
    /// p̃_j = Σ_i p_ij / Σ_i γ_ij (equal to every p_ij when heterogeneity = 0).
    pub fn process_drive(&self) -> &[f64] {
        &self.process_drive
    }
    /// H_ij = Σ_τ v_τi e_τj.
    pub fn synapse_weight(&self, output: usize, hidden: usize) -> f64 {
        (0..self.network.sizes.tokens)
            .map(|tau| self.values[[tau, output]] * self.eligibility[tau][hidden])
            .sum()
    }
    /// Results of the read slots completed so far.
    pub fn output(&self) -> &NetworkOutput {
        &self.output
    }
    /// ψ(c) = 1 / max(c, c_min) (1 under `no_astrocyte`).
    pub fn modulation(&self) -> f64 {
        modulation(&self.network.params, self.calcium)
    }

    /// Row `t` of A_dyn from the present state: M[t,τ] (e_τ·h) ψ(c).
    pub fn attention_row_now(&self, query: usize) -> Array1<f64> {
        let n = self.network.sizes.tokens;
        let psi = self.modulation();
        Array1::from_shape_fn(n, |tau| {
            if in_mask(self.network.params.schedule, query, tau) {
                dot(&self.eligibility[tau], &self.hidden_rates) * psi
            } else {
                0.0
            }
        })
    }

    /// Applies parameters that do not change the network's structure.
    pub fn set_live(&mut self, live: LiveParams) -> Result<(), ModelError> {
        let mut params = self.network.params.clone();
        live.apply_to(&mut params);
        params.validate()?;
        self.network.params = params;
        Ok(())
    }

    /// Advances one Euler step of dt. Returns the slot that the step belonged to, or None when
    /// the run had already finished.
    pub fn step(&mut self) -> Option<Slot> {
        let slot = self.current_slot()?;
        self.step_many(1);
        Some(slot)
    }

    /// Advances up to `max_steps` Euler steps (fewer at the end of the run) and returns how many
    /// were taken. The result is the same, bit for bit, as that many calls to [`Self::step`].
    pub fn step_many(&mut self, max_steps: u64) -> u64 {
        let mut taken = 0;
        while taken < max_steps {
            let block = self.step_block(max_steps - taken);
            if block == 0 {
                break;
            }
            taken += block;
        }
        taken
    }

    /// Advances one block: up to `max_steps` steps, never past the end of the current slot or
    /// [`BLOCK`] steps. Returns how many were taken (0 when finished); the calcium after each
    /// of them is then in [`Self::block_calcium`].
    pub fn step_block(&mut self, max_steps: u64) -> u64 {
        self.block.calcium.clear();
        self.block.inputs.clear();
        self.block.outputs.clear();
        self.block.watched.clear();
        self.block.first_step = self.step + 1;
        let Some(slot_index) = self.schedule.slot_index_at(self.step) else {
            return 0;
        };
        let slot = self.schedule.slots[slot_index];
        if self.target_slot != Some(slot_index) {
            self.load_stimulus(slot_index);
        }
        // A process reading another neuron's g (or their mean) needs all of g at the start of
        // each step, so those ablations step one at a time.
        let reads_other_g = matches!(
            self.network.params.ablation,
            Ablation::ShuffledProcesses | Ablation::UniformPresynaptic
        );
        let longest = if reads_other_g { 1 } else { BLOCK };
        let block = max_steps.min(slot.end_step() - self.step).min(longest);
        if block == 0 {
            return 0;
        }
        if reads_other_g {
            self.form_process_source();
        }
        self.euler_block(&slot, block as usize);
        self.step += block;
        if slot.phase == Phase::Read && self.step == slot.end_step() {
            self.record_read(slot.token);
        }
        block
    }

    /// c (network units) after each step of the last [`Self::step_block`], in order.
    pub fn block_calcium(&self) -> &[f64] {
        &self.block.calcium
    }

    /// Hidden neurons whose h_j, p̃_j and e_τj every block records after each step, so that
    /// [`BlockStep`] can report them (indices past m' are ignored).
    pub fn set_watch(&mut self, hidden: &[usize]) {
        let size = self.hidden_rates.len();
        let mut watch: Vec<usize> = hidden.iter().copied().filter(|&j| j < size).collect();
        watch.sort_unstable();
        watch.dedup();
        self.watch = watch;
    }

    /// The state after step `k` of the last block (`k < self.block_calcium().len()`).
    pub fn block_step(&self, k: usize) -> BlockStep<'_> {
        debug_assert!(k < self.block.calcium.len());
        BlockStep {
            sim: self,
            k: Some(k),
        }
    }

    /// The present state, through the same interface as [`Self::block_step`].
    pub fn now(&self) -> BlockStep<'_> {
        BlockStep { sim: self, k: None }
    }

    /// Steps to the end of the current slot.
    pub fn step_slot(&mut self) {
        if let Some(slot) = self.current_slot() {
            self.step_many(slot.end_step() - self.step);
        }
    }

    /// Steps to the end of the schedule.
    pub fn run_to_end(&mut self) {
        self.step_many(u64::MAX);
    }

    /// Everything the next step depends on besides the network and the sequence: a keyframe.
    pub fn state(&self) -> DynamicState {
        DynamicState {
            params: self.network.params.clone(),
            step: self.step,
            input_rates: self.input_rates.clone(),
            drive: self.drive.clone(),
            drive_target: self.drive_target.clone(),
            target_slot: self.target_slot,
            hidden_rates: self.hidden_rates.clone(),
            output_rates: self.output_rates.clone(),
            presynaptic: self.presynaptic.clone(),
            process_drive: self.process_drive.clone(),
            calcium: self.calcium,
            calcium_frozen: self.calcium_frozen,
            eligibility: self.eligibility.clone(),
            output: self.output.clone(),
        }
    }

    /// Puts the simulation in `state`, taken from a simulation of the same network (the same
    /// structural parameters and sizes); its live parameters come back with it. Stepping on from
    /// here gives, bit for bit, what the simulation that saved it would have given.
    pub fn restore(&mut self, state: &DynamicState) -> Result<(), ModelError> {
        let sizes = self.network.sizes;
        let differing: Vec<&str> = self
            .network
            .params
            .changes(&state.params)
            .filter(|param| !param.live)
            .map(|param| param.name)
            .collect();
        if !differing.is_empty() {
            return Err(ModelError::State(format!(
                "it was saved with other values of {}",
                differing.join(", ")
            )));
        }
        state.params.validate()?;
        let checks = [
            ("u", state.input_rates.len(), sizes.inputs),
            ("z", state.drive.len(), sizes.hidden),
            ("W s", state.drive_target.len(), sizes.hidden),
            ("h", state.hidden_rates.len(), sizes.hidden),
            ("y", state.output_rates.len(), sizes.outputs),
            ("g", state.presynaptic.len(), sizes.hidden),
            ("p", state.process_drive.len(), sizes.hidden),
            ("e", state.eligibility.len(), sizes.tokens),
            ("c_t", state.output.calcium.len(), sizes.tokens),
            ("read rows", state.output.rows_done.len(), sizes.tokens),
        ];
        for (name, got, want) in checks {
            if got != want {
                return Err(ModelError::State(format!(
                    "{name} has {got} entries where this network has {want}"
                )));
            }
        }
        if let Some(row) = state
            .eligibility
            .iter()
            .find(|row| row.len() != sizes.hidden)
        {
            return Err(ModelError::State(format!(
                "an eligibility trace has {} entries where this network has {} hidden neurons",
                row.len(),
                sizes.hidden
            )));
        }
        if state.output.attention.dim() != (sizes.tokens, sizes.tokens)
            || state.output.outputs.dim() != (sizes.tokens, sizes.outputs)
        {
            return Err(ModelError::State(
                "its attention or output rows have the wrong shape".to_string(),
            ));
        }
        if state.step > self.schedule.total_steps() {
            return Err(ModelError::State(format!(
                "it is at step {} of a run of {} steps",
                state.step,
                self.schedule.total_steps()
            )));
        }
        if state
            .target_slot
            .is_some_and(|slot| slot >= self.schedule.slots.len())
        {
            return Err(ModelError::State(
                "it names a slot past the end".to_string(),
            ));
        }
        self.network.params = state.params.clone();
        self.step = state.step;
        self.input_rates.clone_from(&state.input_rates);
        self.drive.clone_from(&state.drive);
        self.drive_target.clone_from(&state.drive_target);
        self.target_slot = state.target_slot;
        self.hidden_rates.clone_from(&state.hidden_rates);
        self.output_rates.clone_from(&state.output_rates);
        self.presynaptic.clone_from(&state.presynaptic);
        self.process_drive.clone_from(&state.process_drive);
        self.calcium = state.calcium;
        self.calcium_frozen = state.calcium_frozen;
        self.eligibility.clone_from(&state.eligibility);
        self.output = state.output.clone();
        self.block = BlockRecord::default();
        self.memo.fill(ChunkMemo::default());
        Ok(())
    }

    fn stimulus(&self, slot: &Slot) -> ndarray::ArrayView1<'_, f64> {
        match slot.phase {
            Phase::Write => self.scaled_keys.row(slot.token),
            Phase::Read => self.scaled_queries.row(slot.token),
        }
    }

    /// Forms W s for the slot's stimulus s (the target of z = W u).
    fn load_stimulus(&mut self, slot_index: usize) {
        let slot = self.schedule.slots[slot_index];
        let s = self.stimulus(&slot).to_owned();
        let m = self.network.params.m;
        let w = &self.network.projection;
        let map = self.network.params.feature_map;
        let target = &mut self.drive_target;
        match map {
            FeatureMap::Elu1 => target.copy_from_slice(s.as_slice().expect("contiguous")),
            _ => {
                target[..m]
                    .par_chunks_mut(CHUNK)
                    .enumerate()
                    .for_each(|(c, out)| {
                        for (r, value) in out.iter_mut().enumerate() {
                            *value = w.row(c * CHUNK + r).dot(&s);
                        }
                    });
                if map == FeatureMap::Oprf {
                    let b = self.network.constants.oprf_b();
                    for value in target[..m].iter_mut() {
                        *value *= b;
                    }
                } else if map == FeatureMap::Hyperbolic {
                    let (first, second) = target.split_at_mut(m);
                    for (neg, pos) in second.iter_mut().zip(first.iter()) {
                        *neg = -*pos;
                    }
                } else if map == FeatureMap::Trig {
                    let (first, second) = target.split_at_mut(m);
                    second.copy_from_slice(first);
                }
            }
        }
        self.target_slot = Some(slot_index);
    }

    /// `steps` Euler steps inside `slot` (see [`euler::Block::run`]).
    fn euler_block(&mut self, slot: &Slot, steps: usize) {
        euler::Block {
            network: &self.network,
            scaled_queries: &self.scaled_queries,
            scaled_keys: &self.scaled_keys,
            values: &self.values,
            input_rates: &mut self.input_rates,
            drive: &mut self.drive,
            drive_target: &self.drive_target,
            hidden_rates: &mut self.hidden_rates,
            output_rates: &mut self.output_rates,
            presynaptic: &mut self.presynaptic,
            process_drive: &mut self.process_drive,
            calcium: &mut self.calcium,
            calcium_frozen: self.calcium_frozen,
            process_source: &self.process_source,
            eligibility: &mut self.eligibility,
            watch: &self.watch,
            block: &mut self.block,
            memo: &mut self.memo,
            target_slot: self.target_slot.expect("the slot's stimulus is loaded"),
        }
        .run(slot, steps);
    }

    /// The g each process reads this step: g_{π(j)} or the mean of g.
    fn form_process_source(&mut self) {
        let g = &self.presynaptic;
        self.process_source = match &self.network.permutation {
            Some(perm) => perm.iter().map(|&j| g[j]).collect(),
            None => vec![sum(g) / g.len().max(1) as f64; g.len()],
        };
    }

    /// Stores y_t, c_t and row t of A_dyn at the last step of read slot t. Under
    /// `frozen_calcium` the calcium stops here after the first read slot.
    fn record_read(&mut self, query: usize) {
        if self.network.params.ablation == Ablation::FrozenCalcium {
            self.calcium_frozen = true;
        }
        let row = self.attention_row_now(query);
        self.output.attention.row_mut(query).assign(&row);
        self.output.calcium[query] = self.calcium_normalised();
        self.output
            .outputs
            .row_mut(query)
            .assign(&Array1::from(self.output_rates.clone()));
        self.output.rows_done[query] = true;
    }
}

/// The network's state after one step of the last block (or the present state), for tracing.
/// Hidden neurons, processes and synapses are known only for watched hidden neurons
/// ([`DynamicSim::set_watch`]) inside a block; the present state knows them all.
#[derive(Clone, Copy)]
pub struct BlockStep<'a> {
    sim: &'a DynamicSim,
    /// None: the present state.
    k: Option<usize>,
}

impl BlockStep<'_> {
    pub fn step_index(&self) -> u64 {
        match self.k {
            Some(k) => self.sim.block.first_step + k as u64,
            None => self.sim.step,
        }
    }
    pub fn time_ms(&self) -> f64 {
        self.step_index() as f64 * self.sim.network.params.dt
    }
    /// c / (η T_write).
    pub fn calcium_normalised(&self) -> f64 {
        let c = match self.k {
            Some(k) => self.sim.block.calcium[k],
            None => self.sim.calcium,
        };
        c / self.sim.write_scale()
    }
    /// u_k.
    pub fn input_rate(&self, input: usize) -> Option<f64> {
        let width = self.sim.input_rates.len();
        (input < width).then(|| match self.k {
            Some(k) => self.sim.block.inputs[k * width + input],
            None => self.sim.input_rates[input],
        })
    }
    /// y_i.
    pub fn output_rate(&self, output: usize) -> Option<f64> {
        let width = self.sim.output_rates.len();
        (output < width).then(|| match self.k {
            Some(k) => self.sim.block.outputs[k * width + output],
            None => self.sim.output_rates[output],
        })
    }
    /// h_j, p̃_j and e_·j.
    fn hidden_state(&self, hidden: usize) -> Option<(f64, f64, Vec<f64>)> {
        let sim = self.sim;
        if hidden >= sim.hidden_rates.len() {
            return None;
        }
        match self.k {
            None => Some((
                sim.hidden_rates[hidden],
                sim.process_drive[hidden],
                sim.eligibility.iter().map(|e| e[hidden]).collect(),
            )),
            Some(k) => {
                let slot = sim.watch.binary_search(&hidden).ok()?;
                let record = 2 + sim.eligibility.len();
                let per_step = sim.watch.len() * record;
                let at = k * per_step + slot * record;
                let r = &sim.block.watched[at..at + record];
                Some((r[0], r[1], r[2..].to_vec()))
            }
        }
    }
    /// h_j.
    pub fn hidden_rate(&self, hidden: usize) -> Option<f64> {
        self.hidden_state(hidden).map(|(h, _, _)| h)
    }
    /// p_ij = γ_ij p̃_j.
    pub fn process(&self, output: usize, hidden: usize) -> Option<f64> {
        if output >= self.sim.output_rates.len() {
            return None;
        }
        let (_, p, _) = self.hidden_state(hidden)?;
        Some(self.sim.network.process_gain(output, hidden) * p)
    }
    /// H_ij = Σ_τ v_τi e_τj.
    pub fn synapse_weight(&self, output: usize, hidden: usize) -> Option<f64> {
        if output >= self.sim.output_rates.len() {
            return None;
        }
        let (_, _, e) = self.hidden_state(hidden)?;
        Some(
            e.iter()
                .enumerate()
                .map(|(tau, e)| self.sim.values[[tau, output]] * e)
                .sum(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::algebraic::run_algebraic;
    use crate::model::euler::PARALLEL_FROM;
    use crate::model::features::features_with;
    use crate::model::params::{Mode, Schedule};

    fn sim(params: &Params, seq: &Sequence) -> DynamicSim {
        DynamicSim::new(Network::new(params, seq).unwrap(), seq).unwrap()
    }

    /// The spec's equations integrated naively, with full H (d × m') and p (d × m').
    #[test]
    fn factored_state_matches_the_unfactored_equations() {
        let seq = Sequence::gaussian(3, 4, 2, 1.0);
        for schedule in [Schedule::Bidirectional, Schedule::Causal] {
            let params = Params {
                m: 6,
                heterogeneity: 0.3,
                decay: 0.01,
                schedule,
                t_write: 10.0,
                t_read: 20.0,
                ..Params::default()
            };
            matches_the_naive_equations(&params, &seq);
        }
        // The maps of issue 13 (per-row bias or phase, B on w·u, clip, rectification).
        for (map, schedule) in [
            (FeatureMap::Oprf, Schedule::Bidirectional),
            (FeatureMap::Cosine, Schedule::Causal),
            (FeatureMap::Truncated, Schedule::Bidirectional),
            (FeatureMap::RectifiedCosine, Schedule::Causal),
        ] {
            let params = Params {
                m: 6,
                feature_map: map,
                heterogeneity: 0.3,
                decay: 0.01,
                schedule,
                t_write: 10.0,
                t_read: 20.0,
                ..Params::default()
            };
            matches_the_naive_equations(&params, &seq);
        }
    }

    /// The same at sizes where the hidden layer is cut into chunks of 4096 neurons and, from
    /// 4 × 4096, updated in parallel: a short sequence keeps the naive integration cheap.
    #[test]
    fn chunked_state_matches_the_unfactored_equations() {
        // MODEL.md states these sizes ("per-step chunks of 4096 hidden neurons").
        assert_eq!((CHUNK, PARALLEL_FROM), (4096, 4 * 4096));
        let seq = Sequence::gaussian(2, 4, 2, 1.0);
        for (m, map, schedule) in [
            (17_000, FeatureMap::Positive, Schedule::Bidirectional),
            (2_100, FeatureMap::Hyperbolic, Schedule::Causal),
        ] {
            let params = Params {
                m,
                feature_map: map,
                heterogeneity: 0.3,
                decay: 0.01,
                schedule,
                t_write: 2.0,
                t_read: 3.0,
                ..Params::default()
            };
            matches_the_naive_equations(&params, &seq);
        }
    }

    /// Integrates the spec's equations naively beside the factored simulation and checks that
    /// u, h, y, g, every p_ij, every H_ij and c agree to 1e-9 relative after every slot.
    fn matches_the_naive_equations(params: &Params, seq: &Sequence) {
        let schedule = params.schedule;
        {
            let mut fast = sim(params, seq);
            let net = fast.network().clone();
            let (hidden, d) = (net.sizes.hidden, net.sizes.outputs);
            let (q, k) = (seq.scaled_queries(), seq.scaled_keys());
            let mut u = Array1::<f64>::zeros(seq.keys.ncols());
            let mut h = Array1::<f64>::zeros(hidden);
            let mut y = Array1::<f64>::zeros(d);
            let mut big_h = Array2::<f64>::zeros((d, hidden));
            let mut g = Array1::<f64>::zeros(hidden);
            let mut p = Array2::<f64>::zeros((d, hidden));
            let mut c = 0.0f64;
            let gains = net.process_gains.clone().unwrap();
            let dt = params.dt;
            for slot in fast.schedule().slots.clone() {
                for _ in 0..slot.steps {
                    let write = slot.phase == Phase::Write;
                    let s = if write {
                        k.row(slot.token)
                    } else {
                        q.row(slot.token)
                    };
                    if write {
                        y.assign(&seq.values.row(slot.token));
                    }
                    let phi = Array1::from(features_with(
                        params.feature_map,
                        &net.projection,
                        &net.constants,
                        u.view(),
                    ));
                    let gate = if write { 1.0 } else { 0.0 };
                    let psi = 1.0 / c.max(params.c_min);
                    let du = (&s - &u) / params.tau_neuron;
                    let dh = (&phi - &h) / params.tau_neuron;
                    let dy = if write {
                        Array1::zeros(d)
                    } else {
                        (big_h.dot(&h) * psi - &y) / params.tau_neuron
                    };
                    let hebb = y
                        .view()
                        .insert_axis(ndarray::Axis(1))
                        .dot(&h.view().insert_axis(ndarray::Axis(0)));
                    let d_big_h = hebb * (gate * params.eta) - &big_h * params.decay;
                    let dg = &h * (gate * params.eta) - &g * params.decay;
                    let drive = &gains * &(&g * &h).insert_axis(ndarray::Axis(0));
                    let dp = (drive - &p) / params.tau_process;
                    let dc = (p.sum() / d as f64 - c) / params.tau_calcium;
                    u += &(du * dt);
                    h += &(dh * dt);
                    y += &(dy * dt);
                    big_h += &(d_big_h * dt);
                    g += &(dg * dt);
                    p += &(dp * dt);
                    c += dc * dt;
                    fast.step();
                }
                let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1e-12);
                assert!(
                    close(fast.calcium(), c),
                    "{schedule}: c {} vs {c}",
                    fast.calcium()
                );
                for i in 0..d {
                    assert!(close(fast.output_rates()[i], y[i]));
                    for j in 0..hidden {
                        assert!(close(fast.process(i, j), p[[i, j]]), "p[{i},{j}]");
                        assert!(
                            close(fast.synapse_weight(i, j), big_h[[i, j]]),
                            "H[{i},{j}]"
                        );
                    }
                }
                for j in 0..hidden {
                    assert!(close(fast.hidden_rates()[j], h[j]));
                    assert!(close(fast.presynaptic_weights()[j], g[j]));
                }
                for (i, &ui) in u.iter().enumerate() {
                    assert!(close(fast.input_rates()[i], ui), "u[{i}]");
                }
            }
            assert!(fast.is_finished());
        }
    }

    /// Spec "The limit": with τ_n ≪ T_write, τ_p, τ_c ≪ T_read and λ = 0 the dynamic mode
    /// reaches the algebraic answer.
    #[test]
    fn converges_to_the_algebraic_mode_under_time_scale_separation() {
        let seq = Sequence::gaussian(4, 8, 3, 0.5);
        for schedule in [Schedule::Bidirectional, Schedule::Causal] {
            let params = Params {
                m: 64,
                schedule,
                tau_neuron: 0.25,
                tau_process: 1.0,
                tau_calcium: 1.0,
                t_write: 50.0,
                t_read: 50.0,
                dt: 0.05,
                eta: 0.02,
                ..Params::default()
            };
            let mut dynamic = sim(&params, &seq);
            dynamic.run_to_end();
            let algebraic = run_algebraic(
                &Network::new(
                    &Params {
                        mode: Mode::Algebraic,
                        ..params.clone()
                    },
                    &seq,
                )
                .unwrap(),
                &seq,
            );
            let got = dynamic.output();
            let tv = (0..4)
                .map(|t| {
                    0.5 * (&got.attention.row(t) - &algebraic.attention.row(t))
                        .mapv(f64::abs)
                        .sum()
                })
                .sum::<f64>()
                / 4.0;
            assert!(tv <= 0.02, "{schedule}: TV between modes {tv}");
            // MODEL.md "Numbers": in the limit the rows of A_dyn sum to 1 within 1e-12.
            for t in 0..4 {
                let sum: f64 = got.attention.row(t).sum();
                assert!(
                    (sum - 1.0).abs() < 1e-12,
                    "{schedule}: A_dyn row {t} sums to {sum}"
                );
            }
            for t in 0..4 {
                let rel = (got.calcium[t] - algebraic.calcium[t]).abs() / algebraic.calcium[t];
                assert!(
                    rel < 0.05,
                    "{schedule}: c_{t} {} vs {}",
                    got.calcium[t],
                    algebraic.calcium[t]
                );
            }
            // Not vacuous: with a slow astrocyte the gap opens.
            let slow = Params {
                tau_calcium: 400.0,
                ..params.clone()
            };
            let mut slow_sim = sim(&slow, &seq);
            slow_sim.run_to_end();
            let gap =
                (slow_sim.output().calcium[0] - algebraic.calcium[0]).abs() / algebraic.calcium[0];
            assert!(gap > 0.05, "slow calcium should lag, gap {gap}");
        }
    }

    #[test]
    fn identical_results_whatever_the_thread_count() {
        let seq = Sequence::gaussian(2, 4, 9, 1.0);
        let params = Params {
            m: 40_000,
            t_write: 5.0,
            t_read: 10.0,
            heterogeneity: 0.2,
            ..Params::default()
        };
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut s = sim(&params, &seq);
                s.run_to_end();
                let traces: Vec<Vec<f64>> = (0..2).map(|t| s.eligibility(t).to_vec()).collect();
                (
                    s.output().clone(),
                    s.hidden_rates().to_vec(),
                    s.calcium().to_bits(),
                    s.process_drive().to_vec(),
                    s.presynaptic_weights().to_vec(),
                    traces,
                )
            })
        };
        let one = run(1);
        assert!(f64::from_bits(one.2) > 0.0);
        assert_eq!(one.0.rows_completed(), 2);
        for threads in [2, 3] {
            assert!(one == run(threads), "{threads} threads differ from 1");
        }
    }

    /// Blocks of steps (chunk by chunk) and single steps do the same arithmetic, bit for bit,
    /// with blocks cut by slot ends and by odd request sizes, for every feature map.
    #[test]
    fn blocks_of_steps_match_single_steps_bit_for_bit() {
        let seq = Sequence::gaussian(3, 5, 4, 1.0);
        for (map, schedule) in [
            (FeatureMap::Positive, Schedule::Bidirectional),
            (FeatureMap::Hyperbolic, Schedule::Causal),
            (FeatureMap::Trig, Schedule::Bidirectional),
            (FeatureMap::Elu1, Schedule::Causal),
            (FeatureMap::Oprf, Schedule::Bidirectional),
            (FeatureMap::Cosine, Schedule::Causal),
        ] {
            let params = Params {
                m: 20_000,
                feature_map: map,
                schedule,
                t_write: 7.0,
                t_read: 13.5,
                heterogeneity: 0.2,
                decay: 0.01,
                ..Params::default()
            };
            let mut single = sim(&params, &seq);
            while single.step().is_some() {}
            let mut blocks = sim(&params, &seq);
            let mut sizes = [1u64, 5, 37, 3, 16, 100].into_iter().cycle();
            while blocks.step_many(sizes.next().unwrap()) > 0 {}
            let mut whole = sim(&params, &seq);
            whole.run_to_end();
            // The calcium a block reports after each step is the calcium single steps pass by.
            // So are the watched neurons, processes, synapses, inputs and outputs.
            let mut stepped = sim(&params, &seq);
            let mut blocked = sim(&params, &seq);
            let hidden = stepped.hidden_rates().len();
            let watched: Vec<usize> = [0usize, 3, 4095, 4096, 9000, 19_999, 39_999]
                .into_iter()
                .filter(|&j| j < hidden)
                .collect();
            blocked.set_watch(&[39_999, 19_999, 4096, 0, 3, 9000, 4095, 0, 50_000]);
            while blocked.step_block(9) > 0 {
                for (k, c) in blocked.block_calcium().iter().enumerate() {
                    stepped.step();
                    assert_eq!(c.to_bits(), stepped.calcium().to_bits());
                    let (view, now) = (blocked.block_step(k), stepped.now());
                    assert_eq!(view.step_index(), stepped.step_index());
                    assert_eq!(view.calcium_normalised(), now.calcium_normalised());
                    for input in 0..5 {
                        assert_eq!(view.input_rate(input), Some(stepped.input_rates()[input]));
                    }
                    assert_eq!(view.input_rate(5), None);
                    for output in 0..4 {
                        assert_eq!(view.output_rate(output), now.output_rate(output));
                        for &j in &watched {
                            assert_eq!(view.hidden_rate(j), Some(stepped.hidden_rates()[j]));
                            let process = Some(stepped.process(output, j));
                            assert_eq!(view.process(output, j), process);
                            let synapse = Some(stepped.synapse_weight(output, j));
                            assert_eq!(view.synapse_weight(output, j), synapse);
                        }
                        assert_eq!(view.process(output, 1), None, "not watched");
                        assert_eq!(view.hidden_rate(hidden), None, "out of range");
                    }
                }
                assert_eq!(stepped.step_index(), blocked.step_index());
            }
            for other in [&blocks, &whole] {
                assert_eq!(other.step_index(), single.step_index());
                assert_eq!(other.output(), single.output(), "{map:?}");
                assert_eq!(other.hidden_rates(), single.hidden_rates(), "{map:?}");
                assert_eq!(other.process_drive(), single.process_drive(), "{map:?}");
                assert_eq!(other.output_rates(), single.output_rates(), "{map:?}");
                assert_eq!(other.calcium().to_bits(), single.calcium().to_bits());
                for tau in 0..3 {
                    assert_eq!(other.eligibility(tau), single.eligibility(tau));
                }
            }
            assert!(single.output().rows_completed() == 3 && single.calcium() > 0.0);
        }
    }

    /// Late in a long read slot u, z and h stop moving and the kernel reuses what it computed
    /// (`euler::ChunkMemo`). A run that forgets the memo before every step gives the same bits.
    #[test]
    fn reusing_what_stands_still_changes_no_bit() {
        let seq = Sequence::gaussian(3, 5, 4, 1.0);
        for (map, schedule, decay, heterogeneity, ablation) in [
            (
                FeatureMap::Positive,
                Schedule::Bidirectional,
                0.0,
                0.0,
                Ablation::None,
            ),
            (FeatureMap::Oprf, Schedule::Causal, 0.0, 0.3, Ablation::None),
            (
                FeatureMap::Cosine,
                Schedule::Bidirectional,
                0.0,
                0.0,
                Ablation::ShuffledProcesses,
            ),
            (
                FeatureMap::Hyperbolic,
                Schedule::Causal,
                0.001,
                0.0,
                Ablation::FrozenCalcium,
            ),
        ] {
            let params = Params {
                m: 9_000,
                feature_map: map,
                schedule,
                decay,
                heterogeneity,
                ablation,
                t_write: 10.0,
                t_read: 400.0,
                ..Params::default()
            };
            let mut memo = sim(&params, &seq);
            let mut fresh = sim(&params, &seq);
            let mut still_seen = false;
            while memo.step_block(16) > 0 {
                still_seen |= memo.memo.iter().all(ChunkMemo::stands_still);
                while fresh.step_index() < memo.step_index() {
                    fresh.memo.fill(ChunkMemo::default());
                    fresh.step();
                }
                assert_eq!(memo.calcium().to_bits(), fresh.calcium().to_bits());
                assert_eq!(memo.hidden_rates(), fresh.hidden_rates(), "{map:?}");
                assert_eq!(memo.process_drive(), fresh.process_drive(), "{map:?}");
                assert_eq!(memo.output_rates(), fresh.output_rates(), "{map:?}");
            }
            assert_eq!(memo.output(), fresh.output(), "{map:?}");
            for tau in 0..3 {
                assert_eq!(memo.eligibility(tau), fresh.eligibility(tau));
            }
            // λ > 0 moves e every step, so e_τ·h never stands still.
            assert_eq!(
                still_seen,
                decay == 0.0,
                "{map:?}: the shortcut was (not) taken"
            );
        }
    }

    #[test]
    fn a_step_advances_time_by_dt_and_reads_fill_rows() {
        let seq = Sequence::gaussian(2, 4, 9, 1.0);
        let mut s = sim(&Params::default(), &seq);
        s.step();
        assert_eq!(s.time_ms(), 0.5);
        s.step_slot();
        assert_eq!(s.time_ms(), 50.0);
        assert_eq!(s.output().rows_completed(), 0);
        s.run_to_end();
        assert_eq!(s.output().rows_completed(), 2);
        assert!(s.step().is_none());
        assert_eq!(s.time_ms(), 2.0 * 50.0 + 2.0 * 400.0);
    }
}
