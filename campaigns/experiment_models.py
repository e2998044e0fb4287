"""Schedules, experiments (A/B/n arms and holdouts) and attribution.

Imported at the end of `campaigns.models`, so these are campaigns models like the others.

Rules that must never break live in the database: one schedule and one experiment per
campaign, one assignment per (campaign, customer) (so a customer's arm or holdout group
never changes once drawn), and one attribution per order (one credit per order).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

MONEY = {"max_digits": 12, "decimal_places": 2}


class Schedule(models.Model):
    """When a campaign's main step goes out. The app creates and removes the
    django-celery-beat rows (`periodic_task`, with its clocked or crontab schedule)."""

    class Mode(models.TextChoices):
        NOW = "now", "Now"
        AT = "at", "At a time"
        RECURRING = "recurring", "Recurring (cron)"
        LOCAL_TIME = "local_time", "At a local time in each customer's time zone"

    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="schedule"
    )
    mode = models.CharField(max_length=16, choices=Mode.choices)
    send_at = models.DateTimeField(null=True, blank=True, help_text="For 'at'.")
    local_date = models.DateField(null=True, blank=True, help_text="For 'local_time'.")
    local_time = models.TimeField(null=True, blank=True, help_text="For 'local_time'.")
    cron_minute = models.CharField(max_length=64, blank=True)
    cron_hour = models.CharField(max_length=64, blank=True)
    cron_day_of_month = models.CharField(max_length=64, blank=True)
    cron_month_of_year = models.CharField(max_length=64, blank=True)
    cron_day_of_week = models.CharField(max_length=64, blank=True)
    cron_timezone = models.CharField(max_length=64, default="UTC")
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Recurring sends: the last occurrence sent (its step key suffix) and how many.
    last_occurrence = models.CharField(max_length=32, blank=True)
    occurrences = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(mode="at") | Q(send_at__isnull=False), name="schedule_at_has_time"
            ),
            models.CheckConstraint(
                condition=~Q(mode="local_time")
                | Q(local_date__isnull=False, local_time__isnull=False),
                name="schedule_local_time_has_date_and_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} ({self.get_mode_display()})"

    @property
    def cron(self) -> str:
        return " ".join(
            [
                self.cron_minute,
                self.cron_hour,
                self.cron_day_of_month,
                self.cron_month_of_year,
                self.cron_day_of_week,
            ]
        )


class Experiment(models.Model):
    """An A/B/n test: arms with split percentages (summing to 100), optionally on a test
    share of the audience first, the winner then sent to the rest."""

    class Metric(models.TextChoices):
        CONVERSION = "conversion", "Conversion rate (two-proportion z-test)"
        REVENUE = "revenue", "Revenue per recipient (Welch t-test)"

    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="experiment"
    )
    metric = models.CharField(max_length=16, choices=Metric.choices, default=Metric.CONVERSION)
    significance_level = models.DecimalField(max_digits=4, decimal_places=3, default="0.050")
    test_percent = models.PositiveSmallIntegerField(
        default=100,
        help_text="Share of the audience in the test; 100 sends every arm to everyone.",
    )
    winner = models.ForeignKey(
        "campaigns.Arm", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # The last evaluation: per arm figures and the p-values of each comparison.
    result = models.JSONField(default=dict, blank=True)
    winner_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(test_percent__gte=1, test_percent__lte=100),
                name="experiment_test_share_is_a_percentage",
            ),
            models.CheckConstraint(
                condition=Q(significance_level__gt=0, significance_level__lt="0.5"),
                name="experiment_significance_level_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Experiment on {self.campaign}"


class Arm(models.Model):
    """One arm; its message is the campaign step `<step>/<key>` (falling back to the step's
    own message when the arm has none of its own)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="arms")
    key = models.CharField(max_length=8)
    name = models.CharField(max_length=120, blank=True)
    split_percent = models.PositiveSmallIntegerField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["experiment", "position", "key"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "key"], name="one_arm_per_key"),
            models.CheckConstraint(
                condition=Q(split_percent__gte=1, split_percent__lte=100),
                name="arm_split_is_a_percentage",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.name}".strip()


class Assignment(models.Model):
    """Which group a customer of a campaign fell in, drawn once by a stable hash: the
    treatment (with its arm), the campaign's holdout or the global holdout. Held-out
    customers get no delivery but are recorded here, so uplift is measured."""

    class Group(models.TextChoices):
        TREATMENT = "treatment", "Treatment"
        HOLDOUT = "holdout", "Campaign holdout"
        GLOBAL_HOLDOUT = "global_holdout", "Global holdout"

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="assignments"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="campaign_assignments"
    )
    group = models.CharField(max_length=16, choices=Group.choices)
    arm = models.ForeignKey(Arm, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    in_test = models.BooleanField(default=False)
    assigned_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "customer"], name="one_assignment_per_campaign_customer"
            ),
        ]
        indexes = [models.Index(fields=["campaign", "group"])]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.customer_id}: {self.group}"


class Attribution(models.Model):
    """An order credited to the last message that touched the customer within the window
    (see campaigns.services.attribution). One per order."""

    class Touch(models.TextChoices):
        CLICK = "click", "Click"
        OPEN = "open", "Open (or receipt, where the channel reports no opens)"

    order = models.OneToOneField(
        "orders.Order", on_delete=models.CASCADE, related_name="campaign_attribution"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="attributions"
    )
    delivery = models.ForeignKey(
        "campaigns.Delivery", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    arm = models.ForeignKey(Arm, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="campaign_attributions"
    )
    message_channel = models.CharField(max_length=8)
    touch = models.CharField(max_length=8, choices=Touch.choices)
    touched_at = models.DateTimeField()
    order_channel = models.CharField(max_length=16)
    ordered_at = models.DateTimeField()
    revenue = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-ordered_at"]
        indexes = [models.Index(fields=["campaign", "ordered_at"])]

    def __str__(self) -> str:
        return f"order {self.order_id} → campaign {self.campaign_id} ({self.touch})"
