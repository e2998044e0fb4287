"""Support cases: opened from any channel, a thread of messages and notes, status changes
through a transitions table, the customer's context for whoever picks the case up."""

import pytest

from customers.hooks import merge_participants
from customers.models import CaseMessage, SupportCase, TimelineEntry
from customers.services import cases, loyalty
from omni.models import Role, Scope
from tests.customers.engagement_factories import (
    CustomerFactory,
    IdentityFactory,
    SupportCaseFactory,
)
from tests.factories import make_staff, make_token


@pytest.fixture
def client(db, token_client):
    _, plain = make_token([Scope.CUSTOMERS_READ, Scope.CUSTOMERS_WRITE], name="Call centre")
    return token_client(plain)


@pytest.fixture
def ana(db):
    customer = CustomerFactory(first_name="Ana", last_name="Sousa")
    IdentityFactory(customer=customer, value="ana@example.com")
    return customer


def open_by_phone(client, ana, **extra):
    body = {
        "customer": str(ana.public_id),
        "subject": "Boots arrived damaged",
        "channel": "phone",
        "body": "The left boot has a torn seam.",
        "priority": "high",
        "order_reference": "W-1001",
        **extra,
    }
    return client.post("/api/v1/cases/", body, format="json")


@pytest.mark.django_db
def test_a_case_opened_by_phone_starts_its_thread_and_timeline(client, ana, lisbon):
    response = open_by_phone(client, ana, location="lisbon-chiado")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "open"
    assert body["priority"] == "high"
    assert body["order_reference"] == "W-1001"
    assert body["location"] == "lisbon-chiado"
    assert body["customer"]["public_id"] == str(ana.public_id)
    assert [m["kind"] for m in body["messages"]] == ["customer"]
    assert TimelineEntry.objects.filter(customer=ana, kind="case").count() == 1


@pytest.mark.django_db
def test_anyone_picking_up_the_case_sees_the_whole_thread_and_the_customers_context(client, ana):
    loyalty.earn_points(customer=ana, reference_type="order", reference_id="W-1", points=120)
    earlier = SupportCaseFactory(customer=ana, subject="Where is my refund?")
    case_id = open_by_phone(client, ana).json()["id"]
    rita = make_staff("rita", Role.STORE_ASSOCIATE)
    client.post(
        f"/api/v1/cases/{case_id}/messages/",
        {"kind": "note", "body": "Offered a replacement pair."},
        format="json",
    )
    client.post(f"/api/v1/cases/{case_id}/assign/", {"assignee": rita.pk}, format="json")

    # Rita, in the admin or over the API, opens the case.
    client.force_authenticate(rita)
    detail = client.get(f"/api/v1/cases/{case_id}/").json()
    assert [m["kind"] for m in detail["messages"]] == ["customer", "note", "note"]
    assert detail["messages"][1]["body"] == "Offered a replacement pair."
    assert detail["messages"][1]["author"] == "token:Call centre"
    assert detail["assignee"] == "rita"
    context = detail["customer_context"]
    assert context["identities"] == ["email:ana@example.com"]
    assert context["loyalty_balance"] == 120
    assert [c["id"] for c in context["other_cases"]] == [earlier.pk]


@pytest.mark.django_db
def test_status_moves_along_the_transitions_table(client, ana):
    case_id = open_by_phone(client, ana).json()["id"]
    url = f"/api/v1/cases/{case_id}/status/"
    assert client.post(url, {"status": "pending"}, format="json").json()["status"] == "pending"
    resolved = client.post(url, {"status": "resolved"}, format="json").json()
    assert resolved["resolved_at"] is not None
    closed = client.post(url, {"status": "closed"}, format="json").json()
    assert closed["closed_at"] is not None

    reopen = client.post(url, {"status": "open"}, format="json")
    assert reopen.status_code == 422
    assert reopen.json()["error"]["code"] == "case_transition_not_allowed"
    assert reopen.json()["error"]["details"]["current"] == "closed"
    assert SupportCase.objects.get(pk=case_id).status == "closed"


