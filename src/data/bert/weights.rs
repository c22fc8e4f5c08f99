//! Reading weights from `model.safetensors`: dtype conversion, tensor look-up with or without
//! the model's prefix (`bert.`, `albert.`, `vit.`), shape checks, and the word-embedding table
//! left in the memory map.

use super::BertError;
use super::layers::{EncoderLayer, LayerNorm, Linear};
use ndarray::{Array1, Array2, Axis};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::path::Path;

/// Where the word-embedding table lives inside the memory map.
#[derive(Debug)]
pub(super) struct MappedMatrix {
    pub(super) offset: usize,
    pub(super) dtype: Dtype,
    pub(super) cols: usize,
}

/// Converts little-endian F32/F16/BF16 bytes into `out` (`bytes.len()` matches `out.len()`).
pub(super) fn convert_into(bytes: &[u8], dtype: Dtype, out: &mut [f32]) {
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

/// Looks tensors up in the safetensors file, with or without the model's prefix, checking
/// dtype and shape.
pub(super) struct Weights<'a> {
    pub(super) st: &'a SafeTensors<'a>,
    pub(super) path: &'a Path,
    prefix: &'static str,
    /// Width of the hidden state, for LayerNorms and blocks.
    hidden: usize,
    eps: f64,
}

impl<'a> Weights<'a> {
    /// Finds the prefix (`""` or one of `prefixes`) under which `probe` exists.
    pub(super) fn new(
        st: &'a SafeTensors<'a>,
        path: &'a Path,
        probe: &str,
        prefixes: &[&'static str],
        hidden: usize,
        eps: f64,
    ) -> Result<Self, BertError> {
        let prefix = std::iter::once("")
            .chain(prefixes.iter().copied())
            .find(|p| st.tensor(&format!("{p}{probe}")).is_ok())
            .ok_or_else(|| BertError::MissingTensor {
                path: path.to_owned(),
                name: probe.into(),
            })?;
        Ok(Weights {
            st,
            path,
            prefix,
            hidden,
            eps,
        })
    }

    /// Whether a tensor exists under `name` (prefixed or not).
    pub(super) fn has(&self, name: &str) -> bool {
        self.st.tensor(&format!("{}{name}", self.prefix)).is_ok() || self.st.tensor(name).is_ok()
    }

    pub(super) fn view(&self, name: &str, shape: &[usize]) -> Result<TensorView<'a>, BertError> {
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

    pub(super) fn to_vec(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, BertError> {
        let view = self.view(name, shape)?;
        let mut out = vec![0.0f32; shape.iter().product()];
        convert_into(view.data(), view.dtype(), &mut out);
        Ok(out)
    }

    pub(super) fn matrix(
        &self,
        name: &str,
        rows: usize,
        cols: usize,
    ) -> Result<Array2<f32>, BertError> {
        let data = self.to_vec(name, &[rows, cols])?;
        Ok(Array2::from_shape_vec((rows, cols), data).expect("length checked against shape"))
    }

    pub(super) fn vector(&self, name: &str, len: usize) -> Result<Array1<f32>, BertError> {
        Ok(Array1::from(self.to_vec(name, &[len])?))
    }

    pub(super) fn linear(&self, stem: &str, out: usize, inp: usize) -> Result<Linear, BertError> {
        Ok(Linear {
            w: self.matrix(&format!("{stem}.weight"), out, inp)?,
            b: self.vector(&format!("{stem}.bias"), out)?,
        })
    }

    /// A LayerNorm over the hidden state.
    pub(super) fn layer_norm(&self, stem: &str) -> Result<LayerNorm, BertError> {
        self.layer_norm_of(stem, self.hidden)
    }

    /// A LayerNorm over `len` features (ALBERT's embeddings are narrower than its hidden state).
    pub(super) fn layer_norm_of(&self, stem: &str, len: usize) -> Result<LayerNorm, BertError> {
        Ok(LayerNorm {
            gamma: self.vector(&format!("{stem}.weight"), len)?,
            beta: self.vector(&format!("{stem}.bias"), len)?,
            eps: self.eps,
        })
    }

    /// q, k, v projections fused into one matrix.
    fn fused_qkv(&self, query: &str, key: &str, value: &str) -> Result<Linear, BertError> {
        let h = self.hidden;
        let q = self.linear(query, h, h)?;
        let k = self.linear(key, h, h)?;
        let v = self.linear(value, h, h)?;
        Ok(Linear {
            w: ndarray::concatenate(Axis(0), &[q.w.view(), k.w.view(), v.w.view()])
                .expect("same widths"),
            b: ndarray::concatenate(Axis(0), &[q.b.view(), k.b.view(), v.b.view()])
                .expect("same widths"),
        })
    }

    /// BERT layer `i` (`encoder.layer.{i}.…`).
    pub(super) fn encoder_layer(&self, i: usize, inter: usize) -> Result<EncoderLayer, BertError> {
        let h = self.hidden;
        let p = format!("encoder.layer.{i}");
        Ok(EncoderLayer {
            qkv: self.fused_qkv(
                &format!("{p}.attention.self.query"),
                &format!("{p}.attention.self.key"),
                &format!("{p}.attention.self.value"),
            )?,
            attn_out: self.linear(&format!("{p}.attention.output.dense"), h, h)?,
            attn_norm: self.layer_norm(&format!("{p}.attention.output.LayerNorm"))?,
            intermediate: self.linear(&format!("{p}.intermediate.dense"), inter, h)?,
            output: self.linear(&format!("{p}.output.dense"), h, inter)?,
            out_norm: self.layer_norm(&format!("{p}.output.LayerNorm"))?,
        })
    }

    /// ALBERT's one shared layer (`encoder.albert_layer_groups.0.albert_layers.0.…`).
    pub(super) fn albert_layer(&self, inter: usize) -> Result<EncoderLayer, BertError> {
        let h = self.hidden;
        let p = ALBERT_SHARED_LAYER;
        let layer = || -> Result<EncoderLayer, BertError> {
            Ok(EncoderLayer {
                qkv: self.fused_qkv(
                    &format!("{p}.attention.query"),
                    &format!("{p}.attention.key"),
                    &format!("{p}.attention.value"),
                )?,
                attn_out: self.linear(&format!("{p}.attention.dense"), h, h)?,
                attn_norm: self.layer_norm(&format!("{p}.attention.LayerNorm"))?,
                intermediate: self.linear(&format!("{p}.ffn"), inter, h)?,
                output: self.linear(&format!("{p}.ffn_output"), h, inter)?,
                out_norm: self.layer_norm(&format!("{p}.full_layer_layer_norm"))?,
            })
        };
        layer().map_err(|e| match e {
            BertError::MissingTensor { path, name } => BertError::MissingSharedLayer { path, name },
            other => other,
        })
    }

    /// ViT layer `i` (`encoder.layer.{i}.…`, pre-LayerNorm).
    pub(super) fn vit_layer(&self, i: usize, inter: usize) -> Result<EncoderLayer, BertError> {
        let h = self.hidden;
        let p = format!("encoder.layer.{i}");
        Ok(EncoderLayer {
            qkv: self.fused_qkv(
                &format!("{p}.attention.attention.query"),
                &format!("{p}.attention.attention.key"),
                &format!("{p}.attention.attention.value"),
            )?,
            attn_out: self.linear(&format!("{p}.attention.output.dense"), h, h)?,
            attn_norm: self.layer_norm(&format!("{p}.layernorm_before"))?,
            intermediate: self.linear(&format!("{p}.intermediate.dense"), inter, h)?,
            output: self.linear(&format!("{p}.output.dense"), h, inter)?,
            out_norm: self.layer_norm(&format!("{p}.layernorm_after"))?,
        })
    }
}

/// Where ALBERT keeps the weights every layer shares.
pub(super) const ALBERT_SHARED_LAYER: &str = "encoder.albert_layer_groups.0.albert_layers.0";
