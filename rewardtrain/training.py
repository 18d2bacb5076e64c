"""Training a pairwise (Bradley-Terry) reward model: one readable loop, no Django.

A reward model is a sequence classifier with one output: r(prompt, completion). For each
preference pair the loss is -logsigmoid(r_chosen - r_rejected - margin_scale * margin).
"""

from __future__ import annotations

import math
import os
import random
import time
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from rewardtrain.config import EVALS_PER_RUN, TrainConfig, default_base_model  # noqa: F401  (part of the trainer's API)
from rewardtrain.data import Pair, PromptGroup, encode_pair_text, group_pairs
from rewardtrain.scoring import collate, pairwise_accuracy, resolve_device, score_encodings


@dataclass
class TrainResult:
    model: torch.nn.Module
    tokenizer: object
    config: TrainConfig
    metrics: dict  # final held-out accuracy/margin/loss, train loss, pairs/s, counts, reward mean/std, device/precision used
    history: list[dict]  # one entry per evaluation: step, train_loss, heldout metrics


# How many batches' worth of prompt groups are sorted by length together. Whole-set sorting
# would give fixed batches every epoch; chunks keep some randomness while padding stays low.
BUCKET_BATCHES = 64


def load_model(path: str, device: torch.device):
    """Model with a single-output head (new and random when `path` is a plain encoder) and its tokenizer."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    # The one output named, so pipelines and the Hub widget show "reward", not LABEL_0.
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=1, id2label={0: "reward"}, label2id={"reward": 0}, local_files_only=True
    )
    return model.to(device), tokenizer


def device_name(device: torch.device) -> str:
    """"cpu", or the GPU with its index and name, e.g. "cuda:0 (NVIDIA H200)"."""
    if device.type != "cuda":
        return device.type
    index = device.index if device.index is not None else torch.cuda.current_device()
    return f"cuda:{index} ({torch.cuda.get_device_name(index)})"


def set_dropout(model, p: float) -> None:
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = p


def freeze(model, config: TrainConfig) -> None:
    """Freeze the embeddings and the lowest layers (BERT-style models); their backward is skipped."""
    base = model.base_model
    if config.freeze_embeddings:
        base.embeddings.requires_grad_(False)
    for layer in base.encoder.layer[: config.freeze_layers]:
        layer.requires_grad_(False)


def encode_groups(tokenizer, groups: list[PromptGroup], max_length: int) -> list[list[dict]]:
    """Every distinct completion of every group, tokenised once for the whole run.

    Kept as int32 arrays: a Python list spends 36 bytes on a token id, an array 4.
    """
    return [
        [{k: array("i", v) for k, v in encode_pair_text(tokenizer, g.prompt, c, max_length).items()} for c in g.completions]
        for g in groups
    ]


def make_batches(encoded: list[list[dict]], groups: list[PromptGroup], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Group indices in batches of about `batch_size` pairs and of similar length.

    Shuffle, sort chunks by length, cut into batches, shuffle the batches: with random batches
    only 53% of the computed tokens were real on HH, with bucketing 91%.
    """
    order = list(range(len(groups)))
    rng.shuffle(order)
    chunk = batch_size * BUCKET_BATCHES
    batches = []
    for start in range(0, len(order), chunk):
        bucket = sorted(order[start : start + chunk], key=lambda g: max(len(e["input_ids"]) for e in encoded[g]))
        batch, n_pairs = [], 0
        for g in bucket:
            batch.append(g)
            n_pairs += len(groups[g].pairs)
            if n_pairs >= batch_size:
                batches.append(batch)
                batch, n_pairs = [], 0
        if batch:
            batches.append(batch)
    rng.shuffle(batches)
    return batches


