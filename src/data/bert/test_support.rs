//! Helpers that write a tiny random BERT folder (real tokenizer.json format, random weights),
//! so loading and encoding can be tested without the MiniLM download.

use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, tensor::TensorView};

pub const VOCAB: &[&str] = &[
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", ".", ",", "it",
    "was", "happy", "dog", "##s", "a", "and",
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
    safetensors::serialize(views, Some(HashMap::from([("format".into(), "pt".into())]))).unwrap()
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
