"""Satisfaction (CSAT 1–5) and net promoter (NPS 0–10) answers.

Ranges are database check constraints too; the service refuses out-of-range scores with a
clear error before the database would."""

from __future__ import annotations

from django.db import transaction

from customers.models import Customer, Feedback, SupportCase, TimelineEntry
from customers.services.timeline import add_timeline_entry, survivor_of
from omni.errors import BadRequest

SCORE_RANGES = {Feedback.Kind.CSAT: (1, 5), Feedback.Kind.NPS: (0, 10)}


class ScoreOutOfRange(BadRequest):
    code = "score_out_of_range"
    message = "CSAT scores are 1 to 5 and NPS scores are 0 to 10."


class FeedbackCaseMismatch(BadRequest):
    code = "feedback_case_mismatch"
    message = "That support case belongs to another customer."


class FeedbackWithoutSubject(BadRequest):
    code = "feedback_without_subject"
    message = "Feedback must be about an order, a support case or a store visit."


def record_feedback(
    *,
    customer: Customer,
    kind: str,
    score: int,
    comment: str = "",
    channel: str = "",
    order_reference: str = "",
    case: SupportCase | None = None,
    location=None,
) -> Feedback:
    """Store one answer, linked to what it rates, and put it on the timeline."""
    low, high = SCORE_RANGES[kind]
    if not low <= score <= high:
        raise ScoreOutOfRange(kind=kind, score=score, minimum=low, maximum=high)
    if not (order_reference or case or location):
        raise FeedbackWithoutSubject()
    customer = survivor_of(customer)
    if case is not None and case.customer_id != customer.pk:
        raise FeedbackCaseMismatch(case=case.pk)
    with transaction.atomic():
        feedback = Feedback.objects.create(
            customer=customer,
            kind=kind,
            score=score,
            comment=comment,
            channel=channel,
            order_reference=order_reference,
            case=case,
            location=location,
        )
        add_timeline_entry(
            customer=customer,
            kind=TimelineEntry.Kind.FEEDBACK,
            occurred_at=feedback.created_at,
            title=f"{feedback.get_kind_display().split(' ')[0]} {score}",
            channel=channel,
            location=location,
            data={
                "kind": kind,
                "score": score,
                "comment": comment[:500],
                "order_reference": order_reference,
                "case_id": case.pk if case else None,
            },
            reference_type="feedback",
            reference_id=str(feedback.pk),
        )
    return feedback
