"""The judgments browser of a classify project: labels per completion, a label filter, imported labels."""

import pytest
from django.urls import reverse

from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import Classification, Comparison, Completion, Prompt
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def classify():
    project = factories.project(mode="classify", labels=["not hate", "hate"], positive_label="not hate", completions_shown=2)
    factories.prompts(project, 3)
    return project


@pytest.fixture
def lead_client(client, classify):
    client.force_login(factories.member(classify, "lead"))
    return client


def judge(project, labeler, labels_by_position, excluded_positions=(), client_id="x"):
    assignment = assignment_next_for(annotator=labeler, project=project)
    shown = assignment.shown
    result = JudgmentResult(
        labels={shown[i]: label for i, label in labels_by_position.items()},
        excluded=[shown[i] for i in excluded_positions],
    )
    judgment, _ = judgment_record(assignment=assignment, result=result, client_id=client_id)
    return judgment


@pytest.fixture
def judged(classify):
    """Three judgments: hate on A only, not hate on both, B excluded and A hate (by another labeler)."""
    labeler = factories.member(classify, "labeler", username="labeler")
    other = factories.member(classify, "labeler", username="other")
    return {
        "mixed": judge(classify, labeler, {0: "hate", 1: "not hate"}, client_id="j1"),
        "clean": judge(classify, labeler, {0: "not hate", 1: "not hate"}, client_id="j2"),
        "excluded": judge(classify, other, {0: "hate"}, excluded_positions=[1], client_id="j3"),
    }


def browse(client, project, **filters):
    return client.get(reverse("project_judgments", args=[project.slug]), filters)


def listed(client, project, **filters):
    response = browse(client, project, **filters)
    assert response.status_code == 200
    return {row.pk for row in response.context["page"]}


def test_the_list_shows_the_labels_per_completion_and_no_choice_column(lead_client, classify, judged):
    html = browse(lead_client, classify).content.decode()
    assert '<span class="label-given">A: hate</span> · <span class="label-given">B: not hate</span>' in html
    assert '<span class="label-given">A: hate</span> · <span class="label-given">B: <em>excluded</em></span>' in html
    assert "<th>Labels</th>" in html and "<th>Choice</th>" not in html
    assert 'name="label"' in html and 'name="choice"' not in html and 'name="has_edit"' not in html


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({}, {"mixed", "clean", "excluded"}),
        ({"label": "hate"}, {"mixed", "excluded"}),
        ({"label": "not hate"}, {"mixed", "clean"}),
        ({"label": "hate", "labeler": "labeler"}, {"mixed"}),
    ],
)
def test_the_label_filter_keeps_judgments_that_gave_it_to_any_completion(lead_client, classify, judged, filters, expected):
    assert listed(lead_client, classify, **filters) == {judged[name].pk for name in expected}


def test_a_label_given_twice_lists_its_judgment_once(lead_client, classify, judged):
    response = browse(lead_client, classify, label="not hate")
    assert [row.pk for row in response.context["page"]].count(judged["clean"].pk) == 1


def test_an_unknown_label_is_a_form_error(lead_client, classify, judged):
    response = browse(lead_client, classify, label="spam")
    assert response.status_code == 400
    assert response.context["form"].errors["label"]


@pytest.mark.parametrize("name, value", [("choice", "tie"), ("has_edit", "yes")])
def test_pairwise_filters_are_refused_with_a_clear_error(lead_client, classify, judged, name, value):
    response = browse(lead_client, classify, **{name: value})
    assert response.status_code == 400
    errors = " ".join(response.context["form"].non_field_errors())
    assert "This project classifies" in errors and "filter by label instead" in errors
    assert "This project classifies" in response.content.decode()


def test_a_pairwise_project_keeps_its_choice_filter(client, project, lead):
    client.force_login(lead)
    html = browse(client, project).content.decode()
    assert 'name="choice"' in html and 'name="label"' not in html


def test_the_detail_page_shows_each_label_on_its_completion_sanitised(client):
    project = factories.project(mode="classify", labels=["ok", "<b>bad</b>"], positive_label="ok", completions_shown=2)
    prompt = Prompt.objects.create(project=project, external_id="p1", text="Hi <script>alert(1)</script>")
    Completion.objects.bulk_create([Completion(prompt=prompt, text="**fine**"), Completion(prompt=prompt, text="<img src=x onerror=alert(1)>")])
    labeler = factories.member(project, "labeler")
    judgment = judge(project, labeler, {0: "<b>bad</b>"}, excluded_positions=[1])
    client.force_login(factories.member(project, "lead"))
    response = client.get(reverse("judgment_detail", args=[project.slug, judgment.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<dt>Labels</dt>" in html and "A: &lt;b&gt;bad&lt;/b&gt;" in html and "B: <em>excluded</em>" in html
    assert '<span class="label-given">&lt;b&gt;bad&lt;/b&gt;</span>' in html and '<span class="label-given">excluded</span>' in html
    assert "<b>bad</b>" not in html and "<script>alert" not in html and "<img src=x" not in html
    assert "<dt>Choice</dt>" not in html and "Pairs stored" not in html


def imported_label(project, prompt_text, completion_text, label):
    prompt = Prompt.objects.create(project=project, external_id=prompt_text, text=prompt_text, queued=False)
    completion = Completion.objects.create(prompt=prompt, text=completion_text)
    return Classification.objects.create(
        project=project, prompt=prompt, completion=completion, label=label, source=Comparison.Source.IMPORTED
    )


def test_imported_labels_are_listed_apart_and_filtered_by_label(lead_client, classify, judged):
    first = imported_label(classify, "Say hi", "Hello there", "not hate")
    second = imported_label(classify, "Say bye", "Get lost", "hate")
    assert listed(lead_client, classify) == {j.pk for j in judged.values()}  # human judgments by default
    response = browse(lead_client, classify, source="imported")
    assert [row.pk for row in response.context["page"]] == [second.pk, first.pk]
    html = response.content.decode()
    assert "Imported labels in" in html and "Get lost" in html and "<th>Label</th>" in html
    assert reverse("imported_label_detail", args=[classify.slug, second.pk]) in html
    assert listed(lead_client, classify, source="imported", label="hate") == {second.pk}
    response = browse(lead_client, classify, source="imported", has_comment="yes")
    assert response.status_code == 400 and response.context["form"].errors["has_comment"]


def test_an_imported_label_page_shows_it_sanitised_and_only_to_leads(client, classify, judged):
    row = imported_label(classify, "Hi <script>alert(1)</script>", "**Hello** <img src=x onerror=alert(1)>", "hate")
    lead = factories.member(classify, "lead")
    client.force_login(lead)
    response = client.get(reverse("imported_label_detail", args=[classify.slug, row.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>Hello</strong>" in html and "<script>alert" not in html and "<img src=x" not in html
    assert '<span class="label-given">hate</span>' in html

    human = Classification.objects.filter(judgment=judged["mixed"]).first()
    assert client.get(reverse("imported_label_detail", args=[classify.slug, human.pk])).status_code == 404
    client.force_login(judged["mixed"].annotator)
    assert client.get(reverse("imported_label_detail", args=[classify.slug, row.pk])).status_code == 403
