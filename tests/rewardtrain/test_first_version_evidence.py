"""A first version goes live only when its held-out result beats chance with
ARBITER_GATE_CONFIDENCE: pairs, the Wilson lower bound of pairwise accuracy above 0.5; classify,
above the share of the held-out items' most common label. Otherwise it stays a candidate
("pending evidence") with the reason on the run and models pages, and an admin may promote it by
hand after a warning."""

import pytest

from annotator.models import Classification, Comparison, Completion, Prompt
from rewardtrain import promotion_gate, selectors
from rewardtrain.data import is_heldout
from rewardtrain.models import RewardModelVersion, TrainingRun
from tests import factories
from tests.factories import PASSWORD
from tests.rewardtrain.comparisons import NOUNS, SMALL, fake_gate_scores, make_comparisons, train_small

PENDING = RewardModelVersion.Status.PENDING


@pytest.fixture
def trainable(project, tiny_model):
    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 39)  # 10 of the 39 prompts are held out at SMALL's 0.25
    return project


def heldout_prompts(project):
    return sorted(p.text for p in project.prompts.all() if is_heldout(p.text, SMALL["heldout_fraction"]))


def page(client, person, url):
    client.login(username=person.username, password=PASSWORD)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_ten_of_ten_held_out_pairs_right_puts_the_first_version_live(trainable, monkeypatch):
    assert len(heldout_prompts(trainable)) == 10
    fake_gate_scores(monkeypatch, new_right=lambda prompt: True)
    version = train_small(trainable).version
    gate = version.metrics["gate"]
    assert (version.status, version.is_current, version.rejected_reason) == ("published", True, "")
    assert gate["new"]["low"] == pytest.approx(0.7225, abs=1e-4)  # Wilson at 95%, the textbook value
    assert gate["chance"] == 0.5
    assert gate["reason"] == (
        f"first version: {gate['new']['shown']} beats chance (0.500) with 95% confidence"
    )


def test_six_of_ten_right_leaves_the_first_version_a_candidate(trainable, monkeypatch, client, admin_user):
    right = set(heldout_prompts(trainable)[:6])
    fake_gate_scores(monkeypatch, new_right=lambda prompt: prompt in right)
    run = train_small(trainable)
    version = run.version
    gate = version.metrics["gate"]
    assert gate["new"]["accuracy"] == 0.6 and gate["new"]["low"] < 0.5
    assert (version.status, version.is_current) == (PENDING, False)
    assert run.status == TrainingRun.Status.SUCCEEDED  # the run worked; the version waits
    assert selectors.current_version(project=trainable) is None
    assert version.rejected_reason == (
        f"pending evidence: first version, {gate['new']['shown']}: its lower bound "
        f"{gate['new']['low']:.3f} is not above chance (0.500) at 95% confidence; an admin may promote it"
    )
    for url in (f"/projects/{trainable.slug}/runs/{run.id}/", f"/projects/{trainable.slug}/models/"):
        assert version.rejected_reason in page(client, admin_user, url)


def test_a_first_version_without_held_out_pairs_stays_a_candidate(project, tiny_model, client, admin_user):
    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 6, start=9)  # prompts 9 to 14: none falls in the held-out share
    assert heldout_prompts(project) == []
    run = train_small(project)
    version = run.version
    assert (version.status, version.is_current) == (PENDING, False)
    assert version.rejected_reason == (
        "pending evidence: first version, no held-out pairs to show that it beats chance; an admin may promote it"
    )
    assert version.rejected_reason in page(client, admin_user, f"/projects/{project.slug}/runs/{run.id}/")


def test_the_confidence_comes_from_the_gate_setting(trainable, monkeypatch, settings):
    right = set(heldout_prompts(trainable)[:9])  # 9 of 10: Wilson lower bound 0.596 at 95%, 0.497 at 99.9%
    fake_gate_scores(monkeypatch, new_right=lambda prompt: prompt in right)
    settings.ARBITER_GATE_CONFIDENCE = 0.999
    assert train_small(trainable).version.status == PENDING
    settings.ARBITER_GATE_CONFIDENCE = 0.95
    assert train_small(trainable).version.is_current


