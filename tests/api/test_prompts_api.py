"""The prompts API: the prompts page's listing (search, filters, paging) and its actions; who may."""

import pytest
from rest_framework.test import APIClient

from annotator.models import Assignment, AuditEntry, Prompt
from annotator.project_lifecycle import project_archive
from tests import factories

pytestmark = pytest.mark.django_db


def listing(api, project, **query):
    return api.get(f"/api/v1/projects/{project.slug}/prompts/", query)


def act(api, project, **body):
    return api.post(f"/api/v1/projects/{project.slug}/prompts/actions/", body, format="json")


def test_the_listing_gives_each_prompts_state(api_as, project, lead, prompt_states):
    response = listing(api_as(lead), project)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["count"], body["page"], body["pages"]) == (len(prompt_states), 1, 1)
    rows = {row["external_id"]: row for row in body["results"]}
    assert rows["ext-held"]["leases"][0]["labeler"] == "labeler" and rows["ext-held"]["leases"][0]["expires_at"]
    assert rows["ext-stuck"]["skipped_by"] == ["labeler", "lead", "other"]
    assert rows["ext-disagreed"]["agreement"] == 0.5 and rows["ext-plain"]["agreement"] is None
    assert rows["ext-gold"]["gold"] is True and rows["ext-plain"]["gold"] is False
    assert rows["ext-taken"]["taken_out"] is True and rows["ext-plain"]["reserved_for"] is None
    assert rows["ext-agreed"]["judgment_count"] == 2 and rows["ext-agreed"]["wanted"] == 1
    assert rows["ext-plain"]["text"] == "The quick brown fox"


@pytest.mark.parametrize(
    "filter_by, expected",
    [("held", {"ext-held"}), ("stuck", {"ext-stuck"}), ("disagreement", {"ext-disagreed"}), ("taken_out", {"ext-taken"})],
)
def test_the_listing_filters_as_the_page(api_as, project, lead, prompt_states, filter_by, expected):
    body = listing(api_as(lead), project, filter=filter_by).json()
    assert {row["external_id"] for row in body["results"]} == expected


def test_the_listing_searches_and_pages(api_as, project, lead):
    factories.prompts(project, 60, text="Paged")
    factories.prompts(project, 2, text="Other")
    api = api_as(lead)
    first = listing(api, project, q="paged").json()
    assert (first["count"], first["pages"], len(first["results"])) == (60, 2, 50)
    second = listing(api, project, q="paged", page=2).json()
    assert len(second["results"]) == 10
    for past_the_last in ("3", "9" * 40):
        response = listing(api, project, q="paged", page=past_the_last)
        assert response.status_code == 404 and response.json()["detail"] == f"No page {past_the_last}: there are 2."


@pytest.mark.parametrize("query", [{"filter": "everything"}, {"page": "0"}, {"page": "x"}, {"page": "-1"}, {"q": "a\x00b"}])
def test_a_bad_query_is_a_400_naming_the_field(api_as, project, lead, query):
    response = listing(api_as(lead), project, **query)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == set(query)


def test_a_reviewer_reads_but_may_not_act(api_as, project, prompt_states):
    reviewer = factories.member(project, "reviewer", username="reviewer")
    api = api_as(reviewer)
    assert listing(api, project).status_code == 200
    assert act(api, project, action="take_out", prompt_ids=[prompt_states["plain"].pk]).status_code == 403
    assert not Prompt.objects.get(pk=prompt_states["plain"].pk).taken_out


def test_a_labeler_gets_403_an_outsider_404_and_a_stranger_401(api_as, project, labeler, outsider, prompt_states):
    ids = [prompt_states["plain"].pk]
    assert listing(api_as(labeler), project).status_code == 403
    assert act(api_as(labeler), project, action="take_out", prompt_ids=ids).status_code == 403
    assert listing(api_as(outsider), project).status_code == 404
    assert act(api_as(outsider), project, action="take_out", prompt_ids=ids).status_code == 404
    assert listing(api_as(None), project).status_code == 401
    assert act(api_as(None), project, action="take_out", prompt_ids=ids).status_code == 401


