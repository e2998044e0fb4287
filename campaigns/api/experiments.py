"""Campaigns API for schedules, experiments, attribution and reports.

Views validate, call a service or selector, render. Bad input gets the one error shape
and writes nothing."""

from __future__ import annotations

import datetime

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from campaigns import reports
from campaigns.models import Campaign, Experiment, Schedule
from campaigns.services import attribution, experiments, scheduling
from omni.errors import BadRequest, NotFound
from omni.idempotency import idempotent


class CampaignNotFound(NotFound):
    code = "campaign_not_found"
    message = "No campaign has this ID."


class ScheduleNotFound(NotFound):
    code = "schedule_not_found"
    message = "This campaign has no schedule."


class ExperimentNotFound(NotFound):
    code = "experiment_not_found"
    message = "This campaign has no experiment."


def find_campaign(public_id) -> Campaign:
    campaign = Campaign.objects.filter(public_id=public_id).first()
    if campaign is None:
        raise CampaignNotFound(campaign=str(public_id))
    return campaign


# --- Serializers ----------------------------------------------------------------------------


class ScheduleInput(serializers.Serializer):
    mode = serializers.ChoiceField(choices=Schedule.Mode.choices)
    send_at = serializers.DateTimeField(required=False, help_text="For `at`.")
    local_date = serializers.DateField(required=False, help_text="For `local_time`.")
    local_time = serializers.TimeField(required=False, help_text="For `local_time`.")
    cron = serializers.CharField(
        required=False, max_length=200, help_text="For `recurring`: 'minute hour dom month dow'."
    )
    timezone = serializers.CharField(required=False, default="UTC", max_length=64)


class ScheduleOutput(serializers.ModelSerializer):
    campaign = serializers.UUIDField(source="campaign.public_id", read_only=True)
    cron = serializers.SerializerMethodField()
    periodic_task = serializers.CharField(source="periodic_task.name", default=None)
    next_run_at = serializers.SerializerMethodField()

    class Meta:
        model = Schedule
        fields = [
            "campaign",
            "mode",
            "send_at",
            "local_date",
            "local_time",
            "cron",
            "cron_timezone",
            "periodic_task",
            "next_run_at",
            "last_occurrence",
            "occurrences",
            "created_at",
        ]

    def get_cron(self, schedule: Schedule) -> str | None:
        return schedule.cron if schedule.mode == Schedule.Mode.RECURRING else None

    def get_next_run_at(self, schedule: Schedule) -> datetime.datetime | None:
        task = schedule.periodic_task
        if task is None:
            return None
        if task.clocked_id:
            return task.clocked.clocked_time
        now = timezone.now()
        return next(
            iter(scheduling.fire_times(schedule, now, now + datetime.timedelta(days=400))), None
        )


class ArmInput(serializers.Serializer):
    key = serializers.CharField(max_length=8)
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    split_percent = serializers.IntegerField()


class ExperimentInput(serializers.Serializer):
    arms = ArmInput(many=True)
    metric = serializers.ChoiceField(
        choices=Experiment.Metric.choices, default=Experiment.Metric.CONVERSION
    )
    significance_level = serializers.DecimalField(max_digits=4, decimal_places=3, default="0.050")
    test_percent = serializers.IntegerField(default=100)


class ArmOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    split_percent = serializers.IntegerField()
    message_step = serializers.SerializerMethodField()

    def get_message_step(self, arm) -> str:
        return f"main/{arm.key}"


class ExperimentOutput(serializers.ModelSerializer):
    arms = ArmOutput(many=True, read_only=True)
    winner = serializers.CharField(source="winner.key", default=None)

    class Meta:
        model = Experiment
        fields = [
            "metric",
            "significance_level",
            "test_percent",
            "arms",
            "winner",
            "decided_at",
            "winner_sent_at",
            "result",
        ]


ReportOutput = inline_serializer(
    name="CampaignReport",
    fields={
        "campaign": serializers.DictField(),
        "currency": serializers.CharField(),
        "totals": serializers.DictField(),
        "per_channel": serializers.ListField(child=serializers.DictField()),
        "per_arm": serializers.ListField(child=serializers.DictField()),
        "per_order_channel": serializers.ListField(child=serializers.DictField()),
        "uplift": serializers.DictField(),
        "experiment": serializers.DictField(allow_null=True),
        "daily_revenue": serializers.ListField(child=serializers.DictField()),
        "attribution_rule": serializers.CharField(),
    },
)


