"""RL audit: with rl_audit_share on, the scoring endpoints keep a sample of what they score;
a lead sees the highest-reward, longest and most uncertain ones and makes labeling items."""

import random

import pytest
from rest_framework.test import APIClient

from annotator.models import AuditEntry, Completion, Prompt
from annotator.queue import assignment_next_for
from rewardtrain.models import ScoredSample
from tests import factories
from tests.rewardtrain.comparisons import make_comparisons, train_small

pytestmark = pytest.mark.django_db
PROMPT = "human: tell me about the cat. assistant:"


@pytest.fixture
def trained(tiny_model):
    project = factories.project(base_model=tiny_model, rl_audit_share=1.0)
    make_comparisons(project, 40)  # 11 held-out pairs: enough for v1 to beat chance and go live
    assert train_small(project).status == "succeeded"
    return project


def score(user, project, completions, path="score/"):
    client = APIClient()
    client.force_authenticate(user)
    if path == "score/":
        body = {"items": [{"prompt": PROMPT, "completion": c} for c in completions]}
    else:  # rerank
        body = {"query": PROMPT, "documents": completions}
    response = client.post(f"/api/v1/projects/{project.slug}/{path}", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_every_scoring_endpoint_keeps_what_it_scored_with_raw_reward_and_gap(trained):
    labeler = factories.member(trained, "labeler")
    texts = ["the cat is good", "the cat is bad and rude", "the cat"]
    body = score(labeler, trained, texts)
    kept = {s.completion: s for s in ScoredSample.objects.filter(project=trained)}
    assert set(kept) == set(texts) and {s.version for s in kept.values()} == {1}
    rewards = dict(zip(texts, body["rewards"]))
    for text, sample in kept.items():
        others = [r for t, r in rewards.items() if t != text]
        assert sample.reward == pytest.approx(rewards[text]) and sample.length == len(text)
        assert sample.gap == pytest.approx(min(abs(rewards[text] - r) for r in others))
    score(labeler, trained, ["the cat is kind"], path="rerank")
    assert ScoredSample.objects.filter(project=trained, completion="the cat is kind", gap__isnull=True).count() == 1


def test_nothing_is_kept_when_the_share_is_zero_and_about_the_share_otherwise(trained):
    labeler = factories.member(trained, "labeler")
    trained.rl_audit_share = 0.0
    trained.save()
    score(labeler, trained, ["a", "b"])
    assert not ScoredSample.objects.exists()
    trained.rl_audit_share = 0.25
    trained.save()
    random.seed(3)
    for n in range(10):
        score(labeler, trained, [f"the cat {n} {k}" for k in range(20)])
    assert 25 <= ScoredSample.objects.count() <= 75  # 200 scored, expected 50


def test_a_lead_sorts_the_samples_and_turns_a_selection_into_labeling_items(trained, client):
    labeler, lead = factories.member(trained, "labeler"), factories.member(trained, "lead")
    score(labeler, trained, ["the cat is good", "the cat is bad and rude <script>x</script>", "the cat"])
    samples = list(ScoredSample.objects.order_by("-reward"))
    client.force_login(labeler)
    assert client.get(f"/projects/{trained.slug}/rl-audit/").status_code == 403
    client.force_login(lead)
    page = client.get(f"/projects/{trained.slug}/rl-audit/?order=reward").content.decode()
    assert page.index(f'value="{samples[0].pk}"') < page.index(f'value="{samples[-1].pk}"')
    assert "<script>x" not in page and "&lt;script&gt;x" in page
    by_length = client.get(f"/projects/{trained.slug}/rl-audit/?order=length").content.decode()
    longest, shortest = max(samples, key=lambda s: s.length), min(samples, key=lambda s: s.length)
    assert by_length.index(f'value="{longest.pk}"') < by_length.index(f'value="{shortest.pk}"')
    by_gap = client.get(f"/projects/{trained.slug}/rl-audit/?order=uncertain").content.decode()
    closest, farthest = min(samples, key=lambda s: s.gap), max(samples, key=lambda s: s.gap)
    assert by_gap.index(f'value="{closest.pk}"') < by_gap.index(f'value="{farthest.pk}"')
    picked = [s.pk for s in samples[:2]]
    response = client.post(f"/projects/{trained.slug}/rl-audit/", {"sample": picked, "order": "reward"})
    assert response.status_code == 302
    prompt = Prompt.objects.get(project=trained, external_id__startswith="rl-audit-")
    assert prompt.queued and prompt.text == PROMPT
    assert set(Completion.objects.filter(prompt=prompt).values_list("text", flat=True)) == {s.completion for s in samples[:2]}
    assert AuditEntry.objects.filter(action="rl_audit.items", actor=lead).exists()
    # the new item reaches a labeler
    lease = assignment_next_for(annotator=labeler, project=trained)
    assert lease is not None and lease.prompt_id == prompt.pk
    # picking the same again adds nothing
    client.post(f"/projects/{trained.slug}/rl-audit/", {"sample": picked})
    assert Completion.objects.filter(prompt=prompt).count() == 2
