"""Response headers, request size limits and the answer to a database outage, for every request.

Django 5.2 has no Content-Security-Policy of its own (6.0 adds one), hence
the small middleware below.
"""

import json
import logging
import sys
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve

from .errors import is_api
from .project_lifecycle import ProjectArchived, ProjectHidden

logger = logging.getLogger(__name__)

# No inline script anywhere: every script is a file under /static/ (the Swagger
# docs page included: SpectacularSwaggerSplitView serves its init script as a
# file). Styles may be inline because the Swagger UI page ships a <style> block
# and the reward-model pages one of their own; CSS cannot run script, and
# completions never carry style (nh3 strips it). Swagger UI's stylesheet draws
# its icons from data: URIs, hence img-src data:.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)

DATABASE_UNAVAILABLE = "database unavailable, retry"


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class DatabaseUnavailableMiddleware:
    """A lost or refused database connection is a 503 to retry, not a 500.

    Django marks the failed connection; close_old_connections (request_finished)
    closes it when it is no longer usable, so the next request connects afresh
    and the site recovers without a restart once the server is back.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.warning("database unavailable on %s %s: %s", request.method, request.path, exception)
        if is_api(request):
            response = JsonResponse({"detail": DATABASE_UNAVAILABLE}, status=503)
        else:
            # No request context: rendering the user or the messages would query the database again.
            response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = "5"
        return response


# Views whose bodies are large by design, by URL name; every other path gets ARBITER_MAX_BODY_BYTES.
SCORING_VIEWS = {
    "api_score", "api_rank", "api_get_reward", "api_get_reward_no_slash", "api_rerank", "api_rerank_no_slash",
    "api_cohere_v1_rerank", "api_cohere_v1_rerank_no_slash", "api_cohere_v2_rerank", "api_cohere_v2_rerank_no_slash",
}  # fmt: skip
UPLOAD_VIEWS = {"project_import"}
# An upload's multipart envelope (boundary, part headers, the CSRF token) beside the file itself.
MULTIPART_ENVELOPE_BYTES = 64 * 1024
DRAIN_CHUNK = 64 * 1024
# How long a refused body is read and dropped after the answer, as nginx's lingering_time (30 s):
# long enough for a client on a LAN to finish sending hundreds of megabytes, short enough that a
# client streaming for ever holds a thread only this long.
DRAIN_SECONDS = 10


def body_limit(path):
    """(bytes, the setting that says so) for a request to path."""
    try:
        name = resolve(path).url_name
    except Resolver404:
        name = None
    if name in SCORING_VIEWS:
        return settings.ARBITER_SCORE_MAX_BODY_BYTES, "ARBITER_SCORE_MAX_BODY_BYTES"
    if name in UPLOAD_VIEWS:
        return settings.ARBITER_MAX_IMPORT_BYTES + MULTIPART_ENVELOPE_BYTES, "ARBITER_MAX_IMPORT_BYTES"
    return settings.ARBITER_MAX_BODY_BYTES, "ARBITER_MAX_BODY_BYTES"


def _answer_then_drain(content, stream, remaining):
    """The answer, then up to `remaining` bytes of the unread body read and dropped, for at most
    DRAIN_SECONDS.

    A server that closes a socket with request bytes still unread makes the kernel send a reset,
    and the client, still sending, sees that instead of the answer (gunicorn lingers for only
    64 KB). Reading the rest after the answer is sent lets the client finish and read it, and
    leaves the connection fit for its next request; nothing is kept."""
    yield content
    deadline = time.monotonic() + DRAIN_SECONDS
    while remaining > 0 and time.monotonic() < deadline:
        chunk = stream.read(min(DRAIN_CHUNK, remaining))
        if not chunk:
            return
        remaining -= len(chunk)


NUL_IN_QUERY = "A query parameter contains a NUL character, which no field can hold."


class NulInQueryMiddleware:
    """A 400 for a NUL in a query parameter's name or value, before any view reads it.

    PostgreSQL cannot hold a NUL in text, so a filter that passed one on to a query was a 500;
    no parameter of this app can mean one, so they are refused here once, not view by view.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        fields = []
        if "%00" in request.META.get("QUERY_STRING", ""):
            fields = [
                key for key, values in request.GET.lists() if "\x00" in key or any("\x00" in value for value in values)
            ]
        if fields:
            if is_api(request):  # named field by field, as the API's other 400s are
                errors = {key: ["Contains a NUL character, which no field can hold."] for key in fields}
                return JsonResponse({"detail": NUL_IN_QUERY, "errors": errors}, status=400)
            return HttpResponse(f"<!doctype html><title>Bad request</title><p>{NUL_IN_QUERY}</p>", status=400)
        return self.get_response(request)


class ProjectArchivedMiddleware:
    """A change to an archived project is a 409 saying so, from any page or API view.

    Views call project_lifecycle.project_refuse_if_archived before writing; this one answer
    keeps each of them from formatting the refusal itself. A labeler reaching an archived
    project gets the same page with 403 (ProjectHidden, a PermissionDenied: DRF answers it).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, ProjectArchived):
            status = 409
        elif isinstance(exception, ProjectHidden) and not is_api(request):
            status = 403
        else:
            return None
        if is_api(request):
            return JsonResponse({"detail": str(exception)}, status=status)
        return HttpResponse(render_to_string("archived.html", {"message": str(exception)}, request=request), status=status)


class RequestSizeLimitMiddleware:
    """A body over its path's limit is a 413 naming the setting, decided from Content-Length
    before anything reads the body; a body without a length (chunked) is a 411, because Django
    reads only as many bytes as Content-Length says. First in MIDDLEWARE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        environ = request.META
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads such a body as empty, as it does a missing length
        if not chunked and not length:
            return self.get_response(request)  # most requests: no body, no URL lookup
        limit, setting = body_limit(request.path_info)
        if chunked:
            status, detail = 411, "Send the body with a Content-Length (chunked bodies are not read)."
            # gunicorn ends a chunked stream itself (wsgi.input_terminated); another server's may not end.
            remaining = sys.maxsize if environ.get("wsgi.input_terminated") else 0
        elif length > limit:
            status, detail = 413, f"The body has {length:,} bytes; at most {limit:,} are allowed ({setting})."
            remaining = length
        else:
            return self.get_response(request)
        content = json.dumps({"detail": detail}).encode()
        response = StreamingHttpResponse(_answer_then_drain(content, environ["wsgi.input"], remaining), status=status,
                                         content_type="application/json")  # fmt: skip
        response["Content-Length"] = str(len(content))
        return response
