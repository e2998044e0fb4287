"""Customers benchmark: identity lookup and resolve-or-create over HTTP, 1,000,000 customers.

What it does:
1. creates a separate database (`omni_bench_customers`) on the embedded PostgreSQL (or the
   server of DATABASE_URL), migrates it, and fills it with SQL `INSERT ... SELECT
   generate_series` (1M customers, 2M identities: an email and an E.164 phone each) unless
   it already holds them;
2. starts gunicorn on it (production settings, `--workers` processes);
3. runs client threads against it and prints p50/p95/p99 and throughput for:
   lookup by email, lookup by phone typed without country code, resolve-or-create of a
   known customer (email + phone), and resolve-or-create of a new customer.

    .venv/bin/python bench/customers.py [--customers 1000000] [--threads 4] [--requests 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    bench_database,
    free_port,
    record,
    start_gunicorn,
    stop_gunicorn,
)

BENCH_DB = "omni_bench_customers"


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings")
    import django

    django.setup()


def populate(count: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_customer")
        have = cursor.fetchone()[0]
        if have >= count:
            print(f"bench db: {have:,} customers already there")
            return
        started = time.perf_counter()
        cursor.execute(
            "TRUNCATE customers_identity, customers_consentevent, customers_consentstate,"
            " customers_preferences, customers_address, customers_customermerge,"
            " customers_duplicatesuggestion, customers_privacyrequest, customers_customer"
            " RESTART IDENTITY CASCADE"
        )
        cursor.execute(
            """
            INSERT INTO customers_customer (public_id, first_name, last_name, gender, language,
                time_zone, city, region, postcode, country, acquisition_channel,
                first_seen_channel, created_at, updated_at)
            SELECT gen_random_uuid(),
                   (ARRAY['Ana','João','Maria','Lucía','Lena','Jonas','Oliver','Inês'])[1 + g %% 8],
                   (ARRAY['Silva','Santos','García','Müller','Smith','Costa','Weber'])[1 + g %% 7]
                       || ' ' || (g %% 9973),
                   '', 'pt-PT', 'Europe/Lisbon', 'Lisboa', '',
                   lpad((1000 + g %% 8999)::text, 4, '0') || '-' || lpad((g %% 999)::text, 3, '0'),
                   'PT', 'web', 'web',
                   now() - (g %% 1000) * interval '1 day', now()
            FROM generate_series(1, %s) AS g
            """,
            [count],
        )
        # Two identities per customer: an email and a Portuguese mobile (+35191xxxxxxx).
        cursor.execute(
            """
            INSERT INTO customers_identity (customer_id, kind, namespace, value, verified,
                source_channel, created_at)
            SELECT id, 'email', '', 'bench' || id || '@example.com', false, 'web', now()
            FROM customers_customer
            UNION ALL
            SELECT id, 'phone', '', '+35191' || lpad(id::text, 7, '0'), false, 'store', now()
            FROM customers_customer
            """
        )
        cursor.execute("ANALYZE")
    print(
        f"bench db: {count:,} customers and {2 * count:,} identities in "
        f"{time.perf_counter() - started:.0f} s"
    )


def make_token() -> str:
    from omni.services import create_api_token

    _, plain = create_api_token(
        name=f"bench {secrets.token_hex(3)}",
        scopes=["customers:read", "customers:write"],
        rate_limit_per_minute=10_000_000,
    )
    return plain


def run(name: str, make_request, total: int, threads: int) -> dict:
    """`make_request(rng)` → (method, path, body); returns timings in ms."""
    timings: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    per_thread = total // threads

    def worker(seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - load generation
        local, bad = [], []
        for _ in range(per_thread):
            request = make_request(rng)
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                    response.read()
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            local.append((time.perf_counter() - started) * 1000)
            if status >= 300:
                bad.append(str(status))
        with lock:
            timings.extend(local)
            failures.extend(bad)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    timings.sort()
    result = {
        "name": name,
        "requests": len(timings),
        "failures": len(failures),
        "p50": statistics.median(timings),
        "p95": timings[int(len(timings) * 0.95) - 1],
        "p99": timings[int(len(timings) * 0.99) - 1],
        "rps": len(timings) / elapsed,
    }
    print(
        f"{name:<44} n={result['requests']:>5}  p50 {result['p50']:6.1f} ms  "
        f"p95 {result['p95']:6.1f} ms  p99 {result['p99']:6.1f} ms  "
        f"{result['rps']:6.0f} req/s  failures {result['failures']}"
    )
    if name != "warm-up":
        record(
            f"customers: {name}",
            throughput=result["rps"],
            p50_ms=result["p50"],
            p95_ms=result["p95"],
            clients=threads,
            baseline="bare DRF endpoint, no database (framework overhead)",
            note=f"{result['failures']} failed" if result["failures"] else "",
        )
    return result


def direct_calls(count: int, total: int) -> dict:
    """The services called in-process (no HTTP, auth or rendering): what the database and
    the identity code cost on their own."""
    from customers.services.identity import lookup_customer, resolve_or_create

    rng = random.Random(7)  # noqa: S311 - load generation
    results = {}
    for name, call in (
        (
            "lookup_customer(email)",
            lambda n: lookup_customer(kind="email", value=f"bench{n}@example.com"),
        ),
        (
            "resolve_or_create(known email + phone)",
            lambda n: resolve_or_create(
                identities=[
                    {"kind": "email", "value": f"bench{n}@example.com"},
                    {"kind": "phone", "value": f"+35191{n:07d}"},
                ]
            ),
        ),
    ):
        timings = []
        for _ in range(total // 2):
            n = rng.randint(1, count)
            started = time.perf_counter()
            call(n)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        results[name] = (statistics.median(timings), timings[int(len(timings) * 0.95) - 1])
        print(
            f"in-process {name:<40} p50 {results[name][0]:6.2f} ms  p95 {results[name][1]:6.2f} ms"
        )
        record(
            f"customers: in-process {name}",
            p50_ms=results[name][0],
            p95_ms=results[name][1],
            clients=1,
            baseline="pgbench primary-key lookup of a stock level",
        )
    return {"name": "in-process", "failures": 0, **results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()

    url = bench_database(BENCH_DB)
    setup_django(url)
    populate(args.customers)
    results = [direct_calls(args.customers, args.requests)]
    token = make_token()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    port = free_port()
    server = start_gunicorn(port, args.workers, env={"DATABASE_URL": url})
    base = f"http://127.0.0.1:{port}/api/v1/customers"
    count = args.customers

    def get(path):
        return urllib.request.Request(base + path, headers=headers)  # noqa: S310 - http only

    def post(path, body):
        return urllib.request.Request(  # noqa: S310 - http only
            base + path, data=json.dumps(body).encode(), headers=headers, method="POST"
        )

    def lookup_email(rng):
        return get(f"/lookup/?email=BENCH{rng.randint(1, count)}@Example.com")

    def lookup_phone(rng):
        return get(f"/lookup/?phone=91%20{rng.randint(1, count):07d}&region=PT")

    def resolve_known(rng):
        n = rng.randint(1, count)
        return post(
            "/resolve/",
            {
                "identities": [
                    {"kind": "email", "value": f"bench{n}@example.com"},
                    {"kind": "phone", "value": f"+35191{n:07d}"},
                ]
            },
        )

    def resolve_new(rng):
        return post(
            "/resolve/",
            {
                "identities": [
                    {"kind": "email", "value": f"new-{secrets.token_hex(8)}@example.com"}
                ],
                "profile": {"first_name": "Nova"},
                "channel": "web",
            },
        )

    try:
        # Warm up connections and caches.
        run("warm-up", lookup_email, args.threads * 25, args.threads)
        print(
            f"\n{count:,} customers, {args.threads} client threads, "
            f"{args.workers} gunicorn workers, {os.cpu_count()} cores\n"
        )
        results = [
            run(
                "lookup by email (GET /customers/lookup/)",
                lookup_email,
                args.requests,
                args.threads,
            ),
            run("lookup by local phone + region", lookup_phone, args.requests, args.threads),
            run("resolve-or-create, known customer", resolve_known, args.requests, args.threads),
            run("resolve-or-create, new customer", resolve_new, args.requests, args.threads),
        ]
    finally:
        stop_gunicorn(server)
    if any(result["failures"] for result in results):
        raise SystemExit("some requests failed")


if __name__ == "__main__":
    main()
