"""Outgoing webhooks: endpoints, the event outbox, one delivery per (event, endpoint) and
every attempt made to deliver it."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class EventType(models.TextChoices):
    ORDER_PLACED = "order.placed", "Order placed"
    ORDER_READY_FOR_PICKUP = "order.ready_for_pickup", "Ready for pickup"
    ORDER_COLLECTED = "order.collected", "Pickup collected"
    ORDER_PICKUP_EXPIRED = "order.pickup_expired", "Pickup expired"
    RETURN_RECEIVED = "return.received", "Return received"
    STOCK_LOW = "stock.low", "Stock low"
    CUSTOMER_MERGED = "customer.merged", "Customers merged"


SECRET_PREFIX = "whsec_"  # noqa: S105 - a public prefix, not a secret


def new_signing_secret() -> str:
    return f"{SECRET_PREFIX}{secrets.token_urlsafe(32)}"


class WebhookEndpoint(models.Model):
    """A URL an integration gave us, the events it wants and the secret we sign with.

    The secret is kept (it is needed to sign every request) but shown only when the
    endpoint is created or the secret is rotated."""

    name = models.CharField(max_length=120, help_text="e.g. 'ERP sync' or 'Warehouse robot'")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100, default=new_signing_secret, editable=False)
    event_types = models.JSONField(default=list, help_text="Event types this endpoint receives.")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"

    @property
    def secret_hint(self) -> str:
        return f"{self.secret[:10]}…"


class WebhookEvent(models.Model):
    """The outbox: one row per event, written in the same transaction as the change it
    reports, so an event exists if and only if its change committed."""

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=40, choices=EventType.choices)
    payload = models.JSONField()
    occurred_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        verbose_name = "webhook event"

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class WebhookDelivery(models.Model):
    """One event to one endpoint. Pending until a 2xx answer (succeeded) or until the retry
    window is over (dead). `next_attempt_at` is the due time a periodic task picks it up
    at; while an attempt runs it is pushed a lease ahead, so a crashed worker's delivery
    comes due again by itself."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        DEAD = "dead", "Dead"

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    first_attempted_at = models.DateTimeField(null=True, blank=True)
    last_attempted_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "endpoint"], name="webhook_one_delivery_per_endpoint"
            ),
            models.CheckConstraint(
                condition=~Q(state="pending") | Q(next_attempt_at__isnull=False),
                name="webhook_pending_has_due_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="webhook_delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint.name}"


class WebhookAttempt(models.Model):
    """One HTTP request made for a delivery: what came back and how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=300, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery_id", "number", "pk"]
        verbose_name = "webhook attempt"

    def __str__(self) -> str:
        return f"attempt {self.number}"
