"""One customer, one ID: the customer and the identities that resolve to them."""

import uuid

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
