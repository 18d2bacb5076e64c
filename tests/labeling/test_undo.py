"""A labeler takes back a judgment within ARBITER_UNDO_MINUTES: it is gone, and the item is theirs again."""

from datetime import timedelta

import pytest

from annotator.judgments import JudgmentResult, UndoRefused, judgment_record, judgment_undo
from annotator.members import membership_add
from annotator.models import AuditEntry, Comparison, Completion, Judgment
from annotator.queue import assignment_next_for
from annotator.selectors import judgments_recent_for, project_progress
from tests import factories

pytestmark = pytest.mark.django_db


def _judge(project, labeler, result, client_id="c1"):
    assignment = assignment_next_for(annotator=labeler, project=project)
    judgment, _ = judgment_record(assignment=assignment, result=result, client_id=client_id)
    return assignment, judgment


def test_undo_removes_the_judgment_its_comparisons_and_its_edit(project, labeler):
    (prompt,) = factories.prompts(project, 1)
    assignment = assignment_next_for(annotator=labeler, project=project)
    result = JudgmentResult(choice="b", edit_of=assignment.shown[0], edit_text="Better.")
    edited, _ = judgment_record(assignment=assignment, result=result, client_id="c1")
    assert Comparison.objects.filter(judgment=edited).count() == 3  # B > A, and the edit beats both

    judgment_undo(judgment=edited, actor=labeler)

    assert not Judgment.objects.exists()
    assert not Comparison.objects.exists()
    assert not Completion.objects.filter(origin=Completion.Origin.EDITED).exists()
    assert Completion.objects.filter(prompt=prompt).count() == 2  # the imported ones stay
    prompt.refresh_from_db()
    assert prompt.judgment_count == 0


def test_the_undone_item_comes_straight_back_with_the_same_completions_in_the_same_order(project, labeler):
    factories.prompts(project, 3)
    assignment, judgment = _judge(project, labeler, JudgmentResult(choice="a"))
    following = assignment_next_for(annotator=labeler, project=project)  # the labeler moved on
    assert following.prompt_id != assignment.prompt_id

    judgment_undo(judgment=judgment, actor=labeler)

    back = assignment_next_for(annotator=labeler, project=project)
    assert (back.prompt_id, back.shown) == (assignment.prompt_id, assignment.shown)
    again, created = judgment_record(assignment=back, result=JudgmentResult(choice="b"), client_id="c2")
    assert created and again.choice == "b"
    assert list(Comparison.objects.values_list("chosen_id", "rejected_id")) == [(back.shown[1], back.shown[0])]
    # and then the item it had moved on to
    assert assignment_next_for(annotator=labeler, project=project).pk == following.pk


def test_the_undone_item_keeps_its_place_under_the_overlap(project, labeler):
    """Overlap 1: the prompt was full with the judgment and stays full with the lease that replaced it."""
    factories.prompts(project, 1)
    other = factories.member(project, "labeler")
    _, judgment = _judge(project, labeler, JudgmentResult(choice="a"))
    judgment_undo(judgment=judgment, actor=labeler)

    assert assignment_next_for(annotator=other, project=project) is None
    assert project_progress(project=project, annotator=labeler)["left_for_you"] == 1


def test_an_undone_item_whose_new_lease_lapsed_goes_to_whoever_asks(project, labeler):
    factories.prompts(project, 1)
    other = factories.member(project, "labeler")
    assignment, judgment = _judge(project, labeler, JudgmentResult(choice="a"))
    judgment_undo(judgment=judgment, actor=labeler, now=judgment.created_at)
    later = judgment.created_at + timedelta(seconds=project.lease_seconds + 1)
    assert assignment_next_for(annotator=other, project=project, now=later).prompt_id == assignment.prompt_id


def test_undo_is_written_to_the_audit_log(project, labeler):
    factories.prompts(project, 1)
    _, judgment = _judge(project, labeler, JudgmentResult(choice="b", strength="much"))
    judgment_undo(judgment=judgment, actor=labeler)

    entry = AuditEntry.objects.get()
    assert (entry.action, entry.project, entry.actor) == ("judgment.undo", project, labeler)
    assert entry.detail["judgment"] == judgment.pk
    assert entry.detail["choice"] == "b" and entry.detail["comparisons_removed"] == 1
    assert entry.detail["prompt"] == judgment.prompt.external_id


