"""Optimistic concurrency for shared records: `ETag` on read, `If-Match` on write.

A GET of one record answers with a strong `ETag`, a hash of the representation the GET
returns. A client that sends that tag back in `If-Match` on PUT/PATCH updates the record
only if nobody changed it since: otherwise 412 `precondition_failed` and nothing changes.
Writes without `If-Match` still work (the last writer wins), so existing clients keep
working; `If-None-Match` on GET answers 304 when the client's copy is current.

The check and the write run in one transaction under an advisory lock on the record's URL,
so two conditional writes with the same tag cannot both pass.
"""

from __future__ import annotations

import copy
import hashlib
import json

from django.db import connection, transaction
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from omni.errors import PreconditionFailed
from omni.idempotency import HEADER as IDEMPOTENCY_HEADER
from omni.models import IdempotencyRecord
from omni.ratelimit import principal_key

WRITE_METHODS = frozenset({"PUT", "PATCH"})


class StaleWrite(PreconditionFailed):
    code = "precondition_failed"
    message = "The record changed since you read it: GET it again and reapply your change."


def etag_of(data) -> str:
    canonical = json.dumps(data, cls=JSONEncoder, sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:40] + '"'


def _opaque(tag: str) -> str:
    # Compression proxies weaken tags (W/"..."); the opaque part is still ours.
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def tag_matches(header: str, current: str) -> bool:
    tags = [_opaque(part) for part in header.split(",") if part.strip()]
    return "*" in tags or current in tags


def _lock_url(path: str) -> None:
    digest = hashlib.sha256(f"etag\x00{path}".encode()).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)]
        )


ETAG_RESPONSE_HEADER = OpenApiParameter(
    "ETag",
    location=OpenApiParameter.HEADER,
    response=[200],
    type=str,
    description="Version of this record; send it back in `If-Match` to update it safely.",
)
IF_MATCH_HEADER = OpenApiParameter(
    "If-Match",
    location=OpenApiParameter.HEADER,
    required=False,
    type=str,
    description="The `ETag` you read. If the record changed since, the write is refused "
    "with 412 `precondition_failed` and nothing changes.",
)
IF_NONE_MATCH_HEADER = OpenApiParameter(
    "If-None-Match",
    location=OpenApiParameter.HEADER,
    required=False,
    type=str,
    description="The `ETag` you hold; 304 with no body if the record is unchanged.",
)


class ConditionalUpdateMixin:
    """For views of one shared record that clients may change with PUT/PATCH.

    `etag_actions` names the viewset actions whose GET is the record's representation
    (default `retrieve`); plain API views use their `get`. A write handler's own GET twin
    is found through `etag_read_action` (for a viewset action serving both GET and PUT,
    the same action).
    """

    etag_actions: tuple[str, ...] = ("retrieve",)
    etag_read_action: dict[str, str] = {"partial_update": "retrieve", "update": "retrieve"}

    def _is_record_read(self, request) -> bool:
        if request.method not in ("GET", "HEAD"):
            return False
        action = getattr(self, "action", None)
        return action is None or action in self.etag_actions

    def _writes_record(self, request) -> bool:
        if request.method not in WRITE_METHODS:
            return False
        action = getattr(self, "action", None)
        return action is None or action in self.etag_read_action or action in self.etag_actions

    def current_etag(self, request, *args, **kwargs) -> str:
        """The tag a GET of this URL would send now (runs the GET handler)."""
        reading = copy.copy(request)
        reading._request = copy.copy(request._request)
        reading._request.method = "GET"
        saved_action, saved_request = getattr(self, "action", None), self.request
        try:
            self.request = reading
            if saved_action is not None:
                self.action = self.etag_read_action.get(saved_action, saved_action)
                handler = getattr(self, self.action)
            else:
                handler = self.get
            response = handler(reading, *args, **kwargs)
        finally:
            self.request = saved_request
            if saved_action is not None:
                self.action = saved_action
        return etag_of(response.data)

    def _replaying(self, request) -> bool:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if not key:
            return False
        owner = principal_key(request.user) or "anonymous"
        return IdempotencyRecord.objects.filter(owner=owner, key=key).exists()

    def dispatch(self, request, *args, **kwargs):
        if request.method in WRITE_METHODS:
            with transaction.atomic():
                _lock_url(request.path)
                return super().dispatch(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        expected = request.headers.get("If-Match")
        if expected is None or not self._writes_record(request) or self._replaying(request):
            return
        current = self.current_etag(request, *args, **kwargs)
        if not tag_matches(expected, current):
            raise StaleWrite(current_etag=current)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code != status.HTTP_200_OK or not isinstance(response, Response):
            return response
        if self._is_record_read(request):
            tag = etag_of(response.data)
            response["ETag"] = tag
            wanted = request.headers.get("If-None-Match")
            if wanted and tag_matches(wanted, tag):
                not_modified = Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": tag})
                return super().finalize_response(request, not_modified, *args, **kwargs)
        elif self._writes_record(request):
            response["ETag"] = self.current_etag(request, *args, **kwargs)
        return response
