"""PostgreSQL going away mid-service: 503 "retry" (JSON for the API, the styled page for pages),
then answers again once the server is reachable, without a restart.

Requests go through the real WSGI app, so close_old_connections runs at the start and end of
each request as under gunicorn (Django's test client switches it off). The shared server is
never stopped: the test kills its own backend, or points its connection at a closed port.
"""

from wsgiref.util import setup_testing_defaults

import psycopg
import pytest
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token

from annotator.wsgi import application
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

UNREACHABLE_PORT = "9"  # discard: nothing listens there


def wsgi_get(path, **headers):
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path}
    environ.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
    setup_testing_defaults(environ)
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["headers"] = dict(response_headers)

    result = application(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        result.close()  # request_finished: where a broken connection is closed
    return answer["status"], answer["headers"], body


@pytest.fixture
def token(labeler):
    return f"Token {Token.objects.create(user=labeler).key}"


@pytest.fixture
def session_cookie(labeler):
    client = Client()
    client.force_login(labeler)
    return f"sessionid={client.cookies['sessionid'].value}"


def terminate_own_backend():
    params = connection.get_connection_params()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_a_killed_persistent_connection_is_replaced_before_the_next_request(token):
    """CONN_HEALTH_CHECKS: without it each gunicorn thread's dead connection answered one 503."""
    assert wsgi_get("/api/v1/projects/", authorization=token)[0] == 200
    assert connection.connection is not None  # kept open between requests (CONN_MAX_AGE)
    killed_pid = connection.connection.info.backend_pid

    terminate_own_backend()
    assert wsgi_get("/api/v1/projects/", authorization=token)[0] == 200
    assert connection.connection.info.backend_pid != killed_pid


def test_an_unreachable_server_answers_503_until_it_is_back(token, session_cookie):
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = UNREACHABLE_PORT
    try:
        status, _, body = wsgi_get("/api/v1/projects/", authorization=token)
        assert status == 503 and b"database unavailable, retry" in body
        status, headers, body = wsgi_get("/", cookie=session_cookie)
        assert status == 503 and headers["Content-Type"].startswith("text/html")
        assert b"Temporarily unavailable (503)" in body and b"Traceback" not in body
    finally:
        connection.settings_dict["PORT"] = port
    assert wsgi_get("/api/v1/projects/", authorization=token)[0] == 200
    assert wsgi_get("/", cookie=session_cookie)[0] == 200
