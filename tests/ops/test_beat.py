"""Two `celery beat` processes at once: only the one holding the PostgreSQL lock sends the
periodic tasks, so each schedule fires once; when it dies the other takes over."""

import time

import pytest
import redis
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from omni import embedded
from tests.ops.processes import kill, process_env, start_celery, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]

QUEUE = "beat-count"


def start_beat(env, tmp_path, name):
    return start_celery(
        "beat",
        "--loglevel=INFO",
        "--pidfile=",
        f"--schedule={tmp_path / name}",
        "--max-interval=1",
        env=env,
        log=tmp_path / f"{name}.log",
    )


def test_two_beats_fire_each_schedule_once_and_a_standby_takes_over(tmp_path):
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="Count beats",
        task="omni.record_heartbeat",
        interval=every_second,
        queue=QUEUE,
    )
    broker = redis.Redis(unix_socket_path=str(embedded.redis_socket()), db=10)
    broker.delete(QUEUE)

    def sent() -> int:
        return broker.llen(QUEUE)

    env = process_env()
    first = start_beat(env, tmp_path, "first")
    second = None
    try:
        assert wait_for(lambda: sent() >= 2, timeout=60), (tmp_path / "first.log").read_text()
        second = start_beat(env, tmp_path, "second")
        time.sleep(4)  # the second beat is up and ticking by now
        window_start, start_count = time.monotonic(), sent()
        time.sleep(8)
        elapsed, fired = time.monotonic() - window_start, sent() - start_count
        # One schedule every second: once per second, never twice (two beats would be ~2x).
        assert fired <= elapsed + 2, (fired, elapsed)
        assert fired >= elapsed / 2, (fired, elapsed)

        kill(first)  # SIGKILL: the lock goes with its connection
        before = sent()
        assert wait_for(lambda: sent() >= before + 3, timeout=30), (
            tmp_path / "second.log"
        ).read_text()
    finally:
        kill(first)
        if second is not None:
            kill(second)
        broker.delete(QUEUE)
