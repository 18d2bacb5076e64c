"""Undoing a judgment a reviewer already rejected: its prompt's count must not drop twice."""

import pytest

from annotator.judgments import judgment_undo
from annotator.models import Prompt
from annotator.review import judgment_review_reject
from tests import factories
from tests.review.conftest import judge

pytestmark = pytest.mark.django_db


def test_undoing_a_rejected_judgment_leaves_its_prompts_count_exact(project, labeler, reviewer):
    (prompt,) = factories.prompts(project, 1)
    judgment = judge(project, labeler, "j1")
    judgment_review_reject(judgment=judgment, actor=reviewer, reason="Wrong.")
    judgment_undo(judgment=judgment, actor=labeler)
    assert Prompt.objects.get(pk=prompt.pk).judgment_count == 0
