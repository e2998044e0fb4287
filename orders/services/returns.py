"""Returns anywhere: any order from any channel comes back at any store that accepts
returns, or by post to a warehouse.

requested (online) or started at the counter → received at a location → inspected per
unit (resellable back on hand *where it was received*, the rest into damaged stock) →
refunded to the original payment or to store credit. Never more than was bought, across
all returns of a line. Outside the policy only a store manager's override with a reason
lets a return through.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from customers.services.identity import lookup_customer
from inventory.models import Location
from inventory.services.stock import mark_damaged, restock_return
from omni import audit
from omni.auth import SYSTEM, Actor, roles_of
from omni.errors import BadRequest, DomainError, RuleBroken
from omni.models import Role
from omni.webhooks import emit
from orders.models import Order, OrderEvent, OrderLine, Payment, Refund, Return, ReturnLine
from orders.services.checkout import place_order
from orders.services.credit import add_credit, spend_credit, store_credit_account
from orders.services.customer_feed import feed_return
from orders.services.return_policy import evaluate_return
from orders.services.transitions import InvalidTransition
from orders.webhooks import return_data

CENT = Decimal("0.01")
R = Return.Status
OVERRIDE_ROLES = {Role.STORE_MANAGER, Role.ADMINISTRATOR}


class ReturnNotAllowed(RuleBroken):
    code = "return_not_allowed"
    message = "This return is outside the return policy."


class OverrideNotPermitted(RuleBroken):
    code = "override_not_permitted"
    message = "Only a store manager may accept a return outside the policy, with a reason."


class LineNotInOrder(BadRequest):
    code = "line_not_in_order"
    message = "That line is not part of this order."


class CustomerRequired(RuleBroken):
    code = "customer_required"
    message = "Store credit needs a known customer."


class NoPaymentToRefund(RuleBroken):
    code = "no_payment_to_refund"
    message = "No payment left to refund to; refund to store credit instead."


class ReturnsNotAcceptedHere(RuleBroken):
    code = "location_does_not_accept_returns"
    message = "This location does not accept returns."


@dataclass(frozen=True)
class ReturnLineRequest:
    order_line_id: int
    quantity: int
    reason: str = ""


def find_orders_for_return(*, query: str, limit: int = 20) -> list[Order]:
    """An order by number or till receipt, or a customer's recent orders by any identity
    (email, phone, loyalty card)."""
    query = (query or "").strip()
    if not query:
        return []
    direct = list(Order.objects.filter(Q(number__iexact=query) | Q(client_reference=query))[:limit])
    if direct:
        return direct
    kinds = ["email"] if "@" in query else ["phone", "loyalty_card", "pos_ref"]
    for kind in kinds:
        try:
            customer = lookup_customer(kind=kind, value=query)
        except DomainError:  # not this kind of identity, or nobody has it
            continue
        return list(Order.objects.filter(customer=customer).order_by("-placed_at")[:limit])
    return []


def _number() -> str:
    return f"RT-{timezone.now():%Y}-" + "".join(
        secrets.choice("ABCDEFGHJKMNPQRSTUVWXYZ23456789") for _ in range(6)
    )


def start_return(
    *,
    order: Order,
    lines: Sequence[ReturnLineRequest],
    channel: str,
    location: Location | None = None,
    override_reason: str = "",
    actor: Actor = SYSTEM,
) -> Return:
    """Open a return. At a counter (`location` given) the goods are received at once.
    Outside the policy it is refused (422 with each line's verdict) unless a store
    manager overrides with a reason."""
    if not lines:
        raise BadRequest("Choose at least one line to return.", field="lines")
    if location is not None and not location.accepts_returns:
        raise ReturnsNotAcceptedHere(location=location.code)
    order_lines = {
        line.pk: line for line in order.lines.select_related("sku__product", "fulfilment", "order")
    }
    verdicts = {}
    with transaction.atomic():
        # Serialise returns of this order so "never more than bought" holds under races.
        Order.objects.select_for_update().filter(pk=order.pk).first()
        for index, request in enumerate(lines):
            line = order_lines.get(request.order_line_id)
            if line is None:
                raise LineNotInOrder(line=request.order_line_id, order=order.number)
            if (
                isinstance(request.quantity, bool)
                or not isinstance(request.quantity, int)
                or (request.quantity <= 0)
            ):
                raise BadRequest(
                    "Quantities are whole numbers above zero.", field=f"lines[{index}].quantity"
                )
            verdicts[line.pk] = evaluate_return(order_line=line, quantity=request.quantity)
        refused = {pk: v for pk, v in verdicts.items() if not v.allowed}
        over_bought = any(
            request.quantity > verdicts[request.order_line_id].returnable_quantity
            for request in lines
        )
        if refused:
            if over_bought or not override_reason.strip():
                raise ReturnNotAllowed(lines={str(pk): v.as_dict() for pk, v in refused.items()})
            if not (roles_of(actor.user) & OVERRIDE_ROLES if actor.user else False):
                raise OverrideNotPermitted()
        now = timezone.now()
        return_request = Return.objects.create(
            number=_number(),
            order=order,
            customer_id=order.customer_id,
            channel=channel,
            location=location,
            status=R.RECEIVED if location is not None else R.REQUESTED,
            received_at=now if location is not None else None,
            policy_verdict={str(pk): v.as_dict() for pk, v in verdicts.items()},
            override_reason=override_reason.strip() if refused else "",
            override_by=actor.user if refused else None,
        )
        ReturnLine.objects.bulk_create(
            ReturnLine(
                return_request=return_request,
                order_line=order_lines[request.order_line_id],
                quantity=request.quantity,
                reason=request.reason[:200],
                refund_amount=_line_refund(order_lines[request.order_line_id], request.quantity),
            )
            for request in lines
        )
        OrderEvent.objects.create(
            order=order,
            kind="return.started",
            data={"return": return_request.number},
            actor_user=actor.user,
            actor_token=actor.token,
        )
        audit.record(
            "return.started",
            return_request,
            actor=actor,
            after={
                "status": return_request.status,
                "lines": {str(line.order_line_id): line.quantity for line in lines},
                "override_reason": return_request.override_reason,
            },
            customer=return_request.customer_id,
            location=location,
        )
        if return_request.status == R.RECEIVED:
            emit("return.received", partial(return_data, return_request))
    return return_request


class ExchangeCostsMore(RuleBroken):
    code = "exchange_costs_more"
    message = "The new order costs more than the refund; take payment for a new order instead."


def _exchange(*, return_request: Return, amount: Decimal, request, actor: Actor) -> None:
    """The refund becomes store credit that pays the new order at once."""
    order = return_request.order
    if order.customer_id is None:
        raise CustomerRequired()
    account = store_credit_account(customer=order.customer, currency=order.currency)
    add_credit(
        account=account, amount=amount, kind="refund", reference=return_request.number, actor=actor
    )
    Refund.objects.create(
        order=order,
        return_request=return_request,
        method=Return.RefundMethod.EXCHANGE,
        amount=amount,
        currency=order.currency,
    )
    request.customer_public_id = str(order.customer.public_id)
    request.payments = ()
    new_order = place_order(request=request, actor=actor)
    if new_order.total > amount:
        raise ExchangeCostsMore(refund=str(amount), new_total=str(new_order.total))
    if new_order.total:
        spend_credit(
            account=account, amount=new_order.total, reference=new_order.number, actor=actor
        )
        Payment.objects.create(
            order=new_order,
            method=Payment.Method.STORE_CREDIT,
            amount=new_order.total,
            currency=new_order.currency,
            credit_account=account,
            captured=True,
        )
    Return.objects.filter(pk=return_request.pk).update(exchange_order=new_order)


def _line_refund(line: OrderLine, quantity: int) -> Decimal:
    """What was really paid for `quantity` units of the line (its discount shared out)."""
    if quantity == line.quantity:
        return line.total
    return (line.total * quantity / line.quantity).quantize(CENT)


def _move(
    return_request: Return, to: str, allowed: set[str], actor: Actor = SYSTEM, **fields
) -> None:
    before = {"status": return_request.status}
    updated = Return.objects.filter(pk=return_request.pk, status__in=allowed).update(
        status=to, **fields
    )
    if not updated:
        current = Return.objects.values_list("status", flat=True).get(pk=return_request.pk)
        raise InvalidTransition(f"Cannot move a {current} return to {to}.", current=current)
    return_request.refresh_from_db()
    audit.record(
        f"return.{to}",
        return_request,
        actor=actor,
        before=before,
        after={"status": to, **fields},
        customer=return_request.customer_id,
        location=return_request.location_id,
    )


def receive_return(*, return_request: Return, location: Location, actor: Actor = SYSTEM) -> Return:
    """A posted or requested return arrives at a store or warehouse."""
    if not location.accepts_returns:
        raise ReturnsNotAcceptedHere(location=location.code)
    with transaction.atomic():
        _move(
            return_request,
            R.RECEIVED,
            {R.REQUESTED},
            actor=actor,
            location=location,
            received_at=timezone.now(),
        )
        emit("return.received", partial(return_data, return_request))
    return return_request


def inspect_return(
    *, return_request: Return, conditions: Mapping[int, str], actor: Actor = SYSTEM
) -> Return:
    """Grade each returned line. Resellable units go back on hand at the location that
    received them; damaged or defective ones go into its damaged stock."""
    lines = list(return_request.lines.select_related("order_line__sku"))
    unknown = set(conditions) - {line.pk for line in lines}
    if unknown:
        raise BadRequest("Those lines are not part of this return.", lines=sorted(unknown))
    valid = set(ReturnLine.Condition.values) - {ReturnLine.Condition.PENDING}
    if missing := [line.pk for line in lines if conditions.get(line.pk) not in valid]:
        raise BadRequest("Grade every line: resellable, damaged or defective.", lines=missing)
    location = return_request.location
    with transaction.atomic():
        _move(return_request, R.INSPECTED, {R.RECEIVED}, actor=actor)
        for line in lines:
            condition = conditions[line.pk]
            ReturnLine.objects.filter(pk=line.pk).update(condition=condition)
            sku = line.order_line.sku
            restock_return(
                location=location,
                sku=sku,
                quantity=line.quantity,
                return_reference=return_request.number,
                actor=actor,
            )
            if condition != ReturnLine.Condition.RESELLABLE:
                mark_damaged(
                    location=location,
                    sku=sku,
                    quantity=line.quantity,
                    reason=f"Returned {condition}",
                    reference_id=return_request.number,
                    actor=actor,
                )
    return return_request


def refund_return(
    *, return_request: Return, method: str, exchange=None, actor: Actor = SYSTEM
) -> Return:
    """Pay the customer back: to the order's original payments (largest first), as store
    credit, or as an exchange: a new order (`exchange`, a `CheckoutRequest`) placed in the
    same step and paid from the refund; what the new order does not use stays as store
    credit. Once per return (compare-and-set inspected → refunded)."""
    if method not in Return.RefundMethod.values:
        raise BadRequest(
            "Refund to the original payment, to store credit, or as an exchange.", method=method
        )
    if (method == Return.RefundMethod.EXCHANGE) != (exchange is not None):
        raise BadRequest("An exchange needs the new order, and only an exchange takes one.")
    amount = sum((line.refund_amount for line in return_request.lines.all()), Decimal(0))
    order = return_request.order
    with transaction.atomic():
        _move(
            return_request,
            R.REFUNDED,
            {R.INSPECTED},
            actor=actor,
            refund_method=method,
            refund_total=amount,
            refunded_at=timezone.now(),
        )
        if method == Return.RefundMethod.EXCHANGE:
            _exchange(return_request=return_request, amount=amount, request=exchange, actor=actor)
        elif method == Return.RefundMethod.STORE_CREDIT:
            if order.customer_id is None:
                raise CustomerRequired()
            account = store_credit_account(customer=order.customer, currency=order.currency)
            add_credit(
                account=account,
                amount=amount,
                kind="refund",
                reference=return_request.number,
                actor=actor,
            )
            Refund.objects.create(
                order=order,
                return_request=return_request,
                method=method,
                amount=amount,
                currency=order.currency,
            )
        else:
            left = amount
            for payment in order.payments.order_by("-amount", "pk"):
                if left <= 0:
                    break
                already = sum((r.amount for r in payment.refunds.all()), Decimal(0))
                share = min(left, payment.amount - already)
                if share > 0:
                    Refund.objects.create(
                        order=order,
                        return_request=return_request,
                        payment=payment,
                        method=payment.method,
                        amount=share,
                        currency=order.currency,
                    )
                    left -= share
            if left > 0 and amount:
                raise NoPaymentToRefund(unrefunded=str(left))
        OrderEvent.objects.create(
            order=order,
            kind="return.refunded",
            data={"return": return_request.number, "amount": str(amount), "method": method},
            actor_user=actor.user,
            actor_token=actor.token,
        )
        return_request.refresh_from_db()
        feed_return(return_request)
    return return_request
