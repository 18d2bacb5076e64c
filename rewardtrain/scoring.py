"""Scoring (prompt, completion) items with a published reward model."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Sequence

import torch

# Batching is the reward-function client's, so Arbiter and LocalReward score alike.
from arbiter_reward.reward import (  # noqa: F401  (training uses collate, score_logits, REWARD_HEAD, the loader and encoding)
    LAST_TOKEN,
    REWARD_HEAD,
    check_encoding,
    collate,
    encode,
    encoding_for,
    load_reward_model,
    load_tokenizer,
    recorded_pooling,
    reward_column,
    score_encodings,
    score_logits,
    set_pad_token,
)


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
        # Checkpoints before it was recorded, and a just-trained model (the gate's): what its
        # train_config and tokenizer give ([CLS] pooling for a config that names none).
        train_config = metadata.get("train_config", {})
        self.encoding = metadata.get("encoding") or encoding_for(
            tokenizer, int(train_config.get("max_length", 256)), train_config.get("pooling", "cls")
        )
        self.max_length = check_encoding(self.encoding)
        self.head = metadata.get("head") or REWARD_HEAD
        self.column = reward_column(self.head)  # a classifier's reward is its positive label's logit
        self.labels = self.head.get("labels")  # None for a pairwise reward model
        metrics = metadata.get("metrics", {})
        self.reward_mean = float(metrics.get("reward_mean", 0.0))  # for normalising scores
        self.reward_std = float(metrics.get("reward_std", 1.0)) or 1.0
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> "Scorer":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        path = Path(path)
        meta_file = path / "arbiter.json"
        metadata = json.loads(meta_file.read_text()) if meta_file.exists() else {}
        tokenizer = load_tokenizer(path, local_files_only=True)
        # The packaged model classes: the server never runs the checkpoint's modeling_arbiter.py.
        model = load_reward_model(path, recorded_pooling(metadata.get("encoding")), local_files_only=True)
        model.to(resolve_device(device)).eval()
        return cls(model, tokenizer, metadata)

    def score(self, items: Sequence[tuple[str, str]], batch_size: int = 32, *, normalize: bool = False) -> list[float]:
        """Reward of each (prompt, completion), in input order; `normalize` gives z-scores
        against the reward mean/std measured on the held-out set at training time."""
        rewards = [row[self.column] for row in self.logits(items, batch_size)]
        return [self.normalized(r) for r in rewards] if normalize else rewards

    def logits(self, items: Sequence[tuple[str, str]], batch_size: int = 32) -> list[list[float]]:
        """Every output of each (prompt, completion), in input order."""
        encodings = [encode(self.tokenizer, p, c, self.encoding) for p, c in items]
        with self._lock:
            return score_logits(self.model, encodings, self.tokenizer.pad_token_id, batch_size)

    def score_with_probabilities(self, items, batch_size: int = 32, *, normalize: bool = False):
        """(rewards, probabilities): for a classifier, each item's softmax over its labels, by
        label name, beside the reward; for a pairwise model the probabilities are None."""
        logits = self.logits(items, batch_size)
        rewards = [row[self.column] for row in logits]
        if normalize:
            rewards = [self.normalized(r) for r in rewards]
        if not self.labels:
            return rewards, None
        probabilities = torch.tensor(logits).softmax(dim=1).tolist() if logits else []
        return rewards, [dict(zip(self.labels, row)) for row in probabilities]

    def normalized(self, reward: float) -> float:
        return (reward - self.reward_mean) / self.reward_std
