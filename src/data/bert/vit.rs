//! The vision transformer (HF `ViTModel` / `ViTForImageClassification`), in eval mode:
//!
//! ```text
//! x        = preprocess(image)                         (channels × S × S, see `image`)
//! patch_i  = W_patch · flatten(x[:, rows_i, cols_i]) + b_patch   (the strided convolution)
//! h0       = [cls; patch_0; …; patch_{P−1}] + position            (P = (S/p)², row-major)
//! for each layer (pre-LayerNorm):
//!     q, k, v = LN₁(h) Wq,k,vᵀ + b                       (split into heads)
//!     A_head  = softmax(q_head k_headᵀ / √head_size)
//!     h'      = concat_head(A_head v_head) Woᵀ + bo + h
//!     h       = act(LN₂(h') Wiᵀ + bi) Wo2ᵀ + bo2 + h'
//! logits   = classifier(LN_final(h)[CLS])                 (when the folder has a classifier)
//! ```
//!
//! The folder holds `config.json` (image_size, patch_size, num_channels, id2label…) and
//! `model.safetensors`; `preprocessor_config.json` says how pixels are scaled and normalised
//! and is required to read an image file. Every tensor is converted to `f32` at load time.

use super::config::ConfigJson;
use super::image::{ImageError, Preprocessor, read_image};
use super::layers::{BlockShape, EncoderLayer, LayerNorm, Linear, NormPlacement};
use super::numerics::Activation;
use super::weights::Weights;
use super::{BertError, Family, HeadQkv, LayerHeads, head_of};
use image::DynamicImage;
use ndarray::{Array1, Array2, Array3};
use safetensors::SafeTensors;
use std::path::{Path, PathBuf};

/// The parts of a ViT `config.json` the forward pass needs.
#[derive(Debug, Clone, PartialEq)]
pub struct VitConfig {
    pub num_layers: usize,
    pub num_heads: usize,
    pub hidden_size: usize,
    /// `hidden_size / num_heads`.
    pub head_size: usize,
    pub intermediate_size: usize,
    pub layer_norm_eps: f64,
    pub hidden_act: String,
    /// Side of the square input image, in pixels.
    pub image_size: usize,
    /// Side of a square patch, in pixels.
    pub patch_size: usize,
    pub num_channels: usize,
    /// Class names from `id2label`, by class index (empty when the config has none).
    pub labels: Vec<String>,
    pub name_or_path: Option<String>,
}

impl VitConfig {
    /// Patches per row (and per column).
    pub fn grid(&self) -> usize {
        self.image_size / self.patch_size
    }

    /// Tokens per image: the patches plus CLS.
    pub fn num_tokens(&self) -> usize {
        self.grid() * self.grid() + 1
    }

