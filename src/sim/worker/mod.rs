//! The worker thread: the only owner of a running simulation.
//!
//! Commands arrive over a channel. The worker steps the simulation in batches and, at most
//! every [`PUBLISH_INTERVAL`], publishes a [`Snapshot`](crate::sim::Snapshot) of the shown
//! subset into a one-slot mailbox (the newest replaces the last unread one, as a triple buffer
//! would), together with the trace samples and read rows produced since. Panics are caught: the
//! simulation is dropped, the failure is published, and `Reset` rebuilds it.
//!
//! This file holds the [`Worker`] handle, the engine loop and command dispatch. Each part of
//! the engine's state has its owner beside it: [`live`] (the running simulation, one head or a
//! layer, and the one build path), [`control`] (running, stop-at, speed, pacing, the meter),
//! [`recorder`] (what a run records and publishes) and [`timeline`] (keyframes, scrub,
//! branches). Their private helpers: [`publisher`], [`pacing`], [`meter`], [`subset`].

mod control;
mod live;
mod meter;
mod pacing;
mod publisher;
mod recorder;
mod subset;
mod timeline;

pub use self::control::{FULL_SPEED_PUBLISH_INTERVAL, PUBLISH_INTERVAL};
// The app names the changed parameters in its undo labels with this.
pub use crate::model::params::changed_params;

use self::control::Control;
use self::live::{Live, Source, build, build_one};
use self::publisher::Mailbox;
use self::recorder::{Recorder, Scene};
use self::timeline::{Shown, Timeline};
use crate::data::experiment::Experiment;
use crate::model::dynamic::LiveParams;
use crate::model::params::{Heads, Params};
use crate::model::sequence::Sequence;
use crate::sim::checkpoint::{Checkpoint, SavedKeyframes};
use crate::sim::command::Command;
use crate::sim::keyframes::DEFAULT_BUDGET_BYTES;
use crate::sim::snapshot::{Status, Update};
use crate::sim::thread::{lock, panic_message};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

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

/// The worker thread's state: each field an owner.
struct Engine {
    commands: Receiver<Command>,
    /// A command received while pacing, handled first in the next loop turn.
    deferred: Option<Command>,
    /// Where the sequence comes from.
    source: Source,
    params: Params,
    sim: Option<Live>,
    control: Control,
    recorder: Recorder,
    timeline: Timeline,
    /// The worker's last word to the user.
    status: Status,
    /// Something changed since the last publication.
    dirty: bool,
    panic_armed: bool,
}

