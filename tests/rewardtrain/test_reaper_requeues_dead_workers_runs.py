"""A run whose worker host died (no heartbeat) goes to another worker: the reaper queues it again
under a new task id, once; the broker's own redelivery (Redis: after its visibility timeout,
hours) is not waited for. A second death fails it."""

import pytest

from rewardtrain import runs, training
from rewardtrain.models import TrainingRun
from rewardtrain.runs import MAX_ATTEMPTS, training_run_execute, training_run_start
from tests.rewardtrain.comparisons import SMALL
from tests.rewardtrain.test_faults_redelivery import running_since

pytestmark = pytest.mark.django_db


def sent_once(run):
    """The row as sent to the broker once, under a task id of its own."""
    TrainingRun.objects.filter(id=run.id).update(task_id="first-send")
    return "first-send"


def test_the_reaper_queues_a_dead_workers_run_again_under_a_new_task_id(
    trainable, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.ARBITER_HEARTBEAT_STALE_SECONDS = 60
    sent = []
    monkeypatch.setattr(runs, "_enqueue", sent.append)
    run = training_run_start(project=trainable, trigger="manual", options=SMALL, enqueue=False)
    old_task = sent_once(run)
    running_since(run, seconds=90, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):  # sent once the requeue is committed
        assert runs.reap_stale_runs() == [run.id]
    run.refresh_from_db()
    assert run.status == "queued" and run.attempts == 1 and run.task_id != old_task
    assert run.note.startswith("its worker stopped sending heartbeats") and "queued again" in run.note
    assert [r.id for r in sent] == [run.id] and sent[0].task_id == run.task_id


def test_the_old_message_claims_nothing_and_the_new_one_trains_it_as_attempt_two(
    trainable, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.ARBITER_HEARTBEAT_STALE_SECONDS = 60
    monkeypatch.setattr(runs, "_enqueue", lambda run: None)
    run = training_run_start(project=trainable, trigger="manual", options=SMALL, enqueue=False)
    old_task = sent_once(run)
    running_since(run, seconds=90, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        runs.reap_stale_runs()
    run.refresh_from_db()
    real_train = training.train
    monkeypatch.setattr(training, "train", lambda *a, **kw: pytest.fail("the old message trained"))
    assert training_run_execute(run_id=run.id, task_id=old_task).status == "queued"
    monkeypatch.setattr(training, "train", real_train)
    done = training_run_execute(run_id=run.id, task_id=run.task_id, progress_every=0)
    assert (done.status, done.attempts) in {("succeeded", 2), ("rejected", 2)}, done.error


def test_a_run_whose_worker_died_in_its_last_attempt_fails(trainable, settings, monkeypatch):
    settings.ARBITER_HEARTBEAT_STALE_SECONDS = 60
    monkeypatch.setattr(runs, "_enqueue", lambda run: pytest.fail("sent again"))
    run = training_run_start(project=trainable, trigger="manual", options=SMALL, enqueue=False)
    running_since(run, seconds=90, attempts=MAX_ATTEMPTS)
    assert runs.reap_stale_runs() == [run.id]
    run.refresh_from_db()
    assert run.status == "failed" and "stopped sending heartbeats" in run.error
    assert TrainingRun.objects.get(id=run.id).finished_at is not None
