import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from omni.errors import DomainError
from orders.models import CreditAccount, CreditEntry
from orders.services.credit import (
    add_credit,
    gift_card,
    issue_gift_card,
    spend_credit,
    store_credit_account,
)
from tests.orders.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def ledger_sum(account) -> Decimal:
    return CreditEntry.objects.filter(account=account).aggregate(s=Sum("amount"))["s"]


def test_a_refund_to_store_credit_is_spendable_at_the_till():
    ana = CustomerFactory()
    account = store_credit_account(customer=ana, currency="EUR")
    add_credit(account=account, amount=Decimal("35.00"), kind="refund", reference="RT-1")
    spend_credit(account=account, amount=Decimal("20.00"), reference="POS-9")
    account.refresh_from_db()
    assert account.balance == Decimal("15.00") == ledger_sum(account)


def test_spending_more_than_the_balance_is_refused_and_writes_nothing():
    card = issue_gift_card(amount=Decimal("25.00"))
    with pytest.raises(DomainError) as refused:
        spend_credit(account=card, amount=Decimal("25.01"), reference="OM-1")
    assert refused.value.code == "insufficient_credit"
    card.refresh_from_db()
    assert card.balance == Decimal("25.00")
    assert CreditEntry.objects.filter(account=card).count() == 1


@pytest.mark.parametrize("amount", ["0", "-5", "1.234"])
def test_zero_negative_or_fractional_cent_amounts_are_refused(amount):
    card = issue_gift_card(amount=Decimal("10.00"))
    with pytest.raises(DomainError) as refused:
        spend_credit(account=card, amount=Decimal(amount), reference="x")
    assert refused.value.status_code == 400


def test_the_same_spend_reference_is_taken_once():
    card = issue_gift_card(amount=Decimal("50.00"))
    spend_credit(account=card, amount=Decimal("10.00"), reference="OM-7")
    spend_credit(account=card, amount=Decimal("10.00"), reference="OM-7")
    assert gift_card(card.number).balance == Decimal("40.00")


def test_an_unknown_gift_card_is_404():
    with pytest.raises(DomainError) as refused:
        gift_card("0000")
    assert refused.value.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_concurrent_spends_never_overdraw_a_gift_card():
    card = issue_gift_card(amount=Decimal("100.00"))
    barrier = threading.Barrier(12)

    def spend(n):
        barrier.wait()
        try:
            spend_credit(account=card, amount=Decimal("30.00"), reference=f"POS-{n}")
        except DomainError:
            pass
        finally:
            connection.close()

    threads = [threading.Thread(target=spend, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    card = CreditAccount.objects.get(pk=card.pk)
    assert card.balance == Decimal("10.00") == ledger_sum(card)
