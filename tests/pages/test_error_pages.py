"""With DEBUG off, 403, 404, 500 and 503 are styled pages with a way back."""

import pytest
from django.db import OperationalError

pytestmark = pytest.mark.django_db


def assert_styled_with_a_way_back(response, heading):
    html = response.content.decode()
    assert response["Content-Type"].startswith("text/html")
    assert '<link rel="stylesheet" href="/static/css/app.css">' in html  # base.html
    assert heading in html
    assert 'href="/"' in html and 'href="/accounts/login/"' in html
    assert "Traceback" not in html


def test_unknown_page_is_the_styled_404(client, labeler):
    client.force_login(labeler)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_styled_with_a_way_back(response, "Not found (404)")
    assert "Log out labeler" in response.content.decode()  # rendered with the user's navigation


def test_a_project_you_may_not_manage_is_the_styled_403(client, project, labeler):
    client.force_login(labeler)
    response = client.get(f"/projects/{project.slug}/models/")
    assert response.status_code == 403
    assert_styled_with_a_way_back(response, "Not allowed (403)")


def test_a_crash_is_the_styled_500(client, labeler, monkeypatch):
    def crash(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("annotator.views.projects_for", crash)
    client.force_login(labeler)
    client.raise_request_exception = False
    response = client.get("/")
    assert response.status_code == 500
    assert_styled_with_a_way_back(response, "Something went wrong (500)")
    assert "secret internals" not in response.content.decode()


def test_a_lost_database_is_the_styled_503(client, labeler, monkeypatch):
    def lost(**kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr("annotator.views.projects_for", lost)
    client.force_login(labeler)
    response = client.get("/")
    assert response.status_code == 503
    assert_styled_with_a_way_back(response, "Temporarily unavailable (503)")
    assert "could not connect" not in response.content.decode()
