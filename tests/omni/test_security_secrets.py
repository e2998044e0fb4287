"""Secrets stay secret: no token secret or password in any log line or stored login
attempt, whatever the request does, and erasure leaves no personal data in orders."""

import io
import logging
from decimal import Decimal

import pytest
from axes.models import AccessAttempt

from customers.models import ConsentStatus
from customers.services.consent import record_consent
from customers.services.privacy import erase_customer, export_customer
from omni.models import Role, Scope
from omni.security import RedactSecretsFilter
from omni.views import MeView
from orders.models import Notification, Order
from orders.services.checkout import (
    CheckoutRequest,
    Delivery,
    LineRequest,
    PaymentRequest,
    place_order,
)
from orders.services.fulfilment import collect_pickup, mark_ready_for_pickup
from tests.factories import LocationFactory, make_staff, make_token
from tests.inventory.factories import SkuFactory, StockLevelFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def everything_logged(caplog, capfd) -> str:
    records = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        for record in caplog.records
    )
    out, err = capfd.readouterr()
    return "\n".join([caplog.text, records, out, err])


def test_no_request_puts_a_token_secret_or_password_in_the_logs(
    client, token_client, caplog, capfd, monkeypatch, settings
):
    make_staff("ana", Role.STORE_ASSOCIATE)
    _, plain = make_token([Scope.CUSTOMERS_READ], name="Web shop")
    caplog.set_level(logging.DEBUG)
    secret = plain.rsplit("_", 1)[1]
    register = token_client(plain)
    assert register.get("/api/v1/me/").status_code == 200
    # a wrong secret for a real key id, and a malformed header
    forged = token_client(plain[:-4] + "AAAA")
    assert forged.get("/api/v1/me/").status_code == 401
    assert token_client("not-a-token " + secret).get("/api/v1/me/").status_code == 401
    # an unhandled error while the token is in the request
    monkeypatch.setattr(MeView, "get", lambda self, request: 1 / 0)
    assert register.get("/api/v1/me/").status_code == 500
    # the staff login: wrong passwords up to the lockout, then the right one
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        client.post("/admin/login/", {"username": "ana", "password": PASSWORD + "!"})
    client.post("/admin/login/", {"username": "ana", "password": PASSWORD})

    logged = everything_logged(caplog, capfd)
    assert "ZeroDivisionError" in logged  # the 500 was logged, with its trace
    assert secret not in logged
    assert PASSWORD not in logged
    attempts = AccessAttempt.objects.all()
    assert attempts.exists()
    for attempt in attempts:
        assert PASSWORD not in f"{attempt.get_data} {attempt.post_data}"


def test_a_secret_logged_by_mistake_is_masked_by_the_log_handler():
    _, plain = make_token([], name="Careless")
    key_id, secret = plain.split("_")[1], plain.split("_", 2)[2]
    [console] = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, RedactSecretsFilter) for f in handler.filters)
    ]
    written = io.StringIO()
    previous = console.setStream(written)
    try:
        logger = logging.getLogger("omni.careless")
        logger.warning("calling with Authorization: Bearer %s", plain)
        logger.warning("form was %s", {"username": "ana", "password": "hunter2-long"})
        logger.warning("pickup_code=483920 for OM-1")
    finally:
        console.setStream(previous)
    lines = written.getvalue()
    assert f"omni_{key_id}_***" in lines
    assert secret not in lines
    assert "hunter2-long" not in lines
    assert "483920" not in lines
    assert "OM-1" in lines


# --- personal data: export and erase ---------------------------------------------------------


@pytest.fixture
def ana_with_an_order():
    lisbon = LocationFactory(code="lisbon-chiado", offers_click_and_collect=True)
    sku = SkuFactory(code="SNK-42", price=Decimal("80.00"))
    StockLevelFactory(location=lisbon, sku=sku, on_hand=2)
    order = place_order(
        request=CheckoutRequest(
            channel="app",
            email="ana@example.com",
            phone="+351912345678",
            lines=[LineRequest(sku.code, 1)],
            delivery=Delivery("click_and_collect", lisbon),
            payments=[PaymentRequest("card", Decimal("80.00"), "psp-1", captured=True)],
        )
    )
    pickup = mark_ready_for_pickup(fulfilment=order.fulfilments.get())
    collect_pickup(fulfilment=pickup, code=pickup.pickup_code)
    order.refresh_from_db()
    Notification.objects.create(
        key=f"ready:{order.pk}",
        customer=order.customer,
        order=order,
        channel="email",
        template="ready_for_pickup",
        recipient="ana@example.com",
        context={"first_name": "Ana", "number": order.number},
        status=Notification.Status.SENT,
    )
    return order


def test_the_export_holds_the_customer_and_their_orders(ana_with_an_order):
    order = ana_with_an_order
    record_consent(customer=order.customer, channel="email", status=ConsentStatus.GRANTED)
    document = export_customer(customer=order.customer, reason="asked by email")
    assert {"ana@example.com"} <= {identity["value"] for identity in document["identities"]}
    assert [exported["number"] for exported in document["orders"]] == [order.number]
    assert document["consent"]


def test_erasure_clears_contact_details_from_orders_and_notifications(ana_with_an_order):
    order = ana_with_an_order
    assert Notification.objects.filter(order=order).exclude(recipient="").exists()
    erase_customer(customer=order.customer, reason="right to erasure")
    kept = Order.objects.get(pk=order.pk)
    assert (kept.email, kept.phone) == ("", "")
    assert kept.total == Decimal("80.00")  # the books stay
    for notification in Notification.objects.filter(order=order):
        assert notification.recipient == ""
        assert "Ana" not in str(notification.context)
    assert "ana@example.com" not in str(export_customer(customer=order.customer))
