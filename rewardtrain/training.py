"""Training reward models: one readable loop, no Django, two tasks.

A pairwise reward model is a sequence classifier with one output: r(prompt, completion). For
each preference pair the loss is -logsigmoid(r_chosen - r_rejected - margin_scale * margin)
(PairwiseTask). A classifier reward model has one output per label, learns with cross-entropy,
and its reward is the positive label's logit (ClassifyTask). The loop (_train) is the same.
"""

from __future__ import annotations

import math
import os
import random
import time
from array import array
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from rewardtrain.config import EVALS_PER_RUN, TrainConfig, default_base_model  # noqa: F401  (part of the trainer's API)
from rewardtrain.base_models import with_base_pooling
from rewardtrain.data import LabelledText, Pair, PromptGroup, group_pairs
from rewardtrain.lora import apply_lora, merged
from rewardtrain.scoring import (
    LAST_TOKEN,
    REWARD_HEAD,
    collate,
    encode,
    encoding_for,
    load_reward_model,
    load_tokenizer,
    pairwise_accuracy,
    recorded_pooling,
    resolve_device,
    score_logits,
    set_pad_token,
)


@dataclass
class TrainResult:
    model: torch.nn.Module
    tokenizer: object
    config: TrainConfig
    metrics: dict  # final held-out accuracy/margin/loss, train loss, pairs/s, counts, reward mean/std, device/precision used
    history: list[dict]  # one entry per evaluation: step, train_loss, heldout metrics
    head: dict  # what the outputs mean, recorded in arbiter.json: REWARD_HEAD or a classifier's labels


# What the trainer is doing, reported through `progress` as {"phase": ...} when it changes (step
# reports say "training"): loading and tokenising take tens of seconds on a real model, an
# evaluation minutes on a large project, and the run page should say so rather than nothing.
PHASE_LOADING = "loading the model"
PHASE_TOKENISING = "tokenising"
PHASE_TRAINING = "training"
PHASE_EVALUATING = "evaluating"

# How many batches' worth of prompt groups are sorted by length together. Whole-set sorting
# would give fixed batches every epoch; chunks keep some randomness while padding stays low.
BUCKET_BATCHES = 64


def load_model(path: str, device: torch.device, head: dict = REWARD_HEAD, pooling: str = "cls"):
    """Model with the head's outputs (new and random when `path` is a plain encoder), reading
    `pooling` (see arbiter_reward.reward.load_reward_model: "mean" is Arbiter's mean-pooled BERT
    type, saved so that loaders without its code refuse it), and its tokenizer: one output named
    "reward", or one per label of a classifier."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tokenizer = load_tokenizer(path, local_files_only=True)
    # The outputs named, so pipelines and the Hub widget show "reward" or the labels, not LABEL_0.
    names = head["labels"] if head["kind"] == "classifier" else ["reward"]
    settings = {"num_labels": len(names), "id2label": dict(enumerate(names)), "label2id": {name: i for i, name in enumerate(names)}}
    if pooling == LAST_TOKEN:
        # A decoder's head reads the last token that is not config.pad_token_id: saved in the
        # checkpoint's config.json, so plain transformers, TEI and vLLM read the same token.
        set_pad_token(tokenizer)
        settings["pad_token_id"] = tokenizer.pad_token_id
    model = load_reward_model(
        path,
        pooling,
        config=settings,
        cls_token_id=tokenizer.cls_token_id,
        # A folder whose head has another size (a reward model under a new classifier) gets a new head.
        ignore_mismatched_sizes=True,
        local_files_only=True,
    )
    # A checkpoint kept as base + LoRA adapter (lora_merge=False) warm-starts as plain weights.
    return merged(model).to(device), tokenizer


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
    """Freeze the embeddings and the lowest layers; their backward is skipped."""
    base = model.base_model
    if config.freeze_embeddings:
        # BERT's embeddings module (tokens, positions, segments); a decoder's token embeddings.
        (getattr(base, "embeddings", None) or base.get_input_embeddings()).requires_grad_(False)
    for layer in layer_stack(base)[: config.freeze_layers]:
        layer.requires_grad_(False)


def layer_stack(base) -> torch.nn.ModuleList:
    """The transformer layers of a base model, lowest first: BERT's encoder.layer, Qwen/Llama/
    Mistral's layers, GPT-2's h."""
    encoder = getattr(base, "encoder", None)
    for layers in (getattr(encoder, "layer", None), getattr(base, "layers", None), getattr(base, "h", None)):
        if isinstance(layers, torch.nn.ModuleList):
            return layers
    raise ValueError(f"{type(base).__name__} has no layer stack this trainer knows (encoder.layer, layers or h)")


def encode_groups(tokenizer, groups: list[PromptGroup], encoding: dict) -> list[list[dict]]:
    """Every distinct completion of every group, tokenised once for the whole run, as `encoding` says.

    Kept as int32 arrays: a Python list spends 36 bytes on a token id, an array 4.
    """
    return [
        [{k: array("i", v) for k, v in encode(tokenizer, g.prompt, c, encoding).items()} for c in g.completions]
        for g in groups
    ]


def make_batches(lengths: list[int], sizes: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Unit indices in batches of about `batch_size` examples and of similar length.

    A unit is what is encoded together: a prompt group (`sizes` = its pairs) or one labelled
    completion (size 1). Shuffle, sort chunks by length, cut into batches, shuffle the batches:
    with random batches only 53% of the computed tokens were real on HH, with bucketing 91%.
    """
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch_size * BUCKET_BATCHES
    batches = []
    for start in range(0, len(order), chunk):
        bucket = sorted(order[start : start + chunk], key=lengths.__getitem__)
        batch, n_examples = [], 0
        for unit in bucket:
            batch.append(unit)
            n_examples += sizes[unit]
            if n_examples >= batch_size:
                batches.append(batch)
                batch, n_examples = [], 0
        if batch:
            batches.append(batch)
    rng.shuffle(batches)
    return batches