impl Engine {
    fn new(
        commands: Receiver<Command>,
        mailbox: Arc<Mutex<Mailbox>>,
        notify: Box<dyn Fn() + Send>,
    ) -> Self {
        Engine {
            commands,
            deferred: None,
            source: Source::default(),
            params: Params::default(),
            sim: None,
            control: Control::new(Instant::now()),
            recorder: Recorder::new(mailbox, notify),
            timeline: Timeline::new(DEFAULT_BUDGET_BYTES),
            status: Status::Quiet,
            dirty: true,
            panic_armed: false,
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
                && (!self.control.running()
                    || self.recorder.since_last_publication(Instant::now())
                        >= self.control.publish_interval())
            {
                self.publish();
            }
            if !self.control.running() {
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
            if self.control.running() && !self.advance_guarded() {
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
        self.recorder.forget_run();
        self.status = Status::Failed(message);
        self.dirty = true;
    }

    fn set_running(&mut self, running: bool) {
        if self.control.set_running(running, Instant::now()) {
            self.dirty = true;
        }
    }

    fn start(&mut self, start: Start) {
        match start {
            Start::Experiment(experiment) => self.load_experiment(*experiment),
            Start::Sequence { sequence, params } => {
                self.source = Source::sequence(sequence);
                self.params = *params;
                self.rebuild();
            }
        }
    }

    fn handle(&mut self, command: Command) -> bool {
        self.dirty = true;
        match command {
            Command::Run => {
                self.timeline.show_present();
                if self.finished() && self.control.looping {
                    self.rebuild();
                }
                if self.sim.is_some() && !self.finished() {
                    self.control.set_stop_at(None);
                    self.set_running(true);
                }
            }
            Command::Pause => self.set_running(false),
            Command::StepDt => {
                self.set_running(false);
                self.step_run(1);
            }
            Command::StepSlot => {
                self.set_running(false);
                let end = self.sim.as_ref().and_then(|sim| sim.current_slot());
                match end.map(|slot| slot.end_step()) {
                    Some(end) => {
                        while self.sim.as_ref().is_some_and(|sim| sim.step_index() < end) {
                            if self.step_run(1) != 1 {
                                break;
                            }
                        }
                    }
                    None => {
                        self.step_run(1);
                    }
                }
            }
            Command::RunToEnd => self.run_until(u64::MAX),
            Command::RunToStep(step) => self.run_until(step),
            Command::Reset => {
                self.set_running(false);
                self.rebuild();
            }
            Command::SetSpeed(speed) => self.control.set_speed(speed, Instant::now()),
            Command::SetLoop(looping) => self.control.looping = looping,
            Command::SetParams(params) => self.apply_params(params),
            Command::LoadExperiment(experiment) => {
                self.set_running(false);
                self.load_experiment(*experiment);
            }
            Command::LoadSequence { sequence, params } => {
                self.set_running(false);
                self.source = Source::sequence(sequence);
                self.params = *params;
                self.rebuild();
            }
            Command::SetSubset(request) => self.recorder.set_subset(request),
            Command::SetProbes(probes) => self.recorder.set_probes(probes, self.sim.as_mut()),
            Command::ShowStep(step) => self.show_step(step),
            Command::Branch(params) => self.branch(*params),
            Command::UndoBranch => self.switch_branch(true),
            Command::RedoBranch => self.switch_branch(false),
            Command::SetKeyframeBudget(bytes) => self.timeline.set_budget(bytes),
            Command::CaptureState => {
                let captured = self.timeline.capture(
                    self.sim.as_ref(),
                    &self.params,
                    self.source.experiment.as_ref(),
                );
                self.recorder.captured(captured);
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
            self.control.set_stop_at(Some(step));
            self.set_running(true);
        }
    }

    fn finished(&self) -> bool {
        self.sim.as_ref().is_some_and(Live::is_finished)
    }

    /// Loads `experiment`. With a simulation running, a bad file, folder or text must not cost
    /// the user it: the new one is built aside and switched to only when it works.
    fn load_experiment(&mut self, experiment: Experiment) {
        if self.sim.is_none() {
            self.params = experiment.params.clone();
            self.source = Source::experiment(experiment);
            // The last word was about the experiment this one replaces.
            self.status = Status::Quiet;
            self.rebuild();
            return;
        }
        let params = experiment.params.clone();
        let mut source = Source::experiment(experiment);
        match build(&source, &params, false) {
            Ok((sequence, live)) => {
                self.set_running(false);
                self.params = params;
                source.sequence = Some(sequence);
                self.source = source;
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
            if let Some(sim) = self.sim.as_mut() {
                if let Err(error) = sim.set_live(LiveParams::of(&new)) {
                    self.status = Status::Refused(format!("Not applied: {error}"));
                    return;
                }
                self.timeline.record_edit(sim.step_index(), &new);
            }
            self.params = new;
            self.status =
                Status::Applied(format!("Applied live to the running simulation: {list}."));
            return;
        }
        // A layer's sequence is the shown head's, not one to run alone.
        let reuse =
            !self.source.needs_reload(&self.params, &new) && self.params.heads != Heads::All;
        match build(&self.source, &new, reuse) {
            Ok((sequence, live)) => {
                let was_running = self.control.running();
                self.set_running(false);
                self.params = new;
                self.source.sequence = Some(sequence);
                self.install(live);
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

    /// Builds the simulation afresh at time 0 (Reset; recovers from failures).
    fn rebuild(&mut self) {
        self.set_running(false);
        self.sim = None;
        self.recorder.discard();
        match build(&self.source, &self.params, true) {
            Ok((sequence, live)) => {
                self.source.sequence = Some(sequence);
                self.install(live);
            }
            Err(error) => {
                self.status = Status::Failed(format!("Cannot build the simulation: {error}"));
                self.dirty = true;
            }
        }
    }

    /// Makes `live` the running simulation, recorded from its present step.
    fn install(&mut self, mut live: Live) {
        self.recorder.begin(&mut live, self.params.dt);
        self.timeline.restart(&live);
        if matches!(self.status, Status::Failed(_)) {
            self.status = Status::Quiet;
        }
        self.sim = Some(live);
        self.dirty = true;
    }

    /// Makes head `head` of a running layer the one the snapshot's single-head fields describe.
    fn select_head(&mut self, head: usize) {
        let Some(mut live) = self.sim.take() else {
            self.status = Status::Refused(
                "Only a whole layer (heads = all) has heads to choose from.".to_string(),
            );
            return;
        };
        if let Err(why) = live.select(head) {
            self.status = Status::Refused(why);
            self.sim = Some(live);
            return;
        }
        let running = self.control.running();
        let status = self.status.clone();
        self.set_running(false);
        self.params.head = head;
        self.install(live);
        self.status = status;
        if running {
            self.set_running(true);
        }
    }

    /// Up to `max_steps` steps in one block of the simulation, ending at the slot boundary at
    /// the latest, then what the recorder and the timeline keep of it. Returns the steps taken
    /// (0 when nothing advanced).
    fn step_run(&mut self, max_steps: u64) -> u64 {
        if self.panic_armed {
            self.panic_armed = false;
            panic!("injected failure (test hook)");
        }
        let Some(sim) = self.sim.as_mut() else {
            return 0;
        };
        let before = sim.step_index();
        let block = sim.step_block(max_steps.min(self.recorder.room(before)));
        if block == 0 {
            return 0;
        }
        self.control.meter.count(block);
        if self.recorder.after_block(sim, before) {
            self.timeline.offer(sim);
        }
        self.dirty = true;
        block
    }

    /// Steps for about one publication interval, at the chosen speed.
    fn advance(&mut self) {
        let batch_start = Instant::now();
        let deadline = batch_start + self.control.publish_interval();
        let full_speed = self.control.full_speed();
        // Algebraic mode has no time: reveal about one row per slot's worth of time.
        let unit_ms = if self.sim.as_ref().is_some_and(|s| s.dynamic().is_none()) {
            self.params.t_write + self.params.t_read
        } else {
            self.params.dt
        };
        let allowed = self.control.allowance(batch_start, self.params.dt, unit_ms);
        let mut taken = 0u64;
        while taken < allowed {
            let mut room = allowed - taken;
            if let Some(step) = self.sim.as_ref().map(|sim| sim.step_index()) {
                match self.control.room_before_stop(step, room) {
                    Some(left) => room = left,
                    None => {
                        self.set_running(false);
                        break;
                    }
                }
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
            if self.control.looping && self.control.stop_at().is_none() {
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
        self.control.meter.tick(now);
        if self.control.running() && !full_speed && now < deadline {
            // Real-time pacing: wait for the next publication, or a command.
            match self.commands.recv_timeout(deadline - now) {
                Ok(command) => self.deferred = Some(command),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.deferred = Some(Command::Quit),
            }
        }
    }

    fn publish(&mut self) {
        let scene = Scene {
            status: &self.status,
            params: &self.params,
            control: &self.control,
            timeline: &self.timeline,
        };
        self.recorder.publish(self.sim.as_mut(), scene);
        self.dirty = false;
    }

    /// Shows the state after `step` steps (None or the present: the live run).
    fn show_step(&mut self, step: Option<u64>) {
        let Some(live) = self.sim.as_ref() else {
            return;
        };
        let watched = self.recorder.watched();
        match self.timeline.show_step(live, step, &self.source, &watched) {
            Shown::Present => {}
            Shown::Earlier => self.set_running(false),
            Shown::Refused { paused, why } => {
                if paused {
                    self.set_running(false);
                }
                self.status = Status::Refused(why);
            }
        }
    }

    /// Loads a saved run: its experiment, then its state. A state that does not fit keeps the
    /// current simulation.
    fn load_state(&mut self, checkpoint: Checkpoint) {
        self.set_running(false);
        self.dirty = true;
        if let Err(why) = Timeline::check_opens(&checkpoint) {
            self.status = Status::Refused(why);
            return;
        }
        let Checkpoint {
            experiment,
            state,
            trace,
            keyframes,
        } = checkpoint;
        let params = experiment.params.clone();
        let mut source = Source::experiment(experiment);
        let built = build_one(&source, &params, false).and_then(|(sequence, mut sim)| {
            source.sequence = Some(sequence);
            // Step 0 with the parameters the run started with, when the file records them.
            let fresh = match &keyframes {
                Some(saved) if saved.start != params => {
                    build_one(&source, &saved.start, true)?.1.state()
                }
                _ => sim.state(),
            };
            sim.restore(&state).map_err(|e| e.to_string())?;
            Ok((sim, fresh))
        });
        match built {
            Ok((sim, fresh)) => {
                let step = sim.step_index();
                self.params = sim.params().clone();
                self.source = source;
                let earlier = if keyframes.is_some() {
                    "earlier times replay from its keyframes"
                } else {
                    "the file keeps no keyframes, so earlier times replay from step 0"
                };
                self.status = Status::Applied(format!(
                    "Opened a saved state: the run continues from step {step}; {earlier}."
                ));
                self.install(Live::One(sim));
                // The saved keyframes and live edits (after `install`, which starts a new store).
                let saved = keyframes.map(|SavedKeyframes { keyframes, .. }| keyframes);
                self.timeline.resume(saved, fresh);
                if let Some(sim) = self.sim.as_ref() {
                    self.recorder.resume(sim, trace);
                }
            }
            Err(error) => {
                self.status = Status::Refused(format!(
                    "Not opened: {error}. The current experiment is unchanged."
                ));
            }
        }
    }

    /// Branches at the shown step with `new` parameters: the future is discarded. With the
    /// present shown, the parameters are applied as any edit.
    fn branch(&mut self, new: Params) {
        if self.timeline.shown().is_none() {
            self.apply_params(new);
            return;
        }
        let Some(live) = self.sim.as_mut() else {
            return;
        };
        match self.timeline.branch(live, &self.params, &new) {
            Ok(Some(step)) => {
                self.recorder.after_branch(live, step);
                let changed = changed_params(&self.params, &new).join(", ");
                self.params = new;
                let with = if changed.is_empty() {
                    String::new()
                } else {
                    format!(" with {changed} changed")
                };
                self.status = Status::Applied(format!(
                    "Branched at step {step}: the run goes on from there{with}; its old future is gone."
                ));
            }
            Ok(None) => {}
            Err(why) => self.status = Status::Refused(why),
        }
    }

    /// Undoes (`back`) or redoes the latest branch.
    fn switch_branch(&mut self, back: bool) {
        if !self.timeline.can_switch(back) {
            let what = if back { "undo" } else { "redo" };
            self.status = Status::Refused(format!("There is no branch to {what}."));
            return;
        }
        self.set_running(false);
        let Some(live) = self.sim.as_mut() else {
            return;
        };
        let watched = self.recorder.watched();
        match self
            .timeline
            .switch(live, &self.params, back, &self.source, &watched)
        {
            Ok((params, step)) => {
                self.params = params;
                self.recorder.after_switch(live, step, back);
                self.status = Status::Applied(if back {
                    format!(
                        "Undid the branch at step {step}: the run before it is back, future included."
                    )
                } else {
                    format!("Redid the branch at step {step}.")
                });
            }
            Err(why) => self.status = Status::Refused(why),
        }
        self.dirty = true;
    }
}
