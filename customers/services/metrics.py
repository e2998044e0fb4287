"""Customer metrics, fed by the orders work through `record_purchase` and `record_return`.

Purchases and returns are kept as `MetricsFact` rows (once per reference, so a retried call
changes nothing); every metric is derived from them by set-based SQL, for one customer on
each event and for everyone nightly (`recompute_all_metrics`, which also ranks the RFM
quintiles with `NTILE(5)`). Definitions: README, "Customer metrics".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from customers.models import Customer, CustomerMetrics, MetricsFact, TimelineEntry
from customers.services import loyalty
from customers.services.timeline import add_timeline_entry, survivor_of
from omni.errors import BadRequest

# Lifecycle thresholds, in days since the last (or first) order.
NEW_WITHIN_DAYS = 90
ACTIVE_WITHIN_DAYS = 180
AT_RISK_WITHIN_DAYS = 365
YEAR_DAYS = 365


class InvalidAmount(BadRequest):
    code = "invalid_amount"
    message = "Amounts must be zero or more."


@dataclass(frozen=True)
class Recorded:
    fact: MetricsFact
    created: bool


_UPSERT_SQL = """
WITH targets AS (
    SELECT id FROM customers_customer
     WHERE %(all)s OR id = ANY(%(ids)s)
), facts AS (
    SELECT f.* FROM customers_metricsfact f JOIN targets t ON t.id = f.customer_id
), agg AS (
    SELECT t.id AS customer_id,
           MAX(f.currency) FILTER (WHERE f.kind = 'purchase') AS currency,
           COUNT(f.id) FILTER (WHERE f.kind = 'purchase') AS order_count,
           COUNT(f.id) FILTER (WHERE f.kind = 'return') AS return_count,
           COALESCE(SUM(f.revenue) FILTER (WHERE f.kind = 'purchase'), 0) AS revenue,
           COALESCE(SUM(f.discount) FILTER (WHERE f.kind = 'purchase'), 0) AS discounts,
           COALESCE(SUM(f.amount) FILTER (WHERE f.kind = 'return'), 0) AS returns,
           COALESCE(SUM(f.cost) FILTER (WHERE f.kind = 'purchase'), 0)
             - COALESCE(SUM(f.cost) FILTER (WHERE f.kind = 'return'), 0) AS cost_of_goods,
           MIN(f.occurred_at) FILTER (WHERE f.kind = 'purchase') AS first_order_at,
           MAX(f.occurred_at) FILTER (WHERE f.kind = 'purchase') AS last_order_at,
           COUNT(f.id) FILTER (
               WHERE f.kind = 'purchase' AND f.occurred_at > %(year_ago)s) AS frequency,
           COALESCE(SUM(f.revenue - f.discount) FILTER (
               WHERE f.kind = 'purchase' AND f.occurred_at > %(year_ago)s), 0)
             - COALESCE(SUM(f.amount) FILTER (
               WHERE f.kind = 'return' AND f.occurred_at > %(year_ago)s), 0) AS monetary
      FROM targets t LEFT JOIN facts f ON f.customer_id = t.id
     GROUP BY t.id
), dated AS (
    SELECT agg.*,
           FLOOR(EXTRACT(EPOCH FROM (%(as_of)s - last_order_at)) / 86400)::int AS recency_days,
           FLOOR(EXTRACT(EPOCH FROM (%(as_of)s - first_order_at)) / 86400)::int AS tenure_days
      FROM agg
), channel_counts AS (
    SELECT customer_id, channel, COUNT(*) AS n, MAX(occurred_at) AS latest
      FROM facts WHERE kind = 'purchase' AND channel <> ''
     GROUP BY customer_id, channel
), preferred_channel AS (
    SELECT DISTINCT ON (customer_id) customer_id, channel
      FROM channel_counts ORDER BY customer_id, n DESC, latest DESC, channel
), channels AS (
    SELECT customer_id, jsonb_agg(channel ORDER BY channel) AS used, COUNT(*) AS n
      FROM channel_counts GROUP BY customer_id
), preferred_store AS (
    SELECT DISTINCT ON (customer_id) customer_id, location_id
      FROM (SELECT customer_id, location_id, COUNT(*) AS n, MAX(occurred_at) AS latest
              FROM facts WHERE kind = 'purchase' AND location_id IS NOT NULL
             GROUP BY customer_id, location_id) AS per_store
     ORDER BY customer_id, n DESC, latest DESC, location_id
)
INSERT INTO customers_customermetrics AS m (
    customer_id, currency, order_count, return_count, revenue, discounts, returns,
    cost_of_goods, average_order_value, first_order_at, last_order_at, recency_days,
    frequency, monetary, r_score, f_score, m_score, rfm_segment, repurchase_rate,
    return_rate, lifetime_value, profitability, lifecycle_stage, preferred_channel,
    preferred_store_id, channels_used, channel_count, computed_at)
