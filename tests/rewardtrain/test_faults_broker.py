"""A broker that is down or hung: starting a run answers fast, records why, and the next tick re-sends it."""

import socket

import pytest
from kombu import Connection
from rest_framework.test import APIClient

from rewardtrain import runs
from rewardtrain.models import TrainingRun
from tests.brokers import ANSWER_WITHIN_S, timed
from tests.rewardtrain.comparisons import make_comparisons

# The broker_down and broker_hung fixtures: tests/brokers.py.


def api_train(user, project):
    client = APIClient()
    client.force_authenticate(user)
    return client.post(f"/api/v1/projects/{project.slug}/train/", {}, format="json")


# transaction=True: outside a test's transaction the send runs inside the request, as served.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["broker_down", "broker_hung"])
def test_the_train_api_answers_fast_and_the_run_stays_queued_with_the_reason(broker, request, project, lead):
    request.getfixturevalue(broker)
    response, seconds = timed(lambda: api_train(lead, project))
    assert response.status_code == 201 and seconds < ANSWER_WITHIN_S, (response.status_code, seconds)
    run = TrainingRun.objects.get()
    assert run.status == "queued" and run.enqueued_at
    assert run.send_error.startswith("could not send the run to the broker: ")
    assert response.json()["send_error"] == run.send_error


@pytest.mark.django_db(transaction=True)
def test_retrain_now_answers_fast_and_the_run_page_says_it_is_not_sent_yet(broker_hung, client, project, lead):
    client.force_login(lead)
    response, seconds = timed(lambda: client.post(f"/projects/{project.slug}/models/train/", follow=True))
    assert response.status_code == 200 and seconds < ANSWER_WITHIN_S, seconds
    run = TrainingRun.objects.get()
    assert run.send_error and "could not reach the broker" in response.content.decode()
    page = client.get(f"/projects/{project.slug}/runs/{run.id}/").content.decode()
    assert "Not sent to a worker yet" in page and "could not send the run to the broker" in page


@pytest.mark.django_db(transaction=True)
def test_the_schedule_answers_fast_when_the_broker_hangs(broker_hung, project):
    project.retrain_min_new_comparisons = 1
    project.save()
    make_comparisons(project, 1)
    (run,), seconds = timed(runs.schedule_retraining)
    assert seconds < ANSWER_WITHIN_S
    run.refresh_from_db()
    assert run.status == "queued" and run.send_error


def test_the_next_tick_re_sends_a_run_whose_send_failed_once_the_broker_is_back(
    monkeypatch, tmp_path, project, settings, django_capture_on_commit_callbacks
):
    settings.ARBITER_QUEUED_RESEND_MINUTES = 30  # far away: only the recorded failure makes it due
    refusing = socket.socket()
    refusing.bind(("127.0.0.1", 0))
    monkeypatch.setenv("CELERY_BROKER_WRITE_URL", f"redis://127.0.0.1:{refusing.getsockname()[1]}/0")
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.training_run_start(project=project, trigger="manual")
    refusing.close()
    failed_task_id = run.task_id
    assert TrainingRun.objects.get().send_error

    back = f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    monkeypatch.setenv("CELERY_BROKER_WRITE_URL", back)
    monkeypatch.setitem(runs.app.conf, "broker_transport_options", {})  # Redis's, with REDIS_URL set
    runs.reap_stale_runs()
    run.refresh_from_db()
    assert run.status == "queued" and run.send_error == "" and run.task_id != failed_task_id
    with Connection(back) as connection:
        message = connection.default_channel.basic_get("training")
    assert message is not None and message.headers["id"] == run.task_id
    assert message.headers["task"] == "rewardtrain.tasks.train_reward_model"

