"""The promotion gate needs evidence: below ARBITER_GATE_MIN_PAIRS held-out pairs a later version
waits for an admin; above it a version is rejected only when worse with confidence; the versions
table, the run page and the gate's message quote the same figures; best-of-K on held-out rankings."""

import uuid

import pytest
from django.utils.html import escape
from rest_framework.test import APIClient

from annotator.models import Completion, Judgment, Prompt
from rewardtrain import selectors
from rewardtrain.data import is_heldout
from rewardtrain.models import RewardModelVersion, TrainingRun
from tests.factories import PASSWORD
from tests.rewardtrain.comparisons import SMALL, fake_gate_scores, make_comparisons, train_small


@pytest.fixture
def trainable(project, tiny_model):
    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 40)  # 11 of the 40 prompts are held out at SMALL's 0.25
    return project


def heldout_prompts(project):
    return sorted(p.text for p in project.prompts.all() if is_heldout(p.text, SMALL["heldout_fraction"]))


def always(prompt):
    return True


def never(prompt):
    return False


def page(client, person, url):
    client.login(username=person.username, password=PASSWORD)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


# --- below the evidence threshold ----------------------------------------------------------


def test_the_gate_scores_the_new_version_as_training_measured_it(trainable):
    run = train_small(trainable)  # real scoring, no patch
    new = run.version.metrics["gate"]["new"]
    assert new["n"] == run.split["n_heldout"] and new["low"] <= new["accuracy"] <= new["high"]
    assert new["accuracy"] == pytest.approx(run.metrics["heldout_accuracy"])


def test_below_the_threshold_the_first_version_goes_live_and_a_later_one_waits(trainable, settings, monkeypatch):
    settings.ARBITER_GATE_MIN_PAIRS = 50
    first = train_small(trainable).version
    assert (first.status, first.is_current) == ("published", True)
    assert first.metrics["gate"]["reason"].startswith("first version: ")  # it beat chance
    calls = fake_gate_scores(monkeypatch, new_right=always, current_right=always)
    run = train_small(trainable)
    version = run.version
    n = run.split["n_heldout"]
    assert version.status == RewardModelVersion.Status.PENDING and not version.is_current
    assert run.status == TrainingRun.Status.SUCCEEDED  # the run worked; the version waits
    assert selectors.current_version(project=trainable) == first
    assert version.rejected_reason == (
        f"pending evidence: {n} held-out pairs, fewer than the 50 the gate needs to compare it "
        "with the current v1 (ARBITER_GATE_MIN_PAIRS); an admin may promote it"
    )
    assert calls["current"] == []  # accuracies are not compared, so the current version is not even loaded
    # A pending version is no fallback for scoring: only published ones are.
    assert list(selectors.published_versions_before(project=trainable, version=3)) == [first]


def test_an_admin_promotes_a_pending_version_on_the_page(trainable, settings, monkeypatch, client, admin_user):
    settings.ARBITER_GATE_MIN_PAIRS = 50
    train_small(trainable)
    pending = train_small(trainable).version
    assert pending.status == "pending"
    html = page(client, admin_user, f"/projects/{trainable.slug}/models/")
    assert "Pending evidence" in html and f"/models/{pending.version}/promote/" in html
    response = client.post(f"/projects/{trainable.slug}/models/{pending.version}/promote/", follow=True)
    assert f"v{pending.version} is now current." in response.content.decode()
    pending.refresh_from_db()
    assert pending.is_current and pending.status == "published"
    assert pending.rejected_reason.startswith("promoted by an admin over the gate: pending evidence:")


def test_an_admin_promotes_a_pending_version_through_the_api(trainable, settings, admin_user):
    settings.ARBITER_GATE_MIN_PAIRS = 50
    train_small(trainable)
    pending = train_small(trainable).version
    api = APIClient()
    api.force_authenticate(admin_user)
    response = api.post(f"/api/v1/projects/{trainable.slug}/models/{pending.version}/promote/")
    assert response.status_code == 200, response.content
    assert selectors.current_version(project=trainable) == pending


