//! Bundled MiniLM sentences: per-layer, per-head q/k/v and attention of all-MiniLM-L6-v2 on a
//! handful of teaching sentences, shipped inside the binary so the lab works without the model.
//!
//! The file (`assets/minilm_sentences.safetensors`, written by
//! `cargo run --release --example bundle_sentences`) holds, for sentence `i`, F16 tensors
//! `s{i}.q`, `s{i}.k`, `s{i}.v` of shape `[layers, heads, N, head_size]` and `s{i}.attention`
//! of shape `[layers, heads, N, N]`, plus `__metadata__` entries `model`, `licence`,
//! `format_version` ("1"), `num_sentences`, and per sentence `s{i}.name`, `s{i}.text`,
//! `s{i}.tokens` (JSON array), `s{i}.default_head` ("layer,head") and `s{i}.default_reason`.
//!
//! Only activations derived from the model are shipped, never its weights (see
//! `assets/NOTICE`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use half::f16;
use ndarray::{Array2, ArrayView2};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use crate::data::bert::{BertError, BertModel, Encoding, HeadQkv};

/// The bundle compiled into the binary.
pub const BUNDLE_BYTES: &[u8] = include_bytes!("../../assets/minilm_sentences.safetensors");

/// The bundle format this code reads and writes.
pub const FORMAT_VERSION: &str = "1";
/// Recorded in the bundle's metadata.
pub const MINILM_MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2";
pub const MINILM_LICENCE: &str = "Apache-2.0";

/// Errors reading or writing a sentence bundle; each names what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("the sentence bundle is not a readable safetensors file ({0})")]
    Corrupt(String),
    #[error("the sentence bundle has no metadata entry {0:?}")]
    MissingMetadata(String),
    #[error("the sentence bundle's metadata entry {key:?} is invalid: {reason}")]
    BadMetadata { key: String, reason: String },
    #[error(
        "the sentence bundle has format_version {found:?}, but this build reads version {FORMAT_VERSION}"
    )]
    UnsupportedVersion { found: String },
    #[error("the sentence bundle has no tensor named {0}")]
    MissingTensor(String),
    #[error("tensor {name} in the sentence bundle has dtype {dtype} but F16 is required")]
    WrongDtype { name: String, dtype: String },
    #[error("tensor {name} in the sentence bundle has shape {found:?} but {expected} was expected")]
    WrongShape {
        name: String,
        found: Vec<usize>,
        expected: String,
    },
    #[error("the encoding has no layers or heads to choose a default head from")]
    EmptyEncoding,
    #[error("layer {layer} is out of range: valid layers are 0..={max}", max = num_layers.saturating_sub(1))]
    LayerOutOfRange { layer: usize, num_layers: usize },
    #[error("head {head} is out of range: valid heads are 0..={max}", max = num_heads.saturating_sub(1))]
    HeadOutOfRange { head: usize, num_heads: usize },
    #[error(
        "sentence {sentence:?}: the wordpiece {token:?} named by its showcase is not among its tokens {tokens:?}"
    )]
    ShowcaseTokenNotFound {
        sentence: String,
        token: String,
        tokens: Vec<String>,
    },
    #[error("sentence name {0:?} is used twice; names must be unique")]
    DuplicateName(String),
    #[error("no sentences were given; a bundle needs at least one")]
    NoSentences,
    #[error("could not write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Bert(#[from] BertError),
}

/// A parsed sentence bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// The model the activations come from, e.g. "sentence-transformers/all-MiniLM-L6-v2".
    pub model: String,
    /// Licence of that model, e.g. "Apache-2.0".
    pub licence: String,
    pub sentences: Vec<BundledSentence>,
}

/// One bundled sentence with every layer's and head's q/k/v and attention (stored as f16).
#[derive(Debug, Clone, PartialEq)]
pub struct BundledSentence {
    /// Short slug, e.g. "coreference-it".
    pub name: String,
    pub text: String,
    /// Wordpieces, `[CLS]` first and `[SEP]` last.
    pub tokens: Vec<String>,
    /// The head to show first (see [`Showcase`] for how it was chosen).
    pub default_layer: usize,
    pub default_head: usize,
    /// Why that head was chosen, with its score (empty if the bundle does not say).
    pub default_reason: String,
    pub num_layers: usize,
    pub num_heads: usize,
    pub head_size: usize,
    q: Vec<f16>,
    k: Vec<f16>,
    v: Vec<f16>,
    attention: Vec<f16>,
}

