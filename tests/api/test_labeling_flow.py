"""next -> submit -> next over the API, retries, conflicts and validation errors."""

import pytest

from annotator.models import Assignment, Comparison, Judgment, Project
from tests import factories

pytestmark = pytest.mark.django_db


def _next(client, project):
    return client.get(f"/api/v1/projects/{project.slug}/next/")


def _submit(client, **body):
    return client.post("/api/v1/judgments/", body, format="json")


def test_next_returns_the_prompt_and_completions_in_display_order(api_as, project, labeler):
    (prompt,) = factories.prompts(project, 1)
    response = _next(api_as(labeler), project)
    assert response.status_code == 200
    item = response.json()
    assignment = Assignment.objects.get(pk=item["assignment"])
    assert item["prompt"] == {"id": prompt.pk, "text": prompt.text}
    assert [c["id"] for c in item["completions"]] == assignment.shown
    texts = dict(prompt.completions.values_list("id", "text"))
    assert all(c["text"] == texts[c["id"]] for c in item["completions"])


def test_next_submit_next_gives_a_different_prompt_then_204(api_as, project, labeler):
    factories.prompts(project, 2)
    client = api_as(labeler)
    first = _next(client, project).json()
    created = _submit(client, assignment=first["assignment"], client_id="c1", choice="a")
    assert created.status_code == 201
    second = _next(client, project).json()
    assert second["prompt"]["id"] != first["prompt"]["id"]
    assert _submit(client, assignment=second["assignment"], client_id="c2", choice="tie").status_code == 201
    done = _next(client, project)
    assert done.status_code == 204 and done.content == b""


def test_submit_answers_with_the_stored_judgment_and_its_comparisons(api_as, project, labeler):
    factories.prompts(project, 1)
    client = api_as(labeler)
    item = _next(client, project).json()
    a, b = (c["id"] for c in item["completions"])
    body = _submit(
        client, assignment=item["assignment"], client_id="c1", choice="b", strength="much", comment="B is right",
        time_spent_ms=4200,
    ).json()
    judgment = Judgment.objects.get()
    assert body["id"] == judgment.pk and body["assignment"] == item["assignment"]
    assert body["prompt"] == item["prompt"]["id"]
    assert (body["choice"], body["strength"], body["comment"]) == ("b", "much", "B is right")
    assert body["comparisons"] == [[b, a]]
    assert body["ranking"] == [] and body["excluded"] == [] and body["edited_completion"] is None
    assert body["client_id"] == "c1" and body["created_at"]
    assert judgment.time_spent_ms == 4200


def test_same_client_id_twice_is_201_then_200_with_the_same_body_and_one_row(api_as, project, labeler):
    factories.prompts(project, 1)
    client = api_as(labeler)
    item = _next(client, project).json()
    first = _submit(client, assignment=item["assignment"], client_id="retry-me", choice="a")
    again = _submit(client, assignment=item["assignment"], client_id="retry-me", choice="a")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Judgment.objects.count() == 1 and Comparison.objects.count() == 1


def test_second_client_id_for_a_judged_assignment_is_409(api_as, project, labeler):
    factories.prompts(project, 2)
    client = api_as(labeler)
    item = _next(client, project).json()
    _submit(client, assignment=item["assignment"], client_id="c1", choice="a")
    response = _submit(client, assignment=item["assignment"], client_id="c2", choice="b")
    assert response.status_code == 409
    assert response.json() == {"detail": "This item was already judged."}
    assert Judgment.objects.count() == 1


def test_bad_choice_is_400_with_a_field_error(api_as, project, labeler):
    factories.prompts(project, 1)
    client = api_as(labeler)
    item = _next(client, project).json()
    response = _submit(client, assignment=item["assignment"], client_id="c1", choice="c")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Invalid input." and list(body["errors"]) == ["choice"]
    assert not Judgment.objects.exists()


def test_missing_fields_are_400_field_by_field(api_as, labeler):
    response = _submit(api_as(labeler), choice="a")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"assignment", "client_id"}


def test_tie_in_a_project_without_ties_is_400(api_as, db):
    project = factories.project(allow_tie=False)
    factories.prompts(project, 1)
    person = factories.member(project, "labeler")
    client = api_as(person)
    item = _next(client, project).json()
    response = _submit(client, assignment=item["assignment"], client_id="c1", choice="tie")
    assert response.status_code == 400
    assert response.json()["errors"] == {"choice": ["Ties are not allowed in this project."]}


def test_ranking_in_a_pairwise_project_is_400(api_as, project, labeler):
    factories.prompts(project, 1)
    client = api_as(labeler)
    item = _next(client, project).json()
    ids = [c["id"] for c in item["completions"]]
    response = _submit(client, assignment=item["assignment"], client_id="c1", ranking=ids)
    assert response.status_code == 400
    assert "ranking" in response.json()["errors"]


def test_ranking_must_cover_every_completion_shown(api_as, db):
    project = factories.project(mode=Project.Mode.RANKING, completions_shown=3)
    factories.prompts(project, 1, completions=3)
    client = api_as(factories.member(project, "labeler"))
    item = _next(client, project).json()
    ids = [c["id"] for c in item["completions"]]
    short = _submit(client, assignment=item["assignment"], client_id="c1", ranking=ids[:2])
    assert short.status_code == 400
    assert short.json()["errors"] == {"ranking": ["Rank every completion shown or mark it excluded."]}
    full = _submit(client, assignment=item["assignment"], client_id="c1", ranking=ids[:2], excluded=ids[2:])
    assert full.status_code == 201
    assert full.json()["comparisons"] == [ids[:2]]


def test_edit_is_stored_as_a_completion_that_beats_both(api_as, project, labeler):
    factories.prompts(project, 1)
    client = api_as(labeler)
    item = _next(client, project).json()
    a, b = (c["id"] for c in item["completions"])
    body = _submit(
        client, assignment=item["assignment"], client_id="c1", edit={"completion": b, "text": "A better answer"}
    ).json()
    edited = body["edited_completion"]
    assert body["choice"] == ""
    assert sorted(body["comparisons"]) == sorted([[edited, a], [edited, b]])


def test_someone_elses_assignment_is_404_for_submit_and_skip(api_as, project, labeler):
    factories.prompts(project, 1)
    item = _next(api_as(labeler), project).json()
    other = api_as(factories.member(project, "labeler"))
    assert _submit(other, assignment=item["assignment"], client_id="c1", choice="a").status_code == 404
    assert other.post(f"/api/v1/assignments/{item['assignment']}/skip/").status_code == 404
    assert _submit(other, assignment=10**9, client_id="c1", choice="a").status_code == 404
    assert Assignment.objects.get(pk=item["assignment"]).status == Assignment.Status.ACTIVE


def test_skip_releases_the_item_and_it_is_not_offered_again(api_as, project, labeler):
    factories.prompts(project, 2)
    client = api_as(labeler)
    first = _next(client, project).json()
    assert client.post(f"/api/v1/assignments/{first['assignment']}/skip/").status_code == 204
    second = _next(client, project).json()
    assert second["prompt"]["id"] != first["prompt"]["id"]
    assert Assignment.objects.get(pk=first["assignment"]).status == Assignment.Status.SKIPPED


def test_skipped_assignment_cannot_be_judged(api_as, project, labeler):
    factories.prompts(project, 1)
    client = api_as(labeler)
    item = _next(client, project).json()
    client.post(f"/api/v1/assignments/{item['assignment']}/skip/")
    response = _submit(client, assignment=item["assignment"], client_id="c1", choice="a")
    assert response.status_code == 409
