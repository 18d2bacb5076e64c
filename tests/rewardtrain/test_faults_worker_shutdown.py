"""Ctrl-C under `make run`: honcho with the real Procfile stops web, worker and beat in time, and
the run the worker was training is queued again, noted, for the next start to train.

On a temporary SQLite database and the embedded broker, as `make run` runs.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings

from rewardtrain.models import TrainingRun
from rewardtrain.runs import TRAIN_TASK, training_run_start
from tests import celery_worker
from tests.rewardtrain.comparisons import SMALL

ROOT = Path(__file__).resolve().parents[2]
STOPS_WITHIN_S = 10  # what Ctrl-C promises (README, Running)
SLOW = {**SMALL, "batch_size": 1, "epochs": 5}  # about 150 steps of the tiny model: a run still going when stopped
WAIT_S = 120

pytestmark = pytest.mark.django_db(transaction=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def make_run(tmp_path, broker_url, log_path):
    """The repository's Procfile under annotator.procfile_runner, as `make run` starts it; yields the process."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "DJANGO_SETTINGS_MODULE": "annotator.settings",
        "DATABASE_URL": celery_worker.test_database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": f"db+sqlite:///{tmp_path / 'results.sqlite3'}",
        "ARBITER_BIND": f"127.0.0.1:{free_port()}",
        "WEB_CONCURRENCY": "1",
        "ARBITER_DATA_DIR": str(tmp_path / "data"),
        "ARBITER_CHECKPOINT_DIR": str(settings.ARBITER_CHECKPOINT_DIR),
        "ARBITER_MODEL_ROOTS": ":".join(str(root) for root in settings.ARBITER_MODEL_ROOTS),
    }
    (tmp_path / "data").mkdir(exist_ok=True)
    no_env_file = tmp_path / "empty.env"
    no_env_file.write_text("")
    log = open(log_path, "w")
    honcho = subprocess.Popen(
        [sys.executable, "-m", "annotator.procfile_runner", "-e", str(no_env_file)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        yield honcho
    finally:
        if honcho.poll() is None:
            honcho.send_signal(signal.SIGINT)
            try:
                honcho.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(honcho.pid, signal.SIGKILL)
        log.close()


def wait_until(done, what, log_path):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = done()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"never {what}:\n{log_path.read_text()}")


def test_ctrl_c_stops_everything_in_time_and_the_next_start_trains_the_interrupted_run(trainable, tmp_path):
    broker_url = f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    run = training_run_start(project=trainable, trigger="manual", options=SLOW, enqueue=False)
    run.task_id = str(uuid.uuid4())
    run.save(update_fields=["task_id"])
    Celery(broker=broker_url, set_as_current=False).send_task(
        TRAIN_TASK, args=[run.id], task_id=run.task_id, queue="training"
    )

    first_log = tmp_path / "first.log"
    with make_run(tmp_path, broker_url, first_log) as honcho:
        wait_until(lambda: TrainingRun.objects.get(id=run.id).progress.get("step"), "trained a step", first_log)
        stopping = time.monotonic()
        honcho.send_signal(signal.SIGINT)  # what Ctrl-C sends it (its processes have sessions of their own)
        try:
            honcho.wait(timeout=STOPS_WITHIN_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {STOPS_WITHIN_S} s after Ctrl-C:\n{first_log.read_text()}")
        took = time.monotonic() - stopping
    output = first_log.read_text()
    assert took < STOPS_WITHIN_S and "SIGKILL" not in output, output
    assert all(f"{name}.1 stopped" in output for name in ("web", "worker", "beat")), output
    assert "Warm shutdown" in output and "Cold shutdown" not in output, output

    run.refresh_from_db()
    assert (run.status, run.attempts) == ("queued", 0), output
    assert run.note.startswith("interrupted by worker shutdown at ") and "; queued again" in run.note
    assert run.progress == {} and run.version is None
    assert run.send_error == "its worker shut down; the next worker to start takes it"

    second_log = tmp_path / "second.log"
    with make_run(tmp_path, broker_url, second_log):
        finished = wait_until(
            lambda: (r := TrainingRun.objects.get(id=run.id)).status not in TrainingRun.ACTIVE_STATUSES and r,
            "finished the run",
            second_log,
        )
    assert finished.status == "succeeded", f"{finished.error}\n{second_log.read_text()}"
    assert finished.attempts == 1 and finished.version.version == 1
    assert finished.note == run.note  # still says what befell it
