"""Journeys benchmark: the abandoned-cart tick on idle carts.

What it does:
1. uses a separate database (`omni_bench_journeys`) filled like the campaigns benchmark
   (customers with email, phone and app identities), plus 50 products in stock and an idle
   open cart of two lines for `--carts` customers;
2. times the set-based scan that enrols every idle cart (one `INSERT ... SELECT`), and the
   same scan again (every row conflicts);
3. times the tick that advances those enrolments through their first wait and the reminder
   send (personalisation with live stock and recommendations, then `send_to_customer`),
   in this one process: enrolments per second for one worker. Delivery to providers is the
   campaigns benchmark's subject.

    .venv/bin/python bench/journeys.py [--customers 100000] [--carts 2000]
"""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.campaigns import populate, setup_django  # noqa: E402
from bench.harness import bench_database  # noqa: E402

BENCH_DB = "omni_bench_journeys"


def catalogue_and_carts(carts: int, idle_since: datetime.datetime) -> None:
    from django.db import connection

    from inventory.models import Location, Product, Sku, StockLevel

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE orders_cartline, orders_cart, campaigns_enrollment RESTART IDENTITY CASCADE"
        )
    store, _ = Location.objects.get_or_create(
        code="bench-store",
        defaults={"name": "Bench store", "ships_to_customers": True},
    )
    if not Sku.objects.filter(code__startswith="BENCH-").exists():
        for index in range(50):
            product = Product.objects.create(name=f"Bench product {index}", slug=f"bench-{index}")
            sku = Sku.objects.create(product=product, code=f"BENCH-{index}", price=40 + index)
            StockLevel.objects.create(location=store, sku=sku, on_hand=1 + index % 5)
    skus = list(Sku.objects.filter(code__startswith="BENCH-").values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO orders_cart (public_id, customer_id, device_id, channel, currency,
                status, last_activity_at, created_at)
            SELECT gen_random_uuid(), id, '', 'web', 'EUR', 'open', %s, %s
            FROM customers_customer ORDER BY id LIMIT %s
            """,
            [idle_since, idle_since, carts],
        )
        cursor.execute(
            """
            INSERT INTO orders_cartline (cart_id, sku_id, quantity, unit_price, currency,
                added_at)
            SELECT c.id, (%s::bigint[])[1 + (c.id + n) %% 50], 1, 50, 'EUR', %s
            FROM orders_cart c CROSS JOIN generate_series(0, 1) AS n
            """,
            [skus, idle_since],
        )
        cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--carts", type=int, default=2_000)
    args = parser.parse_args()

    url = bench_database(BENCH_DB)
    setup_django(url, tempfile.mkdtemp(prefix="omni-bench-outbox-"))
    populate(args.customers)

    from django.utils import timezone

    from campaigns.journey_models import Journey
    from campaigns.journey_seed import ensure_journeys
    from campaigns.models import Delivery
    from campaigns.services import journeys

    ensure_journeys(active=False)
    Journey.objects.filter(key="abandoned-cart").update(active=True)
    now = timezone.now()
    catalogue_and_carts(args.carts, now - datetime.timedelta(hours=1))
    Delivery.objects.filter(campaign__journey__key="abandoned-cart").delete()

    started = time.perf_counter()
    enrolled = journeys.enrol_timed_triggers(now=now)
    print(f"scan: {enrolled:,} idle carts enrolled in {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    again = journeys.enrol_timed_triggers(now=now)
    print(f"scan again: {again:,} new in {time.perf_counter() - started:.2f} s")

    started = time.perf_counter()
    outcome = journeys.advance_due_enrollments(now=now)
    elapsed = time.perf_counter() - started
    queued = Delivery.objects.filter(campaign__journey__key="abandoned-cart").count()
    print(
        f"tick: {sum(outcome.values()):,} enrolments advanced ({outcome}), {queued:,} reminders "
        f"materialised in {elapsed:.1f} s = {sum(outcome.values()) / elapsed:,.0f} enrolments/s "
        "in one process"
    )


if __name__ == "__main__":
    main()
