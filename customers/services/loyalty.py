"""Loyalty points: an append-only ledger with a balance kept beside it.

Rules kept here:
- every change is one `LoyaltyEntry` plus one conditional UPDATE of `LoyaltyAccount.balance`
  in the same transaction, so the balance always equals the sum of the ledger;
- the balance never goes below zero: a redeem that does not fit changes nothing and raises
  `InsufficientPoints` (422), even under concurrent redeems (the UPDATE carries the check);
- an earn happens once per (customer, reference) and a return claws back once per return
  reference, whatever the retries (a partial unique constraint backs the check);
- points expire first-in first-out, `expiry_months` after they were earned.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from customers.models import (
    Customer,
    LoyaltyAccount,
    LoyaltyEntry,
    LoyaltyPolicy,
    LoyaltyTier,
    TimelineEntry,
)
from customers.services.timeline import add_timeline_entry, survivor_of
from omni.errors import BadRequest, RuleBroken


class InsufficientPoints(RuleBroken):
    code = "insufficient_points"
    message = "The customer does not have enough loyalty points."


class InvalidPoints(BadRequest):
    code = "invalid_points"
    message = "Points must be a positive whole number."


@dataclass(frozen=True)
class LoyaltyActor:
    """Who changed the balance: a staff user, a labelled integration, or the system."""

    user: object | None = None
    label: str = "system"

    @classmethod
    def of(cls, user) -> LoyaltyActor:
        token = getattr(user, "token", None)
        if token is not None:
            return cls(label=f"token:{token.name}"[:150])
        if user is not None and getattr(user, "is_authenticated", False):
            return cls(user=user, label=f"user:{user.get_username()}"[:150])
        return cls()


SYSTEM = LoyaltyActor()


def current_policy() -> LoyaltyPolicy:
    """The active policy, or the defaults if the retailer has not saved one."""
    return LoyaltyPolicy.objects.filter(is_active=True).first() or LoyaltyPolicy()


def tier_for_spend(spend: Decimal, policy: LoyaltyPolicy | None = None) -> str:
    policy = policy or current_policy()
    if spend >= policy.gold_spend:
        return LoyaltyTier.GOLD
    if spend >= policy.silver_spend:
        return LoyaltyTier.SILVER
    return LoyaltyTier.BRONZE


def points_for_amount(amount: Decimal, policy: LoyaltyPolicy | None = None) -> int:
    """Whole points for an amount spent, rounded down (no fractional points)."""
    policy = policy or current_policy()
    points = (Decimal(amount) * policy.points_per_unit).to_integral_value(rounding=ROUND_FLOOR)
    return max(int(points), 0)


def ensure_account(customer: Customer) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO customers_loyaltyaccount (customer_id, balance, tier, updated_at) "
            "VALUES (%s, 0, %s, now()) ON CONFLICT (customer_id) DO NOTHING",
            [customer.pk, LoyaltyTier.BRONZE],
        )


def account_of(customer: Customer) -> LoyaltyAccount:
    customer = survivor_of(customer)
    ensure_account(customer)
    return LoyaltyAccount.objects.get(customer=customer)


def _lock_account(customer: Customer) -> LoyaltyAccount:
    ensure_account(customer)
    return LoyaltyAccount.objects.select_for_update().get(customer=customer)


def _apply(
    *,
    customer: Customer,
    kind: str,
    points: int,
    reference_type: str = "",
    reference_id: str = "",
    reason: str = "",
    actor: LoyaltyActor = SYSTEM,
    at: datetime | None = None,
) -> LoyaltyEntry:
    """One conditional UPDATE (refused if the balance would go negative) and one ledger row.
    Must run inside the caller's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE customers_loyaltyaccount SET balance = balance + %s, updated_at = now() "
            "WHERE customer_id = %s AND balance + %s >= 0 RETURNING balance",
            [points, customer.pk, points],
        )
        row = cursor.fetchone()
    if row is None:
        balance = LoyaltyAccount.objects.get(customer=customer).balance
        raise InsufficientPoints(balance=balance, requested=-points)
    return LoyaltyEntry.objects.create(
        customer=customer,
        kind=kind,
        points=points,
        balance_after=row[0],
        reference_type=reference_type,
        reference_id=str(reference_id),
        reason=reason[:255],
        actor=actor.user,
        actor_label=actor.label,
        created_at=at or timezone.now(),
    )


