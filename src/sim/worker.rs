//! The worker thread: the only owner of a running [`Simulation`].
//!
//! Commands arrive over a channel. The worker steps the simulation in batches and, at most
//! every [`PUBLISH_INTERVAL`], publishes a [`Snapshot`] of the shown subset into a one-slot
//! mailbox (the newest replaces the last unread one, as a triple buffer would), together with
//! the trace samples and read rows produced since. Panics are caught: the simulation is
//! dropped, the failure is published, and `Reset` rebuilds it.

use super::command::{Command, Probe, Speed};
use super::keyframes::{DEFAULT_BUDGET_BYTES, Keyframes};
use super::layer::LayerRun;
use super::meter::RateMeter;
use super::pacing::Pacer;
use super::publisher::{Mailbox, Publisher};
use super::run::{Checkpoint, SavedKeyframes};
use super::snapshot::{
    BranchSwitch, RowUpdate, RunInfo, RunState, Snapshot, Status, Timeline, TraceSample, Update,
};
use super::subset::SubsetPicker;
use super::thread::{lock, panic_message};
use crate::data::experiment::Experiment;
use crate::data::source::{load_layer, load_sequence};
use crate::model::dynamic::LiveParams;
use crate::model::layer::{LayerSimulation, layer_memory_estimate};
use crate::model::metrics::{Metrics, PerQuery};
use crate::model::network::memory_estimate;
use crate::model::params::Heads;
use crate::model::params::Params;
use crate::model::schedule::Phase;
use crate::model::sequence::Sequence;
use crate::model::simulation::{SimState, Simulation};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Shortest wall time between two publications while running (about 60 per second).
pub const PUBLISH_INTERVAL: Duration = Duration::from_millis(16);
/// The same at full speed (4 a second). "As fast as possible" is about throughput: under
/// software GL each frame costs about 25 ms of a core that a parallel simulation would use.
/// Measured at m = 65 536 on 2 cores, llvmpipe: 30 updates a second cost the simulation 58 % of
/// its speed; 4 a second, with two frames per update, 17–25 %; with one frame per update (the
/// UI asks for a repaint with a small delay, see `ui::app`), 8–12 %; with whole blocks of steps
/// between trace samples as well, 6–16 % (median 11 %) against a faster headless run.
pub const FULL_SPEED_PUBLISH_INTERVAL: Duration = Duration::from_millis(250);
/// Trace samples per run: the sampling stride is chosen so that a whole run fits.
const SAMPLES_PER_RUN: u64 = 4_000;
/// The row of A_dyn forming now is computed only while N·m' stays below this (it costs a step).
const LIVE_ROW_LIMIT: usize = 1 << 22;

/// Handle to the worker thread. Dropping it stops and joins the thread.
pub struct Worker {
    commands: Sender<Command>,
    mailbox: Arc<Mutex<Mailbox>>,
    thread: Option<JoinHandle<()>>,
}

/// What the worker starts on.
#[derive(Clone, Debug)]
pub enum Start {
    Experiment(Box<Experiment>),
    Sequence {
        sequence: Arc<Sequence>,
        params: Box<Params>,
    },
}

impl Worker {
    /// Starts the worker on `experiment` (its sequence is loaded on the worker thread).
    /// `notify` is called after each publication, at most about 60 times a second while
    /// running; the UI passes `request_repaint`.
    pub fn spawn(experiment: Experiment, notify: impl Fn() + Send + 'static) -> Worker {
        Self::spawn_with(Start::Experiment(Box::new(experiment)), notify)
    }

    pub fn spawn_with(start: Start, notify: impl Fn() + Send + 'static) -> Worker {
        let (commands, receiver) = channel();
        let mailbox = Arc::new(Mutex::new(Mailbox::default()));
        let shared = mailbox.clone();
        let thread = std::thread::Builder::new()
            .name("tripartite-sim".into())
            .spawn(move || Engine::new(receiver, shared, Box::new(notify)).run(start))
            .expect("the OS can start a thread");
        Worker {
            commands,
            mailbox,
            thread: Some(thread),
        }
    }

    /// Sends a command; ignored when the worker has stopped.
    pub fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    /// Takes the newest snapshot with every sample and row published since the last call.
    pub fn take_update(&self) -> Option<Update> {
        lock(&self.mailbox).take_update()
    }

