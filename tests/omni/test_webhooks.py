"""Outgoing webhooks against a real HTTP receiver on loopback: signed, retried with backoff
until they succeed (same event ID) or die after the retry window, only to subscribers."""

import json
import random
import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from omni.webhooks import emit, services, signing
from omni.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.omni.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db

State = WebhookDelivery.State


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def endpoint_for(url: str, *types: str, **fields) -> WebhookEndpoint:
    return services.create_endpoint(
        name=fields.pop("name", "ERP sync"),
        url=url,
        event_types=types or ["order.placed"],
        **fields,
    )


def emit_order_placed(number: str = "OM-000123") -> WebhookEvent:
    with transaction.atomic():
        return emit("order.placed", {"order": number, "total": "80.00"})


def run_until_settled(delivery: WebhookDelivery, *, limit: int = 10) -> WebhookDelivery:
    """Send, then jump the clock to each retry's due time, until it is no longer pending."""
    for _ in range(limit):
        delivery.refresh_from_db()
        if delivery.state != State.PENDING:
            break
        services.send_due(now=max(timezone.now(), delivery.next_attempt_at))
    delivery.refresh_from_db()
    return delivery


def test_a_delivery_is_signed_so_the_receiver_can_verify_it(receiver):
    endpoint = endpoint_for(receiver.url)
    event = emit_order_placed()

    assert services.send_due() == 1

    [request] = receiver.requests
    headers = request.headers
    assert headers[signing.EVENT_ID_HEADER] == str(event.event_id)
    assert headers[signing.EVENT_TYPE_HEADER] == "order.placed"
    body = json.loads(request.body)
    assert body == {
        "id": str(event.event_id),
        "type": "order.placed",
        "occurred_at": body["occurred_at"],
        "data": {"order": "OM-000123", "total": "80.00"},
    }
    timestamp = headers[signing.TIMESTAMP_HEADER]
    signature = headers[signing.SIGNATURE_HEADER]
    assert signature.startswith("v1=")
    assert signing.verify(
        secret=endpoint.secret, body=request.body, timestamp=timestamp, signature_header=signature
    )
    # Another secret, a changed body or a replay outside the window all fail.
    assert not signing.verify(
        secret="whsec_other", body=request.body, timestamp=timestamp, signature_header=signature
    )
    assert not signing.verify(
        secret=endpoint.secret,
        body=request.body.replace(b"80.00", b"0.01"),
        timestamp=timestamp,
        signature_header=signature,
    )
    assert not signing.verify(
        secret=endpoint.secret,
        body=request.body,
        timestamp=timestamp,
        signature_header=signature,
        now=int(timestamp) + signing.DEFAULT_TOLERANCE_SECONDS + 1,
    )
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == State.SUCCEEDED
    assert delivery.attempts == 1
    assert delivery.log.get().status_code == 200


def test_failures_and_timeouts_are_retried_until_success_with_the_same_event_id(settings):
    settings.OMNI_WEBHOOK_TIMEOUT_SECONDS = 0.5
    with Receiver(script=[500, "hang", 503, 200], hang_seconds=1.5) as receiver:
        endpoint_for(receiver.url)
        event = emit_order_placed()
        delivery = run_until_settled(WebhookDelivery.objects.get())

    assert delivery.state == State.SUCCEEDED
    assert delivery.attempts == 4
    ids = {request.headers[signing.EVENT_ID_HEADER] for request in receiver.requests}
    assert ids == {str(event.event_id)}
    assert [r.headers[signing.ATTEMPT_HEADER] for r in receiver.requests] == ["1", "2", "3", "4"]
    assert len({r.body for r in receiver.requests}) == 1  # the same bytes every time
    log = list(delivery.log.order_by("number"))
    assert [entry.status_code for entry in log] == [500, None, 503, 200]
    assert "timed out" in log[1].error
    assert [entry.succeeded for entry in log] == [False, False, False, True]
    assert log[0].response_excerpt == '{"answer": 500}'


def test_a_failed_attempt_waits_its_backoff_before_the_next(receiver):
    receiver.default = 500
    endpoint_for(receiver.url)
    emit_order_placed()
    started = timezone.now()

    services.send_due(now=started)
    delivery = WebhookDelivery.objects.get()
    wait = delivery.next_attempt_at - started
    assert timedelta(seconds=15) <= wait <= timedelta(seconds=30)
    # Not due yet: nothing is sent.
    assert services.send_due(now=started + timedelta(seconds=14)) == 0
    assert len(receiver.requests) == 1