@pytest.mark.parametrize("minutes, allowed", [(9.9, True), (10.1, False)])
def test_undo_is_allowed_only_within_the_window(project, labeler, minutes, allowed):
    factories.prompts(project, 1)
    _, judgment = _judge(project, labeler, JudgmentResult(choice="a"))
    now = judgment.created_at + timedelta(minutes=minutes)
    if allowed:
        judgment_undo(judgment=judgment, actor=labeler, now=now)
        assert not Judgment.objects.exists()
    else:
        with pytest.raises(UndoRefused, match="10 minutes"):
            judgment_undo(judgment=judgment, actor=labeler, now=now)
        assert Judgment.objects.count() == 1 and Comparison.objects.count() == 1
        assert not AuditEntry.objects.exists()


def test_the_window_follows_the_setting(project, labeler, settings):
    settings.ARBITER_UNDO_MINUTES = 2
    factories.prompts(project, 1)
    _, judgment = _judge(project, labeler, JudgmentResult(choice="a"))
    with pytest.raises(UndoRefused, match="2 minutes"):
        judgment_undo(judgment=judgment, actor=labeler, now=judgment.created_at + timedelta(minutes=3))


def test_only_its_labeler_may_undo_a_judgment(project, labeler, lead):
    factories.prompts(project, 1)
    _, judgment = _judge(project, labeler, JudgmentResult(choice="a"))
    with pytest.raises(UndoRefused):
        judgment_undo(judgment=judgment, actor=lead)
    assert Judgment.objects.count() == 1


def test_a_second_undo_of_the_same_judgment_is_refused_and_changes_nothing(project, labeler):
    prompt = factories.prompts(project, 2)[0]
    _, judgment = _judge(project, labeler, JudgmentResult(choice="a"))
    judgment_undo(judgment=judgment, actor=labeler)
    with pytest.raises(UndoRefused, match="already undone"):
        judgment_undo(judgment=judgment, actor=labeler)
    prompt.refresh_from_db()
    assert prompt.judgment_count == 0
    assert AuditEntry.objects.count() == 1


def test_recent_judgments_say_what_was_chosen_and_which_pairs_it_made(project, labeler):
    factories.prompts(project, 2)
    first, _ = _judge(project, labeler, JudgmentResult(choice="b"))
    second = assignment_next_for(annotator=labeler, project=project)
    tie_and_edit = JudgmentResult(choice="tie", edit_of=second.shown[1], edit_text="New.")
    judgment_record(assignment=second, result=tie_and_edit, client_id="c2")
    newest, oldest = judgments_recent_for(annotator=labeler, project=project)
    assert oldest.pairs == [("B", "A")] and oldest.undoable
    assert newest.choice == "tie" and newest.edited_letter == "B"
    assert newest.pairs == [("E", "A"), ("E", "B")]
    assert [letter for letter, _text in newest.completions] == ["A", "B", "E"]
    later = oldest.created_at + timedelta(minutes=11)
    assert not any(j.undoable for j in judgments_recent_for(annotator=labeler, project=project, now=later))


def test_recent_judgments_are_only_the_labelers_own_in_this_project(project, labeler):
    factories.prompts(project, 1)
    _judge(project, factories.member(project, "labeler"), JudgmentResult(choice="a"))
    elsewhere = factories.project()
    membership_add(project=elsewhere, user=labeler, role="labeler")
    factories.prompts(elsewhere, 1)
    _judge(elsewhere, labeler, JudgmentResult(choice="a"))
    assert judgments_recent_for(annotator=labeler, project=project) == []
    assert len(judgments_recent_for(annotator=labeler, project=elsewhere)) == 1


def test_recent_judgments_of_a_ranking_name_the_ranks_and_exclusions_by_letter_in_three_queries(
    labeler, django_assert_num_queries
):
    project = factories.project(mode="ranking", completions_shown=3)
    membership_add(project=project, user=labeler, role="labeler")
    factories.prompts(project, 2, completions=3)
    for client_id in ("c1", "c2"):
        assignment = assignment_next_for(annotator=labeler, project=project)
        a, b, c = assignment.shown
        result = JudgmentResult(ranking=[c, a], excluded=[b])
        judgment_record(assignment=assignment, result=result, client_id=client_id)

    with django_assert_num_queries(3):
        judgments = judgments_recent_for(annotator=labeler, project=project)
    said = [(j.ranking_letters, j.excluded_letters, j.pairs) for j in judgments]
    assert said == [(["C", "A"], ["B"], [("C", "A")])] * 2
