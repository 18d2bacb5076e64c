"""Setting up a classify project in the console: its labels, its positive label, one completion shown."""

import pytest
from django.urls import reverse

from annotator.models import AuditEntry, Project
from tests import factories
from tests.factories import QUALITY_DEFAULTS
from tests.lead.test_console_pages import settings_post

pytestmark = pytest.mark.django_db


def _new_project_post(**changes):
    values = {
        "slug": "toxicity",
        "name": "Toxicity",
        "mode": "classify",
        "completions_shown": 1,
        "labels": "not hate, hate",
        "positive_label": "not hate",
        "overlap": 1,
        "lease_seconds": 300,
        "retrain_min_new_comparisons": 50,
        **QUALITY_DEFAULTS,
        "base_model": "",
    }
    values.update(changes)
    return values


@pytest.fixture
def staff_client(client):
    client.force_login(factories.user("staffer", is_staff=True))
    return client


def test_staff_creates_a_classify_project_through_the_form(staff_client):
    response = staff_client.post(reverse("project_new"), _new_project_post())
    assert response.status_code == 302
    project = Project.objects.get(slug="toxicity")
    assert (project.mode, project.completions_shown) == ("classify", 1)
    assert (project.labels, project.positive_label) == (["not hate", "hate"], "not hate")
    settings = AuditEntry.objects.get(project=project, action="project.create").detail["settings"]
    assert settings["labels"] == ["not hate", "hate"]


def test_labels_one_per_line_keep_their_commas_and_order(staff_client):
    labels = "safe\r\nunsafe, mildly\r\n\r\nunsafe, badly\r\n"
    response = staff_client.post(reverse("project_new"), _new_project_post(labels=labels, positive_label="safe"))
    assert response.status_code == 302
    assert Project.objects.get().labels == ["safe", "unsafe, mildly", "unsafe, badly"]


def test_the_settings_page_shows_the_labels_one_per_line(client):
    project = factories.project(mode="classify", completions_shown=2, labels=["ok", "spam"], positive_label="ok")
    client.force_login(factories.member(project, "lead"))
    html = client.get(reverse("project_settings", args=[project.slug])).content.decode()
    assert ">\nok\nspam</textarea>" in html and 'name="positive_label"' in html and 'value="ok"' in html


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"positive_label": "neutral"}, "positive_label", "The positive label must be one of the labels (not hate, hate)."),
        ({"labels": "hate"}, "labels", "A classify project has 2 to 9 labels; 1 given."),
        ({"labels": "a, b, a", "positive_label": "a"}, "labels", "Each label may appear only once."),
        ({"labels": ",".join("abcdefghij"), "positive_label": "a"}, "labels", "2 to 9 labels; 10 given"),
        ({"mode": "pairwise", "completions_shown": 2}, "labels", "Only a classify project has labels."),
        ({"mode": "ranking"}, "completions_shown", "Only a classify project shows a single completion."),
    ],
)
def test_a_bad_label_set_is_a_form_error_and_nothing_is_created(staff_client, changes, field, message):
    response = staff_client.post(reverse("project_new"), _new_project_post(**changes))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not Project.objects.exists() and not AuditEntry.objects.exists()


def test_a_lead_turns_a_pairwise_project_into_a_classify_one_and_it_is_audited(client, project, lead):
    client.force_login(lead)
    url = reverse("project_settings", args=[project.slug])
    changes = {"mode": "classify", "completions_shown": 1, "labels": "good\nbad", "positive_label": "good"}
    assert client.post(url, settings_post(project, **changes)).status_code == 302
    project.refresh_from_db()
    assert (project.mode, project.completions_shown, project.labels, project.positive_label) == (
        "classify",
        1,
        ["good", "bad"],
        "good",
    )
    entry = AuditEntry.objects.get(action="project.update")
    assert entry.detail["changes"]["labels"] == [[], ["good", "bad"]]
    response = client.post(url, settings_post(project, **{**changes, "positive_label": "neither"}))
    assert response.status_code == 400
    assert "must be one of the labels (good, bad)" in " ".join(response.context["form"].errors["positive_label"])
    project.refresh_from_db()
    assert project.positive_label == "good"
