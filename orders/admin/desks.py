"""The store desks: the pickup queue and the daily store summary (the returns desk is in
`orders.admin.returns`). Each is a page of its own under /admin/orders/; its buttons call
the services and report the outcome in plain words."""

from __future__ import annotations

import hmac
from datetime import date

from django.contrib import admin, messages
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode

from omni.auth import Actor, can_use_location, has_scope
from omni.errors import DomainError
from orders.admin.access import ScopedAdminPermissions, desk_location, desk_locations
from orders.models import Fulfilment, PickupDesk, StoreDaySummary
from orders.selectors import PICKUP_METHODS, pickup_queue, store_summary, store_today
from orders.services import fulfilment as steps


class DeskAdmin(ScopedAdminPermissions, admin.ModelAdmin):
    """A page instead of a change list."""

    template_name = ""
    title = ""

    def context(self, request, **extra) -> dict:
        location = extra.pop("location", None)
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": self.title,
            "subtitle": location.name if location else None,
            "location": location,
            "locations": desk_locations(request.user),
            "can_act": has_scope(request.user, "orders:write"),
            **extra,
        }

    def desk_url(self, location) -> str:
        url = reverse(
            f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_changelist"
        )
        return f"{url}?{urlencode({'location': location.code})}" if location else url


@admin.register(PickupDesk)
class PickupDeskAdmin(DeskAdmin):
    title = "Pickup queue"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/ready/", wrap(self.ready_view), name="orders_pickup_ready"),
            path("<int:pk>/collect/", wrap(self.collect_view), name="orders_pickup_collect"),
            path("scan/", wrap(self.scan_view), name="orders_pickup_scan"),
            path(
                "<int:pk>/receive-transfer/",
                wrap(self.receive_transfer_view),
                name="orders_pickup_receive_transfer",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        location = desk_location(request)
        queue = pickup_queue(location=location) if location else None
        sections = []
        if queue is not None:
            sections = [
                ("curbside", "Curbside arrivals waiting", queue.curbside_waiting),
                ("to-pick", "To pick", queue.to_pick),
                ("overdue", "Overdue", queue.overdue),
                ("due-today", "Due today", queue.due_today),
                ("ready", "Ready for pickup", queue.ready),
                ("transfer", "Waiting for a transfer", queue.awaiting_transfer),
            ]
        return TemplateResponse(
            request,
            "admin/orders/pickup_queue.html",
            self.context(request, location=location, queue=queue, sections=sections),
        )

    # --- Buttons -------------------------------------------------------------------------

    def _pickup(self, request, pk: int) -> Fulfilment:
        if not has_scope(request.user, "orders:write"):
            raise Http404
        part = get_object_or_404(
            Fulfilment.objects.select_related("order", "location", "transfer"),
            pk=pk,
            method__in=PICKUP_METHODS,
        )
        if not can_use_location(request.user, part.location_id):
            raise Http404("No such pickup in your stores.")
        return part

    def _back(self, part_or_location) -> HttpResponseRedirect:
        location = getattr(part_or_location, "location", part_or_location)
        return HttpResponseRedirect(self.desk_url(location))

    def _attempt(self, request, part, do, success: str) -> HttpResponseRedirect:
        try:
            do()
        except DomainError as refused:
            messages.error(request, f"Order {part.order.number}: {refused.message}")
        else:
            messages.success(request, success)
        return self._back(part)

    def ready_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        part = self._pickup(request, pk)
        return self._attempt(
            request,
            part,
            lambda: steps.mark_ready_for_pickup(fulfilment=part, actor=Actor.of(request.user)),
            f"Order {part.order.number} is ready for pickup; the customer has been told.",
        )

    def collect_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        part = self._pickup(request, pk)
        code = request.POST.get("code", "").strip()
        if not code:
            messages.error(request, f"Order {part.order.number}: type or scan the pickup code.")
            return self._back(part)
        return self._attempt(
            request,
            part,
            lambda: steps.collect_pickup(fulfilment=part, code=code, actor=Actor.of(request.user)),
            f"Order {part.order.number} handed over to the customer.",
        )

    def scan_view(self, request):
        """A scanner types the customer's pickup code and Enter: find the one pickup ready
        at this store with that code and hand it over."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        location = desk_location(request)
        if location is None or not has_scope(request.user, "orders:write"):
            raise Http404
        code = request.POST.get("code", "").strip()
        ready = Fulfilment.objects.select_related("order", "location").filter(
            location=location, method__in=PICKUP_METHODS, status=Fulfilment.Status.READY_FOR_PICKUP
        )
        # Compared in constant time, not looked up by value: a store's queue is short, and
        # timing must not tell which codes exist.
        matches = [part for part in ready if hmac.compare_digest(part.pickup_code, code)][:2]
        if not code or not matches:
            messages.error(request, f"No order ready here has the pickup code “{code}”.")
            return self._back(location)
        if len(matches) > 1:
            messages.warning(
                request, "Two orders share this code; collect from the order's own card."
            )
            return self._back(location)
        part = matches[0]
        return self._attempt(
            request,
            part,
            lambda: steps.collect_pickup(fulfilment=part, code=code, actor=Actor.of(request.user)),
            f"Order {part.order.number} handed over to the customer.",
        )

    def receive_transfer_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        part = self._pickup(request, pk)
        return self._attempt(
            request,
            part,
            lambda: steps.receive_pickup_transfer(fulfilment=part, actor=Actor.of(request.user)),
            f"Transfer for order {part.order.number} received; pick it now.",
        )


@admin.register(StoreDaySummary)
class StoreDaySummaryAdmin(DeskAdmin):
    title = "Daily store summary"

    def changelist_view(self, request, extra_context=None):
        location = desk_location(request)
        summary = None
        day = None
        if location is not None:
            day = store_today(location)
            raw = request.GET.get("day")
            if raw:
                try:
                    day = date.fromisoformat(raw)
                except ValueError:
                    messages.error(request, "Give the day as YYYY-MM-DD.")
            summary = store_summary(location=location, day=day)
        return TemplateResponse(
            request,
            "admin/orders/store_summary.html",
            self.context(request, location=location, summary=summary, day=day),
        )
