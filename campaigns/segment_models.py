"""Segments: who a campaign is for, as rules (dynamic) or as a list (static).

A dynamic segment keeps its rule tree as JSON data and is compiled into one query on
customers each time it is counted or sent (`campaigns.segmentation.rules`); a static
segment holds its members, loaded from a CSV file all or nothing.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


def everyone() -> dict:
    return {"all": []}


class Segment(models.Model):
    class Kind(models.TextChoices):
        DYNAMIC = "dynamic", "Dynamic (rules)"
        STATIC = "static", "Static (list)"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.DYNAMIC)
    # {"all"|"any": [group or {"field", "op", "value"}...], "not": bool}; see the README.
    rules = models.JSONField(default=everyone, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["dynamic", "static"]), name="segment_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SegmentMember(models.Model):
    """One customer on a static segment's list. Follows the customer through a merge."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="segment_memberships"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["segment", "id"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "customer"], name="segment_member_once"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.segment_id}"
