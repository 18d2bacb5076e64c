"""What the plain labeling form posts is checked field by field: a NUL in an edit (PostgreSQL cannot
store one) or a rank that is no number is a 400 naming the field for the script, and a message
naming it on the page without the script; nothing is stored. Never a 500."""

import pytest
from django.urls import reverse

from annotator.models import Project
from annotator.queue import assignment_next_for
from tests import factories
from tests.labeling.test_unchanged_edit import nothing_stored

pytestmark = pytest.mark.django_db
FETCH = {"X-Requested-With": "fetch"}


@pytest.fixture
def assignment(project, labeler):
    factories.prompts(project, 1)
    return assignment_next_for(annotator=labeler, project=project)


def edit_form(assignment, text):
    edited = assignment.shown[0]
    return {"assignment": assignment.pk, "client_id": "f1", "edit_of": edited, f"edit_text_{edited}": text}


def test_a_nul_in_an_edit_is_a_400_naming_the_edit(client, labeler, assignment):
    client.force_login(labeler)
    url = reverse("label", args=[assignment.project.slug])
    response = client.post(url, edit_form(assignment, "better\x00answer"), headers=FETCH)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"edit"} and "NUL" in response.json()["errors"]["edit"]
    assert nothing_stored(assignment)


def test_without_the_script_a_nul_in_an_edit_is_a_message_naming_the_edit(client, labeler, assignment):
    client.force_login(labeler)
    url = reverse("label", args=[assignment.project.slug])
    response = client.post(url, edit_form(assignment, "better\x00answer"), follow=True)
    assert response.status_code == 200 and "NUL" in response.content.decode()
    assert nothing_stored(assignment)


@pytest.mark.parametrize("rank", ["²", "9" * 5000])
def test_a_rank_that_is_no_number_is_a_400_naming_the_ranking(client, rank):
    project = factories.project(mode=Project.Mode.RANKING, completions_shown=2)
    labeler = factories.member(project, "labeler")
    factories.prompts(project, 1)
    assignment = assignment_next_for(annotator=labeler, project=project)
    first, second = assignment.shown
    client.force_login(labeler)
    data = {"assignment": assignment.pk, "client_id": "f1", f"rank_{first}": rank, f"rank_{second}": "1"}
    response = client.post(reverse("label", args=[project.slug]), data, headers=FETCH)
    assert response.status_code == 400 and set(response.json()["errors"]) == {"ranking"}
    assert nothing_stored(assignment)
