"""Scheduling: the app creates and removes django-celery-beat rows, recurring sends never
repeat an occurrence, and local-time sends wait for each customer's own clock."""

import datetime
import json

import pytest
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, PeriodicTask

from campaigns.errors import InvalidSchedule, MissingVariant
from campaigns.models import Campaign, Delivery, Schedule
from campaigns.services.editing import cancel_campaign
from campaigns.services.scheduling import (
    fire_times,
    previous_fire,
    run_scheduled_send,
    schedule_campaign,
    unschedule_campaign,
)
from campaigns.services.sending import release_due_deliveries
from tests.campaigns.factories import CampaignFactory, campaign_with_variants, reachable_customer
from tests.campaigns.policy import StatedPolicy

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 6, 1, 8, 0, tzinfo=datetime.UTC)


def campaign_rows():
    return PeriodicTask.objects.filter(task="campaigns.run_scheduled_send")


def test_a_send_at_a_time_creates_a_one_off_clocked_task_and_unscheduling_removes_it():
    campaign = campaign_with_variants()
    at = NOW + datetime.timedelta(hours=3)

    schedule = schedule_campaign(campaign=campaign, mode="at", send_at=at, now=NOW)

    task = campaign_rows().get()
    assert task.one_off
    assert task.clocked.clocked_time == at
    assert json.loads(task.kwargs) == {"schedule_id": schedule.pk}
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED
    unschedule_campaign(campaign=campaign)
    assert not campaign_rows().exists()
    assert not ClockedSchedule.objects.exists()
    assert not Schedule.objects.exists()
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT


def test_a_recurring_schedule_gets_a_crontab_and_cancelling_the_campaign_removes_it():
    campaign = campaign_with_variants()
    schedule_campaign(
        campaign=campaign,
        mode="recurring",
        cron="0 9 * * mon",
        timezone_name="Europe/Lisbon",
        now=NOW,
    )
    task = campaign_rows().get()
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("0", "9", "mon")
    assert str(task.crontab.timezone) == "Europe/Lisbon"
    assert Campaign.objects.get(pk=campaign.pk).kind == Campaign.Kind.RECURRING

    cancel_campaign(campaign=campaign)

    assert not campaign_rows().exists()
    assert not CrontabSchedule.objects.filter(hour="9", day_of_week="mon").exists()


def test_rescheduling_replaces_the_beat_rows():
    campaign = campaign_with_variants()
    schedule_campaign(
        campaign=campaign, mode="at", send_at=NOW + datetime.timedelta(hours=1), now=NOW
    )
    schedule_campaign(campaign=campaign, mode="recurring", cron="30 18 * * *", now=NOW)
    task = campaign_rows().get()
    assert task.clocked is None
    assert task.crontab.hour == "18"
    assert not ClockedSchedule.objects.exists()


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"mode": "at", "send_at": NOW - datetime.timedelta(minutes=1)}, "send_at"),
        ({"mode": "at"}, "send_at"),
        ({"mode": "recurring", "cron": "0 9 * *"}, "cron"),
        ({"mode": "recurring", "cron": "0 25 * * *"}, "cron"),
        ({"mode": "recurring", "cron": "0 9 * * *", "timezone_name": "Mars/Olympus"}, "timezone"),
        (
            {
                "mode": "local_time",
                "local_date": datetime.date(2026, 5, 30),
                "local_time": datetime.time(9),
            },
            "local_date",
        ),
        ({"mode": "weekly"}, "mode"),
    ],
)
def test_bad_schedules_are_refused_and_write_nothing(options, field):
    campaign = campaign_with_variants()
    with pytest.raises(InvalidSchedule) as refused:
        schedule_campaign(campaign=campaign, now=NOW, **options)
    assert refused.value.details["field"] == field
    assert not Schedule.objects.exists()
    assert not PeriodicTask.objects.filter(task="campaigns.run_scheduled_send").exists()
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT


def test_a_campaign_without_its_message_cannot_be_scheduled():
    campaign = CampaignFactory(channels=["email"])
    with pytest.raises(MissingVariant):
        schedule_campaign(
            campaign=campaign, mode="at", send_at=NOW + datetime.timedelta(hours=1), now=NOW
        )
    assert not campaign_rows().exists()


