"""Reads of orders that are more than one filter: what a caller may see, a store's pickup
queue, and a store's day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from inventory.models import Location
from omni.auth import visible_location_ids
from orders.models import Fulfilment, Order, OrderEvent, OrderLine, Return

S = Fulfilment.Status
PICKUP_METHODS = [Fulfilment.Method.CLICK_AND_COLLECT, Fulfilment.Method.CURBSIDE]


def orders_at(queryset: QuerySet, location_ids, *, with_transfers: bool = True) -> QuerySet:
    """Orders placed at, or fulfilled from or collected at, one of these locations; a
    location sending a pickup's missing units by transfer works on it too (but does not
    count it among its own sales: `with_transfers=False`)."""
    where = Q(location_id__in=location_ids)
    if with_transfers:
        where |= Q(transfer__source_id__in=location_ids)
    touches = Fulfilment.objects.filter(where, order=OuterRef("pk"))
    return queryset.filter(Q(location_id__in=location_ids) | Exists(touches))


def visible_orders(user, queryset: QuerySet | None = None) -> QuerySet:
    """The orders this caller may see: staff of a store and location-scoped tokens see the
    orders placed at, or fulfilled at, their locations; the rest do not exist for them."""
    queryset = Order.objects.all() if queryset is None else queryset
    ids = visible_location_ids(user)
    if ids is None:
        return queryset
    return orders_at(queryset, ids)


def order_detail_queryset() -> QuerySet:
    return Order.objects.select_related("customer", "location", "discount_code").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("sku")),
        Prefetch(
            "fulfilments",
            queryset=Fulfilment.objects.select_related("location").prefetch_related("lines"),
        ),
        "payments",
        Prefetch("events", queryset=OrderEvent.objects.select_related("actor_user", "actor_token")),
    )


# --- The pickup queue --------------------------------------------------------------------


@dataclass
class PickupQueue:
    location: Location
    now: datetime
    curbside_waiting: list[Fulfilment] = field(default_factory=list)
    to_pick: list[Fulfilment] = field(default_factory=list)
    awaiting_transfer: list[Fulfilment] = field(default_factory=list)
    overdue: list[Fulfilment] = field(default_factory=list)
    due_today: list[Fulfilment] = field(default_factory=list)
    ready: list[Fulfilment] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (
            self.curbside_waiting
            or self.to_pick
            or self.awaiting_transfer
            or self.overdue
            or self.due_today
            or self.ready
        )


def local_day_bounds(location: Location, day: date) -> tuple[datetime, datetime]:
    """Midnight to midnight of `day` in the store's own time zone, as UTC instants."""
    zone = ZoneInfo(location.time_zone or "UTC")
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, start + timedelta(days=1)


def store_today(location: Location, now: datetime | None = None) -> date:
    now = now or timezone.now()
    return now.astimezone(ZoneInfo(location.time_zone or "UTC")).date()


def pickup_queue(*, location: Location, now: datetime | None = None) -> PickupQueue:
    """What a store's pickup desk has to do now. Each open pickup is in exactly one
    section, the most urgent first: a customer waiting at the curb, then overdue, then due
    today, then ready; to pick and awaiting transfer are the shelf-side work."""
    now = now or timezone.now()
    queue = PickupQueue(location=location, now=now)
    _, end_of_today = local_day_bounds(location, store_today(location, now))
    open_pickups = (
        Fulfilment.objects.filter(
            location=location,
            method__in=PICKUP_METHODS,
            status__in=[S.ALLOCATED, S.PICKED, S.AWAITING_TRANSFER, S.READY_FOR_PICKUP],
        )
        .select_related("order", "order__customer", "transfer")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("sku")))
        .order_by("pickup_deadline", "order__placed_at", "pk")
    )
    for fulfilment in open_pickups:
        if fulfilment.status == S.AWAITING_TRANSFER:
            queue.awaiting_transfer.append(fulfilment)
        elif fulfilment.status in {S.ALLOCATED, S.PICKED}:
            queue.to_pick.append(fulfilment)
        elif fulfilment.arrived_at is not None:
            queue.curbside_waiting.append(fulfilment)
        elif fulfilment.pickup_deadline and fulfilment.pickup_deadline < now:
            queue.overdue.append(fulfilment)
        elif fulfilment.pickup_deadline and fulfilment.pickup_deadline < end_of_today:
            queue.due_today.append(fulfilment)
        else:
            queue.ready.append(fulfilment)
    queue.curbside_waiting.sort(key=lambda f: f.arrived_at)
    return queue


# --- A store's day -----------------------------------------------------------------------


@dataclass
class ChannelSales:
    channel: str
    label: str
    orders: int
    total: Decimal


@dataclass
class StoreDay:
    location: Location
    day: date
    sales: list[ChannelSales]
    sales_total: Decimal
    currency: str
    pickups_collected: int
    pickups_expired: int
    pickups_made_ready: int
    returns_received: int
    refunded_total: Decimal


def store_summary(*, location: Location, day: date) -> StoreDay:
    """One store's day: sales placed there by channel (till sales and orders taken in the
    store), pickups handed over or expired there, and returns received there."""
    start, end = local_day_bounds(location, day)
    placed = orders_at(Order.objects.all(), [location.pk], with_transfers=False).filter(
        placed_at__gte=start, placed_at__lt=end
    )
    placed = placed.exclude(status=Order.Status.CANCELLED)
    labels = dict(Order._meta.get_field("channel").choices)
    rows = placed.values("channel").annotate(orders=Count("pk"), total=Sum("total"))
    sales = [
        ChannelSales(
            channel=row["channel"],
            label=labels.get(row["channel"], row["channel"]),
            orders=row["orders"],
            total=row["total"] or Decimal(0),
        )
        for row in rows.order_by("-total")
    ]
    pickups = Fulfilment.objects.filter(location=location, method__in=PICKUP_METHODS)
    events = OrderEvent.objects.filter(
        fulfilment__location=location,
        fulfilment__method__in=PICKUP_METHODS,
        created_at__gte=start,
        created_at__lt=end,
    )
    returns = Return.objects.filter(location=location, received_at__gte=start, received_at__lt=end)
    return StoreDay(
        location=location,
        day=day,
        sales=sales,
        sales_total=sum((row.total for row in sales), Decimal(0)),
        currency="EUR",
        pickups_collected=pickups.filter(collected_at__gte=start, collected_at__lt=end).count(),
        pickups_expired=events.filter(kind=f"fulfilment.{S.EXPIRED}").count(),
        pickups_made_ready=events.filter(kind=f"fulfilment.{S.READY_FOR_PICKUP}").count(),
        returns_received=returns.count(),
        refunded_total=returns.aggregate(total=Sum("refund_total"))["total"] or Decimal(0),
    )
