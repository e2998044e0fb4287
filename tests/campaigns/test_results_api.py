"""The API for schedules, experiments, reports and the calendar."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from campaigns.models import Attribution, Delivery, Experiment, Schedule
from tests.campaigns.factories import campaign_with_variants, reachable_customer
from tests.factories import make_token
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(token_client):
    _, plain = make_token(["campaigns:read", "campaigns:write"], name="Marketing")
    return token_client(plain)


@pytest.fixture
def reader(token_client):
    _, plain = make_token(["campaigns:read"], name="Reports")
    return token_client(plain)


def url(campaign, tail):
    return f"/api/v1/campaigns/{campaign.public_id}/{tail}/"


def test_a_marketer_schedules_a_send_and_takes_it_back(marketer):
    campaign = campaign_with_variants()
    at = (timezone.now() + datetime.timedelta(days=2)).replace(microsecond=0)

    response = marketer.put(
        url(campaign, "schedule"),
        {"mode": "at", "send_at": at.isoformat()},
        format="json",
        HTTP_IDEMPOTENCY_KEY="sched-1",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["mode"] == "at"
    assert body["periodic_task"] == f"Campaign {campaign.public_id}"
    assert datetime.datetime.fromisoformat(body["next_run_at"]) == at
    assert marketer.delete(url(campaign, "schedule")).status_code == 204
    assert not PeriodicTask.objects.filter(task="campaigns.run_scheduled_send").exists()
    assert marketer.get(url(campaign, "schedule")).json()["error"]["code"] == "schedule_not_found"


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "at", "send_at": "2020-01-01T09:00:00Z"},
        {"mode": "recurring", "cron": "0 9 * * *", "timezone": "Europe/Atlantis"},
        {"mode": "recurring", "cron": "every monday"},
    ],
)
def test_bad_schedules_get_the_error_shape_and_write_nothing(marketer, body):
    campaign = campaign_with_variants()
    response = marketer.put(url(campaign, "schedule"), body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_schedule"
    assert not Schedule.objects.exists()
    assert not PeriodicTask.objects.filter(task="campaigns.run_scheduled_send").exists()


def test_a_reader_cannot_schedule(reader):
    campaign = campaign_with_variants()
    response = reader.put(url(campaign, "schedule"), {"mode": "now"}, format="json")
    assert response.status_code == 403
    assert not Schedule.objects.exists()


def test_a_marketer_sets_up_an_ab_test(marketer):
    campaign = campaign_with_variants()
    response = marketer.put(
        url(campaign, "experiment"),
        {
            "arms": [
                {"key": "A", "name": "Plain subject", "split_percent": 50},
                {"key": "B", "name": "Emoji subject", "split_percent": 50},
            ],
            "metric": "revenue",
            "significance_level": "0.01",
            "test_percent": 20,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert [arm["message_step"] for arm in body["arms"]] == ["main/A", "main/B"]
    assert body["winner"] is None
    decided = marketer.post(url(campaign, "experiment/decide")).json()
    assert decided["winner"] is None
    assert decided["result"]["comparisons"][0]["p_value"] == 1.0
    refused = marketer.post(url(campaign, "experiment/send-winner"))
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "no_winner"


def test_splits_that_do_not_sum_to_100_are_refused(marketer):
    campaign = campaign_with_variants()
    response = marketer.put(
        url(campaign, "experiment"),
        {"arms": [{"key": "A", "split_percent": 60}, {"key": "B", "split_percent": 30}]},
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_experiment"
    assert error["details"]["total"] == 90
    assert not Experiment.objects.exists()


def test_the_report_shows_revenue_per_channel_and_uplift(reader):
    ana, rui = reachable_customer(first_name="Ana"), reachable_customer(first_name="Rui")
    campaign = campaign_with_variants(channels=["email", "sms"])
    sent = timezone.now() - datetime.timedelta(days=1)
    for customer, channel in ((ana, "email"), (rui, "sms")):
        Delivery.objects.create(
            campaign=campaign,
            customer=customer,
            channel=channel,
            address="x",
            state="sent",
            queued_at=sent,
            sent_at=sent,
        )
    order = OrderFactory(customer=ana, total=Decimal("120.00"), channel="store")
    Attribution.objects.create(
        order=order,
        campaign=campaign,
        customer=ana,
        message_channel="email",
        touch="open",
        touched_at=sent,
        order_channel="store",
        ordered_at=order.placed_at,
        revenue=order.total,
        currency="EUR",
    )

    body = reader.get(url(campaign, "report")).json()

    assert body["totals"]["recipients"] == 2
    assert body["totals"]["orders"] == 1
    assert body["totals"]["revenue"] == "120.00"
    assert body["totals"]["aov"] == "120.00"
    assert body["totals"]["conversion_rate"] == 0.5
    by_channel = {row["name"]: row for row in body["per_channel"]}
    assert by_channel["email"]["revenue"] == "120.00"
    assert by_channel["sms"]["orders"] == 0
    assert body["per_order_channel"] == [
        {"order_channel": "store", "orders": 1, "revenue": "120.00"}
    ]
    assert body["uplift"]["holdout"]["customers"] == 0
    assert body["uplift"]["uplift_points"] is None


def test_the_calendar_lists_scheduled_campaigns_and_refuses_a_bad_month(marketer):
    campaign = campaign_with_variants(name="Summer launch")
    at = datetime.datetime(2030, 7, 4, 9, 30, tzinfo=datetime.UTC)
    marketer.put(
        url(campaign, "schedule"), {"mode": "at", "send_at": at.isoformat()}, format="json"
    )

    body = marketer.get("/api/v1/campaign-calendar/?month=2030-07").json()

    assert body["days"] == [
        {
            "date": "2030-07-04",
            "events": [
                {
                    "id": str(campaign.public_id),
                    "name": "Summer launch",
                    "time": "09:30",
                    "state": "scheduled",
                    "note": "",
                    "channels": ["email"],
                }
            ],
        }
    ]
    bad = marketer.get("/api/v1/campaign-calendar/?month=July")
    assert bad.status_code == 400
    assert bad.json()["error"]["details"]["field"] == "month"


def test_the_channel_mix_report_groups_campaigns_by_channels_reached(reader):
    wide = campaign_with_variants(channels=["email", "sms", "push"])
    narrow = campaign_with_variants(channels=["email"])
    now = timezone.now()
    for campaign, channels in ((wide, ["email", "sms", "push"]), (narrow, ["email"])):
        customer = reachable_customer()
        for channel in channels:
            Delivery.objects.create(
                campaign=campaign,
                customer=customer,
                channel=channel,
                address="x",
                state="sent",
                queued_at=now,
                sent_at=now,
            )

    groups = reader.get("/api/v1/campaign-reports/channel-mix/").json()["groups"]

    assert [c["name"] for c in groups["three_or_more"]["campaigns"]] == [wide.name]
    assert [c["name"] for c in groups["fewer"]["campaigns"]] == [narrow.name]
