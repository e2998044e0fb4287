"""Messages: the variants of a campaign step, rendered for one reader.

Rules kept here:
- A selected channel without a variant cannot be sent (`missing_variant`, 422).
- Email carries the one-click unsubscribe headers (RFC 8058) and, for real deliveries, the
  open pixel and signed click-through links; the unsubscribe link itself is not wrapped.
- A test send goes to a valid address for the channel and records no delivery.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.html import escape

from campaigns import audience
from campaigns.backends import Outgoing, get_backend
from campaigns.errors import InvalidAddress, MissingVariant, UnknownChannel
from campaigns.models import Campaign, DeliveryChannel, Message
from campaigns.rendering import customer_context, render_email, render_push, render_sms
from campaigns.tracking import add_tracking

# --- Messages -------------------------------------------------------------------------------


def base_step(step_key: str) -> str:
    """The message a delivery step uses. A step key may name its instance: `reminder#41` is
    message `reminder` sent for enrolment 41 (`main#ready:7` for one order notification),
    and recurring sends key each occurrence as `main@<occurrence>`; so "one delivery per
    (campaign, step, customer, channel)" holds per trigger instance or occurrence, not once
    for life, while they all say what the step says."""
    return re.split(r"[#@]", step_key, maxsplit=1)[0]


def arm_step(step_key: str, arm_key: str) -> str:
    """An experiment arm's own message for a step is stored as step `<step>/<arm>`."""
    return f"{base_step(step_key)}/{arm_key}"


def message_for(
    campaign: Campaign, step_key: str = "main", arm: str | None = None
) -> Message | None:
    """The step's message; for an arm, the arm's own message if it has one."""
    wanted = [base_step(step_key)]
    if arm:
        wanted.insert(0, arm_step(step_key, arm))
    found = {
        message.step_key: message
        for message in Message.objects.filter(
            campaign=campaign, step_key__in=wanted
        ).select_related("email", "sms", "push")
    }
    return next((found[key] for key in wanted if key in found), None)


def variant_of(message: Message | None, channel: str):
    if message is None:
        return None
    try:
        return getattr(message, channel)
    except (
        Message.email.RelatedObjectDoesNotExist,
        Message.sms.RelatedObjectDoesNotExist,
        Message.push.RelatedObjectDoesNotExist,
    ):
        return None


def check_variants(campaign: Campaign, message: Message | None, channels=None) -> None:
    missing = [
        channel
        for channel in (channels or campaign.channels)
        if variant_of(message, channel) is None
    ]
    if missing:
        raise MissingVariant(
            f"No message for {', '.join(missing)}; write it or remove the channel.",
            channels=missing,
        )


def build_outgoing(
    *,
    campaign: Campaign,
    message: Message,
    channel: str,
    customer,
    to: str,
    reference: str,
    delivery_id: int | None,
    context: dict[str, Any] | None = None,
    policy: audience.AudiencePolicy | None = None,
) -> Outgoing:
    """Render the channel's variant for this customer, with tracking and the one-click
    unsubscribe headers for email."""
    values = customer_context(customer, context)
    variant = variant_of(message, channel)
    if channel == "email":
        unsubscribe = ""
        if customer is not None and policy is not None:
            unsubscribe = policy.unsubscribe_link(customer, "email", campaign)
        values["unsubscribe_url"] = unsubscribe
        rendered = render_email(variant, values)
        html = rendered.html
        if rendered.preheader:
            html = _with_preheader(html, rendered.preheader)
        if delivery_id is not None:
            html = add_tracking(html, delivery_id=delivery_id, keep=frozenset({unsubscribe}))
        headers = {}
        if unsubscribe:
            # RFC 8058: mail clients POST to the link to unsubscribe in one click.
            headers["List-Unsubscribe"] = f"<{unsubscribe}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return Outgoing(
            channel=channel,
            to=to,
            reference=reference,
            subject=rendered.subject,
            preheader=rendered.preheader,
            html=html,
            text=rendered.text,
            headers=headers,
        )
    if channel == "sms":
        return Outgoing(channel, to, reference, text=render_sms(variant, values).text)
    rendered = render_push(variant, values)
    return Outgoing(
        channel,
        to,
        reference,
        title=rendered.title,
        body=rendered.body,
        deep_link=rendered.deep_link,
    )


def _with_preheader(html: str, preheader: str) -> str:
    hidden = (
        '<div style="display:none;max-height:0;overflow:hidden;opacity:0">'
        f"{escape(preheader)}</div>"
    )
    opening = html.lower().find("<body")
    if opening == -1:
        return hidden + html
    end = html.find(">", opening) + 1
    return html[:end] + hidden + html[end:]


# --- Test sends and previews ----------------------------------------------------------------

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def check_address(channel: str, to: str) -> str:
    to = (to or "").strip()
    if channel == "email":
        try:
            validate_email(to)
        except ValidationError:
            raise InvalidAddress("Not an email address.", channel=channel, to=to) from None
        return to.lower()
    if channel == "sms":
        if not _E164.match(to):
            raise InvalidAddress(
                "A phone number in E.164 form, like +351912345678.", channel=channel, to=to
            )
        return to
    if not to or len(to) > 255:
        raise InvalidAddress("A device token is required.", channel=channel, to=to)
    return to


def send_test_message(
    *,
    campaign: Campaign,
    channel: str,
    to: str,
    customer=None,
    context: dict[str, Any] | None = None,
    step_key: str = "main",
    policy: audience.AudiencePolicy | None = None,
) -> str:
    """Send one rendering of a variant to an address (a marketer's own inbox or phone).
    No delivery is recorded and no rule applies: it is not a message to a customer."""
    if channel not in DeliveryChannel.values:
        raise UnknownChannel(channel=channel, known=list(DeliveryChannel.values))
    to = check_address(channel, to)
    message = message_for(campaign, step_key)
    check_variants(campaign, message, channels=[channel])
    outgoing = build_outgoing(
        campaign=campaign,
        message=message,
        channel=channel,
        customer=customer,
        to=to,
        reference="test",
        delivery_id=None,
        context=context,
        policy=(policy or audience.get_policy()) if customer is not None else None,
    )
    if channel == "email":
        outgoing.subject = f"[Test] {outgoing.subject}"
    backend = get_backend(channel)
    backend.open()
    try:
        return backend.send(outgoing)
    finally:
        backend.close()


def preview(
    *,
    campaign: Campaign,
    customer=None,
    context: dict[str, Any] | None = None,
    step_key: str = "main",
) -> dict[str, Any]:
    """Every variant of a step rendered as this customer would read it (no tracking)."""
    message = message_for(campaign, step_key)
    values = customer_context(customer, context)
    values["unsubscribe_url"] = "#unsubscribe"
    rendered: dict[str, Any] = {}
    for channel in DeliveryChannel.values:
        variant = variant_of(message, channel)
        if variant is None:
            continue
        if channel == "email":
            rendered["email"] = dataclasses.asdict(render_email(variant, values))
        elif channel == "sms":
            rendered["sms"] = dataclasses.asdict(render_sms(variant, values))
        else:
            rendered["push"] = dataclasses.asdict(render_push(variant, values))
    return rendered
