"""Channel backends: one small interface per way a message leaves the building.

A backend gets an `Outgoing` message and returns the provider's message id (used to match
delivery receipts), or raises `SendFailed`. Email goes through Django's email machinery;
SMS and push backends are chosen by `OMNI_SMS_BACKEND` and `OMNI_PUSH_BACKEND`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from django.utils.module_loading import import_string

from campaigns import conf


class SendFailed(Exception):
    """The provider refused this message; the delivery is marked failed."""


class BackendUnavailable(Exception):
    """The channel cannot be reached at all (e.g. the SMTP server is down): nothing was
    sent, the batch goes back in the queue and the task is retried."""


@dataclass
class Outgoing:
    channel: str
    to: str
    reference: str  # our delivery id (or "test"), passed to providers for receipts
    subject: str = ""
    preheader: str = ""
    html: str = ""
    text: str = ""
    title: str = ""
    body: str = ""
    deep_link: str = ""
    headers: dict[str, str] = field(default_factory=dict)


class ChannelBackend(Protocol):
    channel: str

    def open(self) -> None: ...

    def close(self) -> None: ...

    def send(self, message: Outgoing) -> str: ...


def get_backend(channel: str) -> ChannelBackend:
    if channel == "email":
        from campaigns.backends.email import EmailBackend

        return EmailBackend()
    setting = {"sms": "OMNI_SMS_BACKEND", "push": "OMNI_PUSH_BACKEND"}[channel]
    return import_string(conf.get(setting))(channel=channel)