def micro_batches(sizes: list[int], micro_batch_size: int) -> list[list[int]]:
    """Positions 0..len(sizes)-1 of a batch's units in consecutive runs of about
    `micro_batch_size` examples (a unit is never split); 0 = one run, the whole batch."""
    if not micro_batch_size:
        return [list(range(len(sizes)))]
    runs, run, n = [], [], 0
    for position, size in enumerate(sizes):
        run.append(position)
        n += size
        if n >= micro_batch_size:
            runs.append(run)
            run, n = [], 0
    if run:
        runs.append(run)
    return runs


def backward_in_micro_batches(task, forward, batch: list[int], device, micro_batch_size: int) -> tuple[torch.Tensor, int]:
    """Gradients of the batch's mean loss, one micro-batch's forward and backward at a time:
    each micro-batch's mean loss weighted by its share of the batch's examples, so the summed
    gradients are those of the whole batch at once (less memory, same step). Returns the
    batch's mean loss (no graph) and its examples."""
    sizes = [task.size(unit) for unit in batch]
    total = sum(sizes)
    loss_sum = torch.zeros((), device=device)
    for run in micro_batches(sizes, micro_batch_size):
        loss, n = task.loss(forward, [batch[i] for i in run], device)
        (loss * (n / total)).backward()
        loss_sum += loss.detach() * n
    return loss_sum / total, total


def pair_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor, margin: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
    """Bradley-Terry loss with a margin: the chosen reward must beat the rejected one by `margin`.

    With `smoothing` e the target is P(chosen better) = 1 - e instead of 1 (the cross-entropy
    against a soft label), so a pair the model already ranks far apart stops pulling.
    """
    d = r_chosen - r_rejected - margin
    if not smoothing:
        return -F.logsigmoid(d).mean()
    return -((1 - smoothing) * F.logsigmoid(d) + smoothing * F.logsigmoid(-d)).mean()


