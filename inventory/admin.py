"""The inventory admin for store staff and planners.

Access follows the staff roles' API scopes (`omni.auth`), not Django model permissions:
whoever may read stock through the API may read it here, and store staff see only their
stores' movements, transfers and low-stock items. Actions call services.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Q, Sum
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from inventory import admin_views, selectors
from inventory.distance import point_of
from inventory.models import (
    Brand,
    Category,
    Location,
    LowStockLevel,
    Product,
    Sku,
    StockLookup,
    StockMovement,
    Transfer,
    TransferLine,
)
from inventory.services import transfers
from inventory.services.ledger import Actor
from omni import audit
from omni.admin import LocationScopedAdminMixin, follow_store_in_lists, list_follows_store
from omni.auth import has_scope, visible_location_ids
from omni.errors import DomainError


class ScopeAccessAdminMixin:
    """Admin permissions from the caller's scopes: any of `read_scopes` to view,
    `write_scope` to add, change and delete (None: read-only page)."""

    read_scopes: tuple[str, ...] = ("stock:read", "catalog:read")
    write_scope: str | None = None

    def _reads(self, request) -> bool:
        return any(has_scope(request.user, scope) for scope in self.read_scopes)

    def _writes(self, request) -> bool:
        return self.write_scope is not None and has_scope(request.user, self.write_scope)

    def has_module_permission(self, request) -> bool:
        return self._reads(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._reads(request) or self._writes(request)

    def has_add_permission(self, request, *args) -> bool:
        return self._writes(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._writes(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _stock_table(sku: Sku, *, near_location: Location | None):
    """Stock of one SKU at every location, nearest to `near_location` first."""
    [entry] = selectors.availability([sku], near=point_of(near_location))
    return entry


@admin.register(Location)
class LocationAdmin(ScopeAccessAdminMixin, admin.ModelAdmin):
    write_scope = "catalog:write"
    list_display = [
        "name",
        "code",
        "kind",
        "city",
        "country",
        "time_zone",
        "offers_click_and_collect",
        "offers_curbside",
        "ships_to_customers",
        "is_active",
    ]
    list_filter = ["kind", "country", "is_active", "ships_to_customers", "offers_click_and_collect"]
    search_fields = ["name", "code", "city"]
    fieldsets = [
        (None, {"fields": ["code", "name", "kind", "is_active"]}),
        (
            "Address",
            {
                "fields": [
                    "address_line",
                    "city",
                    "region",
                    "postcode",
                    "country",
                    ("latitude", "longitude"),
                    "time_zone",
                    "opening_hours",
                ]
            },
        ),
        (
            "Services",
            {
                "fields": [
                    "sells_in_store",
                    "offers_click_and_collect",
                    "offers_curbside",
                    "ships_to_customers",
                    "accepts_returns",
                    "pickup_hold_days",
                ]
            },
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj else []


@admin.register(Category)
class CategoryAdmin(ScopeAccessAdminMixin, admin.ModelAdmin):
    write_scope = "catalog:write"
    list_display = ["name", "slug", "parent"]
    list_select_related = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Brand)
class BrandAdmin(ScopeAccessAdminMixin, admin.ModelAdmin):
    write_scope = "catalog:write"
    list_display = ["name"]
    search_fields = ["name"]


class SkuInline(admin.TabularInline):
    model = Sku
    fields = ["code", "barcode", "name", "price", "currency", "cost", "is_active"]
    extra = 0
    show_change_link = True


@admin.register(Product)
class ProductAdmin(ScopeAccessAdminMixin, admin.ModelAdmin):
    write_scope = "catalog:write"
    list_display = ["name", "slug", "category", "brand", "variants", "is_active"]
    list_select_related = ["category", "brand"]
    list_filter = ["category", "brand", "is_active"]
    search_fields = ["name", "slug", "skus__code", "skus__barcode"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [SkuInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(variant_count=Count("skus"))

    @admin.display(description="SKUs", ordering="variant_count")
    def variants(self, product) -> int:
        return product.variant_count


@admin.register(Sku)
class SkuAdmin(ScopeAccessAdminMixin, admin.ModelAdmin):
    write_scope = "catalog:write"
    list_display = ["code", "barcode", "name", "price_tag", "on_hand_total", "is_active"]
    list_select_related = ["product"]
    list_filter = ["is_active", "product__category", "product__brand", "currency"]
    search_fields = ["=code", "=barcode", "name", "product__name"]
    autocomplete_fields = ["product"]
    readonly_fields = ["stock_here_and_nearby", "recent_changes"]
    change_list_template = "admin/inventory/sku/change_list.html"
    fieldsets = [
        (None, {"fields": ["product", ("code", "barcode"), "name"]}),
        ("Stock", {"fields": ["stock_here_and_nearby"]}),
        ("Price", {"fields": [("price", "currency"), "cost"]}),
        ("Variant", {"fields": ["attributes", "is_active"], "classes": ["collapse"]}),
        ("Changes by staff and integrations", {"fields": ["recent_changes"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(on_hand_sum=Sum("stock_levels__on_hand"))

    def get_urls(self):
        extra = [
            path(
                "import-csv/",
                self.admin_site.admin_view(admin_views.catalog_import_view),
                name="inventory_sku_import",
            ),
            path(
                "export-stock-csv/",
                self.admin_site.admin_view(admin_views.export_stock_view),
                name="inventory_sku_export_stock",
            ),
        ]
        return extra + super().get_urls()

    @admin.display(description="Price", ordering="price")
    def price_tag(self, sku) -> str:
        return f"{sku.price} {sku.currency}"

    @admin.display(description="On hand (all places)", ordering="on_hand_sum")
    def on_hand_total(self, sku) -> int:
        return sku.on_hand_sum or 0

    @admin.display(description="Audit trail")
    def recent_changes(self, sku) -> str:
        if sku.pk is None:
            return "—"
        request = getattr(self, "_request", None)
        context = audit.trail(sku=sku, user=request.user if request else None)
        return render_to_string("admin/omni/audit_trail.html", context)

    @admin.display(description="Stock here and nearby")
    def stock_here_and_nearby(self, sku) -> str:
        if sku.pk is None:
            return "—"
        request = getattr(self, "_request", None)
        here = admin_views.current_location(request) if request else None
        entry = _stock_table(sku, near_location=here)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    place.location.name,
                    "" if place.distance_km is None else f"{place.distance_km:g} km",
                    place.on_hand,
                    place.available,
                    place.status.replace("_", " "),
                )
                for place in entry.places
            ),
        )
        history = reverse("admin:inventory_stockmovement_changelist") + f"?sku__id__exact={sku.pk}"
        lookup = reverse("admin:inventory_stocklookup_changelist") + f"?q={sku.code}"
        return format_html(
            '<table class="omni-stock"><thead><tr><th>Location</th><th>Distance</th>'
            "<th>On hand</th><th>Available</th><th>Status</th></tr></thead><tbody>{}</tbody>"
            '</table><p><a href="{}">Movement history</a> · <a href="{}">Stock lookup</a></p>',
            rows,
            history,
            lookup,
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._request = request
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(StockLookup)
class StockLookupAdmin(ScopeAccessAdminMixin, admin.ModelAdmin):
    """The counter's page: scan or type, see stock here and in the nearest stores."""

    read_scopes = ("stock:read",)

    def get_urls(self):
        site = self.admin_site
        return [
            path(
                "adjust/",
                site.admin_view(admin_views.stock_change_view),
                {"admin_site": site, "kind": "adjust"},
                name="inventory_stock_adjust",
            ),
            path(
                "count/",
                site.admin_view(admin_views.stock_change_view),
                {"admin_site": site, "kind": "count"},
                name="inventory_stock_count",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        return admin_views.stock_lookup_view(request, admin_site=self.admin_site)


@admin.register(StockMovement)
class StockMovementAdmin(LocationScopedAdminMixin, ScopeAccessAdminMixin, admin.ModelAdmin):
    """The ledger, read-only. Store staff see their own stores' movements."""

    read_scopes = ("stock:read",)
    list_display = [
        "created_at",
        "place",
        "sku",
        "kind",
        "change",
        "balance_after",
        "why",
        "actor",
    ]
    list_select_related = ["location", "sku", "actor_user", "actor_token"]
    list_filter = ["kind", "location", "created_at"]
    search_fields = ["=sku__code", "=sku__barcode", "reason", "=reference_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="Location", ordering="location__name")
    def place(self, movement) -> str:
        return movement.location.name

    @admin.display(description="On hand ±", ordering="delta")
    def change(self, movement) -> str:
        text = f"{movement.delta:+d}" if movement.delta else "0"
        if movement.reserved_delta:
            text += f" (reserved {movement.reserved_delta:+d})"
        return text

    @admin.display(description="Reason / reference")
    def why(self, movement) -> str:
        reference = f"{movement.reference_type} {movement.reference_id}".strip()
        return " · ".join(part for part in (movement.reason, reference) if part)

    @admin.display(description="By")
    def actor(self, movement) -> str:
        if movement.actor_user_id:
            return str(movement.actor_user)
        if movement.actor_token_id:
            return f"token: {movement.actor_token.name}"
        return "system"


class TransferLineInline(admin.TabularInline):
    model = TransferLine
    fields = [
        "sku",
        "quantity_requested",
        "quantity_shipped",
        "quantity_received",
        "discrepancy",
        "discrepancy_note",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Transfer)
class TransferAdmin(ScopeAccessAdminMixin, admin.ModelAdmin):
    """Transfers with their state; staff of a store see transfers from or to it."""

    read_scopes = ("stock:read",)
    write_scope = "stock:write"
    list_display = [
        "number",
        "from_place",
        "to_place",
        "status",
        "expected_arrival",
        "units",
        "created_at",
    ]
    list_display_links = ["number"]
    list_select_related = ["source", "destination"]
    list_filter = [
        "status",
        ("source", admin.RelatedOnlyFieldListFilter),
        ("destination", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["=id", "reference", "lines__sku__code"]
    readonly_fields = [
        "source",
        "destination",
        "status",
        "expected_arrival",
        "note",
        "reference",
        "requested_by",
        "created_at",
        "picked_at",
        "shipped_at",
        "received_at",
        "closed_at",
        "cancelled_at",
    ]
    inlines = [TransferLineInline]
    actions = ["pick", "ship", "receive_everything", "close", "cancel"]

    def get_queryset(self, request):
        queryset = (
            super().get_queryset(request).annotate(unit_count=Sum("lines__quantity_requested"))
        )
        ids = visible_location_ids(request.user)
        if ids is None:
            return queryset
        return queryset.filter(Q(source__in=ids) | Q(destination__in=ids))

    def has_add_permission(self, request) -> bool:
        # Transfers start from the API, a sourcing decision or replenishment suggestions.
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # A transfer changes only through its actions (services), never by editing fields.
        return obj is None and self._writes(request)

    @admin.display(description="Transfer", ordering="pk")
    def number(self, transfer) -> str:
        return f"#{transfer.pk}"

    @admin.display(description="From", ordering="source__name")
    def from_place(self, transfer) -> str:
        return transfer.source.name

    @admin.display(description="To", ordering="destination__name")
    def to_place(self, transfer) -> str:
        return transfer.destination.name

    @admin.display(description="Units", ordering="unit_count")
    def units(self, transfer) -> int:
        return transfer.unit_count or 0

    def _apply(self, request, queryset, step, label: str) -> None:
        done, refused = 0, []
        for transfer in queryset.order_by("pk"):
            try:
                step(transfer=transfer, actor=Actor.of(request.user))
                done += 1
            except DomainError as exc:
                refused.append(f"#{transfer.pk}: {exc.message}")
        if done:
            self.message_user(request, f"{label}: {done} transfer(s).", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.ERROR)

    @admin.action(description="Mark picked", permissions=["change"])
    def pick(self, request, queryset):
        self._apply(request, queryset, transfers.pick_transfer, "Picked")

    @admin.action(description="Ship (stock leaves the source)", permissions=["change"])
    def ship(self, request, queryset):
        self._apply(request, queryset, transfers.ship_transfer, "Shipped")

    @admin.action(description="Receive everything outstanding", permissions=["change"])
    def receive_everything(self, request, queryset):
        self._apply(request, queryset, transfers.receive_transfer, "Received")

    @admin.action(description="Close", permissions=["change"])
    def close(self, request, queryset):
        self._apply(request, queryset, transfers.close_transfer, "Closed")

    @admin.action(description="Cancel (before shipping)", permissions=["change"])
    def cancel(self, request, queryset):
        self._apply(request, queryset, transfers.cancel_transfer, "Cancelled")


@admin.register(LowStockLevel)
class LowStockAdmin(ScopeAccessAdminMixin, admin.ModelAdmin):
    """Stock levels below their reorder point, and transfers from warehouses to fix them."""

    read_scopes = ("stock:read",)
    write_scope = "stock:write"
    list_display = [
        "sku",
        "place",
        "product",
        "on_hand",
        "reserved",
        "available",
        "reorder_point",
    ]
    list_filter = ["location", "sku__product__category"]
    search_fields = ["=sku__code", "=sku__barcode", "sku__product__name"]
    actions = ["request_replenishment"]

    def get_queryset(self, request):
        ids = visible_location_ids(request.user)
        if list_follows_store(request):
            here = admin_views.current_location(request)
            if here is not None:
                ids = {here.pk}
        return selectors.low_stock_levels(location_ids=ids, model=LowStockLevel)

    def changelist_view(self, request, extra_context=None):
        follow_store_in_lists(request)
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # Editing happens through counts and adjustments; only the action needs this.
        return obj is None and self._writes(request)

    @admin.display(description="Location", ordering="location__name")
    def place(self, level) -> str:
        return level.location.name

    @admin.display(description="Product")
    def product(self, level) -> str:
        return level.sku.product.name

    @admin.display(description="Available", ordering="available_now")
    def available(self, level) -> int:
        return level.available_now

    @admin.action(description="Request transfers from warehouses", permissions=["change"])
    def request_replenishment(self, request, queryset):
        location_ids = set(queryset.values_list("location_id", flat=True))
        wanted = set(queryset.values_list("location_id", "sku_id"))
        suggestions = [
            item
            for item in selectors.replenishment_suggestions(location_ids=location_ids)
            if (item.destination.pk, item.sku.pk) in wanted
        ]
        if not suggestions:
            self.message_user(
                request, "No warehouse has spare stock for these items.", messages.WARNING
            )
            return
        created = transfers.create_replenishment_transfers(
            suggestions=suggestions, actor=Actor.of(request.user)
        )
        self.message_user(
            request,
            f"Requested {len(created)} transfer(s) for {len(suggestions)} item(s).",
            messages.SUCCESS,
        )