def test_the_threshold_comes_from_the_environment_setting(trainable, settings, monkeypatch):
    n = len(heldout_prompts(trainable))
    settings.ARBITER_GATE_MIN_PAIRS = n + 1
    train_small(trainable)
    fake_gate_scores(monkeypatch, new_right=always, current_right=always)
    assert train_small(trainable).version.status == "pending"
    settings.ARBITER_GATE_MIN_PAIRS = n
    assert train_small(trainable).version.status == "published"


# --- above the threshold -------------------------------------------------------------------


def test_above_the_threshold_a_version_worse_with_confidence_is_rejected(trainable, settings, monkeypatch):
    settings.ARBITER_GATE_MIN_PAIRS, settings.ARBITER_GATE_CONFIDENCE = 5, 0.95
    first = train_small(trainable).version
    fake_gate_scores(monkeypatch, new_right=never, current_right=always)
    run = train_small(trainable)
    gate = run.version.metrics["gate"]
    n = gate["n_heldout"]
    assert (run.status, run.version.status, gate["outcome"]) == ("rejected", "rejected", "rejected")
    assert (gate["new"]["accuracy"], gate["current"]["accuracy"]) == (0.0, 1.0)
    assert (gate["test"]["new_better"], gate["test"]["current_better"]) == (0, n)
    assert gate["test"]["p_value"] == pytest.approx(2 / 2**n)
    assert gate["new"]["high"] < gate["current"]["low"]  # Wilson intervals, stored for the pages
    assert selectors.current_version(project=trainable) == first


def test_above_the_threshold_a_lower_accuracy_without_confidence_goes_live(trainable, settings, monkeypatch):
    settings.ARBITER_GATE_MIN_PAIRS = 5
    train_small(trainable)
    held = heldout_prompts(trainable)
    # New misses 3 pairs the current one gets, and gets 1 it misses: lower accuracy, p = 0.625.
    fake_gate_scores(
        monkeypatch, new_right=lambda p: p not in held[:3], current_right=lambda p: p != held[3]
    )
    run = train_small(trainable)
    gate = run.version.metrics["gate"]
    assert gate["new"]["accuracy"] < gate["current"]["accuracy"]
    assert (gate["test"]["new_better"], gate["test"]["current_better"]) == (1, 3)
    assert gate["test"]["p_value"] == pytest.approx(0.625)
    assert run.version.is_current and gate["reason"].startswith("not worse with 95% confidence: ")


def test_a_lower_confidence_level_rejects_on_less_evidence(trainable, settings, monkeypatch):
    settings.ARBITER_GATE_MIN_PAIRS = 5
    train_small(trainable)
    held = heldout_prompts(trainable)
    # 4 pairs lost, none won: p = 2/16 = 0.125, worse at 80% confidence but not at 95%
    fake_gate_scores(monkeypatch, new_right=lambda p: p not in held[:4], current_right=always)
    settings.ARBITER_GATE_CONFIDENCE = 0.95
    assert train_small(trainable).version.status == "published"
    settings.ARBITER_GATE_CONFIDENCE = 0.80
    assert train_small(trainable).version.status == "rejected"


# --- the pages agree with the gate ---------------------------------------------------------


