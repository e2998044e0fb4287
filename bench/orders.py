"""Orders benchmark: POS sales over HTTP with several web workers, and the nightly metrics
recompute on 1,000,000 customers with 5,000,000 purchases.

What it does, in one run, on a separate database (`omni_bench_orders`) of the embedded
PostgreSQL (or the server of DATABASE_URL):

1. POS sales. Seeds a store, `--skus` SKUs with plenty on hand (receipts through
   `receive_stock`, so the ledger explains every unit) and a register token scoped to the
   store; starts gunicorn (`--workers`); `--clients` threads POST distinct completed sales
   (1-3 lines, random SKUs) to `/api/v1/sales/` for `--seconds`; prints sales/s and
   p50/p95/p99. Then re-posts a sample of those sales under new Idempotency-Keys (a till
   retrying after a lost answer): each must come back 200 `replayed: true` and the order
   count must not move. Ends by checking on hand == SUM(ledger deltas) for every level.
2. Nightly metrics. Fills `customers_customer` and `customers_metricsfact` with SQL
   `INSERT ... SELECT generate_series` up to `--customers` and `--facts` (rows already
   there are kept, so a second run starts at once), then times `recompute_all_metrics()`.
   The recompute covers every row in the tables, so after a full run a smaller run still
   recomputes the full set (the table says how many rows it covered).

    .venv/bin/python bench/orders.py [--seconds 20] [--clients 6] [--workers 3]
        [--customers 1000000] [--facts 5000000]
    .venv/bin/python bench/orders.py --seconds 3 --clients 2 --customers 2000 --facts 10000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    bench_database,
    free_port,
    percentile,
    record,
    start_gunicorn,
    stop_gunicorn,
)

BENCH_DB = "omni_bench_orders"
STORE = "bench-orders-store"
SKU_PREFIX = "BENCH-ORD-"
OPENING_STOCK = 10_000_000
PRICE = Decimal("12.50")


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# --- 1. POS sales -----------------------------------------------------------------------


def seed_store(skus: int) -> tuple[list[str], str]:
    """The store, its SKUs with opening stock received through the service, and a new
    register token; returns (sku codes, plain token)."""
    from inventory.models import Location, Product, Sku, StockLevel
    from inventory.services.stock import receive_stock
    from omni.services import create_api_token

    store, _ = Location.objects.get_or_create(code=STORE, defaults={"name": "Bench orders store"})
    product, _ = Product.objects.get_or_create(
        slug="bench-orders-tee", defaults={"name": "Bench orders tee"}
    )
    codes = [f"{SKU_PREFIX}{number:04d}" for number in range(skus)]
    have = set(Sku.objects.filter(code__in=codes).values_list("code", flat=True))
    Sku.objects.bulk_create(
        [
            Sku(product=product, code=code, price=PRICE, currency="EUR")
            for code in codes
            if code not in have
        ]
    )
    started = time.perf_counter()
    received = 0
    for sku in Sku.objects.filter(code__in=codes):
        level, _ = StockLevel.objects.get_or_create(location=store, sku=sku)
        if level.on_hand < OPENING_STOCK // 2:
            receive_stock(location=store, sku=sku, quantity=OPENING_STOCK, reference_id="opening")
            received += 1
    if received:
        print(f"stock: {received} receipts in {time.perf_counter() - started:.1f} s")
    _, plain = create_api_token(
        name=f"Bench till {secrets.token_hex(3)}",
        scopes=["sales:write"],
        locations=[store],
        rate_limit_per_minute=100_000_000,
    )
    return codes, plain


def post(url: str, token: str, body: dict, key: str) -> tuple[int, dict, float]:
    request = urllib.request.Request(  # noqa: S310 - http to our own gunicorn
        url,
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        },
        method="POST",
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, exc.read()
    elapsed = (time.perf_counter() - started) * 1000
    try:
        parsed = json.loads(payload or b"{}")
    except ValueError:
        parsed = {"raw": payload[:200].decode(errors="replace")}
    return status, parsed, elapsed


def sale_body(rng: random.Random, codes: list[str], reference: str) -> dict:
    lines = [
        {"sku": code, "quantity": rng.randint(1, 3)}
        for code in rng.sample(codes, rng.randint(1, 3))
    ]
    total = sum(PRICE * line["quantity"] for line in lines)
    return {
        "client_reference": reference,
        "lines": lines,
        "payments": [{"method": "card", "amount": str(total), "external_reference": reference}],
    }


def run_sales(url: str, token: str, codes: list[str], clients: int, seconds: float) -> dict:
    """`clients` threads post distinct sales until `seconds` have passed."""
    run_id = secrets.token_hex(4)
    recorded: list[dict] = []
    timings: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(number: int) -> None:
        rng = random.Random(f"{run_id}-{number}")  # noqa: S311 - load generation
        mine, times, bad = [], [], []
        sequence = 0
        while time.perf_counter() < deadline:
            sequence += 1
            body = sale_body(rng, codes, f"{run_id}-{number}-{sequence}")
            status, payload, elapsed = post(url, token, body, str(uuid.uuid4()))
            times.append(elapsed)
            if status == 201 and payload.get("replayed") is False:
                mine.append(body)
            else:
                bad.append(f"{status} {str(payload)[:160]}")
        with lock:
            recorded.extend(mine)
            timings.extend(times)
            failures.extend(bad)

    started = time.perf_counter()
    pool = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    timings.sort()
    return {
        "recorded": recorded,
        "requests": len(timings),
        "failures": failures,
        "elapsed": elapsed,
        "rate": len(recorded) / elapsed,
        "p50": percentile(timings, 50),
        "p95": percentile(timings, 95),
        "p99": percentile(timings, 99),
    }


def replay_sample(url: str, token: str, sales: list[dict], sample: int) -> dict:
    """The same sales again under new keys: each must be the first order, replayed."""
    rng = random.Random(11)  # noqa: S311 - sampling
    chosen = rng.sample(sales, min(sample, len(sales)))
    wrong = []
    for body in chosen:
        status, payload, _ = post(url, token, body, str(uuid.uuid4()))
        if status != 200 or payload.get("replayed") is not True:
            wrong.append(f"{body['client_reference']}: {status} {str(payload)[:160]}")
    return {"replayed": len(chosen), "wrong": wrong}


def store_orders() -> int:
    from orders.models import Order

    return Order.objects.filter(location__code=STORE).count()


def ledger_mismatches() -> list[tuple]:
    """Stock levels whose on hand is not the sum of their ledger deltas."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT level.id, level.on_hand, COALESCE(SUM(movement.delta), 0)
              FROM inventory_stocklevel level
              LEFT JOIN inventory_stockmovement movement ON movement.stock_level_id = level.id
             GROUP BY level.id, level.on_hand
            HAVING level.on_hand <> COALESCE(SUM(movement.delta), 0)
            """
        )
        return cursor.fetchall()


def stock_level_count() -> int:
    from inventory.models import StockLevel

    return StockLevel.objects.count()


# --- 2. Nightly metrics -----------------------------------------------------------------


def populate_metrics(customers: int, facts: int) -> tuple[int, int]:
    """Customers and purchase facts up to the counts asked for; rows already there stay.
    Returns the counts now in the tables."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_customer")
        have = cursor.fetchone()[0]
        if have < customers:
            started = time.perf_counter()
            cursor.execute(
                """
                INSERT INTO customers_customer (public_id, first_name, last_name, gender,
                    language, time_zone, city, region, postcode, country, acquisition_channel,
                    first_seen_channel, created_at, updated_at)
                SELECT gen_random_uuid(),
                       (ARRAY['Ana','João','Maria','Lucía','Lena','Jonas','Oliver','Inês'])
                           [1 + g %% 8],
                       'Bench ' || g, '', 'pt-PT', 'Europe/Lisbon', 'Lisboa', '', '1100-001',
                       'PT', 'store', 'store', now() - (g %% 1000) * interval '1 day', now()
                FROM generate_series(%s, %s) AS g
                """,
                [have + 1, customers],
            )
            print(
                f"metrics: {customers - have:,} customers in {time.perf_counter() - started:.0f} s"
            )
        cursor.execute("SELECT count(*) FROM customers_metricsfact")
        have_facts = cursor.fetchone()[0]
        if have_facts < facts:
            started = time.perf_counter()
            # Fact g goes to the (g mod N)-th customer by id, so every customer gets a share
            # whatever ids earlier runs left; dates spread over two years, revenue 5-300.
            cursor.execute(
                """
                WITH numbered AS (
                    SELECT id, row_number() OVER (ORDER BY id) - 1 AS n
                      FROM customers_customer WHERE merged_into_id IS NULL
                ), total AS (SELECT count(*) AS n FROM numbered)
                INSERT INTO customers_metricsfact (customer_id, kind, reference, occurred_at,
                    channel, revenue, cost, discount, amount, currency, created_at)
                SELECT numbered.id, 'purchase', 'bench-order-' || g,
                       now() - ((g * 7919) %% 730) * interval '1 day'
                           - (g %% 86400) * interval '1 second',
                       (ARRAY['web','app','store','store'])[1 + g %% 4],
                       5 + (g * 31) %% 296, (5 + (g * 31) %% 296) * 0.45,
                       CASE WHEN g %% 5 = 0 THEN 2.50 ELSE 0 END, 0, 'EUR', now()
                  FROM generate_series(%s::bigint, %s::bigint) AS g
                  CROSS JOIN total
                  JOIN numbered ON numbered.n = g %% total.n
                """,
                [have_facts + 1, facts],
            )
            print(f"metrics: {facts - have_facts:,} facts in {time.perf_counter() - started:.0f} s")
        if have < customers or have_facts < facts:
            cursor.execute("ANALYZE customers_customer")
            cursor.execute("ANALYZE customers_metricsfact")
        cursor.execute("SELECT count(*) FROM customers_customer")
        now_customers = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM customers_metricsfact")
        now_facts = cursor.fetchone()[0]
    return now_customers, now_facts


