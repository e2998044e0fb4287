"""Consent history, current state, unsubscribe links and SMS STOP."""

from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone

from customers.errors import UnknownConsentChannel, UnknownPhone
from customers.models import ConsentEvent, ConsentState
from customers.services.consent import (
    current_consent,
    has_marketing_consent,
    process_sms_reply,
    record_consent,
    unsubscribe_token,
    unsubscribe_url,
)
from omni.models import Scope
from tests.customers.factories import CustomerFactory, PhoneFactory
from tests.factories import make_token


@pytest.fixture
def ana(db):
    return CustomerFactory(first_name="Ana")


@pytest.mark.django_db
def test_consent_history_is_append_only_and_the_latest_choice_is_current(ana, lisbon):
    record_consent(customer=ana, channel="email", status="granted", form="signup", location=lisbon)
    record_consent(customer=ana, channel="email", status="withdrawn", form="preferences")
    record_consent(customer=ana, channel="sms", status="granted")
    assert ana.consent_events.count() == 3
    state = current_consent(ana)
    assert state["email"].status == "withdrawn"
    assert state["sms"].status == "granted"
    assert state["push"].status is None  # never asked
    assert not has_marketing_consent(ana, "email")
    assert has_marketing_consent(ana, "sms")
    assert not has_marketing_consent(ana, "push")


@pytest.mark.django_db
def test_an_older_event_arriving_late_does_not_override_a_newer_choice(ana):
    now = timezone.now()
    record_consent(customer=ana, channel="email", status="withdrawn", occurred_at=now)
    record_consent(
        customer=ana, channel="email", status="granted", occurred_at=now - timedelta(days=3)
    )
    assert ConsentState.objects.get(customer=ana, channel="email").status == "withdrawn"
    assert current_consent(ana)["email"].status == "withdrawn"


@pytest.mark.django_db
def test_an_unknown_consent_channel_is_refused_and_writes_nothing(ana):
    with pytest.raises(UnknownConsentChannel):
        record_consent(customer=ana, channel="carrier-pigeon", status="granted")
    assert not ConsentEvent.objects.exists()


@pytest.mark.django_db
def test_the_unsubscribe_page_asks_first_then_one_click_post_unsubscribes(ana, client):
    record_consent(customer=ana, channel="email", status="granted")
    url = unsubscribe_url(ana, "email", campaign="spring-sale")
    assert unsubscribe_url(ana, "email", base_url="https://shop.example.com/").startswith(
        "https://shop.example.com/u/"
    )
    page = client.get(url)
    assert page.status_code == 200
    assert b"Unsubscribe from emails?" in page.content
    assert has_marketing_consent(ana, "email")  # a GET (or a link scanner) changes nothing

    done = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert not has_marketing_consent(ana, "email")
    event = ana.consent_events.first()
    assert (event.status, event.campaign_ref, event.form) == (
        "withdrawn",
        "spring-sale",
        "unsubscribe link",
    )


@pytest.mark.django_db
def test_a_tampered_unsubscribe_link_is_refused_and_changes_nothing(ana, client):
    record_consent(customer=ana, channel="email", status="granted")
    token = unsubscribe_token(ana, "email")
    other = CustomerFactory()
    forged = signing.dumps({"c": str(other.public_id), "ch": "email"}, salt="wrong salt")
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), forged, "nonsense"):
        assert client.get(f"/u/{bad}/").status_code == 400
        assert client.post(f"/u/{bad}/", {"List-Unsubscribe": "One-Click"}).status_code == 400
    assert has_marketing_consent(ana, "email")


@pytest.mark.django_db
def test_a_post_without_the_one_click_field_does_not_unsubscribe(ana, client):
    record_consent(customer=ana, channel="email", status="granted")
    response = client.post(unsubscribe_url(ana, "email"), {})
    assert response.status_code == 400
    assert has_marketing_consent(ana, "email")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text", ["STOP", "stop", " Stopall ", "UNSUBSCRIBE please", "cancel", "END", "quit"]
)
def test_every_stop_keyword_withdraws_sms_consent(ana, text):
    PhoneFactory(customer=ana, value="+351912345678")
    record_consent(customer=ana, channel="sms", status="granted")
    outcome = process_sms_reply(phone="912 345 678", text=text, region="PT")
    assert outcome.action == "opted_out"
    assert not has_marketing_consent(ana, "sms")


@pytest.mark.django_db
def test_other_sms_replies_change_nothing_and_an_unknown_phone_is_404(ana):
    PhoneFactory(customer=ana, value="+351912345678")
    record_consent(customer=ana, channel="sms", status="granted")
    assert process_sms_reply(phone="+351912345678", text="Thanks!").action == "ignored"
    assert has_marketing_consent(ana, "sms")
    with pytest.raises(UnknownPhone):
        process_sms_reply(phone="+351912345679", text="STOP")


@pytest.mark.django_db
def test_the_sms_stop_webhook_needs_customers_write_and_answers_404_for_strangers(
    ana, token_client
):
    PhoneFactory(customer=ana, value="+351912345678")
    record_consent(customer=ana, channel="sms", status="granted")
    reader = token_client(make_token([Scope.CUSTOMERS_READ])[1])
    gateway = token_client(make_token([Scope.CUSTOMERS_WRITE], name="SMS gateway")[1])
    body = {"phone": "+351912345678", "text": "STOP"}
    assert reader.post("/api/v1/customers/sms-replies/", body).status_code == 403
    response = gateway.post("/api/v1/customers/sms-replies/", body)
    assert response.status_code == 200
    assert response.json() == {"customer": str(ana.public_id), "action": "opted_out"}
    assert not has_marketing_consent(ana, "sms")
    stranger = gateway.post("/api/v1/customers/sms-replies/", {**body, "phone": "+351912000000"})
    assert stranger.status_code == 404
    assert stranger.json()["error"]["code"] == "unknown_phone"
    garbage = gateway.post("/api/v1/customers/sms-replies/", {**body, "phone": "banana"})
    assert garbage.status_code == 400
    assert garbage.json()["error"]["code"] == "invalid_phone"


@pytest.mark.django_db
def test_consent_listeners_hear_every_recorded_choice(ana):
    from customers import hooks

    heard = []
    hooks.register_consent_listener("tests", heard.append)
    try:
        record_consent(customer=ana, channel="email", status="granted")
    finally:
        hooks._consent_listeners.pop("tests")
    assert [(event.channel, event.status) for event in heard] == [("email", "granted")]
