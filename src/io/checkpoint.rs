//! State files: a run stopped at a slot boundary, written whole so that `run --resume` can
//! continue it and give, bit for bit, what the uninterrupted run gives.
//!
//! Layout (little-endian): the magic line `tripartite state\n`, the format version (u32), the
//! experiment the run belongs to (its TOML, length-prefixed), the live parameters in force
//! (JSON, length-prefixed), the mode's state, the trace recorded so far, (format 2) the
//! run's keyframes and live edits, and an FNV-1a 64-bit checksum of every byte before it.
//! Format 1 files (no keyframe section) still open: their earlier times replay from step 0. The checksum is checked before anything is parsed, so a
//! truncated file or one flipped byte is reported as damage, never read as a wrong state.

use crate::data::experiment::Experiment;
use crate::model::algebraic::NetworkOutput;
use crate::model::dynamic::DynamicState;
use crate::model::params::Params;
use crate::model::simulation::SimState;
use crate::sim::checkpoint::{Checkpoint, SavedKeyframes};
use crate::sim::keyframes::{DEFAULT_BUDGET_BYTES, Keyframes};
use crate::sim::trace::TraceSample;
use ndarray::Array2;
use std::path::{Path, PathBuf};

/// The first bytes of every state file.
pub const MAGIC: &[u8] = b"tripartite state\n";
/// The newest state format this build reads, and the one it writes.
pub const STATE_VERSION: u32 = 2;

/// Why a state file could not be written or used.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("cannot read '{path}': {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("cannot write '{path}': {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("'{path}' is not a tripartite state file")]
    NotAState { path: PathBuf },
    #[error(
        "'{path}' is damaged: its checksum does not match its contents (the file is truncated or was altered)"
    )]
    Damaged { path: PathBuf },
    #[error(
        "'{path}' is a state file of format {found}, newer than this build reads ({STATE_VERSION}); update tripartite"
    )]
    NewerVersion { path: PathBuf, found: u32 },
    #[error("'{path}' is not a valid state file: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error(
        "'{path}' belongs to another experiment: it differs in {differing}; resume it without --experiment/--sequence/--set, or start a new run"
    )]
    OtherExperiment { path: PathBuf, differing: String },
}

/// Refuses to resume the state in `path` (of `saved`) as `given`: names what differs.
pub fn check_same_experiment(
    path: &Path,
    saved: &Experiment,
    given: &Experiment,
) -> Result<(), StateFileError> {
    let mut differing: Vec<String> = saved
        .params
        .changes(&given.params)
        .map(|param| param.name.to_string())
        .collect();
    if saved.source != given.source {
        differing.push(format!(
            "the sequence ({} against {})",
            saved.source, given.source
        ));
    }
    if saved.text != given.text {
        differing.push("the text".to_string());
    }
    if differing.is_empty() {
        Ok(())
    } else {
        Err(StateFileError::OtherExperiment {
            path: path.to_path_buf(),
            differing: differing.join(", "),
        })
    }
}

