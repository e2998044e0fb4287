"""Admin for the project's own records, and the store-scoping mixin every app uses."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from omni import audit, services
from omni.auth import visible_location_ids
from omni.models import ApiToken, AuditEntry, IdempotencyRecord, Scope, StaffAccess
from omni.stores import current_location


class LocationScopedAdminMixin:
    """Staff of one store see only their stores' rows, and a list shows the store chosen
    in the header's switcher (every store the user may see when none is chosen). Set
    `location_field` to the path of the row's location (e.g. "location" or
    "order__location")."""

    location_field = "location"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        ids = visible_location_ids(request.user)
        if ids is not None:
            queryset = queryset.filter(**{f"{self.location_field}__in": ids})
        if list_follows_store(request):
            here = current_location(request)
            if here is not None:
                queryset = queryset.filter(**{self.location_field: here.pk})
        return queryset

    def changelist_view(self, request, extra_context=None):
        follow_store_in_lists(request)
        return super().changelist_view(request, extra_context)


def follow_store_in_lists(request) -> None:
    """Mark a list view: its rows follow the header's store. Detail pages do not, so a
    link to another of the user's stores still opens."""
    request._omni_list_follows_store = True


def list_follows_store(request) -> bool:
    return getattr(request, "_omni_list_follows_store", False)


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, required=True
    )

    class Meta:
        model = ApiToken
        fields = ["name", "scopes", "locations", "rate_limit_per_minute"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ["name", "key_id", "scope_list", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "key_id"]
    readonly_fields = ["key_id", "created_at", "last_used_at", "revoked_at", "created_by"]
    filter_horizontal = ["locations"]
    actions = ["revoke"]

    @admin.display(description="Scopes")
    def scope_list(self, token: ApiToken) -> str:
        return ", ".join(token.scopes)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        token, plain = services.create_api_token(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            locations=form.cleaned_data["locations"],
            rate_limit_per_minute=form.cleaned_data["rate_limit_per_minute"],
            created_by=request.user,
        )
        obj.pk = token.pk
        obj.key_id = token.key_id
        messages.warning(
            request,
            f"Copy this token now; it will not be shown again: {plain}",
        )

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            services.revoke_api_token(token=token)
        self.message_user(request, f"Revoked at {timezone.now():%Y-%m-%d %H:%M} UTC.")


@admin.register(StaffAccess)
class StaffAccessAdmin(admin.ModelAdmin):
    list_display = ["user", "current_location"]
    list_select_related = ["user", "current_location"]
    search_fields = ["user__username", "user__email"]
    filter_horizontal = ["locations"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["owner", "key", "method", "path", "response_status", "created_at"]
    search_fields = ["owner", "key", "path"]
    readonly_fields = [field.name for field in IdempotencyRecord._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(LocationScopedAdminMixin, admin.ModelAdmin):
    """The audit log, read-only. Administrators see everything; store managers see the
    changes made at their stores."""

    list_display = [
        "occurred_at",
        "actor_label",
        "action",
        "object_label",
        "changed_fields",
        "ip_address",
    ]
    list_filter = [
        "actor_kind",
        "action",
        "object_type",
        ("occurred_at", admin.DateFieldListFilter),
    ]
    search_fields = [
        "actor_label",
        "action",
        "object_label",
        "=object_id",
        "=request_id",
        "=ip_address",
        "customer__public_id",
        "=sku__code",
    ]
    date_hierarchy = "occurred_at"
    list_per_page = 100
    show_full_result_count = False
    fields = [
        "occurred_at",
        ("actor_kind", "actor_label"),
        ("ip_address", "request_id"),
        "user_agent",
        "action",
        ("object_type", "object_id", "object_label"),
        ("customer", "sku", "location"),
        "before_pretty",
        "after_pretty",
    ]

    def get_readonly_fields(self, request, obj=None):
        return [
            name for item in self.fields for name in (item if isinstance(item, tuple) else (item,))
        ]

    def has_module_permission(self, request) -> bool:
        return audit.may_read_log(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Changed")
    def changed_fields(self, entry: AuditEntry) -> str:
        return ", ".join(sorted(entry.before.keys() | entry.after.keys())) or "—"

    @admin.display(description="Before")
    def before_pretty(self, entry: AuditEntry) -> str:
        return format_html("<pre>{}</pre>", json.dumps(entry.before, indent=2, sort_keys=True))

    @admin.display(description="After")
    def after_pretty(self, entry: AuditEntry) -> str:
        return format_html("<pre>{}</pre>", json.dumps(entry.after, indent=2, sort_keys=True))


from omni.webhooks import admin as webhooks_admin  # noqa: E402, F401 - registers its pages
