"""Calls per user per minute, for endpoints where each call costs real CPU (the instructions preview).

A fixed window counted in Django's default cache: `add` then `incr`, which Redis does atomically,
so every web worker shares one count. Without Redis the default cache is per process, and each
worker counts on its own.
"""

import math
import time

from django.core.cache import cache

_clock = time.time  # a name tests can replace
WINDOW_SECONDS = 60


def rate_limited_for(*, scope, subject, per_minute) -> int:
    """Count one call by `subject` (a user's pk) to `scope`. Returns 0 while it is within
    `per_minute` calls this minute, else the seconds until the next minute (Retry-After).
    per_minute 0: no limit."""
    if not per_minute:
        return 0
    now = _clock()
    window_start = math.floor(now / WINDOW_SECONDS) * WINDOW_SECONDS
    key = f"arbiter-rate:{scope}:{subject}:{window_start}"
    cache.add(key, 0, timeout=WINDOW_SECONDS + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr: this call opens a new count
        cache.set(key, count := 1, timeout=WINDOW_SECONDS + 1)
    if count <= per_minute:
        return 0
    return max(1, math.ceil(window_start + WINDOW_SECONDS - now))
