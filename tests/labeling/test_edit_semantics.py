"""An edit says "the edited text beats every completion shown" and nothing more, unless the labeler also chose."""

import pytest

from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import Comparison, Project
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db


def _stored_pairs():
    return set(Comparison.objects.values_list("chosen_id", "rejected_id"))


def test_an_edit_of_b_alone_stores_no_choice_and_only_the_edit_pairs(project, labeler):
    factories.prompts(project, 1)
    assignment = assignment_next_for(annotator=labeler, project=project)
    a, b = assignment.shown
    judgment, _ = judgment_record(
        assignment=assignment, result=JudgmentResult(edit_of=b, edit_text="A better B"), client_id="e1"
    )
    edited = judgment.edited_completion_id
    assert judgment.choice == ""
    assert _stored_pairs() == {(edited, a), (edited, b)}  # never "the unedited B beat A"


def test_an_edit_with_an_explicit_choice_stores_both(project, labeler):
    factories.prompts(project, 1)
    assignment = assignment_next_for(annotator=labeler, project=project)
    a, b = assignment.shown
    judgment, _ = judgment_record(
        assignment=assignment, result=JudgmentResult(choice="a", edit_of=b, edit_text="B, mended"), client_id="e1"
    )
    edited = judgment.edited_completion_id
    assert judgment.choice == "a"
    assert _stored_pairs() == {(a, b), (edited, a), (edited, b)}


def test_an_edit_with_a_tie_stores_the_tie_and_only_the_edit_pairs(project, labeler):
    factories.prompts(project, 1)
    assignment = assignment_next_for(annotator=labeler, project=project)
    a, b = assignment.shown
    judgment, _ = judgment_record(
        assignment=assignment, result=JudgmentResult(choice="tie", edit_of=a, edit_text="Both, merged"), client_id="e1"
    )
    assert judgment.choice == "tie"
    assert _stored_pairs() == {(judgment.edited_completion_id, a), (judgment.edited_completion_id, b)}


def test_an_edit_alone_in_a_ranking_project_ranks_nothing_else(db):
    project = factories.project(mode=Project.Mode.RANKING, completions_shown=3)
    factories.prompts(project, 1, completions=3)
    person = factories.member(project, "labeler")
    assignment = assignment_next_for(annotator=person, project=project)
    judgment, _ = judgment_record(
        assignment=assignment, result=JudgmentResult(edit_of=assignment.shown[2], edit_text="Best"), client_id="e1"
    )
    assert judgment.ranking == [] and judgment.excluded == []
    assert _stored_pairs() == {(judgment.edited_completion_id, shown) for shown in assignment.shown}


def test_an_edit_with_a_ranking_stores_both(db):
    project = factories.project(mode=Project.Mode.RANKING, completions_shown=3)
    factories.prompts(project, 1, completions=3)
    person = factories.member(project, "labeler")
    assignment = assignment_next_for(annotator=person, project=project)
    x, y, z = assignment.shown
    judgment, _ = judgment_record(
        assignment=assignment,
        result=JudgmentResult(ranking=[z, x, y], edit_of=y, edit_text="Mended"),
        client_id="e1",
    )
    edited = judgment.edited_completion_id
    assert _stored_pairs() == {(z, x), (z, y), (x, y), (edited, x), (edited, y), (edited, z)}
