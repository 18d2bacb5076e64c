"""Training runs and changes of the current version are in the project's audit log: who started a
run and how, what it ended as, who promoted or rolled back, from the page, the API or the admin."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from annotator.audit_sentences import audit_sentence
from annotator.models import AuditEntry
from rewardtrain import runs
from rewardtrain.models import RewardModelVersion, TrainingRun
from rewardtrain.runs import training_run_execute, training_run_start
from tests.rewardtrain.comparisons import SMALL, train_small


def entries(action):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def api_client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.django_db
def test_starting_a_run_is_audited_with_who_the_trigger_and_the_options(trainable, lead, client):
    client.force_login(lead)
    client.post(f"/projects/{trainable.slug}/models/train/")
    api_client(lead).post(f"/api/v1/projects/{trainable.slug}/train/", {"epochs": 2}, format="json")  # already queued: no entry
    TrainingRun.objects.update(status="failed")
    api_client(lead).post(f"/api/v1/projects/{trainable.slug}/train/", {"epochs": 2}, format="json")
    first, second = entries("run.start")
    assert (first.actor, first.detail["trigger"], first.detail["options"]) == (lead, "manual", {})
    assert (second.actor, second.detail["options"]) == (lead, {"epochs": 2})
    assert audit_sentence(second) == f'lead started training run {second.detail["run"]} (manual) with options {{"epochs": 2}}'


@pytest.mark.django_db
def test_a_run_s_result_is_audited_with_no_actor(trainable):
    run = train_small(trainable)
    [finish] = entries("run.finish")
    assert finish.actor is None and finish.project == trainable
    assert finish.detail == {
        "run": run.id, "status": "succeeded", "version": 1,
        "gate_outcome": run.metrics["gate"]["outcome"], "reason": run.metrics["gate"]["reason"],
    }  # fmt: skip
    assert audit_sentence(finish).startswith(f"training run {run.id} succeeded: version 1 published by the gate")


@pytest.mark.django_db
def test_a_failed_run_is_audited_with_the_error_s_last_line(trainable):
    def exploding(report):
        raise RuntimeError("disk on fire")

    run = training_run_start(project=trainable, trigger="manual", options=SMALL)
    run = training_run_execute(run_id=run.id, progress_every=0, on_progress=exploding)
    [finish] = entries("run.finish")
    assert finish.detail == {"run": run.id, "status": "failed", "version": None, "reason": "RuntimeError: disk on fire"}
    assert audit_sentence(finish) == f'training run {run.id} failed: "RuntimeError: disk on fire"'


@pytest.mark.django_db
def test_a_reaped_run_is_audited(trainable, settings):
    from datetime import timedelta

    from django.utils import timezone

    run = training_run_start(project=trainable, trigger="manual", options=SMALL, enqueue=False)
    long_ago = timezone.now() - timedelta(hours=1)
    # Its last attempt: a run with one left is queued again instead (its finish is still to come).
    TrainingRun.objects.filter(id=run.id).update(status="running", heartbeat_at=long_ago, attempts=runs.MAX_ATTEMPTS)
    assert runs.reap_stale_runs() == [run.id]
    [finish] = entries("run.finish")
    assert finish.detail["status"] == "failed" and "stopped sending heartbeats" in finish.detail["reason"]


@pytest.mark.django_db
def test_promotions_and_rollbacks_are_audited_from_the_page_the_api_and_the_admin(two_versions, admin_user, client):
    client.force_login(admin_user)
    client.post(f"/projects/{two_versions.slug}/models/1/promote/")
    api_client(admin_user).post(f"/api/v1/projects/{two_versions.slug}/models/2/promote/")
    client.post(f"/projects/{two_versions.slug}/models/rollback/")
    api_client(admin_user).post(f"/api/v1/projects/{two_versions.slug}/models/2/promote/")
    api_client(admin_user).post(f"/api/v1/projects/{two_versions.slug}/models/rollback/")
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(root)
    client.post(
        "/admin/rewardtrain/rewardmodelversion/",
        {"action": "promote", "index": 0, "_selected_action": [RewardModelVersion.objects.get(version=2).pk]},
    )
    promotions = [(e.actor_username, e.detail["version"], e.detail["previous"]) for e in entries("model_version.promote")]
    assert promotions == [("projectadmin", 1, 2), ("projectadmin", 2, 1), ("projectadmin", 2, 1), ("root", 2, 1)]
    rollbacks = [(e.actor_username, e.detail["version"], e.detail["previous"]) for e in entries("model_version.rollback")]
    assert rollbacks == [("projectadmin", 1, 2), ("projectadmin", 1, 2)]
    assert audit_sentence(entries("model_version.rollback")[0]) == "projectadmin rolled back from version 2 to version 1"
    assert audit_sentence(entries("model_version.promote")[0]) == "projectadmin made version 1 current (was version 2)"


@pytest.mark.django_db
def test_promoting_over_the_gate_is_audited_as_such(two_versions, admin_user):
    RewardModelVersion.objects.filter(version=1).update(status="rejected", rejected_reason="worse")
    api_client(admin_user).post(f"/api/v1/projects/{two_versions.slug}/models/1/promote/")
    [promote] = entries("model_version.promote")
    assert promote.detail["overruled"] == "rejected"
    assert audit_sentence(promote) == "projectadmin made version 1 current (was version 2), overruling the gate (rejected)"
