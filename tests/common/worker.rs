//! The worker-test harness shared by tests/worker.rs and tests/worker_images.rs: a worker, the
//! history its updates build, and one way to wait for a snapshot with a deadline.

use std::time::{Duration, Instant};
use tripartite::data::experiment::Experiment;
use tripartite::sim::{Command, RunHistory, RunState, Snapshot, Worker};

pub struct Harness {
    pub worker: Worker,
    pub history: RunHistory,
}

impl Harness {
    /// A worker on `experiment`, waited for until its first snapshot (run or failed).
    pub fn new(experiment: Experiment) -> Self {
        let mut h = Harness {
            worker: Worker::spawn(experiment, || {}),
            history: RunHistory::default(),
        };
        h.wait("the first snapshot", |s| {
            s.run.is_some() || s.state == RunState::Failed
        });
        h
    }

    pub fn send(&self, command: Command) {
        self.worker.send(command);
    }

    /// Polls until `done` holds for the newest snapshot (fails after 30 s).
    pub fn wait(&mut self, what: &str, done: impl Fn(&Snapshot) -> bool) -> Snapshot {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(update) = self.worker.take_update() {
                self.history.apply(update);
            }
            if let Some(s) = &self.history.snapshot
                && done(s)
            {
                return s.clone();
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}
