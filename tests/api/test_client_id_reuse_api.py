"""POST /api/v1/judgments/ with a client_id already stored: 200 for the same body, 422 for another."""

import pytest

from annotator.models import Comparison, Judgment
from tests import factories

pytestmark = pytest.mark.django_db


def _item(client, project):
    return client.get(f"/api/v1/projects/{project.slug}/next/").json()


def _submit(client, **body):
    return client.post("/api/v1/judgments/", body, format="json")


def test_a_retry_with_the_same_body_is_200_with_the_stored_judgment(api_as, project, labeler):
    factories.prompts(project, 1)
    client = api_as(labeler)
    item = _item(client, project)
    body = {"assignment": item["assignment"], "client_id": "c1", "choice": "a", "comment": "ok", "time_spent_ms": 10}
    first = _submit(client, **body)
    again = _submit(client, **{**body, "time_spent_ms": 99})  # time spent is not part of the judgment
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


def test_the_same_client_id_with_another_choice_is_422_and_nothing_changes(api_as, project, labeler):
    factories.prompts(project, 1)
    client = api_as(labeler)
    item = _item(client, project)
    assert _submit(client, assignment=item["assignment"], client_id="c1", choice="a").status_code == 201
    response = _submit(client, assignment=item["assignment"], client_id="c1", choice="b")
    assert response.status_code == 422
    assert "client_id" in response.json()["detail"]
    assert Judgment.objects.get().choice == "a" and Comparison.objects.count() == 1


def test_the_same_client_id_on_another_item_is_422(api_as, project, labeler):
    factories.prompts(project, 2)
    client = api_as(labeler)
    first = _item(client, project)
    assert _submit(client, assignment=first["assignment"], client_id="c1", choice="a").status_code == 201
    second = _item(client, project)
    response = _submit(client, assignment=second["assignment"], client_id="c1", choice="a")
    assert response.status_code == 422
    assert Judgment.objects.count() == 1
