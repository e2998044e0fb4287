"""One stock pool: locations, the catalogue, stock per (location, SKU) and its ledger."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Location(models.Model):
    """A store, warehouse or dark store. Staff and API tokens are scoped to locations."""

    class Kind(models.TextChoices):
        STORE = "store", "Store"
        WAREHOUSE = "warehouse", "Warehouse"
        DARK_STORE = "dark_store", "Dark store"

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STORE)
    is_active = models.BooleanField(default=True)

    address_line = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    opening_hours = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per weekday, e.g. {"mon": [["09:00", "20:00"]], "sun": []}',
    )

    sells_in_store = models.BooleanField(default=True)
    offers_click_and_collect = models.BooleanField(default=False)
    offers_curbside = models.BooleanField(default=False)
    ships_to_customers = models.BooleanField(
        default=False, help_text="Warehouses, and stores that ship from store."
    )
    accepts_returns = models.BooleanField(default=True)
    pickup_hold_days = models.PositiveSmallIntegerField(
        default=5, help_text="How long a ready pickup waits before it expires."
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="location_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="location_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Category(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Brand(models.Model):
    name = models.CharField(max_length=120, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """A product as customers know it; its sellable variants are SKUs."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    brand = models.ForeignKey(
        Brand, null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Sku(models.Model):
    """A sellable variant (size, colour...) with its own code, barcode and price."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="skus")
    code = models.CharField(max_length=64, unique=True)
    barcode = models.CharField(
        max_length=32, unique=True, null=True, blank=True, help_text="GTIN / EAN / UPC"
    )
    name = models.CharField(max_length=200, blank=True)
    attributes = models.JSONField(default=dict, blank=True, help_text='e.g. {"size": "42"}')
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "SKU"
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="sku_price_not_negative"),
            models.CheckConstraint(
                condition=Q(cost__isnull=True) | Q(cost__gte=0), name="sku_cost_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class StockLevel(models.Model):
    """Stock of one SKU at one location. available = on_hand − reserved − safety_stock.

    Quantities only change through `inventory.services` with one conditional UPDATE, and
    every change to on_hand writes a `StockMovement` in the same transaction.
    """

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_levels")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    safety_stock = models.IntegerField(default=0)
    reorder_point = models.IntegerField(default=0)
    damaged = models.IntegerField(
        default=0, help_text="Damaged or quarantined units, not sellable and not on hand."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["location_id", "sku_id"]
        constraints = [
            models.UniqueConstraint(fields=["location", "sku"], name="stock_one_row_per_place"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="stock_reserved_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"
            ),
            models.CheckConstraint(
                condition=Q(safety_stock__gte=0), name="stock_safety_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reorder_point__gte=0), name="stock_reorder_point_not_negative"
            ),
            models.CheckConstraint(condition=Q(damaged__gte=0), name="stock_damaged_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id}@{self.location_id}"

    @property
    def available(self) -> int:
        return max(0, self.on_hand - self.reserved - self.safety_stock)


class StockMovement(models.Model):
    """Append-only ledger: on_hand of a stock level equals the sum of its rows' deltas.

    Reservations and releases change `reserved`, not `on_hand`; their rows carry
    `delta=0` and the reserved change in `reserved_delta`, so the ledger tells the whole
    story while the on-hand sum stays exact.
    """

    class Kind(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        SALE = "sale", "Sale"
        RETURN_RESTOCK = "return_restock", "Return restock"
        ADJUSTMENT = "adjustment", "Adjustment"
        CYCLE_COUNT = "cycle_count", "Cycle-count correction"
        TRANSFER_OUT = "transfer_out", "Transfer out"
        TRANSFER_IN = "transfer_in", "Transfer in"
        RESERVATION = "reservation", "Reservation"
        RELEASE = "release", "Release"
        DAMAGE = "damage", "Damage"

    stock_level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="movements")
    # Denormalised so the ledger filters by place and SKU without a join.
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    delta = models.IntegerField(help_text="Change to on hand.")
    reserved_delta = models.IntegerField(default=0, help_text="Change to reserved.")
    balance_after = models.IntegerField(help_text="On hand after this movement.")
    reason = models.CharField(max_length=200, blank=True)
    reference_type = models.CharField(
        max_length=32, blank=True, help_text="order, pos_sale, return, transfer, count..."
    )
    reference_id = models.CharField(max_length=64, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_token = models.ForeignKey(
        "omni.ApiToken", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["sku", "location", "-created_at"]),
            models.Index(fields=["reference_type", "reference_id"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="movement_balance_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.delta:+d} {self.sku_id}@{self.location_id}"


class Reservation(models.Model):
    """Units held at one location for a cart, an order or a pickup until they expire.

    While a reservation is active its quantity is counted in the stock level's `reserved`;
    releasing, expiring or committing it gives that back (committing as a sale). Status only
    moves forward from `active`, by compare-and-set in `inventory.services.reservations`.
    """

    class OwnerType(models.TextChoices):
        CART = "cart", "Cart"
        ORDER = "order", "Order"
        PICKUP = "pickup", "Pickup"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RELEASED = "released", "Released"
        COMMITTED = "committed", "Committed"
        EXPIRED = "expired", "Expired"

    owner_type = models.CharField(max_length=16, choices=OwnerType.choices)
    owner_ref = models.CharField(max_length=64, help_text="The cart, order or pickup id.")
    basket = models.UUIDField(
        null=True, blank=True, db_index=True, help_text="Lines reserved together."
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="reservations")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="reservations")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField()
    needs_resourcing = models.BooleanField(
        default=False,
        help_text="Released because the store ran out (e.g. a POS sale took the units); "
        "the owner must source these units elsewhere.",
    )
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_token = models.ForeignKey(
        "omni.ApiToken", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner_type", "owner_ref"]),
            models.Index(
                fields=["expires_at"],
                condition=Q(status="active"),
                name="reservation_active_expiry",
            ),
            models.Index(
                fields=["location", "sku"],
                condition=Q(status="active"),
                name="reservation_active_place",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="reservation_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(status="active", closed_at__isnull=True)
                | (~Q(status="active") & Q(closed_at__isnull=False)),
                name="reservation_closed_when_not_active",
            ),
        ]

    def __str__(self) -> str:
        owner = f"{self.owner_type}:{self.owner_ref}"
        return f"{self.quantity}× {self.sku_id}@{self.location_id} for {owner}"


class PosStockSale(models.Model):
    """The stock side of one POS sale, recorded once per (location, POS reference).

    The sale already happened in the store, so it is never refused; `lines` keeps what was
    sold so a repeated post of the same reference is recognised and answered the same way.
    """

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=64, help_text="The register's sale id.")
    lines = models.JSONField(help_text='[{"sku": "CODE", "quantity": 2}, ...]')
    sold_at = models.DateTimeField(null=True, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_token = models.ForeignKey(
        "omni.ApiToken", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "POS stock sale"
        constraints = [
            models.UniqueConstraint(
                fields=["location", "reference"], name="pos_sale_once_per_reference"
            ),
        ]

    def __str__(self) -> str:
        return f"POS sale {self.reference}@{self.location_id}"


class StockDiscrepancy(models.Model):
    """Recorded stock and reality disagreed; the store investigates and closes it."""

    class Kind(models.TextChoices):
        POS_OVERSALE = "pos_oversale", "POS sold more than recorded"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="discrepancies")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    recorded_on_hand = models.IntegerField(help_text="On hand before the event.")
    quantity = models.PositiveIntegerField(help_text="Units the event needed, e.g. sold.")
    shortfall = models.PositiveIntegerField(help_text="Units that were not on record.")
    movement = models.ForeignKey(
        StockMovement, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reference_type = models.CharField(max_length=32, blank=True)
    reference_id = models.CharField(max_length=64, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "stock discrepancies"
        constraints = [
            models.CheckConstraint(
                condition=Q(shortfall__gt=0), name="discrepancy_shortfall_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.sku_id}@{self.location_id} short {self.shortfall}"


class Transfer(models.Model):
    """Stock moving between two locations: requested → picked → in transit → received →
    closed (or cancelled before it ships). Status only changes through
    `inventory.services.transfers`, by compare-and-set against `TRANSITIONS` there."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        PICKED = "picked", "Picked"
        IN_TRANSIT = "in_transit", "In transit"
        PARTIALLY_RECEIVED = "partially_received", "Partially received"
        RECEIVED = "received", "Received"
        CLOSED = "closed", "Closed"
        CANCELLED = "cancelled", "Cancelled"

    source = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="transfers_out")
    destination = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="transfers_in")
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.REQUESTED, db_index=True
    )
    expected_arrival = models.DateField(
        null=True, blank=True, help_text="When the destination can expect it (set on shipping)."
    )
    note = models.CharField(max_length=200, blank=True)
    reference = models.CharField(
        max_length=64, blank=True, help_text="Why it exists, e.g. order:123 or replenishment."
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    picked_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(source=F("destination")), name="transfer_not_to_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"Transfer #{self.pk}"


class TransferLine(models.Model):
    """One SKU on a transfer. `discrepancy` = shipped − received, recorded on receipt."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="+")
    quantity_requested = models.PositiveIntegerField()
    quantity_shipped = models.PositiveIntegerField(default=0)
    quantity_received = models.PositiveIntegerField(default=0)
    discrepancy = models.IntegerField(default=0)
    discrepancy_note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["transfer_id", "sku_id"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "sku"], name="transfer_one_line_per_sku"),
            models.CheckConstraint(
                condition=Q(quantity_requested__gt=0), name="transfer_line_requested_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity_received__lte=F("quantity_shipped")),
                name="transfer_line_received_within_shipped",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id} × {self.quantity_requested}"


class StockLookup(Sku):
    """Admin entry for the counter's "find a SKU, see stock here and nearby" page."""

    class Meta:
        proxy = True
        verbose_name = "stock lookup"
        verbose_name_plural = "stock lookup"


class LowStockLevel(StockLevel):
    """Admin entry for stock levels below their reorder point."""

    class Meta:
        proxy = True
        verbose_name = "low-stock item"
        verbose_name_plural = "low-stock list"
