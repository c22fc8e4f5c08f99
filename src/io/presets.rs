//! Example experiments for classroom demonstrations, embedded from `assets/presets/`.

use super::experiment::ExperimentError;
use crate::data::experiment::Experiment;
use std::path::Path;

/// One bundled example experiment.
#[derive(Clone, Copy, Debug)]
pub struct Preset {
    /// File stem, e.g. `astrocyte-too-slow`.
    pub name: &'static str,
    /// Human title for menus.
    pub title: &'static str,
    /// The experiment file's text.
    pub toml: &'static str,
}

macro_rules! preset {
    ($name:literal, $title:literal) => {
        Preset {
            name: $name,
            title: $title,
            toml: include_str!(concat!("../../assets/presets/", $name, ".toml")),
        }
    };
}

const PRESETS: &[Preset] = &[
    preset!("paper-correspondence", "The paper's correspondence"),
    preset!(
        "calcium-tracks-normaliser",
        "The astrocyte tracks the normaliser"
    ),
    preset!("astrocyte-too-slow", "An astrocyte too slow"),
    preset!("too-few-hidden-neurons", "Too few hidden neurons"),
    preset!("no-exponential", "No exponential kernel"),
    preset!("causal-streaming", "Causal streaming"),
    preset!("heterogeneous-processes", "Heterogeneous processes"),
    preset!("learned-synapses", "Learned synapses"),
];

/// Every preset, in menu order.
pub fn presets() -> &'static [Preset] {
    PRESETS
}

/// The preset called `name`.
pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

impl Preset {
    /// The preset as an experiment.
    pub fn experiment(&self) -> Result<Experiment, ExperimentError> {
        Experiment::parse(self.toml, Path::new(&format!("preset:{}", self.name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_and_describes_itself() {
        for preset in presets() {
            let e = preset.experiment().unwrap();
            let text = e.description.as_deref().unwrap_or("");
            // Each paragraph opens with its menu title and reports what was measured; the
            // figures themselves are checked against fresh runs in tests/presets.rs.
            let opening = format!("{}. ", preset.title);
            assert!(
                text.starts_with(&opening),
                "{}: opens with its title",
                preset.name
            );
            assert!(text.to_lowercase().contains("measured"), "{}", preset.name);
            e.load_sequence().unwrap();
        }
        assert!(find("astrocyte-too-slow").is_some());
    }
}
