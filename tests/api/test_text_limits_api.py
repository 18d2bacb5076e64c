"""Over the API, an edit or a comment longer than ARBITER_MAX_TEXT_CHARS is a 400 that names the field."""

import pytest
from django.conf import settings

from annotator.models import Judgment
from tests import factories

pytestmark = pytest.mark.django_db


def _item(client, project):
    return client.get(f"/api/v1/projects/{project.slug}/next/").json()


def test_a_two_million_character_edit_is_400_naming_the_limit(api_as, project, labeler):
    factories.prompts(project, 1)
    client = api_as(labeler)
    item = _item(client, project)
    body = {
        "assignment": item["assignment"],
        "client_id": "c1",
        "edit": {"completion": item["completions"][0]["id"], "text": "x" * 2_000_000},
    }
    response = client.post("/api/v1/judgments/", body, format="json")
    assert response.status_code == 400
    (message,) = response.json()["errors"]["edit"]["text"]
    assert f"{settings.ARBITER_MAX_TEXT_CHARS}" in message
    assert not Judgment.objects.exists()


def test_a_comment_over_the_setting_is_400_from_the_service_check(api_as, project, labeler, settings):
    settings.ARBITER_MAX_TEXT_CHARS = 20  # below the serializer's limit, fixed when the module loaded
    factories.prompts(project, 1)
    client = api_as(labeler)
    item = _item(client, project)
    body = {"assignment": item["assignment"], "client_id": "c1", "choice": "a", "comment": "z" * 21}
    response = client.post("/api/v1/judgments/", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"comment": ["The comment has 21 characters; at most 20 are allowed."]}
    assert not Judgment.objects.exists()
