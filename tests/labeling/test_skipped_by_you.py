"""A labeler's skips are counted apart ("Skipped by you"), never as done by them."""

import re

import pytest
from django.urls import reverse

from annotator.judgments import JudgmentResult, judgment_record
from annotator.prompt_actions import prompts_lift_skips, prompts_reassign, prompts_take_out
from annotator.queue import assignment_next_for, assignment_skip
from annotator.selectors import project_progress
from tests import factories

pytestmark = pytest.mark.django_db


def _progress_text(html):
    line = re.search(r'<p class="progress".*?</p>', html, re.S).group(0)
    return " ".join(re.sub(r"<[^>]+>", " ", line).replace("·", " ").split())


@pytest.fixture
def project():
    return factories.project(overlap=2)


def test_a_skipped_prompt_is_counted_as_skipped_not_as_done(client, project):
    labeler = factories.member(project, "labeler")
    skipped, judged = factories.prompts(project, 2)
    assignment_skip(assignment=assignment_next_for(annotator=labeler, project=project))
    lease = assignment_next_for(annotator=labeler, project=project)
    judgment_record(assignment=lease, result=JudgmentResult(choice="a"), client_id="c1")
    progress = project_progress(project=project, annotator=labeler)
    assert (progress["waiting_for_others"], progress["skipped_by_you"], progress["left_for_you"]) == (1, 1, 0)
    client.force_login(labeler)
    html = client.get(reverse("label", args=[project.slug])).content.decode()
    assert _progress_text(html) == (
        "Done today: 1 Left for you: 0 Done by you, still need labels from others: 1 Skipped by you: 1"
    )
    listing = client.get(reverse("project_list")).content.decode()
    assert "Skipped by you: 1" in listing


def test_a_lifted_skip_is_left_for_you_again(project):
    labeler, lead = factories.member(project, "labeler"), factories.member(project, "lead")
    (prompt,) = factories.prompts(project, 1)
    assignment_skip(assignment=assignment_next_for(annotator=labeler, project=project))
    prompts_lift_skips(project=project, prompt_ids=[prompt.pk], actor=lead)
    progress = project_progress(project=project, annotator=labeler)
    assert (progress["skipped_by_you"], progress["left_for_you"]) == (0, 1)


def test_taken_out_prompts_and_prompts_reserved_for_others_are_not_left_for_you(project):
    labeler, other, lead = (factories.member(project, role) for role in ("labeler", "labeler", "lead"))
    out, reserved, free = factories.prompts(project, 3)
    prompts_take_out(project=project, prompt_ids=[out.pk], actor=lead)
    prompts_reassign(project=project, prompt_ids=[reserved.pk], actor=lead, labeler=other)
    progress = project_progress(project=project, annotator=labeler)
    assert (progress["prompts"], progress["left_for_you"]) == (2, 1)
    assert project_progress(project=project, annotator=other)["left_for_you"] == 2
