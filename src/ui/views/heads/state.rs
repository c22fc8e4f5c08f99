//! The all-heads overview's state, without egui: which layer and variant are shown, the batch
//! computing now and those queued after it, and every layer run kept so far. The view in the
//! parent module draws it.

use crate::data::experiment::Experiment;
use crate::data::spec::SourceSpec;
use crate::model::params::{Mode, PARAMS, Params};
use crate::sim::batch::{
    AllHeadsJob, BatchEvent, BatchRunner, HeadGrid, HeadGrids, HeadResult, Variant,
};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// Called when a batch has news (the view passes `request_repaint`).
pub type Notify = Arc<dyn Fn() + Send + Sync>;

/// A head whose attn_tv is below this is approximated well.
pub const GOOD_TV: f64 = 0.15;
/// A head whose attn_tv is at or above this is approximated poorly.
pub const POOR_TV: f64 = 0.30;

/// How the cells are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HeadOrder {
    /// Head 0, 1, 2, …
    #[default]
    ByHead,
    /// Best approximated (lowest attn_tv) first.
    ByAttnTv,
}

impl HeadOrder {
    pub fn label(self) -> &'static str {
        match self {
            HeadOrder::ByHead => "by head index",
            HeadOrder::ByAttnTv => "by attn_tv (best first)",
        }
    }
}

/// The results of one variant over one layer, and the setup they were computed for.
pub(super) struct LayerRun {
    /// Tells results apart from those of an earlier run of the same layer and variant.
    pub(super) id: u64,
    pub(super) setup: Experiment,
    /// Sorted by head.
    pub(super) heads: Vec<HeadResult>,
    pub(super) total: usize,
    pub(super) complete: bool,
}

/// The batch computing now.
pub(super) struct Active {
    pub(super) layer: usize,
    pub(super) variant: Variant,
    pub(super) runner: BatchRunner<HeadResult>,
    pub(super) done: usize,
    pub(super) total: usize,
}

/// Every layer run of the overview, and the batches computing them.
#[derive(Default)]
pub struct HeadsState {
    /// The layer shown; taken from the experiment on the first frame.
    pub(super) layer: Option<usize>,
    pub(super) order: HeadOrder,
    pub(super) shown: Option<Variant>,
    pub(super) force_algebraic: bool,
    pub(super) runs: BTreeMap<(usize, Variant), LayerRun>,
    pub(super) active: Option<Active>,
    pub(super) queue: VecDeque<(usize, Variant, Experiment)>,
    pub(super) message: Option<String>,
    grids: HeadGrids,
    notify: Option<Notify>,
    next_id: u64,
}

/// The experiment a run of `variant` over `layer` uses, with what cannot change its results
/// normalised away, so that comparing two setups tells whether results are out of date.
pub(super) fn setup_of(
    experiment: &Experiment,
    layer: usize,
    variant: Variant,
    force_algebraic: bool,
) -> Experiment {
    let mut setup = experiment.clone();
    setup.description = None;
    setup.params.layer = layer;
    setup.params.head = 0;
    variant.apply_to(&mut setup.params);
    if force_algebraic {
        setup.params.mode = Mode::Algebraic;
    }
    if setup.params.mode == Mode::Algebraic {
        // What only the dynamic run reads (time constants, slot lengths, rates) does not enter
        // the algebraic correspondence: keep it at its default so equal setups compare equal.
        let defaults = Params::default();
        for param in PARAMS.iter().filter(|p| p.dynamic_only) {
            param.copy(&defaults, &mut setup.params);
        }
    }
    setup
}

impl HeadsState {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn order(&self) -> HeadOrder {
        self.order
    }

    /// The layer shown (None before the first frame or [`Self::set_layer`]). The app opens a
    /// clicked head as (this layer, the returned head).
    pub fn layer(&self) -> Option<usize> {
        self.layer
    }

    pub fn set_layer(&mut self, layer: usize) {
        self.layer = Some(layer);
    }

