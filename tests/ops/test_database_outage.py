"""The database goes away for a few seconds under a live server and a worker: requests
get a clean 503 in the one error shape (with Retry-After), /healthz says unavailable, a
task retries by itself; once PostgreSQL is back everything resumes and nothing is lost
or written twice.

The test database lives on the same embedded server, so the `finally` starts it again
whatever happens."""

import json
import time
import urllib.error
import urllib.request
import uuid

import pytest
from django.db import connection, transaction

from bench.harness import free_port, start_gunicorn, stop_gunicorn
from inventory.models import StockLevel, StockMovement
from omni import embedded
from omni.celery import app
from omni.webhooks import emit, services
from omni.webhooks.models import WebhookDelivery
from tests.factories import LocationFactory, make_token
from tests.inventory.factories import SkuFactory, StockLevelFactory
from tests.omni.webhook_receiver import Receiver
from tests.ops.processes import (
    database_url_for_processes,
    kill,
    process_env,
    start_worker,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]

QUEUE = "outage-test"


def call(port, method, path, token, body=None, key=None):
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if key:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"http://127.0.0.1:{port}{path}", data=data, headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null"), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null"), dict(exc.headers)


def test_requests_get_503_while_the_database_is_down_and_nothing_is_lost(tmp_path):
    lisbon = LocationFactory(code="lisbon-chiado")
    sku = SkuFactory(code="SNK-42")
    StockLevelFactory(location=lisbon, sku=sku, on_hand=10)
    _, token = make_token(["stock:read", "stock:write"], name="Lisbon register")
    with Receiver() as receiver:
        services.create_endpoint(name="ERP", url=receiver.url, event_types=["order.placed"])
        with transaction.atomic():
            event = emit("order.placed", {"order": "OM-1"})

        port = free_port()
        server = start_gunicorn(
            port,
            workers=2,
            env={"DATABASE_URL": database_url_for_processes(), "REDIS_DB_OFFSET": "10"},
        )
        worker = start_worker(process_env(), QUEUE, log=tmp_path / "worker.log")
        receipts = []  # (idempotency key, final status)
        try:
            status, _, _ = call(port, "GET", "/api/v1/me/", token)
            assert status == 200

            connection.close()
            embedded.stop_postgres()
            down_since = time.monotonic()

            # The API: a clean 503 in the error shape at the first query (the token itself
            # comes from the cache, so `/me/` would still answer).
            status, body, headers = call(port, "GET", "/api/v1/stock-levels/", token)
            assert status == 503
            assert body["error"]["code"] == "service_unavailable"
            assert headers["Retry-After"] == "5"
            # A write: 503, and the client will retry it with the same key.
            key = str(uuid.uuid4())
            receipt = {"location": "lisbon-chiado", "sku": "SNK-42", "quantity": 3}
            status, body, _ = call(port, "POST", "/api/v1/stock/receipts/", token, receipt, key)
            assert status == 503
            assert body["error"]["code"] == "service_unavailable"
            receipts.append(key)
            # Health says so.
            status, body, _ = call(port, "GET", "/healthz", token)
            assert status == 503
            assert body["checks"]["database"]["ok"] is False
            # A task sent now fails to reach the database and retries by itself.
            app.send_task("omni.send_due_webhooks", queue=QUEUE)
            time.sleep(max(0.0, 4 - (time.monotonic() - down_since)))
        finally:
            embedded.start_postgres()

        try:
            # Service resumes: the same key is retried until it lands, once.
            def retried() -> bool:
                status, _, _ = call(
                    port, "POST", "/api/v1/stock/receipts/", token, receipt, receipts[0]
                )
                return status == 201

            assert wait_for(retried, timeout=60, every=0.5)
            status, _, headers = call(
                port, "POST", "/api/v1/stock/receipts/", token, receipt, receipts[0]
            )
            assert status == 201
            assert headers.get("Idempotent-Replayed") == "true"
            status, _, _ = call(port, "GET", "/healthz", token)
            assert status == 200
            # The task's retry delivered the webhook, with no beat and no new send.
            delivery = WebhookDelivery.objects.get()
            assert wait_for(
                lambda: WebhookDelivery.objects.get(pk=delivery.pk).state == "succeeded",
                timeout=120,
            ), (tmp_path / "worker.log").read_text()
        finally:
            stop_gunicorn(server)
            kill(worker)

    assert [r.headers["Omni-Webhook-Id"] for r in receiver.requests] == [str(event.event_id)]
    level = StockLevel.objects.get(location=lisbon, sku=sku)
    assert level.on_hand == 13  # the receipt counted once
    assert StockMovement.objects.filter(kind="receipt", stock_level=level).count() == 2
