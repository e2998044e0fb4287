"""The hot endpoints on the mid-size retailer (bench/dataset.py), each beside its baseline
measured in the same run.

Gunicorn (production settings, `--workers`) serves Omni on the dataset database plus a
bare DRF endpoint that touches no database (the framework's own cost per request).
`--clients` keep-alive client threads call one endpoint at a time for `--seconds`:
availability of a SKU at a store, a stock level, a customer by email, a till sale (1-3
lines), a web checkout (1-2 lines, shipped). pgbench then runs, on the same database and
with the same number of clients, a primary-key lookup of a stock level and the bare
conditional UPDATE that reserves and releases one unit: the physical floor under the
reads and the writes. Ends by checking that on hand equals the ledger sum wherever this
run sold.

    .venv/bin/python bench/endpoints.py [--scale 1] [--seconds 10] [--clients 2] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import dataset  # noqa: E402
from bench.harness import (  # noqa: E402
    Client,
    free_port,
    percentile,
    record,
    start_gunicorn,
    stop_gunicorn,
)
from bench.workload import Workload, call, make_tokens  # noqa: E402

BARE = "bare DRF endpoint, no database (framework overhead)"
PK = "pgbench primary-key lookup of a stock level"
UPDATE = "pgbench bare conditional UPDATE reserve+release"


def closed_loop(port: int, make_request, clients: int, seconds: float) -> dict:
    """`clients` threads, each sending the next request as soon as the last answered."""
    deadline = time.perf_counter() + seconds
    timings: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def worker(number: int) -> None:
        rng = random.Random(f"{number}-{secrets.token_hex(4)}")  # noqa: S311 - load
        connections: dict = {}
        mine, bad = [], []
        while time.perf_counter() < deadline:
            status, body, elapsed = call(connections, port, make_request(rng))
            mine.append(elapsed)
            if status >= 300:
                bad.append(f"{status} {body[:200]!r}")
        for connection in connections.values():
            connection.close()
        with lock:
            timings.extend(mine)
            failures.extend(bad)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "rate": len(timings) / elapsed,
        "p50": percentile(timings, 50) * 1000,
        "p95": percentile(timings, 95) * 1000,
        "requests": len(timings),
        "failures": failures,
    }


def pgbench(url_db: dict, script: str, clients: int, seconds: int) -> dict:
    """tps and average latency (ms) of a pgbench custom script."""
    from bench.stock import pgbench_binary

    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(script)
        path = handle.name
    command = [
        pgbench_binary(),
        *("-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2))),
        *("-T", str(seconds), "-f", path, "-h", url_db["HOST"], "-p", str(url_db["PORT"])),
        *("-U", url_db["USER"], url_db["NAME"]),
    ]
    environment = {**os.environ, "PGPASSWORD": url_db.get("PASSWORD") or ""}
    try:
        out = subprocess.run(  # noqa: S603 - our own command line
            command, capture_output=True, text=True, timeout=600, env=environment
        )
    finally:
        os.unlink(path)
    tps = re.search(r"tps = ([\d.]+)", out.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", out.stdout)
    if out.returncode or not tps:
        raise RuntimeError(f"pgbench failed:\n{out.stdout}\n{out.stderr}")
    return {"rate": float(tps.group(1)), "latency": float(latency.group(1)) if latency else None}


def ledger_mismatches(run: str) -> int:
    """Stock levels touched by this run's sales whose on hand differs from the ledger sum."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM inventory_stocklevel AS level
             WHERE level.id IN (SELECT stock_level_id FROM inventory_stockmovement
                                 WHERE reference_id LIKE %s)
               AND level.on_hand <> (SELECT sum(delta) FROM inventory_stockmovement AS m
                                      WHERE m.stock_level_id = level.id)
            """,
            [f"%{run}%"],
        )
        return cursor.fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    options = parser.parse_args()

    url, counts = dataset.ensure(options.scale)
    from django.db import connection

    run = f"ep{secrets.token_hex(3)}"
    tokens = make_tokens(stores=[1, 2, 3, 4])
    work = Workload(counts, tokens, run)
    load_before = os.getloadavg()[0]
    port = free_port()
    server = start_gunicorn(
        port,
        options.workers,
        env={"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "bench.web_settings"},
    )
    cases = [
        (BARE, lambda rng: ("GET", "/bench/bare/", None, None), None),
        ("GET availability of a SKU at a store", work.availability, BARE),
        ("GET stock level by SKU and store", work.stock_level, BARE),
        ("GET customer lookup by email", work.customer_lookup, BARE),
        ("POST till sale (1-3 lines)", work.pos_sale, UPDATE),
        ("POST web checkout (1-2 lines, shipped)", work.checkout, UPDATE),
    ]
    results = {}
    try:
        warm = Client(port)
        warm.call("GET", "/bench/bare/")
        warm.close()
        for name, make_request, baseline in cases:
            print(f"{name}...", flush=True)
            closed_loop(port, make_request, options.clients, 1)  # warm the workers up
            results[name] = closed_loop(port, make_request, options.clients, options.seconds)
            results[name]["baseline"] = baseline
    finally:
        stop_gunicorn(server)

    settings = connection.settings_dict
    database = {
        "HOST": settings["HOST"] or settings["OPTIONS"].get("host", ""),
        "PORT": settings["PORT"] or settings["OPTIONS"].get("port", 5432),
        "USER": settings["USER"],
        "PASSWORD": settings["PASSWORD"],
        "NAME": settings["NAME"],
    }
    seconds = max(2, round(options.seconds))
    print("pgbench...", flush=True)
    levels = counts["levels"]
    results[PK] = pgbench(
        database,
        f"\\set id random(1, {levels})\nSELECT * FROM inventory_stocklevel WHERE id = :id;\n",
        options.clients,
        seconds,
    )
    results[UPDATE] = pgbench(
        database,
        f"\\set id random(1, {levels})\n"
        "UPDATE inventory_stocklevel SET reserved = reserved + 1\n"
        " WHERE id = :id AND on_hand - reserved - safety_stock >= 1;\n"
        "UPDATE inventory_stocklevel SET reserved = reserved - 1\n"
        " WHERE id = :id AND reserved >= 1;\n",
        options.clients,
        seconds,
    )
    wrong = ledger_mismatches(run)
    load_after = os.getloadavg()[0]

    print()
    print(
        f"dataset scale {options.scale:g} ({counts['customers']:,} customers, "
        f"{counts['skus']:,} SKUs, {counts['orders']:,} orders, {counts['movements']:,} "
        f"movements); {options.clients} clients, {options.workers} gunicorn workers, "
        f"{options.seconds:g} s each; {os.cpu_count()} cores, load average "
        f"{load_before:.1f} before, {load_after:.1f} after"
    )
    print(f"| {'measure':<54} | req/s | p50 ms | p95 ms | failed |")
    print(f"|{'-' * 56}|-------|--------|--------|--------|")
    for name, result in results.items():
        if "p50" in result:
            print(
                f"| {name:<54} | {result['rate']:>5.0f} | {result['p50']:>6.1f} |"
                f" {result['p95']:>6.1f} | {len(result['failures']):>6} |"
            )
            record(
                name,
                throughput=result["rate"],
                p50_ms=result["p50"],
                p95_ms=result["p95"],
                clients=options.clients,
                baseline=result["baseline"],
                note=f"{len(result['failures'])} failed" if result["failures"] else "",
            )
        else:
            print(
                f"| {name:<54} | {result['rate']:>5.0f} | avg {result['latency']:.2f} ms"
                f"{'':<9}|        |"
            )
            record(
                name,
                throughput=result["rate"],
                unit="tps",
                p50_ms=None,
                note=f"average latency {result['latency']:.2f} ms",
                clients=options.clients,
            )
    for name, result in results.items():
        for failure in result.get("failures", [])[:3]:
            print(f"failed: {name}: {failure}")
    print(f"stock levels sold by this run where on hand differs from the ledger sum: {wrong}")
    if wrong:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