class PairwiseTask:
    """Preference pairs grouped by prompt (each distinct completion encoded once per step), the
    Bradley-Terry loss on the single output, pairwise accuracy."""

    unit = "pairs"
    reported = ("accuracy", "mean_margin", "loss")  # held-out figures kept in the run's final metrics

    def __init__(self, pairs: list[Pair], tokenizer, config: TrainConfig):
        self.groups = group_pairs(pairs)
        self.encoded = encode_groups(tokenizer, self.groups, encoding_for(tokenizer, config.max_length, config.pooling))
        self.pad_id, self.config = tokenizer.pad_token_id, config

    @property
    def n_examples(self) -> int:
        return sum(len(g.pairs) for g in self.groups)

    def counts(self, side: str) -> dict:
        return {f"n_{side}_pairs": self.n_examples, f"n_{side}_prompts": len(self.groups)}

    def size(self, group: int) -> int:
        """Examples (pairs) in a unit of a batch."""
        return len(self.groups[group].pairs)

    def batches(self, rng: random.Random) -> list[list[int]]:
        lengths = [max(len(e["input_ids"]) for e in group) for group in self.encoded]
        return make_batches(lengths, [len(g.pairs) for g in self.groups], self.config.batch_size, rng)

    def loss(self, forward, batch: list[int], device) -> tuple[torch.Tensor, int]:
        rows, chosen, rejected, margins = [], [], [], []
        for g in batch:
            offset = len(rows)
            rows.extend(self.encoded[g])
            for c, r, m in self.groups[g].pairs:
                chosen.append(offset + c)
                rejected.append(offset + r)
                margins.append(m)
        rewards = forward(collate(rows, self.pad_id, device))[:, 0]
        index = lambda xs: torch.tensor(xs, dtype=torch.long, device=device)  # noqa: E731
        margin = self.config.margin_scale * torch.tensor(margins, device=device)
        loss = pair_loss(rewards[index(chosen)], rewards[index(rejected)], margin, self.config.label_smoothing)
        return loss, len(chosen)

    def metrics(self, model) -> dict:
        """Pairwise accuracy, mean margin and loss, plus reward mean/std over the distinct completions."""
        flat = [e for group in self.encoded for e in group]
        if not flat:
            return {"n_pairs": 0}
        rewards = _scores(model, flat, self.pad_id, self.config)
        chosen, rejected, margins, offset = [], [], [], 0
        for group in self.groups:
            for c, r, m in group.pairs:
                chosen.append(rewards[offset + c])
                rejected.append(rewards[offset + r])
                margins.append(self.config.margin_scale * m)
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


class ClassifyTask:
    """Completions labelled with one of K labels, cross-entropy over the K outputs, accuracy
    and per-label F1. The reward is the positive label's logit."""

    unit = "items"
    reported = ("accuracy", "loss", "macro_f1", "per_label_f1")

    def __init__(self, items: list[LabelledText], tokenizer, config: TrainConfig, *, labels: list[str], positive: str):
        self.items, self.labels, self.positive = items, labels, labels.index(positive)
        encoding = encoding_for(tokenizer, config.max_length, config.pooling)
        self.encoded = [
            {k: array("i", v) for k, v in encode(tokenizer, i.prompt, i.completion, encoding).items()}
            for i in items
        ]
        self.targets = [i.label for i in items]
        self.pad_id, self.config = tokenizer.pad_token_id, config

    @property
    def n_examples(self) -> int:
        return len(self.items)

    def counts(self, side: str) -> dict:
        return {f"n_{side}_items": len(self.items), f"n_{side}_prompts": len({i.prompt for i in self.items})}

    def size(self, item: int) -> int:
        return 1

    def batches(self, rng: random.Random) -> list[list[int]]:
        lengths = [len(e["input_ids"]) for e in self.encoded]
        return make_batches(lengths, [1] * len(lengths), self.config.batch_size, rng)

    def loss(self, forward, batch: list[int], device) -> tuple[torch.Tensor, int]:
        logits = forward(collate([self.encoded[i] for i in batch], self.pad_id, device))
        targets = torch.tensor([self.targets[i] for i in batch], dtype=torch.long, device=device)
        return F.cross_entropy(logits, targets), len(batch)

    def metrics(self, model) -> dict:
        """Accuracy, cross-entropy, macro and per-label F1, and the reward's (positive logit's) mean/std."""
        if not self.items:
            return {"n_items": 0}
        logits = torch.tensor(_logits(model, self.encoded, self.pad_id, self.config))
        targets = torch.tensor(self.targets)
        predicted = logits.argmax(dim=1)
        f1 = classification_f1(predicted.tolist(), self.targets, len(self.labels))
        reward = logits[:, self.positive]
        return {
            "accuracy": (predicted == targets).float().mean().item(),
            "loss": F.cross_entropy(logits, targets).item(),
            "macro_f1": sum(f1) / len(f1),
            "per_label_f1": dict(zip(self.labels, f1)),
            "n_items": len(self.items),
            "reward_mean": reward.mean().item(),
            "reward_std": reward.std(unbiased=False).item(),
        }


