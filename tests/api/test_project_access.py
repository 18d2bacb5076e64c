"""Who sees what: member labeler, lead, outsider and anonymous on every endpoint."""

import json

import pytest

from annotator.judgments import JudgmentResult, judgment_record
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db


def test_projects_list_shows_each_caller_their_projects_with_role(api_as, project, labeler, lead, outsider):
    factories.project(slug="someone-elses")
    for user, expected in [(labeler, [(project.slug, "labeler")]), (lead, [(project.slug, "lead")]), (outsider, [])]:
        response = api_as(user).get("/api/v1/projects/")
        assert response.status_code == 200
        assert [(p["slug"], p["role"]) for p in response.json()] == expected


def test_projects_list_carries_the_settings_a_client_needs(api_as, project, labeler):
    (listed,) = api_as(labeler).get("/api/v1/projects/").json()
    assert listed == {
        "slug": project.slug,
        "name": project.name,
        "mode": "pairwise",
        "completions_shown": 2,
        "overlap": 1,
        "allow_tie": True,
        "allow_edit": True,
        "labels": [],  # classify mode only
        "positive_label": "",
        "instructions": "",
        "role": "labeler",
    }


def test_superuser_sees_every_project_as_admin(api_as, project):
    root = factories.user("root", is_superuser=True, is_staff=True)
    assert [(p["slug"], p["role"]) for p in api_as(root).get("/api/v1/projects/").json()] == [(project.slug, "admin")]


@pytest.mark.parametrize(
    "method,url",
    [
        ("get", "/api/v1/projects/"),
        ("get", "/api/v1/projects/{slug}/next/"),
        ("get", "/api/v1/projects/{slug}/export/?format=jsonl"),
        ("post", "/api/v1/judgments/"),
        ("post", "/api/v1/assignments/1/skip/"),
    ],
)
def test_anonymous_gets_401_json_everywhere(api_as, project, method, url):
    response = getattr(api_as(None), method)(url.format(slug=project.slug))
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_bad_token_gets_401(api_as, project):
    client = api_as(None)
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/v1/projects/").status_code == 401


def test_session_login_works_as_well_as_tokens(client, project, labeler):
    client.force_login(labeler)
    assert client.get("/api/v1/projects/").json()[0]["slug"] == project.slug


def test_outsider_gets_404_for_next_and_export(api_as, project, outsider):
    factories.prompts(project, 1)
    assert api_as(outsider).get(f"/api/v1/projects/{project.slug}/next/").status_code == 404
    response = api_as(outsider).get(f"/api/v1/projects/{project.slug}/export/?format=jsonl")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such project."}


def test_unknown_project_is_404_like_a_foreign_one(api_as, labeler):
    assert api_as(labeler).get("/api/v1/projects/no-such-project/next/").status_code == 404


def test_lead_and_admin_can_next_too(api_as, project, lead, admin_user):
    factories.prompts(project, 2)
    assert api_as(lead).get(f"/api/v1/projects/{project.slug}/next/").status_code == 200
    assert api_as(admin_user).get(f"/api/v1/projects/{project.slug}/next/").status_code == 200


def test_labeler_cannot_export(api_as, project, labeler):
    response = api_as(labeler).get(f"/api/v1/projects/{project.slug}/export/?format=jsonl")
    assert response.status_code == 403
    assert "detail" in response.json()


@pytest.mark.parametrize("role", ["lead", "admin"])
def test_lead_and_admin_stream_the_export_as_jsonl(api_as, project, labeler, role):
    factories.prompts(project, 2)
    assignment = assignment_next_for(annotator=labeler, project=project)
    judgment_record(assignment=assignment, result=JudgmentResult(choice="a"), client_id="c1")
    reader = factories.member(project, role)

    response = api_as(reader).get(f"/api/v1/projects/{project.slug}/export/?format=jsonl")

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"] == f'attachment; filename="{project.slug}-pairs.jsonl"'
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines and all(isinstance(json.loads(line), dict) for line in lines)


def test_export_without_format_defaults_to_jsonl(api_as, project, labeler, lead):
    factories.prompts(project, 1)  # an export without rows is a 409 "nothing to export"
    judgment_record(assignment=assignment_next_for(annotator=labeler, project=project), result=JudgmentResult(choice="a"), client_id="c1")
    response = api_as(lead).get(f"/api/v1/projects/{project.slug}/export/")
    assert response.status_code == 200 and response["Content-Type"] == "application/x-ndjson"


def test_export_in_an_unknown_format_is_400(api_as, project, lead):
    response = api_as(lead).get(f"/api/v1/projects/{project.slug}/export/?format=xml")
    assert response.status_code == 400
    assert response.json()["errors"] == {"format": ["Must be one of jsonl, csv, parquet."]}
