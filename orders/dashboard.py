"""Dashboard blocks and search results of the orders app: today's pickups, returns received
today, today's sales by channel and the last 14 days as a chart; orders found by number or
till receipt."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Q, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from omni.auth import has_scope, visible_location_ids
from omni.charts import Series, column_chart
from omni.dashboard import ADMIN_ROLES, STORE_ROLES, register_panel
from omni.search import Hit, register_finder
from orders.models import Order, Return
from orders.selectors import local_day_bounds, orders_at, pickup_queue, store_summary, store_today
from orders.selectors import visible_orders as orders_visible_to

SALES_DAYS = 14


def _desk(name: str, location, anchor: str = "") -> str:
    url = reverse(f"admin:orders_{name}_changelist")
    if location is not None:
        url += "?" + urlencode({"location": location.code})
    return url + (f"#{anchor}" if anchor else "")


def pickups_panel(request, location):
    if not has_scope(request.user, "orders:read"):
        return None
    queue = pickup_queue(location=location)
    figures = [
        ("To pick", len(queue.to_pick), "to-pick", ""),
        ("Ready", len(queue.ready) + len(queue.due_today), "ready", ""),
        ("Overdue", len(queue.overdue), "overdue", "bad"),
        ("Curbside waiting", len(queue.curbside_waiting), "curbside", "warn"),
    ]
    rows = [
        {
            "label": f"{part.order.number} · {part.arrival_note or 'arrived'}",
            "detail": f"waiting since {timezone.localtime(part.arrived_at):%H:%M}",
            "url": _desk("pickupdesk", location, "curbside"),
        }
        for part in queue.curbside_waiting
    ]
    return {
        "figures": [
            {
                "label": label,
                "value": value,
                "url": _desk("pickupdesk", location, anchor),
                "tone": tone if value else "",
            }
            for label, value, anchor, tone in figures
        ],
        "rows": rows,
        "more_url": _desk("pickupdesk", location),
        "more_label": "Open the pickup queue",
    }


def returns_panel(request, location):
    if not has_scope(request.user, "orders:read"):
        return None
    start, end = local_day_bounds(location, store_today(location))
    received = list(
        Return.objects.filter(location=location, received_at__gte=start, received_at__lt=end)
        .select_related("order")
        .order_by("-received_at")[:6]
    )
    count = Return.objects.filter(
        location=location, received_at__gte=start, received_at__lt=end
    ).count()
    refunded = Return.objects.filter(
        location=location, received_at__gte=start, received_at__lt=end
    ).aggregate(total=Sum("refund_total"))["total"] or Decimal(0)
    return {
        "figures": [
            {"label": "received today", "value": count, "url": _desk("returnsdesk", location)},
            {
                "label": "refunded (EUR)",
                "value": f"{refunded:,.2f}",
                "url": _desk("returnsdesk", location),
            },
        ],
        "rows": [
            {
                "label": f"{item.number} of {item.order.number}",
                "detail": item.get_status_display().lower(),
            }
            for item in received
        ],
        "more_url": _desk("returnsdesk", location),
        "more_label": "Open the returns desk",
    }


def sales_today_panel(request, location):
    if not has_scope(request.user, "orders:read"):
        return None
    summary = store_summary(location=location, day=store_today(location))
    return {
        "columns": ["Channel", "Orders", f"Total ({summary.currency})"],
        "table": [{"cells": [row.label, row.orders, f"{row.total:,.2f}"]} for row in summary.sales]
        + (
            [
                {
                    "cells": [
                        "All channels",
                        sum(r.orders for r in summary.sales),
                        f"{summary.sales_total:,.2f}",
                    ]
                }
            ]
            if len(summary.sales) > 1
            else []
        ),
        "empty": "No sales here yet today.",
        "more_url": _desk("storedaysummary", location),
        "more_label": "Daily summary",
    }


def sales_by_day(*, location_ids, days: int = SALES_DAYS, zone: str = "UTC", today=None):
    """(days, [Series per channel]) of order totals placed at these locations (every
    location when None), per local day, cancelled orders left out."""
    tz = ZoneInfo(zone)
    today = today or timezone.localtime(timezone.now(), tz).date()
    first = today - timedelta(days=days - 1)
    orders = Order.objects.exclude(status=Order.Status.CANCELLED).filter(
        placed_at__date__gte=first - timedelta(days=1)
    )
    if location_ids is not None:
        orders = orders_at(orders, location_ids, with_transfers=False)
    rows = (
        orders.annotate(day=TruncDate("placed_at", tzinfo=tz))
        .filter(day__gte=first, day__lte=today)
        .values("day", "channel")
        .annotate(total=Sum("total"))
    )
    labels = dict(Order._meta.get_field("channel").choices)
    dates = [first + timedelta(days=n) for n in range(days)]
    by_channel: dict[str, dict] = {}
    for row in rows:
        by_channel.setdefault(row["channel"], {})[row["day"]] = row["total"] or Decimal(0)
    series = [
        Series(name=labels.get(channel, channel), values=[totals.get(d, 0) for d in dates])
        for channel, totals in sorted(by_channel.items(), key=lambda item: -sum(item[1].values()))
    ]
    return dates, series


def sales_chart_panel(request, location):
    if not has_scope(request.user, "orders:read"):
        return None
    ids = [location.pk] if location is not None else visible_location_ids(request.user)
    zone = location.time_zone if location is not None else "UTC"
    dates, series = sales_by_day(location_ids=ids, zone=zone)
    where = location.name if location is not None else "all stores"
    chart = column_chart(
        [f"{d:%d/%m}" for d in dates],
        series or [Series(name="No sales", values=[0] * len(dates))],
        title=f"Sales by channel, last {SALES_DAYS} days, {where} (EUR)",
    )
    return {"chart": chart}


register_panel(
    "pickups",
    "admin/omni/panels/figures.html",
    pickups_panel,
    title="Today's pickups",
    roles=STORE_ROLES | ADMIN_ROLES,
    order=10,
    needs_store=True,
)
register_panel(
    "returns",
    "admin/omni/panels/figures.html",
    returns_panel,
    title="Returns received today",
    roles=STORE_ROLES,
    order=20,
    needs_store=True,
)
register_panel(
    "sales-today",
    "admin/omni/panels/table.html",
    sales_today_panel,
    title="Today's sales by channel",
    roles=STORE_ROLES,
    order=30,
    needs_store=True,
)
register_panel(
    "sales-chart",
    "admin/omni/panels/table.html",
    sales_chart_panel,
    title="Sales by channel, last 14 days",
    roles=STORE_ROLES | ADMIN_ROLES,
    order=35,
    wide=True,
)


# --- Global search ---------------------------------------------------------------------------


def find_orders(request, term: str) -> list[Hit]:
    """An order by its number or the till's receipt (exact, any case), or by the start of
    its number; only orders the user may see."""
    if not has_scope(request.user, "orders:read") or len(term) < 3:
        return []
    visible = orders_visible_to(request.user)
    exact = list(
        visible.filter(Q(number__iexact=term) | Q(client_reference=term)).order_by("-placed_at")[:5]
    )
    found = {order.pk for order in exact}
    partial = list(
        visible.filter(number__istartswith=term).exclude(pk__in=found).order_by("-placed_at")[:5]
    )
    return [
        Hit(
            label=order.number,
            detail=f"{order.get_channel_display()} · {order.get_status_display().lower()} · "
            f"{order.total:,.2f} {order.currency} · {timezone.localtime(order.placed_at):%d %b %Y}",
            url=reverse("admin:orders_order_change", args=[order.pk]),
            exact=order.pk in found,
        )
        for order in exact + partial
    ]


register_finder("orders", "Orders", find_orders, order=20)
