"""Admin: webhook endpoints (secret shown once) and the delivery log with every attempt
and a resend action."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from omni.errors import DomainError
from omni.webhooks import services
from omni.webhooks.models import EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices, widget=forms.CheckboxSelectMultiple, required=True
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "event_types", "is_active"]

    def clean_url(self):
        try:
            return services._clean_url(self.cleaned_data["url"])
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ["name", "url", "events", "is_active", "secret_hint", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]
    readonly_fields = ["secret_hint", "created_by", "created_at", "updated_at"]
    actions = ["rotate_secrets"]

    @admin.display(description="Events")
    def events(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.event_types)

    @admin.display(description="Secret")
    def secret_hint(self, endpoint: WebhookEndpoint) -> str:
        return endpoint.secret_hint if endpoint.pk else "made when you save"

    def save_model(self, request, obj, form, change):
        if change:
            services.update_endpoint(endpoint=obj, **form.cleaned_data)
            return
        endpoint = services.create_endpoint(**form.cleaned_data, created_by=request.user)
        obj.pk = endpoint.pk
        messages.warning(
            request,
            f"Copy this signing secret now; it will not be shown again: {endpoint.secret}",
        )

    @admin.action(description="Rotate the signing secret of selected endpoints")
    def rotate_secrets(self, request, queryset):
        for endpoint in queryset:
            services.rotate_secret(endpoint=endpoint)
            messages.warning(
                request, f"New secret for {endpoint.name} (shown once): {endpoint.secret}"
            )


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = [
        "number",
        "started_at",
        "status_code",
        "duration_ms",
        "error",
        "response_excerpt",
        "succeeded",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["number", "pk"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "event_type",
        "short_event_id",
        "endpoint_name",
        "state_badge",
        "attempts",
        "http_status",
        "next_try",
    ]
    list_filter = ["state", "event__type", "endpoint"]
    list_select_related = ["event", "endpoint"]
    search_fields = ["event__event_id", "endpoint__name", "endpoint__url"]
    readonly_fields = [
        "event_type",
        "event_id",
        "endpoint",
        "state",
        "attempts",
        "next_attempt_at",
        "first_attempted_at",
        "last_attempted_at",
        "delivered_at",
        "last_status_code",
        "last_error",
        "payload",
    ]
    fields = readonly_fields
    inlines = [AttemptInline]
    actions = ["resend"]
    date_hierarchy = "created_at"

    @admin.display(description="Event", ordering="event__type")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    @admin.display(description="Event ID")
    def event_id(self, delivery: WebhookDelivery) -> str:
        return str(delivery.event.event_id)

    @admin.display(description="Event ID")
    def short_event_id(self, delivery: WebhookDelivery) -> str:
        return format_html(
            '<span title="{}">{}…</span>', delivery.event.event_id, str(delivery.event.event_id)[:8]
        )

    @admin.display(description="Payload")
    def payload(self, delivery: WebhookDelivery) -> str:
        envelope = json.loads(services.body_of(delivery.event))
        return format_html(
            '<pre style="white-space: pre-wrap">{}</pre>', json.dumps(envelope, indent=2)
        )

    @admin.display(description="HTTP", ordering="last_status_code")
    def http_status(self, delivery: WebhookDelivery):
        return delivery.last_status_code

    @admin.display(description="Next try", ordering="next_attempt_at")
    def next_try(self, delivery: WebhookDelivery):
        return delivery.next_attempt_at

    @admin.display(description="Endpoint", ordering="endpoint__name")
    def endpoint_name(self, delivery: WebhookDelivery) -> str:
        return delivery.endpoint.name

    @admin.display(description="State", ordering="state")
    def state_badge(self, delivery: WebhookDelivery) -> str:
        return format_html(
            '<span class="badge badge-{}">{}</span>', delivery.state, delivery.get_state_display()
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Resend selected deliveries (same event ID)")
    def resend(self, request, queryset):
        resent = refused = 0
        for delivery in queryset:
            try:
                services.resend(delivery=delivery)
                resent += 1
            except DomainError:
                refused += 1
        self.message_user(request, f"Resent {resent}; {refused} still being tried were left alone.")
