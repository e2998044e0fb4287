"""Loyalty: earn once per reference, redeem never overdraws, claw-backs, tiers, expiry."""

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection

from customers.hooks import merge_participants
from customers.models import LoyaltyAccount, LoyaltyEntry, LoyaltyPolicy, TimelineEntry
from customers.services import loyalty, metrics
from omni.models import Scope
from omni.services import _SCHEDULES
from tests.customers.engagement_factories import CustomerFactory
from tests.factories import make_token


@pytest.fixture
def ana(db):
    return CustomerFactory(first_name="Ana", last_name="Sousa")


@pytest.fixture
def client(db, token_client):
    _, plain = make_token([Scope.CUSTOMERS_READ, Scope.CUSTOMERS_WRITE], name="Lisbon register")
    return token_client(plain)


def post(client, url, body, key):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def balance_of(customer) -> int:
    return LoyaltyAccount.objects.get(customer=customer).balance


@pytest.mark.django_db
def test_earning_twice_for_the_same_order_credits_once(ana):
    first, created = loyalty.earn_points(
        customer=ana, reference_type="order", reference_id="ORD-1", amount=Decimal("42.90")
    )
    again, created_again = loyalty.earn_points(
        customer=ana, reference_type="order", reference_id="ORD-1", amount=Decimal("42.90")
    )
    assert created
    assert not created_again
    assert again.pk == first.pk
    assert first.points == 42  # one point per euro, rounded down
    assert balance_of(ana) == 42
    assert LoyaltyEntry.objects.filter(customer=ana).count() == 1
    assert TimelineEntry.objects.filter(customer=ana, kind="loyalty").count() == 1


@pytest.mark.django_db
def test_earn_over_the_api_needs_an_idempotency_key_and_a_second_reference_call_adds_nothing(
    client, ana
):
    url = f"/api/v1/customers/{ana.public_id}/loyalty/earn/"
    body = {"reference_id": "ORD-7", "amount": "120.50"}
    missing = client.post(url, body, format="json")
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "idempotency_key_required"

    first = post(client, url, body, "earn-1")
    assert first.status_code == 201
    assert first.json()["entry"]["points"] == 120
    assert first.json()["balance"] == 120
    # A different key (say, the register retried after a crash) for the same order.
    second = post(client, url, body, "earn-2")
    assert second.status_code == 200
    assert second.json()["created"] is False
    assert second.json()["balance"] == 120
    assert LoyaltyEntry.objects.filter(customer=ana).count() == 1


