"""What each campaign earned: selectors for the report API and the admin pages.

Figures:
- recipients: customers with a delivery that left (sent, delivered, opened or clicked);
- orders, revenue, AOV: orders credited to the campaign (see services.attribution);
- conversion rate: customers with a credited order / recipients;
- unsubscribes: withdrawals made through the campaign's own unsubscribe links;
- uplift: the share of treatment recipients who ordered anything, on any channel, within
  the click window after their first message, against the share of held-out customers
  (campaign and global holdout) who ordered within the same window after they were held
  out; with the two-proportion z-test p-value. Measured, not assumed.
"""

from __future__ import annotations

import calendar
import datetime
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from campaigns import conf, stats
from campaigns.models import Campaign, Schedule

REACHED = ("sent", "delivered", "opened", "clicked")
CENT = Decimal("0.01")


def _rows(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _money(value) -> str:
    return str(Decimal(value or 0).quantize(CENT))


def describe_window(window: datetime.timedelta) -> str:
    hours = window.total_seconds() / 3600
    if hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours:g} hours"


def _rate(part, whole) -> float:
    return round(part / whole, 6) if whole else 0.0


def campaign_report(campaign: Campaign) -> dict[str, Any]:
    window = conf.get("OMNI_ATTRIBUTION_CLICK_WINDOW")
    exposure = _rows(
        """
        SELECT d.channel, ar.key,
               COUNT(*) FILTER (WHERE d.state = ANY(%(reached)s)),
               COUNT(DISTINCT d.customer_id) FILTER (WHERE d.state = ANY(%(reached)s)),
               COUNT(*) FILTER (WHERE d.opened_at IS NOT NULL),
               COUNT(*) FILTER (WHERE d.clicked_at IS NOT NULL),
               COUNT(*) FILTER (WHERE d.state = 'skipped'),
               COUNT(*) FILTER (WHERE d.state IN ('bounced', 'failed'))
        FROM campaigns_delivery d
        LEFT JOIN campaigns_assignment a
               ON a.campaign_id = d.campaign_id AND a.customer_id = d.customer_id
        LEFT JOIN campaigns_arm ar ON ar.id = a.arm_id
        WHERE d.campaign_id = %(campaign)s
        GROUP BY 1, 2
        """,
        {"campaign": campaign.pk, "reached": list(REACHED)},
    )
    credited = _rows(
        """
        SELECT t.message_channel, ar.key, t.order_channel, COUNT(*), SUM(t.revenue),
               COUNT(DISTINCT t.customer_id)
        FROM campaigns_attribution t
        JOIN orders_order o ON o.id = t.order_id AND o.status <> 'cancelled'
        LEFT JOIN campaigns_arm ar ON ar.id = t.arm_id
        WHERE t.campaign_id = %(campaign)s
        GROUP BY 1, 2, 3
        """,
        {"campaign": campaign.pk},
    )
    totals_row = _rows(
        """
        SELECT (SELECT COUNT(DISTINCT customer_id) FROM campaigns_delivery
                WHERE campaign_id = %(campaign)s AND state = ANY(%(reached)s)),
               COUNT(t.id), COALESCE(SUM(t.revenue), 0), COUNT(DISTINCT t.customer_id),
               MAX(t.currency)
        FROM campaigns_attribution t
        JOIN orders_order o ON o.id = t.order_id AND o.status <> 'cancelled'
        WHERE t.campaign_id = %(campaign)s
        """,
        {"campaign": campaign.pk, "reached": list(REACHED)},
    )[0]
    unsubscribes = dict(
        _rows(
            """
            SELECT channel, COUNT(*) FROM customers_consentevent
            WHERE campaign_ref = %s AND status = 'withdrawn' GROUP BY channel
            """,
            [str(campaign.public_id)],
        )
    )
    recipients, orders, revenue, converters, currency = totals_row
    currency = currency or "EUR"
    channels: dict[str, dict] = {}
    arms: dict[str, dict] = {}

    def blank(name):
        return {
            "name": name,
            "sent": 0,
            "recipients": 0,
            "opens": 0,
            "clicks": 0,
            "skipped": 0,
            "failed": 0,
            "orders": 0,
            "revenue": Decimal(0),
            "converters": 0,
        }

    for channel, arm, sent, reached, opens, clicks, skipped, failed in exposure:
        for bucket, key in ((channels, channel), (arms, arm)):
            if key is None:
                continue
            entry = bucket.setdefault(key, blank(key))
            entry["sent"] += sent
            entry["recipients"] += reached
            entry["opens"] += opens
            entry["clicks"] += clicks
            entry["skipped"] += skipped
            entry["failed"] += failed
    order_channels: dict[str, dict] = {}
    for channel, arm, order_channel, count, amount, _ in credited:
        for bucket, key in ((channels, channel), (arms, arm)):
            if key is None:
                continue
            entry = bucket.setdefault(key, blank(key))
            entry["orders"] += count
            entry["revenue"] += amount or 0
        entry = order_channels.setdefault(order_channel, {"orders": 0, "revenue": Decimal(0)})
        entry["orders"] += count
        entry["revenue"] += amount or 0

    # A customer who bought twice (or on two order channels) converts once.
    for channel, arm, buyers in _rows(
        """
        SELECT t.message_channel, ar.key, COUNT(DISTINCT t.customer_id)
        FROM campaigns_attribution t
        JOIN orders_order o ON o.id = t.order_id AND o.status <> 'cancelled'
        LEFT JOIN campaigns_arm ar ON ar.id = t.arm_id
        WHERE t.campaign_id = %(campaign)s
        GROUP BY GROUPING SETS ((t.message_channel), (ar.key))
        """,
        {"campaign": campaign.pk},
    ):
        if channel is not None:
            channels[channel]["converters"] = buyers
        elif arm is not None:
            arms[arm]["converters"] = buyers

    def finish(entry):
        entry["revenue"] = _money(entry["revenue"])
        entry["aov"] = (
            _money(Decimal(entry["revenue"]) / entry["orders"]) if entry["orders"] else None
        )
        entry["conversion_rate"] = _rate(entry["converters"], entry["recipients"])
        entry["unsubscribes"] = unsubscribes.get(entry["name"], 0)
        return entry

    experiment = getattr(campaign, "experiment", None) if _has_experiment(campaign) else None
    return {
        "campaign": {
            "id": str(campaign.public_id),
            "name": campaign.name,
            "status": campaign.status,
            "channels": list(campaign.channels),
            "started_at": campaign.started_at,
            "finished_at": campaign.finished_at,
        },
        "currency": currency,
        "totals": {
            "recipients": recipients,
            "orders": orders,
            "revenue": _money(revenue),
            "aov": _money(Decimal(revenue) / orders) if orders else None,
            "converters": converters,
            "conversion_rate": _rate(converters, recipients),
            "unsubscribes": sum(unsubscribes.values()),
            "unsubscribe_rate": _rate(sum(unsubscribes.values()), recipients),
        },
        "per_channel": [finish(channels[key]) for key in sorted(channels)],
        "per_arm": [finish(arms[key]) for key in sorted(arms)],
        "per_order_channel": [
            {"order_channel": key, "orders": value["orders"], "revenue": _money(value["revenue"])}
            for key, value in sorted(order_channels.items())
        ],
        "uplift": uplift(campaign, window=window),
        "experiment": _experiment_summary(experiment),
        "daily_revenue": [
            {"day": day.isoformat(), "orders": count, "revenue": _money(amount)}
            for day, count, amount in _rows(
                """
                SELECT (t.ordered_at AT TIME ZONE 'UTC')::date, COUNT(*), SUM(t.revenue)
                FROM campaigns_attribution t
                JOIN orders_order o ON o.id = t.order_id AND o.status <> 'cancelled'
                WHERE t.campaign_id = %s GROUP BY 1 ORDER BY 1
                """,
                [campaign.pk],
            )
        ],
        "attribution_rule": (
            f"last touch; click within {describe_window(window)}, open (or SMS/push receipt) "
            f"within {describe_window(conf.get('OMNI_ATTRIBUTION_OPEN_WINDOW'))}; "
            "one credit per order"
        ),
    }


