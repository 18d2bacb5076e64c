"""The OpenAPI schema and the Swagger docs page: for logged-in users unless ARBITER_PUBLIC_API_DOCS.

The setting is read per request (not when the views are built), so tests can flip it.

ApiSchema declares, on every API view, the errors that follow from how the view is set up
rather than from what it does: bad credentials, too many bad tokens from one address, a session
without its CSRF token, a database outage. A client generated from the schema
(tests/clients/test_generated_client.py) raises on any status the schema does not declare, so
each one must be there.
"""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .authentication import CachedTokenAuthentication


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(
        required=False,
        help_text="Field name: its messages, or for nested input (edit, items) the same shape again.",
    )


class ApiSchema(AutoSchema):
    """Adds the errors any API view can answer to those its @extend_schema declares (a view's
    own declaration of a status wins, with its description)."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status, description in self._errors_of_the_setup().items():
            if status not in responses:
                error = OpenApiResponse(ErrorSerializer, description=description)
                responses[status] = self._get_response_for_code(error, status, direction=direction)
        return responses

    def _errors_of_the_setup(self):
        errors = {}
        authenticators = self.view.get_authenticators()
        if authenticators:
            # DRF answers missing or bad credentials 401 when the first authenticator names a
            # WWW-Authenticate scheme (a token does), else 403 (APIView.handle_exception).
            unauthenticated = "401" if authenticators[0].authenticate_header(self.view.request) else "403"
            errors[unauthenticated] = "No credentials, or a token that is not valid."
        if self.method not in SAFE_METHODS and any(isinstance(a, SessionAuthentication) for a in authenticators):
            errors.setdefault("403", "A logged-in session's request without its CSRF token.")
        if any(isinstance(a, CachedTokenAuthentication) for a in authenticators):
            errors["429"] = "Too many bad tokens from this address: retry after Retry-After seconds."
        errors["503"] = "The database cannot be reached: retry (see Retry-After)."
        return errors


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
