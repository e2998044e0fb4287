"""The customers admin, built for a store associate: find anyone by whatever they give
(email, phone in any format, card number, name), see the whole customer on one page
(the 360 view), and merge duplicates after a side-by-side preview."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from customers import hooks
from customers.models import (
    ConsentEvent,
    Customer,
    CustomerMerge,
    DuplicateSuggestion,
    Identity,
    PrivacyRequest,
)
from customers.selectors import duplicate_suggestions, search_customers
from customers.services.consent import current_consent, record_consent
from customers.services.identity import attach_identity, dismiss_duplicate, update_profile
from customers.services.merge import merge_customers, unmerge_customers
from customers.services.privacy import erase_customer, export_customer
from customers.services.profile import preferences_of
from omni.auth import has_scope, roles_of
from omni.errors import DomainError
from omni.models import Role
from omni.stores import current_location


class ScopedAdminMixin:
    """Admin rights follow the API scopes of the staff member's role, so a store associate
    sees customers without any Django model permission being handed out."""

    def has_module_permission(self, request):
        return request.user.is_superuser or has_scope(request.user, "customers:read")

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or has_scope(request.user, "customers:read")

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser or has_scope(request.user, "customers:write")

    def has_add_permission(self, request):
        return False  # customers are created by resolve-or-create, never by hand

    def has_delete_permission(self, request, obj=None):
        return False  # erasure is a privacy action with its own audit


class IdentityInline(admin.TabularInline):
    model = Identity
    extra = 0
    fields = ["kind", "namespace", "value", "verified", "source_channel", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or has_scope(request.user, "customers:read")

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name_link", "email", "phone", "where", "since"]
    list_select_related = ["preferred_store"]
    list_filter = ["country", "preferred_store", "acquisition_channel"]
    list_per_page = 50
    search_fields = ["last_name"]  # shows the box; the search itself is get_search_results
    search_help_text = "Email, phone (any format), loyalty card, account or device id, or name."
    show_full_result_count = False
    inlines = [IdentityInline]
    actions = ["merge_selected"]
    readonly_fields = [
        "public_id",
        "merged_into",
        "erased_at",
        "acquisition_channel",
        "first_seen_channel",
        "first_seen_location",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["public_id", ("first_name", "last_name"), ("birth_date", "gender")]}),
        ("Where", {"fields": [("city", "region"), ("postcode", "country"), "preferred_store"]}),
        ("Language and time", {"fields": [("language", "time_zone")]}),
        (
            "Origin",
            {
                "fields": [
                    ("acquisition_channel", "first_seen_channel", "first_seen_location"),
                    ("merged_into", "erased_at"),
                    ("created_at", "updated_at"),
                ]
            },
        ),
    ]
    change_form_template = "admin/customers/customer/change_form.html"
    change_list_template = "admin/customers/customer/change_list.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "identities",
                    queryset=Identity.objects.filter(kind__in=["email", "phone"]).order_by("pk"),
                    to_attr="contact_identities",
                )
            )
        )

    def save_model(self, request, obj, form, change):
        # Through the service, so the edit takes the same lock as merges and identities.
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        update_profile(customer=obj, **changes)

    def changelist_view(self, request, extra_context=None):
        extra_context = {"title": "Find a customer", **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request, queryset, search_term):
        return search_customers(search_term, queryset), False

    def _contact(self, customer, kind):
        for identity in getattr(customer, "contact_identities", []):
            if identity.kind == kind:
                return identity.value
        return ""

    @admin.display(description="Email")
    def email(self, customer):
        return self._contact(customer, "email")

    @admin.display(description="Phone")
    def phone(self, customer):
        return self._contact(customer, "phone")

    @admin.display(description="Where", ordering="city")
    def where(self, customer):
        return ", ".join(part for part in (customer.city, customer.country) if part)

    @admin.display(description="Since", ordering="created_at")
    def since(self, customer):
        return f"{customer.created_at:%Y-%m-%d}"

    @admin.display(description="Customer", ordering="last_name")
    def name_link(self, customer):
        label = customer.full_name or "(no name)"
        if customer.merged_into_id:
            label += " (merged)"
        if customer.erased_at:
            label = "(erased)"
        url = reverse("admin:customers_customer_360", args=[customer.pk])
        return format_html('<a class="omni-big-link" href="{}">{}</a>', url, label)

    def get_urls(self):
        return [
            path(
                "<int:pk>/360/",
                self.admin_site.admin_view(self.view_360),
                name="customers_customer_360",
            ),
            path(
                "<int:pk>/360/consent/",
                self.admin_site.admin_view(self.record_consent_view),
                name="customers_customer_consent",
            ),
            path(
                "<int:pk>/360/identities/",
                self.admin_site.admin_view(self.add_identity_view),
                name="customers_customer_add_identity",
            ),
            path(
                "<int:pk>/export/",
                self.admin_site.admin_view(self.export_view),
                name="customers_customer_export",
            ),
            path(
                "<int:pk>/erase/",
                self.admin_site.admin_view(self.erase_view),
                name="customers_customer_erase",
            ),
            path(
                "merge/",
                self.admin_site.admin_view(self.merge_preview),
                name="customers_customer_merge",
            ),
            path(
                "duplicates/",
                self.admin_site.admin_view(self.duplicates_view),
                name="customers_customer_duplicates",
            ),
            *super().get_urls(),
        ]

    # --- The 360 page -------------------------------------------------------------------------

    def view_360(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        customer = get_object_or_404(
            Customer.objects.select_related(
                "preferred_store", "first_seen_location", "merged_into"
            ),
            pk=pk,
        )
        registered = hooks.panels_360()
        panels = []
        for panel in registered:
            extra = panel.context_fn(customer, request) or {}
            html = render_to_string(
                panel.template, {"customer": customer, **extra}, request=request
            )
            panels.append({"name": panel.name, "title": panel.title, "html": html})
        taken = {panel.name for panel in registered}
        placeholders = [
            {"name": name, "title": title}
            for name, title in hooks.PANEL_SLOTS_360.items()
            if name not in taken
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": customer.full_name or "Customer",
            "subtitle": "360 view",
            "customer": customer,
            "identities": customer.identities.all(),
            "consent": list(current_consent(customer).values()),
            "consent_history": customer.consent_events.select_related("source_location", "staff")[
                :10
            ],
            "preferences": preferences_of(customer),
            "addresses": customer.addresses.all(),
            "merged_from": customer.merged_from.all(),
            "merges": CustomerMerge.objects.filter(survivor=customer, unmerged_at__isnull=True)
            .select_related("merged", "merged_by")
            .order_by("-merged_at"),
            "panels": panels,
            "placeholders": placeholders,
            "can_change": self.has_change_permission(request, customer),
            "identity_kinds": Identity.Kind.choices,
            "can_erase": self.can_erase(request)
            and not customer.erased_at
            and not customer.merged_into_id,
        }
        return TemplateResponse(request, "admin/customers/customer/360.html", context)

    def record_consent_view(self, request, pk):
        """A clerk records a choice the customer states at the counter."""
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        customer = get_object_or_404(Customer, pk=pk)
        try:
            record_consent(
                customer=customer,
                channel=request.POST.get("channel", ""),
                status=request.POST.get("status", ""),
                source_channel="store",
                location=current_location(request),
                form="store counter",
                staff=request.user,
                evidence=f"stated at the counter, recorded by {request.user}",
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, "Consent recorded.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:customers_customer_360", args=[pk]))

    def add_identity_view(self, request, pk):
        """A clerk adds what the customer gives at the counter: a new phone, a card."""
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        customer = get_object_or_404(Customer, pk=pk)
        location = current_location(request)
        try:
            identity = attach_identity(
                customer=customer,
                kind=request.POST.get("kind", ""),
                value=request.POST.get("value", ""),
                namespace=request.POST.get("namespace", ""),
                region=(location.country if location else "") or customer.country or None,
                source_channel="store",
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(
                request, f"Added {identity.get_kind_display().lower()} {identity.value}."
            )
        return HttpResponseRedirect(reverse("admin:customers_customer_360", args=[pk]))

    def export_view(self, request, pk):
        """Everything about the customer as one JSON file (audited as a privacy export)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        customer = get_object_or_404(Customer, pk=pk)
        document = export_customer(customer=customer, user=request.user, reason="admin download")
        response = JsonResponse(document, json_dumps_params={"indent": 2, "ensure_ascii": False})
        response["Content-Disposition"] = (
            f'attachment; filename="customer-{customer.public_id}.json"'
        )
        return response

    def can_erase(self, request) -> bool:
        return request.user.is_superuser or Role.ADMINISTRATOR in roles_of(request.user)

    def erase_view(self, request, pk):
        """Erase (anonymise) a customer after a confirmation with the reason; refused while
        another part objects (e.g. an open order)."""
        if not self.can_erase(request):
            raise PermissionDenied
        customer = get_object_or_404(Customer, pk=pk)
        error = None
        if request.method == "POST":
            reason = request.POST.get("reason", "").strip()
            if not reason:
                error = "Give the reason (e.g. the customer's request and its date)."
            else:
                try:
                    erase_customer(customer=customer, user=request.user, reason=reason)
                except DomainError as exc:
                    error = exc.message
                else:
                    self.message_user(request, "The customer's personal data was erased.")
                    return HttpResponseRedirect(reverse("admin:customers_customer_360", args=[pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Erase {customer}",
            "customer": customer,
            "error": error,
        }
        return TemplateResponse(request, "admin/customers/customer/erase.html", context)

    # --- Duplicates and merging ---------------------------------------------------------------

    def duplicates_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST" and self.has_change_permission(request):
            pair = Customer.objects.in_bulk(
                [int(part) for part in request.POST.get("dismiss", "").split(",") if part.isdigit()]
            )
            if len(pair) == 2:
                first, second = pair.values()
                dismiss_duplicate(first=first, second=second)
                self.message_user(request, f"{first} and {second} will not be suggested again.")
            return HttpResponseRedirect(request.path)
        pairs = duplicate_suggestions(limit=200)
        customers = Customer.objects.prefetch_related(
            Prefetch(
                "identities",
                queryset=Identity.objects.filter(kind__in=["email", "phone"]).order_by("pk"),
                to_attr="contact_identities",
            )
        ).in_bulk({pair.first_id for pair in pairs} | {pair.second_id for pair in pairs})
        rows = [
            {
                "first": customers[pair.first_id],
                "second": customers[pair.second_id],
                "reason": pair.reason,
                "ids": f"{pair.first_id},{pair.second_id}",
            }
            for pair in pairs
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Possible duplicates",
            "rows": rows,
            "can_change": self.has_change_permission(request),
        }
        return TemplateResponse(request, "admin/customers/customer/duplicates.html", context)

    @admin.action(description="Merge the two selected customers…")
    def merge_selected(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True)[:3])
        if len(ids) != 2:
            self.message_user(request, "Select exactly two customers to merge.", messages.WARNING)
            return None
        url = reverse("admin:customers_customer_merge")
        return HttpResponseRedirect(f"{url}?ids={ids[0]},{ids[1]}")

    def _side(self, customer):
        return {
            "customer": customer,
            "identities": list(customer.identities.all()),
            "consent": list(current_consent(customer).values()),
            "addresses": list(customer.addresses.all()),
            "preferences": preferences_of(customer),
        }

    def merge_preview(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied
        try:
            ids = [int(part) for part in request.GET.get("ids", "").split(",") if part]
        except ValueError:
            ids = []
        customers = list(
            Customer.objects.filter(pk__in=ids).select_related("preferred_store").order_by("pk")
        )
        if len(customers) != 2:
            self.message_user(request, "Pick two customers to merge.", messages.WARNING)
            return HttpResponseRedirect(reverse("admin:customers_customer_changelist"))
        error = None
        if request.method == "POST":
            survivor_id = request.POST.get("survivor")
            reason = request.POST.get("reason", "").strip()
            chosen = [customer for customer in customers if str(customer.pk) == survivor_id]
            if not chosen:
                error = "Choose which customer to keep."
            elif not reason:
                error = "Say why they are the same person (it is kept in the audit trail)."
            else:
                survivor = chosen[0]
                merged = next(customer for customer in customers if customer != survivor)
                try:
                    merge_customers(
                        survivor=survivor, merged=merged, reason=reason, user=request.user
                    )
                except DomainError as exc:
                    error = exc.message
                else:
                    self.message_user(
                        request,
                        f"Merged {merged} into {survivor}. This can be undone from Merges.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:customers_customer_360", args=[survivor.pk])
                    )
        fields = [
            ("Name", lambda c: c.full_name),
            ("Birth date", lambda c: c.birth_date or ""),
            ("City", lambda c: c.city),
            ("Postcode", lambda c: c.postcode),
            ("Country", lambda c: c.country),
            ("Preferred store", lambda c: c.preferred_store or ""),
            (
                "First seen",
                lambda c: f"{c.get_first_seen_channel_display()} {c.created_at:%Y-%m-%d}",
            ),
        ]
        rows = [
            {"label": label, "values": [getter(customer) for customer in customers]}
            for label, getter in fields
        ]
        for row in rows:
            row["differs"] = len({str(value) for value in row["values"]}) > 1
        sides = [self._side(customer) for customer in customers]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Merge two customers",
            "sides": sides,
            # Keep, by default, the customer with more identities (then the older one).
            "suggested": max(
                sides, key=lambda side: (len(side["identities"]), -side["customer"].pk)
            )["customer"].pk,
            "rows": rows,
            "error": error,
            "ids": ",".join(str(customer.pk) for customer in customers),
            "reason": request.POST.get("reason", ""),
            "participants": [participant.name for participant in hooks.merge_participants()],
        }
        return TemplateResponse(request, "admin/customers/customer/merge_preview.html", context)


