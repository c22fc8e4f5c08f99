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
//! Optional (added for whole layers, issue 17; older bundles lack them): per sentence
//! `s{i}.attention_output` of shape `[layers, N, hidden]`, the attention block's output after
//! W_O and its bias and before the residual, and, once for the file, `w_o` of shape
//! `[layers, heads·head_size, hidden]` and `b_o` of shape `[layers, hidden]`, each layer's
//! attention output projection (so `concat_h(y_h) · W_O + b_o` is that output).
//!
//! Apart from W_O and b_o, only activations derived from the model are shipped (see
//! `assets/NOTICE`).

use std::collections::HashMap;

use half::f16;
use ndarray::Array2;
use safetensors::{Dtype, SafeTensors};

use crate::data::bert::HeadQkv;

/// The bundle compiled into the binary.
pub const BUNDLE_BYTES: &[u8] = include_bytes!("../../assets/minilm_sentences.safetensors");

/// The bundle format this code reads (and `examples/bundle_sentences` writes).
pub const FORMAT_VERSION: &str = "1";
/// Recorded in the bundle's metadata.
pub const MINILM_MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2";
pub const MINILM_LICENCE: &str = "Apache-2.0";

/// Errors reading a sentence bundle; each names what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
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
    #[error("layer {layer} is out of range: valid layers are 0..={max}", max = num_layers.saturating_sub(1))]
    LayerOutOfRange { layer: usize, num_layers: usize },
    #[error("head {head} is out of range: valid heads are 0..={max}", max = num_heads.saturating_sub(1))]
    HeadOutOfRange { head: usize, num_heads: usize },
}

/// A parsed sentence bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// The model the activations come from, e.g. "sentence-transformers/all-MiniLM-L6-v2".
    pub model: String,
    /// Licence of that model, e.g. "Apache-2.0".
    pub licence: String,
    pub sentences: Vec<BundledSentence>,
    /// Every layer's W_O, `[layers, heads·head_size, hidden]`, when the bundle has it.
    w_o: Option<(Vec<f16>, [usize; 3])>,
    /// Every layer's b_o, `[layers, hidden]`.
    b_o: Option<Vec<f16>>,
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
    /// `[layers, N, hidden]` when the bundle has it.
    attention_output: Option<(Vec<f16>, usize)>,
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

    /// Layer `layer`'s attention output after W_O + b_o, before the residual (N × hidden), when
    /// the bundle has it.
    pub fn attention_output(&self, layer: usize) -> Option<Array2<f32>> {
        let (data, hidden) = self.attention_output.as_ref()?;
        let block = self.len() * hidden;
        let values = data.get(layer * block..(layer + 1) * block)?;
        Array2::from_shape_vec(
            (self.len(), *hidden),
            values.iter().map(|x| x.to_f32()).collect(),
        )
        .ok()
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
            let attention_output = match st.tensor(&key("attention_output")) {
                Err(_) => None,
                Ok(view) => {
                    let shape = view.shape().to_vec();
                    if shape.len() != 3 || shape[0] != num_layers || shape[1] != n {
                        return Err(BundleError::WrongShape {
                            name: key("attention_output"),
                            found: shape,
                            expected: format!("[{num_layers}, {n}, hidden]"),
                        });
                    }
                    Some((f16_data(key("attention_output"), &view, &shape)?, shape[2]))
                }
            };
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
                attention_output,
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
        let (w_o, b_o) = match (st.tensor("w_o"), st.tensor("b_o")) {
            (Ok(w), Ok(b)) => {
                let (ws, bs) = (w.shape().to_vec(), b.shape().to_vec());
                if ws.len() != 3 || bs.len() != 2 || bs[0] != ws[0] || bs[1] != ws[2] {
                    return Err(BundleError::WrongShape {
                        name: "b_o".into(),
                        found: bs,
                        expected: format!("[layers, hidden] matching w_o's {ws:?}"),
                    });
                }
                (
                    Some((f16_data("w_o".into(), &w, &ws)?, [ws[0], ws[1], ws[2]])),
                    Some(f16_data("b_o".into(), &b, &bs)?),
                )
            }
            _ => (None, None),
        };
        Ok(Bundle {
            model: get("model")?,
            licence: get("licence")?,
            sentences,
            w_o,
            b_o,
        })
    }

    /// Layer `layer`'s W_O (`(heads·head_size) × hidden`) and b_o, when the bundle has them.
    pub fn output_projection(&self, layer: usize) -> Option<(Array2<f32>, ndarray::Array1<f32>)> {
        let (w, [layers, rows, cols]) = self.w_o.as_ref()?;
        let b = self.b_o.as_ref()?;
        if layer >= *layers {
            return None;
        }
        let block = rows * cols;
        let w = Array2::from_shape_vec(
            (*rows, *cols),
            w[layer * block..(layer + 1) * block]
                .iter()
                .map(|x| x.to_f32())
                .collect(),
        )
        .ok()?;
        let b = b.get(layer * cols..(layer + 1) * cols)?;
        Some((w, b.iter().map(|x| x.to_f32()).collect()))
    }

    /// The sentence with this name (slug), if any.
    pub fn find(&self, name: &str) -> Option<&BundledSentence> {
        self.sentences.iter().find(|s| s.name == name)
    }
}

/// The F16 values of `view`, checked to be F16 with shape `shape`.
fn f16_data(
    name: String,
    view: &safetensors::tensor::TensorView<'_>,
    shape: &[usize],
) -> Result<Vec<f16>, BundleError> {
    if view.dtype() != Dtype::F16 {
        return Err(BundleError::WrongDtype {
            name,
            dtype: format!("{:?}", view.dtype()),
        });
    }
    if view.shape() != shape {
        return Err(BundleError::WrongShape {
            name,
            found: view.shape().to_vec(),
            expected: format!("{shape:?}"),
        });
    }
    Ok(view
        .data()
        .chunks_exact(2)
        .map(|c| f16::from_le_bytes([c[0], c[1]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use safetensors::tensor::TensorView;

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
        assert!(b.find("no-such-sentence").is_none());
        let s = &b.sentences[0];
        let e = s.head(6, 0).unwrap_err().to_string();
        assert_eq!(e, "layer 6 is out of range: valid layers are 0..=5");
        let e = s.head(0, 12).unwrap_err().to_string();
        assert_eq!(e, "head 12 is out of range: valid heads are 0..=11");
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
