"""Creating and editing campaigns and their messages.

Rules kept here:
- A campaign's channels are known delivery channels, at least one, without repeats (their
  order is the priority order).
- A variant is complete for its channel (email: subject and HTML; SMS: text; push: title
  and body) and its templates compile in the restricted engine; a bad variant writes
  nothing.
- A cancelled campaign cannot be edited or sent; cancelling stops what has not gone yet
  (queued and deferred deliveries become skipped, reason `cancelled`).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from campaigns.errors import CampaignClosed, InvalidVariant, UnknownChannel
from campaigns.models import (
    Campaign,
    Delivery,
    DeliveryChannel,
    EmailVariant,
    Message,
    PushVariant,
    SmsVariant,
)
from campaigns.rendering import InvalidTemplate, compile_template
from omni import audit

CAMPAIGN_FIELDS = (
    "name",
    "kind",
    "channel_strategy",
    "channels",
    "goal",
    "transactional",
    "holdout_percent",
    "segment",
)

VARIANTS = {
    "email": (EmailVariant, ("subject", "preheader", "html", "text"), ("subject", "html")),
    "sms": (SmsVariant, ("text",), ("text",)),
    "push": (PushVariant, ("title", "body", "deep_link"), ("title", "body")),
}
HTML_FIELDS = {("email", "html")}


def check_channels(channels: list[str]) -> list[str]:
    unknown = [channel for channel in channels if channel not in DeliveryChannel.values]
    if unknown:
        raise UnknownChannel(unknown=unknown, known=list(DeliveryChannel.values))
    if not channels:
        raise UnknownChannel("Choose at least one channel.", known=list(DeliveryChannel.values))
    # Keep the first mention: the order is the priority.
    return list(dict.fromkeys(channels))


def create_campaign(
    *,
    name: str,
    channels: list[str],
    kind: str = Campaign.Kind.ONE_OFF,
    channel_strategy: str = Campaign.Strategy.PRIORITY,
    goal: str = Campaign.Goal.CONVERSION,
    transactional: bool = False,
    holdout_percent: int = 0,
    segment=None,
    created_by=None,
) -> Campaign:
    """A draft campaign with an empty main message."""
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name,
            channels=check_channels(channels),
            kind=kind,
            channel_strategy=channel_strategy,
            goal=goal,
            transactional=transactional,
            holdout_percent=holdout_percent,
            segment=segment,
            created_by=created_by if getattr(created_by, "pk", None) else None,
        )
        Message.objects.create(campaign=campaign)
        audit.record("campaign.created", campaign, after={"name": name, "channels": channels})
    return campaign


def update_campaign(*, campaign: Campaign, **changes: Any) -> Campaign:
    unknown = sorted(set(changes) - set(CAMPAIGN_FIELDS))
    if unknown:
        raise InvalidVariant("Unknown campaign fields.", fields=unknown)
    if "channels" in changes:
        changes["channels"] = check_channels(changes["channels"])
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status == Campaign.Status.CANCELLED:
            raise CampaignClosed(status=campaign.status)
        before = audit.snapshot(campaign, changes)
        for name, value in changes.items():
            setattr(campaign, name, value)
        campaign.save()
        audit.record(
            "campaign.updated", campaign, before=before, after=audit.snapshot(campaign, changes)
        )
    return campaign


def clean_variant(channel: str, data: dict[str, Any]) -> dict[str, Any]:
    model, fields, required = VARIANTS[channel]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise InvalidVariant(f"Unknown {channel} fields.", channel=channel, fields=unknown)
    cleaned = {name: (data.get(name) or "").strip() for name in fields}
    empty = [name for name in required if not cleaned[name]]
    if empty:
        raise InvalidVariant(
            f"The {channel} variant needs {', '.join(empty)}.", channel=channel, missing=empty
        )
    for name in fields:
        try:
            compile_template(cleaned[name], html=(channel, name) in HTML_FIELDS)
        except InvalidTemplate as error:
            error.details.update(channel=channel, field=name)
            raise
    return cleaned


def set_message(
    *, campaign: Campaign, variants: dict[str, dict[str, Any] | None], step_key: str = "main"
) -> Message:
    """Replace the variants of a step: channels given get their variant, channels given as
    None lose theirs, channels not mentioned keep theirs. All or nothing."""
    unknown = [channel for channel in variants if channel not in VARIANTS]
    if unknown:
        raise UnknownChannel(unknown=unknown, known=list(VARIANTS))
    cleaned = {
        channel: (clean_variant(channel, data) if data is not None else None)
        for channel, data in variants.items()
    }
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status == Campaign.Status.CANCELLED:
            raise CampaignClosed(status=locked.status)
        message, _ = Message.objects.get_or_create(campaign=locked, step_key=step_key)
        for channel, data in cleaned.items():
            model = VARIANTS[channel][0]
            if data is None:
                model.objects.filter(message=message).delete()
            else:
                model.objects.update_or_create(message=message, defaults=data)
        message.save(update_fields=["updated_at"])
        audit.record("campaign.message_set", locked, after={"step": step_key, "variants": cleaned})
    return message


def cancel_campaign(*, campaign: Campaign, now=None) -> Campaign:
    """Stop a campaign: nothing more is sent; what went stays recorded."""
    now = now or timezone.now()
    with transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).exclude(
            status__in=[Campaign.Status.CANCELLED, Campaign.Status.SENT]
        ).update(status=Campaign.Status.CANCELLED, finished_at=now)
        campaign.refresh_from_db()
        if campaign.status != Campaign.Status.CANCELLED:
            raise CampaignClosed("A sent campaign cannot be cancelled.", status=campaign.status)
        audit.record("campaign.cancelled", campaign, after={"status": campaign.status})
        from campaigns.services.scheduling import remove_schedule_rows

        remove_schedule_rows(campaign=campaign)
        Delivery.objects.filter(
            campaign=campaign, state__in=[Delivery.State.QUEUED, Delivery.State.DEFERRED]
        ).update(
            state=Delivery.State.SKIPPED,
            skip_reason=Delivery.SkipReason.CANCELLED,
            skipped_at=now,
        )
    return campaign


def delete_campaign(*, campaign: Campaign) -> None:
    """Only drafts are deleted; anything that sent stays for the record."""
    deleted, _ = Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.DRAFT).delete()
    if not deleted:
        raise CampaignClosed("Only draft campaigns can be deleted.", status=campaign.status)
    audit.record(
        "campaign.deleted", campaign, before={"status": campaign.status, "name": campaign.name}
    )
