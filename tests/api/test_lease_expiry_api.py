"""A late submit over the API: 409 when the prompt is full, and never a judgment past the overlap."""

import threading
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from annotator.judgments import JudgmentResult, LeaseExpired, judgment_record
from annotator.models import Assignment, Judgment, Prompt
from annotator.queue import assignment_next_for
from tests import factories


@pytest.mark.django_db
def test_api_late_submit_to_a_full_prompt_is_409_with_its_reason(api_as, db):
    project = factories.project(overlap=1)
    factories.prompts(project, 1)
    first = api_as(factories.member(project, "labeler"))
    second = api_as(factories.member(project, "labeler"))
    item = first.get(f"/api/v1/projects/{project.slug}/next/").json()
    Assignment.objects.filter(pk=item["assignment"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    taken = second.get(f"/api/v1/projects/{project.slug}/next/").json()
    assert taken["prompt"] == item["prompt"]
    body = {"assignment": taken["assignment"], "client_id": "second", "choice": "a"}
    assert second.post("/api/v1/judgments/", body, format="json").status_code == 201

    body = {"assignment": item["assignment"], "client_id": "first", "choice": "b"}
    response = first.post("/api/v1/judgments/", body, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "lease expired and the prompt is full"}
    assert Judgment.objects.count() == 1 and Prompt.objects.get().judgment_count == 1


LABELERS = 6
PROMPTS = 40


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


def _submit_late(*, leases, start, outcomes, failures):
    try:
        start.wait()
        for lease in leases:
            try:
                judgment_record(assignment=lease, result=JudgmentResult(choice="b"), client_id=uuid.uuid4().hex)
                outcomes.append("stored")
            except LeaseExpired:
                outcomes.append("refused")
    except Exception as error:
        failures.append(f"late submits: {error!r}")
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_late_submits_racing_other_labelers_never_pass_the_overlap():
    """Overlap 1: one labeler submits 40 expired leases while six others take and judge the same prompts."""
    project = factories.project(overlap=1, lease_seconds=60)
    prompts = factories.prompts(project, PROMPTS)
    late_labeler = factories.member(project, "labeler")
    ran_out = timezone.now() - timedelta(seconds=1)
    leases = [
        Assignment.objects.create(
            project=project,
            prompt=prompt,
            annotator=late_labeler,
            shown=list(prompt.completions.values_list("id", flat=True)),
            expires_at=ran_out,
        )
        for prompt in prompts
    ]
    for lease in leases:
        lease.project, lease.annotator = project, late_labeler
    people = [factories.member(project, "labeler") for _ in range(LABELERS)]
    start, failures, outcomes = threading.Barrier(LABELERS + 1), [], []
    threads = [
        threading.Thread(
            target=_label_until_done,
            kwargs={"annotator": person, "project": project, "start": start, "failures": failures},
        )
        for person in people
    ]
    threads.append(
        threading.Thread(
            target=_submit_late, kwargs={"leases": leases, "start": start, "outcomes": outcomes, "failures": failures}
        )
    )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    per_prompt = Counter(Judgment.objects.filter(prompt__project=project).values_list("prompt_id", flat=True))
    assert set(per_prompt.values()) == {1} and len(per_prompt) == PROMPTS  # each prompt judged once, no more
    late_stored = Judgment.objects.filter(annotator=late_labeler).count()
    assert late_stored == outcomes.count("stored") and len(outcomes) == PROMPTS
    counts = dict(Prompt.objects.filter(project=project).values_list("id", "judgment_count"))
    assert counts == dict(per_prompt)
