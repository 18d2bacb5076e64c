"""A training run on several processes: the parent (the run's Celery task) writes a job folder,
launches `torchrun ... -m rewardtrain.distributed_train <job folder>`, relays rank 0's progress
and reads back the trained model. Django-free, like the trainer it runs.

The job folder:
  job.json        the TrainConfig, the task (pairs, or labels with their positive one), init_from
  train.jsonl     the training examples (Pair or LabelledText), one JSON object a line
  heldout.jsonl   the held-out examples: the same split and gate as one process
  progress.jsonl  rank 0's progress reports, one a line, as the trainer gives them
  result/         rank 0's trained model and tokenizer; result.json its metrics, history, head
  errors/rank-N.txt  the traceback of a rank that crashed

Every rank trains the same model (rewardtrain.parallel: DDP, each global batch split across the
ranks); only rank 0 evaluates, reports and writes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from rewardtrain.config import TrainConfig
from rewardtrain.data import LabelledText, Pair

JOB_FILE = "job.json"
PROGRESS_FILE = "progress.jsonl"
RESULT_FOLDER = "result"
RESULT_FILE = "result.json"
ERRORS_FOLDER = "errors"
LOG_FILE = "torchrun.log"
ERROR_TAIL_CHARS = 3000  # of a rank's traceback: the end says what failed
POLL_SECONDS = 0.2
STOP_SECONDS = 30  # torchrun's wait for its ranks after SIGTERM, before they are killed


class DistributedTrainingFailed(RuntimeError):
    """A rank (or torchrun itself) failed; the message says which and ends with its traceback."""


def write_job(job: Path, *, config: TrainConfig, train_examples, heldout_examples, init_from=None, labels=None, positive=None):
    """The job folder the ranks read: a classifier's when `labels` are given, else pairwise."""
    job.mkdir(parents=True, exist_ok=True)
    spec = {"config": config.to_dict(), "init_from": init_from, "labels": labels, "positive": positive}
    (job / JOB_FILE).write_text(json.dumps(spec))
    for name, examples in (("train.jsonl", train_examples), ("heldout.jsonl", heldout_examples)):
        with open(job / name, "w") as out:
            for example in examples:
                out.write(json.dumps(asdict(example)) + "\n")


def torchrun_command(job: Path, *, procs: int, nnodes: int = 1, rdzv_endpoint: str = "", rdzv_id: str = "") -> list[str]:
    """torchrun with `procs` processes on this host; on `nnodes` hosts through the c10d
    rendezvous at `rdzv_endpoint` (host:port), which the other hosts join with the same id."""
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(procs), "--max-restarts", "0"]
    if nnodes > 1:
        command += ["--nnodes", str(nnodes), "--rdzv-backend", "c10d", "--rdzv-endpoint", rdzv_endpoint, "--rdzv-id", rdzv_id]
    else:
        command += ["--standalone"]
    return [*command, "-m", "rewardtrain.distributed_train", str(job)]


def train_in_processes(job: Path, command: list[str], *, progress: Callable[[dict], None] | None = None, env=None):
    """Run `command` (torchrun_command) on the job folder; returns the TrainResult rank 0 wrote.

    Rank 0's reports are passed to `progress` as they come; when it raises (the run was aborted
    or its worker told to stop) every rank is stopped and the exception goes on.
    DistributedTrainingFailed when a rank or torchrun fails.
    """
    (job / PROGRESS_FILE).touch()
    # The ranks import this package whatever the worker's current folder.
    root = str(Path(__file__).resolve().parents[1])
    env = dict(env or os.environ)
    env["PYTHONPATH"] = os.pathsep.join(path for path in (root, env.get("PYTHONPATH", "")) if path)
    with open(job / LOG_FILE, "w") as log:
        # Its own process group: stopping it reaches torchrun and every rank.
        launched = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        with open(job / PROGRESS_FILE) as reports:
            while True:
                ended = launched.poll() is not None
                for report in complete_lines(reports):
                    if progress:
                        progress(report)
                if ended:
                    break
                time.sleep(POLL_SECONDS)
    except BaseException:
        stop(launched)
        raise
    if launched.returncode:
        raise DistributedTrainingFailed(failure(job, launched.returncode))
    return read_result(job)


def complete_lines(reports):
    """The reports written whole since the last call (rank 0 may be mid-line)."""
    while True:
        position = reports.tell()
        line = reports.readline()
        if not line.endswith("\n"):
            reports.seek(position)
            return
        yield json.loads(line)


