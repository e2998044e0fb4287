"""One customer, one ID: the customer and the identities that resolve to them."""

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Channel(models.TextChoices):
    """Where a customer or an interaction came from."""

    WEB = "web", "Web shop"
    APP = "app", "Mobile app"
    STORE = "store", "Store"
    PHONE = "phone", "Phone"
    SOCIAL = "social", "Social"
    MARKETPLACE = "marketplace", "Marketplace"
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PUSH = "push", "Push"


class Customer(models.Model):
    """A person, whichever channel they use. `public_id` is what every other app stores.

    A customer merged into another keeps its row with `merged_into` set, so its public ID
    keeps resolving to the survivor.
    """

    class Gender(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNDISCLOSED = "undisclosed", "Prefers not to say"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    gender = models.CharField(max_length=16, choices=Gender.choices, blank=True)
    language = models.CharField(max_length=8, default="en", help_text="IETF tag, e.g. pt-PT")
    time_zone = models.CharField(max_length=64, default="UTC")
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    preferred_store = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acquisition_channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    first_seen_channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    first_seen_location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from"
    )
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["last_name", "first_name"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(merged_into=models.F("id")), name="customer_not_merged_into_self"
            ),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or str(self.public_id)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Identity(models.Model):
    """An identifier that resolves to exactly one customer: (kind, value) is unique.

    Values are stored normalised (emails lower-cased, phones in E.164) by the services.
    """

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        LOYALTY_CARD = "loyalty_card", "Loyalty card"
        WEB_ACCOUNT = "web_account", "Web account"
        APP_INSTALL = "app_install", "App install / device"
        POS_REF = "pos_ref", "POS customer reference"
        EXTERNAL = "external", "External ID"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.CharField(max_length=255)
    # For EXTERNAL ids: which integration issued it (e.g. "shopify", "zendesk").
    namespace = models.CharField(max_length=64, blank=True, default="")
    verified = models.BooleanField(default=False)
    source_channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "value"]
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "namespace", "value"], name="identity_belongs_to_one_customer"
            ),
            models.CheckConstraint(condition=~Q(value=""), name="identity_value_not_empty"),
        ]
        indexes = [models.Index(fields=["customer", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


# --- Consent ------------------------------------------------------------------------------


class ConsentChannel(models.TextChoices):
    """The marketing channels a customer can say yes or no to, one by one."""

    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PUSH = "push", "Push"
    PHONE = "phone", "Phone call"
    POST = "post", "Post"


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", "Granted"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ConsentEvent(models.Model):
    """One choice a customer made (or that was made for them, e.g. by a merge), with its
    evidence. Append-only: the current state is the latest event per channel."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_events")
    channel = models.CharField(max_length=8, choices=ConsentChannel.choices)
    status = models.CharField(max_length=10, choices=ConsentStatus.choices)
    occurred_at = models.DateTimeField(db_index=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    # Where the choice was made.
    source_channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    source_location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    form = models.CharField(max_length=120, blank=True, help_text="e.g. 'checkout', 'signup'")
    # Campaigns are downstream of customers, so the link is a reference, not a foreign key.
    campaign_ref = models.CharField(max_length=64, blank=True)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token = models.ForeignKey(
        "omni.ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    evidence = models.TextField(blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["customer", "channel", "-occurred_at"])]

    def __str__(self) -> str:
        return f"{self.channel} {self.status} at {self.occurred_at:%Y-%m-%d %H:%M}"


class ConsentState(models.Model):
    """The latest ConsentEvent per (customer, channel), kept in the same transaction as the
    event so campaigns can filter on it without scanning history."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_states")
    channel = models.CharField(max_length=8, choices=ConsentChannel.choices)
    status = models.CharField(max_length=10, choices=ConsentStatus.choices)
    changed_at = models.DateTimeField()
    event = models.ForeignKey(ConsentEvent, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel"], name="one_consent_state"),
        ]
        indexes = [models.Index(fields=["channel", "status"])]

    def __str__(self) -> str:
        return f"{self.channel}: {self.status}"


# --- Preferences and addresses ------------------------------------------------------------


class Preferences(models.Model):
    """What the customer told us about how they like to be contacted."""

    class Frequency(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"
        MONTHLY = "monthly", "Monthly"

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="preferences")
    email_frequency = models.CharField(
        max_length=8, choices=Frequency.choices, default=Frequency.WEEKLY
    )
    preferred_channel = models.CharField(max_length=8, choices=ConsentChannel.choices, blank=True)
    # Local times in the customer's time zone; the default is the night.
    quiet_hours_start = models.TimeField(default=datetime.time(21, 0))
    quiet_hours_end = models.TimeField(default=datetime.time(8, 0))
    interests = models.JSONField(default=list, blank=True)
    categories = models.JSONField(default=list, blank=True, help_text="category slugs")
    language = models.CharField(max_length=8, blank=True, help_text="overrides the profile's")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "preferences"

    def __str__(self) -> str:
        return f"preferences of {self.customer_id}"


class Address(models.Model):
    class Kind(models.TextChoices):
        BILLING = "billing", "Billing"
        SHIPPING = "shipping", "Shipping"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    is_default = models.BooleanField(default=False)
    recipient = models.CharField(max_length=200, blank=True)
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    phone = models.CharField(max_length=20, blank=True, help_text="E.164")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "-is_default", "-created_at"]
        verbose_name_plural = "addresses"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind"],
                condition=Q(is_default=True),
                name="one_default_address_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line1}, {self.postcode} {self.city}"


# --- Merges, duplicates and privacy -------------------------------------------------------


class CustomerMerge(models.Model):
    """One merge of `merged` into `survivor`, with what each participant moved, so that an
    unmerge can move exactly those rows back."""

    survivor = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_won")
    merged = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_lost")
    rule = models.CharField(max_length=64, blank=True, help_text="set when a rule merged them")
    reason = models.TextField(blank=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_by_token = models.ForeignKey(
        "omni.ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField(auto_now_add=True)
    moved = models.JSONField(default=dict, help_text="participant name → what it moved")
    unmerged_at = models.DateTimeField(null=True, blank=True)
    unmerged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    unmerged_by_token = models.ForeignKey(
        "omni.ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    unmerge_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-merged_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["merged"], condition=Q(unmerged_at__isnull=True), name="one_live_merge"
            ),
            models.CheckConstraint(
                condition=~Q(survivor=models.F("merged")), name="merge_two_customers"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.survivor_id}"


class DuplicateSuggestion(models.Model):
    """Two customers that look like one person; recorded when resolve-or-create is handed
    identities of both. Staff decide: merge or dismiss."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MERGED = "merged", "Merged"
        DISMISSED = "dismissed", "Dismissed"

    # Stored with first.pk < second.pk so a pair is recorded once.
    first = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="one_suggestion_per_pair"),
            models.CheckConstraint(
                condition=Q(first__lt=models.F("second")), name="suggestion_pair_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_id} ~ {self.second_id}: {self.reason}"


class PrivacyRequest(models.Model):
    """Audit row of every export and erasure (who, when, why, outcome)."""

    class Kind(models.TextChoices):
        EXPORT = "export", "Export"
        ERASE = "erase", "Erase"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    reason = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_token = models.ForeignKey(
        "omni.ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} of {self.customer_id}"


# Module-level names for the API schema's enum names (settings.SPECTACULAR_SETTINGS).
IdentityKind = Identity.Kind
AddressKind = Address.Kind
