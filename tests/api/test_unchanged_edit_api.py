"""Over the API, an edit whose text is the original's is a 400 naming the edit, and nothing is stored."""

import pytest

from annotator.models import Completion, Judgment
from tests import factories

pytestmark = pytest.mark.django_db


def test_an_edit_identical_to_the_original_is_400_and_stores_nothing(api_as, project, labeler):
    factories.prompts(project, 1)
    client = api_as(labeler)
    item = client.get(f"/api/v1/projects/{project.slug}/next/").json()
    first = item["completions"][0]
    unchanged = {"completion": first["id"], "text": first["text"]}
    body = {"assignment": item["assignment"], "client_id": "c1", "edit": unchanged}
    response = client.post("/api/v1/judgments/", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"edit": ["The edited text is the same as the original."]}
    assert not Judgment.objects.exists() and not Completion.objects.filter(origin="edited").exists()
    # The labeler can still judge the item.
    body = {"assignment": item["assignment"], "client_id": "c2", "edit": {"completion": first["id"], "text": "Better."}}
    assert client.post("/api/v1/judgments/", body, format="json").status_code == 201
