//! Reading weights from `model.safetensors`: dtype conversion, tensor look-up with or without
//! the `bert.` prefix, shape checks, and the word-embedding table left in the memory map.

use super::BertError;
use super::config::BertConfig;
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

/// Looks tensors up in the safetensors file, with or without the `bert.` prefix, checking
/// dtype and shape.
pub(super) struct Weights<'a> {
    pub(super) st: &'a SafeTensors<'a>,
    pub(super) path: &'a Path,
    prefix: &'static str,
    config: &'a BertConfig,
}

impl<'a> Weights<'a> {
    pub(super) fn new(
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

    pub(super) fn layer_norm(&self, stem: &str) -> Result<LayerNorm, BertError> {
        let h = self.config.hidden_size;
        Ok(LayerNorm {
            gamma: self.vector(&format!("{stem}.weight"), h)?,
            beta: self.vector(&format!("{stem}.bias"), h)?,
            eps: self.config.layer_norm_eps,
        })
    }

    pub(super) fn encoder_layer(&self, i: usize) -> Result<EncoderLayer, BertError> {
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
