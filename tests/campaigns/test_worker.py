"""Deliveries sent by a real Celery worker, email over real SMTP (aiosmtpd in-process)."""

import datetime
import email
import email.policy
import re
import socket
import time

import pytest
from aiosmtpd.controller import Controller
from django.test import Client
from django.utils import timezone

from campaigns.models import Delivery
from campaigns.services.sending import send_campaign
from campaigns.tasks import release_due_deliveries
from tests.campaigns.factories import campaign_with_variants, reachable_customer
from tests.campaigns.policy import StatedPolicy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, parsed))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_inbox(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    yield inbox
    controller.stop()


def wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def settled(campaign) -> bool:
    return not Delivery.objects.filter(campaign=campaign, state__in=["queued", "sending"]).exists()


def test_a_worker_sends_the_email_over_smtp_with_one_click_unsubscribe_and_tracking(
    celery_worker_thread, smtp_inbox
):
    ana = reachable_customer(first_name="Ana")
    bruno = reachable_customer(first_name="Bruno")
    StatedPolicy.grant(ana, "email")
    campaign = campaign_with_variants(channels=["email"])

    send_campaign(campaign=campaign, customer_ids=[ana.public_id, bruno.public_id])

    assert wait_for(lambda: settled(campaign))
    assert wait_for(lambda: len(smtp_inbox.messages) == 1)
    sent = Delivery.objects.get(customer=ana)
    skipped = Delivery.objects.get(customer=bruno)
    assert sent.state == "sent"
    assert (skipped.state, skipped.skip_reason) == ("skipped", "no_consent")

    [(recipients, message)] = smtp_inbox.messages
    assert recipients == [sent.address]
    unsubscribe = f"https://omni.example.com/unsubscribe/{ana.public_id}/email"
    assert message["List-Unsubscribe"].strip() == f"<{unsubscribe}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Subject"] == "Hello Ana, spring is here"
    assert message["Message-ID"].strip("<>") == sent.provider_message_id
    html = message.get_body(preferencelist=("html",)).get_content()
    pixel = re.search(r'<img src="https://omni\.example\.com(/t/o/[^"]+\.gif)"', html)
    links = re.findall(r'href="https://omni\.example\.com(/t/c/[^"]+)"', html)
    assert pixel is not None
    assert len(links) == 1  # the shop link is tracked, the unsubscribe link is left alone
    assert f'href="{unsubscribe}"' in html
    assert "shop.example.com" not in html.replace(unsubscribe, "")

    browser = Client()
    opened = browser.get(pixel.group(1))
    clicked = browser.get(links[0])
    tampered = browser.get(links[0][:-3] + "abc")

    assert opened.status_code == 200
    assert opened["Content-Type"] == "image/gif"
    assert clicked.status_code == 302
    assert clicked["Location"] == "https://shop.example.com/spring?utm=email"
    assert tampered.status_code == 404
    sent.refresh_from_db()
    assert sent.state == "clicked"
    assert sent.opened_at is not None
    assert sent.clicked_at >= sent.opened_at


def test_quiet_hours_hold_a_message_on_the_worker_and_the_sweep_sends_it_when_they_end(
    celery_worker_thread, outbox
):
    now = timezone.now()
    carla = reachable_customer(first_name="Carla", time_zone="UTC")
    StatedPolicy.grant(carla, "sms")
    # Carla's quiet hours are the two hours around the present moment.
    start = (now - datetime.timedelta(hours=1)).time().replace(microsecond=0)
    end = (now + datetime.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    StatedPolicy.quiet[carla.pk] = (start, end)
    campaign = campaign_with_variants(channels=["sms"])

    send_campaign(campaign=campaign, customer_ids=[carla.public_id])

    assert wait_for(lambda: Delivery.objects.filter(state="deferred").exists())
    delivery = Delivery.objects.get()
    assert delivery.skip_reason == "quiet_hours_deferred"
    assert delivery.deferred_until > now
    assert outbox("sms") == []

    # The periodic sweep, run by the worker at the moment quiet hours end.
    release_due_deliveries.delay(at=delivery.deferred_until.isoformat())

    assert wait_for(lambda: Delivery.objects.filter(state="sent").exists())
    assert len(outbox("sms")) == 1
    delivery.refresh_from_db()
    assert delivery.sent_at == delivery.deferred_until


def test_a_task_delivered_twice_to_the_worker_sends_once(celery_worker_thread, outbox):
    readers = [reachable_customer(first_name=f"Reader{n}") for n in range(30)]
    for reader in readers:
        StatedPolicy.grant(reader, "sms")
    StatedPolicy.never_quiet(*readers)
    campaign = campaign_with_variants(channels=["sms"])
    send_campaign(campaign=campaign, customer_ids=[r.public_id for r in readers])
    from campaigns.tasks import send_delivery_batch

    ids = list(Delivery.objects.values_list("pk", flat=True))
    send_delivery_batch.delay(delivery_ids=ids)
    send_delivery_batch.delay(delivery_ids=ids)

    assert wait_for(lambda: settled(campaign))
    time.sleep(0.5)  # let any second copy finish
    assert Delivery.objects.filter(state="sent").count() == 30
    assert len(outbox("sms")) == 30
