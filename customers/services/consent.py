"""Consent per channel: an append-only history and the current state derived from it.

Rules kept here:
- Every change is a new `ConsentEvent`; events are never edited (erasure strips evidence,
  see privacy). The current state of a channel is its latest event by `occurred_at`;
  `ConsentState` mirrors it, written in the same transaction by a conditional upsert, so a
  late-arriving older event never overwrites a newer choice.
- An unknown channel is `unknown_consent_channel` (400) and writes nothing.
- Unsubscribe links are signed with `django.core.signing` (HMAC with SECRET_KEY, compared
  in constant time by `signing.loads`); they work without login and do not expire, since
  an old newsletter must still let its reader out.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core import signing
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from customers import hooks
from customers.errors import InvalidUnsubscribeLink, UnknownConsentChannel, UnknownPhone
from customers.models import (
    ConsentChannel,
    ConsentEvent,
    ConsentState,
    ConsentStatus,
    Customer,
    Identity,
)
from customers.services.identity import (
    follow_merges,
    lock_live_customer,
    normalise_phone,
    resolve_customer,
)
from omni import audit
from omni.errors import BadRequest

UNSUBSCRIBE_SALT = "customers.unsubscribe"
STOP_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})


def check_channel(channel: str) -> str:
    if channel not in ConsentChannel.values:
        raise UnknownConsentChannel(channel=channel, known=list(ConsentChannel.values))
    return channel


def check_status(status: str) -> str:
    if status not in ConsentStatus.values:
        raise BadRequest("Unknown consent status.", status=status, known=ConsentStatus.values)
    return status


def current_status(customer: Customer, channel: str) -> str | None:
    state = ConsentState.objects.filter(customer=customer, channel=channel).first()
    return state.status if state else None


def _upsert_state(event: ConsentEvent) -> None:
    # The WHERE keeps the newest choice when events arrive out of order.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO customers_consentstate (customer_id, channel, status, changed_at,"
            " event_id) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (customer_id, channel) DO UPDATE SET status = EXCLUDED.status,"
            " changed_at = EXCLUDED.changed_at, event_id = EXCLUDED.event_id "
            "WHERE customers_consentstate.changed_at <= EXCLUDED.changed_at",
            [event.customer_id, event.channel, event.status, event.occurred_at, event.pk],
        )


def record_consent(
    *,
    customer: Customer,
    channel: str,
    status: str,
    occurred_at: datetime.datetime | None = None,
    source_channel: str = "",
    location=None,
    form: str = "",
    campaign_ref: str = "",
    staff=None,
    token=None,
    evidence: str = "",
    ip_address: str | None = None,
) -> ConsentEvent:
    """Append a consent choice for one channel and make it current if it is the newest."""
    check_channel(channel)
    check_status(status)
    with transaction.atomic():
        # Locked so a concurrent merge cannot leave this choice behind on the merged-away
        # customer: an opt-out must follow the person.
        customer = lock_live_customer(customer)
        before = {"status": current_status(customer, channel)}
        event = ConsentEvent.objects.create(
            customer=customer,
            channel=channel,
            status=status,
            occurred_at=occurred_at or timezone.now(),
            source_channel=source_channel,
            source_location=location,
            form=form[:120],
            campaign_ref=campaign_ref[:64],
            staff=staff if getattr(staff, "pk", None) else None,
            token=token,
            evidence=evidence,
            ip_address=ip_address,
        )
        _upsert_state(event)
        audit.record(
            "consent.recorded",
            event,
            actor=audit.by(staff, token),
            before=before,
            after={"status": current_status(customer, channel), "channel": channel, "form": form},
            customer=customer,
        )
        for listener in hooks.consent_listeners():
            listener(event)
    return event


def rebuild_consent_state(*, customer: Customer) -> None:
    """Recompute the mirror from history (after a merge or unmerge moved events)."""
    with transaction.atomic():
        ConsentState.objects.filter(customer=customer).delete()
        latest = (
            ConsentEvent.objects.filter(customer=customer)
            .order_by("channel", "-occurred_at", "-id")
            .distinct("channel")
        )
        ConsentState.objects.bulk_create(
            ConsentState(
                customer=customer,
                channel=event.channel,
                status=event.status,
                changed_at=event.occurred_at,
                event=event,
            )
            for event in latest
        )


# --- Selectors ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelConsent:
    channel: str
    status: str | None  # None: never asked
    changed_at: datetime.datetime | None
    event: ConsentEvent | None


def current_consent(customer: Customer) -> dict[str, ChannelConsent]:
    """Per channel, the latest choice (derived from history, not the mirror)."""
    latest = {
        event.channel: event
        for event in ConsentEvent.objects.filter(customer=customer)
        .order_by("channel", "-occurred_at", "-id")
        .distinct("channel")
        .select_related("source_location")
    }
    return {
        channel: ChannelConsent(
            channel=channel,
            status=latest[channel].status if channel in latest else None,
            changed_at=latest[channel].occurred_at if channel in latest else None,
            event=latest.get(channel),
        )
        for channel in ConsentChannel.values
    }


def has_marketing_consent(customer: Customer, channel: str) -> bool:
    """May marketing go to this customer on this channel? Only with a current grant (no
    answer is a no). Merged-away customers answer for their survivor."""
    check_channel(channel)
    customer = follow_merges(customer)
    if customer.erased_at is not None:
        return False
    return ConsentState.objects.filter(
        customer=customer, channel=channel, status=ConsentStatus.GRANTED
    ).exists()


# --- Unsubscribe links ------------------------------------------------------------------------


def unsubscribe_token(customer: Customer, channel: str, campaign=None) -> str:
    check_channel(channel)
    payload = {"c": str(customer.public_id), "ch": channel}
    campaign_ref = _campaign_ref(campaign)
    if campaign_ref:
        payload["cp"] = campaign_ref
    return signing.dumps(payload, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_url(customer: Customer, channel: str, campaign=None, *, base_url: str = "") -> str:
    """The one-click unsubscribe page for a message: a path, or an absolute URL with
    `base_url` (the public site, e.g. "https://shop.example.com"). Put it in the
    `List-Unsubscribe` header with `List-Unsubscribe-Post: List-Unsubscribe=One-Click`."""
    path = reverse(
        "customers-public:unsubscribe", args=[unsubscribe_token(customer, channel, campaign)]
    )
    return f"{base_url.rstrip('/')}{path}" if base_url else path


def _campaign_ref(campaign) -> str:
    if campaign is None:
        return ""
    if isinstance(campaign, str | int):
        return str(campaign)[:64]
    return str(getattr(campaign, "public_id", None) or campaign.pk)[:64]


@dataclass(frozen=True)
class UnsubscribeRequest:
    customer: Customer
    channel: str
    campaign_ref: str


def read_unsubscribe_token(token: str) -> UnsubscribeRequest:
    """The customer and channel a signed link is for; a tampered link is refused."""
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        channel = check_channel(payload["ch"])
        customer = resolve_customer(payload["c"])
    except (signing.BadSignature, KeyError, TypeError, ValueError, UnknownConsentChannel):
        raise InvalidUnsubscribeLink() from None
    return UnsubscribeRequest(customer, channel, payload.get("cp", ""))


def unsubscribe(*, token: str, ip_address: str | None = None) -> ConsentEvent:
    """One-click unsubscribe from a signed link (no login)."""
    request = read_unsubscribe_token(token)
    return record_consent(
        customer=request.customer,
        channel=request.channel,
        status=ConsentStatus.WITHDRAWN,
        source_channel=request.channel if request.channel in ("email", "sms", "push") else "",
        form="unsubscribe link",
        campaign_ref=request.campaign_ref,
        evidence="one-click unsubscribe link",
        ip_address=ip_address,
    )


# --- SMS replies ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsReplyOutcome:
    customer: Customer
    action: str  # "opted_out", "opted_in" or "ignored"
    event: ConsentEvent | None


def process_sms_reply(
    *, phone: str, text: str, region: str | None = None, token=None
) -> SmsReplyOutcome:
    """An SMS reply from a customer: STOP (and its synonyms) withdraws SMS consent, START
    grants it again; anything else changes nothing. An unknown number is `unknown_phone`."""
    number = normalise_phone(phone, region=region)
    identity = (
        Identity.objects.filter(kind=Identity.Kind.PHONE, namespace="", value=number)
        .select_related("customer")
        .first()
    )
    if identity is None:
        raise UnknownPhone(phone=number)
    customer = follow_merges(identity.customer)
    words = (text or "").strip().upper().split()
    keyword = words[0].strip(".!") if words else ""
    if keyword in STOP_KEYWORDS:
        status, action = ConsentStatus.WITHDRAWN, "opted_out"
    elif keyword in START_KEYWORDS:
        status, action = ConsentStatus.GRANTED, "opted_in"
    else:
        return SmsReplyOutcome(customer, "ignored", None)
    event = record_consent(
        customer=customer,
        channel=ConsentChannel.SMS,
        status=status,
        source_channel="sms",
        form="sms reply",
        token=token,
        evidence=f"SMS from {number}: {text.strip()[:160]}",
    )
    return SmsReplyOutcome(customer, action, event)
