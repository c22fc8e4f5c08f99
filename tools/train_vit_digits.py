#!/usr/bin/env python3
"""Train the small vision transformer that ships with tripartite, on scikit-learn's bundled
8x8 handwritten digits (UCI Optical Recognition of Handwritten Digits, CC BY 4.0).

The model is an HF `ViTForImageClassification`: 8x8 grayscale images, 2x2 patches (16 patch
tokens plus CLS), hidden size 64, 4 heads, 4 layers. Pixels follow the HF ViT image processor
saved beside it: the dataset's 0..16 ink values are stored as 8-bit gray, round(v * 255 / 16)
(ink bright, background black), then rescaled by 1/255 and normalised with mean 0.5, std 0.5.

The split is fixed (scikit-learn train_test_split, test_size=0.2, stratified, random_state=0),
and so is the seed, so a rerun gives the same model on the same torch build.

Writes (relative to the crate root):
    assets/digits_vit/config.json, model.safetensors, preprocessor_config.json, training.json
    assets/digits_heldout.json           48 held-out digits the app offers (digits:INDEX)
    tests/fixtures/digits_test_set.json  the whole held-out set, with the model's predictions

Usage:  python3 tools/train_vit_digits.py      (torch on CPU; a few minutes)
Needs: torch, transformers, scikit-learn, numpy.
"""
import json
import time
from pathlib import Path

import numpy as np
import torch
import transformers
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

CRATE = Path(__file__).resolve().parent.parent
OUT = CRATE / "assets" / "digits_vit"
SEED = 0
EPOCHS = 250
BUNDLED = 48


def to_gray8(x):
    """The dataset's 0..16 values as 8-bit gray."""
    return np.rint(x * 255.0 / 16.0).astype(np.uint8)


def model_input(gray8):
    """What the saved image processor does: /255, then (x - 0.5) / 0.5."""
    x = gray8.astype(np.float32) / 255.0
    return torch.from_numpy((x - 0.5) / 0.5).reshape(-1, 1, 8, 8)


def shifted(batch, gen):
    """Random shifts of up to one pixel (zero fill = background), a light augmentation."""
    out = torch.full_like(batch, -1.0)
    dy, dx = (int(v) for v in torch.randint(-1, 2, (2,), generator=gen))
    src = batch[:, :, max(0, -dy):8 - max(0, dy), max(0, -dx):8 - max(0, dx)]
    out[:, :, max(0, dy):max(0, dy) + src.shape[2], max(0, dx):max(0, dx) + src.shape[3]] = src
    return out


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(SEED)
    digits = load_digits()
    indices = np.arange(len(digits.target))
    train_idx, test_idx = train_test_split(indices, test_size=0.2, random_state=0,
                                           stratify=digits.target)
    gray = to_gray8(digits.data)
    x_train, y_train = model_input(gray[train_idx]), torch.from_numpy(digits.target[train_idx])
    x_test, y_test = model_input(gray[test_idx]), torch.from_numpy(digits.target[test_idx])

    labels = [str(d) for d in range(10)]
    cfg = ViTConfig(image_size=8, patch_size=2, num_channels=1, hidden_size=64, num_hidden_layers=4,
                    num_attention_heads=4, intermediate_size=128, hidden_act="gelu",
                    hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.0,
                    id2label={i: l for i, l in enumerate(labels)},
                    label2id={l: i for i, l in enumerate(labels)})
    model = ViTForImageClassification(cfg)
    model.config._attn_implementation = "eager"
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    steps_per_epoch = (len(x_train) + 63) // 64
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=EPOCHS * steps_per_epoch)
    start = time.time()
    for epoch in range(EPOCHS):
        model.train()
        order = torch.randperm(len(x_train), generator=gen)
        for b in range(steps_per_epoch):
            idx = order[b * 64:(b + 1) * 64]
            logits = model(pixel_values=shifted(x_train[idx], gen)).logits
            loss = torch.nn.functional.cross_entropy(logits, y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        if epoch % 25 == 24 or epoch == EPOCHS - 1:
            model.eval()
            with torch.no_grad():
                acc = (model(pixel_values=x_test).logits.argmax(-1) == y_test).float().mean().item()
            print(f"epoch {epoch + 1}: loss {loss.item():.4f}, held-out accuracy {acc:.4f} "
                  f"({time.time() - start:.0f} s)")

    model.eval()
    with torch.no_grad():
        logits = model(pixel_values=x_test).logits
    predicted = logits.argmax(-1).numpy()
    accuracy = float((predicted == digits.target[test_idx]).mean())
    if accuracy < 0.95:
        raise SystemExit(f"held-out accuracy {accuracy:.4f} is below 0.95; not writing the model")

    OUT.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(OUT, safe_serialization=True)
    ViTImageProcessor(do_resize=False, do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
                      image_mean=[0.5], image_std=[0.5]).save_pretrained(OUT)
    (OUT / "training.json").write_text(json.dumps({
        "data": "scikit-learn load_digits (UCI Optical Recognition of Handwritten Digits, CC BY 4.0)",
        "split": "train_test_split(test_size=0.2, stratify=target, random_state=0)",
        "train_size": int(len(train_idx)),
        "held_out_size": int(len(test_idx)),
        "held_out_correct": int((predicted == digits.target[test_idx]).sum()),
        "held_out_accuracy": round(accuracy, 6),
        "epochs": EPOCHS,
        "seed": SEED,
        "training_seconds": round(time.time() - start, 1),
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "generated_by": "tools/train_vit_digits.py",
    }, indent=2) + "\n")

    def record(i):
        j = int(test_idx[i])
        return {"sklearn_index": j, "label": int(digits.target[j]), "predicted": int(predicted[i]),
                "pixels": [int(p) for p in gray[j]]}

    bundled = [record(i) for i in range(BUNDLED)]
    (CRATE / "assets" / "digits_heldout.json").write_text(json.dumps({
        "about": "Held-out handwritten digits (8x8, 8-bit gray, ink bright) from scikit-learn's "
                 "load_digits: UCI Optical Recognition of Handwritten Digits, CC BY 4.0 "
                 "(see assets/digits_vit/NOTICE). Never seen in training.",
        "width": 8, "height": 8,
        "digits": bundled,
    }, separators=(",", ":")) + "\n")
    everything = [record(i) for i in range(len(test_idx))]
    (CRATE / "tests" / "fixtures" / "digits_test_set.json").write_text(json.dumps({
        "held_out_accuracy": round(accuracy, 6),
        "logits_first": [round(float(x), 6) for x in logits[0]],
        "digits": everything,
    }, separators=(",", ":")) + "\n")
    size = (OUT / "model.safetensors").stat().st_size
    print(f"held-out accuracy {accuracy:.4f} on {len(test_idx)} digits; model.safetensors {size} bytes")


if __name__ == "__main__":
    main()
