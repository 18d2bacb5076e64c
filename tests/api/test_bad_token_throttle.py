"""Bad API tokens lock their client address for a window: 429 with Retry-After, no token lookup."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotator import authentication, throttling
from annotator.models import AuditEntry

pytestmark = pytest.mark.django_db

LIMIT, WINDOW = 4, 300
BAD_KEY = "0" * 40


@pytest.fixture(autouse=True)
def throttle(settings, monkeypatch):
    settings.ARBITER_TOKEN_FAILURES_PER_ADDRESS = LIMIT
    settings.ARBITER_LOGIN_WINDOW_SECONDS = WINDOW
    now = [1_000_000.0]
    monkeypatch.setattr(throttling, "_clock", lambda: now[0])
    return now


def _client(address, header=None):
    client = APIClient(REMOTE_ADDR=address)
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client


def _projects(client, path="/api/v1/projects/"):
    return client.get(path)


def _good_header(user, keyword="Token"):
    return f"{keyword} {Token.objects.get_or_create(user=user)[0].key}"


def _fail(address, times, header=f"Token {BAD_KEY}"):
    for _ in range(times):
        assert _projects(_client(address, header)).status_code == 401


def test_after_the_limit_an_address_gets_429_with_retry_after_without_a_token_lookup(labeler):
    _fail("10.0.0.1", LIMIT)
    good = _client("10.0.0.1", _good_header(labeler))
    with CaptureQueriesContext(connection) as queries:
        response = _projects(good)
    assert response.status_code == 429 and response["Retry-After"] == str(WINDOW)
    assert not any("authtoken_token" in query["sql"] for query in queries.captured_queries)


def test_other_addresses_keep_working(labeler):
    _fail("10.0.0.1", LIMIT)
    assert _projects(_client("10.0.0.2", _good_header(labeler))).status_code == 200
    assert _projects(_client("10.0.0.2", f"Token {BAD_KEY}")).status_code == 401


def test_the_lock_ends_with_the_window(labeler, throttle):
    _fail("10.0.0.1", LIMIT)
    throttle[0] += WINDOW - 1
    assert _projects(_client("10.0.0.1", _good_header(labeler))).status_code == 429
    throttle[0] += 1
    assert _projects(_client("10.0.0.1", _good_header(labeler))).status_code == 200


def test_bearer_and_query_tokens_count_and_are_refused_alike(labeler):
    _fail("10.0.0.1", 2, header=f"Bearer {BAD_KEY}")
    assert _client("10.0.0.1").post(f"/api/v1/projects/p/get_reward/?token={BAD_KEY}", {"query": ["a"]}).status_code == 401
    assert _client("10.0.0.1").post("/api/v1/projects/p/get_reward/?token=a-b", {"query": ["a"]}).status_code == 401
    assert _projects(_client("10.0.0.1", _good_header(labeler, "Bearer"))).status_code == 429
    key = Token.objects.get(user=labeler).key
    assert _client("10.0.0.1").post(f"/api/v1/projects/p/get_reward/?token={key}", {"query": ["a"]}).status_code == 429


def test_a_token_this_process_remembers_is_not_held_up_by_its_address(settings, labeler):
    # The lock guards the database lookup; a key already known good needs none.
    settings.ARBITER_TOKEN_CACHE_SECONDS = 10
    authentication._remembered.clear()
    good = _client("10.0.0.1", _good_header(labeler))
    assert _projects(good).status_code == 200
    _fail("10.0.0.1", LIMIT)
    assert _projects(good).status_code == 200
    authentication._remembered.clear()
    assert _projects(good).status_code == 429


def test_requests_without_a_token_are_not_counted(labeler):
    for _ in range(LIMIT + 1):
        assert _projects(_client("10.0.0.1")).status_code in (401, 403)
    assert _projects(_client("10.0.0.1", _good_header(labeler))).status_code == 200


def test_an_address_lockout_is_audited_once():
    _fail("10.0.0.1", LIMIT)
    assert _projects(_client("10.0.0.1", f"Token {BAD_KEY}")).status_code == 429
    entry = AuditEntry.objects.get(action="login.lockout")
    assert entry.project is None
    assert entry.detail == {"scope": "token-address", "subject": "10.0.0.1", "failures": LIMIT, "seconds": WINDOW}


@pytest.mark.redis
def test_on_redis_bad_tokens_lock_an_address(settings, labeler):
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",  # apart from other test runs on the same Redis
        },
    }
    _fail("10.0.0.1", LIMIT)
    assert _projects(_client("10.0.0.1", _good_header(labeler))).status_code == 429
    assert _projects(_client("10.0.0.2", _good_header(labeler))).status_code == 200
