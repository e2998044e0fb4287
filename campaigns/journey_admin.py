"""Admin for journeys: the editor (the steps as an ordered list to add to, edit, renumber
and remove, each checked as the API checks it), each step's message as a reader would see
it, and the enrolment list with where each customer stands."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from campaigns.journey_models import Enrollment, Journey, JourneyStep
from campaigns.models import Campaign
from campaigns.rendering import customer_context, render_email
from campaigns.services import journeys
from campaigns.services import messages as campaign_messages
from omni.errors import DomainError
from orders.models import Promotion

SHORT = "%d %b %H:%M"
SAMPLE_CONTEXT = {
    "cart": {
        "lines": [
            {
                "name": "Rain jacket M",
                "quantity": 1,
                "price": "120.00",
                "currency": "EUR",
                "stock_status": "low_stock",
                "only_left": 2,
                "discounted": True,
            }
        ]
    },
    "recommendations": [
        {"name": "Trail trousers", "price": "65.00", "currency": "EUR", "in_stock": True}
    ],
    "discount": {
        "code": "JEXAMPLE10",
        "label": "10%",
        "value": "10.00",
        "expires_at": "2026-12-01T00:00:00+00:00",
    },
    "order": {"number": "OM-2026-EXAMPLE", "items": ["Rain jacket M"]},
    "store": {"name": "Lisbon Chiado"},
}


class JourneyStepForm(forms.ModelForm):
    rule = forms.ChoiceField(
        choices=[("", "—")] + journeys.RULE_CHOICES,
        required=False,
        help_text="For 'continue only if' and 'exit when'.",
        widget=forms.Select(attrs={"style": "max-width:12em"}),
    )
    # Declared here so the admin does not wrap it in add/change/delete buttons.
    promotion = forms.ModelChoiceField(
        queryset=Promotion.objects.filter(is_active=True),
        required=False,
        help_text="A send step with a promotion issues a single-use code.",
        widget=forms.Select(attrs={"style": "max-width:9em"}),
    )

    class Meta:
        model = JourneyStep
        fields = ["position", "kind", "wait", "rule", "message_key", "promotion", "code_valid_days"]
        widgets = {
            "position": forms.NumberInput(attrs={"style": "width:3.5em"}),
            "kind": forms.Select(attrs={"style": "max-width:10em"}),
            "wait": forms.TextInput(attrs={"size": 8}),
            "message_key": forms.TextInput(attrs={"size": 9}),
            "code_valid_days": forms.NumberInput(attrs={"style": "width:3.5em"}),
        }
        help_texts = {"wait": "e.g. 1:00:00 or 3 00:00:00 (days hours:minutes:seconds)"}
        labels = {"code_valid_days": "Code days"}

    def clean(self):
        cleaned = super().clean()
        if self.cleaned_data.get("DELETE") or not cleaned.get("kind"):
            return cleaned
        try:
            journeys.check_step(
                kind=cleaned["kind"],
                wait=cleaned.get("wait"),
                rule=cleaned.get("rule") or "",
                message_key=cleaned.get("message_key") or "",
                code_valid_days=cleaned.get("code_valid_days") or 7,
            )
            journey = getattr(self.instance, "journey", None)
            key = cleaned.get("message_key") or ""
            if cleaned["kind"] == JourneyStep.Kind.SEND and journey is not None:
                if not journey.campaign.messages.filter(step_key=key).exists():
                    raise journeys.InvalidJourneyStep(
                        "The journey's campaign has no such message.", field="message_key"
                    )
        except DomainError as error:
            field = error.details.get("field")
            if field not in self.fields:
                field = "rule" if "rule" in error.details or "known" in error.details else None
            self.add_error(field, error.message)
        return cleaned


class JourneyStepInline(admin.TabularInline):
    model = JourneyStep
    form = JourneyStepForm
    extra = 1
    ordering = ["position"]
    autocomplete_fields = []
    verbose_name = "step"
    verbose_name_plural = "Steps, in order (renumber to reorder; tick Delete to remove)"


class JourneyForm(forms.ModelForm):
    class Meta:
        model = Journey
        fields = ["name", "key", "trigger", "trigger_after", "active", "campaign"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "campaign" in self.fields:
            self.fields["campaign"].queryset = Campaign.objects.filter(
                kind=Campaign.Kind.JOURNEY_STEP
            )

    def clean(self):
        cleaned = super().clean()
        try:
            journeys.check_trigger_after(
                trigger=cleaned.get("trigger"), trigger_after=cleaned.get("trigger_after")
            )
        except DomainError as error:
            self.add_error("trigger_after", error.message)
        return cleaned


@admin.register(Journey)
class JourneyAdmin(admin.ModelAdmin):
    form = JourneyForm
    inlines = [JourneyStepInline]
    list_display = ["name", "trigger", "active", "step_count", "enrolled", "outcomes"]
    list_filter = ["active", "trigger"]
    search_fields = ["name", "key"]
    readonly_fields = ["message_previews"]
    actions = ["switch_on", "switch_off"]
    fieldsets = [
        (None, {"fields": [("name", "key"), ("trigger", "trigger_after"), "active", "campaign"]}),
        ("Messages of the send steps", {"fields": ["message_previews"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("campaign")
            .annotate(
                steps_total=Count("steps", distinct=True),
                active_total=Count(
                    "enrollments", filter=Q(enrollments__state="active"), distinct=True
                ),
                completed_total=Count(
                    "enrollments", filter=Q(enrollments__state="completed"), distinct=True
                ),
                exited_total=Count(
                    "enrollments", filter=Q(enrollments__state="exited"), distinct=True
                ),
            )
        )

    @admin.display(description="Steps", ordering="steps_total")
    def step_count(self, journey):
        return journey.steps_total

    @admin.display(description="Active enrolments", ordering="active_total")
    def enrolled(self, journey):
        url = reverse("admin:campaigns_enrollment_changelist")
        return format_html(
            '<a href="{}?journey__id__exact={}&state__exact=active">{}</a>',
            url,
            journey.pk,
            journey.active_total,
        )

    @admin.display(description="Completed / exited")
    def outcomes(self, journey):
        return f"{journey.completed_total} / {journey.exited_total}"

    @admin.display(description="Previews")
    def message_previews(self, journey):
        if not journey.pk:
            return "Save the journey to see its messages."
        values = customer_context(None, SAMPLE_CONTEXT)
        values["first_name"] = "Ana"
        values["unsubscribe_url"] = "#unsubscribe"
        rows = []
        for message in journey.campaign.messages.select_related("email", "sms", "push"):
            email = campaign_messages.variant_of(message, "email")
            try:
                rendered = render_email(email, values) if email else None
            except DomainError as error:
                rows.append((message.step_key, error.message, ""))
                continue
            rows.append(
                (
                    message.step_key,
                    rendered.subject if rendered else "(no email)",
                    rendered.text[:240] if rendered else "",
                )
            )
        if not rows:
            return "The campaign has no messages yet."
        table = format_html_join(
            "",
            "<tr><td><code>{}</code></td><td><strong>{}</strong></td><td>{}</td></tr>",
            rows,
        )
        return format_html(
            '<table class="journey-messages"><tr><th>Message</th><th>Email subject</th>'
            "<th>Text, with sample data (a sample cart, code and order)</th></tr>{}</table>"
            '<p><small>Written in the <a href="{}">journey\'s campaign</a>.</small></p>',
            table,
            reverse("admin:campaigns_campaign_change", args=[journey.campaign_id]),
        )

    def save_formset(self, request, form, formset, change):
        with transaction.atomic():
            super().save_formset(request, form, formset, change)
            # Positions become 1..n in the order given, so the list reads as it runs.
            steps = list(JourneyStep.objects.filter(journey=form.instance).order_by("position"))
            for index, step in enumerate(steps, start=1):
                if step.position != index:
                    JourneyStep.objects.filter(pk=step.pk).update(position=index)

    @admin.action(description="Switch on")
    def switch_on(self, request, queryset):
        queryset.update(active=True)

    @admin.action(description="Switch off (enrolments wait where they are)")
    def switch_off(self, request, queryset):
        queryset.update(active=False)


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    """Who is on which journey, the step they are at, when it is due, why they left."""

    list_display = ["customer", "journey", "state_label", "step", "due"]
    list_filter = ["state", "journey", "exit_reason"]
    list_select_related = ["customer", "journey"]
    search_fields = ["customer__first_name", "customer__last_name", "trigger_key"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "journey",
        "customer",
        "trigger_key",
        "state",
        "step_position",
        "triggered_at",
        "due_at",
        "exit_reason",
        "attempts",
        "last_error",
        "history_table",
        "created_at",
        "finished_at",
    ]
    exclude = ["subject", "history", "reference_at"]
    show_full_result_count = False

    @admin.display(description="State", ordering="state")
    def state_label(self, enrollment):
        label = enrollment.get_state_display()
        if enrollment.exit_reason:
            return format_html("{}<br><small>{}</small>", label, enrollment.exit_reason)
        if enrollment.last_error:
            return format_html(
                "{}<br><small>retry {}: {}</small>",
                label,
                enrollment.attempts,
                enrollment.last_error[:60],
            )
        return label

    @admin.display(description="Step", ordering="step_position")
    def step(self, enrollment):
        return enrollment.step_position or "start"

    @admin.display(description="Next step due (UTC)", ordering="due_at")
    def due(self, enrollment):
        if enrollment.state != Enrollment.State.ACTIVE:
            ended = enrollment.finished_at
            return format_html("<small>ended {}</small>", ended.strftime(SHORT) if ended else "")
        return enrollment.due_at.strftime(SHORT)

    @admin.display(description="What happened")
    def history_table(self, enrollment):
        rows = [
            (
                entry.get("at", "")[:16].replace("T", " "),
                entry.get("event", ""),
                entry.get("message") or entry.get("rule") or "",
                entry.get("skipped")
                or ", ".join(f"{d['channel']}: {d['state']}" for d in entry.get("deliveries", []))
                or entry.get("code", ""),
            )
            for entry in enrollment.history
        ]
        if not rows:
            return "Nothing yet."
        return format_html(
            "<table><tr><th>When (UTC)</th><th>Event</th><th>Step</th><th>Outcome</th></tr>"
            "{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
