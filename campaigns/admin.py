"""Admin for marketers: the campaign editor (the main message's variants in the same form,
with a preview per channel as a chosen customer) and the delivery log."""

from __future__ import annotations

import json
from contextvars import ContextVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import escape, format_html, format_html_join

from campaigns.models import Campaign, Delivery, DeliveryChannel
from campaigns.rendering import customer_context, render_email, render_push, render_sms
from campaigns.services import editing, sending
from campaigns.services import messages as campaign_messages
from customers.models import Customer
from omni.errors import DomainError

VARIANT_FIELDS = {
    "email": ["subject", "preheader", "html", "text"],
    "sms": ["text"],
    "push": ["title", "body", "deep_link"],
}
LONG_TEXT = {("email", "html"), ("email", "text"), ("sms", "text")}
# The customer to preview as, from the change page's query string (readonly fields do not
# see the request).
_preview_customer: ContextVar[str | None] = ContextVar("preview_customer", default=None)


def _variant_field(channel: str, name: str) -> forms.CharField:
    widget = (
        forms.Textarea(attrs={"rows": 8 if name == "html" else 3, "cols": 90})
        if (channel, name) in LONG_TEXT
        else forms.TextInput(attrs={"size": 80})
    )
    return forms.CharField(
        required=False, strip=False, label=name.replace("_", " ").capitalize(), widget=widget
    )


