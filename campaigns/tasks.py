"""Thin tasks: take ids, call a service. Brokers redeliver, so each is safe to run twice."""

from celery import shared_task

from campaigns.backends import BackendUnavailable
from campaigns.services import journeys, sending


@shared_task(
    name="campaigns.send_delivery_batch",
    autoretry_for=(BackendUnavailable,),
    retry_backoff=30,
    retry_kwargs={"max_retries": 10},
)
def send_delivery_batch(delivery_ids: list[int], at: str | None = None) -> dict:
    """`at` evaluates the send rules as of that time (the sweep passes its own clock)."""
    return dict(sending.send_batch(delivery_ids=delivery_ids, now=sending.now_or(at)))


@shared_task(name="campaigns.release_due_deliveries")
def release_due_deliveries(at: str | None = None) -> int:
    return sending.release_due_deliveries(now=sending.now_or(at))


@shared_task(name="campaigns.run_journeys")
def run_journeys(at: str | None = None) -> dict:
    """Enrol timed triggers and advance due journey enrolments (see services.journeys)."""
    return journeys.run_journeys(now=sending.now_or(at))


@shared_task(name="campaigns.enrol_lapsed_customers")
def enrol_lapsed_customers(at: str | None = None) -> int:
    """Enrol customers with no purchase for a win-back journey's number of days."""
    return journeys.enrol_lapsed_customers(now=sending.now_or(at))
