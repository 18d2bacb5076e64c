"""Response headers and the answer to a database outage, for every request.

Django 5.2 has no Content-Security-Policy of its own (6.0 adds one), hence
the small middleware below.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from .errors import is_api

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
