"""Over the API, an edit alone answers and stores only "the edited text beats every completion shown"."""

import pytest

from annotator.models import Comparison, Judgment
from tests import factories

pytestmark = pytest.mark.django_db


def _stored_pairs():
    return set(Comparison.objects.values_list("chosen_id", "rejected_id"))


def _next(client, project):
    return client.get(f"/api/v1/projects/{project.slug}/next/").json()


def test_api_edit_alone_answers_and_stores_only_the_edit_pairs(api_as, project, labeler):
    factories.prompts(project, 1)
    client = api_as(labeler)
    item = _next(client, project)
    a, b = (c["id"] for c in item["completions"])
    response = client.post(
        "/api/v1/judgments/",
        {"assignment": item["assignment"], "client_id": "e1", "edit": {"completion": b, "text": "Better"}},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    edited = body["edited_completion"]
    assert body["choice"] == ""
    assert sorted(body["comparisons"]) == sorted([[edited, a], [edited, b]])
    assert _stored_pairs() == {(edited, a), (edited, b)}
    assert Judgment.objects.get().choice == ""


def test_api_edit_with_choice_b_stores_b_over_a_and_the_edit_pairs(api_as, project, labeler):
    factories.prompts(project, 1)
    client = api_as(labeler)
    item = _next(client, project)
    a, b = (c["id"] for c in item["completions"])
    response = client.post(
        "/api/v1/judgments/",
        {"assignment": item["assignment"], "client_id": "e1", "choice": "b", "edit": {"completion": b, "text": "B+"}},
        format="json",
    )
    edited = response.json()["edited_completion"]
    assert _stored_pairs() == {(b, a), (edited, a), (edited, b)}
