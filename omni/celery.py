"""The one Celery app. Tasks live in each app's `tasks.py` and are discovered."""

import os
from datetime import UTC, datetime

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings")


class WaitTooLongForBroker(ValueError):
    """A task was sent to run later than the broker keeps an unacknowledged message."""


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


app = OmniCelery("omni")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def longest_broker_wait() -> float:
    return app.longest_broker_wait()
