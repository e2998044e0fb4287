"""Outgoing webhooks: emitting events into the outbox and delivering them.

Rules kept:
- `emit` writes the event and one delivery per subscribed, active endpoint in the caller's
  transaction: the event exists if and only if the change it reports committed.
- Delivery is at least once. A delivery is due at `next_attempt_at` (PostgreSQL, never a
  broker countdown); a sender claims due rows with `FOR UPDATE SKIP LOCKED` and pushes
  their due time a lease ahead, so two senders never take the same row and a sender that
  dies mid-request leaves its rows to come due again. Every retry carries the same event ID.
- A failed attempt (no 2xx answer, a timeout, a refused connection) is retried with
  exponential backoff and jitter until the retry window (24 hours by default) since the
  first attempt is over; the next failure makes the delivery dead. Staff can resend it.
"""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from omni.errors import BadRequest, Conflict
from omni.webhooks import signing
from omni.webhooks.models import (
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    new_signing_secret,
)

logger = logging.getLogger(__name__)
State = WebhookDelivery.State

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=6)
EXCERPT_CHARS = 500


class UnknownEventType(BadRequest):
    code = "unknown_event_type"
    message = "Unknown webhook event type."


class InvalidWebhookUrl(BadRequest):
    code = "invalid_webhook_url"
    message = "The webhook URL must be an absolute https URL."


class DeliveryStillPending(Conflict):
    code = "delivery_still_pending"
    message = "This delivery is still being tried; it can be resent once it succeeded or died."


# --- endpoints -------------------------------------------------------------------------


def _clean_event_types(event_types: Iterable[str]) -> list[str]:
    chosen = sorted(set(event_types))
    unknown = [kind for kind in chosen if kind not in EventType.values]
    if unknown or not chosen:
        raise UnknownEventType(
            "Give one or more known event types.", unknown=unknown, known=sorted(EventType.values)
        )
    return chosen


def _clean_url(url: str) -> str:
    parts = urlsplit(url or "")
    allowed = {"https", "http"} if settings.OMNI_WEBHOOK_ALLOW_HTTP else {"https"}
    if parts.scheme not in allowed or not parts.hostname:
        raise InvalidWebhookUrl(url=url, allowed_schemes=sorted(allowed))
    return url


def create_endpoint(
    *, name: str, url: str, event_types: Iterable[str], is_active: bool = True, created_by=None
) -> WebhookEndpoint:
    """A new endpoint with a fresh signing secret (the caller shows it once)."""
    return WebhookEndpoint.objects.create(
        name=name,
        url=_clean_url(url),
        event_types=_clean_event_types(event_types),
        is_active=is_active,
        created_by=created_by if getattr(created_by, "pk", None) else None,
    )


def update_endpoint(*, endpoint: WebhookEndpoint, **changes) -> WebhookEndpoint:
    if "url" in changes:
        changes["url"] = _clean_url(changes["url"])
    if "event_types" in changes:
        changes["event_types"] = _clean_event_types(changes["event_types"])
    fields = {
        key: value
        for key, value in changes.items()
        if key in {"name", "url", "event_types", "is_active"}
    }
    for key, value in fields.items():
        setattr(endpoint, key, value)
    endpoint.save(update_fields=[*fields, "updated_at"])
    return endpoint


def rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new signing secret from the next request on; the old one stops working."""
    endpoint.secret = new_signing_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    return endpoint


# --- emitting --------------------------------------------------------------------------


def _json_safe(data: dict) -> dict:
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def emit(event_type: str, data: dict | Callable[[], dict]) -> WebhookEvent | None:
    """Record `event_type` for every active endpoint that subscribes to it; call inside the
    transaction of the change. Nothing is written when nobody listens, and `data` may be a
    function, called only then, so a busy path pays one indexed read."""
    if event_type not in EventType.values:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    endpoint_ids = list(
        WebhookEndpoint.objects.filter(
            is_active=True, event_types__contains=[event_type]
        ).values_list("pk", flat=True)
    )
    if not endpoint_ids:
        return None
    now = timezone.now()
    payload = _json_safe(data() if callable(data) else data)
    event = WebhookEvent.objects.create(type=event_type, payload=payload, occurred_at=now)
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(event=event, endpoint_id=endpoint_id, next_attempt_at=now)
        for endpoint_id in endpoint_ids
    )
    transaction.on_commit(partial(kick, delivery_ids=[delivery.pk for delivery in deliveries]))
    return event


def kick(*, delivery_ids: list[int]) -> None:
    """Ask a worker to send these deliveries now. If the broker is down the periodic sweep
    sends them anyway, so a failure here only logs."""
    from omni.webhooks.tasks import send_webhooks

    try:
        send_webhooks.delay(delivery_ids=delivery_ids)
    except Exception:  # noqa: BLE001 - the sweep is the safety net
        logger.warning(
            "could not queue webhook deliveries %s; the sweep will send them", delivery_ids
        )


# --- delivering ------------------------------------------------------------------------


def body_of(event: WebhookEvent) -> bytes:
    """The exact bytes sent (and signed) on every attempt of every delivery of `event`."""
    envelope = {
        "id": str(event.event_id),
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "data": event.payload,
    }
    return json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()


def backoff_delay(attempt: int, *, rng: random.Random | None = None) -> timedelta:
    """The wait after failed attempt number `attempt` (1, 2, ...): 30 s doubling up to 6 h,
    with "equal jitter" (between half and all of it) so failing endpoints do not get every
    retry at the same moment."""
    nominal = min(BACKOFF_BASE * (2 ** max(attempt - 1, 0)), BACKOFF_CAP)
    rng = rng or random.SystemRandom()
    return nominal / 2 + nominal / 2 * rng.random()


def retry_window() -> timedelta:
    return timedelta(hours=settings.OMNI_WEBHOOK_RETRY_HOURS)


def lease() -> timedelta:
    """How long a claimed delivery is held: a whole batch at the timeout, and a margin."""
    if settings.OMNI_WEBHOOK_LEASE_SECONDS:
        return timedelta(seconds=settings.OMNI_WEBHOOK_LEASE_SECONDS)
    timeout = settings.OMNI_WEBHOOK_TIMEOUT_SECONDS
    return timedelta(seconds=settings.OMNI_WEBHOOK_BATCH_SIZE * timeout + 60)


def claim_due(
    *, now: datetime, limit: int, delivery_ids: Iterable[int] | None = None
) -> list[WebhookDelivery]:
    with transaction.atomic():
        due = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(state=State.PENDING, next_attempt_at__lte=now, endpoint__is_active=True)
            .order_by("next_attempt_at", "pk")
        )
        if delivery_ids is not None:
            due = due.filter(pk__in=list(delivery_ids))
        ids = list(due.values_list("pk", flat=True)[:limit])
        if ids:
            WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=now + lease())
    return list(
        WebhookDelivery.objects.filter(pk__in=ids)
        .select_related("event", "endpoint")
        .order_by("pk")
    )


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    excerpt: str
    error: str
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a detour: the endpoint's URL is the one it gave us."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(*, url: str, body: bytes, headers: dict, timeout: float) -> Outcome:
    started = time.monotonic()
    status_code, excerpt, error = None, "", ""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - checked scheme
    try:
        with _opener.open(request, timeout=timeout) as response:
            status_code = response.status
            excerpt = response.read(EXCERPT_CHARS * 4).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        status_code = exc.code
        excerpt = (exc.read(EXCERPT_CHARS * 4) or b"").decode("utf-8", "replace")
    except TimeoutError:
        error = f"timed out after {timeout:g} s"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        error = f"{type(reason).__name__}: {reason}"
    duration_ms = int((time.monotonic() - started) * 1000)
    return Outcome(status_code, excerpt[:EXCERPT_CHARS], error[:300], duration_ms)


def attempt(*, delivery: WebhookDelivery, now: datetime | None = None) -> WebhookAttempt:
    """Make one request for a claimed delivery and record what happened."""
    now = now or timezone.now()
    event, endpoint = delivery.event, delivery.endpoint
    body = body_of(event)
    headers = signing.signed_headers(
        secret=endpoint.secret,
        body=body,
        event_id=str(event.event_id),
        event_type=event.type,
        now=now.timestamp(),
    )
    number = delivery.attempts + 1
    headers[signing.ATTEMPT_HEADER] = str(number)
    outcome = post(
        url=endpoint.url, body=body, headers=headers, timeout=settings.OMNI_WEBHOOK_TIMEOUT_SECONDS
    )
    return record_attempt(delivery=delivery, number=number, outcome=outcome, now=now)


def record_attempt(
    *, delivery: WebhookDelivery, number: int, outcome: Outcome, now: datetime
) -> WebhookAttempt:
    first = delivery.first_attempted_at or now
    common = {
        "attempts": F("attempts") + 1,
        "first_attempted_at": first,
        "last_attempted_at": now,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
    }
    if outcome.succeeded:
        changes = {"state": State.SUCCEEDED, "delivered_at": now, "next_attempt_at": None}
    elif now - first >= retry_window():
        changes = {"state": State.DEAD, "next_attempt_at": None}
    else:
        changes = {"state": State.PENDING, "next_attempt_at": now + backoff_delay(number)}
    with transaction.atomic():
        log = WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=now,
            duration_ms=outcome.duration_ms,
            status_code=outcome.status_code,
            response_excerpt=outcome.excerpt,
            error=outcome.error,
            succeeded=outcome.succeeded,
        )
        # A delivery resent or finished meanwhile by another sender keeps its own state.
        WebhookDelivery.objects.filter(pk=delivery.pk, state=State.PENDING).update(
            **common, **changes
        )
    if not outcome.succeeded:
        logger.info(
            "webhook delivery %s attempt %s failed: %s",
            delivery.pk,
            number,
            outcome.error or outcome.status_code,
        )
    return log


def send_due(
    *, now: datetime | None = None, delivery_ids: Iterable[int] | None = None, max_batches: int = 20
) -> int:
    """Send what is due, a batch at a time; return how many attempts were made."""
    made = 0
    for _ in range(max_batches):
        claimed = claim_due(
            now=now or timezone.now(),
            limit=settings.OMNI_WEBHOOK_BATCH_SIZE,
            delivery_ids=delivery_ids,
        )
        for delivery in claimed:
            attempt(delivery=delivery, now=now)
            made += 1
        if len(claimed) < settings.OMNI_WEBHOOK_BATCH_SIZE:
            break
    return made


def resend(*, delivery: WebhookDelivery, now: datetime | None = None) -> WebhookDelivery:
    """Try a succeeded or dead delivery again, same event ID, with a new retry window."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = WebhookDelivery.objects.filter(
            pk=delivery.pk, state__in=[State.SUCCEEDED, State.DEAD]
        ).update(state=State.PENDING, next_attempt_at=now, first_attempted_at=None)
        if not updated:
            raise DeliveryStillPending(delivery=delivery.pk)
        transaction.on_commit(partial(kick, delivery_ids=[delivery.pk]))
    delivery.refresh_from_db()
    return delivery
