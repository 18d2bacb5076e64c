"""A NUL in a query parameter is refused with a 400 before any view reads it: PostgreSQL cannot
hold a NUL in text, so a filter that passed one on was a 500 (the judgments API's labeler)."""

import pytest

from tests import factories
from tests.api.conftest import api_as  # noqa: F401 (the API tests' client fixture)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", ["labeler=%00", "review=a%00b", "after=%00", "x%00=1"])
def test_the_judgments_api_answers_a_nul_in_its_query_with_400(api_as, query):  # noqa: F811
    project = factories.project(slug="p")
    lead = factories.member(project, "lead", username="lead")
    response = api_as(lead).get(f"/api/v1/projects/p/judgments/?{query}")
    assert response.status_code == 400 and "NUL" in response.json()["detail"]


def test_a_page_answers_a_nul_in_its_query_with_400(client):
    project = factories.project(slug="p")
    client.force_login(factories.member(project, "lead", username="lead"))
    response = client.get("/projects/p/judgments/?labeler=%00")
    assert response.status_code == 400 and "NUL" in response.content.decode()


def test_a_query_without_nul_is_untouched(client):
    project = factories.project(slug="p")
    client.force_login(factories.member(project, "lead", username="lead"))
    assert client.get("/projects/p/judgments/?labeler=lead").status_code == 200