impl BundledSentence {
    /// Number of tokens N.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// One head of one layer as f32 (`q`, `k`, `v`: N × head_size; `attention`: N × N).
    pub fn head(&self, layer: usize, head: usize) -> Result<HeadQkv, BundleError> {
        if layer >= self.num_layers {
            return Err(BundleError::LayerOutOfRange {
                layer,
                num_layers: self.num_layers,
            });
        }
        if head >= self.num_heads {
            return Err(BundleError::HeadOutOfRange {
                head,
                num_heads: self.num_heads,
            });
        }
        let n = self.len();
        let index = layer * self.num_heads + head;
        let take = |data: &[f16], cols: usize| {
            let block = n * cols;
            let values = data[index * block..(index + 1) * block]
                .iter()
                .map(|x| x.to_f32())
                .collect();
            Array2::from_shape_vec((n, cols), values).expect("block size matches")
        };
        Ok(HeadQkv {
            q: take(&self.q, self.head_size),
            k: take(&self.k, self.head_size),
            v: take(&self.v, self.head_size),
            attention: take(&self.attention, n),
        })
    }

    /// The default head's data.
    pub fn default_head_qkv(&self) -> Result<HeadQkv, BundleError> {
        self.head(self.default_layer, self.default_head)
    }
}

impl Bundle {
    /// The bundle compiled into the binary ([`BUNDLE_BYTES`]).
    pub fn embedded() -> Result<Bundle, BundleError> {
        Self::parse(BUNDLE_BYTES)
    }

    /// Parses and validates a bundle file's bytes.
    pub fn parse(bytes: &[u8]) -> Result<Bundle, BundleError> {
        let corrupt = |e: safetensors::SafeTensorError| BundleError::Corrupt(e.to_string());
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(corrupt)?;
        let st = SafeTensors::deserialize(bytes).map_err(corrupt)?;
        let empty = HashMap::new();
        let meta = header.metadata().as_ref().unwrap_or(&empty);
        let get = |key: &str| {
            meta.get(key)
                .cloned()
                .ok_or_else(|| BundleError::MissingMetadata(key.to_owned()))
        };
        let bad = |key: &str, reason: String| BundleError::BadMetadata {
            key: key.to_owned(),
            reason,
        };
        let version = get("format_version")?;
        if version != FORMAT_VERSION {
            return Err(BundleError::UnsupportedVersion { found: version });
        }
        let count: usize = get("num_sentences")?
            .parse()
            .map_err(|e| bad("num_sentences", format!("not a count ({e})")))?;
        let mut sentences = Vec::new(); // `count` is untrusted: no pre-allocation
        for i in 0..count {
            let key = |field: &str| format!("s{i}.{field}");
            let tokens_key = key("tokens");
            let tokens: Vec<String> = serde_json::from_str(&get(&tokens_key)?)
                .map_err(|e| bad(&tokens_key, format!("not a JSON array of strings ({e})")))?;
            let n = tokens.len();
            if n == 0 {
                return Err(bad(&tokens_key, "no tokens".into()));
            }
            let head_key = key("default_head");
            let default = get(&head_key)?;
            let (dl, dh) = default
                .split_once(',')
                .and_then(|(l, h)| Some((l.trim().parse().ok()?, h.trim().parse().ok()?)))
                .ok_or_else(|| bad(&head_key, format!("{default:?} is not \"layer,head\"")))?;

            let q_name = key("q");
            let q_view = st
                .tensor(&q_name)
                .map_err(|_| BundleError::MissingTensor(q_name.clone()))?;
            let shape = q_view.shape();
            if shape.len() != 4 || shape[2] != n || shape.contains(&0) {
                return Err(BundleError::WrongShape {
                    name: q_name,
                    found: shape.to_vec(),
                    expected: format!("[layers, heads, {n}, head_size], all non-zero"),
                });
            }
            let (num_layers, num_heads, head_size) = (shape[0], shape[1], shape[3]);
            let load = |name: String, expected: [usize; 4]| -> Result<Vec<f16>, BundleError> {
                let view = st
                    .tensor(&name)
                    .map_err(|_| BundleError::MissingTensor(name.clone()))?;
                if view.dtype() != Dtype::F16 {
                    return Err(BundleError::WrongDtype {
                        name,
                        dtype: format!("{:?}", view.dtype()),
                    });
                }
                if view.shape() != expected {
                    return Err(BundleError::WrongShape {
                        name,
                        found: view.shape().to_vec(),
                        expected: format!("{expected:?}"),
                    });
                }
                Ok(view
                    .data()
                    .chunks_exact(2)
                    .map(|c| f16::from_le_bytes([c[0], c[1]]))
                    .collect())
            };
            let qkv_shape = [num_layers, num_heads, n, head_size];
            let sentence = BundledSentence {
                name: get(&key("name"))?,
                text: get(&key("text"))?,
                default_layer: dl,
                default_head: dh,
                default_reason: meta
                    .get(&key("default_reason"))
                    .cloned()
                    .unwrap_or_default(),
                num_layers,
                num_heads,
                head_size,
                q: load(key("q"), qkv_shape)?,
                k: load(key("k"), qkv_shape)?,
                v: load(key("v"), qkv_shape)?,
                attention: load(key("attention"), [num_layers, num_heads, n, n])?,
                tokens,
            };
            if dl >= num_layers || dh >= num_heads {
                return Err(bad(
                    &head_key,
                    format!("{default:?} is outside {num_layers} layers × {num_heads} heads"),
                ));
            }
            sentences.push(sentence);
        }
        Ok(Bundle {
            model: get("model")?,
            licence: get("licence")?,
            sentences,
        })
    }

