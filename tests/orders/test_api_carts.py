"""Carts, discount code checks and credit balances over the API."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Cart, CartLine, DiscountCode, Redemption
from orders.services.credit import add_credit, issue_gift_card, store_credit_account
from tests.factories import make_token
from tests.inventory.factories import SkuFactory
from tests.orders.factories import CustomerFactory, DiscountCodeFactory, PromotionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(token_client):
    _, plain = make_token(["orders:read", "orders:write"], name="Mobile app")
    return token_client(plain)


@pytest.fixture
def tee():
    return SkuFactory(code="TEE-ESS-WHT-M", price="25.00")


@pytest.fixture
def ana():
    return CustomerFactory(first_name="Ana")


def test_an_anonymous_cart_merges_into_anas_cart_when_she_signs_in(app, tee, ana):
    device = app.post("/api/v1/carts/", {"device_id": "iphone-77", "channel": "app"}).json()
    assert device["customer"] is None
    app.post(f"/api/v1/carts/{device['id']}/lines/", {"sku": tee.code, "quantity": 2})
    web = app.post("/api/v1/carts/", {"customer": str(ana.public_id), "channel": "web"}).json()
    app.post(f"/api/v1/carts/{web['id']}/lines/", {"sku": tee.code, "quantity": 1})

    merged = app.post(
        "/api/v1/carts/merge/",
        {"device_id": "iphone-77", "customer": str(ana.public_id), "channel": "app"},
    )
    assert merged.status_code == 200
    body = merged.json()
    assert body["id"] == web["id"]
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == [(tee.code, 3)]
    assert body["subtotal"] == "75.00"
    assert Cart.objects.get(public_id=device["id"]).status == Cart.Status.MERGED

    current = app.get(f"/api/v1/carts/current/?customer={ana.public_id}")
    assert current.json()["id"] == web["id"]


def test_opening_a_cart_twice_gives_the_same_cart(app, ana):
    first = app.post("/api/v1/carts/", {"customer": str(ana.public_id)}).json()
    second = app.post("/api/v1/carts/", {"customer": str(ana.public_id), "channel": "app"}).json()
    assert first["id"] == second["id"]
    assert Cart.objects.count() == 1


def test_a_cart_needs_a_customer_or_a_device(app):
    response = app.post("/api/v1/carts/", {"channel": "web"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"
    assert not Cart.objects.exists()


def test_setting_a_line_to_zero_removes_it_and_bad_lines_are_refused(app, tee, ana):
    cart = app.post("/api/v1/carts/", {"customer": str(ana.public_id)}).json()
    lines = f"/api/v1/carts/{cart['id']}/lines/"
    app.post(lines, {"sku": tee.code, "quantity": 4})
    unknown = app.post(lines, {"sku": "NOPE", "quantity": 1})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_sku"
    too_many = app.post(lines, {"sku": tee.code, "quantity": 500})
    assert too_many.status_code == 400
    assert CartLine.objects.get().quantity == 4
    assert app.post(lines, {"sku": tee.code, "quantity": 0}).json()["lines"] == []


def test_an_emptied_cart_is_no_longer_current(app, tee):
    cart = app.post("/api/v1/carts/", {"device_id": "pixel-1"}).json()
    app.post(f"/api/v1/carts/{cart['id']}/lines/", {"sku": tee.code, "quantity": 1})
    emptied = app.post(f"/api/v1/carts/{cart['id']}/empty/")
    assert emptied.json()["cart_status"] == "emptied"
    missing = app.get("/api/v1/carts/current/?device_id=pixel-1")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "cart_not_found"


def test_an_unknown_customer_is_404(app):
    response = app.post("/api/v1/carts/", {"customer": "5b2a3c1e-0000-4000-8000-000000000000"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "customer_not_found"


# --- Discount codes ----------------------------------------------------------------------


def test_a_valid_code_is_quoted_and_not_redeemed(app, tee):
    DiscountCodeFactory(code="SPRING10", promotion=PromotionFactory(value=Decimal("10")))
    response = app.post(
        "/api/v1/discount-codes/validate/",
        {"code": "spring10", "lines": [{"sku": tee.code, "quantity": 2}]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {
        "code": "SPRING10",
        "promotion": "Ten percent",
        "discount": "5.00",
        "eligible_subtotal": "50.00",
        "subtotal": "50.00",
        "currency": "EUR",
    }
    assert DiscountCode.objects.get().times_redeemed == 0
    assert not Redemption.objects.exists()


@pytest.mark.parametrize(
    ("code_fields", "reason"),
    [
        ({"expires_at": timezone.now() - timedelta(days=1)}, "expired"),
        ({"single_use": True, "max_redemptions": 1, "times_redeemed": 1}, "used"),
    ],
)
def test_an_expired_or_used_code_is_422_with_the_reason(app, tee, code_fields, reason):
    DiscountCodeFactory(code="WELCOME", **code_fields)
    response = app.post(
        "/api/v1/discount-codes/validate/",
        {"code": "WELCOME", "lines": [{"sku": tee.code, "quantity": 1}]},
        format="json",
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "discount_code_refused"
    assert error["details"]["reason"] == reason


def test_a_code_below_its_minimum_spend_says_how_much(app, tee):
    DiscountCodeFactory(code="BIG", promotion=PromotionFactory(minimum_spend=Decimal("100")))
    response = app.post(
        "/api/v1/discount-codes/validate/",
        {"code": "BIG", "lines": [{"sku": tee.code, "quantity": 1}]},
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"] == {
        "reason": "minimum_spend",
        "minimum_spend": "100.00",
        "subtotal": "25.00",
    }


def test_an_unknown_code_is_404_and_a_till_may_ask_too(token_client, tee):
    _, plain = make_token(["sales:write"], name="Till")
    response = token_client(plain).post(
        "/api/v1/discount-codes/validate/",
        {"code": "NOPE", "lines": [{"sku": tee.code, "quantity": 1}]},
        format="json",
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "discount_code_not_found"
    _, stock_only = make_token(["stock:read"], name="Stock")
    refused = token_client(stock_only).post(
        "/api/v1/discount-codes/validate/",
        {"code": "NOPE", "lines": [{"sku": tee.code, "quantity": 1}]},
        format="json",
    )
    assert refused.status_code == 403


# --- Store credit and gift cards ---------------------------------------------------------


def test_anas_store_credit_balance_shows_its_ledger(app, ana):
    account = store_credit_account(customer=ana, currency="EUR")
    add_credit(account=account, amount=Decimal("30.00"), reference="RT-1", reason="return")
    response = app.get(f"/api/v1/customers/{ana.public_id}/store-credit/")
    assert response.status_code == 200
    [balance] = response.json()["accounts"]
    assert (balance["balance"], balance["currency"]) == ("30.00", "EUR")
    assert balance["recent_entries"][0]["amount"] == "30.00"


def test_a_gift_card_balance_is_found_by_number_and_an_unknown_one_is_404(app):
    card = issue_gift_card(amount=Decimal("50.00"))
    response = app.get(f"/api/v1/gift-cards/{card.number}/")
    assert response.json()["balance"] == "50.00"
    missing = app.get("/api/v1/gift-cards/0000000000000000/")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "credit_account_not_found"


def test_paying_with_a_gift_card_is_once_per_reference_and_never_below_zero(app, token_client):
    card = issue_gift_card(amount=Decimal("50.00"))
    url = "/api/v1/credit/spend/"
    card_no = card.number
    paid = app.post(
        url,
        {"gift_card": card_no, "amount": "30.00", "reference": "OM-1"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="p1",
    )
    assert paid.status_code == 200
    assert paid.json()["account"]["balance"] == "20.00"
    again = app.post(
        url,
        {"gift_card": card_no, "amount": "30.00", "reference": "OM-1"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="p2",
    )
    assert again.json()["account"]["balance"] == "20.00"
    too_much = app.post(
        url,
        {"gift_card": card_no, "amount": "25.00", "reference": "OM-2"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="p3",
    )
    assert too_much.status_code == 422
    assert too_much.json()["error"]["code"] == "insufficient_credit"
    assert too_much.json()["error"]["details"]["balance"] == "20.00"
    no_key = app.post(
        url, {"gift_card": card_no, "amount": "1.00", "reference": "OM-3"}, format="json"
    )
    assert no_key.status_code == 400
    card.refresh_from_db()
    assert card.balance == Decimal("20.00")
    assert sum(entry.amount for entry in card.entries.all()) == card.balance


def test_store_credit_is_spent_at_the_till(token_client, ana):
    add_credit(account=store_credit_account(customer=ana, currency="EUR"), amount=Decimal("12"))
    _, plain = make_token(["sales:write"], name="Till")
    response = token_client(plain).post(
        "/api/v1/credit/spend/",
        {"customer": str(ana.public_id), "amount": "12.00", "reference": "LIS-T000123"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="till-credit-1",
    )
    assert response.status_code == 200
    assert response.json()["account"]["balance"] == "0.00"


def test_a_cart_line_can_hold_stock_and_a_hold_beyond_stock_is_409(app, tee, ana):
    from inventory.models import StockLevel
    from tests.factories import LocationFactory
    from tests.inventory.factories import StockLevelFactory

    lisbon = LocationFactory(code="lisbon-chiado")
    StockLevelFactory(location=lisbon, sku=tee, on_hand=2)
    cart = app.post("/api/v1/carts/", {"customer": str(ana.public_id), "channel": "web"}).json()
    held = app.post(
        f"/api/v1/carts/{cart['id']}/lines/",
        {"sku": tee.code, "quantity": 2, "hold_at": "lisbon-chiado"},
    )
    assert held.status_code == 200
    assert StockLevel.objects.get(location=lisbon, sku=tee).reserved == 2
    refused = app.post(
        f"/api/v1/carts/{cart['id']}/lines/",
        {"sku": tee.code, "quantity": 3, "hold_at": "lisbon-chiado"},
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "insufficient_stock"
    assert StockLevel.objects.get(location=lisbon, sku=tee).reserved == 2


def test_checking_out_a_cart_over_the_api_converts_it(app, tee, ana):
    from tests.factories import LocationFactory
    from tests.inventory.factories import StockLevelFactory

    lisbon = LocationFactory(code="lisbon-chiado", offers_click_and_collect=True)
    StockLevelFactory(location=lisbon, sku=tee, on_hand=2)
    cart = app.post("/api/v1/carts/", {"customer": str(ana.public_id), "channel": "app"}).json()
    app.post(
        f"/api/v1/carts/{cart['id']}/lines/",
        {"sku": tee.code, "quantity": 1, "hold_at": "lisbon-chiado"},
    )
    order = app.post(
        "/api/v1/checkout/",
        {
            "channel": "app",
            "customer": str(ana.public_id),
            "cart": cart["id"],
            "lines": [{"sku": tee.code, "quantity": 1}],
            "delivery": {"method": "click_and_collect", "pickup_location": "lisbon-chiado"},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="checkout-1",
    )
    assert order.status_code == 201, order.content
    assert Cart.objects.get(public_id=cart["id"]).status == Cart.Status.CONVERTED
