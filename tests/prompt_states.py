"""Prompts in each state the prompts browser shows and filters (tests/lead, tests/api); the fixture is
registered in tests/conftest.py."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotator.models import Assignment, Judgment, Prompt
from tests import factories


def lease(prompt, user, status=Assignment.Status.ACTIVE, minutes=10):
    shown = list(prompt.completions.values_list("id", flat=True))
    return Assignment.objects.create(
        project=prompt.project, prompt=prompt, annotator=user, shown=shown, status=status,
        expires_at=timezone.now() + timedelta(minutes=minutes),
    )


def judgment(prompt, user, choice):
    shown = list(prompt.completions.order_by("id").values_list("id", flat=True))
    Judgment.objects.create(annotator=user, prompt=prompt, shown=shown, choice=choice, client_id=f"{prompt.pk}-{user.pk}")
    Prompt.objects.filter(pk=prompt.pk).update(judgment_count=prompt.judgments.count())


@pytest.fixture
def prompt_states(project, lead, labeler):
    """One prompt in each state the filters pick out, each with its own text."""
    other = factories.member(project, "labeler", username="other")
    texts = {
        "plain": "The quick brown fox", "held": "A held one", "skipped": "Skipped by one",
        "stuck": "Skipped by all", "agreed": "Both said A", "disagreed": "One said A, one said B",
        "gold": "A gold item", "taken": "Taken out",
    }
    made = {}
    for name, text in texts.items():
        (prompt,) = factories.prompts(project, 1, text=text)
        Prompt.objects.filter(pk=prompt.pk).update(text=text, external_id=f"ext-{name}")
        made[name] = Prompt.objects.get(pk=prompt.pk)
    lease(made["held"], labeler)
    lease(made["skipped"], other, Assignment.Status.SKIPPED)
    for user in (labeler, other, lead):
        lease(made["stuck"], user, Assignment.Status.SKIPPED)
    judgment(made["agreed"], labeler, "a")
    judgment(made["agreed"], other, "a")
    judgment(made["disagreed"], labeler, "a")
    judgment(made["disagreed"], other, "b")
    Prompt.objects.filter(pk=made["gold"].pk).update(gold=list(made["gold"].completions.values_list("id", flat=True)))
    Prompt.objects.filter(pk=made["taken"].pk).update(taken_out=True)
    return made
