"""Support cases: opened from any channel, worked by any staff member.

Status changes are compare-and-set against `TRANSITIONS`, so two people closing and
reopening the same case at once cannot both win from a state they did not see.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from customers.models import (
    CaseMessage,
    CasePriority,
    CaseStatus,
    Customer,
    SupportCase,
    TimelineEntry,
)
from customers.services.timeline import add_timeline_entry, survivor_of
from omni.errors import Conflict, RuleBroken

# status → the statuses it may move to.
TRANSITIONS: dict[str, frozenset[str]] = {
    CaseStatus.OPEN: frozenset({CaseStatus.PENDING, CaseStatus.RESOLVED, CaseStatus.CLOSED}),
    CaseStatus.PENDING: frozenset({CaseStatus.OPEN, CaseStatus.RESOLVED, CaseStatus.CLOSED}),
    CaseStatus.RESOLVED: frozenset({CaseStatus.OPEN, CaseStatus.CLOSED}),
    CaseStatus.CLOSED: frozenset(),
}


def allowed_from(status: str) -> frozenset[str]:
    """The statuses a case may be in to move to `status`."""
    return frozenset(source for source, targets in TRANSITIONS.items() if status in targets)


class CaseTransitionNotAllowed(RuleBroken):
    code = "case_transition_not_allowed"
    message = "The case cannot move to that status from its current status."


class CaseChanged(Conflict):
    code = "case_changed"
    message = "The case changed since you read it; reload and try again."


class CaseClosed(RuleBroken):
    code = "case_closed"
    message = "The case is closed; open a new case instead."


def _label(user) -> str:
    token = getattr(user, "token", None)
    if token is not None:
        return f"token:{token.name}"[:150]
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.get_username()}"[:150]
    return "system"


def _staff(user):
    """The user row to store as author/assignee; API tokens are not users."""
    return user if getattr(user, "pk", None) is not None else None


def _timeline(case: SupportCase, title: str, suffix: str) -> None:
    add_timeline_entry(
        customer=case.customer,
        kind=TimelineEntry.Kind.CASE,
        occurred_at=timezone.now(),
        title=title,
        channel=case.channel,
        location=case.location,
        data={"case_id": case.pk, "subject": case.subject, "status": case.status},
        reference_type="case",
        reference_id=f"{case.pk}:{suffix}",
    )


def open_case(
    *,
    customer: Customer,
    subject: str,
    channel: str,
    body: str = "",
    priority: str = CasePriority.NORMAL,
    order_reference: str = "",
    location=None,
    assignee=None,
    opened_by=None,
) -> SupportCase:
    """Open a case for the customer (the survivor, if merged), with the customer's first
    message as the start of the thread."""
    customer = survivor_of(customer)
    with transaction.atomic():
        case = SupportCase.objects.create(
            customer=customer,
            subject=subject,
            channel=channel,
            priority=priority,
            order_reference=order_reference,
            location=location,
            assignee=assignee,
            opened_by=_staff(opened_by),
        )
        if body:
            CaseMessage.objects.create(
                case=case,
                kind=CaseMessage.Kind.CUSTOMER,
                body=body,
                channel=channel,
                author_label=f"customer:{customer.public_id}",
            )
        _timeline(case, f"Case opened: {subject}", "opened")
    return case


def change_case_status(
    *, case: SupportCase, status: str, expected_status: str | None = None, actor=None
) -> SupportCase:
    """Move a case to `status` if the transitions table allows it from the status it is in
    now (and, if given, only if it is still `expected_status`)."""
    if status not in TRANSITIONS:
        raise CaseTransitionNotAllowed(status=status, allowed=sorted(TRANSITIONS))
    sources = allowed_from(status)
    if expected_status is not None:
        if expected_status not in sources:
            raise CaseTransitionNotAllowed(
                current=expected_status,
                requested=status,
                allowed=sorted(
                    TRANSITIONS[expected_status] if expected_status in TRANSITIONS else []
                ),
            )
        sources = frozenset({expected_status})
    now = timezone.now()
    stamps = {}
    if status == CaseStatus.RESOLVED:
        stamps["resolved_at"] = now
    elif status == CaseStatus.CLOSED:
        stamps["closed_at"] = now
    elif status == CaseStatus.OPEN:
        stamps.update(resolved_at=None, closed_at=None)
    with transaction.atomic():
        updated = SupportCase.objects.filter(pk=case.pk, status__in=sources).update(
            status=status, updated_at=now, **stamps
        )
        case.refresh_from_db()
        if not updated:
            if expected_status is not None and case.status != expected_status:
                raise CaseChanged(current=case.status, expected=expected_status)
            raise CaseTransitionNotAllowed(
                current=case.status,
                requested=status,
                allowed=sorted(TRANSITIONS[case.status]),
            )
        CaseMessage.objects.create(
            case=case,
            kind=CaseMessage.Kind.NOTE,
            body=f"Status changed to {case.get_status_display()}.",
            author=_staff(actor),
            author_label=_label(actor),
        )
        _timeline(
            case,
            f"Case {case.get_status_display().lower()}: {case.subject}",
            f"{status}:{now.isoformat()}",
        )
    return case


def assign_case(*, case: SupportCase, assignee, actor=None) -> SupportCase:
    """Give the case to a staff member (or to nobody); a closed case stays as it is."""
    with transaction.atomic():
        updated = (
            SupportCase.objects.filter(pk=case.pk)
            .exclude(status=CaseStatus.CLOSED)
            .update(assignee=assignee, updated_at=timezone.now())
        )
        if not updated:
            raise CaseClosed(case_id=case.pk)
        case.refresh_from_db()
        name = assignee.get_username() if assignee is not None else "nobody"
        CaseMessage.objects.create(
            case=case,
            kind=CaseMessage.Kind.NOTE,
            body=f"Assigned to {name}.",
            author=_staff(actor),
            author_label=_label(actor),
        )
    return case


def add_case_message(
    *, case: SupportCase, kind: str, body: str, channel: str = "", author=None
) -> CaseMessage:
    """Add to the thread. A customer writing on a pending or resolved case reopens it."""
    with transaction.atomic():
        case = SupportCase.objects.select_for_update().get(pk=case.pk)
        if case.status == CaseStatus.CLOSED:
            raise CaseClosed(case_id=case.pk)
        message = CaseMessage.objects.create(
            case=case,
            kind=kind,
            body=body,
            channel=channel or (case.channel if kind == CaseMessage.Kind.CUSTOMER else ""),
            author=_staff(author) if kind != CaseMessage.Kind.CUSTOMER else None,
            author_label=(
                f"customer:{case.customer.public_id}"
                if kind == CaseMessage.Kind.CUSTOMER
                else _label(author)
            ),
        )
        fields = {"updated_at": timezone.now()}
        if kind == CaseMessage.Kind.CUSTOMER and case.status in (
            CaseStatus.PENDING,
            CaseStatus.RESOLVED,
        ):
            fields.update(status=CaseStatus.OPEN, resolved_at=None)
        SupportCase.objects.filter(pk=case.pk).update(**fields)
        if kind == CaseMessage.Kind.CUSTOMER:
            add_timeline_entry(
                customer=case.customer,
                kind=TimelineEntry.Kind.CASE,
                occurred_at=message.created_at,
                title=f"Wrote about: {case.subject}",
                channel=message.channel,
                data={"case_id": case.pk, "message_id": message.pk},
                reference_type="case_message",
                reference_id=str(message.pk),
            )
    return message