/// Writes `checkpoint` to `path` atomically.
pub fn save_state(path: &Path, checkpoint: &Checkpoint) -> Result<(), StateFileError> {
    let bytes = encode(checkpoint);
    super::atomic_write(path, &bytes).map_err(|e| StateFileError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Reads a state file written by [`save_state`].
pub fn load_state(path: &Path) -> Result<Checkpoint, StateFileError> {
    let bytes = std::fs::read(path).map_err(|e| StateFileError::Read {
        path: path.to_path_buf(),
        reason: if path.is_dir() {
            "it is a folder".to_string()
        } else {
            e.to_string()
        },
    })?;
    decode(&bytes, path)
}

/// The file's bytes for `checkpoint`.
pub fn encode(checkpoint: &Checkpoint) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    w.0.extend_from_slice(MAGIC);
    w.u32(STATE_VERSION);
    w.text(&checkpoint.experiment.to_toml());
    w.state(&checkpoint.state);
    w.u64(checkpoint.trace.len() as u64);
    for sample in &checkpoint.trace {
        w.u64(sample.generation);
        w.u64(sample.step);
        w.f64(sample.time_ms);
        w.f64(sample.calcium);
    }
    w.keyframes(checkpoint.keyframes.as_ref());
    let sum = fnv1a(&w.0);
    w.u64(sum);
    w.0
}

/// Reads the bytes of a state file; `path` names it in errors.
pub fn decode(bytes: &[u8], path: &Path) -> Result<Checkpoint, StateFileError> {
    let path_buf = || path.to_path_buf();
    if !bytes.starts_with(MAGIC) {
        return Err(StateFileError::NotAState { path: path_buf() });
    }
    let Some(body_len) = bytes.len().checked_sub(8) else {
        return Err(StateFileError::Damaged { path: path_buf() });
    };
    if body_len < MAGIC.len() + 4 {
        return Err(StateFileError::Damaged { path: path_buf() });
    }
    let (body, sum) = bytes.split_at(body_len);
    let sum = u64::from_le_bytes(sum.try_into().expect("8 bytes"));
    if fnv1a(body) != sum {
        return Err(StateFileError::Damaged { path: path_buf() });
    }
    let mut r = Reader {
        bytes: &body[MAGIC.len()..],
    };
    let malformed = |reason: String| StateFileError::Malformed {
        path: path_buf(),
        reason,
    };
    let version = r.u32().map_err(malformed)?;
    if version > STATE_VERSION {
        return Err(StateFileError::NewerVersion {
            path: path_buf(),
            found: version,
        });
    }
    if version == 0 {
        return Err(malformed("format 0 never existed".to_string()));
    }
    let parsed = (|| -> Result<Checkpoint, String> {
        let toml = r.text()?;
        let experiment = Experiment::parse(&toml, path).map_err(|e| e.to_string())?;
        let state = r.state()?;
        let samples = r.len(32)?;
        let trace = (0..samples)
            .map(|_| -> Result<TraceSample, String> {
                Ok(TraceSample {
                    generation: r.u64()?,
                    step: r.u64()?,
                    time_ms: r.f64()?,
                    calcium: r.f64()?,
                    probes: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let keyframes = if version >= 2 {
            let keyframes = r
                .keyframes(DEFAULT_BUDGET_BYTES)
                .map_err(|e| format!("its keyframes do not read ({e})"))?;
            if let Some(late) = keyframes.as_ref().and_then(|k| {
                k.keyframes
                    .steps()
                    .into_iter()
                    .find(|&step| step > state.step_index())
            }) {
                return Err(format!(
                    "its keyframes do not read (one is at step {late}, after the saved step {})",
                    state.step_index()
                ));
            }
            keyframes
        } else {
            None
        };
        if !r.bytes.is_empty() {
            return Err(format!("{} bytes follow the trace", r.bytes.len()));
        }
        Ok(Checkpoint {
            experiment,
            state,
            trace,
            keyframes,
        })
    })();
    parsed.map_err(malformed)
}

/// FNV-1a, 64 bits: every change of a single byte changes it (each step is a bijection).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

struct Writer(Vec<u8>);

impl Writer {
    fn state(&mut self, state: &SimState) {
        match state {
            SimState::Dynamic(dynamic) => {
                self.u8(0);
                self.params(&dynamic.params);
                self.u64(dynamic.step);
                self.u64(dynamic.target_slot.map_or(u64::MAX, |slot| slot as u64));
                self.f64(dynamic.calcium);
                self.u8(u8::from(dynamic.calcium_frozen));
                for vector in [
                    &dynamic.input_rates,
                    &dynamic.drive,
                    &dynamic.drive_target,
                    &dynamic.hidden_rates,
                    &dynamic.output_rates,
                    &dynamic.presynaptic,
                    &dynamic.process_drive,
                ] {
                    self.vector(vector);
                }
                self.u64(dynamic.eligibility.len() as u64);
                for row in &dynamic.eligibility {
                    self.vector(row);
                }
                self.matrix(&dynamic.output.attention);
                self.vector(&dynamic.output.calcium);
                self.matrix(&dynamic.output.outputs);
                self.u64(dynamic.output.rows_done.len() as u64);
                for &done in &dynamic.output.rows_done {
                    self.u8(u8::from(done));
                }
            }
            SimState::Algebraic { rows, params } => {
                self.u8(1);
                self.params(params);
                self.u64(*rows as u64);
            }
        }
    }
    fn keyframes(&mut self, saved: Option<&SavedKeyframes>) {
        let Some(SavedKeyframes { start, keyframes }) = saved else {
            self.u8(0);
            return;
        };
        self.u8(1);
        self.params(start);
        self.u64(keyframes.stride() as u64);
        self.u64(keyframes.len() as u64);
        for (boundary, state) in keyframes.frames() {
            self.u64(boundary as u64);
            self.state(state);
        }
        self.u64(keyframes.edits().len() as u64);
        for (step, params) in keyframes.edits() {
            self.u64(*step);
            self.params(params);
        }
    }
    fn u8(&mut self, value: u8) {
        self.0.push(value);
    }
    fn u32(&mut self, value: u32) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }
    fn u64(&mut self, value: u64) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }
    fn f64(&mut self, value: f64) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }
    fn text(&mut self, text: &str) {
        self.u64(text.len() as u64);
        self.0.extend_from_slice(text.as_bytes());
    }
    fn params(&mut self, params: &Params) {
        self.text(&serde_json::to_string(params).expect("parameters always serialise"));
    }
    fn vector(&mut self, values: &[f64]) {
        self.u64(values.len() as u64);
        for &value in values {
            self.f64(value);
        }
    }
    fn matrix(&mut self, values: &Array2<f64>) {
        let (rows, cols) = values.dim();
        self.u64(rows as u64);
        self.u64(cols as u64);
        for &value in values {
            self.f64(value);
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn state(&mut self) -> Result<SimState, String> {
        Ok(match self.u8()? {
            0 => {
                let params = self.params()?;
                let step = self.u64()?;
                let target_slot = match self.u64()? {
                    u64::MAX => None,
                    slot => Some(usize::try_from(slot).map_err(|_| "a slot out of range")?),
                };
                let calcium = self.f64()?;
                let calcium_frozen = match self.u8()? {
                    0 => false,
                    1 => true,
                    other => return Err(format!("a frozen-calcium flag of {other}")),
                };
                let input_rates = self.vector()?;
                let drive = self.vector()?;
                let drive_target = self.vector()?;
                let hidden_rates = self.vector()?;
                let output_rates = self.vector()?;
                let presynaptic = self.vector()?;
                let process_drive = self.vector()?;
                let rows = self.len(8)?;
                let eligibility = (0..rows)
                    .map(|_| self.vector())
                    .collect::<Result<Vec<_>, _>>()?;
                let attention = self.matrix()?;
                let output_calcium = self.vector()?;
                let outputs = self.matrix()?;
                let done = self.len(1)?;
                let rows_done = (0..done)
                    .map(|_| self.u8().map(|b| b != 0))
                    .collect::<Result<Vec<_>, _>>()?;
                SimState::Dynamic(Box::new(DynamicState {
                    params,
                    step,
                    input_rates,
                    drive,
                    drive_target,
                    target_slot,
                    hidden_rates,
                    output_rates,
                    presynaptic,
                    process_drive,
                    calcium,
                    calcium_frozen,
                    eligibility,
                    output: NetworkOutput {
                        attention,
                        calcium: output_calcium,
                        outputs,
                        rows_done,
                    },
                }))
            }
            1 => {
                let params = self.params()?;
                let rows = usize::try_from(self.u64()?).map_err(|_| "a row count out of range")?;
                SimState::Algebraic {
                    rows,
                    params: Box::new(params),
                }
            }
            other => return Err(format!("unknown mode tag {other}")),
        })
    }
    /// The keyframe section of a format-2 file (None: the file keeps none).
    fn keyframes(&mut self, budget: usize) -> Result<Option<SavedKeyframes>, String> {
        match self.u8()? {
            0 => return Ok(None),
            1 => {}
            other => return Err(format!("a keyframe flag of {other}")),
        }
        let start = self.params()?;
        let stride = usize::try_from(self.u64()?).map_err(|_| "a stride out of range")?;
        // A keyframe takes at least its boundary, mode tag and parameters' length.
        let count = self.len(17)?;
        let frames = (0..count)
            .map(|_| -> Result<(usize, SimState), String> {
                let boundary =
                    usize::try_from(self.u64()?).map_err(|_| "a slot boundary out of range")?;
                Ok((boundary, self.state()?))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let edits = self.len(16)?;
        let edits = (0..edits)
            .map(|_| -> Result<(u64, Params), String> { Ok((self.u64()?, self.params()?)) })
            .collect::<Result<Vec<_>, _>>()?;
        Keyframes::from_parts(budget, stride, frames, edits)
            .map(|keyframes| Some(SavedKeyframes { start, keyframes }))
            .ok_or_else(|| "they are out of order or off their stride".to_string())
    }
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        if self.bytes.len() < n {
            return Err("it ends in the middle of a value".to_string());
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8")))
    }
    fn f64(&mut self) -> Result<f64, String> {
        Ok(f64::from_le_bytes(self.take(8)?.try_into().expect("8")))
    }
    /// A count of items of `item` bytes each, checked against what is left.
    fn len(&mut self, item: usize) -> Result<usize, String> {
        let n = self.u64()?;
        match usize::try_from(n) {
            Ok(n) if n.checked_mul(item).is_some_and(|b| b <= self.bytes.len()) => Ok(n),
            _ => Err(format!("a length of {n} runs past the end")),
        }
    }
    fn text(&mut self) -> Result<String, String> {
        let n = self.len(1)?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| "text that is not UTF-8".to_string())
    }
    fn params(&mut self) -> Result<Params, String> {
        let text = self.text()?;
        serde_json::from_str(&text).map_err(|e| format!("its parameters do not read: {e}"))
    }
    fn vector(&mut self) -> Result<Vec<f64>, String> {
        let n = self.len(8)?;
        (0..n).map(|_| self.f64()).collect()
    }
    fn matrix(&mut self) -> Result<Array2<f64>, String> {
        let rows = usize::try_from(self.u64()?).map_err(|_| "a matrix too large")?;
        let cols = usize::try_from(self.u64()?).map_err(|_| "a matrix too large")?;
        let count = rows
            .checked_mul(cols)
            .filter(|n| n.checked_mul(8).is_some_and(|b| b <= self.bytes.len()))
            .ok_or_else(|| format!("a {rows} × {cols} matrix runs past the end"))?;
        let values = (0..count)
            .map(|_| self.f64())
            .collect::<Result<Vec<_>, _>>()?;
        Array2::from_shape_vec((rows, cols), values).map_err(|e| e.to_string())
    }
}
