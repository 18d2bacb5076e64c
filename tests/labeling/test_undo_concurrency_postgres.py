"""Undo among many labelers at once on PostgreSQL: the overlap still holds and counts stay exact."""

import threading
import uuid
from collections import Counter

import pytest
from django.db import connection

from annotator.judgments import JudgmentResult, UndoRefused, judgment_record, judgment_undo
from annotator.models import Assignment, AuditEntry, Judgment, Prompt
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LABELERS = 10
PROMPTS = 40
OVERLAP = 2


def _in_threads(target, args_list):
    start, failures = threading.Barrier(len(args_list)), []

    def run(*args):
        try:
            start.wait()
            target(*args)
        except Exception as error:  # reported by the main thread, which owns the assertion
            failures.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=args) for args in args_list]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return failures


def _label_changing_every_third(annotator, project):
    for n in range(2 * PROMPTS):  # bounded: at most PROMPTS judgments and their changes
        assignment = assignment_next_for(annotator=annotator, project=project)
        if assignment is None:
            return
        result = JudgmentResult(choice="a")
        judgment, _ = judgment_record(assignment=assignment, result=result, client_id=uuid.uuid4().hex)
        if n % 3 == 0:
            judgment_undo(judgment=judgment, actor=annotator)  # the item is theirs again: the next "next"
    raise AssertionError(f"{annotator} was still getting items")


def test_labelers_undoing_and_rejudging_at_once_fill_every_prompt_to_its_overlap_exactly():
    project = factories.project(overlap=OVERLAP)
    factories.prompts(project, PROMPTS)
    people = [factories.member(project, "labeler") for _ in range(LABELERS)]

    assert _in_threads(_label_changing_every_third, [(person, project) for person in people]) == []

    per_prompt = Counter(Judgment.objects.filter(prompt__project=project).values_list("prompt_id", flat=True))
    assert len(per_prompt) == PROMPTS and set(per_prompt.values()) == {OVERLAP}
    assert dict(Prompt.objects.filter(project=project).values_list("id", "judgment_count")) == dict(per_prompt)
    assert not Assignment.objects.filter(project=project, status=Assignment.Status.ACTIVE).exists()
    assert AuditEntry.objects.filter(action="judgment.undo").exists()


def test_two_undos_of_one_judgment_at_once_remove_it_once():
    project = factories.project()
    (prompt,) = factories.prompts(project, 1)
    labeler = factories.member(project, "labeler")
    assignment = assignment_next_for(annotator=labeler, project=project)
    judgment, _ = judgment_record(assignment=assignment, result=JudgmentResult(choice="a"), client_id="c1")
    refused = []

    def undo():
        try:
            judgment_undo(judgment=judgment, actor=labeler)
        except UndoRefused:
            refused.append(True)

    assert _in_threads(undo, [(), ()]) == []
    assert refused == [True]
    prompt.refresh_from_db()
    assert prompt.judgment_count == 0
    assert AuditEntry.objects.filter(action="judgment.undo").count() == 1
