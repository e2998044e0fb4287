import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Scope(models.TextChoices):
    """What an API token (or a staff role) may do. `<area>:read` and `<area>:write`."""

    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    STOCK_READ = "stock:read"
    STOCK_WRITE = "stock:write"
    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    SALES_WRITE = "sales:write"
    RETURNS_WRITE = "returns:write"
    CAMPAIGNS_READ = "campaigns:read"
    CAMPAIGNS_WRITE = "campaigns:write"
    EVENTS_WRITE = "events:write"
    WEBHOOKS_ADMIN = "webhooks:admin"


TOKEN_PREFIX = "omni_"  # noqa: S105 - a public prefix, not a secret


def hash_token_secret(secret: str) -> str:
    # Tokens are 256 bits of randomness, so a fast hash is enough; a password hash would
    # only slow every request down.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(models.Model):
    """A credential for a POS register or an integration. The secret is shown once."""

    name = models.CharField(max_length=120, help_text="e.g. 'Lisbon register 2' or 'Web shop'")
    key_id = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list, help_text="e.g. ['sales:write', 'stock:read']")
    locations = models.ManyToManyField(
        "inventory.Location",
        blank=True,
        related_name="api_tokens",
        help_text="Empty means every location.",
    )
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.key_id})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def new_credentials() -> tuple[str, str, str]:
        """(key_id, secret, full token). The full token is `omni_<key_id>_<secret>`."""
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        return key_id, secret, f"{TOKEN_PREFIX}{key_id}_{secret}"

    def secret_matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, hash_token_secret(secret))


class Role(models.TextChoices):
    """Staff roles; each is a Django group of the same name."""

    STORE_ASSOCIATE = "Store associate"
    STORE_MANAGER = "Store manager"
    INVENTORY_PLANNER = "Inventory planner"
    MARKETER = "Marketer"
    ADMINISTRATOR = "Administrator"


class StaffAccess(models.Model):
    """Which locations a staff user works in, and the one they are working in now."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_access"
    )
    locations = models.ManyToManyField("inventory.Location", blank=True, related_name="staff")
    current_location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "staff access"
        verbose_name_plural = "staff access"

    def __str__(self) -> str:
        return f"{self.user} access"


class IdempotencyRecord(models.Model):
    """The first successful response to a write, replayed for the same key."""

    owner = models.CharField(max_length=64, help_text="token:<id> or user:<id>")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=512)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_one_per_owner_key"),
            models.CheckConstraint(condition=~Q(key=""), name="idempotency_key_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"


class AuditQuerySet(models.QuerySet):
    """Audit rows are written once: bulk updates and deletes are refused here too."""

    def update(self, **kwargs):
        raise AuditEntryImmutable

    def delete(self):
        raise AuditEntryImmutable

    def bulk_update(self, objs, fields, batch_size=None):
        raise AuditEntryImmutable


class AuditEntryImmutable(Exception):
    """Raised on any attempt to change or delete an audit row (also refused by PostgreSQL)."""

    def __init__(self) -> None:
        super().__init__("Audit entries are append-only: they cannot be changed or deleted.")


def _loose_reference(to) -> models.ForeignKey:
    """A reference without a database constraint: deleting (or erasing) the row it names
    never has to touch the row that names it."""
    return models.ForeignKey(
        to,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )


class AuditEntry(models.Model):
    """One change made by staff or an API token: who, when, from where, and what changed.

    Append-only: the model refuses to save an existing row or delete one, and a database
    trigger refuses UPDATE and DELETE, so not even raw SQL rewrites history. References to
    users, tokens, customers, SKUs and locations are kept without database constraints so
    that deleting (or erasing) those never has to touch the trail.
    """

    class ActorKind(models.TextChoices):
        STAFF = "staff", "Staff user"
        TOKEN = "token", "API token"
        SYSTEM = "system", "System"

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    actor_kind = models.CharField(max_length=8, choices=ActorKind.choices)
    actor_label = models.CharField(max_length=200, help_text="e.g. 'ana' or 'token:Web shop'")
    user = _loose_reference(settings.AUTH_USER_MODEL)
    token = _loose_reference(ApiToken)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    action = models.CharField(max_length=64, db_index=True, help_text="e.g. stock.adjusted")
    object_type = models.CharField(max_length=64, db_index=True, help_text="app_label.model")
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=200, blank=True)
    customer = _loose_reference("customers.Customer")
    sku = _loose_reference("inventory.Sku")
    location = _loose_reference("inventory.Location")
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["customer", "-occurred_at"], name="audit_customer"),
            models.Index(fields=["sku", "-occurred_at"], name="audit_sku"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditEntryImmutable
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditEntryImmutable


class Job(models.Model):
    """A long action run by the worker (a CSV import, a metrics recompute, a campaign
    send) whose progress a page shows while it runs. Kinds and what they do are
    registered in `omni.jobs`."""

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting for the worker"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    state = models.CharField(max_length=12, choices=State.choices, default=State.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    # Large input (e.g. the CSV text), kept apart from the small params.
    payload = models.TextField(blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    progress_note = models.CharField(max_length=200, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True, help_text="The error shape: code, message.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress_total__isnull=True)
                | Q(progress_done__lte=models.F("progress_total")),
                name="job_progress_within_total",
            ),
            models.CheckConstraint(
                condition=~Q(state="failed") | Q(error__isnull=False),
                name="failed_job_has_error",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_state_display().lower()})"

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.SUCCEEDED, self.State.FAILED)

    @property
    def percent(self) -> int | None:
        if not self.progress_total:
            return 100 if self.state == self.State.SUCCEEDED else None
        return round(100 * self.progress_done / self.progress_total)


# Outgoing webhooks keep their models in their own package; Django finds them here.
from omni.webhooks.models import (  # noqa: E402, F401
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
