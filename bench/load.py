"""Load test of the running system: gunicorn and real Celery workers on the mid-size
retailer (bench/dataset.py), a mixed retail workload over loopback at target rates while
a campaign sends, then the invariants.

- `--web N` gunicorn worker processes (production settings) and `--celery N` Celery
  worker processes (prefork, concurrency 1 each) on the broker of CELERY_BROKER_URL (the
  embedded Redis unless set; e.g. amqp://guest:guest@127.0.0.1:5672// for RabbitMQ).
- Open-loop load, one client process per kind of request, each request sent at its
  scheduled time whatever the server's pace (a late answer delays nothing else, and its
  latency is counted from when it was due, so queueing shows): availability lookups
  (`--availability` req/s), till sales (`--sales`), web checkouts (`--checkouts`) and
  customer lookups (`--lookups`), for `--seconds`.
- Before the clock starts: every Celery worker answers a ping (booting ones would take a
  core for seconds) and each kind of request is sent a few times, so no web process is
  cold (its first call loads URLs, views and caches).
- At the start a campaign (SMS then email, priority) is sent to `--audience` customers:
  deliveries are materialised and handed to the workers, which send them while the load
  runs (SMS to a file outbox, email to the console of the worker).
- Afterwards: achieved throughput and p50/p95/p99 per kind (requests still unsent 10 s
  after the end, because the server fell that far behind, are counted apart); whether the
  campaign drained; and the invariants: no stock level below zero or reserved beyond on
  hand, on hand equal to the ledger sum at every level this run touched, exactly one
  delivery per (campaign, step, customer, channel) and one message per customer.

    .venv/bin/python bench/load.py [--scale 1] [--seconds 60] [--web 2] [--celery 2]
        [--availability 300] [--sales 200] [--checkouts 10] [--lookups 50] [--audience 20000]

`--audience 0` sends no campaign; a rate of 0 leaves that kind of request out.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import random
import secrets
import signal
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
    free_port,
    percentile,
    record,
    server_env,
    start_gunicorn,
    stop_gunicorn,
)
from bench.workload import Workload, call, make_tokens  # noqa: E402

TARGETS_MS = {"availability": 25, "pos_sale": 50}  # p95 targets of the issue


# --- Open-loop clients ------------------------------------------------------------------


def drive(kind: str, rate: float, seconds: float, port: int, work: Workload, start_at, out):
    """Send `rate` requests per second of `kind` for `seconds` from a pool of threads;
    put (lateness-inclusive latency, service time, status, due time) rows on `out`."""
    make_request = getattr(work, kind)
    total = int(rate * seconds)
    interval = 1.0 / rate
    threads = max(4, min(96, math.ceil(rate * 0.15)))
    counter = iter(range(total))
    lock = threading.Lock()
    results: list[tuple[float | None, float, int, float]] = []
    stop_at = start_at + seconds + 10

    def worker(number: int) -> None:
        rng = random.Random(f"{kind}-{number}-{secrets.token_hex(4)}")  # noqa: S311 - load
        connections: dict = {}
        mine = []
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                break
            due = start_at + index * interval
            if time.time() > stop_at:
                # The server fell this far behind: what was not sent by the end is counted
                # as not served rather than stretching the run.
                mine.append((None, 0.0, 0, due))
                continue
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            try:
                status, _, service = call(connections, port, make_request(rng))
            except OSError:
                status, service = 599, 0.0
            mine.append((time.time() - due, service, status, due))
        for connection in connections.values():
            connection.close()
        with lock:
            results.extend(mine)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    out.put((kind, results))


# --- Celery workers ---------------------------------------------------------------------


def start_workers(count: int, env: dict, log_dir: Path, nice: int = 0) -> list[subprocess.Popen]:
    """`count` Celery worker processes; `nice` lowers their CPU priority below the web
    processes'."""
    workers = []
    for number in range(count):
        log = (log_dir / f"worker-{number}.log").open("w")
        workers.append(
            subprocess.Popen(  # noqa: S603 - our own interpreter
                [
                    sys.executable,
                    *("-m", "celery", "-A", "omni", "worker", "--loglevel", "WARNING"),
                    *("--concurrency", "1", "--pool", "prefork", "-n", f"load{number}@%h"),
                    *("--without-gossip", "--without-mingle", "--without-heartbeat"),
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=(lambda: os.nice(nice)) if nice else None,  # noqa: PLW1509
            )
        )
    return workers


def wait_for_workers(count: int, env: dict, timeout: float = 90) -> None:
    """Until `count` Celery workers answer a ping: a worker still booting (importing
    Django and every app) takes a core for seconds, which would land in the measured load.
    Asked by `celery inspect ping` in a process of its own, so this one (which forks the
    clients) holds no broker connection."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        answer = subprocess.run(  # noqa: S603 - our own interpreter
            [sys.executable, "-m", "celery", "-A", "omni", "inspect", "ping", "--timeout", "2"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if answer.stdout.count(": OK") >= count:
            return
    raise SystemExit(f"fewer than {count} Celery workers answered within {timeout:g} s")


def warm_up(port: int, work: Workload, kinds: list[str], web: int) -> None:
    """A few requests of each kind before the clock starts, so every web process has
    loaded its URLs, views and caches (a cold process answers its first call slowly)."""
    rng = random.Random("warm-up")  # noqa: S311 - load
    connections: dict = {}
    for kind in kinds:
        for _ in range(10 * web):
            call(connections, port, getattr(work, kind)(rng))
    for connection in connections.values():
        connection.close()


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


# --- The campaign -----------------------------------------------------------------------


def start_campaign(audience: int, run: str):
    """A transactional SMS-then-email campaign to the first `audience` customers, handed
    to the workers; returns it."""
    from campaigns.services.editing import create_campaign, set_message
    from campaigns.services.sending import send_campaign
    from customers.models import Customer

    campaign = create_campaign(name=f"Load {run}", channels=["sms", "email"], transactional=True)
    set_message(
        campaign=campaign,
        variants={
            "sms": {"text": "Hi {{ first_name }}, your store opens late today"},
            "email": {
                "subject": "Opening hours",
                "html": "<p>Hi {{ first_name }}, your store opens late today.</p>",
            },
        },
    )
    ids = list(Customer.objects.order_by("pk").values_list("public_id", flat=True)[:audience])
    started = time.perf_counter()
    result = send_campaign(campaign=campaign, customer_ids=[str(value) for value in ids])
    print(
        f"campaign: {result.queued:,} deliveries materialised and enqueued in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return campaign


def delivery_states(campaign) -> dict[str, int]:
    from django.db.models import Count

    if campaign is None:  # `--audience 0`: the requests alone
        return {}
    from campaigns.models import Delivery

    return dict(
        Delivery.objects.filter(campaign=campaign)
        .values_list("state")
        .annotate(n=Count("id"))
        .order_by()
    )


# --- Invariants -------------------------------------------------------------------------


def invariants(campaign, since) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM inventory_stocklevel"
            " WHERE on_hand < 0 OR reserved < 0 OR reserved > on_hand"
        )
        oversold = cursor.fetchone()[0]
        cursor.execute(
            """
            WITH touched AS (
                SELECT DISTINCT stock_level_id FROM inventory_stockmovement
                 WHERE created_at >= %s
            )
            SELECT count(*) FROM inventory_stocklevel AS level JOIN touched
              ON touched.stock_level_id = level.id
             WHERE level.on_hand <> (SELECT sum(delta) FROM inventory_stockmovement AS m
                                      WHERE m.stock_level_id = level.id)
            """,
            [since],
        )
        ledger = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(DISTINCT stock_level_id) FROM inventory_stockmovement"
            " WHERE created_at >= %s",
            [since],
        )
        touched = cursor.fetchone()[0]
        cursor.execute(
            """
            SELECT count(*) FROM (
                SELECT 1 FROM campaigns_delivery WHERE campaign_id = %s
                 GROUP BY campaign_id, step_key, customer_id, channel HAVING count(*) > 1
            ) AS twice
            """,
            [campaign.pk if campaign else None],
        )
        duplicated = cursor.fetchone()[0]
        cursor.execute(
            """
            SELECT count(*) FROM (
                SELECT 1 FROM campaigns_delivery
                 WHERE campaign_id = %s AND state IN ('sent', 'delivered')
                 GROUP BY customer_id HAVING count(*) > 1
            ) AS twice
            """,
            [campaign.pk if campaign else None],
        )
        messaged_twice = cursor.fetchone()[0]
    return {
        "levels below zero or over-reserved": oversold,
        f"levels touched ({touched:,}) where on hand != ledger sum": ledger,
        "(campaign, step, customer, channel) with more than one delivery": duplicated,
        "customers sent more than one message by the campaign": messaged_twice,
    }


def latency_over_time(results: dict[str, list], window: float) -> dict[str, str]:
    """Per kind, the worst latency in each `window` seconds: a transient (a cold process,
    the first seconds of a campaign) shows where a p95 alone would hide when it happened."""
    sent = [row[3] for rows in results.values() for row in rows if row[0] is not None]
    if not sent:
        return {}
    start = min(sent)
    lines = {}
    for kind, rows in results.items():
        worst: dict[int, float] = {}
        for latency, _, _, due in rows:
            if latency is not None:
                slot = int((due - start) // window)
                worst[slot] = max(worst.get(slot, 0.0), latency)
        lines[kind] = " ".join(f"{worst[slot]:.2f}" for slot in sorted(worst))
    return lines


# --- Main -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--web", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--celery", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--availability", type=float, default=300)
    parser.add_argument("--sales", type=float, default=200)
    parser.add_argument("--checkouts", type=float, default=10)
    parser.add_argument("--lookups", type=float, default=50)
    parser.add_argument("--audience", type=int, default=20_000)
    parser.add_argument("--drain", type=float, default=120, help="seconds to let sends end")
    parser.add_argument(
        "--worker-nice", type=int, default=0, help="run the Celery workers at this niceness"
    )
    options = parser.parse_args()

    outbox = Path(tempfile.mkdtemp(prefix="omni-load-"))
    shared = {
        "OMNI_SMS_BACKEND": "campaigns.backends.console.FileBackend",
        "OMNI_OUTBOX_DIR": str(outbox),
        "EMAIL_URL": "consolemail://",
        "REDIS_DB_OFFSET": "12",
        "CACHE_KEY_PREFIX": "omni-bench",
    }
    os.environ.update(shared)
    url, counts = dataset.ensure(options.scale)
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    broker = settings.CELERY_BROKER_URL.split("?")[0].split("://")[0]
    run = f"ld{secrets.token_hex(3)}"
    work = Workload(counts, make_tokens(stores=list(range(1, 11))), run)
    env = server_env({**shared, "DATABASE_URL": url, "BENCH_SECRET_KEY": secrets.token_hex(32)})
    env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL

    # Tasks left in the broker by an earlier run (its campaign cut short) would be sent
    # first and hide this run's campaign.
    from omni.celery import app

    app.control.purge()

    since = timezone.now()
    load_before = os.getloadavg()[0]
    port = free_port()
    server = start_gunicorn(port, options.web, env=env)
    workers = start_workers(options.celery, env, outbox, nice=options.worker_nice)
    rates = {
        "availability": options.availability,
        "pos_sale": options.sales,
        "checkout": options.checkouts,
        "customer_lookup": options.lookups,
    }
    results: dict[str, list] = {}
    try:
        if options.celery:
            wait_for_workers(options.celery, env)
        warm_up(port, work, [kind for kind, rate in rates.items() if rate > 0], options.web)
        campaign = start_campaign(options.audience, run) if options.audience else None
        campaign_started = time.perf_counter()
        connection.close()  # the client processes fork from here
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        start_at = time.time() + 2
        clients = [
            context.Process(
                target=drive,
                args=(kind, rate, options.seconds, port, work, start_at, queue),
            )
            for kind, rate in rates.items()
            if rate > 0
        ]
        print(
            f"load: {', '.join(f'{kind} {rate:g}/s' for kind, rate in rates.items())} for "
            f"{options.seconds:g} s; {options.web} web processes, {options.celery} Celery "
            f"workers (nice {options.worker_nice}), broker {broker}",
            flush=True,
        )
        for client in clients:
            client.start()
        for _ in clients:
            kind, rows = queue.get()
            results[kind] = rows
        for client in clients:
            client.join()
        load_during = os.getloadavg()[0]
        during = delivery_states(campaign)
        deadline = time.perf_counter() + options.drain
        while time.perf_counter() < deadline:
            states = delivery_states(campaign)
            if not states.get("queued") and not states.get("sending"):
                break
            time.sleep(2)
        states = delivery_states(campaign)
        sending_seconds = time.perf_counter() - campaign_started
    finally:
        stop_gunicorn(server)
        stop_workers(workers)

    checks = invariants(campaign, since)
    print()
    print(
        f"dataset scale {options.scale:g}; {options.web} gunicorn workers, {options.celery} "
        f"Celery workers, broker {broker}; {options.seconds:g} s; {os.cpu_count()} cores; "
        f"load average {load_before:.1f} before, {load_during:.1f} at the end of the load"
    )
    print(
        f"| {'request':<16} | target/s | done/s | p50 ms | p95 ms | p99 ms | errors | unsent |"
        " p95 target  |"
    )
    print(
        f"|{'-' * 18}|----------|--------|--------|--------|--------|--------|--------|"
        "-------------|"
    )
    setup = f"{options.web} web, {options.celery} workers (nice {options.worker_nice}), {broker}"
    for kind, rate in rates.items():
        if not rate:
            continue
        every = results.get(kind, [])
        rows = [row for row in every if row[0] is not None]
        unsent = len(every) - len(rows)
        latencies = sorted(row[0] * 1000 for row in rows)
        errors = sum(1 for row in rows if row[2] >= 300)
        done = (len(rows) - errors) / options.seconds
        target = TARGETS_MS.get(kind)
        p50, p95, p99 = (percentile(latencies, pct) for pct in (50, 95, 99))
        verdict = "" if target is None else (f"< {target} " + ("met" if p95 < target else "missed"))
        print(
            f"| {kind:<16} | {rate:>8g} | {done:>6.0f} | {p50:>6.0f} | {p95:>6.0f} |"
            f" {p99:>6.0f} | {errors:>6} | {unsent:>6} | {verdict:<11} |"
        )
        record(
            f"load {kind} at {rate:g}/s ({setup})",
            throughput=done,
            p50_ms=p50,
            p95_ms=p95,
            note=", ".join(
                part
                for part in (
                    f"{errors} errors" if errors else "",
                    f"{unsent} unsent" if unsent else "",
                )
                if part
            ),
        )
    print("worst latency (s) in each 5 s of the run, by when the request was due:")
    for kind, line in latency_over_time(results, window=5).items():
        print(f"  {kind:<16} {line}")
    print(f"campaign deliveries at the end of the load: {during}")
    print(f"campaign deliveries after draining: {states}")
    sent = states.get("sent", 0) + states.get("skipped", 0)
    print(
        f"campaign: {sent:,} of {options.audience:,} handled in {sending_seconds:.0f} s by "
        f"{options.celery} workers = {sent / sending_seconds:.0f} messages/s"
    )
    record(
        f"load campaign send ({setup})",
        throughput=sent / sending_seconds,
        unit="messages/s",
        note=f"{sent:,} of {options.audience:,} in {sending_seconds:.0f} s",
    )
    for name, value in checks.items():
        print(f"invariant: {name}: {value}")
    if any(checks.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
