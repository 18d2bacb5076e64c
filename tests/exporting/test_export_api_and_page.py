"""The export through the API and the lead's export page: same options, same rows, leads only."""

import io
import json

import pyarrow.parquet as pq
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests import factories

pytestmark = pytest.mark.django_db


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def body(response):
    return b"".join(response.streaming_content)


def test_api_takes_the_options_as_query_parameters(data, lead):
    url = f"/api/v1/projects/{data.project.slug}/export/"
    response = api(lead).get(url, {"kind": "rankings", "labelers": "bob", "hash_annotators": "false"})
    assert response.status_code == 200 and response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"] == f'attachment; filename="{data.project.slug}-rankings.jsonl"'
    assert [json.loads(line)["completions"] for line in body(response).decode().splitlines()] == [["two", "one"]]
    response = api(lead).get(url, {"format": "parquet", "since": "2026-01-15T00:00:00Z", "source": "human"})
    assert response["Content-Type"] == "application/vnd.apache.parquet"
    assert pq.read_table(io.BytesIO(body(response))).column("annotator").to_pylist() == ["bob"]
    response = api(lead).get(url, {"format": "csv", "form": "conversational"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert body(response).decode().splitlines()[0].startswith("prompt,chosen,rejected,prompt_id")


def test_api_names_each_bad_parameter(data, lead):
    response = api(lead).get(f"/api/v1/projects/{data.project.slug}/export/", {"since": "2026-01-01", "split": ""})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"since", "split"}


def test_labelers_cannot_export_and_outsiders_do_not_see_the_project(data, labeler, outsider):
    url = f"/api/v1/projects/{data.project.slug}/export/?kind=judgments"
    assert api(labeler).get(url).status_code == 403
    assert api(outsider).get(url).status_code == 404


def test_export_page_previews_the_row_count_of_the_filters(client, data, lead):
    client.force_login(lead)
    url = reverse("project_export", args=[data.project.slug])
    response = client.get(url)
    assert response.status_code == 200 and "3 rows with these filters" in response.content.decode()
    response = client.get(url, {"kind": "judgments", "labelers": "alice"})
    assert "1 row with these filters" in response.content.decode()
    assert 'name="download"' in response.content.decode()


def test_export_page_shows_a_bad_filter_and_no_count(client, data, lead):
    client.force_login(lead)
    response = client.get(reverse("project_export", args=[data.project.slug]), {"since": "soon", "download": "1"})
    page = response.content.decode()
    assert response.status_code == 200 and not response.streaming
    assert "Must be an ISO 8601 date" in page and "with these filters" not in page


def test_export_page_downloads_what_the_form_says(client, data, lead):
    client.force_login(lead)
    response = client.get(
        reverse("project_export", args=[data.project.slug]), {"format": "csv", "source": "imported", "download": "1"}
    )
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="{data.project.slug}-pairs-')
    lines = body(response).decode().splitlines()
    assert len(lines) == 2 and lines[1].startswith("Q train,three,one,")


def test_export_page_is_for_leads_only(client, data, labeler, outsider):
    url = reverse("project_export", args=[data.project.slug])
    client.force_login(labeler)
    assert client.get(url).status_code == 403
    client.force_login(outsider)
    assert client.get(url, {"download": "1"}).status_code == 404


def test_lead_project_page_links_to_the_export_page(client, data, lead):
    client.force_login(lead)
    page = client.get(reverse("project_detail", args=[data.project.slug])).content.decode()
    assert f'href="{reverse("project_export", args=[data.project.slug])}"' in page


def test_an_admin_of_another_project_cannot_export_this_one(data):
    other_admin = factories.member(factories.project(), "admin")
    assert api(other_admin).get(f"/api/v1/projects/{data.project.slug}/export/").status_code == 404
