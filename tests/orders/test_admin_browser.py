"""Store staff work the pickup queue in a real browser."""

from decimal import Decimal

import pytest

from omni.models import Role
from orders.models import Fulfilment
from orders.services.checkout import CheckoutRequest, Delivery, LineRequest, place_order
from orders.services.fulfilment import check_in_curbside, mark_ready_for_pickup
from tests.conftest import log_in
from tests.factories import LocationFactory, make_staff
from tests.inventory.factories import SkuFactory, StockLevelFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def lisbon():
    return LocationFactory(
        code="lisbon-chiado",
        name="Lisbon Chiado",
        offers_click_and_collect=True,
        offers_curbside=True,
        pickup_hold_days=5,
        time_zone="Europe/Lisbon",
    )


@pytest.fixture
def porto():
    return LocationFactory(
        code="porto-baixa", name="Porto Baixa", offers_click_and_collect=True, pickup_hold_days=5
    )


def pickup_order(store, sku, email, method="click_and_collect"):
    return place_order(
        request=CheckoutRequest(
            channel="app",
            email=email,
            profile={"first_name": email.split("@")[0].title()},
            lines=[LineRequest(sku.code, 1)],
            delivery=Delivery(method=method, pickup_location=store),
        )
    )


@pytest.fixture
def orders(lisbon, porto):
    sneaker = SkuFactory(code="SNK-AURA-BLK-42", name="Aura Runner, Black, 42", price="89.99")
    jacket = SkuFactory(code="JKT-ATL-NVY-M", name="Atlantic Rain Shell, Navy, M", price="149.00")
    for sku in (sneaker, jacket):
        StockLevelFactory(location=lisbon, sku=sku, on_hand=5)
        StockLevelFactory(location=porto, sku=sku, on_hand=5)
    to_pick = pickup_order(lisbon, sneaker, "ana@example.com")
    curbside = pickup_order(lisbon, jacket, "rui@example.com", method="curbside")
    check_in_curbside(
        fulfilment=mark_ready_for_pickup(fulfilment=curbside.fulfilments.get()),
        note="bay 3, red Fiat 500",
    )
    in_porto = pickup_order(porto, sneaker, "joana@example.com")
    return {"to_pick": to_pick, "curbside": curbside, "porto": in_porto}


def test_a_lisbon_associate_marks_an_order_ready_and_hands_it_over(browser_page, orders):
    make_staff("ana", Role.STORE_ASSOCIATE, [orders["to_pick"].fulfilments.get().location])
    page = browser_page
    log_in(page, "ana")
    page.get_by_role("link", name="Pickup queue").first.click()
    number = orders["to_pick"].number
    card = page.locator(f"#to-pick [data-order='{number}']")
    assert card.count() == 1
    assert "bay 3, red Fiat 500" in page.inner_text("#curbside")
    assert orders["porto"].number not in page.content()
    page.omni_screenshot("orders-pickup-queue")

    card.get_by_role("button", name="Mark ready").click()
    assert f"Order {number} is ready for pickup" in page.inner_text(".messagelist")
    ready_card = page.locator(f"#ready [data-order='{number}']")
    assert ready_card.count() == 1

    ready_card.locator("input[name=code]").fill("000000x")
    ready_card.get_by_role("button", name="Collect").click()
    assert "pickup code does not match" in page.inner_text(".messagelist .error")
    page.omni_screenshot("orders-pickup-wrong-code")

    code = Fulfilment.objects.get(order=orders["to_pick"]).pickup_code
    page.fill("#scan-code", code)
    page.press("#scan-code", "Enter")
    page.wait_for_load_state()
    assert f"Order {number} handed over" in page.inner_text(".messagelist")
    assert Fulfilment.objects.get(order=orders["to_pick"]).status == "collected"
    assert page.locator(f"[data-order='{number}']").count() == 0
    page.omni_screenshot("orders-pickup-collected")


def test_a_porto_clerk_cannot_open_a_lisbon_order(browser_page, orders, porto):
    make_staff("rita", Role.STORE_ASSOCIATE, [porto])
    page = browser_page
    log_in(page, "rita")
    lisbon_order = orders["to_pick"]
    response = page.goto(f"/admin/orders/order/{lisbon_order.pk}/change/")
    assert response.status == 404
    response = page.goto(f"/admin/orders/order/{orders['porto'].pk}/change/")
    assert response.status == 200
    assert orders["porto"].number in page.inner_text("#content")
    page.omni_screenshot("orders-order-detail")
    page.goto("/admin/orders/order/")
    assert lisbon_order.number not in page.inner_text("#result_list")
    page.omni_screenshot("orders-order-list")


def test_the_daily_summary_shows_todays_sales_and_pickups(browser_page, orders, lisbon):
    make_staff("ana", Role.STORE_ASSOCIATE, [lisbon])
    page = browser_page
    log_in(page, "ana")
    page.goto("/admin/orders/storedaysummary/")
    text = page.inner_text("#content")
    assert "Mobile app" in text
    assert f"{Decimal('238.99'):,}" in text.replace("\u202f", ",")
    page.omni_screenshot("orders-store-summary")


def test_a_web_order_is_returned_at_the_lisbon_returns_desk(browser_page, lisbon):
    from inventory.models import Location, StockLevel
    from orders.models import Return
    from orders.services.checkout import PaymentRequest
    from orders.services.fulfilment import (
        deliver_fulfilment,
        pack_fulfilment,
        pick_fulfilment,
        ship_fulfilment,
    )

    warehouse = LocationFactory(
        code="warehouse-central", kind=Location.Kind.WAREHOUSE, ships_to_customers=True
    )
    tee = SkuFactory(code="TEE-ESS-WHT-M", name="Essential Tee, White, M", price="25.00")
    StockLevelFactory(location=warehouse, sku=tee, on_hand=5)
    StockLevelFactory(location=lisbon, sku=tee, on_hand=1)
    order = place_order(
        request=CheckoutRequest(
            channel="web",
            email="marta@example.com",
            lines=[LineRequest(tee.code, 2)],
            delivery=Delivery(method="ship"),
            payments=[PaymentRequest("card", Decimal("50.00"), "psp-9", True)],
        )
    )
    part = order.fulfilments.get()
    for step in (pick_fulfilment, pack_fulfilment):
        part = step(fulfilment=part)
    part = ship_fulfilment(fulfilment=part, carrier="CTT", tracking_number="RR9")
    deliver_fulfilment(fulfilment=part)

    make_staff("ana", Role.STORE_ASSOCIATE, [lisbon])
    page = browser_page
    log_in(page, "ana")
    page.get_by_role("link", name="Returns desk").first.click()
    page.fill("#return-query", "marta@example.com")
    page.press("#return-query", "Enter")
    page.wait_for_load_state()
    form = page.locator(f"#return-{order.number}")
    assert "Within policy" in form.inner_text()
    line = order.lines.get()
    form.locator(f"#quantity-{line.pk}").fill("1")
    form.locator(f"[name=reason_{line.pk}]").fill("too small")
    page.omni_screenshot("orders-returns-desk")
    form.get_by_role("button", name="Take the return and refund").click()
    assert "refunded to original payment" in page.inner_text(".messagelist")
    page.omni_screenshot("orders-returns-desk-done")
    taken = Return.objects.get()
    assert (taken.location, taken.status, taken.refund_total) == (lisbon, "refunded", Decimal("25"))
    assert StockLevel.objects.get(location=lisbon, sku=tee).on_hand == 2
