"""A classify judgment's label keys are completion ids as JSON text: a key no completion can have
(5,000 digits, past what int() reads) is a 400 naming labels, like any id not shown, never a 500."""

import pytest

from annotator.models import Judgment, Project
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("key", ["9" * 5000, "9" * 20, "²"])
def test_a_label_key_that_is_no_completion_id_is_a_400_naming_labels(api_as, key):
    project = factories.project(mode=Project.Mode.CLASSIFY, labels=["good", "bad"], positive_label="good")
    labeler = factories.member(project, "labeler")
    factories.prompts(project, 1)
    client = api_as(labeler)
    item = client.get(f"/api/v1/projects/{project.slug}/next/").json()
    body = {"assignment": item["assignment"], "client_id": "c1", "labels": {key: "good"}}
    response = client.post("/api/v1/judgments/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"labels"}
    assert not Judgment.objects.exists()