class CampaignForm(forms.ModelForm):
    """The campaign and its main message in one form; the variants are saved through the
    editing service, which validates them."""

    channels = forms.MultipleChoiceField(
        choices=DeliveryChannel.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="For the priority strategy the order is push, then SMS, then email.",
    )
    email_subject = _variant_field("email", "subject")
    email_preheader = _variant_field("email", "preheader")
    email_html = _variant_field("email", "html")
    email_text = _variant_field("email", "text")
    sms_text = _variant_field("sms", "text")
    push_title = _variant_field("push", "title")
    push_body = _variant_field("push", "body")
    push_deep_link = _variant_field("push", "deep_link")

    class Meta:
        model = Campaign
        fields = [
            "name",
            "segment",
            "kind",
            "goal",
            "channel_strategy",
            "channels",
            "transactional",
            "holdout_percent",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        message = campaign_messages.message_for(self.instance) if self.instance.pk else None
        for channel, names in VARIANT_FIELDS.items():
            variant = campaign_messages.variant_of(message, channel)
            for name in names:
                self.initial.setdefault(f"{channel}_{name}", getattr(variant, name, ""))
        if self.instance.pk:
            # Keep the stored order (it is the priority) for the channels already chosen.
            self.initial["channels"] = list(self.instance.channels)

    def clean_channels(self):
        order = {"push": 0, "sms": 1, "email": 2}
        return sorted(self.cleaned_data["channels"], key=order.get)

    def variants(self) -> dict:
        result = {}
        for channel, names in VARIANT_FIELDS.items():
            data = {name: self.cleaned_data.get(f"{channel}_{name}", "") for name in names}
            result[channel] = data if any(value.strip() for value in data.values()) else None
        return result

    def clean(self):
        cleaned = super().clean()
        for channel, data in self.variants().items():
            if data is None:
                continue
            try:
                editing.clean_variant(channel, data)
            except DomainError as error:
                name = error.details.get("field") or (error.details.get("missing") or [None])[0]
                field = f"{channel}_{name}" if name else None
                self.add_error(field, error.message)
        return cleaned


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = [
        "name",
        "status",
        "channel_list",
        "sent_count",
        "skipped_count",
        "created_at",
        "results",
    ]
    change_list_template = "admin/campaigns/campaign_change_list.html"
    list_filter = ["status", "kind", "transactional", "channel_strategy"]
    search_fields = ["name"]
    readonly_fields = ["status", "public_id", "started_at", "finished_at", "preview"]
    actions = ["send_to_everyone_with_consent", "cancel"]

    def get_fieldsets(self, request, obj=None):
        def variant(channel):
            return [f"{channel}_{name}" for name in VARIANT_FIELDS[channel]]

        return [
            (
                None,
                {
                    "fields": [
                        "name",
                        "segment",
                        ("kind", "goal"),
                        ("channel_strategy", "channels"),
                        ("transactional", "holdout_percent"),
                        ("status", "started_at", "finished_at"),
                    ]
                },
            ),
            ("Email", {"fields": variant("email")}),
            ("SMS", {"fields": variant("sms")}),
            ("Push", {"fields": variant("push")}),
            ("Preview", {"fields": ["preview"]}),
        ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                sent=Count(
                    "deliveries",
                    filter=Q(deliveries__state__in=["sent", "delivered", "opened", "clicked"]),
                ),
                skipped=Count("deliveries", filter=Q(deliveries__state="skipped")),
            )
        )

    @admin.display(description="Channels")
    def channel_list(self, campaign: Campaign) -> str:
        joiner = " → " if campaign.channel_strategy == Campaign.Strategy.PRIORITY else " + "
        return joiner.join(campaign.channels)

    @admin.display(description="Sent", ordering="sent")
    def sent_count(self, campaign: Campaign) -> int:
        return campaign.sent

    @admin.display(description="Skipped", ordering="skipped")
    def skipped_count(self, campaign: Campaign):
        url = reverse("admin:campaigns_delivery_changelist")
        return format_html(
            '<a href="{}?campaign__id__exact={}&state__exact=skipped">{}</a>',
            url,
            campaign.pk,
            campaign.skipped,
        )

    @admin.display(description="Results")
    def results(self, campaign: Campaign):
        return format_html(
            '<a href="{}">Report</a> · <a href="{}">Schedule</a>',
            reverse("admin:campaigns_campaign_report", args=[campaign.pk]),
            reverse("admin:campaigns_campaign_schedule", args=[campaign.pk]),
        )

    def get_urls(self):
        from django.urls import path

        from campaigns import admin_results as pages

        wrap = self.admin_site.admin_view

        def page(view):
            return wrap(lambda request, **kwargs: view(self, request, **kwargs))

        return [
            path("<int:pk>/report/", page(pages.report_view), name="campaigns_campaign_report"),
            path(
                "<int:pk>/schedule/", page(pages.schedule_view), name="campaigns_campaign_schedule"
            ),
            path("calendar/", page(pages.calendar_view), name="campaigns_campaign_calendar"),
            path(
                "channel-mix/", page(pages.channel_mix_view), name="campaigns_campaign_channel_mix"
            ),
            *super().get_urls(),
        ]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        editing.set_message(campaign=obj, variants=form.variants())

    @admin.display(description="Preview")
    def preview(self, campaign: Campaign):
        if not campaign.pk:
            return "Save the campaign to preview it."
        wanted = _preview_customer.get()
        customer = None
        if wanted:
            try:
                customer = (
                    Customer.objects.select_related("preferred_store")
                    .filter(public_id=wanted)
                    .first()
                )
            except ValidationError:
                customer = None
        if customer is None:
            customer = (
                Customer.objects.exclude(first_name="").select_related("preferred_store").first()
            )
        message = campaign_messages.message_for(campaign)
        values = customer_context(customer)
        values["unsubscribe_url"] = "#unsubscribe"
        panels = []
        try:
            email = campaign_messages.variant_of(message, "email")
            if email is not None:
                rendered = render_email(email, values)
                panels.append(
                    format_html(
                        '<div class="campaign-preview"><h3>Email</h3>'
                        "<p><strong>{}</strong><br><small>{}</small></p>"
                        # Sandboxed without allow-scripts: nothing in the message runs.
                        '<iframe sandbox="allow-same-origin" srcdoc="{}" style="width:520px;'
                        'height:260px;border:1px solid #ccc;background:#fff"></iframe></div>',
                        rendered.subject,
                        rendered.preheader,
                        # The HTML is already rendered (and marked safe); the attribute
                        # needs it escaped once more.
                        escape(rendered.html),
                    )
                )
            sms = campaign_messages.variant_of(message, "sms")
            if sms is not None:
                rendered = render_sms(sms, values)
                count = rendered.segments
                panels.append(
                    format_html(
                        '<div class="campaign-preview"><h3>SMS</h3>'
                        '<p style="white-space:pre-wrap;max-width:320px;background:#e9f5e9;'
                        'padding:8px;border-radius:12px">{}</p>'
                        "<p><small>{} character units, {} ({} segment(s), {} left)</small></p>"
                        "</div>",
                        rendered.text,
                        count["units"],
                        count["encoding"].upper(),
                        count["segments"],
                        count["remaining"],
                    )
                )
            push = campaign_messages.variant_of(message, "push")
            if push is not None:
                rendered = render_push(push, values)
                panels.append(
                    format_html(
                        '<div class="campaign-preview"><h3>Push</h3>'
                        '<div style="max-width:320px;background:#f3f3f3;padding:8px;'
                        'border-radius:12px"><strong>{}</strong><br>{}<br>'
                        "<small>{}</small></div></div>",
                        rendered.title,
                        rendered.body,
                        rendered.deep_link,
                    )
                )
        except DomainError as error:
            return format_html('<p class="errornote">{}</p>', error.message)
        who = customer.full_name if customer else "an anonymous reader"
        header = format_html(
            "<p>As <strong>{}</strong> would read it "
            "(add <code>?preview_customer=&lt;public id&gt;</code> to the URL for another "
            "customer).</p>",
            who,
        )
        if not panels:
            return "No variants yet."
        return format_html(
            '{}<div style="display:flex;gap:24px;flex-wrap:wrap">{}</div>',
            header,
            format_html_join("", "{}", ((panel,) for panel in panels)),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        marker = _preview_customer.set(request.GET.get("preview_customer"))
        try:
            return super().change_view(request, object_id, form_url, extra_context)
        finally:
            _preview_customer.reset(marker)

    @admin.action(description="Send now to everyone with consent")
    def send_to_everyone_with_consent(self, request, queryset):
        for campaign in queryset:
            try:
                result = sending.send_campaign(campaign=campaign, all_with_consent=True)
            except DomainError as error:
                self.message_user(request, f"{campaign}: {error.message}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"{campaign}: {result.queued} queued, skipped {json.dumps(result.skipped)}.",
                messages.SUCCESS,
            )

    @admin.action(description="Cancel (stop what has not gone yet)")
    def cancel(self, request, queryset):
        for campaign in queryset:
            try:
                editing.cancel_campaign(campaign=campaign)
            except DomainError as error:
                self.message_user(request, f"{campaign}: {error.message}", messages.ERROR)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log: read-only, every state and skip reason."""

    list_display = ["customer", "channel", "outcome", "campaign", "address", "sent_at"]
    list_filter = ["state", "skip_reason", "channel", "transactional", "campaign"]
    list_select_related = ["campaign", "customer"]
    search_fields = ["address", "customer__first_name", "customer__last_name", "campaign__name"]
    date_hierarchy = "queued_at"
    show_full_result_count = False

    @admin.display(description="Outcome", ordering="state")
    def outcome(self, delivery: Delivery):
        label = delivery.get_state_display()
        if delivery.state == Delivery.State.DEFERRED and delivery.deferred_until:
            return format_html(
                "{}<br><small>until {:%Y-%m-%d %H:%M} UTC</small>", label, delivery.deferred_until
            )
        if delivery.skip_reason:
            return format_html("{}<br><small>{}</small>", label, delivery.get_skip_reason_display())
        if delivery.error:
            return format_html("{}<br><small>{}</small>", label, delivery.error[:80])
        return label

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# The segment builder, the journey editor and the enrolment list live in their own
# modules; imported here so they register.
from campaigns import journey_admin, segment_admin  # noqa: E402, F401, I001
