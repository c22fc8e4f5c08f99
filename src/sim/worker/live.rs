//! The running simulation, one head or a whole layer, behind one type ([`Live`]), and the one
//! build path from a [`Source`] and parameters to it ([`build`]). Loading an experiment,
//! applying parameters, Reset, opening a saved state and the timeline's scrub simulation all
//! build here; the difference between one head and a layer lives in this file and nowhere else.

use crate::data::experiment::Experiment;
use crate::data::source::{load_layer, load_sequence};
use crate::data::spec::SourceSpec;
use crate::model::ModelError;
use crate::model::layer::{LayerSimulation, layer_memory_estimate};
use crate::model::network::memory_estimate;
use crate::model::params::LiveParams;
use crate::model::params::{Heads, Params, Reload};
use crate::model::sequence::Sequence;
use crate::model::simulation::Simulation;
use crate::sim::layer::{LayerRun, LayerSnapshot};
use crate::sim::trace::TraceSample;
use std::sync::Arc;

/// Where a run's sequence comes from: the experiment (read again when a parameter changes the
/// sequence, e.g. the seed of synthetic data), or a sequence handed over directly.
#[derive(Default)]
pub struct Source {
    /// None for a sequence handed over directly.
    pub experiment: Option<Experiment>,
    /// The shown head's sequence of the current build.
    pub sequence: Option<Arc<Sequence>>,
}

impl Source {
    /// An experiment whose sequence has not been read yet.
    pub fn experiment(experiment: Experiment) -> Self {
        Source {
            experiment: Some(experiment),
            sequence: None,
        }
    }

    /// A sequence made elsewhere, with no experiment to read it again from.
    pub fn sequence(sequence: Arc<Sequence>) -> Self {
        Source {
            experiment: None,
            sequence: Some(sequence),
        }
    }

    /// The sequence for `params`: read from the experiment, or the one handed over.
    fn load(&self, params: &Params) -> Result<Arc<Sequence>, String> {
        match &self.experiment {
            Some(experiment) => {
                load_sequence(&experiment.source, experiment.text.as_deref(), params)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            }
            None => self
                .sequence
                .clone()
                .ok_or_else(|| "no sequence is loaded".to_string()),
        }
    }

    /// Whether going from `old` to `new` changes the sequence itself (seed or scale of
    /// synthetic data, or the layer/head of a real one), so that a rebuild reads it again.
    pub fn needs_reload(&self, old: &Params, new: &Params) -> bool {
        let Some(experiment) = &self.experiment else {
            return false;
        };
        let source = &experiment.source;
        let has_heads = source.has_heads()
            || matches!(source, SourceSpec::Synthetic { heads, .. } if *heads > 1);
        old.changes(new).any(|param| match param.reload {
            Reload::No => false,
            Reload::Seeded => source.depends_on_seed(),
            Reload::Heads => has_heads,
        })
    }
}

/// Builds the simulation `params` describe from `source`: a whole layer when `params.heads` is
/// all (head `params.head` shown), else one head. With `reuse`, one head runs on the sequence
/// already loaded; without, it is read again. Returns the shown head's sequence with it.
pub fn build(
    source: &Source,
    params: &Params,
    reuse: bool,
) -> Result<(Arc<Sequence>, Live), String> {
    if params.heads == Heads::All {
        let experiment = source.experiment.as_ref().ok_or_else(|| {
            "heads = all needs an experiment's source to read every head from; this sequence was handed over alone".to_string()
        })?;
        let layer = load_layer(&experiment.source, experiment.text.as_deref(), params)
            .map(Arc::new)
            .map_err(|e| e.to_string())?;
        let sim = LayerSimulation::new(params, layer.clone()).map_err(|e| e.to_string())?;
        let run = LayerRun::new(sim, params.head);
        let sequence = layer.heads[run.selected].clone();
        return Ok((sequence, Live::Layer(run)));
    }
    let sequence = match (&source.sequence, reuse) {
        (Some(sequence), true) => sequence.clone(),
        _ => source.load(params)?,
    };
    let sim = Simulation::new(params, sequence.clone()).map_err(|e| e.to_string())?;
    Ok((sequence, Live::One(sim)))
}

