"""The review API: list judgments with their review, accept or reject one; who may."""

import pytest

from annotator.models import AuditEntry, Judgment, Prompt
from tests import factories
from tests.review.conftest import judge

pytestmark = pytest.mark.django_db


def review(api, judgment, **data):
    return api.post(f"/api/v1/judgments/{judgment.pk}/review/", data, format="json")


def test_a_reviewer_rejects_with_a_reason_and_reads_it_back(api_as, project, reviewer, two_judged):
    first, second = two_judged
    api = api_as(reviewer)
    response = review(api, first, review="rejected", reason="Chose the longer one.")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (
        body["review"],
        body["review_reason"],
        body["reviewed_by"],
        body["labeler"],
    ) == (
        "rejected",
        "Chose the longer one.",
        "reviewer",
        "labeler",
    )
    assert Prompt.objects.get(pk=first.prompt_id).judgment_count == 0
    listed = api.get(f"/api/v1/projects/{project.slug}/judgments/", {"review": "rejected"}).json()
    assert [j["id"] for j in listed["results"]] == [first.pk] and listed["next_after"] is None
    unreviewed = api.get(f"/api/v1/projects/{project.slug}/judgments/", {"review": "none"}).json()
    assert [j["id"] for j in unreviewed["results"]] == [second.pk]
    assert AuditEntry.objects.filter(action="judgment.reject", actor=reviewer).count() == 1


def test_accepting_needs_no_reason_and_rejecting_needs_one(api_as, reviewer, two_judged):
    api = api_as(reviewer)
    assert review(api, two_judged[0], review="accepted").json()["review"] == "accepted"
    response = review(api, two_judged[1], review="rejected", reason="  ")
    assert response.status_code == 400 and "reason" in response.json()["errors"]
    assert review(api, two_judged[1], review="maybe").status_code == 400
    assert Judgment.objects.get(pk=two_judged[1].pk).review == ""


def test_reviewing_ones_own_judgment_is_422(api_as, project, lead):
    factories.prompts(project, 1)
    own = judge(project, lead, "mine")
    response = review(api_as(lead), own, review="accepted")
    assert response.status_code == 422 and "own" in response.json()["detail"]


@pytest.mark.parametrize("role, status", [("labeler", 403), ("lead", 200), ("admin", 200)])
def test_leads_and_admins_review_labelers_do_not(api_as, project, two_judged, role, status):
    caller = factories.member(project, role)
    assert review(api_as(caller), two_judged[0], review="accepted").status_code == status
    assert api_as(caller).get(f"/api/v1/projects/{project.slug}/judgments/").status_code == status


def test_outsiders_get_404_for_a_judgment_and_the_list(api_as, project, outsider, two_judged):
    assert review(api_as(outsider), two_judged[0], review="accepted").status_code == 404
    assert api_as(outsider).get(f"/api/v1/projects/{project.slug}/judgments/").status_code == 404
    assert review(api_as(outsider), Judgment(pk=99999), review="accepted").status_code == 404


def test_the_list_pages_by_id_and_rejects_a_bad_filter(api_as, project, reviewer, two_judged, monkeypatch):
    from annotator import api_review

    monkeypatch.setattr(api_review, "PAGE_SIZE", 1)
    api = api_as(reviewer)
    first = api.get(f"/api/v1/projects/{project.slug}/judgments/").json()
    assert [j["id"] for j in first["results"]] == [two_judged[0].pk] and first["next_after"] == two_judged[0].pk
    second = api.get(f"/api/v1/projects/{project.slug}/judgments/", {"after": first["next_after"]}).json()
    assert [j["id"] for j in second["results"]] == [two_judged[1].pk] and second["next_after"] is None
    assert api.get(f"/api/v1/projects/{project.slug}/judgments/", {"review": "odd"}).status_code == 400
    assert api.get(f"/api/v1/projects/{project.slug}/judgments/", {"after": "x"}).status_code == 400
