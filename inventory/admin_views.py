"""Admin pages that are not a model's list: the counter's stock lookup and the CSV import
(upload → report or preview → confirm) and export."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from inventory import selectors
from inventory.distance import point_of
from inventory.models import Location, Sku
from inventory.services.csv_exchange import (
    export_stock_csv,
)
from inventory.services.ledger import Actor
from omni import audit
from omni.auth import has_scope, visible_location_ids
from omni.charts import bar_chart
from omni.errors import DomainError
from omni.stores import current_location as switched_location

LOOKUP_LIMIT = 25


def current_location(request) -> Location | None:
    """The store the staff member is working in now (the header's store switcher)."""
    return switched_location(request)


def find_skus(query: str) -> list[Sku]:
    """An exact code or barcode wins (a scan); otherwise a name or code search."""
    query = query.strip()
    if not query:
        return []
    exact = list(
        Sku.objects.filter(Q(code__iexact=query) | Q(barcode=query)).select_related("product")
    )
    if exact:
        return exact
    return list(
        Sku.objects.filter(
            Q(code__icontains=query) | Q(name__icontains=query) | Q(product__name__icontains=query)
        )
        .select_related("product")
        .order_by("code")[:LOOKUP_LIMIT]
    )


def stock_lookup_view(request, *, admin_site):
    if not has_scope(request.user, "stock:read"):
        raise PermissionDenied
    query = request.GET.get("q", "")
    matches = find_skus(query)
    here = current_location(request)
    context = {
        **admin_site.each_context(request),
        "title": "Stock lookup",
        "query": query,
        "matches": matches,
        "here": here,
        "opts": Sku._meta,
        "can_change_stock": has_scope(request.user, "stock:write"),
    }
    if len(matches) == 1:
        sku = matches[0]
        [entry] = selectors.availability([sku], near=point_of(here))
        context.update(
            sku=sku,
            entry=entry,
            here_stock=next((p for p in entry.places if here and p.location.pk == here.pk), None),
            elsewhere=[p for p in entry.places if not here or p.location.pk != here.pk],
            history_url=reverse("admin:inventory_stockmovement_changelist")
            + f"?sku__id__exact={sku.pk}",
            change_url=reverse("admin:inventory_sku_change", args=[sku.pk]),
            **audit.trail(sku=sku, limit=5, user=request.user),
            stock_chart=bar_chart(
                [(place.location.name, place.available) for place in entry.places],
                title=f"{sku.code}: units available by location",
                highlight=here.name if here else None,
            )
            if entry.places
            else None,
        )
    return TemplateResponse(request, "admin/inventory/stock_lookup.html", context)


def catalog_import_view(request):
    """The catalogue import is the products import of the shared CSV flow (preview, then
    written all or nothing in the worker)."""
    if not has_scope(request.user, "catalog:write"):
        raise PermissionDenied
    return redirect("admin:csv_import", kind="products")


def export_stock_view(request):
    """Stock levels as CSV; store staff get their own stores."""
    if not has_scope(request.user, "stock:read"):
        raise PermissionDenied
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="stock.csv"'
    export_stock_csv(out=response, location_ids=visible_location_ids(request.user))
    return response


# --- adjust and count from the counter ------------------------------------------------------

ADJUSTMENT_REASONS = [
    ("found", "Found on the shop floor"),
    ("damaged", "Damaged, written off"),
    ("theft", "Missing, presumed stolen"),
    ("correction", "Correction of a booking error"),
    ("other", "Other (say why below)"),
]


class StockChangeForm(forms.Form):
    location = forms.ModelChoiceField(queryset=Location.objects.none())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        locations = Location.objects.filter(is_active=True).order_by("name")
        ids = visible_location_ids(user)
        if ids is not None:
            locations = locations.filter(pk__in=ids)
        self.fields["location"].queryset = locations


class AdjustForm(StockChangeForm):
    quantity_delta = forms.IntegerField(
        label="Change (+/−)", help_text="e.g. -1 for a unit that is gone, 2 for two found"
    )
    reason_code = forms.ChoiceField(label="Reason", choices=ADJUSTMENT_REASONS)
    note = forms.CharField(max_length=150, required=False)

    def clean_quantity_delta(self):
        value = self.cleaned_data["quantity_delta"]
        if value == 0:
            raise forms.ValidationError("A change of zero changes nothing.")
        return value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reason_code") == "other" and not cleaned.get("note"):
            self.add_error("note", "Say why.")
        return cleaned

    @property
    def reason(self) -> str:
        label = dict(ADJUSTMENT_REASONS)[self.cleaned_data["reason_code"]]
        note = self.cleaned_data.get("note")
        return f"{label}: {note}" if note else label


class CountForm(StockChangeForm):
    counted = forms.IntegerField(min_value=0, label="Units counted")
    expected = forms.IntegerField(widget=forms.HiddenInput)


def stock_change_view(request, *, admin_site, kind: str):
    """Adjust (with a reason) or count one SKU at one of the clerk's stores. The change is
    made by the stock services; a count taken against a stale quantity is refused."""
    if not has_scope(request.user, "stock:write"):
        raise PermissionDenied
    sku_id = request.GET.get("sku", "")
    sku = (
        Sku.objects.filter(pk=sku_id).select_related("product").first()
        if sku_id.isdigit()
        else None
    )
    if sku is None:
        return redirect("admin:inventory_stocklookup_changelist")
    form_class = AdjustForm if kind == "adjust" else CountForm
    here = current_location(request)
    chosen = request.GET.get("location") or (here.pk if here else None)
    if request.method == "POST":
        form = form_class(request.POST, user=request.user)
    else:
        form = form_class(user=request.user, initial={"location": chosen})
    places = form.fields["location"].queryset
    on_hand = {
        level.location_id: level.on_hand for level in sku.stock_levels.filter(location__in=places)
    }
    if kind == "count":
        # A count is for one place at a time, against the quantity shown when the page
        # opened; switching place reloads the page with that place's expected quantity.
        form.fields["location"].widget = forms.HiddenInput()
        if not form.is_bound:
            chosen_id = int(chosen) if chosen and str(chosen).isdigit() else None
            if chosen_id not in {place.pk for place in places}:
                chosen_id = places[0].pk if places else None
            form.initial = {"location": chosen_id, "expected": on_hand.get(chosen_id, 0)}
            chosen = chosen_id
    if form.is_bound and form.is_valid():
        try:
            _apply_stock_change(request, form, sku=sku, kind=kind)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect(reverse("admin:inventory_stocklookup_changelist") + f"?q={sku.code}")
    if form.is_bound:
        chosen = form.data.get("location")
    context = {
        **admin_site.each_context(request),
        "title": f"{'Adjust' if kind == 'adjust' else 'Count'} {sku.code}",
        "sku": sku,
        "form": form,
        "kind": kind,
        "on_hand": [(place, on_hand.get(place.pk, 0)) for place in places],
        "chosen": str(chosen or ""),
        "opts": Sku._meta,
    }
    return TemplateResponse(request, "admin/inventory/stock_change.html", context)


def _apply_stock_change(request, form, *, sku: Sku, kind: str) -> None:
    # The stock services (receive, adjust, count, reserve...) live in
    # `inventory.services.stock`; imported here so the admin loads without them.
    from inventory.services import stock as stock_services

    location = form.cleaned_data["location"]
    actor = Actor.of(request.user)
    if kind == "adjust":
        stock_services.adjust_stock(
            location=location,
            sku=sku,
            delta=form.cleaned_data["quantity_delta"],
            reason=form.reason,
            actor=actor,
        )
        messages.success(
            request,
            f"{sku.code} at {location.name}: {form.cleaned_data['quantity_delta']:+d} "
            f"({form.reason}).",
        )
    else:
        stock_services.count_stock(
            location=location,
            sku=sku,
            counted=form.cleaned_data["counted"],
            expected=form.cleaned_data["expected"],
            actor=actor,
        )
        messages.success(
            request, f"{sku.code} at {location.name}: counted {form.cleaned_data['counted']}."
        )
