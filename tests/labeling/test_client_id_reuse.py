"""A client_id stands for one judgment: sent again with the same judgment it is a retry, with another it is refused."""

import pytest

from annotator.judgments import JudgmentMismatch, JudgmentResult, judgment_record
from annotator.models import Comparison, Completion, Judgment, Project
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def assignment(project, labeler):
    factories.prompts(project, 2)
    return assignment_next_for(annotator=labeler, project=project)


def _first(assignment, **result):
    judgment, created = judgment_record(assignment=assignment, result=JudgmentResult(**result), client_id="c1")
    assert created
    return judgment


def test_the_same_judgment_again_returns_the_stored_one(assignment):
    b = assignment.shown[1]
    first = _first(assignment, choice="a", strength="much", comment="clear", edit_of=b, edit_text="B, fixed")
    again, created = judgment_record(
        assignment=assignment,
        result=JudgmentResult(choice="a", strength="much", comment="clear", edit_of=b, edit_text="B, fixed"),
        client_id="c1",
    )
    assert (again, created) == (first, False)
    assert Judgment.objects.count() == 1 and Completion.objects.filter(origin="edited").count() == 1


@pytest.mark.parametrize(
    "changed",
    [
        {"choice": "b"},
        {"choice": "a", "strength": "much"},
        {"choice": "a", "comment": "second thoughts"},
        {"choice": "a", "edit_text": "B, fixed again"},
        {"choice": "a", "edit_of": "A"},
        {"choice": "a", "edit_of": None, "edit_text": ""},
    ],
    ids=["choice", "strength", "comment", "edit text", "edit target", "no edit"],
)
def test_the_same_client_id_with_a_different_judgment_is_refused_and_changes_nothing(assignment, changed):
    a, b = assignment.shown
    _first(assignment, choice="a", edit_of=b, edit_text="B, fixed")
    fields = {"edit_of": b, "edit_text": "B, fixed", **changed}
    if fields["edit_of"] == "A":
        fields["edit_of"] = a
    with pytest.raises(JudgmentMismatch):
        judgment_record(assignment=assignment, result=JudgmentResult(**fields), client_id="c1")
    stored = Judgment.objects.get()
    assert (stored.choice, stored.strength, stored.comment) == ("a", "", "")
    assert Completion.objects.filter(origin="edited").count() == 1 and Comparison.objects.count() == 3


def test_the_same_client_id_for_another_assignment_is_refused(project, labeler, assignment):
    _first(assignment, choice="a")
    other = assignment_next_for(annotator=labeler, project=project)
    assert other.pk != assignment.pk
    with pytest.raises(JudgmentMismatch):
        judgment_record(assignment=other, result=JudgmentResult(choice="a"), client_id="c1")
    assert Judgment.objects.count() == 1
    other.refresh_from_db()
    assert other.status == "active"


def test_a_different_ranking_under_the_same_client_id_is_refused(db):
    project = factories.project(mode=Project.Mode.RANKING, completions_shown=3)
    factories.prompts(project, 1, completions=3)
    person = factories.member(project, "labeler")
    assignment = assignment_next_for(annotator=person, project=project)
    x, y, z = assignment.shown
    _first(assignment, ranking=[x, y, z])
    again, created = judgment_record(assignment=assignment, result=JudgmentResult(ranking=[x, y, z]), client_id="c1")
    assert not created
    with pytest.raises(JudgmentMismatch):
        judgment_record(assignment=assignment, result=JudgmentResult(ranking=[x, y], excluded=[z]), client_id="c1")
    assert Comparison.objects.count() == 3
