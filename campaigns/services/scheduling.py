"""Scheduling campaigns: now, at a time, recurring (cron) or at a local time in each
customer's time zone.

Rules kept here:
- The app owns the django-celery-beat rows: scheduling creates one `PeriodicTask` (with a
  `ClockedSchedule` for a one-time send, a `CrontabSchedule` for a recurring one) and
  unscheduling or cancelling the campaign removes them. Rescheduling replaces them.
- A send time in the past, a bad cron field, an unknown time zone or a missing variant is
  refused and writes nothing.
- A recurring send keys each occurrence's deliveries `main@<occurrence>`: the unique
  (campaign, step, customer, channel) constraint then lets a customer get each occurrence
  once, however often beat or the broker fires it.
- A local-time send starts when that wall-clock time first arrives anywhere (UTC+14) and
  holds each delivery until it arrives in the customer's own zone.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from celery.schedules import crontab as celery_crontab
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, PeriodicTask

from campaigns.errors import CampaignClosed, InvalidSchedule
from campaigns.models import Campaign, Schedule
from campaigns.services import experiments, sending
from campaigns.services.messages import check_variants, message_for

TASK = "campaigns.run_scheduled_send"
CRON_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
# The earliest and latest UTC offsets in use: a local wall-clock time arrives first at
# UTC+14 and last at UTC-12.
EARLIEST_OFFSET = datetime.timedelta(hours=14)
LATEST_OFFSET = datetime.timedelta(hours=12)
SCHEDULABLE_FROM = (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED)


def _zone(name: str, field: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidSchedule("Unknown time zone.", field=field, timezone=name) from None


def parse_cron(expression: str | dict) -> dict[str, str]:
    """'m h dom mon dow' (or a dict of the five fields) checked by Celery's own parser."""
    if isinstance(expression, dict):
        fields = {name: str(expression.get(name, "*")).strip() or "*" for name in CRON_FIELDS}
    else:
        parts = str(expression or "").split()
        if len(parts) != 5:
            raise InvalidSchedule(
                "A cron expression has five fields: minute hour day-of-month month day-of-week.",
                field="cron",
            )
        fields = dict(zip(CRON_FIELDS, parts, strict=True))
    try:
        celery_crontab(**fields)
    except (ValueError, TypeError) as error:
        raise InvalidSchedule(f"Bad cron expression: {error}", field="cron", cron=fields) from None
    return fields


def schedule_campaign(
    *,
    campaign: Campaign,
    mode: str,
    send_at: datetime.datetime | None = None,
    local_date: datetime.date | None = None,
    local_time: datetime.time | None = None,
    cron: str | dict | None = None,
    timezone_name: str = "UTC",
    now: datetime.datetime | None = None,
) -> Schedule:
    """Schedule the campaign's main step for everyone with consent (replacing an earlier
    schedule). 'now' sends at once."""
    now = now or timezone.now()
    if mode not in Schedule.Mode.values:
        raise InvalidSchedule("Unknown mode.", field="mode", known=list(Schedule.Mode.values))
    if campaign.kind == Campaign.Kind.JOURNEY_STEP:
        raise InvalidSchedule("Journey steps are sent by their journey.", field="mode")
    values: dict = {"mode": mode}
    if mode == Schedule.Mode.AT:
        if send_at is None:
            raise InvalidSchedule("Give the send time.", field="send_at")
        if timezone.is_naive(send_at):
            send_at = send_at.replace(tzinfo=_zone(timezone_name, "timezone"))
        if send_at <= now:
            raise InvalidSchedule(
                "The send time is in the past.", field="send_at", send_at=send_at.isoformat()
            )
        values["send_at"] = send_at
    elif mode == Schedule.Mode.LOCAL_TIME:
        if local_date is None or local_time is None:
            raise InvalidSchedule("Give the local date and time.", field="local_time")
        last_arrival = datetime.datetime.combine(local_date, local_time, tzinfo=datetime.UTC)
        if last_arrival + LATEST_OFFSET <= now:
            raise InvalidSchedule(
                "That local time has passed in every time zone.", field="local_date"
            )
        values.update(local_date=local_date, local_time=local_time)
    elif mode == Schedule.Mode.RECURRING:
        _zone(timezone_name, "timezone")
        fields = parse_cron(cron or "")
        values.update({f"cron_{name}": value for name, value in fields.items()})
        values["cron_timezone"] = timezone_name
    check_variants(campaign, message_for(campaign))
    experiments.check_arm_messages(campaign, "main")
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status not in SCHEDULABLE_FROM:
            raise CampaignClosed(
                "Only draft or scheduled campaigns can be scheduled.", status=locked.status
            )
        _remove_beat_rows(locked)
        Schedule.objects.filter(campaign=locked).delete()
        schedule = Schedule.objects.create(campaign=locked, **values)
        if mode != Schedule.Mode.NOW:
            schedule.periodic_task = _create_beat_rows(schedule, now=now)
            schedule.save(update_fields=["periodic_task"])
            recurring = mode == Schedule.Mode.RECURRING
            kind = Campaign.Kind.RECURRING if recurring else Campaign.Kind.ONE_OFF
            Campaign.objects.filter(pk=locked.pk).update(
                status=Campaign.Status.SCHEDULED, kind=kind
            )
    if mode == Schedule.Mode.NOW:
        sending.send_campaign(campaign=campaign, all_with_consent=True, now=now)
    campaign.refresh_from_db()
    return schedule


