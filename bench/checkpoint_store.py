"""Checkpoints through an S3-compatible store: publish and fetch times, and scoring on a cache hit.

    python bench/checkpoint_store.py            # the packaged all-MiniLM-L6-v2, trained for a few steps
    python bench/checkpoint_store.py --smoke    # the tests' tiny model (CI runs this)

A real Arbiter checkpoint is written (checkpoints.write_checkpoint, as a run does), then:
- publish: S3Store.publish to moto's S3 server on loopback (every file, the manifest last);
- fetch: ModelCache.fetch into an empty cache (download, verify against the manifest pin, rename);
- a fetch hit: ModelCache.fetch of the version already there (the lock and a stat);
- scoring latency on a cache hit, the same requests scored by a Scorer loaded from the local
  store's folder and from the cache's copy, each with the lookup serving does before scoring
  (LocalStore.local_folder or ModelCache.cached).
moto keeps objects in memory on this machine: the times are Arbiter's and boto3's overhead
plus loopback, not a network's. The last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def write_version(folder: Path, *, smoke: bool) -> Path:
    """A published-format checkpoint of the tiny test model (smoke) or the packaged MiniLM."""
    from rewardtrain.checkpoints import write_checkpoint
    from rewardtrain.config import TrainConfig
    from rewardtrain.training import train
    from tests.rewardtrain.conftest import make_tiny_model, make_toy_pairs

    pairs = make_toy_pairs(24)
    base = str(make_tiny_model(folder / "tiny-bert")) if smoke else ""
    config = TrainConfig(base_model=base, max_length=32 if smoke else 64, batch_size=8, device="cpu")
    result = train(pairs[4:], pairs[:4], config)  # a few steps: the weights' size is what is measured
    return write_checkpoint(result, folder / "store" / "bench" / "v1", metadata={"version": 1})


def timed(call, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def moto_store():
    from moto.server import ThreadedMotoServer

    from rewardtrain.storage import S3Store
    from tests.s3_store import _free_port

    for name, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        os.environ.setdefault(name, value)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    store = S3Store("bench", "checkpoints", endpoint_url=f"http://127.0.0.1:{port}")
    store.client.create_bucket(Bucket="bench")
    return server, store


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="the tests' tiny model, fewer repeats")
    parser.add_argument("--repeat", type=int, default=5, help="publishes, fetches and hits timed (each a fresh name or cache)")
    parser.add_argument("--requests", type=int, default=50, help="scoring requests timed per store")
    args = parser.parse_args(argv)
    repeat, requests = (2, 5) if args.smoke else (args.repeat, args.requests)

    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    import torch

    from rewardtrain.checkpoints import manifest_pin
    from rewardtrain.model_cache import ModelCache
    from rewardtrain.scoring import Scorer
    from rewardtrain.storage import LocalStore

    torch.set_num_threads(1)
    server, store = moto_store()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            folder = write_version(tmp, smoke=args.smoke)
            pin = manifest_pin(folder)
            size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            names = [f"bench/v{n}" for n in range(1, repeat + 1)]
            publishes = [timed(lambda name=name: store.publish(folder, name), 1)[0] for name in names]
            fetches = [timed(lambda n=n: ModelCache(tmp / f"cache-{n}", max_bytes=10**12).fetch("bench/v1", store=store, pin=pin), 1)[0]
                       for n in range(repeat)]  # fmt: skip
            cache = ModelCache(tmp / "cache-0", max_bytes=10**12)
            hits = timed(lambda: cache.fetch("bench/v1", store=store, pin=pin), max(repeat, 20))

            local = LocalStore(tmp / "store")
            items = [(f"human: tell me about the cat {i}. assistant:", "the cat is good") for i in range(8)]
            scorers = {"local": Scorer.load(local.local_folder("bench/v1"), device="cpu"),
                       "s3 (cache hit)": Scorer.load(cache.cached("bench/v1"), device="cpu")}  # fmt: skip
            lookups = {"local": lambda: local.local_folder("bench/v1"), "s3 (cache hit)": lambda: cache.cached("bench/v1")}
            times = {label: [] for label in scorers}
            for scorer in scorers.values():
                scorer.score(items)  # warm-up
            # Interleaved, the order swapped each round: a busy machine slows both alike.
            for round_ in range(requests):
                for label in sorted(scorers, reverse=bool(round_ % 2)):
                    times[label] += timed(lambda: (lookups[label](), scorers[label].score(items)), 1)
            latency = {label: {"median_ms": round(statistics.median(t) * 1000, 2),
                               "p95_ms": round(sorted(t)[int(0.95 * (len(t) - 1))] * 1000, 2)} for label, t in times.items()}  # fmt: skip
            difference = max(abs(a - b) for a, b in zip(scorers["local"].score(items), scorers["s3 (cache hit)"].score(items)))
    finally:
        server.stop()

    summary = {
        "model": "tiny test BERT" if args.smoke else "packaged all-MiniLM-L6-v2",
        "checkpoint_bytes": size,
        "publish_s": [round(t, 3) for t in publishes],
        "fetch_cold_s": [round(t, 3) for t in fetches],
        "fetch_hit_ms_median": round(statistics.median(hits) * 1000, 3),
        "scoring_8_items": latency,
        "max_reward_difference": difference,
    }
    for key in ("publish_s", "fetch_cold_s"):
        print(f"{key}: median {statistics.median(summary[key]):.3f} s over {len(summary[key])} ({size / 1e6:.1f} MB)")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