@pytest.mark.django_db
def test_a_stale_expected_status_is_a_409_and_changes_nothing(client, ana):
    case = cases.open_case(customer=ana, subject="Size exchange", channel="store")
    cases.change_case_status(case=case, status="resolved")
    response = client.post(
        f"/api/v1/cases/{case.pk}/status/",
        {"status": "pending", "expected_status": "open"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "case_changed"
    case.refresh_from_db()
    assert case.status == "resolved"


@pytest.mark.django_db
def test_a_customer_writing_on_a_resolved_case_reopens_it(ana):
    case = cases.open_case(customer=ana, subject="Gift wrap", channel="web")
    cases.change_case_status(case=case, status="resolved")
    cases.add_case_message(case=case, kind=CaseMessage.Kind.CUSTOMER, body="Still not wrapped")
    case.refresh_from_db()
    assert case.status == "open"
    assert case.resolved_at is None


@pytest.mark.django_db
def test_nothing_can_be_added_to_a_closed_case(client, ana):
    case = cases.open_case(customer=ana, subject="Gift wrap", channel="web")
    cases.change_case_status(case=case, status="closed")
    response = client.post(
        f"/api/v1/cases/{case.pk}/messages/", {"kind": "reply", "body": "Hello?"}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "case_closed"
    assert case.messages.count() == 1  # the status note only


@pytest.mark.django_db
def test_case_list_filters_by_status_priority_and_assignee(client, ana):
    rita = make_staff("rita", Role.STORE_ASSOCIATE)
    urgent = SupportCaseFactory(customer=ana, priority="urgent", assignee=rita)
    SupportCaseFactory(customer=ana, priority="low")
    SupportCaseFactory(customer=ana, priority="urgent", status="closed")
    rows = client.get(
        "/api/v1/cases/", {"status": ["open", "pending"], "priority": "urgent"}
    ).json()
    assert [row["id"] for row in rows["results"]] == [urgent.pk]
    mine = client.get("/api/v1/cases/", {"assignee": rita.pk}).json()
    assert [row["id"] for row in mine["results"]] == [urgent.pk]
    assert client.get("/api/v1/cases/", {"unassigned": "true"}).json()["count"] == 2


@pytest.mark.django_db
def test_opening_a_case_with_an_unknown_channel_is_400_and_writes_nothing(client, ana):
    response = open_by_phone(client, ana, channel="pigeon")
    assert response.status_code == 400
    assert "channel" in response.json()["error"]["details"]
    assert not SupportCase.objects.exists()


@pytest.mark.django_db
def test_cases_participant_moves_cases_and_back():
    ana, duplicate = CustomerFactory(), CustomerFactory()
    case = SupportCaseFactory(customer=duplicate)
    participant = {p.name: p for p in merge_participants()}["support_cases"]
    record = participant.move(duplicate, ana)
    case.refresh_from_db()
    assert case.customer == ana
    participant.move_back(record, duplicate, ana)
    case.refresh_from_db()
    assert case.customer == duplicate


@pytest.mark.django_db
def test_the_case_admin_shows_the_thread_and_context(client, ana):
    case = cases.open_case(
        customer=ana, subject="Boots arrived damaged", channel="phone", body="Torn seam."
    )
    admin_user = make_staff("admin", Role.ADMINISTRATOR)
    admin_user.is_superuser = True
    admin_user.save()
    from django.test import Client

    browser = Client()
    browser.force_login(admin_user)
    listing = browser.get("/admin/customers/supportcase/?status__exact=open")
    assert listing.status_code == 200
    assert b"Boots arrived damaged" in listing.content
    page = browser.get(f"/admin/customers/supportcase/{case.pk}/change/")
    assert page.status_code == 200
    assert b"Torn seam." in page.content
    assert b"ana@example.com" in page.content


@pytest.mark.django_db
def test_staff_add_a_note_and_assign_from_the_admin_through_the_services(ana):
    case = cases.open_case(customer=ana, subject="Boots", channel="phone", body="Torn seam.")
    admin_user = make_staff("admin", Role.ADMINISTRATOR)
    admin_user.is_superuser = True
    admin_user.save()
    rita = make_staff("rita", Role.STORE_ASSOCIATE)
    from django.test import Client

    browser = Client()
    browser.force_login(admin_user)
    existing = list(case.messages.all())
    data = {
        "subject": "Boots",
        "customer": ana.pk,
        "priority": "urgent",
        "assignee": rita.pk,
        "channel": "phone",
        "location": "",
        "order_reference": "",
        "messages-TOTAL_FORMS": len(existing) + 1,
        "messages-INITIAL_FORMS": len(existing),
        "messages-MIN_NUM_FORMS": 0,
        "messages-MAX_NUM_FORMS": 1000,
        f"messages-{len(existing)}-kind": "note",
        f"messages-{len(existing)}-body": "Courier pick-up booked.",
        f"messages-{len(existing)}-channel": "",
        f"messages-{len(existing)}-case": case.pk,
    }
    for index, message in enumerate(existing):
        data[f"messages-{index}-id"] = message.pk
        data[f"messages-{index}-case"] = case.pk
    response = browser.post(f"/admin/customers/supportcase/{case.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    case.refresh_from_db()
    assert case.priority == "urgent"
    assert case.assignee == rita
    bodies = list(case.messages.values_list("body", flat=True))
    assert bodies == ["Torn seam.", "Assigned to rita.", "Courier pick-up booked."]
    assert case.messages.get(body="Courier pick-up booked.").author_label == "user:admin"


@pytest.mark.django_db(transaction=True)
def test_two_people_changing_the_same_case_at_once_cannot_both_win():
    import threading

    from django.db import connection

    case = cases.open_case(customer=CustomerFactory(), subject="Refund", channel="web")
    barrier = threading.Barrier(2)
    outcomes = []

    def change(status):
        try:
            barrier.wait()
            cases.change_case_status(
                case=SupportCase.objects.get(pk=case.pk), status=status, expected_status="open"
            )
            outcomes.append(status)
        except cases.CaseChanged:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=change, args=(s,)) for s in ("pending", "resolved")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("refused") == 1
    winner = next(outcome for outcome in outcomes if outcome != "refused")
    case.refresh_from_db()
    assert case.status == winner
    assert case.messages.filter(kind="note").count() == 1