@pytest.mark.django_db
def test_redeeming_more_than_the_balance_is_422_and_writes_nothing(client, ana):
    loyalty.earn_points(customer=ana, reference_type="order", reference_id="ORD-1", points=50)
    entries_before = LoyaltyEntry.objects.count()
    timeline_before = TimelineEntry.objects.count()

    response = post(
        client,
        f"/api/v1/customers/{ana.public_id}/loyalty/redeem/",
        {"points": 80, "reason": "Gift card"},
        "redeem-1",
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "insufficient_points"
    assert error["details"] == {"balance": 50, "requested": 80}
    assert balance_of(ana) == 50
    assert LoyaltyEntry.objects.count() == entries_before
    assert TimelineEntry.objects.count() == timeline_before


@pytest.mark.django_db
def test_redeem_and_adjust_over_the_api_keep_balance_equal_to_the_ledger(client, ana):
    loyalty.earn_points(customer=ana, reference_type="order", reference_id="ORD-1", points=100)
    base = f"/api/v1/customers/{ana.public_id}/loyalty"
    redeemed = post(client, f"{base}/redeem/", {"points": 30}, "r-1")
    adjusted = post(client, f"{base}/adjust/", {"points": 5, "reason": "Late delivery"}, "a-1")
    no_reason = post(client, f"{base}/adjust/", {"points": 5}, "a-2")

    assert redeemed.status_code == 201
    assert redeemed.json()["balance"] == 70
    assert adjusted.status_code == 201
    assert adjusted.json()["balance"] == 75
    assert no_reason.status_code == 400
    assert adjusted.json()["entry"]["actor_label"] == "token:Lisbon register"
    summary = client.get(f"{base}/").json()
    assert summary["balance"] == 75
    assert summary["tier"] == "bronze"
    ledger = client.get(f"{base}/entries/").json()
    assert [row["kind"] for row in ledger["results"]] == ["adjust", "redeem", "earn"]
    assert loyalty.ledger_balance(ana) == 75


@pytest.mark.django_db
def test_zero_or_negative_redeems_are_refused(ana):
    with pytest.raises(loyalty.InvalidPoints):
        loyalty.redeem_points(customer=ana, points=0)
    assert not LoyaltyEntry.objects.exists()


def run_in_threads(count, work):
    barrier = threading.Barrier(count)
    outcomes = []

    def run(index):
        try:
            barrier.wait()
            outcomes.append(work(index))
        except Exception as exc:  # noqa: BLE001 - the test counts the outcomes
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_concurrent_earns_for_the_same_order_credit_once():
    ana = CustomerFactory()
    outcomes = run_in_threads(
        8,
        lambda _: loyalty.earn_points(
            customer=ana, reference_type="order", reference_id="ORD-9", points=25
        ),
    )
    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert sum(created for _, created in outcomes) == 1
    assert LoyaltyEntry.objects.filter(customer=ana).count() == 1
    assert balance_of(ana) == 25 == loyalty.ledger_balance(ana)


@pytest.mark.django_db(transaction=True)
def test_concurrent_redeems_never_overdraw_the_balance():
    ana = CustomerFactory()
    loyalty.earn_points(customer=ana, reference_type="order", reference_id="ORD-1", points=100)
    outcomes = run_in_threads(10, lambda _: loyalty.redeem_points(customer=ana, points=30))

    refused = [o for o in outcomes if isinstance(o, loyalty.InsufficientPoints)]
    succeeded = [o for o in outcomes if isinstance(o, LoyaltyEntry)]
    assert len(succeeded) == 3
    assert len(refused) == 7
    assert balance_of(ana) == 10 == loyalty.ledger_balance(ana)
    assert sorted(entry.balance_after for entry in succeeded) == [10, 40, 70]


@pytest.mark.django_db(transaction=True)
def test_concurrent_earns_and_redeems_keep_the_balance_equal_to_the_ledger():
    ana = CustomerFactory()
    loyalty.earn_points(customer=ana, reference_type="order", reference_id="seed", points=50)

    def work(index):
        if index % 2:
            return loyalty.earn_points(
                customer=ana, reference_type="order", reference_id=f"ORD-{index}", points=10
            )
        return loyalty.redeem_points(customer=ana, points=20)

    run_in_threads(12, work)
    balance = balance_of(ana)
    assert balance >= 0
    assert balance == loyalty.ledger_balance(ana)


@pytest.mark.django_db
def test_a_return_claws_back_points_in_proportion_once_per_return(ana):
    metrics.record_purchase(
        customer=ana,
        order_reference="ORD-1",
        occurred_at=datetime(2026, 5, 1, tzinfo=UTC),
        channel="web",
        revenue=Decimal("200.00"),
        cost=Decimal("80.00"),
        discount=Decimal("0.00"),
        currency="EUR",
    )
    for _ in range(2):
        metrics.record_return(
            customer=ana,
            return_reference="RET-1",
            occurred_at=datetime(2026, 5, 3, tzinfo=UTC),
            amount=Decimal("50.00"),
            cost=Decimal("20.00"),
        )
    clawbacks = LoyaltyEntry.objects.filter(customer=ana, kind="clawback")
    assert [entry.points for entry in clawbacks] == [-50]
    assert balance_of(ana) == 150


@pytest.mark.django_db
def test_a_claw_back_stops_at_the_balance_when_points_were_already_spent(ana):
    loyalty.earn_points(customer=ana, reference_type="order", reference_id="ORD-1", points=100)
    loyalty.redeem_points(customer=ana, points=90)
    entry = loyalty.claw_back_points(customer=ana, return_reference="RET-1", amount=Decimal(100))
    assert entry.points == -10
    assert balance_of(ana) == 0


@pytest.mark.django_db
def test_tier_follows_twelve_month_spend_under_the_policy(ana):
    LoyaltyPolicy.objects.create(
        name="Club", points_per_unit=Decimal("2"), silver_spend=300, gold_spend=1000
    )
    now = datetime.now(tz=UTC)
    metrics.record_purchase(
        customer=ana,
        order_reference="ORD-1",
        occurred_at=now,
        channel="store",
        revenue=Decimal("350.00"),
        cost=Decimal("100.00"),
        discount=Decimal("0.00"),
        currency="EUR",
    )
    account = LoyaltyAccount.objects.get(customer=ana)
    assert account.tier == "silver"
    assert account.balance == 700  # two points per euro
    assert loyalty.tier_for_spend(Decimal("999.99")) == "silver"
    assert loyalty.tier_for_spend(Decimal("1000")) == "gold"


@pytest.mark.django_db
def test_points_expire_first_in_first_out_and_expiring_again_does_nothing(ana):
    LoyaltyPolicy.objects.create(name="Short", expiry_months=12)
    old = datetime(2025, 1, 10, tzinfo=UTC)
    loyalty.earn_points(
        customer=ana, reference_type="order", reference_id="old", points=100, at=old
    )
    loyalty.earn_points(
        customer=ana,
        reference_type="order",
        reference_id="new",
        points=40,
        at=datetime(2025, 12, 1, tzinfo=UTC),
    )
    loyalty.redeem_points(customer=ana, points=30)  # spent from the oldest points first

    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert loyalty.expire_points(now=now) == 1
    assert loyalty.expire_points(now=now) == 0

    expiries = LoyaltyEntry.objects.filter(customer=ana, kind="expire")
    assert [entry.points for entry in expiries] == [-70]
    assert balance_of(ana) == 40 == loyalty.ledger_balance(ana)


@pytest.mark.django_db
def test_the_expiry_task_is_scheduled():
    assert _SCHEDULES["Expire loyalty points"]["task"] == "customers.expire_loyalty_points"


@pytest.mark.django_db
def test_loyalty_merge_participant_moves_entries_and_balance_and_back():
    ana, duplicate = CustomerFactory(), CustomerFactory()
    loyalty.earn_points(customer=ana, reference_type="order", reference_id="A-1", points=100)
    loyalty.earn_points(customer=duplicate, reference_type="order", reference_id="B-1", points=30)
    participant = {p.name: p for p in merge_participants()}["loyalty"]

    record = participant.move(duplicate, ana)
    assert balance_of(ana) == 130
    assert balance_of(duplicate) == 0
    assert not LoyaltyEntry.objects.filter(customer=duplicate).exists()

    participant.move_back(record, duplicate, ana)
    assert balance_of(ana) == 100
    assert balance_of(duplicate) == 30
    assert list(
        LoyaltyEntry.objects.filter(customer=duplicate).values_list("reference_id", flat=True)
    ) == ["B-1"]


@pytest.mark.django_db
def test_loyalty_of_an_unknown_customer_is_404(client):
    response = client.get("/api/v1/customers/5b0c0a4e-8d4a-4c4f-9d61-2f1e0c7d9a11/loyalty/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
