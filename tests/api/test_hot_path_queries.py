"""The labeling hot path's SQL statements per request, counted as production runs them.

transaction=True, so the services' atomic blocks are real transactions (their
BEGIN and COMMIT are captured, and counted apart from the statements) and not
savepoints inside a test transaction. The
token memory is on, as in production, and warm: the first request of a token
in a process costs one statement more (the token and its user).
"""

import pytest

from annotator import authentication
from annotator.models import Judgment, Project
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

TRANSACTION_CONTROL = {"BEGIN", "BEGIN IMMEDIATE", "COMMIT"}


@pytest.fixture
def client(settings, api_as, project, labeler):
    settings.ARBITER_TOKEN_CACHE_SECONDS = 10
    authentication._remembered.clear()
    client = api_as(labeler)
    assert client.get("/api/v1/projects/").status_code == 200  # the token is remembered from here on
    return client


def _next(client, project):
    return client.get(f"/api/v1/projects/{project.slug}/next/")


def _statements(captured):
    return [query["sql"] for query in captured.captured_queries if query["sql"] not in TRANSACTION_CONTROL]


def test_next_with_a_new_lease_runs_at_most_five_statements(client, project, django_assert_max_num_queries):
    factories.prompts(project, 3)
    with django_assert_max_num_queries(7) as captured:
        response = _next(client, project)
    assert len(_statements(captured)) <= 5
    assert response.status_code == 200 and len(response.json()["completions"]) == 2


def test_next_that_gives_back_the_held_lease_runs_at_most_five_statements(
    client, project, django_assert_max_num_queries
):
    factories.prompts(project, 3)
    first = _next(client, project).json()
    with django_assert_max_num_queries(7) as captured:
        again = _next(client, project).json()
    assert len(_statements(captured)) <= 5
    assert again == first


def test_next_with_nothing_left_runs_at_most_five_statements(client, project, django_assert_max_num_queries):
    with django_assert_max_num_queries(7) as captured:
        assert _next(client, project).status_code == 204
    assert len(_statements(captured)) <= 5


def test_submit_runs_five_statements_besides_begin_and_commit(client, project, django_assert_max_num_queries):
    factories.prompts(project, 3)
    item = _next(client, project).json()
    body = {"assignment": item["assignment"], "client_id": "c1", "choice": "a"}
    with django_assert_max_num_queries(7) as captured:
        response = client.post("/api/v1/judgments/", body, format="json")
    assert response.status_code == 201
    assert len(_statements(captured)) <= 5
    a, b = (c["id"] for c in item["completions"])
    assert response.json()["comparisons"] == [[a, b]]


def test_a_ranking_submit_answers_with_the_stored_pairs_without_reading_them_back(
    settings, api_as, db, django_assert_max_num_queries
):
    settings.ARBITER_TOKEN_CACHE_SECONDS = 10
    project = factories.project(mode=Project.Mode.RANKING, completions_shown=3)
    factories.prompts(project, 1, completions=3)
    client = api_as(factories.member(project, "labeler"))
    item = _next(client, project).json()
    ranking = [c["id"] for c in item["completions"]]
    body = {"assignment": item["assignment"], "client_id": "r1", "ranking": ranking}
    with django_assert_max_num_queries(7):
        response = client.post("/api/v1/judgments/", body, format="json")
    stored = Judgment.objects.get().comparisons.values_list("chosen_id", "rejected_id")
    assert sorted(map(list, stored)) == sorted(response.json()["comparisons"])
    assert len(response.json()["comparisons"]) == 3


@pytest.mark.postgres
def test_a_lease_commits_without_waiting_for_the_wal_flush_but_a_judgment_waits(
    client, project, django_assert_max_num_queries
):
    factories.prompts(project, 3)
    with django_assert_max_num_queries(7) as leased:
        item = _next(client, project).json()
    assert "SET LOCAL synchronous_commit TO OFF" in _statements(leased)
    body = {"assignment": item["assignment"], "client_id": "durable", "choice": "b"}
    with django_assert_max_num_queries(7) as judged:
        assert client.post("/api/v1/judgments/", body, format="json").status_code == 201
    assert not any("synchronous_commit" in sql for sql in _statements(judged))
