"""Reward-model quality: Arbiter's trainer under named variants against a plain PyTorch loop.

    python bench/quality.py ../shared/data/hh-harmless-1800.jsonl --train 0:1300 --eval 1300:1800 \\
        --seeds 0,1,2 --variants default,plain,nofreeze,nowarm_wd0,single,toward_plain --threads 2
    python bench/quality.py ../shared/data/hh-harmless-1800.jsonl --variants single+nowarm_wd0+mean
    python bench/quality.py --table /tmp/quality-runs.jsonl      # the table again, from the raw runs

Each run (one variant, one seed) trains in its own subprocess, so its peak RSS is its own; its
result is appended as one JSON line to --runs and a line to --log as soon as it ends, so a long
sweep loses nothing when stopped. The table: mean and s.d. (n-1) of held-out accuracy over the
seeds, training pairs/s (wall, tokenising + training, no evaluation: Arbiter's own figure),
pairs per CPU-second (all threads, model load + tokenising + training: how bench/README.md
measured TRL's 1.28) and peak RSS.

Arbiter variants are TrainConfig overrides (`pooling`: the mean of the last hidden states, the
default, or BERT's [CLS] pooler), plus two bench-only switches applied inside the worker by
patching rewardtrain.training's module globals (nothing in rewardtrain/ changes): `encoding`
(text pair as Arbiter encodes, single segment as the plain loop does, or text pair with half of
max_length reserved for the prompt) and `bucket_batches` (1 = random batches). Join names with
"+" to combine them, e.g. "nofreeze+single". "plain" is the issue's loop, written out below.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# name -> TrainConfig overrides and bench switches (encoding, bucket_batches)
VARIANTS = {
    "default": {},
    "nofreeze": {"freeze_embeddings": False, "freeze_layers": 0},
    "freeze_emb": {"freeze_embeddings": True, "freeze_layers": 0},
    "freeze1": {"freeze_embeddings": True, "freeze_layers": 1},
    "nowarm_wd0": {"warmup_ratio": 0.0, "weight_decay": 0.0},
    "nowarm": {"warmup_ratio": 0.0},
    "wd0": {"weight_decay": 0.0},
    "single": {"encoding": "single"},
    "prompt_half": {"encoding": "pair_prompt_half"},
    "random_batches": {"bucket_batches": 1},
    "lr3e-5": {"learning_rate": 3e-5},
    "lr1e-4": {"learning_rate": 1e-4},
    "epochs2": {"epochs": 2},
    "mean": {"pooling": "mean"},  # the default since issue 11
    "cls": {"pooling": "cls"},  # the default before
    "bs8": {"batch_size": 8},
    "ls0.05": {"label_smoothing": 0.05},
    "ls0.1": {"label_smoothing": 0.1},
}
VARIANTS["toward_plain"] = {**VARIANTS["nofreeze"], **VARIANTS["nowarm_wd0"], **VARIANTS["single"]}
BENCH_SWITCHES = ("encoding", "bucket_batches")


def variant_settings(name: str) -> dict:
    """Merged overrides of a "+"-joined variant name; "plain" is its own trainer."""
    settings = {}
    for part in name.split("+"):
        if part not in VARIANTS:
            raise SystemExit(f"unknown variant {part!r}; known: plain, {', '.join(VARIANTS)}")
        settings.update(VARIANTS[part])
    return settings


def parse_range(text: str) -> slice:
    start, end = text.split(":")
    return slice(int(start), int(end))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pairs", nargs="?", help="JSONL of pairs (Anthropic HH dialogues, or explicit prompt)")
    p.add_argument("--train", type=parse_range, default=parse_range("0:1300"), help="lines to train on, START:END")
    p.add_argument("--eval", type=parse_range, default=parse_range("1300:1800"), help="held-out lines, START:END")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--variants", default="default,plain")
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--base", default="", help="Arbiter variants: base model directory (default: the packaged MiniLM)")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--order", choices=("seed", "variant"), default="seed",
                   help="seed: every variant at seed 0, then seed 1... (a stopped sweep still covers all variants)")
    p.add_argument("--log", default="/tmp/quality.log", help="human-readable line per run, appended")
    p.add_argument("--runs", default="/tmp/quality-runs.jsonl", help="raw JSON line per run, appended")
    p.add_argument("--table", metavar="RUNS_JSONL", help="only print the table of an earlier --runs file")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def raw_records(path: str, lines: slice) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    return records[lines]


# --- Arbiter's trainer, with the bench switches ----------------------------------------------


def single_segment(tokenizer, prompt: str, completion: str, max_length: int) -> dict:
    """The plain loop's encoding: the dialogue as one segment, cut from the LEFT."""
    tokenizer.truncation_side = "left"
    return dict(tokenizer(prompt + completion, truncation=True, max_length=max_length))


