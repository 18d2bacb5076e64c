"""A submit after the lease ran out is stored only while the prompt still has room under its overlap."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotator.judgments import JudgmentResult, LeaseExpired, judgment_record
from annotator.models import Assignment, Comparison, Judgment, Prompt
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db

LEASE = 60


def _expired_lease_taken_over(*, overlap):
    """The first labeler's lease ran out; a second labeler was given the prompt and judged it."""
    project = factories.project(overlap=overlap, lease_seconds=LEASE)
    (prompt,) = factories.prompts(project, 1)
    first, second = factories.member(project, "labeler"), factories.member(project, "labeler")
    start = timezone.now()
    late = assignment_next_for(annotator=first, project=project, now=start)
    later = start + timedelta(seconds=LEASE + 1)
    taken = assignment_next_for(annotator=second, project=project, now=later)
    assert taken.prompt_id == prompt.pk
    judgment_record(assignment=taken, result=JudgmentResult(choice="a"), client_id="second", now=later)
    return late, later + timedelta(seconds=1)


def test_late_submit_to_a_full_prompt_is_refused_and_writes_nothing(db):
    late, now = _expired_lease_taken_over(overlap=1)
    with pytest.raises(LeaseExpired, match="lease expired and the prompt is full"):
        judgment_record(assignment=late, result=JudgmentResult(choice="b"), client_id="first", now=now)
    assert Judgment.objects.count() == 1 and Comparison.objects.count() == 1
    assert Prompt.objects.get().judgment_count == 1
    late.refresh_from_db()
    assert late.status == Assignment.Status.ACTIVE  # not claimed; it simply ran out


def test_late_submit_is_refused_while_another_labeler_holds_the_last_place(db):
    project = factories.project(overlap=1, lease_seconds=LEASE)
    factories.prompts(project, 1)
    first, second = factories.member(project, "labeler"), factories.member(project, "labeler")
    start = timezone.now()
    late = assignment_next_for(annotator=first, project=project, now=start)
    later = start + timedelta(seconds=LEASE + 1)
    assert assignment_next_for(annotator=second, project=project, now=later) is not None  # not judged yet
    with pytest.raises(LeaseExpired):
        judgment_record(assignment=late, result=JudgmentResult(choice="a"), client_id="first", now=later)
    assert not Judgment.objects.exists()


def test_late_submit_is_stored_while_the_prompt_has_room(db):
    late, now = _expired_lease_taken_over(overlap=2)
    judgment, created = judgment_record(assignment=late, result=JudgmentResult(choice="b"), client_id="first", now=now)
    assert created and judgment.annotator == late.annotator
    assert Prompt.objects.get().judgment_count == 2


def test_late_submit_nobody_took_over_is_stored(project, labeler):
    project.lease_seconds = LEASE
    project.save()
    factories.prompts(project, 1)
    start = timezone.now()
    late = assignment_next_for(annotator=labeler, project=project, now=start)
    _judgment, created = judgment_record(
        assignment=late, result=JudgmentResult(choice="a"), client_id="c1", now=start + timedelta(hours=1)
    )
    assert created and Prompt.objects.get().judgment_count == 1
