"""Classify mode through the whole loop on PostgreSQL or SQLite: labels given through the API,
imported labelled items, training a tiny classifier, the gate on accuracy, and serving
(score with probabilities, get_reward, rerank, LocalReward, RemoteReward) with reward = the
positive label's logit."""

import json
import math

import pytest
import torch
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotator.models import Classification, Comparison, Completion, Prompt
from arbiter_reward import LocalReward, RemoteReward
from rewardtrain.checkpoint_store import version_folder
from rewardtrain.models import RewardModelVersion
from tests import factories
from tests.rewardtrain.comparisons import NOUNS, train_small
from tests.rewardtrain.plain_transformers import plain_logits

LABELS = ["not hate", "hate"]
# The tiny random BERT needs a few passes to separate single words (about two seconds).
CLASSIFY = {"learning_rate": 1e-3, "epochs": 15, "batch_size": 8, "freeze_embeddings": False, "freeze_layers": 0}


@pytest.fixture
def classify_project(db, tiny_model):
    return factories.project(mode="classify", labels=LABELS, positive_label="not hate", completions_shown=2,
                             base_model=tiny_model)  # fmt: skip


def labelled_items(project, n, *, start=0):
    """n imported prompts, each with a kind reply ("not hate") and a rude one ("hate")."""
    for i in range(start, start + n):
        noun = NOUNS[i % len(NOUNS)]
        prompt = Prompt.objects.create(project=project, external_id=f"lab-{i}", text=f"tell me about the {noun} {i}", queued=False)
        for text, label in ((f"the {noun} is kind", "not hate"), (f"the {noun} is rude", "hate")):
            completion = Completion.objects.create(prompt=prompt, text=text)
            Classification.objects.create(project=project, prompt=prompt, completion=completion, label=label,
                                          source=Comparison.Source.IMPORTED)  # fmt: skip


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_labels_given_through_the_api_become_classification_rows(classify_project):
    labeler = factories.member(classify_project, "labeler")
    prompt = Prompt.objects.create(project=classify_project, external_id="p1", text="tell me about the cat")
    kind = Completion.objects.create(prompt=prompt, text="the cat is kind")
    rude = Completion.objects.create(prompt=prompt, text="the cat is rude")
    client = api(labeler)
    item = client.get(f"/api/v1/projects/{classify_project.slug}/next/").json()
    assert {c["id"] for c in item["completions"]} == {kind.id, rude.id}
    bad = client.post("/api/v1/judgments/", {"assignment": item["assignment"], "client_id": "c1",
                                             "labels": {str(kind.id): "nice", str(rude.id): "hate"}}, format="json")  # fmt: skip
    assert bad.status_code == 400 and "Unknown label 'nice'" in bad.json()["errors"]["labels"][0]
    partial = client.post("/api/v1/judgments/", {"assignment": item["assignment"], "client_id": "c1",
                                                 "labels": {str(kind.id): "not hate"}}, format="json")  # fmt: skip
    assert partial.status_code == 400 and "Label every completion" in partial.json()["errors"]["labels"][0]
    choice = client.post("/api/v1/judgments/", {"assignment": item["assignment"], "client_id": "c1", "choice": "a"}, format="json")
    assert choice.status_code == 400 and "send labels" in choice.json()["errors"]["labels"][0]
    assert not Classification.objects.exists()
    body = {"assignment": item["assignment"], "client_id": "c1", "labels": {str(kind.id): "not hate", str(rude.id): "hate"}}
    first = client.post("/api/v1/judgments/", body, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["labels"] == {str(kind.id): "not hate", str(rude.id): "hate"} and first.json()["comparisons"] == []
    assert client.post("/api/v1/judgments/", body, format="json").status_code == 200  # a retry is stored once
    rows = Classification.objects.order_by("completion_id").values_list("completion_id", "label", "annotator_id", "source")
    assert list(rows) == [(kind.id, "not hate", labeler.id, "human"), (rude.id, "hate", labeler.id, "human")]
    assert not Comparison.objects.exists()  # labels are not preferences


def test_classifier_trains_scores_with_probabilities_and_serves_rl_shapes(classify_project, live_server, tmp_path):
    labeler = factories.member(classify_project, "labeler")
    labelled_items(classify_project, 40)
    run = train_small(classify_project, **CLASSIFY)
    assert run.status == "succeeded", run.error
    m = run.metrics
    assert m["heldout_accuracy"] >= 0.9 and set(m["heldout_per_label_f1"]) == set(LABELS)
    assert m["n_train_items"] + m["n_heldout_items"] == 80 and m["gate"]["reason"].startswith("first version: ")
    # stratified by prompt: both labels are held out (each prompt has one of each here)
    folder = version_folder(RewardModelVersion.objects.get(project=classify_project, is_current=True))
    assert json.loads((folder / "arbiter.json").read_text())["head"] == {"kind": "classifier", "labels": LABELS, "positive": "not hate"}
    assert "`not hate`" in (folder / "README.md").read_text()

    items = [("tell me about the cat 0", "the cat is kind"), ("tell me about the dog 1", "the dog is rude"), ("q " * 300, "kind " * 300)]
    answer = api(labeler).post(f"/api/v1/projects/{classify_project.slug}/score/",
                               {"items": [{"prompt": p, "completion": c} for p, c in items]}, format="json")  # fmt: skip
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["version"] == 1 and len(body["probabilities"]) == 3
    for probabilities in body["probabilities"]:
        assert set(probabilities) == set(LABELS) and math.isclose(sum(probabilities.values()), 1.0, rel_tol=1e-6)
    assert body["probabilities"][0]["not hate"] > 0.5 > body["probabilities"][1]["not hate"]
    # reward = the positive label's logit, as plain transformers computes it from the checkpoint
    logits = torch.tensor(plain_logits(folder, items[:2]))
    assert body["rewards"][:2] == pytest.approx(logits[:, 0].tolist(), abs=1e-5)
    assert [p["not hate"] for p in body["probabilities"][:2]] == pytest.approx(logits.softmax(1)[:, 0].tolist(), abs=1e-5)

    # the RL shapes serve the same reward
    slug = classify_project.slug
    rl = api(labeler).post(f"/api/v1/projects/{slug}/get_reward", {"query": [p + c for p, c in items[:2]],
                                                                     "prompts": [p for p, _ in items[:2]]}, format="json")  # fmt: skip
    assert rl.json()["rewards"] == pytest.approx(body["rewards"][:2], abs=1e-5)
    rerank = api(labeler).post(f"/api/v1/projects/{slug}/rerank/", {"query": "tell me about the cat 0",
                                                                     "documents": ["the cat is rude", "the cat is kind"]}, format="json").json()  # fmt: skip
    assert [r["index"] for r in rerank["results"]] == [1, 0]
    local = LocalReward(folder)([p for p, _ in items], [c for _, c in items])
    token = Token.objects.create(user=labeler).key
    remote = RemoteReward(live_server.url, slug, token)([p for p, _ in items], [c for _, c in items])
    assert local == pytest.approx(body["rewards"], abs=1e-5) and remote == pytest.approx(body["rewards"], abs=1e-5)


def test_the_gate_compares_classifiers_on_heldout_accuracy(classify_project, settings):
    labelled_items(classify_project, 40)
    assert train_small(classify_project, **CLASSIFY).status == "succeeded"
    labelled_items(classify_project, 8, start=40)
    settings.ARBITER_GATE_MIN_PAIRS = 1000
    pending = train_small(classify_project, **CLASSIFY)
    assert pending.version.status == "pending"
    assert "held-out items, fewer than the 1000" in pending.version.rejected_reason
    settings.ARBITER_GATE_MIN_PAIRS = 5
    compared = train_small(classify_project, **CLASSIFY)
    gate = compared.metrics["gate"]
    assert compared.version.status == "published" and "test" in gate and "items" in gate["new"]["shown"]
    assert gate["new"]["n"] == gate["n_heldout"] == compared.metrics["n_heldout_items"]
    assert gate["new"]["accuracy"] == pytest.approx(compared.metrics["heldout_accuracy"])  # one accuracy, as the tables show


def test_new_labels_start_a_new_head(classify_project):
    labelled_items(classify_project, 20)
    assert train_small(classify_project, **CLASSIFY).status == "succeeded"
    classify_project.labels = ["not hate", "hate", "spam"]
    classify_project.save()
    run = train_small(classify_project, **CLASSIFY)
    assert run.status == "succeeded", run.error
    assert "other outputs" in run.metrics["warm_start_skipped"]
    assert "could not be compared" in run.metrics["gate"]["reason"] or run.metrics["gate"]["outcome"] == "pending"
