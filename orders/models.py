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


# --- Orders ------------------------------------------------------------------------------


class Order(models.Model):
    """An order from any channel. Its fulfilments say how each part reaches the customer."""

    class Status(models.TextChoices):
        PLACED = "placed", "Placed"
        ALLOCATED = "allocated", "Allocated"
        PARTIALLY_FULFILLED = "partially_fulfilled", "Partially fulfilled"
        FULFILLED = "fulfilled", "Fulfilled"
        CANCELLED = "cancelled", "Cancelled"
        COMPLETED = "completed", "Completed (POS)"

    number = models.CharField(max_length=20, unique=True)
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(max_length=16, choices=SalesChannel.choices)
    location = models.ForeignKey(
        "inventory.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The store or register location where it was placed, if any.",
    )
    register_token = models.ForeignKey(
        "omni.ApiToken", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    client_reference = models.CharField(
        max_length=64, blank=True, help_text="The POS transaction id or web shop order id."
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PLACED)
    currency = models.CharField(max_length=3, default="EUR")
    subtotal = models.DecimalField(**MONEY, default=0)
    discount_total = models.DecimalField(**MONEY, default=0)
    tax_total = models.DecimalField(**MONEY, default=0)
    shipping_total = models.DecimalField(**MONEY, default=0)
    total = models.DecimalField(**MONEY, default=0)
    discount_code = models.ForeignKey(
        DiscountCode, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    campaign = models.CharField(max_length=64, blank=True, help_text="Attributed campaign.")
    notes = models.TextField(blank=True)
    placed_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        indexes = [models.Index(fields=["customer", "-placed_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["register_token", "client_reference"],
                condition=~Q(client_reference=""),
                name="order_client_reference_once_per_register",
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0) & Q(discount_total__gte=0) & Q(tax_total__gte=0),
                name="order_amounts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Fulfilment(models.Model):
    """How a group of an order's lines reaches the customer, from which location."""

    class Method(models.TextChoices):
        SHIP = "ship", "Ship (warehouse)"
        SHIP_FROM_STORE = "ship_from_store", "Ship from store"
        CLICK_AND_COLLECT = "click_and_collect", "Click and collect"
        CURBSIDE = "curbside", "Curbside"
        IN_STORE = "in_store", "Taken at the till"

    class Status(models.TextChoices):
        PLACED = "placed", "Placed"
        ALLOCATED = "allocated", "Allocated"
        AWAITING_TRANSFER = "awaiting_transfer", "Awaiting transfer"
        PICKED = "picked", "Picked"
        PACKED = "packed", "Packed"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
        COLLECTED = "collected", "Collected"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fulfilments")
    method = models.CharField(max_length=20, choices=Method.choices)
    location = models.ForeignKey(
        "inventory.Location",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Ships from, or is collected at, this location.",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLACED)
    pickup_code = models.CharField(max_length=12, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    pickup_deadline = models.DateTimeField(null=True, blank=True, db_index=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(
        null=True, blank=True, help_text="Curbside: the customer said 'I'm here'."
    )
    arrival_note = models.CharField(max_length=200, blank=True, help_text="e.g. bay 3, red car")
    collected_at = models.DateTimeField(null=True, blank=True)
    carrier = models.CharField(max_length=60, blank=True)
    tracking_number = models.CharField(max_length=80, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    sourcing_explanation = models.JSONField(default=list, blank=True)
    transfer = models.ForeignKey(
        "inventory.Transfer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Brings units this pickup store lacked.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order_id", "id"]
        indexes = [models.Index(fields=["location", "status"])]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.method}@{self.location_id}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    fulfilment = models.ForeignKey(
        Fulfilment, null=True, blank=True, on_delete=models.PROTECT, related_name="lines"
    )
    sku = models.ForeignKey("inventory.Sku", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)
    discount = models.DecimalField(**MONEY, default=0)
    tax = models.DecimalField(**MONEY, default=0)
    total = models.DecimalField(**MONEY)
    unit_cost = models.DecimalField(**MONEY, null=True, blank=True)
    reservation_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0)
                & Q(discount__gte=0)
                & Q(tax__gte=0)
                & Q(total__gte=0),
                name="order_line_amounts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku_id}"


class Payment(models.Model):
    class Method(models.TextChoices):
        CARD = "card", "Card"
        CASH = "cash", "Cash"
        WALLET = "wallet", "Wallet"
        STORE_CREDIT = "store_credit", "Store credit"
        GIFT_CARD = "gift_card", "Gift card"
        BANK_TRANSFER = "bank_transfer", "Bank transfer"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    method = models.CharField(max_length=16, choices=Method.choices)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    external_reference = models.CharField(max_length=100, blank=True)
    credit_account = models.ForeignKey(
        CreditAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    captured = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.amount} {self.currency}"


class OrderEvent(models.Model):
    """Every status change of an order or one of its fulfilments: who, when, from, to."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    fulfilment = models.ForeignKey(
        Fulfilment, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(max_length=40)
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24, blank=True)
    data = models.JSONField(default=dict, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_token = models.ForeignKey(
        "omni.ApiToken", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}"


class Notification(models.Model):
    """A transactional message to a customer (confirmation, ready for pickup, reminder,
    expired, shipped). Sent whatever the marketing consent; at most once per key."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    key = models.CharField(max_length=120, unique=True, help_text="e.g. ready:<fulfilment id>")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    channel = models.CharField(max_length=8)
    template = models.CharField(max_length=40)
    recipient = models.CharField(max_length=255, blank=True)
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.template} → {self.recipient}"


# --- Returns -----------------------------------------------------------------------------


class ReturnPolicy(models.Model):
    """What the retailer accepts back. One default policy; channels may differ."""

    channel = models.CharField(
        max_length=16,
        choices=SalesChannel.choices,
        blank=True,
        help_text="Empty: the default policy for every channel.",
    )
    window_days = models.PositiveSmallIntegerField(default=30)
    required_condition = models.CharField(max_length=40, default="like new")
    final_sale_categories = models.ManyToManyField(
        "inventory.Category", blank=True, related_name="+"
    )
    refund_to_original_payment = models.BooleanField(default=True)
    allows_store_credit = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "return policies"
        constraints = [
            models.UniqueConstraint(fields=["channel"], name="one_return_policy_per_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.channel or 'default'}: {self.window_days} days"


class Return(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        RECEIVED = "received", "Received"
        INSPECTED = "inspected", "Inspected"
        REFUNDED = "refunded", "Refunded"
        CANCELLED = "cancelled", "Cancelled"

    class RefundMethod(models.TextChoices):
        ORIGINAL_PAYMENT = "original_payment", "Original payment"
        STORE_CREDIT = "store_credit", "Store credit"
        EXCHANGE = "exchange", "Exchange"

    number = models.CharField(max_length=20, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(max_length=16, choices=SalesChannel.choices)
    location = models.ForeignKey(
        "inventory.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Where it was received.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    refund_method = models.CharField(max_length=20, choices=RefundMethod.choices, blank=True)
    refund_total = models.DecimalField(**MONEY, default=0)
    policy_verdict = models.JSONField(default=dict, blank=True)
    override_reason = models.CharField(max_length=200, blank=True)
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    exchange_order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    received_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return self.number


class ReturnLine(models.Model):
    class Condition(models.TextChoices):
        PENDING = "pending", "Not inspected"
        RESELLABLE = "resellable", "Resellable"
        DAMAGED = "damaged", "Damaged"
        DEFECTIVE = "defective", "Defective"

    return_request = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="returns")
    quantity = models.PositiveIntegerField()
    reason = models.CharField(max_length=200, blank=True)
    condition = models.CharField(
        max_length=16, choices=Condition.choices, default=Condition.PENDING
    )
    refund_amount = models.DecimalField(**MONEY, default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="return_line_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × line {self.order_line_id}"


class Refund(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    return_request = models.ForeignKey(
        Return, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    method = models.CharField(max_length=20)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    external_reference = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"refund {self.amount} {self.currency}"


# --- Store desks in the admin ------------------------------------------------------------
# Proxies, so each desk is an entry of its own in the admin's index and menu; they add no
# table and no behaviour.


class PickupDesk(Fulfilment):
    class Meta:
        proxy = True
        verbose_name = "pickup queue"
        verbose_name_plural = "pickup queue"


class ReturnsDesk(Return):
    class Meta:
        proxy = True
        verbose_name = "returns desk"
        verbose_name_plural = "returns desk"


class StoreDaySummary(Order):
    class Meta:
        proxy = True
        verbose_name = "daily store summary"
        verbose_name_plural = "daily store summary"
