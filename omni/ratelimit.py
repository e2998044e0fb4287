"""Per-principal rate limits: a fixed one-minute window counted atomically in Redis.

DRF's stock throttles read, modify and write a list in the cache, which lets concurrent
requests slip through; `cache.incr` is one atomic Redis command.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from omni.auth import TokenUser

WINDOW_SECONDS = 60


def principal_key(user) -> str | None:
    if isinstance(user, TokenUser):
        return f"token:{user.token.pk}"
    if getattr(user, "is_authenticated", False):
        return f"user:{user.pk}"
    return None


def principal_limit(user) -> int:
    if isinstance(user, TokenUser) and user.token.rate_limit_per_minute:
        return user.token.rate_limit_per_minute
    return settings.OMNI_DEFAULT_RATE_LIMIT


def hit(bucket: str, limit: int, now: float | None = None) -> float | None:
    """Count one request in `bucket`; return seconds to wait if over the limit, else None."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    key = f"ratelimit:{bucket}:{window}"
    # add() is SET NX: the first request of the window creates the counter with its expiry.
    if cache.add(key, 1, timeout=WINDOW_SECONDS * 2):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.add(key, 1, timeout=WINDOW_SECONDS * 2)
            count = 1
    if count > limit:
        return (window + 1) * WINDOW_SECONDS - now
    return None


class PrincipalRateThrottle(BaseThrottle):
    """Limits each token (and each staff user) to its requests per minute."""

    def allow_request(self, request, view) -> bool:
        bucket = principal_key(request.user)
        if bucket is None:
            bucket = f"ip:{self.get_ident(request)}"
        self._wait = hit(bucket, principal_limit(request.user))
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
