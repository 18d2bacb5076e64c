"""A run trained by two processes under torchrun (procs=2, gloo on CPUs) through the real Celery
task on PostgreSQL + Redis gives the rewards of one process on the same data and seed; a rank's
crash fails the run with its traceback; a run stopped from its progress stops every rank."""

import io
import os
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery

from annotator.models import Comparison, Completion
from arbiter_reward import LocalReward
from rewardtrain.checkpoint_store import version_folder
from rewardtrain.checkpoints import read_metadata
from rewardtrain.config import InvalidTrainingOptions, TrainConfig
from rewardtrain.distributed_train import torchrun_command, train_in_processes, write_job
from rewardtrain.models import TrainingRun
from rewardtrain.runs import TRAIN_TASK, training_run_start
from tests import factories
from tests.celery_worker import running_worker
from tests.rewardtrain.comparisons import SMALL, make_comparisons, train_small
from tests.rewardtrain.parallel_gradient import PAIRS

WAIT_S = 300
# 68 pairs of 40 prompts (see comparisons), 49 trained on in 6 steps of about 8, split across the ranks.
OPTIONS = {**SMALL, "seed": 3, "device": "cpu"}  # gloo, whatever GPUs the host has
# Two ranks compute the same steps as one process, but sum each gradient in another order (two
# shares, then gloo's all-reduce) and pad each share to its own longest text: float32 results that
# differ in their last bits (~1e-7 relative, test_core_parallel). Six AdamW steps carry that to
# at most 1e-6 in the differences between rewards (measured 9e-7), hence 1e-5; a loss averaged per
# rank instead of over the global batch is off by 2e-4 here. One exception: the head's bias. The
# pairwise loss does not depend on it, so its gradient is 0 up to float noise, and Adam, dividing
# a gradient by its own size, turns that noise into steps of up to lr either way: one version's
# rewards may all be shifted by one constant (measured 1.7e-3), at most steps x lr, which no
# ranking, loss or gate figure sees.
REWARD_TOL = 1e-5
STEPS = 6
ITEMS = [
    ("human: tell me about the cat 3. assistant:", "the cat is good and kind"),
    ("human: tell me about the cat 3. assistant:", "the cat is bad and rude"),
    ("human: what about the river? assistant:", "the river is long and very old"),
    ("human: hello assistant:", "sorry"),
]


def comparisons(project):
    """40 prompts' good/bad pairs; every third prompt also ranks an "ok" reply between them, so
    its group holds 3 pairs: the ranks' shares of a batch differ in size, and a loss averaged
    per rank instead of over the global batch would weigh their pairs differently."""
    rows = make_comparisons(project, 40)
    for row in rows[::3]:
        ok = Completion.objects.create(prompt=row.prompt, text=row.chosen.text.replace("good", "ok"))
        for chosen, rejected in ((row.chosen, ok), (ok, row.rejected)):
            Comparison.objects.create(
                project=project, prompt=row.prompt, chosen=chosen, rejected=rejected, source=Comparison.Source.IMPORTED
            )


