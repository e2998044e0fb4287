"""A worker process killed with SIGKILL in the middle of a campaign: after a restart and
the sweep, every recipient got the message and nobody got it twice."""

import datetime
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from campaigns.models import Delivery
from campaigns.services.sending import release_due_deliveries, send_campaign
from customers.models import Customer, Identity
from tests.campaigns.factories import campaign_with_variants

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker]

# The suite runs 3,000; `OMNI_CRASH_RECIPIENTS=100000` runs the campaign of the README.
RECIPIENTS = int(os.environ.get("OMNI_CRASH_RECIPIENTS", "3000"))
ROOT = Path(__file__).resolve().parents[2]


def worker_env(outbox: str) -> dict:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@/{db['NAME']}?host={db['HOST']}&port={db['PORT']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_DB_OFFSET": "10",  # the test run's broker
        "OMNI_AUDIENCE_POLICY": "tests.campaigns.policy.EveryoneConsents",
        "OMNI_SMS_BACKEND": "campaigns.backends.console.FileBackend",
        "OMNI_OUTBOX_DIR": outbox,
        "LOG_LEVEL": "WARNING",
    }


def start_worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "omni",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def sent_lines(outbox: Path) -> list[dict]:
    path = outbox / "sms.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_for(condition, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_a_worker_killed_mid_campaign_leaves_no_one_out_and_no_one_twice(settings, tmp_path):
    outbox = tmp_path / "worker-outbox"
    settings.OMNI_AUDIENCE_POLICY = "tests.campaigns.policy.EveryoneConsents"
    settings.OMNI_SEND_BATCH_SIZE = 100
    customers = Customer.objects.bulk_create(
        Customer(first_name="Reader", last_name=str(n)) for n in range(RECIPIENTS)
    )
    Identity.objects.bulk_create(
        Identity(customer=c, kind="phone", value=f"+35191{c.pk:07d}") for c in customers
    )
    campaign = campaign_with_variants(channels=["sms"])
    env = worker_env(str(outbox))
    worker = start_worker(env)
    try:
        send_campaign(campaign=campaign, all_with_consent=True)
        assert wait_for(lambda: len(sent_lines(outbox)) >= 400)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        at_kill = len(sent_lines(outbox))
        assert at_kill < RECIPIENTS

        worker = start_worker(env)
        # The killed worker's task is lost with it (Redis would redeliver it only after an
        # hour); the sweep hands its rows out again once stale (immediately, here).
        settings.OMNI_STALE_CLAIM_AFTER = datetime.timedelta(0)
        settings.OMNI_STALE_QUEUE_AFTER = datetime.timedelta(0)
        release_due_deliveries()

        def done():
            return not Delivery.objects.filter(
                campaign=campaign, state__in=["queued", "sending"], sent_at__isnull=True
            ).exists()

        assert wait_for(done, timeout=180 + RECIPIENTS / 50)
        assert wait_for(
            lambda: (
                Delivery.objects.filter(campaign=campaign, state="sent").count()
                + Delivery.objects.filter(campaign=campaign, state="sending").count()
                == RECIPIENTS
            )
        )
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)

    recipients = [line["to"] for line in sent_lines(outbox)]
    in_flight = Delivery.objects.filter(campaign=campaign, state="sending").count()
    assert len(recipients) == len(set(recipients))  # nobody twice
    # Every delivery was sent, except at most the one being handed over at the kill.
    assert RECIPIENTS - in_flight <= len(recipients) <= RECIPIENTS
    assert in_flight <= 1
    assert at_kill < len(recipients)
