"""Structured logs: one JSON object per line with the request id, which the response
sends back; a lost database outside the API is a 503 too."""

import io
import json
import logging

from django.db import OperationalError
from django.http import HttpResponse
from django.test import RequestFactory
from pythonjsonlogger.json import JsonFormatter

from omni.logs import RequestIdFilter
from omni.middleware import DatabaseUnavailableMiddleware, RequestIdMiddleware


def json_handler(settings) -> tuple[logging.Handler, io.StringIO]:
    spec = dict(settings.LOGGING["formatters"]["json"])
    spec.pop("()")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(**{"fmt": spec.pop("format"), **spec}))
    handler.addFilter(RequestIdFilter())
    return handler, stream


def logged_request(settings, **headers):
    handler, stream = json_handler(settings)
    logger = logging.getLogger("omni.test-logging")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def view(request):
        logger.info("stock received", extra={"sku": "SNK-42"})
        return HttpResponse("ok")

    try:
        response = RequestIdMiddleware(view)(RequestFactory().get("/", **headers))
    finally:
        logger.removeHandler(handler)
    return response, [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_log_line_is_json_with_the_request_id_the_response_carries(settings):
    response, [line] = logged_request(settings)
    assert line["message"] == "stock received"
    assert line["level"] == "INFO"
    assert line["sku"] == "SNK-42"
    assert line["request_id"] == response["X-Request-ID"]
    assert len(response["X-Request-ID"]) == 32


def test_a_proxy_request_id_is_kept_and_a_malformed_one_replaced(settings):
    response, [line] = logged_request(settings, HTTP_X_REQUEST_ID="lb-2f9c1a7e")
    assert response["X-Request-ID"] == line["request_id"] == "lb-2f9c1a7e"
    response, [line] = logged_request(settings, HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert response["X-Request-ID"] == line["request_id"] != "bad id\nwith newline"


def test_outside_a_request_the_id_is_a_dash(settings):
    handler, stream = json_handler(settings)
    record = logging.LogRecord("omni", logging.INFO, __file__, 1, "beat", None, None)
    handler.handle(record)
    assert json.loads(stream.getvalue())["request_id"] == "-"


def test_a_lost_database_on_a_page_is_a_plain_503_and_on_json_the_error_shape():
    middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
    page = middleware.process_exception(
        RequestFactory().get("/admin/"), OperationalError("server closed the connection")
    )
    assert page.status_code == 503
    assert page["Retry-After"] == "5"
    assert b"database" in page.content
    api = middleware.process_exception(
        RequestFactory().get("/api/v1/me/"), OperationalError("connection refused")
    )
    assert api.status_code == 503
    assert json.loads(api.content)["error"]["code"] == "service_unavailable"
    assert middleware.process_exception(RequestFactory().get("/"), ValueError()) is None
