import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from campaigns.backends import Outgoing, SendFailed
from campaigns.backends.http import HttpGatewayBackend
from campaigns.rendering import InvalidTemplate, count_sms_segments, render_template
from campaigns.services.rules import quiet_hours_end


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "remaining"),
    [
        ("", "gsm7", 0, 160),
        ("a" * 160, "gsm7", 1, 0),
        ("a" * 161, "gsm7", 2, 145),
        ("a" * 306, "gsm7", 2, 0),
        ("a" * 307, "gsm7", 3, 152),
        ("€" * 80, "gsm7", 1, 0),  # the euro sign takes two septets
        ("€" * 81, "gsm7", 2, 144),
        ("ç" * 70, "ucs2", 1, 0),  # ç is not GSM-7 (only Ç is)
        ("ç" * 71, "ucs2", 2, 63),
        ("a" * 134, "gsm7", 1, 26),
        ("a" * 66 + "😀", "ucs2", 1, 2),  # an emoji is two UTF-16 units
        ("a" * 67 + "😀" * 2, "ucs2", 2, 63),
    ],
)
def test_the_sms_segment_counter_follows_gsm7_and_ucs2_limits(text, encoding, segments, remaining):
    counted = count_sms_segments(text)

    assert (counted["encoding"], counted["segments"], counted["remaining"]) == (
        encoding,
        segments,
        remaining,
    )


@pytest.mark.parametrize(
    "source",
    [
        "{% include 'admin/base.html' %}",
        "{% extends 'admin/base.html' %}",
        "{% load static %}",
        "{% debug %}",
        "{% if %}",
    ],
)
def test_templates_cannot_load_include_extend_or_debug(source):
    with pytest.raises(InvalidTemplate):
        render_template(source, {})


def test_html_templates_escape_what_the_caller_passes_in():
    html = render_template(
        "<p>{{ context.note }}</p>", {"context": {"note": "<b>x</b>"}}, html=True
    )

    assert html == "<p>&lt;b&gt;x&lt;/b&gt;</p>"


def test_quiet_hours_that_wrap_midnight_end_the_next_morning_in_the_customers_zone():
    import datetime

    start, end = datetime.time(21), datetime.time(8)
    # 22:30 in Lisbon summer time (UTC+1) is 21:30 UTC.
    evening = datetime.datetime(2026, 7, 1, 21, 30, tzinfo=datetime.UTC)
    early = datetime.datetime(2026, 7, 2, 5, 0, tzinfo=datetime.UTC)  # 06:00 local
    noon = datetime.datetime(2026, 7, 2, 11, 0, tzinfo=datetime.UTC)

    assert quiet_hours_end(evening, start, end, "Europe/Lisbon") == datetime.datetime(
        2026, 7, 2, 7, 0, tzinfo=datetime.UTC
    )
    assert quiet_hours_end(early, start, end, "Europe/Lisbon") == datetime.datetime(
        2026, 7, 2, 7, 0, tzinfo=datetime.UTC
    )
    assert quiet_hours_end(noon, start, end, "Europe/Lisbon") is None
    assert quiet_hours_end(evening, start, start, "Europe/Lisbon") is None


class Gateway(BaseHTTPRequestHandler):
    received: list = []
    answer = (200, {"id": "gw-1"})

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        Gateway.received.append((dict(self.headers), json.loads(self.rfile.read(length))))
        status, body = Gateway.answer
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        return


@pytest.fixture
def gateway(settings):
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Gateway.received = []
    settings.OMNI_SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_port}/sms"
    settings.OMNI_SMS_GATEWAY_TOKEN = "gw-secret"
    yield Gateway
    server.shutdown()
    server.server_close()


def test_the_http_gateway_posts_json_with_the_token_and_returns_the_provider_id(gateway):
    backend = HttpGatewayBackend(channel="sms")

    provider_id = backend.send(Outgoing("sms", "+351912345678", "42", text="Hi Ana"))

    [(headers, body)] = gateway.received
    assert provider_id == "gw-1"
    assert headers["Authorization"] == "Bearer gw-secret"
    assert body == {"to": "+351912345678", "text": "Hi Ana", "reference": "42"}


def test_a_gateway_error_is_a_failed_send(gateway):
    gateway.answer = (503, {"error": "busy"})
    backend = HttpGatewayBackend(channel="sms")

    with pytest.raises(SendFailed, match="503"):
        backend.send(Outgoing("sms", "+351912345678", "42", text="Hi"))
    gateway.answer = (200, {"id": "gw-1"})
