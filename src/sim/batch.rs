//! Batches of headless runs on their own thread: every head of one layer, or attn_tv against
//! m over seeds and random-feature variants. Results stream back over a channel as each run
//! completes, so a view can draw them while the rest are still computing. Each kind of job has
//! its own event type ([`HeadsEvent`], [`SweepEvent`]), so a listener only sees its results.
//!
//! The same thread looks up a model folder's layers and heads ([`HeadGrids`]), so the UI
//! thread never waits for a model to load.
//!
//! The runner owns nothing the interactive [`super::Worker`] owns: each run builds its own
//! [`Simulation`], runs it to the end and is dropped. Runs inside a batch go in parallel on
//! rayon's pool. Every result is a pure function of the job (the model is deterministic), so
//! only the order in which results arrive depends on the thread count.

use super::thread::{lock, panic_message};
use crate::data::error::SequenceError;
use crate::data::experiment::Experiment;
use crate::data::source::head_grid;
use crate::data::source::load_sequence;
use crate::data::spec::SourceSpec;
use crate::model::metrics::Metrics;
use crate::model::params::{FeatureMap, Mode, Params, Projection};
use crate::model::sequence::Sequence;
use crate::model::simulation::Simulation;
use ndarray::Array2;
use rayon::prelude::*;
use std::fmt;
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A random-feature variant: which feature map φ and which projection W.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variant {
    pub feature_map: FeatureMap,
    pub projection: Projection,
}

impl Variant {
    /// The paper's choice (Performer FAVOR+ with i.i.d. Gaussian rows).
    pub const POSITIVE_IID: Variant = Variant {
        feature_map: FeatureMap::Positive,
        projection: Projection::Iid,
    };
    pub const HYPERBOLIC_IID: Variant = Variant {
        feature_map: FeatureMap::Hyperbolic,
        projection: Projection::Iid,
    };
    pub const POSITIVE_ORTHOGONAL: Variant = Variant {
        feature_map: FeatureMap::Positive,
        projection: Projection::Orthogonal,
    };
    pub const HYPERBOLIC_ORTHOGONAL: Variant = Variant {
        feature_map: FeatureMap::Hyperbolic,
        projection: Projection::Orthogonal,
    };
    /// The variants the views offer to compare, the paper's first.
    pub const COMPARED: [Variant; 4] = [
        Variant::POSITIVE_IID,
        Variant::HYPERBOLIC_IID,
        Variant::POSITIVE_ORTHOGONAL,
        Variant::HYPERBOLIC_ORTHOGONAL,
    ];

    /// The variant `params` describe.
    pub fn of(params: &Params) -> Variant {
        Variant {
            feature_map: params.feature_map,
            projection: params.projection,
        }
    }

    /// Sets the feature map and projection of `params`.
    pub fn apply_to(self, params: &mut Params) {
        params.feature_map = self.feature_map;
        params.projection = self.projection;
    }
}

impl Variant {
    /// Position in display order: feature map first, then projection (as in their `ALL` lists),
    /// learned files last in the order they were registered. Two variants rank equal only when
    /// they are equal, so a map keyed by variant never merges two learned files.
    fn rank(self) -> (usize, usize, Option<crate::model::learned::LearnedId>) {
        let feature = FeatureMap::ALL.iter().position(|&f| f == self.feature_map);
        let projection = Projection::ALL.iter().position(|&p| p == self.projection);
        let learned = match self.projection {
            Projection::Learned(id) => Some(id),
            _ => None,
        };
        (
            feature.unwrap_or(usize::MAX),
            projection.unwrap_or(usize::MAX),
            learned,
        )
    }
}

impl Ord for Variant {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl PartialOrd for Variant {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::hash::Hash for Variant {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.rank().hash(state);
    }
}

impl fmt::Display for Variant {
    /// `positive/iid`, as in the CSV export.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.feature_map, self.projection)
    }
}

/// Every head of `layer` of the experiment's real-text source, with the experiment's
/// parameters (and mode) otherwise unchanged.
#[derive(Clone, Debug)]
pub struct AllHeadsJob {
    pub experiment: Experiment,
    pub layer: usize,
}

