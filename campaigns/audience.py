"""What campaigns need to know about a customer's choices, in one place.

Consent and preferences belong to the `customers` app. Campaigns reach them only through
an `AudiencePolicy`, chosen by the `OMNI_AUDIENCE_POLICY` setting (a dotted path), so the
rules that decide a send never guess at another app's tables and tests can state a
customer's choices directly.

The default, `CustomersAudiencePolicy`, reads `customers.services.consent` and
`customers.services.profile`. Addresses (email, phone, app install) are `Identity` rows and
are read here directly.
"""

from __future__ import annotations

import datetime
from typing import Protocol

from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils.module_loading import import_string

from campaigns import conf
from customers.models import Customer, Identity

# The identity kind that carries each channel's address.
ADDRESS_KINDS = {
    "email": Identity.Kind.EMAIL,
    "sms": Identity.Kind.PHONE,
    "push": Identity.Kind.APP_INSTALL,
}

DEFAULT_QUIET_HOURS = (datetime.time(21, 0), datetime.time(8, 0))


class AudiencePolicy(Protocol):
    def marketing_consent(self, customer: Customer, channel: str) -> bool:
        """True only with a current grant for marketing on this channel."""

    def consent_filter(self, channel: str) -> Q:
        """A filter on Customer rows with marketing consent for the channel (set-based)."""

    def quiet_hours(self, customer: Customer) -> tuple[datetime.time, datetime.time, str]:
        """(start, end, IANA time zone) of the customer's quiet hours."""

    def email_frequency(self, customer: Customer) -> str | None:
        """ "daily", "weekly", "monthly" or None when the customer chose nothing."""

    def unsubscribe_link(self, customer: Customer, channel: str, campaign) -> str:
        """An absolute one-click unsubscribe URL."""

    def hard_opt_out(self, customer: Customer, channel: str) -> bool:
        """True when the customer's current choice on the channel is a withdrawal."""


class CustomersAudiencePolicy:
    """The customers app's own answers. Imports are inside the methods: `customers` is
    loaded before campaigns, and this keeps the names this policy depends on in one place:
    `customers.services.consent.has_marketing_consent`, `...consent.unsubscribe_url`,
    `customers.services.profile.quiet_hours`, `...profile.preferences_of`,
    `customers.models.ConsentState` and `ConsentStatus`."""

    def marketing_consent(self, customer: Customer, channel: str) -> bool:
        from customers.services.consent import has_marketing_consent

        return has_marketing_consent(customer, channel)

    def consent_filter(self, channel: str) -> Q:
        from customers.models import ConsentState, ConsentStatus

        return Q(
            Exists(
                ConsentState.objects.filter(
                    customer=OuterRef("pk"), channel=channel, status=ConsentStatus.GRANTED
                )
            ),
            erased_at__isnull=True,
        )

    def quiet_hours(self, customer: Customer) -> tuple[datetime.time, datetime.time, str]:
        from customers.services.profile import quiet_hours

        return quiet_hours(customer)

    def email_frequency(self, customer: Customer) -> str | None:
        from customers.services.profile import preferences_of

        return preferences_of(customer).email_frequency or None

    def unsubscribe_link(self, customer: Customer, channel: str, campaign) -> str:
        from customers.services.consent import unsubscribe_url

        return conf.get("OMNI_PUBLIC_URL") + unsubscribe_url(customer, channel, campaign)

    def hard_opt_out(self, customer: Customer, channel: str) -> bool:
        from customers.models import ConsentState, ConsentStatus

        return ConsentState.objects.filter(
            customer=customer, channel=channel, status=ConsentStatus.WITHDRAWN
        ).exists()


def get_policy() -> AudiencePolicy:
    return import_string(conf.get("OMNI_AUDIENCE_POLICY"))()


def marketing_consent(customer: Customer, channel: str) -> bool:
    return get_policy().marketing_consent(customer, channel)


def quiet_hours(customer: Customer) -> tuple[datetime.time, datetime.time, str]:
    return get_policy().quiet_hours(customer)


def email_frequency(customer: Customer) -> str | None:
    return get_policy().email_frequency(customer)


def unsubscribe_link(customer: Customer, channel: str, campaign) -> str:
    return get_policy().unsubscribe_link(customer, channel, campaign)


# --- Addresses (identities live on main; read directly) ---------------------------------


def address_subquery(channel: str) -> Subquery:
    """The customer's best address on a channel: verified first, then the newest."""
    return Subquery(
        Identity.objects.filter(customer=OuterRef("pk"), kind=ADDRESS_KINDS[channel])
        .order_by("-verified", "-created_at", "-id")
        .values("value")[:1]
    )


def address_of(customer: Customer, channel: str) -> str:
    identity = (
        Identity.objects.filter(customer=customer, kind=ADDRESS_KINDS[channel])
        .order_by("-verified", "-created_at", "-id")
        .first()
    )
    return identity.value if identity else ""
