"""Activity ingestion: batches, idempotency by event ID, identity look-up, stitching."""

from datetime import UTC, datetime

import pytest

from customers.hooks import identity_listeners, merge_participants
from customers.models import ActivityEvent, Identity, TimelineEntry
from omni.models import Scope
from tests.customers.engagement_factories import (
    ActivityEventFactory,
    CustomerFactory,
    IdentityFactory,
)
from tests.factories import make_token

URL = "/api/v1/events/batch/"


@pytest.fixture
def app_client(db, token_client):
    _, plain = make_token([Scope.EVENTS_WRITE], name="Mobile app")
    return token_client(plain)


def event(event_id, type_="product_viewed", **extra):
    return {
        "event_id": event_id,
        "type": type_,
        "occurred_at": "2026-06-01T10:00:00Z",
        "channel": "app",
        "device_id": "iphone-ana",
        **extra,
    }


@pytest.mark.django_db
def test_a_batch_reports_each_event_and_a_resent_batch_writes_nothing(app_client):
    batch = {
        "events": [
            event("e1", properties={"sku": "BOOT-38"}),
            event("e2", "added_to_cart"),
            event("e1"),  # repeated inside the batch
            event("e3", "teleported"),
            {"type": "app_opened"},
        ]
    }
    first = app_client.post(URL, batch, format="json")
    assert first.status_code == 200
    body = first.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 1, 2)
    assert [r["status"] for r in body["results"]] == [
        "accepted",
        "accepted",
        "duplicate",
        "rejected",
        "rejected",
    ]
    assert "type" in body["results"][3]["errors"]
    assert body["results"][4]["event_id"] is None

    again = app_client.post(URL, batch, format="json").json()
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 3, 2)
    assert ActivityEvent.objects.count() == 2
    assert ActivityEvent.objects.get(event_id="e1").properties == {"sku": "BOOT-38"}


@pytest.mark.django_db
def test_events_are_matched_to_customers_by_email_phone_public_id_or_device(app_client):
    ana = CustomerFactory()
    IdentityFactory(customer=ana, kind=Identity.Kind.EMAIL, value="ana@example.com")
    IdentityFactory(customer=ana, kind=Identity.Kind.PHONE, value="+351912345678")
    IdentityFactory(customer=ana, kind=Identity.Kind.APP_INSTALL, value="ipad-ana")
    rui = CustomerFactory()
    batch = {
        "events": [
            event("by-email", device_id="", email="  Ana@Example.COM "),
            event("by-phone", device_id="", phone="+351912345678"),
            event("by-device", device_id="ipad-ana"),
            event("by-id", device_id="", customer=str(rui.public_id)),
            event("anonymous", device_id="unknown-phone"),
        ]
    }
    assert app_client.post(URL, batch, format="json").json()["accepted"] == 5
    owners = dict(ActivityEvent.objects.values_list("event_id", "customer_id"))
    assert owners == {
        "by-email": ana.pk,
        "by-phone": ana.pk,
        "by-device": ana.pk,
        "by-id": rui.pk,
        "anonymous": None,
    }
    assert TimelineEntry.objects.filter(customer=ana, kind="app_event").count() == 3
    assert not TimelineEntry.objects.filter(reference_id="anonymous").exists()


@pytest.mark.django_db
def test_a_store_visit_becomes_a_store_visit_on_the_timeline(app_client, lisbon):
    ana = CustomerFactory()
    IdentityFactory(customer=ana, kind=Identity.Kind.APP_INSTALL, value="iphone-ana")
    batch = {"events": [event("v1", "store_visited", location="lisbon-chiado")]}
    assert app_client.post(URL, batch, format="json").json()["accepted"] == 1
    entry = TimelineEntry.objects.get(customer=ana, kind="store_visit")
    assert entry.location == lisbon
    assert entry.title == "Store visited"


@pytest.mark.django_db
def test_a_store_visit_without_a_known_store_is_rejected_alone(app_client):
    batch = {
        "events": [
            event("v1", "store_visited"),
            event("v2", "store_visited", location="atlantis"),
            event("ok"),
        ]
    }
    body = app_client.post(URL, batch, format="json").json()
    assert [r["status"] for r in body["results"]] == ["rejected", "rejected", "accepted"]
    assert list(ActivityEvent.objects.values_list("event_id", flat=True)) == ["ok"]


