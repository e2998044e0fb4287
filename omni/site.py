"""Omni's admin site: the home page is the dashboard of the user's role and store; every
page carries the store switcher and the global search in its header."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from omni.auth import has_scope, roles_of, visible_location_ids
from omni.dashboard import panels_for, render_dashboard
from omni.errors import DomainError
from omni.models import Role
from omni.search import global_search
from omni.stores import current_location, switch_location, switchable_locations

# The counter's pages, one click from anywhere: (label, url name, scope needed).
SHORTCUTS = [
    ("Find a customer", "admin:customers_customer_changelist", "customers:read"),
    ("Pickup queue", "admin:orders_pickupdesk_changelist", "orders:read"),
    ("Returns desk", "admin:orders_returnsdesk_changelist", "orders:read"),
    ("Stock lookup", "admin:inventory_stocklookup_changelist", "stock:read"),
]


def shortcuts_for(user) -> list[dict]:
    links = []
    for label, name, scope in SHORTCUTS:
        if not has_scope(user, scope):
            continue
        try:
            links.append({"label": label, "url": reverse(name)})
        except NoReverseMatch:
            continue
    return links


class OmniAdminSite(admin.AdminSite):
    site_header = "Omni"
    site_title = "Omni back office"
    index_title = "Dashboard"
    site_url = None
    # The header's shortcuts replace the sidebar, which takes a third of a tablet.
    enable_nav_sidebar = False

    def each_context(self, request):
        context = super().each_context(request)
        user = request.user
        if getattr(user, "is_authenticated", False) and user.is_staff:
            stores = list(switchable_locations(user))
            context.update(
                omni_here=current_location(request),
                omni_stores=stores,
                omni_all_stores=visible_location_ids(user) is None,
                omni_shortcuts=shortcuts_for(user),
                omni_roles=sorted(roles_of(user)),
            )
        return context

    def get_urls(self):
        return [
            path("apps/", self.admin_view(self.app_index_all), name="all_apps"),
            path("switch-store/", self.admin_view(self.switch_store), name="switch_store"),
            path("search/", self.admin_view(self.search), name="global_search"),
            *JobViews(self).urls(),
            *super().get_urls(),
        ]

    def index(self, request, extra_context=None):
        context = {
            **self.each_context(request),
            "title": "Dashboard",
            # At the counter the first thing typed (or scanned) is what to look for.
            "omni_focus_search": True,
            "panels": render_dashboard(request),
            "store_blocks_hidden": current_location(request) is None
            and any(panel.needs_store for panel in panels_for(request.user)),
            **(extra_context or {}),
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/omni/dashboard.html", context)

    def app_index_all(self, request):
        """Every page of every app, as Django's own index lists them."""
        return super().index(request, extra_context={"title": "All pages"})

    def switch_store(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        raw = request.POST.get("location", "")
        try:
            location = switch_location(request, int(raw) if raw.isdigit() else None)
        except LookupError as refused:
            messages.error(request, str(refused))
        else:
            messages.success(
                request,
                f"Working in {location.name}." if location else "Showing every store.",
            )
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target = reverse("admin:index")
        # A page chosen for the old store would keep showing it: drop its store choice.
        target = _without_location_param(target)
        return HttpResponseRedirect(target)

    def search(self, request):
        term = request.GET.get("q", "")
        results = global_search(request, term)
        straight = results.only_exact
        if straight is not None:
            return HttpResponseRedirect(straight.url)
        context = {
            **self.each_context(request),
            "title": "Search",
            "omni_focus_search": True,
            "results": results,
            "omni_query": results.term,
        }
        return TemplateResponse(request, "admin/omni/search.html", context)


def _without_location_param(url: str) -> str:
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "location"]
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- Background jobs and CSV import/export ---------------------------------------------------


