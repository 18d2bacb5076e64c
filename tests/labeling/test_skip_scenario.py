"""The reported bug, end to end: overlap 3, three labelers, one skip. The skipped prompt must not
be stranded: it shows as stuck, the lead gives it back (lifting the skip, or reassigning it to a
fourth labeler) and every prompt ends complete."""

import pytest

from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import Prompt
from annotator.members import membership_add
from annotator.prompt_actions import prompts_lift_skips, prompts_reassign
from annotator.queue import assignment_next_for, assignment_skip
from annotator.selectors import project_progress
from annotator.stuck import stuck_count, stuck_prompt_ids
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)  # real transactions, as in production (PostgreSQL: row locks)

PROMPTS = 6


def label_until_empty(project, labelers, *, skipper=None, skip_prompt=None):
    """Each labeler in turn takes the next item and judges it (the skipper skips `skip_prompt`),
    until the queue is empty for everyone."""
    waiting = list(labelers)
    while waiting:
        for labeler in list(waiting):
            lease = assignment_next_for(annotator=labeler, project=project)
            if lease is None:
                waiting.remove(labeler)
            elif labeler == skipper and lease.prompt_id == skip_prompt:
                assignment_skip(assignment=lease)
            else:
                judgment_record(assignment=lease, result=JudgmentResult(choice="a"), client_id=f"c{lease.pk}")


@pytest.fixture
def stranded():
    """Three labelers labeled everything; the third skipped one prompt: (project, lead, labelers, prompt)."""
    project = factories.project(overlap=3)
    lead = factories.member(project, "lead")  # leads, never labeling here, are not waited for
    labelers = [factories.member(project, "labeler") for _ in range(3)]
    prompts = factories.prompts(project, PROMPTS)
    skipped = prompts[2]
    label_until_empty(project, labelers, skipper=labelers[2], skip_prompt=skipped.pk)
    progress = project_progress(project=project)
    assert (progress["judgments"], progress["judgments_wanted"], progress["remaining"]) == (3 * PROMPTS - 1, 3 * PROMPTS, 1)
    assert stuck_count(project=project) == 1 and list(stuck_prompt_ids(project=project)) == [skipped.pk]
    skipper_progress = project_progress(project=project, annotator=labelers[2])
    assert (skipper_progress["skipped_by_you"], skipper_progress["waiting_for_others"]) == (1, 0)
    return project, lead, labelers, skipped


def assert_all_complete(project):
    assert not Prompt.objects.filter(project=project, judgment_count__lt=project.overlap).exists()
    assert stuck_count(project=project) == 0
    assert project_progress(project=project)["remaining"] == 0


def test_lifting_the_skip_gives_the_prompt_back_to_the_skipper(stranded):
    project, lead, labelers, skipped = stranded
    assert prompts_lift_skips(project=project, prompt_ids=[skipped.pk], actor=lead) == 1
    assert stuck_count(project=project) == 0
    assert project_progress(project=project, annotator=labelers[2])["left_for_you"] == 1
    lease = assignment_next_for(annotator=labelers[2], project=project)
    assert lease.prompt_id == skipped.pk
    label_until_empty(project, labelers)
    assert_all_complete(project)


def test_reassigning_to_a_fourth_labeler_completes_it(stranded):
    project, lead, labelers, skipped = stranded
    fourth = factories.user()
    membership_add(project=project, user=fourth, role="labeler")
    assert stuck_count(project=project) == 0  # someone new may label it
    assert prompts_reassign(project=project, prompt_ids=[skipped.pk], actor=lead, labeler=fourth) == 1
    assert assignment_next_for(annotator=labelers[2], project=project) is None  # the skip stands for them
    label_until_empty(project, [*labelers, fourth])
    assert_all_complete(project)
    assert Prompt.objects.get(pk=skipped.pk).judgments.filter(annotator=fourth).exists()
    assert Prompt.objects.get(pk=skipped.pk).reserved_for is None
