"""The one Celery app. Tasks live in each app's `tasks.py` and are discovered."""

import os
from datetime import UTC, datetime

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings")


class WaitTooLongForBroker(ValueError):
    """A task was sent to run later than the broker keeps an unacknowledged message."""


class OmniTask(Task):
    """Every task retries when the database is briefly away (a failover, a restart):
    backing off 1 s, 2 s, 4 s ... up to a minute, for about five minutes in all. Tasks are
    idempotent, so a retry after a half-done run is safe."""

    autoretry_for = ()  # set below, once Django is importable
    retry_backoff = True
    retry_backoff_max = 60
    retry_jitter = True
    retry_kwargs = {"max_retries": 10}


class OmniCelery(Celery):
    def longest_broker_wait(self) -> float:
        options = self.conf.broker_transport_options or {}
        return float(options.get("visibility_timeout", 3600))

    def send_task(self, name, args=None, kwargs=None, countdown=None, eta=None, **options):
        """Every message goes through here (`delay`, `apply_async`, retries). One due later
        than the visibility timeout would be redelivered (and run twice) before it is
        due, or lost with a restarted broker: long waits are due times in PostgreSQL
        picked up by a periodic task, and anything else is refused at the source."""
        wait = float(countdown or 0)
        if eta is not None:
            due = datetime.fromisoformat(eta) if isinstance(eta, str) else eta
            if due.tzinfo is None:
                due = due.replace(tzinfo=UTC)
            wait = max(wait, (due - datetime.now(UTC)).total_seconds())
        if wait > self.longest_broker_wait():
            raise WaitTooLongForBroker(
                f"{name} would wait {wait:.0f} s in the broker (limit "
                f"{self.longest_broker_wait():.0f} s); store a due time in PostgreSQL and let "
                "a periodic task pick it up"
            )
        return super().send_task(name, args, kwargs, countdown=countdown, eta=eta, **options)


def _database_errors() -> tuple:
    from django.db import InterfaceError, OperationalError

    return (OperationalError, InterfaceError)


OmniTask.autoretry_for = _database_errors()

app = OmniCelery("omni", task_cls=OmniTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _log_with_task_id(task_id=None, **kwargs):
    from omni.logs import request_id

    request_id.set(task_id or "-")


@task_postrun.connect
def _forget_task_id(**kwargs):
    from omni.logs import request_id

    request_id.set("-")


def longest_broker_wait() -> float:
    return app.longest_broker_wait()