/// attn_tv against m: for every variant, m and seed (seed, seed+1, … seed+seeds−1, as
/// `tripartite sweep --seeds` counts them), one run in algebraic mode.
#[derive(Clone, Debug)]
pub struct SweepJob {
    pub experiment: Experiment,
    pub m_values: Vec<usize>,
    pub seeds: u32,
    pub variants: Vec<Variant>,
}

/// One head's run: the transformer's attention next to the network's, and the metrics.
#[derive(Clone, Debug)]
pub struct HeadResult {
    pub layer: usize,
    pub head: usize,
    pub variant: Variant,
    pub mode: Mode,
    /// Number of random features m.
    pub m: usize,
    pub tokens: Vec<String>,
    /// A_soft (N × N).
    pub softmax_attention: Array2<f64>,
    /// A_net (N × N).
    pub network_attention: Array2<f64>,
    /// c_t per query, in softmax-normaliser units.
    pub calcium: Vec<f64>,
    /// Z_t per query.
    pub normaliser: Vec<f64>,
    pub metrics: Metrics,
    /// The head's neuron budget ([`super::budget::BudgetSpec::grid`]); None when it failed.
    pub budget: Option<super::budget::BudgetFit>,
    /// With a learned projection that holds this head: the learned network against that
    /// budget (the random m with the same attn_tv).
    pub learned: Option<super::budget::LearnedEquivalent>,
}

/// One run of an m sweep.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SweepPoint {
    pub variant: Variant,
    /// Number of random features m.
    pub m: usize,
    pub seed: u64,
    pub metrics: Metrics,
}

/// What a runner reports, in order: `Progress { done: 0, .. }` once the size is known, then
/// every result followed by the progress it makes, and finally exactly one of `Finished`,
/// `Cancelled` or `Failed`. `R` is the job's result.
#[derive(Clone, Debug)]
pub enum BatchEvent<R> {
    /// `done` of `total` runs have completed.
    Progress {
        done: usize,
        total: usize,
    },
    Result(R),
    Finished,
    /// The batch stopped because [`BatchRunner::cancel`] was called.
    Cancelled,
    /// The batch stopped on a bad job or an internal error; one sentence for the user.
    Failed(String),
}

/// What an [`AllHeadsJob`] reports.
pub type HeadsEvent = BatchEvent<HeadResult>;
/// What a [`SweepJob`] reports.
pub type SweepEvent = BatchEvent<SweepPoint>;

impl<R> BatchEvent<R> {
    /// Whether this is the last event of a batch.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            BatchEvent::Finished | BatchEvent::Cancelled | BatchEvent::Failed(_)
        )
    }
}

/// Handle to one batch on its own thread. Dropping it cancels the batch without waiting: the
/// thread stops at its next check (between Euler slots, or between algebraic runs).
pub struct BatchRunner<R> {
    events: Receiver<BatchEvent<R>>,
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl BatchRunner<HeadResult> {
    /// Starts `job` on a new thread. `notify` is called after every event sent (the UI passes
    /// `request_repaint`).
    pub fn all_heads(job: AllHeadsJob, notify: impl Fn() + Send + Sync + 'static) -> Self {
        Self::start_with(
            move |out| all_heads(&job.experiment, job.layer, out),
            notify,
        )
    }
}

impl BatchRunner<SweepPoint> {
    /// Starts `job` on a new thread. `notify` is called after every event sent.
    pub fn sweep(job: SweepJob, notify: impl Fn() + Send + Sync + 'static) -> Self {
        Self::start_with(
            move |out| {
                m_sweep(
                    &job.experiment,
                    &job.m_values,
                    job.seeds,
                    &job.variants,
                    out,
                )
            },
            notify,
        )
    }
}

impl<R: Send + 'static> BatchRunner<R> {
    /// Runs any batch body on the runner's thread, with its panic catching and final event.
    fn start_with(
        body: impl FnOnce(&Output<R>) -> Result<(), Stop> + Send + 'static,
        notify: impl Fn() + Send + Sync + 'static,
    ) -> Self {
        let (sender, events) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let out = Output {
            sender: Mutex::new(sender),
            notify: Box::new(notify),
            cancel: cancel.clone(),
            done: Mutex::new(0),
        };
        let thread = std::thread::Builder::new()
            .name("tripartite-batch".into())
            .spawn(move || {
                let last = match catch_unwind(AssertUnwindSafe(|| body(&out))) {
                    Ok(Ok(())) => BatchEvent::Finished,
                    Ok(Err(Stop::Cancelled)) => BatchEvent::Cancelled,
                    Ok(Err(Stop::Failed(message))) => BatchEvent::Failed(message),
                    Err(payload) => BatchEvent::Failed(format!(
                        "the batch stopped on an internal error: {}",
                        panic_message(payload.as_ref())
                    )),
                };
                out.send(last);
            })
            .expect("the OS can start a thread");
        BatchRunner {
            events,
            cancel,
            thread: Some(thread),
        }
    }
}

