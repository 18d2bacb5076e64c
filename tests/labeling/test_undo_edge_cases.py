"""Undo's edge cases: a late retry of the undone judgment, other leases held meanwhile, the window,
someone else's judgment, and a double undo through the page."""

from datetime import timedelta

import pytest
from django.urls import reverse

from annotator.judgments import JudgmentConflict, JudgmentResult, UndoRefused, judgment_record, judgment_undo
from annotator.members import membership_add
from annotator.models import Assignment, AuditEntry, Comparison, Judgment, Prompt
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db


def _judge(project, labeler, result=None, client_id="c1"):
    assignment = assignment_next_for(annotator=labeler, project=project)
    result = result or JudgmentResult(choice="a")
    judgment, _ = judgment_record(assignment=assignment, result=result, client_id=client_id)
    return assignment, judgment


def _post_judgment(client, assignment, client_id, choice="a"):
    body = {"assignment": assignment.pk, "client_id": client_id, "choice": choice}
    return client.post(f"/projects/{assignment.project.slug}/label/", body, HTTP_X_REQUESTED_WITH="fetch")


# (a) a retry of the undone judgment, arriving late


def test_a_late_retry_of_an_undone_judgment_does_not_bring_it_back(project, labeler):
    """The labeler took it back on purpose: the retry of the first submit is refused, the item stays theirs."""
    (prompt,) = factories.prompts(project, 1)
    assignment, judgment = _judge(project, labeler, client_id="first")
    judgment_undo(judgment=judgment, actor=labeler)

    with pytest.raises(JudgmentConflict):
        judgment_record(assignment=assignment, result=JudgmentResult(choice="a"), client_id="first")

    assert not Judgment.objects.exists() and not Comparison.objects.exists()
    prompt.refresh_from_db()
    assert prompt.judgment_count == 0
    back = assignment_next_for(annotator=labeler, project=project)
    assert (back.prompt_id, back.shown) == (prompt.pk, assignment.shown)
    again, created = judgment_record(assignment=back, result=JudgmentResult(choice="b"), client_id="second")
    assert created and again.choice == "b"


def test_a_late_retry_after_the_labeler_moved_on_is_refused_and_their_new_lease_is_untouched(project, labeler):
    first_prompt, second_prompt = factories.prompts(project, 2)
    assignment, judgment = _judge(project, labeler, client_id="first")
    moved_on = assignment_next_for(annotator=labeler, project=project)
    assert moved_on.prompt_id == second_prompt.pk
    judgment_undo(judgment=judgment, actor=labeler)

    with pytest.raises(JudgmentConflict):
        judgment_record(assignment=assignment, result=JudgmentResult(choice="a"), client_id="first")

    assert not Judgment.objects.exists()
    live = Assignment.objects.filter(annotator=labeler, status=Assignment.Status.ACTIVE)
    assert sorted(live.values_list("prompt_id", flat=True)) == [first_prompt.pk, second_prompt.pk]


def test_the_late_retry_through_the_labeling_page_is_a_clear_refusal_not_a_500(client, project, labeler):
    factories.prompts(project, 1)
    assignment, judgment = _judge(project, labeler, client_id="first")
    judgment_undo(judgment=judgment, actor=labeler)
    client.force_login(labeler)

    response = _post_judgment(client, assignment, "first")

    assert response.status_code == 409
    assert not Judgment.objects.exists()


def test_a_retry_of_a_judgment_that_was_not_undone_is_still_stored_once(project, labeler):
    factories.prompts(project, 1)
    assignment, judgment = _judge(project, labeler, client_id="first")
    again, created = judgment_record(assignment=assignment, result=JudgmentResult(choice="a"), client_id="first")
    assert (again.pk, created) == (judgment.pk, False)


# (b) other leases held meanwhile


def test_undo_while_holding_another_lease_gives_the_undone_item_first_then_the_other(project, labeler):
    factories.prompts(project, 2)
    assignment, judgment = _judge(project, labeler)
    moved_on = assignment_next_for(annotator=labeler, project=project)
    judgment_undo(judgment=judgment, actor=labeler)

    back = assignment_next_for(annotator=labeler, project=project)
    assert back.prompt_id == assignment.prompt_id
    judgment_record(assignment=back, result=JudgmentResult(choice="b"), client_id="c2")
    assert assignment_next_for(annotator=labeler, project=project).pk == moved_on.pk