def batch_tensors(batch: list[int], encoded, groups, pad_token_id: int, device):
    """Inputs for every distinct completion in the batch, and each pair's (chosen, rejected, margin)."""
    rows, chosen, rejected, margins = [], [], [], []
    for g in batch:
        offset = len(rows)
        rows.extend(encoded[g])
        for c, r, m in groups[g].pairs:
            chosen.append(offset + c)
            rejected.append(offset + r)
            margins.append(m)
    inputs = collate(rows, pad_token_id, device)
    index = lambda xs: torch.tensor(xs, dtype=torch.long, device=device)  # noqa: E731
    return inputs, index(chosen), index(rejected), torch.tensor(margins, device=device)


def pair_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor, margin: torch.Tensor) -> torch.Tensor:
    """Bradley-Terry loss with a margin: the chosen reward must beat the rejected one by `margin`."""
    return -F.logsigmoid(r_chosen - r_rejected - margin).mean()


def get_lr(step: int, total: int, config: TrainConfig) -> float:
    """Linear warmup over warmup_ratio of the steps, then linear decay to zero."""
    warmup = math.ceil(config.warmup_ratio * total)
    if step < warmup:
        return config.learning_rate * (step + 1) / warmup
    return config.learning_rate * max(0.0, (total - step) / max(1, total - warmup))


def metrics_from_encoded(model, groups, encoded, pad_token_id: int, config: TrainConfig) -> dict:
    """Pairwise accuracy, mean margin and loss, plus reward mean/std over the distinct completions."""
    flat = [e for group in encoded for e in group]
    if not flat:
        return {"n_pairs": 0}
    was_training = model.training
    model.eval()
    rewards = score_encodings(model, flat, pad_token_id, batch_size=2 * config.batch_size)
    model.train(was_training)
    chosen, rejected, margins, offset = [], [], [], 0
    for group in groups:
        for c, r, m in group.pairs:
            chosen.append(rewards[offset + c])
            rejected.append(rewards[offset + r])
            margins.append(config.margin_scale * m)
        offset += len(group.completions)
    rc, rr, rm, all_rewards = (torch.tensor(x) for x in (chosen, rejected, margins, rewards))
    return {
        "accuracy": pairwise_accuracy(chosen, rejected),
        "mean_margin": (rc - rr).mean().item(),
        "loss": pair_loss(rc, rr, rm).item(),
        "n_pairs": len(chosen),
        "reward_mean": all_rewards.mean().item(),
        "reward_std": all_rewards.std(unbiased=False).item(),
    }


def evaluate(model, tokenizer, pairs: list[Pair], config: TrainConfig) -> dict:
    """Held-out metrics of a model on `pairs` (no gradients)."""
    groups = group_pairs(pairs)
    encoded = encode_groups(tokenizer, groups, config.max_length)
    return metrics_from_encoded(model, groups, encoded, tokenizer.pad_token_id, config)


def evaluate_checkpoint(path: str | Path, pairs: list[Pair], config: TrainConfig | None = None) -> dict:
    """Metrics of a saved checkpoint, e.g. the published version on a new run's held-out pairs."""
    from rewardtrain.checkpoints import read_metadata

    if config is None:
        config = TrainConfig.from_dict(read_metadata(path).get("train_config", {}))
    torch.set_num_threads(config.threads)
    model, tokenizer = load_model(str(path), resolve_device(config.device))
    return evaluate(model, tokenizer, pairs, config)