/// [`build`] for one head alone (the timeline's scrub simulation, a saved state): a whole
/// layer is refused.
pub fn build_one(
    source: &Source,
    params: &Params,
    reuse: bool,
) -> Result<(Arc<Sequence>, Simulation), String> {
    let (sequence, live) = build(source, params, reuse)?;
    let sim = live
        .into_one()
        .ok_or_else(|| "a whole layer (heads = all) cannot run as one head".to_string())?;
    Ok((sequence, sim))
}

/// The running simulation: one head, or a whole layer with one head selected. It dereferences
/// to the selected head, so everything that shows one head reads it unchanged; stepping, live
/// edits and the probes' watch go to every head.
pub enum Live {
    One(Simulation),
    Layer(LayerRun),
}

impl std::ops::Deref for Live {
    type Target = Simulation;
    fn deref(&self) -> &Simulation {
        match self {
            Live::One(sim) => sim,
            Live::Layer(layer) => layer.head(),
        }
    }
}

impl Live {
    /// The shown head.
    pub fn head(&self) -> &Simulation {
        self
    }

    /// The one head that runs alone, which the timeline can rewind (None for a layer).
    pub fn one(&self) -> Option<&Simulation> {
        match self {
            Live::One(sim) => Some(sim),
            Live::Layer(_) => None,
        }
    }

    pub fn one_mut(&mut self) -> Option<&mut Simulation> {
        match self {
            Live::One(sim) => Some(sim),
            Live::Layer(_) => None,
        }
    }

    /// The simulation of a one-head build (None for a layer).
    pub fn into_one(self) -> Option<Simulation> {
        match self {
            Live::One(sim) => Some(sim),
            Live::Layer(_) => None,
        }
    }

    pub fn step_block(&mut self, max_steps: u64) -> u64 {
        match self {
            Live::One(sim) => sim.step_block(max_steps),
            Live::Layer(layer) => {
                let taken = layer.sim.step_block(max_steps);
                layer.sample();
                taken
            }
        }
    }

    pub fn set_live(&mut self, live: LiveParams) -> Result<(), ModelError> {
        match self {
            Live::One(sim) => sim.set_live(live),
            Live::Layer(layer) => layer.sim.set_live(live),
        }
    }

    /// The hidden neurons the shown head records inside blocks (for the probes).
    pub fn set_watch(&mut self, hidden: &[usize]) {
        match self {
            Live::One(sim) => sim.set_watch(hidden),
            Live::Layer(layer) => {
                let selected = layer.selected;
                for h in 0..layer.sim.head_count() {
                    layer
                        .sim
                        .head_mut(h)
                        .set_watch(if h == selected { hidden } else { &[] });
                }
            }
        }
    }

    pub fn is_finished(&self) -> bool {
        match self {
            Live::One(sim) => sim.is_finished(),
            Live::Layer(layer) => layer.sim.is_finished(),
        }
    }

    /// Planned memory of the run (bytes).
    pub fn memory_bytes(&self) -> u64 {
        match self {
            Live::One(sim) => memory_estimate(sim.params(), &sim.network().sizes),
            Live::Layer(layer) => layer_memory_estimate(self.params(), layer.sim.layer()),
        }
    }

    /// Makes head `head` of a layer the shown one.
    pub fn select(&mut self, head: usize) -> Result<(), String> {
        let Live::Layer(layer) = self else {
            return Err("Only a whole layer (heads = all) has heads to choose from.".to_string());
        };
        let count = layer.sim.head_count();
        if head >= count {
            return Err(format!(
                "There is no head {head}: this layer has heads 0..={}.",
                count - 1
            ));
        }
        layer.selected = head;
        Ok(())
    }

