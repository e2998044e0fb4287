"""Who is calling, what they may do, and which locations they may see.

Two kinds of caller reach the API: staff with a session (their role is a Django group) and
integrations with a bearer token (their scopes are on the token). Both are reduced to the
same two questions, asked by views and selectors alike:

- `has_scope(user, "stock:write")`: may this caller do this kind of thing at all?
- `visible_location_ids(user)`: `None` for every location, else the set it is scoped to.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from omni import audit
from omni.models import TOKEN_PREFIX, ApiToken, Role, Scope

ALL_SCOPES = frozenset(Scope.values)
_READS = frozenset(scope for scope in ALL_SCOPES if scope.endswith(":read"))

# What each staff role may do through the API and the admin.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    Role.STORE_ASSOCIATE: frozenset(
        {
            Scope.CUSTOMERS_READ,
            Scope.CUSTOMERS_WRITE,
            Scope.STOCK_READ,
            Scope.CATALOG_READ,
            Scope.ORDERS_READ,
            Scope.ORDERS_WRITE,
            Scope.SALES_WRITE,
            Scope.RETURNS_WRITE,
        }
    ),
    Role.STORE_MANAGER: frozenset(
        {
            Scope.CUSTOMERS_READ,
            Scope.CUSTOMERS_WRITE,
            Scope.STOCK_READ,
            Scope.STOCK_WRITE,
            Scope.CATALOG_READ,
            Scope.ORDERS_READ,
            Scope.ORDERS_WRITE,
            Scope.SALES_WRITE,
            Scope.RETURNS_WRITE,
            Scope.CAMPAIGNS_READ,
        }
    ),
    Role.INVENTORY_PLANNER: _READS | {Scope.STOCK_WRITE, Scope.CATALOG_WRITE},
    Role.MARKETER: _READS | {Scope.CAMPAIGNS_WRITE, Scope.CUSTOMERS_WRITE},
    Role.ADMINISTRATOR: ALL_SCOPES,
}

# Roles that work in their own stores only; every other role sees all locations.
STORE_BOUND_ROLES = frozenset({Role.STORE_ASSOCIATE, Role.STORE_MANAGER})

LAST_USED_RESOLUTION = timedelta(minutes=1)

# A live token (with its locations) is kept in the shared cache between requests, so a
# call costs no query to authenticate. Every change to a token through the ORM forgets
# it at once (below), and `revoke_api_token` does too; the timeout bounds what a raw SQL
# change, or a request that read the row just before a revocation committed, leaves behind.
TOKEN_CACHE_SECONDS = 60
# Each process also keeps the tokens it used in the last second: a register's run of
# calls then costs no round trip to the shared cache (nor unpickling the token) either. A
# change made in this process forgets its copy at once; one made in another process
# reaches this one within the second.
TOKEN_MEMO_SECONDS = 1.0
_memo: dict[str, tuple[float, ApiToken]] = {}
clock = time.monotonic  # what the memo's second is counted by (tests pin it)


def _token_cache_key(key_id: str) -> str:
    return f"apitoken:{key_id}"


def live_token(key_id: str) -> ApiToken | None:
    """The unrevoked token with this key id, its locations loaded; from this process's
    memo or the shared cache when it can be."""
    now = clock()
    memo = _memo.get(key_id)
    if memo is not None and memo[0] > now:
        return memo[1]
    token = cache.get(_token_cache_key(key_id))
    if token is not None:
        _memorise(token, now)
        return token
    token = (
        ApiToken.objects.filter(key_id=key_id, revoked_at__isnull=True)
        .prefetch_related("locations")
        .first()
    )
    if token is not None:
        _remember_token(token)
    return token


def _memorise(token: ApiToken, now: float) -> None:
    if len(_memo) > 10_000:  # only live tokens get in, but keep the dict bounded
        _memo.clear()
    _memo[token.key_id] = (now + TOKEN_MEMO_SECONDS, token)


def _remember_token(token: ApiToken) -> None:
    cache.set(_token_cache_key(token.key_id), token, TOKEN_CACHE_SECONDS)
    _memorise(token, clock())


def forget_token(token: ApiToken) -> None:
    """Drop the cached copies now and again when the change commits, so no request can
    re-cache the old row in between."""
    key_id, key = token.key_id, _token_cache_key(token.key_id)

    def forget() -> None:
        _memo.pop(key_id, None)
        cache.delete(key)

    forget()
    transaction.on_commit(forget)


@receiver(post_save, sender=ApiToken)
@receiver(post_delete, sender=ApiToken)
def _token_changed(sender, instance: ApiToken, **kwargs) -> None:
    forget_token(instance)


@receiver(m2m_changed, sender=ApiToken.locations.through)
def _token_locations_changed(sender, instance, action: str, reverse: bool, pk_set, **kwargs):
    if not reverse:
        forget_token(instance)
    elif action == "pre_clear":  # a location loses all its tokens: forget them first
        for token in instance.api_tokens.all():
            forget_token(token)
    else:  # a location's tokens changed: forget each of them
        for token in ApiToken.objects.filter(pk__in=pk_set or ()):
            forget_token(token)


class TokenUser:
    """The request.user of a call made with an API token."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, token: ApiToken) -> None:
        self.token = token
        self.username = f"token:{token.name}"

    def __str__(self) -> str:
        return self.username

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def has_perms(self, perms, obj=None) -> bool:
        return False

    def has_module_perms(self, app_label) -> bool:
        return False


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer omni_<key_id>_<secret>`; the secret is stored hashed."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2 or not parts[1].startswith(TOKEN_PREFIX):
            self._count_failure(request)
            raise exceptions.AuthenticationFailed("Malformed bearer token.")
        key_id, _, secret = parts[1][len(TOKEN_PREFIX) :].partition("_")
        token = live_token(key_id)
        # Compare even when no token matched, so timing does not tell which key ids exist.
        candidate = token or ApiToken(secret_hash="0" * 64)
        if not candidate.secret_matches(secret) or token is None:
            self._count_failure(request)
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            live = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True)
            if not live.update(last_used_at=now):  # revoked since it was cached
                forget_token(token)
                raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
            token.last_used_at = now
            _remember_token(token)
        audit.bind_token(request, token)
        return TokenUser(token), token

    def authenticate_header(self, request) -> str:
        return self.keyword

    @staticmethod
    def _count_failure(request) -> None:
        """Guessing tokens from one address is throttled (429) past
        `OMNI_AUTH_FAILURE_RATE_LIMIT` failures a minute; valid tokens are unaffected."""
        from django.conf import settings

        from omni.ratelimit import hit

        limit = getattr(settings, "OMNI_AUTH_FAILURE_RATE_LIMIT", 30)
        wait = hit(f"auth-fail-ip:{audit.client_ip(request)}", limit)
        if wait is not None:
            raise exceptions.Throttled(wait=wait)


@dataclass(frozen=True)
class Actor:
    """Who made a change, for ledgers and audit rows: a staff user, an API token, or the
    system (both None)."""

    user: object | None = None
    token: object | None = None

    @classmethod
    def of(cls, user) -> Actor:
        if isinstance(user, TokenUser):
            return cls(token=user.token)
        if user is not None and getattr(user, "is_authenticated", False):
            return cls(user=user)
        return cls()


SYSTEM = Actor()


def roles_of(user) -> set[str]:
    if isinstance(user, TokenUser) or not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_omni_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            cached.add(Role.ADMINISTRATOR)
        user._omni_roles = cached
    return cached


def scopes_of(user) -> frozenset[str]:
    if isinstance(user, TokenUser):
        return frozenset(user.token.scopes)
    if not getattr(user, "is_authenticated", False) or not user.is_staff:
        return frozenset()
    granted: set[str] = set()
    for role in roles_of(user):
        granted |= ROLE_SCOPES.get(role, frozenset())
    return frozenset(granted)


def has_scope(user, scope: str) -> bool:
    return scope in scopes_of(user)


def visible_location_ids(user) -> set[int] | None:
    """`None` means every location; otherwise the ids this caller is scoped to."""
    if isinstance(user, TokenUser):
        ids = {location.pk for location in user.token.locations.all()}
        return ids or None
    roles = roles_of(user)
    if not roles or roles & STORE_BOUND_ROLES == roles:
        # Store staff (and staff with no role at all) see only their own stores.
        access = getattr(user, "staff_access", None) if user.is_authenticated else None
        if access is None:
            return set()
        return set(access.locations.values_list("pk", flat=True))
    return None


def scope_to_locations(queryset: QuerySet, user, field: str = "location") -> QuerySet:
    """Filter a queryset to the caller's locations; objects elsewhere simply do not exist."""
    ids = visible_location_ids(user)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{field}__in": ids})


def can_use_location(user, location_id: int) -> bool:
    ids = visible_location_ids(user)
    return ids is None or location_id in ids


class HasScope(permissions.BasePermission):
    """Views declare `scope = "stock"` (reads need `stock:read`, writes `stock:write`) or
    `required_scopes = {"POST": "sales:write", ...}` per method. A view that declares
    neither is open to any authenticated caller."""

    message = "Your credentials lack the scope this endpoint needs."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        needed = required_scope(view, request.method)
        return needed is None or has_scope(request.user, needed)


def required_scope(view, method: str) -> str | None:
    per_method = getattr(view, "required_scopes", None)
    if per_method and method in per_method:
        return per_method[method]
    area = getattr(view, "scope", None)
    if area is None:
        return None
    return f"{area}:read" if method in permissions.SAFE_METHODS else f"{area}:write"
