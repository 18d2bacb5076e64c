"""Removing a member ends the leases they hold at once: their late submit is a 409 that says why
and stores nothing, and the item goes to the next labeler without waiting for the lease to run out.

409, not 404: the assignment is the caller's own (they were given it), and an ended lease is a 409
wherever else it ends (expired and full, skipped, judged); 404 stays the answer for projects and
assignments that were never the caller's.
"""

import pytest
from django.urls import reverse

from annotator.models import Assignment, Judgment, Membership, Prompt
from tests import factories

pytestmark = pytest.mark.django_db


def remove(client, project, user):
    membership = Membership.objects.get(project=project, user=user)
    return client.post(reverse("member_change", args=[project.slug, membership.pk]), {"remove": "1"})


@pytest.fixture
def held(api_as, project, labeler):
    factories.prompts(project, 1)
    return api_as(labeler).get(f"/api/v1/projects/{project.slug}/next/").json()


def test_a_removed_labelers_late_submit_is_409_and_stores_nothing(api_as, client, project, lead, labeler, held):
    client.force_login(lead)
    remove(client, project, labeler)

    body = {"assignment": held["assignment"], "client_id": "late", "choice": "a"}
    response = api_as(labeler).post("/api/v1/judgments/", body, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "Your lease ended: you are no longer a member of this project."}
    assert not Judgment.objects.exists() and Prompt.objects.get().judgment_count == 0


def test_the_removed_labelers_item_goes_to_the_next_labeler_at_once(api_as, client, project, lead, labeler, held):
    other = api_as(factories.member(project, "labeler"))
    assert other.get(f"/api/v1/projects/{project.slug}/next/").status_code == 204  # overlap 1: held

    client.force_login(lead)
    remove(client, project, labeler)
    assert Assignment.objects.get(pk=held["assignment"]).status != Assignment.Status.ACTIVE
    assert other.get(f"/api/v1/projects/{project.slug}/next/").json()["prompt"] == held["prompt"]


def test_a_judgment_made_before_the_removal_stays_and_its_retry_still_answers_200(
    api_as, client, project, lead, labeler, held
):
    body = {"assignment": held["assignment"], "client_id": "early", "choice": "a"}
    assert api_as(labeler).post("/api/v1/judgments/", body, format="json").status_code == 201
    client.force_login(lead)
    remove(client, project, labeler)
    assert api_as(labeler).post("/api/v1/judgments/", body, format="json").status_code == 200
    assert Judgment.objects.count() == 1


def test_removal_leaves_other_members_leases_alone(api_as, client, project, lead, labeler, held):
    factories.prompts(project, 1)
    other = api_as(factories.member(project, "labeler"))
    theirs = other.get(f"/api/v1/projects/{project.slug}/next/").json()
    client.force_login(lead)
    remove(client, project, labeler)
    body = {"assignment": theirs["assignment"], "client_id": "theirs", "choice": "a"}
    assert other.post("/api/v1/judgments/", body, format="json").status_code == 201