    /// The sentence with this name (slug), if any.
    pub fn find(&self, name: &str) -> Option<&BundledSentence> {
        self.sentences.iter().find(|s| s.name == name)
    }
}

/// How a sentence's default head is chosen: a measurable score computed on the model's own
/// attention for every (layer, head); the head with the highest score wins (ties go to the
/// lowest layer, then the lowest head). "Real tokens" are all positions except `[CLS]` (first)
/// and `[SEP]` (last).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Showcase<'a> {
    /// The sharpest long-range content link: the mean, over real-token queries, of the largest
    /// attention weight given to a key that is neither `[CLS]`/`[SEP]` nor within one position
    /// of the query. (Plain "lowest entropy" picks the same previous-token head in layer 0 for
    /// every sentence; this criterion skips positional and sink heads.)
    LongRange,
    /// Previous-token head: mean weight from each real token (after the first) to the token
    /// just before it.
    PreviousToken,
    /// Next-token head: mean weight from each real token (before the last) to the token just
    /// after it.
    NextToken,
    /// Sink head: mean weight that real tokens put on `[CLS]` plus `[SEP]`.
    Sink,
    /// A specific link: the weight from the first wordpiece `from` to the whole word that
    /// starts with the first wordpiece `to` (that piece and its `##` continuations).
    Link { from: &'a str, to: &'a str },
    /// A focal token: the weight on the word starting with wordpiece `to`, averaged over all
    /// other real tokens.
    Target { to: &'a str },
}

/// One sentence to bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentenceSpec<'a> {
    pub name: &'a str,
    pub text: &'a str,
    pub showcase: Showcase<'a>,
}

