"""The per-process memory of API tokens: it saves a query, and a revoked token stops working within its TTL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from annotator import authentication

pytestmark = pytest.mark.django_db

TTL = 10


@pytest.fixture
def clock(settings, monkeypatch):
    """A clock the test moves by hand; the memory starts empty and lasts TTL seconds."""
    settings.ARBITER_TOKEN_CACHE_SECONDS = TTL
    authentication._remembered.clear()
    now = [1000.0]
    monkeypatch.setattr(authentication, "_clock", lambda: now[0])
    yield now
    authentication._remembered.clear()


def _projects(client):
    return client.get("/api/v1/projects/")


def test_a_remembered_token_costs_no_query(clock, api_as, labeler):
    client = api_as(labeler)
    with CaptureQueriesContext(connection) as first:
        assert _projects(client).status_code == 200
    with CaptureQueriesContext(connection) as again:
        assert _projects(client).status_code == 200
    assert "authtoken_token" in first.captured_queries[0]["sql"]
    assert len(again) == len(first) - 1
    assert not any("authtoken_token" in query["sql"] for query in again.captured_queries)


def test_a_deleted_token_stops_working_once_the_ttl_is_over(clock, api_as, labeler):
    client = api_as(labeler)
    assert _projects(client).status_code == 200
    Token.objects.filter(user=labeler).delete()
    clock[0] += TTL - 1
    assert _projects(client).status_code == 200  # the documented grace: at most TTL seconds
    clock[0] += 1
    assert _projects(client).status_code == 401


def test_a_deactivated_user_stops_working_once_the_ttl_is_over(clock, api_as, labeler):
    client = api_as(labeler)
    assert _projects(client).status_code == 200
    labeler.is_active = False
    labeler.save()
    clock[0] += TTL
    assert _projects(client).status_code == 401
    labeler.is_active = True
    labeler.save()
    assert _projects(client).status_code == 200  # a refusal is not remembered


def test_with_a_ttl_of_zero_a_deleted_token_fails_at_once(clock, settings, api_as, labeler):
    settings.ARBITER_TOKEN_CACHE_SECONDS = 0
    client = api_as(labeler)
    assert _projects(client).status_code == 200
    Token.objects.filter(user=labeler).delete()
    assert _projects(client).status_code == 401


def test_an_unknown_token_is_401_and_not_remembered(clock, api_as, labeler):
    client = api_as(None)
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert _projects(client).status_code == 401
    assert authentication._remembered == {}


def test_each_request_gets_its_own_copy_of_the_user(clock, labeler):
    key = Token.objects.create(user=labeler).key
    backend = authentication.CachedTokenAuthentication()
    first, _token = backend.authenticate_credentials(key)
    first.note = "set by one request"
    second, _token = backend.authenticate_credentials(key)
    assert second == first and not hasattr(second, "note")


def test_a_malformed_token_is_401_without_asking_the_database(client, labeler, django_assert_num_queries):
    # A NUL reached PostgreSQL as a query parameter and raised (a 500); a long key cost a query.
    for key in ("abc\x00def", "x" * 41, "é" * 10, "a-b"):
        with django_assert_num_queries(0):
            response = client.post(f"/api/v1/projects/p/get_reward/?token={key}", {"query": ["a"]}, content_type="application/json")
        assert response.status_code == 401, key