    /// Parses and validates a ViT `config.json`; `path` only names the file in messages.
    pub fn parse(json: &str, path: &Path) -> Result<Self, BertError> {
        let config = ConfigJson::parse(json, path)?;
        if config.family()? != Family::Vit {
            return Err(BertError::NotVision {
                path: path.to_owned(),
            });
        }
        let v = &config.value;
        let bad = |reason: String| config.bad(reason);
        let usize_field = |key: &str, default: Option<usize>| config.positive(key, default);
        // HF ViTConfig's defaults fill what the file leaves out.
        let num_layers = usize_field("num_hidden_layers", Some(12))?;
        let num_heads = usize_field("num_attention_heads", Some(12))?;
        let hidden_size = usize_field("hidden_size", Some(768))?;
        let intermediate_size = usize_field("intermediate_size", Some(3072))?;
        let image_size = usize_field("image_size", Some(224))?;
        let patch_size = usize_field("patch_size", Some(16))?;
        let num_channels = usize_field("num_channels", Some(3))?;
        let head_size = config.head_size(hidden_size, num_heads)?;
        if image_size % patch_size != 0 {
            return Err(bad(format!(
                "image_size {image_size} is not a multiple of patch_size {patch_size}"
            )));
        }
        if !matches!(num_channels, 1 | 3) {
            return Err(bad(format!(
                "num_channels {num_channels} is not supported (1 for grayscale or 3 for colour)"
            )));
        }
        if v.get("qkv_bias").and_then(|x| x.as_bool()) == Some(false) {
            return Err(bad("qkv_bias = false is not supported".into()));
        }
        let layer_norm_eps = config.layer_norm_eps()?;
        let hidden_act = config.hidden_act()?;
        let mut labels: Vec<(usize, String)> = v
            .get("id2label")
            .and_then(|x| x.as_object())
            .map(|o| {
                o.iter()
                    .filter_map(|(k, name)| Some((k.parse().ok()?, name.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        labels.sort();
        let labels = labels.into_iter().map(|(_, name)| name).collect();
        let name_or_path = config.name_or_path();
        Ok(VitConfig {
            num_layers,
            num_heads,
            hidden_size,
            head_size,
            intermediate_size,
            layer_norm_eps,
            hidden_act,
            image_size,
            patch_size,
            num_channels,
            labels,
            name_or_path,
        })
    }
}

/// A vision transformer ready to [`encode`](VitModel::encode) an image.
pub struct VitModel {
    config: VitConfig,
    name: String,
    dir: Option<PathBuf>,
    preprocessor: Option<Preprocessor>,
    /// The patch convolution as a dense map `[hidden, channels·p·p]`.
    patch_embedding: Linear,
    cls_token: Array1<f32>,
    /// `[patches + 1, hidden]`.
    position_embeddings: Array2<f32>,
    layers: Vec<EncoderLayer>,
    final_norm: LayerNorm,
    classifier: Option<Linear>,
    activation: Activation,
}

impl std::fmt::Debug for VitModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VitModel")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The result of running one image through a ViT.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageEncoding {
    /// `[CLS]` then one label per patch, `r{row}c{col}`, row-major.
    pub tokens: Vec<String>,
    /// The model input, `channels × S × S`, after the preprocessor.
    pub pixels: Array3<f32>,
    /// Patches per row and per column.
    pub grid: usize,
    /// One entry per layer, in order.
    pub layers: Vec<LayerHeads>,
    /// Class scores, when the model has a classifier head.
    pub logits: Option<Vec<f32>>,
}

impl ImageEncoding {
    /// The highest-scoring class, when the model has a classifier head.
    pub fn predicted_class(&self) -> Option<usize> {
        let logits = self.logits.as_ref()?;
        logits
            .iter()
            .enumerate()
            .fold(None, |best: Option<(usize, f32)>, (i, &x)| match best {
                Some((_, b)) if b >= x => best,
                _ => Some((i, x)),
            })
            .map(|(i, _)| i)
    }

    /// Copies out one head of one layer; errors name the valid range.
    pub fn head(&self, layer: usize, head: usize) -> Result<HeadQkv, BertError> {
        head_of(&self.layers, layer, head)
    }
}

const CONFIG_FILE: &str = "config.json";
const WEIGHTS_FILE: &str = "model.safetensors";
const PREPROCESSOR_FILE: &str = "preprocessor_config.json";

impl VitModel {
    /// Loads a HuggingFace ViT folder. `preprocessor_config.json` is optional here; without
    /// it the model cannot [`encode`](Self::encode) images (the error says so).
    pub fn load(dir: &Path) -> Result<Self, BertError> {
        super::check_folder(dir, &[CONFIG_FILE, WEIGHTS_FILE], |file| {
            BertError::MissingVitFile {
                dir: dir.to_owned(),
                file,
            }
        })?;
        let read = |file: &str| {
            let path = dir.join(file);
            std::fs::read(&path).map_err(|source| BertError::Io { path, source })
        };
        let config_text = String::from_utf8_lossy(&read(CONFIG_FILE)?).into_owned();
        let preprocessor_text = if dir.join(PREPROCESSOR_FILE).is_file() {
            Some(String::from_utf8_lossy(&read(PREPROCESSOR_FILE)?).into_owned())
        } else {
            None
        };
        let weights = read(WEIGHTS_FILE)?;
        let config = VitConfig::parse(&config_text, &dir.join(CONFIG_FILE))?;
        let name = super::display_name(dir, config.name_or_path.as_deref(), "vit");
        let mut model =
            Self::from_parts(config, name, preprocessor_text.as_deref(), &weights, dir)?;
        model.dir = Some(dir.to_owned());
        Ok(model)
    }

    /// Builds a model from the texts of `config.json` and `preprocessor_config.json` and the
    /// bytes of `model.safetensors` (used for the digits ViT compiled into the binary);
    /// `origin` only names the files in messages.
    pub fn from_bytes(
        name: &str,
        config_json: &str,
        preprocessor_json: Option<&str>,
        weights: &[u8],
        origin: &Path,
    ) -> Result<Self, BertError> {
        let config = VitConfig::parse(config_json, &origin.join(CONFIG_FILE))?;
        Self::from_parts(config, name.to_owned(), preprocessor_json, weights, origin)
    }

    fn from_parts(
        config: VitConfig,
        name: String,
        preprocessor_json: Option<&str>,
        weights: &[u8],
        origin: &Path,
    ) -> Result<Self, BertError> {
        let activation = Activation::from_name(&config.hidden_act).ok_or_else(|| {
            BertError::UnsupportedActivation {
                found: config.hidden_act.clone(),
            }
        })?;
        let preprocessor = preprocessor_json
            .map(|text| {
                Preprocessor::parse(
                    text,
                    &origin.join(PREPROCESSOR_FILE),
                    config.num_channels,
                    config.image_size,
                )
            })
            .transpose()?;
        let weights_path = origin.join(WEIGHTS_FILE);
        let st = SafeTensors::deserialize(weights).map_err(|e| BertError::CorruptSafetensors {
            path: weights_path.clone(),
            reason: e.to_string(),
        })?;
        let w = Weights::new(
            &st,
            &weights_path,
            "embeddings.cls_token",
            &["vit."],
            config.hidden_size,
            config.layer_norm_eps,
        )?;
        let (h, c, p) = (config.hidden_size, config.num_channels, config.patch_size);
        let patch_w = w.to_vec(
            "embeddings.patch_embeddings.projection.weight",
            &[h, c, p, p],
        )?;
        let patch_embedding = Linear {
            w: Array2::from_shape_vec((h, c * p * p), patch_w).expect("length checked"),
            b: w.vector("embeddings.patch_embeddings.projection.bias", h)?,
        };
        let cls_token = Array1::from(w.to_vec("embeddings.cls_token", &[1, 1, h])?);
        let tokens = config.num_tokens();
        let position_embeddings = Array2::from_shape_vec(
            (tokens, h),
            w.to_vec("embeddings.position_embeddings", &[1, tokens, h])?,
        )
        .expect("length checked");
        let layers = (0..config.num_layers)
            .map(|i| w.vit_layer(i, config.intermediate_size))
            .collect::<Result<Vec<_>, _>>()?;
        let final_norm = w.layer_norm("layernorm")?;
        let classifier = if w.has("classifier.weight") {
            let classes = st
                .tensor("classifier.weight")
                .or_else(|_| st.tensor("vit.classifier.weight"))
                .map(|t| t.shape().first().copied().unwrap_or(0))
                .unwrap_or(0);
            Some(w.linear("classifier", classes, h)?)
        } else {
            None
        };
        Ok(VitModel {
            config,
            name,
            dir: None,
            preprocessor,
            patch_embedding,
            cls_token,
            position_embeddings,
            layers,
            final_norm,
            classifier,
            activation,
        })
    }

    pub fn config(&self) -> &VitConfig {
        &self.config
    }

    /// The attention output projection of `layer`: W_O as `(heads·head_size) × hidden` (the
    /// concatenated heads' outputs times it) and its bias b_o.
    pub fn output_projection(
        &self,
        layer: usize,
    ) -> Result<(ndarray::Array2<f32>, ndarray::Array1<f32>), BertError> {
        let block = self.layers.get(layer).ok_or(BertError::LayerOutOfRange {
            layer,
            num_layers: self.config.num_layers,
        })?;
        Ok(block.output_projection())
    }

    /// A display name (the folder name, or the bundled model's name).
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// The folder the model was loaded from (`None` for a model built from bytes).
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The class name of `class` (from `id2label`), or its number.
    pub fn label(&self, class: usize) -> String {
        self.config
            .labels
            .get(class)
            .cloned()
            .unwrap_or_else(|| class.to_string())
    }

    /// The model input for `image`, as the folder's preprocessor describes it.
    pub fn pixels(
        &self,
        image: &DynamicImage,
        source_name: &str,
    ) -> Result<Array3<f32>, BertError> {
        let preprocessor =
            self.preprocessor
                .as_ref()
                .ok_or_else(|| ImageError::MissingPreprocessor {
                    dir: self
                        .dir
                        .clone()
                        .unwrap_or_else(|| PathBuf::from(&self.name)),
                })?;
        Ok(preprocessor.pixels(image, source_name, self.config.image_size)?)
    }

    /// Preprocesses and encodes `image`; `source_name` names it in messages.
    pub fn encode(
        &self,
        image: &DynamicImage,
        source_name: &str,
    ) -> Result<ImageEncoding, BertError> {
        let pixels = self.pixels(image, source_name)?;
        Ok(self.encode_pixels(pixels))
    }

    /// Reads and encodes a PNG or JPEG file.
    pub fn encode_file(&self, path: &Path) -> Result<ImageEncoding, BertError> {
        let image = read_image(path)?;
        self.encode(&image, &path.display().to_string())
    }

    /// Encodes an already-preprocessed input of shape `channels × S × S`.
    ///
    /// # Panics
    /// When `pixels` does not have that shape ([`Self::pixels`] always gives it).
    pub fn encode_pixels(&self, pixels: Array3<f32>) -> ImageEncoding {
        let cfg = &self.config;
        let (c, s, p, g) = (cfg.num_channels, cfg.image_size, cfg.patch_size, cfg.grid());
        assert_eq!(pixels.dim(), (c, s, s), "input shape must match the model");
        let mut patches = Array2::<f32>::zeros((g * g, c * p * p));
        for (index, mut row) in patches.rows_mut().into_iter().enumerate() {
            let (pr, pc) = (index / g, index % g);
            for ch in 0..c {
                for i in 0..p {
                    for j in 0..p {
                        row[ch * p * p + i * p + j] = pixels[[ch, pr * p + i, pc * p + j]];
                    }
                }
            }
        }
        let embedded = self.patch_embedding.forward(patches.view());
        let mut h = Array2::<f32>::zeros((g * g + 1, cfg.hidden_size));
        h.row_mut(0).assign(&self.cls_token);
        h.slice_mut(ndarray::s![1.., ..]).assign(&embedded);
        h += &self.position_embeddings;

        let shape = BlockShape {
            heads: cfg.num_heads,
            head_size: cfg.head_size,
            activation: self.activation,
            norm: NormPlacement::Pre,
        };
        let mut layers = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let (next, heads) = layer.forward(h, shape);
            layers.push(heads);
            h = next;
        }
        let logits = self.classifier.as_ref().map(|classifier| {
            let mut cls = h.slice(ndarray::s![0..1, ..]).to_owned();
            self.final_norm.forward_inplace(&mut cls);
            classifier.forward(cls.view()).row(0).to_vec()
        });
        let tokens = std::iter::once("[CLS]".to_owned())
            .chain((0..g * g).map(|i| format!("r{}c{}", i / g, i % g)))
            .collect();
        ImageEncoding {
            tokens,
            pixels,
            grid: g,
            layers,
            logits,
        }
    }
}
