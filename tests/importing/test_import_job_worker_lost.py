"""An import job whose worker dies: its message is delivered again and the job imported once more,
then failed on a further death; a job whose heartbeat went stale is reaped with the reason and
its upload removed. Training runs behave the same (tests/rewardtrain/test_faults_*.py)."""

import json
import os
import signal
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings as django_settings
from django.db import OperationalError
from django.utils import timezone

from annotator import heartbeats, imports
from annotator.imports import import_job_run, import_jobs_reap_stale
from annotator.models import ImportJob, Prompt
from tests.celery_worker import pool_children, running_worker
from tests.database_outage import outage

LINES = "\n".join(json.dumps({"id": str(i), "prompt": f"p{i}", "completions": ["a", "b"]}) for i in range(30)).encode()


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path


def job_in(project, status, *, data=LINES, **fields):
    path = Path(django_settings.DATA_DIR) / f"{uuid.uuid4().hex}.upload"
    path.write_bytes(data)
    return ImportJob.objects.create(
        project=project, filename="x.jsonl", upload_path=str(path), size=len(data), status=status, **fields
    )


def running_since(project, *, seconds, attempts=1):
    """A job as a worker that died `seconds` ago, in attempt `attempts`, left it."""
    last = timezone.now() - timedelta(seconds=seconds)
    return job_in(project, "running", started_at=last, heartbeat_at=last, attempts=attempts, lines_done=12)


@pytest.mark.django_db
def test_a_job_whose_heartbeat_went_stale_is_reaped_with_the_reason_and_its_upload_removed(project, settings):
    settings.ARBITER_HEARTBEAT_STALE_SECONDS = 60
    stale = running_since(project, seconds=90)
    fresh = running_since(project, seconds=5)
    assert import_jobs_reap_stale() == [stale.pk]
    stale.refresh_from_db()
    assert stale.status == "failed" and stale.finished_at is not None and stale.errors_total == 1
    reason = stale.errors[0]["reason"]
    assert reason.startswith("the worker stopped sending heartbeats (last at ")
    assert reason.endswith("UTC); nothing was imported, upload the file again")
    assert not Path(stale.upload_path).exists()
    fresh.refresh_from_db()
    assert fresh.status == "running" and Path(fresh.upload_path).exists()
    assert import_jobs_reap_stale() == []


def test_the_reaper_runs_every_minute_on_beat():
    schedule = django_settings.CELERY_BEAT_SCHEDULE.values()
    entry = next(e for e in schedule if e["task"] == "annotator.tasks.reap_stale_import_jobs")
    assert entry["schedule"] == timedelta(minutes=1)


@pytest.mark.django_db
def test_a_job_redelivered_after_its_worker_died_is_imported_once_as_attempt_two(project):
    job = running_since(project, seconds=5)
    job = import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.errors) == ("succeeded", 2, [])
    assert Prompt.objects.count() == 30 and job.report["prompts_created"] == 30
    assert not Path(job.upload_path).exists()


@pytest.mark.django_db
def test_a_job_whose_worker_died_in_both_attempts_fails_with_the_reason(project):
    job = running_since(project, seconds=5, attempts=2)
    job = import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("failed", 2)
    assert job.errors[0]["reason"] == (
        "the worker died during each of its 2 attempts (killed mid-import, e.g. out of memory); "
        "nothing was imported, not retried again"
    )
    assert Prompt.objects.count() == 0 and not Path(job.upload_path).exists()


@pytest.mark.django_db
def test_a_finished_job_redelivered_is_left_alone(project):
    job = job_in(project, "succeeded", attempts=1)
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("succeeded", 1) and Prompt.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_running_job_writes_its_heartbeat_and_is_not_reaped(project, settings, monkeypatch):
    settings.ARBITER_HEARTBEAT_STALE_SECONDS = 1
    monkeypatch.setattr(heartbeats, "HEARTBEAT_EVERY_S", 0.1)
    real = imports.import_stream
    reaped = []

    def slow(**kwargs):
        time.sleep(1.5)  # past the stale threshold: only the heartbeat keeps it alive
        reaped.extend(import_jobs_reap_stale())
        return real(**kwargs)

    monkeypatch.setattr(imports, "import_stream", slow)
    job = job_in(project, "queued")
    job = import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert reaped == [] and (job.status, job.attempts) == ("succeeded", 1)
    assert job.heartbeat_at > job.started_at + timedelta(seconds=1)


@pytest.mark.django_db
def test_a_job_reaped_meanwhile_keeps_the_reapers_reason(project, monkeypatch):
    real = imports.import_stream

    def reaped_meanwhile(**kwargs):
        report = real(**kwargs)
        ImportJob.objects.filter(status="running").update(status="failed", errors=[{"reason": "reaped"}])
        return report

    monkeypatch.setattr(imports, "import_stream", reaped_meanwhile)
    job = import_job_run(job_id=job_in(project, "queued").pk)
    job.refresh_from_db()
    assert (job.status, job.errors) == ("failed", [{"reason": "reaped"}])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_job_that_loses_its_database_is_failed_with_the_databases_error_once_it_is_back(project, monkeypatch):
    real = imports.import_stream
    timers = []

    def outage_during_import(**kwargs):
        timers.append(outage(2))
        return real(**kwargs)

    monkeypatch.setattr(imports, "import_stream", outage_during_import)
    job = job_in(project, "queued")
    try:
        with pytest.raises(OperationalError):
            import_job_run(job_id=job.pk)
    finally:
        timers[0].join()
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("failed", 1)
    assert job.errors[0]["reason"].startswith("the import stopped: ")
    assert not Path(job.upload_path).exists() and Prompt.objects.count() == 0


# --- a real worker whose pool child is killed mid-import (as the OOM killer does) ---------------

BIG = "\n".join(
    json.dumps({"id": str(i), "prompt": f"prompt {i} " + "x" * 200, "completions": [f"a{i}", f"b{i}"]})
    for i in range(60_000)
).encode()
WAIT_S = 120


@pytest.fixture
def worker(tmp_path):
    url = os.environ["REDIS_URL"]
    queue = f"arbiter-test-imports-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    client = Celery(broker=url, set_as_current=False)
    log_path = tmp_path / "worker.log"

    def send(job):
        client.send_task("annotator.tasks.import_job_run_task", args=[job.pk], queue=queue)

    with running_worker(broker_url=url, result_backend=url, log_path=log_path, queues=queue, pool="prefork") as proc:
        yield send, proc, log_path


def wait_until(job, log_path, done, what):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if done(job):
            return job
        time.sleep(0.05)
    pytest.fail(f"job {job.pk} never {what} (now {job.status}, attempt {job.attempts}):\n{log_path.read_text()}")


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_child_is_killed_mid_import_is_imported_again_once(worker, project):
    send, proc, log_path = worker
    job = job_in(project, "queued", data=BIG)
    send(job)
    wait_until(job, log_path, lambda j: j.status == "running" and j.attempts == 1, "started")
    time.sleep(0.5)  # into the file
    [child] = pool_children(proc)
    os.kill(child, signal.SIGKILL)

    job = wait_until(job, log_path, lambda j: j.status not in ("queued", "running"), "finished")
    assert (job.status, job.attempts) == ("succeeded", 2), f"{job.errors}\n{log_path.read_text()}"
    assert Prompt.objects.filter(project=project).count() == 60_000
    assert not Path(job.upload_path).exists()
