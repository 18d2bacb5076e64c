"""The OpenAPI schema and the Swagger docs page: for logged-in users unless ARBITER_PUBLIC_API_DOCS.

The setting is read per request (not when the views are built), so tests can flip it.
"""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import BasePermission


class LoggedInUnlessPublicDocs(BasePermission):
    def has_permission(self, request, view):
        return settings.ARBITER_PUBLIC_API_DOCS or bool(request.user and request.user.is_authenticated)


schema_view = SpectacularAPIView.as_view(permission_classes=[LoggedInUnlessPublicDocs])
# The split view serves Swagger UI's init script as a file (?script), so the page needs no inline script.
_swagger_view = SpectacularSwaggerSplitView.as_view(url_name="schema", permission_classes=[LoggedInUnlessPublicDocs])


def docs_view(request, *args, **kwargs):
    """A browser without a session is sent to the login page rather than shown a bare 401."""
    if not settings.ARBITER_PUBLIC_API_DOCS and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return _swagger_view(request, *args, **kwargs)
