"""Campaigns, their messages (one variant per channel) and the deliveries they make.

The rule that must never break lives in the database: at most one delivery per
(campaign, step, customer, channel), so retries, crashed workers and broker redeliveries
can never send twice.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class DeliveryChannel(models.TextChoices):
    """The channels a campaign can send through (a subset of the consent channels)."""

    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PUSH = "push", "Push"


class ReceiptStatus(models.TextChoices):
    """What a provider's delivery receipt can report."""

    DELIVERED = "delivered", "Delivered"
    BOUNCED = "bounced", "Bounced"
    FAILED = "failed", "Failed"


class Campaign(models.Model):
    class Kind(models.TextChoices):
        ONE_OFF = "one_off", "One-off"
        RECURRING = "recurring", "Recurring"
        JOURNEY_STEP = "journey_step", "Journey step"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"

    class Strategy(models.TextChoices):
        # The first channel (in `channels` order) the customer can be reached on.
        PRIORITY = "priority", "First reachable channel, in priority order"
        ALL = "all", "All selected channels"

    class Goal(models.TextChoices):
        CONVERSION = "conversion", "Conversion"
        REVENUE = "revenue", "Revenue"
        ENGAGEMENT = "engagement", "Engagement"
        INFORMATION = "information", "Information"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ONE_OFF)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    channel_strategy = models.CharField(
        max_length=16, choices=Strategy.choices, default=Strategy.PRIORITY
    )
    channels = ArrayField(
        models.CharField(max_length=8, choices=DeliveryChannel.choices),
        default=list,
        help_text="Priority order for the priority strategy; the set for 'all'.",
    )
    goal = models.CharField(max_length=16, choices=Goal.choices, default=Goal.CONVERSION)
    # Order and pickup notifications: exempt from marketing consent and frequency caps.
    transactional = models.BooleanField(default=False)
    holdout_percent = models.PositiveSmallIntegerField(
        default=0, help_text="Share of the audience kept as a control group (used later)."
    )
    # Who "everyone with consent" means for this campaign: the segment's customers (still
    # only those with consent, for marketing); none means every customer.
    segment = models.ForeignKey(
        "campaigns.Segment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="campaigns",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(holdout_percent__lte=100), name="campaign_holdout_is_a_percentage"
            ),
            models.CheckConstraint(
                condition=Q(channels__contained_by=DeliveryChannel.values),
                name="campaign_channels_known",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Message(models.Model):
    """What one step of a campaign says; one-off campaigns have the single step "main"."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="messages")
    step_key = models.CharField(max_length=64, default="main")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["campaign", "step_key"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "step_key"], name="one_message_per_step"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} / {self.step_key}"


class EmailVariant(models.Model):
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="email")
    subject = models.CharField(max_length=200)
    preheader = models.CharField(max_length=200, blank=True)
    html = models.TextField()
    text = models.TextField(blank=True, help_text="Plain-text part; derived from HTML if empty.")

    def __str__(self) -> str:
        return self.subject


class SmsVariant(models.Model):
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="sms")
    text = models.TextField()

    def __str__(self) -> str:
        return self.text[:40]


class PushVariant(models.Model):
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="push")
    title = models.CharField(max_length=120)
    body = models.CharField(max_length=400)
    deep_link = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return self.title


class Delivery(models.Model):
    """One message to one customer on one channel, and what became of it."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        DEFERRED = "deferred", "Deferred (quiet hours)"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        OPENED = "opened", "Opened"
        CLICKED = "clicked", "Clicked"
        BOUNCED = "bounced", "Bounced"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    class SkipReason(models.TextChoices):
        NO_CONSENT = "no_consent", "No consent for the channel"
        QUIET_HOURS_DEFERRED = "quiet_hours_deferred", "Deferred to the end of quiet hours"
        FREQUENCY_CAPPED = "frequency_capped", "Frequency cap reached"
        SUPPRESSED = "suppressed", "Suppressed (erased, merged or bounced address)"
        ALREADY_SENT = "already_sent", "Already sent"
        NO_ADDRESS = "no_address", "No address on the channel"
        CANCELLED = "cancelled", "Campaign cancelled"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries")
    step_key = models.CharField(max_length=64, default="main")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="campaign_deliveries"
    )
    channel = models.CharField(max_length=8, choices=DeliveryChannel.choices)
    # Copied from the campaign so caps can be counted without a join.
    transactional = models.BooleanField(default=False)
    # What the caller passed for this message (order number, cart lines, a code); the
    # template sees it as `context`.
    context = models.JSONField(default=dict, blank=True)
    address = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.QUEUED)
    skip_reason = models.CharField(max_length=24, choices=SkipReason.choices, blank=True)
    deferred_until = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    queued_at = models.DateTimeField()
    # When the row was last handed to the workers; the sweep hands out again rows whose
    # task was lost.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Set when the rules allowed the send, before the provider is called: it holds the
    # frequency-cap slot, and a row with it set is never handed to a provider again.
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    skipped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "step_key", "customer", "channel"],
                name="one_delivery_per_step_customer_channel",
            ),
            models.CheckConstraint(
                condition=~Q(state="skipped") | ~Q(skip_reason=""),
                name="skipped_delivery_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(state="deferred") | Q(deferred_until__isnull=False),
                name="deferred_delivery_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "state"]),
            models.Index(fields=["customer", "channel", "-sent_at"]),
            models.Index(
                fields=["enqueued_at"],
                condition=Q(state="queued"),
                name="delivery_queued_enqueued",
            ),
            models.Index(
                fields=["deferred_until"],
                condition=Q(state="deferred"),
                name="delivery_deferred_due",
            ),
            # Hard-bounced addresses are suppressed: looked up for every send.
            models.Index(
                fields=["channel", "address"],
                condition=Q(state="bounced"),
                name="delivery_bounced_address",
            ),
            models.Index(
                fields=["channel", "provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="delivery_provider_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.step_key} → {self.customer_id} by {self.channel}"


# Segments, journeys and transactional templates live in their own modules; imported here
# so Django sees their models.
from campaigns.journey_models import (  # noqa: E402, F401, I001
    Enrollment,
    Journey,
    JourneyStep,
    TransactionalMessage,
)
from campaigns.segment_models import Segment, SegmentMember  # noqa: E402, F401

from campaigns.experiment_models import (  # noqa: E402, F401, I001
    Arm,
    Assignment,
    Attribution,
    Experiment,
    Schedule,
)
