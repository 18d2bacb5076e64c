"""Filesystem paths and run tracebacks are for admins: leads see versions and one-line reasons."""

import pytest
from rest_framework.test import APIClient

from rewardtrain.models import TrainingRun
from tests.rewardtrain.comparisons import make_comparisons, train_small

TRACEBACK = """Traceback (most recent call last):
  File "/srv/arbiter/rewardtrain/services.py", line 171, in training_run_execute
    _train_and_publish(run, progress_every=progress_every, on_progress=on_progress)
  File "/srv/arbiter/rewardtrain/services.py", line 220, in _train_and_publish
    raise ValueError(f"nothing to train on: ...")
ValueError: nothing to train on: 3 comparisons, 0 outside the held-out split
"""


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def failed_run(project):
    return TrainingRun.objects.create(project=project, status="failed", error=TRACEBACK)


def test_leads_get_the_last_line_of_a_traceback_in_the_api(failed_run, lead):
    base = f"/api/v1/projects/{failed_run.project.slug}/runs"
    reason = "ValueError: nothing to train on: 3 comparisons, 0 outside the held-out split"
    assert client_for(lead).get(f"{base}/").json()[0]["error"] == reason
    assert client_for(lead).get(f"{base}/{failed_run.id}/").json()["error"] == reason


def test_admins_get_the_whole_traceback_in_the_api(failed_run, admin_user):
    base = f"/api/v1/projects/{failed_run.project.slug}/runs"
    assert client_for(admin_user).get(f"{base}/{failed_run.id}/").json()["error"] == TRACEBACK
    assert client_for(admin_user).get(f"{base}/").json()[0]["error"] == TRACEBACK


def test_the_run_page_shows_the_traceback_to_admins_and_the_reason_to_leads(failed_run, client, lead, admin_user):
    url = f"/projects/{failed_run.project.slug}/runs/{failed_run.id}/"
    client.force_login(lead)
    page = client.get(url).content.decode()
    assert "nothing to train on: 3 comparisons" in page and "/srv/arbiter" not in page
    client.force_login(admin_user)
    assert "/srv/arbiter/rewardtrain/services.py" in client.get(url).content.decode()


def test_a_one_line_error_is_shown_as_it_is(project, lead):
    run = TrainingRun.objects.create(project=project, status="failed", error="worker stopped sending heartbeats")
    body = client_for(lead).get(f"/api/v1/projects/{project.slug}/runs/{run.id}/").json()
    assert body["error"] == "worker stopped sending heartbeats"


def test_versions_in_the_api_carry_no_checkpoint_path(project, tiny_model, lead, admin_user, settings):
    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 40)
    assert train_small(project).status == "succeeded"
    for user in (lead, admin_user):
        response = client_for(user).get(f"/api/v1/projects/{project.slug}/models/")
        [version] = response.json()
        assert "path" not in version and str(settings.ARBITER_CHECKPOINT_DIR) not in response.content.decode()
