"""The OpenAPI schema and the docs page need a login, unless ARBITER_PUBLIC_API_DOCS is on."""

import pytest

pytestmark = pytest.mark.django_db


def test_anonymous_callers_get_401_for_the_schema(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_anonymous_browsers_are_sent_to_login_from_the_docs(client):
    response = client.get("/api/docs/")
    assert response.status_code == 302 and response.url == "/accounts/login/?next=/api/docs/"
    assert client.get("/api/docs/?script=").status_code == 302


def test_any_logged_in_user_gets_the_schema_and_docs(client, api_as, labeler):
    assert api_as(labeler).get("/api/schema/?format=json").status_code == 200
    client.force_login(labeler)
    assert client.get("/api/schema/?format=json").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def test_public_api_docs_setting_opens_both_to_anyone(client, settings):
    settings.ARBITER_PUBLIC_API_DOCS = True
    assert client.get("/api/schema/?format=json").status_code == 200
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/docs/?script=").status_code == 200
