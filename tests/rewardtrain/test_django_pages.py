"""The reward-model pages: who sees them, retrain / promote / roll back forms, the run's curves."""

import pytest

from rewardtrain.models import RewardModelVersion, TrainingRun
from tests.factories import PASSWORD, user
from tests.rewardtrain.comparisons import make_comparisons, train_small


@pytest.fixture
def trained(project, tiny_model):
    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 40)
    train_small(project)
    return project


def logged_in(client, person):
    client.login(username=person.username, password=PASSWORD)
    return client


def test_the_models_page_is_for_leads_and_admins(client, project, lead, labeler, outsider):
    url = f"/projects/{project.slug}/models/"
    assert logged_in(client, outsider).get(url).status_code == 404
    assert logged_in(client, labeler).get(url).status_code == 403
    page = logged_in(client, lead).get(url)
    assert page.status_code == 200 and b"Retrain now" in page.content and b"No version yet" in page.content


def test_retrain_now_queues_one_run(client, project, lead, monkeypatch):
    monkeypatch.setattr("rewardtrain.runs._enqueue", lambda run: None)
    logged_in(client, lead)
    response = client.post(f"/projects/{project.slug}/models/train/", follow=True)
    assert b"is queued" in response.content
    response = client.post(f"/projects/{project.slug}/models/train/", follow=True)
    assert b"already queued" in response.content
    assert TrainingRun.objects.filter(project=project, requested_by=lead).count() == 1
    page = client.get(f"/projects/{project.slug}/models/").content.decode()
    assert "data-active" in page and f'data-poll="/api/v1/projects/{project.slug}/runs/"' in page
    assert "disabled" in page  # no second "Retrain now" while one is queued


def test_versions_show_which_is_current_and_only_admins_get_promote(client, trained, lead, admin_user):
    train_small(trained)
    lead_page = logged_in(client, lead).get(f"/projects/{trained.slug}/models/").content.decode()
    assert "v1" in lead_page and "(current)" in lead_page and "Promote" not in lead_page
    assert client.post(f"/projects/{trained.slug}/models/1/promote/").status_code == 403

    admin_page = logged_in(client, admin_user).get(f"/projects/{trained.slug}/models/").content.decode()
    assert "Promote" in admin_page and "Roll back" in admin_page
    client.post(f"/projects/{trained.slug}/models/1/promote/")
    assert RewardModelVersion.objects.get(is_current=True).version == 1
    client.post(f"/projects/{trained.slug}/models/2/promote/")
    response = client.post(f"/projects/{trained.slug}/models/rollback/", follow=True)
    assert b"v1 is current again" in response.content


def test_a_superuser_sees_every_project_s_models(client, project):
    root = user("root", is_superuser=True, is_staff=True)
    assert logged_in(client, root).get(f"/projects/{project.slug}/models/").status_code == 200


def test_the_run_page_draws_loss_and_accuracy_curves(client, trained, lead, labeler):
    run = TrainingRun.objects.get()
    url = f"/projects/{trained.slug}/runs/{run.id}/"
    assert logged_in(client, labeler).get(url).status_code == 403
    page = logged_in(client, lead).get(url).content.decode()
    assert page.count("<svg") == 2 and "<polyline" in page
    assert "train loss" in page and "heldout accuracy" in page
    assert "<meta http-equiv=\"refresh\"" not in page  # finished: no refresh


def test_a_failed_run_s_error_is_escaped(client, project, lead):
    run = TrainingRun.objects.create(project=project, status="failed", error="<script>alert(1)</script>")
    page = logged_in(client, lead).get(f"/projects/{project.slug}/runs/{run.id}/").content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "No evaluation yet" in page


def test_the_admin_lists_runs_and_versions_and_promotes(client, trained):
    root = user("root", is_superuser=True, is_staff=True)
    logged_in(client, root)
    assert client.get("/admin/rewardtrain/trainingrun/").status_code == 200
    assert client.get("/admin/rewardtrain/rewardmodelversion/").status_code == 200
    train_small(trained)
    version = RewardModelVersion.objects.get(version=1)
    client.post(
        "/admin/rewardtrain/rewardmodelversion/",
        {"action": "promote", "_selected_action": [version.pk]},
    )
    assert RewardModelVersion.objects.get(is_current=True) == version