def _has_experiment(campaign: Campaign) -> bool:
    from campaigns.models import Experiment

    return Experiment.objects.filter(campaign=campaign).exists()


def _experiment_summary(experiment) -> dict | None:
    if experiment is None:
        return None
    return {
        "metric": experiment.metric,
        "significance_level": float(experiment.significance_level),
        "test_percent": experiment.test_percent,
        "arms": [
            {"key": arm.key, "name": arm.name, "split_percent": arm.split_percent}
            for arm in experiment.arms.all()
        ],
        "winner": experiment.winner.key if experiment.winner_id else None,
        "decided_at": experiment.decided_at,
        "winner_sent_at": experiment.winner_sent_at,
        "result": experiment.result or None,
    }


def uplift(campaign: Campaign, *, window: datetime.timedelta) -> dict[str, Any]:
    rows = _rows(
        """
        WITH treated AS (
            SELECT d.customer_id, MIN(d.sent_at) AS since
            FROM campaigns_delivery d
            JOIN campaigns_assignment a
              ON a.campaign_id = d.campaign_id AND a.customer_id = d.customer_id
             AND a."group" = 'treatment'
            WHERE d.campaign_id = %(campaign)s AND d.state = ANY(%(reached)s)
            GROUP BY d.customer_id
        ), held AS (
            SELECT customer_id, assigned_at AS since FROM campaigns_assignment
            WHERE campaign_id = %(campaign)s AND "group" IN ('holdout', 'global_holdout')
        ), everyone AS (
            SELECT 'treatment' AS grp, * FROM treated
            UNION ALL SELECT 'holdout', * FROM held
        )
        SELECT e.grp, COUNT(*),
               COUNT(*) FILTER (WHERE s.orders > 0), COALESCE(SUM(s.revenue), 0)
        FROM everyone e
        CROSS JOIN LATERAL (
            SELECT COUNT(*) AS orders, SUM(o.total) AS revenue FROM orders_order o
            WHERE o.customer_id = e.customer_id AND o.status <> 'cancelled'
              AND o.placed_at >= e.since AND o.placed_at < e.since + %(window)s
        ) AS s
        GROUP BY e.grp
        """,
        {"campaign": campaign.pk, "reached": list(REACHED), "window": window},
    )
    groups = {grp: (n, buyers, revenue) for grp, n, buyers, revenue in rows}
    n_t, buyers_t, revenue_t = groups.get("treatment", (0, 0, Decimal(0)))
    n_h, buyers_h, revenue_h = groups.get("holdout", (0, 0, Decimal(0)))
    rate_t, rate_h = _rate(buyers_t, n_t), _rate(buyers_h, n_h)
    test = stats.two_proportion_z_test(buyers_t, n_t, buyers_h, n_h)
    return {
        "window": describe_window(window),
        "treatment": {
            "customers": n_t,
            "converters": buyers_t,
            "conversion_rate": rate_t,
            "revenue_per_customer": _money(Decimal(revenue_t) / n_t) if n_t else "0.00",
        },
        "holdout": {
            "customers": n_h,
            "converters": buyers_h,
            "conversion_rate": rate_h,
            "revenue_per_customer": _money(Decimal(revenue_h) / n_h) if n_h else "0.00",
        },
        "uplift_points": round(rate_t - rate_h, 6) if n_h else None,
        "relative_uplift": round((rate_t - rate_h) / rate_h, 6) if n_h and rate_h else None,
        "incremental_orders_estimate": round((rate_t - rate_h) * n_t, 2) if n_h else None,
        "p_value": test.p_value if n_h and n_t else None,
    }


