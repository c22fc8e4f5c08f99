#!/usr/bin/env python3
"""Build small randomly initialised ALBERT and ViT models with HF transformers, and fixtures of
their activations, for the Rust readers in `tripartite::data::bert`.

Writes (relative to the crate root, all committed; CI has no torch):
    tests/fixtures/albert_tiny/   config.json, model.safetensors, tokenizer.json
    tests/fixtures/vit_tiny/      config.json, model.safetensors, preprocessor_config.json,
                                  input.png (the fixed 16x16 colour image the fixture encodes)
    tests/fixtures/albert_tiny_reference.json
    tests/fixtures/vit_tiny_reference.json

The references hold, for every layer and head, the model's own attention probabilities (eager
softmax) and the per-head query/key/value exactly as the self-attention linear layers output
them (with bias, unscaled); for the ViT also the preprocessed pixels and the classifier logits.
`tests/vision_reference.rs` compares the Rust forward pass against them.

The weights are drawn from a fixed seed with a wider spread than HF's initialiser (0.02) so the
attention is far from uniform and LayerNorm gains/biases are not 1/0: a mistake in any tensor
shows in the fixture comparison.

Usage (CPU is fine):  python3 tools/make_small_models.py
Needs: torch, transformers, tokenizers, pillow, numpy.
"""
import json
from pathlib import Path

import numpy as np
import torch
import transformers
from PIL import Image
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import AlbertConfig, AlbertForMaskedLM, ViTConfig, ViTForImageClassification, ViTImageProcessor

CRATE = Path(__file__).resolve().parent.parent
FIXTURES = CRATE / "tests" / "fixtures"
SEED = 14

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (
    "the a an astrocyte neuron synapse glia calcium wave wrapped because it needed listened "
    "fired and then they answer attention is all you need said transformer cell process "
    "slow fast signal . , ; ##s ##ed ##ing"
).split()

SENTENCES = [
    "The astrocyte wrapped the synapse because it needed calcium.",
    "Neurons fired; glia listened, and then they answer.",
]


def rounded(t, digits):
    return [[round(float(x), digits) for x in row] for row in t.tolist()]


def scramble(model, spread):
    """Random weights with a fixed seed: N(0, spread) everywhere, LayerNorm gains 1 + N(0, 0.1)."""
    gen = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            lower = name.lower()
            if name.endswith("weight") and ("layernorm" in lower or "layer_norm" in lower):
                p.copy_(1.0 + 0.1 * noise)
            else:
                p.copy_(spread * noise)


def hooks(model_layers, parts, get_module):
    captured, handles = {}, []

    def hook(key):
        def f(_m, _i, out):
            captured[key] = out.detach()[0]
        return f

    for i in model_layers:
        module = get_module(i)
        for part in parts:
            handles.append(getattr(module, part).register_forward_hook(hook((i, part))))
    return captured, handles


def heads_of(out_attentions, captured, layers, num_heads, head_size, part_names):
    result = []
    for layer in layers:
        for head in range(num_heads):
            sl = slice(head * head_size, (head + 1) * head_size)
            q, k, v = (captured[(layer, p)][:, sl] for p in part_names)
            result.append({
                "layer": layer,
                "head": head,
                "attention": rounded(out_attentions[layer][0, head], 7),
                "q": rounded(q, 6),
                "k": rounded(k, 6),
                "v": rounded(v, 6),
            })
    return result


