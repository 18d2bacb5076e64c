"""Many labelers at once on PostgreSQL: the queue hands out each prompt exactly `overlap` times."""

import threading
import uuid
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count

from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import Assignment, Judgment, Prompt
from annotator.queue import assignment_next_for
from tests import factories

LABELERS = 20
PROMPTS = 100
OVERLAP = 2


def _label_until_done(*, annotator, project, start, failures):
    try:
        start.wait()
        for _ in range(PROMPTS + 1):  # bounded: nobody can judge more prompts than there are
            assignment = assignment_next_for(annotator=annotator, project=project)
            if assignment is None:
                return
            judgment_record(assignment=assignment, result=JudgmentResult(choice="a"), client_id=uuid.uuid4().hex)
        failures.append(f"{annotator} was still getting items after {PROMPTS + 1} judgments")
    except Exception as error:  # reported by the main thread, which owns the assertion
        failures.append(f"{annotator}: {error!r}")
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_labelers_at_once_fill_every_prompt_to_its_overlap_exactly():
    project = factories.project(overlap=OVERLAP)
    factories.prompts(project, PROMPTS)
    people = [factories.member(project, "labeler") for _ in range(LABELERS)]
    start, failures = threading.Barrier(LABELERS), []
    threads = [
        threading.Thread(
            target=_label_until_done,
            kwargs={"annotator": person, "project": project, "start": start, "failures": failures},
        )
        for person in people
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    per_prompt = Counter(Judgment.objects.filter(prompt__project=project).values_list("prompt_id", flat=True))
    assert len(per_prompt) == PROMPTS and set(per_prompt.values()) == {OVERLAP}
    pairs = Judgment.objects.values("annotator", "prompt").annotate(n=Count("id")).filter(n__gt=1)
    assert not pairs.exists()  # nobody judged a prompt twice
    counts = dict(Prompt.objects.filter(project=project).values_list("id", "judgment_count"))
    assert counts == dict(per_prompt)
    assert not Assignment.objects.filter(project=project, status=Assignment.Status.ACTIVE).exists()