def test_an_admin_promotes_a_candidate_by_hand_after_a_warning(trainable, monkeypatch, client, admin_user):
    fake_gate_scores(monkeypatch, new_right=lambda prompt: False)
    candidate = train_small(trainable).version
    assert candidate.status == PENDING
    html = page(client, admin_user, f"/projects/{trainable.slug}/models/")
    assert "Promoting it overrules the promotion gate" in html
    assert f"/models/{candidate.version}/promote/" in html
    response = client.post(f"/projects/{trainable.slug}/models/{candidate.version}/promote/", follow=True)
    assert f"v{candidate.version} is now current." in response.content.decode()
    candidate.refresh_from_db()
    assert candidate.is_current and candidate.status == "published"
    assert candidate.rejected_reason.startswith("promoted by an admin over the gate: pending evidence: first version")


def test_a_published_version_carries_no_warning(trainable, monkeypatch, client, admin_user):
    fake_gate_scores(monkeypatch, new_right=lambda prompt: True)
    train_small(trainable)
    assert "overrules the promotion gate" not in page(client, admin_user, f"/projects/{trainable.slug}/models/")


# --- classify --------------------------------------------------------------------------------

LABELS = ["not hate", "hate"]


@pytest.fixture
def classify_project(db, tiny_model):
    project = factories.project(mode="classify", labels=LABELS, positive_label="not hate", completions_shown=2,
                                base_model=tiny_model)  # fmt: skip
    for i in range(40):  # each prompt a kind reply and a rude one: the majority share is one half
        noun = NOUNS[i % len(NOUNS)]
        prompt = Prompt.objects.create(project=project, external_id=f"lab-{i}", text=f"tell me about the {noun} {i}", queued=False)
        for text, label in ((f"the {noun} is kind", "not hate"), (f"the {noun} is rude", "hate")):
            completion = Completion.objects.create(prompt=prompt, text=text)
            Classification.objects.create(project=project, prompt=prompt, completion=completion, label=label,
                                          source=Comparison.Source.IMPORTED)  # fmt: skip
    return project


def fake_logits(monkeypatch, predict):
    """The new classifier's logits: the label index `predict(completion)` is the most probable."""
    monkeypatch.setattr(
        promotion_gate, "_logits_new",
        lambda result, items: [[1.0 if i == predict(text) else 0.0 for i in range(len(LABELS))] for _, text in items],
    )  # fmt: skip


def test_a_classifier_no_better_than_the_majority_label_stays_a_candidate(classify_project, monkeypatch):
    fake_logits(monkeypatch, lambda text: 0)  # always "not hate": right on exactly the majority share
    version = train_small(classify_project).version
    gate = version.metrics["gate"]
    assert gate["new"]["accuracy"] == 0.5 and gate["chance"] == 0.5
    assert (version.status, version.is_current) == (PENDING, False)
    assert version.rejected_reason == (
        f"pending evidence: first version, {gate['new']['shown']}: its lower bound "
        f"{gate['new']['low']:.3f} is not above the majority label's share (0.500) at 95% confidence; "
        "an admin may promote it"
    )


def test_a_classifier_right_on_every_held_out_item_goes_live(classify_project, monkeypatch):
    fake_logits(monkeypatch, lambda text: 0 if "kind" in text else 1)
    version = train_small(classify_project).version
    assert version.metrics["gate"]["new"]["accuracy"] == 1.0
    assert (version.status, version.is_current) == ("published", True)


# --- the statistics, Django-free -------------------------------------------------------------


def test_chance_for_labels_is_the_most_common_labels_share_and_nothing_beats_it_without_items():
    from rewardtrain import gate

    assert gate.majority_share([0, 1, 1, 1]) == 0.75
    assert not gate.beats_chance(gate.rate(0, 0, 0.95), 0.5)  # no items: no evidence
    assert not gate.beats_chance(gate.rate(3, 4, 0.95), 0.75)  # the majority's own accuracy
    assert gate.beats_chance(gate.rate(10, 10, 0.95), 0.5)