def albert():
    out_dir = FIXTURES / "albert_tiny"
    out_dir.mkdir(parents=True, exist_ok=True)
    vocab = {t: i for i, t in enumerate(VOCAB)}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.save(str(out_dir / "tokenizer.json"))

    cfg = AlbertConfig(vocab_size=len(VOCAB), embedding_size=16, hidden_size=32, num_hidden_layers=3,
                       num_attention_heads=4, intermediate_size=64, max_position_embeddings=32,
                       hidden_act="gelu_new", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                       pad_token_id=0, bos_token_id=2, eos_token_id=3)
    torch.manual_seed(SEED)
    model = AlbertForMaskedLM(cfg).eval()
    model.config._attn_implementation = "eager"
    scramble(model, 0.3)
    model.save_pretrained(out_dir, safe_serialization=True)

    inner = model.albert
    layer = inner.encoder.albert_layer_groups[0].albert_layers[0].attention
    head_size = cfg.hidden_size // cfg.num_attention_heads
    sentences = []
    for text in SENTENCES:
        enc = tok.encode(text)
        ids = torch.tensor([enc.ids])
        # The shared layer runs num_hidden_layers times: collect each call in order.
        calls = {p: [] for p in ("query", "key", "value")}
        handles = [getattr(layer, p).register_forward_hook(
            (lambda p: lambda _m, _i, out: calls[p].append(out.detach()[0]))(p)) for p in calls]
        with torch.no_grad():
            out = inner(input_ids=ids, output_attentions=True)
        for h in handles:
            h.remove()
        captured = {(i, p): calls[p][i] for p in calls for i in range(cfg.num_hidden_layers)}
        sentences.append({
            "text": text,
            "tokens": enc.tokens,
            "heads": heads_of(out.attentions, captured, range(cfg.num_hidden_layers),
                              cfg.num_attention_heads, head_size, ("query", "key", "value")),
        })
    return {
        "model": "random ALBERT (tools/make_small_models.py)",
        "num_layers": cfg.num_hidden_layers,
        "num_heads": cfg.num_attention_heads,
        "head_size": head_size,
        "sentences": sentences,
    }


def vit():
    out_dir = FIXTURES / "vit_tiny"
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = ["circle", "square", "stripe", "dot", "blank"]
    cfg = ViTConfig(image_size=16, patch_size=4, num_channels=3, hidden_size=32, num_hidden_layers=2,
                    num_attention_heads=4, intermediate_size=64, hidden_act="gelu",
                    hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                    id2label={i: l for i, l in enumerate(labels)},
                    label2id={l: i for i, l in enumerate(labels)})
    torch.manual_seed(SEED)
    model = ViTForImageClassification(cfg).eval()
    model.config._attn_implementation = "eager"
    scramble(model, 0.3)
    model.save_pretrained(out_dir, safe_serialization=True)
    processor = ViTImageProcessor(do_resize=True, size={"height": 16, "width": 16},
                                  image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
    processor.save_pretrained(out_dir)

    rng = np.random.default_rng(SEED)
    yy, xx = np.mgrid[0:16, 0:16]
    img = np.stack([
        (xx * 16).clip(0, 255),
        (yy * 16).clip(0, 255),
        rng.integers(0, 256, size=(16, 16)),
    ], axis=-1).astype(np.uint8)
    Image.fromarray(img, "RGB").save(out_dir / "input.png")
    pil = Image.open(out_dir / "input.png")
    pixel_values = processor(images=pil, return_tensors="pt")["pixel_values"]

    # transformers 5 names the modules q_proj/k_proj/v_proj (and saves them under the classic
    # HF names); older releases call them attention.attention.query/key/value.
    if hasattr(model.vit, "layers"):
        parts, get = ("q_proj", "k_proj", "v_proj"), lambda i: model.vit.layers[i].attention
    else:
        parts, get = ("query", "key", "value"), lambda i: model.vit.encoder.layer[i].attention.attention
    captured, handles = hooks(range(cfg.num_hidden_layers), parts, get)
    with torch.no_grad():
        out = model(pixel_values=pixel_values, output_attentions=True)
    for h in handles:
        h.remove()
    head_size = cfg.hidden_size // cfg.num_attention_heads
    logits = out.logits[0]
    return {
        "model": "random ViT (tools/make_small_models.py)",
        "num_layers": cfg.num_hidden_layers,
        "num_heads": cfg.num_attention_heads,
        "head_size": head_size,
        "pixel_values": [rounded(c, 6) for c in pixel_values[0]],
        "logits": [round(float(x), 6) for x in logits],
        "predicted_class": int(logits.argmax()),
        "heads": heads_of(out.attentions, captured, range(cfg.num_hidden_layers),
                          cfg.num_attention_heads, head_size, parts),
    }


def main():
    for name, build in (("albert_tiny_reference.json", albert), ("vit_tiny_reference.json", vit)):
        doc = build()
        doc["generated_by"] = "tools/make_small_models.py"
        doc["torch_version"] = torch.__version__
        doc["transformers_version"] = transformers.__version__
        doc["note"] = "q/k/v are the self-attention linear outputs (with bias, unscaled); attention is the eager softmax"
        path = FIXTURES / name
        path.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