def _add_to_timeline(entry: LoyaltyEntry, title: str) -> None:
    add_timeline_entry(
        customer=entry.customer,
        kind=TimelineEntry.Kind.LOYALTY,
        occurred_at=entry.created_at,
        title=title,
        data={
            "kind": entry.kind,
            "points": entry.points,
            "balance_after": entry.balance_after,
            "reason": entry.reason,
        },
        reference_type="loyalty_entry",
        reference_id=str(entry.pk),
    )


def earn_points(
    *,
    customer: Customer,
    reference_type: str,
    reference_id: str,
    amount: Decimal | None = None,
    points: int | None = None,
    reason: str = "",
    actor: LoyaltyActor = SYSTEM,
    at: datetime | None = None,
) -> tuple[LoyaltyEntry | None, bool]:
    """Credit points for a purchase, once per (customer, reference). Give either the
    `amount` spent (points per the policy) or explicit `points`. Returns (entry, created);
    a repeat returns the first entry and `created=False`; an amount worth no points
    returns (None, False)."""
    if not reference_id:
        raise BadRequest("An earn needs a reference (the order or sale it is for).")
    if points is None:
        points = points_for_amount(amount or Decimal(0))
    if points < 0:
        raise InvalidPoints(points=points)
    customer = survivor_of(customer)
    with transaction.atomic():
        # The row lock serialises changes per customer, so the existence check cannot race.
        _lock_account(customer)
        existing = LoyaltyEntry.objects.filter(
            customer=customer,
            kind=LoyaltyEntry.Kind.EARN,
            reference_type=reference_type,
            reference_id=str(reference_id),
        ).first()
        if existing is not None:
            return existing, False
        if points == 0:
            return None, False
        entry = _apply(
            customer=customer,
            kind=LoyaltyEntry.Kind.EARN,
            points=points,
            reference_type=reference_type,
            reference_id=reference_id,
            reason=reason or f"Earned on {reference_type} {reference_id}",
            actor=actor,
            at=at,
        )
        _add_to_timeline(entry, f"Earned {points} points")
    return entry, True


def redeem_points(
    *,
    customer: Customer,
    points: int,
    reference_type: str = "",
    reference_id: str = "",
    reason: str = "",
    actor: LoyaltyActor = SYSTEM,
) -> LoyaltyEntry:
    """Spend points. Refused with `insufficient_points` (nothing written) if the balance is
    short, under any concurrency: the balance check is in the UPDATE itself."""
    if points <= 0:
        raise InvalidPoints(points=points)
    customer = survivor_of(customer)
    with transaction.atomic():
        ensure_account(customer)
        entry = _apply(
            customer=customer,
            kind=LoyaltyEntry.Kind.REDEEM,
            points=-points,
            reference_type=reference_type,
            reference_id=reference_id,
            reason=reason or "Redeemed",
            actor=actor,
        )
        _add_to_timeline(entry, f"Redeemed {points} points")
    return entry


def adjust_points(
    *, customer: Customer, points: int, reason: str, actor: LoyaltyActor = SYSTEM
) -> LoyaltyEntry:
    """A manual correction (goodwill, fixing a mistake); needs a reason and never takes
    the balance below zero."""
    if points == 0:
        raise InvalidPoints("An adjustment must change the balance.", points=points)
    if not reason.strip():
        raise BadRequest("An adjustment needs a reason.", field="reason")
    customer = survivor_of(customer)
    with transaction.atomic():
        ensure_account(customer)
        entry = _apply(
            customer=customer,
            kind=LoyaltyEntry.Kind.ADJUST,
            points=points,
            reason=reason,
            actor=actor,
        )
        _add_to_timeline(entry, f"Points adjusted by {points:+d}")
    return entry


