"""Admin pages for support cases, the loyalty ledger, feedback and activity events.

Registered from `CustomersConfig.ready` (beside the customer admin, which lives in
`customers/admin.py`). Ledgers and events are read-only here: they change only through
their services.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import models
from django.utils.html import format_html

from customers.models import (
    ActivityEvent,
    CaseMessage,
    Feedback,
    LoyaltyEntry,
    LoyaltyPolicy,
    SupportCase,
)
from customers.services import cases as case_services


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CaseMessageInline(admin.TabularInline):
    model = CaseMessage
    extra = 1
    fields = ["created_at", "kind", "author_label", "channel", "body"]
    readonly_fields = ["created_at", "author_label"]
    ordering = ["created_at", "id"]
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 3, "cols": 70})}
    }

    def has_change_permission(self, request, obj=None) -> bool:
        # The thread is append-only: staff add messages, they never rewrite them.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CustomerContextMixin:
    @admin.display(description="Customer")
    def customer_link(self, obj) -> str:
        customer = obj.customer
        identities = ", ".join(str(identity) for identity in customer.identities.all()[:3])
        return format_html(
            "<strong>{}</strong><br><small>{}</small>", str(customer), identities or "—"
        )


@admin.register(SupportCase)
class SupportCaseAdmin(CustomerContextMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "subject",
        "customer_link",
        "status",
        "priority",
        "assignee",
        "channel",
        "order_reference",
        "location",
        "updated_at",
    ]
    list_display_links = ["id", "subject"]
    list_filter = ["status", "priority", "channel", ("assignee", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["customer", "assignee", "location"]
    search_fields = [
        "subject",
        "order_reference",
        "customer__first_name",
        "customer__last_name",
        "customer__identities__value",
    ]
    autocomplete_fields = []
    raw_id_fields = ["customer"]
    readonly_fields = [
        "status",
        "customer_context",
        "created_at",
        "updated_at",
        "resolved_at",
        "closed_at",
        "opened_by",
    ]
    fieldsets = [
        (None, {"fields": ["subject", "customer", "customer_context", "status", "priority"]}),
        ("Who and where", {"fields": ["assignee", "channel", "location", "order_reference"]}),
        (
            "History",
            {"fields": ["opened_by", "created_at", "updated_at", "resolved_at", "closed_at"]},
        ),
    ]
    inlines = [CaseMessageInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        # A case is part of the customer's history: close it, never delete it.
        return False

    actions = ["mark_pending", "mark_resolved", "mark_closed", "reopen", "assign_to_me"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("customer__identities")

    @admin.display(description="Customer context")
    def customer_context(self, case: SupportCase) -> str:
        if not case.pk:
            return "—"
        customer = case.customer
        others = customer.support_cases.exclude(pk=case.pk).order_by("-created_at")[:5]
        account = getattr(customer, "loyalty_account", None)
        metrics = getattr(customer, "metrics", None)
        return format_html(
            "{}<br>Identities: {}<br>Loyalty: {}<br>Lifecycle: {}<br>Other cases: {}",
            str(customer),
            ", ".join(str(identity) for identity in customer.identities.all()) or "—",
            f"{account.balance} points, {account.get_tier_display()}" if account else "—",
            (
                f"{metrics.get_lifecycle_stage_display()}, {metrics.order_count} order(s)"
                if metrics
                else "—"
            ),
            ", ".join(f"#{other.pk} {other.subject} ({other.status})" for other in others) or "—",
        )

    def save_model(self, request, obj, form, change):
        if change:
            # Assignment goes through its service (it leaves a note in the thread); the
            # other editable fields are plain descriptive data.
            others = [name for name in form.changed_data if name != "assignee"]
            if others:
                obj.save(update_fields=[*others, "updated_at"])
            if "assignee" in form.changed_data:
                case_services.assign_case(case=obj, assignee=obj.assignee, actor=request.user)
            return
        created = case_services.open_case(
            customer=obj.customer,
            subject=obj.subject,
            channel=obj.channel,
            priority=obj.priority,
            order_reference=obj.order_reference,
            location=obj.location,
            assignee=obj.assignee,
            opened_by=request.user,
        )
        obj.pk = created.pk

    def save_formset(self, request, form, formset, change):
        # New messages go through the service (a customer message reopens the case);
        # existing ones are never edited. The admin's change log reads these lists.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for message_form in formset.forms:
            if not message_form.has_changed() or message_form.instance.pk:
                continue
            data = message_form.cleaned_data
            if not data or data.get("DELETE"):
                continue
            message = case_services.add_case_message(
                case=form.instance,
                kind=data["kind"],
                body=data["body"],
                channel=data.get("channel") or "",
                author=request.user,
            )
            formset.new_objects.append(message)

    def _move(self, request, queryset, status: str) -> None:
        moved, refused = 0, 0
        for case in queryset:
            try:
                case_services.change_case_status(case=case, status=status, actor=request.user)
                moved += 1
            except case_services.CaseTransitionNotAllowed:
                refused += 1
        self.message_user(request, f"{moved} case(s) updated, {refused} refused.")

    @admin.action(description="Mark as pending customer")
    def mark_pending(self, request, queryset):
        self._move(request, queryset, "pending")

    @admin.action(description="Mark as resolved")
    def mark_resolved(self, request, queryset):
        self._move(request, queryset, "resolved")

    @admin.action(description="Close")
    def mark_closed(self, request, queryset):
        self._move(request, queryset, "closed")

    @admin.action(description="Reopen")
    def reopen(self, request, queryset):
        self._move(request, queryset, "open")

    @admin.action(description="Assign to me")
    def assign_to_me(self, request, queryset):
        for case in queryset:
            try:
                case_services.assign_case(case=case, assignee=request.user, actor=request.user)
            except case_services.CaseClosed:
                continue


@admin.register(LoyaltyEntry)
class LoyaltyEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "customer",
        "kind",
        "points",
        "balance_after",
        "reference_type",
        "reference_id",
        "reason",
        "actor_label",
    ]
    list_filter = ["kind"]
    list_select_related = ["customer"]
    search_fields = ["reference_id", "customer__identities__value", "customer__last_name"]
    date_hierarchy = "created_at"


@admin.register(LoyaltyPolicy)
class LoyaltyPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "is_active",
        "points_per_unit",
        "currency",
        "silver_spend",
        "gold_spend",
        "expiry_months",
    ]


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "customer",
        "kind",
        "score",
        "order_reference",
        "case",
        "location",
        "channel",
    ]
    list_filter = ["kind", "score", "channel", "location"]
    list_select_related = ["customer", "case", "location"]
    search_fields = ["order_reference", "comment", "customer__identities__value"]
    raw_id_fields = ["customer", "case"]


@admin.register(ActivityEvent)
class ActivityEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "occurred_at",
        "type",
        "channel",
        "customer",
        "device_id",
        "location",
        "event_id",
    ]
    list_filter = ["type", "channel"]
    list_select_related = ["customer", "location"]
    search_fields = ["event_id", "device_id", "customer__identities__value"]
    date_hierarchy = "occurred_at"
