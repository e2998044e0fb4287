"""Campaigns benchmark: materialise deliveries for 1,000,000 customers, then send a sample.

What it does:
1. creates a separate database (`omni_bench_campaigns`) on the embedded PostgreSQL (or the
   server of DATABASE_URL), migrates it and fills it with SQL `INSERT ... SELECT
   generate_series` unless it already holds the customers: every customer has an email,
   60% a phone, 30% the app;
2. materialises a priority campaign (push, else SMS, else email) for every customer in one
   statement and prints the time, then materialises it again (every row conflicts) to show
   the cost of a repeated send;
3. sends a sample of the deliveries in batches in this process (one worker's throughput),
   SMS and push to the file backend and email to Django's in-memory backend;
4. counts a realistic segment (lifecycle stage, email consent, bought in a category in the
   last 90 days, returned nothing in 90 days) with the segment compiler: one query on the
   1,000,000 customers, their metrics and a year of orders (`--orders`, one line each, 5%
   returned), filled in SQL on the first run.

Consent comes from a bench policy (consent on a channel for a fixed share of customers,
decided by id in SQL), so the figures do not depend on the customers app's tables.

    .venv/bin/python bench/campaigns.py [--customers 1000000] [--sample 20000]
                                        [--orders 1000000]
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import bench_database, record  # noqa: E402

BENCH_DB = "omni_bench_campaigns"


def setup_django(url: str, outbox: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings")
    os.environ["OMNI_AUDIENCE_POLICY"] = "bench.campaigns.BenchPolicy"
    os.environ["OMNI_SMS_BACKEND"] = "campaigns.backends.console.FileBackend"
    os.environ["OMNI_PUSH_BACKEND"] = "campaigns.backends.console.FileBackend"
    os.environ["OMNI_OUTBOX_DIR"] = outbox
    os.environ["EMAIL_URL"] = "consolemail://"
    import django

    django.setup()
    from django.conf import settings

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


class BenchPolicy:
    """Consent by id: push for every 2nd customer, SMS every 3rd, email every 4th is out."""

    # The customer id's column goes where {id} is; %% is a literal % in a query with params.
    RULES = {"push": "{id} %% 2 = 0", "sms": "{id} %% 3 <> 0", "email": "{id} %% 4 <> 0"}

    def marketing_consent(self, customer, channel: str) -> bool:
        return {
            "push": customer.pk % 2 == 0,
            "sms": customer.pk % 3 != 0,
            "email": customer.pk % 4 != 0,
        }[channel]

    def consent_filter(self, channel: str):
        from django.db.models import BooleanField, Q
        from django.db.models.expressions import RawSQL

        sql = self.RULES[channel].replace("{id}", '"customers_customer"."id"')
        return Q(RawSQL(sql, [], output_field=BooleanField()))  # noqa: S611 - constant SQL

    def quiet_hours(self, customer):
        return datetime.time(0), datetime.time(0), "UTC"

    def email_frequency(self, customer):
        return None

    def unsubscribe_link(self, customer, channel: str, campaign) -> str:
        return f"https://omni.example.com/unsubscribe/{customer.public_id}/{channel}"


def populate(count: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), (SELECT count(*) FROM customers_identity) FROM customers_customer"
        )
        have, identities = cursor.fetchone()
        if have >= count and identities >= 1.9 * have:
            print(f"bench db: {have:,} customers already there")
            return
        started = time.perf_counter()
        cursor.execute("TRUNCATE customers_customer RESTART IDENTITY CASCADE")
        cursor.execute(
            """
            INSERT INTO customers_customer (public_id, first_name, last_name, gender, language,
                time_zone, city, region, postcode, country, acquisition_channel,
                first_seen_channel, created_at, updated_at)
            SELECT gen_random_uuid(),
                   (ARRAY['Ana','João','Maria','Lucía','Lena','Jonas','Oliver','Inês'])[1 + g %% 8],
                   'Bench ' || g, '', 'pt-PT', 'Europe/Lisbon', 'Lisboa', '', '', 'PT',
                   'web', 'web', now(), now()
            FROM generate_series(1, %s) AS g
            """,
            [count],
        )
        cursor.execute(
            """
            INSERT INTO customers_identity (customer_id, kind, namespace, value, verified,
                source_channel, created_at)
            SELECT id, 'email', '', 'bench' || id || '@example.com', true, 'web', now()
            FROM customers_customer
            UNION ALL
            SELECT id, 'phone', '', '+35191' || lpad(id::text, 7, '0'), true, 'store', now()
            FROM customers_customer WHERE id % 10 < 6
            UNION ALL
            SELECT id, 'app_install', '', 'device-' || id, true, 'app', now()
            FROM customers_customer WHERE id % 10 >= 7
            """  # no parameters: a single % is the modulo operator
        )
        cursor.execute("ANALYZE")
    print(f"bench db: {count:,} customers with identities in {time.perf_counter() - started:.0f} s")


def populate_history(orders: int) -> None:
    """Catalogue, metrics for every customer, a year of orders with one line each, and a
    return for every 20th order; skipped when the orders are already there."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM orders_order), "
            "(SELECT count(*) FROM customers_customermetrics), "
            "(SELECT count(*) FROM customers_customer)"
        )
        have_orders, have_metrics, customers = cursor.fetchone()
        if have_orders >= orders and have_metrics >= customers:
            print(f"bench db: {have_orders:,} orders already there")
            return
        started = time.perf_counter()
        cursor.execute(
            "TRUNCATE orders_return, orders_returnline, orders_orderline, orders_order,"
            " customers_customermetrics, inventory_sku, inventory_product,"
            " inventory_category RESTART IDENTITY CASCADE"
        )
        cursor.execute(
            """
            INSERT INTO inventory_category (name, slug, parent_id) VALUES
                ('Footwear', 'footwear', NULL), ('Apparel', 'apparel', NULL),
                ('Accessories', 'accessories', NULL);
            INSERT INTO inventory_category (name, slug, parent_id) VALUES
                ('Sneakers', 'sneakers', 1), ('Boots', 'boots', 1), ('T-shirts', 't-shirts', 2),
                ('Jackets', 'jackets', 2), ('Jeans', 'jeans', 2), ('Bags', 'bags', 3),
                ('Caps', 'caps', 3);
            INSERT INTO inventory_product (name, slug, description, category_id, is_active,
                created_at, updated_at)
            SELECT 'Bench product ' || g, 'bench-product-' || g, '', 4 + g % 7, true, now(),
                   now()
            FROM generate_series(1, 200) AS g;
            INSERT INTO inventory_sku (product_id, code, name, attributes, price, currency,
                is_active, created_at, updated_at)
            SELECT id, 'BENCH-' || id, name, '{}', 50, 'EUR', true, now(), now()
            FROM inventory_product;
            """
        )
        cursor.execute(
            """
            INSERT INTO customers_customermetrics (customer_id, currency, order_count,
                return_count, revenue, discounts, returns, cost_of_goods, average_order_value,
                last_order_at, frequency, monetary, rfm_segment, repurchase_rate, return_rate,
                lifetime_value, profitability, lifecycle_stage, preferred_channel,
                channels_used, channel_count, computed_at)
            SELECT id, 'EUR', id % 7, 0, 0, 0, 0, 0, 0, NULL, 0, 0, '', 0, 0, 0, 0,
                   (ARRAY['prospect','new','active','at_risk','lapsed','vip'])[1 + id % 6],
                   '', '[]', 1, now()
            FROM customers_customer
            """
        )
        # Orders spread over the last year, customers by a multiplicative hash of the row
        # number, statuses mostly placed (every 25th cancelled).
        cursor.execute(
            """
            INSERT INTO orders_order (number, public_id, channel, client_reference,
                customer_id, email, phone, status, currency, subtotal, discount_total,
                tax_total, shipping_total, total, campaign, notes, placed_at, created_at,
                updated_at)
            SELECT 'B' || g, gen_random_uuid(),
                   (ARRAY['web','app','store'])[1 + g %% 3], '',
                   1 + (g::bigint * 7919) %% %s, '', '',
                   CASE WHEN g %% 25 = 0 THEN 'cancelled' ELSE 'placed' END, 'EUR',
                   50, 0, 0, 0, 50, '', '',
                   now() - (g %% 365) * interval '1 day' - (g %% 1440) * interval '1 minute',
                   now(), now()
            FROM generate_series(1, %s) AS g
            """,
            [customers, orders],
        )
        cursor.execute(
            """
            INSERT INTO orders_orderline (order_id, sku_id, quantity, unit_price, discount,
                tax, total)
            SELECT id, 1 + (id * 31) % 200, 1, 50, 0, 0, 50 FROM orders_order
            """
        )
        cursor.execute(
            """
            INSERT INTO orders_return (number, order_id, customer_id, channel, status,
                refund_method, refund_total, policy_verdict, override_reason, requested_at)
            SELECT 'R' || o.id, o.id, o.customer_id, o.channel, 'received', '', 50, '{}', '',
                   o.placed_at + interval '5 days'
            FROM orders_order o WHERE o.id % 20 = 0
            """  # no parameters in these: a single % is the modulo operator
        )
        cursor.execute("ANALYZE")
    print(
        f"bench db: {orders:,} orders, lines, returns and metrics in "
        f"{time.perf_counter() - started:.0f} s"
    )


