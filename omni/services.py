"""Project-level state changes: API tokens, staff access, roles and periodic schedules."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from omni.auth import forget_token
from omni.errors import RuleBroken
from omni.models import ApiToken, IdempotencyRecord, Role, Scope, StaffAccess, hash_token_secret

HEARTBEAT_CACHE_KEY = "omni:worker-heartbeat"


class UnknownScope(RuleBroken):
    code = "unknown_scope"
    status_code = 400
    message = "Unknown scope."


def create_api_token(
    *,
    name: str,
    scopes: Iterable[str],
    locations: Iterable = (),
    rate_limit_per_minute: int | None = None,
    created_by=None,
) -> tuple[ApiToken, str]:
    """Make a token and return it with its plain secret, which is never stored or shown
    again."""
    scopes = sorted(set(scopes))
    unknown = [scope for scope in scopes if scope not in Scope.values]
    if unknown:
        raise UnknownScope(unknown=unknown, known=sorted(Scope.values))
    key_id, secret, plain = ApiToken.new_credentials()
    with transaction.atomic():
        token = ApiToken.objects.create(
            name=name,
            key_id=key_id,
            secret_hash=hash_token_secret(secret),
            scopes=scopes,
            rate_limit_per_minute=rate_limit_per_minute,
            created_by=created_by,
        )
        token.locations.set(list(locations))
    return token, plain


def revoke_api_token(*, token: ApiToken) -> ApiToken:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    forget_token(token)
    token.refresh_from_db()
    return token


def ensure_roles() -> list[Group]:
    """One Django group per staff role (safe to run again)."""
    return [Group.objects.get_or_create(name=role)[0] for role in Role.values]


def grant_staff_access(*, user, role: str, locations: Iterable = ()) -> StaffAccess:
    """Put a staff user in a role and in the given stores; the first store is current."""
    locations = list(locations)
    with transaction.atomic():
        group, _ = Group.objects.get_or_create(name=role)
        user.groups.add(group)
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        access, _ = StaffAccess.objects.get_or_create(user=user)
        access.locations.add(*locations)
        if access.current_location is None and locations:
            access.current_location = locations[0]
            access.save(update_fields=["current_location"])
    return access


def purge_idempotency_records() -> int:
    cutoff = timezone.now() - settings.OMNI_IDEMPOTENCY_TTL
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def record_heartbeat() -> str:
    stamp = timezone.now().isoformat()
    cache.set(HEARTBEAT_CACHE_KEY, stamp, timeout=None)
    return stamp


# Periodic schedules every app needs, created by code at start (`manage.py
# ensure_schedules`), never by hand. Apps add theirs with `register_schedule`.
_SCHEDULES: dict[str, dict] = {}


def register_schedule(
    *, name: str, task: str, every_seconds: int | None = None, crontab: str | None = None
) -> None:
    _SCHEDULES[name] = {"task": task, "every_seconds": every_seconds, "crontab": crontab}


register_schedule(
    name="Purge old idempotency records",
    task="omni.purge_idempotency_records",
    crontab="17 3 * * *",
)
register_schedule(name="Worker heartbeat", task="omni.record_heartbeat", every_seconds=60)


def ensure_schedules() -> list[str]:
    """Create or update the django-celery-beat rows for every registered schedule."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    names = []
    with transaction.atomic():
        for name, spec in sorted(_SCHEDULES.items()):
            fields = {"task": spec["task"], "enabled": True, "interval": None, "crontab": None}
            if spec["every_seconds"]:
                fields["interval"], _ = IntervalSchedule.objects.get_or_create(
                    every=spec["every_seconds"], period=IntervalSchedule.SECONDS
                )
            else:
                minute, hour, day_of_month, month, day_of_week = spec["crontab"].split()
                fields["crontab"], _ = CrontabSchedule.objects.get_or_create(
                    minute=minute,
                    hour=hour,
                    day_of_month=day_of_month,
                    month_of_year=month,
                    day_of_week=day_of_week,
                    timezone="UTC",
                )
            PeriodicTask.objects.update_or_create(name=name, defaults=fields)
            names.append(name)
    return names
