"""Failed logins and bad API tokens, counted per username and per client address.

A flood of wrong passwords used to saturate the web workers: every attempt ran Django's password
hasher (hundreds of milliseconds of CPU by design), and 50 labelers' requests waited behind it.
Now, after ARBITER_LOGIN_FAILURES_PER_USERNAME failures for one username, or
ARBITER_LOGIN_FAILURES_PER_ADDRESS from one client address, within ARBITER_LOGIN_WINDOW_SECONDS,
that username (or address) is locked for the window: attempts get 429 with Retry-After before
any password is hashed. A bad API token is counted the same way per address
(ARBITER_TOKEN_FAILURES_PER_ADDRESS), before its database lookup.

A lock lasts the window from the failure that set it and refused attempts do not extend it, so the
right password is never refused for longer than the window. Staff lift a lock early on the
"Locked logins" page. Every lock and every lift is in the audit log (project-less entries,
login.lockout and login.unlock, listed on that page).

The counts live in the "throttle" cache (settings.CACHES): Redis in production, files in the data
dir otherwise, so every web worker process sees the same counts and a lift reaches them all.
Counting is read-then-write, not atomic: two failures at the same instant may count as one, which
delays a lock by a failure or two and never locks early.
"""

import hashlib
import ipaddress
import math
import time
import unicodedata
from datetime import timedelta

from django.conf import settings
from django.core.cache import caches
from django.utils import timezone

from .audit_log import audit_record
from .models import AuditEntry

_clock = time.time  # a name tests can replace

LOGIN_USERNAME = "login-username"
LOGIN_ADDRESS = "login-address"
TOKEN_ADDRESS = "token-address"
# Each scope's limit: failures within the window before it locks (0: never).
_LIMIT_SETTINGS = {
    LOGIN_USERNAME: "ARBITER_LOGIN_FAILURES_PER_USERNAME",
    LOGIN_ADDRESS: "ARBITER_LOGIN_FAILURES_PER_ADDRESS",
    TOKEN_ADDRESS: "ARBITER_TOKEN_FAILURES_PER_ADDRESS",
}
SCOPES = tuple(_LIMIT_SETTINGS)


def client_address(request):
    """The client's address: REMOTE_ADDR, or with ARBITER_TRUSTED_PROXY_HOPS = n, the address the
    n-th proxy from us saw (X-Forwarded-For, counted from the right: each proxy appends the address
    it was called from, so entries further left were written by the client and prove nothing).
    An IPv6 client counts by its /64, which one subscriber usually holds whole."""
    address = request.META.get("REMOTE_ADDR", "")
    hops = settings.ARBITER_TRUSTED_PROXY_HOPS
    if hops:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            address = forwarded[-hops]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]  # not an address (a test client, a proxy's odd header): counted as given
    if parsed.version == 6:
        if parsed.ipv4_mapped:  # ::ffff:10.0.0.1, a dual-stack socket's IPv4 client
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def username_subject(username):
    """One counter for the spellings of one username (Django compares them exactly, but a guesser
    could otherwise get a fresh count per case variant)."""
    return unicodedata.normalize("NFKC", username or "").strip().casefold()


def _cache():
    return caches["throttle"]


def _key(scope, subject):
    # Hashed: a subject is whatever a client sent, of any length and any characters.
    return f"arbiter-throttle:{scope}:{hashlib.sha256(subject.encode('utf-8', 'replace')).hexdigest()[:40]}"


def _limit(scope):
    return getattr(settings, _LIMIT_SETTINGS[scope])


def _locked_for(record, now):
    """Seconds the record is still locked, rounded up; 0 if it is not."""
    if not record or record["locked_until"] <= now:
        return 0
    return math.ceil(record["locked_until"] - now)


def locked_seconds(*pairs):
    """The longest lock among (scope, subject) pairs, in whole seconds; 0 when none is locked."""
    records = _cache().get_many([_key(scope, subject) for scope, subject in pairs])
    now = _clock()
    return max((_locked_for(record, now) for record in records.values()), default=0)


def failure_record(*, scope, subject):
    """Count one failure; lock the subject (and audit it) when this one reaches the limit."""
    limit = _limit(scope)
    if not limit:
        return False
    window = settings.ARBITER_LOGIN_WINDOW_SECONDS
    now = _clock()
    key = _key(scope, subject)
    record = _cache().get(key)
    if record is None or now - record["since"] >= window:
        record = {"since": now, "count": 0, "locked_until": 0.0}
    record["count"] += 1
    locks = record["count"] >= limit and record["locked_until"] <= now
    if locks:
        record["locked_until"] = now + window
    # The cache forgets it a little after the window; whether it still counts is decided on _clock.
    _cache().set(key, record, timeout=window + 60)
    if locks:
        audit_record(
            actor=None,
            project=None,
            action="login.lockout",
            detail={"scope": scope, "subject": subject, "failures": record["count"], "seconds": window},
        )
    return locks


def failures_forget(*, scope, subject):
    """A username that logged in starts counting afresh (its address does not: an attacker with
    an account of their own could otherwise clear their address between guesses)."""
    _cache().delete(_key(scope, subject))


def lock_lift(*, actor, scope, subject):
    """Lift a lock now; audited as login.unlock. False if it was not locked."""
    key = _key(scope, subject)
    was_locked = _locked_for(_cache().get(key), _clock()) > 0
    _cache().delete(key)
    if was_locked:
        audit_record(actor=actor, project=None, action="login.unlock", detail={"scope": scope, "subject": subject})
    return was_locked


def locks_current():
    """The locks in force: [{"scope", "subject", "seconds", "since"}], newest first.

    The cache cannot be listed, so the candidates are the lockouts audited within the window, and
    the cache says which of them still hold."""
    window = settings.ARBITER_LOGIN_WINDOW_SECONDS
    entries = AuditEntry.objects.filter(
        action="login.lockout", project=None, created_at__gte=timezone.now() - timedelta(seconds=window)
    )
    locks, seen = [], set()
    for entry in entries.only("detail", "created_at"):
        scope, subject = entry.detail.get("scope"), entry.detail.get("subject", "")
        if scope not in _LIMIT_SETTINGS or (scope, subject) in seen:
            continue
        seen.add((scope, subject))
        seconds = locked_seconds((scope, subject))
        if seconds:
            locks.append({"scope": scope, "subject": subject, "seconds": seconds, "since": entry.created_at})
    return locks