def claw_back_points(
    *,
    customer: Customer,
    return_reference: str,
    amount: Decimal,
    actor: LoyaltyActor = SYSTEM,
    at: datetime | None = None,
) -> LoyaltyEntry | None:
    """Take back the points a returned amount earned (the policy rate, so a partial return
    takes back proportionally), once per return reference. Points already spent cannot be
    taken back: the claw-back stops at the balance rather than going negative."""
    customer = survivor_of(customer)
    wanted = points_for_amount(amount)
    with transaction.atomic():
        account = _lock_account(customer)
        existing = LoyaltyEntry.objects.filter(
            customer=customer,
            kind=LoyaltyEntry.Kind.CLAWBACK,
            reference_type="return",
            reference_id=str(return_reference),
        ).first()
        if existing is not None:
            return existing
        points = min(wanted, account.balance)
        if points <= 0:
            return None
        entry = _apply(
            customer=customer,
            kind=LoyaltyEntry.Kind.CLAWBACK,
            points=-points,
            reference_type="return",
            reference_id=return_reference,
            reason=f"Return {return_reference}"
            + (f" ({wanted - points} points already spent)" if points < wanted else ""),
            actor=actor,
            at=at,
        )
        _add_to_timeline(entry, f"{points} points taken back for a return")
    return entry


def _months_before(moment: datetime, months: int) -> datetime:
    """The same day `months` earlier (the month's last day if it is shorter)."""
    year, month_index = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month_index + 1)[1])
    return moment.replace(year=year, month=month_index + 1, day=day)


_EXPIRY_DUE_SQL = """
SELECT customer_id
  FROM customers_loyaltyentry
 GROUP BY customer_id
HAVING COALESCE(SUM(points) FILTER (WHERE points > 0 AND created_at < %(cutoff)s), 0)
       + COALESCE(SUM(points) FILTER (WHERE points < 0), 0) > 0
"""


def expire_points(*, now: datetime | None = None) -> int:
    """Expire points earned more than `expiry_months` ago and not yet used, first in first
    out: what is due is what was credited before the cut-off minus everything debited
    since the start (redeems, claw-backs, earlier expiries). Running it again finds nothing
    due, so it is idempotent. Returns the number of customers whose points expired."""
    policy = current_policy()
    if not policy.expiry_months:
        return 0
    now = now or timezone.now()
    cutoff = _months_before(now, policy.expiry_months)
    with connection.cursor() as cursor:
        cursor.execute(_EXPIRY_DUE_SQL, {"cutoff": cutoff})
        due = cursor.fetchall()
    expired = 0
    for (customer_id,) in due:
        with transaction.atomic():
            account = LoyaltyAccount.objects.select_for_update().get(customer_id=customer_id)
            # Recomputed under the lock: a redeem may have landed since the scan.
            totals = LoyaltyEntry.objects.filter(customer_id=customer_id).aggregate(
                credits=Sum("points", filter=Q(points__gt=0, created_at__lt=cutoff)),
                debits=Sum("points", filter=Q(points__lt=0)),
            )
            points = min((totals["credits"] or 0) + (totals["debits"] or 0), account.balance)
            if points <= 0:
                continue
            entry = _apply(
                customer=account.customer,
                kind=LoyaltyEntry.Kind.EXPIRE,
                points=-points,
                reason=f"Points earned before {cutoff:%Y-%m-%d} expired",
                at=now,
            )
            _add_to_timeline(entry, f"{points} points expired")
            expired += 1
    return expired


def ledger_balance(customer: Customer) -> int:
    """The sum of the ledger, which the kept balance must always equal."""
    return (
        LoyaltyEntry.objects.filter(customer=customer).aggregate(total=Sum("points"))["total"] or 0
    )


def recompute_balances(*, customer_ids: list[int]) -> None:
    """Set balances from the ledger (after a merge moved entries between customers)."""
    for customer_id in sorted(set(customer_ids)):
        ensure_account(Customer(pk=customer_id))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE customers_loyaltyaccount a SET balance = COALESCE("
            " (SELECT SUM(points) FROM customers_loyaltyentry e"
            "  WHERE e.customer_id = a.customer_id), 0), updated_at = now() "
            "WHERE a.customer_id = ANY(%s)",
            [sorted(set(customer_ids))],
        )
