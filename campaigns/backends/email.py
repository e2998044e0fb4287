"""Email through Django's configured email backend (SMTP in production and in tests)."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid

from campaigns.backends import BackendUnavailable, Outgoing, SendFailed


class EmailBackend:
    channel = "email"

    def __init__(self) -> None:
        self.connection = None

    def open(self) -> None:
        # One SMTP connection for a whole batch.
        self.connection = get_connection(fail_silently=False)
        try:
            self.connection.open()
        except (smtplib.SMTPException, OSError) as error:
            raise BackendUnavailable(str(error)) from error

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def send(self, message: Outgoing) -> str:
        message_id = make_msgid(domain=settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(">"))
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            headers={"Message-ID": message_id, **message.headers},
            connection=self.connection,
        )
        email.attach_alternative(message.html, "text/html")
        try:
            email.send(fail_silently=False)
        except (smtplib.SMTPException, OSError) as error:
            raise SendFailed(str(error)) from error
        return message_id.strip("<>")