class RecomputeInput(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField(required=False)


# --- Views ----------------------------------------------------------------------------------


@extend_schema(tags=["campaigns"])
class CampaignScheduleView(GenericAPIView):
    """A campaign's schedule: now, at a time, recurring (cron) or at a local time in each
    customer's time zone. PUT replaces it, DELETE removes it (with its beat rows)."""

    scope = "campaigns"
    serializer_class = ScheduleOutput

    def _output(self, campaign: Campaign) -> Response:
        schedule = (
            Schedule.objects.select_related("campaign", "periodic_task__clocked")
            .filter(campaign=campaign)
            .first()
        )
        if schedule is None:
            raise ScheduleNotFound(campaign=str(campaign.public_id))
        return Response(ScheduleOutput(schedule).data)

    @extend_schema(responses=ScheduleOutput)
    def get(self, request, public_id):
        return self._output(find_campaign(public_id))

    @extend_schema(request=ScheduleInput, responses=ScheduleOutput)
    @idempotent()
    def put(self, request, public_id):
        campaign = find_campaign(public_id)
        data = ScheduleInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        scheduling.schedule_campaign(
            campaign=campaign,
            mode=values["mode"],
            send_at=values.get("send_at"),
            local_date=values.get("local_date"),
            local_time=values.get("local_time"),
            cron=values.get("cron"),
            timezone_name=values["timezone"],
        )
        return self._output(campaign)

    @extend_schema(responses={204: None})
    def delete(self, request, public_id):
        scheduling.unschedule_campaign(campaign=find_campaign(public_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["campaigns"])
class CampaignExperimentView(GenericAPIView):
    """A campaign's A/B/n test: arms (splits summing to 100), the metric, the significance
    level and the test share. Each arm's message is the step `main/<key>` (set it with the
    message endpoint, `?step=main/B`); an arm without its own uses the main message."""

    scope = "campaigns"
    serializer_class = ExperimentOutput

    def _output(self, campaign) -> Response:
        experiment = experiments.experiment_of(campaign)
        if experiment is None:
            raise ExperimentNotFound(campaign=str(campaign.public_id))
        return Response(ExperimentOutput(experiment).data)

    @extend_schema(responses=ExperimentOutput)
    def get(self, request, public_id):
        return self._output(find_campaign(public_id))

    @extend_schema(request=ExperimentInput, responses=ExperimentOutput)
    @idempotent()
    def put(self, request, public_id):
        campaign = find_campaign(public_id)
        data = ExperimentInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        experiments.set_experiment(
            campaign=campaign,
            arms=[dict(arm) for arm in values["arms"]],
            metric=values["metric"],
            significance_level=values["significance_level"],
            test_percent=values["test_percent"],
        )
        return self._output(campaign)


@extend_schema(tags=["campaigns"])
class ExperimentDecisionView(GenericAPIView):
    """Evaluate the test now: per-arm figures, p-values, and the winner if (and only if)
    it is significant."""

    scope = "campaigns"
    serializer_class = ExperimentOutput

    @extend_schema(request=None, responses=ExperimentOutput)
    def post(self, request, public_id):
        experiment = experiments.decide_experiment(campaign=find_campaign(public_id))
        return Response(ExperimentOutput(experiment).data)


@extend_schema(tags=["campaigns"])
class ExperimentWinnerSendView(GenericAPIView):
    """Send the winning arm to the customers outside the test share (422 `no_winner`
    without a significant winner)."""

    scope = "campaigns"
    serializer_class = ExperimentOutput

    @extend_schema(
        request=None,
        responses={
            202: inline_serializer(
                name="WinnerSend",
                fields={
                    "queued": serializers.IntegerField(),
                    "skipped": serializers.DictField(child=serializers.IntegerField()),
                    "batches": serializers.IntegerField(),
                },
            )
        },
    )
    @idempotent()
    def post(self, request, public_id):
        result = experiments.send_winner(campaign=find_campaign(public_id))
        return Response(
            {"queued": result.queued, "skipped": result.skipped, "batches": result.batches},
            status=status.HTTP_202_ACCEPTED,
        )


@extend_schema(tags=["campaigns"])
class CampaignReportView(GenericAPIView):
    """What the campaign earned: revenue, orders, AOV, conversion, unsubscribes, uplift
    against the holdout, per channel and per arm."""

    scope = "campaigns"

    @extend_schema(responses=ReportOutput)
    def get(self, request, public_id):
        return Response(reports.campaign_report(find_campaign(public_id)))


@extend_schema(tags=["campaigns"])
class ChannelMixReportView(GenericAPIView):
    """Campaigns that reached customers on three or more channels against those on fewer."""

    scope = "campaigns"

    @extend_schema(
        responses=inline_serializer(
            name="ChannelMixReport",
            fields={
                "groups": serializers.DictField(),
                "p_value": serializers.FloatField(allow_null=True),
            },
        )
    )
    def get(self, request):
        return Response(reports.channel_mix_report())


@extend_schema(tags=["campaigns"])
class CampaignCalendarView(GenericAPIView):
    """Sent and scheduled campaigns of a month, by day (UTC)."""

    scope = "campaigns"

    @extend_schema(
        parameters=[OpenApiParameter("month", OpenApiTypes.STR, description="YYYY-MM")],
        responses=inline_serializer(
            name="CampaignCalendar",
            fields={
                "month": serializers.CharField(),
                "days": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    def get(self, request):
        year, month = parse_month(request.query_params.get("month"))
        data = reports.calendar_month(year, month)
        days = [
            {"date": day["date"].isoformat(), "events": day["events"]}
            for week in data["weeks"]
            for day in week
            if day["in_month"] and day["events"]
        ]
        for day in days:
            for event in day["events"]:
                event.pop("pk", None)
        return Response({"month": f"{year:04d}-{month:02d}", "days": days})


def parse_month(value: str | None) -> tuple[int, int]:
    if not value:
        today = timezone.now()
        return today.year, today.month
    try:
        parsed = datetime.datetime.strptime(value, "%Y-%m")  # noqa: DTZ007 - a month, no time
    except ValueError:
        raise BadRequest("`month` is YYYY-MM.", field="month", month=value) from None
    return parsed.year, parsed.month


@extend_schema(tags=["campaigns"])
class AttributionRecomputeView(GenericAPIView):
    """Credit again every order placed in a period with the current rule and windows."""

    scope = "campaigns"

    @extend_schema(
        request=RecomputeInput,
        responses=inline_serializer(
            name="AttributionRecomputed", fields={"credited": serializers.IntegerField()}
        ),
    )
    def post(self, request):
        data = RecomputeInput(data=request.data)
        data.is_valid(raise_exception=True)
        until = data.validated_data.get("until") or timezone.now()
        since = data.validated_data["since"]
        if since >= until:
            raise BadRequest("`since` is before `until`.", field="since")
        return Response({"credited": attribution.recompute_attributions(since=since, until=until)})
