"""The reward-model API: training and versions for leads/admins, scoring and ranking for members."""

import math
import shutil

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from rewardtrain.checkpoint_store import version_folder
from rewardtrain.models import RewardModelVersion, TrainingRun
from rewardtrain.scoring import Scorer
from tests.rewardtrain.comparisons import make_comparisons, train_small


@pytest.fixture
def trained(project, tiny_model):
    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 40)
    run = train_small(project)
    assert run.status == "succeeded", run.error
    return project


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def score(user, project, items):
    return client_for(user).post(f"/api/v1/projects/{project.slug}/score/", {"items": items}, format="json")


# --- training and versions -----------------------------------------------------------------


def test_a_lead_starts_a_run_and_a_second_request_gets_the_same_run(project, lead, monkeypatch):
    monkeypatch.setattr("rewardtrain.runs._enqueue", lambda run: None)
    url = f"/api/v1/projects/{project.slug}/train/"
    first = client_for(lead).post(url, {"epochs": 2, "from_scratch": True}, format="json")
    assert first.status_code == 201
    assert first.json()["status"] == "queued" and first.json()["options"] == {"epochs": 2, "from_scratch": True}
    again = client_for(lead).post(url, {}, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert TrainingRun.objects.get().requested_by == lead


def test_a_run_may_ask_for_the_cls_pooler(project, lead, monkeypatch):
    monkeypatch.setattr("rewardtrain.runs._enqueue", lambda run: None)
    url = f"/api/v1/projects/{project.slug}/train/"
    bad = client_for(lead).post(url, {"pooling": "max"}, format="json")
    assert bad.status_code == 400 and "pooling" in bad.json()["errors"]
    assert not TrainingRun.objects.exists()
    asked = client_for(lead).post(url, {"pooling": "cls"}, format="json")
    assert asked.status_code == 201 and asked.json()["options"] == {"pooling": "cls"}


def test_training_is_refused_to_labelers_outsiders_and_bad_input(project, labeler, outsider, admin_user):
    url = f"/api/v1/projects/{project.slug}/train/"
    assert client_for(labeler).post(url, {}, format="json").status_code == 403
    assert client_for(outsider).post(url, {}, format="json").status_code == 404
    assert APIClient().post(url, {}, format="json").status_code == 401
    bad = client_for(admin_user).post(url, {"epochs": 0}, format="json")
    assert bad.status_code == 400 and "epochs" in bad.json()["errors"]
    assert not TrainingRun.objects.exists()


def test_runs_and_models_are_listed_for_leads(trained, lead, labeler, outsider):
    runs = client_for(lead).get(f"/api/v1/projects/{trained.slug}/runs/")
    assert runs.status_code == 200
    [run] = runs.json()
    assert run["status"] == "succeeded" and run["version"] == 1 and run["split"]["n_heldout"] > 0
    detail = client_for(lead).get(f"/api/v1/projects/{trained.slug}/runs/{run['id']}/").json()
    assert detail["history"] and detail["metrics"]["heldout_accuracy"] is not None
    models = client_for(lead).get(f"/api/v1/projects/{trained.slug}/models/").json()
    assert [(m["version"], m["is_current"], m["status"]) for m in models] == [(1, True, "published")]
    assert client_for(labeler).get(f"/api/v1/projects/{trained.slug}/runs/").status_code == 403
    assert client_for(outsider).get(f"/api/v1/projects/{trained.slug}/models/").status_code == 404


def test_only_admins_promote_and_roll_back(trained, admin_user, lead):
    train_small(trained)
    base = f"/api/v1/projects/{trained.slug}/models"
    assert client_for(lead).post(f"{base}/1/promote/").status_code == 403
    promoted = client_for(admin_user).post(f"{base}/1/promote/")
    assert promoted.status_code == 200 and promoted.json()["is_current"]
    assert client_for(admin_user).post(f"{base}/9/promote/").status_code == 404
    # v1 is current and has no published predecessor.
    assert client_for(admin_user).post(f"{base}/rollback/").status_code == 409
    client_for(admin_user).post(f"{base}/2/promote/")
    rolled = client_for(admin_user).post(f"{base}/rollback/")
    assert rolled.status_code == 200 and rolled.json()["version"] == 1
    assert RewardModelVersion.objects.get(is_current=True).version == 1


# --- scoring -------------------------------------------------------------------------------


def test_scoring_without_a_version_is_503_with_a_clear_message(project, labeler):
    response = score(labeler, project, [{"prompt": "p", "completion": "c"}])
    assert response.status_code == 503
    assert "no reward model yet" in response.json()["detail"]


@pytest.mark.local_storage  # a bucket's version is fetched again instead
def test_an_unreadable_checkpoint_is_503(trained, labeler):
    version = RewardModelVersion.objects.get(is_current=True)
    shutil.rmtree(version_folder(version))
    response = score(labeler, trained, [{"prompt": "p", "completion": "c"}])
    assert response.status_code == 503
    assert response.json()["detail"] == "no reward model version can score: v1 failed verification: the checkpoint folder is missing"


def test_a_labeler_gets_rewards_in_the_order_of_the_items(trained, labeler):
    items = [
        {"prompt": "human: tell me about the cat. assistant:", "completion": "the cat is good and kind"},
        {"prompt": "human: tell me about the cat. assistant:", "completion": "the cat is bad and rude"},
        {"prompt": "human: what is the sky? assistant:", "completion": "the sky is blue " * 30},
    ]
    response = score(labeler, trained, items)
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 1 and len(body["rewards"]) == 3
    reference = Scorer.load(version_folder(RewardModelVersion.objects.get()), device="cpu")
    for item, reward in zip(items, body["rewards"]):
        assert reward == pytest.approx(reference.score([(item["prompt"], item["completion"])])[0], abs=1e-5)


def test_scoring_refuses_outsiders_and_bad_input(trained, labeler, outsider):
    assert score(outsider, trained, [{"prompt": "p", "completion": "c"}]).status_code == 404
    assert score(labeler, trained, []).status_code == 400
    assert score(labeler, trained, [{"prompt": "p"}]).status_code == 400
    too_many = [{"prompt": "p", "completion": "c"}] * (settings.ARBITER_SCORE_MAX_ITEMS + 1)
    response = score(labeler, trained, too_many)
    assert response.status_code == 413 and "ARBITER_SCORE_MAX_ITEMS" in response.json()["detail"]


def test_rank_sorts_best_first_and_gives_p_first_better_for_two(trained, labeler):
    url = f"/api/v1/projects/{trained.slug}/rank/"
    prompt = "human: tell me about the dog. assistant:"
    texts = ["the dog is bad", "the dog is good and kind", "the dog"]
    body = client_for(labeler).post(url, {"prompt": prompt, "completions": texts}, format="json").json()
    rewards = [row["reward"] for row in body["completions"]]
    assert rewards == sorted(rewards, reverse=True)
    assert sorted(row["index"] for row in body["completions"]) == [0, 1, 2]
    assert all(texts[row["index"]] == row["text"] for row in body["completions"])
    assert "p_first_better" not in body

    pair = client_for(labeler).post(url, {"prompt": prompt, "completions": texts[:2]}, format="json").json()
    by_index = {row["index"]: row["reward"] for row in pair["completions"]}
    assert pair["p_first_better"] == pytest.approx(1 / (1 + math.exp(-(by_index[0] - by_index[1]))))


def test_scoring_follows_the_current_version(trained, labeler, admin_user):
    item = [{"prompt": "human: tell me about the cat. assistant:", "completion": "the cat is good"}]
    assert score(labeler, trained, item).json()["version"] == 1
    train_small(trained, learning_rate=1e-2)
    client_for(admin_user).post(f"/api/v1/projects/{trained.slug}/models/2/promote/")
    second = score(labeler, trained, item).json()
    client_for(admin_user).post(f"/api/v1/projects/{trained.slug}/models/1/promote/")
    first = score(labeler, trained, item).json()
    assert (second["version"], first["version"]) == (2, 1)
    assert second["rewards"] != first["rewards"]
