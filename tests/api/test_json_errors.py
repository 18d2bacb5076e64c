"""Every /api/ answer is JSON {"detail": ...}, errors included, and a lost database is a 503."""

import pytest
from django.db import InterfaceError, OperationalError

pytestmark = pytest.mark.django_db


def test_unknown_api_paths_answer_a_json_404(api_as, labeler):
    for path in ("/api/", "/api/v1/no-such-thing/", "/api/v2/projects/"):
        response = api_as(labeler).get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "Not found."}


def test_unknown_api_path_is_json_for_anonymous_callers_too(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_wrong_method_is_a_json_405(api_as, labeler):
    response = api_as(labeler).delete("/api/v1/projects/")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "DELETE" not allowed.'}


def test_a_crash_inside_the_api_is_a_json_500_without_a_traceback(api_as, labeler, monkeypatch):
    def crash(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("annotator.api.projects_for", crash)
    client = api_as(labeler)
    client.raise_request_exception = False
    response = client.get("/api/v1/projects/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Server error."}


@pytest.mark.parametrize("error", [OperationalError("connection refused"), InterfaceError("connection already closed")])
def test_a_lost_database_is_a_json_503_to_retry(api_as, labeler, monkeypatch, error):
    def lost(**kwargs):
        raise error

    monkeypatch.setattr("annotator.api.projects_for", lost)
    response = api_as(labeler).get("/api/v1/projects/")
    assert response.status_code == 503
    assert response.json() == {"detail": "database unavailable, retry"}
    assert response["Retry-After"]


def test_a_lost_database_is_a_styled_503_page(client, labeler, monkeypatch):
    def lost(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("annotator.views.projects_for", lost)
    client.force_login(labeler)
    response = client.get("/")
    assert response.status_code == 503
    html = response.content.decode()
    assert "Temporarily unavailable" in html and 'href="/"' in html and "Traceback" not in html
    assert "server closed" not in html  # the driver's message stays in the log


def test_other_database_errors_are_not_mistaken_for_an_outage(api_as, labeler, monkeypatch):
    from django.db import IntegrityError

    def broken(**kwargs):
        raise IntegrityError("duplicate key")

    monkeypatch.setattr("annotator.api.projects_for", broken)
    client = api_as(labeler)
    client.raise_request_exception = False
    assert client.get("/api/v1/projects/").status_code == 500
