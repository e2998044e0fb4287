"""Managing webhook endpoints and reading the delivery log over the API
(`webhooks:admin`)."""

import pytest
from django.db import transaction

from omni.webhooks import emit, services
from omni.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories import make_token
from tests.omni.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db

BASE = "/api/v1/webhooks"


@pytest.fixture
def integrator(token_client):
    _, plain = make_token(["webhooks:admin"], name="Integrations")
    return token_client(plain)


@pytest.fixture
def stock_reader(token_client):
    _, plain = make_token(["stock:read", "orders:read"], name="Stock reader")
    return token_client(plain)


def test_creating_an_endpoint_shows_its_secret_once(integrator):
    response = integrator.post(
        f"{BASE}/endpoints/",
        {
            "name": "ERP",
            "url": "https://erp.example.com/omni",
            "event_types": ["order.placed", "stock.low"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["secret"] == endpoint.secret
    assert body["secret"].startswith("whsec_")
    assert body["event_types"] == ["order.placed", "stock.low"]

    listed = integrator.get(f"{BASE}/endpoints/").json()["results"]
    assert "secret" not in listed[0]
    assert listed[0]["secret_hint"] == endpoint.secret[:10] + "…"
    assert "secret" not in integrator.get(f"{BASE}/endpoints/{endpoint.pk}/").json()


def test_rotating_the_secret_shows_the_new_one(integrator):
    endpoint = services.create_endpoint(
        name="ERP", url="https://erp.example.com/omni", event_types=["order.placed"]
    )
    old = endpoint.secret
    response = integrator.post(f"{BASE}/endpoints/{endpoint.pk}/rotate-secret/")
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert response.json()["secret"] == endpoint.secret != old


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "ERP", "url": "not a url", "event_types": ["order.placed"]}, "url"),
        ({"name": "ERP", "url": "https://erp.example.com", "event_types": []}, "event_types"),
        (
            {"name": "ERP", "url": "https://erp.example.com", "event_types": ["order.eaten"]},
            "event_types",
        ),
        ({"url": "https://erp.example.com", "event_types": ["order.placed"]}, "name"),
    ],
)
def test_bad_endpoint_input_gets_the_error_shape_and_writes_nothing(integrator, payload, field):
    response = integrator.post(f"{BASE}/endpoints/", payload, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert field in error["details"]
    assert not WebhookEndpoint.objects.exists()


def test_a_non_https_url_is_refused_in_production(integrator, settings):
    settings.OMNI_WEBHOOK_ALLOW_HTTP = False
    response = integrator.post(
        f"{BASE}/endpoints/",
        {"name": "ERP", "url": "http://erp.example.com/omni", "event_types": ["order.placed"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_webhook_url"
    assert not WebhookEndpoint.objects.exists()


def test_editing_an_endpoint_validates_like_creating_one(integrator):
    endpoint = services.create_endpoint(
        name="ERP", url="https://erp.example.com/omni", event_types=["order.placed"]
    )
    bad = integrator.patch(
        f"{BASE}/endpoints/{endpoint.pk}/", {"event_types": ["nope"]}, format="json"
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_input"
    ok = integrator.patch(
        f"{BASE}/endpoints/{endpoint.pk}/",
        {"event_types": ["customer.merged"], "is_active": False},
        format="json",
    )
    assert ok.status_code == 200
    endpoint.refresh_from_db()
    assert (endpoint.event_types, endpoint.is_active) == (["customer.merged"], False)


def test_without_the_scope_webhooks_are_out_of_reach(stock_reader):
    endpoint = services.create_endpoint(
        name="ERP", url="https://erp.example.com/omni", event_types=["order.placed"]
    )
    assert stock_reader.get(f"{BASE}/endpoints/").status_code == 403
    assert stock_reader.get(f"{BASE}/deliveries/").status_code == 403
    response = stock_reader.post(
        f"{BASE}/endpoints/",
        {"name": "x", "url": "https://x.example.com", "event_types": ["order.placed"]},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert stock_reader.delete(f"{BASE}/endpoints/{endpoint.pk}/").status_code == 403
    assert WebhookEndpoint.objects.count() == 1


def test_the_delivery_log_shows_every_attempt_and_a_dead_one_can_be_resent(integrator, settings):
    settings.OMNI_WEBHOOK_RETRY_HOURS = 0
    with Receiver(script=[500]) as receiver:
        endpoint = services.create_endpoint(
            name="ERP", url=receiver.url, event_types=["order.placed"]
        )
        with transaction.atomic():
            event = emit("order.placed", {"order": "OM-1"})
        services.send_due()
        delivery = WebhookDelivery.objects.get()

        listed = integrator.get(f"{BASE}/deliveries/", {"state": "dead"}).json()["results"]
        assert [d["event_id"] for d in listed] == [str(event.event_id)]
        assert listed[0]["log"][0]["status_code"] == 500
        assert listed[0]["endpoint"] == endpoint.pk

        response = integrator.post(f"{BASE}/deliveries/{delivery.pk}/resend/")
        assert response.status_code == 202
        assert response.json()["state"] == "pending"
        services.send_due()
    delivery.refresh_from_db()
    assert delivery.state == "succeeded"
    assert len(receiver.requests) == 2


def test_resending_a_pending_delivery_is_409(integrator):
    services.create_endpoint(
        name="ERP", url="https://erp.example.com/omni", event_types=["order.placed"]
    )
    with transaction.atomic():
        emit("order.placed", {"order": "OM-1"})
    delivery = WebhookDelivery.objects.get()
    response = integrator.post(f"{BASE}/deliveries/{delivery.pk}/resend/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "delivery_still_pending"


def test_an_unknown_delivery_is_404_in_the_error_shape(integrator):
    response = integrator.post(f"{BASE}/deliveries/999999/resend/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
