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
from django.views import View

from inventory import selectors
from inventory.distance import point_of
from inventory.models import Location, Sku
from inventory.services.csv_exchange import (
    COLUMNS,
    CatalogImportInvalid,
    check_catalog_csv,
    export_stock_csv,
    import_catalog_csv,
)
from inventory.services.ledger import Actor
from omni.auth import has_scope, visible_location_ids
from omni.errors import DomainError

LOOKUP_LIMIT = 25


def current_location(user) -> Location | None:
    """The store a staff member is working in now, else their first store."""
    access = getattr(user, "staff_access", None)
    if access is None:
        return None
    if access.current_location_id:
        return access.current_location
    return access.locations.order_by("code").first()


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
    here = current_location(request.user)
    context = {
        **admin_site.each_context(request),
        "title": "Stock lookup",
        "query": query,
        "matches": matches,
        "here": here,
        "opts": Sku._meta,
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
        )
    return TemplateResponse(request, "admin/inventory/stock_lookup.html", context)


class CsvUploadForm(forms.Form):
    file = forms.FileField(help_text="UTF-8 CSV with a header row.")


class CatalogImportView(View):
    """Upload → validation report (nothing written) or preview → confirm → import."""

    admin = None
    template = "admin/inventory/csv_import.html"

    def _context(self, request, **extra):
        return {
            **self.admin.admin_site.each_context(request),
            "title": "Import products, SKUs and opening stock",
            "opts": Sku._meta,
            "columns": COLUMNS,
            **extra,
        }

    def dispatch(self, request, *args, **kwargs):
        if not has_scope(request.user, "catalog:write"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return TemplateResponse(
            request, self.template, self._context(request, form=CsvUploadForm())
        )

    def post(self, request):
        if "confirm" in request.POST:
            text = request.POST.get("csv_text", "")
            try:
                result = import_catalog_csv(text=text, actor=Actor.of(request.user))
            except CatalogImportInvalid as exc:
                return TemplateResponse(
                    request,
                    self.template,
                    self._context(request, form=CsvUploadForm(), errors=exc.details["errors"]),
                )
            except DomainError as exc:
                messages.error(request, exc.message)
                return redirect("admin:inventory_sku_import")
            messages.success(
                request,
                f"Imported {result.products} products, {result.skus} SKUs and "
                f"{result.receipts} opening receipts ({result.units} units).",
            )
            return redirect("admin:inventory_sku_changelist")
        form = CsvUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return TemplateResponse(request, self.template, self._context(request, form=form))
        try:
            text = form.cleaned_data["file"].read().decode("utf-8-sig")
        except UnicodeDecodeError:
            errors = [{"row": 1, "column": "", "error": "the file is not UTF-8 text"}]
            return TemplateResponse(
                request, self.template, self._context(request, form=form, errors=errors)
            )
        try:
            plan = check_catalog_csv(text=text)
        except CatalogImportInvalid as exc:
            return TemplateResponse(
                request,
                self.template,
                self._context(request, form=CsvUploadForm(), errors=exc.details["errors"]),
            )
        return TemplateResponse(
            request,
            self.template,
            self._context(request, plan=plan, preview=plan.rows[:50], csv_text=text),
        )


def export_stock_view(request):
    """Stock levels as CSV; store staff get their own stores."""
    if not has_scope(request.user, "stock:read"):
        raise PermissionDenied
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="stock.csv"'
    export_stock_csv(out=response, location_ids=visible_location_ids(request.user))
    return response