def channel_mix_report() -> dict[str, Any]:
    """Campaigns that reached customers on three or more channels against those on fewer."""
    rows = _rows(
        """
        WITH reach AS (
            SELECT d.campaign_id, COUNT(DISTINCT d.channel) AS channels,
                   COUNT(DISTINCT d.customer_id) AS recipients
            FROM campaigns_delivery d
            WHERE d.state = ANY(%(reached)s) AND NOT d.transactional
            GROUP BY d.campaign_id
        ), earned AS (
            SELECT t.campaign_id, COUNT(*) AS orders, SUM(t.revenue) AS revenue,
                   COUNT(DISTINCT t.customer_id) AS converters
            FROM campaigns_attribution t
            JOIN orders_order o ON o.id = t.order_id AND o.status <> 'cancelled'
            GROUP BY t.campaign_id
        )
        SELECT c.public_id, c.name, r.channels, r.recipients, COALESCE(e.orders, 0),
               COALESCE(e.revenue, 0), COALESCE(e.converters, 0)
        FROM reach r JOIN campaigns_campaign c ON c.id = r.campaign_id
        LEFT JOIN earned e ON e.campaign_id = r.campaign_id
        ORDER BY c.name
        """,
        {"reached": list(REACHED)},
    )
    groups = {
        "three_or_more": {"label": "3+ channels", "campaigns": []},
        "fewer": {"label": "1–2 channels", "campaigns": []},
    }
    for public_id, name, channels, recipients, orders, revenue, converters in rows:
        key = "three_or_more" if channels >= 3 else "fewer"
        groups[key]["campaigns"].append(
            {
                "id": str(public_id),
                "name": name,
                "channels": channels,
                "recipients": recipients,
                "orders": orders,
                "revenue": _money(revenue),
                "converters": converters,
            }
        )
    for group in groups.values():
        campaigns = group["campaigns"]
        recipients = sum(c["recipients"] for c in campaigns)
        orders = sum(c["orders"] for c in campaigns)
        revenue = sum((Decimal(c["revenue"]) for c in campaigns), Decimal(0))
        converters = sum(c["converters"] for c in campaigns)
        group.update(
            count=len(campaigns),
            recipients=recipients,
            orders=orders,
            revenue=_money(revenue),
            aov=_money(revenue / orders) if orders else None,
            conversion_rate=_rate(converters, recipients),
            revenue_per_recipient=_money(revenue / recipients) if recipients else "0.00",
        )
    a, b = groups["three_or_more"], groups["fewer"]
    test = stats.two_proportion_z_test(
        sum(c["converters"] for c in a["campaigns"]),
        a["recipients"],
        sum(c["converters"] for c in b["campaigns"]),
        b["recipients"],
    )
    return {
        "groups": groups,
        "p_value": test.p_value if a["recipients"] and b["recipients"] else None,
    }


