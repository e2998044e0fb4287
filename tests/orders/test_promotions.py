import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from omni.errors import DomainError
from orders.models import DiscountCode, Promotion, Redemption
from orders.services.promotions import (
    Line,
    issue_single_use_codes,
    quote_discount,
    redeem_discount_code,
)
from tests.orders.factories import (
    CustomerFactory,
    DiscountCodeFactory,
    PromotionFactory,
    SkuFactory,
)

pytestmark = pytest.mark.django_db


def line(sku, quantity=1, price="80.00", **kwargs):
    return Line(
        sku_id=sku.pk, category_id=None, quantity=quantity, unit_price=Decimal(price), **kwargs
    )


def refusal(**kwargs) -> str:
    with pytest.raises(DomainError) as refused:
        quote_discount(currency="EUR", **kwargs)
    return refused.value.details.get("reason", refused.value.code)


def test_ten_percent_off_two_pairs_is_sixteen_euros():
    DiscountCodeFactory(code="SPRING10")
    quote = quote_discount(code="spring10", lines=[line(SkuFactory(), 2)], currency="EUR")
    assert quote.discount == Decimal("16.00")


def test_an_amount_off_never_exceeds_the_eligible_lines():
    promotion = PromotionFactory(kind=Promotion.Kind.AMOUNT, value=Decimal("100.00"))
    code = DiscountCodeFactory(promotion=promotion)
    quote = quote_discount(code=code.code, lines=[line(SkuFactory(), 1)], currency="EUR")
    assert quote.discount == Decimal("80.00")


def test_only_eligible_skus_are_discounted():
    shoes, socks = SkuFactory(), SkuFactory(price=Decimal("10.00"))
    promotion = PromotionFactory()
    promotion.eligible_skus.add(socks)
    code = DiscountCodeFactory(promotion=promotion)
    quote = quote_discount(
        code=code.code, lines=[line(shoes), line(socks, 2, "10.00")], currency="EUR"
    )
    assert quote.discount == Decimal("2.00")


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, "expired"),
        ({"single_use": True, "times_redeemed": 1, "max_redemptions": 1}, "used"),
        ({"max_redemptions": 3, "times_redeemed": 3}, "limit_reached"),
    ],
)
def test_expired_or_used_codes_are_refused_with_a_reason(setup, reason):
    code = DiscountCodeFactory(**setup)
    assert refusal(code=code.code, lines=[line(SkuFactory())]) == reason


def test_a_code_below_minimum_spend_is_refused():
    code = DiscountCodeFactory(promotion=PromotionFactory(minimum_spend=Decimal("100.00")))
    assert refusal(code=code.code, lines=[line(SkuFactory())]) == "minimum_spend"


def test_an_unknown_code_is_404():
    with pytest.raises(DomainError) as refused:
        quote_discount(code="NOPE", lines=[], currency="EUR")
    assert refused.value.status_code == 404


def test_a_code_issued_to_ana_is_refused_for_rui():
    ana, rui = CustomerFactory(), CustomerFactory(first_name="Rui")
    [code] = issue_single_use_codes(promotion=PromotionFactory(), customers=[ana])
    assert refusal(code=code.code, lines=[line(SkuFactory())], customer=rui) == "wrong_customer"
    assert quote_discount(
        code=code.code, lines=[line(SkuFactory())], currency="EUR", customer=ana
    ).discount == Decimal("8.00")


def test_redeeming_twice_for_the_same_order_counts_once():
    code = DiscountCodeFactory()
    quote = quote_discount(code=code.code, lines=[line(SkuFactory())], currency="EUR")
    first = redeem_discount_code(quote=quote, reference="OM-1")
    again = redeem_discount_code(quote=quote, reference="OM-1")
    assert first.pk == again.pk
    code.refresh_from_db()
    assert code.times_redeemed == 1


def test_a_per_customer_limit_stops_the_second_use():
    ana = CustomerFactory()
    code = DiscountCodeFactory(promotion=PromotionFactory(per_customer_limit=1))
    quote = quote_discount(code=code.code, lines=[line(SkuFactory())], currency="EUR", customer=ana)
    redeem_discount_code(quote=quote, reference="OM-1", customer=ana)
    assert refusal(code=code.code, lines=[line(SkuFactory())], customer=ana) == (
        "customer_limit_reached"
    )


def test_single_use_codes_are_unique_per_customer():
    customers = [CustomerFactory() for _ in range(20)]
    codes = issue_single_use_codes(promotion=PromotionFactory(), customers=customers, prefix="CART")
    assert len({code.code for code in codes}) == 20
    assert all(code.code.startswith("CART") and code.single_use for code in codes)


@pytest.mark.django_db(transaction=True)
def test_a_single_use_code_redeemed_by_ten_tills_at_once_is_used_once():
    code = DiscountCodeFactory(single_use=True, max_redemptions=1)
    quote = quote_discount(code=code.code, lines=[line(SkuFactory())], currency="EUR")
    barrier = threading.Barrier(10)
    outcomes = []

    def till(n):
        barrier.wait()
        try:
            redeem_discount_code(quote=quote, reference=f"POS-{n}")
            outcomes.append("ok")
        except DomainError as refused:
            outcomes.append(refused.details["reason"])
        finally:
            connection.close()

    threads = [threading.Thread(target=till, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 1
    assert Redemption.objects.count() == 1
    assert DiscountCode.objects.get(pk=code.pk).times_redeemed == 1
