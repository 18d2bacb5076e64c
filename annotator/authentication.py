"""API token authentication that remembers token -> user for a few seconds in each process.

DRF's TokenAuthentication reads the token and its user on every request; under
50 labelers that read was the largest single cost of the labeling hot path
(18% of request time). This class remembers a valid token's user for
ARBITER_TOKEN_CACHE_SECONDS (default 10). The price, and the bound on it: a
deleted token, or a user made inactive, keeps working for at most that many
seconds in each server process that used it just before. 0 turns it off.
Only valid tokens are remembered, so unknown keys cost a query each, as before.

Two kinds of key work: DRF's Token (40 hex digits, one per user, from the command line) and the
named tokens users make on their tokens page (48 hex digits, stored hashed: annotator/tokens.py).
Revoking either one takes effect within ARBITER_TOKEN_CACHE_SECONDS, for the same reason.

The same token also rides as `Authorization: Bearer <key>` (BearerTokenAuthentication):
OpenAI-style and Cohere SDKs send their api key that way and cannot be told to say "Token".

A key that is not remembered is looked up only if its client address is not locked: bad keys
count per address (annotator/throttling.py), and past ARBITER_TOKEN_FAILURES_PER_ADDRESS in the
window the address gets 429 with Retry-After instead of a lookup. A remembered key skips that
check, so the labeling hot path reads no cache for it.
"""

import copy
import time

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from . import throttling, tokens
from .models import ApiToken

_clock = time.monotonic  # a name tests can replace
_remembered = {}  # token key -> (deadline on _clock, user, token); per process, shared by its threads


class CachedTokenAuthentication(TokenAuthentication):
    address = None  # the client's, set per request (DRF makes an instance per request); None: not throttled

    def authenticate(self, request):
        self.address = throttling.client_address(request)
        return super().authenticate(request)

    def authenticate_credentials(self, key):
        seconds = settings.ARBITER_TOKEN_CACHE_SECONDS
        now = _clock()
        hit = _remembered.get(key)
        if hit and hit[0] > now and seconds > 0:
            _deadline, user, token = hit
        else:
            _remembered.pop(key, None)
            user, token = self._looked_up(key)
            if seconds > 0:
                _remembered[key] = (now + seconds, user, token)
        if isinstance(token, ApiToken):
            tokens.token_used(token)
        # A copy per request, so nothing a request sets on its user reaches another request.
        return copy.copy(user), token

    def _looked_up(self, key):
        """The key's user and token from the database, unless its address is locked (429); a
        refusal counts against the address."""
        throttled = self.address is not None
        if throttled and (wait := throttling.locked_seconds((throttling.TOKEN_ADDRESS, self.address))):
            raise exceptions.Throttled(wait=wait)
        try:
            # Keys are 40 hex digits (DRF's) or 48 (ours). Anything else is refused before the database sees it: a NUL
            # in a `?token=` made PostgreSQL raise (a 500), and an unknown key costs a query.
            if not (key.isascii() and key.isalnum() and (len(key) <= 40 or tokens.is_api_token_key(key))):
                raise exceptions.AuthenticationFailed("Invalid token.")
            if not tokens.is_api_token_key(key):
                return super().authenticate_credentials(key)  # AuthenticationFailed: unknown or inactive
            token = tokens.token_for_key(key)
            if token is None or not token.user.is_active:
                raise exceptions.AuthenticationFailed("Invalid token.")
            return token.user, token
        except exceptions.AuthenticationFailed:
            if throttled:
                throttling.failure_record(scope=throttling.TOKEN_ADDRESS, subject=self.address)
            raise


class BearerTokenAuthentication(CachedTokenAuthentication):
    """`Authorization: Bearer <key>`, the same tokens and the same cache as `Token <key>`."""

    keyword = "Bearer"


class QueryTokenAuthentication(CachedTokenAuthentication):
    """The token as `?token=<key>` in the URL, for RL clients that send no headers (OpenRLHF's
    `--remote_rm_url` posts plain JSON). Only the scoring endpoints RL loops call accept it;
    gunicorn.conf.py keeps query strings out of the access log."""

    def authenticate(self, request):
        key = request.query_params.get("token")
        if not key:
            return None
        self.address = throttling.client_address(request)
        return self.authenticate_credentials(key)


class QueryTokenScheme(OpenApiAuthenticationExtension):
    """The schema's name for the URL token: an API key in the query string."""

    target_class = QueryTokenAuthentication
    name = "queryToken"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "query", "name": "token"}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """The schema's name for the Bearer header: HTTP bearer auth (drf-spectacular's own
    TokenScheme would name it tokenAuth too, beside the `Token` prefix)."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}
