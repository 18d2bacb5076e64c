"""Request bodies over their path's limit are a 413 naming the setting, decided from Content-Length
before the body is read; the client then reads that answer instead of a reset, and a scoring body
of the size the README documents gets through (Django's own 2.5 MB cap was the real limit)."""

import http.client
import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from annotator.middleware import RequestSizeLimitMiddleware
from tests import factories

ROOT = Path(__file__).resolve().parents[2]


class CountingStream(io.BytesIO):
    def __init__(self, data):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def the_view_must_not_run(request):
    raise AssertionError("the body over the limit reached the view")


@pytest.mark.parametrize(
    "path, setting",
    [
        ("/api/v1/projects/p/score/", "ARBITER_SCORE_MAX_BODY_BYTES"),
        ("/api/v1/projects/p/get_reward", "ARBITER_SCORE_MAX_BODY_BYTES"),
        ("/api/v1/projects/p/v2/rerank", "ARBITER_SCORE_MAX_BODY_BYTES"),
        ("/projects/p/import/", "ARBITER_MAX_IMPORT_BYTES"),
        ("/api/v1/judgments/", "ARBITER_MAX_BODY_BYTES"),
        ("/projects/p/label/", "ARBITER_MAX_BODY_BYTES"),
        ("/no/such/path/", "ARBITER_MAX_BODY_BYTES"),
    ],
)
def test_a_body_over_its_paths_limit_is_a_413_naming_the_setting_before_it_is_read(settings, path, setting):
    settings.ARBITER_SCORE_MAX_BODY_BYTES = 3000
    settings.ARBITER_MAX_IMPORT_BYTES = 2000
    settings.ARBITER_MAX_BODY_BYTES = 1000
    limit = {"ARBITER_SCORE_MAX_BODY_BYTES": 3000, "ARBITER_MAX_IMPORT_BYTES": 2000 + 64 * 1024}.get(setting, 1000)
    body = b"x" * (limit + 1)
    stream = CountingStream(body)
    request = RequestFactory().post(path, body, content_type="application/json")
    request.META["wsgi.input"] = stream
    response = RequestSizeLimitMiddleware(the_view_must_not_run)(request)
    assert response.status_code == 413 and stream.bytes_read == 0
    content = b"".join(response.streaming_content)
    assert setting in json.loads(content)["detail"] and response["Content-Length"] == str(len(content))
    assert stream.bytes_read == len(body)  # read and dropped after the answer, for the client's sake


def test_the_drain_stops_after_drain_seconds(settings, monkeypatch):
    monkeypatch.setattr("annotator.middleware.DRAIN_SECONDS", 0)
    settings.ARBITER_MAX_BODY_BYTES = 1000
    stream = CountingStream(b"x" * 5000)
    request = RequestFactory().post("/api/v1/judgments/", b"x" * 5000, content_type="application/json")
    request.META["wsgi.input"] = stream
    response = RequestSizeLimitMiddleware(the_view_must_not_run)(request)
    assert b"".join(response.streaming_content) and stream.bytes_read == 0


def test_a_body_within_its_limit_goes_through_unread(settings):
    settings.ARBITER_MAX_BODY_BYTES = 1000
    request = RequestFactory().post("/api/v1/judgments/", b"x" * 1000, content_type="application/json")
    response = RequestSizeLimitMiddleware(lambda request: HttpResponse("view"))(request)
    assert response.content == b"view"


def test_a_chunked_body_is_a_411(client):
    response = client.generic("POST", "/api/v1/judgments/", b"", content_type="application/json",
                              HTTP_TRANSFER_ENCODING="chunked")  # fmt: skip
    assert response.status_code == 411 and "Content-Length" in json.loads(b"".join(response.streaming_content))["detail"]


@pytest.mark.django_db
def test_a_get_reward_body_over_djangos_old_2_5_mb_reaches_the_view(api_as):
    project = factories.project()
    labeler = factories.member(project, "labeler")
    query = "Human: hi\n\nAssistant: " + "a" * 1000
    body = {"query": [query] * 3000}  # 3 MB: OpenRLHF posts 1-5 MB
    response = api_as(labeler).post(f"/api/v1/projects/{project.slug}/get_reward/", body, format="json")
    assert response.status_code == 503  # no model yet: it got as far as scoring
    assert "model" in response.json()["detail"]


@pytest.mark.django_db
def test_a_score_request_at_the_documented_limits_is_not_refused_for_its_size(api_as, settings):
    project = factories.project()
    labeler = factories.member(project, "labeler")
    text = "a" * settings.ARBITER_SCORE_MAX_CHARS
    body = {"items": [{"prompt": text, "completion": text}] * settings.ARBITER_SCORE_MAX_ITEMS}  # 12.8 MB
    response = api_as(labeler).post(f"/api/v1/projects/{project.slug}/score/", body, format="json")
    assert response.status_code == 503 and "model" in response.json()["detail"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path):
    """The real server, as the Procfile starts it (gunicorn.conf.py read from the repo root)."""
    port = free_port()
    env = {**os.environ, "ARBITER_DATA_DIR": str(tmp_path), "SECRET_KEY": "x", "DEBUG": "0",
           "ARBITER_SCORE_MAX_BODY_BYTES": str(2_000_000)}  # fmt: skip
    env.pop("DATABASE_URL", None)
    log = open(tmp_path / "gunicorn.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "annotator.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--threads", "2", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/no-such-thing/")
            conn.getresponse().read()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.terminate()
                pytest.fail(f"gunicorn did not answer: {(tmp_path / 'gunicorn.log').read_text()}")
            time.sleep(0.5)
    yield port
    server.terminate()
    server.wait(30)


def test_under_gunicorn_the_client_reads_the_413_and_keeps_its_connection(gunicorn):
    conn = http.client.HTTPConnection("127.0.0.1", gunicorn, timeout=30)
    body = b'{"items": [' + b" " * 8_000_000 + b"]}"  # over Django's old 2.5 MB and four times the 2 MB limit
    conn.request("POST", "/api/v1/projects/p/score/", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 413
    assert "ARBITER_SCORE_MAX_BODY_BYTES" in json.loads(response.read())["detail"]
    conn.request("GET", "/api/v1/no-such-thing/")  # the same connection: the body was drained
    assert conn.getresponse().status == 404
