//! What is traced over time: the items a user probes ([`Probe`]) and one sample of them with
//! the astrocyte's calcium ([`TraceSample`]). The worker publishes samples, headless runs record
//! them for `trace.csv`, and state files keep them; so this sits below all three.

use crate::model::dynamic::BlockStep;

/// One item whose value is traced over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Probe {
    /// Input neuron rate u_k.
    Input(usize),
    /// Hidden neuron rate h_j.
    Hidden(usize),
    /// Output neuron rate y_i.
    Output(usize),
    /// Astrocyte process p_ij at the tripartite synapse hidden j → output i.
    Process { output: usize, hidden: usize },
    /// Synaptic weight H_ij.
    Synapse { output: usize, hidden: usize },
}

impl Probe {
    /// A short name with the spec's symbol, e.g. "process p[3,17]".
    pub fn label(&self) -> String {
        match self {
            Probe::Input(k) => format!("input u[{k}]"),
            Probe::Hidden(j) => format!("hidden h[{j}]"),
            Probe::Output(i) => format!("output y[{i}]"),
            Probe::Process { output, hidden } => format!("process p[{output},{hidden}]"),
            Probe::Synapse { output, hidden } => format!("weight H[{output},{hidden}]"),
        }
    }

    /// The hidden neuron this probe involves, if any.
    pub fn hidden(&self) -> Option<usize> {
        match *self {
            Probe::Hidden(j) => Some(j),
            Probe::Process { hidden, .. } | Probe::Synapse { hidden, .. } => Some(hidden),
            _ => None,
        }
    }

    /// The output neuron this probe involves, if any.
    pub fn output(&self) -> Option<usize> {
        match *self {
            Probe::Output(i) => Some(i),
            Probe::Process { output, .. } | Probe::Synapse { output, .. } => Some(output),
            _ => None,
        }
    }
}

/// One trace sample: the astrocyte's calcium, and the probes' values, after one step. The
/// worker publishes these; headless runs record them (without probes) for `trace.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceSample {
    pub generation: u64,
    /// Steps taken when the sample was recorded.
    pub step: u64,
    pub time_ms: f64,
    /// c / (η T_write).
    pub calcium: f64,
    /// Values of the probes at this step.
    pub probes: Vec<(Probe, f64)>,
}

impl TraceSample {
    /// The sample of `state` (probes outside the network are left out).
    pub fn record(generation: u64, probes: &[Probe], state: BlockStep<'_>) -> TraceSample {
        let probes = probes
            .iter()
            .filter_map(|&probe| {
                let value = match probe {
                    Probe::Input(k) => state.input_rate(k),
                    Probe::Hidden(j) => state.hidden_rate(j),
                    Probe::Output(i) => state.output_rate(i),
                    Probe::Process { output, hidden } => state.process(output, hidden),
                    Probe::Synapse { output, hidden } => state.synapse_weight(output, hidden),
                }?;
                Some((probe, value))
            })
            .collect();
        TraceSample {
            generation,
            step: state.step_index(),
            time_ms: state.time_ms(),
            calcium: state.calcium_normalised(),
            probes,
        }
    }
}