impl<R> BatchRunner<R> {
    /// Every event sent since the last call, without blocking.
    pub fn poll(&self) -> Vec<BatchEvent<R>> {
        self.events.try_iter().collect()
    }

    /// The next event, waiting at most `timeout`; None on timeout or after the final event.
    pub fn next_event(&self, timeout: Duration) -> Option<BatchEvent<R>> {
        self.events.recv_timeout(timeout).ok()
    }

    /// Asks the batch to stop; it then sends `Cancelled` (unless it had already ended).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether the thread is still working.
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Blocks until the batch ends and returns every event not yet taken (for headless use).
    pub fn wait(mut self) -> Vec<BatchEvent<R>> {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.poll()
    }
}

impl<R> Drop for BatchRunner<R> {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// Why a batch body stopped early.
enum Stop {
    Cancelled,
    Failed(String),
}

/// The sending side, shared by the parallel runs.
struct Output<R> {
    sender: Mutex<Sender<BatchEvent<R>>>,
    notify: Box<dyn Fn() + Send + Sync>,
    cancel: Arc<AtomicBool>,
    /// Runs completed; behind a lock so that results and progress go out in order.
    done: Mutex<usize>,
}

impl<R> Output<R> {
    fn send(&self, event: BatchEvent<R>) {
        // A dropped receiver only means nobody is listening any more.
        let _ = lock(&self.sender).send(event);
        (self.notify)();
    }

    fn check(&self) -> Result<(), Stop> {
        if self.cancel.load(Ordering::Relaxed) {
            Err(Stop::Cancelled)
        } else {
            Ok(())
        }
    }

    fn start(&self, total: usize) {
        self.send(BatchEvent::Progress { done: 0, total });
    }

