"""What order, pickup and return webhooks carry. Identifiers integrations already know
(order and return numbers, location and SKU codes, customer public IDs), no personal data
beyond that."""

from __future__ import annotations

from orders.models import Fulfilment, Order, Return


def _customer(customer_id) -> str | None:
    if customer_id is None:
        return None
    from customers.models import Customer

    return str(Customer.objects.values_list("public_id", flat=True).get(pk=customer_id))


def order_data(order: Order, lines) -> dict:
    return {
        "order": order.number,
        "order_id": str(order.public_id),
        "channel": order.channel,
        "status": order.status,
        "customer": str(order.customer.public_id) if order.customer_id else None,
        "currency": order.currency,
        "total": str(order.total),
        "lines": [
            {"sku": line.sku.code, "quantity": line.quantity, "total": str(line.total)}
            for line in lines
        ],
    }


def pickup_data(fulfilment: Fulfilment) -> dict:
    order = fulfilment.order
    return {
        "order": order.number,
        "order_id": str(order.public_id),
        "fulfilment": fulfilment.pk,
        "method": fulfilment.method,
        "status": fulfilment.status,
        "location": fulfilment.location.code,
        "customer": _customer(order.customer_id),
        "pickup_deadline": fulfilment.pickup_deadline,
        "collected_at": fulfilment.collected_at,
    }


def return_data(return_request: Return) -> dict:
    return {
        "return": return_request.number,
        "order": return_request.order.number,
        "channel": return_request.channel,
        "status": return_request.status,
        "location": return_request.location.code if return_request.location_id else None,
        "customer": _customer(return_request.customer_id),
        "received_at": return_request.received_at,
        "lines": [
            {"sku": line.order_line.sku.code, "quantity": line.quantity}
            for line in return_request.lines.select_related("order_line__sku")
        ],
    }
