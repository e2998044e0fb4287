"""A small retailer for the staff admin's tests: stores in Lisbon, Cascais and Porto and a
warehouse, a few products, customers with online orders, a support case, a campaign that
has started sending, and a transfer on the way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from campaigns.models import Campaign, Delivery
from customers.services.cases import open_case
from inventory.models import Location, Sku
from inventory.services.transfers import LineRequest as TransferLine
from inventory.services.transfers import create_transfer, pick_transfer, ship_transfer
from omni.models import Role
from orders.models import Order
from orders.services.checkout import (
    CheckoutRequest,
    LineRequest,
    PaymentRequest,
    place_order,
)
from orders.services.checkout import (
    Delivery as OrderDelivery,
)
from orders.services.fulfilment import (
    check_in_curbside,
    deliver_fulfilment,
    mark_ready_for_pickup,
    pack_fulfilment,
    pick_fulfilment,
    ship_fulfilment,
)
from orders.services.pos import PosLine, PosSaleRequest, record_pos_sale
from tests.factories import LocationFactory, make_staff
from tests.inventory.factories import ProductFactory, SkuFactory, StockLevelFactory


@dataclass
class World:
    lisbon: Location
    cascais: Location
    porto: Location
    warehouse: Location
    sneaker: Sku
    tee: Sku
    jacket: Sku
    pickup: Order  # Ana Sousa's click-and-collect order in Lisbon
    curbside: Order  # Rui's curbside order, waiting in bay 3
    shipped: Order  # Marta's web order, delivered from the warehouse
    in_porto: Order  # Joana's pickup in Porto


def _store(code, name, city, lat, lon, **extra):
    return LocationFactory(
        code=code,
        name=name,
        city=city,
        country="PT",
        latitude=Decimal(lat),
        longitude=Decimal(lon),
        offers_click_and_collect=True,
        offers_curbside=True,
        pickup_hold_days=5,
        time_zone="Europe/Lisbon",
        **extra,
    )


def build_world() -> World:
    lisbon = _store("lisbon-chiado", "Lisbon Chiado", "Lisbon", "38.7107", "-9.1420")
    cascais = _store("cascais-villa", "Cascais Villa", "Cascais", "38.6979", "-9.4215")
    porto = _store("porto-baixa", "Porto Baixa", "Porto", "41.1496", "-8.6109")
    warehouse = LocationFactory(
        code="warehouse-central",
        name="Central warehouse",
        city="Azambuja",
        kind=Location.Kind.WAREHOUSE,
        ships_to_customers=True,
        latitude=Decimal("39.0700"),
        longitude=Decimal("-8.8690"),
    )
    runner = ProductFactory(name="Aura Runner", slug="aura-runner")
    sneaker = SkuFactory(
        product=runner,
        code="SNK-AURA-BLK-42",
        name="Aura Runner, Black, 42",
        barcode="5601234567894",
        price="89.99",
    )
    tee = SkuFactory(
        product=ProductFactory(name="Essential Tee", slug="essential-tee"),
        code="TEE-ESS-WHT-M",
        name="Essential Tee, White, M",
        barcode="5609876543217",
        price="25.00",
    )
    jacket = SkuFactory(
        product=ProductFactory(name="Atlantic Rain Shell", slug="atlantic-rain-shell"),
        code="JKT-ATL-NVY-M",
        name="Atlantic Rain Shell, Navy, M",
        barcode="5601112223336",
        price="149.00",
    )
    for sku, counts in (
        (sneaker, {lisbon: 6, cascais: 2, porto: 4, warehouse: 40}),
        (tee, {lisbon: 1, cascais: 3, porto: 5, warehouse: 60}),
        (jacket, {lisbon: 3, cascais: 1, porto: 2, warehouse: 12}),
    ):
        for place, on_hand in counts.items():
            StockLevelFactory(
                location=place, sku=sku, on_hand=on_hand, reorder_point=4 if sku == tee else 0
            )

    pickup = place_order(
        request=CheckoutRequest(
            channel="web",
            email="ana.sousa@example.com",
            phone="+351912345678",
            profile={"first_name": "Ana", "last_name": "Sousa"},
            lines=[LineRequest(sneaker.code, 1)],
            delivery=OrderDelivery(method="click_and_collect", pickup_location=lisbon),
            payments=[PaymentRequest("card", Decimal("89.99"), "psp-1", True)],
        )
    )
    curbside = place_order(
        request=CheckoutRequest(
            channel="app",
            email="rui@example.com",
            profile={"first_name": "Rui", "last_name": "Costa"},
            lines=[LineRequest(jacket.code, 1)],
            delivery=OrderDelivery(method="curbside", pickup_location=lisbon),
        )
    )
    check_in_curbside(
        fulfilment=mark_ready_for_pickup(fulfilment=curbside.fulfilments.get()),
        note="bay 3, red Fiat 500",
    )
    shipped = place_order(
        request=CheckoutRequest(
            channel="web",
            email="marta@example.com",
            profile={"first_name": "Marta", "last_name": "Reis"},
            lines=[LineRequest(tee.code, 2)],
            delivery=OrderDelivery(method="ship"),
            payments=[PaymentRequest("card", Decimal("50.00"), "psp-9", True)],
        )
    )
    part = shipped.fulfilments.get()
    for step in (pick_fulfilment, pack_fulfilment):
        part = step(fulfilment=part)
    part = ship_fulfilment(fulfilment=part, carrier="CTT", tracking_number="RR9")
    deliver_fulfilment(fulfilment=part)
    in_porto = place_order(
        request=CheckoutRequest(
            channel="app",
            email="joana@example.com",
            profile={"first_name": "Joana", "last_name": "Lima"},
            lines=[LineRequest(sneaker.code, 1)],
            delivery=OrderDelivery(method="click_and_collect", pickup_location=porto),
        )
    )
    record_pos_sale(
        request=PosSaleRequest(
            location=lisbon,
            client_reference="TILL-2-000417",
            lines=[PosLine(jacket.code, 1)],
            payments=[("card", Decimal("149.00"), "tpa-417")],
        )
    )

    open_case(
        customer=pickup.customer,
        subject="Wrong size in my pickup?",
        channel="store",
        location=lisbon,
    )
    transfer = create_transfer(
        source=warehouse, destination=lisbon, lines=[TransferLine(tee, 6)], reference="replenish"
    )
    ship_transfer(transfer=pick_transfer(transfer=transfer))

    now = timezone.now()
    spring = Campaign.objects.create(
        name="Spring arrivals",
        status=Campaign.Status.SENDING,
        channels=["email"],
        started_at=now - timedelta(hours=2),
    )
    Campaign.objects.create(
        name="Rain gear week",
        status=Campaign.Status.SCHEDULED,
        channels=["email", "sms"],
    )
    for index, customer in enumerate([pickup.customer, curbside.customer, shipped.customer]):
        Delivery.objects.create(
            campaign=spring,
            customer=customer,
            channel="email",
            queued_at=now - timedelta(hours=2),
            state=[Delivery.State.CLICKED, Delivery.State.OPENED, Delivery.State.SENT][index],
            sent_at=now - timedelta(hours=2),
            opened_at=now - timedelta(hours=1) if index < 2 else None,
            clicked_at=now - timedelta(minutes=50) if index == 0 else None,
        )
    return World(
        lisbon=lisbon,
        cascais=cascais,
        porto=porto,
        warehouse=warehouse,
        sneaker=sneaker,
        tee=tee,
        jacket=jacket,
        pickup=pickup,
        curbside=curbside,
        shipped=shipped,
        in_porto=in_porto,
    )


def staff_of(world: World) -> dict:
    """One member of staff per role; Ana works in Lisbon and Cascais, Rita in Porto."""
    boss = make_staff("boss", Role.ADMINISTRATOR)
    boss.is_superuser = True
    boss.save(update_fields=["is_superuser"])
    return {
        "associate": make_staff("ana", Role.STORE_ASSOCIATE, [world.lisbon, world.cascais]),
        "porto": make_staff("rita", Role.STORE_ASSOCIATE, [world.porto]),
        "manager": make_staff("miguel", Role.STORE_MANAGER, [world.lisbon]),
        "planner": make_staff("paula", Role.INVENTORY_PLANNER),
        "marketer": make_staff("marco", Role.MARKETER),
        "admin": boss,
    }
