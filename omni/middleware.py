"""Request-wide concerns: a request id on every log line and response, and a database
that went away answered with a clean 503 in the one error shape."""

from __future__ import annotations

import logging
import re
import uuid

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

from omni.errors import _wants_json, error_body
from omni.logs import request_id

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestIdMiddleware:
    """Takes a well-formed `X-Request-ID` from the proxy, or makes one; logs carry it and
    the response sends it back, so a client's report can be found in the logs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        try:
            request.request_id = rid
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = rid
            return response
        finally:
            request_id.reset(token)


def database_unavailable(request) -> HttpResponse:
    body = error_body("service_unavailable", "A backing service is unavailable; try again shortly.")
    if _wants_json(request):
        response = JsonResponse(body, status=503)
    else:
        response = HttpResponse(
            "The back office cannot reach its database; try again shortly.",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    response["Retry-After"] = "5"
    return response


class DatabaseUnavailableMiddleware:
    """Outside the API (whose handler does the same), a lost database connection is a 503,
    not a 500 page: the request wrote nothing and can be sent again."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OperationalError | InterfaceError):
            logger.warning("database unavailable: %s", exception)
            return database_unavailable(request)
        return None
