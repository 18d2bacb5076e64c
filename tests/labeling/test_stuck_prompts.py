"""Stuck prompts (annotator.stuck): unfinished, yet the queue can serve them to no one."""

import pytest
from django.urls import reverse

from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import Membership, Prompt
from annotator.prompt_actions import prompts_lift_skips, prompts_reassign, prompts_take_out
from annotator.queue import assignment_next_for, assignment_skip
from annotator.stuck import stuck_count, stuck_prompt_ids
from tests import factories

pytestmark = pytest.mark.django_db


def skip(project, labeler):
    assignment_skip(assignment=assignment_next_for(annotator=labeler, project=project))


def judge(project, labeler):
    lease = assignment_next_for(annotator=labeler, project=project)
    judgment_record(assignment=lease, result=JudgmentResult(choice="a"), client_id=f"c{lease.pk}")


@pytest.fixture
def two_labelers(project):
    project.overlap = 2
    project.save()
    return factories.member(project, "labeler"), factories.member(project, "labeler")


def test_a_prompt_judged_by_one_and_skipped_by_the_other_labeler_is_stuck(project, two_labelers):
    first, second = two_labelers
    (prompt,) = factories.prompts(project, 1)
    judge(project, first)
    assert stuck_count(project=project) == 0  # the second labeler may still take it
    skip(project, second)
    assert stuck_count(project=project) == 1
    assert list(stuck_prompt_ids(project=project)) == [prompt.pk]


def test_a_prompt_with_a_live_lease_or_all_its_judgments_or_taken_out_is_not_stuck(project, two_labelers, lead):
    first, second = two_labelers
    held, out = factories.prompts(project, 2)
    judge(project, first)  # `held`, the first in queue order
    skip(project, second)  # `held`
    assignment_next_for(annotator=first, project=project)  # `out`, leased
    lease = assignment_next_for(annotator=second, project=project)
    assert lease.prompt_id == out.pk
    assert list(stuck_prompt_ids(project=project)) == [held.pk]
    prompts_take_out(project=project, prompt_ids=[held.pk], actor=lead)
    assert stuck_count(project=project) == 0


def test_reviewers_and_leads_who_never_label_are_not_waited_for(project, labeler):
    (prompt,) = factories.prompts(project, 1)
    factories.member(project, "reviewer")
    lead = factories.member(project, "lead")
    skip(project, labeler)
    assert stuck_count(project=project) == 1
    factories.prompts(project, 1)
    judge(project, lead)  # the lead labels here: from now on they count
    assert list(stuck_prompt_ids(project=project)) == []


def test_lifting_the_skips_or_reassigning_unsticks_it(project, two_labelers, lead):
    first, second = two_labelers
    (prompt,) = factories.prompts(project, 1)
    judge(project, first)
    skip(project, second)
    prompts_lift_skips(project=project, prompt_ids=[prompt.pk], actor=lead)
    assert stuck_count(project=project) == 0
    skip(project, second)
    assert stuck_count(project=project) == 1
    prompts_reassign(project=project, prompt_ids=[prompt.pk], actor=lead, labeler=second)
    assert stuck_count(project=project) == 0


def test_a_prompt_reserved_for_someone_who_left_is_stuck(project, two_labelers, lead):
    first, _second = two_labelers
    (prompt,) = factories.prompts(project, 1)
    prompts_reassign(project=project, prompt_ids=[prompt.pk], actor=lead, labeler=first)
    assert stuck_count(project=project) == 0
    Membership.objects.filter(user=first).delete()
    assert stuck_count(project=project) == 1
    assert Prompt.objects.get().reserved_for == first


def test_the_count_is_one_query(project, two_labelers, django_assert_num_queries):
    factories.prompts(project, 3)
    with django_assert_num_queries(1):
        assert stuck_count(project=project) == 0


def test_the_project_page_links_its_stuck_count_to_the_prompts_browser(client, project, two_labelers, lead):
    first, second = two_labelers
    factories.prompts(project, 1)
    client.force_login(lead)
    page = reverse("project_detail", args=[project.slug])
    assert "stuck" not in client.get(page).content.decode()
    judge(project, first)
    skip(project, second)
    html = client.get(page).content.decode()
    assert f'<a href="/projects/{project.slug}/prompts/?filter=stuck">1 stuck</a>' in html
