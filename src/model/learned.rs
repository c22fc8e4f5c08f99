//! Learned synapses on disk (spec v3 "Learned projection", `projection = learned:FILE`).
//!
//! One safetensors file holds one layer's learned heads: `W` (F64, heads × m × D), `b` (F64,
//! heads × m) and `heads` (I64, the head index of each slice), with metadata naming the
//! model(s) it was learned for, the layer, the seed it started from, a description of the
//! training set and the final losses. F64 throughout, so a file round-trips bit for bit.
//!
//! A `learned:FILE` projection names the file; [`register`] reads and checks it once and gives
//! it a small copyable id, so [`super::Params`] stays a plain value. Reading the file here is
//! the one place `model/` touches the file system: the parameter is a file by definition.

use super::synapses::HiddenSynapses;
use ndarray::{Array1, Array2};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The value of the `format` metadata entry.
pub const FORMAT: &str = "tripartite-learned-synapses";
/// The version of the layout written by [`LearnedFile::to_bytes`].
pub const VERSION: &str = "1";

/// One head's outcome of learning, as recorded in the file (NaN is stored as JSON null).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HeadRecord {
    /// Head index in its layer.
    pub head: usize,
    /// The head's own seed (the random W that learning started from).
    pub seed: u64,
    /// Mean KL on the training set after learning.
    #[serde(deserialize_with = "null_as_nan")]
    pub train_loss: f64,
    /// attn_tv on the training set, random W (before) and learned (after).
    #[serde(deserialize_with = "null_as_nan")]
    pub train_tv_random: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub train_tv: f64,
    /// attn_tv on the held-out set, random W and learned (NaN without a held-out set).
    #[serde(deserialize_with = "null_as_nan")]
    pub held_out_tv_random: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub held_out_tv: f64,
    /// Held-out attn_tv of random positive features with many more hidden neurons, as
    /// (m, attn_tv), when it was measured: what the learned network is set against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_out_random_large: Option<(usize, f64)>,
}

/// JSON has no NaN (serde_json writes it as null): read null back as NaN.
fn null_as_nan<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    use serde::Deserialize;
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// One layer's learned heads and what they were learned on.
#[derive(Clone, Debug, PartialEq)]
pub struct LearnedFile {
    /// Names of the model this was learned for, as sequences carry them in their origin (a
    /// model folder's name, and the bundle's model id when the two were checked to agree).
    pub models: Vec<String>,
    /// Transformer layer (0-based).
    pub layer: usize,
    /// The experiment seed the heads' seeds derive from.
    pub seed: u64,
    /// Adam steps taken.
    pub steps: usize,
    /// The training and held-out sets, in words.
    pub training: String,
    /// One record per head, in the order of `synapses`.
    pub records: Vec<HeadRecord>,
    /// The learned W and b of each head, in the order of `records`.
    pub synapses: Vec<HiddenSynapses>,
}

/// Why a learned-synapses file cannot be used; each message is one sentence.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LearnedError {
    #[error("cannot read the learned synapses {file}: {reason}")]
    Read { file: String, reason: String },
    #[error("{file} is not a complete safetensors file (truncated or corrupt: {reason})")]
    Corrupt { file: String, reason: String },
    #[error("{file} is not a tripartite learned-synapses file: {reason}")]
    NotLearned { file: String, reason: String },
    #[error("{file} has a tensor of the wrong shape: {reason}")]
    Shape { file: String, reason: String },
    #[error(
        "{file} was learned for {learned}, not for this sequence ({found}); learn this head with `tripartite learn` first"
    )]
    OtherHead {
        file: String,
        learned: String,
        found: String,
    },
    #[error(
        "{file} holds m = {file_m} hidden neurons per head of dimension D = {file_dim}, but this run has m = {m} and D = {dim}; set m = {file_m}"
    )]
    Size {
        file: String,
        file_m: usize,
        file_dim: usize,
        m: usize,
        dim: usize,
    },
    #[error(
        "{file} holds learned synapses for layer {layer}, {held} only, and heads = all runs all {heads} heads of the layer; learn them all (`tripartite learn --heads all`) or run one head"
    )]
    NotWholeLayer {
        file: String,
        layer: usize,
        held: String,
        heads: usize,
    },
    #[error(
        "learned synapses keep the positive neurons exp(w·x + b − ‖x‖²/2)/√m, so feature_map must be positive, not {0}"
    )]
    FeatureMap(String),
}

