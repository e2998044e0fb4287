"""Webhook endpoints and the delivery log in the admin, in a real browser."""

import pytest
from django.db import transaction

from omni.webhooks import emit, services
from omni.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import log_in
from tests.factories import UserFactory
from tests.omni.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ines():
    return UserFactory(username="ines", is_superuser=True)


def test_adding_an_endpoint_shows_the_secret_once(browser_page, ines):
    page = browser_page
    log_in(page, "ines")
    page.goto("/admin/omni/webhookendpoint/add/")
    page.fill("#id_name", "ERP sync")
    page.fill("#id_url", "https://erp.example.com/omni")
    page.check("input[name=event_types][value='order.placed']")
    page.check("input[name=event_types][value='stock.low']")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/omni/webhookendpoint/")
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["order.placed", "stock.low"]
    assert endpoint.secret in page.content()
    page.omni_screenshot("webhook-endpoints")

    page.goto("/admin/omni/webhookendpoint/")
    assert endpoint.secret not in page.content()


def test_the_delivery_log_shows_attempts_and_resends_a_dead_delivery(browser_page, ines, settings):
    settings.OMNI_WEBHOOK_RETRY_HOURS = 0
    with Receiver(script=[500]) as receiver:
        services.create_endpoint(name="ERP sync", url=receiver.url, event_types=["order.placed"])
        services.create_endpoint(
            name="Warehouse", url="http://127.0.0.1:9/down", event_types=["order.placed"]
        )
        with transaction.atomic():
            event = emit("order.placed", {"order": "OM-000042", "total": "80.00"})
        services.send_due()
        dead = WebhookDelivery.objects.get(endpoint__name="ERP sync")
        assert dead.state == "dead"

        page = browser_page
        log_in(page, "ines")
        page.goto("/admin/omni/webhookdelivery/")
        assert str(event.event_id) in page.content()
        page.omni_screenshot("webhook-deliveries")

        page.goto(f"/admin/omni/webhookdelivery/{dead.pk}/change/")
        content = page.content()
        assert "500" in content
        assert "OM-000042" in content
        page.omni_screenshot("webhook-delivery")

        page.goto("/admin/omni/webhookdelivery/")
        page.check(f"input[name=_selected_action][value='{dead.pk}']")
        page.select_option("select[name=action]", "resend")
        page.click("button[name=index]")
        page.wait_for_load_state()
        assert "Resent 1" in page.content()
        dead.refresh_from_db()
        assert dead.state == "pending"
        services.send_due()
    dead.refresh_from_db()
    assert dead.state == "succeeded"
    assert len(receiver.requests) == 2
