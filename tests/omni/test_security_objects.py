"""OWASP API1 (object-level authorisation): a register token and a store manager of
Lisbon get 404 on Porto's orders, returns, stock adjustments and transfers, cannot act on
them, and never see them in a list."""

from decimal import Decimal

import pytest

from inventory.models import Location, StockMovement, Transfer
from inventory.services.stock import adjust_stock
from inventory.services.transfers import LineRequest, create_transfer
from omni.models import Role, Scope
from orders.models import Order, Return
from orders.services.checkout import CheckoutRequest, Delivery, PaymentRequest, place_order
from orders.services.checkout import LineRequest as OrderLine
from orders.services.fulfilment import collect_pickup, mark_ready_for_pickup
from orders.services.returns import ReturnLineRequest, start_return
from tests.factories import LocationFactory, make_staff, make_token
from tests.inventory.factories import SkuFactory, StockLevelFactory

pytestmark = pytest.mark.django_db


def store(code: str) -> Location:
    return LocationFactory(
        code=code, offers_click_and_collect=True, accepts_returns=True, kind=Location.Kind.STORE
    )


def collected_order(location, sku, email) -> Order:
    order = place_order(
        request=CheckoutRequest(
            channel="app",
            email=email,
            lines=[OrderLine(sku.code, 1)],
            delivery=Delivery("click_and_collect", location),
            payments=[PaymentRequest("card", Decimal("80.00"), f"psp-{email}", captured=True)],
        )
    )
    pickup = mark_ready_for_pickup(fulfilment=order.fulfilments.get())
    collect_pickup(fulfilment=pickup, code=pickup.pickup_code)
    return order


@pytest.fixture
def world():
    """Lisbon and Porto, each with an order, a return, an adjustment and a transfer."""
    lisbon, porto = store("lisbon-chiado"), store("porto-baixa")
    warehouse = LocationFactory(code="warehouse", kind=Location.Kind.WAREHOUSE)
    sku = SkuFactory(code="SNK-42", price=Decimal("80.00"))
    rows = {}
    for place in (lisbon, porto):
        StockLevelFactory(location=place, sku=sku, on_hand=10)
        order = collected_order(place, sku, f"{place.code}@example.com")
        returned = start_return(
            order=order,
            channel="store",
            location=place,
            lines=[ReturnLineRequest(order.lines.get().pk, 1)],
        )
        adjustment = adjust_stock(location=place, sku=sku, delta=-1, reason="Shoplifted")
        transfer = create_transfer(source=warehouse, destination=place, lines=[LineRequest(sku, 2)])
        rows[place.code] = {
            "order": order,
            "return": returned,
            "adjustment": adjustment,
            "transfer": transfer,
        }
    return rows


@pytest.fixture(params=["register token", "store manager"])
def lisbon_caller(request, token_client, api_client):
    lisbon = Location.objects.get(code="lisbon-chiado")
    if request.param == "register token":
        _, plain = make_token(list(Scope.values), locations=[lisbon], name="Lisbon till")
        return token_client(plain)
    manager = make_staff("rui", Role.STORE_MANAGER, [lisbon])
    api_client.force_login(manager)
    return api_client


def listed(client, url, key):
    response = client.get(url)
    assert response.status_code == 200, response.content
    return {str(row[key]) for row in response.json()["results"]}


def test_porto_orders_do_not_exist_for_lisbon(world, lisbon_caller):
    mine, theirs = world["lisbon-chiado"]["order"], world["porto-baixa"]["order"]
    theirs.refresh_from_db()
    assert listed(lisbon_caller, "/api/v1/orders/", "number") == {mine.number}
    assert lisbon_caller.get(f"/api/v1/orders/{theirs.number}/").status_code == 404
    assert lisbon_caller.get(f"/api/v1/orders/{mine.number}/").status_code == 200
    cancel = lisbon_caller.post(
        f"/api/v1/orders/{theirs.number}/cancel/", {"reason": "because"}, format="json"
    )
    assert cancel.status_code == 404
    assert cancel.json()["error"]["code"] == "not_found"
    assert Order.objects.get(pk=theirs.pk).status == theirs.status


def test_porto_returns_do_not_exist_for_lisbon(world, lisbon_caller):
    mine, theirs = world["lisbon-chiado"]["return"], world["porto-baixa"]["return"]
    assert listed(lisbon_caller, "/api/v1/returns/", "number") == {mine.number}
    assert lisbon_caller.get(f"/api/v1/returns/{theirs.number}/").status_code == 404
    inspect = lisbon_caller.post(
        f"/api/v1/returns/{theirs.number}/inspect/",
        {"conditions": {str(theirs.lines.get().pk): "resellable"}},
        format="json",
        HTTP_IDEMPOTENCY_KEY="inspect-1",
    )
    assert inspect.status_code == 404
    assert Return.objects.get(pk=theirs.pk).status == Return.Status.RECEIVED


def test_porto_stock_adjustments_do_not_exist_for_lisbon(world, lisbon_caller):
    mine, theirs = world["lisbon-chiado"]["adjustment"], world["porto-baixa"]["adjustment"]
    rows = lisbon_caller.get("/api/v1/stock-movements/").json()["results"]
    assert {row["location"] for row in rows} == {"lisbon-chiado"}
    assert mine.pk in {row["id"] for row in rows}
    assert lisbon_caller.get(f"/api/v1/stock-movements/{theirs.pk}/").status_code == 404
    filtered = lisbon_caller.get("/api/v1/stock-movements/", {"location": "porto-baixa"})
    assert filtered.status_code in (200, 400)
    if filtered.status_code == 200:
        assert filtered.json()["results"] == []


def test_adjusting_porto_stock_from_lisbon_is_refused(world, lisbon_caller):
    before = StockMovement.objects.count()
    response = lisbon_caller.post(
        "/api/v1/stock/adjustments/",
        {"location": "porto-baixa", "sku": "SNK-42", "delta": -5, "reason": "oops"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="adjust-porto",
    )
    assert response.status_code in (403, 404)
    assert StockMovement.objects.count() == before


def test_porto_transfers_do_not_exist_for_lisbon(world, lisbon_caller):
    mine, theirs = world["lisbon-chiado"]["transfer"], world["porto-baixa"]["transfer"]
    assert listed(lisbon_caller, "/api/v1/transfers/", "id") == {str(mine.pk)}
    assert lisbon_caller.get(f"/api/v1/transfers/{theirs.pk}/").status_code == 404
    cancel = lisbon_caller.post(
        f"/api/v1/transfers/{theirs.pk}/cancel/", {}, format="json", HTTP_IDEMPOTENCY_KEY="c1"
    )
    assert cancel.status_code == 404
    assert Transfer.objects.get(pk=theirs.pk).status == theirs.status
