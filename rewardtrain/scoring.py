"""Scoring (prompt, completion) items with a published reward model."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Sequence

import torch

# Batching is the reward-function client's, so Arbiter and LocalReward score alike.
from arbiter_reward.reward import check_encoding, collate, score_encodings  # noqa: F401  (training uses both)
from rewardtrain.data import encode_pair_text


def resolve_device(device: str) -> torch.device:
    """"auto" means the GPU when there is one, else the CPU."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def pairwise_accuracy(chosen: Sequence[float], rejected: Sequence[float]) -> float:
    """Share of pairs where chosen scores above rejected; a tie counts half."""
    if not chosen:
        return float("nan")
    wins = sum(1.0 if c > r else 0.5 if c == r else 0.0 for c, r in zip(chosen, rejected))
    return wins / len(chosen)


class Scorer:
    """A loaded reward model. One instance is shared by a process; a lock serialises forwards."""

    def __init__(self, model, tokenizer, metadata: dict):
        self.model = model
        self.tokenizer = tokenizer
        self.metadata = metadata
        self.version = metadata.get("version")
        encoding = metadata.get("encoding")  # checkpoints before it was recorded: the config's max_length
        self.max_length = check_encoding(encoding) if encoding else int(metadata.get("train_config", {}).get("max_length", 256))
        metrics = metadata.get("metrics", {})
        self.reward_mean = float(metrics.get("reward_mean", 0.0))  # for normalising scores
        self.reward_std = float(metrics.get("reward_std", 1.0)) or 1.0
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> "Scorer":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(path)
        meta_file = path / "arbiter.json"
        metadata = json.loads(meta_file.read_text()) if meta_file.exists() else {}
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True)
        model.to(resolve_device(device)).eval()
        return cls(model, tokenizer, metadata)

    def score(self, items: Sequence[tuple[str, str]], batch_size: int = 32, *, normalize: bool = False) -> list[float]:
        """Reward of each (prompt, completion), in input order; `normalize` gives z-scores
        against the reward mean/std measured on the held-out set at training time."""
        encodings = [encode_pair_text(self.tokenizer, p, c, self.max_length) for p, c in items]
        with self._lock:
            rewards = score_encodings(self.model, encodings, self.tokenizer.pad_token_id, batch_size)
        return [self.normalized(r) for r in rewards] if normalize else rewards

    def normalized(self, reward: float) -> float:
        return (reward - self.reward_mean) / self.reward_std
