"""The rules a message must pass at the moment it would leave.

`plan_delivery` answers send, defer (until when) or skip (why), in this order:
1. the campaign is not cancelled;
2. the customer still exists as themselves (not erased, not merged away) and the address
   has not hard-bounced before → else `suppressed`;
3. there is an address on the channel → else `no_address`;
4. marketing needs consent for the channel → else `no_consent`; transactional messages are
   exempt, except from a hard opt-out of the channel (`OMNI_HARD_OPT_OUT_CHANNELS`, e.g. an
   SMS STOP) → `no_consent`;
5. quiet hours in the customer's time zone, on the quiet-hours channels → defer to their
   end (`quiet_hours_deferred`); the rules run again then;
6. frequency caps across all campaigns on the channel in a rolling window, and for email the
   customer's own frequency choice, whichever is longer → else `frequency_capped`
   (transactional messages are exempt and do not count).
At most once per (campaign, step, customer, channel) is the database's job (a unique
constraint), not this function's.

What a message may offer is checked when its content is built: `discountable_products`
keeps out products the customer bought at full price within `OMNI_FULL_PRICE_WINDOW`, and
`products_bought_since` finds cart items already bought (dropped from the message).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from campaigns import conf
from campaigns.audience import AudiencePolicy
from campaigns.models import Campaign, Delivery

SEND, DEFER, SKIP = "send", "defer", "skip"

EMAIL_FREQUENCY_WINDOWS = {
    "daily": datetime.timedelta(days=1),
    "weekly": datetime.timedelta(days=7),
    "monthly": datetime.timedelta(days=30),
}
# States in which a message counts against a frequency cap (it left, or is leaving).
COUNTED_STATES = [
    Delivery.State.SENDING,
    Delivery.State.SENT,
    Delivery.State.DELIVERED,
    Delivery.State.OPENED,
    Delivery.State.CLICKED,
]


@dataclass(frozen=True)
class SendPlan:
    action: str
    reason: str = ""
    until: datetime.datetime | None = None

    @property
    def sends(self) -> bool:
        return self.action == SEND


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quiet_hours_end(
    now: datetime.datetime, start: datetime.time, end: datetime.time, tz: str
) -> datetime.datetime | None:
    """When the quiet hours around `now` end (aware, UTC), or None outside them. Windows
    may wrap midnight (21:00–08:00); equal start and end mean no quiet hours."""
    if start == end:
        return None
    zone = _zone(tz)
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        quiet = start <= clock < end
    else:
        quiet = clock >= start or clock < end
    if not quiet:
        return None
    until = datetime.datetime.combine(local.date(), end, tzinfo=zone)
    if until <= local:
        until = datetime.datetime.combine(local.date() + datetime.timedelta(days=1), end, zone)
    return until.astimezone(datetime.UTC)


def cap_window(channel: str, frequency: str | None) -> datetime.timedelta | None:
    window = conf.get("OMNI_FREQUENCY_CAPS").get(channel)
    if channel == "email" and frequency in EMAIL_FREQUENCY_WINDOWS:
        chosen = EMAIL_FREQUENCY_WINDOWS[frequency]
        window = max(window, chosen) if window else chosen
    return window


def plan_delivery(
    *,
    campaign: Campaign,
    customer,
    channel: str,
    address: str,
    now: datetime.datetime,
    policy: AudiencePolicy,
    exclude_delivery_id: int | None = None,
) -> SendPlan:
    """Send now, defer until the end of quiet hours, or skip with a reason (see module)."""
    if campaign.status == Campaign.Status.CANCELLED:
        return SendPlan(SKIP, Delivery.SkipReason.CANCELLED)
    if customer.erased_at is not None or customer.merged_into_id is not None:
        return SendPlan(SKIP, Delivery.SkipReason.SUPPRESSED)
    if not address:
        return SendPlan(SKIP, Delivery.SkipReason.NO_ADDRESS)
    if Delivery.objects.filter(
        channel=channel, address=address, state=Delivery.State.BOUNCED
    ).exists():
        return SendPlan(SKIP, Delivery.SkipReason.SUPPRESSED)
    if not campaign.transactional and not policy.marketing_consent(customer, channel):
        return SendPlan(SKIP, Delivery.SkipReason.NO_CONSENT)
    if campaign.transactional and hard_opt_out(policy, customer, channel):
        return SendPlan(SKIP, Delivery.SkipReason.NO_CONSENT)
    if channel in conf.get("OMNI_QUIET_HOURS_CHANNELS"):
        start, end, tz = policy.quiet_hours(customer)
        until = quiet_hours_end(now, start, end, tz)
        if until is not None:
            return SendPlan(DEFER, Delivery.SkipReason.QUIET_HOURS_DEFERRED, until)
    if not campaign.transactional:
        frequency = policy.email_frequency(customer) if channel == "email" else None
        window = cap_window(channel, frequency)
        if window is not None:
            recent = Delivery.objects.filter(
                customer=customer,
                channel=channel,
                transactional=False,
                state__in=COUNTED_STATES,
                sent_at__gt=now - window,
            )
            if exclude_delivery_id is not None:
                recent = recent.exclude(pk=exclude_delivery_id)
            if recent.exists():
                return SendPlan(SKIP, Delivery.SkipReason.FREQUENCY_CAPPED)
    return SendPlan(SEND)


def hard_opt_out(policy: AudiencePolicy, customer, channel: str) -> bool:
    """Did the customer withdraw a channel where the law makes that stop everything?"""
    if channel not in conf.get("OMNI_HARD_OPT_OUT_CHANNELS"):
        return False
    check = getattr(policy, "hard_opt_out", None)
    return bool(check and check(customer, channel))


# --- What a message may offer ---------------------------------------------------------------


def _bought_lines(customer_id: int):
    from orders.models import Order, OrderLine

    return OrderLine.objects.filter(order__customer_id=customer_id).exclude(
        order__status=Order.Status.CANCELLED
    )


def full_price_products(*, customer_id: int, product_ids, now: datetime.datetime) -> set[int]:
    """Products among `product_ids` the customer bought without any discount within the
    full-price window (any channel)."""
    window = conf.get("OMNI_FULL_PRICE_WINDOW")
    return set(
        _bought_lines(customer_id)
        .filter(
            sku__product_id__in=list(product_ids),
            discount=0,
            order__discount_total=0,
            order__placed_at__gt=now - window,
            order__placed_at__lte=now,
        )
        .values_list("sku__product_id", flat=True)
    )


def discountable_products(*, customer_id: int, product_ids, now: datetime.datetime) -> list[int]:
    """The products a discount may be promoted on for this customer, in the given order."""
    paid_full = full_price_products(customer_id=customer_id, product_ids=product_ids, now=now)
    return [product_id for product_id in product_ids if product_id not in paid_full]


def skus_bought_since(*, customer_id: int, since: dict[int, datetime.datetime]) -> set[int]:
    """Of the SKUs in `since` (sku id → time), those the customer bought after that time,
    on any channel (web, app, phone, a till)."""
    if not since:
        return set()
    rows = (
        _bought_lines(customer_id)
        .filter(sku_id__in=list(since))
        .values_list("sku_id", "order__placed_at")
    )
    return {sku_id for sku_id, placed_at in rows if placed_at >= since[sku_id]}
