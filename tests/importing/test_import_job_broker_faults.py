"""A large upload's job is sent to the broker with the quick-failing send training runs use: a
broker that is down or hung leaves the upload page answering at once and the job failed with why."""

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from kombu import Connection

from annotator.celery import app
from annotator.models import ImportJob, Prompt
from tests.brokers import ANSWER_WITHIN_S, timed

LINES = "\n".join(json.dumps({"id": str(i), "prompt": f"p{i}", "completions": ["a", "b"]}) for i in range(30)).encode()


@pytest.fixture(autouse=True)
def _small_threshold(settings, tmp_path):
    settings.ARBITER_IMPORT_BACKGROUND_BYTES = 100
    settings.DATA_DIR = tmp_path


def upload(client, project):
    url = reverse("project_import", args=[project.slug])
    return client.post(url, {"file": SimpleUploadedFile("big.jsonl", LINES)}, follow=True)


# transaction=True: outside a test's transaction the send runs inside the request, as served.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["broker_down", "broker_hung"])
def test_the_upload_page_answers_fast_and_the_job_says_it_could_not_be_sent(broker, request, client, project, lead):
    request.getfixturevalue(broker)
    client.force_login(lead)
    response, seconds = timed(lambda: upload(client, project))
    assert response.status_code == 200 and seconds < ANSWER_WITHIN_S, (response.status_code, seconds)
    job = ImportJob.objects.get()
    assert job.status == "failed" and job.finished_at and job.errors_total == 1
    reason = job.errors[0]["reason"]
    assert reason.startswith("could not send the import to the broker (upload the file again once it is back): ")
    assert reason in response.content.decode()  # the page the upload lands on
    assert not Path(job.upload_path).exists() and Prompt.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_reachable_broker_gets_the_jobs_message_and_the_job_stays_queued(
    client, project, lead, monkeypatch, tmp_path
):
    broker = f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    monkeypatch.setenv("CELERY_BROKER_WRITE_URL", broker)
    monkeypatch.setitem(app.conf, "broker_transport_options", {})  # Redis's, with REDIS_URL set
    client.force_login(lead)
    upload(client, project)
    job = ImportJob.objects.get()
    assert (job.status, job.errors) == ("queued", [])
    with Connection(broker) as connection:
        message = connection.default_channel.basic_get("default")
    assert message is not None and message.headers["task"] == "annotator.tasks.import_job_run_task"
    assert message.decode()[0] == [job.pk]  # (args, kwargs, options)
