//! Real-text sequences: the bundled MiniLM sentences and BERT-family model folders.

use super::bert::{BertModel, HeadQkv};
use super::bundle::{Bundle, BundleError};
use super::error::SequenceError;
use crate::model::layer::LayerSequence;
use crate::model::sequence::{Sequence, TextOrigin};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The sentences shipped inside the binary, parsed once.
pub fn bundle() -> Result<&'static Bundle, SequenceError> {
    static BUNDLE: OnceLock<Result<Bundle, BundleError>> = OnceLock::new();
    BUNDLE
        .get_or_init(Bundle::embedded)
        .as_ref()
        .map_err(|e| SequenceError::from(e.clone()))
}

/// Names of the bundled sentences, in order.
pub fn bundled_names() -> Result<Vec<String>, SequenceError> {
    Ok(bundle()?.sentences.iter().map(|s| s.name.clone()).collect())
}

fn to_sequence(
    source: String,
    tokens: Vec<String>,
    head: HeadQkv,
    origin: TextOrigin,
) -> Result<Sequence, SequenceError> {
    let widen = |a: &ndarray::Array2<f32>| a.mapv(f64::from);
    let mut sequence = Sequence::new(
        source,
        tokens,
        widen(&head.q),
        widen(&head.k),
        widen(&head.v),
    )?;
    sequence.origin = Some(origin);
    Ok(sequence)
}

/// `bundled:NAME` at `layer`, `head`.
pub fn bundled_sequence(name: &str, layer: usize, head: usize) -> Result<Sequence, SequenceError> {
    let bundle = bundle()?;
    let sentence = bundle
        .find(name)
        .ok_or_else(|| SequenceError::UnknownSentence {
            name: name.to_string(),
            known: bundle
                .sentences
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let qkv = sentence
        .head(layer, head)
        .map_err(|source| SequenceError::BundledHead {
            name: name.to_string(),
            source: Box::new(source),
        })?;
    to_sequence(
        format!("bundled:{name}"),
        sentence.tokens.clone(),
        qkv,
        TextOrigin {
            text: sentence.text.clone(),
            model: bundle.model.clone(),
            layer,
            head,
        },
    )
}

/// W_O (f32, `(heads·head_size) × hidden`) and b_o as the f64 arrays of a [`LayerSequence`].
fn widen_projection(
    (w, b): (ndarray::Array2<f32>, ndarray::Array1<f32>),
) -> (ndarray::Array2<f64>, ndarray::Array1<f64>) {
    (w.mapv(f64::from), b.mapv(f64::from))
}

/// Every head of layer `layer` of `bundled:NAME`, with the layer's W_O, b_o and the
/// transformer's attention output.
pub fn bundled_layer(name: &str, layer: usize) -> Result<LayerSequence, SequenceError> {
    let bundle = bundle()?;
    let heads = (0..bundle.find(name).map_or(1, |s| s.num_heads))
        .map(|h| bundled_sequence(name, layer, h).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()?;
    let sentence = bundle.find(name).expect("bundled_sequence found it");
    let (w_o, b_o) = bundle
        .output_projection(layer)
        .map(widen_projection)
        .ok_or_else(|| {
            SequenceError::Layer(format!(
                "the sentence bundle has no W_O for layer {layer}: regenerate it with `cargo run --release --example bundle_sentences`"
            ))
        })?;
    let layer = LayerSequence {
        heads,
        w_o,
        b_o,
        transformer_output: sentence.attention_output(layer).map(|a| a.mapv(f64::from)),
    };
    layer
        .check()
        .map_err(|e| SequenceError::Layer(e.to_string()))?;
    Ok(layer)
}

/// Every head of layer `layer` of `model:DIR` on `text` (one forward pass), with W_O, b_o and
/// the transformer's attention output.
pub fn model_layer(dir: &Path, text: &str, layer: usize) -> Result<LayerSequence, SequenceError> {
    let model = load_model(dir)?;
    let encoding = model.encode(text)?;
    let heads = (0..encoding.num_heads())
        .map(|h| {
            let qkv = encoding.head(layer, h)?;
            to_sequence(
                format!("model:{}", dir.display()),
                encoding.tokens.clone(),
                qkv,
                TextOrigin {
                    text: text.to_string(),
                    model: model.name(),
                    layer,
                    head: h,
                },
            )
            .map(Arc::new)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (w_o, b_o) = widen_projection(model.output_projection(layer)?);
    let layer = LayerSequence {
        heads,
        w_o,
        b_o,
        transformer_output: Some(encoding.layers[layer].attention_output.mapv(f64::from)),
    };
    layer
        .check()
        .map_err(|e| SequenceError::Layer(e.to_string()))?;
    Ok(layer)
}

/// Loads a model folder, reusing the last one loaded from the same folder.
pub fn load_model(dir: &Path) -> Result<Arc<BertModel>, SequenceError> {
    static CACHE: Mutex<Option<(PathBuf, Arc<BertModel>)>> = Mutex::new(None);
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((cached_dir, model)) = cache.as_ref()
        && cached_dir == dir
    {
        return Ok(model.clone());
    }
    let model = Arc::new(BertModel::load(dir)?);
    *cache = Some((dir.to_path_buf(), model.clone()));
    Ok(model)
}

/// `model:DIR` encoding `text`, at `layer`, `head`.
pub fn model_sequence(
    dir: &Path,
    text: &str,
    layer: usize,
    head: usize,
) -> Result<Sequence, SequenceError> {
    let model = load_model(dir)?;
    let encoding = model.encode(text)?;
    let qkv = encoding.head(layer, head)?;
    to_sequence(
        format!("model:{}", dir.display()),
        encoding.tokens.clone(),
        qkv,
        TextOrigin {
            text: text.to_string(),
            model: model.name(),
            layer,
            head,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_sentences_become_sequences_with_their_origin() {
        let names = bundled_names().unwrap();
        assert!(names.len() >= 8);
        let seq = bundled_sequence(&names[0], 3, 1).unwrap();
        assert_eq!(seq.key_dim(), 32);
        assert_eq!(seq.tokens.first().map(String::as_str), Some("[CLS]"));
        let origin = seq.origin.as_ref().unwrap();
        assert_eq!((origin.layer, origin.head), (3, 1));
        assert!(origin.model.contains("MiniLM"));
        let err = bundled_sequence(&names[0], 9, 0).unwrap_err().to_string();
        assert!(err.contains("layer 9") && err.contains("0..=5"), "{err}");
        let err = bundled_sequence("nope", 0, 0).unwrap_err().to_string();
        assert!(err.contains(&names[1]), "{err}");
    }
}