    /// Sends one result, then the progress it makes.
    fn complete(&self, result: R, total: usize) {
        let mut done = lock(&self.done);
        *done += 1;
        self.send(BatchEvent::Result(result));
        self.send(BatchEvent::Progress { done: *done, total });
    }
}

/// Builds and runs one simulation to the end with the headless runs' loop
/// ([`super::run::run_to_end`]), checking for cancellation between blocks of steps.
fn run_to_end<R>(
    params: &Params,
    sequence: Arc<Sequence>,
    out: &Output<R>,
) -> Result<Simulation, Stop> {
    let mut simulation =
        Simulation::new(params, sequence).map_err(|e| Stop::Failed(e.to_string()))?;
    out.check()?;
    match super::run::run_to_end(&mut simulation, |_| match out.check() {
        Ok(()) => ControlFlow::Continue(()),
        Err(stop) => ControlFlow::Break(stop),
    }) {
        ControlFlow::Continue(()) => Ok(simulation),
        ControlFlow::Break(stop) => Err(stop),
    }
}

fn all_heads(experiment: &Experiment, layer: usize, out: &Output<HeadResult>) -> Result<(), Stop> {
    let fail = |message: String| Stop::Failed(message);
    let (layers, heads) = head_grid(&experiment.source)
        .map_err(|e| fail(e.to_string()))?
        .ok_or_else(|| {
            fail(format!(
                "'{}' has no attention heads to compare; choose a bundled: or model: sequence",
                experiment.source
            ))
        })?;
    if layer >= layers {
        return Err(fail(format!(
            "layer {layer} does not exist: this model has layers 0..={}",
            layers.saturating_sub(1)
        )));
    }
    experiment
        .params
        .validate()
        .map_err(|e| fail(e.to_string()))?;
    // A learned file holds some heads of one layer: those run, the others have no learned
    // synapses to run with (they are not a failure of the whole batch).
    let covered: Vec<usize> = match experiment.params.projection {
        Projection::Learned(id) => {
            let file = crate::model::learned::file(id);
            let name = crate::model::learned::path(id);
            if file.layer != layer {
                return Err(fail(format!(
                    "{name} holds learned synapses for layer {}, not layer {layer}; choose layer {} or learn this one with `tripartite learn`",
                    file.layer, file.layer
                )));
            }
            (0..heads).filter(|&h| file.holds(layer, h)).collect()
        }
        _ => (0..heads).collect(),
    };
    let total = covered.len();
    out.start(total);
    covered.into_par_iter().try_for_each(|head| {
        out.check()?;
        let mut params = experiment.params.clone();
        params.layer = layer;
        params.head = head;
        let sequence = load_sequence(&experiment.source, experiment.text.as_deref(), &params)
            .map_err(|e| fail(format!("layer {layer}, head {head}: {e}")))?;
        let simulation =
            run_to_end(&params, Arc::new(sequence), out).map_err(|stop| match stop {
                Stop::Failed(e) => fail(format!("layer {layer}, head {head}: {e}")),
                cancelled => cancelled,
            })?;
        let output = simulation.output();
        let reference = simulation.reference();
        let budget = super::budget::head_budget(
            &params,
            simulation.sequence(),
            &super::budget::BudgetSpec::grid(),
        )
        .ok();
        let result = HeadResult {
            layer,
            head,
            variant: Variant::of(&params),
            mode: params.mode,
            m: params.m,
            tokens: simulation.sequence().tokens.clone(),
            softmax_attention: reference.attention.clone(),
            network_attention: output.attention.clone(),
            calcium: output.calcium.clone(),
            normaliser: reference.normaliser(),
            metrics: simulation.metrics(),
            budget: budget.as_ref().map(|b| b.fit),
            learned: budget.and_then(|b| b.learned),
        };
        out.complete(result, total);
        Ok(())
    })
}

fn m_sweep(
    experiment: &Experiment,
    m_values: &[usize],
    seeds: u32,
    variants: &[Variant],
    out: &Output<SweepPoint>,
) -> Result<(), Stop> {
    let fail = |message: String| Stop::Failed(message);
    if m_values.is_empty() {
        return Err(fail("the sweep needs at least one value of m".into()));
    }
    if seeds == 0 {
        return Err(fail("the sweep needs at least one seed".into()));
    }
    if variants.is_empty() {
        return Err(fail("the sweep needs at least one variant".into()));
    }
    let base = &experiment.params;
    let seed_values: Vec<u64> = (0..u64::from(seeds))
        .map(|k| base.seed.wrapping_add(k))
        .collect();
    // Validate every m before any work, so a bad value fails at once with its own message.
    for &m in m_values {
        let mut params = base.clone();
        params.mode = Mode::Algebraic;
        params.m = m;
        params.validate().map_err(|e| fail(e.to_string()))?;
    }
    // The sequence depends on the seed only for synthetic sources; load each distinct one once.
    let sequences: Vec<Arc<Sequence>> = if experiment.source.depends_on_seed() {
        seed_values
            .iter()
            .map(|&seed| {
                let mut params = base.clone();
                params.seed = seed;
                load_with(experiment, &params)
            })
            .collect::<Result<_, _>>()
    } else {
        load_with(experiment, base).map(|s| vec![s])
    }
    .map_err(|e| fail(e.to_string()))?;
    let mut tasks = Vec::new();
    for &variant in variants {
        for &m in m_values {
            for (k, &seed) in seed_values.iter().enumerate() {
                tasks.push((
                    variant,
                    m,
                    seed,
                    sequences[k.min(sequences.len() - 1)].clone(),
                ));
            }
        }
    }
    let total = tasks.len();
    out.start(total);
    tasks
        .into_par_iter()
        .try_for_each(|(variant, m, seed, sequence)| {
            out.check()?;
            let mut params = base.clone();
            params.mode = Mode::Algebraic;
            params.m = m;
            params.seed = seed;
            variant.apply_to(&mut params);
            let simulation = run_to_end(&params, sequence, out).map_err(|stop| match stop {
                Stop::Failed(e) => fail(format!("{variant}, m = {m}, seed {seed}: {e}")),
                cancelled => cancelled,
            })?;
            let point = SweepPoint {
                variant,
                m,
                seed,
                metrics: simulation.metrics(),
            };
            out.complete(point, total);
            Ok(())
        })
}

/// Layers and heads per layer of a source: `None` for sources with a single head, or the
/// reason it could not be read, as one sentence.
pub type HeadGrid = Result<Option<(usize, usize)>, String>;

/// Layers and heads per layer of the current source, looked up once per source. A model
/// folder is read on a batch thread (loading a model takes seconds, under a lock the worker
/// shares); the bundled sentences answer at once from the bundle inside the binary.
#[derive(Default)]
pub struct HeadGrids {
    source: Option<SourceSpec>,
    ready: Option<HeadGrid>,
    lookup: Option<BatchRunner<Option<(usize, usize)>>>,
}

impl HeadGrids {
    /// The grid of `source`, or `None` while a lookup is running (`notify` is called when it
    /// answers).
    pub fn get(
        &mut self,
        source: &SourceSpec,
        notify: impl Fn() + Send + Sync + 'static,
    ) -> Option<HeadGrid> {
        if self.source.as_ref() != Some(source) {
            self.source = Some(source.clone());
            self.ready = None;
            self.lookup = None;
            match source {
                SourceSpec::Model(_) | SourceSpec::Image { model: Some(_), .. } => {
                    let source = source.clone();
                    self.lookup = Some(BatchRunner::start_with(
                        move |out| {
                            out.start(1);
                            let grid =
                                head_grid(&source).map_err(|e| Stop::Failed(e.to_string()))?;
                            out.complete(grid, 1);
                            Ok(())
                        },
                        notify,
                    ));
                }
                _ => self.ready = Some(head_grid(source).map_err(|e| e.to_string())),
            }
        }
        if let Some(lookup) = &self.lookup {
            for event in lookup.poll() {
                match event {
                    BatchEvent::Result(grid) => self.ready = Some(Ok(grid)),
                    BatchEvent::Failed(message) => self.ready = Some(Err(message)),
                    _ => {}
                }
            }
            if self.ready.is_some() {
                self.lookup = None;
            }
        }
        self.ready.clone()
    }
}

/// Loads the experiment's sequence under other parameters (seed, layer, head).
fn load_with(experiment: &Experiment, params: &Params) -> Result<Arc<Sequence>, SequenceError> {
    load_sequence(&experiment.source, experiment.text.as_deref(), params).map(Arc::new)
}

#[cfg(test)]
mod tests {