def test_a_recurring_send_reaches_each_customer_once_per_occurrence():
    ana = reachable_customer(first_name="Ana")
    StatedPolicy.grant(ana, "email")
    campaign = campaign_with_variants()
    schedule = schedule_campaign(
        campaign=campaign, mode="recurring", cron="0 9 * * *", timezone_name="UTC", now=NOW
    )
    monday_nine = datetime.datetime(2026, 6, 1, 9, 0, 5, tzinfo=datetime.UTC)

    run_scheduled_send(schedule_id=schedule.pk, now=monday_nine)
    # The broker redelivers the same firing an hour later: still the same occurrence.
    run_scheduled_send(schedule_id=schedule.pk, now=monday_nine + datetime.timedelta(hours=1))
    run_scheduled_send(schedule_id=schedule.pk, now=monday_nine + datetime.timedelta(days=1))

    keys = sorted(Delivery.objects.filter(customer=ana).values_list("step_key", flat=True))
    assert keys == ["main@20260601T0900Z", "main@20260602T0900Z"]
    schedule.refresh_from_db()
    assert schedule.occurrences == 2


def test_cron_fire_times_follow_the_schedule_time_zone():
    campaign = campaign_with_variants()
    schedule = schedule_campaign(
        campaign=campaign,
        mode="recurring",
        cron="0 9 * * mon,thu",
        timezone_name="Europe/Lisbon",
        now=NOW,
    )
    times = list(fire_times(schedule, NOW, NOW + datetime.timedelta(days=7)))
    # Lisbon is UTC+1 in June: 09:00 there is 08:00 UTC, Monday 1 June and Thursday 4 June.
    assert [t.astimezone(datetime.UTC).strftime("%a %d %H:%M") for t in times] == [
        "Mon 01 08:00",
        "Thu 04 08:00",
    ]
    assert previous_fire(schedule, NOW + datetime.timedelta(days=2)) == times[0]


def test_a_local_time_send_holds_each_delivery_until_nine_in_the_customers_zone():
    ana = reachable_customer(first_name="Ana", time_zone="Europe/Lisbon")
    kim = reachable_customer(first_name="Kim", time_zone="Asia/Tokyo")
    joe = reachable_customer(first_name="Joe", time_zone="America/New_York")
    odd = reachable_customer(first_name="Odd", time_zone="Not/AZone")
    for customer in (ana, kim, joe, odd):
        StatedPolicy.grant(customer, "email")
    campaign = campaign_with_variants()
    day = datetime.date(2026, 6, 2)
    schedule = schedule_campaign(
        campaign=campaign, mode="local_time", local_date=day, local_time=datetime.time(9), now=NOW
    )
    # Beat fires when 09:00 first arrives anywhere (UTC+14): 19:00 UTC the day before.
    assert campaign_rows().get().clocked.clocked_time == datetime.datetime(
        2026, 6, 1, 19, 0, tzinfo=datetime.UTC
    )
    fired = datetime.datetime(2026, 6, 1, 19, 0, tzinfo=datetime.UTC)
    run_scheduled_send(schedule_id=schedule.pk, now=fired)

    held = dict(
        Delivery.objects.filter(campaign=campaign).values_list(
            "customer__first_name", "deferred_until"
        )
    )
    utc = datetime.UTC
    assert held == {
        "Ana": datetime.datetime(2026, 6, 2, 8, 0, tzinfo=utc),  # WEST, UTC+1
        "Kim": datetime.datetime(2026, 6, 2, 0, 0, tzinfo=utc),  # JST, UTC+9
        "Joe": datetime.datetime(2026, 6, 2, 13, 0, tzinfo=utc),  # EDT, UTC-4
        "Odd": datetime.datetime(2026, 6, 2, 9, 0, tzinfo=utc),  # unknown zone: UTC
    }
    assert set(Delivery.objects.filter(campaign=campaign).values_list("state", flat=True)) == {
        "deferred"
    }
    release_due_deliveries(now=datetime.datetime(2026, 6, 2, 0, 30, tzinfo=utc))
    states = dict(
        Delivery.objects.filter(campaign=campaign).values_list("customer__first_name", "state")
    )
    assert states["Kim"] != "deferred"
    assert states["Ana"] == states["Joe"] == "deferred"