def stop(launched: subprocess.Popen) -> None:
    if launched.poll() is not None:
        return
    os.killpg(launched.pid, signal.SIGTERM)
    try:
        launched.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(launched.pid, signal.SIGKILL)
        launched.wait()


def failure(job: Path, returncode: int) -> str:
    """Why the ranks failed: the first crashed rank's traceback (the others' crashes usually
    follow from it: a peer gone mid all-reduce), else the end of torchrun's log."""
    errors = sorted((job / ERRORS_FOLDER).glob("rank-*.txt"), key=lambda path: path.stat().st_mtime)
    if errors:
        rank = errors[0].stem.removeprefix("rank-")
        others = f" ({len(errors) - 1} other rank(s) failed after it)" if len(errors) > 1 else ""
        return f"rank {rank} of the training processes failed{others}:\n{errors[0].read_text()[-ERROR_TAIL_CHARS:]}"
    log = (job / LOG_FILE).read_text() if (job / LOG_FILE).exists() else ""
    return f"torchrun exited with status {returncode}:\n{log[-ERROR_TAIL_CHARS:]}"


def read_result(job: Path):
    """The TrainResult of rank 0's model, loaded into this process on the configured device."""
    from rewardtrain.scoring import resolve_device
    from rewardtrain.training import TrainResult, load_model

    saved = json.loads((job / RESULT_FOLDER / RESULT_FILE).read_text())
    config = TrainConfig.from_dict(saved["config"])
    model, tokenizer = load_model(str(job / RESULT_FOLDER), resolve_device(config.device), head=saved["head"], pooling=config.pooling)
    model.eval()
    return TrainResult(model, tokenizer, config, saved["metrics"], saved["history"], saved["head"])


# --- in each rank (under torchrun) ----------------------------------------------------------


def read_examples(path: Path, kind) -> list:
    with open(path) as lines:
        return [kind(**json.loads(line)) for line in lines]


def train_rank(job: Path, ranks) -> None:
    """Train this rank's part; rank 0 reports progress and writes the result."""
    import torch

    from rewardtrain.lora import save_model
    from rewardtrain.training import train, train_classifier

    spec = json.loads((job / JOB_FILE).read_text())
    config = TrainConfig.from_dict(spec["config"])
    local_procs = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    # The host's cores shared by its ranks; the recorded config keeps what the run asked for.
    ranked = replace(config, threads=max(1, config.threads // local_procs))
    if torch.cuda.is_available() and ranked.device in ("auto", "cuda"):
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))  # "cuda" is then this rank's GPU
    kind = LabelledText if spec["labels"] else Pair
    train_examples, heldout_examples = (read_examples(job / name, kind) for name in ("train.jsonl", "heldout.jsonl"))

    def progress(report):
        with open(job / PROGRESS_FILE, "a") as reports:  # a whole line at a time: the parent reads on
            reports.write(json.dumps(report) + "\n")

    trained = dict(init_from=spec["init_from"], progress=progress if ranks.leads else None, parallel=ranks)
    if spec["labels"]:
        result = train_classifier(
            train_examples, heldout_examples, ranked, labels=spec["labels"], positive=spec["positive"], **trained
        )
    else:
        result = train(train_examples, heldout_examples, ranked, **trained)
    if not ranks.leads:
        return
    folder = job / RESULT_FOLDER
    folder.mkdir()
    save_model(result.model, folder)
    result.tokenizer.save_pretrained(folder)
    # The trainer's config (its pooling resolved for the base model), with the run's threads.
    recorded = replace(result.config, threads=config.threads).to_dict()
    saved = {"config": recorded, "metrics": result.metrics, "history": result.history, "head": result.head}
    (folder / RESULT_FILE).write_text(json.dumps(saved))


def main(job: str) -> None:
    import torch
    import torch.distributed as dist

    from rewardtrain.parallel import Ranks

    job = Path(job)
    rank = int(os.environ.get("RANK", "0"))
    try:
        dist.init_process_group("nccl" if torch.cuda.is_available() and _wants_gpu(job) else "gloo")
        try:
            train_rank(job, Ranks())
        finally:
            dist.destroy_process_group()
    except BaseException:
        (job / ERRORS_FOLDER).mkdir(exist_ok=True)
        (job / ERRORS_FOLDER / f"rank-{rank}.txt").write_text(traceback.format_exc())
        raise


def _wants_gpu(job: Path) -> bool:
    return json.loads((job / JOB_FILE).read_text())["config"]["device"] in ("auto", "cuda")


if __name__ == "__main__":
    main(sys.argv[1])
