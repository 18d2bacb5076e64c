from datetime import timedelta

import pytest
from django.utils import timezone

from annotator.judgments import InvalidJudgment, JudgmentConflict, JudgmentResult, judgment_record, pairs_from_result
from annotator.models import Assignment, Comparison, Completion, Judgment, Project
from annotator.queue import assignment_next_for, assignment_skip
from tests import factories

pytestmark = pytest.mark.django_db


def test_choice_a_is_one_pair_shown_first_beats_second():
    assert pairs_from_result(shown=[7, 9], choice="a") == [(7, 9)]
    assert pairs_from_result(shown=[7, 9], choice="b") == [(9, 7)]


def test_tie_and_both_bad_yield_no_pair():
    assert pairs_from_result(shown=[7, 9], choice="tie") == []
    assert pairs_from_result(shown=[7, 9], choice="both_bad") == []


def test_ranking_of_k_yields_k_choose_2_pairs_best_first():
    pairs = pairs_from_result(shown=[1, 2, 3, 4], ranking=[3, 1, 4, 2])
    assert len(pairs) == 6
    assert (3, 1) in pairs and (3, 2) in pairs and (4, 2) in pairs and (1, 4) in pairs


def test_edit_beats_every_completion_shown_including_its_original():
    assert pairs_from_result(shown=[1, 2], choice="a", edited_id=5) == [(1, 2), (5, 1), (5, 2)]


def test_labeler_gets_prompt_with_both_completions_in_recorded_order(project, labeler):
    (prompt,) = factories.prompts(project, 1)
    assignment = assignment_next_for(annotator=labeler, project=project)
    assert assignment.prompt == prompt
    assert sorted(assignment.shown) == sorted(prompt.completions.values_list("id", flat=True))


def test_reload_returns_the_same_live_lease(project, labeler):
    factories.prompts(project, 3)
    first = assignment_next_for(annotator=labeler, project=project)
    assert assignment_next_for(annotator=labeler, project=project) == first


def test_judgment_is_stored_once_with_its_comparison(project, labeler):
    factories.prompts(project, 1)
    assignment = assignment_next_for(annotator=labeler, project=project)
    judgment, created = judgment_record(assignment=assignment, result=JudgmentResult(choice="b"), client_id="c1")
    again, created_again = judgment_record(assignment=assignment, result=JudgmentResult(choice="b"), client_id="c1")
    assert created and not created_again and again == judgment
    assert Judgment.objects.count() == 1
    comparison = Comparison.objects.get()
    assert (comparison.chosen_id, comparison.rejected_id) == (assignment.shown[1], assignment.shown[0])
    assert comparison.source == "human" and comparison.annotator == labeler
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.DONE
    assert assignment.prompt.__class__.objects.get(pk=assignment.prompt_id).judgment_count == 1


def test_second_submit_under_new_client_id_conflicts(project, labeler):
    factories.prompts(project, 1)
    assignment = assignment_next_for(annotator=labeler, project=project)
    judgment_record(assignment=assignment, result=JudgmentResult(choice="a"), client_id="c1")
    with pytest.raises(JudgmentConflict):
        judgment_record(assignment=assignment, result=JudgmentResult(choice="a"), client_id="c2")


def test_labeler_does_not_get_a_prompt_they_judged_or_skipped(project, labeler):
    factories.prompts(project, 2)
    first = assignment_next_for(annotator=labeler, project=project)
    judgment_record(assignment=first, result=JudgmentResult(choice="a"), client_id="c1")
    second = assignment_next_for(annotator=labeler, project=project)
    assert second.prompt != first.prompt
    assignment_skip(assignment=second)
    assert assignment_next_for(annotator=labeler, project=project) is None


def test_prompt_is_not_leased_beyond_overlap(db):
    project = factories.project(overlap=2)
    factories.prompts(project, 1)
    people = [factories.member(project, "labeler") for _ in range(3)]
    assert assignment_next_for(annotator=people[0], project=project) is not None
    assert assignment_next_for(annotator=people[1], project=project) is not None
    assert assignment_next_for(annotator=people[2], project=project) is None


def test_expired_lease_frees_the_prompt(db):
    project = factories.project(lease_seconds=60)
    factories.prompts(project, 1)
    first, second = factories.member(project, "labeler"), factories.member(project, "labeler")
    lease = assignment_next_for(annotator=first, project=project)
    later = timezone.now() + timedelta(seconds=61)
    assert assignment_next_for(annotator=second, project=project, now=later).prompt == lease.prompt


def test_pairwise_with_four_completions_picks_the_least_compared_pair(db):
    project = factories.project(overlap=6)
    (prompt,) = factories.prompts(project, 1, completions=4)
    seen_pairs = set()
    for _ in range(6):
        person = factories.member(project, "labeler")
        assignment = assignment_next_for(annotator=person, project=project)
        seen_pairs.add(frozenset(assignment.shown))
        judgment_record(assignment=assignment, result=JudgmentResult(choice="a"), client_id="x")
    assert len(seen_pairs) == 6  # all 4*3/2 pairs once before any twice


def test_ranking_stores_k_choose_2_comparisons_and_none_for_excluded(db):
    project = factories.project(mode=Project.Mode.RANKING, completions_shown=4)
    factories.prompts(project, 1, completions=4)
    person = factories.member(project, "labeler")
    assignment = assignment_next_for(annotator=person, project=project)
    a, b, c, d = assignment.shown
    judgment_record(assignment=assignment, result=JudgmentResult(ranking=[c, a, b], excluded=[d]), client_id="r")
    pairs = set(Comparison.objects.values_list("chosen_id", "rejected_id"))
    assert pairs == {(c, a), (c, b), (a, b)}


def test_ranking_must_cover_every_shown_completion(db):
    project = factories.project(mode=Project.Mode.RANKING, completions_shown=3)
    factories.prompts(project, 1, completions=3)
    person = factories.member(project, "labeler")
    assignment = assignment_next_for(annotator=person, project=project)
    with pytest.raises(InvalidJudgment) as error:
        judgment_record(assignment=assignment, result=JudgmentResult(ranking=assignment.shown[:2]), client_id="r")
    assert "ranking" in error.value.errors
    assert not Judgment.objects.exists()


def test_edit_stores_a_new_completion_that_beats_both(project, labeler):
    factories.prompts(project, 1)
    assignment = assignment_next_for(annotator=labeler, project=project)
    original = assignment.shown[1]
    judgment_record(
        assignment=assignment, result=JudgmentResult(edit_of=original, edit_text="Better answer"), client_id="e"
    )
    edited = Completion.objects.get(origin="edited")
    assert edited.parent_id == original and edited.author == labeler
    pairs = set(Comparison.objects.values_list("chosen_id", "rejected_id"))
    assert pairs == {(edited.pk, assignment.shown[0]), (edited.pk, original)}


def test_tie_rejected_when_project_disallows_it(db):
    project = factories.project(allow_tie=False)
    factories.prompts(project, 1)
    person = factories.member(project, "labeler")
    assignment = assignment_next_for(annotator=person, project=project)
    with pytest.raises(InvalidJudgment):
        judgment_record(assignment=assignment, result=JudgmentResult(choice="tie"), client_id="t")
