"""A hand-built project whose every export has a known answer.

Prompts "Q held 4" and "Q train" fall on the two sides of training's held-out hash (checked
below, so a change to the hash shows here first). Rows, oldest first:
  c1  alice  human     much  2026-01-10  from judgment j1 (choice a, edited, commented)
  c2  bob    human           2026-01-20  from judgment j2 (a ranking: t2 > t1, t3 excluded)
  c3  -      imported        2026-02-01
"""

from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from annotator.models import Assignment, Comparison, Completion, Judgment, Prompt
from rewardtrain.data import is_heldout
from tests import factories


def at(day, month=1):
    return datetime(2026, month, day, 12, tzinfo=timezone.utc)


@dataclass
class Data:
    project: object
    prompts: dict
    completions: dict
    judgments: dict
    comparisons: dict


@pytest.fixture
def data(project, lead):
    alice, bob = factories.member(project, "labeler", username="alice"), factories.member(project, "labeler", username="bob")
    held = Prompt.objects.create(project=project, external_id="held", text="Q held 4")
    train = Prompt.objects.create(project=project, external_id="train", text="Q train")
    assert is_heldout(held.text) and not is_heldout(train.text)
    h1, h2 = (Completion.objects.create(prompt=held, text=t) for t in ("=SUM(A1)", "plain"))
    h3 = Completion.objects.create(prompt=held, text="-edited", origin="edited", parent=h1, author=alice)
    t1, t2, t3 = (Completion.objects.create(prompt=train, text=t) for t in ("one", "two", "three"))
    lease = Assignment.objects.create(
        project=project, prompt=held, annotator=alice, shown=[h1.id, h2.id], status="done", expires_at=at(10)
    )
    Assignment.objects.filter(pk=lease.pk).update(created_at=at(9))
    j1 = Judgment.objects.create(
        annotator=alice, prompt=held, assignment=lease, shown=[h1.id, h2.id], choice="a", strength="much",
        comment="@ look", edited_completion=h3, time_spent_ms=4200, client_id="j1",
    )
    j2 = Judgment.objects.create(
        annotator=bob, prompt=train, shown=[t1.id, t2.id, t3.id], ranking=[t2.id, t1.id], excluded=[t3.id],
        client_id="j2",
    )
    c1 = Comparison.objects.create(
        project=project, prompt=held, chosen=h3, rejected=h2, judgment=j1, annotator=alice, strength="much"
    )
    c2 = Comparison.objects.create(project=project, prompt=train, chosen=t2, rejected=t1, judgment=j2, annotator=bob)
    c3 = Comparison.objects.create(project=project, prompt=train, chosen=t3, rejected=t1, source="imported")
    for row, day in ((c1, at(10)), (c2, at(20)), (c3, at(1, month=2)), (j1, at(10)), (j2, at(20))):
        type(row).objects.filter(pk=row.pk).update(created_at=day)
    return Data(
        project,
        {"held": held, "train": train},
        {"h1": h1, "h2": h2, "h3": h3, "t1": t1, "t2": t2, "t3": t3},
        {"j1": j1, "j2": j2},
        {"c1": c1, "c2": c2, "c3": c3},
    )
