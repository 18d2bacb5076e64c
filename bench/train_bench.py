"""Reward-model training benchmark: Arbiter's trainer against TRL's RewardTrainer.

    python bench/train_bench.py /work/shared/data/hh-harmless-1800.jsonl --limit 200
    python bench/train_bench.py PAIRS.jsonl --warm-start --skip-trl

Both trainers get the same pairs, split by the same stable hash, the same base model and
hyperparameters, and each runs in its own subprocess so its peak RSS is its own. TRL is a
benchmark-only dependency (bench/requirements-bench.txt).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from rewardtrain.data import load_pairs_file, split_pairs  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pairs", help="JSONL of pairs (explicit prompt or Anthropic HH dialogues)")
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--limit", type=int, default=0, help="use only the first N pairs (0 = all)")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--freeze-layers", type=int, default=None, help="Arbiter: lowest layers frozen (default: TrainConfig's)")
    p.add_argument("--freeze-embeddings", type=int, choices=(0, 1), default=None, help="Arbiter: 1/0 (default: TrainConfig's)")
    p.add_argument(
        "--activation-checkpointing", action="store_true", help="Arbiter: recompute activations (TRL does by default)"
    )
    p.add_argument("--skip-trl", action="store_true", help="run Arbiter's trainer only")
    p.add_argument("--skip-arbiter", action="store_true", help="run TRL only")
    p.add_argument("--warm-start", action="store_true", help="Arbiter only: warm start vs from scratch")
    p.add_argument("--worker", choices=("arbiter", "trl", "warm"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def load_split(args):
    pairs = load_pairs_file(args.pairs)
    if args.limit:
        pairs = pairs[: args.limit]
    return split_pairs(pairs, 0.1)


def arbiter_config(args, **overrides):
    from rewardtrain.training import TrainConfig

    config = TrainConfig(
        max_length=args.max_length,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        epochs=args.epochs,
        threads=args.threads,
        seed=args.seed,
    )
    if args.freeze_layers is not None:
        config.freeze_layers = args.freeze_layers
    if args.freeze_embeddings is not None:
        config.freeze_embeddings = bool(args.freeze_embeddings)
    config.activation_checkpointing = args.activation_checkpointing
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_arbiter(args) -> dict:
    """Train with Arbiter, publish a checkpoint, then measure the Scorer on the held-out pairs."""
    from rewardtrain.checkpoints import write_checkpoint
    from rewardtrain.scoring import Scorer
    from rewardtrain.training import train

    train_pairs, heldout = load_split(args)
    config = arbiter_config(args)
    started, cpu_started = time.perf_counter(), time.process_time()
    result = train(train_pairs, heldout, config)  # model load + tokenising + training + final held-out eval
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    # The training's own peak, before the scoring measurement below loads a second model.
    training_peak_rss_mb = peak_rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        write_checkpoint(result, Path(tmp) / "v1", metadata={"version": "bench"})
        scorer = Scorer.load(Path(tmp) / "v1", device="cpu")
        items = [(p.prompt, c) for p in heldout for c in (p.chosen, p.rejected)]
        scored = time.perf_counter()
        scorer.score(items)
        score_seconds = time.perf_counter() - scored
    m = result.metrics
    return {
        "trainer": "arbiter",
        "config": config.to_dict(),
        "train_wall_s": wall,
        "pairs_per_s": m["pairs_per_s"],
        # CPU seconds of all threads: steadier than wall time on a machine shared with other work
        "pairs_per_cpu_s": m["n_train_pairs"] * config.epochs / cpu,
        "train_seconds": m["train_seconds"],
        "heldout_accuracy": m["heldout_accuracy"],
        "heldout_loss": m["heldout_loss"],
        "n_train_pairs": m["n_train_pairs"],
        "n_heldout_pairs": m["n_heldout_pairs"],
        "scoring_pairs_per_s": len(heldout) / score_seconds,
        "peak_rss_mb": training_peak_rss_mb,
        "peak_rss_with_scoring_mb": peak_rss_mb(),
    }


def run_trl(args) -> dict:
    """Train with TRL 1.16's RewardTrainer on the same token sequences Arbiter trains on.

    TRL drops pairs longer than max_length and appends an EOS token that BERT tokenizers lack.
    So it is given pre-tokenised `chosen_ids`/`rejected_ids` ([CLS] prompt [SEP] completion
    [SEP], prompt cut from its start, as Arbiter encodes them): TRL then skips its EOS step,
    keeps every pair, and both trainers see identical tokens. TRL's collator passes no
    token_type_ids (all segment 0); that is how TRL trains a BERT and is left as is.
    """
    import torch
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    from rewardtrain.data import encode_pair_text
    from rewardtrain.training import default_base_model

    torch.set_num_threads(args.threads)
    train_pairs, heldout = load_split(args)
    base = default_base_model()

    def dataset(pairs):
        rows = [
            {
                "chosen_ids": encode_pair_text(tokenizer, p.prompt, p.chosen, args.max_length)["input_ids"],
                "rejected_ids": encode_pair_text(tokenizer, p.prompt, p.rejected, args.max_length)["input_ids"],
            }
            for p in pairs
        ]
        return Dataset.from_list(rows)

    torch.manual_seed(args.seed)
    cpu_started = time.process_time()  # includes the model load, as Arbiter's figure does
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
    started = time.perf_counter()  # after loading, as Arbiter's pairs/s: tokenising + training
    with tempfile.TemporaryDirectory() as tmp:
        config = RewardConfig(
            output_dir=tmp,
            per_device_train_batch_size=args.batch_size,
            per_device_eval_batch_size=args.batch_size,
            learning_rate=args.lr,
            num_train_epochs=args.epochs,
            warmup_steps=0.1,  # a float below 1 is a ratio of the steps, like Arbiter's warmup_ratio
            weight_decay=0.01,
            max_grad_norm=1.0,
            lr_scheduler_type="linear",
            max_length=args.max_length,
            seed=args.seed,
            use_cpu=not torch.cuda.is_available(),
            bf16=False,
            report_to="none",
            save_strategy="no",
            eval_strategy="no",
            logging_steps=10,
            dataloader_num_workers=0,
            disable_tqdm=True,
        )
        trainer = RewardTrainer(
            model=model, args=config, train_dataset=dataset(train_pairs), processing_class=tokenizer
        )
        train_output = trainer.train()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        eval_metrics = trainer.evaluate(eval_dataset=dataset(heldout))
    return {
        "trainer": "trl",
        "train_wall_s": wall,
        "pairs_per_s": len(train_pairs) * args.epochs / wall,
        "pairs_per_cpu_s": len(train_pairs) * args.epochs / cpu,
        "trl_train_samples_per_second": train_output.metrics.get("train_samples_per_second"),
        "heldout_accuracy": eval_metrics.get("eval_accuracy"),
        "heldout_loss": eval_metrics.get("eval_loss"),
        "n_train_pairs": len(train_pairs),
        "n_heldout_pairs": len(heldout),
    }


def run_warm(args) -> dict:
    """Warm start vs from scratch: train v1 on the first half; then on all pairs from v1, on
    the new half only from v1, and on all pairs from scratch (eval every few steps)."""
    from rewardtrain.checkpoints import write_checkpoint
    from rewardtrain.training import train

    train_pairs, heldout = load_split(args)
    half = len(train_pairs) // 2
    eval_every = max(1, len(train_pairs) // args.batch_size // 8)
    out = {"trainer": "warm-start", "n_train_pairs": len(train_pairs)}
    with tempfile.TemporaryDirectory() as tmp:
        v1 = train(train_pairs[:half], heldout, arbiter_config(args))
        write_checkpoint(v1, Path(tmp) / "v1", metadata={})
        out["v1_first_half"] = v1.metrics["heldout_accuracy"]
        for name, pairs, init in (
            ("warm_all", train_pairs, Path(tmp) / "v1"),
            ("warm_new_half", train_pairs[half:], Path(tmp) / "v1"),
            ("scratch_all", train_pairs, None),
        ):
            result = train(pairs, heldout, arbiter_config(args, eval_every=eval_every), init_from=init)
            out[name] = {
                "heldout_accuracy": result.metrics["heldout_accuracy"],
                "train_seconds": result.metrics["train_seconds"],
                "curve": [(h["step"] * args.batch_size, round(h["heldout_accuracy"], 3)) for h in result.history],
            }
    return out


def worker(args):
    result = {"arbiter": run_arbiter, "trl": run_trl, "warm": run_warm}[args.worker](args)
    result.setdefault("peak_rss_mb", peak_rss_mb())
    print("RESULT " + json.dumps(result))


def spawn(kind: str, argv: list[str]) -> dict:
    """Run one trainer in a fresh process; its own peak RSS comes back with its result."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, *argv, "--worker", kind], capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-5000:])
        raise SystemExit(f"{kind} worker failed with exit code {proc.returncode}")
    result = json.loads(lines[-1][len("RESULT ") :])
    result["process_wall_s"] = time.perf_counter() - started
    return result


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    train_pairs, heldout = load_split(args)
    print(f"pairs: {len(train_pairs)} train, {len(heldout)} held out; threads {args.threads}")
    print("load average at start: %.2f %.2f %.2f" % os.getloadavg())
    kinds = ["warm"] if args.warm_start else [k for k, skip in (("trl", args.skip_trl), ("arbiter", args.skip_arbiter)) if not skip]
    results = {kind: spawn(kind, argv) for kind in kinds}
    print("load average at end:   %.2f %.2f %.2f" % os.getloadavg())
    for kind, r in results.items():
        print(f"{kind}: " + json.dumps(r, indent=None))
    if "arbiter" in results:
        a = results["arbiter"]
        print(
            f"arbiter: {a['pairs_per_s']:.2f} pairs/s ({a['pairs_per_cpu_s']:.2f} per CPU-s), peak RSS {a['peak_rss_mb']:.0f} MB, "
            f"held-out accuracy {a['heldout_accuracy']:.3f}, scoring {a['scoring_pairs_per_s']:.1f} pairs/s"
        )
    if "trl" in results:
        t = results["trl"]
        print(f"trl:     {t['pairs_per_s']:.2f} pairs/s ({t['pairs_per_cpu_s']:.2f} per CPU-s), peak RSS {t['peak_rss_mb']:.0f} MB, held-out accuracy {t['heldout_accuracy']:.3f}")
    if "arbiter" in results and "trl" in results:
        a, t = results["arbiter"], results["trl"]
        print(f"ratio arbiter/trl: {a['pairs_per_s'] / t['pairs_per_s']:.2f}x pairs/s, {a['pairs_per_cpu_s'] / t['pairs_per_cpu_s']:.2f}x pairs per CPU-s")


if __name__ == "__main__":
    main()