impl LearnedFile {
    /// The learned synapses of `head`, if the file holds it.
    pub fn head(&self, head: usize) -> Option<&HiddenSynapses> {
        self.records
            .iter()
            .position(|r| r.head == head)
            .map(|i| &self.synapses[i])
    }

    /// Refuses a whole layer of `heads` heads unless the file holds every one of them (the
    /// other checks, of model, layer and size, are each head's own).
    pub fn check_whole_layer(&self, file: &str, heads: usize) -> Result<(), LearnedError> {
        if (0..heads).all(|h| self.head(h).is_some()) {
            return Ok(());
        }
        Err(LearnedError::NotWholeLayer {
            file: file.to_string(),
            layer: self.layer,
            held: self.heads_phrase(),
            heads,
        })
    }

    /// m, hidden neurons per head.
    pub fn hidden(&self) -> usize {
        self.synapses.first().map_or(0, HiddenSynapses::hidden)
    }

    /// D, input dimension.
    pub fn dim(&self) -> usize {
        self.synapses.first().map_or(0, HiddenSynapses::dim)
    }

    /// "MODEL layer L, heads 0–11" for messages.
    pub fn describe(&self) -> String {
        format!(
            "{} layer {}, {}",
            self.models.first().map_or("?", String::as_str),
            self.layer,
            self.heads_phrase()
        )
    }

