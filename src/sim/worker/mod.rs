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

mod changes;
mod control;
mod live;
mod meter;
mod pacing;
mod publisher;
mod recorder;
mod subset;
mod timeline;

pub use self::control::{FULL_SPEED_PUBLISH_INTERVAL, PUBLISH_INTERVAL};

use self::control::Control;
use self::live::{Live, Source};
use self::publisher::Mailbox;
use self::recorder::{Recorder, Scene};
use self::timeline::Timeline;
use crate::data::experiment::Experiment;
use crate::model::params::Params;
use crate::model::sequence::Sequence;
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
}
