"""What other apps may hear from orders, without orders importing them.

`register_purchase_listener(name, fn)`: `fn(order_id)` runs after the commit of every
placed order and recorded POS sale (campaigns credits it to the message that earned it).
A listener's failure is logged and does not touch the sale.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from django.db import transaction

logger = logging.getLogger(__name__)

_purchase_listeners: dict[str, Callable[[int], None]] = {}


def register_purchase_listener(name: str, listener: Callable[[int], None]) -> None:
    _purchase_listeners[name] = listener


def purchase_listeners() -> list[Callable[[int], None]]:
    return list(_purchase_listeners.values())


def _run(listener: Callable[[int], None], order_id: int) -> None:
    try:
        listener(order_id)
    except Exception:
        logger.exception("purchase listener %r failed for order %s", listener, order_id)


def announce_purchase(order_id: int) -> None:
    """Call inside the transaction that records the order; listeners run after commit."""
    for listener in purchase_listeners():
        transaction.on_commit(partial(_run, listener, order_id))
