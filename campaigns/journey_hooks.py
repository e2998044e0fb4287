"""What campaigns does when customers and orders report something (connected in
`CampaignsConfig.ready`): enrol in journeys, exit journeys whose exit rule now holds, and
deliver order notifications. Orders and customers never import this module."""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.db.models.signals import post_save

from campaigns.journey_models import Enrollment, Journey
from campaigns.services import journeys
from campaigns.services.transactional import send_order_notification
from customers.hooks import register_merge_participant, rows_participant
from customers.models import Customer
from orders import signals
from orders.services.notifications import register_notification_sender


def on_purchase(sender, order, **kwargs) -> None:
    if order.customer_id is None:
        return
    # Exits first: a purchase may end an abandoned-cart journey before anything else runs.
    journeys.check_exits(customer_id=order.customer_id)
    journeys.enrol_on_trigger(
        trigger=Journey.Trigger.PURCHASE,
        customer=order.customer,
        trigger_key=f"order:{order.number}",
        triggered_at=order.placed_at,
        subject={"order_id": order.pk},
    )


def on_fulfilment_completed(sender, fulfilment, **kwargs) -> None:
    order = fulfilment.order
    if order.customer_id is None:
        return
    journeys.enrol_on_trigger(
        trigger=Journey.Trigger.DELIVERED_OR_COLLECTED,
        customer=order.customer,
        trigger_key=f"fulfilment:{fulfilment.pk}",
        triggered_at=fulfilment.delivered_at or fulfilment.collected_at,
        subject={"order_id": order.pk, "fulfilment_id": fulfilment.pk},
    )


def on_cart_changed(sender, cart, **kwargs) -> None:
    if cart.customer_id is not None:
        journeys.check_exits(customer_id=cart.customer_id)


def _enrol_new_customer(customer_id: int) -> None:
    customer = Customer.objects.filter(pk=customer_id).first()
    journeys.enrol_on_trigger(
        trigger=Journey.Trigger.SIGNUP,
        customer=customer,
        trigger_key="signup",
        triggered_at=customer.created_at if customer else None,
    )


def on_customer_saved(sender, instance, created, raw=False, **kwargs) -> None:
    if created and not raw:
        transaction.on_commit(partial(_enrol_new_customer, instance.pk))


def _survivor_has_its_twin(source, target):
    from django.db.models import Exists, OuterRef

    return Exists(
        Enrollment.objects.filter(
            customer=target, journey=OuterRef("journey"), trigger_key=OuterRef("trigger_key")
        )
    )


ENROLLMENTS = rows_participant(
    "campaigns.journey_enrollments", Enrollment, keep=_survivor_has_its_twin
)


def connect() -> None:
    signals.purchase_recorded.connect(on_purchase, dispatch_uid="campaigns.journeys.purchase")
    signals.fulfilment_completed.connect(
        on_fulfilment_completed, dispatch_uid="campaigns.journeys.fulfilment"
    )
    signals.cart_changed.connect(on_cart_changed, dispatch_uid="campaigns.journeys.cart")
    post_save.connect(on_customer_saved, sender=Customer, dispatch_uid="campaigns.journeys.signup")
    register_notification_sender("campaigns", send_order_notification)
    # Enrolments follow their customer through a merge, like deliveries.
    register_merge_participant(ENROLLMENTS)
