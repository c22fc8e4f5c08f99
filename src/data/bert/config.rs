//! The parts of a model folder's `config.json` the forward pass needs, and the checks that
//! refuse what it cannot run.

use super::{BertError, SUPPORTED_ACTIVATIONS};
use std::path::Path;

/// The model families the forward pass implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// BERT: post-LayerNorm blocks, one set of weights per layer.
    Bert,
    /// ALBERT: factorised embeddings projected to the hidden size, one shared layer.
    Albert,
    /// ViT: pre-LayerNorm blocks over image patches plus a CLS token.
    Vit,
}

impl Family {
    /// Reads the family from a parsed `config.json`: `model_type` when present, else the
    /// first known name in `architectures`.
    pub fn detect(v: &serde_json::Value) -> Result<Family, BertError> {
        let model_type = v.get("model_type").and_then(|x| x.as_str()).unwrap_or("");
        let architectures: Vec<String> = v
            .get("architectures")
            .and_then(|x| x.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let from_type = match model_type {
            "bert" => Some(Family::Bert),
            "albert" => Some(Family::Albert),
            "vit" => Some(Family::Vit),
            _ => None,
        };
        let from_architectures = || {
            architectures.iter().find_map(|a| match a.as_str() {
                "BertModel" | "BertForMaskedLM" => Some(Family::Bert),
                "AlbertModel" | "AlbertForMaskedLM" => Some(Family::Albert),
                "ViTModel" | "ViTForImageClassification" => Some(Family::Vit),
                _ => None,
            })
        };
        let family = if model_type.is_empty() {
            from_architectures()
        } else {
            from_type
        };
        family.ok_or_else(|| {
            let found = match (model_type.is_empty(), architectures.is_empty()) {
                (true, true) => "(config.json names neither model_type nor architectures)".into(),
                (false, true) => format!("model_type {model_type:?}"),
                (true, false) => format!("architectures {architectures:?}"),
                (false, false) => format!("model_type {model_type:?} ({architectures:?})"),
            };
            BertError::UnsupportedArchitecture { found }
        })
    }

    /// A display name: "BERT", "ALBERT" or "ViT".
    pub fn label(self) -> &'static str {
        match self {
            Family::Bert => "BERT",
            Family::Albert => "ALBERT",
            Family::Vit => "ViT",
        }
    }
}

/// A parsed `config.json` with the field readers every family uses (BERT, ALBERT and ViT
/// read their folders' configs through this one implementation).
pub(crate) struct ConfigJson<'a> {
    pub value: serde_json::Value,
    path: &'a Path,
}

