"""Per-principal rate limits: a fixed one-minute window counted atomically in Redis.

DRF's stock throttles read, modify and write a list in the cache, which lets concurrent
requests slip through; `cache.incr` is one atomic Redis command.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render
from django.urls import reverse
from rest_framework.throttling import BaseThrottle

from omni.auth import TokenUser

WINDOW_SECONDS = 60
clock = time.time  # what `hit` counts by when not given a time (tests pin it)


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
    """Count one request in `bucket`; return seconds to wait if over the limit, else None.

    One round trip: INCR and EXPIRE in a pipeline (the counter outlives its window by a
    minute whichever request set the expiry last)."""
    now = clock() if now is None else now
    window = int(now // WINDOW_SECONDS)
    key = cache.make_key(f"ratelimit:{bucket}:{window}")
    pipe = cache.raw_client().pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, WINDOW_SECONDS * 2)
    count, _ = pipe.execute()
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


class LoginRateLimitMiddleware:
    """At most `OMNI_LOGIN_RATE_LIMIT` login attempts per address per minute, whatever the
    usernames tried (django-axes locks one username at one address after a few failures;
    this stops one address from spraying many usernames)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self._login_path = None

    def login_path(self) -> str:
        if self._login_path is None:
            self._login_path = reverse("admin:login")
        return self._login_path

    def __call__(self, request):
        if request.method == "POST" and request.path == self.login_path():
            from omni.audit import client_ip

            wait = hit(f"login-ip:{client_ip(request)}", settings.OMNI_LOGIN_RATE_LIMIT)
            if wait is not None:
                response = render(
                    request,
                    "admin/login_rate_limited.html",
                    {"wait_seconds": max(1, math.ceil(wait))},
                    status=429,
                )
                response["Retry-After"] = str(max(1, math.ceil(wait)))
                return response
        return self.get_response(request)