    /// "head 1", "heads 0–11" or "heads 2, 5": the heads the file holds.
    fn heads_phrase(&self) -> String {
        let heads: Vec<usize> = self.records.iter().map(|r| r.head).collect();
        match heads.as_slice() {
            [one] => format!("head {one}"),
            [first, .., last] if heads.windows(2).all(|w| w[1] == w[0] + 1) => {
                format!("heads {first}–{last}")
            }
            many => format!(
                "heads {}",
                many.iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// Whether the file holds learned synapses for `head` of `layer`.
    pub fn holds(&self, layer: usize, head: usize) -> bool {
        self.layer == layer && self.head(head).is_some()
    }

    /// Whether two files hold the same synapses (bit for bit) and the same records. The
    /// records' figures travel as JSON text in the metadata, whose parser may move the last
    /// bit, so they compare to 1e-14 relative (and NaN equals NaN, which `==` refuses).
    pub fn same_as(&self, other: &LearnedFile) -> bool {
        let close = |a: f64, b: f64| {
            (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-14 * a.abs().max(b.abs())
        };
        let figures = |r: &HeadRecord| {
            [
                r.train_loss,
                r.train_tv_random,
                r.train_tv,
                r.held_out_tv_random,
                r.held_out_tv,
            ]
        };
        let bits = |s: &HiddenSynapses| {
            s.projection
                .iter()
                .chain(s.bias.iter())
                .map(|v| v.to_bits())
                .collect::<Vec<u64>>()
        };
        self.synapses.len() == other.synapses.len()
            && self
                .synapses
                .iter()
                .zip(&other.synapses)
                .all(|(a, b)| a.projection.dim() == b.projection.dim() && bits(a) == bits(b))
            && self.models == other.models
            && (self.layer, self.seed, self.steps) == (other.layer, other.seed, other.steps)
            && self.training == other.training
            && self.records.len() == other.records.len()
            && self.records.iter().zip(&other.records).all(|(a, b)| {
                (a.head, a.seed) == (b.head, b.seed)
                    && figures(a).iter().zip(figures(b)).all(|(x, y)| close(*x, y))
                    && match (a.held_out_random_large, b.held_out_random_large) {
                        (None, None) => true,
                        (Some((ma, x)), Some((mb, y))) => ma == mb && close(x, y),
                        _ => false,
                    }
            })
    }

    /// The safetensors bytes (F64 tensors, so reading them back gives the same bits).
    pub fn to_bytes(&self) -> Vec<u8> {
        let (heads, m, dim) = (self.synapses.len(), self.hidden(), self.dim());
        let mut w = Vec::with_capacity(heads * m * dim * 8);
        let mut b = Vec::with_capacity(heads * m * 8);
        for s in &self.synapses {
            w.extend(s.projection.iter().flat_map(|v| v.to_le_bytes()));
            b.extend(s.bias.iter().flat_map(|v| v.to_le_bytes()));
        }
        let index: Vec<u8> = self
            .records
            .iter()
            .flat_map(|r| (r.head as i64).to_le_bytes())
            .collect();
        let views = vec![
            (
                "W".to_string(),
                TensorView::new(Dtype::F64, vec![heads, m, dim], &w).expect("sized above"),
            ),
            (
                "b".to_string(),
                TensorView::new(Dtype::F64, vec![heads, m], &b).expect("sized above"),
            ),
            (
                "heads".to_string(),
                TensorView::new(Dtype::I64, vec![heads], &index).expect("sized above"),
            ),
        ];
        let metadata = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("version".to_string(), VERSION.to_string()),
            (
                "models".to_string(),
                serde_json::to_string(&self.models).expect("strings"),
            ),
            ("layer".to_string(), self.layer.to_string()),
            ("seed".to_string(), self.seed.to_string()),
            ("steps".to_string(), self.steps.to_string()),
            ("training".to_string(), self.training.clone()),
            (
                "records".to_string(),
                serde_json::to_string(&self.records).expect("plain records"),
            ),
        ]);
        safetensors::serialize(views, Some(metadata)).expect("valid views")
    }

    /// Parses the bytes of `file` (named in errors).
    pub fn from_bytes(bytes: &[u8], file: &str) -> Result<LearnedFile, LearnedError> {
        let st = SafeTensors::deserialize(bytes).map_err(|e| LearnedError::Corrupt {
            file: file.to_string(),
            reason: e.to_string(),
        })?;
        let not_learned = |reason: String| LearnedError::NotLearned {
            file: file.to_string(),
            reason,
        };
        let shape = |reason: String| LearnedError::Shape {
            file: file.to_string(),
            reason,
        };
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| LearnedError::Corrupt {
            file: file.to_string(),
            reason: e.to_string(),
        })?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let get = |key: &str| {
            metadata
                .get(key)
                .cloned()
                .ok_or_else(|| not_learned(format!("its metadata has no `{key}` entry")))
        };
        if get("format")? != FORMAT {
            return Err(not_learned(format!("its format is not {FORMAT}")));
        }
        let number = |key: &str| -> Result<u64, LearnedError> {
            get(key)?
                .parse()
                .map_err(|_| not_learned(format!("its `{key}` entry is not a whole number")))
        };
        let models: Vec<String> = serde_json::from_str(&get("models")?)
            .map_err(|_| not_learned("its `models` entry is not a list of names".into()))?;
        let records: Vec<HeadRecord> = serde_json::from_str(&get("records")?)
            .map_err(|e| not_learned(format!("its `records` entry does not parse ({e})")))?;
        let tensor = |name: &str, dtype: Dtype| {
            let view = st
                .tensor(name)
                .map_err(|_| not_learned(format!("it has no tensor `{name}`")))?;
            if view.dtype() != dtype {
                return Err(shape(format!(
                    "`{name}` is {:?}, expected {dtype:?}",
                    view.dtype()
                )));
            }
            Ok(view)
        };
        let w = tensor("W", Dtype::F64)?;
        let b = tensor("b", Dtype::F64)?;
        let index = tensor("heads", Dtype::I64)?;
        let [heads, m, dim] = *w.shape() else {
            return Err(shape(format!(
                "`W` has shape {:?}, expected [heads, m, D]",
                w.shape()
            )));
        };
        if b.shape() != [heads, m] {
            return Err(shape(format!(
                "`W` is {heads} × {m} × {dim} but `b` has shape {:?}, expected [{heads}, {m}]",
                b.shape()
            )));
        }
        if index.shape() != [heads] || records.len() != heads {
            return Err(shape(format!(
                "`W` holds {heads} heads but `heads` has shape {:?} and the records list {}",
                index.shape(),
                records.len()
            )));
        }
        if heads == 0 || m == 0 || dim == 0 {
            return Err(shape(format!("`W` is empty ({heads} × {m} × {dim})")));
        }
        let f64s = |data: &[u8]| -> Vec<f64> {
            data.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect()
        };
        let w_all = f64s(w.data());
        let b_all = f64s(b.data());
        if w_all.iter().chain(&b_all).any(|v| !v.is_finite()) {
            return Err(shape("`W` or `b` holds a value that is not finite".into()));
        }
        let index: Vec<i64> = index
            .data()
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        for (i, record) in records.iter().enumerate() {
            if index[i] != record.head as i64 {
                return Err(shape(format!(
                    "`heads`[{i}] = {} but the record says head {}",
                    index[i], record.head
                )));
            }
        }
        let synapses = (0..heads)
            .map(|h| HiddenSynapses {
                projection: Array2::from_shape_vec(
                    (m, dim),
                    w_all[h * m * dim..(h + 1) * m * dim].to_vec(),
                )
                .expect("sized"),
                bias: Array1::from(b_all[h * m..(h + 1) * m].to_vec()),
            })
            .collect();
        Ok(LearnedFile {
            models,
            layer: number("layer")? as usize,
            seed: number("seed")?,
            steps: number("steps")? as usize,
            training: get("training")?,
            records,
            synapses,
        })
    }

    /// The synapses for a run of `m` hidden neurons on a sequence of dimension `dim` from
    /// `origin` (model, layer, head), or the one-sentence reason they do not fit.
    pub fn synapses_for(
        &self,
        file: &str,
        origin: Option<(&str, usize, usize)>,
        m: usize,
        dim: usize,
    ) -> Result<&HiddenSynapses, LearnedError> {
        let other = |found: String| LearnedError::OtherHead {
            file: file.to_string(),
            learned: self.describe(),
            found,
        };
        let Some((model, layer, head)) = origin else {
            return Err(other("a sequence that does not come from a model".into()));
        };
        let found = format!("{model} layer {layer}, head {head}");
        if !self.models.iter().any(|name| name == model) || layer != self.layer {
            return Err(other(found));
        }
        let synapses = self.head(head).ok_or_else(|| other(found))?;
        if synapses.hidden() != m || synapses.dim() != dim {
            return Err(LearnedError::Size {
                file: file.to_string(),
                file_m: synapses.hidden(),
                file_dim: synapses.dim(),
                m,
                dim,
            });
        }
        Ok(synapses)
    }
}

/// A registered learned file: the small id `Projection::Learned` carries (ordered by
/// registration).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LearnedId(u32);

struct Registered {
    /// "learned:FILE", leaked once per registration so that parameter names stay `&'static`.
    name: &'static str,
    path: String,
    file: Arc<LearnedFile>,
}

static REGISTRY: Mutex<Vec<Registered>> = Mutex::new(Vec::new());

fn registry() -> std::sync::MutexGuard<'static, Vec<Registered>> {
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

/// Reads, checks and registers the learned file at `path`. The same path with the same
/// contents gives the same id; a re-learned file gets a new one (so a run never changes
/// weights under a simulation built from the old ones).
pub fn register(path: &str) -> Result<LearnedId, LearnedError> {
    let file = match path.strip_prefix(BUNDLED_PREFIX) {
        Some(name) => {
            let bytes = BUNDLED
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, bytes)| *bytes)
                .ok_or_else(|| LearnedError::Read {
                    file: path.to_string(),
                    reason: format!(
                        "no bundled learned file is called {name:?} (there are: {})",
                        BUNDLED
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })?;
            LearnedFile::from_bytes(bytes, path)?
        }
        None => {
            let bytes = std::fs::read(path).map_err(|e| LearnedError::Read {
                file: path.to_string(),
                reason: e.to_string(),
            })?;
            LearnedFile::from_bytes(&bytes, path)?
        }
    };
    Ok(register_parsed(path, file))
}

