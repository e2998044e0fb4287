"""Where the channels meet: carts, orders, fulfilment, payments, returns, promotions and
store credit. Customers and SKUs come from `customers` and `inventory`."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

MONEY = {"max_digits": 12, "decimal_places": 2}


class SalesChannel(models.TextChoices):
    WEB = "web", "Web shop"
    APP = "app", "Mobile app"
    STORE = "store", "Store"
    PHONE = "phone", "Phone"
    SOCIAL = "social", "Social"
    MARKETPLACE = "marketplace", "Marketplace"


# --- Promotions and discount codes ------------------------------------------------------


class Promotion(models.Model):
    """A discount rule; codes point at it. Percentage or fixed amount off eligible lines."""

    class Kind(models.TextChoices):
        PERCENTAGE = "percentage", "Percentage off"
        AMOUNT = "amount", "Amount off"

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.DecimalField(**MONEY, help_text="Percent (e.g. 10.00) or amount off.")
    currency = models.CharField(max_length=3, default="EUR")
    minimum_spend = models.DecimalField(**MONEY, default=0)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    eligible_skus = models.ManyToManyField("inventory.Sku", blank=True, related_name="+")
    eligible_categories = models.ManyToManyField("inventory.Category", blank=True, related_name="+")
    excludes_discounted_lines = models.BooleanField(default=False)
    per_customer_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many times one customer may use it."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(value__gt=0), name="promotion_value_positive"),
            models.CheckConstraint(
                condition=~Q(kind="percentage") | Q(value__lte=100),
                name="promotion_percentage_at_most_100",
            ),
            models.CheckConstraint(
                condition=Q(minimum_spend__gte=0), name="promotion_minimum_spend_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(ends_at__gt=F("starts_at")),
                name="promotion_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DiscountCode(models.Model):
    """A code a customer types. Single-use codes are unique per customer (campaigns issue
    them); shared codes have an optional total limit."""

    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="codes")
    code = models.CharField(max_length=40, unique=True)
    single_use = models.BooleanField(default=False)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0)
    issued_to = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issued_by_campaign = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_redemptions__isnull=True)
                | Q(times_redeemed__lte=F("max_redemptions")),
                name="code_redemptions_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(single_use=False) | Q(times_redeemed__lte=1),
                name="code_single_use_once",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Redemption(models.Model):
    """One use of a code on an order or POS sale."""

    code = models.ForeignKey(DiscountCode, on_delete=models.PROTECT, related_name="redemptions")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reference = models.CharField(max_length=64, help_text="order number or POS transaction")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["code", "reference"], name="redemption_once_per_reference"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="redemption_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.code_id} on {self.reference}"


# --- Store credit and gift cards ---------------------------------------------------------


class CreditAccount(models.Model):
    """Store credit of a customer, or a gift card (by its number). The balance is kept
    beside the append-only ledger in the same transaction and always equals its sum."""

    class Kind(models.TextChoices):
        STORE_CREDIT = "store_credit", "Store credit"
        GIFT_CARD = "gift_card", "Gift card"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    number = models.CharField(max_length=32, unique=True, null=True, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    balance = models.DecimalField(**MONEY, default=0)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="credit_balance_not_negative"),
            models.UniqueConstraint(
                fields=["customer", "currency"],
                condition=Q(kind="store_credit"),
                name="one_store_credit_account_per_currency",
            ),
            models.CheckConstraint(
                condition=Q(kind="store_credit", customer__isnull=False)
                | Q(kind="gift_card", number__isnull=False),
                name="credit_account_has_owner_or_number",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"store credit {self.customer_id} {self.currency}"


class CreditEntry(models.Model):
    class Kind(models.TextChoices):
        ISSUE = "issue", "Issued"
        REFUND = "refund", "Refund to credit"
        SPEND = "spend", "Spent"
        REVERSAL = "reversal", "Spend reversed"
        EXPIRY = "expiry", "Expired"
        ADJUSTMENT = "adjustment", "Adjustment"

    account = models.ForeignKey(CreditAccount, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(**MONEY, help_text="Positive adds, negative spends.")
    balance_after = models.DecimalField(**MONEY)
    reference = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_token = models.ForeignKey(
        "omni.ApiToken", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="credit_entry_not_zero"),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="credit_entry_balance_not_negative"
            ),
            models.UniqueConstraint(
                fields=["account", "kind", "reference"],
                condition=~Q(reference=""),
                name="credit_entry_once_per_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"


# --- Carts -------------------------------------------------------------------------------


class Cart(models.Model):
    """A customer's cart, the same on web and app. An anonymous device's cart merges into
    the customer's cart on sign-in."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CONVERTED = "converted", "Converted to an order"
        MERGED = "merged", "Merged into another cart"
        EMPTIED = "emptied", "Emptied"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    device_id = models.CharField(max_length=128, blank=True)
    channel = models.CharField(max_length=16, choices=SalesChannel.choices)
    currency = models.CharField(max_length=3, default="EUR")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    last_activity_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(status="open", customer__isnull=False),
                name="one_open_cart_per_customer",
            ),
            models.UniqueConstraint(
                fields=["device_id"],
                condition=Q(status="open", customer__isnull=True) & ~Q(device_id=""),
                name="one_open_anonymous_cart_per_device",
            ),
            models.CheckConstraint(
                condition=Q(customer__isnull=False) | ~Q(device_id=""),
                name="cart_has_customer_or_device",
            ),
        ]

    def __str__(self) -> str:
        return str(self.public_id)


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey("inventory.Sku", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY, help_text="Price when the line was added.")
    currency = models.CharField(max_length=3)
    reservation_id = models.BigIntegerField(null=True, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "sku"], name="cart_one_line_per_sku"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cart_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku_id}"