@admin.register(CustomerMerge)
class CustomerMergeAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = [
        "merged_at",
        "survivor_link",
        "merged_link",
        "merged_by",
        "rule",
        "reason",
        "unmerged_at",
    ]
    list_select_related = ["survivor", "merged", "merged_by"]
    list_filter = ["unmerged_at"]
    actions = ["undo"]
    readonly_fields = [field.name for field in CustomerMerge._meta.fields]

    def _customer_link(self, customer):
        url = reverse("admin:customers_customer_360", args=[customer.pk])
        label = f"{customer.full_name or '(no name)'} · {str(customer.public_id)[:8]}"
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description="Survivor", ordering="survivor__last_name")
    def survivor_link(self, merge):
        return self._customer_link(merge.survivor)

    @admin.display(description="Merged away", ordering="merged__last_name")
    def merged_link(self, merge):
        return self._customer_link(merge.merged)

    @admin.action(description="Undo the selected merges")
    def undo(self, request, queryset):
        for merge in queryset.filter(unmerged_at__isnull=True).order_by("-merged_at"):
            try:
                unmerge_customers(
                    merge=merge, reason=f"undone in the admin by {request.user}", user=request.user
                )
            except DomainError as exc:
                self.message_user(request, f"{merge}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"Undid the merge of {merge.merged}.", messages.SUCCESS)


@admin.register(DuplicateSuggestion)
class DuplicateSuggestionAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["first", "second", "reason", "status", "created_at", "review"]
    list_select_related = ["first", "second"]
    list_filter = ["status"]
    actions = ["dismiss"]
    readonly_fields = ["first", "second", "reason", "created_at"]

    @admin.display(description="")
    def review(self, suggestion):
        url = reverse("admin:customers_customer_merge")
        return format_html(
            '<a class="button" href="{}?ids={},{}">Compare and merge</a>',
            url,
            suggestion.first_id,
            suggestion.second_id,
        )

    @admin.action(description="Dismiss: not the same person")
    def dismiss(self, request, queryset):
        queryset.filter(status=DuplicateSuggestion.Status.OPEN).update(
            status=DuplicateSuggestion.Status.DISMISSED
        )


@admin.register(ConsentEvent)
class ConsentEventAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """The consent history, read-only: changes go through the API or the 360 page."""

    list_display = ["occurred_at", "customer", "channel", "status", "source_channel", "form"]
    list_select_related = ["customer"]
    list_filter = ["channel", "status", "source_channel"]
    readonly_fields = [field.name for field in ConsentEvent._meta.fields]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "kind", "customer", "requested_by", "reason"]
    list_select_related = ["customer", "requested_by"]
    list_filter = ["kind"]
    readonly_fields = [field.name for field in PrivacyRequest._meta.fields]

    def has_change_permission(self, request, obj=None):
        return False