impl<'a> ConfigJson<'a> {
    /// Parses the text of a `config.json`; `path` only names the file in messages.
    pub fn parse(json: &str, path: &'a Path) -> Result<Self, BertError> {
        let bad = |reason: String| BertError::BadConfig {
            path: path.to_owned(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| bad(format!("invalid JSON ({e})")))?;
        if !value.is_object() {
            return Err(bad("the top level is not a JSON object".into()));
        }
        Ok(ConfigJson { value, path })
    }

    /// Reads and parses the `config.json` at `path`.
    pub fn read(path: &'a Path) -> Result<Self, BertError> {
        let text = std::fs::read_to_string(path).map_err(|source| BertError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    pub fn path(&self) -> &Path {
        self.path
    }

    /// The error for a field that is present but unusable.
    pub fn bad(&self, reason: String) -> BertError {
        BertError::BadConfig {
            path: self.path.to_owned(),
            reason,
        }
    }

    pub fn family(&self) -> Result<Family, BertError> {
        Family::detect(&self.value)
    }

    /// A positive integer field; `default` fills it when absent (else it is required).
    pub fn positive(&self, key: &str, default: Option<usize>) -> Result<usize, BertError> {
        match (self.value.get(key), default) {
            (None, Some(d)) => Ok(d),
            (None, None) => Err(self.bad(format!("field {key:?} is missing"))),
            (Some(x), _) => x
                .as_u64()
                .filter(|&n| n > 0)
                .map(|n| n as usize)
                .ok_or_else(|| self.bad(format!("field {key:?} is not a positive integer"))),
        }
    }

    /// `hidden_size / num_heads`, refused when it does not divide.
    pub fn head_size(&self, hidden_size: usize, num_heads: usize) -> Result<usize, BertError> {
        if !hidden_size.is_multiple_of(num_heads) {
            return Err(self.bad(format!(
                "hidden_size {hidden_size} is not a multiple of num_attention_heads {num_heads}"
            )));
        }
        Ok(hidden_size / num_heads)
    }

    /// `layer_norm_eps`, HF's 1e-12 when absent.
    pub fn layer_norm_eps(&self) -> Result<f64, BertError> {
        match self.value.get("layer_norm_eps") {
            None => Ok(1e-12),
            Some(x) => x
                .as_f64()
                .filter(|e| e.is_finite() && *e >= 0.0)
                .ok_or_else(|| {
                    self.bad("field \"layer_norm_eps\" is not a non-negative number".into())
                }),
        }
    }

    /// `hidden_act` ("gelu" when absent), refused unless supported.
    pub fn hidden_act(&self) -> Result<String, BertError> {
        let hidden_act = match self.value.get("hidden_act") {
            None => "gelu".to_owned(),
            Some(x) => x
                .as_str()
                .ok_or_else(|| self.bad("field \"hidden_act\" is not a string".into()))?
                .to_owned(),
        };
        if !SUPPORTED_ACTIVATIONS.contains(&hidden_act.as_str()) {
            return Err(BertError::UnsupportedActivation { found: hidden_act });
        }
        Ok(hidden_act)
    }

    /// `_name_or_path`, when the config records one.
    pub fn name_or_path(&self) -> Option<String> {
        self.value
            .get("_name_or_path")
            .and_then(|x| x.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }
}

/// The parts of `config.json` the forward pass needs.
#[derive(Debug, Clone, PartialEq)]
pub struct BertConfig {
    /// BERT or ALBERT (ViT folders have their own [`super::VitConfig`]).
    pub family: Family,
    pub num_layers: usize,
    pub num_heads: usize,
    pub hidden_size: usize,
    /// Width of the embedding tables: `hidden_size` for BERT, ALBERT's smaller
    /// `embedding_size` (projected to `hidden_size` before the first layer).
    pub embedding_size: usize,
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
        Self::from_json(ConfigJson::read(path)?)
    }

    /// Parses and validates the text of a `config.json`; `path` is only used in messages.
    pub fn parse(json: &str, path: &Path) -> Result<Self, BertError> {
        Self::from_json(ConfigJson::parse(json, path)?)
    }

    fn from_json(config: ConfigJson<'_>) -> Result<Self, BertError> {
        let family = config.family()?;
        if family == Family::Vit {
            return Err(BertError::NotText {
                path: config.path().to_owned(),
            });
        }
        let v = &config.value;
        let bad = |reason: String| config.bad(reason);
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
        let usize_field = |key: &str| config.positive(key, None);
        let num_layers = usize_field("num_hidden_layers")?;
        let num_heads = usize_field("num_attention_heads")?;
        let hidden_size = usize_field("hidden_size")?;
        let intermediate_size = usize_field("intermediate_size")?;
        let max_positions = usize_field("max_position_embeddings")?;
        let vocab_size = usize_field("vocab_size")?;
        let embedding_size = match family {
            Family::Albert => usize_field("embedding_size")?,
            _ => hidden_size,
        };
        if family == Family::Albert {
            // albert-base-v2 and every published ALBERT use one group of one layer.
            for key in ["num_hidden_groups", "inner_group_num"] {
                if let Some(x) = v.get(key)
                    && x.as_u64() != Some(1)
                {
                    return Err(bad(format!(
                        "{key} = {x} is not supported (only ALBERT's usual single shared layer, {key} = 1)"
                    )));
                }
            }
        }
        let type_vocab_size = match v.get("type_vocab_size") {
            None => 2,
            Some(_) => usize_field("type_vocab_size")?,
        };
        let head_size = config.head_size(hidden_size, num_heads)?;
        let layer_norm_eps = config.layer_norm_eps()?;
        let hidden_act = config.hidden_act()?;
        if let Some(p) = v.get("position_embedding_type").and_then(|x| x.as_str())
            && p != "absolute"
        {
            return Err(bad(format!(
                "position_embedding_type {p:?} is not supported (only \"absolute\")"
            )));
        }
        let name_or_path = config.name_or_path();
        Ok(BertConfig {
            family,
            num_layers,
            num_heads,
            hidden_size,
            embedding_size,
            head_size,
            intermediate_size,
            max_positions,
            vocab_size,
            type_vocab_size,
            layer_norm_eps,
            hidden_act,
            model_type: if model_type.is_empty() {
                match family {
                    Family::Albert => "albert".into(),
                    _ => "bert".into(),
                }
            } else {
                model_type
            },
            architectures,
            name_or_path,
        })
    }
}
