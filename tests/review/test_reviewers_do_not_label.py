"""A reviewer reviews others' judgments; they never label: the queue is not theirs to take from
(the stuck-prompt count does not wait for them either)."""

import pytest

from annotator.models import Assignment
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_label_page_refuses_a_reviewer_and_leases_nothing(client, project, reviewer):
    factories.prompts(project, 2)
    client.force_login(reviewer)
    response = client.get(f"/projects/{project.slug}/label/")
    assert response.status_code == 403
    assert not Assignment.objects.exists()


def test_the_next_item_api_refuses_a_reviewer_and_leases_nothing(api_as, project, reviewer):
    factories.prompts(project, 2)
    response = api_as(reviewer).get(f"/api/v1/projects/{project.slug}/next/")
    assert response.status_code == 403
    assert "Reviewers review judgments" in response.json()["detail"]
    assert not Assignment.objects.exists()


def test_a_labeler_still_labels(client, project, labeler):
    factories.prompts(project, 1)
    client.force_login(labeler)
    assert client.get(f"/projects/{project.slug}/label/").status_code == 200
    assert Assignment.objects.filter(annotator=labeler).exists()
