"""The audit log: who changed what, when and from where.

Services call `audit.record(...)` once per change, with the before and after of the fields
they changed. Who and from where come from the request context: `AuditContextMiddleware`
opens it for every request (IP, user agent, request id, and the session user), and
`omni.auth.ApiTokenAuthentication` binds the token when a call carries one. A service may
also pass `actor=` explicitly (tasks, management commands, tests).

Changes made by the system alone (nightly expiries, workers) are not audited here: their
trail is in the ledgers and status histories; this log answers "which person or which
integration did this".
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import models

from omni.logs import request_id
from omni.models import AuditEntry, Role

REDACTED = "[personal data]"
AUDIT_READERS = frozenset({Role.ADMINISTRATOR, Role.STORE_MANAGER})
# Records whose str() is personal data are labelled by another field in the trail.
NEUTRAL_LABELS = {"customers.customer": "public_id"}


@dataclass
class RequestContext:
    """What the audit needs to know about the request being served."""

    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""
    request: Any = field(default=None, repr=False)
    token: Any = None

    def principal(self):
        """The staff user or TokenUser of the request, if any (resolved lazily, since the
        session user and the API token are known only after authentication)."""
        if self.request is None:
            return None
        return getattr(self.request, "user", None)


_context: ContextVar[RequestContext | None] = ContextVar("omni_audit_context", default=None)


def client_ip(request) -> str | None:
    """The caller's address: REMOTE_ADDR, or the entry `OMNI_TRUSTED_PROXIES` hops from the
    right of X-Forwarded-For when Omni runs behind that many proxies of its own."""
    hops = getattr(settings, "OMNI_TRUSTED_PROXIES", 0)
    if hops:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR") or None


def request_id_of(request) -> str:
    """The id `omni.middleware.RequestIdMiddleware` gave the request (logs and the
    response carry the same one)."""
    return getattr(request, "request_id", "") or request_id.get()


def open_context(request) -> object:
    """Start the audit context of a request; returns the reset token for `close_context`."""
    context = RequestContext(
        ip_address=client_ip(request),
        user_agent=request.headers.get("User-Agent", "")[:300],
        request_id=request_id_of(request),
        request=request,
    )
    request.audit_context = context
    return _context.set(context)


def close_context(reset_token) -> None:
    _context.reset(reset_token)


def bind_token(request, token) -> None:
    """Called by the token authentication: later records name the token as the actor."""
    context = _context.get()
    if context is None:
        # Outside the middleware (e.g. a view called directly): still know where from.
        context = RequestContext(
            ip_address=client_ip(request),
            user_agent=request.headers.get("User-Agent", "")[:300],
            request_id=request_id_of(request),
        )
        _context.set(context)
    context.token = token


def current_context() -> RequestContext | None:
    return _context.get()


def _actor_parts(actor) -> tuple[str, str, Any, Any] | None:
    """(kind, label, user, token) of an Actor, or None for the system."""
    if actor is None:
        return None
    if actor.token is not None:
        return AuditEntry.ActorKind.TOKEN, f"token:{actor.token.name}", None, actor.token
    if actor.user is not None:
        return AuditEntry.ActorKind.STAFF, actor.user.get_username(), actor.user, None
    return None


def _resolve_actor(explicit) -> tuple[str, str, Any, Any] | None:
    from omni.auth import Actor

    parts = _actor_parts(explicit)
    if parts is not None:
        return parts
    context = _context.get()
    if context is None:
        return None
    if context.token is not None:
        return _actor_parts(Actor(token=context.token))
    return _actor_parts(Actor.of(context.principal()))


def jsonable(value: Any) -> Any:
    """A field value as plain JSON: models by primary key, money and dates as strings."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    if isinstance(value, models.QuerySet):
        return sorted(item.pk for item in value)
    return value


def snapshot(obj, fields) -> dict[str, Any]:
    """The current values of `fields` on `obj`, ready for `before=` or `after=`."""
    return {name: jsonable(getattr(obj, name, None)) for name in fields}


def _label(target) -> str:
    if target is None:
        return ""
    neutral = NEUTRAL_LABELS.get(target._meta.label_lower)
    return str(getattr(target, neutral) if neutral else target)[:200]


def record(
    action: str,
    target=None,
    *,
    actor=None,
    before: dict | None = None,
    after: dict | None = None,
    customer=None,
    sku=None,
    location=None,
    object_type: str = "",
    object_id: object = "",
    redact: tuple[str, ...] | frozenset[str] = (),
) -> AuditEntry | None:
    """Append one audit entry for a change by staff or an API token; returns it, or None
    when the change was the system's own or changed nothing.

    `before`/`after` hold the changed fields only (unchanged keys are dropped). Fields in
    `redact` are recorded as changed without their values, so personal data that an
    erasure removes does not live on in the trail.
    """
    who = _resolve_actor(actor)
    if who is None:
        return None
    before = {key: jsonable(value) for key, value in (before or {}).items()}
    after = {key: jsonable(value) for key, value in (after or {}).items()}
    if before and after:
        changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
        if not changed:
            return None
        before = {key: value for key, value in before.items() if key in changed}
        after = {key: value for key, value in after.items() if key in changed}
    for name in redact:
        for side in (before, after):
            if name in side:
                side[name] = REDACTED
    kind, label, user, token = who
    context = _context.get()
    if target is not None:
        object_type = object_type or target._meta.label_lower
        object_id = object_id or target.pk
    return AuditEntry.objects.create(
        actor_kind=kind,
        actor_label=label[:200],
        user=user,
        token=token,
        ip_address=context.ip_address if context else None,
        user_agent=context.user_agent if context else "",
        request_id=context.request_id if context else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id or "")[:64],
        object_label=_label(target),
        customer_id=getattr(customer, "pk", customer),
        sku_id=getattr(sku, "pk", sku),
        location_id=getattr(location, "pk", location),
        before=before,
        after=after,
    )


class AuditContextMiddleware:
    """Opens the audit context for each request."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        reset_token = open_context(request)
        try:
            response = self.get_response(request)
        finally:
            close_context(reset_token)
        return response


def by(user=None, token=None):
    """The Actor for services that take `user=`/`token=` (the system when both are empty)."""
    from omni.auth import Actor

    return Actor(user=user if getattr(user, "pk", None) else None, token=token)


def may_read_log(user) -> bool:
    """Administrators and store managers open the audit log itself."""
    from omni.auth import roles_of

    return bool(roles_of(user) & AUDIT_READERS)


def trail(*, customer=None, sku=None, limit: int = 10, user=None) -> dict:
    """Context for the `admin/omni/audit_trail.html` block: the newest entries about a
    customer (and the customers merged into it) or a SKU, and a link to the whole log for
    those who may open it."""
    from django.urls import reverse

    entries = AuditEntry.objects.select_related("location")
    query = ""
    if customer is not None:
        ids = [customer.pk, *customer.merged_from.values_list("pk", flat=True)]
        entries = entries.filter(customer_id__in=ids)
        query = f"?customer__id__exact={customer.pk}"
    if sku is not None:
        entries = entries.filter(sku_id=sku.pk)
        query = f"?sku__id__exact={sku.pk}"
    return {
        "audit_entries": list(entries[:limit]),
        "audit_more_url": reverse("admin:omni_auditentry_changelist") + query
        if user is None or may_read_log(user)
        else "",
    }
