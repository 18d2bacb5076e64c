"""Reviewers rejecting while labelers label, at once on PostgreSQL: every prompt ends with its
overlap of judgments that are not rejected, and each prompt's count is exact."""

import threading
import uuid
from collections import Counter

import pytest
from django.db import connection

from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import Judgment, Prompt
from annotator.queue import assignment_next_for
from annotator.review import judgment_review_reject
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LABELERS = 8
PROMPTS = 20
OVERLAP = 2


def _in_threads(targets):
    start, failures = threading.Barrier(len(targets)), []

    def run(target):
        try:
            start.wait()
            target()
        except Exception as error:  # reported by the main thread, which owns the assertion
            failures.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return failures


def test_rejections_while_labeling_refill_every_prompt_to_its_overlap_exactly():
    project = factories.project(overlap=OVERLAP)
    factories.prompts(project, PROMPTS)
    people = [factories.member(project, "labeler") for _ in range(LABELERS)]
    reviewers = [factories.member(project, "reviewer") for _ in range(2)]
    labeling = threading.Event()

    def label(person):
        for _ in range(2 * PROMPTS):
            assignment = assignment_next_for(annotator=person, project=project)
            if assignment is None:
                return
            judgment_record(
                assignment=assignment,
                result=JudgmentResult(choice="a"),
                client_id=uuid.uuid4().hex,
            )
        raise AssertionError(f"{person} was still getting items")

    def review(reviewer, parity):
        # Rejects the first judgment of every other prompt (by id parity) once it exists.
        done = set()
        for _ in range(400):
            for judgment in Judgment.objects.filter(prompt__project=project, review="").order_by("id"):
                if judgment.prompt_id % 2 == parity and judgment.prompt_id not in done:
                    judgment_review_reject(judgment=judgment, actor=reviewer, reason="Redo.")
                    done.add(judgment.prompt_id)
            if len(done) == PROMPTS // 2 or labeling.is_set():
                return

    failures = _in_threads([
        lambda: review(reviewers[0], 0), lambda: review(reviewers[1], 1),
        *[lambda p=p: label(p) for p in people],
    ])  # fmt: skip
    assert failures == []
    # Whatever the reviewers rejected after the labelers ran out goes to the labelers who remain.
    labeling.set()
    assert _in_threads([lambda p=p: label(p) for p in people]) == []

    kept = Counter(
        Judgment.objects.filter(prompt__project=project).exclude(review="rejected").values_list("prompt_id", flat=True)
    )
    assert len(kept) == PROMPTS and set(kept.values()) == {OVERLAP}
    assert dict(Prompt.objects.filter(project=project).values_list("id", "judgment_count")) == dict(kept)
    assert Judgment.objects.filter(prompt__project=project, review="rejected").exists()
