"""What orders announce, after commit, to whoever listens (campaigns' journeys, for one).

Orders never imports its listeners: they connect to these signals. Each is sent with
`send_robust` once the transaction that made the change has committed, so a failing
listener can neither undo nor break the sale.
"""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

# order=<Order>: a purchase was recorded on any channel (web, app, phone, store till).
purchase_recorded = Signal()
# fulfilment=<Fulfilment>: a part of an order was delivered or collected (a till sale is
# collected at once).
fulfilment_completed = Signal()
# cart=<Cart>: a cart's lines changed or it was emptied.
cart_changed = Signal()


def _send(signal: Signal, **kwargs) -> None:
    for receiver, outcome in signal.send_robust(sender=None, **kwargs):
        if isinstance(outcome, Exception):
            logger.error(
                "orders signal listener %r failed",
                receiver,
                exc_info=(type(outcome), outcome, outcome.__traceback__),
            )


def announce(signal: Signal, **kwargs) -> None:
    """Send `signal` once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(_send, signal, **kwargs))
