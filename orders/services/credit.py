"""Store credit and gift cards: an append-only ledger with the balance kept beside it."""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from omni.auth import SYSTEM, Actor
from omni.errors import BadRequest, NotFound, RuleBroken
from orders.models import CreditAccount, CreditEntry


class InsufficientCredit(RuleBroken):
    code = "insufficient_credit"
    message = "The balance does not cover this amount."


class CreditAccountNotFound(NotFound):
    code = "credit_account_not_found"
    message = "No such gift card or store credit account."


class InvalidAmount(BadRequest):
    code = "invalid_amount"
    message = "The amount must be a positive sum with at most two decimals."


def _check_amount(amount: Decimal) -> Decimal:
    amount = Decimal(amount)
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise InvalidAmount(amount=str(amount))
    return amount


def store_credit_account(*, customer, currency: str) -> CreditAccount:
    account, _ = CreditAccount.objects.get_or_create(
        kind=CreditAccount.Kind.STORE_CREDIT, customer=customer, currency=currency
    )
    return account


def gift_card(number: str) -> CreditAccount:
    account = CreditAccount.objects.filter(kind=CreditAccount.Kind.GIFT_CARD, number=number).first()
    if account is None:
        raise CreditAccountNotFound(number=number)
    return account


def _entry(*, account, kind, amount, reference, reason, actor) -> CreditEntry:
    balance = CreditAccount.objects.values_list("balance", flat=True).get(pk=account.pk)
    return CreditEntry.objects.create(
        account=account,
        kind=kind,
        amount=amount,
        balance_after=balance,
        reference=reference,
        reason=reason,
        actor_user=actor.user,
        actor_token=actor.token,
    )


def add_credit(
    *,
    account: CreditAccount,
    amount: Decimal,
    kind: str = CreditEntry.Kind.ISSUE,
    reference: str = "",
    reason: str = "",
    actor: Actor = SYSTEM,
) -> CreditEntry:
    """Put money on an account (issue, refund to credit, reversal). Once per reference."""
    amount = _check_amount(amount)
    with transaction.atomic():
        if reference:
            existing = CreditEntry.objects.filter(
                account=account, kind=kind, reference=reference
            ).first()
            if existing is not None:
                return existing
        CreditAccount.objects.filter(pk=account.pk).update(balance=F("balance") + amount)
        return _entry(
            account=account,
            kind=kind,
            amount=amount,
            reference=reference,
            reason=reason,
            actor=actor,
        )


def spend_credit(
    *,
    account: CreditAccount,
    amount: Decimal,
    reference: str,
    actor: Actor = SYSTEM,
) -> CreditEntry:
    """Take money off an account; refused if the balance does not cover it, under any
    concurrency (one conditional UPDATE). Once per reference."""
    amount = _check_amount(amount)
    with transaction.atomic():
        existing = CreditEntry.objects.filter(
            account=account, kind=CreditEntry.Kind.SPEND, reference=reference
        ).first()
        if existing is not None:
            return existing
        updated = CreditAccount.objects.filter(pk=account.pk, balance__gte=amount).update(
            balance=F("balance") - amount
        )
        if not updated:
            balance = CreditAccount.objects.values_list("balance", flat=True).get(pk=account.pk)
            raise InsufficientCredit(requested=str(amount), balance=str(balance))
        return _entry(
            account=account,
            kind=CreditEntry.Kind.SPEND,
            amount=-amount,
            reference=reference,
            reason="",
            actor=actor,
        )


def issue_gift_card(
    *,
    amount: Decimal,
    currency: str = "EUR",
    expires_at: datetime | None = None,
    reference: str = "",
    actor: Actor = SYSTEM,
) -> CreditAccount:
    with transaction.atomic():
        account = CreditAccount.objects.create(
            kind=CreditAccount.Kind.GIFT_CARD,
            number="".join(secrets.choice("0123456789") for _ in range(16)),
            currency=currency,
            expires_at=expires_at,
        )
        add_credit(
            account=account, amount=amount, reference=reference or account.number, actor=actor
        )
    account.refresh_from_db()
    return account
