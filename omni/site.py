"""Omni's admin site: the home page is the dashboard of the user's role and store; every
page carries the store switcher and the global search in its header."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from omni.auth import has_scope, roles_of, visible_location_ids
from omni.dashboard import panels_for, render_dashboard
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
            *super().get_urls(),
        ]

    def index(self, request, extra_context=None):
        context = {
            **self.each_context(request),
            "title": "Dashboard",
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
            "results": results,
            "omni_query": results.term,
        }
        return TemplateResponse(request, "admin/omni/search.html", context)


def _without_location_param(url: str) -> str:
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "location"]
    return urlunsplit(parts._replace(query=urlencode(query)))
