"""An edit whose text is the original's is refused by the service, so by the plain form and the API
alike (the page's script refused it already): it would store a completion as better than itself.
The API's case is in tests/api/test_unchanged_edit_api.py."""

import pytest
from django.urls import reverse

from annotator.judgments import InvalidJudgment, JudgmentResult, judgment_record
from annotator.models import Assignment, Completion, Judgment
from annotator.queue import assignment_next_for
from tests import factories

pytestmark = pytest.mark.django_db

UNCHANGED = {"edit": "The edited text is the same as the original."}


@pytest.fixture
def assignment(project, labeler):
    """A live lease whose first shown completion has line breaks, as real replies do."""
    factories.prompts(project, 1)
    assignment = assignment_next_for(annotator=labeler, project=project)
    Completion.objects.filter(pk=assignment.shown[0]).update(text="First line.\nSecond line.\n\nLast.")
    return assignment


def original(assignment):
    return Completion.objects.get(pk=assignment.shown[0]).text


def nothing_stored(assignment):
    assignment.refresh_from_db()
    return (
        not Judgment.objects.exists()
        and not Completion.objects.filter(origin="edited").exists()
        and assignment.status == Assignment.Status.ACTIVE
    )


@pytest.mark.parametrize("choice", ["", "b"])
def test_the_service_refuses_an_edit_identical_to_the_original(assignment, choice):
    result = JudgmentResult(choice=choice, edit_of=assignment.shown[0], edit_text=original(assignment))
    with pytest.raises(InvalidJudgment) as error:
        judgment_record(assignment=assignment, result=result, client_id="e1")
    assert error.value.errors == UNCHANGED and nothing_stored(assignment)


def test_an_edit_that_changes_one_character_is_stored(assignment):
    result = JudgmentResult(edit_of=assignment.shown[0], edit_text=original(assignment) + " ")
    judgment, created = judgment_record(assignment=assignment, result=result, client_id="e1")
    assert created and judgment.edited_completion.text == original(assignment) + " "


def label_url(assignment):
    return reverse("label", args=[assignment.project.slug])


def form_data(assignment, text):
    edited = assignment.shown[0]
    return {"assignment": assignment.pk, "client_id": "form-1", "edit_of": edited, f"edit_text_{edited}": text}


def test_the_plain_form_refuses_the_unchanged_edit_a_browser_sends_with_crlf_line_breaks(client, labeler, assignment):
    client.force_login(labeler)
    as_sent = original(assignment).replace("\n", "\r\n")  # how a browser submits a textarea
    response = client.post(label_url(assignment), form_data(assignment, as_sent), follow=True)
    assert UNCHANGED["edit"] in response.content.decode() and nothing_stored(assignment)


def test_the_script_gets_a_400_naming_the_edit(client, labeler, assignment):
    client.force_login(labeler)
    response = client.post(
        label_url(assignment),
        form_data(assignment, original(assignment).replace("\n", "\r\n")),
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 400 and response.json() == {"errors": UNCHANGED}
    assert nothing_stored(assignment)


def test_an_edit_from_the_form_is_stored_with_the_line_breaks_the_labeler_saw(client, labeler, assignment):
    client.force_login(labeler)
    client.post(label_url(assignment), form_data(assignment, "Mended first line.\r\nSecond line."))
    assert Completion.objects.get(origin="edited").text == "Mended first line.\nSecond line."