    pub fn set_order(&mut self, order: HeadOrder) {
        self.order = order;
    }

    /// Runs every head in algebraic mode whatever the experiment's mode (fast, exact limit).
    pub fn set_force_algebraic(&mut self, on: bool) {
        self.force_algebraic = on;
    }

    /// Whether a batch is computing.
    pub fn is_running(&self) -> bool {
        self.active.is_some()
    }

    /// The results so far for `variant` on the shown layer, sorted by head.
    pub fn heads(&self, variant: Variant) -> &[HeadResult] {
        self.layer
            .and_then(|layer| self.runs.get(&(layer, variant)))
            .map_or(&[], |run| run.heads.as_slice())
    }

    /// The last failure, if the last batch failed.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// Starts computing every head of the shown layer for each of `variants` in turn
    /// (replacing any batch in progress). The first variant becomes the one shown.
    pub fn run(&mut self, notify: Notify, experiment: &Experiment, variants: &[Variant]) {
        self.notify = Some(notify);
        let layer = *self.layer.get_or_insert(experiment.params.layer);
        self.active = None;
        self.message = None;
        self.queue = variants
            .iter()
            .map(|&v| {
                (
                    layer,
                    v,
                    setup_of(experiment, layer, v, self.force_algebraic),
                )
            })
            .collect();
        if let Some(&first) = variants.first() {
            self.shown = Some(first);
        }
        self.start_next();
    }

    fn start_next(&mut self) {
        let Some((layer, variant, setup)) = self.queue.pop_front() else {
            return;
        };
        self.next_id += 1;
        self.runs.insert(
            (layer, variant),
            LayerRun {
                id: self.next_id,
                setup: setup.clone(),
                heads: Vec::new(),
                total: 0,
                complete: false,
            },
        );
        let setup_source = setup.source.clone();
        let notify = self.notify.clone();
        let runner = BatchRunner::all_heads(
            AllHeadsJob {
                experiment: setup,
                layer,
            },
            move || {
                if let Some(notify) = &notify {
                    notify();
                }
            },
        );
        // The batch reports the head count too; the cached grid shows it from the first frame.
        let total = match self.grids.get(&setup_source, || {}) {
            Some(Ok(Some((_, heads)))) => heads,
            _ => 0,
        };
        self.active = Some(Active {
            layer,
            variant,
            runner,
            done: 0,
            total,
        });
    }

    /// Stops the batch and drops the queued ones; the heads already computed stay.
    pub fn cancel(&mut self) {
        self.active = None;
        self.queue.clear();
    }

    /// Folds in what the batch sent since the last call (also done by `ui`).
    pub fn poll(&mut self) {
        let Some(active) = self.active.as_mut() else {
            return;
        };
        let key = (active.layer, active.variant);
        let mut ended = false;
        for event in active.runner.poll() {
            match event {
                BatchEvent::Progress { done, total } => {
                    active.done = done;
                    active.total = total;
                    if let Some(run) = self.runs.get_mut(&key) {
                        run.total = total;
                    }
                }
                BatchEvent::Result(head) => {
                    if let Some(run) = self.runs.get_mut(&key) {
                        let at = run.heads.partition_point(|h| h.head < head.head);
                        run.heads.insert(at, head);
                    }
                }
                BatchEvent::Finished => {
                    if let Some(run) = self.runs.get_mut(&key) {
                        run.complete = true;
                    }
                    ended = true;
                }
                BatchEvent::Cancelled => ended = true,
                BatchEvent::Failed(message) => {
                    self.message = Some(message);
                    self.queue.clear();
                    ended = true;
                }
            }
        }
        if ended {
            self.active = None;
            self.start_next();
        }
    }

