"""An archived project through the API: hidden from labelers, read-only for leads, still exported and scored."""

import pytest

from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import Judgment
from annotator.project_lifecycle import (
    ARCHIVED_MESSAGE,
    HIDDEN_MESSAGE,
    project_archive,
)
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def judged(project, labeler):
    """One judged prompt (so that the export has a row) and one left to label."""
    factories.prompts(project, 2)
    assignment = assignment_next_for(annotator=labeler, project=project)
    judgment_record(assignment=assignment, result=JudgmentResult(choice="a"), client_id="c1")
    return project


def test_the_project_list_leaves_out_archived_projects(api_as, judged, labeler, lead):
    project_archive(project=judged, actor=lead)
    assert api_as(labeler).get("/api/v1/projects/").json() == []
    assert api_as(lead).get("/api/v1/projects/").json() == []


def test_the_labeling_api_tells_a_labeler_the_project_is_archived(api_as, judged, labeler, lead):
    held = assignment_next_for(annotator=labeler, project=judged)  # leased before the archive
    project_archive(project=judged, actor=lead)
    api = api_as(labeler)
    response = api.get(f"/api/v1/projects/{judged.slug}/next/")
    assert (response.status_code, response.json()) == (403, {"detail": HIDDEN_MESSAGE})
    response = api.post("/api/v1/judgments/", {"assignment": held.pk, "client_id": "c2", "choice": "a"}, format="json")
    assert (response.status_code, response.json()) == (409, {"detail": ARCHIVED_MESSAGE})
    response = api.post(f"/api/v1/assignments/{held.pk}/skip/")
    assert response.status_code == 409
    assert Judgment.objects.count() == 1



def test_a_lead_may_not_lease_items_of_an_archived_project(api_as, judged, lead):
    project_archive(project=judged, actor=lead)
    response = api_as(lead).get(f"/api/v1/projects/{judged.slug}/next/")
    assert (response.status_code, response.json()) == (409, {"detail": ARCHIVED_MESSAGE})


def test_an_archived_project_still_exports_and_logs_it(api_as, judged, lead):
    project_archive(project=judged, actor=lead)
    response = api_as(lead).get(f"/api/v1/projects/{judged.slug}/export/")
    assert response.status_code == 200
    assert len(b"".join(response.streaming_content).splitlines()) == 1