SELECT d.customer_id, COALESCE(d.currency, ''), d.order_count, d.return_count, d.revenue,
       d.discounts, d.returns, d.cost_of_goods,
       CASE WHEN d.order_count > 0
            THEN ROUND((d.revenue - d.discounts) / d.order_count, 2) ELSE 0 END,
       d.first_order_at, d.last_order_at, GREATEST(d.recency_days, 0),
       d.frequency, d.monetary, NULL, NULL, NULL, '',
       CASE WHEN d.order_count > 0
            THEN ROUND((d.order_count - 1)::numeric / d.order_count, 4) ELSE 0 END,
       CASE WHEN d.revenue - d.discounts > 0
            THEN LEAST(1, ROUND(d.returns / (d.revenue - d.discounts), 4)) ELSE 0 END,
       d.revenue - d.discounts - d.returns,
       d.revenue - d.cost_of_goods - d.discounts - d.returns,
       CASE WHEN d.order_count = 0 THEN 'prospect'
            WHEN d.recency_days > %(at_risk_days)s THEN 'lapsed'
            WHEN d.recency_days > %(active_days)s THEN 'at_risk'
            WHEN d.monetary >= %(vip_spend)s THEN 'vip'
            WHEN d.tenure_days <= %(new_days)s THEN 'new'
            ELSE 'active' END,
       COALESCE(pc.channel, ''), ps.location_id, COALESCE(ch.used, '[]'::jsonb),
       COALESCE(ch.n, 0), %(as_of)s
  FROM dated d
  LEFT JOIN preferred_channel pc ON pc.customer_id = d.customer_id
  LEFT JOIN channels ch ON ch.customer_id = d.customer_id
  LEFT JOIN preferred_store ps ON ps.customer_id = d.customer_id
ON CONFLICT (customer_id) DO UPDATE SET
    currency = EXCLUDED.currency, order_count = EXCLUDED.order_count,
    return_count = EXCLUDED.return_count, revenue = EXCLUDED.revenue,
    discounts = EXCLUDED.discounts, returns = EXCLUDED.returns,
    cost_of_goods = EXCLUDED.cost_of_goods, average_order_value = EXCLUDED.average_order_value,
    first_order_at = EXCLUDED.first_order_at, last_order_at = EXCLUDED.last_order_at,
    recency_days = EXCLUDED.recency_days, frequency = EXCLUDED.frequency,
    monetary = EXCLUDED.monetary, repurchase_rate = EXCLUDED.repurchase_rate,
    return_rate = EXCLUDED.return_rate, lifetime_value = EXCLUDED.lifetime_value,
    profitability = EXCLUDED.profitability, lifecycle_stage = EXCLUDED.lifecycle_stage,
    preferred_channel = EXCLUDED.preferred_channel,
    preferred_store_id = EXCLUDED.preferred_store_id, channels_used = EXCLUDED.channels_used,
    channel_count = EXCLUDED.channel_count, computed_at = EXCLUDED.computed_at
"""

# Tier by 12-month net spend, for customers who have bought or already have an account
# (a customer whose orders moved away in a merge drops back a tier); prospects get none.
_TIER_SQL = """
INSERT INTO customers_loyaltyaccount AS a (customer_id, balance, tier, updated_at)
SELECT m.customer_id, 0,
       CASE WHEN m.monetary >= %(gold)s THEN 'gold'
            WHEN m.monetary >= %(silver)s THEN 'silver' ELSE 'bronze' END,
       now()
  FROM customers_customermetrics m
 WHERE (%(all)s OR m.customer_id = ANY(%(ids)s))
   AND (m.order_count > 0
        OR EXISTS (SELECT 1 FROM customers_loyaltyaccount x WHERE x.customer_id = m.customer_id))
