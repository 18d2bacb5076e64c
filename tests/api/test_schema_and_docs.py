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
    assert set(paths["/api/v1/judgments/"]["post"]["responses"]) == {
        "200", "201", "400", "401", "403", "404", "409", "422", "429", "503"
    }  # fmt: skip


def test_every_operation_declares_bad_credentials_a_throttled_address_and_a_database_outage(client, labeler):
    client.force_login(labeler)
    paths = client.get("/api/schema/?format=json").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert {"401", "429", "503"} <= set(operation["responses"]), (method, path)
            if method != "get":  # a session's POST without its CSRF token
                assert "403" in operation["responses"], (method, path)


def test_the_export_is_declared_as_bytes_first_then_each_formats_media_type(client, labeler):
    client.force_login(labeler)
    paths = client.get("/api/schema/?format=json").json()["paths"]
    content = paths["/api/v1/projects/{slug}/export/"]["get"]["responses"]["200"]["content"]
    assert list(content) == ["application/octet-stream", "application/x-ndjson", "text/csv", "application/vnd.apache.parquet"]
    binary = {"type": "string", "format": "binary"}
    assert content["application/octet-stream"]["schema"] == content["application/vnd.apache.parquet"]["schema"] == binary


def test_docs_page_renders_from_local_assets(client, labeler):
    client.force_login(labeler)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content
    assert b"cdn." not in response.content  # the sidecar serves the assets: it works offline


def test_generated_schema_validates(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert (tmp_path / "schema.yml").read_text().startswith("openapi:")