/// The sentences shipped in `assets/minilm_sentences.safetensors` (≤ 20 wordpieces each).
pub const BUNDLED_SENTENCES: &[SentenceSpec<'static>] = &[
    SentenceSpec {
        name: "coreference-it",
        text: "The astrocyte wrapped the synapse because it needed calcium.",
        showcase: Showcase::Link {
            from: "it",
            to: "astro",
        },
    },
    SentenceSpec {
        name: "coreference-she",
        text: "The teacher praised the student because she had worked hard.",
        showcase: Showcase::Link {
            from: "she",
            to: "teacher",
        },
    },
    SentenceSpec {
        name: "agreement",
        text: "The keys to the old wooden cabinet are on the table.",
        showcase: Showcase::Link {
            from: "are",
            to: "keys",
        },
    },
    SentenceSpec {
        name: "brackets",
        text: "She said (quietly) that the answer was forty-two.",
        showcase: Showcase::Link { from: ")", to: "(" },
    },
    SentenceSpec {
        name: "previous-token",
        text: "One, two, three, four, five, six, seven, eight.",
        showcase: Showcase::PreviousToken,
    },
    SentenceSpec {
        name: "next-token",
        text: "Glia listen while neurons fire and the brain slowly learns.",
        showcase: Showcase::NextToken,
    },
    SentenceSpec {
        name: "question-mark",
        text: "Where did the neuron send its signal?",
        showcase: Showcase::Target { to: "?" },
    },
    SentenceSpec {
        name: "sink",
        text: "Attention is all you need, said the transformer.",
        showcase: Showcase::Sink,
    },
    SentenceSpec {
        name: "repetition",
        text: "The cat sat on the mat. The cat sat on the mat.",
        showcase: Showcase::LongRange,
    },
    SentenceSpec {
        name: "head-noun",
        text: "A small, bright, curious dog chased the red ball.",
        showcase: Showcase::LongRange,
    },
];

/// The head chosen for a sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadChoice {
    pub layer: usize,
    pub head: usize,
    pub score: f32,
    /// Human-readable criterion and score.
    pub reason: String,
}

fn word_span(tokens: &[String], first_piece: &str) -> Option<std::ops::Range<usize>> {
    let start = tokens.iter().position(|t| t == first_piece)?;
    let len = 1 + tokens[start + 1..]
        .iter()
        .take_while(|t| t.starts_with("##"))
        .count();
    Some(start..start + len)
}

/// Scores one head's N × N attention matrix.
type ScoreFn<'a> = Box<dyn Fn(ArrayView2<f32>) -> f32 + 'a>;

/// Scores every head of `enc` by `showcase` and returns the best one.
pub fn choose_default_head(
    name: &str,
    enc: &Encoding,
    showcase: Showcase<'_>,
) -> Result<HeadChoice, BundleError> {
    let n = enc.len();
    let real = 1..n.saturating_sub(1);
    let find = |piece: &str| {
        word_span(&enc.tokens, piece).ok_or_else(|| BundleError::ShowcaseTokenNotFound {
            sentence: name.to_owned(),
            token: piece.to_owned(),
            tokens: enc.tokens.clone(),
        })
    };
    let mean = |values: Vec<f32>| {
        if values.is_empty() {
            0.0
        } else {
            values.iter().sum::<f32>() / values.len() as f32
        }
    };
    let score: ScoreFn<'_> = match showcase {
        Showcase::LongRange => {
            let real = real.clone();
            Box::new(move |a| {
                mean(
                    real.clone()
                        .map(|i| {
                            real.clone()
                                .filter(|&j| j + 1 < i || j > i + 1)
                                .map(|j| a[[i, j]])
                                .fold(0.0, f32::max)
                        })
                        .collect(),
                )
            })
        }
        Showcase::PreviousToken => {
            let rows = 2..n.saturating_sub(1);
            Box::new(move |a| mean(rows.clone().map(|i| a[[i, i - 1]]).collect()))
        }
        Showcase::NextToken => {
            let rows = 1..n.saturating_sub(2);
            Box::new(move |a| mean(rows.clone().map(|i| a[[i, i + 1]]).collect()))
        }
        Showcase::Sink => {
            let real = real.clone();
            Box::new(move |a| mean(real.clone().map(|i| a[[i, 0]] + a[[i, n - 1]]).collect()))
        }
        Showcase::Link { from, to } => {
            let q = find(from)?.start;
            let keys = find(to)?;
            Box::new(move |a| keys.clone().map(|j| a[[q, j]]).sum())
        }
        Showcase::Target { to } => {
            let keys = find(to)?;
            let real = real.clone();
            Box::new(move |a| {
                mean(
                    real.clone()
                        .filter(|i| !keys.contains(i))
                        .map(|i| keys.clone().map(|j| a[[i, j]]).sum())
                        .collect(),
                )
            })
        }
    };
    let mut best: Option<(usize, usize, f32)> = None;
    for (l, layer) in enc.layers.iter().enumerate() {
        for (h, a) in layer.attention.outer_iter().enumerate() {
            let s = score(a);
            if best.is_none_or(|(_, _, b)| s > b) {
                best = Some((l, h, s));
            }
        }
    }
    let (layer, head, score) = best.ok_or(BundleError::EmptyEncoding)?;
    let reason = match showcase {
        Showcase::LongRange => format!(
            "sharpest long-range link: mean over tokens of the largest weight on a non-adjacent, non-[CLS]/[SEP] token = {score:.2}"
        ),
        Showcase::PreviousToken => {
            format!("previous-token head: mean weight on the token just before = {score:.2}")
        }
        Showcase::NextToken => {
            format!("next-token head: mean weight on the token just after = {score:.2}")
        }
        Showcase::Sink => format!("sink head: mean weight on [CLS] + [SEP] = {score:.2}"),
        Showcase::Link { from, to } => {
            let word = find(to)?;
            let word: String = enc.tokens[word]
                .iter()
                .map(|t| t.trim_start_matches("##"))
                .collect();
            format!("link {from:?} → {word:?}: attention weight {score:.2}")
        }
        Showcase::Target { to } => {
            format!("focal token {to:?}: mean weight from the other tokens = {score:.2}")
        }
    };
    Ok(HeadChoice {
        layer,
        head,
        score,
        reason,
    })
}

