"""Customer metrics: a hand-computed example, idempotent recording, RFM quintiles."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from customers.hooks import merge_participants
from customers.models import CustomerMetrics, LoyaltyAccount, MetricsFact, TimelineEntry
from customers.services import metrics
from omni.models import Scope
from omni.services import _SCHEDULES
from tests.customers.engagement_factories import CustomerFactory, PurchaseFactFactory
from tests.factories import make_token

AS_OF = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def buy(customer, reference, when, channel, revenue, cost, discount, location=None):
    return metrics.record_purchase(
        customer=customer,
        order_reference=reference,
        occurred_at=when,
        channel=channel,
        location=location,
        revenue=Decimal(revenue),
        cost=Decimal(cost),
        discount=Decimal(discount),
        currency="EUR",
    )


@pytest.fixture
def ana_with_history(lisbon):
    """Ana: a web order last year, two Lisbon store orders this year, one return."""
    ana = CustomerFactory(first_name="Ana")
    buy(ana, "O-1", datetime(2025, 3, 1, 10, tzinfo=UTC), "web", "200.00", "80.00", "0.00")
    buy(
        ana,
        "O-2",
        datetime(2026, 1, 15, 10, tzinfo=UTC),
        "store",
        "150.00",
        "60.00",
        "10.00",
        lisbon,
    )
    buy(
        ana,
        "O-3",
        datetime(2026, 6, 20, 12, tzinfo=UTC),
        "store",
        "300.00",
        "120.00",
        "30.00",
        lisbon,
    )
    metrics.record_return(
        customer=ana,
        return_reference="R-1",
        occurred_at=datetime(2026, 6, 25, 12, tzinfo=UTC),
        amount=Decimal("50.00"),
        cost=Decimal("20.00"),
    )
    return ana


@pytest.mark.django_db
def test_metrics_match_a_hand_computed_example(ana_with_history, lisbon):
    metrics.refresh_customer_metrics(customer_ids=[ana_with_history.pk], as_of=AS_OF)
    m = CustomerMetrics.objects.get(customer=ana_with_history)

    assert m.order_count == 3
    assert m.return_count == 1
    assert m.revenue == Decimal("650.00")  # 200 + 150 + 300
    assert m.discounts == Decimal("40.00")  # 0 + 10 + 30
    assert m.returns == Decimal("50.00")
    assert m.cost_of_goods == Decimal("240.00")  # 80 + 60 + 120 - 20 (came back)
    assert m.average_order_value == Decimal("203.33")  # (650 - 40) / 3
    assert m.first_order_at == datetime(2025, 3, 1, 10, tzinfo=UTC)
    assert m.last_order_at == datetime(2026, 6, 20, 12, tzinfo=UTC)
    assert m.recency_days == 10  # 20 June → 30 June
    assert m.frequency == 2  # O-2 and O-3 fall within the 365 days before 30 June 2026
    assert m.monetary == Decimal("360.00")  # (140 + 270) paid - 50 returned
    assert m.repurchase_rate == Decimal("0.6667")  # 2 of 3 orders were repeats
    assert m.return_rate == Decimal("0.0820")  # 50 / 610
    assert m.lifetime_value == Decimal("560.00")  # 650 - 40 - 50
    assert m.profitability == Decimal("320.00")  # 650 - 240 - 40 - 50
    assert m.lifecycle_stage == "active"  # bought 10 days ago, first order > 90 days ago
    assert m.preferred_channel == "store"  # 2 store orders, 1 web
    assert m.preferred_store == lisbon
    assert m.channels_used == ["store", "web"]
    assert m.is_multichannel
    # Loyalty: 200 + 140 + 270 points earned, 50 clawed back; 360 spent: still bronze.
    account = LoyaltyAccount.objects.get(customer=ana_with_history)
    assert account.balance == 560
    assert account.tier == "bronze"


@pytest.mark.django_db
def test_recording_the_same_order_twice_counts_it_once(lisbon):
    ana = CustomerFactory()
    first = buy(ana, "O-1", AS_OF, "web", "80.00", "30.00", "0.00")
    again = buy(ana, "O-1", AS_OF, "web", "80.00", "30.00", "0.00")
    assert first.created
    assert not again.created
    assert MetricsFact.objects.filter(reference="O-1").count() == 1
    assert CustomerMetrics.objects.get(customer=ana).order_count == 1
    assert LoyaltyAccount.objects.get(customer=ana).balance == 80
    assert TimelineEntry.objects.filter(customer=ana, kind="order").count() == 1


@pytest.mark.django_db
def test_negative_amounts_are_refused_and_nothing_is_written():
    ana = CustomerFactory()
    with pytest.raises(metrics.InvalidAmount):
        buy(ana, "O-1", AS_OF, "web", "-1.00", "0.00", "0.00")
    assert not MetricsFact.objects.exists()


@pytest.mark.django_db
def test_a_purchase_for_a_merged_away_customer_lands_on_the_survivor():
    survivor = CustomerFactory()
    merged = CustomerFactory(merged_into=survivor)
    buy(merged, "O-1", AS_OF, "app", "10.00", "4.00", "0.00")
    assert MetricsFact.objects.get(reference="O-1").customer == survivor


@pytest.mark.django_db
def test_lifecycle_stages_follow_the_written_thresholds():
    prospect = CustomerFactory()
    new = CustomerFactory()
    at_risk = CustomerFactory()
    lapsed = CustomerFactory()
    vip = CustomerFactory()
    PurchaseFactFactory(customer=new, occurred_at=AS_OF - timedelta(days=30))
    PurchaseFactFactory(customer=at_risk, occurred_at=AS_OF - timedelta(days=200))
    PurchaseFactFactory(customer=lapsed, occurred_at=AS_OF - timedelta(days=400))
    PurchaseFactFactory(customer=vip, occurred_at=AS_OF - timedelta(days=5), revenue=2000)
    metrics.recompute_all_metrics(as_of=AS_OF)
    stages = dict(CustomerMetrics.objects.values_list("customer_id", "lifecycle_stage"))
    assert stages[prospect.pk] == "prospect"
    assert stages[new.pk] == "new"
    assert stages[at_risk.pk] == "at_risk"
    assert stages[lapsed.pk] == "lapsed"
    assert stages[vip.pk] == "vip"
    assert LoyaltyAccount.objects.get(customer=vip).tier == "gold"


def population(recency_rises_with_spend: bool):
    """Ten buyers: customer i placed i+1 orders of 100 EUR. Their last order is
    10×(10-i) days ago (the big spenders are the recent ones) or 10×(i+1) days ago."""
    customers = []
    for i in range(10):
        customer = CustomerFactory(first_name=f"C{i}")
        days = 10 * (10 - i) if recency_rises_with_spend else 10 * (i + 1)
        for k in range(i + 1):
            PurchaseFactFactory(customer=customer, occurred_at=AS_OF - timedelta(days=days + k))
        customers.append(customer)
    return customers


def scores(customers):
    rows = {
        m.customer_id: (m.r_score, m.f_score, m.m_score, m.rfm_segment)
        for m in CustomerMetrics.objects.all()
    }
    return [rows[customer.pk] for customer in customers]


@pytest.mark.django_db
def test_rfm_quintiles_rank_a_small_population_in_pairs():
    customers = population(recency_rises_with_spend=True)
    prospect = CustomerFactory()
    metrics.recompute_all_metrics(as_of=AS_OF)
    # Ten buyers in five quintiles: two per quintile, the same for R, F and M here.
    assert scores(customers) == [
        (1, 1, 1, "lost"),
        (1, 1, 1, "lost"),
        (2, 2, 2, "hibernating"),
        (2, 2, 2, "hibernating"),
        (3, 3, 3, "loyal"),
        (3, 3, 3, "loyal"),
        (4, 4, 4, "champions"),
        (4, 4, 4, "champions"),
        (5, 5, 5, "champions"),
        (5, 5, 5, "champions"),
    ]
    assert scores([prospect]) == [(None, None, None, "")]


@pytest.mark.django_db
def test_rfm_segments_when_the_best_customers_have_gone_quiet():
    customers = population(recency_rises_with_spend=False)
    metrics.recompute_all_metrics(as_of=AS_OF)
    assert scores(customers) == [
        (5, 1, 1, "new"),
        (5, 1, 1, "new"),
        (4, 2, 2, "potential_loyalist"),
        (4, 2, 2, "potential_loyalist"),
        (3, 3, 3, "loyal"),
        (3, 3, 3, "loyal"),
        (2, 4, 4, "at_risk"),
        (2, 4, 4, "at_risk"),
        (1, 5, 5, "cant_lose"),
        (1, 5, 5, "cant_lose"),
    ]


@pytest.mark.django_db
def test_merged_away_customers_are_left_out_of_the_quintiles():
    survivor = CustomerFactory()
    merged = CustomerFactory(merged_into=survivor)
    PurchaseFactFactory(customer=merged)
    PurchaseFactFactory(customer=survivor)
    metrics.recompute_all_metrics(as_of=AS_OF)
    assert CustomerMetrics.objects.get(customer=merged).r_score is None
    assert CustomerMetrics.objects.get(customer=survivor).r_score == 1


@pytest.mark.django_db
def test_the_nightly_recompute_is_scheduled_and_can_run_twice():
    assert _SCHEDULES["Recompute customer metrics"] == {
        "task": "customers.recompute_metrics",
        "every_seconds": None,
        "crontab": "30 2 * * *",
    }
    from customers.engagement_tasks import recompute_metrics

    ana = CustomerFactory()
    PurchaseFactFactory(customer=ana)
    recompute_metrics()
    first = CustomerMetrics.objects.get(customer=ana)
    recompute_metrics()
    again = CustomerMetrics.objects.get(customer=ana)
    assert (first.order_count, first.r_score) == (again.order_count, again.r_score) == (1, 1)


@pytest.mark.django_db
def test_metrics_participant_moves_facts_and_recomputes_both_customers_and_back():
    ana, duplicate = CustomerFactory(), CustomerFactory()
    buy(ana, "A-1", AS_OF, "web", "100.00", "40.00", "0.00")
    buy(duplicate, "B-1", AS_OF, "store", "60.00", "20.00", "0.00")
    participant = {p.name: p for p in merge_participants()}["metrics"]

    record = participant.move(duplicate, ana)
    assert CustomerMetrics.objects.get(customer=ana).order_count == 2
    assert CustomerMetrics.objects.get(customer=ana).channels_used == ["store", "web"]
    assert CustomerMetrics.objects.get(customer=duplicate).order_count == 0

    participant.move_back(record, duplicate, ana)
    assert CustomerMetrics.objects.get(customer=ana).order_count == 1
    assert CustomerMetrics.objects.get(customer=duplicate).revenue == Decimal("60.00")


@pytest.mark.django_db
def test_metrics_endpoint_renders_money_as_strings(ana_with_history, token_client):
    _, plain = make_token([Scope.CUSTOMERS_READ])
    response = token_client(plain).get(f"/api/v1/customers/{ana_with_history.public_id}/metrics/")
    assert response.status_code == 200
    body = response.json()
    assert body["order_count"] == 3
    assert body["revenue"] == "650.00"
    assert body["currency"] == "EUR"
    assert body["preferred_store"] == "lisbon-chiado"
    assert body["is_multichannel"] is True


def run_in_threads(count, work):
    import threading

    from django.db import connection

    barrier = threading.Barrier(count)
    errors = []

    def run(index):
        try:
            barrier.wait()
            work(index)
        except Exception as exc:  # noqa: BLE001 - the test asserts there were none
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_purchases_of_one_customer_are_all_counted_and_retries_once():
    ana = CustomerFactory()
    now = datetime.now(tz=UTC)

    def work(index):
        # Pairs of threads send the same order, as a retrying client would.
        buy(ana, f"O-{index // 2}", now, "web", "10.00", "4.00", "0.00")

    assert run_in_threads(8, work) == []
    m = CustomerMetrics.objects.get(customer=ana)
    assert m.order_count == 4
    assert m.revenue == Decimal("40.00")
    assert LoyaltyAccount.objects.get(customer=ana).balance == 40
    assert TimelineEntry.objects.filter(customer=ana, kind="order").count() == 4


@pytest.mark.celery_worker
def test_the_nightly_recompute_runs_on_a_real_worker(celery_worker_thread):
    import time

    from customers.engagement_tasks import recompute_metrics

    ana = CustomerFactory()
    PurchaseFactFactory(customer=ana)
    recompute_metrics.delay()
    deadline = time.monotonic() + 20
    while not CustomerMetrics.objects.filter(customer=ana, r_score__isnull=False).exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert CustomerMetrics.objects.get(customer=ana).r_score == 1
