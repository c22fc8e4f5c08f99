//! The writing side of the sentence bundle (the library only reads it): which sentences are
//! bundled, how each one's default head is chosen, and the bytes of the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use half::f16;
use ndarray::ArrayView2;
use safetensors::{Dtype, tensor::TensorView};
use tripartite::data::bert::{BertError, BertModel, Encoding};
use tripartite::data::bundle::{BundleError, FORMAT_VERSION, MINILM_LICENCE, MINILM_MODEL_ID};

/// Errors writing a sentence bundle; each names what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("the encoding has no layers or heads to choose a default head from")]
    EmptyEncoding,
    #[error(
        "sentence {sentence:?}: the wordpiece {token:?} named by its showcase is not among its tokens {tokens:?}"
    )]
    ShowcaseTokenNotFound {
        sentence: String,
        token: String,
        tokens: Vec<String>,
    },
    #[error("sentence name {0:?} is used twice; names must be unique")]
    DuplicateName(String),
    #[error("no sentences were given; a bundle needs at least one")]
    NoSentences,
    #[error("could not write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Bert(#[from] BertError),
}

/// How a sentence's default head is chosen: a measurable score computed on the model's own
/// attention for every (layer, head); the head with the highest score wins (ties go to the
/// lowest layer, then the lowest head). "Real tokens" are all positions except `[CLS]` (first)
/// and `[SEP]` (last).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Showcase<'a> {
    /// The sharpest long-range content link: the mean, over real-token queries, of the largest
    /// attention weight given to a key that is neither `[CLS]`/`[SEP]` nor within one position
    /// of the query. (Plain "lowest entropy" picks the same previous-token head in layer 0 for
    /// every sentence; this criterion skips positional and sink heads.)
    LongRange,
    /// Previous-token head: mean weight from each real token (after the first) to the token
    /// just before it.
    PreviousToken,
    /// Next-token head: mean weight from each real token (before the last) to the token just
    /// after it.
    NextToken,
    /// Sink head: mean weight that real tokens put on `[CLS]` plus `[SEP]`.
    Sink,
    /// A specific link: the weight from the first wordpiece `from` to the whole word that
    /// starts with the first wordpiece `to` (that piece and its `##` continuations).
    Link { from: &'a str, to: &'a str },
    /// A focal token: the weight on the word starting with wordpiece `to`, averaged over all
    /// other real tokens.
    Target { to: &'a str },
}

/// One sentence to bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentenceSpec<'a> {
    pub name: &'a str,
    pub text: &'a str,
    pub showcase: Showcase<'a>,
}

/// The sentences shipped in `assets/minilm_sentences.safetensors` (≤ 20 wordpieces each).
pub const BUNDLED_SENTENCES: &[SentenceSpec<'static>] = &[
    SentenceSpec {
        name: "coreference-it",
        text: "The astrocyte wrapped the synapse because it needed calcium.",
        showcase: Showcase::Link {
            from: "it",
            to: "astro",
        },
    },
    SentenceSpec {
        name: "coreference-she",
        text: "The teacher praised the student because she had worked hard.",
        showcase: Showcase::Link {
            from: "she",
            to: "teacher",
        },
    },
    SentenceSpec {
        name: "agreement",
        text: "The keys to the old wooden cabinet are on the table.",
        showcase: Showcase::Link {
            from: "are",
            to: "keys",
        },
    },
    SentenceSpec {
        name: "brackets",
        text: "She said (quietly) that the answer was forty-two.",
        showcase: Showcase::Link { from: ")", to: "(" },
    },
    SentenceSpec {
        name: "previous-token",
        text: "One, two, three, four, five, six, seven, eight.",
        showcase: Showcase::PreviousToken,
    },
    SentenceSpec {
        name: "next-token",
        text: "Glia listen while neurons fire and the brain slowly learns.",
        showcase: Showcase::NextToken,
    },
    SentenceSpec {
        name: "question-mark",
        text: "Where did the neuron send its signal?",
        showcase: Showcase::Target { to: "?" },
    },
    SentenceSpec {
        name: "sink",
        text: "Attention is all you need, said the transformer.",
        showcase: Showcase::Sink,
    },
    SentenceSpec {
        name: "repetition",
        text: "The cat sat on the mat. The cat sat on the mat.",
        showcase: Showcase::LongRange,
    },
    SentenceSpec {
        name: "head-noun",
        text: "A small, bright, curious dog chased the red ball.",
        showcase: Showcase::LongRange,
    },
];

/// The head chosen for a sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadChoice {
    pub layer: usize,
    pub head: usize,
    pub score: f32,
    /// Human-readable criterion and score.
    pub reason: String,
}