    /// Whether the thread is still alive.
    pub fn is_alive(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the thread and waits for it.
    pub fn shutdown(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = self.commands.send(Command::Quit);
            let _ = thread.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Names of the parameters that differ between `a` and `b`, in table order.
pub fn changed_params(a: &Params, b: &Params) -> Vec<String> {
    a.changes(b).map(|param| param.name.to_string()).collect()
}

/// The running simulation: one head, or a whole layer with one head selected. It dereferences
/// to the selected head, so everything that shows one head reads it unchanged; stepping, live
/// edits and the probes' watch go to every head.
enum Live {
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
    fn head(&self) -> &Simulation {
        self
    }
    fn layer(&self) -> Option<&LayerRun> {
        match self {
            Live::One(_) => None,
            Live::Layer(layer) => Some(layer),
        }
    }
    fn step_block(&mut self, max_steps: u64) -> u64 {
        match self {
            Live::One(sim) => sim.step_block(max_steps),
            Live::Layer(layer) => {
                let taken = layer.sim.step_block(max_steps);
                layer.sample();
                taken
            }
        }
    }
    fn set_live(&mut self, live: LiveParams) -> Result<(), crate::model::ModelError> {
        match self {
            Live::One(sim) => sim.set_live(live),
            Live::Layer(layer) => layer.sim.set_live(live),
        }
    }
    fn set_watch(&mut self, hidden: &[usize]) {
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
    fn is_finished(&self) -> bool {
        match self {
            Live::One(sim) => sim.is_finished(),
            Live::Layer(layer) => layer.sim.is_finished(),
        }
    }
    fn restore(&mut self, state: &SimState) -> Result<(), crate::model::ModelError> {
        match self {
            Live::One(sim) => sim.restore(state),
            Live::Layer(_) => Err(crate::model::ModelError::State(LAYER_TIMELINE.to_string())),
        }
    }
}

/// Why the timeline refuses a whole layer.
const LAYER_TIMELINE: &str = "a whole layer (heads = all) has no timeline yet: earlier times, branches and saved states work with heads = one";

struct Engine {
    commands: Receiver<Command>,
    publisher: Publisher,
    /// Where the sequence came from (for reloads when the seed changes); None for a
    /// sequence handed over directly.
    experiment: Option<Experiment>,
    params: Params,
    sequence: Option<Arc<Sequence>>,
    sim: Option<Live>,
    run: Option<Arc<RunInfo>>,
    generation: u64,
    revision: u64,
    running: bool,
    /// Run at full speed until this step (RunToEnd / RunToStep), then pause.
    stop_at: Option<u64>,
    speed: Speed,
    looping: bool,
    status: Status,
    subset: SubsetPicker,
    probes: Vec<Probe>,
    /// Trace samples are taken every `stride` steps (and at the end of each slot).
    stride: u64,
    next_boundary: u64,
    rows_sent: Vec<bool>,
    metrics: Metrics,
    /// Per-query diagnostics, computed with `metrics` over the same rows.
    per_query: Arc<PerQuery>,
    metrics_rows: usize,
    rows_completed: usize,
    meter: RateMeter,
    pacer: Pacer,
    /// Something changed since the last publication.
    dirty: bool,
    panic_armed: bool,
    /// A command received while pacing, handled first in the next loop turn.
    deferred: Option<Command>,
    /// Keyframes of the live run, at slot boundaries.
    keyframes: Keyframes,
    /// The live run's state at step 0, where replays start without a keyframe.
    start_state: Option<SimState>,
    /// A second simulation of the same run, for showing an earlier time (built on first use).
    scrub: Option<Simulation>,
    /// The step shown when scrubbed back; None shows the present.
    shown: Option<u64>,
    /// Steps at which the run was branched.
    branches: Vec<u64>,
    /// The lines of the run before each branch (latest last), for undo, and the lines undone
    /// branches left, for redo.
    before_branches: Vec<Lineage>,
    undone_branches: Vec<Lineage>,
}

/// One line of the run's history, put aside by a branch or by its undo: everything the live
/// run's future depends on, so that switching back continues it exactly.
struct Lineage {
    params: Params,
    state: SimState,
    keyframes: Keyframes,
    branches: Vec<u64>,
    /// The step shown when the line was left (None: the present).
    shown: Option<u64>,
}

fn no_metrics() -> Metrics {
    Metrics {
        attn_tv: f64::NAN,
        attn_max_abs: f64::NAN,
        output_rel_err: f64::NAN,
        calcium_corr: f64::NAN,
        calcium_rel_err: f64::NAN,
    }
}

impl Engine {
    fn new(
        commands: Receiver<Command>,
        mailbox: Arc<Mutex<Mailbox>>,
        notify: Box<dyn Fn() + Send>,
    ) -> Self {
        let now = Instant::now();
        Engine {
            commands,
            publisher: Publisher::new(mailbox, notify),
            experiment: None,
            params: Params::default(),
            sequence: None,
            sim: None,
            run: None,
            generation: 0,
            revision: 0,
            running: false,
            stop_at: None,
            speed: Speed::default(),
            looping: false,
            status: Status::Quiet,
            subset: SubsetPicker::default(),
            probes: Vec::new(),
            stride: 1,
            next_boundary: 0,
            rows_sent: Vec::new(),
            metrics: no_metrics(),
            per_query: Arc::default(),
            metrics_rows: 0,
            rows_completed: 0,
            meter: RateMeter::new(now),
            pacer: Pacer::new(now),
            dirty: true,
            panic_armed: false,
            deferred: None,
            keyframes: Keyframes::new(DEFAULT_BUDGET_BYTES),
            start_state: None,
            scrub: None,
            shown: None,
            branches: Vec::new(),
            before_branches: Vec::new(),
            undone_branches: Vec::new(),
        }
    }

    fn run(mut self, start: Start) {
        self.guarded(|engine| {
            engine.start(start);
            true
        });
        self.publish();
        loop {
            if let Some(command) = self.deferred.take()
                && !self.handle_guarded(command)
            {
                return;
            }
            if self.dirty
                && (!self.running
                    || self.publisher.since_last(Instant::now()) >= self.publish_interval())
            {
                self.publish();
            }
            if !self.running {
                match self.commands.recv() {
                    Ok(command) => {
                        if !self.handle_guarded(command) {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            }
            loop {
                match self.commands.try_recv() {
                    Ok(command) => {
                        if !self.handle_guarded(command) {
                            return;
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return,
                }
            }
            if self.running && !self.advance_guarded() {
                return;
            }
        }
    }

    /// Runs `f`, turning a panic into a published failure. Returns false on Quit.
    fn guarded(&mut self, f: impl FnOnce(&mut Self) -> bool) -> bool {
        match catch_unwind(AssertUnwindSafe(|| f(self))) {
            Ok(keep_going) => keep_going,
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                self.fail(format!(
                    "The simulation crashed ({message}). Press Reset to rebuild it."
                ));
                true
            }
        }
    }

    fn handle_guarded(&mut self, command: Command) -> bool {
        self.guarded(|engine| engine.handle(command))
    }

    fn advance_guarded(&mut self) -> bool {
        self.guarded(|engine| {
            engine.advance();
            true
        })
    }

    fn fail(&mut self, message: String) {
        self.set_running(false);
        self.sim = None;
        self.run = None;
        self.status = Status::Failed(message);
        self.dirty = true;
    }

    fn start(&mut self, start: Start) {
        match start {
            Start::Experiment(experiment) => self.load_experiment(*experiment),
            Start::Sequence { sequence, params } => {
                self.experiment = None;
                self.params = *params;
                self.sequence = Some(sequence);
                self.rebuild();
            }
        }
    }

    fn load_experiment(&mut self, experiment: Experiment) {
        // With a simulation running, a bad file, folder or text must not cost the user it:
        // build the new one aside and switch only when it works.
        if self.sim.is_some() {
            if experiment.params.heads == Heads::All {
                match build_layer(&experiment, &experiment.params, experiment.params.head) {
                    Ok((sequence, live)) => {
                        self.set_running(false);
                        self.params = experiment.params.clone();
                        self.sequence = Some(sequence);
                        self.experiment = Some(experiment);
                        self.status = Status::Quiet;
                        self.install(live);
                    }
                    Err(error) => {
                        self.status = Status::Refused(format!(
                            "Not loaded: {error}. The current experiment is unchanged."
                        ));
                        self.dirty = true;
                    }
                }
                return;
            }
            let built = load_sequence(
                &experiment.source,
                experiment.text.as_deref(),
                &experiment.params,
            )
            .map(Arc::new)
            .map_err(|e| e.to_string())
            .and_then(|sequence| {
                Simulation::new(&experiment.params, sequence.clone())
                    .map(|sim| (sequence, sim))
                    .map_err(|e| e.to_string())
            });
            match built {
                Ok((sequence, sim)) => {
                    self.set_running(false);
                    self.params = experiment.params.clone();
                    self.sequence = Some(sequence);
                    self.experiment = Some(experiment);
                    self.status = Status::Quiet;
                    self.install(Live::One(sim));
                }
                Err(error) => {
                    self.status = Status::Refused(format!(
                        "Not loaded: {error}. The current experiment is unchanged."
                    ));
                    self.dirty = true;
                }
            }
            return;
        }
        self.params = experiment.params.clone();
        self.sequence = None;
        self.experiment = Some(experiment);
        // The last word was about the experiment this one replaces.
        self.status = Status::Quiet;
        self.rebuild();
    }

    fn set_running(&mut self, running: bool) {
        if running == self.running {
            return;
        }
        let now = Instant::now();
        if running {
            self.meter.start(now);
            self.pacer.restart(now);
        } else {
            self.meter.stop(now);
            self.stop_at = None;
        }
        self.running = running;
        self.dirty = true;
    }

    fn handle(&mut self, command: Command) -> bool {
        self.dirty = true;
        match command {
            Command::Run => {
                self.shown = None;
                if self.finished() && self.looping {
                    self.rebuild();
                }
                if self.sim.is_some() && !self.finished() {
                    self.stop_at = None;
                    self.set_running(true);
                }
            }
            Command::Pause => self.set_running(false),
            Command::StepDt => {
                self.set_running(false);
                self.step_once();
            }
            Command::StepSlot => {
                self.set_running(false);
                let end = self
                    .sim
                    .as_ref()
                    .and_then(|sim| sim.current_slot())
                    .map(|slot| slot.end_step());
                match end {
                    Some(end) => {
                        while self.sim.as_ref().is_some_and(|sim| sim.step_index() < end) {
                            if !self.step_once() {
                                break;
                            }
                        }
                    }
                    None => {
                        self.step_once();
                    }
                }
            }
            Command::RunToEnd => self.run_until(u64::MAX),
            Command::RunToStep(step) => self.run_until(step),
            Command::Reset => {
                self.set_running(false);
                self.rebuild();
            }
            Command::SetSpeed(speed) => {
                self.speed = speed;
                self.pacer.restart(Instant::now());
            }
            Command::SetLoop(looping) => self.looping = looping,
            Command::SetParams(params) => self.apply_params(params),
            Command::LoadExperiment(experiment) => {
                self.set_running(false);
                self.load_experiment(*experiment);
            }
            Command::LoadSequence { sequence, params } => {
                self.set_running(false);
                self.experiment = None;
                self.params = *params;
                self.sequence = Some(sequence);
                self.rebuild();
            }
            Command::SetSubset(request) => self.subset.request = request,
            Command::SetProbes(probes) => {
                self.probes = probes;
                self.watch_probes();
            }
            Command::ShowStep(step) => self.show_step(step),
            Command::Branch(params) => self.branch(*params),
            Command::UndoBranch => self.switch_branch(true),
            Command::RedoBranch => self.switch_branch(false),
            Command::SetKeyframeBudget(bytes) => self.keyframes.set_budget(bytes),
            Command::CaptureState => {
                let captured = match (&self.sim, &self.experiment) {
                    (Some(Live::Layer(_)), _) => Err(LAYER_TIMELINE.to_string()),
                    (Some(Live::One(sim)), Some(experiment)) => Ok(Arc::new(Checkpoint {
                        experiment: Experiment {
                            params: self.params.clone(),
                            ..experiment.clone()
                        },
                        state: sim.state(),
                        trace: Vec::new(),
                        keyframes: self.start_state.as_ref().map(|start| SavedKeyframes {
                            start: match start {
                                SimState::Dynamic(state) => state.params.clone(),
                                SimState::Algebraic { params, .. } => (**params).clone(),
                            },
                            keyframes: self.keyframes.clone(),
                        }),
                    })),
                    (None, _) => Err("there is no simulation to save".to_string()),
                    (Some(_), None) => Err(
                        "this run's sequence was handed over directly, with no experiment to record; \
                         save the experiment first"
                            .to_string(),
                    ),
                };
                self.publisher.captured(captured);
            }
            Command::LoadState(checkpoint) => self.load_state(*checkpoint),
            Command::SelectHead(head) => self.select_head(head),
            Command::InjectPanic => self.panic_armed = true,
            Command::Quit => {
                self.set_running(false);
                return false;
            }
        }
        true
    }

    fn run_until(&mut self, step: u64) {
        if self.sim.as_ref().is_some_and(|sim| sim.step_index() < step) && !self.finished() {
            self.stop_at = Some(step);
            self.set_running(true);
        }
    }

    fn finished(&self) -> bool {
        self.sim.as_ref().is_some_and(Live::is_finished)
    }

    /// Applies new parameters: live when possible, otherwise by a rebuild that keeps the
    /// running simulation if the new one cannot be built.
    fn apply_params(&mut self, new: Params) {
        let changed = changed_params(&self.params, &new);
        if changed.is_empty() {
            return;
        }
        if let Err(error) = new.validate() {
            self.status = Status::Refused(format!("Not applied: {error}"));
            return;
        }
        let list = changed.join(", ");
        if !self.params.is_structural_change(&new) {
            if let Some(sim) = self.sim.as_mut()
                && let Err(error) = sim.set_live(LiveParams::of(&new))
            {
                self.status = Status::Refused(format!("Not applied: {error}"));
                return;
            }
            if let Some(step) = self.sim.as_ref().map(|sim| sim.step_index()) {
                self.keyframes.record_edit(step, &new);
            }
            self.params = new;
            self.status =
                Status::Applied(format!("Applied live to the running simulation: {list}."));
            return;
        }
        let reload = self.needs_reload(&new);
        let built = if new.heads == Heads::All {
            self.build_layer(&new, new.head)
                .map(|(sequence, live)| (live, sequence))
        } else {
            let sequence = match (&self.sequence, reload || self.params.heads == Heads::All) {
                (Some(sequence), false) => Ok(sequence.clone()),
                _ => self.load(&new),
            };
            sequence.and_then(|sequence| {
                Simulation::new(&new, sequence.clone())
                    .map(|sim| (Live::One(sim), sequence))
                    .map_err(|e| e.to_string())
            })
        };
        match built {
            Ok((sim, sequence)) => {
                let was_running = self.running;
                self.set_running(false);
                self.params = new;
                self.sequence = Some(sequence);
                self.install(sim);
                self.status = Status::Applied(format!(
                    "Rebuilt the simulation ({list} changed): time restarts at 0."
                ));
                if was_running {
                    self.set_running(true);
                }
            }
            Err(error) => {
                self.status = Status::Refused(format!(
                    "Kept the running simulation; {list} not applied: {error}"
                ));
            }
        }
    }

    /// Whether `new` changes the sequence itself (seed or scale of synthetic data, or the
    /// layer/head of a real one).
    fn needs_reload(&self, new: &Params) -> bool {
        let Some(experiment) = &self.experiment else {
            return false;
        };
        let old = &self.params;
        (experiment.source.depends_on_seed()
            && (old.seed != new.seed || old.synthetic_scale != new.synthetic_scale))
            || ((experiment.source.has_heads()
                || matches!(experiment.source, crate::data::source::SourceSpec::Synthetic { heads, .. } if heads > 1))
                && (old.layer != new.layer || old.head != new.head))
    }

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

    /// Builds the simulation afresh at time 0 (Reset; recovers from failures).
    fn rebuild(&mut self) {
        self.set_running(false);
        self.sim = None;
        self.run = None;
        self.generation += 1;
        self.publisher.clear();
        let built = if self.params.heads == Heads::All {
            self.build_layer(&self.params.clone(), self.params.head)
                .map(|(sequence, live)| {
                    self.sequence = Some(sequence);
                    live
                })
        } else {
            let sequence = match self.sequence.clone() {
                Some(sequence) => Ok(sequence),
                None => self.load(&self.params.clone()),
            };
            sequence.and_then(|sequence| {
                self.sequence = Some(sequence.clone());
                Simulation::new(&self.params, sequence)
                    .map(Live::One)
                    .map_err(|e| e.to_string())
            })
        };
        match built {
            Ok(sim) => self.install(sim),
            Err(error) => {
                self.status = Status::Failed(format!("Cannot build the simulation: {error}"));
                self.dirty = true;
            }
        }
    }

    fn install(&mut self, sim: Live) {
        self.generation += 1;
        self.publisher.clear();
        let sizes = sim.network().sizes;
        let memory_bytes = match sim.layer() {
            Some(layer) => layer_memory_estimate(sim.params(), layer.sim.layer()),
            None => memory_estimate(sim.params(), &sizes),
        };
        let slots = sim
            .dynamic()
            .map(|d| d.schedule().slots.clone())
            .unwrap_or_default();
        let run = RunInfo {
            source: sim.sequence().source.clone(),
            tokens: sim.sequence().tokens.clone(),
            origin: sim.sequence().origin.clone(),
            sizes,
            slots,
            softmax_attention: sim.reference().attention.clone(),
            normaliser: sim.reference().normaliser(),
            memory_bytes,
            total_steps: sim.total_steps(),
            total_ms: sim.total_ms(),
            dynamic: sim.dynamic().is_some(),
        };
        self.stride = (run.total_steps / SAMPLES_PER_RUN).max(1);
        self.next_boundary = sim.current_slot().map_or(u64::MAX, |s| s.end_step());
        self.rows_sent = vec![false; sizes.tokens];
        self.rows_completed = 0;
        self.metrics = no_metrics();
        self.per_query = Arc::default();
        self.metrics_rows = 0;
        self.run = Some(Arc::new(run));
        self.keyframes = Keyframes::new(self.keyframes.budget());
        self.start_state = match &sim {
            Live::One(sim) => Some(sim.state()),
            Live::Layer(_) => None,
        };
        self.scrub = None;
        self.shown = None;
        self.branches.clear();
        self.before_branches.clear();
        self.undone_branches.clear();
        if matches!(self.status, Status::Failed(_)) {
            self.status = Status::Quiet;
        }
        self.sim = Some(sim);
        self.watch_probes();
        self.dirty = true;
        self.sample();
        if let Some(Live::Layer(layer)) = &self.sim {
            // A new selection of a running layer: the selected head's calcium so far.
            let generation = self.generation;
            let samples: Vec<TraceSample> = layer
                .calcium_trace(layer.selected)
                .iter()
                .map(|&(time_ms, calcium)| TraceSample {
                    generation,
                    step: (time_ms / self.params.dt).round() as u64,
                    time_ms,
                    calcium,
                    probes: Vec::new(),
                })
                .collect();
            for sample in samples {
                self.publisher.push_sample(sample);
            }
            self.collect_rows();
            if self.rows_completed > 0
                && let Some(sim) = self.sim.as_ref()
            {
                self.metrics = sim.metrics();
                self.per_query = Arc::new(sim.per_query());
                self.metrics_rows = self.rows_completed;
            }
        }
    }

    /// Builds a whole layer of the current experiment with `params`, head `selected` shown
    /// (`params.head`, which [`Command::SelectHead`] sets, so a rebuild keeps the selection).
    fn build_layer(
        &self,
        params: &Params,
        selected: usize,
    ) -> Result<(Arc<Sequence>, Live), String> {
        let experiment = self.experiment.as_ref().ok_or_else(|| {
            "heads = all needs an experiment's source to read every head from; this sequence was handed over alone".to_string()
        })?;
        build_layer(experiment, params, selected)
    }

    /// Makes head `head` of a running layer the one the snapshot's single-head fields describe.
    fn select_head(&mut self, head: usize) {
        let Some(Live::Layer(layer)) = self.sim.take() else {
            self.status = Status::Refused(
                "Only a whole layer (heads = all) has heads to choose from.".to_string(),
            );
            return;
        };
        let mut layer = layer;
        let count = layer.sim.head_count();
        if head >= count {
            self.status = Status::Refused(format!(
                "There is no head {head}: this layer has heads 0..={}.",
                count - 1
            ));
            self.sim = Some(Live::Layer(layer));
            return;
        }
        layer.selected = head;
        let running = self.running;
        let status = self.status.clone();
        self.set_running(false);
        self.params.head = head;
        self.install(Live::Layer(layer));
        self.status = status;
        if running {
            self.set_running(true);
        }
    }

    /// One step, with sampling and row bookkeeping. False when nothing advanced.
    fn step_once(&mut self) -> bool {
        self.step_run(1) == 1
    }

    /// Up to `max_steps` steps in one block of the simulation, ending at the slot boundary at
    /// the latest, then row bookkeeping and the trace samples that fell inside the block (the
    /// block records the probes' neurons step by step). Returns the steps taken (0 when nothing
    /// advanced).
    fn step_run(&mut self, max_steps: u64) -> u64 {
        if self.panic_armed {
            self.panic_armed = false;
            panic!("injected failure (test hook)");
        }
        let Some(sim) = self.sim.as_mut() else {
            return 0;
        };
        let now = sim.step_index();
        let to_boundary = self.next_boundary.saturating_sub(now).max(1);
        let block = sim.step_block(max_steps.min(to_boundary));
        if block == 0 {
            return 0;
        }
        let step = sim.step_index();
        let dynamic = sim.dynamic().is_some();
        self.meter.count(block);
        let boundary = step >= self.next_boundary;
        if boundary {
            self.next_boundary = sim.current_slot().map_or(u64::MAX, |s| s.end_step());
        }
        if (boundary || !dynamic)
            && let Live::One(sim) = sim
        {
            let ended = completed_slots(sim);
            self.keyframes.offer(ended, || sim.state());
        }
        if boundary || !dynamic {
            self.collect_rows();
        }
        if dynamic {
            // Every stride-th step of the block, and the slot's last step.
            let first = now + 1;
            let samples: Vec<TraceSample> = (first..=step)
                .filter(|s| s.is_multiple_of(self.stride) || (boundary && *s == step))
                .filter_map(|s| {
                    let sim = self.sim.as_ref()?.dynamic()?;
                    let state = sim.block_step((s - first) as usize);
                    Some(TraceSample::record(self.generation, &self.probes, state))
                })
                .collect();
            for sample in samples {
                self.publisher.push_sample(sample);
            }
        }
        self.dirty = true;
        block
    }

    /// Records the present state as a trace sample (dynamic mode).
    fn sample(&mut self) {
        let Some(dynamic) = self.sim.as_ref().and_then(|sim| sim.dynamic()) else {
            return;
        };
        let sample = TraceSample::record(self.generation, &self.probes, dynamic.now());
        self.publisher.push_sample(sample);
    }

    /// The hidden neurons the probes read: the simulation records them inside blocks.
    fn watch_probes(&mut self) {
        let hidden: Vec<usize> = self.probes.iter().filter_map(Probe::hidden).collect();
        if let Some(sim) = self.sim.as_mut() {
            sim.set_watch(&hidden);
        }
    }

    fn collect_rows(&mut self) {
        let Some(sim) = self.sim.as_ref() else {
            return;
        };
        let output = sim.output();
        for (t, done) in output.rows_done.iter().enumerate() {
            if *done && !self.rows_sent[t] {
                self.rows_sent[t] = true;
                self.rows_completed += 1;
                self.publisher.push_row(RowUpdate {
                    generation: self.generation,
                    query: t,
                    attention: output.attention.row(t).to_vec(),
                    calcium: output.calcium[t],
                });
            }
        }
    }

    fn full_speed(&self) -> bool {
        self.stop_at.is_some() || self.speed == Speed::Max
    }

    fn publish_interval(&self) -> Duration {
        if self.full_speed() {
            FULL_SPEED_PUBLISH_INTERVAL
        } else {
            PUBLISH_INTERVAL
        }
    }

    /// Steps for about one publication interval, at the chosen speed.
    fn advance(&mut self) {
        let batch_start = Instant::now();
        let deadline = batch_start + self.publish_interval();
        let full_speed = self.full_speed();
        let dt = self.params.dt;
        let mut allowed = u64::MAX;
        if !full_speed && let Speed::MsPerSecond(rate) = self.speed {
            // Algebraic mode has no time: reveal about one row per slot's worth of time.
            let unit_ms = if self.sim.as_ref().is_some_and(|s| s.dynamic().is_none()) {
                self.params.t_write + self.params.t_read
            } else {
                dt
            };
            allowed = self.pacer.allowance(batch_start, rate, dt, unit_ms);
        }
        let mut taken = 0u64;
        while taken < allowed {
            let mut room = allowed - taken;
            if let Some(stop) = self.stop_at
                && let Some(step) = self.sim.as_ref().map(|sim| sim.step_index())
            {
                if step >= stop {
                    self.set_running(false);
                    break;
                }
                room = room.min(stop - step);
            }
            let block = self.step_run(room);
            if block == 0 {
                break;
            }
            taken += block;
            if Instant::now() >= deadline {
                break;
            }
        }
        if self.finished() {
            if self.looping && self.stop_at.is_none() {
                self.rebuild();
                self.set_running(true);
            } else {
                self.set_running(false);
            }
        }
        if self.sim.is_none() {
            self.set_running(false);
        }
        let now = Instant::now();
        self.meter.tick(now);
        if self.running && !full_speed && now < deadline {
            // Real-time pacing: wait for the next publication, or a command.
            match self.commands.recv_timeout(deadline - now) {
                Ok(command) => self.deferred = Some(command),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.deferred = Some(Command::Quit),
            }
        }
    }

    fn publish(&mut self) {
        if let Some(sim) = self.sim.as_ref()
            && self.rows_completed != self.metrics_rows
        {
            self.metrics = sim.metrics();
            self.per_query = Arc::new(sim.per_query());
            self.metrics_rows = self.rows_completed;
        }
        let snapshot = self.snapshot();
        self.publisher.publish(snapshot);
        self.dirty = false;
    }

    fn snapshot(&mut self) -> Snapshot {
        self.revision += 1;
        let state = match &self.sim {
            None => RunState::Failed,
            Some(sim) if sim.is_finished() => RunState::Finished,
            Some(_) if self.running => RunState::Running,
            Some(_) => RunState::Paused,
        };
        let layer = match self.sim.as_mut() {
            Some(Live::Layer(layer)) => Some(Arc::new(layer.snapshot(self.rows_completed))),
            _ => None,
        };
        let live = self.sim.as_ref().map(Live::head);
        let scrubbed = self.shown.is_some() && self.scrub.is_some() && live.is_some();
        let sim = if scrubbed { self.scrub.as_ref() } else { live };
        let subset = self.subset.pick(sim, &self.probes);
        let timeline = Timeline {
            live_step: live.map_or(0, Simulation::step_index),
            live_time_ms: live.map_or(0.0, Simulation::time_ms),
            scrubbed,
            rows_done: sim.map_or_else(Vec::new, |sim| sim.output().rows_done.clone()),
            keyframe_steps: self.keyframes.steps(),
            keyframe_bytes: self.keyframes.bytes(),
            keyframe_budget: self.keyframes.budget(),
            branches: self.branches.clone(),
            live_metrics: scrubbed.then_some(self.metrics),
        };
        let dynamic = sim.and_then(Simulation::dynamic);
        let live_row = dynamic.and_then(|d| {
            let slot = d.current_slot()?;
            let sizes = d.network().sizes;
            (slot.phase == Phase::Read && sizes.tokens * sizes.hidden <= LIVE_ROW_LIMIT)
                .then(|| (slot.token, d.attention_row_now(slot.token).to_vec()))
        });
        Snapshot {
            generation: self.generation,
            revision: self.revision,
            state,
            status: self.status.clone(),
            params: self.params.clone(),
            speed: self.speed,
            looping: self.looping,
            run: self.run.clone(),
            step: sim.map_or(0, Simulation::step_index),
            time_ms: sim.map_or(0.0, Simulation::time_ms),
            slot: sim.and_then(Simulation::current_slot),
            calcium: dynamic.map_or(f64::NAN, |d| d.calcium_normalised()),
            metrics: if scrubbed {
                sim.map_or_else(no_metrics, Simulation::metrics)
            } else {
                self.metrics
            },
            per_query: if scrubbed {
                Arc::new(sim.map(Simulation::per_query).unwrap_or_default())
            } else {
                self.per_query.clone()
            },
            rows_completed: if scrubbed {
                timeline.rows_done.iter().filter(|done| **done).count()
            } else {
                self.rows_completed
            },
            live_row,
            subset,
            probes: self.probes.clone(),
            steps_per_s: self.meter.steps_per_s(),
            run_steps_total: self.meter.total_steps(),
            run_wall_s_total: self.meter.total_wall_s(Instant::now()),
            timeline,
            layer,
        }
    }

    /// Shows the state after `step` steps (None or the present: the live run).
    fn show_step(&mut self, step: Option<u64>) {
        let Some(live) = self.sim.as_ref() else {
            return;
        };
        if live.layer().is_some() {
            if step.is_some() {
                self.status =
                    Status::Refused(format!("Cannot show an earlier time: {LAYER_TIMELINE}."));
            }
            self.shown = None;
            return;
        }
        let live_params = live.params().clone();
        let step = match step {
            Some(step) if step < live.step_index() => step,
            _ => {
                self.shown = None;
                return;
            }
        };
        self.set_running(false);
        if self.scrub.is_none() {
            let built = self
                .sequence
                .clone()
                .ok_or_else(|| "no sequence is loaded".to_string())
                .and_then(|sequence| {
                    Simulation::new(&live_params, sequence).map_err(|e| e.to_string())
                });
            match built {
                Ok(mut scrub) => {
                    let hidden: Vec<usize> = self.probes.iter().filter_map(Probe::hidden).collect();
                    scrub.set_watch(&hidden);
                    self.scrub = Some(scrub);
                }
                Err(error) => {
                    self.status = Status::Refused(format!("Cannot show an earlier time: {error}"));
                    return;
                }
            }
        }
        let (Some(scrub), Some(start)) = (self.scrub.as_mut(), self.start_state.as_ref()) else {
            return;
        };
        match self.keyframes.replay_to(scrub, start, step) {
            Ok(_) => self.shown = Some(step),
            Err(error) => {
                self.shown = None;
                self.status = Status::Refused(format!("Cannot show an earlier time: {error}"));
            }
        }
    }

    /// Loads a saved run: its experiment, then its state. A state that does not fit keeps the
    /// current simulation.
    fn load_state(&mut self, checkpoint: Checkpoint) {
        self.set_running(false);
        if checkpoint.experiment.params.heads == Heads::All {
            self.status = Status::Refused(format!("Not opened: {LAYER_TIMELINE}."));
            self.dirty = true;
            return;
        }
        let built = load_sequence(
            &checkpoint.experiment.source,
            checkpoint.experiment.text.as_deref(),
            &checkpoint.experiment.params,
        )
        .map(Arc::new)
        .map_err(|e| e.to_string())
        .and_then(|sequence| {
            let mut sim = Simulation::new(&checkpoint.experiment.params, sequence.clone())
                .map_err(|e| e.to_string())?;
            // Step 0 with the parameters the run started with, when the file records them.
            let fresh = match &checkpoint.keyframes {
                Some(saved) if saved.start != checkpoint.experiment.params => {
                    Simulation::new(&saved.start, sequence.clone())
                        .map_err(|e| e.to_string())?
                        .state()
                }
                _ => sim.state(),
            };
            sim.restore(&checkpoint.state).map_err(|e| e.to_string())?;
            Ok((sequence, sim, fresh))
        });
        match built {
            Ok((sequence, sim, fresh)) => {
                let step = sim.step_index();
                self.params = sim.params().clone();
                self.sequence = Some(sequence);
                self.experiment = Some(checkpoint.experiment);
                let earlier = if checkpoint.keyframes.is_some() {
                    "earlier times replay from its keyframes"
                } else {
                    "the file keeps no keyframes, so earlier times replay from step 0"
                };
                self.status = Status::Applied(format!(
                    "Opened a saved state: the run continues from step {step}; {earlier}."
                ));
                self.install(Live::One(sim));
                // The saved keyframes and live edits (after `install`, which starts a new store).
                let budget = self.keyframes.budget();
                if let Some(SavedKeyframes { mut keyframes, .. }) = checkpoint.keyframes {
                    keyframes.set_budget(budget);
                    self.keyframes = keyframes;
                }
                // The trace recorded before the save, as this generation's past, in order
                // before the sample of the present that `install` took.
                if !checkpoint.trace.is_empty() {
                    self.publisher.clear();
                    for sample in checkpoint.trace.into_iter().filter(|s| s.step < step) {
                        self.publisher.push_sample(TraceSample {
                            generation: self.generation,
                            ..sample
                        });
                    }
                    self.sample();
                }
                // Times before the nearest saved keyframe replay from step 0.
                self.start_state = Some(fresh);
                // The rows read before the save, as if they had just been read.
                self.collect_rows();
                if let Some(sim) = self.sim.as_ref() {
                    self.metrics = sim.metrics();
                    self.metrics_rows = self.rows_completed;
                    self.next_boundary = sim.current_slot().map_or(u64::MAX, |s| s.end_step());
                }
            }
            Err(error) => {
                self.status = Status::Refused(format!(
                    "Not opened: {error}. The current experiment is unchanged."
                ));
            }
        }
        self.dirty = true;
    }

    /// Branches at the shown step with `new` parameters: the future is discarded.
    fn branch(&mut self, new: Params) {
        let Some(step) = self.shown else {
            self.apply_params(new);
            return;
        };
        if self.sim.as_ref().is_some_and(|sim| sim.layer().is_some()) {
            self.status = Status::Refused(format!("Cannot branch: {LAYER_TIMELINE}."));
            return;
        }
        if self.params.is_structural_change(&new) {
            let list = changed_params(&self.params, &new)
                .into_iter()
                .filter(|name| {
                    crate::model::params::PARAMS
                        .iter()
                        .any(|param| param.name == name && !param.live)
                })
                .collect::<Vec<_>>()
                .join(", ");
            self.status = Status::Refused(format!(
                "Cannot branch with a change of {list}: it rebuilds the network, so the run restarts at t = 0 instead."
            ));
            return;
        }
        if let Err(error) = new.validate() {
            self.status = Status::Refused(format!("Not applied: {error}"));
            return;
        }
        let Some(state) = self.scrub.as_ref().map(Simulation::state) else {
            return;
        };
        let Some(sim) = self.sim.as_mut() else {
            return;
        };
        let before = Lineage {
            params: self.params.clone(),
            state: sim.state(),
            keyframes: self.keyframes.clone(),
            branches: self.branches.clone(),
            shown: self.shown,
        };
        if let Err(error) = sim
            .restore(&state)
            .and_then(|()| sim.set_live(LiveParams::of(&new)))
        {
            self.status = Status::Refused(format!("Cannot branch: {error}"));
            return;
        }
        self.before_branches.push(before);
        if self.before_branches.len() > super::history::BRANCHES_KEPT {
            self.before_branches.remove(0);
        }
        self.undone_branches.clear();
        let changed = changed_params(&self.params, &new).join(", ");
        self.params = new;
        self.keyframes.truncate_after(step);
        self.keyframes.record_edit(step, &self.params);
        self.branches.retain(|at| *at < step);
        self.branches.push(step);
        let rows_done = sim.output().rows_done.clone();
        self.rows_sent.clone_from(&rows_done);
        self.rows_completed = rows_done.iter().filter(|done| **done).count();
        self.metrics = sim.metrics();
        self.metrics_rows = self.rows_completed;
        self.next_boundary = sim.current_slot().map_or(u64::MAX, |s| s.end_step());
        self.publisher.truncate_after(step, rows_done);
        self.shown = None;
        let with = if changed.is_empty() {
            String::new()
        } else {
            format!(" with {changed} changed")
        };
        self.status = Status::Applied(format!(
            "Branched at step {step}: the run goes on from there{with}; undo (Ctrl+Z) brings the old run back."
        ));
    }
}

impl Engine {
    /// Undoes (`back`) or redoes the latest branch: the live run switches to the line put
    /// aside, and the line it leaves is put aside for the way back.
    fn switch_branch(&mut self, back: bool) {
        let target = if back {
            self.before_branches.pop()
        } else {
            self.undone_branches.pop()
        };
        let Some(target) = target else {
            let what = if back { "undo" } else { "redo" };
            self.status = Status::Refused(format!("There is no branch to {what}."));
            return;
        };
        self.set_running(false);
        self.stop_at = None;
        let Some(sim) = self.sim.as_mut() else {
            return;
        };
        let left = Lineage {
            params: self.params.clone(),
            state: sim.state(),
            keyframes: self.keyframes.clone(),
            branches: self.branches.clone(),
            shown: self.shown,
        };
        if let Err(error) = sim
            .restore(&target.state)
            .and_then(|()| sim.set_live(LiveParams::of(&target.params)))
        {
            // The left line is intact: keep the target for another try.
            let _ = sim.restore(&left.state);
            self.status = Status::Refused(format!("Cannot switch branches: {error}"));
            if back {
                self.before_branches.push(target);
            } else {
                self.undone_branches.push(target);
            }
            return;
        }
        // Where the two lines part: the branch point of the newer one.
        let newer = if back {
            &left.branches
        } else {
            &target.branches
        };
        let step = newer.last().copied().unwrap_or(0);
        let budget = self.keyframes.budget();
        self.params = target.params;
        self.keyframes = target.keyframes;
        self.keyframes.set_budget(budget);
        self.branches = target.branches;
        let rows_done = sim.output().rows_done.clone();
        self.metrics = sim.metrics();
        self.per_query = Arc::new(sim.per_query());
        self.next_boundary = sim.current_slot().map_or(u64::MAX, |s| s.end_step());
        self.publisher.switch_branch(BranchSwitch {
            step,
            rows_done: rows_done.clone(),
            back,
        });
        // Every row the restored line has read, sent again.
        self.rows_sent = vec![false; rows_done.len()];
        self.rows_completed = 0;
        self.collect_rows();
        self.metrics_rows = self.rows_completed;
        if back {
            self.undone_branches.push(left);
        } else {
            self.before_branches.push(left);
        }
        self.shown = None;
        if let Some(shown) = target.shown {
            self.show_step(Some(shown));
        }
        self.status = Status::Applied(if back {
            format!("Undid the branch at step {step}: the run before it is back, future included.")
        } else {
            format!("Redid the branch at step {step}.")
        });
        self.dirty = true;
    }
}

/// Loads every head of `experiment`'s layer and builds the layer's simulation; returns the
/// selected head's sequence with it.
fn build_layer(
    experiment: &Experiment,
    params: &Params,
    selected: usize,
) -> Result<(Arc<Sequence>, Live), String> {
    let layer = load_layer(&experiment.source, experiment.text.as_deref(), params)
        .map(Arc::new)
        .map_err(|e| e.to_string())?;
    let sim = LayerSimulation::new(params, layer.clone()).map_err(|e| e.to_string())?;
    let run = LayerRun::new(sim, selected);
    let sequence = layer.heads[run.selected].clone();
    Ok((sequence, Live::Layer(run)))
}

/// Slots completed by `sim` (algebraic mode: rows read): the keyframe boundary index.
fn completed_slots(sim: &Simulation) -> usize {
    match sim.dynamic() {
        Some(dynamic) => dynamic
            .schedule()
            .slot_index_at(dynamic.step_index())
            .unwrap_or(dynamic.schedule().slots.len()),
        None => sim.step_index() as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_params_names_fields() {
        let a = Params::default();
        let b = Params {
            m: 512,
            tau_calcium: 3.0,
            ..a.clone()
        };
        assert_eq!(changed_params(&a, &b), ["m", "tau_calcium"]);
    }
}
