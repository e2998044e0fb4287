"""Marta opens a campaign's report and the campaign calendar in a real browser."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import Assignment, Attribution, Campaign, Delivery
from campaigns.services.scheduling import schedule_campaign
from omni.models import Role
from tests.campaigns.factories import campaign_with_variants, reachable_customer
from tests.conftest import log_in
from tests.factories import make_staff
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def marta():
    user = make_staff("marta", Role.MARKETER)
    user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def spring(marta):
    """Twelve customers reached on three channels, four held out; five orders credited,
    one of them a till sale; one held-out customer bought too."""
    now = timezone.now()
    sent_at = now - datetime.timedelta(days=3)
    campaign = campaign_with_variants(
        name="Spring collection", channels=["push", "sms", "email"], holdout_percent=25
    )
    Campaign.objects.filter(pk=campaign.pk).update(
        status="sent", started_at=sent_at, finished_at=sent_at + datetime.timedelta(hours=1)
    )
    channels = ["email", "sms", "push"]
    for index in range(16):
        customer = reachable_customer(first_name=f"Reader{index}")
        if index >= 12:
            Assignment.objects.create(
                campaign=campaign, customer=customer, group="holdout", assigned_at=sent_at
            )
            if index == 12:
                OrderFactory(customer=customer, total=Decimal("40.00"), placed_at=now)
            continue
        Assignment.objects.create(
            campaign=campaign, customer=customer, group="treatment", assigned_at=sent_at
        )
        clicked = sent_at + datetime.timedelta(hours=2) if index < 5 else None
        delivery = Delivery.objects.create(
            campaign=campaign,
            customer=customer,
            channel=channels[index % 3],
            address="x",
            state="clicked" if clicked else "delivered",
            queued_at=sent_at,
            sent_at=sent_at,
            opened_at=clicked,
            clicked_at=clicked,
        )
        if clicked:
            placed = sent_at + datetime.timedelta(days=1, hours=index)
            order = OrderFactory(
                customer=customer,
                total=Decimal(60 + 25 * index),
                placed_at=placed,
                channel="store" if index == 0 else "web",
            )
            Attribution.objects.create(
                order=order,
                campaign=campaign,
                delivery=delivery,
                customer=customer,
                message_channel=delivery.channel,
                touch="click",
                touched_at=clicked,
                order_channel=order.channel,
                ordered_at=placed,
                revenue=order.total,
                currency="EUR",
            )
    return campaign


def test_marta_reads_what_the_spring_campaign_earned(browser_page, spring):
    page = browser_page
    log_in(page, "marta")

    page.goto(f"/admin/campaigns/campaign/{spring.pk}/report/")

    report = page.locator("#campaign-report")
    # 60 + 85 + 110 + 135 + 160 = 550.00 over five orders.
    assert "550.00 EUR" in report.inner_text()
    assert "110.00" in report.inner_text()  # AOV
    assert page.locator("#campaign-report svg.chart").count() == 3
    assert "Treatment" in page.locator("svg.chart").nth(1).text_content()
    assert "store" in report.inner_text()
    page.omni_screenshot("campaign-report")


def test_marta_sees_sent_and_scheduled_campaigns_on_the_calendar(browser_page, spring):
    now = timezone.now()
    flash = campaign_with_variants(name="Flash sale: trail runners")
    schedule_campaign(campaign=flash, mode="at", send_at=now + datetime.timedelta(hours=2))
    weekly = campaign_with_variants(name="Monday newsletter")
    schedule_campaign(campaign=weekly, mode="recurring", cron="0 9 * * mon", timezone_name="UTC")
    page = browser_page
    log_in(page, "marta")

    page.goto(f"/admin/campaigns/campaign/calendar/?month={now:%Y-%m}")

    calendar = page.locator("#campaign-calendar")
    assert calendar.locator("a.event.sent", has_text="Spring collection").count() == 1
    flash_on_calendar = calendar.locator("a.event.scheduled", has_text="Flash sale")
    # Near the end of a month the flash sale falls in the next one.
    if (now + datetime.timedelta(hours=2)).month == now.month:
        assert flash_on_calendar.count() == 1
    page.omni_screenshot("campaign-calendar")
    following = (now.replace(day=1) + datetime.timedelta(days=32)).strftime("%Y-%m")
    page.goto(f"/admin/campaigns/campaign/calendar/?month={following}")
    # Every month has at least four Mondays; none before the schedule was made.
    assert page.locator("a.event.scheduled", has_text="Monday newsletter").count() >= 4
    page.goto(f"/admin/campaigns/campaign/calendar/?month={now:%Y-%m}")
    calendar.locator("a.event", has_text="Spring collection").click()
    page.wait_for_url(f"**/campaign/{spring.pk}/report/")


def test_marta_schedules_a_campaign_from_the_admin(browser_page, spring):
    draft = campaign_with_variants(name="Autumn preview")
    page = browser_page
    log_in(page, "marta")
    page.goto(f"/admin/campaigns/campaign/{draft.pk}/schedule/")
    page.check("input[name=mode][value=recurring]")
    page.fill("input[name=cron]", "0 9 * * mon")
    page.fill("input[name=timezone]", "Mars/Olympus")
    page.click("input[value='Save schedule']")
    assert "Unknown time zone" in page.locator("#campaign-schedule").inner_text()
    assert Campaign.objects.get(pk=draft.pk).status == "draft"

    page.fill("input[name=timezone]", "Europe/Lisbon")
    page.click("input[value='Save schedule']")

    assert "0 9 * * mon" in page.locator("#campaign-schedule").inner_text()
    assert Campaign.objects.get(pk=draft.pk).status == "scheduled"
    page.omni_screenshot("campaign-schedule")
    page.goto("/admin/campaigns/campaign/channel-mix/")
    assert "3+ channels" in page.locator("#channel-mix").inner_text()
    page.omni_screenshot("campaign-channel-mix")