def classification_f1(predicted: list[int], targets: list[int], n_labels: int) -> list[float]:
    """F1 of each label (0 for a label never predicted nor present: nothing was got right)."""
    scores = []
    for label in range(n_labels):
        tp = sum(1 for p, t in zip(predicted, targets) if p == t == label)
        fp = sum(1 for p, t in zip(predicted, targets) if p == label != t)
        fn = sum(1 for p, t in zip(predicted, targets) if t == label != p)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return scores


def _logits(model, encodings, pad_id: int, config: TrainConfig) -> list[list[float]]:
    was_training = model.training
    model.eval()
    logits = score_logits(model, encodings, pad_id, batch_size=2 * config.batch_size)
    model.train(was_training)
    return logits


def _scores(model, encodings, pad_id: int, config: TrainConfig) -> list[float]:
    return [row[0] for row in _logits(model, encodings, pad_id, config)]


def get_lr(step: int, total: int, config: TrainConfig) -> float:
    """Linear warmup over warmup_ratio of the steps, then linear decay to zero."""
    warmup = math.ceil(config.warmup_ratio * total)
    if step < warmup:
        return config.learning_rate * (step + 1) / warmup
    return config.learning_rate * max(0.0, (total - step) / max(1, total - warmup))


def evaluate(model, tokenizer, pairs: list[Pair], config: TrainConfig) -> dict:
    """Held-out metrics of a model on `pairs` (no gradients)."""
    return PairwiseTask(pairs, tokenizer, config).metrics(model)


def evaluate_checkpoint(path: str | Path, pairs: list[Pair], config: TrainConfig | None = None) -> dict:
    """Metrics of a saved checkpoint, e.g. the published version on a new run's held-out pairs."""
    from rewardtrain.checkpoints import read_metadata

    metadata = read_metadata(path)
    if config is None:
        config = TrainConfig.from_dict(metadata.get("train_config", {}))
    torch.set_num_threads(config.threads)
    # The pooling it was trained with, whatever `config` says (a checkpoint before pooling was recorded: [CLS]).
    pooling = recorded_pooling(metadata.get("encoding"))
    model, tokenizer = load_model(str(path), resolve_device(config.device), pooling=pooling)
    return evaluate(model, tokenizer, pairs, replace(config, pooling=pooling))  # encoded as it reads


def train(
    train_pairs: list[Pair],
    heldout_pairs: list[Pair],
    config: TrainConfig,
    *,
    init_from: str | None = None,
    progress: Callable[[dict], None] | None = None,
    parallel=None,
) -> TrainResult:
    """Train a pairwise reward model; `progress` is called after every step and at every change of
    phase (PHASE_*), and may raise to abort. `parallel` (parallel.Ranks) under torchrun: each
    global batch is split across the ranks."""
    config = with_base_pooling(config, init_from)  # a decoder LM reads its last token
    return _train(
        lambda tokenizer: (PairwiseTask(train_pairs, tokenizer, config), PairwiseTask(heldout_pairs, tokenizer, config)),
        config,
        head=REWARD_HEAD,
        init_from=init_from,
        progress=progress,
        parallel=parallel,
    )


def train_classifier(
    train_items: list[LabelledText],
    heldout_items: list[LabelledText],
    config: TrainConfig,
    *,
    labels: list[str],
    positive: str,
    init_from: str | None = None,
    progress: Callable[[dict], None] | None = None,
    parallel=None,
) -> TrainResult:
    """Train a K-label classifier whose reward is the `positive` label's logit; the same loop as `train`."""
    config = with_base_pooling(config, init_from)  # a decoder LM reads its last token

    def tasks(tokenizer):
        make = lambda items: ClassifyTask(items, tokenizer, config, labels=labels, positive=positive)  # noqa: E731
        return make(train_items), make(heldout_items)

    head = {"kind": "classifier", "labels": list(labels), "positive": positive}
    return _train(tasks, config, head=head, init_from=init_from, progress=progress, parallel=parallel)


