"""Outgoing webhooks. Apps report what happened with one call inside their transaction:

    from omni.webhooks import emit
    emit("order.placed", {"order": order.number, ...})

`data` may also be a function returning the dict, called only if an endpoint listens.
"""


def emit(event_type: str, data):
    from omni.webhooks.services import emit as _emit

    return _emit(event_type, data)
