"""Triggered journeys: a trigger, ordered steps, and one enrolment per trigger instance.

Waits live in PostgreSQL: an active enrolment has a `due_at`, and a periodic task advances
the due ones (`SELECT ... FOR UPDATE SKIP LOCKED`); nothing waits in a Celery countdown.
Enrolling is idempotent: one enrolment per (journey, customer, trigger instance), a
database constraint.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Deferrable, Q


class Journey(models.Model):
    class Trigger(models.TextChoices):
        SIGNUP = "signup", "Customer signed up"
        CART_IDLE = "cart_idle", "Cart went idle"
        PURCHASE = "purchase", "Purchase on any channel"
        DELIVERED_OR_COLLECTED = "delivered_or_collected", "Order delivered or collected"
        NO_PURCHASE_FOR_DAYS = "no_purchase_for_days", "No purchase for a number of days"

    key = models.SlugField(max_length=64, unique=True, help_text="e.g. abandoned-cart")
    name = models.CharField(max_length=200)
    trigger = models.CharField(max_length=32, choices=Trigger.choices)
    # cart_idle: how long without activity makes a cart idle; no_purchase_for_days: the
    # days since the last purchase. Unused by the other triggers.
    trigger_after = models.DurationField(
        null=True,
        blank=True,
        help_text="Cart idle after / no purchase for (e.g. '0:30:00' or '90 days').",
    )
    active = models.BooleanField(default=False)
    # The campaign whose messages the send steps use (kind: journey step).
    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="journey"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(trigger__in=["cart_idle", "no_purchase_for_days"])
                | Q(trigger_after__isnull=False),
                name="journey_timed_trigger_has_duration",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class JourneyStep(models.Model):
    class Kind(models.TextChoices):
        WAIT = "wait", "Wait"
        CONDITION = "condition", "Continue only if"
        SEND = "send", "Send a message"
        EXIT_WHEN = "exit_when", "Exit when (from here on)"

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # wait: how long after the previous step (the first: after the trigger).
    wait = models.DurationField(null=True, blank=True)
    # condition / exit_when: a named rule (see campaigns.services.journeys.RULES).
    rule = models.CharField(max_length=48, blank=True)
    # send: the campaign message (step key) to send, and optionally a single-use code.
    message_key = models.CharField(max_length=40, blank=True)
    promotion = models.ForeignKey(
        "orders.Promotion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    code_valid_days = models.PositiveSmallIntegerField(default=7)

    class Meta:
        ordering = ["journey", "position"]
        constraints = [
            # Deferred: reordering swaps positions inside one transaction.
            models.UniqueConstraint(
                fields=["journey", "position"],
                name="journey_step_position_unique",
                deferrable=Deferrable.DEFERRED,
            ),
            models.CheckConstraint(
                condition=~Q(kind="wait") | Q(wait__isnull=False), name="wait_step_has_duration"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["condition", "exit_when"]) | ~Q(rule=""),
                name="rule_step_has_rule",
            ),
            models.CheckConstraint(
                condition=~Q(kind="send") | ~Q(message_key=""), name="send_step_has_message"
            ),
        ]

    def __str__(self) -> str:
        detail = {
            self.Kind.WAIT: str(self.wait),
            self.Kind.SEND: self.message_key,
        }.get(self.kind, self.rule)
        return f"{self.position}. {self.get_kind_display()} {detail}"


class Enrollment(models.Model):
    """One customer's way through a journey, for one trigger instance (a cart, an order,
    a signup, a lapse)."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        EXITED = "exited", "Exited"
        FAILED = "failed", "Failed"

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="enrollments")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="journey_enrollments"
    )
    trigger_key = models.CharField(max_length=120, help_text="e.g. cart:<id>, order:<number>")
    # What the trigger was about: {"cart_id": 12} or {"order_id": 40}.
    subject = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.ACTIVE)
    # The position of the step being worked on (the next one at or after it runs).
    step_position = models.PositiveIntegerField(default=0)
    # When the trigger happened, and the time the last wait ended (waits count from it).
    triggered_at = models.DateTimeField()
    reference_at = models.DateTimeField()
    due_at = models.DateTimeField()
    history = models.JSONField(default=list, blank=True)
    exit_reason = models.CharField(max_length=80, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "customer", "trigger_key"], name="one_enrollment_per_trigger"
            ),
        ]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(state="active"), name="enrollment_due"),
            models.Index(fields=["customer", "state"]),
        ]

    def __str__(self) -> str:
        return f"{self.journey_id}/{self.customer_id}/{self.trigger_key}"


class TransactionalMessage(models.Model):
    """Which transactional campaign sends each order notification template."""

    template = models.CharField(max_length=40, unique=True, help_text="e.g. ready_for_pickup")
    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="transactional_template"
    )

    def __str__(self) -> str:
        return self.template
