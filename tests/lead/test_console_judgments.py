"""The judgments browser: filters with known answers, and a judgment as its labeler saw it."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotator.imports import import_file
from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import Comparison, Judgment, Project
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db


def judge(project, labeler, result, client_id):
    assignment = assignment_next_for(annotator=labeler, project=project)
    judgment, _ = judgment_record(assignment=assignment, result=result, client_id=client_id)
    return judgment


@pytest.fixture
def judged(project, labeler):
    """Four judgments with known traits: a plain A, a commented tie, an edit with B, an old both-bad."""
    other = factories.member(project, "labeler", username="other")
    factories.prompts(project, 4)
    a = judge(project, labeler, JudgmentResult(choice="a"), "j1")
    tie = judge(project, labeler, JudgmentResult(choice="tie", comment="hard one"), "j2")
    assignment = assignment_next_for(annotator=other, project=project)
    edit, _ = judgment_record(
        assignment=assignment,
        result=JudgmentResult(choice="b", edit_of=assignment.shown[0], edit_text="A better answer"),
        client_id="j3",
    )
    old = judge(project, other, JudgmentResult(choice="both_bad"), "j4")
    Judgment.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    return {"a": a, "tie": tie, "edit": edit, "old": old}


def listed(client, project, **filters):
    response = client.get(reverse("project_judgments", args=[project.slug]), filters)
    assert response.status_code == 200
    return {j.pk for j in response.context["page"]}


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({}, {"a", "tie", "edit", "old"}),
        ({"labeler": "labeler"}, {"a", "tie"}),
        ({"choice": "tie"}, {"tie"}),
        ({"choice": "b"}, {"edit"}),
        ({"has_comment": "yes"}, {"tie"}),
        ({"has_comment": "no"}, {"a", "edit", "old"}),
        ({"has_edit": "yes"}, {"edit"}),
        ({"has_edit": "no", "labeler": "other"}, {"old"}),
        ({"until": str((timezone.localdate() - timedelta(days=5)))}, {"old"}),
        ({"since": str(timezone.localdate())}, {"a", "tie", "edit"}),
    ],
)
def test_filters_narrow_the_table(client, project, lead, judged, filters, expected):
    client.force_login(lead)
    assert listed(client, project, **filters) == {judged[name].pk for name in expected}


def test_ranking_filter_finds_rankings(client):
    project = factories.project(mode=Project.Mode.RANKING, completions_shown=3)
    factories.member(project, "lead", username="ranklead")
    factories.member(project, "labeler", username="ranker")
    factories.prompts(project, 1, completions=3)
    ranker = project.memberships.get(user__username="ranker").user
    assignment = assignment_next_for(annotator=ranker, project=project)
    judgment, _ = judgment_record(
        assignment=assignment, result=JudgmentResult(ranking=list(assignment.shown)), client_id="r1"
    )
    client.force_login(project.memberships.get(user__username="ranklead").user)
    assert listed(client, project, choice="ranking") == {judgment.pk}
    assert listed(client, project, choice="a") == set()


def test_a_bad_date_is_shown_as_an_error(client, project, lead, judged):
    client.force_login(lead)
    response = client.get(reverse("project_judgments", args=[project.slug]), {"since": "not-a-date"})
    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()


def test_the_table_pages_and_keeps_its_filters(client, project, lead, labeler, monkeypatch):
    monkeypatch.setattr("annotator.views_console.JUDGMENTS_PER_PAGE", 2)
    factories.prompts(project, 5)
    for i in range(5):
        judge(project, labeler, JudgmentResult(choice="a"), f"p{i}")
    client.force_login(lead)
    url = reverse("project_judgments", args=[project.slug])
    first = client.get(url, {"labeler": "labeler"})
    assert len(first.context["page"]) == 2 and first.context["page"].paginator.num_pages == 3
    assert "?labeler=labeler&amp;page=2" in first.content.decode()
    assert len(client.get(url, {"labeler": "labeler", "page": 3}).context["page"]) == 1


def test_a_judgment_page_shows_what_was_seen_in_display_order_and_its_pairs(client, project, lead, judged):
    edit = judged["edit"]
    client.force_login(lead)
    response = client.get(reverse("judgment_detail", args=[project.slug, edit.pk]))
    assert response.status_code == 200
    seen = response.context["judgment"]
    assert [(letter, c.pk) for letter, c in seen.completions] == [
        ("A", edit.shown[0]),
        ("B", edit.shown[1]),
        ("E", edit.edited_completion_id),
    ]
    assert sorted(seen.pairs) == sorted([("B", "A"), ("E", "A"), ("E", "B")])
    html = response.content.decode()
    assert "A better answer" in html and "E, an edit of A" in html
    assert html.index(seen.completions[0][1].text) < html.index(seen.completions[1][1].text)


def test_completion_text_is_sanitised_on_the_judgment_page(client, project, lead, labeler):
    prompt = factories.prompts(project, 1)[0]
    prompt.completions.update(text="**bold** <script>alert(1)</script>")
    judgment = judge(project, labeler, JudgmentResult(choice="a"), "x1")
    client.force_login(lead)
    html = client.get(reverse("judgment_detail", args=[project.slug, judgment.pk])).content.decode()
    assert "<strong>bold</strong>" in html and "<script>alert" not in html


def test_a_judgment_of_another_project_is_not_found(client, project, lead):
    other = factories.project()
    stranger = factories.member(other, "labeler")
    factories.prompts(other, 1)
    judgment = judge(other, stranger, JudgmentResult(choice="a"), "s1")
    client.force_login(lead)
    assert client.get(reverse("judgment_detail", args=[project.slug, judgment.pk])).status_code == 404


def import_pairs(project, *lines):
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    import_file(project=project, data=data, filename="pairs.jsonl")


def test_the_source_filter_lists_imported_pairs_apart_from_human_judgments(client, project, lead, judged):
    import_pairs(
        project,
        {"prompt": "Name a colour", "chosen": "Teal", "rejected": "Seven"},
        {"prompt": "Name a fruit", "chosen": "Pear", "rejected": "Brick"},
    )
    client.force_login(lead)
    assert listed(client, project, source="human") == {j.pk for j in judged.values()}
    assert listed(client, project) == {j.pk for j in judged.values()}  # human judgments by default

    response = client.get(reverse("project_judgments", args=[project.slug]), {"source": "imported"})
    pairs = list(response.context["page"])
    assert [(p.prompt.text, p.chosen.text, p.rejected.text) for p in pairs] == [
        ("Name a fruit", "Pear", "Brick"),
        ("Name a colour", "Teal", "Seven"),
    ]
    assert all(p.source == Comparison.Source.IMPORTED for p in pairs)
    html = response.content.decode()
    assert "Imported pairs in" in html and "Teal" in html and "Seven" in html
    assert listed(client, project, source="imported", until=str(timezone.localdate() - timedelta(days=1))) == set()


def test_judgment_only_filters_with_imported_pairs_are_an_error_not_ignored(client, project, lead):
    client.force_login(lead)
    response = client.get(reverse("project_judgments", args=[project.slug]), {"source": "imported", "choice": "tie"})
    assert response.status_code == 400
    assert "this filter is for human judgments" in " ".join(response.context["form"].errors["choice"])


def test_an_imported_pair_page_shows_both_sides_sanitised(client, project, lead, labeler):
    import_pairs(project, {"prompt": "Hi <script>alert(1)</script>", "chosen": "**Hello**", "rejected": "<img src=x onerror=alert(1)>"})
    pair = Comparison.objects.get(project=project)
    client.force_login(lead)
    html = client.get(reverse("imported_pair_detail", args=[project.slug, pair.pk])).content.decode()
    assert "<strong>Hello</strong>" in html and "<script>alert" not in html and "<img src=x" not in html
    assert 'aria-label="Chosen"' in html and 'aria-label="Rejected"' in html

    client.force_login(labeler)
    assert client.get(reverse("imported_pair_detail", args=[project.slug, pair.pk])).status_code == 403
    factories.prompts(project, 1)
    human = judge(project, labeler, JudgmentResult(choice="a"), "h1").comparisons.get()
    client.force_login(lead)
    assert client.get(reverse("imported_pair_detail", args=[project.slug, human.pk])).status_code == 404
