import pytest

from campaigns.models import Campaign, Delivery, EmailVariant, Message, SmsVariant
from tests.campaigns.factories import campaign_with_variants, reachable_customer
from tests.campaigns.policy import StatedPolicy
from tests.factories import make_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(token_client):
    _, plain = make_token(["campaigns:read", "campaigns:write"], name="Marketing")
    return token_client(plain)


@pytest.fixture
def reader(token_client):
    _, plain = make_token(["campaigns:read"], name="Reports")
    return token_client(plain)


def test_a_marketer_creates_a_campaign_with_an_sms_first_priority(marketer):
    response = marketer.post(
        "/api/v1/campaigns/",
        {"name": "Spring sale", "channels": ["sms", "email"], "goal": "revenue"},
    )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft"
    assert body["channels"] == ["sms", "email"]
    assert body["messages"] == [{"step_key": "main", "email": None, "sms": None, "push": None}]


def test_an_unknown_channel_is_refused_and_nothing_is_written(marketer):
    response = marketer.post("/api/v1/campaigns/", {"name": "Fax blast", "channels": ["fax"]})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert "channels" in error["details"]
    assert Campaign.objects.count() == 0


def test_a_reader_token_cannot_create_campaigns(reader):
    response = reader.post("/api/v1/campaigns/", {"name": "Nope", "channels": ["email"]})

    assert response.status_code == 403
    assert Campaign.objects.count() == 0


def test_variants_are_set_per_channel_and_an_incomplete_one_writes_nothing(marketer):
    campaign = campaign_with_variants(channels=["email", "sms"])
    url = f"/api/v1/campaigns/{campaign.public_id}/message/"
    before = SmsVariant.objects.get().text

    bad = marketer.put(
        url,
        {"sms": {"text": "   "}, "email": {"subject": "New", "html": "<p>new</p>"}},
    )
    good = marketer.put(url, {"sms": {"text": "Hi {{ first_name }}!"}, "push": None})

    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_input"
    assert SmsVariant.objects.get().text == "Hi {{ first_name }}!"
    assert good.status_code == 200
    assert good.json()["sms"] == {"text": "Hi {{ first_name }}!"}
    assert before != "Hi {{ first_name }}!"
    assert EmailVariant.objects.get().subject != "New"