def _train(make_tasks, config: TrainConfig, *, head: dict, init_from, progress, parallel=None) -> TrainResult:
    """The one training loop: `make_tasks(tokenizer)` gives the (train, held-out) tasks, which
    say how a batch is built, what its loss is and what a held-out evaluation measures."""

    def report_phase(phase):
        if progress:
            progress({"phase": phase})

    torch.manual_seed(config.seed)  # before loading: seeds the new head
    torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    report_phase(PHASE_LOADING)
    base = str(init_from or config.base_model or default_base_model())
    model, tokenizer = load_model(base, device, head=head, pooling=config.pooling)
    set_dropout(model, config.dropout)
    config.check_for_model(model.config.to_dict())  # max_length within the model's positions
    if not config.lora_r:
        freeze(model, config)
    if config.activation_checkpointing:
        # Non-reentrant: the frozen layers below hand the first trained layer inputs without grad.
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if config.lora_r:
        model = apply_lora(model, config)  # after set_dropout: the adapters keep lora_dropout
    use_bf16 = (config.bf16 and device.type == "cuda" and torch.cuda.is_bf16_supported()) or (
        config.bf16_cpu and device.type == "cpu"
    )
    # config.bf16 and device are wishes ("auto", bf16 that CPUs skip); the card says what ran.
    used = {"device": device_name(device), "precision": "bf16 autocast" if use_bf16 else "fp32"}
    if parallel:
        used["processes"] = parallel.world
    # Under torchrun the steps run through DDP, which averages the gradients over the ranks.
    stepped = parallel.wrap(model) if parallel else model

    def forward(inputs):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            return stepped(**inputs).logits.float()

    report_phase(PHASE_TOKENISING)
    started = time.perf_counter()
    task, held = make_tasks(tokenizer)
    rng = random.Random(config.seed)
    schedule = [task.batches(rng) for _ in range(config.epochs)]
    total = sum(len(batches) for batches in schedule)
    eval_every = config.eval_every or max(1, math.ceil(total / EVALS_PER_RUN))
    speed = f"{task.unit}_per_s"

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
        if held.n_examples and (not parallel or parallel.leads):  # the other ranks' results are not read
            heldout = held.metrics(model)
            # Numbers only: the run page charts every entry (per-label F1 is in the final metrics).
            entry.update({f"heldout_{k}": v for k, v in heldout.items() if isinstance(v, (int, float))})
            final_heldout.update(heldout)
        history.append(entry)
        return entry

    model.train()
    history: list[dict] = []
    final_heldout: dict = {}
    step, done, eval_seconds = 0, 0, 0.0
    loss_sum, loss_n, all_loss_sum = 0.0, 0, 0.0
    for epoch_batches in schedule:
        for batch in epoch_batches:
            for group in optimizer.param_groups:
                group["lr"] = get_lr(step, total, config)
            if parallel:  # this rank's share of the global batch
                loss, n = parallel.backward(task, forward, batch, device, config.micro_batch_size)
            else:
                loss, n = backward_in_micro_batches(task, forward, batch, device, config.micro_batch_size)
            torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

            step += 1
            done += n
            loss_sum += loss.item() * n
            all_loss_sum += loss.item() * n
            loss_n += n
            report = {
                "phase": PHASE_TRAINING,
                "step": step,
                "total": total,
                "loss": loss.item(),
                speed: done / (time.perf_counter() - started - eval_seconds),
            }
            if step % eval_every == 0 or step == total:
                report_phase(PHASE_EVALUATING)
                eval_started = time.perf_counter()
                report["eval"] = run_eval(step, loss_sum / loss_n)
                loss_sum, loss_n = 0.0, 0
                eval_seconds += time.perf_counter() - eval_started
            if progress:
                progress(report)
    train_seconds = time.perf_counter() - started - eval_seconds

    metrics = {
        **{f"heldout_{k}": final_heldout.get(k) for k in task.reported},
        "train_loss": all_loss_sum / done if done else None,
        speed: done / train_seconds if train_seconds > 0 else None,
        "train_seconds": train_seconds,
        "steps": step,
        **task.counts("train"),
        **held.counts("heldout"),
        "reward_mean": final_heldout.get("reward_mean"),
        "reward_std": final_heldout.get("reward_std"),
        **used,
    }
    if device.type == "cuda":  # this process's GPU: rank 0's under torchrun
        metrics["peak_gpu_memory_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    if not held.n_examples and task.n_examples:  # no held-out set: normalise scores by the training completions
        report_phase(PHASE_EVALUATING)
        train_stats = task.metrics(model)
        metrics["reward_mean"], metrics["reward_std"] = train_stats["reward_mean"], train_stats["reward_std"]
    if config.lora_merge:  # published as plain weights: loaders need no peft
        model = merged(model)
    model.eval()
    return TrainResult(model, tokenizer, config, metrics, history, head)