    #[test]
    fn two_learned_files_are_two_variants_in_order_and_in_a_map() {
        use crate::model::learned;
        let a = learned::register("bundled:layer3-head1-m256").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("copy.safetensors");
        std::fs::write(
            &copy,
            include_bytes!("../../assets/learn/layer3-head1-m256.safetensors"),
        )
        .unwrap();
        let b = learned::register(copy.to_str().unwrap()).unwrap();
        assert_ne!(a, b, "two paths, two registrations");
        let variant = |id| Variant {
            feature_map: FeatureMap::Positive,
            projection: Projection::Learned(id),
        };
        assert_ne!(variant(a), variant(b));
        assert_ne!(
            variant(a).cmp(&variant(b)),
            std::cmp::Ordering::Equal,
            "Ord agrees with Eq"
        );
        assert!(
            Variant::POSITIVE_ORTHOGONAL < variant(a),
            "learned files come last"
        );
        let map: std::collections::BTreeMap<Variant, usize> =
            [(variant(a), 1), (variant(b), 2)].into_iter().collect();
        assert_eq!(map.len(), 2, "a map keyed by variant keeps both files");
    }
    use super::*;
    use crate::data::spec::SourceSpec;

    const WAIT: Duration = Duration::from_secs(120);

    fn bundled(mode: Mode, m: usize) -> Experiment {
        let mut experiment = Experiment {
            source: SourceSpec::Bundled("coreference-it".into()),
            ..Experiment::default()
        };
        experiment.params.mode = mode;
        experiment.params.m = m;
        experiment
    }

