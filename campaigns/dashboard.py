"""Dashboard blocks of the campaigns app for marketers: running and scheduled campaigns with
their results so far, and segment sizes once segments exist."""

from __future__ import annotations

from django.core.cache import cache
from django.db.models import Count, Q
from django.urls import reverse

from campaigns.models import Campaign, Delivery
from omni.auth import has_scope
from omni.charts import Series, column_chart
from omni.dashboard import MARKETER_ROLES, register_panel

S = Delivery.State
# A delivery that got further (opened, clicked) was sent and delivered too.
SENT = [S.SENT, S.DELIVERED, S.OPENED, S.CLICKED, S.BOUNCED]
SHOWN = 6


def campaign_results(campaigns) -> dict[int, dict]:
    """Deliveries sent, opened and clicked so far, per campaign id."""
    rows = (
        Delivery.objects.filter(campaign__in=campaigns)
        .values("campaign_id")
        .annotate(
            sent=Count("pk", filter=Q(state__in=SENT) | Q(sent_at__isnull=False)),
            opened=Count("pk", filter=Q(opened_at__isnull=False) | Q(state=S.OPENED)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False) | Q(state=S.CLICKED)),
            queued=Count("pk", filter=Q(state__in=[S.QUEUED, S.SENDING, S.DEFERRED])),
        )
    )
    return {row["campaign_id"]: row for row in rows}


def campaigns_panel(request, location):
    if not has_scope(request.user, "campaigns:read"):
        return None
    live = [Campaign.Status.SENDING, Campaign.Status.SCHEDULED]
    running = list(
        Campaign.objects.filter(status__in=live, transactional=False).order_by(
            "status", "-created_at"
        )[:SHOWN]
    )
    # Room left: the latest finished one-off sends, whose results are still coming in.
    finished = list(
        Campaign.objects.filter(status=Campaign.Status.SENT)
        .exclude(kind=Campaign.Kind.JOURNEY_STEP)
        .order_by("-finished_at", "-created_at")[: max(SHOWN - len(running), 0)]
    )
    campaigns = running + finished
    results = campaign_results(campaigns)
    table = []
    for campaign in campaigns:
        row = results.get(campaign.pk, {})
        sent, opened, clicked = row.get("sent", 0), row.get("opened", 0), row.get("clicked", 0)
        table.append(
            {
                "cells": [
                    campaign.name,
                    campaign.get_status_display(),
                    sent,
                    f"{opened} ({_rate(opened, sent)})",
                    f"{clicked} ({_rate(clicked, sent)})",
                ],
                "url": reverse("admin:campaigns_campaign_change", args=[campaign.pk]),
            }
        )
    chart = None
    if any(results.values()):
        chart = column_chart(
            [_short(c.name) for c in campaigns],
            [
                Series("Sent", [results.get(c.pk, {}).get("sent", 0) for c in campaigns]),
                Series("Opened", [results.get(c.pk, {}).get("opened", 0) for c in campaigns]),
                Series("Clicked", [results.get(c.pk, {}).get("clicked", 0) for c in campaigns]),
            ],
            title="Campaign results so far: deliveries sent, opened, clicked",
            stacked=False,
        )
    return {
        "chart": chart,
        "columns": ["Campaign", "Status", "Sent", "Opened", "Clicked"],
        "table": table,
        "empty": "No campaign is running or scheduled.",
        "more_url": reverse("admin:campaigns_campaign_changelist"),
        "more_label": "All campaigns",
    }


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def _short(name: str) -> str:
    return name if len(name) <= 14 else name[:13] + "…"


SIZE_CACHE_SECONDS = 300


def segment_size(segment) -> int:
    """How many customers a segment holds, counted at most every five minutes (a count over
    a million customers takes seconds; the dashboard is opened all day). Editing the
    segment starts a new count."""
    from campaigns.segmentation.services import segment_customers

    return cache.get_or_set(
        f"campaigns:segment-size:{segment.pk}:{segment.updated_at.timestamp()}",
        lambda: segment_customers(segment).count(),
        SIZE_CACHE_SECONDS,
    )


def segment_sizes_panel(request, location):
    """The latest segments and how many customers each holds (see `segment_size`); the
    block stays away until there are segments."""
    from campaigns.models import Segment

    if not has_scope(request.user, "campaigns:read"):
        return None
    segments = list(Segment.objects.order_by("-updated_at")[:SHOWN])
    if not segments:
        return None
    table = [
        {
            "cells": [segment.name, f"{segment_size(segment):,}"],
            "url": reverse("admin:campaigns_segment_change", args=[segment.pk]),
        }
        for segment in segments
    ]
    return {
        "columns": ["Segment", "Customers"],
        "table": table,
        "more_url": reverse("admin:campaigns_segment_changelist"),
        "more_label": "All segments",
    }


register_panel(
    "campaigns",
    "admin/omni/panels/table.html",
    campaigns_panel,
    title="Running and scheduled campaigns",
    roles=MARKETER_ROLES,
    order=60,
    wide=True,
)
register_panel(
    "segments",
    "admin/omni/panels/table.html",
    segment_sizes_panel,
    title="Segment sizes",
    roles=MARKETER_ROLES,
    order=65,
)