/// The model id and licence recorded in a bundle: all-MiniLM-L6-v2 is recognised by its folder
/// name or `_name_or_path`; any other model is recorded by its display name.
fn provenance(model: &BertModel) -> (String, String) {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let names = [Some(model.name()), model.config().name_or_path.clone()];
    if names
        .iter()
        .flatten()
        .any(|n| squash(n).contains("allminilml6v2"))
    {
        (MINILM_MODEL_ID.to_owned(), MINILM_LICENCE.to_owned())
    } else {
        (
            model.name(),
            "unknown: see the model's own licence".to_owned(),
        )
    }
}

fn f16_bytes<'a>(values: impl Iterator<Item = &'a f32>) -> Vec<u8> {
    values
        .flat_map(|&x| f16::from_f32(x).to_le_bytes())
        .collect()
}

/// Encodes `sentences` (name, text) with `model` and writes one bundle file to `path`; every
/// default head is chosen by [`Showcase::LongRange`].
pub fn write_bundle(
    model: &BertModel,
    sentences: &[(&str, &str)],
    path: &Path,
) -> Result<(), BundleError> {
    let specs: Vec<SentenceSpec<'_>> = sentences
        .iter()
        .map(|&(name, text)| SentenceSpec {
            name,
            text,
            showcase: Showcase::LongRange,
        })
        .collect();
    write_bundle_specs(model, &specs, path).map(|_| ())
}

