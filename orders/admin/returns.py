"""The returns desk: any order, from any channel, handed back at this store.

Find the order (number, till receipt, or the customer's email or phone), choose the lines,
quantities and their condition, see the policy's verdict, choose the refund, confirm. The
counter does in one step what the returns services do in three (start at this store,
inspect, refund); if any of them refuses, none of it happened.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.http import urlencode

from omni.auth import Actor, has_scope, roles_of
from omni.errors import DomainError
from orders.admin.access import desk_location
from orders.admin.desks import DeskAdmin
from orders.models import Order, OrderLine, Return, ReturnLine, ReturnsDesk, SalesChannel
from orders.selectors import visible_orders
from orders.services import returns
from orders.services.return_policy import evaluate_return

CONDITIONS = [(value, label) for value, label in ReturnLine.Condition.choices if value != "pending"]
REFUND_METHODS = [
    (Return.RefundMethod.ORIGINAL_PAYMENT, "Original payment"),
    (Return.RefundMethod.STORE_CREDIT, "Store credit"),
]


def _returnable(found: list[Order]) -> list[Order]:
    orders = (
        Order.objects.filter(pk__in=[order.pk for order in found])
        .select_related("customer", "location")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=OrderLine.objects.select_related("sku__product", "fulfilment", "order"),
            ),
            "payments",
            Prefetch(
                "returns",
                queryset=Return.objects.filter(status=Return.Status.REQUESTED).prefetch_related(
                    Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line__sku"))
                ),
                to_attr="requested_returns",
            ),
        )
        .order_by("-placed_at")
    )
    for order in orders:
        order.desk_lines = list(order.lines.all())
        for line in order.desk_lines:
            line.verdict = evaluate_return(order_line=line, quantity=1)
    return list(orders)


@admin.register(ReturnsDesk)
class ReturnsDeskAdmin(DeskAdmin):
    title = "Returns desk"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("take/", wrap(self.take_view), name="orders_returns_take"),
            path("receive/", wrap(self.receive_view), name="orders_returns_receive"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        location = desk_location(request)
        query = request.GET.get("q", "").strip()
        found = _returnable(returns.find_orders_for_return(query=query)) if query else []
        recent = []
        if location is not None:
            recent = list(
                Return.objects.filter(location=location)
                .select_related("order")
                .order_by("-requested_at")[:10]
            )
            # Orders from other stores come back here too; link only those the clerk
            # may open (placed or fulfilled at their stores).
            openable = set(
                visible_orders(
                    request.user, Order.objects.filter(pk__in=[r.order_id for r in recent])
                ).values_list("pk", flat=True)
            )
            for taken in recent:
                taken.order_openable = taken.order_id in openable
        return TemplateResponse(
            request,
            "admin/orders/returns_desk.html",
            self.context(
                request,
                location=location,
                query=query,
                found=found,
                recent=recent,
                conditions=CONDITIONS,
                refund_methods=REFUND_METHODS,
                can_act=has_scope(request.user, "returns:write"),
                may_override=bool(roles_of(request.user) & returns.OVERRIDE_ROLES),
            ),
        )

    def take_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        location = desk_location(request)
        if location is None or not has_scope(request.user, "returns:write"):
            raise Http404
        order_id = request.POST.get("order", "")
        order = Order.objects.filter(pk=order_id).first() if order_id.isdigit() else None
        if order is None:
            raise Http404
        back = f"{self.desk_url(location)}&{urlencode({'q': order.number})}"
        lines, conditions = [], {}
        for line in order.lines.all():
            try:
                quantity = int(request.POST.get(f"quantity_{line.pk}") or 0)
            except ValueError:
                quantity = -1
            if quantity < 0:
                messages.error(request, "Quantities are whole numbers.")
                return HttpResponseRedirect(back)
            if quantity:
                lines.append(
                    returns.ReturnLineRequest(
                        order_line_id=line.pk,
                        quantity=quantity,
                        reason=request.POST.get(f"reason_{line.pk}", "")[:200],
                    )
                )
                conditions[line.pk] = request.POST.get(f"condition_{line.pk}", "")
        if not lines:
            messages.error(request, "Choose at least one item and how many come back.")
            return HttpResponseRedirect(back)
        actor = Actor.of(request.user)
        try:
            with transaction.atomic():
                taken = returns.start_return(
                    order=order,
                    lines=lines,
                    channel=SalesChannel.STORE,
                    location=location,
                    override_reason=request.POST.get("override_reason", ""),
                    actor=actor,
                )
                by_order_line = {
                    row.order_line_id: row.pk for row in taken.lines.all()
                }  # the return's own line ids
                returns.inspect_return(
                    return_request=taken,
                    conditions={by_order_line[pk]: value for pk, value in conditions.items()},
                    actor=actor,
                )
                returns.refund_return(
                    return_request=taken, method=request.POST.get("refund_method", ""), actor=actor
                )
        except DomainError as refused:
            messages.error(request, f"Return not taken: {_plain(refused)}")
            return HttpResponseRedirect(back)
        taken.refresh_from_db()
        method = dict(REFUND_METHODS).get(taken.refund_method, taken.refund_method).lower()
        messages.success(
            request,
            f"Return {taken.number} taken: {taken.refund_total:,.2f} {order.currency} "
            f"refunded to {method}.",
        )
        return HttpResponseRedirect(self.desk_url(location))

    def receive_view(self, request):
        """A return the customer requested online is handed in here: receive it at this
        store, grade it and refund, in one step."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        location = desk_location(request)
        if location is None or not has_scope(request.user, "returns:write"):
            raise Http404
        return_id = request.POST.get("return", "")
        requested = (
            Return.objects.select_related("order")
            .filter(pk=return_id, status=Return.Status.REQUESTED)
            .first()
            if return_id.isdigit()
            else None
        )
        if requested is None:
            raise Http404
        back = f"{self.desk_url(location)}&{urlencode({'q': requested.order.number})}"
        actor = Actor.of(request.user)
        try:
            with transaction.atomic():
                returns.receive_return(return_request=requested, location=location, actor=actor)
                returns.inspect_return(
                    return_request=requested,
                    conditions={
                        line.pk: request.POST.get(f"condition_{line.pk}", "")
                        for line in requested.lines.all()
                    },
                    actor=actor,
                )
                returns.refund_return(
                    return_request=requested,
                    method=request.POST.get("refund_method", ""),
                    actor=actor,
                )
        except DomainError as refused:
            messages.error(request, f"Return not received: {_plain(refused)}")
            return HttpResponseRedirect(back)
        requested.refresh_from_db()
        messages.success(
            request,
            f"Return {requested.number} received here: {requested.refund_total:,.2f} "
            f"{requested.order.currency} refunded.",
        )
        return HttpResponseRedirect(self.desk_url(location))


def _plain(error: DomainError) -> str:
    """The service's message, with the policy's reasons when it gives them."""
    reasons = [
        reason
        for verdict in (error.details.get("lines") or {}).values()
        if isinstance(verdict, dict)
        for reason in verdict.get("reasons", [])
    ]
    return f"{error.message} ({'; '.join(reasons)})" if reasons else error.message