ON CONFLICT (customer_id) DO UPDATE SET tier = EXCLUDED.tier, updated_at = now()
 WHERE a.tier IS DISTINCT FROM EXCLUDED.tier
"""

# RFM quintiles among customers who have bought (and are neither merged away nor erased).
# R: fewer days since the last order scores higher; F and M: more scores higher. Ties are
# broken by customer id so the ranking is stable from night to night.
_QUINTILES_SQL = """
WITH ranked AS (
    SELECT m.customer_id,
           NTILE(5) OVER (ORDER BY m.recency_days DESC, m.customer_id) AS r,
           NTILE(5) OVER (ORDER BY m.frequency, m.order_count, m.customer_id) AS f,
           NTILE(5) OVER (ORDER BY m.monetary, m.customer_id) AS mo
      FROM customers_customermetrics m
      JOIN customers_customer c ON c.id = m.customer_id
     WHERE m.order_count > 0 AND c.merged_into_id IS NULL AND c.erased_at IS NULL
), scored AS (
    SELECT customer_id, r, f, mo, (f + mo + 1) / 2 AS fm FROM ranked
)
UPDATE customers_customermetrics m
   SET r_score = s.r, f_score = s.f, m_score = s.mo,
       rfm_segment = CASE
           WHEN s.r >= 4 AND s.fm >= 4 THEN 'champions'
           WHEN s.r >= 3 AND s.fm >= 3 THEN 'loyal'
           WHEN s.r >= 4 AND s.fm = 2 THEN 'potential_loyalist'
           WHEN s.r >= 4 THEN 'new'
           WHEN s.r <= 2 AND s.fm = 5 THEN 'cant_lose'
           WHEN s.r <= 2 AND s.fm >= 3 THEN 'at_risk'
           WHEN s.r >= 2 THEN 'hibernating'
           ELSE 'lost' END
  FROM scored s
 WHERE m.customer_id = s.customer_id
"""

_UNSCORE_SQL = """
UPDATE customers_customermetrics m
   SET r_score = NULL, f_score = NULL, m_score = NULL, rfm_segment = ''
  FROM customers_customer c
 WHERE c.id = m.customer_id AND m.r_score IS NOT NULL
   AND (m.order_count = 0 OR c.merged_into_id IS NOT NULL OR c.erased_at IS NOT NULL)