    /// Every event until the final one.
    fn collect<R>(runner: &BatchRunner<R>) -> Vec<BatchEvent<R>> {
        let mut events = Vec::new();
        while let Some(event) = runner.next_event(WAIT) {
            let last = event.is_final();
            events.push(event);
            if last {
                break;
            }
        }
        events
    }

    fn progress<R>(events: &[BatchEvent<R>]) -> Vec<(usize, usize)> {
        events
            .iter()
            .filter_map(|e| match e {
                BatchEvent::Progress { done, total } => Some((*done, *total)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_learned_file_runs_the_heads_it_holds_and_names_its_layer_otherwise() {
        let id = crate::model::learned::register("bundled:layer3-head1-m256").unwrap();
        let mut experiment = bundled(Mode::Algebraic, 256);
        experiment.params.projection = Projection::Learned(id);
        let run = |layer| {
            collect(&BatchRunner::all_heads(
                AllHeadsJob {
                    experiment: experiment.clone(),
                    layer,
                },
                || {},
            ))
        };
        // Layer 3: head 1 alone runs (the file holds no other), and the batch finishes.
        let events = run(3);
        assert!(
            matches!(events.last(), Some(BatchEvent::Finished)),
            "{events:?}"
        );
        let heads: Vec<usize> = events
            .iter()
            .filter_map(|e| match e {
                BatchEvent::Result(h) => Some(h.head),
                _ => None,
            })
            .collect();
        assert_eq!(heads, [1]);
        assert_eq!(progress(&events).last(), Some(&(1, 1)));
        // Another layer: one sentence naming the file's layer.
        match run(2).last() {
            Some(BatchEvent::Failed(message)) => assert!(
                message.contains("holds learned synapses for layer 3, not layer 2"),
                "{message}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn all_heads_runs_every_head_and_matches_a_single_run() {
        let experiment = bundled(Mode::Algebraic, 64);
        let runner = BatchRunner::all_heads(
            AllHeadsJob {
                experiment: experiment.clone(),
                layer: 3,
            },
            || {},
        );
        let events = collect(&runner);
        assert!(
            matches!(events.last(), Some(BatchEvent::Finished)),
            "{events:?}"
        );
        let mut heads: Vec<HeadResult> = events
            .iter()
            .filter_map(|e| match e {
                BatchEvent::Result(h) => Some(h.clone()),
                _ => None,
            })
            .collect();
        heads.sort_by_key(|h| h.head);
        assert_eq!(
            heads.iter().map(|h| h.head).collect::<Vec<_>>(),
            (0..12).collect::<Vec<_>>()
        );
        let steps = progress(&events);
        assert_eq!(steps.first(), Some(&(0, 12)));
        assert_eq!(steps.last(), Some(&(12, 12)));
        assert!(steps.windows(2).all(|w| w[1].0 == w[0].0 + 1), "{steps:?}");

        // Head 1 equals what a single run of that head gives, bit for bit.
        let mut single = experiment.clone();
        single.params.layer = 3;
        single.params.head = 1;
        let sequence = Arc::new(single.load_sequence().unwrap());
        let mut simulation = Simulation::new(&single.params, sequence).unwrap();
        simulation.run_to_end();
        let head = &heads[1];
        assert_eq!(head.metrics, simulation.metrics());
        assert_eq!(head.network_attention, simulation.output().attention);
        assert_eq!(head.softmax_attention, simulation.reference().attention);
        assert_eq!(head.tokens, simulation.sequence().tokens);
        assert_eq!(head.tokens.len(), head.network_attention.nrows());
        // Measured: `tripartite run --set mode=algebraic --set m=64 --set layer=3 --set head=1
        // --json` gives attn_tv 0.47836.
        let tv = head.metrics.attn_tv;
        assert!((tv - 0.47836).abs() < 5e-6, "attn_tv {tv}");
        // Different heads attend differently.
        assert_ne!(heads[0].softmax_attention, heads[1].softmax_attention);
    }

    #[test]
    fn m_sweep_reports_every_point_deterministically() {
        let job = || SweepJob {
            experiment: bundled(Mode::Dynamic, 256),
            m_values: vec![16, 64],
            seeds: 2,
            variants: vec![Variant::POSITIVE_IID, Variant::HYPERBOLIC_ORTHOGONAL],
        };
        let points = |events: &[SweepEvent]| {
            let mut points: Vec<SweepPoint> = events
                .iter()
                .filter_map(|e| match e {
                    BatchEvent::Result(p) => Some(*p),
                    _ => None,
                })
                .collect();
            points.sort_by_key(|p| (p.variant, p.m, p.seed));
            points
        };
        let first = collect(&BatchRunner::sweep(job(), || {}));
        let second = collect(&BatchRunner::sweep(job(), || {}));
        assert!(matches!(first.last(), Some(BatchEvent::Finished)));
        assert_eq!(progress(&first).last(), Some(&(8, 8)));
        let a = points(&first);
        assert_eq!(a.len(), 8);
        assert_eq!(a, points(&second));
        let seeds: Vec<u64> = a.iter().map(|p| p.seed).collect();
        assert!(seeds.contains(&1) && seeds.contains(&2), "{seeds:?}");
        // A sweep point equals the CLI's: the experiment in algebraic mode with m, seed, variant.
        let p = a
            .iter()
            .find(|p| p.variant == Variant::HYPERBOLIC_ORTHOGONAL && p.m == 64 && p.seed == 2)
            .unwrap();
        let mut params = bundled(Mode::Algebraic, 64).params;
        params.seed = 2;
        Variant::HYPERBOLIC_ORTHOGONAL.apply_to(&mut params);
        let sequence = Arc::new(bundled(Mode::Algebraic, 64).load_sequence().unwrap());
        let mut simulation = Simulation::new(&params, sequence).unwrap();
        simulation.run_to_end();
        assert_eq!(p.metrics, simulation.metrics());
    }

    #[test]
    fn synthetic_sweeps_draw_the_sequence_from_each_seed() {
        let experiment = Experiment {
            source: SourceSpec::Synthetic {
                tokens: 6,
                dim: 8,
                heads: 1,
            },
            ..Experiment::default()
        };
        let runner = BatchRunner::sweep(
            SweepJob {
                experiment: experiment.clone(),
                m_values: vec![32],
                seeds: 2,
                variants: vec![Variant::POSITIVE_IID],
            },
            || {},
        );
        let events = collect(&runner);
        let point = events
            .iter()
            .find_map(|e| match e {
                BatchEvent::Result(p) if p.seed == 2 => Some(*p),
                _ => None,
            })
            .unwrap();
        let mut params = experiment.params.clone();
        params.mode = Mode::Algebraic;
        params.m = 32;
        params.seed = 2;
        let sequence = Arc::new(load_sequence(&experiment.source, None, &params).unwrap());
        let mut simulation = Simulation::new(&params, sequence).unwrap();
        simulation.run_to_end();
        assert_eq!(point.metrics, simulation.metrics());
    }

    #[test]
    fn cancelling_stops_a_long_batch() {
        // Twelve dynamic heads take seconds even in release; cancel after the first progress.
        let runner = BatchRunner::all_heads(
            AllHeadsJob {
                experiment: bundled(Mode::Dynamic, 256),
                layer: 3,
            },
            || {},
        );
        let first = runner.next_event(WAIT).unwrap();
        assert!(
            matches!(first, BatchEvent::Progress { done: 0, total: 12 }),
            "{first:?}"
        );
        runner.cancel();
        let events = collect(&runner);
        assert!(
            matches!(events.last(), Some(BatchEvent::Cancelled)),
            "{events:?}"
        );
        let heads = events
            .iter()
            .filter(|e| matches!(e, BatchEvent::Result(_)))
            .count();
        assert!(heads < 12, "cancel came too late to matter: {heads} heads");
        let deadline = std::time::Instant::now() + WAIT;
        while runner.is_running() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!runner.is_running());
    }

    #[test]
    fn bad_jobs_fail_with_one_clear_sentence() {
        let mut zero_m = bundled(Mode::Algebraic, 64);
        zero_m.params.m = 0;
        let synthetic = Experiment {
            source: SourceSpec::Synthetic {
                tokens: 4,
                dim: 4,
                heads: 1,
            },
            ..Experiment::default()
        };
        let heads = |experiment: Experiment, layer| {
            BatchRunner::all_heads(AllHeadsJob { experiment, layer }, || {}).wait()
        };
        let sweep = |m_values: Vec<usize>, seeds| {
            let job = SweepJob {
                experiment: bundled(Mode::Algebraic, 64),
                m_values,
                seeds,
                variants: vec![Variant::POSITIVE_IID],
            };
            BatchRunner::sweep(job, || {}).wait()
        };
        let cases = [
            (
                failure(heads(zero_m, 0)),
                "m must be a whole number between 1 and 16 777 216",
            ),
            (
                failure(heads(bundled(Mode::Algebraic, 64), 9)),
                "layers 0..=5",
            ),
            (failure(heads(synthetic, 0)), "no attention heads"),
            (
                failure(sweep(vec![64, 0], 1)),
                "m must be a whole number between 1 and 16 777 216",
            ),
            (failure(sweep(vec![64], 0)), "at least one seed"),
        ];
        for (message, expect) in cases {
            assert!(message.contains(expect), "{message}");
            assert!(!message.contains('\n'), "{message}");
        }
    }

    /// The message of a batch that failed without a single result.
    fn failure<R: std::fmt::Debug>(events: Vec<BatchEvent<R>>) -> String {
        assert!(
            !events.iter().any(|e| matches!(e, BatchEvent::Result(_))),
            "{events:?}"
        );
        match events.last() {
            Some(BatchEvent::Failed(message)) => message.clone(),
            other => panic!("expected Failed, got {other:?}"),
        }
    }

    #[test]
    fn bundled_grids_answer_at_once_and_single_head_sources_have_none() {
        let mut grids = HeadGrids::default();
        let bundled = SourceSpec::Bundled("coreference-it".into());
        assert_eq!(grids.get(&bundled, || {}), Some(Ok(Some((6, 12)))));
        let synthetic = SourceSpec::Synthetic {
            tokens: 4,
            dim: 4,
            heads: 1,
        };
        assert_eq!(grids.get(&synthetic, || {}), Some(Ok(None)));
    }

    #[test]
    fn a_model_folder_grid_comes_from_the_batch_thread() {
        let mut grids = HeadGrids::default();
        let missing = SourceSpec::Model("/nonexistent/model/folder".into());
        let deadline = std::time::Instant::now() + WAIT;
        let answer = loop {
            if let Some(answer) = grids.get(&missing, || {}) {
                break answer;
            }
            assert!(std::time::Instant::now() < deadline, "no answer");
            std::thread::sleep(Duration::from_millis(2));
        };
        let message = answer.unwrap_err();
        assert!(!message.is_empty() && !message.contains('\n'), "{message}");
    }

    #[test]
    fn panics_become_failed_and_the_thread_ends() {
        let runner = BatchRunner::<SweepPoint>::start_with(
            |out| {
                out.start(1);
                panic!("a bug in a run");
            },
            || {},
        );
        let events = runner.wait();
        match events.last() {
            Some(BatchEvent::Failed(message)) => {
                assert!(
                    message.contains("internal error: a bug in a run"),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn notify_is_called_for_every_event() {
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = count.clone();
        let runner = BatchRunner::sweep(
            SweepJob {
                experiment: bundled(Mode::Algebraic, 16),
                m_values: vec![16],
                seeds: 1,
                variants: vec![Variant::POSITIVE_IID],
            },
            move || {
                counter.fetch_add(1, Ordering::SeqCst);
            },
        );
        let events = runner.wait();
        // Progress 0, the point, progress 1, Finished.
        assert_eq!(events.len(), 4, "{events:?}");
        assert_eq!(count.load(Ordering::SeqCst), 4);
    }
}
