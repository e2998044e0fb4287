"""Feedback: CSAT 1–5 and NPS 0–10, about an order, a case or a store visit."""

import pytest
from django.db import IntegrityError

from customers.hooks import merge_participants
from customers.models import Feedback, TimelineEntry
from customers.services.feedback import record_feedback
from omni.models import Scope
from tests.customers.engagement_factories import CustomerFactory, SupportCaseFactory
from tests.factories import make_token


@pytest.fixture
def client(db, token_client):
    _, plain = make_token([Scope.CUSTOMERS_READ, Scope.CUSTOMERS_WRITE])
    return token_client(plain)


@pytest.mark.django_db
def test_a_csat_about_a_store_visit_is_stored_and_on_the_timeline(client, lisbon):
    ana = CustomerFactory()
    response = client.post(
        "/api/v1/feedback/",
        {
            "customer": str(ana.public_id),
            "kind": "csat",
            "score": 5,
            "comment": "Rita found my size in the back",
            "location": "lisbon-chiado",
            "channel": "store",
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["location"] == "lisbon-chiado"
    feedback = Feedback.objects.get()
    assert (feedback.customer, feedback.score, feedback.location) == (ana, 5, lisbon)
    entry = TimelineEntry.objects.get(customer=ana, kind="feedback")
    assert entry.title == "Satisfaction 5"


@pytest.mark.django_db
def test_an_nps_about_a_case_and_one_about_an_order():
    ana = CustomerFactory()
    case = SupportCaseFactory(customer=ana)
    record_feedback(customer=ana, kind="nps", score=0, case=case)
    record_feedback(customer=ana, kind="nps", score=10, order_reference="W-1")
    assert sorted(Feedback.objects.values_list("score", flat=True)) == [0, 10]


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "score"), [("csat", 0), ("csat", 6), ("nps", -1), ("nps", 11)])
def test_a_score_out_of_range_is_400_and_writes_nothing(client, kind, score):
    ana = CustomerFactory()
    response = client.post(
        "/api/v1/feedback/",
        {"customer": str(ana.public_id), "kind": kind, "score": score, "order_reference": "W-1"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "score_out_of_range"
    assert not Feedback.objects.exists()
    assert not TimelineEntry.objects.exists()


@pytest.mark.django_db
def test_feedback_about_nothing_is_400(client):
    ana = CustomerFactory()
    response = client.post(
        "/api/v1/feedback/",
        {"customer": str(ana.public_id), "kind": "csat", "score": 3},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "feedback_without_subject"
    assert not Feedback.objects.exists()


@pytest.mark.django_db
def test_the_database_refuses_out_of_range_scores_too():
    ana = CustomerFactory()
    with pytest.raises(IntegrityError):
        Feedback.objects.create(customer=ana, kind="csat", score=9, order_reference="W-1")


@pytest.mark.django_db
def test_feedback_list_filters_by_kind_and_customer(client):
    ana, rui = CustomerFactory(), CustomerFactory()
    record_feedback(customer=ana, kind="csat", score=4, order_reference="W-1")
    record_feedback(customer=ana, kind="nps", score=9, order_reference="W-1")
    record_feedback(customer=rui, kind="csat", score=2, order_reference="W-2")
    rows = client.get("/api/v1/feedback/", {"kind": "csat", "customer": str(ana.public_id)})
    assert [row["score"] for row in rows.json()["results"]] == [4]


@pytest.mark.django_db
def test_feedback_participant_moves_answers_and_back():
    ana, duplicate = CustomerFactory(), CustomerFactory()
    answer = record_feedback(customer=duplicate, kind="csat", score=3, order_reference="W-1")
    participant = {p.name: p for p in merge_participants()}["feedback"]
    record = participant.move(duplicate, ana)
    answer.refresh_from_db()
    assert answer.customer == ana
    participant.move_back(record, duplicate, ana)
    answer.refresh_from_db()
    assert answer.customer == duplicate


@pytest.mark.django_db
def test_feedback_about_someone_elses_case_is_400(client):
    ana, rui = CustomerFactory(), CustomerFactory()
    ruis_case = SupportCaseFactory(customer=rui)
    response = client.post(
        "/api/v1/feedback/",
        {"customer": str(ana.public_id), "kind": "csat", "score": 4, "case": ruis_case.pk},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "feedback_case_mismatch"
    assert not Feedback.objects.exists()
