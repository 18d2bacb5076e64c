"""An archived project starts no training (API, page, command, schedule) but its current model is still served."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotator.project_lifecycle import (
    ARCHIVED_MESSAGE,
    ProjectArchived,
    project_archive,
)
from rewardtrain.models import ScoredSample, TrainingRun
from rewardtrain.runs import schedule_retraining, training_run_start
from tests import factories

pytestmark = pytest.mark.django_db

ITEM = {"prompt": "human: tell me about the cat. assistant:", "completion": "the cat is good"}


def client_for(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def archived(trainable):
    trainable.retrain_min_new_comparisons = 1
    trainable.save()
    project_archive(project=trainable, actor=None)
    return trainable


def test_no_run_starts_from_the_api_the_page_or_the_command(client, archived):
    lead = factories.member(archived, "lead", username="lead")
    response = client_for(lead).post(f"/api/v1/projects/{archived.slug}/train/", {}, format="json")
    assert (response.status_code, response.json()) == (409, {"detail": ARCHIVED_MESSAGE})
    client.force_login(lead)
    response = client.post(reverse("project_train", args=[archived.slug]))
    assert response.status_code == 409 and ARCHIVED_MESSAGE in response.content.decode()
    with pytest.raises(CommandError, match="archived"):
        call_command("train_reward_model", archived.slug)
    with pytest.raises(ProjectArchived):
        training_run_start(project=archived, trigger=TrainingRun.Trigger.MANUAL)
    assert not TrainingRun.objects.exists()


def test_the_schedule_leaves_archived_projects_alone(archived):
    other = factories.project(slug="active")
    assert schedule_retraining() == []
    assert not TrainingRun.objects.filter(project=archived).exists()
    assert other.archived_at is None


def test_an_archived_projects_current_model_still_scores_for_a_labeler_and_keeps_no_samples(trained):
    labeler = factories.member(trained, "labeler", username="labeler")
    trained.rl_audit_share = 1.0
    trained.save()
    project_archive(project=trained, actor=None)
    response = client_for(labeler).post(f"/api/v1/projects/{trained.slug}/score/", {"items": [ITEM]}, format="json")
    assert response.status_code == 200, response.content
    assert len(response.json()["rewards"]) == 1
    assert not ScoredSample.objects.exists()


def test_rl_audit_samples_are_not_sent_to_labeling_in_an_archived_project(client, trainable):
    lead = factories.member(trainable, "lead", username="lead")
    sample = ScoredSample.objects.create(project=trainable, version=1, prompt="q", completion="a", reward=1.0, length=1)
    project_archive(project=trainable, actor=None)
    client.force_login(lead)
    response = client.post(reverse("project_rl_audit", args=[trainable.slug]), {"sample": [sample.pk]})
    assert response.status_code == 409
    assert not trainable.prompts.filter(external_id__startswith="rl-audit-").exists()
