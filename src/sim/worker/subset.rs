//! Which neurons the worker shows: at most a requested number per layer, chosen as the most
//! active or as a fixed sample, always including the probed ones. What it publishes is
//! O(subset), however large m' is.

use crate::model::simulation::Simulation;
use crate::sim::command::{SubsetMode, SubsetRequest};
use crate::sim::snapshot::{NeuronState, SubsetState};
use crate::sim::trace::Probe;

/// The subset request and the scratch space its ranking reuses.
#[derive(Debug, Default)]
pub struct SubsetPicker {
    pub request: SubsetRequest,
    scratch: Vec<usize>,
}

impl SubsetPicker {
    /// The shown neurons of `sim` (always including the probes' ones) and the synapses between shown hidden and output neurons.
    pub fn pick(&mut self, sim: Option<&Simulation>, probes: &[Probe]) -> SubsetState {
        let Some(sim) = sim else {
            return SubsetState::default();
        };
        let sizes = sim.network().sizes;
        let dynamic = sim.dynamic();
        let request = &self.request;
        let mode = request.mode;
        let pinned_inputs: Vec<usize> = probes
            .iter()
            .filter_map(|p| match p {
                Probe::Input(k) => Some(*k),
                _ => None,
            })
            .collect();
        let pinned_hidden: Vec<usize> = probes.iter().filter_map(Probe::hidden).collect();
        let pinned_outputs: Vec<usize> = probes.iter().filter_map(Probe::output).collect();
        let (input_rates, hidden_rates, output_rates) = (
            dynamic.map(|d| d.input_rates()),
            dynamic.map(|d| d.hidden_rates()),
            dynamic.map(|d| d.output_rates()),
        );
        let scratch = &mut self.scratch;
        // The chosen indices of one layer, with their rates (NaN in algebraic mode).
        let mut layer = |count: usize, max: usize, rates: Option<&[f64]>, pinned: &[usize]| {
            let indices = choose(count, max, mode, rates, pinned, scratch);
            let neurons: Vec<NeuronState> = indices
                .iter()
                .map(|&index| NeuronState {
                    index,
                    rate: rates.map_or(f64::NAN, |r| r[index]),
                })
                .collect();
            (indices, neurons)
        };
        let (_, inputs) = layer(
            sizes.inputs,
            request.max_inputs,
            input_rates,
            &pinned_inputs,
        );
        let (hidden, hidden_neurons) = layer(
            sizes.hidden,
            request.max_hidden,
            hidden_rates,
            &pinned_hidden,
        );
        let (outputs, output_neurons) = layer(
            sizes.outputs,
            request.max_outputs,
            output_rates,
            &pinned_outputs,
        );
        let mut process = Vec::with_capacity(outputs.len() * hidden.len());
        let mut synapse = Vec::with_capacity(outputs.len() * hidden.len());
        for &i in &outputs {
            for &j in &hidden {
                process.push(dynamic.map_or(f64::NAN, |d| d.process(i, j)));
                synapse.push(dynamic.map_or(f64::NAN, |d| d.synapse_weight(i, j)));
            }
        }
        // φ(q̃_t) of the shown hidden neurons, O(shown × D): the graph shades them by it.
        let network = sim.network();
        let queries = &sim.sequence().queries;
        let query = request.query.filter(|&t| t < queries.nrows());
        let query_features = match query {
            Some(t) => {
                let scaled = queries
                    .row(t)
                    .mapv(|v| v / (queries.ncols() as f64).powf(0.25));
                hidden
                    .iter()
                    .map(|&j| {
                        crate::model::features::feature(
                            network.params.feature_map,
                            &network.projection,
                            &network.constants,
                            scaled.view(),
                            j,
                        )
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        SubsetState {
            mode,
            query_features,
            query,
            inputs,
            presynaptic: hidden
                .iter()
                .map(|&j| dynamic.map_or(f64::NAN, |d| d.presynaptic_weights()[j]))
                .collect(),
            hidden: hidden_neurons,
            outputs: output_neurons,
            process,
            synapse,
        }
    }
}

/// Up to `max` indices out of `count` (all of them when count ≤ max), always including
/// `pinned`, sorted. `MostActive` ranks by |rate| (ties by index); `FixedSample` spreads
/// indices evenly, so the sample stays the same for the whole run.
pub fn choose(
    count: usize,
    max: usize,
    mode: SubsetMode,
    rates: Option<&[f64]>,
    pinned: &[usize],
    scratch: &mut Vec<usize>,
) -> Vec<usize> {
    if count <= max {
        return (0..count).collect();
    }
    let mut chosen: Vec<usize> = pinned.iter().copied().filter(|&i| i < count).collect();
    chosen.sort_unstable();
    chosen.dedup();
    let room = max.saturating_sub(chosen.len());
    if room > 0 {
        match (mode, rates) {
            (SubsetMode::MostActive, Some(rates)) => {
                scratch.clear();
                scratch.extend((0..count).filter(|i| chosen.binary_search(i).is_err()));
                let rank = |a: &usize, b: &usize| {
                    rates[*b].abs().total_cmp(&rates[*a].abs()).then(a.cmp(b))
                };
                if room < scratch.len() {
                    scratch.select_nth_unstable_by(room, rank);
                    scratch.truncate(room);
                }
                chosen.extend_from_slice(scratch);
            }
            _ => {
                let mut k = 0;
                while chosen.len() < max && k < count {
                    let index = k * count / room.max(1);
                    if index >= count {
                        break;
                    }
                    if !chosen.contains(&index) {
                        chosen.push(index);
                    }
                    k += 1;
                }
            }
        }
    }
    chosen.sort_unstable();
    chosen.dedup();
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choose_takes_the_most_active_and_keeps_pins() {
        let rates = [0.1, -5.0, 0.3, 2.0, 0.0, 0.2];
        let mut scratch = Vec::new();
        let picked = choose(
            6,
            3,
            SubsetMode::MostActive,
            Some(&rates),
            &[4],
            &mut scratch,
        );
        assert_eq!(picked, [1, 3, 4]);
        let fixed = choose(100, 4, SubsetMode::FixedSample, None, &[], &mut scratch);
        assert_eq!(fixed, [0, 25, 50, 75]);
        assert_eq!(
            choose(3, 8, SubsetMode::MostActive, None, &[], &mut scratch),
            [0, 1, 2]
        );
    }
}
