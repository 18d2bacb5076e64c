"""Named API tokens a user makes and revokes on their tokens page, beside DRF's one Token per user.

Keys of Arbiter's own tokens are 48 hex digits and stored only as a SHA-256; DRF's keys are 40 and
stored as they are. The length tells authentication which table to read, so neither kind costs the
other a query. Last use is written at most once a minute per token: the labeling hot path must not
write a row per request.
"""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.authtoken.models import Token

from .audit_log import audit_record
from .models import ApiToken

KEY_LENGTH = 48  # hex digits: 192 random bits; DRF's keys are 40
PREFIX_LENGTH = 8
LAST_USE_EVERY = timedelta(minutes=1)


def key_hash(key):
    return hashlib.sha256(key.encode()).hexdigest()


def is_api_token_key(key):
    return len(key) == KEY_LENGTH


def token_create(*, user, name):
    """A new token and its key; the key is not stored and cannot be shown again."""
    key = secrets.token_hex(KEY_LENGTH // 2)
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name, key_hash=key_hash(key), prefix=key[:PREFIX_LENGTH])
        audit_record(
            actor=user,
            project=None,
            action="token.create",
            detail={"token": token.id, "name": name, "prefix": token.prefix},
        )
    return token, key


def token_revoke(*, actor, token):
    with transaction.atomic():
        audit_record(
            actor=actor,
            project=None,
            action="token.revoke",
            detail={"token": token.id, "name": token.name, "prefix": token.prefix},
        )
        token.delete()


def drf_token_revoke(*, actor, token):
    """The command-line token (DRF's Token): revoked the same way, audited the same way."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            project=None,
            action="token.revoke",
            detail={"name": "command-line token", "prefix": token.key[:PREFIX_LENGTH]},
        )
        token.delete()


def token_for_key(key):
    """The token with this key and its user, or None."""
    return ApiToken.objects.select_related("user").filter(key_hash=key_hash(key)).first()


def token_used(token, *, now=None):
    """Note a use of the token, writing only if its last use is a minute old or more.

    The token may be the per-process remembered one (annotator/authentication.py): setting
    last_used_at on it keeps the next minute's requests from reaching the database at all. The
    conditional UPDATE makes other processes' writes in the same minute change nothing.
    """
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USE_EVERY:
        return
    token.last_used_at = now
    ApiToken.objects.filter(Q(last_used_at=None) | Q(last_used_at__lte=now - LAST_USE_EVERY), pk=token.pk).update(
        last_used_at=now
    )


def tokens_of(user):
    """The user's tokens: their own, and DRF's command-line token if they have one (or None)."""
    return list(ApiToken.objects.filter(user=user)), Token.objects.filter(user=user).first()
