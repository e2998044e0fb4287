"""The beat scheduler: django-celery-beat's database scheduler, run by one beat at a time.

Each beat process asks PostgreSQL for a session advisory lock on a connection of its own.
The one that holds it sends the periodic tasks; any other waits as a standby and retries
every few seconds. If the leader dies, its connection closes, the lock is freed and a
standby takes over, reading the schedule (with its last-run times) afresh from the
database. So two beats running at once, by mistake or for availability, fire each
schedule once.
"""

from __future__ import annotations

import logging

import psycopg
from django.db import connection
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)

# An arbitrary, fixed 64-bit key: "omni beat" in ASCII.
BEAT_LOCK_KEY = 0x6F6D6E6920626561
STANDBY_RETRY_SECONDS = 2.0


def _lock_connection() -> psycopg.Connection:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    return psycopg.connect(**params, autocommit=True)


class SingleBeatScheduler(DatabaseScheduler):
    _lock_conn: psycopg.Connection | None = None
    _leading = False

    def _hold_lock(self) -> bool:
        try:
            if self._lock_conn is None or self._lock_conn.closed:
                self._lock_conn = _lock_connection()
                self._leading = False
            if self._leading:
                self._lock_conn.execute("SELECT 1")
                return True
            got = self._lock_conn.execute(
                "SELECT pg_try_advisory_lock(%s)", [BEAT_LOCK_KEY]
            ).fetchone()[0]
        except psycopg.Error as exc:
            logger.warning("beat lock unavailable (%s); standing by", exc)
            if self._lock_conn is not None:
                self._lock_conn.close()
            self._lock_conn, self._leading = None, False
            return False
        if got:
            logger.info("beat: this process now sends the periodic tasks")
            self._leading = True
            # Another beat may have run the schedule meanwhile: read it afresh.
            self._initial_read = True
            self._heap = None
        return got

    def tick(self, *args, **kwargs):
        if not self._hold_lock():
            return STANDBY_RETRY_SECONDS
        return super().tick(*args, **kwargs)

    def close(self):
        super().close()
        if self._lock_conn is not None:
            self._lock_conn.close()
