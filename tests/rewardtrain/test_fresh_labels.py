"""Live model agreement: the serving version scores the human comparisons made after its
training data was read, once each, and the quality page shows its accuracy on them beside its
held-out accuracy."""

import pytest

from annotator.models import Comparison, Completion, Prompt
from rewardtrain import live_scoring
from rewardtrain.models import FreshLabelScore
from rewardtrain.selectors import fresh_label_agreement
from tests import factories
from tests.rewardtrain.comparisons import make_comparisons, train_small

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(tiny_model):
    project = factories.project(base_model=tiny_model)
    make_comparisons(project, 40)  # imported: "good" beats "bad"
    run = train_small(project)
    assert run.status == "succeeded", run.error
    return project


def human_pairs(project, labeler, n, *, start, good_wins=True):
    """n new human comparisons, the labeler preferring "good" (or, with good_wins False, "bad")."""
    for i in range(start, start + n):
        prompt = Prompt.objects.create(project=project, external_id=f"fresh-{i}", text=f"human: tell me about the cat {i}. assistant:", queued=False)
        good = Completion.objects.create(prompt=prompt, text="the cat is good and kind")
        bad = Completion.objects.create(prompt=prompt, text="the cat is bad and rude")
        chosen, rejected = (good, bad) if good_wins else (bad, good)
        Comparison.objects.create(project=project, prompt=prompt, chosen=chosen, rejected=rejected, annotator=labeler)


def test_fresh_human_labels_are_scored_once_by_the_serving_version(trained):
    labeler = factories.member(trained, "labeler")
    human_pairs(trained, labeler, 6, start=100)
    human_pairs(trained, labeler, 2, start=200, good_wins=False)  # the model will disagree with these
    assert live_scoring.score_fresh_labels() == {trained.slug: 8}
    assert live_scoring.score_fresh_labels() == {}  # nothing new: nothing scored twice
    scores = FreshLabelScore.objects.filter(version__project=trained)
    assert scores.count() == 8 and {s.version.version for s in scores} == {1}
    # imported and already-trained comparisons are not fresh
    assert not scores.filter(comparison__source="imported").exists()
    (v1,) = fresh_label_agreement(project=trained)
    assert v1["version"] == 1 and v1["fresh"]["n"] == 8
    assert v1["fresh"]["accuracy"] == pytest.approx(sum(s.agrees for s in scores) / 8)
    # the same two texts every time: whatever v1 prefers, it agrees with one side's labels only
    good_first = scores.filter(comparison__chosen__text__contains="good")
    a = good_first.first().agrees
    assert {s.agrees for s in good_first} == {a} and {s.agrees for s in scores.exclude(pk__in=good_first)} == {1 - a}
    assert v1["fresh"]["accuracy"] == pytest.approx((6 * a + 2 * (1 - a)) / 8)
    assert v1["rolling"][-1] == (8, pytest.approx(v1["fresh"]["accuracy"])) and v1["heldout"] is not None


def test_a_new_version_scores_only_what_came_after_its_own_training_data(trained, settings):
    labeler = factories.member(trained, "labeler")
    human_pairs(trained, labeler, 4, start=100)
    live_scoring.score_fresh_labels()
    settings.ARBITER_GATE_MIN_PAIRS = 1  # let v2 go live
    assert train_small(trained).version.is_current
    human_pairs(trained, labeler, 3, start=300)
    assert live_scoring.score_fresh_labels() == {trained.slug: 3}  # v2 trained on the first 4
    by_version = {v["version"]: v["fresh"]["n"] for v in fresh_label_agreement(project=trained)}
    assert by_version == {2: 3, 1: 4}


def test_the_quality_page_shows_fresh_label_accuracy_beside_heldout(trained, client):
    labeler = factories.member(trained, "labeler")
    human_pairs(trained, labeler, 5, start=100)
    live_scoring.score_fresh_labels()
    client.force_login(factories.member(trained, "lead"))
    page = client.get(f"/projects/{trained.slug}/quality/").content.decode()
    assert "Reward model on fresh labels" in page and "5 pairs" in page
    assert "Rolling accuracy on fresh labels" in page and "fresh labels scored" in page
    client.force_login(labeler)
    assert client.get(f"/projects/{trained.slug}/quality/").status_code == 403


def test_a_lead_sees_the_models_scores_beside_a_judgment_a_labeler_never_does(trained, client):
    from annotator.judgments import JudgmentResult, judgment_record
    from annotator.models import Assignment
    from annotator.queue import assignment_next_for

    factories.prompts(trained, 1)
    labeler = factories.member(trained, "labeler")
    lease = Assignment.objects.select_related("project").get(pk=assignment_next_for(annotator=labeler, project=trained).pk)
    judgment, _ = judgment_record(assignment=lease, result=JudgmentResult(choice="a"), client_id="m")
    live_scoring.score_fresh_labels()
    score = FreshLabelScore.objects.get(comparison__judgment=judgment)
    client.force_login(factories.member(trained, "lead"))
    page = client.get(f"/projects/{trained.slug}/judgments/{judgment.pk}/").content.decode()
    assert f"v1: A {score.chosen_reward:.3f}, B {score.rejected_reward:.3f}" in page
    client.force_login(labeler)
    mine = client.get(f"/projects/{trained.slug}/mine/").content.decode()
    assert "Reward model" not in mine and f"{score.chosen_reward:.3f}" not in mine
