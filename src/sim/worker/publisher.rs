//! The worker's output side: trace samples and read rows gather here between publications, and
//! each publication puts the newest snapshot into a one-slot mailbox (the newest replaces the
//! last unread one, as a triple buffer would) with everything gathered since.

use crate::sim::checkpoint::Checkpoint;
use crate::sim::history::TRACE_CAPACITY;
use crate::sim::snapshot::{BranchSwitch, RowUpdate, Snapshot, Update};
use crate::sim::thread::lock;
use crate::sim::trace::TraceSample;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the UI takes from the worker: shared between the two threads.
#[derive(Default)]
pub struct Mailbox {
    snapshot: Option<Snapshot>,
    samples: VecDeque<TraceSample>,
    rows: Vec<RowUpdate>,
    truncate: Option<(u64, Vec<bool>)>,
    captured: Option<Result<Arc<Checkpoint>, String>>,
    switch: Option<BranchSwitch>,
}

impl Mailbox {
    /// Takes the newest snapshot with every sample and row published since the last call.
    pub fn take_update(&mut self) -> Option<Update> {
        let snapshot = self.snapshot.take()?;
        Some(Update {
            snapshot,
            samples: self.samples.drain(..).collect(),
            rows: std::mem::take(&mut self.rows),
            truncate: self.truncate.take(),
            captured: self.captured.take(),
            switch: self.switch.take(),
        })
    }
}

/// Gathers output and publishes it.
pub struct Publisher {
    mailbox: Arc<Mutex<Mailbox>>,
    notify: Box<dyn Fn() + Send>,
    samples: Vec<TraceSample>,
    rows: Vec<RowUpdate>,
    last_publish: Instant,
}

impl Publisher {
    /// Publishes into `mailbox`, calling `notify` after each publication.
    pub fn new(mailbox: Arc<Mutex<Mailbox>>, notify: Box<dyn Fn() + Send>) -> Self {
        Publisher {
            mailbox,
            notify,
            samples: Vec::new(),
            rows: Vec::new(),
            last_publish: Instant::now(),
        }
    }

    /// Keeps a trace sample for the next publication (the oldest go beyond the history's size).
    pub fn push_sample(&mut self, sample: TraceSample) {
        self.samples.push(sample);
        if self.samples.len() > TRACE_CAPACITY {
            let excess = self.samples.len() - TRACE_CAPACITY;
            self.samples.drain(..excess);
        }
    }

    pub fn push_row(&mut self, row: RowUpdate) {
        self.rows.push(row);
    }

    /// Drops every sample and row not yet taken (they belong to a simulation that is gone).
    pub fn clear(&mut self) {
        self.samples.clear();
        self.rows.clear();
        let mut mailbox = lock(&self.mailbox);
        mailbox.samples.clear();
        mailbox.rows.clear();
    }

    /// Wall time since the last publication.
    /// A branch at `step`: drops pending samples after it and tells the reader to do the same
    /// with its history; `rows_done` is the read rows completed at `step`.
    pub fn truncate_after(&mut self, step: u64, rows_done: Vec<bool>) {
        self.samples.retain(|sample| sample.step <= step);
        self.rows.clear();
        let mut mailbox = lock(&self.mailbox);
        mailbox.samples.retain(|sample| sample.step <= step);
        mailbox.rows.clear();
        mailbox.truncate = Some((step, rows_done));
    }

    /// A branch undone or redone at `switch.step`: samples past it that the reader has not
    /// taken belong to the line being left, and go.
    pub fn switch_branch(&mut self, switch: BranchSwitch) {
        let step = switch.step;
        self.samples.retain(|sample| sample.step <= step);
        self.rows.clear();
        let mut mailbox = lock(&self.mailbox);
        mailbox.samples.retain(|sample| sample.step <= step);
        mailbox.rows.clear();
        mailbox.switch = Some(switch);
    }

    /// Hands a captured state (or why there is none) to the reader with the next update.
    pub fn captured(&mut self, captured: Result<Arc<Checkpoint>, String>) {
        lock(&self.mailbox).captured = Some(captured);
    }

    pub fn since_last(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.last_publish)
    }

    /// Publishes `snapshot` with everything gathered since the last publication, then notifies.
    pub fn publish(&mut self, snapshot: Snapshot) {
        let samples = std::mem::take(&mut self.samples);
        let rows = std::mem::take(&mut self.rows);
        {
            let mut mailbox = lock(&self.mailbox);
            mailbox.snapshot = Some(snapshot);
            mailbox.samples.extend(samples);
            while mailbox.samples.len() > TRACE_CAPACITY {
                mailbox.samples.pop_front();
            }
            mailbox.rows.extend(rows);
        }
        (self.notify)();
        self.last_publish = Instant::now();
    }
}
