"""The segment builder for marketers: rules added and removed in the page with a live
count, and static lists uploaded with a preview before anything is written.

Permissions follow the API's scopes (`campaigns:read` to look, `campaigns:write` to
change), so a marketer needs no Django model permissions.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from campaigns.segment_models import Segment
from campaigns.segmentation import lists
from campaigns.segmentation import services as segments
from campaigns.segmentation.rules import FIELDS, validate_rules
from inventory.models import Category, Location, Product
from omni.auth import has_scope
from omni.errors import DomainError, error_body

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# How many products the builder offers in its list; more are typed by slug.
PRODUCT_OPTIONS = 2000


class SegmentForm(forms.ModelForm):
    rules = forms.JSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 90, "spellcheck": "false"}),
        help_text="What the rule builder keeps; shown for reference and for the API.",
    )

    class Meta:
        model = Segment
        fields = ["name", "description", "kind", "rules"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2, "cols": 90})}

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        rules = cleaned.get("rules")
        if (
            self.instance.pk
            and kind
            and kind != self.instance.kind
            and self.instance.campaigns.exists()
        ):
            self.add_error("kind", "Campaigns target this segment; its kind cannot change.")
        if kind == Segment.Kind.STATIC:
            cleaned["rules"] = {"all": []}
        elif "rules" not in self.errors:
            try:
                validate_rules(
                    rules if rules is not None else {"all": []}, segment_id=self.instance.pk
                )
            except DomainError as error:
                self.add_error("rules", f"{error.message} (at {error.details.get('path')})")
        return cleaned


def builder_options() -> dict:
    """What the builder's pickers offer: fields and the names rules can refer to."""
    return {
        "fields": [spec.describe() for spec in FIELDS.values()],
        "refs": {
            "product": list(
                Product.objects.filter(is_active=True)
                .order_by("name")
                .values("slug", "name")[:PRODUCT_OPTIONS]
            ),
            "category": list(Category.objects.order_by("name").values("slug", "name")),
            "store": [
                {"slug": code, "name": name}
                for code, name in Location.objects.filter(is_active=True)
                .order_by("name")
                .values_list("code", "name")
            ],
            "segment": [
                {"slug": str(public_id), "name": name}
                for public_id, name in Segment.objects.order_by("name").values_list(
                    "public_id", "name"
                )
            ],
        },
    }


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentForm
    list_display = ["name", "kind", "description", "campaign_count", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["name", "description"]
    readonly_fields = ["public_id", "list_tools"]
    change_form_template = "admin/campaigns/segment/change_form.html"

    # --- Permissions: the API's scopes --------------------------------------------------

    def has_module_permission(self, request) -> bool:
        return has_scope(request.user, "campaigns:read")

    def has_view_permission(self, request, obj=None) -> bool:
        return has_scope(request.user, "campaigns:read")

    def has_add_permission(self, request) -> bool:
        return has_scope(request.user, "campaigns:write")

    def has_change_permission(self, request, obj=None) -> bool:
        return has_scope(request.user, "campaigns:write")

    def has_delete_permission(self, request, obj=None) -> bool:
        # A segment something depends on (a campaign, another segment) is not deleted.
        return has_scope(request.user, "campaigns:write") and not (
            obj is not None and (obj.campaigns.exists() or segments.including_segments(obj))
        )

    def get_actions(self, request):
        # Deleting goes through the service, one segment at a time, so nothing another
        # segment or a campaign depends on is removed in bulk.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    # --- Pages --------------------------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.kind == Segment.Kind.STATIC:
            return [(None, {"fields": ["name", "description", "kind", "list_tools"]})]
        return [
            (None, {"fields": ["name", "description", "kind"]}),
            ("Rules as JSON", {"fields": ["rules"], "classes": ["collapse"]}),
        ]

    @admin.display(description="Campaigns")
    def campaign_count(self, segment: Segment) -> int:
        return segment.campaigns.count()

    @admin.display(description="Members")
    def list_tools(self, segment: Segment):
        if segment.pk is None:
            return "Save the segment, then upload its list."
        url = reverse("admin:campaigns_segment_upload", args=[segment.pk])
        return format_html(
            '{} customers on the list. <a class="button" href="{}">Upload a CSV list</a>',
            segment.members.count(),
            url,
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["builder_options"] = builder_options()
        context["count_url"] = reverse("admin:campaigns_segment_count")
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        values = {key: form.cleaned_data.get(key) for key in ("name", "description", "kind")}
        values["rules"] = form.cleaned_data.get("rules") or {"all": []}
        if change:
            saved = segments.update_segment(segment=obj, **values)
        else:
            saved = segments.create_segment(**values, created_by=request.user)
        obj.pk = saved.pk
        obj.__dict__.update(saved.__dict__)

    def delete_model(self, request, obj):
        segments.delete_segment(segment=obj)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("count/", wrap(self.count_view), name="campaigns_segment_count"),
            path("<int:pk>/upload/", wrap(self.upload_view), name="campaigns_segment_upload"),
            *super().get_urls(),
        ]

    def count_view(self, request):
        """The builder's live count: the same compiler as the API, nothing saved."""
        if request.method != "POST":
            return JsonResponse(error_body("method_not_allowed", "POST rules."), status=405)
        if not has_scope(request.user, "campaigns:read"):
            raise PermissionDenied
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse(error_body("malformed_request", "Send JSON."), status=400)
        rules = body.get("rules") if isinstance(body, dict) else None
        segment_id = body.get("segment") if isinstance(body, dict) else None
        segment_id = segment_id if isinstance(segment_id, int) else None
        try:
            count = segments.customers_matching(rules, segment_id=segment_id).count()
        except DomainError as error:
            return JsonResponse(
                error_body(error.code, error.message, error.details), status=error.status_code
            )
        return JsonResponse({"count": count})

    def upload_view(self, request, pk: int):
        if not has_scope(request.user, "campaigns:write"):
            raise PermissionDenied
        segment = get_object_or_404(Segment, pk=pk)
        if segment.kind != Segment.Kind.STATIC:
            raise Http404("Only a static segment holds a list.")
        form = UploadForm(request.POST or None, request.FILES or None)
        report = None
        text = ""
        if request.method == "POST" and form.is_valid():
            text = form.text()
            match_by = form.cleaned_data["match_by"] or None
            mode = form.cleaned_data["mode"]
            try:
                if "confirm" in request.POST:
                    result = lists.import_list(
                        segment=segment, text=text, match_by=match_by, mode=mode
                    )
                    messages.success(
                        request,
                        f"{result.matched} customers loaded into “{segment.name}”; "
                        f"it now holds {segment.members.count()}.",
                    )
                    return HttpResponseRedirect(
                        reverse("admin:campaigns_segment_change", args=[segment.pk])
                    )
                report = lists.check_list(text, match_by=match_by).report()
            except DomainError as error:
                if error.details.get("errors") is not None:
                    report = error.details
                else:
                    form.add_error(None, error.message)
        return TemplateResponse(
            request,
            "admin/campaigns/segment/upload.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": f"Upload a list into “{segment.name}”",
                "segment": segment,
                "form": form,
                "report": report,
                "csv_text": text,
                "member_count": segment.members.count(),
            },
        )


class UploadForm(forms.Form):
    file = forms.FileField(required=False, help_text="CSV with a header row.")
    csv_text = forms.CharField(required=False, widget=forms.HiddenInput, strip=False)
    match_by = forms.ChoiceField(
        required=False,
        choices=[("", "First of email, phone, customer_id")]
        + [(name, name) for name in lists.MATCH_COLUMNS],
    )
    mode = forms.ChoiceField(
        choices=[("replace", "Replace the list"), ("add", "Add to the list")], initial="replace"
    )

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is None and not cleaned.get("csv_text"):
            raise forms.ValidationError("Choose a CSV file.")
        if upload is not None:
            if upload.size > MAX_UPLOAD_BYTES:
                raise forms.ValidationError("The file is larger than 10 MB.")
            raw = upload.read()
            try:
                cleaned["csv_text"] = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError("The file is not UTF-8 text.") from None
        return cleaned

    def text(self) -> str:
        return self.cleaned_data["csv_text"]