class JobViews:
    """The job pages and the CSV flow, mounted on the admin site."""

    def __init__(self, site: admin.AdminSite) -> None:
        self.site = site

    def urls(self):
        wrap = self.site.admin_view
        return [
            path("jobs/", wrap(self.jobs), name="jobs"),
            path("jobs/start/<str:kind>/", wrap(self.start), name="job_start"),
            path("jobs/<int:pk>/", wrap(self.job), name="job"),
            path("jobs/<int:pk>/status.json", wrap(self.status), name="job_status"),
            path("csv/", wrap(self.csv_index), name="csv"),
            path("csv/<str:kind>/import/", wrap(self.csv_import), name="csv_import"),
            path("csv/<str:kind>/export/", wrap(self.csv_export), name="csv_export"),
        ]

    def _context(self, request, **extra) -> dict:
        return {**self.site.each_context(request), **extra}

    def jobs(self, request):
        from omni.jobs import startable_kinds
        from omni.models import Job

        jobs = Job.objects.select_related("created_by")
        if Role.ADMINISTRATOR not in roles_of(request.user):
            jobs = jobs.filter(created_by=request.user)
        return TemplateResponse(
            request,
            "admin/omni/jobs.html",
            self._context(
                request,
                title="Background jobs",
                jobs=list(jobs[:30]),
                startable=startable_kinds(request.user),
            ),
        )

    def start(self, request, kind: str):
        from omni.jobs import job_kind, job_url, start_job

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            if not job_kind(kind).startable:
                raise Http404
            job = start_job(kind=kind, user=request.user)
        except DomainError as refused:
            messages.error(request, refused.message)
            return HttpResponseRedirect(reverse("admin:jobs"))
        return HttpResponseRedirect(job_url(job))

    def job(self, request, pk: int):
        from omni.jobs import visible_job

        try:
            job = visible_job(request.user, pk)
        except DomainError:
            raise Http404 from None
        return TemplateResponse(
            request,
            "admin/omni/job.html",
            self._context(request, title=job.title, job=job),
        )

    def status(self, request, pk: int):
        from omni.jobs import visible_job

        try:
            job = visible_job(request.user, pk)
        except DomainError:
            raise Http404 from None
        return JsonResponse(
            {
                "state": job.state,
                "state_label": job.get_state_display(),
                "done": job.progress_done,
                "total": job.progress_total,
                "percent": job.percent,
                "note": job.progress_note,
                "finished": job.is_finished,
            }
        )

    def csv_index(self, request):
        from omni.csv_import import csv_importers

        importers = [
            importer
            for importer in csv_importers()
            if has_scope(request.user, importer.scope)
            or has_scope(request.user, importer.export_scope or importer.scope)
        ]
        return TemplateResponse(
            request,
            "admin/omni/csv_index.html",
            self._context(
                request,
                title="Import and export (CSV)",
                importers=[
                    {
                        "importer": importer,
                        "can_import": has_scope(request.user, importer.scope),
                        "can_export": importer.export is not None
                        and has_scope(request.user, importer.export_scope or importer.scope),
                    }
                    for importer in importers
                ],
            ),
        )

    def _importer(self, request, kind: str, *, exporting: bool = False):
        from omni.csv_import import csv_importer

        importer = csv_importer(kind)
        if importer is None:
            raise Http404
        scope = (importer.export_scope or importer.scope) if exporting else importer.scope
        if not has_scope(request.user, scope):
            raise PermissionDenied
        return importer

    def csv_import(self, request, kind: str):
        from omni.csv_import import MAX_UPLOAD_BYTES
        from omni.jobs import job_url, start_job

        importer = self._importer(request, kind)
        context = self._context(
            request, title=f"Import {importer.title.lower()}", importer=importer
        )
        template = "admin/omni/csv_import.html"
        if request.method != "POST":
            return TemplateResponse(request, template, context)
        if "confirm" in request.POST:
            text = request.POST.get("csv_text", "")
            job = start_job(
                kind=importer.job_kind,
                user=request.user,
                payload=text,
                params={"file": request.POST.get("file_name", "")[:200]},
                title=f"Import {importer.title.lower()}"
                + (
                    f" from {request.POST['file_name'][:100]}"
                    if request.POST.get("file_name")
                    else ""
                ),
            )
            return HttpResponseRedirect(job_url(job))
        upload = request.FILES.get("file")
        problem = None
        if upload is None:
            problem = "Choose a CSV file to upload."
        elif upload.size > MAX_UPLOAD_BYTES:
            problem = f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; split it."
        else:
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                problem = "The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again."
        if problem:
            context["problem"] = problem
            return TemplateResponse(request, template, context)
        checked = importer.check(text, request.user)
        context.update(checked=checked, csv_text=text, file_name=upload.name)
        return TemplateResponse(request, template, context)

    def csv_export(self, request, kind: str):
        importer = self._importer(request, kind, exporting=True)
        if importer.export is None:
            raise Http404
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{importer.kind}.csv"'
        importer.export(response, request.user)
        return response