def time_recompute() -> tuple[int, float]:
    from customers.services.metrics import recompute_all_metrics

    started = time.perf_counter()
    count = recompute_all_metrics()
    return count, time.perf_counter() - started


# --- main -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--skus", type=int, default=300)
    parser.add_argument("--replays", type=int, default=200)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--facts", type=int, default=5_000_000)
    args = parser.parse_args()

    url = bench_database(BENCH_DB)
    setup_django(url)
    codes, token = seed_store(args.skus)
    before = store_orders()
    port = free_port()
    server = start_gunicorn(port, args.workers, env={"DATABASE_URL": url})
    endpoint = f"http://127.0.0.1:{port}/api/v1/sales/"
    try:
        # Warm every worker's imports and connections before the clock starts.
        run_sales(endpoint, token, codes, args.clients, 1.0)
        warmed = store_orders()
        sales = run_sales(endpoint, token, codes, args.clients, args.seconds)
        after = store_orders()
        replay = replay_sample(endpoint, token, sales["recorded"], args.replays)
        after_replay = store_orders()
    finally:
        stop_gunicorn(server)
    mismatches = ledger_mismatches()
    levels = stock_level_count()

    customers, facts = populate_metrics(args.customers, args.facts)
    recomputed, seconds = time_recompute()

    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    print(
        f"\n{os.cpu_count()} cores, load average {' '.join(load)}; {args.workers} gunicorn "
        f"workers, {args.clients} client threads, {args.seconds:g} s, {args.skus} SKUs\n"
    )
    rows = [
        ("POS sales recorded (201)", f"{len(sales['recorded']):,} of {sales['requests']:,}"),
        ("POS sales / s", f"{sales['rate']:.1f}"),
        (
            "POS latency p50 / p95 / p99",
            f"{sales['p50']:.0f} / {sales['p95']:.0f} / {sales['p99']:.0f} ms",
        ),
        ("failed posts", f"{len(sales['failures'])}"),
        ("orders written by the timed run", f"{after - warmed:,}"),
        (
            "replays 200 replayed:true",
            f"{replay['replayed'] - len(replay['wrong'])} of {replay['replayed']}",
        ),
        ("orders written by the replays", f"{after_replay - after}"),
        ("stock levels with on hand != ledger", f"{len(mismatches)} of {levels}"),
        ("metrics: customers / purchase facts", f"{customers:,} / {facts:,}"),
        ("recompute_all_metrics()", f"{seconds:.1f} s ({recomputed:,} metrics rows)"),
        (
            "recompute rate",
            f"{customers / seconds:,.0f} customers/s, {facts / seconds:,.0f} facts/s",
        ),
    ]
    for name, value in rows:
        print(f"{name:<40} {value}")
    record(
        f"orders: POS sale over HTTP, {args.skus} SKUs in one store ({args.workers} workers)",
        throughput=sales["rate"],
        p50_ms=sales["p50"],
        p95_ms=sales["p95"],
        clients=args.clients,
        baseline="pgbench bare conditional UPDATE reserve+release",
        note=f"{len(sales['failures'])} failed" if sales["failures"] else "",
    )
    record(
        f"orders: recompute_all_metrics(), {customers:,} customers / {facts:,} facts",
        throughput=customers / seconds,
        unit="customers/s",
        note=f"{seconds:.1f} s",
    )

    problems = []
    if sales["failures"]:
        problems.append(f"{len(sales['failures'])} sales failed, e.g. {sales['failures'][:3]}")
    if after - warmed != len(sales["recorded"]):
        problems.append(f"{after - warmed} orders for {len(sales['recorded'])} recorded sales")
    if replay["wrong"]:
        problems.append(f"replays not replayed: {replay['wrong'][:3]}")
    if after_replay != after:
        problems.append(f"replays wrote {after_replay - after} orders")
    if mismatches:
        problems.append(f"ledger differs from on hand: {mismatches[:5]}")
    if before > warmed:
        problems.append("orders disappeared")
    if problems:
        raise SystemExit("\n".join(problems))


if __name__ == "__main__":
    main()
