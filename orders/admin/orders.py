"""Orders across channels, read-only: every field is owned by a service (checkout, the
fulfilment steps, returns), so the admin shows them and the desks change them."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from omni.admin import follow_store_in_lists, list_follows_store
from omni.stores import current_location
from orders.admin.access import ScopedAdminPermissions, desk_locations
from orders.models import (
    CreditAccount,
    CreditEntry,
    DiscountCode,
    Fulfilment,
    Notification,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    Promotion,
    ReturnPolicy,
)
from orders.selectors import orders_at, visible_orders


def money(amount, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


class ReadOnlyInline(ScopedAdminPermissions, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields


class LineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["sku", "item", "quantity", "unit_price", "discount", "tax", "total", "part"]
    verbose_name_plural = "lines"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sku", "fulfilment__location")

    @admin.display(description="item")
    def item(self, line: OrderLine) -> str:
        return line.sku.name

    @admin.display(description="how")
    def part(self, line: OrderLine) -> str:
        part = line.fulfilment
        if part is None:
            return "—"
        return f"{part.get_method_display()}, {part.location.name}"


class FulfilmentInline(ReadOnlyInline):
    model = Fulfilment
    fields = ["method", "location", "status", "progress", "transfer"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("location", "transfer")

    @admin.display(description="progress")
    def progress(self, part: Fulfilment) -> str:
        """The part's dates and details in one readable line."""
        stamp = "%d %b %H:%M"
        steps = []
        if part.ready_at:
            steps.append(f"ready {part.ready_at:{stamp}}")
        if part.pickup_deadline and not part.collected_at:
            steps.append(f"collect by {part.pickup_deadline:{stamp}}")
        if part.arrived_at:
            note = f" ({part.arrival_note})" if part.arrival_note else ""
            steps.append(f"arrived {part.arrived_at:{stamp}}{note}")
        if part.collected_at:
            steps.append(f"collected {part.collected_at:{stamp}}")
        if part.shipped_at:
            steps.append(
                f"shipped {part.shipped_at:{stamp}} by {part.carrier} {part.tracking_number}"
            )
        if part.delivered_at:
            steps.append(f"delivered {part.delivered_at:{stamp}}")
        return " · ".join(steps) or "—"


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["method", "amount", "currency", "external_reference", "captured", "created_at"]


class EventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["created_at", "kind", "from_status", "to_status", "who", "details"]
    verbose_name_plural = "history"

    @admin.display(description="details")
    def details(self, event: OrderEvent) -> str:
        data = event.data or {}
        if "reason" in data:
            return str(data["reason"])
        if "fulfilments" in data:
            return "; ".join(
                f"{part.get('method', '').replace('_', ' ')} at {part.get('location')}"
                for part in data["fulfilments"]
            )
        return ", ".join(f"{key}: {value}" for key, value in data.items()) or "—"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor_user", "actor_token")

    @admin.display(description="who")
    def who(self, event: OrderEvent) -> str:
        if event.actor_user_id:
            return event.actor_user.get_username()
        if event.actor_token_id:
            return f"{event.actor_token.name} (token)"
        return "system"


class NotificationInline(ReadOnlyInline):
    model = Notification
    fields = ["created_at", "template", "channel", "recipient", "status", "sent_at"]
    verbose_name_plural = "messages to the customer"


class LocationFilter(admin.SimpleListFilter):
    """Placed there, or fulfilled from or collected there; only the user's stores."""

    title = "store"
    parameter_name = "store"

    def lookups(self, request, model_admin):
        return [(location.code, location.name) for location in desk_locations(request.user)]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        touches = Fulfilment.objects.filter(order=OuterRef("pk"), location__code=self.value())
        return queryset.filter(Q(location__code=self.value()) | Exists(touches))


