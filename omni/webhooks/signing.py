"""How a webhook request is signed, and how a receiver checks it.

The signature is HMAC-SHA256, keyed with the endpoint's secret, over
`<timestamp>.<raw body>`, where the timestamp is the `Omni-Webhook-Timestamp` header (Unix
seconds, set when the request is sent). A receiver recomputes it over the raw bytes it
got, compares in constant time, and refuses a timestamp outside its tolerance window, so
a captured request cannot be replayed later. `Omni-Webhook-Id` is the event ID: the same on
every retry, so a receiver drops the ones it already processed.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Omni-Webhook-Signature"
TIMESTAMP_HEADER = "Omni-Webhook-Timestamp"
EVENT_ID_HEADER = "Omni-Webhook-Id"
EVENT_TYPE_HEADER = "Omni-Webhook-Event"
ATTEMPT_HEADER = "Omni-Webhook-Attempt"
DEFAULT_TOLERANCE_SECONDS = 300


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """`v1=<hex digest>`; the version prefix leaves room for another scheme later."""
    message = str(int(timestamp)).encode() + b"." + body
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(*, secret: str, body: bytes, event_id: str, event_type: str, now=None) -> dict:
    timestamp = int(now if now is not None else time.time())
    return {
        "Content-Type": "application/json",
        "User-Agent": "Omni-Webhooks/1",
        EVENT_ID_HEADER: event_id,
        EVENT_TYPE_HEADER: event_type,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret=secret, timestamp=timestamp, body=body),
    }


def verify(
    *,
    secret: str,
    body: bytes,
    timestamp: str,
    signature_header: str,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """What a receiver does: True only for a fresh request signed with `secret`."""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = now if now is not None else time.time()
    if abs(current - sent_at) > tolerance:
        return False
    expected = signature(secret=secret, timestamp=sent_at, body=body)
    # A header may carry several signatures (during a secret rotation): any one will do.
    candidates = [part.strip() for part in (signature_header or "").split(",")]
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
