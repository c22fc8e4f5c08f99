//! The UI side of the worker's output: the latest snapshot plus the bounded trace history and
//! the network's attention rows, accumulated across publications.

use super::ring::Ring;
use super::snapshot::{RowUpdate, Snapshot, TraceSample, Update};
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
    pub captured: Option<Result<std::sync::Arc<super::run::Checkpoint>, String>>,
    generation: Option<u64>,
}

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
        }
        if let Some((step, rows_done)) = truncate {
            let kept: Vec<TraceSample> = self
                .samples
                .drain()
                .filter(|sample| sample.step <= step)
                .collect();
            self.samples.extend(kept);
            for (t, done) in rows_done.iter().enumerate() {
                if !done && t < self.rows_done.len() && self.rows_done[t] {
                    self.rows_done[t] = false;
                    self.row_calcium[t] = f64::NAN;
                    self.network_attention.row_mut(t).fill(0.0);
                }
            }
            self.attention_version += 1;
        }
        let generation = snapshot.generation;
        self.samples
            .extend(samples.into_iter().filter(|s| s.generation == generation));
        for row in rows.into_iter().filter(|r| r.generation == generation) {
            self.apply_row(row);
        }
        self.snapshot = Some(snapshot);
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
