"""Order and pickup updates sent through campaigns' channels.

Orders records a notification and hands its id to `send_order_notification` (registered in
`CampaignsConfig.ready`; orders never imports campaigns). Each template has a transactional
campaign (made with a plain default message the first time it is needed, editable in the
admin), so these messages follow the same delivery machinery: they are exempt from
marketing consent and frequency caps, not from a hard opt-out of the channel (an SMS STOP),
and each notification is delivered at most once per channel (its key is in the step key).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from campaigns.journey_models import TransactionalMessage
from campaigns.models import Campaign, Delivery
from campaigns.services.editing import create_campaign, set_message
from campaigns.services.sending import send_to_customer

DEFAULT_MESSAGES = {
    "order_confirmation": (
        "Order confirmation",
        "Thank you, {{ first_name }}: order {{ context.order_number }} is confirmed",
        "We have your order {{ context.order_number }} and will let you know when it is on "
        "its way or ready to collect.",
    ),
    "ready_for_pickup": (
        "Ready for pickup",
        "Order {{ context.order_number }} is ready at {{ context.store }}",
        "Your order {{ context.order_number }} is ready at {{ context.store }}. Pickup code "
        "{{ context.code }}. Collect it by {{ context.deadline|slice:':10' }}.",
    ),
    "pickup_reminder": (
        "Pickup reminder",
        "Reminder: order {{ context.order_number }} is waiting at {{ context.store }}",
        "Your order {{ context.order_number }} waits at {{ context.store }} until "
        "{{ context.deadline|slice:':10' }}.",
    ),
    "pickup_expired": (
        "Pickup expired",
        "Order {{ context.order_number }} was not collected",
        "Your order {{ context.order_number }} was not collected at {{ context.store }} in "
        "time and has been cancelled.",
    ),
    "shipped": (
        "Order shipped",
        "Order {{ context.order_number }} is on its way",
        "Your order {{ context.order_number }} left with {{ context.carrier }}, tracking "
        "{{ context.tracking_number }}.",
    ),
}


def transactional_campaign(template: str) -> Campaign:
    """The campaign that sends this template, made with the default message if missing."""
    found = TransactionalMessage.objects.select_related("campaign").filter(template=template)
    if found.exists():
        return found.first().campaign
    name, subject, body = DEFAULT_MESSAGES.get(
        template,
        (template.replace("_", " ").capitalize(), "Order {{ context.order_number }}", ""),
    )
    body = body or "An update about your order {{ context.order_number }}."
    try:
        with transaction.atomic():
            campaign = create_campaign(
                name=f"Transactional: {name}",
                channels=["email", "sms"],
                goal=Campaign.Goal.INFORMATION,
                transactional=True,
            )
            set_message(
                campaign=campaign,
                variants={
                    "email": {
                        "subject": subject,
                        "html": f"<html><body><p>Hello {{{{ first_name }}}},</p><p>{body}</p>"
                        "</body></html>",
                        "text": f"Hello {{{{ first_name }}}},\n\n{body}",
                    },
                    "sms": {"text": body},
                },
            )
            TransactionalMessage.objects.create(template=template, campaign=campaign)
    except IntegrityError:
        # Another worker made it first.
        return TransactionalMessage.objects.get(template=template).campaign
    return campaign


def send_order_notification(notification_id: int) -> list[Delivery]:
    """Deliver one recorded order notification to its customer (safe to call twice)."""
    from orders.models import Notification
    from orders.services.notifications import mark_notification

    notification = (
        Notification.objects.select_related("customer__preferred_store")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None or notification.customer is None:
        return []
    customer = notification.customer
    while customer.merged_into_id:
        customer = customer.merged_into
    campaign = transactional_campaign(notification.template)
    deliveries = send_to_customer(
        campaign=campaign,
        customer=customer,
        context=notification.context,
        step_key=f"main#{notification.key}"[:64],
    )
    going = [d for d in deliveries if d.state != Delivery.State.SKIPPED]
    mark_notification(
        notification=notification,
        sent=bool(going),
        channel=going[0].channel if going else "",
    )
    return deliveries