# --- Calendar -------------------------------------------------------------------------------


def calendar_month(year: int, month: int) -> dict[str, Any]:
    """Every campaign sent or scheduled in the month, by day (UTC)."""
    first = datetime.datetime(year, month, 1, tzinfo=datetime.UTC)
    days_in_month = calendar.monthrange(year, month)[1]
    end = first + datetime.timedelta(days=days_in_month)
    now = timezone.now()
    events: dict[datetime.date, list[dict]] = defaultdict(list)

    def add(moment: datetime.datetime, campaign: Campaign, state: str, note: str = ""):
        events[moment.astimezone(datetime.UTC).date()].append(
            {
                "id": str(campaign.public_id),
                "pk": campaign.pk,
                "name": campaign.name,
                "time": moment.astimezone(datetime.UTC).strftime("%H:%M"),
                "state": state,
                "note": note,
                "channels": list(campaign.channels),
            }
        )

    from campaigns.services.scheduling import fire_times

    scheduled_ids = set()
    for schedule in Schedule.objects.select_related("campaign").exclude(
        campaign__status=Campaign.Status.CANCELLED
    ):
        campaign = schedule.campaign
        scheduled_ids.add(campaign.pk)
        if schedule.mode == Schedule.Mode.RECURRING:
            # Occurrences before the schedule existed never happened.
            for moment in fire_times(schedule, max(first, schedule.created_at), end):
                add(moment, campaign, "sent" if moment <= now else "scheduled", schedule.cron)
        elif schedule.mode == Schedule.Mode.AT and schedule.send_at:
            if first <= schedule.send_at < end:
                state = "sent" if campaign.started_at else "scheduled"
                add(schedule.send_at, campaign, state)
        elif schedule.mode == Schedule.Mode.LOCAL_TIME and schedule.local_date:
            moment = datetime.datetime.combine(
                schedule.local_date, schedule.local_time, tzinfo=datetime.UTC
            )
            if first <= moment < end:
                state = "sent" if campaign.started_at else "scheduled"
                add(moment, campaign, state, "local time")
        elif schedule.mode == Schedule.Mode.NOW and campaign.started_at:
            scheduled_ids.discard(campaign.pk)
    for campaign in Campaign.objects.filter(
        started_at__gte=first, started_at__lt=end, kind=Campaign.Kind.ONE_OFF
    ).exclude(pk__in=scheduled_ids):
        add(
            campaign.started_at, campaign, "sent" if campaign.status != "cancelled" else "cancelled"
        )
    weeks = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        weeks.append(
            [
                {
                    "date": day,
                    "in_month": day.month == month,
                    "today": day == now.date(),
                    "events": sorted(events.get(day, []), key=lambda e: e["time"]),
                }
                for day in week
            ]
        )
    previous = (first - datetime.timedelta(days=1)).date()
    return {
        "year": year,
        "month": month,
        "title": first.strftime("%B %Y"),
        "weeks": weeks,
        "previous": f"{previous.year:04d}-{previous.month:02d}",
        "next": f"{end.year:04d}-{end.month:02d}",
        "events": sum(len(items) for items in events.values()),
    }
