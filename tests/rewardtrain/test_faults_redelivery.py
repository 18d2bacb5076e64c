"""A redelivered training task after its worker died: one retry, and no fight with the reaper or a stale attempt."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from annotator import heartbeats
from rewardtrain import runs, training, versions
from rewardtrain.models import RewardModelVersion, TrainingRun
from rewardtrain.runs import training_run_execute, training_run_start
from tests.rewardtrain.comparisons import SMALL


def running_since(run, *, seconds, attempts=1):
    """The row as a worker that died `seconds` ago, in attempt `attempts`, left it."""
    last = timezone.now() - timedelta(seconds=seconds)
    TrainingRun.objects.filter(id=run.id).update(
        status="running", started_at=last, heartbeat_at=last, attempts=attempts, progress={"step": 3, "total": 9}
    )


def test_a_task_redelivered_after_its_worker_died_trains_the_run_again_as_attempt_two(trainable):
    run = training_run_start(project=trainable, trigger="manual", options=SMALL)
    running_since(run, seconds=5)
    run = training_run_execute(run_id=run.id, task_id=run.task_id, progress_every=0)
    assert (run.status, run.attempts, run.error) == ("succeeded", 2, "")
    assert run.version.is_current and run.progress["step"] == run.progress["total"]


def test_a_stale_message_does_not_retry_a_running_run(trainable, monkeypatch):
    run = training_run_start(project=trainable, trigger="manual", options=SMALL)
    running_since(run, seconds=5)
    monkeypatch.setattr(training, "train", lambda *a, **kw: pytest.fail("a stale message trained"))
    run = training_run_execute(run_id=run.id, task_id="an-older-send")
    assert (run.status, run.attempts) == ("running", 1)


def test_the_retry_refreshes_the_heartbeat_so_the_reaper_leaves_it_alone(trainable, settings):
    settings.ARBITER_HEARTBEAT_STALE_SECONDS = 60
    run = training_run_start(project=trainable, trigger="manual", options=SMALL)
    running_since(run, seconds=90)  # stale: the reaper would take it now
    reaped = []

    def reaper_tick(report):
        reaped.extend(runs.reap_stale_runs())

    run = training_run_execute(run_id=run.id, task_id=run.task_id, progress_every=0, on_progress=reaper_tick)
    assert reaped == [] and (run.status, run.attempts) == ("succeeded", 2)


def test_an_earlier_attempt_still_alive_stops_at_its_next_heartbeat(trainable):
    run = training_run_start(project=trainable, trigger="manual", options={**SMALL, "epochs": 2})
    steps = []

    def redelivered_meanwhile(report):
        steps.append(report["step"])
        TrainingRun.objects.filter(id=run.id).update(attempts=2, heartbeat_at=timezone.now())

    run = training_run_execute(run_id=run.id, task_id=run.task_id, progress_every=0, on_progress=redelivered_meanwhile)
    assert steps == [1]
    assert (run.status, run.attempts, run.error) == ("running", 2, "")  # the retry's row, untouched
    assert not RewardModelVersion.objects.exists()


def test_a_run_reaped_after_its_last_heartbeat_publishes_nothing(trainable, monkeypatch):
    run = training_run_start(project=trainable, trigger="manual", options=SMALL)
    real_train = training.train

    def train_then_reaped(*args, **kwargs):
        result = real_train(*args, **kwargs)
        TrainingRun.objects.filter(id=run.id).update(status="failed", error="worker stopped sending heartbeats")
        return result

    monkeypatch.setattr(training, "train", train_then_reaped)
    run = training_run_execute(run_id=run.id, task_id=run.task_id, progress_every=0)
    assert (run.status, run.error) == ("failed", "worker stopped sending heartbeats")
    assert not RewardModelVersion.objects.exists()
    assert not (versions.checkpoint_root(project=trainable) / "v1").exists()


def test_a_dead_workers_run_is_taken_from_it_within_about_two_minutes_by_default(trainable, settings):
    assert settings.ARBITER_HEARTBEAT_STALE_SECONDS == 120
    run = training_run_start(project=trainable, trigger="manual", options=SMALL)
    running_since(run, seconds=121)
    assert runs.reap_stale_runs() == [run.id]


@pytest.mark.django_db(transaction=True)  # the heartbeat thread has its own connection: no test transaction
def test_a_long_stretch_without_a_training_step_keeps_the_heartbeat_fresh(trainable, settings, monkeypatch):
    settings.ARBITER_HEARTBEAT_STALE_SECONDS = 1
    monkeypatch.setattr(heartbeats, "HEARTBEAT_EVERY_S", 0.2)
    real_train = training.train
    reaped = []

    def long_evaluation_first(*args, **kwargs):
        time.sleep(2.5)  # no step, no progress: as a large held-out evaluation
        reaped.extend(runs.reap_stale_runs())
        return real_train(*args, **kwargs)

    monkeypatch.setattr(training, "train", long_evaluation_first)
    run = training_run_start(project=trainable, trigger="manual", options=SMALL, enqueue=False)
    run = training_run_execute(run_id=run.id, progress_every=0)
    assert reaped == [] and run.status == "succeeded", run.error
