"""One customer, one ID: the customer and the identities that resolve to them."""

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


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


# --- engagement ---
# Loyalty, support cases, feedback, the timeline, activity events and metrics. Other apps
# reach these through `customers.services.{loyalty,cases,timeline,events,metrics}`.


class LoyaltyPolicy(models.Model):
    """How points are earned, when they expire and what 12-month spend makes each tier.

    At most one policy is active (a partial unique constraint); `loyalty.current_policy()`
    falls back to these defaults when none is saved.
    """

    name = models.CharField(max_length=100, default="Standard")
    is_active = models.BooleanField(default=True)
    currency = models.CharField(max_length=3, default="EUR")
    points_per_unit = models.DecimalField(
        max_digits=8, decimal_places=2, default=1, help_text="Points per unit of currency spent."
    )
    silver_spend = models.DecimalField(
        max_digits=12, decimal_places=2, default=500, help_text="12-month spend for silver."
    )
    gold_spend = models.DecimalField(
        max_digits=12, decimal_places=2, default=1500, help_text="12-month spend for gold."
    )
    expiry_months = models.PositiveSmallIntegerField(
        default=24, help_text="Points expire this many months after they were earned (0: never)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "loyalty policies"
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="loyalty_one_active_policy"
            ),
            models.CheckConstraint(
                condition=Q(points_per_unit__gte=0), name="loyalty_points_per_unit_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(gold_spend__gte=models.F("silver_spend"), silver_spend__gte=0),
                name="loyalty_tiers_ascending",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class LoyaltyTier(models.TextChoices):
    BRONZE = "bronze", "Bronze"
    SILVER = "silver", "Silver"
    GOLD = "gold", "Gold"


class LoyaltyAccount(models.Model):
    """The balance kept beside the ledger: changed only by a conditional UPDATE in the same
    transaction as the ledger row, so it always equals the sum of the customer's entries."""

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="loyalty_account"
    )
    balance = models.IntegerField(default=0)
    tier = models.CharField(max_length=8, choices=LoyaltyTier.choices, default=LoyaltyTier.BRONZE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="loyalty_balance_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.balance} points"


class LoyaltyEntry(models.Model):
    """Append-only points ledger. Earns and claw-backs happen once per reference."""

    class Kind(models.TextChoices):
        EARN = "earn", "Earn"
        REDEEM = "redeem", "Redeem"
        EXPIRE = "expire", "Expire"
        ADJUST = "adjust", "Adjust"
        CLAWBACK = "clawback", "Return claw-back"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="loyalty_entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    points = models.IntegerField(help_text="Signed change to the balance.")
    balance_after = models.IntegerField()
    reference_type = models.CharField(max_length=32, blank=True)
    reference_id = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(
        max_length=150, blank=True, help_text="user:…, token:… or system"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "loyalty entries"
        indexes = [models.Index(fields=["customer", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind", "reference_type", "reference_id"],
                condition=Q(kind__in=["earn", "clawback"]),
                name="loyalty_earn_once_per_reference",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["earn", "clawback"]) | ~Q(reference_id=""),
                name="loyalty_earn_has_reference",
            ),
            models.CheckConstraint(
                condition=(Q(kind="earn", points__gt=0) | ~Q(kind="earn"))
                & (
                    Q(kind__in=["redeem", "expire", "clawback"], points__lt=0)
                    | ~Q(kind__in=["redeem", "expire", "clawback"])
                ),
                name="loyalty_entry_sign_matches_kind",
            ),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="loyalty_after_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.points:+d}"


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    PENDING = "pending", "Pending customer"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


class CasePriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class SupportCase(models.Model):
    """A customer's question or complaint, from any channel, worked by any staff member."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="support_cases")
    subject = models.CharField(max_length=200)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    priority = models.CharField(
        max_length=8, choices=CasePriority.choices, default=CasePriority.NORMAL
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
    )
    # A string, not a foreign key: `customers` knows nothing of `orders`.
    order_reference = models.CharField(max_length=100, blank=True, db_index=True)
    location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "priority"]),
            models.Index(fields=["customer", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"


class CaseMessage(models.Model):
    """One message in a case's thread: from the customer, a staff reply, or an internal
    note the customer never sees."""

    class Kind(models.TextChoices):
        CUSTOMER = "customer", "From the customer"
        REPLY = "reply", "Staff reply"
        NOTE = "note", "Internal note"

    case = models.ForeignKey(SupportCase, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    body = models.TextField()
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=~Q(body=""), name="case_message_not_empty")]

    def __str__(self) -> str:
        return f"{self.kind} on case {self.case_id}"


class Feedback(models.Model):
    """A CSAT (1–5) or NPS (0–10) answer about an order, a case or a store visit."""

    class Kind(models.TextChoices):
        CSAT = "csat", "Satisfaction (CSAT 1–5)"
        NPS = "nps", "Net promoter (NPS 0–10)"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="feedback")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    score = models.SmallIntegerField()
    comment = models.TextField(blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    order_reference = models.CharField(max_length=100, blank=True, db_index=True)
    case = models.ForeignKey(
        SupportCase, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "feedback"
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="csat", score__gte=1, score__lte=5)
                | Q(kind="nps", score__gte=0, score__lte=10),
                name="feedback_score_in_range",
            ),
            models.CheckConstraint(
                condition=~Q(order_reference="")
                | Q(case__isnull=False)
                | Q(location__isnull=False),
                name="feedback_is_about_something",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.score}"


class TimelineEntry(models.Model):
    """One item of a customer's chronological feed. `(kind, reference_type, reference_id)`
    is unique when a reference is given, so a retried write adds nothing."""

    class Kind(models.TextChoices):
        ORDER = "order", "Order"
        RETURN = "return", "Return"
        MESSAGE = "message", "Message"
        CONSENT = "consent", "Consent"
        CASE = "case", "Support case"
        FEEDBACK = "feedback", "Feedback"
        LOYALTY = "loyalty", "Loyalty"
        STORE_VISIT = "store_visit", "Store visit"
        WEB_EVENT = "web_event", "Web activity"
        APP_EVENT = "app_event", "App activity"
        PROFILE = "profile", "Profile"
        CART = "cart", "Cart"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200)
    data = models.JSONField(default=dict, blank=True)
    reference_type = models.CharField(max_length=32, blank=True)
    reference_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "timeline entries"
        indexes = [models.Index(fields=["customer", "-occurred_at", "-id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "reference_type", "reference_id"],
                condition=~Q(reference_id=""),
                name="timeline_once_per_reference",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.title}"


class ActivityEvent(models.Model):
    """A web or app event. Anonymous (no customer) until its device is identified."""

    class Type(models.TextChoices):
        PAGE_VIEWED = "page_viewed", "Page viewed"
        PRODUCT_VIEWED = "product_viewed", "Product viewed"
        ADDED_TO_CART = "added_to_cart", "Added to cart"
        REMOVED_FROM_CART = "removed_from_cart", "Removed from cart"
        CHECKOUT_STARTED = "checkout_started", "Checkout started"
        SEARCHED = "searched", "Searched"
        APP_OPENED = "app_opened", "App opened"
        STORE_VISITED = "store_visited", "Store visited"
        WISHLISTED = "wishlisted", "Added to wishlist"
        SIGNED_IN = "signed_in", "Signed in"

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=32, choices=Type.choices)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    device_id = models.CharField(max_length=255, blank=True)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    properties = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                fields=["device_id"], condition=Q(customer__isnull=True), name="event_anonymous"
            ),
            models.Index(fields=["customer", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class MetricsFact(models.Model):
    """A purchase or a return as the metrics see it, once per reference: the metrics are
    always recomputable from these rows."""

    class Kind(models.TextChoices):
        PURCHASE = "purchase", "Purchase"
        RETURN = "return", "Return"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="metrics_facts")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    reference = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revenue = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    amount = models.DecimalField(
        max_digits=12, decimal_places=2, default=0, help_text="Refunded amount (returns)."
    )
    currency = models.CharField(max_length=3, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["customer", "kind", "occurred_at"])]
        constraints = [
            models.UniqueConstraint(fields=["kind", "reference"], name="metrics_fact_once"),
            models.CheckConstraint(
                condition=Q(revenue__gte=0, cost__gte=0, discount__gte=0, amount__gte=0),
                name="metrics_fact_amounts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}"


class CustomerMetrics(models.Model):
    """Derived numbers per customer (definitions in the README, "Customer metrics").
    Rewritten from `MetricsFact` on each purchase/return and nightly for everyone."""

    class Segment(models.TextChoices):
        CHAMPIONS = "champions", "Champions"
        LOYAL = "loyal", "Loyal"
        POTENTIAL_LOYALIST = "potential_loyalist", "Potential loyalist"
        NEW = "new", "New"
        AT_RISK = "at_risk", "At risk"
        CANT_LOSE = "cant_lose", "Can't lose"
        HIBERNATING = "hibernating", "Hibernating"
        LOST = "lost", "Lost"

    class Stage(models.TextChoices):
        PROSPECT = "prospect", "Prospect"
        NEW = "new", "New"
        ACTIVE = "active", "Active"
        AT_RISK = "at_risk", "At risk"
        LAPSED = "lapsed", "Lapsed"
        VIP = "vip", "VIP"

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="metrics")
    currency = models.CharField(max_length=3, blank=True)
    order_count = models.PositiveIntegerField(default=0)
    return_count = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    discounts = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    returns = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    cost_of_goods = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    average_order_value = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)
    recency_days = models.PositiveIntegerField(null=True, blank=True)
    frequency = models.PositiveIntegerField(default=0, help_text="Orders in the last 365 days.")
    monetary = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, help_text="Net spend in the last 365 days."
    )
    r_score = models.PositiveSmallIntegerField(null=True, blank=True)
    f_score = models.PositiveSmallIntegerField(null=True, blank=True)
    m_score = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_segment = models.CharField(max_length=20, choices=Segment.choices, blank=True)
    repurchase_rate = models.DecimalField(max_digits=5, decimal_places=4, default=0)
    return_rate = models.DecimalField(max_digits=5, decimal_places=4, default=0)
    lifetime_value = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    profitability = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    lifecycle_stage = models.CharField(
        max_length=10, choices=Stage.choices, default=Stage.PROSPECT, db_index=True
    )
    preferred_channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    preferred_store = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channels_used = models.JSONField(default=list, blank=True)
    channel_count = models.PositiveSmallIntegerField(default=0)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "customer metrics"
        indexes = [models.Index(fields=["rfm_segment"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(r_score__isnull=True) | Q(r_score__gte=1, r_score__lte=5),
                name="metrics_r_score_quintile",
            ),
            models.CheckConstraint(
                condition=Q(f_score__isnull=True) | Q(f_score__gte=1, f_score__lte=5),
                name="metrics_f_score_quintile",
            ),
            models.CheckConstraint(
                condition=Q(m_score__isnull=True) | Q(m_score__gte=1, m_score__lte=5),
                name="metrics_m_score_quintile",
            ),
        ]

    def __str__(self) -> str:
        return f"metrics of {self.customer_id}"

    @property
    def is_multichannel(self) -> bool:
        return self.channel_count > 1