def run_arbiter(args, settings: dict) -> dict:
    import arbiter_reward.reward as reward
    from rewardtrain import training
    from rewardtrain.data import pair_from_record
    from rewardtrain.training import TrainConfig, train

    encoding = settings.get("encoding", "pair")
    if encoding == "single":
        training.encode_pair_text = single_segment
    elif encoding == "pair_prompt_half":  # text pair, half of max_length kept for the prompt's end
        reward.completion_budget = lambda max_length: max_length - 3 - max_length // 2
    if settings.get("bucket_batches"):
        training.BUCKET_BATCHES = settings["bucket_batches"]

    eval_cpu = [0.0]  # CPU spent in held-out evaluation, kept out of pairs per CPU-s
    real_metrics = training.PairwiseTask.metrics

    def timed_metrics(self, model):
        started = time.process_time()
        try:
            return real_metrics(self, model)
        finally:
            eval_cpu[0] += time.process_time() - started

    training.PairwiseTask.metrics = timed_metrics

    train_pairs = [pair_from_record(r) for r in raw_records(args.pairs, args.train)]
    heldout = [pair_from_record(r) for r in raw_records(args.pairs, args.eval)]
    overrides = {k: v for k, v in settings.items() if k not in BENCH_SWITCHES}
    if args.base:
        overrides["base_model"] = args.base
    # eval_every beyond the run: one held-out evaluation, after the last step
    config = TrainConfig(max_length=args.max_length, threads=args.threads, seed=args.seed, eval_every=10**9, **overrides)
    cpu_started = time.process_time()
    result = train(train_pairs, heldout, config)
    cpu = time.process_time() - cpu_started - eval_cpu[0]
    m = result.metrics
    trainable = sum(p.numel() for p in result.model.parameters() if p.requires_grad)
    return {
        "heldout_accuracy": m["heldout_accuracy"],
        "heldout_loss": m["heldout_loss"],
        "train_loss": m["train_loss"],
        "pairs_per_s": m["pairs_per_s"],
        "pairs_per_cpu_s": m["n_train_pairs"] * config.epochs / cpu,
        "train_seconds": m["train_seconds"],
        "n_train_pairs": m["n_train_pairs"],
        "n_heldout_pairs": m["n_heldout_pairs"],
        "trainable_params": trainable,
        "config": config.to_dict(),
    }


# --- the plain loop ---------------------------------------------------------------------------


def run_plain(args) -> dict:
    """The issue's loop, exactly: each HH dialogue (prompt and reply as one text, as in the file)
    one segment cut from the LEFT at max_length; AutoModelForSequenceClassification(num_labels=1)
    with its [CLS]-pooler head, seeded; dropout off; fp32; chosen and rejected in one forward;
    AdamW lr 5e-5, betas (0.9, 0.999), eps 1e-8, weight decay 0 on everything; linear decay from
    the first step to 0, no warmup; clipping 1.0; random batches of 16 pairs; 1 epoch; every
    parameter trained."""
    import torch
    import torch.nn.functional as F
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from rewardtrain.config import default_base_model

    torch.set_num_threads(args.threads)
    batch_size, lr, epochs = 16, 5e-5, 1
    train_records, heldout_records = raw_records(args.pairs, args.train), raw_records(args.pairs, args.eval)
    base = default_base_model()
    cpu_started = time.process_time()
    torch.manual_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    tokenizer.truncation_side = "left"
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=1, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, local_files_only=True
    )
    started = time.perf_counter()

    def encode(records):
        texts = [text for r in records for text in (r["chosen"], r["rejected"])]
        return tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]

    ids = encode(train_records)  # rows 2i and 2i+1: pair i's chosen and rejected
    n = len(train_records)
    order = list(range(n))
    random.Random(args.seed).shuffle(order)
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)] * epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, (len(batches) - step) / len(batches)))

    def pad(rows):
        return tokenizer.pad({"input_ids": rows}, return_tensors="pt")

    model.train()
    loss_sum = 0.0
    for batch in batches:
        rows = [ids[2 * i] for i in batch] + [ids[2 * i + 1] for i in batch]
        rewards = model(**pad(rows)).logits[:, 0]
        chosen, rejected = rewards[: len(batch)], rewards[len(batch) :]
        loss = -F.logsigmoid(chosen - rejected).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        loss_sum += loss.item() * len(batch)
    train_seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started

    model.eval()
    held = encode(heldout_records)
    scores = [0.0] * len(held)
    by_length = sorted(range(len(held)), key=lambda i: len(held[i]))
    with torch.inference_mode():
        for start in range(0, len(by_length), 32):
            chunk = by_length[start : start + 32]
            for i, s in zip(chunk, model(**pad([held[i] for i in chunk])).logits[:, 0].tolist()):
                scores[i] = s
    wins = [1.0 if c > r else 0.5 if c == r else 0.0 for c, r in zip(scores[0::2], scores[1::2])]
    diffs = torch.tensor(scores[0::2]) - torch.tensor(scores[1::2])
    return {
        "heldout_accuracy": sum(wins) / len(wins),
        "heldout_loss": -F.logsigmoid(diffs).mean().item(),
        "train_loss": loss_sum / (n * epochs),
        "pairs_per_s": n * epochs / train_seconds,
        "pairs_per_cpu_s": n * epochs / cpu,
        "train_seconds": train_seconds,
        "n_train_pairs": n,
        "n_heldout_pairs": len(wins),
        "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
    }