fn word_span(tokens: &[String], first_piece: &str) -> Option<std::ops::Range<usize>> {
    let start = tokens.iter().position(|t| t == first_piece)?;
    let len = 1 + tokens[start + 1..]
        .iter()
        .take_while(|t| t.starts_with("##"))
        .count();
    Some(start..start + len)
}

/// Scores one head's N × N attention matrix.
type ScoreFn<'a> = Box<dyn Fn(ArrayView2<f32>) -> f32 + 'a>;

/// Scores every head of `enc` by `showcase` and returns the best one.
pub fn choose_default_head(
    name: &str,
    enc: &Encoding,
    showcase: Showcase<'_>,
) -> Result<HeadChoice, WriteError> {
    let n = enc.len();
    let real = 1..n.saturating_sub(1);
    let find = |piece: &str| {
        word_span(&enc.tokens, piece).ok_or_else(|| WriteError::ShowcaseTokenNotFound {
            sentence: name.to_owned(),
            token: piece.to_owned(),
            tokens: enc.tokens.clone(),
        })
    };
    let mean = |values: Vec<f32>| {
        if values.is_empty() {
            0.0
        } else {
            values.iter().sum::<f32>() / values.len() as f32
        }
    };
    let score: ScoreFn<'_> = match showcase {
        Showcase::LongRange => {
            let real = real.clone();
            Box::new(move |a| {
                mean(
                    real.clone()
                        .map(|i| {
                            real.clone()
                                .filter(|&j| j + 1 < i || j > i + 1)
                                .map(|j| a[[i, j]])
                                .fold(0.0, f32::max)
                        })
                        .collect(),
                )
            })
        }
        Showcase::PreviousToken => {
            let rows = 2..n.saturating_sub(1);
            Box::new(move |a| mean(rows.clone().map(|i| a[[i, i - 1]]).collect()))
        }
        Showcase::NextToken => {
            let rows = 1..n.saturating_sub(2);
            Box::new(move |a| mean(rows.clone().map(|i| a[[i, i + 1]]).collect()))
        }
        Showcase::Sink => {
            let real = real.clone();
            Box::new(move |a| mean(real.clone().map(|i| a[[i, 0]] + a[[i, n - 1]]).collect()))
        }
        Showcase::Link { from, to } => {
            let q = find(from)?.start;
            let keys = find(to)?;
            Box::new(move |a| keys.clone().map(|j| a[[q, j]]).sum())
        }
        Showcase::Target { to } => {
            let keys = find(to)?;
            let real = real.clone();
            Box::new(move |a| {
                mean(
                    real.clone()
                        .filter(|i| !keys.contains(i))
                        .map(|i| keys.clone().map(|j| a[[i, j]]).sum())
                        .collect(),
                )
            })
        }
    };
    let mut best: Option<(usize, usize, f32)> = None;
    for (l, layer) in enc.layers.iter().enumerate() {
        for (h, a) in layer.attention.outer_iter().enumerate() {
            let s = score(a);
            if best.is_none_or(|(_, _, b)| s > b) {
                best = Some((l, h, s));
            }
        }
    }
    let (layer, head, score) = best.ok_or(WriteError::EmptyEncoding)?;
    let reason = match showcase {
        Showcase::LongRange => format!(
            "sharpest long-range link: mean over tokens of the largest weight on a non-adjacent, non-[CLS]/[SEP] token = {score:.2}"
        ),
        Showcase::PreviousToken => {
            format!("previous-token head: mean weight on the token just before = {score:.2}")
        }
        Showcase::NextToken => {
            format!("next-token head: mean weight on the token just after = {score:.2}")
        }
        Showcase::Sink => format!("sink head: mean weight on [CLS] + [SEP] = {score:.2}"),
        Showcase::Link { from, to } => {
            let word = find(to)?;
            let word: String = enc.tokens[word]
                .iter()
                .map(|t| t.trim_start_matches("##"))
                .collect();
            format!("link {from:?} → {word:?}: attention weight {score:.2}")
        }
        Showcase::Target { to } => {
            format!("focal token {to:?}: mean weight from the other tokens = {score:.2}")
        }
    };
    Ok(HeadChoice {
        layer,
        head,
        score,
        reason,
    })
}

/// The model id and licence recorded in a bundle: all-MiniLM-L6-v2 is recognised by its folder
/// name or `_name_or_path`; any other model is recorded by its display name.
fn provenance(model: &BertModel) -> (String, String) {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let names = [Some(model.name()), model.config().name_or_path.clone()];
    if names
        .iter()
        .flatten()
        .any(|n| squash(n).contains("allminilml6v2"))
    {
        (MINILM_MODEL_ID.to_owned(), MINILM_LICENCE.to_owned())
    } else {
        (
            model.name(),
            "unknown: see the model's own licence".to_owned(),
        )
    }
}

