"""What every benchmark needs: a free port, gunicorn serving Omni in production mode on a
bench database, and percentiles."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(env: dict | None = None) -> dict:
    """The environment of a bench server process (gunicorn or a Celery worker): production
    settings, rate limits out of the way, its own Redis databases."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "OMNI_DEFAULT_RATE_LIMIT": "100000000",
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
        "REDIS_DB_OFFSET": "12",
        "CACHE_KEY_PREFIX": "omni-bench",
        **(env or {}),
    }


def start_gunicorn(port: int, workers: int, env: dict | None = None) -> subprocess.Popen:
    """Omni under gunicorn with production settings (rate limits out of the way), started
    in its own session so `stop_gunicorn` takes its workers down too; waits for /healthz."""
    environment = server_env(env)
    server = subprocess.Popen(  # noqa: S603 - our own interpreter
        [
            sys.executable,
            "-m",
            "gunicorn",
            "omni.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=environment,
        start_new_session=True,
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)  # noqa: S310
            return server
        except (urllib.error.URLError, OSError):  # not listening yet, or still booting
            time.sleep(0.2)
    stop_gunicorn(server)
    raise SystemExit("gunicorn did not start")


def stop_gunicorn(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def percentile(values: list[float], pct: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def bench_database(name: str) -> str:
    """The URL of database `name` on the embedded PostgreSQL (or the server of DATABASE_URL),
    created if it does not exist. Benchmarks never touch the development data."""
    if os.environ.get("DATABASE_URL"):
        import environ

        config = environ.Env.db_url_config(os.environ["DATABASE_URL"])
        admin = {
            "host": config["HOST"] or config.get("OPTIONS", {}).get("host"),
            "port": config["PORT"] or 5432,
            "user": config["USER"],
            "password": config["PASSWORD"],
            "dbname": config["NAME"],
        }
        parsed = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
        url = urllib.parse.urlunsplit(parsed._replace(path=f"/{name}"))
        _create(admin, name)
        return url
    from omni.embedded import ensure_postgres

    config = ensure_postgres()
    admin = {
        "host": config["HOST"],
        "port": config["PORT"],
        "user": config["USER"],
        "dbname": config["NAME"],
    }
    url = f"postgres://{config['USER']}@/{name}?host={config['HOST']}&port={config['PORT']}"
    _create(admin, name)
    return url


def _create(admin: dict, name: str) -> None:
    import psycopg

    with psycopg.connect(**admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


# --- One results table across scripts ---------------------------------------------------


def record(
    measure: str,
    *,
    throughput: float | None = None,
    unit: str = "req/s",
    p50_ms: float | None = None,
    p95_ms: float | None = None,
    clients: int | None = None,
    baseline: str | None = None,
    note: str = "",
) -> None:
    """Add one row to the results of `make bench` (a JSON line in the file named by
    BENCH_RESULTS); run alone, a script prints its own table and this does nothing.
    `baseline` names another row (same run) to print beside this one."""
    path = os.environ.get("BENCH_RESULTS")
    if not path:
        return
    import json

    row = {
        "script": Path(sys.argv[0]).name,
        "measure": measure,
        "throughput": throughput,
        "unit": unit,
        "p50_ms": p50_ms,
        "p95_ms": p95_ms,
        "clients": clients,
        "baseline": baseline,
        "note": note,
        "load": round(os.getloadavg()[0], 1),
    }
    with open(path, "a") as handle:
        handle.write(json.dumps(row) + "\n")


# --- A keep-alive HTTP client -----------------------------------------------------------


class Client:
    """One keep-alive connection to the bench server; `call` returns (status, body bytes,
    seconds). Reconnects once when the server closed the connection."""

    def __init__(self, port: int, token: str | None = None):
        import http.client

        self._factory = lambda: http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.connection = self._factory()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call(self, method: str, path: str, body: dict | None = None, headers=None):
        import http.client
        import json

        payload = json.dumps(body).encode() if body is not None else None
        sent = {**self.headers, **(headers or {})}
        if payload is not None:
            sent["Content-Type"] = "application/json"
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=payload, headers=sent)
                response = self.connection.getresponse()
                data = response.read()
                return response.status, data, time.perf_counter() - started
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = self._factory()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()