def unschedule_campaign(*, campaign: Campaign) -> Campaign:
    """Remove the schedule and its beat rows; a scheduled campaign goes back to draft."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        _remove_beat_rows(locked)
        Schedule.objects.filter(campaign=locked).delete()
        Campaign.objects.filter(pk=locked.pk, status=Campaign.Status.SCHEDULED).update(
            status=Campaign.Status.DRAFT
        )
    campaign.refresh_from_db()
    return campaign


def _task_name(campaign: Campaign) -> str:
    return f"Campaign {campaign.public_id}"


def _create_beat_rows(schedule: Schedule, *, now: datetime.datetime) -> PeriodicTask:
    common = {
        "name": _task_name(schedule.campaign),
        "task": TASK,
        "kwargs": json.dumps({"schedule_id": schedule.pk}),
        "description": f"Send campaign “{schedule.campaign.name}”",
    }
    if schedule.mode == Schedule.Mode.RECURRING:
        spec = {
            "minute": schedule.cron_minute,
            "hour": schedule.cron_hour,
            "day_of_month": schedule.cron_day_of_month,
            "month_of_year": schedule.cron_month_of_year,
            "day_of_week": schedule.cron_day_of_week,
            "timezone": schedule.cron_timezone,
        }
        # Shared with any task on the same cron (ensure_schedules looks them up by value,
        # so there must never be two equal rows); removed when the last task goes.
        crontab = CrontabSchedule.objects.filter(**spec).order_by(
            "pk"
        ).first() or CrontabSchedule.objects.create(**spec)
        return PeriodicTask.objects.create(crontab=crontab, **common)
    if schedule.mode == Schedule.Mode.AT:
        when = schedule.send_at
    else:
        first = datetime.datetime.combine(
            schedule.local_date, schedule.local_time, tzinfo=datetime.UTC
        )
        when = max(first - EARLIEST_OFFSET, now)
    clocked = ClockedSchedule.objects.create(clocked_time=when)
    return PeriodicTask.objects.create(clocked=clocked, one_off=True, **common)


def _remove_beat_rows(campaign: Campaign) -> None:
    for task in PeriodicTask.objects.filter(name=_task_name(campaign)):
        clocked_id, crontab_id = task.clocked_id, task.crontab_id
        task.delete()
        # Each schedule row was made for this task alone.
        if clocked_id and not PeriodicTask.objects.filter(clocked_id=clocked_id).exists():
            ClockedSchedule.objects.filter(pk=clocked_id).delete()
        if crontab_id and not PeriodicTask.objects.filter(crontab_id=crontab_id).exists():
            CrontabSchedule.objects.filter(pk=crontab_id).delete()


def remove_schedule_rows(*, campaign: Campaign) -> None:
    """For cancelling: the beat rows go, the schedule row stays as the record."""
    _remove_beat_rows(campaign)


# --- Running --------------------------------------------------------------------------------


def run_scheduled_send(*, schedule_id: int, now: datetime.datetime | None = None):
    """What the beat row fires. Safe to run twice: the step key (per occurrence for a
    recurring send) lets the unique constraint turn repeats away."""
    now = now or timezone.now()
    schedule = Schedule.objects.select_related("campaign").filter(pk=schedule_id).first()
    if schedule is None or schedule.campaign.status == Campaign.Status.CANCELLED:
        return None
    campaign = schedule.campaign
    if schedule.mode == Schedule.Mode.RECURRING:
        occurrence = previous_fire(schedule, now)
        if occurrence is None:
            return None
        key = occurrence.astimezone(datetime.UTC).strftime("%Y%m%dT%H%MZ")
        result = sending.send_campaign(
            campaign=campaign, all_with_consent=True, step_key=f"main@{key}", now=now
        )
        Schedule.objects.filter(pk=schedule.pk).exclude(last_occurrence=key).update(
            last_occurrence=key, occurrences=F("occurrences") + 1
        )
        return result
    local_at = None
    if schedule.mode == Schedule.Mode.LOCAL_TIME:
        local_at = (schedule.local_date, schedule.local_time)
    return sending.send_campaign(
        campaign=campaign, all_with_consent=True, now=now, local_at=local_at
    )


def fire_times(
    schedule: Schedule, start: datetime.datetime, end: datetime.datetime
) -> Iterator[datetime.datetime]:
    """The recurring schedule's fire times in [start, end), in order (Celery's crontab
    semantics: day of month, month and day of week must all match)."""
    spec = celery_crontab(
        minute=schedule.cron_minute,
        hour=schedule.cron_hour,
        day_of_month=schedule.cron_day_of_month,
        month_of_year=schedule.cron_month_of_year,
        day_of_week=schedule.cron_day_of_week,
    )
    zone = _zone(schedule.cron_timezone, "timezone")
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        if (
            day.month in spec.month_of_year
            and day.day in spec.day_of_month
            and (day.weekday() + 1) % 7 in spec.day_of_week
        ):
            for hour in sorted(spec.hour):
                for minute in sorted(spec.minute):
                    moment = datetime.datetime.combine(
                        day, datetime.time(hour, minute), tzinfo=zone
                    )
                    if start <= moment < end:
                        yield moment
        day += datetime.timedelta(days=1)


def previous_fire(schedule: Schedule, now: datetime.datetime) -> datetime.datetime | None:
    """The latest fire time at or before now (within the last year and a bit)."""
    for days in (2, 32, 400):
        times = list(fire_times(schedule, now - datetime.timedelta(days=days), now + _MINUTE))
        if times:
            return times[-1]
    return None


_MINUTE = datetime.timedelta(seconds=1)