# --- sweep ------------------------------------------------------------------------------------


def worker(args):
    result = run_plain(args) if args.worker == "plain" else run_arbiter(args, variant_settings(args.worker))
    result["peak_rss_mb"] = peak_rss_mb()  # training and one held-out evaluation, nothing else
    print("RESULT " + json.dumps(result))


def spawn(args, variant: str, seed: int) -> dict:
    argv = [sys.executable, __file__, args.pairs, "--train", f"{args.train.start}:{args.train.stop}",
            "--eval", f"{args.eval.start}:{args.eval.stop}", "--max-length", str(args.max_length),
            "--threads", str(args.threads), "--worker", variant, "--seed", str(seed), "--base", args.base]  # fmt: skip
    load_before, started = os.getloadavg(), time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-5000:])
        raise SystemExit(f"{variant} seed {seed} failed with exit code {proc.returncode}")
    result = json.loads(lines[-1][len("RESULT ") :])
    result.update(variant=variant, seed=seed, base=base_name(args.base), process_wall_s=time.perf_counter() - started,
                  load_before=load_before, load_after=os.getloadavg(), finished=time.strftime("%H:%M:%S"))  # fmt: skip
    return result


def base_name(base: str) -> str:
    return Path(base).name if base else "MiniLM-L6 (packaged)"


def table(runs: list[dict]) -> str:
    by_variant: dict[str, list[dict]] = {}
    for r in runs:
        by_variant.setdefault(f"{r['variant']} on {r.get('base', base_name(''))}", []).append(r)
    lines = ["| variant | n | held-out accuracy, mean ± s.d. | per seed | pairs/s | pairs per CPU-s | peak RSS MB |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for variant, rs in by_variant.items():
        acc = [r["heldout_accuracy"] for r in rs]
        sd = statistics.stdev(acc) if len(acc) > 1 else math.nan
        per_seed = " ".join(f"{r['heldout_accuracy']:.3f}" for r in sorted(rs, key=lambda r: r["seed"]))
        mean = lambda key: statistics.mean(r[key] for r in rs)  # noqa: E731
        lines.append(f"| {variant} | {len(rs)} | {statistics.mean(acc):.3f} ± {sd:.3f} | {per_seed} | "
                     f"{mean('pairs_per_s'):.2f} | {mean('pairs_per_cpu_s'):.2f} | {mean('peak_rss_mb'):,.0f} |")  # fmt: skip
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    if args.table:
        with open(args.table) as f:
            print(table([json.loads(line) for line in f if line.strip()]))
        return
    if not args.pairs:
        raise SystemExit("give a pairs file")
    seeds = [int(s) for s in args.seeds.split(",")]
    variants = args.variants.split(",")
    for v in variants:
        if v != "plain":
            variant_settings(v)  # unknown names fail before the first hour of training
    jobs = [(v, s) for s in seeds for v in variants] if args.order == "seed" else [(v, s) for v in variants for s in seeds]
    runs = []
    with open(args.log, "a") as log, open(args.runs, "a") as raw:
        say = lambda text: (print(text, flush=True), log.write(text + "\n"), log.flush())  # noqa: E731
        say(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(sys.argv)}; load {os.getloadavg()}")
        for variant, seed in jobs:
            r = spawn(args, variant, seed)
            runs.append(r)
            raw.write(json.dumps(r) + "\n")
            raw.flush()
            say(f"{r['finished']} {variant} seed {seed}: accuracy {r['heldout_accuracy']:.3f}, {r['pairs_per_s']:.2f} pairs/s, "
                f"{r['pairs_per_cpu_s']:.2f} per CPU-s, peak RSS {r['peak_rss_mb']:.0f} MB, {r['process_wall_s']:.0f} s, "
                f"load {r['load_before'][0]:.2f} -> {r['load_after'][0]:.2f}")  # fmt: skip
        say(table(runs))


if __name__ == "__main__":
    main()