@pytest.mark.django_db
def test_a_batch_over_500_events_is_400_and_writes_nothing(app_client):
    batch = {"events": [event(f"e{i}") for i in range(501)]}
    response = app_client.post(URL, batch, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"
    assert not ActivityEvent.objects.exists()


@pytest.mark.django_db
def test_posting_events_needs_the_events_write_scope(token_client):
    _, plain = make_token([Scope.CUSTOMERS_WRITE])
    response = token_client(plain).post(URL, {"events": [event("e1")]}, format="json")
    assert response.status_code == 403
    assert not ActivityEvent.objects.exists()


@pytest.mark.django_db
def test_anonymous_device_events_are_stitched_once_the_device_is_identified(app_client):
    app_client.post(URL, {"events": [event("a1"), event("a2", "searched")]}, format="json")
    assert ActivityEvent.objects.filter(customer__isnull=True).count() == 2

    # Ana signs in on the app: the identity service attaches the device and tells listeners.
    ana = CustomerFactory()
    identity = IdentityFactory(customer=ana, kind=Identity.Kind.APP_INSTALL, value="iphone-ana")
    for listener in identity_listeners():
        listener(identity)

    assert set(ActivityEvent.objects.values_list("customer_id", flat=True)) == {ana.pk}
    assert TimelineEntry.objects.filter(customer=ana, kind="app_event").count() == 2
    # Her web events (by email) and app events now make one cross-device history.
    IdentityFactory(customer=ana, kind=Identity.Kind.EMAIL, value="ana@example.com")
    web = event("w1", channel="web", device_id="laptop-cookie", email="ana@example.com")
    app_client.post(URL, {"events": [web]}, format="json")
    assert ActivityEvent.objects.filter(customer=ana).count() == 3


@pytest.mark.django_db
def test_stitching_ignores_other_identity_kinds_and_is_idempotent():
    ActivityEventFactory(device_id="ana@example.com")
    ana = CustomerFactory()
    email = IdentityFactory(customer=ana, kind=Identity.Kind.EMAIL, value="ana@example.com")
    for listener in identity_listeners():
        listener(email)
    assert ActivityEvent.objects.get().customer is None

    device = IdentityFactory(customer=ana, kind=Identity.Kind.APP_INSTALL, value="dev-9")
    ActivityEventFactory(device_id="dev-9", event_id="x")
    for _ in range(2):
        for listener in identity_listeners():
            listener(device)
    assert TimelineEntry.objects.filter(reference_id="x").count() == 1


@pytest.mark.django_db
def test_events_participant_moves_events_and_back():
    ana, duplicate = CustomerFactory(), CustomerFactory()
    mine = ActivityEventFactory(customer=duplicate, occurred_at=datetime(2026, 1, 1, tzinfo=UTC))
    participant = {p.name: p for p in merge_participants()}["activity_events"]
    record = participant.move(duplicate, ana)
    mine.refresh_from_db()
    assert mine.customer == ana
    participant.move_back(record, duplicate, ana)
    mine.refresh_from_db()
    assert mine.customer == duplicate


@pytest.mark.django_db
def test_a_full_batch_of_500_is_written_in_one_go(app_client, django_assert_max_num_queries):
    ana = CustomerFactory()
    IdentityFactory(customer=ana, kind=Identity.Kind.APP_INSTALL, value="iphone-ana")
    batch = {"events": [event(f"e{i}") for i in range(500)]}
    # Token checks, four identity look-ups, one insert, one timeline insert, savepoints.
    with django_assert_max_num_queries(20):
        body = app_client.post(URL, batch, format="json").json()
    assert body["accepted"] == 500
    assert TimelineEntry.objects.filter(customer=ana).count() == 500


@pytest.mark.django_db
def test_an_event_with_oversized_properties_is_rejected_alone(app_client):
    batch = {"events": [event("big", properties={"blob": "x" * 9000}), event("small")]}
    body = app_client.post(URL, batch, format="json").json()
    assert [r["status"] for r in body["results"]] == ["rejected", "accepted"]
    assert "properties" in body["results"][0]["errors"]