def train(
    train_pairs: list[Pair],
    heldout_pairs: list[Pair],
    config: TrainConfig,
    *,
    init_from: str | None = None,
    progress: Callable[[dict], None] | None = None,
) -> TrainResult:
    """Train a reward model; `progress` is called after every step and may raise to abort."""
    torch.manual_seed(config.seed)  # before loading: seeds the new head
    torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    model, tokenizer = load_model(str(init_from or config.base_model or default_base_model()), device)
    set_dropout(model, config.dropout)
    freeze(model, config)
    if config.activation_checkpointing:
        # Non-reentrant: the frozen layers below hand the first trained layer inputs without grad.
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    pad_id = tokenizer.pad_token_id
    use_bf16 = config.bf16 and device.type == "cuda" and torch.cuda.is_bf16_supported()
    # config.bf16 and device are wishes ("auto", bf16 that CPUs skip); the card says what ran.
    used = {"device": device_name(device), "precision": "bf16 autocast" if use_bf16 else "fp32"}

    started = time.perf_counter()
    groups, held_groups = group_pairs(train_pairs), group_pairs(heldout_pairs)
    encoded = encode_groups(tokenizer, groups, config.max_length)
    held_encoded = encode_groups(tokenizer, held_groups, config.max_length)
    rng = random.Random(config.seed)
    schedule = [make_batches(encoded, groups, config.batch_size, rng) for _ in range(config.epochs)]
    total = sum(len(batches) for batches in schedule)
    eval_every = config.eval_every or max(1, math.ceil(total / EVALS_PER_RUN))

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": [p for p in trainable if p.dim() >= 2], "weight_decay": config.weight_decay},
            {"params": [p for p in trainable if p.dim() < 2], "weight_decay": 0.0},
        ],
        lr=config.learning_rate,
    )

    def run_eval(step: int, train_loss: float) -> dict:
        entry = {"step": step, "train_loss": train_loss}
        if held_groups:
            heldout = metrics_from_encoded(model, held_groups, held_encoded, pad_id, config)
            entry.update({f"heldout_{k}": v for k, v in heldout.items()})
        history.append(entry)
        return entry

    model.train()
    history: list[dict] = []
    step, pairs_done, eval_seconds = 0, 0, 0.0
    loss_sum, loss_n, all_loss_sum = 0.0, 0, 0.0
    for epoch_batches in schedule:
        for batch in epoch_batches:
            for group in optimizer.param_groups:
                group["lr"] = get_lr(step, total, config)
            inputs, chosen, rejected, margins = batch_tensors(batch, encoded, groups, pad_id, device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
                rewards = model(**inputs).logits[:, 0].float()
            loss = pair_loss(rewards[chosen], rewards[rejected], config.margin_scale * margins)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

            step += 1
            pairs_done += len(chosen)
            loss_sum += loss.item() * len(chosen)
            all_loss_sum += loss.item() * len(chosen)
            loss_n += len(chosen)
            report = {
                "step": step,
                "total": total,
                "loss": loss.item(),
                "pairs_per_s": pairs_done / (time.perf_counter() - started - eval_seconds),
            }
            if step % eval_every == 0 or step == total:
                eval_started = time.perf_counter()
                report["eval"] = run_eval(step, loss_sum / loss_n)
                loss_sum, loss_n = 0.0, 0
                eval_seconds += time.perf_counter() - eval_started
            if progress:
                progress(report)
    train_seconds = time.perf_counter() - started - eval_seconds

    final = history[-1] if history else {}
    metrics = {
        "heldout_accuracy": final.get("heldout_accuracy"),
        "heldout_mean_margin": final.get("heldout_mean_margin"),
        "heldout_loss": final.get("heldout_loss"),
        "train_loss": all_loss_sum / pairs_done if pairs_done else None,
        "pairs_per_s": pairs_done / train_seconds if train_seconds > 0 else None,
        "train_seconds": train_seconds,
        "steps": step,
        "n_train_pairs": sum(len(g.pairs) for g in groups),
        "n_heldout_pairs": sum(len(g.pairs) for g in held_groups),
        "n_train_prompts": len(groups),
        "n_heldout_prompts": len(held_groups),
        "reward_mean": final.get("heldout_reward_mean"),
        "reward_std": final.get("heldout_reward_std"),
        **used,
    }
    if not held_groups and groups:  # no held-out set: normalise scores by the training completions
        train_stats = metrics_from_encoded(model, groups, encoded, pad_id, config)
        metrics["reward_mean"], metrics["reward_std"] = train_stats["reward_mean"], train_stats["reward_std"]
    model.eval()
    return TrainResult(model, tokenizer, config, metrics, history)
