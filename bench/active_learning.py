"""Does the model in the labeling loop need fewer labels? Simulated labelers, real pairs.

    python bench/active_learning.py ../shared/data/hh-harmless-1800.jsonl
    python bench/active_learning.py PAIRS.jsonl --pool 0:1300 --eval 1300:1800 --round-size 100 --rounds 8 --seeds 0,1,2

The pool's pairs are the items; a simulated labeler answers an item with the file's known
preference. Each round N items are labelled, chosen by a queue order, and the reward model is
trained again on every label so far, warm-started from the last round's model (Arbiter's
default). Orders:

- fewest_labels: the items in a random order (with overlap 1, what the default queue amounts to);
- uncertain_first: the items whose two completions the current model scores closest (the
  first round, with no model yet, is random), as queue_order uncertain_first serves them.

It prints held-out accuracy against labels used for each order and seed, the mean over seeds,
and how many labels uncertain_first needed to reach fewest_labels' final accuracy.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from rewardtrain.data import load_pairs_file  # noqa: E402

ORDERS = ("fewest_labels", "uncertain_first")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pairs", help="JSONL of pairs (explicit prompt or Anthropic HH dialogues)")
    p.add_argument("--pool", default="0:1300", help="line range of the pool (the items to label)")
    p.add_argument("--eval", default="1300:1800", help="line range of the held-out pairs")
    p.add_argument("--round-size", type=int, default=100, help="labels per round")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--seeds", default="0", help="comma-separated")
    p.add_argument("--orders", default=",".join(ORDERS))
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--log", default="", help="append one JSON line per round to this file")
    return p.parse_args(argv)


def line_range(text: str) -> slice:
    start, end = (int(x) for x in text.split(":"))
    return slice(start, end)


def pick(order: str, unlabelled: list[int], pool, n: int, rng: random.Random, scorer) -> list[int]:
    """The next n pool indexes under a queue order."""
    if order == "fewest_labels" or scorer is None:
        return rng.sample(unlabelled, min(n, len(unlabelled)))
    items = [item for i in unlabelled for item in ((pool[i].prompt, pool[i].chosen), (pool[i].prompt, pool[i].rejected))]
    rewards = scorer.score(items)
    gap = {i: abs(rewards[2 * k] - rewards[2 * k + 1]) for k, i in enumerate(unlabelled)}
    return sorted(unlabelled, key=lambda i: (gap[i], rng.random()))[:n]


def run(order: str, seed: int, pool, heldout, args) -> list[dict]:
    """One simulated labeling campaign: [{labels, accuracy, seconds}] after each round."""
    from rewardtrain.scoring import Scorer
    from rewardtrain.training import TrainConfig, evaluate, train

    config = TrainConfig(max_length=args.max_length, seed=seed, threads=args.threads)
    rng = random.Random(seed)
    unlabelled, labelled = list(range(len(pool))), []
    checkpoint, scorer, curve = None, None, []
    with tempfile.TemporaryDirectory(prefix="active-") as scratch:
        for round_number in range(args.rounds):
            started = time.perf_counter()
            chosen = pick(order, unlabelled, pool, args.round_size, rng, scorer)
            taken = set(chosen)
            unlabelled = [i for i in unlabelled if i not in taken]
            labelled += chosen
            result = train([pool[i] for i in labelled], [], config, init_from=checkpoint)
            checkpoint = str(Path(scratch) / f"round{round_number}")
            result.model.save_pretrained(checkpoint)
            result.tokenizer.save_pretrained(checkpoint)
            scorer = Scorer(result.model, result.tokenizer, {"train_config": config.to_dict()})
            accuracy = evaluate(result.model, result.tokenizer, heldout, config)["accuracy"]
            point = {"order": order, "seed": seed, "round": round_number, "labels": len(labelled),
                     "accuracy": accuracy, "seconds": time.perf_counter() - started}  # fmt: skip
            curve.append(point)
            print(f"{order:16} seed {seed} labels {len(labelled):5d}  held-out accuracy {accuracy:.3f}  "
                  f"({point['seconds']:.0f} s)", flush=True)  # fmt: skip
            if args.log:
                with open(args.log, "a") as log:
                    log.write(json.dumps(point) + "\n")
            if not unlabelled:
                break
    return curve


def labels_to_reach(curve: list[dict], target: float) -> int | None:
    return next((p["labels"] for p in curve if p["accuracy"] >= target), None)


def main(argv=None):
    args = parse_args(argv)
    lines = load_pairs_file(args.pairs)
    pool, heldout = lines[line_range(args.pool)], lines[line_range(args.eval)]
    seeds = [int(s) for s in args.seeds.split(",")]
    orders = args.orders.split(",")
    print(f"# pool {len(pool)} pairs, held-out {len(heldout)}, {args.rounds} rounds of {args.round_size}, "
          f"seeds {seeds}, max_length {args.max_length}, load {os.getloadavg()}", flush=True)  # fmt: skip
    curves = {(order, seed): run(order, seed, pool, heldout, args) for seed in seeds for order in orders}

    print("\nlabels  " + "  ".join(f"{order:>24}" for order in orders))
    for r in range(args.rounds):
        cells = []
        for order in orders:
            values = [curves[(order, s)][r]["accuracy"] for s in seeds if len(curves[(order, s)]) > r]
            spread = f" ± {statistics.stdev(values):.3f}" if len(values) > 1 else ""
            cells.append(f"{statistics.mean(values):.3f}{spread}".rjust(24) if values else " " * 24)
        labels = curves[(orders[0], seeds[0])][r]["labels"] if len(curves[(orders[0], seeds[0])]) > r else ""
        print(f"{labels!s:>6}  " + "  ".join(cells))
    if set(ORDERS) <= set(orders):
        for seed in seeds:
            target = curves[("fewest_labels", seed)][-1]["accuracy"]
            needed = labels_to_reach(curves[("uncertain_first", seed)], target)
            used = curves[("fewest_labels", seed)][-1]["labels"]
            print(f"seed {seed}: fewest_labels ends at {target:.3f} with {used} labels; uncertain_first reaches it "
                  f"with {needed if needed is not None else 'more than ' + str(used)} labels")  # fmt: skip


if __name__ == "__main__":
    main()