def test_a_template_that_loads_tags_is_refused(marketer):
    campaign = campaign_with_variants(channels=["sms"])

    response = marketer.put(
        f"/api/v1/campaigns/{campaign.public_id}/message/",
        {"sms": {"text": "{% load static %}{% static 'x' %}"}},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_template"
    assert "{% load" not in SmsVariant.objects.get().text


def test_sending_with_a_selected_channel_without_a_variant_is_refused_and_writes_nothing(
    marketer,
):
    ana = reachable_customer()
    campaign = campaign_with_variants(channels=["email"])
    Campaign.objects.filter(pk=campaign.pk).update(channels=["email", "sms"])

    response = marketer.post(
        f"/api/v1/campaigns/{campaign.public_id}/send/", {"customers": [str(ana.public_id)]}
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "missing_variant"
    assert error["details"] == {"channels": ["sms"]}
    assert Delivery.objects.count() == 0
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_sending_to_unknown_customers_is_refused_and_writes_nothing(marketer):
    ana = reachable_customer()
    campaign = campaign_with_variants(channels=["email"])
    ghost = "00000000-0000-4000-8000-000000000000"

    response = marketer.post(
        f"/api/v1/campaigns/{campaign.public_id}/send/",
        {"customers": [str(ana.public_id), ghost]},
    )

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"customers": [ghost]}
    assert Delivery.objects.count() == 0


def test_send_now_queues_deliveries_and_the_log_shows_skip_reasons(
    marketer, django_capture_on_commit_callbacks
):
    ana = reachable_customer(first_name="Ana")
    bruno = reachable_customer(first_name="Bruno")
    carla = reachable_customer(first_name="Carla", email=False, phone=False)
    StatedPolicy.grant(ana, "email")
    campaign = campaign_with_variants(channels=["email"])

    with django_capture_on_commit_callbacks() as callbacks:
        response = marketer.post(
            f"/api/v1/campaigns/{campaign.public_id}/send/",
            {"customers": [str(c.public_id) for c in (ana, bruno, carla)]},
        )
    again = marketer.post(
        f"/api/v1/campaigns/{campaign.public_id}/send/", {"customers": [str(ana.public_id)]}
    )
    log = marketer.get(
        "/api/v1/campaign-deliveries/",
        {"campaign": str(campaign.public_id), "skip_reason": "no_address"},
    )

    assert response.status_code == 202
    body = response.json()
    assert (body["queued"], body["skipped"], body["batches"]) == (2, {"no_address": 1}, 1)
    assert body["campaign"]["status"] == "sending"
    assert len(callbacks) == 1
    assert again.json()["queued"] == 0
    assert again.json()["skipped"] == {"already_sent": 1}
    assert Delivery.objects.filter(campaign=campaign).count() == 3
    [row] = log.json()["results"]
    assert row["customer"] == str(carla.public_id)
    assert row["state"] == "skipped"


def test_send_to_all_with_consent_reaches_only_consenting_customers(marketer):
    ana, bruno = reachable_customer(), reachable_customer()
    StatedPolicy.grant(ana, "email")
    campaign = campaign_with_variants(channels=["email"])

    response = marketer.post(
        f"/api/v1/campaigns/{campaign.public_id}/send/", {"all_with_consent": True}
    )

    assert response.status_code == 202
    assert list(Delivery.objects.values_list("customer", flat=True)) == [ana.pk]
    assert bruno.pk not in Delivery.objects.values_list("customer", flat=True)


def test_preview_renders_each_variant_as_the_customer_would_read_it(marketer, lisbon):
    ana = reachable_customer(first_name="Ana", preferred_store=lisbon)
    campaign = campaign_with_variants(channels=["email", "sms", "push"])

    response = marketer.get(
        f"/api/v1/campaigns/{campaign.public_id}/preview/", {"customer": str(ana.public_id)}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["email"]["subject"] == "Hello Ana, spring is here"
    assert body["email"]["preheader"] == "New arrivals at Lisbon Chiado"
    assert body["sms"]["text"].startswith("Hi Ana,")
    assert body["sms"]["segments"]["segments"] == 1
    assert body["push"]["body"] == "Ana, new arrivals in your size"


def test_a_template_cannot_reach_into_the_customer_record(marketer):
    ana = reachable_customer(first_name="Ana")
    campaign = campaign_with_variants(channels=["sms"])
    SmsVariant.objects.filter(message__campaign=campaign).update(
        text="{{ customer.identities.all }}[{{ context.secret }}]"
    )
    url = f"/api/v1/campaigns/{campaign.public_id}/preview/"

    response = marketer.get(url, {"customer": str(ana.public_id)})
    dunder = marketer.put(
        f"/api/v1/campaigns/{campaign.public_id}/message/",
        {"sms": {"text": "{{ first_name.__class__ }}"}},
    )

    assert response.json()["sms"]["text"] == "[]"
    assert dunder.status_code == 400
    assert dunder.json()["error"]["code"] == "invalid_template"


def test_a_test_send_to_an_invalid_address_is_refused(marketer, mailoutbox):
    campaign = campaign_with_variants(channels=["email"])

    response = marketer.post(
        f"/api/v1/campaigns/{campaign.public_id}/test-send/",
        {"channel": "email", "to": "not-an-address"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_address"
    assert mailoutbox == []


def test_a_test_send_on_an_unknown_channel_is_refused(marketer, mailoutbox):
    campaign = campaign_with_variants(channels=["email"])

    response = marketer.post(
        f"/api/v1/campaigns/{campaign.public_id}/test-send/",
        {"channel": "fax", "to": "+351912345678"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_channel"
    assert mailoutbox == []


def test_a_test_send_goes_to_the_marketer_and_records_no_delivery(marketer, mailoutbox):
    ana = reachable_customer(first_name="Ana")
    campaign = campaign_with_variants(channels=["email"])

    response = marketer.post(
        f"/api/v1/campaigns/{campaign.public_id}/test-send/",
        {"channel": "email", "to": "marta@omni.test", "customer": str(ana.public_id)},
    )

    assert response.status_code == 200
    [email] = mailoutbox
    assert email.to == ["marta@omni.test"]
    assert email.subject == "[Test] Hello Ana, spring is here"
    assert Delivery.objects.count() == 0


def test_delivery_receipts_move_a_sent_sms_to_delivered_once(marketer, outbox):
    ana = reachable_customer()
    StatedPolicy.grant(ana, "sms")
    StatedPolicy.never_quiet(ana)
    campaign = campaign_with_variants(channels=["sms"])
    from campaigns.services.sending import send_batch, send_campaign

    send_campaign(campaign=campaign, customer_ids=[ana.public_id])
    send_batch(delivery_ids=list(Delivery.objects.values_list("pk", flat=True)))
    provider_id = Delivery.objects.get().provider_message_id
    receipt = {"channel": "sms", "provider_message_id": provider_id, "status": "delivered"}

    first = marketer.post("/api/v1/campaign-deliveries/receipts/", receipt)
    repeat = marketer.post("/api/v1/campaign-deliveries/receipts/", receipt)

    assert first.status_code == 200
    assert first.json()["changed"] is True
    assert first.json()["delivery"]["state"] == "delivered"
    assert repeat.json()["changed"] is False
    assert Delivery.objects.get().delivered_at is not None


def test_a_receipt_for_an_unknown_message_is_404(marketer):
    response = marketer.post(
        "/api/v1/campaign-deliveries/receipts/",
        {"channel": "sms", "provider_message_id": "nope", "status": "delivered"},
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "delivery_not_found"


def test_receipts_need_the_campaigns_write_scope(reader):
    response = reader.post(
        "/api/v1/campaign-deliveries/receipts/",
        {"channel": "sms", "provider_message_id": "x", "status": "delivered"},
    )

    assert response.status_code == 403


def test_only_draft_campaigns_are_deleted(marketer):
    draft = campaign_with_variants(channels=["email"])
    sent = campaign_with_variants(channels=["email"], status="sent")

    assert marketer.delete(f"/api/v1/campaigns/{draft.public_id}/").status_code == 204
    refused = marketer.delete(f"/api/v1/campaigns/{sent.public_id}/")

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "campaign_closed"
    assert list(Campaign.objects.all()) == [sent]
    assert Message.objects.filter(campaign=sent).exists()
