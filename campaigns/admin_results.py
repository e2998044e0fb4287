"""Admin pages for marketers: a campaign's report (server-rendered SVG charts), its
schedule, the campaign calendar and the cross-campaign channel-mix report. Views call
services and selectors; they hold no rules."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from campaigns import charts, reports
from campaigns.models import Campaign, Schedule
from campaigns.services import scheduling
from omni.errors import DomainError


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def report_view(model_admin, request, pk: int):
    campaign = get_object_or_404(Campaign, pk=pk)
    if not model_admin.has_view_permission(request, campaign):
        raise PermissionDenied
    report = reports.campaign_report(campaign)
    currency = report["currency"]
    per_channel = report["per_channel"]
    uplift = report["uplift"]
    chart_list = [
        charts.bar_chart(
            [
                (row["name"], float(row["revenue"]), f"{row['revenue']} {currency}")
                for row in per_channel
            ],
            title="Attributed revenue by channel",
        ),
        charts.bar_chart(
            [
                (
                    "Treatment",
                    uplift["treatment"]["conversion_rate"],
                    f"{_percent(uplift['treatment']['conversion_rate'])} of "
                    f"{uplift['treatment']['customers']}",
                ),
                (
                    "Holdout",
                    uplift["holdout"]["conversion_rate"],
                    f"{_percent(uplift['holdout']['conversion_rate'])} of "
                    f"{uplift['holdout']['customers']}",
                ),
            ],
            title=f"Bought within {uplift['window']}: treatment vs holdout",
            colors=["#2f6fde", "#9aa5b1"],
        ),
    ]
    if report["per_arm"]:
        chart_list.append(
            charts.bar_chart(
                [
                    (
                        f"Arm {row['name']}",
                        row["conversion_rate"],
                        f"{_percent(row['conversion_rate'])} · {row['revenue']} {currency}",
                    )
                    for row in report["per_arm"]
                ],
                title="Conversion by arm",
            )
        )
    daily = charts.column_chart(
        [
            (day["day"][5:], float(day["revenue"]), f"{day['revenue']} {currency}")
            for day in report["daily_revenue"]
        ],
        title="Attributed revenue per day",
    )
    return TemplateResponse(
        request,
        "admin/campaigns/report.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": f"Report: {campaign.name}",
            "campaign": campaign,
            "report": report,
            "charts": chart_list,
            "daily_chart": daily,
            "opts": model_admin.model._meta,
            "conversion": _percent(report["totals"]["conversion_rate"]),
            "uplift_points": (
                f"{uplift['uplift_points'] * 100:+.1f} pts"
                if uplift["uplift_points"] is not None
                else "no holdout"
            ),
        },
    )


class ScheduleForm(forms.Form):
    mode = forms.ChoiceField(choices=Schedule.Mode.choices, widget=forms.RadioSelect)
    send_at = forms.DateTimeField(
        required=False,
        help_text="For 'at a time' (UTC unless the time zone below says otherwise).",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    local_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="Local time."
    )
    local_time = forms.TimeField(
        required=False, widget=forms.TimeInput(attrs={"type": "time"}), help_text="Local time."
    )
    cron = forms.CharField(
        required=False,
        help_text="Recurring: minute hour day-of-month month day-of-week, e.g. 0 9 * * mon",
    )
    timezone = forms.CharField(initial="UTC", help_text="IANA name, e.g. Europe/Lisbon.")


def schedule_view(model_admin, request, pk: int):
    campaign = get_object_or_404(Campaign, pk=pk)
    if not model_admin.has_change_permission(request, campaign):
        raise PermissionDenied
    current = Schedule.objects.filter(campaign=campaign).select_related("periodic_task").first()
    form = ScheduleForm(request.POST or None)
    if request.method == "POST" and "unschedule" in request.POST:
        scheduling.unschedule_campaign(campaign=campaign)
        messages.success(request, "Schedule removed.")
        return redirect(reverse("admin:campaigns_campaign_schedule", args=[campaign.pk]))
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        send_at = values.get("send_at")
        if send_at is not None:
            send_at = send_at.replace(tzinfo=None)
        try:
            scheduling.schedule_campaign(
                campaign=campaign,
                mode=values["mode"],
                send_at=send_at,
                local_date=values.get("local_date"),
                local_time=values.get("local_time"),
                cron=values.get("cron") or None,
                timezone_name=values.get("timezone") or "UTC",
            )
        except DomainError as error:
            form.add_error(
                error.details.get("field") if error.details.get("field") in form.fields else None,
                error.message,
            )
        else:
            messages.success(request, "Schedule saved.")
            return redirect(reverse("admin:campaigns_campaign_schedule", args=[campaign.pk]))
    return TemplateResponse(
        request,
        "admin/campaigns/schedule.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": f"Schedule: {campaign.name}",
            "campaign": campaign,
            "form": form,
            "current": current,
            "opts": model_admin.model._meta,
        },
    )


def calendar_view(model_admin, request):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    value = request.GET.get("month")
    today = datetime.date.today()  # noqa: DTZ011 - only a default month to show
    try:
        year, month = (
            (int(part) for part in value.split("-")) if value else (today.year, today.month)
        )
        datetime.date(year, month, 1)
    except (ValueError, TypeError):
        year, month = today.year, today.month
    data = reports.calendar_month(year, month)
    return TemplateResponse(
        request,
        "admin/campaigns/calendar.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": f"Campaign calendar — {data['title']}",
            "calendar": data,
            "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
            "opts": model_admin.model._meta,
        },
    )


def channel_mix_view(model_admin, request):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    data = reports.channel_mix_report()
    groups = [data["groups"]["three_or_more"], data["groups"]["fewer"]]
    chart_list = [
        charts.bar_chart(
            [(g["label"], g["conversion_rate"], _percent(g["conversion_rate"])) for g in groups],
            title="Conversion rate",
        ),
        charts.bar_chart(
            [
                (g["label"], float(Decimal(g["revenue_per_recipient"])), g["revenue_per_recipient"])
                for g in groups
            ],
            title="Revenue per recipient",
        ),
    ]
    return TemplateResponse(
        request,
        "admin/campaigns/channel_mix.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": "Campaigns on 3+ channels vs fewer",
            "groups": groups,
            "p_value": data["p_value"],
            "charts": chart_list,
            "opts": model_admin.model._meta,
        },
    )
