"""An audience policy whose answers the test states directly (the customers app's consent
and preferences are another branch's work; the rules must not depend on them to be
tested). Plain class-level state so the Celery worker thread sees the same answers."""

from __future__ import annotations

import datetime
import threading

from django.db.models import Q

from campaigns import conf

_lock = threading.Lock()


class StatedPolicy:
    consent: dict[tuple[int, str], bool] = {}
    quiet: dict[int, tuple[datetime.time, datetime.time]] = {}
    frequency: dict[int, str] = {}

    @classmethod
    def reset(cls) -> None:
        with _lock:
            cls.consent.clear()
            cls.quiet.clear()
            cls.frequency.clear()

    @classmethod
    def grant(cls, customer, *channels: str) -> None:
        with _lock:
            for channel in channels:
                cls.consent[(customer.pk, channel)] = True

    @classmethod
    def never_quiet(cls, *customers) -> None:
        """No quiet hours for these customers: a test that is not about them passes at
        any hour of the day it runs."""
        with _lock:
            for customer in customers:
                cls.quiet[customer.pk] = (datetime.time(0), datetime.time(0))

    @classmethod
    def withdraw(cls, customer, *channels: str) -> None:
        with _lock:
            for channel in channels:
                cls.consent[(customer.pk, channel)] = False

    def marketing_consent(self, customer, channel: str) -> bool:
        with _lock:
            return self.consent.get((customer.pk, channel), False)

    def consent_filter(self, channel: str) -> Q:
        with _lock:
            granted = [pk for (pk, ch), yes in self.consent.items() if ch == channel and yes]
        return Q(pk__in=granted)

    def quiet_hours(self, customer):
        start, end = self.quiet.get(customer.pk, (datetime.time(21), datetime.time(8)))
        return start, end, customer.time_zone

    def email_frequency(self, customer):
        return self.frequency.get(customer.pk)

    def unsubscribe_link(self, customer, channel: str, campaign) -> str:
        return f"{conf.get('OMNI_PUBLIC_URL')}/unsubscribe/{customer.public_id}/{channel}"

    def hard_opt_out(self, customer, channel: str) -> bool:
        with _lock:
            return self.consent.get((customer.pk, channel)) is False


class EveryoneConsents:
    """For tests whose worker runs in another process (no shared memory): everyone has
    consent, nobody has quiet hours or a frequency choice."""

    def marketing_consent(self, customer, channel: str) -> bool:
        return True

    def consent_filter(self, channel: str) -> Q:
        return Q(pk__isnull=False)

    def quiet_hours(self, customer):
        return datetime.time(0), datetime.time(0), customer.time_zone

    def email_frequency(self, customer):
        return None

    def unsubscribe_link(self, customer, channel: str, campaign) -> str:
        return f"{conf.get('OMNI_PUBLIC_URL')}/unsubscribe/{customer.public_id}/{channel}"
