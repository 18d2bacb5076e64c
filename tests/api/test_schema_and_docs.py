import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_lists_every_labeling_operation(client, labeler):
    client.force_login(labeler)
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {
        "/api/v1/projects/",
        "/api/v1/projects/{slug}/next/",
        "/api/v1/projects/{slug}/export/",
        "/api/v1/judgments/",
        "/api/v1/assignments/{assignment_id}/skip/",
    } <= set(paths)
    assert set(paths["/api/v1/judgments/"]["post"]["responses"]) == {"200", "201", "400", "404", "409", "422"}


def test_docs_page_renders_from_local_assets(client, labeler):
    client.force_login(labeler)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content
    assert b"cdn." not in response.content  # the sidecar serves the assets: it works offline


def test_generated_schema_validates(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert (tmp_path / "schema.yml").read_text().startswith("openapi:")