def test_the_versions_table_the_run_page_and_the_message_quote_the_same_figures(
    trainable, settings, monkeypatch, client, lead
):
    settings.ARBITER_GATE_MIN_PAIRS = 5
    train_small(trainable)  # v1, on the 11 held-out pairs of 40 prompts
    make_comparisons(trainable, 40, start=40)  # more data: v2's held-out pairs are not v1's
    held = heldout_prompts(trainable)
    # v1 scores well on v2's held-out pairs; v2 loses many of them.
    fake_gate_scores(monkeypatch, new_right=lambda p: p in held[:3], current_right=always)
    run = train_small(trainable)
    version, gate = run.version, run.version.metrics["gate"]
    assert version.status == "rejected"
    # The message quotes both figures, formatted once by the gate ...
    assert f"new {gate['new']['shown']} against the current v1's {gate['current']['shown']}" in gate["reason"]
    assert version.rejected_reason == gate["reason"]
    # ... and v2's row in the versions table shows exactly those strings: v1's accuracy on the
    # pairs the gate compared on, not v1's own figure from its own (smaller) held-out set.
    html = page(client, lead, f"/projects/{trainable.slug}/models/")
    row = html[html.index(f'/models/{version.version}/">v2</a>') :].split("</tr>")[0]
    assert gate["new"]["shown"] in row and f"v1 on the same pairs: {gate['current']['shown']}" in row
    assert escape(gate["reason"]) in row  # the status column's message
    run_page = page(client, lead, f"/projects/{trainable.slug}/runs/{run.id}/")
    assert gate["new"]["shown"] in run_page and gate["current"]["shown"] in run_page and escape(gate["reason"]) in run_page
    v1_gate = RewardModelVersion.objects.get(project=trainable, version=1).metrics["gate"]
    assert v1_gate["new"]["n"] != gate["current"]["n"]  # different held-out sets, each labelled with its count


def test_the_run_page_chart_has_labelled_axes(trainable, client, lead):
    run = train_small(trainable)
    assert len(run.history) >= 3  # several evaluations a run, not one dot per epoch
    html = page(client, lead, f"/projects/{trainable.slug}/runs/{run.id}/")
    assert html.count("training step (optimiser updates)") == 2
    assert "held-out pairwise accuracy" in html and "pairwise loss" in html


# --- best of K -----------------------------------------------------------------------------


def rank(project, labeler, prompt_text, texts):
    """A ranking judgment of `texts` (best first) on a new prompt, with no pairs of its own."""
    prompt = Prompt.objects.create(project=project, external_id=uuid.uuid4().hex, text=prompt_text, queued=False)
    ids = [Completion.objects.create(prompt=prompt, text=text).id for text in texts]
    Judgment.objects.create(annotator=labeler, prompt=prompt, shown=ids, ranking=ids, client_id=uuid.uuid4().hex)


def test_best_of_k_on_held_out_rankings_beside_pairwise_accuracy(trainable, settings, monkeypatch, labeler):
    settings.ARBITER_GATE_MIN_PAIRS = 5
    fraction = SMALL["heldout_fraction"]
    prompts = [f"human: rank some answers about the dog {i}. assistant:" for i in range(200)]
    held = [p for p in prompts if is_heldout(p, fraction)][:3]
    trained_on = next(p for p in prompts if not is_heldout(p, fraction))
    rank(trainable, labeler, held[0], ["the dog is good", "the dog is ok", "the dog is bad"])  # top scores highest
    rank(trainable, labeler, held[1], ["the dog is good", "the dog is bad", "the dog is fine"])  # top scores highest
    rank(trainable, labeler, held[2], ["the dog is bad", "the dog is good", "the dog is ok"])  # the top loses
    rank(trainable, labeler, trained_on, ["the dog is bad", "the dog is good", "the dog is ok"])  # not held out
    fake_gate_scores(monkeypatch, new_right=always)  # "good" scores 1, everything else 0
    version = train_small(trainable).version
    best = version.metrics["gate"]["new"]["best_of_k"]
    assert (best["accuracy"], best["n"]) == (pytest.approx(2 / 3), 3)
    assert best["shown"].startswith("0.667 (95% interval ") and best["shown"].endswith(", 3 rankings)")
    assert version.metrics["heldout_best_of_k_accuracy"] == pytest.approx(2 / 3)
    assert version.metrics["heldout_best_of_k_n"] == 3