    /// Layers and heads of `source` (None while a model folder is being read).
    pub fn grid(&mut self, source: &SourceSpec, notify: Notify) -> Option<HeadGrid> {
        self.grids.get(source, move || notify())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn bundled(m: usize) -> Experiment {
        let mut experiment = Experiment {
            source: SourceSpec::Bundled("coreference-it".into()),
            ..Experiment::default()
        };
        experiment.params.mode = Mode::Algebraic;
        experiment.params.m = m;
        experiment.params.layer = 3;
        experiment
    }

    fn quiet() -> Notify {
        Arc::new(|| {})
    }

    /// Polls until no batch is running (fails after two minutes).
    fn settle(state: &mut HeadsState) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while state.is_running() {
            assert!(Instant::now() < deadline, "the batches did not end");
            std::thread::sleep(Duration::from_millis(2));
            state.poll();
        }
    }

    #[test]
    fn setups_ignore_what_cannot_change_algebraic_results() {
        let mut a = Experiment::default();
        a.params.mode = Mode::Algebraic;
        let mut b = a.clone();
        b.params.tau_calcium = 7.0;
        b.params.head = 5;
        b.description = Some("other".into());
        let v = Variant::POSITIVE_IID;
        assert_eq!(setup_of(&a, 3, v, false), setup_of(&b, 3, v, false));
        b.params.m = 1024;
        assert_ne!(setup_of(&a, 3, v, false), setup_of(&b, 3, v, false));
        assert_ne!(setup_of(&a, 3, v, false), setup_of(&a, 2, v, false));
        // In dynamic mode the time constants matter, unless forced to algebraic.
        let mut c = Experiment::default();
        c.params.mode = Mode::Dynamic;
        let mut d = c.clone();
        d.params.tau_calcium = 7.0;
        assert_ne!(setup_of(&c, 3, v, false), setup_of(&d, 3, v, false));
        assert_eq!(setup_of(&c, 3, v, true), setup_of(&d, 3, v, true));
        // Every entry the table marks dynamic-only is ignored, and no other.
        for param in PARAMS {
            let mut e = a.clone();
            param.set_text(&mut e.params, "0.37").ok();
            if param.get(&e.params) == param.get(&a.params) {
                continue;
            }
            let same = setup_of(&a, 3, v, false) == setup_of(&e, 3, v, false);
            assert_eq!(same, param.dynamic_only, "{}", param.name);
        }
    }

    #[test]
    fn variants_run_one_after_another_and_each_keeps_its_sorted_heads() {
        let mut state = HeadsState::new();
        let experiment = bundled(16);
        let variants = [Variant::POSITIVE_IID, Variant::HYPERBOLIC_IID];
        state.run(quiet(), &experiment, &variants);
        assert_eq!(state.layer(), Some(3));
        assert_eq!(state.queue.len(), 1, "the second variant waits its turn");
        settle(&mut state);
        assert_eq!(state.message(), None);
        for variant in variants {
            let heads: Vec<usize> = state.heads(variant).iter().map(|h| h.head).collect();
            assert_eq!(heads, (0..12).collect::<Vec<_>>(), "{variant}");
            assert!(state.runs[&(3, variant)].complete);
        }
        let first = state.runs[&(3, Variant::POSITIVE_IID)].id;
        state.run(quiet(), &experiment, &[Variant::POSITIVE_IID]);
        assert!(
            state.runs[&(3, Variant::POSITIVE_IID)].id > first,
            "a new run replaces the old results"
        );
        state.cancel();
        assert!(!state.is_running());
    }

    #[test]
    fn a_failed_batch_leaves_its_message_and_drops_the_queue() {
        let mut state = HeadsState::new();
        let mut experiment = bundled(16);
        experiment.params.m = 0;
        state.run(
            quiet(),
            &experiment,
            &[Variant::POSITIVE_IID, Variant::HYPERBOLIC_IID],
        );
        settle(&mut state);
        let message = state.message().unwrap_or_default();
        assert!(
            message.contains("m must be a whole number between 1 and 16 777 216"),
            "{message}"
        );
        assert!(state.queue.is_empty());
        assert!(state.heads(Variant::HYPERBOLIC_IID).is_empty());
    }
}