def test_each_action_says_what_it_did(api_as, project, lead, prompt_states):
    api = api_as(lead)
    ids = [prompt_states["plain"].pk, prompt_states["held"].pk]
    said = {
        "release_leases": "1 prompt released from their leases",
        "take_out": "2 prompts taken out of the queue",
        "put_back": "2 prompts put back in the queue",
    }
    for action, sentence in said.items():
        response = act(api, project, action=action, prompt_ids=ids)
        assert response.status_code == 200, response.json()
        assert response.json() == {"detail": sentence}
    assert act(api, project, action="send_back", prompt_ids=[prompt_states["agreed"].pk]).json() == {
        "detail": "1 prompt sent back to the queue"
    }
    assert act(api, project, action="lift_skips", prompt_ids=[prompt_states["skipped"].pk]).json() == {
        "detail": "1 prompt had their skips lifted"
    }
    assert not Assignment.objects.filter(prompt=prompt_states["skipped"], status=Assignment.Status.SKIPPED).exists()
    response = act(api, project, action="reassign", labeler="other", prompt_ids=[prompt_states["plain"].pk])
    assert response.json() == {"detail": "1 prompt reserved for other"}
    assert Prompt.objects.get(pk=prompt_states["plain"].pk).reserved_for.username == "other"
    assert AuditEntry.objects.filter(action="prompt.reassign", actor=lead).exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"action": "burn", "prompt_ids": [1]}, "action"),
        ({"action": "take_out", "prompt_ids": []}, "prompt_ids"),
        ({"action": "take_out", "prompt_ids": ["one"]}, "prompt_ids"),
        ({"action": "reassign", "prompt_ids": [1]}, "labeler"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(api_as, project, lead, body, field):
    response = act(api_as(lead), project, **body)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_refused_action_is_a_422_saying_why(api_as, project, lead, prompt_states):
    api = api_as(lead)
    response = act(api, project, action="reassign", labeler="other", prompt_ids=[prompt_states["agreed"].pk])
    assert response.status_code == 422 and response.json()["detail"] == 'other already judged "ext-agreed".'



def test_reassigning_to_someone_who_may_not_label_here_is_a_404(api_as, project, lead, prompt_states):
    factories.member(project, "reviewer", username="reviewer")
    for who in ("nobody", "reviewer"):
        response = act(api_as(lead), project, action="reassign", labeler=who, prompt_ids=[prompt_states["plain"].pk])
        assert response.status_code == 404
        assert response.json()["detail"] == f"No member {who!r} who may label in this project."


def test_other_projects_prompts_are_ignored(api_as, project, lead):
    (theirs,) = factories.prompts(factories.project(), 1)
    response = act(api_as(lead), project, action="take_out", prompt_ids=[theirs.pk])
    assert response.json() == {"detail": "0 prompts taken out of the queue"}
    assert not Prompt.objects.get(pk=theirs.pk).taken_out


def test_an_archived_projects_prompts_are_read_but_not_changed(api_as, project, lead, prompt_states):
    project_archive(project=project, actor=lead)
    api = api_as(lead)
    assert listing(api, project).status_code == 200
    assert act(api, project, action="take_out", prompt_ids=[prompt_states["plain"].pk]).status_code == 409
    assert not Prompt.objects.get(pk=prompt_states["plain"].pk).taken_out


def test_a_session_without_its_csrf_token_may_not_act(project, lead, prompt_states):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(lead)
    response = browser.post(
        f"/api/v1/projects/{project.slug}/prompts/actions/",
        {"action": "take_out", "prompt_ids": [prompt_states["plain"].pk]},
        format="json",
    )
    assert response.status_code == 403


def test_the_schema_declares_each_operations_errors(client, labeler):
    client.force_login(labeler)
    paths = client.get("/api/schema/?format=json").json()["paths"]
    listing_op = paths["/api/v1/projects/{slug}/prompts/"]["get"]
    assert set(listing_op["responses"]) == {"200", "400", "401", "403", "404", "429", "503"}
    page = next(p for p in listing_op["parameters"] if p["name"] == "page")
    assert page["schema"] == {"type": "integer", "minimum": 1}
    assert {p["name"] for p in listing_op["parameters"]} >= {"q", "filter", "page"}
    actions_op = paths["/api/v1/projects/{slug}/prompts/actions/"]["post"]
    assert set(actions_op["responses"]) == {"200", "400", "401", "403", "404", "409", "422", "429", "503"}
