import pytest

from annotator.judgments import JudgmentResult, judgment_record
from annotator.queue import assignment_next_for
from tests import factories


def judge(project, labeler, client_id, **result):
    assignment = assignment_next_for(annotator=labeler, project=project)
    judgment, _ = judgment_record(
        assignment=assignment,
        result=JudgmentResult(**(result or {"choice": "a"})),
        client_id=client_id,
    )
    return judgment


@pytest.fixture
def reviewer(project):
    return factories.member(project, "reviewer", username="reviewer")


@pytest.fixture
def two_judged(project, labeler):
    """Two prompts, each judged by the labeler (A is better): (first, second)."""
    factories.prompts(project, 2)
    return judge(project, labeler, "j1"), judge(project, labeler, "j2")


from tests.api.conftest import api_as  # noqa: F401 (the API tests' client fixture)