fn f16_bytes<'a>(values: impl Iterator<Item = &'a f32>) -> Vec<u8> {
    values
        .flat_map(|&x| f16::from_f32(x).to_le_bytes())
        .collect()
}

/// Encodes `sentences` (name, text) with `model` and writes one bundle file to `path`; every
/// default head is chosen by [`Showcase::LongRange`] (the tests' shorthand).
#[cfg(test)]
pub fn write_bundle(
    model: &BertModel,
    sentences: &[(&str, &str)],
    path: &Path,
) -> Result<(), WriteError> {
    let specs: Vec<SentenceSpec<'_>> = sentences
        .iter()
        .map(|&(name, text)| SentenceSpec {
            name,
            text,
            showcase: Showcase::LongRange,
        })
        .collect();
    write_bundle_specs(model, &specs, path).map(|_| ())
}

/// Encodes `specs` with `model` and writes one bundle file to `path`. Returns the chosen
/// default head of each sentence, in order.
pub fn write_bundle_specs(
    model: &BertModel,
    specs: &[SentenceSpec<'_>],
    path: &Path,
) -> Result<Vec<HeadChoice>, WriteError> {
    let bytes = bundle_bytes(model, specs)?;
    std::fs::write(path, &bytes.0).map_err(|source| WriteError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(bytes.1)
}

/// The bytes of a bundle for `specs` and the chosen heads (what [`write_bundle_specs`] writes).
pub fn bundle_bytes(
    model: &BertModel,
    specs: &[SentenceSpec<'_>],
) -> Result<(Vec<u8>, Vec<HeadChoice>), WriteError> {
    if specs.is_empty() {
        return Err(WriteError::NoSentences);
    }
    let (model_id, licence) = provenance(model);
    let mut meta = HashMap::from([
        ("model".to_owned(), model_id),
        ("licence".to_owned(), licence),
        ("format_version".to_owned(), FORMAT_VERSION.to_owned()),
        ("num_sentences".to_owned(), specs.len().to_string()),
    ]);
    let mut buffers: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut choices = Vec::with_capacity(specs.len());
    let mut seen = std::collections::HashSet::new();
    for (i, spec) in specs.iter().enumerate() {
        if !seen.insert(spec.name) {
            return Err(WriteError::DuplicateName(spec.name.to_owned()));
        }
        let enc = model.encode(spec.text)?;
        let choice = choose_default_head(spec.name, &enc, spec.showcase)?;
        let (n, layers) = (enc.len(), enc.num_layers());
        let (heads, hs) = (enc.num_heads(), model.config().head_size);
        let tokens_json = serde_json::to_string(&enc.tokens).expect("strings serialize");
        meta.insert(format!("s{i}.name"), spec.name.to_owned());
        meta.insert(format!("s{i}.text"), spec.text.to_owned());
        meta.insert(format!("s{i}.tokens"), tokens_json);
        meta.insert(
            format!("s{i}.default_head"),
            format!("{},{}", choice.layer, choice.head),
        );
        meta.insert(format!("s{i}.default_reason"), choice.reason.clone());
        let qkv_shape = vec![layers, heads, n, hs];
        buffers.push((
            format!("s{i}.q"),
            qkv_shape.clone(),
            f16_bytes(enc.layers.iter().flat_map(|l| l.q.iter())),
        ));
        buffers.push((
            format!("s{i}.k"),
            qkv_shape.clone(),
            f16_bytes(enc.layers.iter().flat_map(|l| l.k.iter())),
        ));
        buffers.push((
            format!("s{i}.v"),
            qkv_shape,
            f16_bytes(enc.layers.iter().flat_map(|l| l.v.iter())),
        ));
        buffers.push((
            format!("s{i}.attention"),
            vec![layers, heads, n, n],
            f16_bytes(enc.layers.iter().flat_map(|l| l.attention.iter())),
        ));
        // The attention block's output after W_O + b_o, before the residual (issue 17).
        buffers.push((
            format!("s{i}.attention_output"),
            vec![layers, n, model.config().hidden_size],
            f16_bytes(enc.layers.iter().flat_map(|l| l.attention_output.iter())),
        ));
        choices.push(choice);
    }
    // Each layer's W_O ((heads·head_size) × hidden) and b_o, shared by every sentence, so a
    // whole layer of astrocytes can be projected where the transformer projects its heads.
    let layers = model.config().num_layers;
    let projections = (0..layers)
        .map(|l| model.output_projection(l))
        .collect::<Result<Vec<_>, _>>()?;
    let hidden = model.config().hidden_size;
    buffers.push((
        "w_o".to_owned(),
        vec![layers, projections[0].0.nrows(), hidden],
        f16_bytes(projections.iter().flat_map(|(w, _)| w.iter())),
    ));
    buffers.push((
        "b_o".to_owned(),
        vec![layers, hidden],
        f16_bytes(projections.iter().flat_map(|(_, b)| b.iter())),
    ));
    let views = buffers
        .iter()
        .map(|(name, shape, data)| {
            TensorView::new(Dtype::F16, shape.clone(), data)
                .map(|v| (name.clone(), v))
                .map_err(|e| BundleError::Corrupt(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bytes = safetensors::serialize(views, Some(meta))
        .map_err(|e| BundleError::Corrupt(e.to_string()))?;
    Ok((bytes, choices))
}

// The library's tiny-model fixture, shared rather than copied; only part of it is used here.
#[cfg(test)]
#[allow(dead_code)]
#[path = "../../src/data/bert/test_support.rs"]
mod test_support;

#[cfg(test)]
mod tests {
    use super::test_support::write_tiny_model;
    use super::*;
    use tripartite::data::bundle::Bundle;

    #[test]
    fn every_listed_sentence_is_in_the_embedded_bundle() {
        let b = Bundle::embedded().unwrap();
        for spec in BUNDLED_SENTENCES {
            let s = b.find(spec.name).expect("every listed sentence is bundled");
            assert_eq!(s.text, spec.text);
        }
    }

    #[test]
    fn write_then_parse_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_model(dir.path(), false);
        let model = BertModel::load(dir.path()).unwrap();
        let out = dir.path().join("bundle.safetensors");
        write_bundle(
            &model,
            &[
                ("one", "the cat sat on the mat."),
                ("two", "it was a happy dog"),
            ],
            &out,
        )
        .unwrap();
        let b = Bundle::parse(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(b.sentences.len(), 2);
        let s = b.find("two").unwrap();
        assert_eq!(
            s.tokens,
            ["[CLS]", "it", "was", "a", "happy", "dog", "[SEP]"]
        );
        let enc = model.encode("it was a happy dog").unwrap();
        for layer in 0..s.num_layers {
            for head in 0..s.num_heads {
                let got = s.head(layer, head).unwrap();
                let want = enc.head(layer, head).unwrap();
                for (a, b) in [(&got.q, &want.q), (&got.attention, &want.attention)] {
                    for (x, y) in a.iter().zip(b.iter()) {
                        assert!((x - y).abs() <= 1e-3 * (1.0 + y.abs()));
                    }
                }
            }
        }
        // Not MiniLM: the metadata says which model it was.
        assert_ne!(b.model, MINILM_MODEL_ID);

        let e = write_bundle(&model, &[("a", "the cat"), ("a", "the dog")], &out).unwrap_err();
        assert_eq!(
            e.to_string(),
            "sentence name \"a\" is used twice; names must be unique"
        );
        let e = write_bundle(&model, &[("a", "")], &out).unwrap_err();
        assert!(matches!(e, WriteError::Bert(BertError::EmptyText)), "{e}");
        let spec = SentenceSpec {
            name: "x",
            text: "the cat sat",
            showcase: Showcase::Link {
                from: "dog",
                to: "cat",
            },
        };
        let e = bundle_bytes(&model, &[spec]).unwrap_err().to_string();
        assert!(
            e.contains("the wordpiece \"dog\" named by its showcase is not among its tokens"),
            "{e}"
        );
    }

    #[test]
    fn showcase_scores_pick_the_right_pattern() {
        use ndarray::Array3;
        use tripartite::data::bert::LayerHeads;
        // Two heads over 5 tokens: head 0 attends to the previous token, head 1 to [SEP].
        let n = 5;
        let mut att = Array3::<f32>::zeros((2, n, n));
        for i in 0..n {
            att[[0, i, i.saturating_sub(1)]] = 1.0;
            att[[1, i, n - 1]] = 1.0;
        }
        let zeros = Array3::<f32>::zeros((2, n, 4));
        let enc = Encoding {
            tokens: ["[CLS]", "a", "b", "c", "[SEP]"].map(String::from).to_vec(),
            ids: vec![0; n],
            layers: vec![LayerHeads {
                q: zeros.clone(),
                k: zeros.clone(),
                v: zeros,
                attention: att,
                attention_output: ndarray::Array2::zeros((n, 8)),
            }],
        };
        let prev = choose_default_head("t", &enc, Showcase::PreviousToken).unwrap();
        assert_eq!((prev.layer, prev.head), (0, 0));
        assert_eq!(prev.score, 1.0);
        let sink = choose_default_head("t", &enc, Showcase::Sink).unwrap();
        assert_eq!((sink.layer, sink.head), (0, 1));
        let link = choose_default_head("t", &enc, Showcase::Link { from: "c", to: "b" }).unwrap();
        assert_eq!((link.layer, link.head), (0, 0));
        assert_eq!(link.reason, "link \"c\" → \"b\": attention weight 1.00");
    }
}
