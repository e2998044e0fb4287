"""Idempotent writes: the same `Idempotency-Key` never writes twice.

The whole request runs in one transaction that first takes a PostgreSQL advisory lock on
(caller, key):

- lock taken, a stored response exists → replay it (`Idempotent-Replayed: true`), or 422
  `idempotency_key_reused` if the body differs;
- lock taken, nothing stored → run the view; a 2xx response is stored in the same
  transaction as the writes it made, so both commit or neither does;
- lock held by another request → 409 `idempotency_request_in_progress` with `Retry-After`.

A crashed request leaves nothing behind (its transaction and lock die with it). Error
responses are not stored: they wrote nothing, so running them again is the same as a
replay, and the client can retry once it has fixed the cause.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable

from django.db import transaction
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from omni.errors import BadRequest, Conflict, DomainError
from omni.models import IdempotencyRecord
from omni.ratelimit import principal_key
from omni.rows import insert_linked, prepared_cursor

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")


class IdempotencyKeyRequired(BadRequest):
    code = "idempotency_key_required"
    message = f"This endpoint writes and needs an {HEADER} header (any unique string)."


class IdempotencyKeyInvalid(BadRequest):
    code = "idempotency_key_invalid"
    message = f"{HEADER} must be 1 to 255 printable ASCII characters without spaces."


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status_code = 422
    message = f"This {HEADER} was already used with a different request."


class IdempotencyRequestInProgress(Conflict):
    code = "idempotency_request_in_progress"
    message = f"A request with this {HEADER} is still running; retry shortly."
    headers = {"Retry-After": "1"}


def fingerprint(method: str, path: str, data) -> str:
    canonical = json.dumps(data, cls=JSONEncoder, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def _lock_id(owner: str, key: str) -> int:
    digest = hashlib.sha256(f"{owner}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _claim(owner: str, key: str) -> tuple[bool, tuple | None]:
    """Take the key's lock and read its first response, in one round trip: (False, None)
    when another request holds the lock, else (True, (fingerprint, method, path, status,
    body) of the first response or None). The read follows the lock with a snapshot of
    its own (migration omni 0006)."""
    with prepared_cursor() as cursor:
        cursor.execute(
            "SELECT * FROM omni_idempotency_claim(%s, %s, %s)", [_lock_id(owner, key), owner, key]
        )
        locked, *stored = cursor.fetchone()
    if not locked or stored[0] is None:
        return locked, None
    body = stored[4]
    return True, (*stored[:4], json.loads(body) if isinstance(body, str) else body)


def _to_json(data):
    return json.loads(json.dumps(data, cls=JSONEncoder))


def idempotent(required: bool = False) -> Callable:
    """Decorate a DRF view method (post/put/patch/delete or a viewset action)."""

    def decorate(method: Callable) -> Callable:
        @functools.wraps(method)
        def wrapper(view, request, *args, **kwargs):
            key = request.headers.get(HEADER)
            if key is None:
                if required:
                    raise IdempotencyKeyRequired()
                return method(view, request, *args, **kwargs)
            if not _KEY_PATTERN.match(key):
                raise IdempotencyKeyInvalid()
            owner = principal_key(request.user) or "anonymous"
            print_ = fingerprint(request.method, request.path, request.data)
            with transaction.atomic():
                locked, stored = _claim(owner, key)
                if not locked:
                    raise IdempotencyRequestInProgress(retry_after=1)
                if stored is not None:
                    first_print, first_method, first_path, status, body = stored
                    if first_print != print_:
                        raise IdempotencyKeyReused(
                            first_request={"method": first_method, "path": first_path}
                        )
                    return Response(body, status=status, headers={REPLAYED_HEADER: "true"})
                response = method(view, request, *args, **kwargs)
                if 200 <= response.status_code < 300:
                    record = IdempotencyRecord(
                        owner=owner,
                        key=key,
                        request_fingerprint=print_,
                        method=request.method,
                        path=request.path[:512],
                        response_status=response.status_code,
                        response_body=_to_json(response.data),
                    )
                    insert_linked([(record, {})])
                else:
                    transaction.set_rollback(True)
                return response

        wrapper.idempotency_required = required
        return wrapper

    return decorate