/// `learned:bundled:NAME` names a learned file built into the program (examples use it, so
/// that they run from anywhere).
pub const BUNDLED_PREFIX: &str = "bundled:";

/// The learned files built into the program, by name: each made by the command in
/// `assets/learn/README.md`.
const BUNDLED: &[(&str, &[u8])] = &[(
    "layer3-head1-m256",
    include_bytes!("../../assets/learn/layer3-head1-m256.safetensors"),
)];

/// Registers an already parsed file under `path` (the app, right after learning).
pub fn register_parsed(path: &str, file: LearnedFile) -> LearnedId {
    let mut registry = registry();
    if let Some(i) = registry
        .iter()
        .position(|r| r.path == path && r.file.same_as(&file))
    {
        return LearnedId(i as u32);
    }
    let name: &'static str = Box::leak(format!("learned:{path}").into_boxed_str());
    registry.push(Registered {
        name,
        path: path.to_string(),
        file: Arc::new(file),
    });
    LearnedId((registry.len() - 1) as u32)
}

/// Every registered file's "learned:FILE" name and path, latest registration of a path only.
pub fn registered() -> Vec<(&'static str, String)> {
    let registry = registry();
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for r in registry.iter().rev() {
        if !out.iter().any(|(_, p)| *p == r.path) {
            out.push((r.name, r.path.clone()));
        }
    }
    out.reverse();
    out
}

