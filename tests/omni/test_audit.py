"""The audit log: each change by staff or a token writes one entry with who, from where and
the before and after of what changed; the trail cannot be rewritten."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from campaigns.models import Campaign
from customers.models import ConsentStatus
from customers.services.consent import record_consent
from customers.services.merge import merge_customers, unmerge_customers
from inventory.services.transfers import (
    LineRequest,
    create_transfer,
    pick_transfer,
    receive_transfer,
    ship_transfer,
)
from omni import audit
from omni.auth import Actor
from omni.models import AuditEntry, AuditEntryImmutable, Role, Scope
from orders.models import ReturnLine
from orders.services.checkout import (
    CheckoutRequest,
    Delivery,
    PaymentRequest,
    place_order,
)
from orders.services.checkout import (
    LineRequest as OrderLine,
)
from orders.services.fulfilment import collect_pickup, mark_ready_for_pickup
from orders.services.returns import ReturnLineRequest, inspect_return, refund_return, start_return
from tests.campaigns.factories import campaign_with_variants, reachable_customer
from tests.customers.factories import CustomerFactory, IdentityFactory
from tests.factories import LocationFactory, make_staff, make_token
from tests.inventory.factories import SkuFactory, StockLevelFactory

pytestmark = pytest.mark.django_db

TILL_IP = "203.0.113.7"


def only(action: str) -> AuditEntry:
    [entry] = AuditEntry.objects.filter(action=action)
    return entry


@pytest.fixture
def lisbon():
    return LocationFactory(
        code="lisbon-chiado", offers_click_and_collect=True, accepts_returns=True
    )


@pytest.fixture
def porto():
    return LocationFactory(code="porto-baixa", accepts_returns=True)


@pytest.fixture
def sneaker():
    return SkuFactory(code="SNK-42", price=Decimal("80.00"))


@pytest.fixture
def ana():
    customer = CustomerFactory(first_name="Ana", last_name="Silva", language="en")
    IdentityFactory(customer=customer, value="ana@example.com")
    return customer


@pytest.fixture
def web_shop(token_client):
    token, plain = make_token(
        [Scope.CUSTOMERS_READ, Scope.CUSTOMERS_WRITE, Scope.ORDERS_READ, Scope.ORDERS_WRITE],
        name="Web shop",
    )
    client = token_client(plain)
    client.defaults["REMOTE_ADDR"] = TILL_IP
    client.defaults["HTTP_USER_AGENT"] = "shop-backend/2.1"
    client.token = token
    return client


@pytest.fixture
def rui(lisbon):
    return make_staff("rui", Role.STORE_MANAGER, [lisbon])


# --- customers and consent ------------------------------------------------------------------


def test_a_profile_edit_by_token_records_who_from_where_and_what_changed(web_shop, ana):
    response = web_shop.patch(
        f"/api/v1/customers/{ana.public_id}/",
        {"language": "pt-PT", "first_name": "Ana Maria"},
        format="json",
        HTTP_X_REQUEST_ID="req-42",
    )
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-42"
    entry = only("customer.profile_updated")
    assert (entry.actor_kind, entry.actor_label, entry.token_id) == (
        "token",
        "token:Web shop",
        web_shop.token.pk,
    )
    assert (entry.ip_address, entry.user_agent, entry.request_id) == (
        TILL_IP,
        "shop-backend/2.1",
        "req-42",
    )
    assert entry.customer_id == ana.pk
    assert entry.object_type == "customers.customer"
    assert entry.before == {"language": "en", "first_name": audit.REDACTED}
    assert entry.after == {"language": "pt-PT", "first_name": audit.REDACTED}


def test_a_profile_edit_by_staff_names_the_staff_user_and_the_session_ip(api_client, ana, rui):
    api_client.force_login(make_staff("dpo", Role.ADMINISTRATOR))
    response = api_client.patch(
        f"/api/v1/customers/{ana.public_id}/",
        {"time_zone": "Europe/Madrid"},
        format="json",
        REMOTE_ADDR="198.51.100.20",
    )
    assert response.status_code == 200
    entry = only("customer.profile_updated")
    assert (entry.actor_kind, entry.actor_label, entry.ip_address) == (
        "staff",
        "dpo",
        "198.51.100.20",
    )
    assert entry.before == {"time_zone": "Europe/Lisbon"}
    assert entry.after == {"time_zone": "Europe/Madrid"}
    assert len(entry.request_id) == 32  # one made up when the client sends none


def test_an_edit_that_changes_nothing_writes_no_entry(web_shop, ana):
    web_shop.patch(f"/api/v1/customers/{ana.public_id}/", {"language": "en"}, format="json")
    assert not AuditEntry.objects.exists()


def test_consent_given_by_token_is_audited_with_the_previous_status(web_shop, ana):
    url = f"/api/v1/customers/{ana.public_id}/consent/"
    web_shop.post(url, {"channel": "sms", "status": "granted", "form": "checkout"}, format="json")
    web_shop.post(url, {"channel": "sms", "status": "withdrawn", "form": "app"}, format="json")
    granted, withdrawn = AuditEntry.objects.filter(action="consent.recorded").order_by("id")
    assert (granted.before, granted.after["status"]) == ({"status": None}, "granted")
    assert (withdrawn.before, withdrawn.after["status"]) == ({"status": "granted"}, "withdrawn")
    assert withdrawn.customer_id == ana.pk


def test_merge_and_unmerge_by_staff_each_write_one_entry(ana, rui):
    other = CustomerFactory(first_name="Ana", last_name="Silva")
    merge = merge_customers(survivor=ana, merged=other, reason="same card", user=rui)
    unmerge_customers(merge=merge, reason="different people", user=rui)
    merged, unmerged = only("customer.merged"), only("customer.unmerged")
    assert (merged.actor_label, merged.object_id, merged.customer_id) == (
        "rui",
        str(other.pk),
        ana.pk,
    )
    assert merged.before == {"merged_into": None}
    assert merged.after["merged_into"] == ana.pk
    assert unmerged.before == {"merged_into": ana.pk}
    assert unmerged.after["merged_into"] is None


def test_erasure_by_token_is_audited_without_the_erased_data(web_shop, ana):
    record_consent(customer=ana, channel="email", status=ConsentStatus.GRANTED)
    response = web_shop.post(
        f"/api/v1/customers/{ana.public_id}/erase/", {"reason": "asked"}, format="json"
    )
    assert response.status_code == 200
    entry = only("customer.erased")
    assert entry.actor_label == "token:Web shop"
    assert entry.before == {"erased_at": None}
    assert entry.after["identities"] == 1
    assert entry.object_label == str(ana.public_id)
    assert "ana@example.com" not in str(entry.after)
    # the withdrawal the erasure makes is itself a consent change by the same token
    assert only("consent.recorded").after["status"] == ConsentStatus.WITHDRAWN


def test_changes_the_system_makes_on_its_own_are_not_in_the_audit_log(ana):
    record_consent(customer=ana, channel="email", status=ConsentStatus.GRANTED)
    assert not AuditEntry.objects.exists()


# --- stock ----------------------------------------------------------------------------------


@pytest.fixture
def lisbon_register(lisbon, token_client):
    token, plain = make_token(
        [Scope.STOCK_READ, Scope.STOCK_WRITE], locations=[lisbon], name="Lisbon register 1"
    )
    client = token_client(plain)
    client.defaults["REMOTE_ADDR"] = TILL_IP
    return client


@pytest.mark.parametrize(
    ("url", "body", "action", "before", "after"),
    [
        ("/api/v1/stock/receipts/", {"quantity": 5}, "stock.received", 4, 9),
        (
            "/api/v1/stock/adjustments/",
            {"delta": -1, "reason": "Shoplifted"},
            "stock.adjusted",
            4,
            3,
        ),
        ("/api/v1/stock/counts/", {"counted": 2, "expected": 4}, "stock.counted", 4, 2),
    ],
)
def test_stock_changes_by_a_register_record_on_hand_before_and_after(
    lisbon_register, lisbon, sneaker, url, body, action, before, after
):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=4)
    payload = {"location": "lisbon-chiado", "sku": "SNK-42", **body}
    response = lisbon_register.post(url, payload, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code in (200, 201), response.json()
    entry = only(action)
    assert (entry.before["on_hand"], entry.after["on_hand"]) == (before, after)
    assert (entry.sku_id, entry.location_id) == (sneaker.pk, lisbon.pk)
    assert (entry.actor_label, entry.ip_address) == ("token:Lisbon register 1", TILL_IP)


def test_a_transfer_writes_one_entry_per_step_with_its_status(lisbon, porto, sneaker, rui):
    StockLevelFactory(location=porto, sku=sneaker, on_hand=6)
    actor = Actor(user=rui)
    transfer = create_transfer(
        source=porto, destination=lisbon, lines=[LineRequest(sneaker, 2)], actor=actor
    )
    pick_transfer(transfer=transfer, actor=actor)
    ship_transfer(transfer=transfer, actor=actor)
    receive_transfer(transfer=transfer, actor=actor)
    created, shipped, received = (
        only("transfer.create"),
        only("transfer.ship"),
        only("transfer.receive"),
    )
    assert created.after == {"status": "requested", "lines": {"SNK-42": 2}}
    assert only("transfer.pick").before == {"status": "requested"}
    assert (shipped.before, shipped.after) == ({"status": "picked"}, {"status": "in_transit"})
    assert (received.after, received.location_id) == ({"status": "received"}, lisbon.pk)
    assert {created.actor_label, shipped.actor_label, received.actor_label} == {"rui"}


def test_a_price_edit_records_the_old_and_new_price(api_client, sneaker):
    api_client.force_login(make_staff("lena", Role.INVENTORY_PLANNER))
    response = api_client.patch(f"/api/v1/skus/{sneaker.code}/", {"price": "69.90"}, format="json")
    assert response.status_code == 200, response.json()
    entry = only("sku.updated")
    assert (entry.before, entry.after) == ({"price": "80.00"}, {"price": "69.90"})
    assert (entry.sku_id, entry.actor_label) == (sneaker.pk, "lena")


# --- orders, returns, refunds ---------------------------------------------------------------


def test_cancelling_an_order_by_token_is_audited(web_shop, lisbon, sneaker):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=2)
    order = place_order(
        request=CheckoutRequest(
            channel="web",
            email="ana@example.com",
            lines=[OrderLine(sneaker.code, 1)],
            delivery=Delivery("click_and_collect", lisbon),
            payments=[PaymentRequest("card", Decimal("80.00"), "psp-1", captured=True)],
        )
    )
    assert not AuditEntry.objects.exists()  # placed by the system in this test
    response = web_shop.post(
        f"/api/v1/orders/{order.number}/cancel/", {"reason": "customer asked"}, format="json"
    )
    assert response.status_code == 200
    entry = only("order.cancelled")
    assert (entry.before, entry.after) == ({"status": "allocated"}, {"status": "cancelled"})
    assert (entry.object_id, entry.customer_id) == (str(order.pk), order.customer_id)
    assert only("fulfilment.cancelled").after["reason"] == "customer asked"


def test_a_return_and_its_refund_are_audited_step_by_step(lisbon, porto, sneaker, rui):
    StockLevelFactory(location=lisbon, sku=sneaker, on_hand=2)
    order = place_order(
        request=CheckoutRequest(
            channel="app",
            email="ana@example.com",
            lines=[OrderLine(sneaker.code, 2)],
            delivery=Delivery("click_and_collect", lisbon),
            payments=[PaymentRequest("card", Decimal("160.00"), "psp-9", captured=True)],
        )
    )
    pickup = mark_ready_for_pickup(fulfilment=order.fulfilments.get())
    collect_pickup(fulfilment=pickup, code=pickup.pickup_code)
    clerk = Actor(user=rui)
    returned = start_return(
        order=order,
        channel="store",
        location=porto,
        lines=[ReturnLineRequest(order.lines.get().pk, 1, "too small")],
        actor=clerk,
    )
    inspect_return(
        return_request=returned,
        conditions={returned.lines.get().pk: ReturnLine.Condition.RESELLABLE},
        actor=clerk,
    )
    refund_return(return_request=returned, method="original_payment", actor=clerk)
    started = only("return.started")
    assert started.after["status"] == "received"
    assert (started.customer_id, started.location_id) == (order.customer_id, porto.pk)
    assert only("return.inspected").before == {"status": "received"}
    refunded = only("return.refunded")
    assert refunded.before == {"status": "inspected"}
    assert (refunded.after["refund_total"], refunded.after["refund_method"]) == (
        "80.00",
        "original_payment",
    )


# --- campaigns ------------------------------------------------------------------------------


def test_campaign_edits_sends_and_cancellation_are_audited(token_client):
    _, plain = make_token(["campaigns:read", "campaigns:write"], name="Marketing")
    marketer = token_client(plain)
    campaign = campaign_with_variants(channels=["email"])
    url = f"/api/v1/campaigns/{campaign.public_id}/"
    assert marketer.patch(url, {"name": "Spring sale"}, format="json").status_code == 200
    ana = reachable_customer()
    sent = marketer.post(f"{url}send/", {"customers": [str(ana.public_id)]}, format="json")
    assert sent.status_code in (200, 201, 202), sent.json()
    edited = only("campaign.updated")
    assert edited.after == {"name": "Spring sale"}
    assert edited.before["name"] != "Spring sale"
    assert only("campaign.sent").after == {"step": "main", "audience": 1}
    other = campaign_with_variants(channels=["email"])
    assert marketer.post(f"/api/v1/campaigns/{other.public_id}/cancel/").status_code == 200
    cancelled = only("campaign.cancelled")
    assert (cancelled.after, cancelled.actor_label) == (
        {"status": Campaign.Status.CANCELLED},
        "token:Marketing",
    )


# --- the trail cannot be rewritten ----------------------------------------------------------


@pytest.fixture
def entry(ana, rui):
    return audit.record("customer.profile_updated", ana, actor=Actor(user=rui), after={"x": 1})


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE omni_auditentry SET action = 'nothing.happened'",
        "DELETE FROM omni_auditentry",
    ],
)
def test_the_database_refuses_to_change_or_delete_audit_rows(entry, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEntry.objects.get().action == "customer.profile_updated"


def test_the_model_refuses_to_change_or_delete_audit_rows(entry):
    entry.action = "nothing.happened"
    with pytest.raises(AuditEntryImmutable):
        entry.save()
    with pytest.raises(AuditEntryImmutable):
        entry.delete()
    with pytest.raises(AuditEntryImmutable):
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(AuditEntryImmutable):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get().action == "customer.profile_updated"
