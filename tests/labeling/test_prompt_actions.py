"""What a lead does to a selection of prompts (annotator.prompt_actions), and what the queue
then serves."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import Assignment, AuditEntry, Prompt
from annotator.prompt_actions import (
    PromptActionRefused,
    prompts_lift_skips,
    prompts_put_back,
    prompts_reassign,
    prompts_release_leases,
    prompts_send_back,
    prompts_take_out,
)
from annotator.queue import assignment_next_for, assignment_skip
from tests import factories

pytestmark = pytest.mark.django_db


def judge(lease, client_id=None):
    judgment_record(assignment=lease, result=JudgmentResult(choice="a"), client_id=client_id or f"c{lease.pk}")


def ids(prompts):
    return [p.pk for p in prompts]


def test_each_action_writes_one_audit_entry_listing_the_changed_prompts(project, lead):
    prompts = factories.prompts(project, 3)
    assert prompts_take_out(project=project, prompt_ids=ids(prompts[:2]), actor=lead) == 2
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor_username) == ("prompt.take_out", "lead")
    assert entry.detail == {"prompts": [prompts[0].external_id, prompts[1].external_id], "count": 2}


def test_the_audit_entry_lists_at_most_fifty_ids_but_counts_them_all(project, lead):
    prompts = factories.prompts(project, 55, completions=0)
    prompts_take_out(project=project, prompt_ids=ids(prompts), actor=lead)
    detail = AuditEntry.objects.get().detail
    assert detail["count"] == 55 and len(detail["prompts"]) == 50


def test_prompts_of_another_project_are_left_alone(project, lead):
    other = factories.prompts(factories.project(), 1)
    assert prompts_take_out(project=project, prompt_ids=ids(other), actor=lead) == 0
    assert not Prompt.objects.get(pk=other[0].pk).taken_out


def test_a_taken_out_prompt_is_never_served_and_its_lease_ends(project, lead, labeler):
    (prompt,) = factories.prompts(project, 1)
    held = assignment_next_for(annotator=labeler, project=project)
    assert prompts_take_out(project=project, prompt_ids=[prompt.pk], actor=lead) == 1
    assert Assignment.objects.get(pk=held.pk).expires_at <= timezone.now()
    other = factories.member(project, "labeler")
    assert assignment_next_for(annotator=other, project=project) is None
    assert prompts_take_out(project=project, prompt_ids=[prompt.pk], actor=lead) == 0  # already out
    assert prompts_put_back(project=project, prompt_ids=[prompt.pk], actor=lead) == 1
    assert assignment_next_for(annotator=other, project=project).prompt_id == prompt.pk


def test_releasing_a_lease_gives_its_place_to_the_next_labeler(project, lead, labeler):
    (prompt,) = factories.prompts(project, 1)
    assignment_next_for(annotator=labeler, project=project)
    other = factories.member(project, "labeler")
    assert assignment_next_for(annotator=other, project=project) is None  # overlap 1: full
    assert prompts_release_leases(project=project, prompt_ids=[prompt.pk], actor=lead) == 1
    assert assignment_next_for(annotator=other, project=project).prompt_id == prompt.pk
    assert AuditEntry.objects.get().action == "prompt.release"


def test_sending_back_a_finished_prompt_asks_for_exactly_one_more_judgment(project, lead, labeler):
    (prompt,) = factories.prompts(project, 1)
    judge(assignment_next_for(annotator=labeler, project=project))
    second, third = factories.member(project, "labeler"), factories.member(project, "labeler")
    assert assignment_next_for(annotator=second, project=project) is None
    assert prompts_send_back(project=project, prompt_ids=[prompt.pk], actor=lead) == 1
    judge(assignment_next_for(annotator=second, project=project))
    assert assignment_next_for(annotator=third, project=project) is None
    prompt.refresh_from_db()
    assert (prompt.judgment_count, prompt.extra_judgments) == (2, 1)


def test_sending_back_an_unfinished_prompt_changes_nothing(project, lead):
    (prompt,) = factories.prompts(project, 1)
    assert prompts_send_back(project=project, prompt_ids=[prompt.pk], actor=lead) == 0
    assert Prompt.objects.get(pk=prompt.pk).extra_judgments == 0


def test_lifting_skips_puts_the_prompt_back_in_the_skippers_queue(project, lead, labeler):
    (prompt,) = factories.prompts(project, 1)
    assignment_skip(assignment=assignment_next_for(annotator=labeler, project=project))
    assert assignment_next_for(annotator=labeler, project=project) is None
    assert prompts_lift_skips(project=project, prompt_ids=[prompt.pk], actor=lead) == 1
    assert Assignment.objects.get().status == Assignment.Status.SKIP_LIFTED
    assert assignment_next_for(annotator=labeler, project=project).prompt_id == prompt.pk


def test_a_reassigned_prompt_goes_to_its_labeler_first_and_to_no_one_else(project, lead, labeler):
    project.overlap = 2
    project.save()
    first, reserved = factories.prompts(project, 2)
    other = factories.member(project, "labeler")
    assignment_skip(assignment=assignment_next_for(annotator=labeler, project=project))  # skips `first`
    assert prompts_reassign(project=project, prompt_ids=[reserved.pk, first.pk], actor=lead, labeler=other) == 2
    assert Prompt.objects.get(pk=reserved.pk).reserved_for == other
    assert assignment_next_for(annotator=labeler, project=project) is None  # both reserved for `other`
    lease = assignment_next_for(annotator=other, project=project)
    assert lease.prompt_id in (first.pk, reserved.pk)
    judge(lease)
    assert Prompt.objects.get(pk=lease.prompt_id).reserved_for is None  # judged: open to all again
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.detail["labeler"], entry.detail["count"]) == ("prompt.reassign", other.username, 2)


def test_a_reserved_prompt_comes_before_every_other_prompt(project, lead, labeler):
    project.overlap = 2
    project.save()
    prompts = factories.prompts(project, 3)
    other = factories.member(project, "labeler")
    judge(assignment_next_for(annotator=other, project=project))  # started first: the fewest_labels order's pick
    prompts_reassign(project=project, prompt_ids=[prompts[2].pk], actor=lead, labeler=labeler)
    assert assignment_next_for(annotator=labeler, project=project).prompt_id == prompts[2].pk


def test_reassigning_lifts_that_labelers_skip_and_a_second_skip_ends_the_reservation(project, lead, labeler):
    (prompt,) = factories.prompts(project, 1)
    assignment_skip(assignment=assignment_next_for(annotator=labeler, project=project))
    prompts_reassign(project=project, prompt_ids=[prompt.pk], actor=lead, labeler=labeler)
    lease = assignment_next_for(annotator=labeler, project=project)
    assert lease.prompt_id == prompt.pk
    assignment_skip(assignment=lease)
    assert Prompt.objects.get(pk=prompt.pk).reserved_for is None
    other = factories.member(project, "labeler")
    assert assignment_next_for(annotator=other, project=project).prompt_id == prompt.pk


@pytest.mark.parametrize("role", ["reviewer", None])
def test_reassigning_to_someone_who_may_not_label_here_is_refused(project, lead, role):
    (prompt,) = factories.prompts(project, 1)
    person = factories.member(project, role) if role else factories.user()
    with pytest.raises(PromptActionRefused, match="not a member of this project who may label"):
        prompts_reassign(project=project, prompt_ids=[prompt.pk], actor=lead, labeler=person)
    assert Prompt.objects.get(pk=prompt.pk).reserved_for is None and not AuditEntry.objects.exists()


def test_reassigning_a_prompt_its_labeler_judged_is_refused_naming_it(project, lead, labeler):
    project.overlap = 2
    project.save()
    (prompt,) = factories.prompts(project, 1)
    judge(assignment_next_for(annotator=labeler, project=project))
    with pytest.raises(PromptActionRefused, match=f'labeler already judged "{prompt.external_id}"'):
        prompts_reassign(project=project, prompt_ids=[prompt.pk], actor=lead, labeler=labeler)


def test_reassigning_a_finished_or_taken_out_prompt_is_refused(project, lead, labeler):
    finished, out = factories.prompts(project, 2)
    judge(assignment_next_for(annotator=factories.member(project, "labeler"), project=project))
    prompts_take_out(project=project, prompt_ids=[out.pk], actor=lead)
    with pytest.raises(PromptActionRefused, match="send them back first"):
        prompts_reassign(project=project, prompt_ids=[finished.pk], actor=lead, labeler=labeler)
    with pytest.raises(PromptActionRefused, match="put them back first"):
        prompts_reassign(project=project, prompt_ids=[out.pk], actor=lead, labeler=labeler)


def test_an_expired_lease_of_a_skipped_then_lifted_prompt_is_not_counted(project, lead, labeler):
    # The lease recount (PROMPT_LOAD_SQL) counts live active leases only: a lifted skip holds no place.
    (prompt,) = factories.prompts(project, 1)
    now = timezone.now()
    assignment_skip(assignment=assignment_next_for(annotator=labeler, project=project, now=now - timedelta(hours=1)))
    prompts_lift_skips(project=project, prompt_ids=[prompt.pk], actor=lead)
    other = factories.member(project, "labeler")
    judge(assignment_next_for(annotator=other, project=project))
    assert Prompt.objects.get(pk=prompt.pk).judgment_count == 1


def test_a_taken_out_prompt_is_not_served_as_a_swapped_repeat_either(project, lead, labeler):
    project.repeat_share, project.repeat_gap = 1.0, 0
    project.save()
    (prompt,) = factories.prompts(project, 1)
    judge(assignment_next_for(annotator=labeler, project=project))
    prompts_take_out(project=project, prompt_ids=[prompt.pk], actor=lead)
    assert assignment_next_for(annotator=labeler, project=project) is None
    prompts_put_back(project=project, prompt_ids=[prompt.pk], actor=lead)
    assert assignment_next_for(annotator=labeler, project=project).repeat_of_id is not None