/// "learned:FILE" of a registered id.
pub fn name(id: LearnedId) -> &'static str {
    registry()[id.0 as usize].name
}

/// The path of a registered id.
pub fn path(id: LearnedId) -> String {
    registry()[id.0 as usize].path.clone()
}

/// The parsed file of a registered id.
pub fn file(id: LearnedId) -> Arc<LearnedFile> {
    registry()[id.0 as usize].file.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> LearnedFile {
        let synapses: Vec<HiddenSynapses> = (0..2)
            .map(|h| {
                let mut s = HiddenSynapses::random(5, 3, 10 + h);
                s.bias = Array1::from(vec![0.1, -0.2, 1.0 / 3.0, f64::MIN_POSITIVE, -7.5]);
                s
            })
            .collect();
        LearnedFile {
            models: vec!["m/one".into(), "m-one-alias".into()],
            layer: 3,
            seed: 1,
            steps: 12,
            training: "2 test sentences".into(),
            records: (0..2)
                .map(|h| HeadRecord {
                    head: 4 + h,
                    seed: 10 + h as u64,
                    train_loss: 0.01,
                    train_tv_random: 0.3,
                    train_tv: 0.02,
                    held_out_tv_random: 0.31,
                    held_out_tv: f64::NAN,
                    held_out_random_large: Some((100_000, 0.13)),
                })
                .collect(),
            synapses,
        }
    }

    #[test]
    fn a_file_round_trips_bit_for_bit() {
        let file = sample();
        let bytes = file.to_bytes();
        let back = LearnedFile::from_bytes(&bytes, "x").unwrap();
        assert_eq!(back.synapses, file.synapses);
        assert_eq!(back.models, file.models);
        assert_eq!((back.layer, back.seed, back.steps), (3, 1, 12));
        assert!(back.records[0].held_out_tv.is_nan());
        assert!(back.same_as(&file));
    }

    #[test]
    fn bad_files_are_refused_in_one_sentence() {
        let bytes = sample().to_bytes();
        let truncated = LearnedFile::from_bytes(&bytes[..bytes.len() - 9], "t.safetensors")
            .unwrap_err()
            .to_string();
        assert!(
            truncated.contains("t.safetensors is not a complete"),
            "{truncated}"
        );
        let garbage = LearnedFile::from_bytes(b"hello", "g")
            .unwrap_err()
            .to_string();
        assert!(garbage.contains("not a complete safetensors"), "{garbage}");
        let file = sample();
        let err = file
            .synapses_for("f", Some(("m/two", 3, 4)), 5, 3)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("learned for m/one layer 3, heads 4–5") && err.contains("m/two"),
            "{err}"
        );
        let err = file
            .synapses_for("f", Some(("m-one-alias", 3, 6)), 5, 3)
            .unwrap_err()
            .to_string();
        assert!(err.contains("head 6"), "{err}");
        let err = file
            .synapses_for("f", Some(("m/one", 3, 5)), 8, 3)
            .unwrap_err()
            .to_string();
        assert!(err.contains("m = 5") && err.contains("set m = 5"), "{err}");
        assert!(file.synapses_for("f", Some(("m/one", 3, 5)), 5, 3).is_ok());
        for message in [truncated, garbage, err] {
            assert_eq!(message.matches(". ").count(), 0, "{message}");
        }
    }
}
