"""The customer timeline: idempotent writes, one feed per customer, merges."""

from datetime import UTC, datetime, timedelta

import pytest

from customers.hooks import merge_participants
from customers.models import TimelineEntry
from customers.services.timeline import add_timeline_entry, timeline_for
from omni.models import Scope
from tests.customers.engagement_factories import CustomerFactory, TimelineEntryFactory
from tests.factories import make_token

T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)


@pytest.fixture
def client(db, token_client):
    _, plain = make_token([Scope.CUSTOMERS_READ])
    return token_client(plain)


@pytest.mark.django_db
def test_an_entry_with_a_reference_is_written_once_whatever_the_retries(lisbon):
    ana = CustomerFactory()
    entries = [
        add_timeline_entry(
            customer=ana,
            kind="order",
            occurred_at=T0,
            title="Order W-100",
            channel="web",
            location=lisbon,
            data={"total": "42.00"},
            reference_type="order",
            reference_id="W-100",
        )
        for _ in range(3)
    ]
    assert len({entry.pk for entry in entries}) == 1
    assert TimelineEntry.objects.filter(customer=ana).count() == 1


@pytest.mark.django_db
def test_entries_without_a_reference_are_all_kept():
    ana = CustomerFactory()
    for _ in range(2):
        add_timeline_entry(customer=ana, kind="message", occurred_at=T0, title="Newsletter")
    assert TimelineEntry.objects.filter(customer=ana).count() == 2


@pytest.mark.django_db
def test_an_entry_for_a_merged_away_customer_goes_to_the_survivor():
    survivor = CustomerFactory()
    merged = CustomerFactory(merged_into=survivor)
    entry = add_timeline_entry(customer=merged, kind="consent", occurred_at=T0, title="Opted in")
    assert entry.customer == survivor


@pytest.mark.django_db
def test_the_feed_is_chronological_newest_first_across_channels():
    ana = CustomerFactory()
    older = TimelineEntryFactory(customer=ana, kind="order", occurred_at=T0, channel="store")
    newest = TimelineEntryFactory(
        customer=ana, kind="app_event", occurred_at=T0 + timedelta(days=2), channel="app"
    )
    middle = TimelineEntryFactory(
        customer=ana, kind="case", occurred_at=T0 + timedelta(days=1), channel="phone"
    )
    TimelineEntryFactory()  # someone else's
    assert list(timeline_for(ana)) == [newest, middle, older]
    assert list(timeline_for(ana, kinds=["order", "case"])) == [middle, older]


@pytest.mark.django_db
def test_timeline_endpoint_paginates_and_filters_by_kind(client):
    ana = CustomerFactory()
    for day in range(5):
        TimelineEntryFactory(customer=ana, kind="web_event", occurred_at=T0 + timedelta(days=day))
    TimelineEntryFactory(customer=ana, kind="order", occurred_at=T0 - timedelta(days=1))
    url = f"/api/v1/customers/{ana.public_id}/timeline/"

    page = client.get(url, {"page_size": 2}).json()
    assert page["count"] == 6
    assert len(page["results"]) == 2
    assert page["results"][0]["occurred_at"] == "2026-06-05T09:00:00Z"
    assert page["next"]

    orders = client.get(url, {"kind": ["order", "case"]}).json()
    assert [row["kind"] for row in orders["results"]] == ["order"]

    bad = client.get(url, {"kind": "horoscope"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_input"


@pytest.mark.django_db
def test_a_merged_away_public_id_shows_the_survivors_timeline(client):
    survivor = CustomerFactory()
    merged = CustomerFactory(merged_into=survivor)
    TimelineEntryFactory(customer=survivor, title="Bought boots")
    response = client.get(f"/api/v1/customers/{merged.public_id}/timeline/")
    assert [row["title"] for row in response.json()["results"]] == ["Bought boots"]


@pytest.mark.django_db
def test_timeline_needs_customers_read(token_client):
    _, plain = make_token([Scope.STOCK_READ])
    ana = CustomerFactory()
    response = token_client(plain).get(f"/api/v1/customers/{ana.public_id}/timeline/")
    assert response.status_code == 403


@pytest.mark.django_db
def test_timeline_participant_moves_entries_and_back():
    ana, duplicate = CustomerFactory(), CustomerFactory()
    kept = TimelineEntryFactory(customer=ana)
    moved = TimelineEntryFactory(customer=duplicate)
    participant = {p.name: p for p in merge_participants()}["timeline"]

    record = participant.move(duplicate, ana)
    assert set(timeline_for(ana)) == {kept, moved}

    participant.move_back(record, duplicate, ana)
    assert list(timeline_for(ana)) == [kept]
    assert list(timeline_for(duplicate)) == [moved]
