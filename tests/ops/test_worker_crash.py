"""Real Celery worker processes killed with SIGKILL in the middle of a task. After a
restart and the next run of the task, every effect happened exactly once: stock released
once per expired reservation, loyalty points expired once per customer, and a webhook
delivered at least once with the same event ID (and recorded as delivered once)."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from customers.models import LoyaltyEntry
from customers.services import loyalty
from inventory.models import Reservation, StockMovement
from inventory.services.reservations import reserve_stock
from omni.celery import app
from omni.webhooks import emit, services, signing
from omni.webhooks.models import WebhookDelivery
from tests.customers.factories import CustomerFactory
from tests.factories import LocationFactory
from tests.inventory.factories import SkuFactory, StockLevelFactory
from tests.inventory.ledger import assert_ledger_matches
from tests.omni.webhook_receiver import Receiver
from tests.ops.processes import kill, process_env, start_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]

QUEUE = "crash-test"


def run_task(name: str) -> None:
    """Send the task the way beat does, to the queue only these workers read."""
    app.send_task(name, queue=QUEUE)


def test_a_worker_killed_while_expiring_reservations_releases_each_exactly_once(tmp_path):
    lisbon = LocationFactory(code="lisbon-chiado")
    skus = [SkuFactory(code=f"SNK-{n}") for n in range(4)]
    for sku in skus:
        StockLevelFactory(location=lisbon, sku=sku, on_hand=1000)
    total = 1600
    for n in range(total):
        reserve_stock(
            location=lisbon,
            sku=skus[n % 4],
            quantity=1,
            owner_type="cart",
            owner_ref=f"cart-{n}",
            ttl=timedelta(minutes=30),
        )
    Reservation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    def expired() -> int:
        return Reservation.objects.filter(status=Reservation.Status.EXPIRED).count()

    env = process_env()
    worker = start_worker(env, QUEUE, log=tmp_path / "worker.log")
    try:
        run_task("inventory.expire_reservations")
        assert wait_for(lambda: expired() >= 50, timeout=120), (tmp_path / "worker.log").read_text()
        kill(worker)
        at_kill = expired()
        assert at_kill < total  # killed in the middle

        worker = start_worker(env, QUEUE, log=tmp_path / "worker.log")
        run_task("inventory.expire_reservations")  # the next beat run
        assert wait_for(lambda: expired() == total, timeout=180)
    finally:
        kill(worker)

    releases = StockMovement.objects.filter(kind="release")
    assert releases.count() == total
    per_owner = releases.values("reference_id").annotate(n=Count("pk")).filter(n__gt=1)
    assert not per_owner.exists()
    assert_ledger_matches()


def test_a_worker_killed_while_expiring_loyalty_points_expires_each_customer_once(tmp_path):
    long_ago = timezone.now() - timedelta(days=3 * 365)
    customers = CustomerFactory.create_batch(700)
    for customer in customers:
        loyalty.earn_points(
            customer=customer,
            reference_type="order",
            reference_id=f"OM-{customer.pk}",
            points=120,
            at=long_ago,
        )

    def expiries() -> int:
        return LoyaltyEntry.objects.filter(kind=LoyaltyEntry.Kind.EXPIRE).count()

    env = process_env()
    worker = start_worker(env, QUEUE, log=tmp_path / "worker.log")
    try:
        run_task("customers.expire_loyalty_points")
        assert wait_for(lambda: expiries() >= 20, timeout=120), (
            tmp_path / "worker.log"
        ).read_text()
        kill(worker)
        at_kill = expiries()
        assert at_kill < len(customers)

        worker = start_worker(env, QUEUE, log=tmp_path / "worker.log")
        run_task("customers.expire_loyalty_points")
        assert wait_for(lambda: expiries() == len(customers), timeout=180)
        run_task("customers.expire_loyalty_points")  # and once more: nothing left to do
        run_task("omni.record_heartbeat")
        assert wait_for(lambda: not app.connection().default_channel.client.llen(QUEUE), 60)
    finally:
        kill(worker)

    for customer in customers[:50] + customers[-50:]:
        entries = LoyaltyEntry.objects.filter(customer=customer)
        assert entries.filter(kind=LoyaltyEntry.Kind.EXPIRE).count() == 1
        assert loyalty.ledger_balance(customer) == 0
        assert loyalty.account_of(customer).balance == 0
    assert expiries() == len(customers)


def test_a_worker_killed_mid_request_delivers_the_webhook_again_with_the_same_event_id(tmp_path):
    with Receiver(script=["hang", 200], hang_seconds=60) as receiver:
        services.create_endpoint(name="ERP", url=receiver.url, event_types=["order.placed"])
        with transaction.atomic():
            event = emit("order.placed", {"order": "OM-000777", "total": "80.00"})
        delivery = WebhookDelivery.objects.get()

        env = process_env(OMNI_WEBHOOK_LEASE_SECONDS="3", OMNI_WEBHOOK_TIMEOUT_SECONDS="120")
        worker = start_worker(env, QUEUE, log=tmp_path / "worker.log")
        try:
            run_task("omni.send_due_webhooks")
            # The worker has sent the request and waits for the answer: kill it there.
            assert wait_for(lambda: len(receiver.requests) == 1, timeout=120)
            kill(worker)
            delivery.refresh_from_db()
            assert delivery.state == "pending"
            assert delivery.attempts == 0  # the attempt died with the worker

            worker = start_worker(env, QUEUE, log=tmp_path / "worker.log")

            def delivered() -> bool:
                # The sweep runs every few seconds under beat; here the test plays beat.
                run_task("omni.send_due_webhooks")
                delivery.refresh_from_db()
                return delivery.state == "succeeded"

            assert wait_for(delivered, timeout=120, every=2)
        finally:
            kill(worker)

    assert len(receiver.requests) == 2
    assert {r.headers[signing.EVENT_ID_HEADER] for r in receiver.requests} == {str(event.event_id)}
    assert receiver.requests[0].body == receiver.requests[1].body
    assert delivery.attempts == 1
    assert delivery.log.filter(succeeded=True).count() == 1