def wait_for(run, log_path):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status not in TrainingRun.ACTIVE_STATUSES:
            return run
        time.sleep(0.5)
    pytest.fail(f"run {run.id} still {run.status} after {WAIT_S}s:\n{log_path.read_text()}")


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_two_processes_train_the_rewards_of_one_through_the_celery_task(tmp_path, tiny_model):
    url = os.environ["REDIS_URL"]
    queue = f"arbiter-test-training-{os.getpid()}-{uuid.uuid4().hex[:8]}"  # others may share this Redis
    client = Celery(broker=url, set_as_current=False)
    log_path = tmp_path / "worker.log"
    runs = {}
    with running_worker(broker_url=url, result_backend=url, log_path=log_path, queues=queue, pool="prefork"):
        for procs in (1, 2):
            project = factories.project(base_model=tiny_model)
            comparisons(project)
            run = training_run_start(project=project, trigger="manual", options={**OPTIONS, "procs": procs}, enqueue=False)
            run.task_id = str(uuid.uuid4())
            run.save(update_fields=["task_id"])
            client.send_task(TRAIN_TASK, args=[run.id], task_id=run.task_id, queue=queue)
            runs[procs] = wait_for(run, log_path)

    one, two = runs[1], runs[2]
    for run in (one, two):
        assert run.status == "succeeded", f"{run.error}\n{log_path.read_text()}"
    # Rank 0's progress reached the row through the parent: every step, the evaluations.
    assert two.progress["step"] == two.progress["total"] == one.progress["total"] == STEPS
    assert len(two.history) == len(one.history) and two.history[-1]["heldout_n_pairs"] == 19
    assert two.metrics["processes"] == 2 and "processes" not in one.metrics
    split = ("fraction", "n_train", "n_heldout")  # the same prompts held out (their ids differ by project)
    assert {k: two.split[k] for k in split} == {k: one.split[k] for k in split}
    assert two.metrics["heldout_accuracy"] == one.metrics["heldout_accuracy"]
    assert two.metrics["gate"]["outcome"] == one.metrics["gate"]["outcome"]
    assert two.metrics["train_loss"] == pytest.approx(one.metrics["train_loss"], rel=1e-5)
    assert read_metadata(version_folder(two.version))["train_config"]["procs"] == 2

    prompts, completions = zip(*ITEMS)
    rewards_one = LocalReward(version_folder(one.version))(list(prompts), list(completions))
    rewards_two = LocalReward(version_folder(two.version))(list(prompts), list(completions))
    offset = rewards_two[0] - rewards_one[0]
    assert abs(offset) <= STEPS * OPTIONS["learning_rate"]
    assert [reward - offset for reward in rewards_two] == pytest.approx(rewards_one, abs=REWARD_TOL)
    # Trained, not both left at the random start: the good reply is ranked above the bad.
    assert rewards_one[0] > rewards_one[1]


@pytest.mark.django_db(transaction=True)
def test_a_crashed_rank_fails_the_run_with_its_traceback(project, tiny_model):
    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 40)

    # A GPU no host has: each rank fails moving the model there (a CPU-only torch has none at all).
    run = train_small(project, procs=2, device="cuda:99")

    assert run.status == "failed" and run.version is None
    assert "of the training processes failed" in run.error
    # The rank's own traceback, its end: torch's reason.
    assert "Torch not compiled with CUDA enabled" in run.error or "invalid device ordinal" in run.error
    assert 'rewardtrain/training.py", line' in run.error


class Stopped(Exception):
    pass


def processes_running(marker: str) -> list[int]:
    """Pids of the processes whose command line names `marker` (read from /proc, Linux)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker in cmdline.read_bytes().decode(errors="replace"):
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue  # ended meanwhile
    return pids


def test_a_run_stopped_from_its_progress_stops_every_rank(tiny_model, tmp_path):
    """What an aborted run or a worker told to stop does: the progress writer raises."""
    job = tmp_path / "job"
    config = TrainConfig(**{**SMALL, "base_model": tiny_model, "batch_size": 1, "epochs": 400, "procs": 2, "device": "cpu"})
    write_job(job, config=config, train_examples=PAIRS, heldout_examples=[])
    reports = []

    def progress(report):
        reports.append(report)
        if "step" in report:
            raise Stopped

    with pytest.raises(Stopped):
        train_in_processes(job, torchrun_command(job, procs=2), progress=progress)

    assert reports[-1]["step"] >= 1 and reports[-1]["total"] == 400 * 5  # PAIRS: 5 prompts, one a step: a minute or more
    deadline = time.monotonic() + 10
    while processes_running(str(job)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_running(str(job)) == []
    assert not (job / "result").exists()


@pytest.mark.django_db
def test_procs_is_a_run_option_of_the_api_and_the_command(trainable, lead, monkeypatch):
    from django.core.management import call_command
    from rest_framework.test import APIClient

    monkeypatch.setattr("rewardtrain.runs._enqueue", lambda run: None)
    client = APIClient()
    client.force_authenticate(lead)
    refused = client.post(f"/api/v1/projects/{trainable.slug}/train/", {"procs": 0}, format="json")
    assert refused.status_code == 400 and "procs" in refused.content.decode(), refused.content
    answer = client.post(f"/api/v1/projects/{trainable.slug}/train/", {"procs": 4}, format="json")
    assert answer.status_code == 201, answer.content
    run = TrainingRun.objects.get(id=answer.json()["id"])
    assert run.options == {"procs": 4}
    run.delete()

    call_command("train_reward_model", trainable.slug, "--procs", "2", stdout=io.StringIO())
    assert TrainingRun.objects.get(project=trainable).options == {"procs": 2}


def test_procs_below_one_is_refused():
    with pytest.raises(InvalidTrainingOptions, match="procs must be"):
        TrainConfig(procs=0)
