"""One error shape for the whole API.

Every failure, from a validation error to an unhandled exception, is rendered as
`{"error": {"code": "...", "message": "...", "details": {...}}}` with its HTTP status.
Services raise `DomainError` subclasses; they carry their own code and status.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, DataError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule refused the request. Subclasses set `code` and `status_code`."""

    code = "domain_error"
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    message = "The request breaks a business rule."
    headers: dict[str, str] = {}

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.message
        self.details = details
        super().__init__(self.message)


class Conflict(DomainError):
    code = "conflict"
    status_code = status.HTTP_409_CONFLICT
    message = "The request conflicts with the current state."


class RuleBroken(DomainError):
    code = "rule_broken"
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY


class BadRequest(DomainError):
    code = "bad_request"
    status_code = status.HTTP_400_BAD_REQUEST
    message = "The request is not valid."


class NotFound(DomainError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND
    message = "Not found."


class PreconditionFailed(DomainError):
    code = "precondition_failed"
    status_code = status.HTTP_412_PRECONDITION_FAILED
    message = "The resource changed since you read it."


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = "A backing service is unavailable; try again shortly."


# DRF's own codes, renamed where the API speaks more plainly.
_DRF_CODES = {
    "invalid": "invalid_input",
    "parse_error": "malformed_request",
    "authentication_failed": "authentication_failed",
    "not_authenticated": "not_authenticated",
    "permission_denied": "permission_denied",
    "not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "not_acceptable": "not_acceptable",
    "unsupported_media_type": "unsupported_media_type",
    "throttled": "rate_limited",
}


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _flatten(detail: Any) -> Any:
    """ErrorDetail trees to plain lists and dicts of strings."""
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    if detail is None or isinstance(detail, bool | int | float):
        return detail
    return str(detail)


def _validation_message(detail: Any) -> str:
    if isinstance(detail, dict):
        fields = ", ".join(str(key) for key in detail)
        return f"Invalid input: check {fields}."
    if isinstance(detail, list) and detail:
        return str(detail[0])
    return "Invalid input."


def api_exception_handler(exc: Exception, context: dict) -> Response:
    """DRF exception handler: everything becomes the one error shape."""
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(
            error_body(exc.code, exc.message, _flatten(exc.details)),
            status=exc.status_code,
            headers=exc.headers,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, ValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, DataError):
        # A value the database cannot hold or compare (a date beyond its range, a time zone
        # offset past 16 hours, a number too large): the request's input was bad.
        logger.info("value refused by the database: %s", exc)
        exc = exceptions.ValidationError(
            {"non_field_errors": ["A value is out of the range this API accepts."]}
        )
    elif isinstance(exc, OperationalError | InterfaceError):
        logger.warning("database unavailable: %s", exc)
        exc = ServiceUnavailable()
        headers["Retry-After"] = "5"

    if isinstance(exc, exceptions.APIException):
        set_rollback()
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
        if isinstance(exc, exceptions.ValidationError):
            details = _flatten(exc.detail)
            if not isinstance(details, dict):
                details = {"non_field_errors": details}
            body = error_body("invalid_input", _validation_message(exc.detail), details)
        else:
            codes = exc.get_codes()
            code = codes if isinstance(codes, str) else exc.default_code
            body = error_body(_DRF_CODES.get(code, code), str(exc.detail))
        return Response(body, status=exc.status_code, headers=headers)

    # Anything else is a bug: log it with its trace, tell the client nothing more.
    set_rollback()
    if isinstance(exc, DatabaseError):
        logger.exception("database error in %s", context.get("view"))
    else:
        logger.exception("unhandled error in %s", context.get("view"))
    return Response(
        error_body("internal_error", "Something went wrong on our side; it has been logged."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def _wants_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def json_error_view(status_code: int, code: str, message: str):
    def view(request, exception=None):
        if _wants_json(request):
            return JsonResponse(error_body(code, message), status=status_code)
        from django.views import defaults

        html = {
            400: defaults.bad_request,
            403: defaults.permission_denied,
            404: defaults.page_not_found,
        }
        if status_code in html:
            return html[status_code](request, exception)
        return defaults.server_error(request)

    return view


handler400 = json_error_view(400, "bad_request", "The request is not valid.")
handler403 = json_error_view(403, "permission_denied", "You may not do this.")
handler404 = json_error_view(404, "not_found", "Not found.")
handler500 = json_error_view(
    500, "internal_error", "Something went wrong on our side; it has been logged."
)
