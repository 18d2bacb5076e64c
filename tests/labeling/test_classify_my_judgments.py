"""'My recent judgments' and undo for a classify project: the labels given, not pairs."""

import pytest
from django.urls import reverse

from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import AuditEntry, Classification, Judgment
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db


def _project(labels=("not hate", "hate")):
    project = factories.project(mode="classify", labels=list(labels), positive_label=labels[0], completions_shown=2)
    factories.prompts(project, 2)
    return project


def _judge(project, labeler, labels_by_position, excluded_positions=(), client_id="x"):
    """Label the next item: labels_by_position maps display index (0 = A) to a label."""
    assignment = assignment_next_for(annotator=labeler, project=project)
    shown = assignment.shown
    result = JudgmentResult(
        labels={shown[i]: label for i, label in labels_by_position.items()},
        excluded=[shown[i] for i in excluded_positions],
    )
    judgment, _ = judgment_record(assignment=assignment, result=result, client_id=client_id)
    return judgment


def _page(client, project):
    response = client.get(reverse("my_judgments", args=[project.slug]))
    assert response.status_code == 200
    return response.content.decode()


def test_each_shown_completion_shows_its_label_in_display_order_and_no_pairs(client):
    project = _project()
    labeler = factories.member(project, "labeler")
    _judge(project, labeler, {0: "hate", 1: "not hate"})
    client.force_login(labeler)
    html = _page(client, project)
    assert '<span class="label-given">A: hate</span> · <span class="label-given">B: not hate</span>' in html
    assert "Pairs stored" not in html and "a tie or both bad" not in html
    assert "the labels it gave" in html


def test_an_excluded_completion_says_excluded(client):
    project = _project()
    labeler = factories.member(project, "labeler")
    _judge(project, labeler, {1: "hate"}, excluded_positions=[0])
    client.force_login(labeler)
    html = _page(client, project)
    assert '<span class="label-given">A: <em>excluded</em></span> · <span class="label-given">B: hate</span>' in html
    assert "· excluded A" not in html  # said once, beside its letter


def test_label_names_are_escaped(client):
    project = _project(labels=("ok", "<b>bad</b>"))
    labeler = factories.member(project, "labeler")
    _judge(project, labeler, {0: "<b>bad</b>", 1: "ok"})
    client.force_login(labeler)
    html = _page(client, project)
    assert "A: &lt;b&gt;bad&lt;/b&gt;" in html and "<b>bad</b>" not in html


def test_a_pairwise_project_still_shows_its_pairs(client):
    project = factories.project()
    factories.prompts(project, 1)
    labeler = factories.member(project, "labeler")
    assignment = assignment_next_for(annotator=labeler, project=project)
    judgment_record(assignment=assignment, result=JudgmentResult(choice="tie"), client_id="x")
    client.force_login(labeler)
    html = _page(client, project)
    assert "none (a tie or both bad says no pair)" in html and "label-given" not in html


def test_undo_removes_the_labels_and_the_audit_entry_names_them(client):
    project = _project()
    labeler = factories.member(project, "labeler")
    judgment = _judge(project, labeler, {0: "hate", 1: "not hate"})
    a, b = judgment.shown
    client.force_login(labeler)
    response = client.post(reverse("judgment_undo", args=[project.slug, judgment.pk]), {"then": "undo"})
    assert response.status_code == 302
    assert not Judgment.objects.filter(pk=judgment.pk).exists()
    assert not Classification.objects.filter(project=project).exists()
    entry = AuditEntry.objects.get(project=project, action="judgment.undo")
    assert entry.detail["labels"] == {str(a): "hate", str(b): "not hate"}
    assert entry.detail["classifications_removed"] == 2 and entry.detail["comparisons_removed"] == 0
