"""No task waits in the broker longer than its visibility timeout: long waits (an hour, a
day, pickup deadlines) are due times in PostgreSQL, picked up by periodic tasks."""

import re
from pathlib import Path

import pytest

from omni.celery import WaitTooLongForBroker, app, longest_broker_wait

ROOT = Path(__file__).resolve().parents[2]
APPS = ["omni", "customers", "inventory", "orders", "campaigns"]


def test_a_task_sent_to_wait_beyond_the_visibility_timeout_is_refused():
    with pytest.raises(WaitTooLongForBroker):
        app.send_task("omni.record_heartbeat", countdown=longest_broker_wait() + 60)


def test_a_task_retried_or_delayed_with_a_far_eta_is_refused():
    from datetime import UTC, datetime, timedelta

    from omni.tasks import record_heartbeat

    with pytest.raises(WaitTooLongForBroker):
        record_heartbeat.apply_async(eta=datetime.now(UTC) + timedelta(hours=24))


def test_a_short_wait_is_allowed():
    app.send_task("omni.record_heartbeat", countdown=5)


def test_the_code_schedules_no_task_with_an_eta_or_a_long_countdown():
    """No `countdown=`/`eta=` anywhere in the apps (the guard itself excepted)."""
    found = []
    for app_name in APPS:
        for path in (ROOT / app_name).rglob("*.py"):
            if path == ROOT / "omni" / "celery.py":
                continue
            text = path.read_text()
            for match in re.finditer(r"\b(countdown|eta)\s*=", text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}")
    assert found == []


def test_automatic_retries_back_off_below_the_visibility_timeout():
    for name, task in app.tasks.items():
        if name.startswith("celery."):
            continue
        if getattr(task, "retry_backoff", False):
            cap = getattr(task, "retry_backoff_max", 600)
            assert cap < longest_broker_wait(), name
        delay = getattr(task, "default_retry_delay", 180)
        assert delay < longest_broker_wait(), name
