"""queue_order uncertain_first: the current version's rewards for queued completions are stored
by a periodic task, and the queue serves the prompt (and the pair) the model is least sure of."""

import pytest

from annotator.models import Completion, Project, Prompt
from annotator.queue import assignment_next_for
from rewardtrain import live_scoring
from rewardtrain.checkpoint_store import version_folder
from tests import factories
from tests.rewardtrain.comparisons import make_comparisons, train_small

pytestmark = pytest.mark.django_db


def queued_prompt(project, name, rewards):
    """A queued prompt whose completions have these stored rewards (as refresh_queue_scores leaves them)."""
    prompt = Prompt.objects.create(project=project, external_id=name, text=f"Prompt {name}")
    completions = [Completion.objects.create(prompt=prompt, text=f"{name} answer {i}", model_reward=r, scored_version=1)
                   for i, r in enumerate(rewards)]  # fmt: skip
    values = sorted(rewards)
    Prompt.objects.filter(pk=prompt.pk).update(uncertainty=min(b - a for a, b in zip(values, values[1:])))
    return prompt, completions


def test_uncertain_first_serves_the_smallest_gap_and_its_closest_pair():
    project = factories.project(queue_order=Project.QueueOrder.UNCERTAIN_FIRST, overlap=1)
    queued_prompt(project, "sure", [0.0, 3.0])
    unsure, (a, b, c) = queued_prompt(project, "unsure", [1.0, 1.1, 5.0])
    Prompt.objects.create(project=project, external_id="unscored", text="never scored")
    Completion.objects.bulk_create(Completion(prompt=Prompt.objects.get(external_id="unscored"), text=t) for t in "xy")
    labeler = factories.member(project, "labeler")
    lease = assignment_next_for(annotator=labeler, project=project)
    assert lease.prompt_id == unsure.pk and set(lease.shown) == {a.pk, b.pk}  # gap 0.1, not 4.0 or 3.9
    order = [Prompt.objects.get(pk=p).external_id for p in
             [lease.prompt_id, *(assignment_next_for(annotator=factories.member(project, "labeler"), project=project).prompt_id
                                 for _ in range(2))]]  # fmt: skip
    assert order == ["unsure", "sure", "unscored"]


def test_fewest_labels_ignores_the_scores():
    project = factories.project(overlap=2)
    first, _ = queued_prompt(project, "first", [0.0, 3.0])
    queued_prompt(project, "second", [1.0, 1.01])
    assert assignment_next_for(annotator=factories.member(project, "labeler"), project=project).prompt_id == first.pk


def test_refresh_queue_scores_stores_the_current_versions_rewards(tiny_model):
    project = factories.project(base_model=tiny_model, queue_order=Project.QueueOrder.UNCERTAIN_FIRST)
    make_comparisons(project, 40)  # 11 held-out pairs: enough for v1 to beat chance and go live
    assert train_small(project).status == "succeeded"
    prompts = factories.prompts(project, 3, completions=3)
    assert live_scoring.refresh_queue_scores() == {project.slug: 3}
    assert live_scoring.refresh_queue_scores() == {}  # all scored by v1: nothing to do until a new version
    from rewardtrain.scoring import Scorer
    from rewardtrain.selectors import current_version

    scorer = Scorer.load(version_folder(current_version(project=project)), device="cpu")
    for prompt in prompts:
        completions = list(Completion.objects.filter(prompt=prompt).order_by("id"))
        expected = scorer.score([(prompt.text, c.text) for c in completions])
        assert [c.model_reward for c in completions] == pytest.approx(expected, abs=1e-5)
        assert {c.scored_version for c in completions} == {1}
        values = sorted(expected)
        prompt.refresh_from_db()
        assert prompt.uncertainty == pytest.approx(min(b - a for a, b in zip(values, values[1:])), abs=1e-5)
    # imported, already-labelled prompts (not queued) are not scored
    assert not Completion.objects.filter(prompt__queued=False, scored_version__isnull=False).exists()


def test_disagreement_sends_a_confidently_contradicted_label_to_a_second_labeler(tiny_model, settings):
    """A queued prompt judged once (overlap 1) whose label the model scores the other way round
    by a reward std or more is owed a second judgment, and the queue serves it first."""
    from annotator.judgments import JudgmentResult, judgment_record
    from annotator.models import Assignment, Comparison
    from annotator.selectors import project_progress
    from rewardtrain.scoring import Scorer
    from rewardtrain.selectors import current_version

    project = factories.project(base_model=tiny_model, queue_order=Project.QueueOrder.DISAGREEMENT, overlap=1)
    make_comparisons(project, 40)  # 11 held-out pairs: enough for v1 to beat chance and go live
    assert train_small(project).status == "succeeded"
    scorer = Scorer.load(version_folder(current_version(project=project)), device="cpu")
    prompts = factories.prompts(project, 3)
    ann, bob = factories.member(project, "labeler"), factories.member(project, "labeler")
    for _ in prompts:  # ann judges all three, each time choosing what the model likes less
        lease = Assignment.objects.select_related("project").get(pk=assignment_next_for(annotator=ann, project=project).pk)
        r = scorer.score([(Prompt.objects.get(pk=lease.prompt_id).text, Completion.objects.get(pk=c).text) for c in lease.shown])
        judgment_record(assignment=lease, result=JudgmentResult(choice="a" if r[0] < r[1] else "b"), client_id=f"j{lease.pk}")
    gaps = {}
    for c in Comparison.objects.filter(project=project, annotator=ann):
        chosen, rejected = scorer.score([(c.prompt.text, c.chosen.text), (c.prompt.text, c.rejected.text)])
        gaps[c.prompt_id] = rejected - chosen  # >= 0: the model disagrees with ann on every one
    settings.ARBITER_DISAGREEMENT_STDS = 0.0  # any contradiction counts: the tiny model's std is arbitrary
    assert project_progress(project=project)["remaining"] == 0
    live_scoring.score_fresh_labels()
    owed = set(Prompt.objects.filter(project=project, extra_judgments=1).values_list("id", flat=True))
    assert owed == {pk for pk, gap in gaps.items() if gap >= 0} and owed
    assert project_progress(project=project)["remaining"] == len(owed)
    served = {assignment_next_for(annotator=bob, project=project).prompt_id}
    assert served <= owed  # a second labeler gets a contradicted one
    assert assignment_next_for(annotator=ann, project=project) is None  # never the same labeler
