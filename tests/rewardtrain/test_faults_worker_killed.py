"""A worker's pool child killed mid-training (as the OOM killer does): the run is retried once, then failed.

Through a real prefork worker on Redis, on a queue of this test process's own: others may run
worker tests on the same Redis at the same time.
"""

import os
import signal
import time
import uuid

import pytest
from celery import Celery

from rewardtrain.models import TrainingRun
from rewardtrain.runs import TRAIN_TASK, training_run_start
from tests.celery_worker import pool_children, running_worker
from tests.rewardtrain.comparisons import SMALL, make_comparisons

# About 600 steps of the tiny model: seconds of training, so a kill lands mid-run.
SLOW = {**SMALL, "batch_size": 1, "epochs": 20}
WAIT_S = 120

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path, project, tiny_model):
    """(send, worker, log_path): a prefork worker with one child, and a function that sends a run to it."""
    url = os.environ["REDIS_URL"]
    queue = f"arbiter-test-training-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    client = Celery(broker=url, set_as_current=False)  # the app's routes would send to the shared "training"
    log_path = tmp_path / "worker.log"

    def send(run):
        client.send_task(TRAIN_TASK, args=[run.id], task_id=run.task_id, queue=queue)

    with running_worker(broker_url=url, result_backend=url, log_path=log_path, queues=queue, pool="prefork") as proc:
        yield send, proc, log_path


def started_run(project, tiny_model, send):
    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 40)
    run = training_run_start(project=project, trigger="manual", options=SLOW, enqueue=False)
    run.task_id = str(uuid.uuid4())
    run.save(update_fields=["task_id"])
    send(run)
    return run


def wait_until(run, log_path, done, what):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if done(run):
            return run
        time.sleep(0.1)
    pytest.fail(f"run {run.id} never {what} (now {run.status}, attempt {run.attempts}):\n{log_path.read_text()}")


def kill_child_mid_training(run, proc, log_path, *, attempt):
    wait_until(run, log_path, lambda r: r.attempts == attempt and r.progress.get("step"), f"trained in attempt {attempt}")
    assert run.status == "running" and run.progress["step"] < run.progress["total"], "finished before the kill"
    [child] = pool_children(proc)
    os.kill(child, signal.SIGKILL)


def test_a_run_whose_worker_child_is_killed_is_retried_once_and_succeeds(worker, project, tiny_model):
    send, proc, log_path = worker
    run = started_run(project, tiny_model, send)
    kill_child_mid_training(run, proc, log_path, attempt=1)

    run = wait_until(run, log_path, lambda r: r.status not in TrainingRun.ACTIVE_STATUSES, "finished")
    assert run.status == "succeeded", f"{run.error}\n{log_path.read_text()}"
    assert run.attempts == 2 and run.version.is_current
    assert run.progress["step"] == run.progress["total"]


def test_a_run_whose_worker_child_is_killed_twice_fails_with_the_reason(worker, project, tiny_model):
    send, proc, log_path = worker
    run = started_run(project, tiny_model, send)
    kill_child_mid_training(run, proc, log_path, attempt=1)
    kill_child_mid_training(run, proc, log_path, attempt=2)

    run = wait_until(run, log_path, lambda r: r.status not in TrainingRun.ACTIVE_STATUSES, "finished")
    assert run.status == "failed" and run.attempts == 2
    assert run.error == (
        "the worker died during each of its 2 attempts (killed mid-training, e.g. out of memory); not retried again"
    )
    assert run.version is None
