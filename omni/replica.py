"""Read-heavy work on a PostgreSQL read replica.

With `DATABASE_REPLICA_URL` set, settings add a `replica` database alias and install
`ReplicaRouter`. Read-heavy work runs inside `replica_reads()` (the low-stock and
replenishment reports today; segment counts and other reports can do the same) and its
queries go to the replica. Everything else (every write, every
read outside the block, and any read while the primary has a transaction open, so a
request reads its own writes) stays on `default`. Without the variable there is no
`replica` alias and `replica_reads()` changes nothing.

    with replica_reads():
        rows = list(StockLevel.objects.filter(...))  # on the replica
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connections

REPLICA = "replica"
PRIMARY = "default"

_reading_from_replica: ContextVar[bool] = ContextVar("omni_replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def read_alias() -> str:
    """Where a read-heavy query should go now: `replica` inside `replica_reads()` when one
    is configured and the primary holds no open transaction, else `default`."""
    if not (_reading_from_replica.get() and replica_configured()):
        return PRIMARY
    if connections[PRIMARY].in_atomic_block:
        return PRIMARY
    return REPLICA


@contextmanager
def replica_reads():
    """Send the reads made inside this block to the replica (when there is one)."""
    token = _reading_from_replica.set(True)
    try:
        yield
    finally:
        _reading_from_replica.reset(token)


class ReplicaRouter:
    """Reads inside `replica_reads()` go to the replica; writes and migrations never do."""

    def db_for_read(self, model, **hints):
        return read_alias()

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same data: rows read from either may be related.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # The replica follows the primary by streaming replication, never by migrations.
        return db == PRIMARY
