//! The one exporter, shared by `run --out` and File ▸ Export: one layout per kind of file, every
//! file written atomically (a failed export leaves any previous file untouched).
//!
//! - [`csv`]: `trace.csv` (`time_ms,phase,slot,token,c,z`), `attention.csv`
//!   (`query,key,softmax,network,difference`, long form) and `per_query.csv` (the per-query
//!   diagnostics of `metrics.json`, one line per row).
//! - `perm.npy`: π of `shuffled_processes` (perm[j] = π(j)), only under that ablation.
//! - [`npy`]: arrays as `.npy`, attention as `STEM_softmax.npy`, `STEM_network.npy` (and
//!   `STEM_difference.npy` from the app).
//! - [`json`]: `metrics.json`, the [`json::RunReport`].
//! - [`png`]: figures and screenshots.
//! - [`figure`], [`layer`], [`encode`]: the files of `tripartite figure`, of a whole layer's
//!   `run --out` (and its `metrics.json`), and of `tripartite encode`.

pub mod csv;
pub mod encode;
pub mod figure;
pub mod json;
pub mod layer;
pub mod npy;
pub mod png;

use crate::sim::run::HeadlessRun;
use ndarray::Array1;
use std::path::{Path, PathBuf};

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write '{path}': {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("{0}")]
    Shape(String),
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    super::atomic_write(path, bytes).map_err(|e| ExportError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Writes every file of `run --out DIR`.
pub fn write_run_outputs(dir: &Path, run: &HeadlessRun) -> Result<(), ExportError> {
    std::fs::create_dir_all(dir).map_err(|e| ExportError::Write {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    let sim = &run.simulation;
    let seq = sim.sequence();
    let net = sim.network();
    let report = json::RunReport::of_run(run);
    write_bytes(
        &dir.join("metrics.json"),
        json::report_json(&report).as_bytes(),
    )?;
    let array = |name: &str, array: &ndarray::Array2<f64>| npy::write_npy(&dir.join(name), array);
    array("q.npy", &seq.queries)?;
    array("k.npy", &seq.keys)?;
    array("v.npy", &seq.values)?;
    array("W.npy", &net.projection)?;
    if let Some(gains) = &net.process_gains {
        array("gamma.npy", gains)?;
    }
    if let Some(perm) = &net.permutation {
        let perm: Array1<i64> = perm.iter().map(|&j| j as i64).collect();
        npy::write_npy(&dir.join("perm.npy"), &perm)?;
    }
    array("attention_softmax.npy", &sim.reference().attention)?;
    array("attention_network.npy", &sim.output().attention)?;
    let vector =
        |name: &str, values: Vec<f64>| npy::write_npy(&dir.join(name), &Array1::from(values));
    vector("c.npy", sim.output().calcium.clone())?;
    vector("z.npy", sim.reference().normaliser())?;
    array("y_network.npy", &sim.output().outputs)?;
    array("y_softmax.npy", &sim.reference().outputs)?;
    let slots = sim
        .dynamic()
        .map(|d| d.schedule().slots.as_slice())
        .unwrap_or_default();
    csv::write_trace(
        &dir.join("trace.csv"),
        &run.trace,
        slots,
        &seq.tokens,
        &sim.reference().normaliser(),
    )?;
    csv::write_per_query(&dir.join("per_query.csv"), &seq.tokens, &report.per_query)?;
    write_bytes(
        &dir.join("tokens.txt"),
        (seq.tokens.join("\n") + "\n").as_bytes(),
    )?;
    csv::write_attention(
        &dir.join("attention.csv"),
        &seq.tokens,
        &sim.reference().attention,
        &sim.output().attention,
    )
}

/// Checks that `matrix` is N × N for the `tokens.len()` tokens.
fn check_square(
    name: &str,
    tokens: usize,
    matrix: &ndarray::Array2<f64>,
) -> Result<(), ExportError> {
    if matrix.dim() == (tokens, tokens) {
        return Ok(());
    }
    Err(ExportError::Shape(format!(
        "the {name} attention is {}×{} but there are {tokens} tokens",
        matrix.nrows(),
        matrix.ncols()
    )))
}