@pytest.mark.parametrize("overlap", [2, 3])
def test_undo_beside_another_labelers_lease_on_the_prompt_does_not_over_serve_it(overlap, labeler):
    project = factories.project(overlap=overlap)
    membership_add(project=project, user=labeler, role="labeler")
    (prompt,) = factories.prompts(project, 1)
    others = [factories.member(project, "labeler") for _ in range(overlap)]
    _, judgment = _judge(project, labeler)
    holders = [person for person in others if assignment_next_for(annotator=person, project=project)]
    assert len(holders) == overlap - 1  # one judgment plus overlap-1 leases fill it

    judgment_undo(judgment=judgment, actor=labeler)

    late = [person for person in others if person not in holders]
    assert [assignment_next_for(annotator=person, project=project) for person in late] == [None]
    # everyone holding a place, the undoer included, can still be stored
    for n, person in enumerate([labeler, *holders]):
        lease = assignment_next_for(annotator=person, project=project)
        judgment_record(assignment=lease, result=JudgmentResult(choice="a"), client_id=f"k{n}")
    prompt.refresh_from_db()
    assert prompt.judgment_count == Judgment.objects.filter(prompt=prompt).count() == overlap


# (c) outside the window


def test_undo_outside_the_window_changes_nothing(project, labeler, settings):
    settings.ARBITER_UNDO_MINUTES = 5
    (prompt,) = factories.prompts(project, 1)
    assignment, judgment = _judge(project, labeler)
    with pytest.raises(UndoRefused, match="5 minutes"):
        judgment_undo(judgment=judgment, actor=labeler, now=judgment.created_at + timedelta(minutes=5, seconds=1))
    assert Judgment.objects.filter(pk=judgment.pk).exists() and Comparison.objects.count() == 1
    prompt.refresh_from_db()
    assert prompt.judgment_count == 1
    assert Assignment.objects.get(pk=assignment.pk).status == Assignment.Status.DONE
    assert not AuditEntry.objects.exists()


def test_the_page_refuses_undo_outside_the_window_with_a_message(client, project, labeler, settings):
    factories.prompts(project, 1)
    _, judgment = _judge(project, labeler)
    settings.ARBITER_UNDO_MINUTES = 0
    client.force_login(labeler)
    url = reverse("judgment_undo", args=[project.slug, judgment.pk])
    response = client.post(url, follow=True)
    assert response.status_code == 200
    assert "can no longer be changed" in response.content.decode()
    assert Judgment.objects.filter(pk=judgment.pk).exists()


# (d) someone else's judgment


def test_someone_elses_judgment_cannot_be_undone(project, labeler, client):
    factories.prompts(project, 1)
    other = factories.member(project, "labeler")
    _, judgment = _judge(project, labeler)
    with pytest.raises(UndoRefused):
        judgment_undo(judgment=judgment, actor=other)
    client.force_login(other)
    assert client.post(reverse("judgment_undo", args=[project.slug, judgment.pk])).status_code == 404
    assert Judgment.objects.filter(pk=judgment.pk).exists()
    assert Prompt.objects.get(pk=judgment.prompt_id).judgment_count == 1
    assert not AuditEntry.objects.exists()


# (e) double undo


def test_a_second_undo_post_is_a_404_and_changes_nothing(client, project, labeler):
    (prompt,) = factories.prompts(project, 1)
    _, judgment = _judge(project, labeler)
    client.force_login(labeler)
    url = reverse("judgment_undo", args=[project.slug, judgment.pk])
    assert client.post(url).status_code == 302
    assert client.post(url).status_code == 404
    prompt.refresh_from_db()
    assert prompt.judgment_count == 0
    assert AuditEntry.objects.filter(action="judgment.undo").count() == 1
    assert Assignment.objects.filter(prompt=prompt, status=Assignment.Status.ACTIVE).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_late_retry_racing_the_undo_on_postgres_leaves_one_consistent_state():
    """The retry and the undo at once: either order ends with no judgment or the retry refused, never both."""
    import threading

    from django.db import connection

    project = factories.project(overlap=1)
    (prompt,) = factories.prompts(project, 1)
    labeler = factories.member(project, "labeler")
    assignment, judgment = _judge(project, labeler, client_id="first")
    start, errors = threading.Barrier(2), []

    def run(work):
        try:
            start.wait()
            work()
        except (JudgmentConflict, UndoRefused):
            pass
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    def retry():
        judgment_record(assignment=assignment, result=JudgmentResult(choice="a"), client_id="first")

    def undo():
        judgment_undo(judgment=judgment, actor=labeler)

    threads = [threading.Thread(target=run, args=(work,)) for work in (retry, undo)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    prompt.refresh_from_db()
    assert prompt.judgment_count == Judgment.objects.filter(prompt=prompt).count() == 0
    assert Assignment.objects.filter(prompt=prompt, status=Assignment.Status.ACTIVE).count() == 1
