"""Edits and comments are at most ARBITER_MAX_TEXT_CHARS long, like imported text."""

import pytest

from annotator.judgments import InvalidJudgment, JudgmentResult, judgment_record
from annotator.models import Completion, Judgment
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def assignment(settings, project, labeler):
    settings.ARBITER_MAX_TEXT_CHARS = 50
    factories.prompts(project, 1)
    return assignment_next_for(annotator=labeler, project=project)


def test_an_edit_over_the_limit_is_refused_naming_the_field_and_the_limit(assignment):
    result = JudgmentResult(edit_of=assignment.shown[0], edit_text="x" * 51)
    with pytest.raises(InvalidJudgment) as error:
        judgment_record(assignment=assignment, result=result, client_id="c1")
    assert error.value.errors == {"edit": "The edited text has 51 characters; at most 50 are allowed."}
    assert not Judgment.objects.exists() and not Completion.objects.filter(origin="edited").exists()


def test_a_comment_over_the_limit_is_refused_naming_the_field_and_the_limit(assignment):
    with pytest.raises(InvalidJudgment) as error:
        judgment_record(assignment=assignment, result=JudgmentResult(choice="a", comment="y" * 51), client_id="c1")
    assert error.value.errors == {"comment": "The comment has 51 characters; at most 50 are allowed."}
    assert not Judgment.objects.exists()


def test_an_edit_and_a_comment_at_the_limit_are_stored(assignment):
    result = JudgmentResult(choice="a", comment="y" * 50, edit_of=assignment.shown[0], edit_text="x" * 50)
    _judgment, created = judgment_record(assignment=assignment, result=result, client_id="c1")
    assert created