@admin.register(Order)
class OrderAdmin(ScopedAdminPermissions, admin.ModelAdmin):
    list_display = [
        "number",
        "placed",
        "where",
        "customer_name",
        "status",
        "total_display",
    ]
    list_filter = ["channel", "status", LocationFilter, "placed_at"]
    list_select_related = ["customer", "location"]
    search_fields = ["=number", "=client_reference", "email", "phone", "customer__last_name"]
    date_hierarchy = "placed_at"
    show_full_result_count = False
    list_per_page = 50

    inlines = [
        LineInline,
        FulfilmentInline,
        PaymentInline,
        EventInline,
        NotificationInline,
    ]
    fieldsets = [
        (None, {"fields": ["number", "channel", "location", "status", "placed_at"]}),
        (
            "Customer",
            {"fields": ["customer_link", "email", "phone", "client_reference", "campaign"]},
        ),
        (
            "Money",
            {
                "fields": [
                    "currency",
                    "subtotal",
                    "discount_total",
                    "discount_code",
                    "tax_total",
                    "shipping_total",
                    "total",
                ]
            },
        ),
        ("Notes", {"fields": ["notes"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [field for fieldset in self.fieldsets for field in fieldset[1]["fields"]]

    def get_queryset(self, request):
        queryset = visible_orders(request.user, super().get_queryset(request))
        if list_follows_store(request):
            here = current_location(request)
            if here is not None:
                queryset = orders_at(queryset, [here.pk])
        return queryset

    def changelist_view(self, request, extra_context=None):
        follow_store_in_lists(request)
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Another store's order does not exist for this clerk: a plain 404, not the
        # admin's "perhaps it was deleted" redirect that would confirm it exists.
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404("No such order in your stores.")
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="placed", ordering="placed_at")
    def placed(self, order: Order) -> str:
        return timezone.localtime(order.placed_at).strftime("%d %b %y, %H:%M")

    @admin.display(description="channel", ordering="channel")
    def where(self, order: Order) -> str:
        """The channel, and the store for orders placed in one."""
        channel = order.get_channel_display()
        return f"{channel}, {order.location.name}" if order.location else channel

    @admin.display(description="customer", ordering="customer__last_name")
    def customer_name(self, order: Order) -> str:
        if order.customer is None:
            return order.email or order.phone or "—"
        name = f"{order.customer.first_name} {order.customer.last_name}".strip()
        return name or order.email or str(order.customer.public_id)[:8]

    @admin.display(description="customer")
    def customer_link(self, order: Order) -> str:
        if order.customer is None:
            return "—"
        return format_html(
            "{} <small>({})</small>", self.customer_name(order), order.customer.public_id
        )

    @admin.display(description="total", ordering="total")
    def total_display(self, order: Order) -> str:
        return money(order.total, order.currency)


# --- For administrators and marketers (Django model permissions) ----------------------------


class DiscountCodeInline(admin.TabularInline):
    model = DiscountCode
    extra = 0
    fields = ["code", "single_use", "max_redemptions", "times_redeemed", "expires_at", "issued_to"]
    readonly_fields = ["times_redeemed", "issued_to"]
    show_change_link = False


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "value", "minimum_spend", "starts_at", "ends_at", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "codes__code"]
    filter_horizontal = ["eligible_skus", "eligible_categories"]
    inlines = [DiscountCodeInline]


@admin.register(DiscountCode)
class DiscountCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "promotion", "single_use", "times_redeemed", "expires_at"]
    list_select_related = ["promotion"]
    search_fields = ["=code", "issued_by_campaign"]
    list_filter = ["single_use", "promotion"]
    readonly_fields = ["times_redeemed", "issued_to"]


@admin.register(ReturnPolicy)
class ReturnPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "required_condition", "allows_store_credit"]
    filter_horizontal = ["final_sale_categories"]


class CreditEntryInline(admin.TabularInline):
    model = CreditEntry
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "amount", "balance_after", "reference", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin):
    """Balances move only through the credit services; the ledger is append-only."""

    list_display = ["__str__", "kind", "balance", "currency", "expires_at"]
    list_filter = ["kind", "currency"]
    search_fields = ["=number", "customer__last_name"]
    readonly_fields = ["kind", "customer", "number", "currency", "balance", "created_at"]
    inlines = [CreditEntryInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def order_url(order_id: int) -> str:
    return reverse("admin:orders_order_change", args=[order_id])
