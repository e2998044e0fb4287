"""Attribution: which campaign earned an order.

The rule (last touch, one credit per order):
- A touch is a marketing (non-transactional) delivery to the order's customer that was
  clicked within the click window before the order (default 5 days), or opened within the
  open window (default 1 day). SMS and push report no opens: for them, being sent or
  delivered (and not bounced or failed) counts as the open.
- The order goes to the latest touch; on a tie a click beats an open. The credit records
  the campaign, the delivery, its channel, the customer's arm and the order's own sales
  channel (web, app, store...). Cancelled orders earn nothing.
- Orders from every channel count, POS sales included: `orders` announces each placed
  order and sale through its purchase hook, and campaigns credits it after commit.
- One statement decides for any set of orders, so the live hook and the backfill
  (`recompute_attributions`) apply the same rule.
"""

from __future__ import annotations

import datetime
import logging

from django.db import connection, transaction

from campaigns import conf
from campaigns.models import Attribution

logger = logging.getLogger(__name__)

_CREDIT = """
    INSERT INTO campaigns_attribution (
        order_id, campaign_id, delivery_id, arm_id, customer_id, message_channel, touch,
        touched_at, order_channel, ordered_at, revenue, currency, recorded_at
    )
    SELECT DISTINCT ON (o.id)
           o.id, d.campaign_id, d.id, a.arm_id, o.customer_id, d.channel, t.touch,
           t.touched_at, o.channel, o.placed_at, o.total, o.currency, now()
    FROM orders_order o
    JOIN campaigns_delivery d ON d.customer_id = o.customer_id AND NOT d.transactional
    CROSS JOIN LATERAL (
        VALUES ('click', d.clicked_at, %(click)s::interval),
               ('open',
                COALESCE(d.opened_at,
                         CASE WHEN d.channel IN ('sms', 'push')
                                   AND d.state IN ('sent', 'delivered', 'opened', 'clicked')
                              THEN COALESCE(d.delivered_at, d.sent_at) END),
                %(open)s::interval)
    ) AS t(touch, touched_at, win)
    LEFT JOIN campaigns_assignment a
           ON a.campaign_id = d.campaign_id AND a.customer_id = d.customer_id
    WHERE {orders}
      AND o.customer_id IS NOT NULL AND o.status <> 'cancelled'
      AND t.touched_at IS NOT NULL
      AND t.touched_at <= o.placed_at AND t.touched_at >= o.placed_at - t.win
    ORDER BY o.id, t.touched_at DESC, (t.touch = 'click') DESC, d.id DESC
    ON CONFLICT (order_id) DO NOTHING
"""


def _windows() -> dict:
    return {
        "click": conf.get("OMNI_ATTRIBUTION_CLICK_WINDOW"),
        "open": conf.get("OMNI_ATTRIBUTION_OPEN_WINDOW"),
    }


def _credit(order_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_CREDIT.format(orders="o.id = %(order)s"), {**_windows(), "order": order_id})


def attribute_order(*, order_id: int) -> Attribution | None:
    """Credit one order (a no-op if it already has its credit or had no touch)."""
    _credit(order_id)
    return Attribution.objects.filter(order_id=order_id).first()


def on_purchase_recorded(sender, order, **kwargs) -> None:
    """`orders.signals.purchase_recorded`, sent after the order's commit. An order with
    no customer (most till sales) has no touch to credit."""
    if order.customer_id is not None:
        credit_placed_order(order.pk)


def credit_placed_order(order_id: int) -> None:
    """The purchase hook: runs after the order's commit; a failure here must not touch
    the sale (the nightly recompute credits it later)."""
    try:
        _credit(order_id)
    except Exception:  # noqa: BLE001 - logged; the backfill catches up
        logger.exception("attribution of order %s failed", order_id)


def recompute_attributions(*, since: datetime.datetime, until: datetime.datetime) -> int:
    """Credit again every order placed in [since, until): late clicks, merges and changed
    windows all count. Returns the number of credited orders."""
    with transaction.atomic():
        Attribution.objects.filter(ordered_at__gte=since, ordered_at__lt=until).delete()
        with connection.cursor() as cursor:
            cursor.execute(
                _CREDIT.format(orders="o.placed_at >= %(since)s AND o.placed_at < %(until)s"),
                {**_windows(), "since": since, "until": until},
            )
            return cursor.rowcount
