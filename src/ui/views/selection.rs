//! What the user has clicked in the graph, and which traces that asks the worker for.

use crate::sim::Probe;

/// A selected item of the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    Input(usize),
    Hidden(usize),
    Output(usize),
    /// The tripartite synapse from hidden neuron `hidden` to output neuron `output`.
    Synapse {
        output: usize,
        hidden: usize,
    },
    Astrocyte,
}

impl Selection {
    /// The values traced while this item is selected (the astrocyte's calcium is always traced).
    pub fn probes(&self) -> Vec<Probe> {
        match *self {
            Selection::Input(k) => vec![Probe::Input(k)],
            Selection::Hidden(j) => vec![Probe::Hidden(j)],
            Selection::Output(i) => vec![Probe::Output(i)],
            Selection::Synapse { output, hidden } => vec![
                Probe::Process { output, hidden },
                Probe::Hidden(hidden),
                Probe::Output(output),
                Probe::Synapse { output, hidden },
            ],
            Selection::Astrocyte => Vec::new(),
        }
    }

    /// In words, e.g. "the synapse hidden 17 → output 3".
    pub fn describe(&self) -> String {
        match *self {
            Selection::Input(k) => format!("input neuron {k}"),
            Selection::Hidden(j) => format!("hidden neuron {j}"),
            Selection::Output(i) => format!("output neuron {i}"),
            Selection::Synapse { output, hidden } => {
                format!("synapse from hidden {hidden} to output {output}")
            }
            Selection::Astrocyte => "the astrocyte".to_string(),
        }
    }
}