"""


def _params(*, customer_ids: list[int] | None, as_of: datetime) -> dict:
    policy = loyalty.current_policy()
    return {
        "all": customer_ids is None,
        "ids": sorted(set(customer_ids or [])),
        "as_of": as_of,
        "year_ago": as_of - timedelta(days=YEAR_DAYS),
        "new_days": NEW_WITHIN_DAYS,
        "active_days": ACTIVE_WITHIN_DAYS,
        "at_risk_days": AT_RISK_WITHIN_DAYS,
        "vip_spend": policy.gold_spend,
        "gold": policy.gold_spend,
        "silver": policy.silver_spend,
    }


def refresh_customer_metrics(*, customer_ids: list[int], as_of: datetime | None = None) -> None:
    """Recompute the metrics (not the quintiles, which rank everyone and wait for the
    nightly run) and the loyalty tier of some customers from their facts."""
    params = _params(customer_ids=customer_ids, as_of=as_of or timezone.now())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_UPSERT_SQL, params)
        cursor.execute(_TIER_SQL, params)


def recompute_all_metrics(*, as_of: datetime | None = None, progress=None) -> int:
    """The nightly run: every customer's metrics from the facts, then tiers, then the RFM
    quintiles and segments, in set-based statements. Safe to run again.

    Each step commits on its own: a purchase being recorded meanwhile locks the loyalty
    account and then the metrics row, so holding metrics rows while locking accounts (one
    transaction for both) could deadlock with it.

    `progress(done, total, note)`, if given, hears after each of the three steps."""
    report = progress or (lambda done, total, note: None)
    params = _params(customer_ids=None, as_of=as_of or timezone.now())
    report(0, 3, "Recomputing every customer's metrics")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_UPSERT_SQL, params)
        count = cursor.rowcount
    report(1, 3, f"{count} customers' metrics recomputed; updating loyalty tiers")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_TIER_SQL, params)
    report(2, 3, "Ranking RFM quintiles and segments")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_UNSCORE_SQL)
        cursor.execute(_QUINTILES_SQL)
    report(3, 3, "Done")
    return count


def _check_amounts(**amounts: Decimal) -> None:
    negative = {name: str(value) for name, value in amounts.items() if value < 0}
    if negative:
        raise InvalidAmount(**negative)


def _record_fact(**fields) -> Recorded:
    try:
        with transaction.atomic():
            return Recorded(MetricsFact.objects.create(**fields), True)
    except IntegrityError:
        # Recorded before (or by a concurrent retry that committed first).
        return Recorded(
            MetricsFact.objects.get(kind=fields["kind"], reference=fields["reference"]), False
        )


def record_purchase(
    *,
    customer: Customer,
    order_reference: str,
    occurred_at: datetime,
    channel: str,
    location=None,
    revenue: Decimal,
    cost: Decimal,
    discount: Decimal,
    currency: str,
) -> Recorded:
    """Count an order or sale once per reference: a fact row, the customer's metrics and
    tier, loyalty points earned per policy on what was paid (`revenue - discount`), and an
    order on the timeline. `revenue` is the merchandise value before discounts, `cost` the
    cost of the goods sold. A repeat with the same reference changes nothing."""
    _check_amounts(revenue=revenue, cost=cost, discount=discount)
    customer = survivor_of(customer)
    with transaction.atomic():
        # One customer's purchases and returns are recorded one at a time, so each refresh
        # sees every fact committed before it.
        loyalty.account_of(customer)
        loyalty.LoyaltyAccount.objects.select_for_update().get(customer=customer)
        recorded = _record_fact(
            customer=customer,
            kind=MetricsFact.Kind.PURCHASE,
            reference=order_reference,
            occurred_at=occurred_at,
            channel=channel,
            location=location,
            revenue=revenue,
            cost=cost,
            discount=discount,
            currency=currency,
        )
        if not recorded.created:
            return recorded
        refresh_customer_metrics(customer_ids=[customer.pk])
        paid = revenue - discount
        loyalty.earn_points(
            customer=customer,
            reference_type="order",
            reference_id=order_reference,
            amount=paid,
            at=occurred_at,
        )
        add_timeline_entry(
            customer=customer,
            kind=TimelineEntry.Kind.ORDER,
            occurred_at=occurred_at,
            title=f"Order {order_reference}: {paid} {currency}",
            channel=channel,
            location=location,
            data={
                "order_reference": order_reference,
                "revenue": str(revenue),
                "discount": str(discount),
                "currency": currency,
            },
            reference_type="order",
            reference_id=order_reference,
        )
    return recorded


def record_return(
    *,
    customer: Customer,
    return_reference: str,
    occurred_at: datetime,
    amount: Decimal,
    cost: Decimal,
) -> Recorded:
    """Count a return once per reference: a fact row (`amount` refunded, `cost` the cost of
    the goods that came back), the metrics and tier, points clawed back in proportion to
    the amount, and a return on the timeline."""
    _check_amounts(amount=amount, cost=cost)
    customer = survivor_of(customer)
    with transaction.atomic():
        loyalty.account_of(customer)
        loyalty.LoyaltyAccount.objects.select_for_update().get(customer=customer)
        recorded = _record_fact(
            customer=customer,
            kind=MetricsFact.Kind.RETURN,
            reference=return_reference,
            occurred_at=occurred_at,
            amount=amount,
            cost=cost,
        )
        if not recorded.created:
            return recorded
        refresh_customer_metrics(customer_ids=[customer.pk])
        loyalty.claw_back_points(
            customer=customer, return_reference=return_reference, amount=amount, at=occurred_at
        )
        add_timeline_entry(
            customer=customer,
            kind=TimelineEntry.Kind.RETURN,
            occurred_at=occurred_at,
            title=f"Return {return_reference}: {amount} refunded",
            data={"return_reference": return_reference, "amount": str(amount)},
            reference_type="return",
            reference_id=return_reference,
        )
    return recorded


def metrics_of(customer: Customer) -> CustomerMetrics:
    """The survivor's metrics row, computed now if it was never computed."""
    customer = survivor_of(customer)
    metrics = CustomerMetrics.objects.filter(customer=customer).first()
    if metrics is None:
        refresh_customer_metrics(customer_ids=[customer.pk])
        metrics = CustomerMetrics.objects.get(customer=customer)
    return metrics