def count_segment(policy) -> None:
    from django.db import connection

    from campaigns.segmentation.services import customers_matching

    rules = {
        "all": [
            {"field": "lifecycle_stage", "op": "in", "value": ["active", "vip"]},
            {"field": "consent", "op": "has", "value": "email"},
            {"field": "bought_category", "op": "has", "value": "footwear", "within_days": 90},
            {"field": "returned", "op": "has_not", "within_days": 90},
        ]
    }
    queryset = customers_matching(rules, policy=policy)
    for attempt in ("first", "second"):
        started = time.perf_counter()
        count = queryset.count()
        elapsed = time.perf_counter() - started
        print(
            f"segment count ({attempt} run; active or VIP, email consent, footwear in 90 days, "
            f"no return in 90 days): {count:,} of the customers in {elapsed:.2f} s"
        )
    if os.environ.get("BENCH_EXPLAIN"):
        sql, params = queryset.values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            # The ORM's own SQL, values as parameters.
            explain = f"EXPLAIN ANALYZE SELECT count(*) FROM ({sql}) AS s"  # noqa: S608
            cursor.execute(explain, params)
            print("\n".join(row[0] for row in cursor.fetchall()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument(
        "--only-segments", action="store_true", help="Only count the segment (step 4)."
    )
    args = parser.parse_args()

    url = bench_database(BENCH_DB)
    outbox = tempfile.mkdtemp(prefix="omni-bench-outbox-")
    setup_django(url, outbox)
    populate(args.customers)
    populate_history(args.orders)
    if args.only_segments:
        count_segment(BenchPolicy())
        return

    from django.db import connection, transaction
    from django.db.models import Count

    from campaigns.models import Delivery
    from campaigns.services.editing import create_campaign, set_message
    from campaigns.services.sending import materialise_deliveries, send_batch
    from customers.models import Customer

    campaign = create_campaign(name="Bench", channels=["push", "sms", "email"])
    set_message(
        campaign=campaign,
        variants={
            "email": {"subject": "Hi {{ first_name }}", "html": "<p>Hello {{ first_name }}</p>"},
            "sms": {"text": "Hi {{ first_name }}, spring sale today"},
            "push": {"title": "Spring", "body": "{{ first_name }}, new arrivals"},
        },
    )
    policy = BenchPolicy()

    started = time.perf_counter()
    with transaction.atomic():
        result = materialise_deliveries(
            campaign=campaign, customers=Customer.objects.all(), policy=policy
        )
    first = time.perf_counter() - started
    by_channel = dict(
        Delivery.objects.filter(campaign=campaign).values_list("channel").annotate(n=Count("id"))
    )
    print(
        f"materialise (priority push>sms>email): {result.queued:,} queued, skipped "
        f"{result.skipped} in {first:.1f} s; by channel {by_channel}"
    )
    record(
        f"campaigns: materialise {result.queued:,} deliveries (one INSERT ... SELECT)",
        throughput=result.queued / first,
        unit="rows/s",
        note=f"{first:.1f} s",
    )

    started = time.perf_counter()
    with transaction.atomic():
        again = materialise_deliveries(
            campaign=campaign, customers=Customer.objects.all(), policy=policy
        )
    print(
        f"materialise again (all conflict): {again.queued:,} new in "
        f"{time.perf_counter() - started:.1f} s"
    )

    ids = list(
        Delivery.objects.filter(campaign=campaign, state="queued")
        .order_by("pk")
        .values_list("pk", flat=True)[: args.sample]
    )
    started = time.perf_counter()
    sent = 0
    for start in range(0, len(ids), 500):
        sent += send_batch(delivery_ids=ids[start : start + 500], policy=policy)["sent"]
    elapsed = time.perf_counter() - started
    print(
        f"send: {sent:,} of {len(ids):,} sent in {elapsed:.1f} s = {sent / elapsed:,.0f} "
        "messages/s in one worker process"
    )
    record(
        "campaigns: send_batch in one worker process",
        throughput=sent / elapsed,
        unit="messages/s",
        note=f"{sent:,} of {len(ids):,} sent",
    )

    # Leave the customers for the next run; drop this run's campaign.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM campaigns_delivery WHERE campaign_id = %s", [campaign.pk])
    campaign.delete()

    count_segment(policy)


if __name__ == "__main__":
    main()
