"""Discount codes: checked at checkout and at the till, redeemed exactly once per order."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from omni.errors import NotFound, RuleBroken
from orders.models import DiscountCode, Promotion, Redemption

CENT = Decimal("0.01")
# Codes avoid letters and digits that are easy to misread at a till (0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class DiscountCodeNotFound(NotFound):
    code = "discount_code_not_found"
    message = "No such discount code."


class DiscountCodeRefused(RuleBroken):
    code = "discount_code_refused"
    message = "This discount code cannot be used here."


@dataclass(frozen=True)
class Line:
    sku_id: int
    category_id: int | None
    quantity: int
    unit_price: Decimal
    already_discounted: bool = False

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Quote:
    code: DiscountCode
    discount: Decimal
    eligible_subtotal: Decimal
    currency: str
    eligible_sku_ids: frozenset[int] = frozenset()


def _refuse(reason: str, message: str, **details) -> DiscountCodeRefused:
    return DiscountCodeRefused(message, reason=reason, **details)


def _eligible(promotion: Promotion, lines: Sequence[Line]) -> list[Line]:
    sku_ids = set(promotion.eligible_skus.values_list("pk", flat=True))
    category_ids = set(promotion.eligible_categories.values_list("pk", flat=True))
    eligible = []
    for line in lines:
        if promotion.excludes_discounted_lines and line.already_discounted:
            continue
        if (sku_ids or category_ids) and not (
            line.sku_id in sku_ids or line.category_id in category_ids
        ):
            continue
        eligible.append(line)
    return eligible


def quote_discount(
    *,
    code: str,
    lines: Sequence[Line],
    currency: str,
    customer=None,
    at: datetime | None = None,
) -> Quote:
    """What a code takes off these lines, or why it cannot be used (422 with a reason)."""
    at = at or timezone.now()
    found = (
        DiscountCode.objects.select_related("promotion").filter(code=code.strip().upper()).first()
    )
    if found is None:
        raise DiscountCodeNotFound(code=code)
    promotion = found.promotion
    if not promotion.is_active:
        raise _refuse("inactive", "This promotion has ended.")
    if promotion.starts_at and at < promotion.starts_at:
        raise _refuse("not_started", "This code is not valid yet.", starts_at=promotion.starts_at)
    for ends in (promotion.ends_at, found.expires_at):
        if ends and at >= ends:
            raise _refuse("expired", "This code has expired.", expired_at=ends)
    if found.single_use and found.times_redeemed:
        raise _refuse("used", "This single-use code has already been used.")
    if found.max_redemptions is not None and found.times_redeemed >= found.max_redemptions:
        raise _refuse("limit_reached", "This code has been used up.")
    if found.issued_to_id and (customer is None or customer.pk != found.issued_to_id):
        raise _refuse("wrong_customer", "This code belongs to another customer.")
    if promotion.kind == Promotion.Kind.AMOUNT and promotion.currency != currency:
        raise _refuse(
            "wrong_currency", "This code is for another currency.", code_currency=promotion.currency
        )
    if customer is not None and promotion.per_customer_limit is not None:
        used = Redemption.objects.filter(code__promotion=promotion, customer=customer).count()
        if used >= promotion.per_customer_limit:
            raise _refuse(
                "customer_limit_reached",
                "You have already used this offer.",
                limit=promotion.per_customer_limit,
            )
    subtotal = sum((line.total for line in lines), Decimal(0))
    if subtotal < promotion.minimum_spend:
        raise _refuse(
            "minimum_spend",
            "Spend more to use this code.",
            minimum_spend=str(promotion.minimum_spend),
            subtotal=str(subtotal),
        )
    eligible_lines = _eligible(promotion, lines)
    eligible_subtotal = sum((line.total for line in eligible_lines), Decimal(0))
    if not eligible_subtotal:
        raise _refuse("not_eligible", "None of these products are part of this offer.")
    if promotion.kind == Promotion.Kind.PERCENTAGE:
        discount = eligible_subtotal * promotion.value / 100
    else:
        discount = min(promotion.value, eligible_subtotal)
    return Quote(
        code=found,
        discount=discount.quantize(CENT, rounding=ROUND_HALF_UP),
        eligible_subtotal=eligible_subtotal,
        currency=currency,
        eligible_sku_ids=frozenset(line.sku_id for line in eligible_lines),
    )


def redeem_discount_code(*, quote: Quote, reference: str, customer=None) -> Redemption:
    """Record one use of a quoted code for an order or sale. Idempotent per reference;
    a code's limits hold under any concurrency (one conditional UPDATE)."""
    code = quote.code
    with transaction.atomic():
        existing = Redemption.objects.filter(code=code, reference=reference).first()
        if existing is not None:
            return existing
        promotion = code.promotion
        if customer is not None and promotion.per_customer_limit is not None:
            # Serialise uses of this promotion by this customer: lock the code row.
            DiscountCode.objects.select_for_update().filter(pk=code.pk).first()
            used = Redemption.objects.filter(code__promotion=promotion, customer=customer).count()
            if used >= promotion.per_customer_limit:
                raise _refuse(
                    "customer_limit_reached",
                    "You have already used this offer.",
                    limit=promotion.per_customer_limit,
                )
        fits = Q(max_redemptions__isnull=True) | Q(times_redeemed__lt=F("max_redemptions"))
        fits &= Q(single_use=False) | Q(times_redeemed=0)
        updated = DiscountCode.objects.filter(fits, pk=code.pk).update(
            times_redeemed=F("times_redeemed") + 1
        )
        if not updated:
            raise _refuse("used", "This code has just been used up.")
        try:
            with transaction.atomic():
                return Redemption.objects.create(
                    code=code,
                    customer=customer,
                    reference=reference,
                    amount=quote.discount,
                    currency=quote.currency,
                )
        except IntegrityError:
            # A concurrent request for the same reference won; undo our count.
            DiscountCode.objects.filter(pk=code.pk).update(times_redeemed=F("times_redeemed") - 1)
            return Redemption.objects.get(code=code, reference=reference)


def generate_code(prefix: str = "", length: int = 10) -> str:
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))
    return f"{prefix.upper()}{body}"


def issue_single_use_codes(
    *,
    promotion: Promotion,
    customers: Iterable,
    prefix: str = "",
    expires_at: datetime | None = None,
    campaign: str = "",
) -> list[DiscountCode]:
    """One unique single-use code per customer (e.g. the abandoned-cart 10% code)."""
    codes = [
        DiscountCode(
            promotion=promotion,
            code=generate_code(prefix),
            single_use=True,
            max_redemptions=1,
            issued_to=customer,
            issued_by_campaign=campaign,
            expires_at=expires_at,
        )
        for customer in customers
    ]
    with transaction.atomic():
        return DiscountCode.objects.bulk_create(codes)


def ensure_promotion(
    *,
    name: str,
    kind: str,
    value: Decimal,
    currency: str = "EUR",
    minimum_spend: Decimal = Decimal(0),
    per_customer_limit: int | None = None,
) -> Promotion:
    """The active promotion of this name, made with these terms if there is none (used by
    campaigns to hold the offers its journeys issue codes for)."""
    found = Promotion.objects.filter(name=name, is_active=True).order_by("pk").first()
    if found is not None:
        return found
    return Promotion.objects.create(
        name=name,
        kind=kind,
        value=value,
        currency=currency,
        minimum_spend=minimum_spend,
        per_customer_limit=per_customer_limit,
    )
