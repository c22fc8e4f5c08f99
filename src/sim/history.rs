//! The UI side of the worker's output: the latest snapshot plus the bounded trace history and
//! the network's attention rows, accumulated across publications.

use super::ring::Ring;
use super::snapshot::{RowUpdate, Snapshot, Update};
use super::trace::TraceSample;
use ndarray::Array2;

/// Trace samples kept (oldest dropped first). The worker samples at most ~8 000 per run.
pub const TRACE_CAPACITY: usize = 20_000;

/// What the views read.
pub struct RunHistory {
    pub snapshot: Option<Snapshot>,
    pub samples: Ring<TraceSample>,
    /// A_net (N × N), filled row by row as read slots complete.
    pub network_attention: Array2<f64>,
    pub rows_done: Vec<bool>,
    /// c_t of each completed read slot, in normaliser units.
    pub row_calcium: Vec<f64>,
    /// Changes whenever `network_attention` changes (for texture caches).
    pub attention_version: u64,
    /// A state captured for File ▸ Save state, waiting to be written (take it).
    pub captured: Option<Result<std::sync::Arc<super::checkpoint::Checkpoint>, String>>,
    generation: Option<u64>,
    /// The trace each branch discarded (the future of the line before it), latest last, and
    /// the futures undone branches had, for redo: the worker keeps the matching states.
    branch_futures: Vec<Vec<TraceSample>>,
    undone_futures: Vec<Vec<TraceSample>>,
}

/// Branches whose discarded futures are kept for undo (the worker keeps as many states).
pub const BRANCHES_KEPT: usize = 4;

impl Default for RunHistory {
    fn default() -> Self {
        RunHistory {
            snapshot: None,
            samples: Ring::new(TRACE_CAPACITY),
            network_attention: Array2::zeros((0, 0)),
            rows_done: Vec::new(),
            row_calcium: Vec::new(),
            attention_version: 0,
            captured: None,
            generation: None,
            branch_futures: Vec::new(),
            undone_futures: Vec::new(),
        }
    }
}

impl RunHistory {
    /// Folds one update in. A new generation (rebuild or reset) clears the history.
    pub fn apply(&mut self, update: Update) {
        let Update {
            snapshot,
            samples,
            rows,
            truncate,
            captured,
            switch,
        } = update;
        if captured.is_some() {
            self.captured = captured;
        }
        if self.generation != Some(snapshot.generation) {
            self.generation = Some(snapshot.generation);
            self.samples.clear();
            let n = snapshot.run.as_ref().map_or(0, |run| run.tokens.len());
            self.network_attention = Array2::zeros((n, n));
            self.rows_done = vec![false; n];
            self.row_calcium = vec![f64::NAN; n];
            self.attention_version += 1;
            self.branch_futures.clear();
            self.undone_futures.clear();
        }
        if let Some(switch) = switch {
            let left = self.split_off_after(switch.step);
            let (from, to) = if switch.back {
                (&mut self.branch_futures, &mut self.undone_futures)
            } else {
                (&mut self.undone_futures, &mut self.branch_futures)
            };
            let restored = from.pop().unwrap_or_default();
            to.push(left);
            self.samples.extend(restored);
            self.clear_rows_not_done(&switch.rows_done);
        }
        if let Some((step, rows_done)) = truncate {
            let future = self.split_off_after(step);
            self.branch_futures.push(future);
            if self.branch_futures.len() > BRANCHES_KEPT {
                self.branch_futures.remove(0);
            }
            self.undone_futures.clear();
            self.clear_rows_not_done(&rows_done);
        }
        let generation = snapshot.generation;
        self.samples
            .extend(samples.into_iter().filter(|s| s.generation == generation));
        for row in rows.into_iter().filter(|r| r.generation == generation) {
            self.apply_row(row);
        }
        self.snapshot = Some(snapshot);
    }

    /// Removes and returns the samples after `step`.
    fn split_off_after(&mut self, step: u64) -> Vec<TraceSample> {
        let (kept, future): (Vec<TraceSample>, Vec<TraceSample>) =
            self.samples.drain().partition(|sample| sample.step <= step);
        self.samples.extend(kept);
        future
    }

    /// Clears the rows `rows_done` says are not completed.
    fn clear_rows_not_done(&mut self, rows_done: &[bool]) {
        for (t, done) in rows_done.iter().enumerate() {
            if !done && t < self.rows_done.len() && self.rows_done[t] {
                self.rows_done[t] = false;
                self.row_calcium[t] = f64::NAN;
                self.network_attention.row_mut(t).fill(0.0);
            }
        }
        self.attention_version += 1;
    }

    fn apply_row(&mut self, row: RowUpdate) {
        let n = self.rows_done.len();
        if row.query >= n || row.attention.len() != n {
            return;
        }
        for (tau, value) in row.attention.into_iter().enumerate() {
            self.network_attention[[row.query, tau]] = value;
        }
        self.rows_done[row.query] = true;
        self.row_calcium[row.query] = row.calcium;
        self.attention_version += 1;
    }

    /// The generation of the data held, if any.
    pub fn generation(&self) -> Option<u64> {
        self.generation
    }
}