def test_backoff_doubles_with_jitter_up_to_a_cap_and_covers_a_day():
    low, high = random.Random(), random.Random()
    low.random = lambda: 0.0
    high.random = lambda: 0.999999
    nominal = [30 * 2 ** (n - 1) for n in range(1, 11)]
    for attempt, seconds in enumerate(nominal, start=1):
        assert services.backoff_delay(attempt, rng=low) == timedelta(seconds=seconds / 2)
        assert services.backoff_delay(attempt, rng=high) <= timedelta(seconds=seconds)
        assert services.backoff_delay(attempt, rng=high) > timedelta(seconds=seconds * 0.99)
    assert services.backoff_delay(30, rng=high) <= timedelta(hours=6)
    assert services.backoff_delay(30, rng=low) == timedelta(hours=3)
    # Even with the shortest jitter, 24 hours of retries is a bounded number of attempts.
    elapsed, attempts = timedelta(0), 0
    while elapsed < timedelta(hours=24):
        attempts += 1
        elapsed += services.backoff_delay(attempts, rng=low)
    assert 10 < attempts < 20


def test_a_delivery_dies_after_the_retry_window_and_is_not_tried_again(receiver):
    receiver.default = 503
    endpoint_for(receiver.url)
    emit_order_placed()
    first = timezone.now()
    services.send_due(now=first)
    services.send_due(now=first + timedelta(hours=12))
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == State.PENDING

    services.send_due(now=first + timedelta(hours=24, seconds=1))
    delivery.refresh_from_db()
    assert delivery.state == State.DEAD
    assert delivery.next_attempt_at is None
    assert delivery.attempts == 3
    assert services.send_due(now=first + timedelta(days=30)) == 0
    assert len(receiver.requests) == 3


def test_a_dead_delivery_can_be_resent_with_the_same_event_id(receiver, settings):
    settings.OMNI_WEBHOOK_RETRY_HOURS = 0
    receiver.script = [500]
    endpoint_for(receiver.url)
    event = emit_order_placed()
    services.send_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == State.DEAD

    services.resend(delivery=delivery)
    services.send_due()
    delivery.refresh_from_db()
    assert delivery.state == State.SUCCEEDED
    assert [r.headers[signing.EVENT_ID_HEADER] for r in receiver.requests] == [
        str(event.event_id)
    ] * 2


def test_resending_a_delivery_still_being_tried_is_refused(receiver):
    endpoint_for(receiver.url)
    emit_order_placed()
    delivery = WebhookDelivery.objects.get()
    with pytest.raises(services.DeliveryStillPending):
        services.resend(delivery=delivery)


def test_events_go_only_to_active_endpoints_that_subscribe_to_them(receiver):
    orders = endpoint_for(receiver.url, "order.placed", name="Orders")
    endpoint_for(receiver.url, "stock.low", name="Stock only")
    endpoint_for(receiver.url, "order.placed", name="Paused", is_active=False)

    emit_order_placed()
    services.send_due()

    assert [d.endpoint for d in WebhookDelivery.objects.all()] == [orders]
    assert len(receiver.requests) == 1


def test_an_event_nobody_listens_to_writes_nothing():
    assert emit_order_placed() is None
    assert not WebhookEvent.objects.exists()


def test_an_event_of_a_rolled_back_change_is_never_sent(receiver):
    endpoint_for(receiver.url)

    def failing_change():
        with transaction.atomic():
            emit("order.placed", {"order": "OM-1"})
            raise RuntimeError("the order failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert not WebhookEvent.objects.exists()
    assert services.send_due() == 0


def test_the_commit_queues_the_delivery_at_once(receiver, django_capture_on_commit_callbacks):
    endpoint_for(receiver.url)
    with django_capture_on_commit_callbacks() as callbacks:
        emit_order_placed()
    assert len(callbacks) == 1
    assert callbacks[0].keywords == {"delivery_ids": [WebhookDelivery.objects.get().pk]}


def test_an_unreachable_endpoint_is_logged_and_retried():
    endpoint_for("http://127.0.0.1:9/nothing-listens")
    emit_order_placed()
    services.send_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == State.PENDING
    assert delivery.attempts == 1
    assert "Connection" in delivery.log.get().error or "refused" in delivery.log.get().error


def test_a_redirect_is_not_followed(receiver):
    endpoint_for(receiver.url)
    receiver.script = [301]
    emit_order_placed()
    services.send_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == State.PENDING
    assert delivery.last_status_code == 301


def test_a_paused_endpoint_keeps_its_deliveries_until_it_is_active_again(receiver):
    endpoint = endpoint_for(receiver.url)
    emit_order_placed()
    services.update_endpoint(endpoint=endpoint, is_active=False)
    assert services.send_due() == 0
    services.update_endpoint(endpoint=endpoint, is_active=True)
    assert services.send_due() == 1


def test_unknown_event_types_are_a_programming_error():
    with pytest.raises(ValueError, match="unknown webhook event type"):
        emit("order.teleported", {})


def test_event_ids_are_unique_uuids(receiver):
    endpoint_for(receiver.url)
    first, second = emit_order_placed("OM-1"), emit_order_placed("OM-2")
    assert isinstance(first.event_id, uuid.UUID)
    assert first.event_id != second.event_id
