"""Engagement blocks of the customer 360 page: loyalty, metrics, cases and the timeline;
and the consent history on the timeline."""

from customers import hooks
from customers.models import CaseStatus, CustomerMetrics, LoyaltyAccount, SupportCase, TimelineEntry
from customers.services.timeline import add_timeline_entry
from omni import audit

PANELS = "admin/customers/panels/"


def _loyalty(customer, request) -> dict:
    return {"account": LoyaltyAccount.objects.filter(customer=customer).first()}


def _metrics(customer, request) -> dict:
    return {"metrics": CustomerMetrics.objects.filter(customer=customer).first()}


def _cases(customer, request) -> dict:
    cases = SupportCase.objects.filter(customer=customer).order_by("-created_at")
    return {
        "open_cases": list(cases.exclude(status=CaseStatus.CLOSED)[:5]),
        "case_count": cases.count(),
    }


def _timeline(customer, request) -> dict:
    entries = TimelineEntry.objects.filter(customer=customer).select_related("location")
    return {"entries": list(entries.order_by("-occurred_at", "-id")[:15])}


def _audit(customer, request) -> dict:
    return audit.trail(customer=customer, user=request.user)


def consent_on_timeline(event) -> None:
    add_timeline_entry(
        customer=event.customer,
        kind=TimelineEntry.Kind.CONSENT,
        occurred_at=event.occurred_at,
        title=f"{event.get_channel_display()} consent {event.get_status_display().lower()}",
        channel=event.source_channel,
        location=event.source_location,
        data={"form": event.form, "campaign": event.campaign_ref},
        reference_type="consent_event",
        reference_id=str(event.pk),
    )


hooks.register_360_panel(
    "loyalty", PANELS + "loyalty.html", _loyalty, title="Loyalty balance and tier", order=10
)
hooks.register_360_panel(
    "metrics", PANELS + "metrics.html", _metrics, title="Metrics and lifecycle stage", order=20
)
hooks.register_360_panel("cases", PANELS + "cases.html", _cases, title="Support cases", order=50)
hooks.register_360_panel(
    "timeline", PANELS + "timeline.html", _timeline, title="Timeline", order=90
)
hooks.register_360_panel(
    "audit",
    "admin/omni/audit_trail.html",
    _audit,
    title="Changes by staff and integrations",
    order=95,
)
hooks.register_consent_listener("timeline", consent_on_timeline)
