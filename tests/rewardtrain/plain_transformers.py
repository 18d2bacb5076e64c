"""What an RL engineer writes from a checkpoint's model card, with transformers alone: the saved
tokenizer, a text pair, truncation="only_first" at the recorded max_length, and the head on what
the recorded pooling says (the mean of the token states, or the model called as is for [CLS])."""

import json
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer


def plain_logits(folder, items) -> list[list[float]]:
    """Every output of each (prompt, completion), one item at a time (no padding)."""
    encoding = json.loads((Path(folder) / "arbiter.json").read_text())["encoding"]
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    # A mean-pooled checkpoint loads only with its own modeling_arbiter.py (trust_remote_code);
    # the mean is taken here by hand, so the check does not rest on that file.
    model = AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True).eval()
    rows = []
    with torch.inference_mode():
        for prompt, completion in items:
            inputs = tokenizer(prompt, completion, truncation="only_first", max_length=encoding["max_length"], return_tensors="pt")
            if encoding.get("pooling", "cls") == "mean":
                logits = model.classifier(model.base_model(**inputs).last_hidden_state.mean(1))
            else:
                logits = model(**inputs).logits
            rows.append(logits[0].tolist())
    return rows


def plain_rewards(folder, items, column: int = 0) -> list[float]:
    return [row[column] for row in plain_logits(folder, items)]
