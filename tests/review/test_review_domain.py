"""Accepting and rejecting judgments: the prompt's place in the queue, the audit log, the rules."""

import pytest

from annotator.audit_sentences import audit_sentence
from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import AuditEntry, Judgment, Prompt
from annotator.queue import assignment_next_for
from annotator.review import (
    REASON_MAX_CHARS,
    ReviewRefused,
    judgment_review_accept,
    judgment_review_reject,
)
from tests import factories

pytestmark = pytest.mark.django_db


def judge(project, labeler, client_id, choice="a"):
    assignment = assignment_next_for(annotator=labeler, project=project)
    judgment, _ = judgment_record(assignment=assignment, result=JudgmentResult(choice=choice), client_id=client_id)
    return judgment


@pytest.fixture
def reviewer(project):
    return factories.member(project, "reviewer", username="reviewer")


@pytest.fixture
def one_prompt(project):
    (prompt,) = factories.prompts(project, 1)
    return prompt


def count_of(prompt):
    return Prompt.objects.get(pk=prompt.pk).judgment_count


def test_a_rejected_judgment_is_marked_with_its_reason_and_reviewer(project, labeler, reviewer, one_prompt):
    judgment = judge(project, labeler, "j1")
    judgment_review_reject(judgment=judgment, actor=reviewer, reason="  Chose the  wrong one.\n")
    stored = Judgment.objects.get(pk=judgment.pk)
    assert (stored.review, stored.review_reason, stored.reviewed_by) == (
        "rejected",
        "Chose the wrong one.",
        reviewer,
    )
    assert stored.reviewed_at is not None


def test_a_rejected_judgments_prompt_goes_to_another_labeler_never_back_to_its_own(
    project, labeler, reviewer, one_prompt
):
    judgment = judge(project, labeler, "j1")  # overlap 1: the prompt is full
    second = factories.member(project, "labeler", username="second")
    assert assignment_next_for(annotator=second, project=project) is None
    judgment_review_reject(judgment=judgment, actor=reviewer, reason="Wrong.")
    assert count_of(one_prompt) == 0
    assert assignment_next_for(annotator=labeler, project=project) is None
    assignment = assignment_next_for(annotator=second, project=project)
    assert assignment is not None and assignment.prompt_id == one_prompt.pk


def test_accepting_a_rejected_judgment_counts_it_again_without_counting_more_than_there_are(
    project, labeler, reviewer, one_prompt
):
    judgment = judge(project, labeler, "j1")
    judgment_review_reject(judgment=judgment, actor=reviewer, reason="Wrong.")
    judgment_review_reject(judgment=judgment, actor=reviewer, reason="Wrong.")  # a second click
    assert count_of(one_prompt) == 0
    judgment_review_accept(judgment=judgment, actor=reviewer)
    assert count_of(one_prompt) == 1
    judgment_review_accept(judgment=judgment, actor=reviewer)
    assert count_of(one_prompt) == 1
    assert Judgment.objects.get(pk=judgment.pk).review_reason == ""


def test_accepting_it_after_another_labeler_filled_its_place_counts_both(project, labeler, reviewer, one_prompt):
    judgment = judge(project, labeler, "j1")
    judgment_review_reject(judgment=judgment, actor=reviewer, reason="Wrong.")
    judge(project, factories.member(project, "labeler", username="second"), "j2")
    judgment_review_accept(judgment=judgment, actor=reviewer)
    assert count_of(one_prompt) == 2  # at or over the overlap: the queue serves it to no one
    assert assignment_next_for(annotator=factories.member(project, "labeler"), project=project) is None


def test_rejecting_a_swapped_repeat_leaves_the_prompts_count_alone(project, labeler, reviewer, one_prompt):
    first = judge(project, labeler, "j1")
    # A swapped repeat, as quality control serves one: outside the overlap.
    from annotator.models import Assignment

    repeat_lease = Assignment.objects.create(
        project=project,
        prompt=one_prompt,
        annotator=labeler,
        shown=first.shown[::-1],
        repeat_of=first,
        expires_at=first.created_at.replace(year=first.created_at.year + 1),
    )
    repeat, _ = judgment_record(assignment=repeat_lease, result=JudgmentResult(choice="b"), client_id="j2")
    assert count_of(one_prompt) == 1
    judgment_review_reject(judgment=repeat, actor=reviewer, reason="Inconsistent.")
    assert count_of(one_prompt) == 1
    assert Judgment.objects.get(pk=repeat.pk).review == "rejected"


def test_a_gold_prompts_rejected_judgment_sends_it_to_another_labeler(project, labeler, reviewer, one_prompt):
    judgment = judge(project, labeler, "j1")
    Prompt.objects.filter(pk=one_prompt.pk).update(gold=judgment.shown)
    judgment_review_reject(judgment=judgment, actor=reviewer, reason="Careless.")
    assert count_of(one_prompt) == 0
    second = factories.member(project, "labeler", username="second")
    assert assignment_next_for(annotator=second, project=project).prompt_id == one_prompt.pk


@pytest.mark.parametrize("reason", ["", "   \n ", "x" * (REASON_MAX_CHARS + 1)])
def test_a_rejection_needs_a_reason_of_bounded_length(project, labeler, reviewer, one_prompt, reason):
    judgment = judge(project, labeler, "j1")
    with pytest.raises(ReviewRefused):
        judgment_review_reject(judgment=judgment, actor=reviewer, reason=reason)
    assert Judgment.objects.get(pk=judgment.pk).review == ""
    assert count_of(one_prompt) == 1
    assert not AuditEntry.objects.filter(action="judgment.reject").exists()


def test_nobody_reviews_their_own_judgment(project, reviewer, one_prompt):
    judgment = judge(project, reviewer, "j1")  # a reviewer may label too
    with pytest.raises(ReviewRefused):
        judgment_review_accept(judgment=judgment, actor=reviewer)


def test_an_undone_judgment_cannot_be_reviewed(project, labeler, reviewer, one_prompt):
    judgment = judge(project, labeler, "j1")
    Judgment.objects.filter(pk=judgment.pk).delete()
    with pytest.raises(ReviewRefused):
        judgment_review_accept(judgment=judgment, actor=reviewer)


def test_reviews_are_audited_as_sentences(project, labeler, reviewer, one_prompt):
    judgment = judge(project, labeler, "j1")
    judgment_review_reject(judgment=judgment, actor=reviewer, reason="Chose the longer one.")
    judgment_review_accept(judgment=judgment, actor=reviewer)
    accept, reject = AuditEntry.objects.filter(project=project, action__startswith="judgment.")
    assert audit_sentence(reject) == (
        f'reviewer rejected labeler\'s judgment #{judgment.pk} of prompt "{one_prompt.external_id}": '
        '"Chose the longer one."'
    )
    assert audit_sentence(accept) == (
        f'reviewer accepted labeler\'s judgment #{judgment.pk} of prompt "{one_prompt.external_id}" (it was rejected)'
    )
