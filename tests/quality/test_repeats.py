"""Swapped repeats: a share of items re-serves a pair the labeler judged at least `repeat_gap`
judgments ago, sides swapped; it is outside the overlap, stores no pairs and measures
self-consistency."""

import random
import uuid

import pytest

from annotator import selectors
from annotator.judgments import JudgmentResult, judgment_record, judgment_undo
from annotator.models import Assignment, Comparison, Judgment, Project, Prompt
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db


def judge(labeler, project, choice="a"):
    assignment = assignment_next_for(annotator=labeler, project=project)
    assignment = Assignment.objects.select_related("project").get(pk=assignment.pk)
    judgment, _ = judgment_record(assignment=assignment, result=JudgmentResult(choice=choice), client_id=uuid.uuid4().hex)
    return assignment, judgment


def always(monkeypatch, value):
    monkeypatch.setattr("annotator.queue.random.random", lambda: value)


@pytest.fixture
def setup():
    project = factories.project(overlap=2, repeat_gap=2)
    factories.prompts(project, 6)
    return project, factories.member(project, "labeler", username="ann")


def test_a_due_judgment_comes_back_with_sides_swapped_and_stores_no_pairs(setup, monkeypatch):
    project, ann = setup
    firsts = [judge(ann, project)[1] for _ in range(3)]
    Project.objects.filter(pk=project.pk).update(repeat_share=0.5)
    project.refresh_from_db()
    always(monkeypatch, 0.0)  # every draw asks for a repeat
    lease = assignment_next_for(annotator=ann, project=project)
    stored = Assignment.objects.get(pk=lease.pk)
    # only the first judgment has 2 (repeat_gap) judgments after it
    assert stored.repeat_of_id == firsts[0].id and stored.prompt_id == firsts[0].prompt_id
    assert stored.shown == list(reversed(firsts[0].shown))
    assert [c.id for c in lease.shown_completions] == stored.shown
    count_before = Prompt.objects.get(pk=firsts[0].prompt_id).judgment_count
    pairs_before = Comparison.objects.count()
    # "b" on the swapped screen is the completion the first judgment chose with "a": consistent
    repeat, created = judgment_record(assignment=stored, result=JudgmentResult(choice="b"), client_id="r1")
    assert created and repeat.repeat_of_id == firsts[0].id
    assert Comparison.objects.count() == pairs_before  # no pairs twice
    assert Prompt.objects.get(pk=firsts[0].prompt_id).judgment_count == count_before  # outside the overlap
    (row,) = selectors.quality_report_for(project=project)["labelers"]
    assert (row["self_consistency"], row["repeats"]) == (1.0, 1)
    # the next draw: the first judgment was repeated once, the others are not due yet
    lease = assignment_next_for(annotator=ann, project=project)
    assert Assignment.objects.get(pk=lease.pk).repeat_of_id is None


def test_no_repeat_when_the_draw_is_above_the_share_or_none_is_due(setup, monkeypatch):
    project, ann = setup
    for _ in range(3):
        judge(ann, project)
    Project.objects.filter(pk=project.pk).update(repeat_share=0.2)
    project.refresh_from_db()
    always(monkeypatch, 0.5)
    assert Assignment.objects.get(pk=assignment_next_for(annotator=ann, project=project).pk).repeat_of_id is None


def test_repeats_come_at_the_configured_share(monkeypatch):
    project = factories.project(repeat_share=0.3, repeat_gap=0)
    factories.prompts(project, 200)
    ann = factories.member(project, "labeler")
    random.seed(7)
    kinds = [judge(ann, project)[1].repeat_of_id is not None for _ in range(150)]
    # the first draw has nothing to repeat; afterwards ~30% are repeats (binomial sd ~ 5.6)
    assert 30 <= sum(kinds) <= 60


def test_a_live_repeat_lease_does_not_use_a_place_under_the_overlap(setup, monkeypatch):
    project, ann = setup
    bob, cat = factories.member(project, "labeler"), factories.member(project, "labeler")
    for _ in range(3):
        judge(ann, project)
    Project.objects.filter(pk=project.pk).update(repeat_share=0.5)
    project.refresh_from_db()
    always(monkeypatch, 0.0)
    repeat = Assignment.objects.get(pk=assignment_next_for(annotator=ann, project=project).pk)
    always(monkeypatch, 0.99)
    # the repeated prompt has 1 judgment of its overlap of 2 and a repeat lease: bob gets it
    assert assignment_next_for(annotator=bob, project=project).prompt_id == repeat.prompt_id
    assert assignment_next_for(annotator=cat, project=project).prompt_id != repeat.prompt_id


def test_undoing_a_repeat_gives_the_repeat_back(setup, monkeypatch):
    project, ann = setup
    for _ in range(3):
        judge(ann, project)
    Project.objects.filter(pk=project.pk).update(repeat_share=0.5)
    project.refresh_from_db()
    always(monkeypatch, 0.0)
    lease = Assignment.objects.select_related("project").get(pk=assignment_next_for(annotator=ann, project=project).pk)
    count = Prompt.objects.get(pk=lease.prompt_id).judgment_count
    repeat, _ = judgment_record(assignment=lease, result=JudgmentResult(choice="a"), client_id="r2")
    judgment_undo(judgment=repeat, actor=ann)
    back = Assignment.objects.get(annotator=ann, status="active")
    assert back.repeat_of_id == repeat.repeat_of_id and back.shown == lease.shown
    assert Prompt.objects.get(pk=lease.prompt_id).judgment_count == count
    assert not Judgment.objects.filter(pk=repeat.pk).exists()


def test_classify_projects_get_no_repeats(monkeypatch):
    project = factories.project(mode="classify", labels=["ok", "bad"], positive_label="ok", completions_shown=1,
                                repeat_gap=0, repeat_share=0.5)  # fmt: skip
    factories.prompts(project, 3)
    ann = factories.member(project, "labeler")
    always(monkeypatch, 0.0)
    for _ in range(2):
        lease = Assignment.objects.select_related("project").get(pk=assignment_next_for(annotator=ann, project=project).pk)
        assert lease.repeat_of_id is None
        judgment_record(assignment=lease, result=JudgmentResult(labels={lease.shown[0]: "ok"}), client_id=uuid.uuid4().hex)


def test_a_lead_sets_the_quality_settings_on_the_settings_page(client):
    from tests.lead.test_console_pages import settings_post

    project = factories.project()
    client.force_login(factories.member(project, "lead"))
    url = f"/projects/{project.slug}/settings/"
    too_many = client.post(url, settings_post(project, repeat_share=0.6))
    assert too_many.status_code == 400 and "repeat_share" in too_many.context["form"].errors
    saved = client.post(url, settings_post(project, repeat_share=0.1, repeat_gap=5, min_seconds=3,
                                             gold_min_accuracy=0.8, exclude_flagged_from_training="on"))  # fmt: skip
    assert saved.status_code == 302
    project.refresh_from_db()
    assert (project.repeat_share, project.repeat_gap, project.min_seconds, project.gold_min_accuracy) == (0.1, 5, 3.0, 0.8)
    assert project.exclude_flagged_from_training
