"""A training run's model trained by several processes (ARBITER_TRAIN_PROCS or the run's `procs`
option, ARBITER_TRAIN_NNODES hosts): the deployment's settings turned into a torchrun launch of
rewardtrain/distributed_train.py, whose rank 0 reports through the run's progress writer."""

import logging
import tempfile
from pathlib import Path

from django.conf import settings

from rewardtrain.distributed_train import torchrun_command, train_in_processes, write_job

log = logging.getLogger(__name__)


def in_processes(config) -> bool:
    """Whether the run trains through torchrun rather than in the worker's own process."""
    return config.procs > 1 or settings.ARBITER_TRAIN_NNODES > 1


def train_run_in_processes(run, config, train_examples, heldout_examples, *, init_from, progress, labels=None, positive=None):
    """The TrainResult of `config.procs` processes on each of ARBITER_TRAIN_NNODES hosts; the
    same examples (so the same held-out split and gate) as one process would train on."""
    parent = settings.ARBITER_TRAIN_JOB_DIR or None
    if parent:
        Path(parent).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"run-{run.id}-attempt-{run.attempts}-", dir=parent) as folder:
        job = Path(folder)
        write_job(
            job, config=config, train_examples=train_examples, heldout_examples=heldout_examples,
            init_from=init_from, labels=labels, positive=positive,
        )  # fmt: skip
        nnodes = settings.ARBITER_TRAIN_NNODES
        command = torchrun_command(
            job, procs=config.procs, nnodes=nnodes, rdzv_endpoint=settings.ARBITER_TRAIN_RDZV_ENDPOINT, rdzv_id=job.name
        )
        if nnodes > 1:
            # The other hosts run the same command (with their own python) to join this run.
            log.warning("training run %s waits for %s more host(s) to run: %s", run.id, nnodes - 1, " ".join(command))
        return train_in_processes(job, command, progress=progress)