    /// The shown head's calcium recorded so far, as trace samples of `generation` (a layer
    /// records every head as it runs; one head has nothing to replay).
    pub fn recorded_calcium(&self, generation: u64, dt: f64) -> Vec<TraceSample> {
        let Live::Layer(layer) = self else {
            return Vec::new();
        };
        layer
            .calcium_trace(layer.selected)
            .iter()
            .map(|&(time_ms, calcium)| TraceSample {
                generation,
                step: (time_ms / dt).round() as u64,
                time_ms,
                calcium,
                probes: Vec::new(),
            })
            .collect()
    }

    /// Every head of a layer, for the snapshot (None for one head).
    pub fn layer_snapshot(&mut self, rows_completed: usize) -> Option<LayerSnapshot> {
        match self {
            Live::One(_) => None,
            Live::Layer(layer) => Some(layer.snapshot(rows_completed)),
        }
    }

    pub fn is_layer(&self) -> bool {
        matches!(self, Live::Layer(_))
    }
}

/// Small runs for the owners' unit tests.
#[cfg(test)]
pub(super) mod fixture {
    use super::*;
    use crate::model::params::Heads;

    /// 4 synthetic tokens, m = 32, slots of 5 and 10 ms at dt = 0.5 ms: a run of a few hundred
    /// steps that still has every part of the schedule.
    pub fn params() -> Params {
        Params {
            m: 32,
            t_write: 5.0,
            t_read: 10.0,
            ..Params::default()
        }
    }

    fn experiment(params: &Params, heads: usize) -> Experiment {
        Experiment {
            params: params.clone(),
            source: SourceSpec::Synthetic {
                tokens: 4,
                dim: 8,
                heads,
            },
            text: None,
            description: None,
        }
    }

    /// One head, with the source it was built from.
    pub fn one(params: &Params) -> (Source, Live) {
        let mut source = Source::experiment(experiment(params, 1));
        let (sequence, live) = build(&source, params, false).unwrap();
        source.sequence = Some(sequence);
        (source, live)
    }

    /// A whole layer of two heads.
    pub fn layer() -> (Source, Live) {
        let params = Params {
            heads: Heads::All,
            ..params()
        };
        let mut source = Source::experiment(experiment(&params, 2));
        let (sequence, live) = build(&source, &params, false).unwrap();
        source.sequence = Some(sequence);
        (source, live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_build_path_serves_one_head_and_a_layer() {
        let (_, one) = fixture::one(&fixture::params());
        assert!(!one.is_layer() && one.one().is_some());
        let (source, mut layer) = fixture::layer();
        assert!(layer.is_layer() && layer.one().is_none());
        assert!(layer.select(1).is_ok());
        assert_eq!(
            layer.select(2).unwrap_err(),
            "There is no head 2: this layer has heads 0..=1."
        );
        // A sequence handed over alone cannot read every head of a layer.
        let alone = Source::sequence(source.sequence.clone().unwrap());
        let params = Params {
            heads: Heads::All,
            ..fixture::params()
        };
        assert!(build(&alone, &params, true).is_err());
        assert!(build_one(&source, &params, true).is_err());
    }

    #[test]
    fn the_table_says_which_changes_read_the_sequence_again() {
        let (source, _) = fixture::one(&fixture::params());
        let old = fixture::params();
        let reloads = |new: Params| source.needs_reload(&old, &new);
        assert!(reloads(Params {
            seed: 7,
            ..old.clone()
        }));
        assert!(reloads(Params {
            synthetic_scale: 2.0,
            ..old.clone()
        }));
        // One synthetic head: layer and head name nothing to read.
        assert!(!reloads(Params {
            head: 1,
            ..old.clone()
        }));
        assert!(!reloads(Params {
            m: 64,
            ..old.clone()
        }));
        let (layer_source, _) = fixture::layer();
        assert!(layer_source.needs_reload(
            &old,
            &Params {
                head: 1,
                ..old.clone()
            }
        ));
        let handed = Source::sequence(source.sequence.clone().unwrap());
        assert!(!handed.needs_reload(
            &old,
            &Params {
                seed: 7,
                ..old.clone()
            }
        ));
    }
}