/// Encodes `specs` with `model` and writes one bundle file to `path`. Returns the chosen
/// default head of each sentence, in order.
pub fn write_bundle_specs(
    model: &BertModel,
    specs: &[SentenceSpec<'_>],
    path: &Path,
) -> Result<Vec<HeadChoice>, BundleError> {
    let bytes = bundle_bytes(model, specs)?;
    std::fs::write(path, &bytes.0).map_err(|source| BundleError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(bytes.1)
}

/// The bytes of a bundle for `specs` and the chosen heads (what [`write_bundle_specs`] writes).
pub fn bundle_bytes(
    model: &BertModel,
    specs: &[SentenceSpec<'_>],
) -> Result<(Vec<u8>, Vec<HeadChoice>), BundleError> {
    if specs.is_empty() {
        return Err(BundleError::NoSentences);
    }
    let (model_id, licence) = provenance(model);
    let mut meta = HashMap::from([
        ("model".to_owned(), model_id),
        ("licence".to_owned(), licence),
        ("format_version".to_owned(), FORMAT_VERSION.to_owned()),
        ("num_sentences".to_owned(), specs.len().to_string()),
    ]);
    let mut buffers: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut choices = Vec::with_capacity(specs.len());
    let mut seen = std::collections::HashSet::new();
    for (i, spec) in specs.iter().enumerate() {
        if !seen.insert(spec.name) {
            return Err(BundleError::DuplicateName(spec.name.to_owned()));
        }
        let enc = model.encode(spec.text)?;
        let choice = choose_default_head(spec.name, &enc, spec.showcase)?;
        let (n, layers) = (enc.len(), enc.num_layers());
        let (heads, hs) = (enc.num_heads(), model.config().head_size);
        let tokens_json = serde_json::to_string(&enc.tokens).expect("strings serialize");
        meta.insert(format!("s{i}.name"), spec.name.to_owned());
        meta.insert(format!("s{i}.text"), spec.text.to_owned());
        meta.insert(format!("s{i}.tokens"), tokens_json);
        meta.insert(
            format!("s{i}.default_head"),
            format!("{},{}", choice.layer, choice.head),
        );
        meta.insert(format!("s{i}.default_reason"), choice.reason.clone());
        let qkv_shape = vec![layers, heads, n, hs];
        buffers.push((
            format!("s{i}.q"),
            qkv_shape.clone(),
            f16_bytes(enc.layers.iter().flat_map(|l| l.q.iter())),
        ));
        buffers.push((
            format!("s{i}.k"),
            qkv_shape.clone(),
            f16_bytes(enc.layers.iter().flat_map(|l| l.k.iter())),
        ));
        buffers.push((
            format!("s{i}.v"),
            qkv_shape,
            f16_bytes(enc.layers.iter().flat_map(|l| l.v.iter())),
        ));
        buffers.push((
            format!("s{i}.attention"),
            vec![layers, heads, n, n],
            f16_bytes(enc.layers.iter().flat_map(|l| l.attention.iter())),
        ));
        choices.push(choice);
    }
    let views = buffers
        .iter()
        .map(|(name, shape, data)| {
            TensorView::new(Dtype::F16, shape.clone(), data)
                .map(|v| (name.clone(), v))
                .map_err(|e| BundleError::Corrupt(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bytes = safetensors::serialize(views, Some(meta))
        .map_err(|e| BundleError::Corrupt(e.to_string()))?;
    Ok((bytes, choices))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::bert::test_support::write_tiny_model;

    fn softmax_scaled(q: &Array2<f32>, k: &Array2<f32>) -> Array2<f32> {
        let mut s = q.dot(&k.t()) / (q.ncols() as f32).sqrt();
        for mut row in s.rows_mut() {
            let m = row.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            row.mapv_inplace(|x| (x - m).exp());
            let sum = row.sum();
            row /= sum;
        }
        s
    }

    #[test]
    fn embedded_bundle_is_consistent() {
        let b = Bundle::embedded().unwrap();
        assert_eq!(b.model, MINILM_MODEL_ID);
        assert_eq!(b.licence, "Apache-2.0");
        assert!(b.sentences.len() >= 8, "{} sentences", b.sentences.len());
        for s in &b.sentences {
            assert_eq!(
                s.tokens.first().map(String::as_str),
                Some("[CLS]"),
                "{}",
                s.name
            );
            assert_eq!(
                s.tokens.last().map(String::as_str),
                Some("[SEP]"),
                "{}",
                s.name
            );
            assert!(s.len() <= 20, "{} has {} wordpieces", s.name, s.len());
            assert_eq!((s.num_layers, s.num_heads, s.head_size), (6, 12, 32));
            assert!(!s.default_reason.is_empty());
            let h = s.default_head_qkv().unwrap();
            let recomputed = softmax_scaled(&h.q, &h.k);
            let diff = recomputed
                .iter()
                .zip(h.attention.iter())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(diff < 2e-2, "{}: stored attention off by {diff}", s.name);
            for row in h.attention.rows() {
                assert!((row.sum() - 1.0).abs() < 1e-2);
            }
        }
        for spec in BUNDLED_SENTENCES {
            let s = b.find(spec.name).expect("every listed sentence is bundled");
            assert_eq!(s.text, spec.text);
        }
        assert!(b.find("no-such-sentence").is_none());
        let s = &b.sentences[0];
        let e = s.head(6, 0).unwrap_err().to_string();
        assert_eq!(e, "layer 6 is out of range: valid layers are 0..=5");
        let e = s.head(0, 12).unwrap_err().to_string();
        assert_eq!(e, "head 12 is out of range: valid heads are 0..=11");
    }

    #[test]
    fn write_then_parse_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_model(dir.path(), false);
        let model = BertModel::load(dir.path()).unwrap();
        let out = dir.path().join("bundle.safetensors");
        write_bundle(
            &model,
            &[
                ("one", "the cat sat on the mat."),
                ("two", "it was a happy dog"),
            ],
            &out,
        )
        .unwrap();
        let b = Bundle::parse(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(b.sentences.len(), 2);
        let s = b.find("two").unwrap();
        assert_eq!(
            s.tokens,
            ["[CLS]", "it", "was", "a", "happy", "dog", "[SEP]"]
        );
        let enc = model.encode("it was a happy dog").unwrap();
        for layer in 0..s.num_layers {
            for head in 0..s.num_heads {
                let got = s.head(layer, head).unwrap();
                let want = enc.head(layer, head).unwrap();
                for (a, b) in [(&got.q, &want.q), (&got.attention, &want.attention)] {
                    for (x, y) in a.iter().zip(b.iter()) {
                        assert!((x - y).abs() <= 1e-3 * (1.0 + y.abs()));
                    }
                }
            }
        }
        // Not MiniLM: the metadata says which model it was.
        assert_ne!(b.model, MINILM_MODEL_ID);

        let e = write_bundle(&model, &[("a", "the cat"), ("a", "the dog")], &out).unwrap_err();
        assert_eq!(
            e.to_string(),
            "sentence name \"a\" is used twice; names must be unique"
        );
        let e = write_bundle(&model, &[("a", "")], &out).unwrap_err();
        assert!(matches!(e, BundleError::Bert(BertError::EmptyText)), "{e}");
        let spec = SentenceSpec {
            name: "x",
            text: "the cat sat",
            showcase: Showcase::Link {
                from: "dog",
                to: "cat",
            },
        };
        let e = bundle_bytes(&model, &[spec]).unwrap_err().to_string();
        assert!(
            e.contains("the wordpiece \"dog\" named by its showcase is not among its tokens"),
            "{e}"
        );
    }

    #[test]
    fn showcase_scores_pick_the_right_pattern() {
        use crate::data::bert::LayerHeads;
        use ndarray::Array3;
        // Two heads over 5 tokens: head 0 attends to the previous token, head 1 to [SEP].
        let n = 5;
        let mut att = Array3::<f32>::zeros((2, n, n));
        for i in 0..n {
            att[[0, i, i.saturating_sub(1)]] = 1.0;
            att[[1, i, n - 1]] = 1.0;
        }
        let zeros = Array3::<f32>::zeros((2, n, 4));
        let enc = Encoding {
            tokens: ["[CLS]", "a", "b", "c", "[SEP]"].map(String::from).to_vec(),
            ids: vec![0; n],
            layers: vec![LayerHeads {
                q: zeros.clone(),
                k: zeros.clone(),
                v: zeros,
                attention: att,
            }],
        };
        let prev = choose_default_head("t", &enc, Showcase::PreviousToken).unwrap();
        assert_eq!((prev.layer, prev.head), (0, 0));
        assert_eq!(prev.score, 1.0);
        let sink = choose_default_head("t", &enc, Showcase::Sink).unwrap();
        assert_eq!((sink.layer, sink.head), (0, 1));
        let link = choose_default_head("t", &enc, Showcase::Link { from: "c", to: "b" }).unwrap();
        assert_eq!((link.layer, link.head), (0, 0));
        assert_eq!(link.reason, "link \"c\" → \"b\": attention weight 1.00");
    }

    #[test]
    fn corrupt_bundles_are_refused() {
        let e = Bundle::parse(b"garbage").unwrap_err();
        assert!(matches!(e, BundleError::Corrupt(_)), "{e}");
        let e = Bundle::parse(&BUNDLE_BYTES[..BUNDLE_BYTES.len() - 10]).unwrap_err();
        assert!(matches!(e, BundleError::Corrupt(_)), "{e}");
        let empty = safetensors::serialize(
            Vec::<(String, TensorView<'_>)>::new(),
            Some(HashMap::from([("format_version".into(), "2".into())])),
        )
        .unwrap();
        let e = Bundle::parse(&empty).unwrap_err().to_string();
        assert_eq!(
            e,
            "the sentence bundle has format_version \"2\", but this build reads version 1"
        );
    }
}
